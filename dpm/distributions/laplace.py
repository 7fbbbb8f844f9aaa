"""The Laplace (double exponential) distribution Laplace(loc, scale).

Density, moments and entropy (loc = mu, scale = b > 0):

    log p(x) = -log(2 b) - |x - mu| / b
    mean mu, variance 2 b^2, H = 1 + log(2 b)
    cdf F(x) = e^{(x - mu)/b} / 2 for x < mu, 1 - e^{-(x - mu)/b} / 2 for x >= mu

Reparameterization (claim M2, lecture 000's table, its exact form):
u ~ U(-1, 1), x = mu - b sgn(u) ln(1 - |u|). Here u is uniform on the open
interval, so ln(1 - |u|) is finite; d x / d b = (x - mu) / b. The shared
location-scale code is in location_scale.py.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import constant, uniform_open
from dpm.distributions.location_scale import LocationScale
import minigrad as mg

LOG_2 = float(np.log(2.0))


class Laplace(LocationScale):
    """Laplace(loc, scale) with scale > 0; the law behind the absolute (L1) error."""

    STANDARD_MEAN = 0.0
    STANDARD_VARIANCE = 2.0
    STANDARD_ENTROPY = 1.0 + LOG_2

    @staticmethod
    def standard_draws(rng, shape):
        """-sgn(u) ln(1 - |u|), u ~ U(-1, 1) with both ends excluded."""
        # 2 * (open uniform on (0, 1)) - 1 is exact and never 0 or +-1.
        u = 2.0 * uniform_open(rng, shape) - 1.0
        return -np.sign(u) * np.log1p(-np.abs(u))

    @staticmethod
    def standard_log_prob(z):
        """-log 2 - |z|."""
        return -mg.abs(z) - LOG_2

    @staticmethod
    def standard_cdf(z):
        """e^z / 2 below 0, 1 - e^{-z} / 2 above."""
        below = z.data < 0
        zero = constant(0.0, z)
        # Double where: each exponential sees only z <= 0 (no overflow, no inf*0 in the
        # gradient); the branch not taken gets the safe input 0.
        lower = mg.exp(mg.where(below, z, zero)) * 0.5
        upper = 1.0 - mg.exp(-mg.where(below, zero, z)) * 0.5
        return mg.where(below, lower, upper)
