"""The Cauchy distribution Cauchy(loc, scale).

Density and entropy (loc = mu, scale = gamma > 0, z = (x - mu) / gamma):

    log p(x) = -log(pi gamma) - log(1 + z^2)
    H = log(4 pi gamma)
    cdf F(x) = 1/2 + arctan(z) / pi = arctan(-1/z) / pi for z < 0

The second form of the cdf keeps its relative accuracy in the lower tail:
1/2 + arctan(z)/pi cancels there (F(-1e10) = 3.2e-11 would come out with a
relative error of 2e-7, and F(-1e308) as 0), while arctan(-1/z)/pi has none.

The mean and the variance do not exist (E|X| = inf); ``mean`` and
``variance`` are NaN, as in scipy.stats ("undefined", not a number).

Reparameterization (claim M2, lecture 000's table): x = mu + gamma c with
c ~ Cauchy(0, 1) drawn by inversion, c = tan(pi (u - 1/2)), u ~ U(0, 1).
The shared location-scale code is in location_scale.py.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import constant, uniform_open
from dpm.distributions.location_scale import LocationScale
from dpm.numerics import arctan
import minigrad as mg

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
    z_big = mg.where(big, z, constant(2.0, z))
    z_small = mg.where(big, constant(0.0, z), z)
    return mg.where(big, mg.log(mg.abs(z_big)) * 2.0 + mg.log1p((1.0 / z_big) ** 2.0),
                    mg.log1p(z_small * z_small))


class Cauchy(LocationScale):
    """Cauchy(loc, scale) with scale > 0; heavy tails, no mean or variance."""

    STANDARD_MEAN = float("nan")        # undefined, as scipy.stats
    STANDARD_VARIANCE = float("nan")
    STANDARD_ENTROPY = float(np.log(4.0 * np.pi))

    @staticmethod
    def standard_draws(rng, shape):
        """tan(pi (u - 1/2)), u ~ U(0, 1) with both ends excluded."""
        return np.tan(np.pi * (uniform_open(rng, shape) - 0.5))

    @staticmethod
    def standard_log_prob(z):
        """-log pi - log(1 + z^2)."""
        return -log1p_square(z) - LOG_PI

    @staticmethod
    def standard_cdf(z):
        """1/2 + arctan(z) / pi, and arctan(-1/z) / pi in the lower tail z < -1."""
        lower = z.data < -1.0
        if not lower.any():
            return arctan(z) * (1.0 / np.pi) + 0.5
        # Double where: the reciprocal sees only z < -1, the other branch only z >= -1.
        z_lower = mg.where(lower, z, constant(-2.0, z))
        z_rest = mg.where(lower, constant(0.0, z), z)
        return mg.where(lower, arctan(-1.0 / z_lower) * (1.0 / np.pi),
                        arctan(z_rest) * (1.0 / np.pi) + 0.5)
