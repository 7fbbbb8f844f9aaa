"""The gamma distribution Gamma(concentration, rate).

Density, moments and entropy (concentration = alpha > 0, rate = lambda > 0):

    log p(x) = alpha log lambda - log Gamma(alpha) + (alpha - 1) log x - lambda x,  x >= 0
    mean alpha / lambda, variance alpha / lambda^2
    H = alpha - log lambda + log Gamma(alpha) + (1 - alpha) psi(alpha)
    cdf F(x) = P(alpha, lambda x), the regularized lower incomplete gamma function

No reparameterized sampler (``has_rsample`` is False): lambda could be
reparameterized (Gamma(alpha, 1) / lambda) but alpha cannot by a simple
transform; gradients in alpha need the score function (dpm.montecarlo) or
implicit reparameterization (Figurnov et al. 2018), not implemented here.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from dpm.distributions.base import (
    Distribution, broadcast_batch_shape, expand_to, outside_to_neg_inf, positive,
    positive_param, resolve_rng)
from dpm.numerics import xlogy
import minigrad as mg
from minigrad import as_tensor


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
        """alpha log rate - lgamma(alpha) + (alpha - 1) log x - rate x for x >= 0, -inf below."""
        x = as_tensor(x)
        inside = x.data >= 0
        x_safe = mg.where(inside, x, 1.0)  # double where: log of a negative is never taken
        alpha = self.concentration
        log_density = (alpha * mg.log(self.rate) - mg.lgamma(alpha)
                       + xlogy(alpha - 1.0, x_safe) - self.rate * x_safe)
        return outside_to_neg_inf(log_density, inside)

    def cdf(self, x):
        """P(alpha, rate x) by scipy.special.gammainc, as a constant Tensor (no graph).

        The derivative in alpha of the incomplete gamma function has no
        closed form here, so rather than return a gradient that is silently
        missing a term, this refuses inputs that require grad.
        """
        x = as_tensor(x)
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
        """alpha - log rate + lgamma(alpha) + (1 - alpha) digamma(alpha)."""
        alpha = self.concentration
        value = (alpha - mg.log(self.rate) + mg.lgamma(alpha)
                 + (1.0 - alpha) * mg.digamma(alpha))
        return expand_to(value, self.batch_shape)
