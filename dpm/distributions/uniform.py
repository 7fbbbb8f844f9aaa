"""The continuous uniform distribution U(low, high).

Density, moments and entropy (a = low < b = high):

    log p(x) = -log(b - a) for a <= x <= b, -inf outside
    mean (a + b) / 2, variance (b - a)^2 / 12, H = log(b - a)
    cdf F(x) = clip((x - a) / (b - a), 0, 1)

Reparameterization (claim M2, lecture 000's table): x = a + (b - a) u with
u ~ U(0, 1), so d x / d a = 1 - u and d x / d b = u.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import (
    Distribution, Interval, _show, as_param, as_value, broadcast_batch_shape, expand_to,
    outside_to_neg_inf, resolve_rng)
import minigrad as mg


class Uniform(Distribution):
    """U(low, high) with low < high elementwise, broadcasting like NumPy."""

    has_rsample = True

    def __init__(self, low, high):
        self.low = as_param(low, "low")
        self.high = as_param(high, "high")
        super().__init__(broadcast_batch_shape(low=self.low, high=self.high))
        if not np.all(self.low.data < self.high.data):
            raise ValueError(f"low must be < high, got low={_show(self.low.data)}, "
                             f"high={_show(self.high.data)}")
        self.dtype = np.result_type(self.low.data, self.high.data)
        self.support = Interval(self.low.data, self.high.data)

    def rsample(self, shape=(), rng=None):
        """x = low + (high - low) * u, u ~ U(0, 1)."""
        u = resolve_rng(rng).random(self.extended_shape(shape)).astype(self.dtype)
        return self.low + (self.high - self.low) * u

    def log_prob(self, x):
        """-log(high - low) inside [low, high], -inf outside."""
        x = as_value(x, self.dtype)
        inside = self.support.contains(x)
        shape = np.broadcast_shapes(x.shape, self.batch_shape)
        # The density does not depend on x, so there is no unsafe branch to
        # guard: only the selection to -inf outside.
        return outside_to_neg_inf(expand_to(-mg.log(self.high - self.low), shape), inside)

    def cdf(self, x):
        """clip((x - low) / (high - low), 0, 1)."""
        return mg.clip((as_value(x, self.dtype) - self.low) / (self.high - self.low), 0.0, 1.0)

    @property
    def mean(self):
        return expand_to((self.low + self.high) * 0.5, self.batch_shape)

    @property
    def variance(self):
        width = self.high - self.low
        return expand_to(width * width * (1.0 / 12.0), self.batch_shape)

    def entropy(self):
        """log(high - low)."""
        return expand_to(mg.log(self.high - self.low), self.batch_shape)
