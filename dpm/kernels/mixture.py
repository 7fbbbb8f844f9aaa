"""Gaussian-mixture log-density kernels on plain ndarrays, Numba and NumPy twins (claim M5).

For a mixture of K diagonal Gaussians in d dimensions,

    log p(x) = logsumexp_k a_k(x),
    a_k(x) = c_k - 1/2 sum_j ((x_j - mu_kj) / s_kj)^2,
    c_k    = log pi_k - sum_j log s_kj - d/2 log(2 pi)        (hoisted, once per call)

and, for the Monte Carlo KL estimator KL(p || q) ~ mean_i [log p(x_i) - log q(x_i)]
with x_i ~ p and q a diagonal Normal(q_loc, q_scale), the integrand
log p(x) - log q(x) per point and its mean with the standard error.

The Numba kernels are fused: no (N x K) temporary. Points are taken a block
of BLOCK at a time (in parallel, prange over blocks); within a block the
components are visited twice: first for the max M = max_k a_k (no exp), then
for sum_k exp(a_k - M), so each point costs exactly K exps and the inner loop
runs over the points of the block, which LLVM vectorizes with
``minigrad.kernels._exp_scalar`` and ``_log1p_scalar`` (exp and log1p as
arithmetic; np.exp in a Numba loop is a scalar libm call with pip's llvmlite,
and stops vectorization). A streaming (online) logsumexp would need a second
exp whenever the running max moves. Per-component constants c_k and 1/s_k are
computed once per call. log sum_k exp(a_k - M) = log1p(R), R = the sum minus
the max's own term exp(0) = 1, exactly as minigrad's logsumexp.

Infinite points give -inf (every a_k is -inf); NaN stays NaN; a zero weight
gives c_k = -inf, a component that contributes nothing.

Each public function dispatches to ``<name>_numba`` or, where Numba is
disabled, to ``<name>_numpy``, the vectorized twin of the same signature
(broadcast (N, K) arrays, max-shifted), which the tests check against it.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit, prange
from minigrad.kernels.exp_log import _exp_scalar, _log1p_scalar

__all__ = ["mixture_log_prob", "mixture_log_prob_numba", "mixture_log_prob_numpy",
           "mixture_normal_log_ratio", "mixture_normal_log_ratio_numba",
           "mixture_normal_log_ratio_numpy", "mixture_normal_log_ratio_stats",
           "mixture_normal_log_ratio_stats_numba", "mixture_normal_log_ratio_stats_numpy"]

BLOCK = 1024                      # points per block: buffers stay in L1
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
INF = math.inf


# ------------------------------------------------------------------ preparation
def prepare(x, weights, locs, scales):
    """Points as (N, d) and the hoisted (c_k, mu_k, 1/s_k) as contiguous float64.

    1-D mixture: locs (K,), x any shape (d = 1). Diagonal d-D: locs (K, d), x (..., d).
    Returns (points, const, locs, inv_scales, out_shape).
    """
    weights = np.asarray(weights, dtype=np.float64)
    locs = np.asarray(locs, dtype=np.float64)
    scales = np.broadcast_to(np.asarray(scales, dtype=np.float64), locs.shape)
    x = np.asarray(x, dtype=np.float64)
    if locs.ndim == 1:
        points, out_shape = x.reshape(-1, 1), x.shape
        locs, scales = locs[:, None], scales[:, None]
    else:
        if x.ndim == 0 or x.shape[-1] != locs.shape[1]:
            raise ValueError(f"x must have last axis of length d = {locs.shape[1]}, "
                             f"got shape {x.shape}")
        points, out_shape = x.reshape(-1, locs.shape[1]), x.shape[:-1]
    if weights.shape != locs.shape[:1]:
        raise ValueError(f"weights of shape {weights.shape} do not match locs of shape "
                         f"{locs.shape} (K = {locs.shape[0]} components)")
    with np.errstate(divide="ignore"):          # log 0 = -inf: an unused component
        const = np.log(weights) - np.log(scales).sum(axis=1) - locs.shape[1] * HALF_LOG_2PI
    return (np.ascontiguousarray(points), np.ascontiguousarray(const),
            np.ascontiguousarray(locs), np.ascontiguousarray(1.0 / scales), out_shape)


def _normal_terms(q_loc, q_scale, d):
    """(constant, loc, 1/scale) of the diagonal Normal q in d dimensions."""
    q_loc = np.broadcast_to(np.asarray(q_loc, dtype=np.float64), (d,))
    q_scale = np.broadcast_to(np.asarray(q_scale, dtype=np.float64), (d,))
    return (-np.log(q_scale).sum() - d * HALF_LOG_2PI, np.ascontiguousarray(q_loc),
            np.ascontiguousarray(1.0 / q_scale))


# ------------------------------------------------------------------ Numba kernels
# Lessons of minigrad/kernels/: loops run over array *views* from index 0
# (an index of unknown sign makes Numba add wrap-around code, and LLVM stops
# vectorizing), helpers are inlined, and error_model="numpy" drops the
# ZeroDivisionError branch. fastmath "contract" only fuses a*b + c into an FMA:
# a rounding difference, never an assumption about NaN or inf.
@njit(cache=True, inline="always")
def _fix_special(x, top, out):
    """Points whose every a_k is -inf (x = +-inf): -inf; NaN points: NaN."""
    for i in range(top.size):
        if not top[i] > -INF:
            has_nan = False
            for j in range(x.shape[1]):
                has_nan = has_nan or x[i, j] != x[i, j]
            out[i] = math.nan if has_nan else -INF


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def block_log_prob_1d(x, const, locs, inv, top, total, out):
    """out = log p(x) for a block of 1-D points x (a view); top, total: block buffers."""
    for i in range(x.size):
        top[i] = -INF
        total[i] = 0.0
    for k in range(const.size):            # pass 1: M = max_k a_k (no exp)
        c, mu, iv = const[k], locs[k], inv[k]
        for i in range(x.size):
            z = (x[i] - mu) * iv
            a = c - 0.5 * z * z
            top[i] = a if a > top[i] else top[i]
    for k in range(const.size):            # pass 2: sum_k exp(a_k - M), K exps a point
        c, mu, iv = const[k], locs[k], inv[k]
        for i in range(x.size):
            z = (x[i] - mu) * iv
            total[i] += _exp_scalar((c - 0.5 * z * z) - top[i])
    # total >= 1 (the max's term is exp(0) = 1), so log total = log1p(total - 1)
    for i in range(x.size):
        out[i] = top[i] + _log1p_scalar(total[i] - 1.0)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _block_log_prob(x, const, locs, inv, top, total, out):
    """The same for a block of d-dimensional points x (n, d)."""
    for i in range(x.shape[0]):
        top[i] = -INF
        total[i] = 0.0
    for k in range(const.size):
        for i in range(x.shape[0]):
            q = 0.0
            for j in range(x.shape[1]):
                z = (x[i, j] - locs[k, j]) * inv[k, j]
                q += z * z
            a = const[k] - 0.5 * q
            top[i] = a if a > top[i] else top[i]
    for k in range(const.size):
        for i in range(x.shape[0]):
            q = 0.0
            for j in range(x.shape[1]):
                z = (x[i, j] - locs[k, j]) * inv[k, j]
                q += z * z
            total[i] += _exp_scalar((const[k] - 0.5 * q) - top[i])
    for i in range(x.shape[0]):
        out[i] = top[i] + _log1p_scalar(total[i] - 1.0)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _subtract_log_q(x, q_const, q_loc, q_inv, out):
    """out -= log N(x; q_loc, diag q_scale^2) for a block of points (n, d)."""
    for i in range(x.shape[0]):
        q = 0.0
        for j in range(x.shape[1]):
            z = (x[i, j] - q_loc[j]) * q_inv[j]
            q += z * z
        out[i] -= q_const - 0.5 * q


@njit(cache=True, inline="always")
def _block(points, const, locs, inv, q_const, q_loc, q_inv, ratio, out):
    """out = log p(points) (minus log q when ``ratio``) for one block (views)."""
    n = points.shape[0]
    top, total = np.empty(n), np.empty(n)
    if points.shape[1] == 1:
        # (n, 1) -> (n,): a contiguous view, so the point loops are unit-stride
        block_log_prob_1d(points.reshape(-1), const, locs.reshape(-1), inv.reshape(-1),
                           top, total, out)
    else:
        _block_log_prob(points, const, locs, inv, top, total, out)
    _fix_special(points, top, out)
    if ratio:
        _subtract_log_q(points, q_const, q_loc, q_inv, out)


@njit(cache=True, parallel=True)
def _log_prob_kernel(points, const, locs, inv, q_const, q_loc, q_inv, ratio, out):
    n = points.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = b * BLOCK, min(n, b * BLOCK + BLOCK)
        _block(points[lo:hi], const, locs, inv, q_const, q_loc, q_inv, ratio, out[lo:hi])


@njit(cache=True)
def _log_prob_kernel_serial(points, const, locs, inv, q_const, q_loc, q_inv, ratio, out):
    """The same for a few points: waking the thread pool would cost more than the work."""
    n = points.shape[0]
    for b in range((n + BLOCK - 1) // BLOCK):
        lo, hi = b * BLOCK, min(n, b * BLOCK + BLOCK)
        _block(points[lo:hi], const, locs, inv, q_const, q_loc, q_inv, ratio, out[lo:hi])


def _run(points, const, locs, inv, q_const, q_loc, q_inv, ratio):
    out = np.empty(points.shape[0])
    kernel = _log_prob_kernel if points.shape[0] > 2 * BLOCK else _log_prob_kernel_serial
    kernel(points, const, locs, inv, q_const, q_loc, q_inv, ratio, out)
    return out


@njit(cache=True, parallel=True)
def _log_ratio_stats_kernel(points, const, locs, inv, q_const, q_loc, q_inv):
    """(mean, M2) of log p - log q over all points, without storing N values.

    Each block keeps its own mean and sum of squared deviations (two passes over
    its L1-resident values); blocks are then merged by Chan et al.'s formula,
    which is stable where sum of squares minus n mean^2 would cancel.
    """
    n = points.shape[0]
    blocks = (n + BLOCK - 1) // BLOCK
    means, m2s, counts = np.empty(blocks), np.empty(blocks), np.empty(blocks)
    for b in prange(blocks):
        lo, hi = b * BLOCK, min(n, b * BLOCK + BLOCK)
        values = np.empty(hi - lo)
        _block(points[lo:hi], const, locs, inv, q_const, q_loc, q_inv, True, values)
        mean = values.sum() / (hi - lo)
        m2 = 0.0
        for i in range(hi - lo):
            m2 += (values[i] - mean) ** 2
        means[b], m2s[b], counts[b] = mean, m2, hi - lo
    mean, m2, count = means[0], m2s[0], counts[0]
    for b in range(1, blocks):
        total = count + counts[b]
        delta = means[b] - mean
        mean += delta * counts[b] / total
        m2 += m2s[b] + delta * delta * count * counts[b] / total
        count = total
    return mean, m2


# ------------------------------------------------------------------ NumPy twins
def log_prob_rows_numpy(points, const, locs, inv):
    """The same log p(x) with (N, K) arrays: a_k for every point, max-shifted logsumexp."""
    if points.shape[1] == 1:                    # 1-D: (N, K) directly
        z = (points - locs[:, 0]) * inv[:, 0]
        a = const - 0.5 * (z * z)
    else:
        z = (points[:, None, :] - locs[None, :, :]) * inv[None, :, :]
        a = const - 0.5 * np.einsum("nkd,nkd->nk", z, z)
    top = a.max(axis=1)
    finite = np.isfinite(top)
    safe_top = np.where(finite, top, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = safe_top + np.log(np.exp(a - safe_top[:, None]).sum(axis=1))
    # every a_k = -inf (an infinite point) gives -inf; NaN points stay NaN
    return np.where(finite | np.isnan(top), out, -np.inf)


def _log_q_numpy(points, q_const, q_loc, q_inv):
    z = (points - q_loc) * q_inv
    return q_const - 0.5 * np.einsum("nd,nd->n", z, z)


# ------------------------------------------------------------------ public API
def mixture_log_prob_numba(x, weights, locs, scales):
    """log p(x) of the mixture (see the module), by the fused Numba kernel."""
    points, const, locs, inv, out_shape = prepare(x, weights, locs, scales)
    empty = np.zeros(1)
    return _run(points, const, locs, inv, 0.0, empty, empty, False).reshape(out_shape)


def mixture_log_prob_numpy(x, weights, locs, scales):
    """log p(x) of the mixture, vectorized NumPy (the twin of the Numba kernel)."""
    points, const, locs, inv, out_shape = prepare(x, weights, locs, scales)
    return log_prob_rows_numpy(points, const, locs, inv).reshape(out_shape)


def mixture_normal_log_ratio_numba(x, weights, locs, scales, q_loc, q_scale):
    """log p(x) - log q(x) per point, p the mixture and q = Normal(q_loc, q_scale) (diagonal)."""
    points, const, locs, inv, out_shape = prepare(x, weights, locs, scales)
    q_const, q_loc, q_inv = _normal_terms(q_loc, q_scale, points.shape[1])
    return _run(points, const, locs, inv, q_const, q_loc, q_inv, True).reshape(out_shape)


def mixture_normal_log_ratio_numpy(x, weights, locs, scales, q_loc, q_scale):
    """log p(x) - log q(x) per point, vectorized NumPy twin."""
    points, const, locs, inv, out_shape = prepare(x, weights, locs, scales)
    q_terms = _normal_terms(q_loc, q_scale, points.shape[1])
    log_p = log_prob_rows_numpy(points, const, locs, inv)
    return (log_p - _log_q_numpy(points, *q_terms)).reshape(out_shape)


def _mean_and_stderr(mean, m2, n):
    if n < 2:
        raise ValueError(f"a standard error needs at least 2 points, got {n}")
    return float(mean), float(np.sqrt(m2 / (n - 1) / n))


def mixture_normal_log_ratio_stats_numba(x, weights, locs, scales, q_loc, q_scale):
    """(mean, standard error) of log p(x_i) - log q(x_i) over the points, fused (no N array).

    With x_i ~ p this is the Monte Carlo estimate of KL(p || q) and its
    standard error sqrt(sample variance / N).
    """
    points, const, locs, inv, _ = prepare(x, weights, locs, scales)
    q_const, q_loc, q_inv = _normal_terms(q_loc, q_scale, points.shape[1])
    if points.shape[0] < 2:
        return _mean_and_stderr(0.0, 0.0, points.shape[0])
    mean, m2 = _log_ratio_stats_kernel(points, const, locs, inv, q_const, q_loc, q_inv)
    return _mean_and_stderr(mean, m2, points.shape[0])


def mixture_normal_log_ratio_stats_numpy(x, weights, locs, scales, q_loc, q_scale):
    """(mean, standard error) of log p - log q over the points, NumPy twin."""
    values = np.ravel(mixture_normal_log_ratio_numpy(x, weights, locs, scales, q_loc, q_scale))
    if values.size < 2:
        return _mean_and_stderr(0.0, 0.0, values.size)
    mean = values.mean()
    return _mean_and_stderr(mean, np.sum((values - mean) ** 2), values.size)


if NUMBA_ENABLED:
    mixture_log_prob = mixture_log_prob_numba
    mixture_normal_log_ratio = mixture_normal_log_ratio_numba
    mixture_normal_log_ratio_stats = mixture_normal_log_ratio_stats_numba
else:
    mixture_log_prob = mixture_log_prob_numpy
    mixture_normal_log_ratio = mixture_normal_log_ratio_numpy
    mixture_normal_log_ratio_stats = mixture_normal_log_ratio_stats_numpy
