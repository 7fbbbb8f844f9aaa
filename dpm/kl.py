"""Closed-form Kullback-Leibler divergences, dispatched on the pair of classes.

Definition: KL(P || Q) = E_P[log p(X) - log q(X)] = integral p log(p / q)
(lecture 000), in nats.

Properties (claim K1): KL >= 0 (Gibbs' inequality), = 0 iff P = Q, not
symmetric; KL = H(P, Q) - H(P), cross-entropy minus entropy (claim K2);
+inf when P puts mass where Q has none (support of P not inside that of Q).

How it is computed here: exactly, by the formula in each function's
docstring, as a Tensor differentiable in both laws' parameters, of shape
the broadcast of the two batch shapes. ``kl_divergence(p, q)`` looks the
pair ``(type(p), type(q))`` up in a registry filled by
``@register_kl(P, Q)``; the match is exact (no fallback to parent
classes), and a pair without a closed form raises NotImplementedError:
estimate it by Monte Carlo with ``dpm.divergences.kl(p, q, n, rng)``.
Pairs within one family are here; pairs of different 1-D families
(Uniform || Normal, Normal || Laplace, Exponential || Gamma, ...) and the
+inf pairs (Normal vs Exponential, anything unbounded vs Uniform, Cauchy vs
Normal) are in ``dpm/kl_cross.py``, registered when this module is imported.

Reference: Kullback and Leibler (1951); the Gaussian forms in Bishop,
"Pattern Recognition and Machine Learning" (2006); the VAE term in Kingma
and Welling (2014), appendix B.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import constant, expand_to, positive_param
from dpm.distributions.cauchy import Cauchy
from dpm.distributions.exponential import Exponential
from dpm.distributions.gamma import (
    ASYMPTOTIC_CONCENTRATION, Gamma, expm1_minus_x, kl_gamma_large_concentration)
from dpm.distributions.gumbel import EULER_GAMMA, Gumbel
from dpm.distributions.laplace import Laplace
from dpm.distributions.multivariate_normal import DiagonalNormal, MultivariateNormal, _diagonal
from dpm.distributions.normal import Normal
from dpm.distributions.uniform import Uniform
import minigrad as mg
from minigrad import as_tensor

KL_REGISTRY: dict[tuple[type, type], object] = {}


def register_kl(P, Q):
    """Decorator: register ``fn(p, q)`` as the closed-form KL(P || Q) for the exact classes."""
    if not (isinstance(P, type) and isinstance(Q, type)):
        raise TypeError(f"register_kl needs two classes, got {P!r} and {Q!r}")

    def register(fn):
        if (P, Q) in KL_REGISTRY:
            raise ValueError(f"KL({P.__name__} || {Q.__name__}) is already registered "
                             f"as {KL_REGISTRY[(P, Q)].__name__}")
        KL_REGISTRY[(P, Q)] = fn
        return fn
    return register


def registered_pairs():
    """The registered (P, Q) class-name pairs, sorted."""
    return sorted((P.__name__, Q.__name__) for P, Q in KL_REGISTRY)


def kl_divergence(p, q):
    """KL(p || q) in closed form, a Tensor of the broadcast batch shape.

    Raises NotImplementedError naming the pair when no closed form is registered.
    """
    fn = KL_REGISTRY.get((type(p), type(q)))
    if fn is None:
        pairs = ", ".join(f"({a}, {b})" for a, b in registered_pairs())
        raise NotImplementedError(
            f"no closed-form KL({type(p).__name__} || {type(q).__name__}) is registered. "
            f"Registered pairs: {pairs}. Estimate it by Monte Carlo with "
            f"dpm.divergences.kl(p, q, n, rng), or register one with @dpm.register_kl.")
    return fn(p, q)


# ------------------------------------------------------------------ Gaussians
@register_kl(Normal, Normal)
def kl_normal_normal(p, q):
    """KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2 (K3).

    Computed as 1/2 [(e^t - 1 - t) + ((m1 - m2) / s2)^2] with t = 2 log(s1 / s2):
    both terms are >= 0 and the first has no cancellation (``expm1_minus_x``),
    so nearly equal laws give a small positive KL, never a negative one.
    """
    return _kl_normal_terms(p.loc, p.scale, q.loc, q.scale)


def _kl_normal_terms(loc1, scale1, loc2, scale2):
    """Per-coordinate 1/2 [expm1(t) - t + shift^2], t = 2 (log s1 - log s2)."""
    log_variance_ratio = (mg.log(scale1) - mg.log(scale2)) * 2.0
    shift = (loc1 - loc2) / scale2
    return (expm1_minus_x(log_variance_ratio) + shift * shift) * 0.5


@register_kl(MultivariateNormal, MultivariateNormal)
def kl_mvn_mvn(p, q):
    """KL(N(m1, S1) || N(m2, S2)), d-dimensional (claim K3):

        1/2 [tr(S2^{-1} S1) + (m2 - m1)^T S2^{-1} (m2 - m1) - d + log det S2 - log det S1]

    With S = L L^T: tr(S2^{-1} S1) = |L2^{-1} L1|_F^2 and the quadratic form is
    |L2^{-1}(m2 - m1)|^2 (triangular solves, no inverse); log det S = 2 sum log L_ii.
    Both laws' batch axes broadcast as in torch (size-1 axes stretch). Rounding
    can leave -1e-17 for equal laws, so the value is clamped at 0 (K1).
    """
    _same_dimension(p, q)
    d = p.event_shape[0]
    factors = np.broadcast_shapes(p.scale_tril.shape, q.scale_tril.shape)
    whitened_factor = mg.triangular_solve(expand_to(q.scale_tril, factors),
                                          expand_to(p.scale_tril, factors), lower=True)
    trace = (whitened_factor * whitened_factor).sum(axis=(-2, -1))
    z = q.whiten(q.loc - p.loc)
    mahalanobis = (z * z).sum(axis=-1)
    value = (trace + mahalanobis - d) * 0.5 + q.half_log_det() - p.half_log_det()
    return mg.maximum(value, constant(0.0, value))


@register_kl(DiagonalNormal, DiagonalNormal)
def kl_diagonal_diagonal(p, q):
    """KL between diagonal Gaussians: the sum over coordinates of the 1-D normal formula (K3)."""
    _same_dimension(p, q)
    per_coordinate = _kl_normal_terms(p.loc, p.scale, q.loc, q.scale)
    shape = np.broadcast_shapes(per_coordinate.shape, p.batch_shape + p.event_shape,
                                q.batch_shape + q.event_shape)
    return mg.broadcast_to(per_coordinate, shape=shape).sum(axis=-1)


@register_kl(DiagonalNormal, MultivariateNormal)
def kl_diagonal_mvn(p, q):
    """KL(N(m1, diag(s^2)) || N(m2, S2)): the full formula with L1 = diag(s) (K3)."""
    return kl_mvn_mvn(p.to_multivariate(), q)


@register_kl(MultivariateNormal, DiagonalNormal)
def kl_mvn_diagonal(p, q):
    """KL(N(m1, S1) || N(m2, diag(s^2))): the full formula with L2 = diag(s) (K3)."""
    return kl_mvn_mvn(p, q.to_multivariate())


def kl_normal_standard_normal(loc, scale=None, log_scale=None, scale_tril=None):
    """The VAE's KL(N(mu, Sigma) || N(0, I)) = 1/2 (tr Sigma + mu^T mu - k - log det Sigma) (K3).

    For a batch of encoder outputs: ``loc`` of shape (..., k) and exactly one
    of ``scale`` (..., k) (Sigma = diag(scale^2)), ``log_scale`` (..., k)
    (Sigma = diag(exp(2 log_scale)), no log(exp) round trip) or
    ``scale_tril`` (..., k, k) (Sigma = L L^T). Returns shape (...,).
    """
    given = [v is not None for v in (scale, log_scale, scale_tril)]
    if sum(given) != 1:
        raise ValueError("kl_normal_standard_normal needs exactly one of scale, log_scale, "
                         "scale_tril")
    loc = as_tensor(loc)
    k = loc.shape[-1]
    if scale is not None:
        scale = positive_param(scale, "scale")
        trace = (scale * scale).sum(axis=-1)
        log_det = mg.log(scale).sum(axis=-1) * 2.0
    elif log_scale is not None:
        log_scale = as_tensor(log_scale)
        trace = mg.exp(log_scale * 2.0).sum(axis=-1)
        log_det = log_scale.sum(axis=-1) * 2.0
    else:
        L = as_tensor(scale_tril)
        trace = (L * L).sum(axis=(-2, -1))
        log_det = mg.log(_diagonal(L)).sum(axis=-1) * 2.0
    return (trace + (loc * loc).sum(axis=-1) - k - log_det) * 0.5


def _same_dimension(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL between Gaussians of different dimensions: p has event shape "
                         f"{p.event_shape}, q has {q.event_shape}")


# ------------------------------------------------------ other 1-D families
@register_kl(Uniform, Uniform)
def kl_uniform_uniform(p, q):
    """KL(U(a1, b1) || U(a2, b2)) = log((b2 - a2) / (b1 - a1)) if a2 <= a1 < b1 <= b2, else +inf."""
    nested = (q.low.data <= p.low.data) & (p.high.data <= q.high.data)
    value = mg.log(q.high - q.low) - mg.log(p.high - p.low)
    if nested.all():
        return value
    shape = np.broadcast_shapes(nested.shape, value.shape)
    return mg.where(np.broadcast_to(nested, shape), value, np.inf)


@register_kl(Exponential, Exponential)
def kl_exponential_exponential(p, q):
    """KL(Exp(l1) || Exp(l2)) = log(l1 / l2) + l2 / l1 - 1."""
    return mg.log(p.rate) - mg.log(q.rate) + q.rate / p.rate - 1.0


@register_kl(Laplace, Laplace)
def kl_laplace_laplace(p, q):
    """KL(Laplace(m1, b1) || Laplace(m2, b2)) =
        log(b2/b1) + |m1 - m2|/b2 + (b1/b2) e^{-|m1 - m2|/b1} - 1

    From E_p|X - m2| = |m1 - m2| + b1 e^{-|m1 - m2|/b1}.
    """
    distance = mg.abs(p.loc - q.loc)
    return (mg.log(q.scale) - mg.log(p.scale) + distance / q.scale
            + (p.scale / q.scale) * mg.exp(-distance / p.scale) - 1.0)


@register_kl(Gamma, Gamma)
def kl_gamma_gamma(p, q):
    """KL(Gamma(a1, r1) || Gamma(a2, r2)), shape-rate form:

        (a1 - a2) psi(a1) - log Gamma(a1) + log Gamma(a2) + a2 (log r1 - log r2) + a1 (r2 - r1) / r1

    When both concentrations are >= 10 the terms (each ~ a log a) cancel to
    a KL that may be 1e-7, so there it is computed from Stirling's series
    (``dpm.distributions.gamma.kl_gamma_large_concentration``) in a form with no cancellation.
    """
    a1, r1, a2, r2 = p.concentration, p.rate, q.concentration, q.rate
    large = (a1.data >= ASYMPTOTIC_CONCENTRATION) & (a2.data >= ASYMPTOTIC_CONCENTRATION)
    if not large.any():
        return _kl_gamma_direct(a1, r1, a2, r2)
    if large.all():
        return kl_gamma_large_concentration(a1, r1, a2, r2)
    # Double where: each form sees only concentrations it is meant for.
    big = ASYMPTOTIC_CONCENTRATION
    safe = [(mg.where(large, constant(1.0, a), a), mg.where(large, a, constant(big, a)))
            for a in (a1, a2)]
    (a1_small, a1_large), (a2_small, a2_large) = safe
    return mg.where(large, kl_gamma_large_concentration(a1_large, r1, a2_large, r2),
                    _kl_gamma_direct(a1_small, r1, a2_small, r2))


def _kl_gamma_direct(a1, r1, a2, r2):
    return ((a1 - a2) * mg.digamma(a1) - mg.lgamma(a1) + mg.lgamma(a2)
            + a2 * (mg.log(r1) - mg.log(r2)) + a1 * (r2 - r1) / r1)


@register_kl(Gumbel, Gumbel)
def kl_gumbel_gumbel(p, q):
    """KL(Gumbel(m1, b1) || Gumbel(m2, b2)) =
        log(b2/b1) + (m1 - m2)/b2 + gamma_E (b1/b2 - 1) + e^{(m2 - m1)/b2} Gamma(1 + b1/b2) - 1

    From E_p[e^{-(X - m2)/b2}] = e^{(m2 - m1)/b2} Gamma(1 + b1/b2) (the Gumbel moment
    generating function); the product is computed as exp of a sum of logs.
    """
    ratio = p.scale / q.scale
    return (mg.log(q.scale) - mg.log(p.scale) + (p.loc - q.loc) / q.scale
            + (ratio - 1.0) * EULER_GAMMA
            + mg.exp((q.loc - p.loc) / q.scale + mg.lgamma(ratio + 1.0)) - 1.0)


@register_kl(Cauchy, Cauchy)
def kl_cauchy_cauchy(p, q):
    """KL(Cauchy(m1, g1) || Cauchy(m2, g2)) = log(((g1 + g2)^2 + (m1 - m2)^2) / (4 g1 g2)).

    Symmetric in p and q, unusually (Chyzak and Nielsen 2019).
    """
    shift = p.loc - q.loc
    total = p.scale + q.scale
    return (mg.log(total * total + shift * shift) - mg.log(p.scale) - mg.log(q.scale)
            - float(np.log(4.0)))


# --- discrete families (bernoulli.py, categorical.py) ---
from dpm.distributions.bernoulli import Bernoulli  # noqa: E402  (beside its pairs)
from dpm.distributions.categorical import Categorical  # noqa: E402


def _kl_discrete(p_probs, p_log_probs, q_log_probs):
    """sum_k p_k (log p_k - log q_k) over the last axis, 0 log 0 = 0, +inf where p_k > 0 = q_k.

    Terms with p_k = 0 are 0 whatever q_k is; their logs are replaced by 0
    first (the double where) so that no 0 * inf reaches the value or gradient.
    """
    shape = np.broadcast_shapes(p_probs.shape, q_log_probs.shape)
    positive = np.broadcast_to(p_probs.data > 0, shape)
    if not positive.all():
        zeros = np.zeros(shape)
        p_log_probs = mg.where(positive, p_log_probs, zeros)
        q_log_probs = mg.where(positive, q_log_probs, zeros)
    return (p_probs * (p_log_probs - q_log_probs)).sum(axis=-1)


def _bernoulli_table(d):
    """(P(X=0), P(X=1)) and their logs stacked on a last axis of length 2."""
    log_q, log_p = d.log_probs_pair()
    if d._logits is not None:   # sigmoid(-t) keeps 1 - p accurate where p is near 1
        probs = mg.stack([mg.sigmoid(-d._logits), mg.sigmoid(d._logits)], axis=-1)
    else:
        probs = mg.stack([1.0 - d._probs, d._probs], axis=-1)
    return probs, mg.stack([log_q, log_p], axis=-1)


@register_kl(Bernoulli, Bernoulli)
def kl_bernoulli_bernoulli(p, q):
    """KL(Bern(a) || Bern(b)) = a log(a/b) + (1 - a) log((1 - a)/(1 - b))  (K2: = H(p, q) - H(p)).

    Computed from log-probabilities (log_sigmoid of the logits, or log / log1p
    of the probs); +inf when a > 0 = b or a < 1 = b.
    """
    p_probs, p_log = _bernoulli_table(p)
    _, q_log = _bernoulli_table(q)
    return _kl_discrete(p_probs, p_log, q_log)


@register_kl(Categorical, Categorical)
def kl_categorical_categorical(p, q):
    """KL(Cat(pi) || Cat(rho)) = sum_k pi_k (log pi_k - log rho_k) = H(pi, rho) - H(pi) (K2).

    With rho uniform over K categories: KL = log K - H(pi) (K4, the discrete-latent
    VAE's KL term). +inf when some pi_k > 0 = rho_k.
    """
    if p.num_categories != q.num_categories:
        raise ValueError(f"KL between categoricals needs the same number of categories, got "
                         f"{p.num_categories} and {q.num_categories}")
    return _kl_discrete(p.probs, p.logits, q.logits)


# --- pairs of different 1-D families (and the +inf pairs): kl_cross.py, registered on import
import dpm.kl_cross  # noqa: E402,F401
