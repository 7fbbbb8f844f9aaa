"""The figures of demos/gumbel_softmax.py (apart, so the demo reads as the experiment)."""
from __future__ import annotations

import numpy as np
from scipy.special import softmax

from demos._common import savefig
from dpm.distributions import RelaxedOneHotCategorical
from dpm.distributions.relaxed import gumbel_noise


def to_triangle(y):
    """Barycentric (y1, y2, y3) -> 2-D points of an equilateral triangle."""
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    return y @ corners


def plot_simplex(pi, rng, n, args):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.8))
    outline = to_triangle(np.vstack([np.eye(3), np.eye(3)[:1]]))
    for ax, tau in zip(axes, [5.0, 1.0, 0.5, 0.1]):
        y = RelaxedOneHotCategorical(tau, probs=pi).sample((n,), rng)
        xy = to_triangle(y)
        ax.plot(outline[:, 0], outline[:, 1], "k", lw=0.8)
        ax.scatter(xy[:, 0], xy[:, 1], c=np.argmax(y, 1), cmap="viridis", s=3, alpha=0.5)
        for k, (cx, cy) in enumerate(to_triangle(np.eye(3))):
            ax.annotate(f"e{k + 1} (pi={pi[k]:g})", (cx, cy), ha="center", fontsize=8,
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


def plot_gumbel_max(pi, freqs, pvalue, gaps, biases, exact, args):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    k = np.arange(1, pi.size + 1)
    axes[0].bar(k - 0.2, pi, 0.4, label="pi")
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
