"""What every sampler shares: argument checks and the target's log density and gradient.

``log_prob`` maps a (chains, dim) Tensor to (chains,) log densities (up to a
constant). Samplers that only need values call it under ``no_grad`` on a
plain Tensor; HMC and NUTS get the gradient by one reverse pass of minigrad
(the chains are independent, so the gradient of the sum is each chain's own).
"""
from __future__ import annotations

import math
import numbers
import sys

import numpy as np

import minigrad as mg
from minigrad import Tensor
from dpm.distributions.base import resolve_rng


def check_x0(x0):
    """x0 as a (chains, dim) float64 array of finite values, or ValueError."""
    x = np.array(getattr(x0, "data", x0), dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x0 must have shape (chains, dim), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must be finite")
    return x


def check_count(value, name, minimum=1):
    """A whole number >= minimum, or ValueError naming ``name``."""
    whole = (isinstance(value, numbers.Real) and not isinstance(value, bool)
             and math.isfinite(value) and int(value) == value)
    if not whole or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive(value, name):
    """A positive finite float (or array of them), or ValueError naming ``name``."""
    v = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return v


def check_rng(rng):
    if rng is None:
        raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed)); "
                         "samplers are always seeded")
    return resolve_rng(rng)


def _as_array(result, chains, what="log_prob"):
    values = np.asarray(getattr(result, "data", result), dtype=np.float64)
    if values.shape != (chains,):
        raise ValueError(f"{what} must map (chains, dim) to shape ({chains},), got shape "
                         f"{values.shape}")
    # NaN means "outside the support" for a sampler: reject it like -inf
    return np.where(np.isnan(values), -np.inf, values)


def log_density(log_prob, x):
    """log_prob(x) as a (chains,) array, with no graph recorded."""
    # far-out proposals may overflow: the sampler treats non-finite values as
    # outside the support, so NumPy's warnings would only be noise
    with mg.no_grad(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _as_array(log_prob(Tensor(x)), x.shape[0])


def log_density_and_grad(log_prob, x):
    """(log_prob(x) (chains,), d log_prob / dx (chains, dim)) by one minigrad reverse pass."""
    leaf = Tensor(x, requires_grad=True)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as in log_density
        value = log_prob(leaf)
        if not isinstance(value, Tensor) or not value.requires_grad:
            raise ValueError("log_prob must return a minigrad Tensor built from its input "
                             "(HMC and NUTS differentiate it)")
        values = _as_array(value, x.shape[0])
        # upstream ones: the gradient of the sum without recording (and undoing) a sum node
        grad = mg.gradients(value, leaf, grad_outputs=np.ones(values.shape)).data
    # outside the support a gradient means nothing; zero keeps the arithmetic finite
    grad = np.where(np.isfinite(values)[:, None] & np.isfinite(grad), grad, 0.0)
    return values, grad


class Progress:
    """Optional progress lines on stderr: ``<sampler>: iteration t / total (warm-up|sampling)``.

    Ten lines per run at most; silent unless ``enabled`` (the samplers'
    ``progress=True``).
    """

    def __init__(self, sampler, warmup, n, enabled):
        self.sampler, self.warmup, self.total, self.enabled = sampler, warmup, warmup + n, enabled
        self.every = max(1, self.total // 10)

    def __call__(self, t):
        if self.enabled and ((t + 1) % self.every == 0 or t + 1 == self.total):
            phase = "warm-up" if t < self.warmup else "sampling"
            print(f"{self.sampler}: iteration {t + 1} / {self.total} ({phase})", file=sys.stderr,
                  flush=True)
