"""Parallel lines: KL and JSD see nothing of theta, W1 = |theta| does (K8, W3).

Lecture 001 ("Wasserstein distance vs KL vs JSD", after Arjovsky, Chintala &
Bottou 2017): P = (0, Z), Q = (theta, Z), Z ~ U[0, 1]. For theta != 0 the
supports are disjoint segments, so KL(P||Q) = KL(Q||P) = inf and
JSD(P||Q) = log 2 whatever theta, while W1(P, Q) = |theta|.

Computed here, for theta on a grid in [-1, 1]:
- KL both ways and JSD by Monte Carlo (``dpm.divergences``) from the laws'
  densities with respect to counting x Lebesgue measure (``ParallelLine``);
- JSD of the 1-D reduction smoothed by N(0, eps^2) noise, by quadrature
  (``dpm.quadrature.js``): the lecture's remark that noise smooths it;
- W1 by exact optimal transport (``dpm.wasserstein.assignment_emd``) on
  n draws each, with independent Z (an upward-biased estimate) and with
  common Z (exactly |theta|), and its gradient in theta through the optimal
  matching (minigrad, envelope theorem); the JSD gradients by central
  differences.

Figure ``disjoint_supports.png``: the divergences against theta (left) and
their derivatives (right). Prints the values at theta = 0.5 and 0 beside
the lecture's. Note: lecture 004 writes JS = KL(P||M) + KL(Q||M) without
the halves, which would give 2 log 2 here; we follow 001 (with the halves).
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from dpm import quadrature
from dpm.datasets import ParallelLine, parallel_lines
from dpm.distributions import Normal
from dpm.divergences import js_divergence, kl
from dpm.wasserstein import assignment_emd
from demos._common import agrees_with, parse_args, report, savefig

LOG2 = np.log(2.0)


def divergences_at(theta, n, eps, seed):
    """KL both ways, JSD (MC), smoothed JSD (quadrature), W1 (EMD, independent Z) at theta."""
    rng = np.random.default_rng(seed)
    p, q = ParallelLine(0.0), ParallelLine(theta)
    w1_independent, _ = assignment_emd(parallel_lines(0.0, n, rng), parallel_lines(theta, n, rng))
    return {"kl_pq": float(kl(p, q, n, rng)), "kl_qp": float(kl(q, p, n, rng)),
            "jsd": float(js_divergence(p, q, n, rng)),
            "jsd_smoothed": quadrature.js(Normal(0.0, eps), Normal(theta, eps)),
            "w1": w1_independent}


def w1_and_gradient(theta, n, seed):
    """W1 with common Z (exactly |theta|) and dW1/dtheta through the optimal matching."""
    theta_t = mg.Tensor(float(theta), requires_grad=True)
    x = ParallelLine(0.0).sample((n,), np.random.default_rng(seed))
    y = ParallelLine(theta_t).rsample((n,), np.random.default_rng(seed))
    w1, _ = assignment_emd(x, y)
    if abs(theta) == 0.0:  # ||.|| has no derivative at 0: the matched points coincide
        return float(w1.data), np.nan
    w1.backward()
    return float(w1.data), float(theta_t.grad)


def central_difference(f, theta, h=1e-3):
    return (f(theta + h) - f(theta - h)) / (2 * h)


def plot(thetas, rows, w1_common, w1_grad, jsd_grad, jsd_smooth_grad, eps, n, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    left.plot(thetas, w1_common, color="C0", lw=2, label="W1, exact EMD (common Z) = |theta|")
    left.plot(thetas, col["w1"], "o", ms=3, color="C0", alpha=0.6,
              label=f"W1, EMD on {n} independent draws each")
    left.plot(thetas, col["jsd"], "o", ms=4, color="C1", label="JSD (Monte Carlo, exact here): jumps at 0")
    left.plot(thetas, col["jsd_smoothed"], color="C1", ls="--",
              label=f"JSD of the x-coordinates smoothed by N(0, {eps}^2) (quadrature)")
    finite = np.isfinite(col["kl_pq"])
    left.plot(thetas[~finite], np.full((~finite).sum(), 1.05), "^", color="C3",
              label="KL(P||Q) = KL(Q||P) = inf (drawn at the top)")
    left.plot(thetas[finite], col["kl_pq"][finite], "s", color="C3", label="KL = 0 at theta = 0")
    left.axhline(LOG2, color="grey", lw=0.5)
    left.set(xlabel="theta (Q = (theta, U[0,1]), P = (0, U[0,1]))", ylabel="divergence (nats) / distance",
             title="Disjoint supports: only W1 sees theta (K8)", ylim=(-0.05, 1.12))
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    right.plot(thetas, w1_grad, color="C0", lw=2, label="dW1/dtheta through the EMD matching (minigrad)")
    right.plot(thetas, jsd_grad, color="C1", lw=2, label="dJSD/dtheta, central differences (Monte Carlo)")
    right.plot(thetas, jsd_smooth_grad, color="C1", ls="--", label=f"d/dtheta of the smoothed JSD (eps = {eps})")
    right.axhline(0.0, color="grey", lw=0.5)
    right.set(xlabel="theta", ylabel="derivative in theta",
              title="Only W1 gives a usable gradient (W3); KL has none (inf)")
    right.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    return savefig(fig, args, "disjoint_supports")


def main(argv=None):
    args = parse_args(argv, __doc__)
    n, count, eps = (100, 21, 0.1) if args.quick else (400, 101, 0.1)
    thetas = np.linspace(-1.0, 1.0, count)
    rows = [divergences_at(t, n, eps, args.seed + i) for i, t in enumerate(thetas)]
    w1_common, w1_grad = np.array([w1_and_gradient(t, n, args.seed) for t in thetas]).T
    jsd_at = lambda t: float(js_divergence(ParallelLine(0.0), ParallelLine(t), n,  # noqa: E731
                                           np.random.default_rng(args.seed)))
    jsd_grad = np.array([central_difference(jsd_at, t) if abs(t) > 1e-3 else np.nan for t in thetas])
    smooth_at = lambda t: quadrature.js(Normal(0.0, eps), Normal(t, eps))  # noqa: E731
    jsd_smooth_grad = np.array([central_difference(smooth_at, t) for t in thetas])

    half = divergences_at(0.5, n, eps, args.seed)
    zero = divergences_at(0.0, n, eps, args.seed)
    w1_half, grad_half = w1_and_gradient(0.5, n, args.seed)
    report("KL_P_Q_theta_0.5", half["kl_pq"], lecture="inf", source="001")
    report("KL_Q_P_theta_0.5", half["kl_qp"], lecture="inf", source="001")
    report("JSD_theta_0.5", half["jsd"], lecture="log 2 = 0.6931", source="001",
           agrees=agrees_with(half["jsd"], np.log(2.0)))
    report("W1_theta_0.5", w1_half, lecture="|theta| = 0.5", source="001",
           agrees=agrees_with(w1_half, 0.5))
    report("W1_emd_independent_draws_theta_0.5", half["w1"],
           source=f"{n} draws each; >= |theta|, bias shrinks with n")
    report("JSD_smoothed_theta_0.5", half["jsd_smoothed"],
           source=f"N(0, {eps}^2) noise, quadrature; tends to log 2 as eps -> 0")
    report("KL_JSD_W1_theta_0", (zero["kl_pq"], zero["jsd"], w1_and_gradient(0.0, n, args.seed)[0]),
           lecture="(0, 0, 0)", source="001")
    report("dW1_dtheta_theta_0.5", grad_half, lecture="sign(theta) = 1 (W gives gradients)",
           source="001, 004", agrees=agrees_with(grad_half, 1.0))
    report("dJSD_dtheta_theta_0.5", central_difference(jsd_at, 0.5), lecture="0", source="001")
    report("dJSD_smoothed_dtheta_theta_0.5", central_difference(smooth_at, 0.5),
           source=f"eps = {eps}: vanishes once |theta| >> eps")
    plot(thetas, rows, w1_common, w1_grad, jsd_grad, jsd_smooth_grad, eps, n, args)
    return {"thetas": thetas.tolist(), "kl_pq_half": half["kl_pq"], "kl_qp_half": half["kl_qp"],
            "jsd_half": half["jsd"], "w1_half": w1_half, "w1_grad_half": grad_half,
            "w1_independent_half": half["w1"], "jsd_smoothed_half": half["jsd_smoothed"]}


if __name__ == "__main__":
    main()
