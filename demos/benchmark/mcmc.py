"""MCMC speed (issue 13): compiled MH/Gibbs loops, and bulk ESS per second of NUTS.

Rows:
- ``mh_mixture_kernel``: random-walk MH on the 1-D mixture 0.4 N(-1.5, 0.8^2)
  + 0.6 N(1.5, 0.8^2), one chain, the Numba loop
  ``dpm.mcmc.kernels.rw_mixture_1d_numba`` against its NumPy/Python twin on the
  same pre-drawn randomness (goal >= 20x per sample), and against
  ``dpm.mcmc.metropolis`` with a minigrad log density (the general path);
- ``gibbs_mixture_kernel``: the data-augmentation Gibbs loop, kernel vs twin;
- ``ess_per_second``: on a 10-D Gaussian with condition number 100, the time
  per bulk effective sample (min over coordinates; 4 chains, warm-up
  included) of NUTS against HMC, random-walk MH, and NumPyro's NUTS when
  NumPyro is installed (in its own process, float64, XLA on one thread, same
  start, warm-up and draws; ESS computed here by the same estimator; two
  rows: the first run, which includes JAX's compilation, and a second run
  that reuses it); speedup = ref / ours is the ratio of ESS per second.
One sampling run per ESS row (they are long): indicative on a loaded machine.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import minigrad as mg
from demos.benchmark._timing import row
from dpm import mcmc
from dpm.mcmc import kernels

LOG_WEIGHTS, LOCS, SCALES = np.log([0.4, 0.6]), np.array([-1.5, 1.5]), np.array([0.8, 0.8])


def _mixture_rows(quick):
    rng = np.random.default_rng(0)
    n = 5000 if quick else 50_000
    normals, uniforms = rng.standard_normal((n, 1)), rng.uniform(size=(n, 1))
    x0, step = np.zeros(1), np.array([2.0])
    args = (x0, step, LOG_WEIGHTS, LOCS, SCALES, normals, np.log(uniforms))
    size = f"{n} draws, 1 chain, K=2"
    timing = dict(repeats=3 if quick else 5)
    rows = [row("mh_mixture_kernel", size, "numba loop", lambda: kernels.rw_mixture_1d_numba(*args),
                "numpy/python twin", lambda: kernels.rw_mixture_1d_numpy(*args), **timing)]
    terms = mg.Tensor(LOG_WEIGHTS - np.log(SCALES))

    def log_prob(x):
        return mg.logsumexp(terms - 0.5 * ((x - LOCS) / SCALES) ** 2, axis=-1)

    few = n // 10   # the general path is slow: time a tenth and scale to n draws
    rows.append(row("mh_mixture_kernel", size, "numba loop",
                    lambda: kernels.rw_mixture_1d_numba(*args),
                    "metropolis() minigrad (x10)",
                    lambda: mcmc.metropolis(log_prob, np.zeros((1, 1)), few, rng, step=2.0,
                                            warmup=0, adapt=False), **timing))
    rows[-1]["ref_s"] *= n / few
    rows[-1]["speedup"] = rows[-1]["ref_s"] / rows[-1]["ours_s"]
    gibbs_args = (x0, LOG_WEIGHTS, LOCS, SCALES, uniforms, normals)
    rows.append(row("gibbs_mixture_kernel", size, "numba loop",
                    lambda: kernels.gibbs_mixture_1d_numba(*gibbs_args), "numpy/python twin",
                    lambda: kernels.gibbs_mixture_1d_numpy(*gibbs_args), **timing))
    return rows


def _gaussian_10d():
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((10, 10)))
    return np.linspace(-1, 1, 10), 3.0 * Q @ np.diag(np.logspace(0, -2, 10)) @ Q.T


def _seconds_per_ess(sample):
    start = time.perf_counter()
    chains = sample()
    seconds = time.perf_counter() - start
    return seconds / chains.ess().min(), seconds


NUMPYRO_SCRIPT = """
import json, os, sys, time
import numpy as np
import jax, jax.numpy as jnp
from numpyro.infer import MCMC, NUTS
jax.config.update("jax_enable_x64", True)      # float64 like ours
mean, cov, draws, out = json.loads(sys.argv[1])
mean, precision = jnp.array(mean), jnp.linalg.inv(jnp.array(cov))
def potential(x):
    gap = x - mean
    return 0.5 * gap @ precision @ gap
