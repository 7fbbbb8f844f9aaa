"""Kernels of two fused rules the training steps run every step, each beside its NumPy twin.

    relu_grad(g, x)               = g * [x > 0]                 (relu's backward rule)
    normal_kl_standard(mu, l)     = 1/2 sum_j (e^{2 l_j} - 1 - 2 l_j) + mu_j^2   (last axis)

Why kernels. On the small arrays of a 64-128-8 VAE (128 x 128 activations,
128 x 8 latents) NumPy spends its time in temporaries and casts, not in
arithmetic: ``g * (x > 0)`` makes a boolean array and multiplies through a
bool-to-float cast (about 15 us for 16,384 values; the loop below takes 4 us),
and the KL's cancellation-free e^t - 1 - t needs a 12-term series on the
entries with |t| < 0.1, which NumPy evaluates as a dozen whole-array passes
(about 35 us for 1,024 values; the loop, which takes the series only where it
is needed, about 5 us).

The twins are the definitions: each kernel is tested against its twin (and
the KL against an exact series and ``dpm.kl``). ``relu_grad`` and
``normal_kl_standard`` use the kernel when Numba is enabled and the operands
are C-contiguous arrays of one shape and a float dtype, else the twin.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit

# 1/k! for k = 0..12: the series e^t - 1 - t = t^2 sum_{k>=2} t^(k-2) / k!, whose
# terms past k = 12 are below 2^-53 of the sum for |t| < 0.1.
INVERSE_FACTORIALS = tuple(1.0 / math.factorial(k) for k in range(13))
SERIES_BELOW = 0.1


# ---------------------------------------------------------------- relu backward
def relu_grad_numpy(g, x):
    """NumPy twin: the upstream gradient where x > 0, zero elsewhere (and at 0)."""
    return g * (x > 0)


@njit(cache=True)
def _relu_grad_loop(g, x, out):
    for i in range(g.size):
        out[i] = g[i] if x[i] > 0 else 0.0


def relu_grad_numba(g, x):
    """Kernel: the same as the twin, in one pass (g, x C-contiguous, one shape and dtype)."""
    out = np.empty_like(g)
    _relu_grad_loop(g.reshape(-1), x.reshape(-1), out.reshape(-1))
    return out


def relu_grad(g, x):
    """g * [x > 0]: the kernel where it applies, else the twin."""
    if _same_float_arrays(g, x):
        return relu_grad_numba(g, x)
    return relu_grad_numpy(g, x)


# ------------------------------------------------- KL to the standard normal
def expm1_minus_x_numpy(t):
    """e^t - 1 - t on an ndarray, without cancellation: t^2 sum_{k>=2} t^(k-2)/k! for |t| < 0.1."""
    direct = np.expm1(t) - t
    small = np.abs(t) < SERIES_BELOW
    if not small.any():
        return direct
    series = np.full(np.shape(t), INVERSE_FACTORIALS[12], dtype=direct.dtype)
    for k in range(11, 1, -1):
        series = series * t + INVERSE_FACTORIALS[k]
    return np.where(small, series * t * t, direct).astype(direct.dtype, copy=False)


def normal_kl_standard_numpy(loc, log_scale):
    """NumPy twin: 1/2 sum_j expm1_minus_x(2 l_j) + mu_j^2 over the last axis."""
    return 0.5 * np.sum(expm1_minus_x_numpy(2.0 * log_scale) + loc * loc, axis=-1)


@njit(cache=True, inline="always")
def _expm1_minus_x(t):
    if abs(t) < SERIES_BELOW:
        series = INVERSE_FACTORIALS[12]
        for k in range(11, 1, -1):
            series = series * t + INVERSE_FACTORIALS[k]
        return series * t * t
    return math.expm1(t) - t


@njit(cache=True)
def _normal_kl_rows(loc, log_scale, out):
    rows, width = loc.shape
    for b in range(rows):
        total = 0.0
        for j in range(width):
            mu = loc[b, j]
            total += _expm1_minus_x(2.0 * log_scale[b, j]) + mu * mu
        out[b] = 0.5 * total


def normal_kl_standard_numba(loc, log_scale):
    """Kernel: the twin's value in one pass over the rows (float64 sums, result in the dtype)."""
    width = loc.shape[-1] if loc.ndim else 1
    out = np.empty(loc.shape[:-1], dtype=loc.dtype)
    _normal_kl_rows(loc.reshape(-1, width), log_scale.reshape(-1, width), out.reshape(-1))
    return out


def normal_kl_standard(loc, log_scale):
    """KL(N(loc, diag e^{2 log_scale}) || N(0, I)) over the last axis: kernel or twin."""
    if loc.ndim >= 1 and _same_float_arrays(loc, log_scale):
        return normal_kl_standard_numba(loc, log_scale)
    return normal_kl_standard_numpy(loc, log_scale)


def _same_float_arrays(a, b):
    """Both C-contiguous float arrays of one shape and dtype: what the kernels take."""
    return (NUMBA_ENABLED and a.shape == b.shape and a.dtype == b.dtype
            and a.dtype.kind == "f" and a.flags.c_contiguous and b.flags.c_contiguous)
