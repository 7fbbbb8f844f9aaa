"""The Gumbel (type-I extreme value, for maxima) distribution Gumbel(loc, scale).

Density, moments and entropy (loc = mu, scale = beta > 0, z = (x - mu)/beta,
gamma_E = 0.5772... the Euler-Mascheroni constant):

    log p(x) = -log beta - z - e^{-z}
    mean mu + gamma_E beta, variance pi^2 beta^2 / 6, H = log beta + gamma_E + 1
    cdf F(x) = exp(-e^{-z})

Reparameterization (inversion): x = mu - beta log(-log u), u ~ U(0, 1). The
standard Gumbel is the noise of the Gumbel-max trick (claim M3) and of the
Gumbel-softmax relaxation (claim M4).
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import (
    Distribution, as_param, broadcast_batch_shape, expand_to, positive_param, real, resolve_rng,
    uniform_open)
import minigrad as mg
from minigrad import as_tensor

EULER_GAMMA = float(np.euler_gamma)


class Gumbel(Distribution):
    """Gumbel(loc, scale) with scale > 0."""

    has_rsample = True
    support = real

    def __init__(self, loc, scale):
        self.loc = as_param(loc, "loc")
        self.scale = positive_param(scale, "scale")
        super().__init__(broadcast_batch_shape(loc=self.loc, scale=self.scale))
        self.dtype = np.result_type(self.loc.data, self.scale.data)

    def rsample(self, shape=(), rng=None):
        """x = loc - scale * log(-log u), u ~ U(0, 1) with both ends excluded."""
        u = uniform_open(resolve_rng(rng), self.extended_shape(shape))
        return self.loc - self.scale * np.log(-np.log(u)).astype(self.dtype)

    def log_prob(self, x):
        """-log scale - z - exp(-z), z = (x - loc) / scale."""
        z = (as_tensor(x) - self.loc) / self.scale
        with np.errstate(over="ignore"):  # e^{-z} = inf far left: log p = -inf is right
            return -mg.log(self.scale) - z - mg.exp(-z)

    def cdf(self, x):
        """exp(-exp(-z))."""
        z = (as_tensor(x) - self.loc) / self.scale
        with np.errstate(over="ignore"):  # exp(-inf) = 0 far left is right
            return mg.exp(-mg.exp(-z))

    @property
    def mean(self):
        return expand_to(self.loc + self.scale * EULER_GAMMA, self.batch_shape)

    @property
    def variance(self):
        return expand_to(self.scale * self.scale * (np.pi ** 2 / 6.0), self.batch_shape)

    def entropy(self):
        """log scale + gamma_E + 1."""
        return expand_to(mg.log(self.scale) + (EULER_GAMMA + 1.0), self.batch_shape)
