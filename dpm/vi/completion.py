"""Image completion by a Bernoulli mean-field over the missing pixels (lecture 003; claim V12).

The model is a mixture of K products of Bernoullis fitted by EM
(``dpm.models.gmm_em.fit_bernoulli_mixture``): a label k ~ Categorical(pi),
pixels x_j | k ~ Bern(mu_kj). An image splits into observed pixels x_o and
unobserved ones z (the lecture: the top half). The evidence is exact,

    log p(x_o) = logsumexp_k [log pi_k + sum_{j in o} log Bern(x_j; mu_kj)],

and the lecture's variational family is a mean-field over the missing pixels,
q(z; phi) = prod_{j missing} phi_j^{z_j} (1 - phi_j)^{1 - z_j}, with

    ELBO(phi) = E_q[log p(x_o, z)] - E_q[log q(z)] <= log p(x_o).

log p(x_o, z) is a log-sum over k, so its expectation has no closed form. Two
ways to raise the bound are offered:

- ``complete`` (exact, coordinate ascent): add the label to the mean-field,
  q(k) prod_j q(z_j), whose bound L(q_k, phi) <= ELBO(phi) (Jensen over k) is
  closed form, and maximise it one factor at a time:
      q(k)  proportional to pi_k p(x_o | k)
            exp(sum_{j missing} [phi_j log mu_kj + (1 - phi_j) log(1 - mu_kj)])
      phi_j = sigmoid(sum_k q(k) log(mu_kj / (1 - mu_kj)))
  Each update maximises L over one factor, so L rises at every update (V12);
  ``history`` holds L after each one, from phi = 1/2, q(k) = pi.
- ``complete_score_function``: stochastic gradient ascent on ELBO(phi) itself
  with the score-function (REINFORCE) gradient of ``dpm.vi.elbo`` (Bernoulli
  draws have no rsample), Adam on the logits; rises in expectation.

``pixel_elbo`` estimates ELBO(phi) by Monte Carlo (an Estimate per image).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.special as sp

import minigrad as mg
from minigrad import Tensor
from minigrad.optim import Adam
from dpm.distributions import Bernoulli
from dpm.montecarlo import Estimate
from dpm.vi.elbo import elbo


class Completion(NamedTuple):
    """probs (N, D): phi at the missing pixels, the image at the observed ones;
    label_probs (N, K): q(k); history (updates + 1, N): the bound L after each update;
    log_evidence (N,): the exact log p(x_o)."""
    probs: np.ndarray
    label_probs: np.ndarray
    history: np.ndarray
    log_evidence: np.ndarray


def _check(mixture, x, observed):
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    D = mixture.probs.shape[1]
    if x.ndim != 2 or x.shape[1] != D:
        raise ValueError(f"x must have shape (N, {D}), got {x.shape}")
    observed = np.broadcast_to(np.asarray(observed, dtype=bool), x.shape)
    if not np.all((x[observed] == 0) | (x[observed] == 1)):
        raise ValueError("x must be binary (0 or 1) at the observed pixels")
    return np.where(observed, x, 0.0), observed


def _observed_terms(mixture, x, observed):
    """log pi_k + log p(x_o | k), shape (N, K) (the exact marginal's summands)."""
    return mixture.component_log_probs(x, observed)


def _bound(obs_terms, q_k, phi, missing, log_mu, log_1m):
    """L(q_k, phi) = E_q(k)[log pi_k p(x_o | k) + E_phi log p(z | k)] + H(q_k) + H(phi)."""
    expected = obs_terms + (phi * missing) @ log_mu.T + ((1 - phi) * missing) @ log_1m.T
    entropy_k = -np.sum(sp.xlogy(q_k, q_k), axis=1)
    entropy_z = np.sum(missing * (-sp.xlogy(phi, phi) - sp.xlogy(1 - phi, 1 - phi)), axis=1)
    return np.sum(q_k * expected, axis=1) + entropy_k + entropy_z


def complete(mixture, x, observed, iters=20):
    """Coordinate ascent on L(q_k, phi) for every image: 2 updates an iteration (q(k), then phi)."""
    x, observed = _check(mixture, x, observed)
    missing = (~observed).astype(np.float64)
    log_mu, log_1m = np.log(mixture.probs), np.log1p(-mixture.probs)
    obs_terms = _observed_terms(mixture, x, observed)
    phi = np.full(x.shape, 0.5)
    q_k = np.broadcast_to(mixture.weights, obs_terms.shape).copy()
    history = [_bound(obs_terms, q_k, phi, missing, log_mu, log_1m)]
    for _ in range(iters):
        a = obs_terms + (phi * missing) @ log_mu.T + ((1 - phi) * missing) @ log_1m.T
        q_k = sp.softmax(a, axis=1)
        history.append(_bound(obs_terms, q_k, phi, missing, log_mu, log_1m))
        phi = sp.expit(q_k @ (log_mu - log_1m))
        history.append(_bound(obs_terms, q_k, phi, missing, log_mu, log_1m))
    return Completion(np.where(observed, x, phi), q_k, np.array(history),
                      sp.logsumexp(obs_terms, axis=1))


def _log_joint(mixture, x, observed):
    """z (draws, N, D) -> log p(x_o, z) (draws, N) as a Tensor (constant in phi)."""
    log_mu, log_1m = np.log(mixture.probs), np.log1p(-mixture.probs)
    missing = ~observed

    def log_joint(z):
        full = np.where(missing, np.asarray(getattr(z, "data", z)), x)
        a = np.log(mixture.weights) + full @ log_mu.T + (1 - full) @ log_1m.T
        return Tensor(sp.logsumexp(a, axis=-1))
    return log_joint


def _guide(logits, observed):
    """q(z; phi) over the missing pixels: observed pixels are pinned (their log q is 0)."""
    class MaskedBernoulli(Bernoulli):
        def __init__(self):
            super().__init__(logits=logits)
            self.batch_shape = logits.shape[:1]           # one image = one event
            self.event_shape = logits.shape[1:]

        def sample(self, shape=(), rng=None):
            u = rng.random(tuple(shape) + logits.shape)
            return (u < sp.expit(logits.data)).astype(np.float64)

        def log_prob(self, z):
            z = np.asarray(getattr(z, "data", z))
            signed = logits * Tensor(np.where(observed, 0.0, 2.0 * z - 1.0))
            return mg.sum(mg.log_sigmoid(signed) * Tensor((~observed).astype(float)), axis=-1)
    return MaskedBernoulli()


def pixel_elbo(mixture, x, observed, probs, n, rng):
    """ELBO(phi) = E_q[log p(x_o, z) - log q(z)] by n draws per image (an Estimate per image)."""
    x, observed = _check(mixture, x, observed)
    probs = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1 - 1e-12)
    logits = Tensor(sp.logit(probs))
    return elbo(_log_joint(mixture, x, observed), _guide(logits, observed), n=n, rng=rng)


