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
scalar libm call that blocks vectorization, so the kernels use the project's
one vectorizable exp, `minigrad.kernels.exp_log._exp_scalar` (exp as Cody-Waite
reduction, Taylor polynomial and 2^n from exponent bits; within 2 ulp of np.exp,
tested there), as the mixture and landscape kernels do. It is inlined with its
caller's fastmath flags, and reassociation would fold its rounding step
n = (t log2 e + SHIFTER) - SHIFTER into n = t log2 e, so the loops that call it
allow only "contract" (a*b + c as one FMA). The max and sum along a row, which
would need reassociation to vectorize as reductions, instead keep 8 running
values side by side, updated lane by lane (`_max_difference`, `_lane_sum`).
"""
from __future__ import annotations

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit, prange
from minigrad.kernels.exp_log import _exp_scalar
from dpm.kernels.thresholds import SINKHORN_PARALLEL_MIN_SIZE

# Columns per parallel block in the column update: 64 float64 = one 512-byte
# stretch of a row, long enough to vectorize, with enough blocks for 2+ threads.
_COLUMN_BLOCK = 64
_ROW_CHUNK = 16
# Waking the thread pool costs tens of microseconds per parallel region, two
# regions per sweep: below this many matrix entries one thread is faster
# (machine-specific: measured by the benchmark named in thresholds.py).
_PARALLEL_MIN_SIZE = SINKHORN_PARALLEL_MIN_SIZE
# Running maxima / partial sums kept side by side in a row reduction: one
# AVX-512 register of float64 (two AVX2 ones), so the loop runs lane-wise.
_LANES = 8


# The helpers below work on array views from index 0 (with an index of unknown
# sign Numba adds negative-index wrap-around code and LLVM stops vectorizing).
# Reductions along a row keep _LANES running values updated lane by lane:
# elementwise, so LLVM vectorizes them without reassociating anything.
@njit(cache=True, inline="always")
def _max_difference(g, row, lanes):
    """max_j (g_j - row_j) for views g, row of one length m >= 1 (exact: max has no rounding)."""
    m = row.size
    first = g[0] - row[0]
    for lane in range(_LANES):
        lanes[lane] = first
    for j in range(0, m - _LANES + 1, _LANES):
        for lane in range(_LANES):
            d = g[j + lane] - row[j + lane]
            lanes[lane] = d if d > lanes[lane] else lanes[lane]
    best = first
    for j in range(m - m % _LANES, m):
        d = g[j] - row[j]
        best = d if d > best else best
    for lane in range(_LANES):
        best = lanes[lane] if lanes[lane] > best else best
    return best


@njit(cache=True, inline="always")
def _lane_sum(e, lanes):
    """sum_j e_j as _LANES partial sums in a fixed order (no fastmath needed)."""
    m = e.size
    for lane in range(_LANES):
        lanes[lane] = 0.0
    for j in range(0, m - _LANES + 1, _LANES):
        for lane in range(_LANES):
            lanes[lane] += e[j + lane]
    rest = 0.0
    for j in range(m - m % _LANES, m):
        rest += e[j]
    width = _LANES
    while width > 1:  # pairwise: lanes[:w] += lanes[w:2w], w = 4, 2, 1
        width //= 2
        for lane in range(width):
            lanes[lane] += lanes[lane + width]
    return lanes[0] + rest


# fastmath "contract" only: _exp_scalar is inlined with its caller's flags, and
# reassociation could fold its rounding trick k = t log2(e) + SHIFTER,
# n = k - SHIFTER into n = t log2(e) (see minigrad/kernels/exp_log.py).
@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _exp_scaled(g, row, shift, inv_reg, e):
    """e_j = exp((g_j - row_j - shift) / reg) (views, so that the loop vectorizes)."""
    for j in range(row.size):
        e[j] = _exp_scalar((g[j] - row[j] - shift) * inv_reg)


@njit(cache=True, error_model="numpy")
def _row_softmax_rows(cost, g, reg, out, i0, i1):
    """out_i = reg log sum_j exp((g_j - C_ij) / reg) for rows i0 <= i < i1."""
    inv_reg = 1.0 / reg
    e, lanes = np.empty(cost.shape[1]), np.empty(_LANES)
    for i in range(i0, i1):
        row = cost[i]
        shift = _max_difference(g, row, lanes)
        _exp_scaled(g, row, shift, inv_reg, e)
        out[i] = shift + reg * np.log(_lane_sum(e, lanes))


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _column_softmax_columns(cost, f, reg, out, j0, j1):
    """out_j = reg log sum_i exp((f_i - C_ij) / reg) for columns j0 <= j < j1.

    Walks the rows in order and keeps one running max and sum per column, so
    the cost matrix is read along its rows (no strided column access) and the
    inner loops are elementwise over a row's stretch: they vectorize as written.
    """
    n = cost.shape[0]
    inv_reg = 1.0 / reg
    width = j1 - j0
    shift, total = np.empty(width), np.zeros(width)
    row = cost[0, j0:j1]
    for jj in range(width):
        shift[jj] = f[0] - row[jj]
    for i in range(1, n):
        row, f_i = cost[i, j0:j1], f[i]
        for jj in range(width):
            d = f_i - row[jj]
            shift[jj] = d if d > shift[jj] else shift[jj]
    for i in range(n):
        row, f_i = cost[i, j0:j1], f[i]
        for jj in range(width):
            total[jj] += _exp_scalar((f_i - row[jj] - shift[jj]) * inv_reg)
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


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _weighted_plan_row(f_i, g, row, inv_reg, e):
    """e_j = exp((f_i + g_j - C_ij) / reg) C_ij for one row C_i. of the cost (views)."""
    for j in range(row.size):
        e[j] = _exp_scalar((f_i + g[j] - row[j]) * inv_reg) * row[j]


@njit(cache=True, parallel=True, error_model="numpy")
def transport_cost_numba(cost, f, g, reg):
    """<P, C> = sum_ij exp((f_i + g_j - C_ij) / reg) C_ij without forming P."""
    n, m = cost.shape
    inv_reg = 1.0 / reg
    n_chunks = (n + _ROW_CHUNK - 1) // _ROW_CHUNK
    chunk_totals = np.zeros(n_chunks)
    for chunk in prange(n_chunks):  # one buffer per chunk of rows, not per row
        e, lanes = np.empty(m), np.empty(_LANES)
        for i in range(chunk * _ROW_CHUNK, min(n, (chunk + 1) * _ROW_CHUNK)):
            _weighted_plan_row(f[i], g, cost[i], inv_reg, e)
            chunk_totals[chunk] += _lane_sum(e, lanes)
    return chunk_totals.sum()


def transport_cost_numpy(cost, f, g, reg):
    """NumPy twin of `transport_cost_numba`."""
    return float((np.exp((f[:, None] + g[None, :] - cost) / reg) * cost).sum())


@njit(cache=True, parallel=True, fastmath={"contract"}, error_model="numpy")
def gibbs_kernel_numba(cost, shift, reg, out):
    """out_ij = exp(-(C_ij - shift) / reg): the multiplicative path's kernel matrix."""
    n, m = cost.shape
    inv_reg = 1.0 / reg
    for i in prange(n):
        for j in range(m):
            out[i, j] = _exp_scalar((shift - cost[i, j]) * inv_reg)


