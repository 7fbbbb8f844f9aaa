"""IWAE with k = 5,000 importance samples on a batch of 128 (issue 9).

Log weights log w = log p(x, z) - log q(z) of the Normal-Normal conjugate
model (z ~ N(0, 1), x | z ~ N(z, 0.8^2), q a shifted, wider Normal), laid out
as ``dpm.vi.iwae`` draws them: (n = 1, k, batch). Rows:
- the bound from the log weights: ``dpm.vi.log_mean_exp`` (the middle-axis
  Numba kernel, no transposed copy) against scipy.special.logsumexp over the
  k axis minus log k (target >= 5x);
- the same against minigrad.logsumexp over axis 1 (transposes to rows first);
- the whole ``iwae`` (draws, log densities and the bound, under no_grad)
  against the same pipeline written in NumPy/SciPy.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special as sp
import scipy.stats as st

import minigrad as mg
from minigrad import Tensor
from demos.benchmark._timing import row
from dpm.distributions import Normal
from dpm.vi import iwae, log_mean_exp

NOISE = 0.8


def _problem(rng, k, batch):
    x = rng.normal(size=batch) * 1.3
    q_loc, q_scale = x / (1 + NOISE ** 2) + 0.5, np.full(batch, 0.9)
    z = q_loc + q_scale * rng.standard_normal((1, k, batch))
    log_w = st.norm.logpdf(z) + st.norm.logpdf(x, z, NOISE) - st.norm.logpdf(z, q_loc, q_scale)
    return x, q_loc, q_scale, np.ascontiguousarray(log_w)


def _numpy_iwae(x, q_loc, q_scale, k, rng):
    z = q_loc + q_scale * rng.standard_normal((1, k, len(x)))
    log_w = (-0.5 * z ** 2 - 0.5 * ((x - z) / NOISE) ** 2 - math.log(NOISE)
             + 0.5 * ((z - q_loc) / q_scale) ** 2 + np.log(q_scale) - 0.5 * math.log(2 * math.pi))
    return sp.logsumexp(log_w, axis=1) - math.log(k)


def run(quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    k, batch = 5000, 128
    repeats = 5 if quick else 15
    x, q_loc, q_scale, log_w = _problem(rng, k, batch)
    weights = Tensor(log_w)
    size = f"k={k}, batch={batch}"
    rows = [row("iwae_bound", size, "log_mean_exp (numba)",
                lambda: log_mean_exp(weights, axis=1),
                "scipy logsumexp - log k", lambda: sp.logsumexp(log_w, axis=1) - math.log(k),
                repeats=repeats),
            row("iwae_bound", size, "log_mean_exp (numba)",
                lambda: log_mean_exp(weights, axis=1),
                "minigrad.logsumexp axis=1", lambda: mg.logsumexp(weights, axis=1) - math.log(k),
                repeats=repeats)]

    def log_joint(z):
        return Normal(0.0, 1.0).log_prob(z) + Normal(z, NOISE).log_prob(x)

    def ours():
        with mg.no_grad():
            return iwae(log_joint, Normal(q_loc, q_scale), k=k, n=1, rng=rng)

    rows.append(row("iwae_total", size, "dpm.vi.iwae (no_grad)", ours,
                    "numpy draws + scipy logsumexp", lambda: _numpy_iwae(x, q_loc, q_scale, k, rng),
                    repeats=repeats))
    return rows
