"""A GAN on the shipped 8x8 digits, judged by an Inception-style score and a Frechet distance (G8).

Lecture 002 (evaluating implicit models; the inception score): without a
likelihood, samples are scored through a classifier p(y | x), here an MLP 64-64-10
trained by minigrad on 75% of the shipped digits (``digits_classifier``;
its held-out accuracy is printed).
- IS = exp(E_x KL(p(y | x) || p(y))): between 1 and 10; high when each
  sample is confidently one digit and all digits appear.
- FD: the Frechet distance between Gaussians fitted to the classifier's
  hidden features of the held-out real digits and of each sample set.
A non-saturating GAN (generator MLP 16-128-64 with a sigmoid output,
discriminator MLP 64-128-1, Adam, batch 128) is trained with ``GANTrainer``
and scored beside the real held-out digits and uniform noise.

Figure ``gan_digits.png``: 32 GAN samples beside 32 real digits, IS and FD
in the titles. Prints the classifier's accuracy and the three IS and FDs.
"""
from __future__ import annotations

import numpy as np

from minigrad.nn import MLP
from minigrad.optim import Adam
from dpm.models.gan import (
    GANTrainer, digits_classifier, digits_split, frechet_distance, inception_score)
from demos._common import parse_args, report, savefig


def train_gan(x_train, steps, seed):
    init = np.random.default_rng(seed)
    generator = MLP([16, 128, 64], rng=init, final_activation="sigmoid")
    critic = MLP([64, 128, 1], activation="leaky_relu", rng=init)
    trainer = GANTrainer(generator, critic, x_train, kind="non_saturating", batch_size=128,
                         g_optimizer=Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                         d_optimizer=Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                         rng=np.random.default_rng(seed + 1))
    trainer.train(steps, every=max(1, steps // 5), progress=True)
    return trainer


def scores(classifier, reference_features, x):
    return inception_score(classifier.probs(x)), frechet_distance(reference_features,
                                                                  classifier.features(x))


def plot(samples, real, table, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(4, 17, figsize=(12, 3.2))
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(32):
        axes[i // 8, i % 8].imshow(samples[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[i // 8, 9 + i % 8].imshow(real[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[0, 3].set_title(f"GAN samples: IS {table['gan'][0]:.2f}, FD {table['gan'][1]:.1f}",
                         fontsize=9, loc="center")
    axes[0, 12].set_title(f"real held-out: IS {table['real'][0]:.2f}, "
                          f"FD {table['real'][1]:.1f}", fontsize=9, loc="center")
    return savefig(fig, args, "gan_digits")


def main(argv=None):
    args = parse_args(argv, __doc__)
    classifier = digits_classifier(seed=args.seed)
    x_train, _, x_test, _ = digits_split(seed=args.seed)
    trainer = train_gan(x_train, 100 if args.quick else 4000, args.seed)
    rng = np.random.default_rng(args.seed + 5)
    reference = classifier.features(x_train)
    table = {"real": scores(classifier, reference, x_test),
             "gan": scores(classifier, reference, trainer.sample(len(x_test), rng)),
             "noise": scores(classifier, reference, rng.random((len(x_test), 64)))}
    report("digits_classifier_heldout_accuracy", classifier.accuracy,
           source=f"{len(x_test)} held-out digits, MLP 64-64-10")
    for name, (score, distance) in table.items():
        report(f"inception_score_{name}", score, source="between 1 and 10")
        report(f"frechet_distance_{name}", distance, source="to the training digits' features")
    plot(trainer.sample(32, rng), x_test, table, args)
    return {"accuracy": classifier.accuracy,
            **{f"{k}_is": v[0] for k, v in table.items()},
            **{f"{k}_fd": v[1] for k, v in table.items()}}


if __name__ == "__main__":
    main()
