"""The gamma distribution Gamma(concentration, rate).

Density, moments and entropy (concentration = alpha > 0, rate = lambda > 0):

    log p(x) = alpha log lambda - log Gamma(alpha) + (alpha - 1) log x - lambda x,  x >= 0
    mean alpha / lambda, variance alpha / lambda^2
    H = alpha - log lambda + log Gamma(alpha) + (1 - alpha) psi(alpha)
    cdf F(x) = P(alpha, lambda x), the regularized lower incomplete gamma function

At large alpha the entropy's terms are each of size alpha log alpha while H
is of size log alpha, so the formula above cancels (at alpha = 1e12 it is
wrong in the 6th digit). Stirling's series for log Gamma and psi,

    log Gamma(a) = (a - 1/2) log a - a + 1/2 log(2 pi) + sum_k B_2k / (2k (2k-1) a^(2k-1))
    psi(a)       = log a - 1/(2a) - sum_k B_2k / (2k a^(2k)),

put into H cancel the large terms by hand and leave

    H = 1/2 + 1/2 log(2 pi a) - log lambda - 1/(2a)
        + sum_k B_2k [a^-(2k-1) / (2k - 1) - a^-2k / (2k)]
      = 1/2 + 1/2 log(2 pi a) - log lambda - 1/(3a) - 1/(12 a^2) - 1/(90 a^3) + ...,

used for alpha >= ASYMPTOTIC_CONCENTRATION (10) with eight terms (the
ninth is below 1e-16 there). The same series gives the KL between two
gammas without cancellation (dpm/kl.py).

No reparameterized sampler (``has_rsample`` is False): lambda could be
reparameterized (Gamma(alpha, 1) / lambda) but alpha cannot by a simple
transform; gradients in alpha need the score function (dpm.montecarlo) or
implicit reparameterization (Figurnov et al. 2018), not implemented here.
"""
from __future__ import annotations

from math import comb

import numpy as np
from scipy import special

from dpm.distributions.base import (
    Distribution, as_value, broadcast_batch_shape, constant, expand_to, outside_to_neg_inf,
    positive, positive_param, resolve_rng)
from dpm.numerics import xlogy
import minigrad as mg

ASYMPTOTIC_CONCENTRATION = 10.0
# B_2, B_4, ..., B_16: the Bernoulli numbers of Stirling's series.
STIRLING_BERNOULLI = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510]
HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))
SERIES_RADIUS = 0.1   # below it, the two differences below are summed as series


def _where_small(t, small_form, large_form):
    """small_form(t) where |t| < SERIES_RADIUS, large_form(t) elsewhere (double where)."""
    small = np.abs(t.data) < SERIES_RADIUS
    if small.all():
        return small_form(t)
    if not small.any():
        return large_form(t)
    t_small = mg.where(small, t, constant(0.0, t))
    t_large = mg.where(small, constant(1.0, t), t)
    return mg.where(small, small_form(t_small), large_form(t_large))


def expm1_minus_x(t):
    """e^t - 1 - t >= 0 without cancellation: t^2 sum_{k>=2} t^(k-2) / k! for |t| < 0.1.

    The series to t^12 leaves a relative error below 1e-17 there; farther
    out expm1(t) - t loses at most a few ulps.
    """
    def series(t):
        total = constant(1.0 / special.factorial(12), t)
        for k in range(11, 1, -1):
            total = total * t + 1.0 / special.factorial(k)
        return total * t * t
    return _where_small(t, series, lambda t: mg.expm1(t) - t)


def x_minus_log1p(x):
    """x - log(1 + x) >= 0 without cancellation, for x > -1.

    With u = x / (2 + x), log(1 + x) = 2 atanh(u) and x = 2u / (1 - u), so
    x - log1p(x) = 2u^2 / (1 - u) - 2 sum_{k>=1} u^(2k+1) / (2k+1); for
    |x| < 0.1 (|u| < 0.053) seven terms reach a relative error below 1e-17.
    """
    def series(x):
        u = x / (x + 2.0)
        u2 = u * u
        tail = constant(1.0 / 15.0, u)
        for k in range(6, 0, -1):
            tail = tail * u2 + 1.0 / (2 * k + 1)
        return u2 * 2.0 / (1.0 - u) - tail * u2 * u * 2.0
    return _where_small(x, series, lambda x: x - mg.log1p(x))


