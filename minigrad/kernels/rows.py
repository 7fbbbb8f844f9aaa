"""The row kernels behind logsumexp, softmax, log_softmax and the logsumexp vjp (claim A3).

Every kernel takes the values as a flat C-contiguous array xf of n rows of
length m (the dispatch in `minigrad/kernels/__init__.py` moves the reduced
axis last). A row's statistics (M, R), sum_j exp(x_j) = e^M (1 + R), are made
a block of short rows at a time (`_block_stats`) or by segments of long rows
reduced in parallel (`_segment_stats`, `_long_row_stats`); `_lse_rows` and
`_softmax_rows` finish them, in parallel, and their `_serial` variants in one
thread below SERIAL_BELOW values. Each has its NumPy twin beside it.
exp and log1p come from `exp_log.py` (read it first).
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import njit, prange
from minigrad.kernels.exp_log import _add_log1p, _exp_inplace, _exp_scalar, _log1p_scalar

BLOCK = 2048          # values per buffer: 16 KB of float64 stays in L1
SEGMENTS = 64         # a few rows are cut into about this many segments in all
INF = math.inf


# A row's statistics (M, R) mean sum_j exp(x_j) = e^M (1 + R). M is NaN when the
# row holds a NaN, +inf (R = 0) when it holds +inf, -inf (R = 0) when all is -inf.
# Helpers on x[lo:hi] by index: a Numba array view per short row costs more
# than the row's arithmetic. Only the exp loops get views (see _exp_inplace).
@njit(cache=True, inline="always")
def _max_ignoring_nan(x, lo, hi):
    """Largest value of x[lo:hi] ignoring NaN; -inf when there is none."""
    best = -INF
    for j in range(lo, hi):
        best = x[j] if x[j] > best else best
    return best


@njit(cache=True, inline="always")
def _special_stats(x, lo, hi, top):
    """(M, R) of x[lo:hi] whose largest non-NaN value `top` is +-inf (no shift possible)."""
    for j in range(lo, hi):
        if x[j] != x[j]:
            return math.nan, 0.0
    return top, 0.0


@njit(cache=True, inline="always")
def _rest_stats(e, lo, hi, star, top):
    """(M, R) of a slice with finite max `top`, from e[lo:hi] = exp(x - top).

    R leaves out e[star], the first maximum's term (exactly 1). Four partial
    sums let the additions overlap; their order is fixed, so no fastmath.
    """
    e[star] = 0.0
    s0 = s1 = s2 = s3 = 0.0
    for j in range(lo, hi - 3, 4):
        s0 += e[j]
        s1 += e[j + 1]
        s2 += e[j + 2]
        s3 += e[j + 3]
    for j in range(hi - (hi - lo) % 4, hi):
        s0 += e[j]
    e[star] = 1.0
    rest = (s0 + s1) + (s2 + s3)
    return (top, rest) if rest == rest else (math.nan, 0.0)   # a NaN entry: M is NaN


@njit(cache=True, fastmath={"contract"})
def _exp_shifted(v, shift, e):
    """e[j] = exp(v[j] - shift) (views, so that the loop vectorizes)."""
    for j in range(v.size):
        e[j] = _exp_scalar(v[j] - shift)


@njit(cache=True, inline="always")
def _combine(M, R, m, r):
    """Stats of two slices together: e^M (1 + R) + e^m (1 + r) = e^M' (1 + R')."""
    if M != M or m != m:
        return math.nan, 0.0
    if m > M:
        M, R, m, r = m, r, M, R
    if m == -INF or M == INF:
        return M, R
    return M, R + (1.0 + r) * _exp_scalar(m - M)


@njit(cache=True)
def _block_stats(x, m, e, M, R):
    """M, R of the short rows of x (k*m values); leaves exp(x - M) of each finite row in e.

    The shifts are written first and exp runs once over all k*m values, so it
    vectorizes even when m is 8.
    """
    first_max = np.empty(M.size, dtype=np.int64)
    for i in range(M.size):
        lo, hi = i * m, i * m + m
        top, star = -INF, lo
        for j in range(lo, hi):         # max and its first index, without branches
            bigger = x[j] > top
            star = j if bigger else star
            top = x[j] if bigger else top
        first_max[i] = star
        shift = top if math.isfinite(top) else 0.0
        for j in range(lo, hi):
            e[j] = x[j] - shift
        M[i], R[i] = (top, 0.0) if math.isfinite(top) else _special_stats(x, lo, hi, top)
    _exp_inplace(e)
    for i in range(M.size):
        if math.isfinite(M[i]):
            M[i], R[i] = _rest_stats(e, i * m, i * m + m, first_max[i], M[i])


def _row_stats_numpy(rows):
    """M, R (as in `_block_stats`) of each row of a 2-D array, and e = exp(x - M)."""
    if rows.shape[1] == 0:                     # an empty sum is 0: logsumexp -inf
        return np.full(rows.shape[0], -INF), np.zeros(rows.shape[0]), rows.copy()
    top = rows.max(axis=1)
    finite = np.isfinite(top)                  # np.max gives NaN for a row holding NaN
    e = np.exp(rows - np.where(finite, top, 0.0)[:, None])
    e[~finite] = 0.0
    which = np.flatnonzero(finite)
    star = np.argmax(rows[which], axis=1)       # the first maximum of each finite row
    e[which, star] = 0.0
    rest = np.where(finite, e.sum(axis=1), 0.0)
    e[which, star] = 1.0
    return top, rest, e


@njit(cache=True)
def _segment_stats(x, e):
    """M, R of all of x in one pass: BLOCK values at a time, combined online."""
    M, R = -INF, 0.0
    for lo in range(0, x.size, BLOCK):
        hi = min(lo + BLOCK, x.size)
        top = _max_ignoring_nan(x, lo, hi)
        if math.isfinite(top):
            _exp_shifted(x[lo:hi], top, e)
            star = lo
            while x[star] != top:
                star += 1
            m, r = _rest_stats(e, 0, hi - lo, star - lo, top)
        else:
            m, r = _special_stats(x, lo, hi, top)
        M, R = _combine(M, R, m, r)
    return M, R


# Each kernel below opens one parallel region (two for the softmax of a few
# long rows): every region start wakes the worker threads, which costs much
# more than the work when the machine is busy.
@njit(cache=True, parallel=True)
def _long_row_stats(xf, m, M, R):
    """M, R of each row of the (n, m) values xf, m > BLOCK: segments in parallel."""
    n = M.size
    pieces = max(1, min(SEGMENTS // n, m // BLOCK))   # few long rows: cut each row too
    seg = (m + pieces - 1) // pieces
    Ms, Rs = np.empty(n * pieces), np.empty(n * pieces)
    for s in prange(n * pieces):
        start = (s // pieces) * m + (s % pieces) * seg
        stop = (s // pieces) * m + min(m, (s % pieces) * seg + seg)
        Ms[s], Rs[s] = _segment_stats(xf[start:max(start, stop)], np.empty(BLOCK))
    for i in range(n):                  # serial: n * pieces numbers, no more
        M[i], R[i] = -INF, 0.0
        for p in range(i * pieces, i * pieces + pieces):
            M[i], R[i] = _combine(M[i], R[i], Ms[p], Rs[p])


@njit(cache=True, parallel=True)
def _lse_rows(xf, m, out):
    """out[i] = logsumexp of row i of the (n, m) values xf (m >= 1)."""
    n = out.size
    R = np.empty(n)
    if m > BLOCK:
        _long_row_stats(xf, m, out, R)
        _add_log1p(out, R)
        return
    per = BLOCK // m
    for b in prange((n + per - 1) // per):
        r0, r1 = b * per, min(n, b * per + per)
        _block_stats(xf[r0 * m:r1 * m], m, np.empty((r1 - r0) * m), out[r0:r1], R[r0:r1])
        _add_log1p(out[r0:r1], R[r0:r1])


# Below SERIAL_BELOW values (thresholds.py, with its measurement) the
# dispatch in __init__.py calls the one-thread kernels below instead.


@njit(cache=True)
def _stats_serial(xf, m, M, R, e):
    """M, R of every row of the (n, m) values xf in one thread.

    Short rows (m <= BLOCK) leave exp(x - M) in e (n*m values); long rows use
    a BLOCK buffer of their own and leave e alone.
    """
    if m > BLOCK:
        buffer = np.empty(BLOCK)
        for i in range(M.size):
            M[i], R[i] = _segment_stats(xf[i * m:i * m + m], buffer)
        return
    per = BLOCK // m
    for r0 in range(0, M.size, per):
        r1 = min(M.size, r0 + per)
        _block_stats(xf[r0 * m:r1 * m], m, e[r0 * m:r1 * m], M[r0:r1], R[r0:r1])


@njit(cache=True)
def _lse_rows_serial(xf, m, out):
    """`_lse_rows` in one thread, for inputs below SERIAL_BELOW values."""
    R = np.empty(out.size)
    _stats_serial(xf, m, out, R, np.empty(xf.size if m <= BLOCK else 0))
    _add_log1p(out, R)


def _lse_rows_numpy(rows):
    """The twin of `_lse_rows`: logsumexp of each row of a 2-D array."""
    top, rest, _ = _row_stats_numpy(rows)
    return top + np.log1p(rest)


SOFTMAX, LOG_SOFTMAX, BACKWARD = 0, 1, 2   # what `_finish_row` writes


@njit(cache=True, inline="always")
def _finish_row(x, lo, hi, M, R, g, out, mode, have_exp):
    """softmax, log_softmax or g * softmax of x[lo:hi] (a row or a piece) into out[lo:hi].

    have_exp: out[lo:hi] already holds exp(x - M) (short rows), else it is computed here.
    """
    if not math.isfinite(M):
        off = -INF if mode == LOG_SOFTMAX else 0.0   # all -inf: softmax 0, log_softmax -inf
        for j in range(lo, hi):
            dead = mode == BACKWARD and x[j] == -INF
            out[j] = math.nan if (M != M or x[j] == INF) and not dead else off
    elif mode == LOG_SOFTMAX:
        L = _log1p_scalar(R)
        for j in range(lo, hi):
            out[j] = (x[j] - M) - L
    else:
        scale = (g if mode == BACKWARD else 1.0) / (1.0 + R)
        if not have_exp:
            _exp_shifted(x[lo:hi], M, out[lo:hi])
        for j in range(lo, hi):
            out[j] = 0.0 if (mode == BACKWARD and x[j] == -INF) else out[j] * scale


def _finish_rows_numpy(rows, top, rest, e, g, mode):
    """The twin of `_finish_row` over all rows at once."""
    if mode == LOG_SOFTMAX:
        out = (rows - top[:, None]) - np.log1p(rest)[:, None]
    else:
        out = e * ((g if mode == BACKWARD else 1.0) / (1.0 + rest))[:, None]
    special = ~np.isfinite(top)
    values = np.where(rows[special] == INF, np.nan, -INF if mode == LOG_SOFTMAX else 0.0)
    out[special] = np.where(np.isnan(top[special])[:, None], np.nan, values)
    return np.where(rows == -INF, 0.0, out) if mode == BACKWARD else out


@njit(cache=True, parallel=True)
def _softmax_rows(xf, m, g, out, mode):
    """`_finish_row` for every row of the (n, m) values xf; g (n,) only for BACKWARD."""
    n = out.size // m
    M, R = np.empty(n), np.empty(n)
    if m <= BLOCK:
        per = BLOCK // m
        for b in prange((n + per - 1) // per):
            r0, r1 = b * per, min(n, b * per + per)
            x, e = xf[r0 * m:r1 * m], out[r0 * m:r1 * m]     # out is the exp buffer
            _block_stats(x, m, e, M[r0:r1], R[r0:r1])
            for i in range(r0, r1):
                lo = (i - r0) * m
                _finish_row(x, lo, lo + m, M[i], R[i], g[min(i, g.size - 1)], e, mode, True)
        return
    _long_row_stats(xf, m, M, R)
    pieces = (m + BLOCK - 1) // BLOCK
    for s in prange(n * pieces):
        i = s // pieces
        lo = i * m + (s % pieces) * BLOCK
        _finish_row(xf, lo, min(lo + BLOCK, i * m + m), M[i], R[i], g[min(i, g.size - 1)],
                    out, mode, False)


@njit(cache=True)
def _softmax_rows_serial(xf, m, g, out, mode):
    """`_softmax_rows` in one thread, for inputs below SERIAL_BELOW values."""
    n = out.size // m
    M, R = np.empty(n), np.empty(n)
    _stats_serial(xf, m, M, R, out)     # short rows: out now holds exp(x - M)
    for i in range(n):
        _finish_row(xf, i * m, i * m + m, M[i], R[i], g[min(i, g.size - 1)], out, mode,
                    m <= BLOCK)
