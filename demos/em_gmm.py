"""EM for a Gaussian mixture: the log-likelihood never falls (E1).

Lecture 003 ("the E-step of the EM algorithm"): with q(k) the responsibilities
the ELBO equals log p(x), and the M-step raises it, so EM climbs the
log-likelihood monotonically. Data: 1500 points of the two-moons set
(dpm.datasets.moons, noise 0.1), fitted with 8 full-covariance and 8
diagonal Gaussians from a k-means++ start (dpm.models.gmm_em.fit_gmm), and
a mixture of 8 Bernoulli products on binarized digits for the same claim.

Figure ``em_gmm.png``: the mean log-likelihood per point after each
iteration (both covariance kinds); the data with the fitted components'
1- and 2-sd ellipses. Prints the final log-likelihoods, the smallest step
(>= 0 up to rounding) and the held-out log-likelihood.
"""
from __future__ import annotations

import numpy as np

from dpm.datasets import load_digits, moons
from dpm.models.gmm_em import fit_bernoulli_mixture, fit_gmm
from demos._common import parse_args, report, savefig

K = 8


def ellipse(mean, cov, radius):
    values, vectors = np.linalg.eigh(cov)
    angle = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    return mean[:, None] + vectors @ (radius * np.sqrt(values)[:, None] * circle)


def plot(x, fits, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, fit in fits.items():
        axes[0].plot(np.arange(1, fit.n_iter + 1), fit.log_likelihood, label=f"{name} covariance")
    axes[0].set(xlabel="EM iteration", ylabel="mean log-likelihood per point (nats)",
                title="EM never lowers the log-likelihood")
    axes[0].legend(fontsize=8)
    for ax, (name, fit) in zip(axes[1:], fits.items()):
        ax.plot(x[:, 0], x[:, 1], ".", ms=2, color="grey")
        for w, m, c in zip(fit.weights, fit.means, fit.covariances):
            for r in (1, 2):
                path = ellipse(m, c, r)
                ax.plot(path[0], path[1], color="C3", lw=0.6 + 2 * w)
        ax.set(xlabel="x_1", ylabel="x_2", aspect="equal",
               title=f"{K} {name}-covariance Gaussians (1, 2 sd)")
    return savefig(fig, args, "em_gmm")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    x, held = moons(1500, rng), moons(1500, rng)
    iters = 60 if args.quick else 300
    fits = {kind: fit_gmm(x, K, rng, iters=iters, tol=1e-10, covariance=kind)
            for kind in ("full", "diag")}
    for kind, fit in fits.items():
        steps = np.diff(fit.log_likelihood)
        report(f"{kind}_log_likelihood", fit.log_likelihood[-1],
               source=f"{fit.n_iter} iterations, from {fit.log_likelihood[0]:.4f}")
        report(f"{kind}_smallest_step", steps.min() if steps.size else 0.0, lecture=">= 0")
        report(f"{kind}_held_out_log_likelihood", float(np.mean(fit.log_prob(held))))
    digits, _ = load_digits(binarize=True)
    bernoulli = fit_bernoulli_mixture(digits, K, rng, iters=iters)
    report("bernoulli_mixture_log_likelihood", bernoulli.log_likelihood[-1],
           source="binarized digits, nats per image")
    report("bernoulli_smallest_step", float(np.min(np.diff(bernoulli.log_likelihood))),
           lecture=">= 0")
    plot(x, fits, args)
    return {f"{kind}_log_likelihood": fit.log_likelihood for kind, fit in fits.items()} | {
        "bernoulli_log_likelihood": bernoulli.log_likelihood}


if __name__ == "__main__":
    main()
