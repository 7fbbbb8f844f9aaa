"""The univariate normal (Gaussian) distribution N(loc, scale^2).

Density, moments and entropy (scale = sigma > 0):

    log p(x) = -(x - mu)^2 / (2 sigma^2) - log sigma - 1/2 log(2 pi)
    mean mu, variance sigma^2, H = 1/2 + 1/2 log(2 pi) + log sigma
    cdf F(x) = Phi((x - mu) / sigma) = (1 + erf((x - mu) / (sigma sqrt 2))) / 2

Reparameterization (claim M2; lecture 000's table, lecture 003's
"z = mu + sigma eps"): x = mu + sigma eps with eps ~ N(0, 1), so
d x / d mu = 1 and d x / d sigma = eps, and gradients of E[f(x)] pass
through the sample. The shared location-scale code is in location_scale.py.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.location_scale import LocationScale
from dpm.numerics import normal_cdf

HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))


class Normal(LocationScale):
    """N(loc, scale^2) with ``loc`` real and ``scale`` > 0, broadcasting like NumPy.

    ``Normal(0.0, 1.0)``, ``Normal(np.zeros(3), Tensor(s, requires_grad=True))``.
    """

    STANDARD_MEAN = 0.0
    STANDARD_VARIANCE = 1.0
    STANDARD_ENTROPY = 0.5 + HALF_LOG_2PI     # H[N(0, 1)] = 1/2 log(2 pi e)

    @staticmethod
    def standard_draws(rng, shape):
        """eps ~ N(0, 1)."""
        return rng.standard_normal(shape)

    @staticmethod
    def standard_log_prob(z):
        """-z^2 / 2 - 1/2 log(2 pi)."""
        return z * z * -0.5 - HALF_LOG_2PI

    @staticmethod
    def standard_cdf(z):
        """Phi(z)."""
        return normal_cdf(z)
