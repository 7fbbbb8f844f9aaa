"""Generative adversarial networks: the value function and its optimal discriminator.

The game (Goodfellow et al. 2014; lectures 001, 002, 004):

    min_G max_D V(G, D),   V(G, D) = E_{x ~ P}[log D(x)] + E_{x ~ P_g}[log(1 - D(x))],

with P the data law (density p) and P_g the generator's (density p_g).

G1, the optimal discriminator. For fixed G the integrand
p(x) log D + p_g(x) log(1 - D) is maximised pointwise at

    D*(x) = p(x) / (p(x) + p_g(x)) = sigmoid(log p(x) - log p_g(x)),

computed here in log space (no ratio of tiny densities).

G2, the value at D*. With M = (P + P_g) / 2,

    V(G, D*) = KL(P || M) + KL(P_g || M) - log 4 = 2 JSD(P || P_g) - log 4,

so V(G, D*) >= -log 4, with equality iff P_g = P, where D* = 1/2.

Numerics: a discriminator is best given by its logit l (D = sigmoid(l)); then
log D = log_sigmoid(l) and log(1 - D) = log_sigmoid(-l), exact even where
sigmoid(l) rounds to 0 or 1 (never log(sigmoid(l))).

The 1-D integrals are ``dpm.quadrature``'s (``adaptive_gauss_legendre`` on
its breakpoints); by Monte Carlo V is a ``dpm.montecarlo.Estimate``.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor, as_tensor
from dpm import quadrature
from dpm.distributions.base import resolve_rng
from dpm.montecarlo import Estimate, check_sample_size
from dpm.quadrature import adaptive_gauss_legendre

LOG_4 = float(np.log(4.0))


class OptimalDiscriminator:
    """D*(x) = p(x) / (p(x) + p_g(x)) for fixed P (``p_data``) and P_g (``p_model``) (G1).

    ``logit(x)`` = log p(x) - log p_g(x) (a Tensor, differentiable in the
    distributions' parameters); calling it gives D*(x) = sigmoid(logit(x)).
    Where x is outside both supports the ratio is 0/0; D* is set to 1/2
    there (the choice does not change V: neither law puts mass there).
    """

    def __init__(self, p_data, p_model):
        for name, dist in (("p_data", p_data), ("p_model", p_model)):
            if not callable(getattr(dist, "log_prob", None)):
                raise TypeError(f"{name} must be a distribution with log_prob, "
                                f"got {type(dist).__name__}")
        if tuple(p_data.event_shape) != tuple(p_model.event_shape):
            raise ValueError(f"p_data and p_model must have the same event shape, got "
                             f"{p_data.event_shape} and {p_model.event_shape}")
        self.p_data, self.p_model = p_data, p_model

    def logit(self, x):
        log_p, log_pg = self.p_data.log_prob(x), self.p_model.log_prob(x)
        with np.errstate(invalid="ignore"):  # -inf - (-inf) is replaced just below
            log_ratio = log_p - log_pg
        neither = np.isneginf(log_p.data) & np.isneginf(log_pg.data)
        if neither.any():
            log_ratio = mg.where(neither, Tensor(np.zeros(neither.shape)), log_ratio)
        return log_ratio

    def __call__(self, x):
        return mg.sigmoid(self.logit(x))


def optimal_discriminator(p_data, p_model):
    """The function x -> D*(x) = sigmoid(log p(x) - log p_g(x)) (G1); see OptimalDiscriminator."""
    return OptimalDiscriminator(p_data, p_model)


def _log_d_pair(D, x, logits):
    """(log D(x), log(1 - D(x))) as ndarrays of shape (m,), from logits when possible."""
    if isinstance(D, OptimalDiscriminator):
        D, logits = D.logit, True
    with mg.no_grad():
        out = D(x)
    out = np.asarray(getattr(out, "data", out), dtype=float)
    m = np.shape(x)[0]
    if out.shape not in ((m,), (m, 1)):
        raise ValueError(f"D must map {m} points to shape ({m},) or ({m}, 1), "
                         f"got shape {out.shape}")
    out = out.reshape(m)
    if np.any(np.isnan(out)):
        raise ValueError(f"D returned NaN at x = {np.asarray(x)[np.isnan(out)][:3]}")
    if logits:
        # log sigmoid(l) = -softplus(-l) = -logaddexp(0, -l); 1 - sigmoid(l) = sigmoid(-l).
        return -np.logaddexp(0.0, -out), -np.logaddexp(0.0, out)
    if np.any((out < 0) | (out > 1)):
        raise ValueError("D must return probabilities in [0, 1] (pass logits=True for logits), "
                         f"got values in [{np.nanmin(out)}, {np.nanmax(out)}]")
    with np.errstate(divide="ignore"):
        return np.log(out), np.log1p(-out)


def _is_one_dimensional(dist):
    return tuple(dist.event_shape) == () and tuple(dist.batch_shape) == ()


def value(p_data, p_model, D, n=None, rng=None, logits=False, points=None):
    """V(G, D) = E_P[log D(x)] + E_{P_g}[log(1 - D(x))] for a fixed discriminator D (G2).

    D: a callable on points x of shape (m,) + event_shape returning D(x)
    (probabilities) or, with ``logits=True``, the logit l(x) (shape (m,) or
    (m, 1)); ``optimal_discriminator(...)`` is evaluated through its logit.
    1-D laws with ``n=None``: a float, by adaptive quadrature of
    p log D + p_g log(1 - D) over the union of the supports, split at the
    laws' landmarks (``points`` adds breakpoints), with 0 log 0 = 0 where a
    density vanishes (``dpm.quadrature.adaptive_gauss_legendre``,
    vectorized: one log_prob call per round, not one per point). Otherwise
    an ``Estimate`` by Monte Carlo with ``n`` draws from each law (``rng`` a
    numpy Generator): per-pair values log D(x_i) + log(1 - D(y_i)), x_i ~ P
    and y_i ~ P_g independent, so the standard error is
    sqrt((Var[log D] + Var[log(1 - D)]) / n). V is -inf when D gives 0 to a
    point P can draw (or 1 to one P_g can draw); the Estimate's stderr is
    then NaN.
    """
    if n is None:
        if not (_is_one_dimensional(p_data) and _is_one_dimensional(p_model)):
            raise ValueError(f"quadrature needs scalar (1-D) distributions, got event shapes "
                             f"{p_data.event_shape} and {p_model.event_shape}: pass n for "
                             f"Monte Carlo")
        return _value_by_quadrature(p_data, p_model, D, logits, points)
    n, rng = check_sample_size(n), resolve_rng(rng)
    log_d_real, _ = _log_d_pair(D, p_data.sample((n,), rng), logits)
    _, log_one_minus_d_fake = _log_d_pair(D, p_model.sample((n,), rng), logits)
    return Estimate.from_draws(log_d_real + log_one_minus_d_fake)


def _value_by_quadrature(p_data, p_model, D, logits, points):
    low = min(p_data.support.low, p_model.support.low)
    high = max(p_data.support.high, p_model.support.high)
    # 0 too: a hand-written D often switches there (np.where(x > 0, ...))
    edges = quadrature.breakpoints([p_data, p_model], low, high,
                                   points=list(points or []) + [0.0])
    # D* of these very laws: reuse the log-densities the integrand needs anyway.
    optimal = (isinstance(D, OptimalDiscriminator) and D.p_data is p_data
               and D.p_model is p_model)

    def integrand(x):
        with mg.no_grad():
            log_p = p_data.log_prob(x).data
            log_pg = p_model.log_prob(x).data
        if optimal:  # D* from the densities already at hand: log p - log p_g
            with np.errstate(invalid="ignore"):
                logit = np.where(np.isneginf(log_p) & np.isneginf(log_pg), 0.0, log_p - log_pg)
            log_d, log_one_minus_d = -np.logaddexp(0.0, -logit), -np.logaddexp(0.0, logit)
        else:
            log_d, log_one_minus_d = _log_d_pair(D, x, logits)
        # 0 log 0 = 0 where a law has no density; -inf where it has density and
        # D puts log 0 there (even if the density underflows to 0.0).
        return (_density_times_log(log_p, log_d)
                + _density_times_log(log_pg, log_one_minus_d))

    return float(adaptive_gauss_legendre(integrand, edges)[0])


def _density_times_log(log_density, log_term):
    with np.errstate(invalid="ignore", over="ignore"):
        product = np.exp(log_density) * log_term
    product = np.where(np.isneginf(log_term), -np.inf, product)
    return np.where(np.isneginf(log_density), 0.0, product)


def discriminator_loss_from_logits(real_logits, fake_logits):
    """-V on samples: -(mean log sigmoid(l_real) + mean log sigmoid(-l_fake)).

    The binary cross-entropy of "real" (label 1) against "fake" (label 0);
    minimising it over D maximises the empirical V(G, D). Tensors in, a
    scalar Tensor out; log_sigmoid keeps it finite for any logits.
    """
    real_logits, fake_logits = as_tensor(real_logits), as_tensor(fake_logits)
    return -(mg.log_sigmoid(real_logits).mean() + mg.log_sigmoid(-fake_logits).mean())


def train_discriminator(discriminator, real, fake, optimizer, steps, batch_size=None, rng=None):
    """The inner max of the game for a fixed generator: ``steps`` optimizer steps on
    ``discriminator_loss_from_logits`` over fixed samples ``real`` (of P) and
    ``fake`` (of P_g). ``discriminator`` maps a batch of points to logits;
    full batch unless ``batch_size`` (then minibatches drawn with ``rng``).
    Returns the loss at every step (an ndarray).
    """
    real, fake = np.asarray(real, dtype=float), np.asarray(fake, dtype=float)
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if batch_size is not None:
        rng = resolve_rng(rng)
    losses = np.empty(int(steps))
    for t in range(int(steps)):
        real_batch, fake_batch = real, fake
        if batch_size is not None:
            real_batch = real[rng.integers(0, len(real), batch_size)]
            fake_batch = fake[rng.integers(0, len(fake), batch_size)]
        loss = discriminator_loss_from_logits(discriminator(real_batch), discriminator(fake_batch))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses[t] = loss.item()
    return losses
