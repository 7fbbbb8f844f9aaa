"""Convergence hierarchy: KL -> 0 implies JSD -> 0 implies W1 -> 0, not conversely (K9).

Lecture 004 (section III.2, theorem 2 of Arjovsky, Chintala & Bottou 2017)
on a compact space: KL(P_n||P) -> 0 or KL(P||P_n) -> 0 implies
JSD(P_n, P) -> 0 (equivalently TV -> 0), which implies W(P_n, P) -> 0;
"it is easier to converge under the Wasserstein metric". Three sequences:

1. P_n = N(1/n, 1) -> N(0, 1): KL = 1/(2 n^2) both ways, everything -> 0.
2. P_n = U(0, 1 + 1/n) -> U(0, 1) on a bounded support: KL(P||P_n) =
   log(1 + 1/n) -> 0 although KL(P_n||P) = inf for every n.
3. The parallel lines (theta_n, U[0, 1]) with theta_n = 1/n -> (0, U[0, 1]):
   W1 = 1/n -> 0 while JSD = log 2 and KL = inf for every n (lecture 001).

KL, JSD and TV by quadrature (``dpm.quadrature``; the parallel lines by
Monte Carlo on their densities, exact here), W1 by the exact 1-D W1 on
quantiles or exact optimal transport in 2-D (``dpm.wasserstein``). Along
each sequence the bounds linking them are checked: TV <= sqrt(KL/2)
(Pinsker), JSD <= log 2 TV, TV <= sqrt(2 JSD), and W1 <= diam TV on a bounded
support. Figure ``convergence_hierarchy.png``: the three sequences on
log-log axes. Prints the values at n = 100 and whether every bound held.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from dpm import quadrature
from dpm.datasets import ParallelLine, parallel_lines
from dpm.distributions import Normal, Uniform
from dpm.divergences import js_divergence, kl
from dpm.wasserstein import assignment_emd, wasserstein_1d
from demos._common import parse_args, report, savefig

LOG2 = np.log(2.0)


def bounds_hold(kl_value, jsd, tv):
    """Pinsker TV <= sqrt(KL/2), JSD <= log 2 TV, TV <= sqrt(2 JSD) (a little float slack)."""
    slack = 1e-12
    return bool(tv <= np.sqrt(kl_value / 2) + slack and jsd <= LOG2 * tv + slack
                and tv <= np.sqrt(2 * jsd) + slack)


def shifted_normals(ns, levels):
    rows = []
    for n in ns:
        p_n, p = Normal(1.0 / n, 1.0), Normal(0.0, 1.0)
        kl_value, jsd = quadrature.kl(p_n, p), quadrature.js(p_n, p)
        tv = quadrature.f_divergence(p_n, p, "total_variation")
        w1 = wasserstein_1d(stats.norm.ppf(levels, 1.0 / n), stats.norm.ppf(levels))
        rows.append((kl_value, jsd, tv, w1, bounds_hold(kl_value, jsd, tv)))
    return np.array(rows)


def nested_uniforms(ns, levels):
    rows = []
    for n in ns:
        c = 1.0 + 1.0 / n
        p, p_n = Uniform(0.0, 1.0), Uniform(0.0, c)
        kl_value, jsd = quadrature.kl(p, p_n), quadrature.js(p, p_n)
        tv = quadrature.f_divergence(p, p_n, "total_variation")
        w1 = wasserstein_1d(levels, c * levels)  # quantile functions u and c u
        ok = bounds_hold(kl_value, jsd, tv) and w1 <= c * tv + 1e-12  # diam [0, c] = c
        rows.append((kl_value, jsd, tv, w1, ok))
    return np.array(rows)


def parallel_line_sequence(ns, draws, seed):
    rows = []
    for n in ns:
        p, q = ParallelLine(0.0), ParallelLine(1.0 / n)
        rng = np.random.default_rng(seed)
        kl_value, jsd = float(kl(q, p, draws, rng)), float(js_divergence(q, p, draws, rng))
        w1, _ = assignment_emd(parallel_lines(0.0, draws, np.random.default_rng(seed + 1)),
                               parallel_lines(1.0 / n, draws, np.random.default_rng(seed + 1)))
        rows.append((kl_value, jsd, 1.0, w1, True))  # TV = 1: disjoint supports
    return np.array(rows)


def plot(ns, sequences, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    titles = ["P_n = N(1/n, 1) -> N(0, 1)", "P_n = U(0, 1 + 1/n) -> U(0, 1): KL(P||P_n)",
              "parallel lines theta_n = 1/n (KL = inf, not drawn)"]
    for ax, rows, title in zip(axes, sequences, titles):
        finite = np.isfinite(rows[:, 0])
        if finite.any():
            ax.loglog(ns[finite], rows[finite, 0], "s-", color="C3", label="KL")
        ax.loglog(ns, rows[:, 1], "o-", color="C1", label="JSD")
        ax.loglog(ns, rows[:, 2], "^-", color="C2", label="TV")
        ax.loglog(ns, rows[:, 3], "d-", color="C0", label="W1")
        ax.axhline(LOG2, color="grey", lw=0.5, ls=":")
        ax.set(xlabel="n (sequence index)", title=title)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("divergence (nats) / distance")
    fig.suptitle("KL -> 0  =>  JSD, TV -> 0  =>  W1 -> 0, but W1 -> 0 does not force JSD -> 0 (K9)")
    return savefig(fig, args, "convergence_hierarchy")


def main(argv=None):
    args = parse_args(argv, __doc__)
    ns = np.unique(np.round(np.logspace(0, 2, 7 if args.quick else 25)).astype(int))
    levels = (np.arange(1000) + 0.5) / 1000  # quantile levels for the exact 1-D W1
    draws = 50 if args.quick else 200
    normals = shifted_normals(ns, levels)
    uniforms = nested_uniforms(ns, levels)
    lines = parallel_line_sequence(ns, draws, args.seed)
    for name, rows in (("normals", normals), ("uniforms", uniforms), ("lines", lines)):
        kl_last, jsd_last, tv_last, w1_last, _ = rows[-1]
        report(f"{name}_KL_JSD_TV_W1_at_n_{ns[-1]}", (kl_last, jsd_last, tv_last, w1_last))
    slope = lambda y: float(np.polyfit(np.log(ns), np.log(y), 1)[0])  # noqa: E731
    report("normals_log_log_slopes_KL_JSD_W1", (slope(normals[:, 0]), slope(normals[:, 1]),
                                                slope(normals[:, 3])),
           source="KL, JSD ~ n^-2, W1 ~ n^-1")
    bounds = bool(normals[:, 4].all() and uniforms[:, 4].all())
    report("bounds_hold_every_n", bounds, lecture="thm 2: (3) => (1) => (2)",
           source="004, Pinsker-type bounds", agrees=bounds)
    report("lines_W1_at_n_100_and_JSD", (lines[-1, 3], lines[-1, 1]),
           lecture="W -> 0 while JSD = log 2", source="001, 004",
           agrees=bool(lines[-1, 3] < lines[0, 3] and abs(lines[-1, 1] - np.log(2)) < 1e-6))
    plot(ns, (normals, uniforms, lines), args)
    return {"ns": ns.tolist(), "normals": normals.tolist(), "uniforms": uniforms.tolist(),
            "lines": lines.tolist()}


if __name__ == "__main__":
    main()
