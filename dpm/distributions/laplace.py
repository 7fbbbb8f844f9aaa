"""The Laplace (double exponential) distribution Laplace(loc, scale).

Density, moments and entropy (loc = mu, scale = b > 0):

    log p(x) = -log(2 b) - |x - mu| / b
    mean mu, variance 2 b^2, H = 1 + log(2 b)
    cdf F(x) = e^{(x - mu)/b} / 2 for x < mu, 1 - e^{-(x - mu)/b} / 2 for x >= mu

Reparameterization (claim M2, lecture 000's table, its exact form):
u ~ U(-1, 1), x = mu - b sgn(u) ln(1 - |u|). Here u is uniform on the open
interval, so ln(1 - |u|) is finite; d x / d b = (x - mu) / b.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import (
    Distribution, as_param, broadcast_batch_shape, expand_to, positive_param, real, resolve_rng,
    uniform_open)
import minigrad as mg
from minigrad import as_tensor

LOG_2 = float(np.log(2.0))


class Laplace(Distribution):
    """Laplace(loc, scale) with scale > 0; the law behind the absolute (L1) error."""

    has_rsample = True
    support = real

    def __init__(self, loc, scale):
        self.loc = as_param(loc, "loc")
        self.scale = positive_param(scale, "scale")
        super().__init__(broadcast_batch_shape(loc=self.loc, scale=self.scale))
        self.dtype = np.result_type(self.loc.data, self.scale.data)

    def rsample(self, shape=(), rng=None):
        """x = loc - scale * sgn(u) * ln(1 - |u|), u ~ U(-1, 1) with both ends excluded."""
        # 2 * (open uniform on (0, 1)) - 1 is exact and never 0 or +-1.
        u = 2.0 * uniform_open(resolve_rng(rng), self.extended_shape(shape)) - 1.0
        standard = -np.sign(u) * np.log1p(-np.abs(u))
        return self.loc + self.scale * standard.astype(self.dtype)

    def log_prob(self, x):
        """-log(2 scale) - |x - loc| / scale."""
        return -(mg.log(self.scale) + LOG_2) - mg.abs(as_tensor(x) - self.loc) / self.scale

    def cdf(self, x):
        """e^z / 2 below loc, 1 - e^{-z} / 2 above, z = (x - loc) / scale."""
        z = (as_tensor(x) - self.loc) / self.scale
        below = z.data < 0
        # Double where: each exponential sees only z <= 0 (no overflow, no inf*0 in the
        # gradient); the branch not taken gets the safe input 0.
        lower = mg.exp(mg.where(below, z, 0.0)) * 0.5
        upper = 1.0 - mg.exp(-mg.where(below, 0.0, z)) * 0.5
        return mg.where(below, lower, upper)

    @property
    def mean(self):
        return expand_to(self.loc, self.batch_shape)

    @property
    def variance(self):
        return expand_to(self.scale * self.scale * 2.0, self.batch_shape)

    def entropy(self):
        """1 + log(2 scale)."""
        return expand_to(mg.log(self.scale) + (1.0 + LOG_2), self.batch_shape)
