"""The Gumbel (type-I extreme value, for maxima) distribution Gumbel(loc, scale).

Density, moments and entropy (loc = mu, scale = beta > 0, z = (x - mu)/beta,
gamma_E = 0.5772... the Euler-Mascheroni constant):

    log p(x) = -log beta - z - e^{-z}         (-inf at x = -inf, where e^{-z} wins)
    mean mu + gamma_E beta, variance pi^2 beta^2 / 6, H = log beta + gamma_E + 1
    cdf F(x) = exp(-e^{-z})

Reparameterization (inversion): x = mu - beta log(-log u), u ~ U(0, 1). The
standard Gumbel is the noise of the Gumbel-max trick (claim M3) and of the
Gumbel-softmax relaxation (claim M4). The shared location-scale code is in
location_scale.py.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import constant, outside_to_neg_inf, uniform_open
from dpm.distributions.location_scale import LocationScale
import minigrad as mg

EULER_GAMMA = float(np.euler_gamma)


class Gumbel(LocationScale):
    """Gumbel(loc, scale) with scale > 0."""

    STANDARD_MEAN = EULER_GAMMA
    STANDARD_VARIANCE = np.pi ** 2 / 6.0
    STANDARD_ENTROPY = EULER_GAMMA + 1.0

    @staticmethod
    def standard_draws(rng, shape):
        """-log(-log u), u ~ U(0, 1) with both ends excluded."""
        return -np.log(-np.log(uniform_open(rng, shape)))

    @staticmethod
    def standard_log_prob(z):
        """-z - e^{-z}; -inf at z = -inf (where -z - e^{-z} would be inf - inf = NaN)."""
        finite_left = z.data > -np.inf
        if not finite_left.all():  # double where: the -inf entries see a safe z = 0
            z = mg.where(finite_left, z, constant(0.0, z))
        with np.errstate(over="ignore"):  # e^{-z} = inf far left: log p = -inf is right
            return outside_to_neg_inf(-z - mg.exp(-z), finite_left)

    @staticmethod
    def standard_cdf(z):
        """exp(-exp(-z))."""
        with np.errstate(over="ignore"):  # exp(-inf) = 0 far left is right
            return mg.exp(-mg.exp(-z))
