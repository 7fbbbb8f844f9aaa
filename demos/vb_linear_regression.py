"""Variational Bayesian linear regression (Bishop 10.3) against the exact posterior (V4).

Targets t = sin(2 pi x) + N(0, 0.2^2) at N points in [0, 1], nine Gaussian
basis functions, known noise precision beta = 25, a Gamma(a0, b0) prior on
the weights' precision alpha. Coordinate ascent on q(w) q(alpha):
- the bound (Bishop 10.107) after every iteration, never falling;
- q(alpha) = Gam(a_N, b_N) against the exact p(alpha | t), by 1-D quadrature;
- log p(t) = bound + KL(q || p(w, alpha | t)), the KL by quadrature;
- the predictive band (Bishop 10.105) against the exact predictive.

Figure ``vb_linear_regression.png``: the bound per iteration, the two
densities of alpha, the data with both predictive mean +- 2 sd bands.
"""
from __future__ import annotations

import numpy as np
import scipy.stats as st

from dpm.vi.linear_regression import VBLinearRegression, exact_posterior
from demos._common import parse_args, report, savefig

A0, B0, BETA, NOISE = 1e-2, 1e-4, 25.0, 0.2
CENTRES = np.linspace(0, 1, 9)


def design(x):
    """Phi: a bias column and Gaussian bumps of width 0.1 at the centres."""
    return np.column_stack([np.ones_like(x), np.exp(-(x[:, None] - CENTRES) ** 2 / 0.02)])


def plot(vb, exact, x, t, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    axes[0].plot(np.arange(1, len(vb.history) + 1), vb.history, "o-", ms=3)
    axes[0].axhline(exact.log_evidence, color="k", ls="--", label="exact log p(t)")
    axes[0].set(xlabel="iteration", ylabel="bound (nats)", title="VB bound never falls")
    axes[0].legend(fontsize=8)
    grid = np.linspace(1e-3, exact.alpha_mean + 5 * exact.alpha_sd, 400)
    axes[1].plot(grid, exact.alpha_density(grid), "k", label="exact p(alpha | t) (quadrature)")
    axes[1].plot(grid, st.gamma(vb.a, scale=1 / vb.b).pdf(grid), "C3--", label="VB q(alpha)")
    axes[1].set(xlabel="alpha (prior precision of w)", ylabel="density",
                title="Posterior of alpha")
    axes[1].legend(fontsize=8)
    xs = np.linspace(0, 1, 200)
    for model, color, label in ((exact, "k", "exact"), (vb, "C3", "VB")):
        mean, var = model.predict(design(xs))
        axes[2].plot(xs, mean, color=color, label=f"{label} predictive mean")
        axes[2].fill_between(xs, mean - 2 * np.sqrt(var), mean + 2 * np.sqrt(var), color=color,
                             alpha=0.15, label=f"{label} +- 2 sd")
    axes[2].plot(x, t, "o", color="C0", ms=4, label="data")
    axes[2].set(xlabel="x", ylabel="t", title="Predictive distribution")
    axes[2].legend(fontsize=7)
    return savefig(fig, args, "vb_linear_regression")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    n = 25
    x = rng.uniform(0, 1, n)
    t = np.sin(2 * np.pi * x) + NOISE * rng.normal(size=n)
    vb = VBLinearRegression(A0, B0, BETA).fit(design(x), t, iters=30 if args.quick else 100)
    exact = exact_posterior(design(x), t, A0, B0, BETA)
    kl = exact.kl_from(vb)
    steps = np.diff(vb.history)
    report("vb_bound_final", vb.history[-1], source=f"after {len(vb.history)} iterations")
    report("vb_bound_never_falls", bool(np.all(steps >= -1e-12 * abs(vb.history[-1]))),
           source=f"smallest step {steps.min():.1g}")
    report("exact_log_evidence", exact.log_evidence, source="1-D quadrature over alpha")
    report("kl_q_to_posterior", kl, source=f"log p(t) - bound = "
           f"{exact.log_evidence - vb.history[-1]:.6f}")
    report("alpha_mean_vb", vb.alpha_mean, source="E_q[alpha] = a_N / b_N")
    report("alpha_mean_exact", exact.alpha_mean, source=f"sd {exact.alpha_sd:.3g}")
    xs = design(np.linspace(0, 1, 50))
    (vb_mean, vb_var), (ex_mean, ex_var) = vb.predict(xs), exact.predict(xs)
    report("predictive_mean_max_diff", np.max(np.abs(vb_mean - ex_mean)),
           source=f"predictive sd about {np.sqrt(ex_var).mean():.3f}")
    report("predictive_sd_ratio_vb_over_exact", np.mean(np.sqrt(vb_var / ex_var)))
    plot(vb, exact, x, t, args)
    return {"history": vb.history, "log_evidence": exact.log_evidence, "kl": kl,
            "alpha_mean_vb": vb.alpha_mean, "alpha_mean_exact": exact.alpha_mean}


if __name__ == "__main__":
    main()
