"""Gumbel-max draws the categorical; Gumbel-softmax relaxes it, tending to one-hot as tau -> 0 (M3, M4).

Lecture 001 (discrete VAE latents): with g_k ~ Gumbel(0, 1), c = argmax_k (log pi_k + g_k)
~ Categorical(pi) (the Gumbel-max trick), and the relaxation
y = softmax((log pi + g) / tau) makes the draw a differentiable function of log pi.

Figures: ``gumbel_softmax_simplex.png``, relaxed draws for pi = (0.2, 0.5, 0.3) on
the 2-simplex at four temperatures (coloured by their argmax);
``gumbel_softmax_draws.png``, the same noise g pushed through softmax at several
temperatures for K = 6; ``gumbel_max.png``, Gumbel-max frequencies against pi
(chi-square p-value), the distance from one-hot 1 - E[max_k y_k] and the bias of
the relaxed pathwise gradient of E[f(y)] against the exact gradient of
E[f(one_hot)] (f(y) = (v . y - 0.3)^2), both against tau with standard errors.
"""
from __future__ import annotations

import numpy as np
import scipy.stats as st
from scipy.special import softmax

from minigrad import Tensor
from demos._common import parse_args, report, savefig
from dpm.distributions import RelaxedOneHotCategorical
from dpm.distributions.relaxed import gumbel_max_sample, gumbel_noise
from dpm.montecarlo import pathwise_gradient

PI = np.array([0.2, 0.5, 0.3])
TAUS = [2.0, 1.0, 0.5, 0.25, 0.1, 0.05]
V = np.array([1.0, -1.0, 2.0])


def gumbel_max_frequencies(n, rng):
    counts = np.bincount(gumbel_max_sample(np.log(PI), (n,), rng), minlength=PI.size)
    return counts / n, st.chisquare(counts, n * PI).pvalue


def one_hot_gap(n, rng):
    """[(tau, 1 - mean max_k y_k, its standard error)]."""
    rows = []
    for tau in TAUS:
        top = RelaxedOneHotCategorical(tau, probs=PI).sample((n,), rng).max(axis=-1)
        rows.append((tau, 1.0 - top.mean(), top.std(ddof=1) / np.sqrt(n)))
    return rows


def gradient_bias(n, rng):
    """[(tau, |relaxed gradient - exact one-hot gradient|, standard error of that norm)]."""
    f_k = (V - 0.3) ** 2
    exact = PI * (f_k - PI @ f_k)          # d/dlogits of E_{Cat(pi)}[f(one_hot)]
    rows = []
    for tau in TAUS:
        g = pathwise_gradient(lambda y: ((y * Tensor(V)).sum(axis=-1) - 0.3) ** 2,
                              lambda logits: RelaxedOneHotCategorical(tau, logits=logits),
                              {"logits": np.log(PI)}, n, rng)["logits"]
        rows.append((tau, float(np.linalg.norm(g.mean - exact)), float(np.linalg.norm(g.stderr))))
    return rows, exact


def to_triangle(y):
    """Barycentric (y1, y2, y3) -> 2-D points of an equilateral triangle."""
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    return y @ corners


def plot_simplex(rng, n, args):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.8))
    outline = to_triangle(np.vstack([np.eye(3), np.eye(3)[:1]]))
    for ax, tau in zip(axes, [5.0, 1.0, 0.5, 0.1]):
        y = RelaxedOneHotCategorical(tau, probs=PI).sample((n,), rng)
        xy = to_triangle(y)
        ax.plot(outline[:, 0], outline[:, 1], "k", lw=0.8)
        ax.scatter(xy[:, 0], xy[:, 1], c=np.argmax(y, 1), cmap="viridis", s=3, alpha=0.5)
        for k, (cx, cy) in enumerate(to_triangle(np.eye(3))):
            ax.annotate(f"e{k + 1} (pi={PI[k]:g})", (cx, cy), ha="center", fontsize=8,
                        xytext=(0, -12 if cy == 0 else 5), textcoords="offset points")
        ax.set_title(f"tau = {tau:g}")
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle("Gumbel-softmax draws on the simplex (colour: argmax = the Gumbel-max label)")
    savefig(fig, args, "gumbel_softmax_simplex")


