"""The figures of demos/fitting.py (kept apart so that the demo reads as the experiment).

Each takes the demo's RUNS table and its results dict and writes one PNG:
``fitting_fits``, ``fitting_losses``, ``fitting_paths``.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions import Normal
from demos._common import savefig


def plot_fits(runs, results, args):
    import matplotlib.pyplot as plt
    x = np.linspace(-25.0, 25.0, 1001)
    fig, axes = plt.subplots(2, 4, figsize=(16, 6.5), sharex=True)
    for ax, (name, target, divergence, start, lecture, _) in zip(axes.ravel(), runs):
        r = results[name]
        ax.plot(x, target.prob(x).data, "k", lw=2, label="target P")
        ax.plot(x, Normal(*start).prob(x).data, color="grey", ls="--", label=f"start N{start}")
        ax.plot(x, Normal(*r["mean"]).prob(x).data, color="C1", lw=2,
                label="fit N({:.2f}, {:.2f})".format(*r["mean"]))
        if np.isfinite(r["exact"][0]):
            ax.plot(x, Normal(*r["exact"][:2]).prob(x).data, color="C2", ls=":", lw=2,
                    label="exact N({:.2f}, {:.2f})".format(*r["exact"][:2]))
        ax.set_title(f"{name}: {divergence}" + (f" (lecture {lecture})" if lecture else ""),
                     fontsize=9)
        ax.set(xlabel="x", ylabel="density", ylim=(0, 0.45))
        ax.legend(fontsize=7)
    fig.suptitle("Normal fits to N(-7.3, 3.2) and to 1/2 N(-7.3, 1.4) + 1/2 N(7.3, 1.4)")
    return savefig(fig, args, "fitting_fits")


def plot_losses(runs, results, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    # forward KL runs from ~30 to ~0 (estimates dip below 0 near F1's optimum): symlog
    scales = {"forward_kl": ("symlog", {"linthresh": 1e-2}), "reverse_kl": ("log", {}),
              "js": ("linear", {})}
    for ax, divergence in zip(axes, ["forward_kl", "reverse_kl", "js"]):
        for k, (name, _, div, *_) in enumerate(runs):
            if div != divergence:
                continue
            losses = results[name]["fit"].losses
            smooth = np.convolve(losses, np.ones(25) / 25, mode="valid")
            ax.plot(smooth, color=f"C{k}", label=name)
            if np.isfinite(results[name]["exact"][2]):
                ax.axhline(results[name]["exact"][2], color=f"C{k}", ls=":", lw=1)
        ax.set_yscale(scales[divergence][0], **scales[divergence][1])
        ax.set(xlabel="Adam step", ylabel="estimate (nats)", title=divergence)
        ax.legend(fontsize=7)
    fig.suptitle("Monte Carlo loss per step (running mean of 25); dotted: exact minimum")
    return savefig(fig, args, "fitting_losses")


def plot_paths(runs, results, args):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    for k, (name, *_rest) in enumerate(runs):
        path, exact = results[name]["fit"].path, results[name]["exact"]
        ax.plot(path[:, 0], path[:, 1], color=f"C{k}", lw=1, label=name)
        ax.plot(*exact[:2], "x", color=f"C{k}", ms=9)
    ax.set(xlabel="mu", ylabel="sigma", yscale="log",
           title="Optimisation paths in (mu, sigma); x: exact optimum from the same start")
    ax.legend(fontsize=7, ncol=2)
    return savefig(fig, args, "fitting_paths")