mcmc = MCMC(NUTS(potential_fn=potential), num_warmup=draws // 2, num_samples=draws,
            num_chains=4, chain_method="vectorized", progress_bar=False)
init = jnp.asarray(np.load(out + ".x0.npy"))
seconds = []
for seed in (0, 1):      # the first run includes JAX's compilation, the second reuses it
    start = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(seed), init_params=init)
    samples = np.asarray(mcmc.get_samples(group_by_chain=True))
    seconds.append(time.perf_counter() - start)
    np.save(out + f".{seed}.npy", samples)
print(json.dumps({"seconds": seconds}))
"""

# XLA's intra-op thread pool only costs time on 10-D work: one thread is its best setting
NUMPYRO_ENV = {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
               "OMP_NUM_THREADS": "1", "JAX_PLATFORMS": "cpu"}


def _numpyro_seconds_per_ess(mean, cov, x0, draws):
    """[(s per bulk ESS, s) with compilation, (the same) compiled] of NumPyro's NUTS in a
    subprocess, or None when NumPyro is not installed or its run fails."""
    if importlib.util.find_spec("numpyro") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "samples")
        np.save(out + ".x0.npy", x0)
        payload = json.dumps([mean.tolist(), cov.tolist(), draws, out])
        try:
            done = subprocess.run([sys.executable, "-c", NUMPYRO_SCRIPT, payload],
                                  capture_output=True, text=True, timeout=900, check=True,
                                  env={**mg.tuning.untuned_environment(), **NUMPYRO_ENV})
            seconds = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
            samples = [np.load(out + f".{seed}.npy") for seed in (0, 1)]
        except (subprocess.SubprocessError, ValueError, OSError, KeyError, IndexError):
            return None
    return [(s / mcmc.ess(draws_).min(), s) for s, draws_ in zip(seconds, samples)]


def _ess_rows(quick):
    mean, cov = _gaussian_10d()
    precision = mg.Tensor(np.linalg.inv(cov))

    def log_prob(x):
        gap = x - mean
        return -0.5 * mg.sum((gap @ precision) * gap, axis=-1)

    draws = 200 if quick else 1000
    rng = np.random.default_rng(1)
    x0 = mean + 0.1 * rng.standard_normal((4, 10))
    size = f"d=10, cond 100, 4x{draws}"
    # compile NUTS's Numba bookkeeping first (cached on disk after), as the timing rows do
    mcmc.nuts(log_prob, x0, 2, np.random.default_rng(0), warmup=0, step_size=0.1)
    nuts_s, nuts_total = _seconds_per_ess(lambda: mcmc.nuts(log_prob, x0, draws, rng,
                                                            warmup=draws // 2))
    refs = {"hmc (10 leapfrog steps)": lambda: mcmc.hmc(log_prob, x0, draws, rng,
                                                        warmup=draws // 2),
            "metropolis (random walk)": lambda: mcmc.metropolis(log_prob, x0, 20 * draws, rng,
                                                               warmup=draws)}
    rows = []
    for name, sample in refs.items():
        ref_s, _ = _seconds_per_ess(sample)
        rows.append({"bench": "ess_per_second", "size": size, "ours": "nuts (s per ESS)",
                     "ours_s": nuts_s, "ref": name, "ref_s": ref_s, "speedup": ref_s / nuts_s})
    numpyro = _numpyro_seconds_per_ess(mean, cov, x0, draws)
    for label, (ref_s, _) in zip(("incl. JIT compile", "compiled"), numpyro or []):
        rows.append({"bench": "ess_per_second", "size": size, "ours": "nuts (s per ESS)",
                     "ours_s": nuts_s, "ref": f"numpyro NUTS, {label} (own process)",
                     "ref_s": ref_s, "speedup": ref_s / nuts_s})
    return rows


def run(quick: bool) -> list[dict]:
    return _mixture_rows(quick) + _ess_rows(quick)