def plot_draws(rng, args):
    import matplotlib.pyplot as plt

    K = 6
    log_pi = np.log(np.arange(1, K + 1) / np.arange(1, K + 1).sum())
    g = gumbel_noise((3, K), rng)                          # three draws of the noise
    taus = [5.0, 1.0, 0.3, 0.05]
    fig, axes = plt.subplots(len(taus), 3, figsize=(9, 7), sharex=True, sharey=True)
    for i, tau in enumerate(taus):
        y = softmax((log_pi + g) / tau, axis=1)
        for j in range(3):
            axes[i, j].bar(np.arange(1, K + 1), y[j])
            axes[i, j].set_title(f"draw {j + 1}, tau = {tau:g}", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("category k")
    for ax in axes[:, 0]:
        ax.set_ylabel("y_k")
    fig.suptitle("Three noise draws g, several temperatures: softmax((log pi + g) / tau), "
                 "pi_k proportional to k")
    fig.tight_layout()
    savefig(fig, args, "gumbel_softmax_draws")


def plot_gumbel_max(freqs, pvalue, gaps, biases, exact, args):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    k = np.arange(1, PI.size + 1)
    axes[0].bar(k - 0.2, PI, 0.4, label="pi")
    axes[0].bar(k + 0.2, freqs, 0.4, label="argmax(log pi + g) frequency")
    axes[0].set(xlabel="category k", ylabel="probability",
                title=f"Gumbel-max vs pi (chi-square p = {pvalue:.2f})")
    axes[0].set_ylim(0, 0.7)
    axes[0].legend(fontsize=8, loc="upper left")
    taus, gap, gap_se = np.array(gaps).T
    axes[1].errorbar(taus, gap, 5 * gap_se, marker="o", capsize=3)
    axes[1].set(xscale="log", yscale="log", xlabel="temperature tau",
                ylabel="1 - E[max_k y_k]", title="Distance from one-hot (bars: 5 s.e.)")
    taus, bias, bias_se = np.array(biases).T
    axes[2].errorbar(taus, bias, 5 * bias_se, marker="o", capsize=3, label="|bias|")
    axes[2].axhline(np.linalg.norm(exact), color="gray", ls="--", label="|exact gradient|")
    axes[2].set(xscale="log", xlabel="temperature tau", ylabel="norm",
                title="Relaxed pathwise gradient: bias (bars: 5 s.e.)")
    axes[2].set_ylim(bottom=0.0)
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    savefig(fig, args, "gumbel_max")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    n = 20_000 if args.quick else 200_000
    freqs, pvalue = gumbel_max_frequencies(n, rng)
    report("gumbel_max_frequencies", freqs, lecture=tuple(PI), source="001, Gumbel-max trick")
    report("gumbel_max_chi2_pvalue", pvalue, lecture="c ~ Categorical(pi)", source="001",
           agrees=bool(pvalue > 1e-3))
    gaps = one_hot_gap(n, rng)
    biases, exact = gradient_bias(n, rng)
    result = {"gumbel_max_frequencies": freqs.tolist(), "gumbel_max_chi2_pvalue": pvalue}
    # "-> 0 as tau -> 0": each value below the one at the next larger tau, within
    # 2 standard errors of their difference (the biases are Monte Carlo estimates)
    gap_at = {t: (g, se) for t, g, se in gaps}
    bias_at = {t: (b, se) for t, b, se in biases}
    below = lambda at, t, up: (up is None or at[t][0] <= at[up][0]  # noqa: E731
                               + 2 * np.hypot(at[t][1], at[up][1]))
    taus = sorted(gap_at)
    larger = dict(zip(taus[:-1], taus[1:]))
    for (tau, gap, gap_se), (_, bias, bias_se) in zip(gaps, biases):
        up = larger.get(tau)
        report(f"one_hot_gap[tau={tau:g}]", gap, lecture="-> 0 as tau -> 0", source="001",
               agrees=below(gap_at, tau, up))
        report(f"gradient_bias[tau={tau:g}]", bias, lecture="-> 0 as tau -> 0", source="001",
               agrees=below(bias_at, tau, up),
               why="the bias grows again at the smallest tau (variance of the relaxed "
                   "gradient)")
        print(f"  (standard errors: gap {gap_se:.2g}, bias {bias_se:.2g})")
        result[f"one_hot_gap[tau={tau:g}]"] = gap
        result[f"gradient_bias[tau={tau:g}]"] = bias
    plot_simplex(rng, 1500, args)
    plot_draws(rng, args)
    plot_gumbel_max(freqs, pvalue, gaps, biases, exact, args)
    return result


if __name__ == "__main__":
    main()
