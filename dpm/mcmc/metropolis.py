"""Metropolis-Hastings: random-walk and independence proposals (claim E2; lecture 000, 004).

From x propose x' ~ q(x' | x) and accept with probability

    alpha(x, x') = min(1, p(x') q(x | x') / (p(x) q(x' | x))),

else stay at x. Then p(x) P(x -> x') = p(x') P(x' -> x) (detailed balance),
so p is stationary; only ratios of p enter, so p may be unnormalised.

- Random walk: x' = x + s z, z ~ N(0, I), a symmetric q (the q's cancel).
  During warm-up the scale s of each chain is adapted by Robbins-Monro,
  log s += (alpha - a*) / t^0.6, toward the acceptance a* = 0.234 that is
  optimal for d > 1 (Roberts, Gelman and Gilks 1997; 0.44 for d = 1), then
  frozen, so the draws kept come from a fixed, exact kernel.
- Independence: x' ~ q(.) whatever x, alpha = min(1, w(x') / w(x)) with
  w = p / q; good when q is close to p and has heavier tails.

``transition_matrix`` builds the exact kernel on a finite state space from the
same acceptance rule the samplers use (the detailed-balance test checks it).
Chains run together: one (chains, dim) array moves per step.
"""
from __future__ import annotations

import numpy as np

from dpm.mcmc._target import (Progress, check_count, check_positive, check_rng, check_x0,
                              log_density)
from dpm.mcmc.chains import Chains

__all__ = ["metropolis", "independence_metropolis", "log_accept", "transition_matrix"]


