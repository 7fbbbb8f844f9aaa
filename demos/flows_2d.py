"""Normalizing flows fitted by maximum likelihood on two moons and the ring (N4).

Lecture 002 ("Normalizing flows"): a RealNVP (affine couplings, alternating
halves, ActNorm) and a MAF (two MADE orders), trained by Adam on
-1/n sum log p(x_i), against the best single Gaussian (maximum likelihood)
and, when ``dpm.models.gmm_em`` is present, an 8-component Gaussian mixture
fitted by EM. Each fitted density is integrated on a grid (trapezoid rule,
error bound from the grid's second differences, plus the Monte Carlo mass
outside the grid).

Figure ``flows_2d.png``: for each target, the data, each flow's density and
its samples. Prints the held-out log-likelihood (nats per point, +/- s.e.)
of every model and each flow's integral.
"""
from __future__ import annotations

import importlib

import numpy as np

import minigrad as mg
from demos._common import parse_args, report, savefig
from dpm import datasets
from dpm.models import flows as F

TARGETS = {"moons": datasets.moons, "ring": datasets.ring}
FLOWS = {"realnvp": lambda rng, quick: F.realnvp_flow(2, 6 if quick else 8,
                                                     (32,) if quick else (64,), rng=rng),
         "maf": lambda rng, quick: F.maf_flow(2, 4, (32,) if quick else (64,), rng=rng)}


def log_density(model):
    def f(points):
        with mg.no_grad():
            return model.log_prob(points).data
    return f


def held_out(values):
    return float(np.mean(values)), float(np.std(values, ddof=1) / np.sqrt(len(values)))


def fit_target(name, steps, rng, quick):
    x, test = TARGETS[name](3000, rng), TARGETS[name](2000, rng)
    results = {"gaussian": held_out(F.best_gaussian(x).logpdf(test))}
    flows = {}
    for kind, make in FLOWS.items():
        flow = make(rng, quick)
        F.fit_max_likelihood(flow, x, steps, 256, 5e-3 if quick else 2e-3, rng, eval_every=max(steps // 4, 1))
        flows[kind] = flow
        results[kind] = held_out(log_density(flow)(test))
    try:
        gmm_em = importlib.import_module("dpm.models.gmm_em")
        mixture = gmm_em.fit_gmm(x, 8, rng)
        results["gmm8_em"] = held_out(np.asarray(mixture.log_prob(test)))
    except ImportError:
        pass
    return x, flows, results


def plot(fits, rng, args):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(fits), 1 + 2 * len(FLOWS), figsize=(18, 3.6 * len(fits)))
    for row, (name, (x, flows, _)) in zip(axes, fits.items()):
        low, high = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
        row[0].scatter(x[:, 0], x[:, 1], s=1, alpha=0.3)
        row[0].set(title=f"{name}: training data", xlabel="x_1", ylabel="x_2")
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], 150), np.linspace(low[1], high[1], 150))
        for k, (kind, flow) in enumerate(flows.items()):
            dens = np.exp(log_density(flow)(np.column_stack([gx.ravel(), gy.ravel()])))
            ax = row[1 + 2 * k]
            ax.imshow(dens.reshape(gx.shape), origin="lower", cmap="magma", aspect="auto",
                      extent=(low[0], high[0], low[1], high[1]))
            ax.set(title=f"{kind} density", xlabel="x_1", ylabel="x_2")
            draws = flow.sample((3000,), rng)
            ax = row[2 + 2 * k]
            ax.scatter(draws[:, 0], draws[:, 1], s=1, alpha=0.3, color="C1")
            ax.set(title=f"{kind} samples", xlabel="x_1", ylabel="x_2", xlim=(low[0], high[0]),
                   ylim=(low[1], high[1]))
    fig.suptitle("Flows fitted by maximum likelihood (lecture 002)")
    fig.tight_layout()
    return savefig(fig, args, "flows_2d")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    steps = 250 if args.quick else 3000
    fits, out = {}, {}
    for name in TARGETS:
        x, flows, results = fit_target(name, steps, rng, args.quick)
        fits[name] = (x, flows, results)
        for model, (mean, stderr) in results.items():
            report(f"{name}_{model}_heldout_ll", mean, source=f"nats/point +/- {stderr:.2g}")
            out[f"{name}_{model}_heldout_ll"] = mean
        low, high = x.min(axis=0) - 1.0, x.max(axis=0) + 1.0
        for kind, flow in flows.items():
            total = F.grid_integral(log_density(flow), (low[0], high[0], low[1], high[1]),
                                    201 if args.quick else 401, flow.sample((20000,), rng))
            report(f"{name}_{kind}_integral", total.total, lecture=1,
                   source=f"trapezoid bound {total.bound:.1g}, outside "
                          f"{total.outside:.1g} +/- {total.outside_stderr:.1g}")
            out[f"{name}_{kind}_integral"] = total.total
    plot(fits, rng, args)
    return out


if __name__ == "__main__":
    main()