def gibbs_kernel_numpy(cost, shift, reg, out):
    """NumPy twin of `gibbs_kernel_numba`."""
    np.subtract(shift, cost, out=out)
    out *= 1.0 / reg          # as the kernel rounds it: the same argument, so exp to 2 ulp
    np.exp(out, out=out)


# Partial column sums kept side by side in the fused scaling sweep (one per
# block of rows; blocks run in parallel): enough blocks for 2+ threads.
_SCALING_BLOCKS = 8


@njit(cache=True, parallel=True, fastmath={"contract", "reassoc"}, error_model="numpy")
def sinkhorn_scaling_numba(kernel, a, b, u, v, n_iter, tol):
    """Up to n_iter Sinkhorn-Knopp sweeps on the kernel K, updating u and v in place.

    One pass over K a sweep: row i gives (K v)_i, then u_i = a_i / (K v)_i,
    and its contribution K_ij u_i to K^T u right away, so K^T u is complete
    when the pass ends and v = b / (K^T u) follows (the same sweep as
    u = a / (K v), v = b / (K^T u), reading K once instead of twice). The
    row-marginal error sum_i |u_i (K v)_i - a_i| of the plan before the sweep
    comes from the same pass; when it is <= tol the sweep is still finished
    (columns exact; rows only closer). Returns (sweeps, that error).
    "reassoc" only reorders the row dot products and sums (no exp here).
    """
    n, m = kernel.shape
    blocks = min(_SCALING_BLOCKS, n)
    partial = np.empty((blocks, m))
    errors = np.empty(blocks)
    error = np.inf
    sweep = 0
    while sweep < n_iter:
        for block in prange(blocks):
            column_sums = partial[block]
            column_sums[:] = 0.0
            errors[block] = 0.0
            for i in range(block * n // blocks, (block + 1) * n // blocks):
                row = kernel[i]
                row_sum = 0.0
                for j in range(m):
                    row_sum += row[j] * v[j]
                errors[block] += abs(u[i] * row_sum - a[i])
                u_i = a[i] / row_sum
                u[i] = u_i
                for j in range(m):
                    column_sums[j] += row[j] * u_i
        for j in range(m):
            total = 0.0
            for block in range(blocks):
                total += partial[block, j]
            v[j] = b[j] / total
        if sweep > 0:
            error = errors.sum()
        sweep += 1
        if error <= tol:
            break
    return sweep, error


def sinkhorn_scaling_numpy(kernel, a, b, u, v, n_iter, tol):
    """NumPy twin of `sinkhorn_scaling_numba` (two matrix-vector products a sweep)."""
    error = np.inf
    sweep = 0
    while sweep < n_iter:
        kernel_v = kernel @ v
        sweep_error = float(np.abs(u * kernel_v - a).sum())
        u[:] = a / kernel_v
        v[:] = b / (kernel.T @ u)
        if sweep > 0:
            error = sweep_error
        sweep += 1
        if error <= tol:
            break
    return sweep, error


if NUMBA_ENABLED:
    sinkhorn_log, transport_cost = sinkhorn_log_numba, transport_cost_numba
    gibbs_kernel, sinkhorn_scaling = gibbs_kernel_numba, sinkhorn_scaling_numba
else:  # the njit stand-in leaves pure-Python loops: far too slow, use the twins
    sinkhorn_log, transport_cost = sinkhorn_log_numpy, transport_cost_numpy
    gibbs_kernel, sinkhorn_scaling = gibbs_kernel_numpy, sinkhorn_scaling_numpy
