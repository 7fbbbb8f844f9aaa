"""The evidence lower bound and its importance-weighted tightening (claims V1, V8).

For a model p(x, z) and any guide q(z) (lecture 003, "Variational inference"):

    log p(x) = ELBO(q) + KL(q(z) || p(z | x)),   ELBO(q) = E_q[log p(x, z) - log q(z)],

so ELBO(q) <= log p(x), with equality exactly when q is the posterior (V1).
Averaging k importance weights inside the log (Burda et al. 2016, IWAE):

    IWAE_k = E_{z_1..k ~ q}[ log (1/k) sum_i p(x, z_i) / q(z_i) ],

gives ELBO = IWAE_1 <= IWAE_k <= IWAE_{k+1} <= log p(x), and IWAE_k -> log p(x)
as k grows (V8). The inner average is a logsumexp of log weights, never a sum
of exponentials.

How it is computed here:
- ``log_joint(z)`` returns log p(x, z) for draws z of shape
  ``(n,) + guide.batch_shape + guide.event_shape`` (``(n, k) + ...`` for
  ``iwae``), reduced to ``(n,) + guide.batch_shape``; one value per data point
  when the guide's batch is the data.
- Pathwise when ``guide.has_rsample`` (z = g(eps; phi), gradients through z).
- Otherwise a score-function surrogate: the returned value is the plain
  Monte Carlo average, and its gradient in the guide's parameters is the
  unbiased REINFORCE estimate E_q[w d log q(z)] + E_q[d w] with w the log weight
  (the surrogate adds (log q - stop(log q)) * stop(w), which is 0 in value).
  Unbiased but with far higher variance than the pathwise form (M6).
- The result is an ``Estimate`` per data point: the average over the n
  outer draws, with its standard error over them (NaN for n = 1).
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
from minigrad import Tensor
from dpm.distributions.base import resolve_rng
from dpm.montecarlo import Estimate


def _whole(value, name, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _draws(guide, shape, rng):
    """Draws of the guide: a Tensor on the graph (rsample) or a constant Tensor (sample)."""
    if guide.has_rsample:
        return guide.rsample(shape, rng)
    return Tensor(guide.sample(shape, rng))


def _log_weights(log_joint, guide, shape, rng):
    """log w = log p(x, z) - log q(z) for z ~ q of ``shape``, as a Tensor.

    Without rsample the score-function term (log q - stop(log q)) * stop(log w)
    is added: zero in value, the REINFORCE gradient for the guide's parameters.
    """
    z = _draws(guide, shape, rng)
    log_q = guide.log_prob(z)
    log_w = mg.as_tensor(log_joint(z)) - log_q
    expected = tuple(shape) + tuple(guide.batch_shape)
    if log_w.shape != expected:
        raise ValueError(f"log_joint(z) - guide.log_prob(z) must have shape {expected} "
                         f"(draws + the guide's batch), got {log_w.shape}")
    if not guide.has_rsample and log_q.requires_grad:
        log_w = log_w + (log_q - log_q.detach()) * log_w.detach()
    return log_w


def elbo(log_joint, guide, n=1, rng=None):
    """E_q[log p(x, z) - log q(z)] from n draws of the guide, one Estimate per data point."""
    n = _whole(n, "n", 1)
    return Estimate.from_draws(_log_weights(log_joint, guide, (n,), resolve_rng(rng)))


def iwae(log_joint, guide, k, n=1, rng=None):
    """E[log (1/k) sum_i w_i] with w_i = p(x, z_i) / q(z_i), from n independent groups of k.

    ``k = 1`` is the ELBO. The standard error is over the n groups (NaN for n = 1).
    """
    k, n = _whole(k, "k", 1), _whole(n, "n", 1)
    log_w = _log_weights(log_joint, guide, (n, k), resolve_rng(rng))
    bound = mg.logsumexp(log_w, axis=1) - math.log(k)
    return Estimate.from_draws(bound)


def log_evidence(log_joint, proposal, n, rng=None):
    """log p(x) ~ log (1/n) sum_i p(x, z_i) / q(z_i), z_i ~ proposal (importance sampling).

    Consistent (biased low by Jensen for finite n, the bias O(1/n)). The standard
    error is the delta method's: sd(w) / (sqrt(n) mean(w)), computed from the
    log weights shifted by their maximum so no weight overflows.
    """
    n = _whole(n, "n", 2)
    log_w = _log_weights(log_joint, proposal, (n,), resolve_rng(rng))
    value = mg.logsumexp(log_w, axis=0) - math.log(n)
    with np.errstate(invalid="ignore", over="ignore"):
        shift = np.max(log_w.data, axis=0)
        w = np.exp(log_w.data - np.where(np.isfinite(shift), shift, 0.0))
        stderr = w.std(axis=0, ddof=1) / (math.sqrt(n) * w.mean(axis=0))
    return Estimate.from_tensor(value, stderr, n)
