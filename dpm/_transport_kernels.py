"""Inner loops of log-domain Sinkhorn: Numba kernels, each with a NumPy twin.

Log-domain Sinkhorn (claim W1's entropic relaxation) alternates two soft-min
updates of the dual potentials f (rows) and g (columns):

    f_i <- reg log a_i - reg log sum_j exp((g_j - C_ij) / reg)
    g_j <- reg log b_j - reg log sum_i exp((f_i - C_ij) / reg)

and the plan is P_ij = exp((f_i + g_j - C_ij) / reg). After a g-update the
column sums of P are exactly b; the row sums are r_i = exp((f_i + h_i)/reg)
where h_i = reg log sum_j exp((g_j - C_ij)/reg) is what the next f-update
computes anyway, so the convergence test sum_i |r_i - a_i| costs nothing extra.

The Numba kernels fuse each logsumexp (max pass, then a sum of exponentials)
and never build an n x m temporary: rows run in parallel (prange); columns run
in parallel over blocks of contiguous columns, so the cost matrix is read row
by row in both updates. The NumPy twins have the same signatures and use one
n x m work buffer, which is the natural NumPy formulation.

The work is bound by exp. With pip's llvmlite, np.exp inside a Numba loop is a
scalar libm call that blocks vectorization, so `exp_finite` below writes exp as
plain arithmetic (Cody-Waite reduction by ln 2, a degree-12 Taylor polynomial,
2^n built from exponent bits) that LLVM vectorizes.
"""
from __future__ import annotations

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit, prange

# Columns per parallel block in the column update: 64 float64 = one 512-byte
# stretch of a row, long enough to vectorize, with enough blocks for 2+ threads.
_COLUMN_BLOCK = 64
_ROW_CHUNK = 16
# Waking the thread pool costs tens of microseconds per parallel region, two
# regions per sweep: below this many matrix entries one thread is faster.
_PARALLEL_MIN_SIZE = 65536

_LOG2E = 1.4426950408889634
# ln 2 split so that n * _LN2_HI is exact for |n| < 2**20 (fdlibm's constants).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10

if NUMBA_ENABLED:
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _float_from_bits(typingctx, bits):
        """Reinterpret the 64 bits of an int64 as a float64 (no conversion)."""
        if bits != types.int64:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(types.float64))

        return types.float64(types.int64), codegen
else:
    def _float_from_bits(bits):
        return float(np.int64(bits).view(np.float64))


# fastmath is safe here: the input is finite by contract (no inf/nan to
# mistreat), and reassociation moves the result by rounding only. The result
# has relative error <= (|x| + 3) * 1.2e-16 (the |x| part is the reduction
# x - n ln 2 being reassociated) and absolute error <= 2.3e-16 for x <= 0, so in
# a logsumexp, where every shifted argument is <= 0 and the largest term is 1,
# the sum is as accurate as with np.exp. Results below 2**-1074 flush to 0.
@njit(cache=True, fastmath=True)
def exp_finite(x):
    """exp(x) for finite x <= 709 by arithmetic LLVM can vectorize."""
    x = max(x, -745.2)
    n = np.floor(x * _LOG2E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO  # |r| <= ln2 / 2
    # Taylor to degree 12: truncation (ln2/2)^13 / 13! < 2e-16.
    p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (
        1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (
            1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (
                1.0 / 479001600))))))))))))
    # 2^n as two normal powers of two, so n down to -1075 (subnormal results)
    # never builds an invalid exponent field.
    k = np.int64(n)
    half = k >> 1
    return p * _float_from_bits((half + 1023) << 52) * _float_from_bits((k - half + 1023) << 52)


@njit(cache=True, parallel=True)
def exp_finite_array(x):
    """Elementwise `exp_finite` over a 1-D array (to test it against np.exp)."""
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        out[i] = exp_finite(x[i])
    return out


@njit(cache=True, fastmath=True)
def _row_softmax_rows(cost, g, reg, out, i0, i1):
    """out_i = reg log sum_j exp((g_j - C_ij) / reg) for rows i0 <= i < i1."""
    m = cost.shape[1]
    inv_reg = 1.0 / reg
    for i in range(i0, i1):
        shift = g[0] - cost[i, 0]
        for j in range(1, m):
            shift = max(shift, g[j] - cost[i, j])
        total = 0.0
        for j in range(m):  # reassociating this sum changes it by rounding only
            total += exp_finite((g[j] - cost[i, j] - shift) * inv_reg)
        out[i] = shift + reg * np.log(total)


@njit(cache=True, fastmath=True)
def _column_softmax_columns(cost, f, reg, out, j0, j1):
    """out_j = reg log sum_i exp((f_i - C_ij) / reg) for columns j0 <= j < j1.

    Walks the rows in order and keeps one running max and sum per column, so
    the cost matrix is read along its rows (no strided column access).
    """
    n = cost.shape[0]
    inv_reg = 1.0 / reg
    width = j1 - j0
    shift = np.empty(width)
    for jj in range(width):  # start from row 0: no -inf under fastmath
        shift[jj] = f[0] - cost[0, j0 + jj]
    for i in range(1, n):
        for jj in range(width):
            shift[jj] = max(shift[jj], f[i] - cost[i, j0 + jj])
    total = np.zeros(width)
    for i in range(n):
        for jj in range(width):
            total[jj] += exp_finite((f[i] - cost[i, j0 + jj] - shift[jj]) * inv_reg)
    for jj in range(width):
        out[j0 + jj] = shift[jj] + reg * np.log(total[jj])