def complete_score_function(mixture, x, observed, steps, rng, n=16, lr=0.1):
    """Adam ascent on ELBO(phi) with score-function gradients, from phi = 1/2.

    Gradient per image: (1/n) sum_s d log q(z_s) (f_s - b_s), f = log p(x_o, z) - log q(z),
    with the leave-one-out baseline b_s = mean of the other n - 1 draws' f (independent
    of z_s, so still unbiased; E_q[d f] = -E_q[d log q] = 0 is dropped). Returns
    (probs (N, D), the ELBO Estimates of each step's draws, a list).
    """
    x, observed = _check(mixture, x, observed)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (the baseline needs two draws), got {n!r}")
    logits = Tensor(np.zeros(x.shape), requires_grad=True)
    optimizer = Adam([logits], lr=lr)
    log_joint, trace = _log_joint(mixture, x, observed), []
    for _ in range(steps):
        guide = _guide(logits, observed)
        z = guide.sample((n,), rng)
        log_q = guide.log_prob(z)                                  # (n, N), on the graph
        f = log_joint(z).data - log_q.data
        baseline = (f.sum(axis=0, keepdims=True) - f) / (n - 1)
        optimizer.zero_grad()
        (-mg.sum(log_q * Tensor(f - baseline)) / n).backward()
        optimizer.step()
        trace.append(Estimate.from_draws(f))
    return np.where(observed, x, sp.expit(logits.data)), trace
