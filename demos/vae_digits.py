"""VAEs on the shipped 8x8 digits: Bernoulli and Gaussian decoders, held-out bounds (V6).

Trains two VAEs on the fixed training split (1,437 images) by minibatch Adam
with early stopping on the held-out ELBO (360 test images):
- Bernoulli pixels, z in R^2, on a fresh stochastic binarization each epoch,
  evaluated on one fixed binarization (as in the IWAE paper);
- Gaussian pixels (one learned sigma), z in R^8, on the intensities c / 16.
Prints, in nats per image with Monte Carlo standard errors, the held-out
ELBO, IWAE_k for k = 1, 10, 100, 1000 and an importance-sampled log p(x).
The Gaussian numbers are log densities of continuous x (positive once sigma
is small), not comparable with the Bernoulli log probabilities.

Figure ``vae_digits.png``: training curves (train and held-out ELBO per
epoch), samples x ~ p(x | z), z ~ N(0, I), test images over their
reconstructions, and the 2-D latent map (encoder means of the test images,
coloured by digit label).
"""
from __future__ import annotations

import numpy as np

from demos._common import parse_args, report, savefig
from dpm.datasets import load_digits
from dpm.models.vae import VAE
from dpm.models.vae_training import evaluate


def train(likelihood, z_dim, epochs, seed):
    binary = likelihood == "bernoulli"
    x, _ = load_digits(split="train")
    held_out, labels = load_digits(split="test", binarize="stochastic" if binary else False)
    model = VAE(64, z_dim, hidden=(128,), likelihood=likelihood,
                rng=np.random.default_rng(seed))
    history = model.fit(x, epochs=epochs, batch_size=64, lr=3e-3,
                        rng=np.random.default_rng(seed + 1), x_val=held_out, binarize=binary,
                        patience=5, eval_k=10)
    return model, history, held_out, labels


def tile(images, rows):
    """(n, 64) images -> one (rows * 8, n / rows * 8) array, 1-pixel gaps."""
    cols = len(images) // rows
    grid = np.zeros((rows * 9 - 1, cols * 9 - 1))  # white gaps under gray_r
    for i, image in enumerate(images[:rows * cols]):
        r, c = divmod(i, cols)
        grid[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = image.reshape(8, 8)
    return grid


def plot(runs, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.5))
    for name, (model, history, _, _) in runs.items():
        epochs = np.arange(1, history.epochs + 1)
        axes[0].plot(epochs, history.train_elbo, "--", label=f"{name}: train")
        axes[0].plot(epochs, history.val_elbo, "-", label=f"{name}: held-out")
    axes[0].set(xlabel="epoch", ylabel="ELBO (nats per image)",
                title="Training curves (early stopping on held-out ELBO)")
    axes[0].legend(fontsize=7)
    model, _, held_out, labels = runs["Bernoulli z=2"]
    rng = np.random.default_rng(args.seed)
    axes[1].imshow(tile(model.sample(48, rng, mean=True), 6), cmap="gray_r", vmin=0, vmax=1)
    axes[1].set(title="Bernoulli VAE: E[x | z], z ~ N(0, I)", xticks=[], yticks=[])
    pairs = np.vstack([held_out[:8], model.reconstruct(held_out[:8])])
    axes[2].imshow(tile(pairs, 2), cmap="gray_r", vmin=0, vmax=1)
    axes[2].set(title="Test images (top), reconstructions (bottom)", xticks=[], yticks=[])
    means = model.encode(held_out).loc.data
    points = axes[3].scatter(means[:, 0], means[:, 1], c=labels, cmap="tab10", s=8)
    fig.colorbar(points, ax=axes[3], label="digit label")
    axes[3].set(xlabel="z_1 (encoder mean)", ylabel="z_2", title="Latent map of the test set")
    return savefig(fig, args, "vae_digits")


def main(argv=None):
    args = parse_args(argv, __doc__)
    epochs = 6 if args.quick else 100
    runs = {"Bernoulli z=2": train("bernoulli", 2, epochs, args.seed),
            "Gaussian z=8": train("gaussian", 8, epochs, args.seed + 10)}
    ks = (1, 10, 100) if args.quick else (1, 10, 100, 1000)
    results = {}
    for name, (model, history, held_out, _) in runs.items():
        x = held_out[:60] if args.quick else held_out
        numbers = evaluate(model, x, np.random.default_rng(args.seed + 2), ks=ks,
                           log_px_n=1000 if args.quick else 5000)
        key = name.split()[0].lower()
        report(f"vae_{key}_epochs", history.epochs, source=f"best epoch {history.best_epoch}")
        for bound, estimate in numbers.items():
            report(f"vae_{key}_heldout_{bound}", float(estimate),
                   source=f"+/- {estimate.stderr:.2g} s.e., nats per image, {len(x)} test images")
        results[name] = {bound: float(e) for bound, e in numbers.items()}
    plot(runs, args)
    return results


if __name__ == "__main__":
    main()
