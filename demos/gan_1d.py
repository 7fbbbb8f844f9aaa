"""A GAN fits a 1-D Gaussian with k discriminator steps per generator step (G4, G1).

Lecture 001's algorithm (Goodfellow et al. 2014, Algorithm 1) on
P = N(4, 1.5^2): generator MLP 1-32-32-1 from z ~ N(0, 1), discriminator
MLP 1-32-32-1, non-saturating loss, Adam, batch 256, k = 5 (with k = 1 the
fit oscillates, W1 between 0.2 and 0.8), trained with
``dpm.models.gan.GANTrainer``. Every few hundred steps the exact W1 between
5,000 generated points and 5,000 data points is recorded (its floor, the
W1 of two independent samples of P, is printed beside it).

Figure ``gan_1d.png``: left, the histogram of generated points over p and
the trained D(x) over D*(x) = p / (p + p_g) with p_g a Gaussian fitted to
the samples; right, W1 to the target over training. Prints the final
W1, the fitted mean and standard deviation beside the target's.
"""
from __future__ import annotations

import numpy as np

from minigrad import Tensor, no_grad
from minigrad.nn import MLP
from minigrad.optim import Adam
from dpm.distributions import Normal
from dpm.models.gan import GANTrainer, optimal_discriminator
from dpm.wasserstein import wasserstein_1d
from demos._common import parse_args, report, savefig

LOC, SCALE = 4.0, 1.5


def data(m, rng):
    return LOC + SCALE * rng.standard_normal((m, 1))


def fit(steps, seed, every):
    init = np.random.default_rng(seed)
    generator, critic = MLP([1, 32, 32, 1], rng=init), MLP([1, 32, 32, 1], rng=init)
    trainer = GANTrainer(generator, critic, data, kind="non_saturating", k=5, batch_size=256,
                         g_optimizer=Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                         d_optimizer=Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                         rng=np.random.default_rng(seed + 1))
    target = data(5000, np.random.default_rng(seed + 2))[:, 0]

    def w1(t):
        return {"w1": float(wasserstein_1d(t.sample(5000, np.random.default_rng(seed + 3))[:, 0],
                                           target))}
    trainer.train(steps, every=every, callback=w1, progress=False)
    return trainer, target


def plot(trainer, fitted, w1_floor, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    x = trainer.sample(5000, np.random.default_rng(0))[:, 0]
    grid = np.linspace(LOC - 5 * SCALE, LOC + 5 * SCALE, 400)
    left.hist(x, bins=60, density=True, alpha=0.5, color="C0", label="generated")
    left.plot(grid, np.exp(Normal(LOC, SCALE).log_prob(grid).data), "k", label="p = N(4, 1.5^2)")
    with no_grad():
        d = 1 / (1 + np.exp(-trainer.discriminator(Tensor(grid[:, None])).data[:, 0]))
    left.plot(grid, d, color="C3", label="trained D(x)")
    left.plot(grid, optimal_discriminator(Normal(LOC, SCALE), fitted)(grid).data, "C3--",
              label="D* for a Gaussian fit to the samples")
    left.set(xlabel="x", ylabel="density / D(x)", title="Samples and discriminator at the end")
    left.legend(fontsize=8)
    steps, w1 = zip(*[(s, m["w1"]) for s, m in trainer.metrics])
    right.semilogy(steps, w1, "o-", ms=3, label="W1(generated, data)")
    right.axhline(w1_floor, color="grey", ls=":", label="W1 of two samples of p (floor)")
    right.set(xlabel="generator step", ylabel="W1", title="W1 to the target over training")
    right.legend(fontsize=8)
    return savefig(fig, args, "gan_1d")


def main(argv=None):
    args = parse_args(argv, __doc__)
    steps = 60 if args.quick else 3000
    trainer, target = fit(steps, args.seed, every=max(1, steps // 10))
    x = trainer.sample(5000, np.random.default_rng(args.seed + 4))[:, 0]
    fitted = Normal(float(x.mean()), float(x.std()))
    floor = float(wasserstein_1d(data(5000, np.random.default_rng(99))[:, 0], target))
    final = trainer.metrics[-1][1]["w1"]
    report("gan_1d_w1", final, source=f"{steps} steps; two samples of p differ by {floor:.3f}")
    report("gan_1d_mean", fitted.loc.item(), source=f"target {LOC}")
    report("gan_1d_sd", fitted.scale.item(), source=f"target {SCALE}")
    plot(trainer, fitted, floor, args)
    return {"w1": final, "w1_floor": floor, "mean": fitted.loc.item(), "sd": fitted.scale.item()}


if __name__ == "__main__":
    main()
