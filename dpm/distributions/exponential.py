"""The exponential distribution Exp(rate).

Density, moments and entropy (rate = lambda > 0):

    log p(x) = log lambda - lambda x for x >= 0, -inf for x < 0
    mean 1 / lambda, variance 1 / lambda^2, H = 1 - log lambda
    cdf F(x) = 1 - e^{-lambda x} = -expm1(-lambda x) for x >= 0, 0 below

Reparameterization (claim M2, lecture 000's table): x = Exp(1) / lambda,
with Exp(1) drawn by inversion as -log u, u ~ U(0, 1) (open), so
d x / d lambda = -x / lambda.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import (
    Distribution, as_value, broadcast_batch_shape, constant, expand_to, outside_to_neg_inf,
    positive, positive_param, resolve_rng, uniform_open)
import minigrad as mg


class Exponential(Distribution):
    """Exp(rate) with rate > 0: mean 1 / rate."""

    has_rsample = True
    support = positive

    def __init__(self, rate):
        self.rate = positive_param(rate, "rate")
        super().__init__(broadcast_batch_shape(rate=self.rate))
        self.dtype = self.rate.dtype

    def rsample(self, shape=(), rng=None):
        """x = -log(u) / rate, u ~ U(0, 1) with both ends excluded."""
        standard = -np.log(uniform_open(resolve_rng(rng), self.extended_shape(shape)))
        return standard.astype(self.dtype) / self.rate

    def log_prob(self, x):
        """log rate - rate x for x >= 0, -inf below."""
        x = as_value(x, self.dtype)
        inside = x.data >= 0
        x_safe = mg.where(inside, x, constant(0.0, x))  # double where: keep the gradient finite
        return outside_to_neg_inf(mg.log(self.rate) - self.rate * x_safe, inside)

    def cdf(self, x):
        """1 - exp(-rate x) for x >= 0, 0 below."""
        x = as_value(x, self.dtype)
        inside = x.data >= 0
        x_safe = mg.where(inside, x, constant(0.0, x))
        return mg.where(inside, -mg.expm1(-self.rate * x_safe), constant(0.0, x))

    @property
    def mean(self):
        return expand_to(1.0 / self.rate, self.batch_shape)

    @property
    def variance(self):
        return expand_to(1.0 / (self.rate * self.rate), self.batch_shape)

    def entropy(self):
        """1 - log rate."""
        return expand_to(1.0 - mg.log(self.rate), self.batch_shape)

