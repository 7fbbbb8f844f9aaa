"""logsumexp, softmax, log_softmax and the logsumexp backward on plain ndarrays (claim A3).

    logsumexp(x) = M + log1p(R),  M = max_j x_j,  R = sum_{j != j*} exp(x_j - M)
    softmax(x)_j = exp(x_j - M) / (1 + R),   log_softmax(x)_j = (x_j - M) - log1p(R)
    d logsumexp / dx_j = softmax(x)_j = exp(x_j - logsumexp(x))

j* is the first index of the maximum, whose term exp(0) = 1 is taken out of the
sum so that log1p keeps a tiny result exact (logsumexp([0, -40]) = 4.2e-18, not
0). The shift by M keeps exp from overflowing at 1e308 or underflowing at
-1e308. Where M is infinite the shift is not made: an all -inf row gives -inf
(softmax 0, log_softmax -inf, gradient 0, no warning); a +inf entry gives +inf
(its softmax is NaN, the others 0, as exp(x - lse) says); NaN gives NaN.

Every public function has a Numba path (`<name>_numba`) and a plain-NumPy twin
(`<name>_numpy`) of the same signature; `<name>` is the Numba one when
`minigrad._numba.NUMBA_ENABLED`, else the twin. The reduced axis is moved last
and made contiguous, so every kernel sees rows of length m in a flat array.
Values are computed in float64; float32 input gives float32 output.

Speed. The work is bound by exp. On this 2-core AVX2 machine np.exp costs
about 5.5 ns a value on one core, and so does math.exp in a Numba loop (a
scalar libm call: pip's llvmlite has no vector math library). `exp_poly` writes
exp as arithmetic that LLVM vectorizes over 4 AVX2 lanes: about 1.8 ns a value
on one core, 3x the machine's exp, against 0.5 ns a value for np.sum over the
same memory (the floor). Short rows (m <= BLOCK) are processed a block of rows
at a time so that exp runs over the whole block's values, not 8 at a time; long
rows and whole arrays are cut into segments reduced in parallel and combined,
each segment in one pass over memory (online max and sum, BLOCK values at a
time). Measured on 2 threads: 1e7 values in about 16 ms (3.2 ns of core time a
value: our exp plus the max and the sum; 3-4x the np.sum floor), rows of
(1e6 x 8) in about 18 ms, where scipy.special.logsumexp takes 195 and 350 ms.
(Those figures are from the AVX2 machine of the first rounds. On an AVX-512
machine whose NumPy has AVX-512 exp loops, np.exp is about 2.5x faster than
`exp_poly`, yet the fused kernels stay 9-13x faster than SciPy: they still
make one pass where SciPy makes several.)
`python -m demos.benchmark --only logsumexp` measures the ratios.

Reading guide. This file holds the public functions: argument checks, the
reduced axis moved last, and the choice of kernel (`_logsumexp`, `_softmax`).
`exp_log.py` writes exp and log1p as vectorizable arithmetic (`exp_poly`,
`log1p_poly`, and the scalar bodies dpm's kernels inline too); `rows.py` holds
the row kernels on flat (n, m) values, parallel and one-thread, each beside
its NumPy twin. Read them in that order.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED
# Re-exported: tests and benchmarks use BLOCK, exp_poly and log1p_poly as
# minigrad.kernels.<name>; dpm's kernels inline _exp_scalar and _log1p_scalar.
from minigrad.kernels.exp_log import (_exp_scalar, _log1p_scalar, exp_poly,  # noqa: F401
                                      exp_poly_numpy, log1p_poly)
from minigrad.kernels.rows import (BACKWARD, BLOCK, LOG_SOFTMAX, SOFTMAX,  # noqa: F401
                                   _finish_rows_numpy, _lse_rows, _lse_rows_numpy,
                                   _lse_rows_serial, _row_stats_numpy, _softmax_rows,
                                   _softmax_rows_serial)
from minigrad.kernels.thresholds import SERIAL_BELOW  # machine-specific, with its measurement

__all__ = ["logsumexp", "softmax", "log_softmax", "logsumexp_backward", "exp_poly", "log1p_poly",
           "logsumexp_numpy", "softmax_numpy", "log_softmax_numpy", "logsumexp_backward_numpy",
           "exp_poly_numpy", "logsumexp_numba", "softmax_numba", "log_softmax_numba",
           "logsumexp_backward_numba"]

# _logsumexp and _softmax read SERIAL_BELOW as a global of this module when
# called, so setting minigrad.kernels.SERIAL_BELOW (the tests set it to 0 to
# send small inputs through the parallel kernels) changes the choice;
# setting minigrad.kernels.thresholds.SERIAL_BELOW after import does not.


# ---------------------------------------------------------------- public functions
def _prepare(x, axis, name="x"):
    """float64 values, the axis normalized to [0, ndim) or None, and the result dtype."""
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real array, got dtype {array.dtype}")
    if axis is not None:
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"axis must be None or an int, got {axis!r}")
        if not -array.ndim <= axis < array.ndim:
            raise ValueError(f"axis {axis} is out of range for {name} of shape {array.shape}")
        axis = int(axis) % array.ndim
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    return array.astype(np.float64, copy=False), axis, dtype


def _rows(x64, axis):
    """x as C-contiguous rows (n, m) along `axis` (None: one row of everything)."""
    moved = x64.reshape(1, -1) if axis is None else np.moveaxis(x64, axis, -1)
    n, m = math.prod(moved.shape[:-1]), moved.shape[-1]
    return np.ascontiguousarray(moved).reshape(n, m), moved.shape


def _cast(values, dtype):
    """values as dtype; past float32's range a value rounds to +-inf, silently."""
    with np.errstate(over="ignore"):
        return values.astype(dtype, copy=False)


