"""Monte Carlo loss-landscape kernels on plain ndarrays, Numba and NumPy twins (claim F5).

For a Normal model q = N(mu, sigma) and a 1-D Gaussian-mixture target p
(a Normal is the mixture with K = 1), over every grid point (mu, sigma):

    forward KL  KL(P || Q) = E_P[log p(x) - log q(x)],           x_i ~ P
    reverse KL  KL(Q || P) = E_Q[log q(x) - log p(x)],           x = mu + sigma eps_j
    JSD         1/2 E_P[log p - log m] + 1/2 E_Q[log q - log m],  m = (p + q) / 2

each a sample mean with its standard error sqrt(sample variance / n)
(for the JSD the two halves are independent: se^2 = (se_P^2 + se_Q^2) / 4).

Common random numbers. The draws x_i ~ P and the base noise eps_j ~ N(0, 1)
are made once, outside the kernels, and shared by every grid point. The
estimate is then a smooth function of (mu, sigma) (no pixel-to-pixel noise in
the contours, differences between neighbours have small variance), the
kernels need no random-number state (Numba's per-thread generators would
make the result depend on the thread schedule, and bypass the caller's
``numpy.random.Generator``), and the Numba kernel and its twin see the same
numbers, so they can be compared to rounding.

What is hoisted. Everything that does not depend on the grid point is
computed once: log p(x_i) at P's draws (forward KL and JSD need it at every
grid point), a_i = log p(x_i) + 1/2 log(2 pi), h_j = -1/2 eps_j^2 - 1/2 log(2 pi)
(so log q(mu + sigma eps_j) = h_j - log sigma), and the mixture's per-component
constants c_k = log pi_k - log s_k - 1/2 log(2 pi) and 1/s_k
(``dpm.kernels.mixture.prepare``). log sigma is added after the sum.

The Numba kernels run in parallel over the rows of the grid (one sigma a
row, prange), visit the samples a block of BLOCK at a time with per-row
buffers (no grid x samples array), evaluate the mixture with the project's
fused ``block_log_prob_1d`` (two passes over K, vectorizable exp and log1p)
and reduce each block by shifted sums: with S = the first sample's value,
sum (v - S) and sum (v - S)^2 give the mean and variance without the
cancellation of sum v^2 - n mean^2 (S is within a few sd of the mean).
The NumPy twins compute the same sums on (grid chunk x n) arrays, chunked so
that no array exceeds CHUNK values.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit, prange
from minigrad.kernels.exp_log import _exp_scalar, _log1p_scalar
from dpm.kernels.mixture import HALF_LOG_2PI, block_log_prob_1d, log_prob_rows_numpy

__all__ = ["forward_kl", "reverse_kl", "js", "forward_kl_numba", "reverse_kl_numba", "js_numba",
           "forward_kl_numpy", "reverse_kl_numpy", "js_numpy"]

BLOCK = 1024              # samples per block: the buffers stay in L1
CHUNK = 1 << 21           # values per (grid chunk x samples) array in the NumPy twins
LOG2 = math.log(2.0)


# ------------------------------------------------------------------ Numba kernels
# fastmath: "contract" fuses a*b + c into an FMA; "reassoc" (only in the two
# reductions, which call no exp/log) lets LLVM split a sum into vector lanes.
# Both change results by rounding only, never how NaN or inf behave.
@njit(cache=True, fastmath={"contract", "reassoc"}, error_model="numpy")
def _forward_block_sums(x, a, mu, inv_sigma, shift):
    """sum (v_i - S) and sum (v_i - S)^2 of v_i = a_i + 1/2 ((x_i - mu) / sigma)^2."""
    s1 = 0.0
    s2 = 0.0
    for i in range(x.size):
        z = (x[i] - mu) * inv_sigma
        d = (a[i] + 0.5 * z * z) - shift
        s1 += d
        s2 += d * d
    return s1, s2


@njit(cache=True, fastmath={"contract", "reassoc"}, error_model="numpy")
def _block_sums(values, shift):
    s1 = 0.0
    s2 = 0.0
    for i in range(values.size):
        d = values[i] - shift
        s1 += d
        s2 += d * d
    return s1, s2


@njit(cache=True, inline="always")
def _mean_se(shift, s1, s2, n):
    """Mean and standard error from shifted sums (n >= 2)."""
    mean = s1 / n
    var = (s2 - s1 * mean) / (n - 1)
    return shift + mean, math.sqrt(max(var, 0.0) / n)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _log_q_minus_log_p(h, log_sigma, log_p, out):
    """out = log q - log p with log q = h - log sigma (Q's own draws)."""
    for i in range(h.size):
        out[i] = (h[i] - log_sigma) - log_p[i]


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _minus_log_m(log_a, log_b, out):
    """out = log a - log m, m = (a + b) / 2: log 2 - log(1 + exp(log b - log a)), stably.

    log m = max + log1p(exp(-|log a - log b|)) - log 2 (logaddexp), finite whenever one is.
    """
    for i in range(log_a.size):
        gap = log_a[i] - log_b[i]
        top = log_a[i] if gap > 0.0 else log_b[i]
        out[i] = (log_a[i] - top) + LOG2 - _log1p_scalar(_exp_scalar(-abs(gap)))


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _affine(eps, mu, sigma, out):
    for i in range(eps.size):
        out[i] = mu + sigma * eps[i]


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _log_q_at(x, mu, inv_sigma, log_sigma, out):
    """out = log N(x; mu, sigma)."""
    for i in range(x.size):
        z = (x[i] - mu) * inv_sigma
        out[i] = (-0.5 * z * z - HALF_LOG_2PI) - log_sigma


@njit(cache=True, parallel=True)
def _forward_kl_kernel(mus, sigmas, x_p, a, out, se):
    n = x_p.size
    for r in prange(sigmas.size):
        inv_sigma, log_sigma = 1.0 / sigmas[r], math.log(sigmas[r])
        for c in range(mus.size):
            z0 = (x_p[0] - mus[c]) * inv_sigma
            shift = a[0] + 0.5 * z0 * z0
            s1, s2 = 0.0, 0.0
            for lo in range(0, n, BLOCK):
                hi = min(n, lo + BLOCK)
                b1, b2 = _forward_block_sums(x_p[lo:hi], a[lo:hi], mus[c], inv_sigma, shift)
                s1 += b1
                s2 += b2
            mean, se[r, c] = _mean_se(shift, s1, s2, n)
            out[r, c] = mean + log_sigma


@njit(cache=True, parallel=True)
def _reverse_kl_kernel(mus, sigmas, eps, h, const, locs, inv, out, se):
    n = eps.size
    for r in prange(sigmas.size):
        x, top, total = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
        log_p, values = np.empty(BLOCK), np.empty(BLOCK)
        log_sigma = math.log(sigmas[r])
        for c in range(mus.size):
            s1, s2, shift = 0.0, 0.0, 0.0
            for lo in range(0, n, BLOCK):
                m = min(n, lo + BLOCK) - lo
                _affine(eps[lo:lo + m], mus[c], sigmas[r], x[:m])
                block_log_prob_1d(x[:m], const, locs, inv, top[:m], total[:m], log_p[:m])
                _log_q_minus_log_p(h[lo:lo + m], log_sigma, log_p[:m], values[:m])
                if lo == 0:
                    shift = values[0]
                b1, b2 = _block_sums(values[:m], shift)
                s1 += b1
                s2 += b2
            out[r, c], se[r, c] = _mean_se(shift, s1, s2, n)


@njit(cache=True, parallel=True)
def _js_kernel(mus, sigmas, x_p, log_p_at_p, eps, h, const, locs, inv, out, se):
    n_p, n_q = x_p.size, eps.size
    for r in prange(sigmas.size):
        x, top, total = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
        log_p, log_q, values = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
        inv_sigma, log_sigma = 1.0 / sigmas[r], math.log(sigmas[r])
        for c in range(mus.size):
            # P's half: x_i ~ P, v_i = log p - log m
            s1, s2, shift = 0.0, 0.0, 0.0
            for lo in range(0, n_p, BLOCK):
                m = min(n_p, lo + BLOCK) - lo
                _log_q_at(x_p[lo:lo + m], mus[c], inv_sigma, log_sigma, log_q[:m])
                _minus_log_m(log_p_at_p[lo:lo + m], log_q[:m], values[:m])
                if lo == 0:
                    shift = values[0]
                b1, b2 = _block_sums(values[:m], shift)
                s1 += b1
                s2 += b2
            half_p, se_p = _mean_se(shift, s1, s2, n_p)
            # Q's half: x_j = mu + sigma eps_j, v_j = log q - log m
            s1, s2, shift = 0.0, 0.0, 0.0
            for lo in range(0, n_q, BLOCK):
                m = min(n_q, lo + BLOCK) - lo
                _affine(eps[lo:lo + m], mus[c], sigmas[r], x[:m])
                block_log_prob_1d(x[:m], const, locs, inv, top[:m], total[:m], log_p[:m])
                for i in range(m):
                    log_q[i] = h[lo + i] - log_sigma
                _minus_log_m(log_q[:m], log_p[:m], values[:m])
                if lo == 0:
                    shift = values[0]
                b1, b2 = _block_sums(values[:m], shift)
                s1 += b1
                s2 += b2
            half_q, se_q = _mean_se(shift, s1, s2, n_q)
            out[r, c] = 0.5 * (half_p + half_q)
            se[r, c] = 0.5 * math.sqrt(se_p * se_p + se_q * se_q)


# ------------------------------------------------------------------ NumPy twins
def _rows(mus, sigmas, n):
    """(sigma index, mu index) pairs of the grid in chunks of about CHUNK / n points."""
    size = max(1, CHUNK // n)
    rows, cols = np.divmod(np.arange(sigmas.size * mus.size), mus.size)
    for lo in range(0, rows.size, size):
        yield rows[lo:lo + size], cols[lo:lo + size]


def _shifted_mean_se(values):
    """Mean and standard error of each row of values (G, n), by the kernels' shifted sums."""
    n = values.shape[1]
    shift = values[:, :1]
    d = values - shift
    s1, s2 = d.sum(axis=1), (d * d).sum(axis=1)
    mean = s1 / n
    var = np.maximum((s2 - s1 * mean) / (n - 1), 0.0)
    return shift[:, 0] + mean, np.sqrt(var / n)


def _mixture_log_prob_numpy(x, const, locs, inv):
    flat = log_prob_rows_numpy(x.reshape(-1, 1), const, locs[:, None], inv[:, None])
    return flat.reshape(x.shape)


def _minus_log_m_numpy(log_a, log_b):
    return LOG2 - np.logaddexp(0.0, log_b - log_a)


def forward_kl_numpy(mus, sigmas, x_p, a, out, se):
    """The twin of ``forward_kl_numba``: same arguments, same shifted sums, (G, n) chunks."""
    for r, c in _rows(mus, sigmas, x_p.size):
        z = (x_p[None, :] - mus[c, None]) / sigmas[r, None]
        mean, se[r, c] = _shifted_mean_se(a[None, :] + 0.5 * z * z)
        out[r, c] = mean + np.log(sigmas[r])


def reverse_kl_numpy(mus, sigmas, eps, h, const, locs, inv, out, se):
    """The twin of ``reverse_kl_numba``."""
    for r, c in _rows(mus, sigmas, eps.size):
        x = mus[c, None] + sigmas[r, None] * eps[None, :]
        log_p = _mixture_log_prob_numpy(x, const, locs, inv)
        out[r, c], se[r, c] = _shifted_mean_se((h[None, :] - np.log(sigmas[r, None])) - log_p)


def js_numpy(mus, sigmas, x_p, log_p_at_p, eps, h, const, locs, inv, out, se):
    """The twin of ``js_numba``."""
    for r, c in _rows(mus, sigmas, max(x_p.size, eps.size)):
        log_sigma = np.log(sigmas[r, None])
        z = (x_p[None, :] - mus[c, None]) / sigmas[r, None]
        log_q = (-0.5 * z * z - HALF_LOG_2PI) - log_sigma
        half_p, se_p = _shifted_mean_se(_minus_log_m_numpy(log_p_at_p[None, :], log_q))
        x = mus[c, None] + sigmas[r, None] * eps[None, :]
        log_p = _mixture_log_prob_numpy(x, const, locs, inv)
        half_q, se_q = _shifted_mean_se(_minus_log_m_numpy(h[None, :] - log_sigma, log_p))
        out[r, c] = 0.5 * (half_p + half_q)
        se[r, c] = 0.5 * np.sqrt(se_p ** 2 + se_q ** 2)


forward_kl_numba, reverse_kl_numba, js_numba = _forward_kl_kernel, _reverse_kl_kernel, _js_kernel
if NUMBA_ENABLED:
    forward_kl, reverse_kl, js = forward_kl_numba, reverse_kl_numba, js_numba
else:
    forward_kl, reverse_kl, js = forward_kl_numpy, reverse_kl_numpy, js_numpy