def log_accept(log_p_current, log_p_proposed, log_q_forward=0.0, log_q_reverse=0.0):
    """log alpha = min(0, log p(x') - log p(x) + log q(x | x') - log q(x' | x)).

    A proposal outside the support (log p(x') = -inf) gives -inf (never NaN).
    """
    log_p_current = np.asarray(log_p_current, dtype=np.float64)
    log_p_proposed = np.asarray(log_p_proposed, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        log_ratio = (log_p_proposed - log_p_current) + (np.asarray(log_q_reverse)
                                                        - np.asarray(log_q_forward))
    log_ratio = np.where(np.isneginf(log_p_proposed), -np.inf, log_ratio)
    log_ratio = np.where(np.isnan(log_ratio), -np.inf, log_ratio)
    return np.minimum(0.0, log_ratio)


def transition_matrix(log_pi, proposal):
    """The Metropolis-Hastings kernel P on states 0..S-1 for target pi and proposal Q.

    ``log_pi`` (S,) unnormalised log target; ``proposal`` (S, S), row i the
    proposal distribution q(. | i). P_ij = Q_ij alpha(i, j) for j != i and
    P_ii = 1 - sum_{j != i} P_ij (the rejected mass stays put).
    """
    log_pi = np.asarray(log_pi, dtype=np.float64)
    Q = np.asarray(proposal, dtype=np.float64)
    S = log_pi.shape[0]
    if log_pi.ndim != 1 or Q.shape != (S, S):
        raise ValueError(f"proposal must have shape ({S}, {S}) for log_pi of shape "
                         f"{log_pi.shape}, got {Q.shape}")
    if np.any(Q < 0) or not np.allclose(Q.sum(axis=1), 1.0):
        raise ValueError("proposal rows must be probability distributions")
    with np.errstate(divide="ignore"):
        log_Q = np.log(Q)
    alpha = np.exp(log_accept(log_pi[:, None], log_pi[None, :], log_Q, log_Q.T))
    P = np.where(Q > 0, Q * alpha, 0.0)
    np.fill_diagonal(P, 0.0)
    np.fill_diagonal(P, 1.0 - P.sum(axis=1))
    return P


def _mh_step(x, log_p, proposal, log_p_proposal, rng, log_q_forward=0.0, log_q_reverse=0.0):
    """One accept/reject of every chain; returns (x, log_p, alpha, accepted)."""
    log_alpha = log_accept(log_p, log_p_proposal, log_q_forward, log_q_reverse)
    accept = np.log(rng.uniform(size=x.shape[0])) < log_alpha
    x = np.where(accept[:, None], proposal, x)
    log_p = np.where(accept, log_p_proposal, log_p)
    return x, log_p, np.exp(log_alpha), accept


def metropolis(log_prob, x0, n, rng, step=1.0, warmup=None, adapt=True, target_accept=None,
               progress=False):
    """Random-walk Metropolis: ``n`` draws per chain after ``warmup`` (default n) steps.

    ``log_prob`` maps a (chains, dim) Tensor to (chains,) log densities; ``x0``
    (chains, dim); ``step`` the initial proposal scale (a float or a (dim,)
    vector of per-coordinate scales), adapted per chain during warm-up when
    ``adapt`` toward ``target_accept`` (0.234 for d > 1, 0.44 for d = 1), then
    frozen. Returns ``Chains`` (``accept_rate`` the mean acceptance
    probability of the kept draws, ``step_size`` the frozen scales).
    ``progress=True`` prints progress lines on stderr.
    """
    x = check_x0(x0)
    n = check_count(n, "n")
    warmup = n if warmup is None else check_count(warmup, "warmup", 0)
    rng = check_rng(rng)
    chains, dim = x.shape
    base = check_positive(step, "step") * np.ones(dim)
    target = (0.44 if dim == 1 else 0.234) if target_accept is None else float(target_accept)
    if not 0 < target < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
    log_scale = np.zeros(chains)
    log_p = log_density(log_prob, x)
    if not np.all(np.isfinite(log_p)):
        raise ValueError("x0 must lie where log_prob is finite")
    samples = np.empty((chains, n, dim))
    accept_sum = np.zeros(chains)
    report = Progress("metropolis", warmup, n, progress)
    for t in range(warmup + n):
        report(t)
        proposal = x + np.exp(log_scale)[:, None] * base * rng.standard_normal((chains, dim))
        x, log_p, alpha, _ = _mh_step(x, log_p, proposal, log_density(log_prob, proposal), rng)
        if t < warmup:
            if adapt:
                log_scale += (alpha - target) / (t + 1) ** 0.6
        else:
            samples[:, t - warmup] = x
            accept_sum += alpha
    return Chains(samples, accept_sum / n, step_size=np.exp(log_scale)[:, None] * base,
                  sampler="metropolis")


def independence_metropolis(log_prob, proposal, x0, n, rng, warmup=0):
    """Independence Metropolis-Hastings with a fixed proposal distribution q.

    ``proposal`` has ``sample(shape, rng)`` (draws of shape shape + (dim,)) and
    ``log_prob``; alpha = min(1, p(x') q(x) / (p(x) q(x'))). ``x0`` (chains, dim).
    """
    x = check_x0(x0)
    n = check_count(n, "n")
    warmup = check_count(warmup, "warmup", 0)
    rng = check_rng(rng)
    chains, dim = x.shape

    def log_q(points):
        value = proposal.log_prob(points)
        value = np.asarray(getattr(value, "data", value), dtype=np.float64)
        return value.sum(axis=-1) if value.shape == points.shape else value

    log_p = log_density(log_prob, x)
    log_q_x = log_q(x)
    samples = np.empty((chains, n, dim))
    accept_sum = np.zeros(chains)
    for t in range(warmup + n):
        draw = np.asarray(proposal.sample((chains,), rng), dtype=np.float64).reshape(chains, dim)
        log_q_draw = log_q(draw)
        # forward q(x' | x) = q(x'), reverse q(x | x') = q(x)
        x, log_p, alpha, accepted = _mh_step(x, log_p, draw, log_density(log_prob, draw), rng,
                                             log_q_draw, log_q_x)
        log_q_x = np.where(accepted, log_q_draw, log_q_x)
        if t >= warmup:
            samples[:, t - warmup] = x
            accept_sum += alpha
    return Chains(samples, accept_sum / n, sampler="independence_metropolis")
