"""The E-step of EM for a Gaussian mixture on plain ndarrays, Numba and NumPy twins (claim E1).

For K full-covariance Gaussians in d dimensions, with U_k = L_k^{-1} the
inverse of the Cholesky factor of Sigma_k (lower triangular, so
(x - mu)^T Sigma_k^{-1} (x - mu) = |U_k (x - mu_k)|^2):

    a_k(x)   = c_k - 1/2 |U_k (x - mu_k)|^2,
    c_k      = log pi_k + sum_j log U_k[j, j] - d/2 log(2 pi)      (hoisted, once per call)
    log p(x) = logsumexp_k a_k(x),   r_k(x) = exp(a_k(x) - log p(x))   (responsibilities)

and, for the M-step, the responsibility-weighted statistics centred at the
current means (centring keeps the covariance update free of the cancellation
of E[x x^T] - mu mu^T when the data sit far from the origin):

    n_k = sum_i r_ik,   s_k = sum_i r_ik (x_i - mu_k),   S_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T

The Numba kernel is fused: no (N x K) responsibility matrix is written. Points
are taken a block of BLOCK at a time in parallel (prange over blocks), each
block accumulating its own statistics, summed at the end; each point costs
exactly K exps (``minigrad.kernels._exp_scalar``, the project's vectorizable
exp: exp(a_k - M) is kept for the responsibilities, so no second exp).

A point with an infinite coordinate gets log p = -inf and no
responsibility; a NaN coordinate gives NaN. Every weight 0 is not allowed
(``fit_gmm`` never makes one). A component of weight 0 has c_k = -inf and
contributes nothing. ``estep`` dispatches to ``estep_numba`` or, with Numba
disabled, to ``estep_numpy``, the broadcast (N, K, d) twin of the same
signature that the tests check it against.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit, prange
from minigrad.kernels.exp_log import _exp_scalar

__all__ = ["estep", "estep_numba", "estep_numpy", "component_constants"]

BLOCK = 512
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
INF = math.inf


def component_constants(weights, prec_chol):
    """c_k = log pi_k + log|U_k| - d/2 log(2 pi); weight 0 gives -inf (an unused component)."""
    d = prec_chol.shape[-1]
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
    return np.ascontiguousarray(log_weights + log_det - d * HALF_LOG_2PI)


# ------------------------------------------------------------------ NumPy twin
def estep_numpy(x, const, means, prec_chol, with_stats=True):
    """(log p (N,), n (K,), s (K, d), S (K, d, d)) by broadcasting (stats zero if not asked)."""
    finite = np.isfinite(x).all(axis=1)
    diff = np.where(finite[:, None], x, 0.0)[:, None, :] - means[None, :, :]     # (N, K, d)
    y = np.einsum("krc,nkc->nkr", prec_chol, diff)
    a = const[None, :] - 0.5 * np.einsum("nkr,nkr->nk", y, y)
    top = a.max(axis=1)
    e = np.exp(a - top[:, None])
    total = e.sum(axis=1)
    log_p = np.where(finite, top + np.log(total), -INF)
    log_p = np.where(np.isnan(x).any(axis=1), np.nan, log_p)
    K, d = means.shape
    if not with_stats:
        return log_p, np.zeros(K), np.zeros((K, d)), np.zeros((K, d, d))
    r = np.where(finite[:, None], e / total[:, None], 0.0)
    return (log_p, r.sum(axis=0), np.einsum("nk,nkc->kc", r, diff),
            np.einsum("nk,nkc,nke->kce", r, diff, diff))


# ------------------------------------------------------------------ Numba kernel
# fastmath "contract" only fuses a*b + c into an FMA (a rounding difference);
# error_model="numpy" drops the ZeroDivisionError branch.
@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _block(x, const, means, prec_chol, with_stats, log_p, e, nk, sx, sxx):
    """One block of points: log p into ``log_p``; stats added into nk, sx, sxx."""
    m, d = x.shape
    K = const.size
    diff = np.empty(d)
    for i in range(m):
        finite, has_nan = True, False
        for c in range(d):
            finite = finite and abs(x[i, c]) < INF
            has_nan = has_nan or x[i, c] != x[i, c]
        if not finite:                           # an infinite coordinate: density 0; NaN: NaN
            log_p[i] = math.nan if has_nan else -INF
            continue
        top = -INF
        for k in range(K):
            quad = 0.0
            for r in range(d):
                acc = 0.0
                for c in range(r + 1):
                    acc += prec_chol[k, r, c] * (x[i, c] - means[k, c])
                quad += acc * acc
            a = const[k] - 0.5 * quad
            e[k] = a
            top = a if a > top else top
        total = 0.0
        for k in range(K):
            e[k] = _exp_scalar(e[k] - top)
            total += e[k]
        log_p[i] = top + math.log(total)
        if with_stats:
            inv = 1.0 / total
            for k in range(K):
                r_ik = e[k] * inv
                nk[k] += r_ik
                for c in range(d):
                    diff[c] = x[i, c] - means[k, c]
                for c in range(d):
                    w = r_ik * diff[c]
                    sx[k, c] += w
                    for c2 in range(d):
                        sxx[k, c, c2] += w * diff[c2]


@njit(cache=True, parallel=True)
def _estep_parallel(x, const, means, prec_chol, with_stats):
    N, d = x.shape
    K = const.size
    blocks = (N + BLOCK - 1) // BLOCK
    log_p = np.empty(N)
    nk = np.zeros((blocks, K))
    sx = np.zeros((blocks, K, d))
    sxx = np.zeros((blocks, K, d, d))
    for b in prange(blocks):
        start = b * BLOCK
        stop = min(N, start + BLOCK)
        e = np.empty(K)
        _block(x[start:stop], const, means, prec_chol, with_stats, log_p[start:stop], e,
               nk[b], sx[b], sxx[b])
    return log_p, nk.sum(axis=0), sx.sum(axis=0), sxx.sum(axis=0)


def estep_numba(x, const, means, prec_chol, with_stats=True):
    """The fused kernel: same signature and results as ``estep_numpy`` (to rounding)."""
    return _estep_parallel(x, const, means, prec_chol, bool(with_stats))


def estep(x, const, means, prec_chol, with_stats=True):
    """E-step on float64 arrays: x (N, d), const (K,), means (K, d), prec_chol (K, d, d)."""
    x, const, means, prec_chol = (np.ascontiguousarray(a, dtype=np.float64)
                                  for a in (x, const, means, prec_chol))
    if NUMBA_ENABLED:
        return estep_numba(x, const, means, prec_chol, with_stats)
    return estep_numpy(x, const, means, prec_chol, with_stats)
