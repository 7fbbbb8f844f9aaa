"""Mean-field fits of a correlated Gaussian: reverse KL under-covers, forward KL covers (V2, V3).

Lecture 004 (II.1, "KL and reverse KL"): p = N(mu, Sigma) with mu = (0, 1),
Sigma = [[1, .9], [.9, 1]], approximated by q(x) = q_1(x_1) q_2(x_2).
- min KL(q || p): the mean-field equations give q_j = N(mu_j, 1/Lambda_jj),
  Lambda = Sigma^{-1}, so variance 1 - 0.9^2 = 0.19 (the lecture's 0.19), found
  here by coordinate ascent (CAVI) from a poor start, the ELBO = -KL(q || p)
  rising at every coordinate update; and again by stochastic gradients of
  the reparameterised reverse KL (minigrad, Adam).
- min KL(p || q): the marginals q_j = N(mu_j, Sigma_jj), variance 1. The
  lecture writes N(x_j | mu_j, Sigma_jj^{-1}); the marginal variance is
  Sigma_jj itself (the two agree in the example, where Sigma_jj = 1).

Figure ``mean_field.png``: contours of p with the 1- and 2-sd ellipses of
both factorized fits and the CAVI path of the means; the ELBO after every
coordinate update. Prints the variances and means beside the lecture's and
the four KLs that show each fit winning its own divergence.
"""
from __future__ import annotations

import numpy as np

from dpm import kl_divergence
from dpm.vi import gaussian_cavi, gaussian_forward_kl, reverse_kl_sgd
from dpm.vi.mean_field import gaussian_target
from demos._common import agrees_with, parse_args, report, savefig

MU = np.array([0.0, 1.0])
SIGMA = np.array([[1.0, 0.9], [0.9, 1.0]])
START = ([-2.0, 2.5], [1.0, 1.0])  # a poor starting q, so the ascent is visible


def plot(cavi_fit, forward, sgd, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    x1, x2 = np.meshgrid(np.linspace(-3, 3, 200), np.linspace(-2, 4, 200))
    gap = np.dstack([x1, x2]) - MU
    mahalanobis = np.sqrt(np.einsum("...i,ij,...j->...", gap, np.linalg.inv(SIGMA), gap))
    left.contour(x1, x2, mahalanobis, levels=[1, 2], colors="grey", linewidths=2)
    left.plot([], [], color="grey", lw=2, label="p: 1 and 2 sd contours")
    angle = np.linspace(0, 2 * np.pi, 200)
    for q, color, label in ((cavi_fit, "C3", "reverse KL (CAVI): variance 0.19"),
                            (forward, "C0", "forward KL (marginals): variance 1")):
        for k in (1, 2):
            left.plot(q.means[0] + k * np.sqrt(q.variances[0]) * np.cos(angle),
                      q.means[1] + k * np.sqrt(q.variances[1]) * np.sin(angle), color=color,
                      lw=1.5, label=label if k == 1 else None)
    path = cavi_fit.mean_path[:25]  # the first dozen sweeps; the rest overlap
    left.plot(path[:, 0], path[:, 1], "k.-", lw=0.8, ms=4,
              label="CAVI means, one coordinate a step")
    left.plot(*sgd.means, "x", color="C2", ms=10, mew=2, label="reverse KL by SGD (minigrad)")
    left.set(xlabel="x_1", ylabel="x_2", aspect="equal",
             title="Factorized fits to p = N((0, 1), [[1, .9], [.9, 1]])")
    left.legend(fontsize=7, loc="lower right")
    trace = np.array(cavi_fit.elbo_trace)
    optimum = 0.5 * np.log(0.19)  # -KL(q* || p) = 1/2 log(prod_j (1/Lambda_jj) / det Sigma)
    right.semilogy(np.arange(trace.size), np.maximum(optimum - trace, 1e-17), "o-", ms=3,
                   color="C3", label="optimum - ELBO after each update")
    right.set(xlabel="coordinate update (two per sweep)",
              ylabel="ELBO gap to 1/2 log 0.19 (nats, log scale)",
              title="CAVI: ELBO = -KL(q || p) rises at every update\n"
                    f"(from {trace[0]:.1f} at the start)")
    right.legend(fontsize=8)
    return savefig(fig, args, "mean_field")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    cavi_fit = gaussian_cavi(MU, SIGMA, init=START)
    forward = gaussian_forward_kl(MU, SIGMA)
    sgd = reverse_kl_sgd(MU, SIGMA, steps=1500 if args.quick else 4000, lr=0.05, n=32,
                         replicas=8 if args.quick else 16, rng=rng)

    report("mean_field_variance", cavi_fit.variances, lecture=0.19, source="004")
    report("mean_field_means", cavi_fit.means, lecture="mu = (0, 1)", source="004",
           agrees=agrees_with(cavi_fit.means, (0.0, 1.0)))
    report("cavi_sweeps", cavi_fit.iterations, source="to |change of means| <= 1e-12 sd")
    report("elbo_never_decreases", bool(np.all(np.diff(cavi_fit.elbo_trace) >= -1e-12)))
    report("forward_kl_variance", forward.variances, lecture="1 (written Sigma_jj^{-1}; the "
           "marginal variance is Sigma_jj)", source="004 eq. 15",
           agrees=agrees_with(forward.variances, 1.0))
    report("sgd_reverse_kl_variance", sgd.variances, converged=not args.quick,
           source=f"+/- {np.max(sgd.variances_stderr):.1g} (s.e.), minigrad Adam")
    report("sgd_reverse_kl_means", sgd.means, converged=not args.quick,
           source=f"+/- {np.max(sgd.means_stderr):.1g} (s.e.)")
    p = gaussian_target(MU, SIGMA)
    kls = {"KL(q_rev || p)": kl_divergence(cavi_fit.q, p).item(),
           "KL(q_fwd || p)": kl_divergence(forward.q, p).item(),
           "KL(p || q_rev)": kl_divergence(p, cavi_fit.q).item(),
           "KL(p || q_fwd)": kl_divergence(p, forward.q).item()}
    for name, kl in kls.items():
        report(name, kl, source="closed form, nats")
    plot(cavi_fit, forward, sgd, args)
    return {"mean_field_variance": cavi_fit.variances.tolist(),
            "mean_field_means": cavi_fit.means.tolist(),
            "forward_kl_variance": forward.variances.tolist(),
            "sgd_variances": sgd.variances.tolist(), "sgd_means": sgd.means.tolist(),
            "elbo_trace": list(cavi_fit.elbo_trace), **{k: float(v) for k, v in kls.items()}}


if __name__ == "__main__":
    main()
