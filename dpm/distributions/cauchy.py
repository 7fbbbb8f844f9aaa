"""The Cauchy distribution Cauchy(loc, scale).

Density and entropy (loc = mu, scale = gamma > 0, z = (x - mu) / gamma):

    log p(x) = -log(pi gamma) - log(1 + z^2)
    H = log(4 pi gamma)
    cdf F(x) = 1/2 + arctan(z) / pi

The mean and the variance do not exist (E|X| = inf); ``mean`` and
``variance`` are NaN, as in scipy.stats ("undefined", not a number).

Reparameterization (claim M2, lecture 000's table): x = mu + gamma c with
c ~ Cauchy(0, 1) drawn by inversion, c = tan(pi (u - 1/2)), u ~ U(0, 1).
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import (
    Distribution, as_param, broadcast_batch_shape, expand_to, positive_param, real, resolve_rng,
    uniform_open)
from dpm.numerics import arctan
import minigrad as mg
from minigrad import as_tensor

LOG_PI = float(np.log(np.pi))


def log1p_square(z):
    """log(1 + z^2) without overflow: 2 log|z| + log1p(1 / z^2) for |z| > 1.

    z^2 overflows for |z| > 1e154, where the density is still a finite
    number; the second form stays finite. Double where: each branch sees a
    safe z.
    """
    big = np.abs(z.data) > 1.0
    if not big.any():
        return mg.log1p(z * z)
    z_big = mg.where(big, z, 2.0)
    z_small = mg.where(big, 0.0, z)
    return mg.where(big, mg.log(mg.abs(z_big)) * 2.0 + mg.log1p((1.0 / z_big) ** 2.0),
                    mg.log1p(z_small * z_small))


class Cauchy(Distribution):
    """Cauchy(loc, scale) with scale > 0; heavy tails, no mean or variance."""

    has_rsample = True
    support = real

    def __init__(self, loc, scale):
        self.loc = as_param(loc, "loc")
        self.scale = positive_param(scale, "scale")
        super().__init__(broadcast_batch_shape(loc=self.loc, scale=self.scale))
        self.dtype = np.result_type(self.loc.data, self.scale.data)

    def rsample(self, shape=(), rng=None):
        """x = loc + scale * tan(pi (u - 1/2)), u ~ U(0, 1) with both ends excluded."""
        u = uniform_open(resolve_rng(rng), self.extended_shape(shape))
        return self.loc + self.scale * np.tan(np.pi * (u - 0.5)).astype(self.dtype)

    def log_prob(self, x):
        """-log(pi scale) - log(1 + ((x - loc) / scale)^2)."""
        z = (as_tensor(x) - self.loc) / self.scale
        return -(mg.log(self.scale) + LOG_PI) - log1p_square(z)

    def cdf(self, x):
        """1/2 + arctan((x - loc) / scale) / pi."""
        return arctan((as_tensor(x) - self.loc) / self.scale) * (1.0 / np.pi) + 0.5

    @property
    def mean(self):
        """Undefined for the Cauchy law: NaN (as scipy.stats)."""
        return mg.Tensor(np.full(self.batch_shape, np.nan, dtype=self.dtype))

    @property
    def variance(self):
        """Undefined for the Cauchy law: NaN (as scipy.stats)."""
        return mg.Tensor(np.full(self.batch_shape, np.nan, dtype=self.dtype))

    def entropy(self):
        """log(4 pi scale)."""
        return expand_to(mg.log(self.scale) + float(np.log(4.0 * np.pi)), self.batch_shape)
