"""ELBO surgery: the average KL to the prior splits in two (Hoffman and Johnson 2016; claim V9).

For an encoder q(z | x_i) on data x_1..x_N (x uniform on the data) and a
prior p(z), with the aggregate posterior q_agg(z) = (1/N) sum_i q(z | x_i):

    (1/N) sum_i KL(q(z | x_i) || p(z)) = KL(q_agg || p) + I_q[x, z],
    I_q[x, z] = (1/N) sum_i E_{q(z | x_i)}[log q(z | x_i) - log q_agg(z)]   (0 <= I_q <= log N)

per draw z ~ q(z | x_i) the identity is log q(z|x_i) - log p(z) =
[log q_agg(z) - log p(z)] + [log q(z|x_i) - log q_agg(z)]. The ELBO's KL term
thus pays for two things: a mismatch of the aggregate posterior with the
prior, and the information the code carries about which data point it came
from (at most log N nats).

How it is computed here: q_agg is a finite mixture, so its log density is
exact, a logsumexp over the N encoder densities (an (n, N, N) array of log
densities when a gradient is needed, one (N, N) slice per draw otherwise). Each term is a Monte Carlo average over n draws from every
q(z | x_i), stratified by data point, with the stratified standard error
sqrt(sum_i s_i^2 / n) / N (s_i^2 the sample variance of data point i's n
draws; the draws of different points are independent). All three come from
the same draws, so average_kl = aggregate_kl + mutual_information holds per
draw, exactly; the tests check each term against closed forms and quadrature.
Differentiable (pathwise) when the encoder has rsample and its parameters
require grad.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

import minigrad as mg
from minigrad.autodiff import STATE
from dpm.distributions.base import resolve_rng
from dpm.montecarlo import Estimate


class Surgery(NamedTuple):
    """The three terms, each an Estimate: average_kl = aggregate_kl + mutual_information."""
    average_kl: Estimate
    aggregate_kl: Estimate
    mutual_information: Estimate


def _stratified(values):
    """Estimate of the mean of (n, N) values: n draws in each of N strata."""
    n, strata = values.shape
    mean = mg.mean(values)
    stderr = math.sqrt(float(np.sum(values.data.var(axis=0, ddof=1))) / n) / strata
    return Estimate.from_tensor(mean, stderr, n * strata)


def _log_aggregate(guide, z, event, N):
    """log q_agg(z) = logsumexp_l log q(z | x_l) - log N for draws z (m, N, event)."""
    # every draw under every data point's density: z (m, N, 1, event) against the batch (N,)
    spread = z.reshape(z.shape[:2] + (1,) + z.shape[2:]) if event else z.reshape(z.shape + (1,))
    log_q_all = guide.log_prob(spread)                          # (m, N, N)
    if log_q_all.shape != z.shape[:2] + (N,):
        raise ValueError(f"guide.log_prob must broadcast draws against the N = {N} data "
                         f"points to shape {z.shape[:2] + (N,)}, got {log_q_all.shape}")
    return mg.logsumexp(log_q_all, axis=2) - math.log(N)


def elbo_surgery(guide, prior, n=2, rng=None):
    """(average KL, KL(q_agg || p), I_q[x, z]) of an encoder, each an Estimate.

    ``guide`` is q(z | x_i) for every data point: a distribution whose batch
    shape is (N,) (e.g. ``Normal(loc (N,), scale (N,))`` for a 1-D z, or
    ``DiagonalNormal(loc (N, d), scale (N, d))``). ``prior`` is p(z), with
    log_prob over the same event. ``n`` >= 2 draws per data point.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (a standard error needs two draws), got {n!r}")
    if len(guide.batch_shape) != 1:
        raise ValueError(f"guide must have batch shape (N,) (one q(z | x_i) per data point), "
                         f"got {guide.batch_shape}")
    N = guide.batch_shape[0]
    rng = resolve_rng(rng)
    z = guide.rsample((n,), rng) if guide.has_rsample else mg.Tensor(guide.sample((n,), rng))
    log_q = guide.log_prob(z)                                   # (n, N): log q(z_ji | x_i)
    event = len(guide.event_shape)
    log_p = mg.as_tensor(prior.log_prob(z))
    if log_q.shape != (n, N) or log_p.shape != (n, N):
        raise ValueError(f"guide and prior log densities must have shape (n, N) = {(n, N)}, "
                         f"got {log_q.shape} and {log_p.shape}")
    if z.requires_grad and STATE.grad_enabled:
        log_q_agg = _log_aggregate(guide, z, event, N)          # one (n, N, N) graph
    else:                                                       # evaluation: (N, N) at a time
        with mg.no_grad():
            log_q_agg = mg.Tensor(np.concatenate(
                [_log_aggregate(guide, z[j:j + 1], event, N).data for j in range(n)]))
    return Surgery(_stratified(log_q - log_p), _stratified(log_q_agg - log_p),
                   _stratified(log_q - log_q_agg))