def _reduced_shape(shape, axis, keepdims):
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    return tuple(1 if (k == axis and keepdims) else s for k, s in enumerate(shape)
                 if k != axis or keepdims)


def _logsumexp(x, axis, keepdims, numba):
    x64, axis, dtype = _prepare(x, axis)
    rows, _ = _rows(x64, axis)
    if numba and rows.size > 0:
        lse = np.empty(rows.shape[0])
        kernel = _lse_rows if rows.size >= SERIAL_BELOW else _lse_rows_serial
        kernel(rows.reshape(-1), rows.shape[1], lse)
    else:
        with np.errstate(all="ignore"):
            lse = _lse_rows_numpy(rows)
    return _cast(lse.reshape(_reduced_shape(x64.shape, axis, keepdims)), dtype)


def logsumexp_numba(x, axis=None, keepdims=False):
    """log sum_j exp(x_j) over `axis` (None: all) by the Numba kernels (A3)."""
    return _logsumexp(x, axis, keepdims, True)


def logsumexp_numpy(x, axis=None, keepdims=False):
    """log sum_j exp(x_j) over `axis` (None: all) in NumPy: the twin of `logsumexp_numba`."""
    return _logsumexp(x, axis, keepdims, False)


def _softmax(x, axis, mode, numba, g=np.ones(1)):
    x64, axis, dtype = _prepare(x, axis)
    rows, moved_shape = _rows(x64, axis)
    # The result owns its memory (not a view of a temporary), so the backward
    # pass can keep it as a gradient without copying it.
    out = np.empty(x64.shape if axis is None else moved_shape)
    if numba and rows.size > 0:
        kernel = _softmax_rows if rows.size >= SERIAL_BELOW else _softmax_rows_serial
        kernel(rows.reshape(-1), rows.shape[1], g, out.reshape(-1), mode)
    else:
        with np.errstate(all="ignore"):
            out[...] = _finish_rows_numpy(rows, *_row_stats_numpy(rows), g, mode).reshape(out.shape)
    if axis is not None and axis != x64.ndim - 1:
        out = np.ascontiguousarray(np.moveaxis(out, -1, axis))
    return _cast(out, dtype)


def softmax_numba(x, axis=-1):
    """softmax(x)_j = exp(x_j - logsumexp(x)) along `axis`, one fused Numba kernel (A3)."""
    return _softmax(x, axis, SOFTMAX, True)


def softmax_numpy(x, axis=-1):
    """The NumPy twin of `softmax_numba`."""
    return _softmax(x, axis, SOFTMAX, False)


def log_softmax_numba(x, axis=-1):
    """log_softmax(x)_j = x_j - logsumexp(x) along `axis`, one fused Numba kernel (A3)."""
    return _softmax(x, axis, LOG_SOFTMAX, True)


def log_softmax_numpy(x, axis=-1):
    """The NumPy twin of `log_softmax_numba`."""
    return _softmax(x, axis, LOG_SOFTMAX, False)


def _backward(x, lse, g, axis, numba):
    x64, axis, _ = _prepare(x, axis)
    shapes = (_reduced_shape(x64.shape, axis, False), _reduced_shape(x64.shape, axis, True))
    for name, value in (("lse", lse), ("g", g)):
        if np.shape(value) not in shapes:
            raise ValueError(f"{name} has shape {np.shape(value)}; expected {shapes[0]} or "
                             f"{shapes[1]} for x of shape {x64.shape} reduced over axis {axis}")
    g = np.ascontiguousarray(g, dtype=np.float64).reshape(-1)
    return _softmax(x, axis, BACKWARD, numba, g)


def logsumexp_backward_numba(x, lse, g, axis=None):
    """Vector-Jacobian product of logsumexp: g * exp(x - lse) = g * softmax(x) (A3).

    lse (the forward's output) and g have the reduced shape, with or without the
    kept axis; the result has x's shape. It is 0 where x = -inf and on all -inf
    rows (lse = -inf: gradient 0, not NaN). lse is only checked for its shape:
    exp(x - lse) is recomputed from x as exp(x - M) / (1 + R), because a rounded
    lse ruins it at huge magnitudes (lse([1e308, 1e308]) = 1e308 would give 1, not 1/2).
    """
    return _backward(x, lse, g, axis, True)


def logsumexp_backward_numpy(x, lse, g, axis=None):
    """The NumPy twin of `logsumexp_backward_numba`."""
    return _backward(x, lse, g, axis, False)


if NUMBA_ENABLED:
    logsumexp, softmax, log_softmax = logsumexp_numba, softmax_numba, log_softmax_numba
    logsumexp_backward = logsumexp_backward_numba
else:
    logsumexp, softmax, log_softmax = logsumexp_numpy, softmax_numpy, log_softmax_numpy
    logsumexp_backward = logsumexp_backward_numpy
