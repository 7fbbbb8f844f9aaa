"""Closed-form KL between laws of *different* 1-D families, registered in dpm.kl.

Every formula is KL(P || Q) = -H(P) - E_P[log q(X)]: the entropy of P (its
``entropy()``) and the expectation under P of Q's log-density, which for our
families needs only a few moments of P:

    Normal q:   E (X - mu)^2 = Var_P + (E_P X - mu)^2
    Laplace q:  E |X - m|           (the mean absolute deviation of P about m)
    Gumbel q:   E (X - m) / beta and E e^{-(X - m) / beta}   (P's moment generating function)
    Exponential / Gamma q:  E X and E log X   (P on [0, inf) only)
    Cauchy q:   E log(1 + ((X - m) / gamma)^2)  (closed for uniform P only)

Where the support of P is not inside that of Q (Normal vs Exponential,
anything unbounded vs Uniform, Uniform(a, b) vs Exponential when a < 0) the
KL is +inf, and so it is where E_P[log q] diverges (a Cauchy P against a
Normal, Laplace or Gumbel Q: E_P X^2, E_P |X| and E_P e^{-X} are infinite;
a Laplace P against a Gumbel Q whose scale is not larger). Pairs with no
elementary form (Normal vs Cauchy, Gumbel vs Laplace, ...) are not
registered: estimate them with dpm.divergences.kl(p, q, n, rng).

Checked in reference_tests/test_kl.py against scipy.integrate.quad of
scipy.stats densities and against dpm.quadrature.kl.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import constant, expand_to
from dpm.distributions.cauchy import Cauchy, log1p_square
from dpm.distributions.exponential import Exponential
from dpm.distributions.gamma import Gamma
from dpm.distributions.gumbel import EULER_GAMMA, Gumbel
from dpm.distributions.laplace import Laplace
from dpm.distributions.normal import HALF_LOG_2PI, Normal
from dpm.distributions.uniform import Uniform
from dpm.kl import register_kl
from dpm.numerics import arctan, xlogy
import minigrad as mg
from minigrad import Tensor

SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))


def _batch(p, q):
    return np.broadcast_shapes(p.batch_shape, q.batch_shape)


def _inf_unless(condition, value):
    """``value`` where ``condition`` holds, +inf elsewhere (shape the broadcast of both)."""
    condition = np.asarray(condition, dtype=bool)
    if condition.all():
        return value
    shape = np.broadcast_shapes(condition.shape, value.shape)
    return mg.where(np.broadcast_to(condition, shape), value, constant(np.inf, value))


# ------------------------------------------------ what q's log-density needs
def _normal_cross_entropy(second_moment_about_loc, q):
    """-E_P log N(X; mu, s^2) = log s + 1/2 log(2 pi) + E (X - mu)^2 / (2 s^2)."""
    return mg.log(q.scale) + HALF_LOG_2PI + second_moment_about_loc / (q.scale * q.scale * 2.0)


def _laplace_cross_entropy(mean_absolute_deviation, q):
    """-E_P log Laplace(X; m, b) = log(2b) + E|X - m| / b."""
    return mg.log(q.scale) + float(np.log(2.0)) + mean_absolute_deviation / q.scale


def _gumbel_cross_entropy(mean, log_mgf, q):
    """-E_P log Gumbel(X; m, beta) = log beta + (E X - m)/beta + E e^{-(X - m)/beta}.

    ``log_mgf`` is log E_P e^{-(X - m)/beta}, so the last term is exp of it.
    """
    return mg.log(q.scale) + (mean - q.loc) / q.scale + mg.exp(log_mgf)


# ------------------------------------------------------------- Normal || .
@register_kl(Normal, Laplace)
def kl_normal_laplace(p, q):
    """KL(N(mu, s^2) || Laplace(m, b)) = -H(N) + log(2b) + E|X - m| / b, where with d = mu - m

        E|X - m| = s sqrt(2/pi) e^{-d^2 / (2 s^2)} + d erf(d / (s sqrt 2))   (folded normal mean).
    """
    d = p.loc - q.loc
    deviation = (p.scale * SQRT_2_OVER_PI * mg.exp(-(d / p.scale) ** 2.0 * 0.5)
                 + d * mg.erf(d / (p.scale * float(np.sqrt(2.0)))))
    return expand_to(_laplace_cross_entropy(deviation, q) - p.entropy(), _batch(p, q))


@register_kl(Normal, Gumbel)
def kl_normal_gumbel(p, q):
    """KL(N(mu, s^2) || Gumbel(m, beta)) = -H(N) + log beta + (mu - m)/beta
    + exp(-(mu - m)/beta + s^2 / (2 beta^2))   (the normal moment generating function)."""
    log_mgf = -(p.loc - q.loc) / q.scale + (p.scale / q.scale) ** 2.0 * 0.5
    return expand_to(_gumbel_cross_entropy(p.loc, log_mgf, q) - p.entropy(), _batch(p, q))


# ------------------------------------------------------------ Laplace || .
@register_kl(Laplace, Normal)
def kl_laplace_normal(p, q):
    """KL(Laplace(m, b) || N(mu, s^2)) = -(1 + log 2b) + log s + 1/2 log 2 pi
    + (2 b^2 + (m - mu)^2) / (2 s^2)."""
    second = p.scale * p.scale * 2.0 + (p.loc - q.loc) ** 2.0
    return expand_to(_normal_cross_entropy(second, q) - p.entropy(), _batch(p, q))


@register_kl(Laplace, Gumbel)
def kl_laplace_gumbel(p, q):
    """KL(Laplace(m, b) || Gumbel(mu, beta)) = -(1 + log 2b) + log beta + (m - mu)/beta
    + e^{-(m - mu)/beta} / (1 - (b/beta)^2)  if b < beta, else +inf.

    E e^{tY} = 1 / (1 - t^2) for a standard Laplace Y and |t| < 1; at
    t = b/beta >= 1 it is infinite, and so is the KL.
    """
    ratio = p.scale / q.scale
    finite = ratio.data < 1
    ratio_safe = mg.where(finite, ratio, constant(0.0, ratio)) if not finite.all() else ratio
    log_mgf = -(p.loc - q.loc) / q.scale - mg.log1p(-ratio_safe * ratio_safe)
    value = _gumbel_cross_entropy(p.loc, log_mgf, q) - p.entropy()
    return expand_to(_inf_unless(finite, value), _batch(p, q))


# -------------------------------------------------------- Exponential || .
@register_kl(Exponential, Normal)
def kl_exponential_normal(p, q):
    """KL(Exp(l) || N(mu, s^2)) = -(1 - log l) + log s + 1/2 log 2 pi
    + (1/l^2 + (1/l - mu)^2) / (2 s^2)."""
    mean = 1.0 / p.rate
    second = mean * mean + (mean - q.loc) ** 2.0
    return expand_to(_normal_cross_entropy(second, q) - p.entropy(), _batch(p, q))


@register_kl(Exponential, Gamma)
def kl_exponential_gamma(p, q):
    """KL(Exp(l) || Gamma(a, r)) = -(1 - log l) - a log r + log Gamma(a)
    + (a - 1)(gamma_E + log l) + r / l,   from E log X = -gamma_E - log l and E X = 1/l."""
    a, r = q.concentration, q.rate
    value = (mg.lgamma(a) - a * mg.log(r) + (a - 1.0) * (mg.log(p.rate) + EULER_GAMMA)
             + r / p.rate - p.entropy())
    return expand_to(value, _batch(p, q))


@register_kl(Exponential, Laplace)
def kl_exponential_laplace(p, q):
    """KL(Exp(l) || Laplace(m, b)) = -(1 - log l) + log 2b + E|X - m| / b, with

        E|X - m| = 1/l - m for m <= 0,   m - 1/l + 2 e^{-l m} / l for m > 0.
    """
    positive = q.loc.data > 0
    m_pos = mg.where(positive, q.loc, constant(0.0, q.loc))   # double where: no e^{+large}
    above = m_pos - 1.0 / p.rate + mg.exp(-p.rate * m_pos) * 2.0 / p.rate
    below = 1.0 / p.rate - q.loc
    deviation = mg.where(np.broadcast_to(positive, np.broadcast_shapes(
        positive.shape, above.shape, below.shape)), above, below)
    return expand_to(_laplace_cross_entropy(deviation, q) - p.entropy(), _batch(p, q))


@register_kl(Exponential, Gumbel)
def kl_exponential_gumbel(p, q):
    """KL(Exp(l) || Gumbel(m, beta)) = -(1 - log l) + log beta + (1/l - m)/beta
    + e^{m/beta} l beta / (l beta + 1),   from E e^{-X/beta} = l / (l + 1/beta)."""
    rate_scale = p.rate * q.scale
    log_mgf = q.loc / q.scale - mg.log1p(1.0 / rate_scale)
    return expand_to(_gumbel_cross_entropy(1.0 / p.rate, log_mgf, q) - p.entropy(), _batch(p, q))


# -------------------------------------------------------------- Gamma || .
@register_kl(Gamma, Exponential)
def kl_gamma_exponential(p, q):
    """KL(Gamma(a, r) || Exp(l)) = -H(Gamma) - log l + l a / r."""
    value = p.concentration / p.rate * q.rate - mg.log(q.rate) - p.entropy()
    return expand_to(value, _batch(p, q))


@register_kl(Gamma, Normal)
def kl_gamma_normal(p, q):
    """KL(Gamma(a, r) || N(mu, s^2)) = -H(Gamma) + log s + 1/2 log 2 pi
    + (a / r^2 + (a / r - mu)^2) / (2 s^2)."""
    mean = p.concentration / p.rate
    second = mean / p.rate + (mean - q.loc) ** 2.0
    return expand_to(_normal_cross_entropy(second, q) - p.entropy(), _batch(p, q))


@register_kl(Gamma, Gumbel)
def kl_gamma_gumbel(p, q):
    """KL(Gamma(a, r) || Gumbel(m, beta)) = -H(Gamma) + log beta + (a/r - m)/beta
    + e^{m/beta} (r beta / (r beta + 1))^a,   from E e^{-X/beta} = (r / (r + 1/beta))^a."""
    log_mgf = q.loc / q.scale - p.concentration * mg.log1p(1.0 / (p.rate * q.scale))
    value = _gumbel_cross_entropy(p.concentration / p.rate, log_mgf, q) - p.entropy()
    return expand_to(value, _batch(p, q))


# ------------------------------------------------------------- Gumbel || .
@register_kl(Gumbel, Normal)
def kl_gumbel_normal(p, q):
    """KL(Gumbel(m, beta) || N(mu, s^2)) = -(log beta + gamma_E + 1) + log s + 1/2 log 2 pi
    + (pi^2 beta^2 / 6 + (m + gamma_E beta - mu)^2) / (2 s^2)."""
    second = p.variance + (p.mean - q.loc) ** 2.0
    return expand_to(_normal_cross_entropy(second, q) - p.entropy(), _batch(p, q))


# ------------------------------------------------------------ Uniform || .
def _uniform_width(p):
    return p.high - p.low


@register_kl(Uniform, Normal)
def kl_uniform_normal(p, q):
    """KL(U(a, b) || N(mu, s^2)) = -log(b - a) + log s + 1/2 log 2 pi
    + ((b - a)^2 / 12 + ((a + b)/2 - mu)^2) / (2 s^2).   (U(0, 1) vs N(0, 1): 1.0856.)"""
    second = p.variance + (p.mean - q.loc) ** 2.0
    return expand_to(_normal_cross_entropy(second, q) - p.entropy(), _batch(p, q))


@register_kl(Uniform, Laplace)
def kl_uniform_laplace(p, q):
    """KL(U(a, b) || Laplace(m, b_q)) = -log(b - a) + log 2 b_q + E|X - m| / b_q, where with
    c = min(max(m, a), b) (m clipped into [a, b])

        E|X - m| = ((c - a)^2 + (b - c)^2) / (2 (b - a)) + |m - c|.
    """
    c = mg.minimum(mg.maximum(q.loc, p.low), p.high)
    deviation = (((c - p.low) ** 2.0 + (p.high - c) ** 2.0) / (_uniform_width(p) * 2.0)
                 + mg.abs(q.loc - c))
    return expand_to(_laplace_cross_entropy(deviation, q) - p.entropy(), _batch(p, q))


@register_kl(Uniform, Gumbel)
def kl_uniform_gumbel(p, q):
    """KL(U(a, b) || Gumbel(m, beta)) = -log(b - a) + log beta + ((a + b)/2 - m)/beta
    + beta / (b - a) e^{-(a - m)/beta} (1 - e^{-(b - a)/beta})."""
    width = _uniform_width(p)
    log_mgf = (-(p.low - q.loc) / q.scale + mg.log(-mg.expm1(-width / q.scale))
               + mg.log(q.scale) - mg.log(width))
    return expand_to(_gumbel_cross_entropy(p.mean, log_mgf, q) - p.entropy(), _batch(p, q))


@register_kl(Uniform, Cauchy)
def kl_uniform_cauchy(p, q):
    """KL(U(a, b) || Cauchy(m, g)) = -log(b - a) + log(pi g) + g (G(z_b) - G(z_a)) / (b - a),

    z = (x - m) / g at the ends, G(z) = z log(1 + z^2) - 2z + 2 arctan z, the
    antiderivative of log(1 + z^2).
    """
    def antiderivative(z):
        return z * log1p_square(z) - z * 2.0 + arctan(z) * 2.0
    z_low, z_high = (p.low - q.loc) / q.scale, (p.high - q.loc) / q.scale
    mean_log = q.scale * (antiderivative(z_high) - antiderivative(z_low)) / _uniform_width(p)
    value = mg.log(q.scale) + float(np.log(np.pi)) + mean_log - p.entropy()
    return expand_to(value, _batch(p, q))


@register_kl(Uniform, Exponential)
def kl_uniform_exponential(p, q):
    """KL(U(a, b) || Exp(l)) = -log(b - a) - log l + l (a + b)/2 for a >= 0, else +inf."""
    value = q.rate * p.mean - mg.log(q.rate) - p.entropy()
    return expand_to(_inf_unless(p.low.data >= 0, value), _batch(p, q))


@register_kl(Uniform, Gamma)
def kl_uniform_gamma(p, q):
    """KL(U(a, b) || Gamma(al, r)) = -log(b - a) - al log r + log Gamma(al)
    - (al - 1) E log X + r (a + b)/2 for a >= 0 (else +inf), with
    E log X = (b log b - a log a) / (b - a) - 1   (0 log 0 = 0)."""
    inside = p.low.data >= 0
    low = mg.where(inside, p.low, constant(0.0, p.low)) if not inside.all() else p.low
    mean_log = (xlogy(p.high, p.high) - xlogy(low, low)) / (p.high - low) - 1.0
    a, r = q.concentration, q.rate
    value = (mg.lgamma(a) - a * mg.log(r) - (a - 1.0) * mean_log + r * (low + p.high) * 0.5
             + mg.log(p.high - low) * -1.0)
    return expand_to(_inf_unless(inside, value), _batch(p, q))


# -------------------------------------------- +inf: supports, divergent tails
def kl_support_not_inside(p, q):
    """+inf: P puts mass where Q has none (an unbounded P against a Uniform, a P on the
    whole line against a law on [0, inf), ...). A constant, so no gradient."""
    return Tensor(np.full(_batch(p, q), np.inf))


def kl_heavy_tail_diverges(p, q):
    """+inf: a Cauchy P against a Normal, Laplace or Gumbel Q, whose -log q grows like
    x^2, |x| or e^{-x}, all of infinite expectation under the Cauchy law."""
    return Tensor(np.full(_batch(p, q), np.inf))


for _P in (Normal, Laplace, Gumbel, Cauchy):
    for _Q in (Uniform, Exponential, Gamma):
        register_kl(_P, _Q)(kl_support_not_inside)
for _P in (Exponential, Gamma):
    register_kl(_P, Uniform)(kl_support_not_inside)
for _Q in (Normal, Laplace, Gumbel):
    register_kl(Cauchy, _Q)(kl_heavy_tail_diverges)