class Gamma(Distribution):
    """Gamma(concentration, rate), shape-rate form: mean concentration / rate."""

    has_rsample = False
    support = positive

    def __init__(self, concentration, rate):
        self.concentration = positive_param(concentration, "concentration")
        self.rate = positive_param(rate, "rate")
        super().__init__(broadcast_batch_shape(concentration=self.concentration, rate=self.rate))
        self.dtype = np.result_type(self.concentration.data, self.rate.data)

    def sample(self, shape=(), rng=None):
        """Draws (NumPy's gamma sampler, scale = 1 / rate) as an ndarray; no graph."""
        draws = resolve_rng(rng).gamma(self.concentration.data, 1.0 / self.rate.data,
                                       size=self.extended_shape(shape))
        return draws.astype(self.dtype)

    def log_prob(self, x):
        """alpha log rate - lgamma(alpha) + (alpha - 1) log x - rate x for 0 <= x < inf.

        -inf below 0 and at x = inf (the density's limit; the formula would
        give inf - inf there).
        """
        x = as_value(x, self.dtype)
        inside = (x.data >= 0) & (x.data < np.inf)
        x_safe = mg.where(inside, x, constant(1.0, x))  # double where: only finite x >= 0
        alpha = self.concentration
        # 0 log 0 = 0 at alpha = 1, x = 0: give xlogy a y of 1 there itself, in x's dtype.
        zero_times_log_zero = (alpha.data == 1.0) & (x_safe.data == 0.0)
        log_x_argument = (mg.where(zero_times_log_zero, constant(1.0, x_safe), x_safe)
                          if zero_times_log_zero.any() else x_safe)
        log_density = (alpha * mg.log(self.rate) - mg.lgamma(alpha)
                       + xlogy(alpha - 1.0, log_x_argument) - self.rate * x_safe)
        return outside_to_neg_inf(log_density, inside)

    def cdf(self, x):
        """P(alpha, rate x) by scipy.special.gammainc, as a constant Tensor (no graph).

        The derivative in alpha of the incomplete gamma function has no
        closed form here, so rather than return a gradient that is silently
        missing a term, this refuses inputs that require grad.
        """
        x = as_value(x, self.dtype)
        if mg.autodiff.STATE.grad_enabled and any(
                t.requires_grad for t in (x, self.concentration, self.rate)):
            raise NotImplementedError(
                "Gamma.cdf is not differentiable (d/d concentration of the incomplete gamma "
                "function is not implemented); detach the inputs or use minigrad.no_grad()")
        u = np.maximum(self.rate.data * x.data, 0.0)
        return mg.Tensor(special.gammainc(self.concentration.data, u).astype(self.dtype))

    @property
    def mean(self):
        return expand_to(self.concentration / self.rate, self.batch_shape)

    @property
    def variance(self):
        return expand_to(self.concentration / (self.rate * self.rate), self.batch_shape)

    def entropy(self):
        """alpha - log rate + lgamma(alpha) + (1 - alpha) digamma(alpha); Stirling's form at
        large alpha (module docstring)."""
        large = self.concentration.data >= ASYMPTOTIC_CONCENTRATION
        alpha = self.concentration
        if large.any() and not large.all():   # double where: each form sees its own alpha
            alpha_small = mg.where(large, constant(1.0, alpha), alpha)
            alpha_large = mg.where(large, alpha, constant(ASYMPTOTIC_CONCENTRATION, alpha))
            value = mg.where(large, _entropy_large(alpha_large), _entropy_small(alpha_small))
        elif large.all():
            value = _entropy_large(alpha)
        else:
            value = _entropy_small(alpha)
        return expand_to(value - mg.log(self.rate), self.batch_shape)


def _entropy_small(alpha):
    """alpha + lgamma(alpha) + (1 - alpha) psi(alpha): H at rate 1."""
    return alpha + mg.lgamma(alpha) + (1.0 - alpha) * mg.digamma(alpha)


def _entropy_large(alpha):
    """1/2 + 1/2 log(2 pi a) - 1/(2a) + sum_k B_2k [a^-(2k-1) / (2k-1) - a^-2k / (2k)]."""
    w = 1.0 / alpha
    series = constant(0.0, w)
    for k in range(len(STIRLING_BERNOULLI), 0, -1):  # Horner in w, from the highest power
        bernoulli = STIRLING_BERNOULLI[k - 1]
        series = (series * w - bernoulli / (2 * k)) * w + bernoulli / (2 * k - 1)
    series = (series - 0.5) * w
    return mg.log(alpha) * 0.5 + (0.5 + HALF_LOG_2PI) + series


# ------------------------------------ KL between gammas at large concentration
def _taylor_remainder_of_power(m, x):
    """(1 + x)^-m - 1 + m x = x^2 N_m(x) / (1 + x)^m, N_m with positive coefficients.

    N_m(x) = 1 - (1 + x)^m + m x (1 + x)^m has the coefficients
    m C(m, j-1) - C(m, j) for j >= 2 (those of x^0 and x^1 vanish).
    """
    coefficients = [m * comb(m, j - 1) - (comb(m, j) if j <= m else 0) for j in range(2, m + 2)]
    numerator = x * 0.0 + float(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        numerator = numerator * x + float(c)
    return x * x * numerator / (1.0 + x) ** float(m)


def _log_ratio(a, b):
    """log(a / b) for a, b > 0: log1p((a - b) / b) near 1 (no cancellation), else log(a / b)."""
    relative_gap = (a - b) / b
    near = np.abs(relative_gap.data) < 0.5
    return mg.where(near, mg.log1p(relative_gap), mg.log(a / b))


def kl_gamma_large_concentration(a1, r1, a2, r2):
    """KL between gammas for large concentrations, without cancellation:

        KL = a2 (e^eps - 1 - eps) + 1/2 (x - log(1 + x)) + R,
        x = a2 / a1 - 1,   eps = log((a1 / r1) / (a2 / r2))   (the log-ratio of the means),
        R = sum_k B_2k / (2k (2k-1)) a1^-(2k-1) [(1 + x)^-(2k-1) - 1 + (2k-1) x].

    Derivation: put Stirling's log Gamma and psi into the direct form; the
    (a - 1/2) log a - a parts and the rate terms combine into the first two
    terms (each >= 0), and the series' corrections, whose derivative is psi's,
    leave the Taylor remainders R (each O(x^2 / a^(2k-1))). Eight terms of
    the series reach a relative error of about 1e-16 for a1, a2 >= 10.
    """
    x = (a2 - a1) / a1
    eps = _log_ratio(r2, r1) - _log_ratio(a2, a1)
    value = a2 * expm1_minus_x(eps) + x_minus_log1p(x) * 0.5
    for k, bernoulli in enumerate(STIRLING_BERNOULLI, start=1):
        m = 2 * k - 1
        value = value + (_taylor_remainder_of_power(m, x) * (bernoulli / (m * (m + 1)))
                         / a1 ** float(m))
    return value
