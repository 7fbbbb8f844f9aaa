"""log (1/k) sum_i exp(log w_i) over the middle axis of (n, k, m) log weights (claim V8).

    IWAE_k bound per group and data point = logsumexp_i log w_{g, i, b} - log k

The draws of ``dpm.vi.iwae`` are laid out (n, k) + batch, so the k importance
weights of one data point are a strided column, and ``minigrad.logsumexp``
over axis 1 first copies the array into rows (a transpose of the whole
array). This kernel reduces the middle axis in place: rows of m contiguous
data points are read in order, a running max and then a sum of exps kept per
data point (the inner loop over the m points vectorizes with
``minigrad.kernels._exp_scalar``). The k axis is cut into segments reduced in
parallel (prange) and combined: M = max_s M_s, total = sum_s T_s exp(M_s - M).

Used for evaluation only (no graph: ``iwae`` takes minigrad's logsumexp when
a gradient is needed). Special values as in minigrad's logsumexp: a column
all -inf gives -inf, a +inf weight gives +inf, NaN gives NaN.
``log_mean_exp_numpy`` is the twin of the same signature.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit, prange
from minigrad.kernels.exp_log import _exp_scalar

__all__ = ["log_mean_exp", "log_mean_exp_numba", "log_mean_exp_numpy"]

INF = math.inf
SEGMENT_VALUES = 1 << 15      # values per segment: 256 KB, in L2 for both passes


def log_mean_exp_numpy(x):
    """(n, m) = logsumexp over axis 1 of x (n, k, m) minus log k, by max-shift."""
    top = x.max(axis=1)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = safe + np.log(np.exp(x - safe[:, None, :]).sum(axis=1)) - math.log(x.shape[1])
    value = np.where(np.isinf(top), top, value)
    return np.where(np.isnan(x).any(axis=1), np.nan, value)


# fastmath "contract" only fuses a*b + c into FMAs: rounding, nothing about inf/NaN.
@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _segment(block, top, total):
    """Max then sum of exp(x - max) down the rows of ``block`` (rows, m), per column."""
    m = block.shape[1]
    for b in range(m):
        top[b] = -INF
        total[b] = 0.0
    for j in range(block.shape[0]):
        row = block[j]
        for b in range(m):
            top[b] = row[b] if row[b] > top[b] else top[b]
    for b in range(m):          # shift by 0 where the max is infinite (no inf - inf)
        top[b] = top[b] if abs(top[b]) < INF else 0.0
    for j in range(block.shape[0]):
        row = block[j]
        for b in range(m):
            total[b] += _exp_scalar(row[b] - top[b])


@njit(cache=True, parallel=True)
def _log_mean_exp(x, rows):
    n, k, m = x.shape
    segments = (k + rows - 1) // rows
    tops = np.empty((n, segments, m))
    totals = np.empty((n, segments, m))
    for job in prange(n * segments):
        g, s = job // segments, job % segments
        _segment(x[g, s * rows:min(k, (s + 1) * rows)], tops[g, s], totals[g, s])
    out = np.empty((n, m))
    log_k = math.log(k)
    for g in range(n):
        for b in range(m):
            best = -INF
            for s in range(segments):
                # a segment's total of 0 means all -inf; inf or NaN totals pass through
                if totals[g, s, b] > 0.0 and tops[g, s, b] > best:
                    best = tops[g, s, b]
            total = 0.0
            for s in range(segments):
                total += totals[g, s, b] * math.exp(tops[g, s, b] - best) \
                    if totals[g, s, b] > 0.0 else totals[g, s, b]
            out[g, b] = best + math.log(total) - log_k if total > 0.0 and total < INF \
                else (-INF if total == 0.0 else (INF if total == INF else math.nan))
    return out


def log_mean_exp_numba(x):
    """The parallel kernel: same signature and results as the twin (to rounding)."""
    rows = max(1, SEGMENT_VALUES // max(1, x.shape[2]))
    return _log_mean_exp(x, rows)


def log_mean_exp(x):
    """log (1/k) sum_i exp(x[:, i, :]) for x (n, k, m), as float64 (n, m)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] == 0:
        raise ValueError(f"x must have shape (n, k, m) with k >= 1, got {x.shape}")
    return log_mean_exp_numba(x) if NUMBA_ENABLED else log_mean_exp_numpy(x)
