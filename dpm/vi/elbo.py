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
  unbiased REINFORCE estimate E_q[f d log q(z)] + E_q[d f] of d E_q[f], with
  f the log weight (ELBO) or a group's bound log (1/k) sum_i w_i (IWAE, where
  d log q is summed over the group's k draws): the surrogate adds
  (log q - stop(log q)) * stop(f), which is 0 in value. No baseline is
  subtracted, so it is unbiased but with far higher variance than the
  pathwise form (M6); raise n to tame it.
- Averages of weights inside the log (``iwae``, ``log_evidence``) are
  ``log_mean_exp``: minigrad's logsumexp when a gradient is needed, else a
  Numba kernel over the middle axis (``_iwae_kernels``; benchmark ``iwae``).
- The result is an ``Estimate`` per data point: the average over the n
  outer draws, with its standard error over them (NaN for n = 1).
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.autodiff import STATE
from dpm.vi import _iwae_kernels as iwae_kernels
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
    """(log w, log q) for z ~ q of ``shape``: log w = log p(x, z) - log q(z), as Tensors."""
    z = _draws(guide, shape, rng)
    log_q = guide.log_prob(z)
    log_w = mg.as_tensor(log_joint(z)) - log_q
    expected = tuple(shape) + tuple(guide.batch_shape)
    if log_w.shape != expected:
        raise ValueError(f"log_joint(z) - guide.log_prob(z) must have shape {expected} "
                         f"(draws + the guide's batch), got {log_w.shape}")
    return log_w, log_q


def _score_function(value, log_q, guide):
    """value + (log q - stop(log q)) stop(value): equal in value, REINFORCE in gradient.

    ``log_q`` holds log q of every draw that ``value`` depends on, summed into
    value's shape. Pathwise guides (rsample) need no surrogate.
    """
    if guide.has_rsample or not (log_q.requires_grad and STATE.grad_enabled):
        return value
    return value + (log_q - log_q.detach()) * value.detach()


def elbo(log_joint, guide, n=1, rng=None):
    """E_q[log p(x, z) - log q(z)] from n draws of the guide, one Estimate per data point.

    The gradient is pathwise when ``guide.has_rsample``; otherwise the
    score-function surrogate of the module docstring makes it unbiased.
    """
    n = _whole(n, "n", 1)
    log_w, log_q = _log_weights(log_joint, guide, (n,), resolve_rng(rng))
    return Estimate.from_draws(_score_function(log_w, log_q, guide))


def log_mean_exp(log_w, axis):
    """log (1/k) sum_i exp(log_w_i) along ``axis`` (k its length), as a Tensor.

    With a gradient to carry: minigrad's logsumexp (its gradient the softmax of
    the weights). Without (evaluation, ``mg.no_grad()`` or constant weights):
    the Numba kernel of ``_iwae_kernels`` reduces the axis in place, with no
    transposed copy of the (n, k, ...) array.
    """
    log_w = mg.as_tensor(log_w)
    k = log_w.shape[axis]
    if log_w.requires_grad and STATE.grad_enabled:
        return mg.logsumexp(log_w, axis=axis) - math.log(k)
    values = np.moveaxis(log_w.data, axis, 0) if axis != 1 else log_w.data
    if axis != 1:
        values = values[None]
    shape = values.shape[:1] + values.shape[2:]
    reduced = iwae_kernels.log_mean_exp(values.reshape(values.shape[0], k, -1)).reshape(shape)
    return Tensor(reduced if axis == 1 else reduced[0])


def iwae(log_joint, guide, k, n=1, rng=None):
    """E[log (1/k) sum_i w_i] with w_i = p(x, z_i) / q(z_i), from n independent groups of k.

    ``k = 1`` is the ELBO. The standard error is over the n groups (NaN for n = 1).
    Without rsample the surrogate multiplies the whole bound of a group by
    sum_i d log q(z_i) (REINFORCE for a function of all k draws), so the
    gradient stays unbiased.
    """
    k, n = _whole(k, "k", 1), _whole(n, "n", 1)
    log_w, log_q = _log_weights(log_joint, guide, (n, k), resolve_rng(rng))
    bound = log_mean_exp(log_w, axis=1)
    return Estimate.from_draws(_score_function(bound, log_q.sum(axis=1), guide))


def log_evidence(log_joint, proposal, n, rng=None):
    """log p(x) ~ log (1/n) sum_i p(x, z_i) / q(z_i), z_i ~ proposal (importance sampling).

    Consistent (biased low by Jensen for finite n, the bias O(1/n)). The standard
    error is the delta method's: sd(w) / (sqrt(n) mean(w)), computed from the
    log weights shifted by their maximum so no weight overflows. Gradients
    flow to the model's parameters (through log_joint), not to the proposal's.
    """
    n = _whole(n, "n", 2)
    log_w, _ = _log_weights(log_joint, proposal, (n,), resolve_rng(rng))
    value = log_mean_exp(log_w, axis=0)
    with np.errstate(invalid="ignore", over="ignore"):
        shift = np.max(log_w.data, axis=0)
        w = np.exp(log_w.data - np.where(np.isfinite(shift), shift, 0.0))
        stderr = w.std(axis=0, ddof=1) / (math.sqrt(n) * w.mean(axis=0))
    return Estimate.from_tensor(value, stderr, n)
