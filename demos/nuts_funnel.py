"""NUTS on Neal's funnel: divergences where the geometry is hard, none once reparameterised (E2).

Neal's funnel: v ~ N(0, 3^2), x_j | v ~ N(0, e^v), j = 1..5. In the neck
(v << 0) the curvature is e^-v, far beyond what one step size can follow, so
leapfrog trajectories there blow up: NUTS reports them as divergences
(energy error > 1000) and, because they stop the trajectory, the neck is
under-explored and the estimate of sd(v) (3 exactly) comes out too small.
The non-centred form x_j = e^{v/2} u_j, u_j ~ N(0, 1), has the same law of
(v, x) and a plain Gaussian geometry: no divergences, sd(v) recovered.

Figure ``nuts_funnel.png``: draws of (x_1, v) for both forms, divergent
iterations marked. Prints the divergence counts and the sd of v with its
standard error (ESS-based) for both, beside the exact 3.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from dpm import mcmc
from demos._common import parse_args, report, savefig

DIM = 6  # v and five x_j


def centred_log_prob(z):
    v, x = z[:, 0], z[:, 1:]
    return -v * v / 18.0 - 0.5 * mg.sum(x * x, axis=-1) * mg.exp(-v) - 0.5 * (DIM - 1) * v


def non_centred_log_prob(z):
    return -z[:, 0] * z[:, 0] / 18.0 - 0.5 * mg.sum(z[:, 1:] * z[:, 1:], axis=-1)


def sd_of_v(chains):
    """sd(v) = sqrt(E v^2) (E v = 0) with its delta-method s.e. from the ESS of v^2."""
    second = chains.mean(lambda s: s[..., 0] ** 2)
    sd = np.sqrt(second.data[0])
    return sd, second.stderr[0] / (2 * sd)


def plot(centred, non_centred, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, (title, chains, x1) in zip(axes, (
            ("centred: (x, v) sampled directly", centred, centred.samples[..., 1]),
            ("non-centred: x = exp(v/2) u", non_centred,
             non_centred.samples[..., 1] * np.exp(non_centred.samples[..., 0] / 2)))):
        v = chains.samples[..., 0]
        divergent = chains.stats["divergent"]
        ax.plot(x1[~divergent], v[~divergent], ".", ms=2, alpha=0.4, label="draws")
        ax.plot(x1[divergent], v[divergent], "o", color="C3", ms=4,
                label=f"divergent ({int(divergent.sum())})")
        ax.set(xlabel="x_1", xlim=(-20, 20), title=f"NUTS on Neal's funnel, {title}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("v (log variance of x)")
    return savefig(fig, args, "nuts_funnel")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    draws, warmup = (150, 150) if args.quick else (1000, 1000)
    x0 = 0.5 * rng.standard_normal((2 if args.quick else 4, DIM))
    centred = mcmc.nuts(centred_log_prob, x0, draws, rng, warmup=warmup)
    non_centred = mcmc.nuts(non_centred_log_prob, x0, draws, rng, warmup=warmup)
    numbers = {}
    for name, chains in (("centred", centred), ("non_centred", non_centred)):
        sd, se = sd_of_v(chains)
        report(f"funnel_{name}_divergences", int(chains.divergences.sum()),
               source=f"of {chains.samples.shape[0] * draws} iterations")
        report(f"funnel_{name}_sd_v", sd, lecture=3.0, source=f"exact; +/- {se:.2g} (s.e.)")
        numbers[name] = {"divergences": int(chains.divergences.sum()), "sd_v": float(sd),
                         "sd_v_stderr": float(se)}
    plot(centred, non_centred, args)
    return numbers


if __name__ == "__main__":
    main()
