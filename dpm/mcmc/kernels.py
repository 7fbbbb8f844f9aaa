"""Numba kernels for the MH and Gibbs loops on closed-form targets, with NumPy twins (E2).

A Markov chain is sequential, so the NumPy form of a sampler loops over draws
in Python, vectorised over chains; its cost per draw is Python's, not the
arithmetic's. For targets whose log density is a formula (a Gaussian, a 1-D
Gaussian mixture) the whole loop compiles with Numba. Each kernel takes its
randomness pre-drawn (``normals``, ``uniforms`` of shape (n, chains[, d])),
so a kernel and its twin consume identical numbers and the tests can demand
the same chains, and returns the draws (chains, n[, d]) and, for MH, the
number of accepted proposals per chain.

- Random-walk MH on log p(x) = logsumexp_k (log pi_k + log N(x; mu_k, s_k)):
  accept x' = x + s z when log u < log p(x') - log p(x).
- Random-walk MH on N(mu, Sigma) through the precision Lambda:
  log p(x) = -1/2 (x - mu)^T Lambda (x - mu).
- Gibbs scan on N(mu, Sigma) (``gibbs.GaussianConditionals``) and data
  augmentation Gibbs on a 1-D mixture (``gibbs.MixtureDensity``).

No ``fastmath``: the accept decisions must match the twins bit for bit in all
but vanishingly rare ties. ``metropolis_mixture_1d`` and friends are the
public entry points (Numba when enabled, else the twin) returning ``Chains``.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit
from dpm.mcmc._target import check_count, check_positive, check_rng
from dpm.mcmc.chains import Chains

__all__ = ["rw_mixture_1d_numba", "rw_mixture_1d_numpy", "rw_gaussian_numba",
           "rw_gaussian_numpy", "gibbs_gaussian_numba", "gibbs_gaussian_numpy",
           "gibbs_mixture_1d_numba", "gibbs_mixture_1d_numpy", "metropolis_mixture_1d",
           "metropolis_gaussian"]

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# ------------------------------------------------------------------ 1-D mixture, MH
@njit(cache=True)
def _mixture_log_density(x, log_weights, locs, scales):
    K = locs.shape[0]
    peak = -math.inf
    terms = np.empty(K)
    for k in range(K):
        u = (x - locs[k]) / scales[k]
        terms[k] = log_weights[k] - 0.5 * u * u - math.log(scales[k]) - HALF_LOG_2PI
        peak = max(peak, terms[k])
    total = 0.0
    for k in range(K):
        total += math.exp(terms[k] - peak)
    return peak + math.log(total)


@njit(cache=True)
def rw_mixture_1d_numba(x0, step, log_weights, locs, scales, normals, log_uniforms):
    n, chains = normals.shape
    samples = np.empty((chains, n))
    accepted = np.zeros(chains, dtype=np.int64)
    for c in range(chains):
        x = x0[c]
        log_p = _mixture_log_density(x, log_weights, locs, scales)
        for t in range(n):
            proposal = x + step[c] * normals[t, c]
            log_p_new = _mixture_log_density(proposal, log_weights, locs, scales)
            if log_uniforms[t, c] < log_p_new - log_p:
                x, log_p = proposal, log_p_new
                accepted[c] += 1
            samples[c, t] = x
    return samples, accepted


def _mixture_log_density_numpy(x, log_weights, locs, scales):
    terms = (log_weights - 0.5 * ((x[:, None] - locs) / scales) ** 2 - np.log(scales)
             - HALF_LOG_2PI)
    peak = terms.max(axis=1)
    return peak + np.log(np.exp(terms - peak[:, None]).sum(axis=1))


def rw_mixture_1d_numpy(x0, step, log_weights, locs, scales, normals, log_uniforms):
    """Twin of ``rw_mixture_1d_numba``: the same chain, a Python loop over draws."""
    n, chains = normals.shape
    samples, accepted = np.empty((chains, n)), np.zeros(chains, dtype=np.int64)
    x = np.array(x0, dtype=np.float64)
    log_p = _mixture_log_density_numpy(x, log_weights, locs, scales)
    for t in range(n):
        proposal = x + step * normals[t]
        log_p_new = _mixture_log_density_numpy(proposal, log_weights, locs, scales)
        accept = log_uniforms[t] < log_p_new - log_p
        x, log_p = np.where(accept, proposal, x), np.where(accept, log_p_new, log_p)
        accepted += accept
        samples[:, t] = x
    return samples, accepted


# ------------------------------------------------------------------ Gaussian, MH
@njit(cache=True)
def _gaussian_log_density(x, mean, precision):
    d = mean.shape[0]
    total = 0.0
    for i in range(d):
        row = 0.0
        for j in range(d):
            row += precision[i, j] * (x[j] - mean[j])
        total += (x[i] - mean[i]) * row
    return -0.5 * total


@njit(cache=True)
def rw_gaussian_numba(x0, step, mean, precision, normals, log_uniforms):
    n, chains, d = normals.shape
    samples = np.empty((chains, n, d))
    accepted = np.zeros(chains, dtype=np.int64)
    proposal = np.empty(d)
    for c in range(chains):
        x = x0[c].copy()
        log_p = _gaussian_log_density(x, mean, precision)
        for t in range(n):
            for j in range(d):
                proposal[j] = x[j] + step[c] * normals[t, c, j]
            log_p_new = _gaussian_log_density(proposal, mean, precision)
            if log_uniforms[t, c] < log_p_new - log_p:
                x[:] = proposal
                log_p = log_p_new
                accepted[c] += 1
            samples[c, t] = x
    return samples, accepted


def rw_gaussian_numpy(x0, step, mean, precision, normals, log_uniforms):
    """Twin of ``rw_gaussian_numba``."""
    n, chains, d = normals.shape
    samples, accepted = np.empty((chains, n, d)), np.zeros(chains, dtype=np.int64)

    def log_density(x):
        gap = x - mean
        return -0.5 * np.einsum("ci,ij,cj->c", gap, precision, gap)

    x = np.array(x0, dtype=np.float64)
    log_p = log_density(x)
    for t in range(n):
        proposal = x + step[:, None] * normals[t]
        log_p_new = log_density(proposal)
        accept = log_uniforms[t] < log_p_new - log_p
        x, log_p = np.where(accept[:, None], proposal, x), np.where(accept, log_p_new, log_p)
        accepted += accept
        samples[:, t] = x
    return samples, accepted


# ------------------------------------------------------------------ Gibbs
@njit(cache=True)
def gibbs_gaussian_numba(x0, mean, precision, normals):
    n, chains, d = normals.shape
    samples = np.empty((chains, n, d))
    for c in range(chains):
        x = x0[c].copy()
        for t in range(n):
            for j in range(d):
                shift = 0.0
                for k in range(d):
                    if k != j:
                        shift += precision[j, k] * (x[k] - mean[k])
                x[j] = (mean[j] - shift / precision[j, j]
                        + normals[t, c, j] / math.sqrt(precision[j, j]))
            samples[c, t] = x
    return samples


def gibbs_gaussian_numpy(x0, mean, precision, normals):
    """Twin of ``gibbs_gaussian_numba`` (the scan of ``GaussianConditionals.sweep``)."""
    n, chains, d = normals.shape
    samples = np.empty((chains, n, d))
    x = np.array(x0, dtype=np.float64)
    off_diagonal = precision - np.diag(np.diag(precision))
    for t in range(n):
        for j in range(d):
            shift = (x - mean) @ off_diagonal[j]
            x[:, j] = (mean[j] - shift / precision[j, j]
                       + normals[t, :, j] / np.sqrt(precision[j, j]))
        samples[:, t] = x
    return samples


@njit(cache=True)
def gibbs_mixture_1d_numba(x0, log_weights, locs, scales, uniforms, normals):
    n, chains = normals.shape
    K = locs.shape[0]
    samples = np.empty((chains, n))
    cumulative = np.empty(K)
    logits = np.empty(K)
    for c in range(chains):
        x = x0[c]
        for t in range(n):
            peak = -math.inf
            for k in range(K):
                u = (x - locs[k]) / scales[k]
                logits[k] = log_weights[k] - 0.5 * u * u - math.log(scales[k]) - HALF_LOG_2PI
                peak = max(peak, logits[k])
            total = 0.0
            for k in range(K):
                total += math.exp(logits[k] - peak)
                cumulative[k] = total
            threshold = uniforms[t, c] * total
            z = 0
            while z < K - 1 and cumulative[z] < threshold:
                z += 1
            x = locs[z] + scales[z] * normals[t, c]
            samples[c, t] = x
    return samples


def gibbs_mixture_1d_numpy(x0, log_weights, locs, scales, uniforms, normals):
    """Twin of ``gibbs_mixture_1d_numba`` (the sweep of ``MixtureDensity``)."""
    from dpm.mcmc.gibbs import categorical_from_logits
    n, chains = normals.shape
    samples = np.empty((chains, n))
    x = np.array(x0, dtype=np.float64)
    for t in range(n):
        logits = (log_weights - 0.5 * ((x[:, None] - locs) / scales) ** 2 - np.log(scales)
                  - HALF_LOG_2PI)
        z = categorical_from_logits(logits, uniforms[t])
        x = locs[z] + scales[z] * normals[t]
        samples[:, t] = x
    return samples


# ------------------------------------------------------------------ public entry points
def _rw_inputs(x0, n, rng, step, chains_shape):
    n = check_count(n, "n")
    rng = check_rng(rng)
    chains = chains_shape[0]
    step = check_positive(step, "step") * np.ones(chains)
    normals = rng.standard_normal((n,) + chains_shape)
    log_uniforms = np.log(rng.uniform(size=(n, chains)))
    return step, normals, log_uniforms


def metropolis_mixture_1d(weights, locs, scales, x0, n, rng, step=1.0):
    """Random-walk MH on a 1-D Gaussian mixture by the compiled loop; x0 (chains, 1)."""
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 2 or x0.shape[1] != 1:
        raise ValueError(f"x0 must have shape (chains, 1), got {x0.shape}")
    weights, locs = np.asarray(weights, dtype=np.float64), np.asarray(locs, dtype=np.float64)
    scales = np.broadcast_to(check_positive(scales, "scales"), locs.shape).copy()
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    step, normals, log_u = _rw_inputs(x0, n, rng, step, (x0.shape[0],))
    kernel = rw_mixture_1d_numba if NUMBA_ENABLED else rw_mixture_1d_numpy
    samples, accepted = kernel(x0[:, 0].copy(), step, log_weights, locs, scales, normals, log_u)
    return Chains(samples[..., None], accepted / normals.shape[0], step_size=step,
                  sampler="metropolis (numba kernel)")


def metropolis_gaussian(mean, cov, x0, n, rng, step=1.0):
    """Random-walk MH on N(mean, cov) by the compiled loop; x0 (chains, d)."""
    mean = np.asarray(mean, dtype=np.float64)
    precision = np.linalg.inv(np.asarray(cov, dtype=np.float64))
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 2 or x0.shape[1] != mean.shape[0]:
        raise ValueError(f"x0 must have shape (chains, {mean.shape[0]}), got {x0.shape}")
    step, normals, log_u = _rw_inputs(x0, n, rng, step, x0.shape)
    kernel = rw_gaussian_numba if NUMBA_ENABLED else rw_gaussian_numpy
    samples, accepted = kernel(x0, step, mean, precision, normals, log_u)
    return Chains(samples, accepted / normals.shape[0], step_size=step,
                  sampler="metropolis (numba kernel)")
