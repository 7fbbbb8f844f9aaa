"""The univariate normal (Gaussian) distribution N(loc, scale^2).

Density, moments and entropy (scale = sigma > 0):

    log p(x) = -(x - mu)^2 / (2 sigma^2) - log sigma - 1/2 log(2 pi)
    mean mu, variance sigma^2, H = 1/2 + 1/2 log(2 pi) + log sigma
    cdf F(x) = Phi((x - mu) / sigma) = (1 + erf((x - mu) / (sigma sqrt 2))) / 2

Reparameterization (claim M2; lecture 000's table, lecture 003's
"z = mu + sigma eps"): x = mu + sigma eps with eps ~ N(0, 1), so
d x / d mu = 1 and d x / d sigma = eps, and gradients of E[f(x)] pass
through the sample.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import (
    Distribution, as_param, broadcast_batch_shape, expand_to, positive_param, real, resolve_rng)
from dpm.numerics import normal_cdf
import minigrad as mg
from minigrad import as_tensor

HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))


class Normal(Distribution):
    """N(loc, scale^2) with ``loc`` real and ``scale`` > 0, broadcasting like NumPy.

    ``Normal(0.0, 1.0)``, ``Normal(np.zeros(3), Tensor(s, requires_grad=True))``.
    """

    has_rsample = True
    support = real

    def __init__(self, loc, scale):
        self.loc = as_param(loc, "loc")
        self.scale = positive_param(scale, "scale")
        super().__init__(broadcast_batch_shape(loc=self.loc, scale=self.scale))
        self.dtype = np.result_type(self.loc.data, self.scale.data)

    def rsample(self, shape=(), rng=None):
        """x = loc + scale * eps, eps ~ N(0, 1): a Tensor of shape ``shape + batch_shape``."""
        eps = resolve_rng(rng).standard_normal(self.extended_shape(shape)).astype(self.dtype)
        return self.loc + self.scale * eps

    def log_prob(self, x):
        """-(x - loc)^2 / (2 scale^2) - log scale - 1/2 log(2 pi)."""
        z = (as_tensor(x) - self.loc) / self.scale
        return z * z * -0.5 - mg.log(self.scale) - HALF_LOG_2PI

    def cdf(self, x):
        """Phi((x - loc) / scale)."""
        return normal_cdf((as_tensor(x) - self.loc) / self.scale)

    @property
    def mean(self):
        return expand_to(self.loc, self.batch_shape)

    @property
    def variance(self):
        return expand_to(self.scale * self.scale, self.batch_shape)

    @property
    def stddev(self):
        return expand_to(self.scale, self.batch_shape)

    def entropy(self):
        """1/2 + 1/2 log(2 pi) + log scale (nats)."""
        return expand_to(mg.log(self.scale) + (0.5 + HALF_LOG_2PI), self.batch_shape)
