"""MH, Gibbs, HMC and NUTS side by side on one correlated Gaussian (E2).

Lectures 000 (potpourri) and 004 name the four samplers. The target is
p = N(0, Sigma), Sigma = [[1, .95], [.95, 1]]; each sampler runs 4 chains
from the same over-dispersed start. Figure ``mcmc.png``: the first draws of
x_1 (traces), the autocorrelation of x_1 against the lag (Gibbs' lag-1 value
is rho^2 = 0.9025 in closed form), and bulk ESS per second. Prints, per
sampler, the posterior mean of x_1 with its ESS-based standard error, the
largest R-hat, the bulk ESS and the bulk ESS per second (indicative: wall
time on a shared machine).
"""
from __future__ import annotations

import time

import numpy as np

import minigrad as mg
from dpm import mcmc
from demos._common import parse_args, report, savefig

RHO = 0.95
COV = np.array([[1.0, RHO], [RHO, 1.0]])
PRECISION = mg.Tensor(np.linalg.inv(COV))


def log_prob(x):
    return -0.5 * mg.sum((x @ PRECISION) * x, axis=-1)


def run_samplers(rng, quick):
    x0 = 3.0 * rng.standard_normal((4, 2))
    scale = 4 if quick else 1
    runs = {
        "MH": lambda: mcmc.metropolis(log_prob, x0, 20_000 // scale, rng, warmup=1000),
        "Gibbs": lambda: mcmc.gibbs(mcmc.GaussianConditionals([0.0, 0.0], COV), x0,
                                    20_000 // scale, rng, warmup=100),
        "HMC": lambda: mcmc.hmc(log_prob, x0, 2000 // scale, rng, warmup=500 // scale),
        "NUTS": lambda: mcmc.nuts(log_prob, x0, 1000 // scale, rng, warmup=500 // scale),
    }
    results = {}
    for name, sample in runs.items():
        start = time.perf_counter()
        chains = sample()
        results[name] = (chains, time.perf_counter() - start)
    return results


def plot(results, args):
    import matplotlib.pyplot as plt
    fig, (traces, acf, speed) = plt.subplots(1, 3, figsize=(16, 4.5))
    lags = np.arange(41)
    for i, (name, (chains, seconds)) in enumerate(results.items()):
        traces.plot(chains.samples[0, :300, 0] + 4 * i, lw=0.7, label=f"{name} (offset {4 * i})")
        rho = mcmc.autocorrelation(chains.samples[:, :, 0]).mean(axis=0)[lags]
        acf.plot(lags, rho, "o-", ms=3, label=name)
        speed.bar(name, chains.ess().min() / seconds, color=f"C{i}")
    acf.plot(lags, RHO ** (2 * lags), "k--", lw=1, label="Gibbs closed form rho^(2t)")
    traces.set(xlabel="iteration after warm-up", ylabel="x_1 (offset per sampler)",
               title="Traces of x_1, chain 1")
    acf.set(xlabel="lag t", ylabel="autocorrelation of x_1", ylim=(-0.3, 1.05),
            title=f"Autocorrelation, N(0, [[1, {RHO}], [{RHO}, 1]])")
    speed.set(ylabel="bulk ESS per second (min over coordinates)", yscale="log",
              title="Efficiency (indicative wall time)")
    traces.legend(fontsize=7)
    acf.legend(fontsize=7)
    return savefig(fig, args, "mcmc")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    results = run_samplers(rng, args.quick)
    numbers = {}
    for name, (chains, seconds) in results.items():
        mean = chains.mean()
        ess = chains.ess().min()
        key = name.lower()
        report(f"{key}_mean_x1", mean.data[0], source=f"truth 0, +/- {mean.stderr[0]:.2g} (s.e.)")
        report(f"{key}_rhat_max", chains.rhat().max(), source="< 1.01 when converged")
        report(f"{key}_ess_bulk", ess, source=f"{chains.samples.shape[0]} chains x "
                                              f"{chains.samples.shape[1]} draws")
        report(f"{key}_ess_per_second", ess / seconds, source="indicative")
        numbers[key] = {"mean": mean.data.tolist(), "stderr": mean.stderr.tolist(),
                        "ess": float(ess), "ess_per_second": float(ess / seconds)}
    gibbs_lag1 = mcmc.autocorrelation(results["Gibbs"][0].samples[:, :, 0])[:, 1].mean()
    report("gibbs_lag1_autocorrelation", gibbs_lag1, lecture=RHO ** 2,
           source="closed form rho^2")
    numbers["gibbs_lag1"] = float(gibbs_lag1)
    plot(results, args)
    return numbers


if __name__ == "__main__":
    main()