@njit(cache=True, parallel=True)
def _row_softmax_parallel(cost, g, reg, out):
    n = cost.shape[0]
    n_chunks = (n + _ROW_CHUNK - 1) // _ROW_CHUNK
    for chunk in prange(n_chunks):
        _row_softmax_rows(cost, g, reg, out, chunk * _ROW_CHUNK, min(n, (chunk + 1) * _ROW_CHUNK))


@njit(cache=True, parallel=True)
def _column_softmax_parallel(cost, f, reg, out):
    m = cost.shape[1]
    n_blocks = (m + _COLUMN_BLOCK - 1) // _COLUMN_BLOCK
    for block in prange(n_blocks):
        _column_softmax_columns(cost, f, reg, out, block * _COLUMN_BLOCK,
                                min(m, (block + 1) * _COLUMN_BLOCK))


@njit(cache=True)
def _row_softmax_numba(cost, g, reg, out):
    if cost.size >= _PARALLEL_MIN_SIZE:
        _row_softmax_parallel(cost, g, reg, out)
    else:
        _row_softmax_rows(cost, g, reg, out, 0, cost.shape[0])


@njit(cache=True)
def _column_softmax_numba(cost, f, reg, out):
    if cost.size >= _PARALLEL_MIN_SIZE:
        _column_softmax_parallel(cost, f, reg, out)
    else:
        m = cost.shape[1]
        for j0 in range(0, m, _COLUMN_BLOCK):
            _column_softmax_columns(cost, f, reg, out, j0, min(m, j0 + _COLUMN_BLOCK))


@njit(cache=True)
def sinkhorn_log_numba(log_a, log_b, cost, reg, f, g, n_iter, tol):
    """Run up to n_iter log-domain Sinkhorn sweeps, updating f and g in place.

    log_a (n,), log_b (m,) are logs of positive marginals summing to 1; cost
    (n, m) finite; reg > 0. Stops when the row-marginal error
    sum_i |r_i - a_i| <= tol right after a g-update (then the column marginals
    are exact). Returns (sweeps done, last row-marginal error; inf if none).
    """
    n, m = cost.shape
    row_soft = np.empty(n)
    column_soft = np.empty(m)
    error = np.inf
    sweep = 0
    while sweep < n_iter:
        _row_softmax_numba(cost, g, reg, row_soft)
        if sweep > 0:
            error = 0.0
            for i in range(n):
                error += abs(np.exp((f[i] + row_soft[i]) / reg) - np.exp(log_a[i]))
            if error <= tol:
                break
        for i in range(n):
            f[i] = reg * log_a[i] - row_soft[i]
        _column_softmax_numba(cost, f, reg, column_soft)
        for j in range(m):
            g[j] = reg * log_b[j] - column_soft[j]
        sweep += 1
    return sweep, error


def _row_softmax_numpy(cost, g, reg, out, work):
    np.subtract(g[None, :], cost, out=work)
    shift = work.max(axis=1)
    work -= shift[:, None]
    work /= reg
    np.exp(work, out=work)
    out[:] = shift + reg * np.log(work.sum(axis=1))


def _column_softmax_numpy(cost, f, reg, out, work):
    np.subtract(f[:, None], cost, out=work)
    shift = work.max(axis=0)
    work -= shift[None, :]
    work /= reg
    np.exp(work, out=work)
    out[:] = shift + reg * np.log(work.sum(axis=0))


def sinkhorn_log_numpy(log_a, log_b, cost, reg, f, g, n_iter, tol):
    """NumPy twin of `sinkhorn_log_numba` (same signature, same sweeps)."""
    n, m = cost.shape
    work = np.empty((n, m))
    row_soft = np.empty(n)
    column_soft = np.empty(m)
    a = np.exp(log_a)
    error = np.inf
    sweep = 0
    while sweep < n_iter:
        _row_softmax_numpy(cost, g, reg, row_soft, work)
        if sweep > 0:
            error = float(np.abs(np.exp((f + row_soft) / reg) - a).sum())
            if error <= tol:
                break
        f[:] = reg * log_a - row_soft
        _column_softmax_numpy(cost, f, reg, column_soft, work)
        g[:] = reg * log_b - column_soft
        sweep += 1
    return sweep, error


@njit(cache=True, parallel=True, fastmath=True)
def transport_cost_numba(cost, f, g, reg):
    """<P, C> = sum_ij exp((f_i + g_j - C_ij) / reg) C_ij without forming P."""
    n, m = cost.shape
    inv_reg = 1.0 / reg
    total = 0.0
    for i in prange(n):  # prange reduction: order of the sum changes rounding only
        row_total = 0.0
        for j in range(m):
            row_total += exp_finite((f[i] + g[j] - cost[i, j]) * inv_reg) * cost[i, j]
        total += row_total
    return total


def transport_cost_numpy(cost, f, g, reg):
    """NumPy twin of `transport_cost_numba`."""
    return float((np.exp((f[:, None] + g[None, :] - cost) / reg) * cost).sum())


if NUMBA_ENABLED:
    sinkhorn_log, transport_cost = sinkhorn_log_numba, transport_cost_numba
else:  # the njit stand-in leaves pure-Python loops: far too slow, use the twins
    sinkhorn_log, transport_cost = sinkhorn_log_numpy, transport_cost_numpy
