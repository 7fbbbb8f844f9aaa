"""Location-scale families: X = loc + scale * Z, Z drawn from a fixed standard law.

Normal, Cauchy, Laplace and Gumbel are each one standard law moved and
stretched. Everything that follows from x = mu + sigma z alone is written
once here (lecture 000's reparameterization table, claim M2):

    log p(x) = log p_Z((x - mu) / sigma) - log sigma
    F(x)     = F_Z((x - mu) / sigma)
    E[X] = mu + sigma E[Z],   Var[X] = sigma^2 Var[Z],   H[X] = H[Z] + log sigma
    rsample: x = mu + sigma z, so d x / d mu = 1 and d x / d sigma = z

A family file then declares only its standard law: ``standard_log_prob(z)``
and ``standard_cdf(z)`` on Tensors, ``standard_draws(rng, shape)`` on
ndarrays, and the constants ``STANDARD_MEAN``, ``STANDARD_VARIANCE``,
``STANDARD_ENTROPY`` (NaN where the moment does not exist).
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import (
    Distribution, as_param, as_value, broadcast_batch_shape, expand_to, positive_param, real,
    resolve_rng)
import minigrad as mg
from minigrad import Tensor


class LocationScale(Distribution):
    """Base of ``Family(loc, scale)``: loc real, scale > 0, broadcasting like NumPy."""

    has_rsample = True
    support = real
    STANDARD_MEAN = 0.0
    STANDARD_VARIANCE = 1.0
    STANDARD_ENTROPY = float("nan")

    def __init__(self, loc, scale):
        self.loc = as_param(loc, "loc")
        self.scale = positive_param(scale, "scale")
        super().__init__(broadcast_batch_shape(loc=self.loc, scale=self.scale))
        self.dtype = np.result_type(self.loc.data, self.scale.data)

    # -- what a family declares
    @staticmethod
    def standard_draws(rng, shape):
        """Draws of Z as a float64 ndarray of ``shape``."""
        raise NotImplementedError

    @staticmethod
    def standard_log_prob(z):
        """log p_Z(z) for a Tensor z."""
        raise NotImplementedError

    @staticmethod
    def standard_cdf(z):
        """F_Z(z) for a Tensor z."""
        raise NotImplementedError

    # -- what follows from x = loc + scale * z
    def standardize(self, x):
        """z = (x - loc) / scale, with x taking the parameters' dtype if it has none."""
        return (as_value(x, self.dtype) - self.loc) / self.scale

    def rsample(self, shape=(), rng=None):
        """x = loc + scale * z, z from the standard law: shape ``shape + batch_shape``."""
        z = self.standard_draws(resolve_rng(rng), self.extended_shape(shape))
        return self.loc + self.scale * z.astype(self.dtype)

    def log_prob(self, x):
        """log p_Z((x - loc) / scale) - log scale."""
        return self.standard_log_prob(self.standardize(x)) - mg.log(self.scale)

    def cdf(self, x):
        """F_Z((x - loc) / scale)."""
        return self.standard_cdf(self.standardize(x))

    @property
    def mean(self):
        """loc + scale E[Z] (NaN where E[Z] does not exist, as scipy.stats)."""
        if np.isnan(self.STANDARD_MEAN):
            return Tensor(np.full(self.batch_shape, np.nan, dtype=self.dtype))
        if self.STANDARD_MEAN == 0.0:
            return expand_to(self.loc, self.batch_shape)
        return expand_to(self.loc + self.scale * self.STANDARD_MEAN, self.batch_shape)

    @property
    def variance(self):
        """scale^2 Var[Z] (NaN where Var[Z] does not exist)."""
        if np.isnan(self.STANDARD_VARIANCE):
            return Tensor(np.full(self.batch_shape, np.nan, dtype=self.dtype))
        return expand_to(self.scale * self.scale * self.STANDARD_VARIANCE, self.batch_shape)

    @property
    def stddev(self):
        if self.STANDARD_VARIANCE == 1.0:
            return expand_to(self.scale, self.batch_shape)
        return mg.sqrt(self.variance)

    def entropy(self):
        """H[Z] + log scale (nats)."""
        return expand_to(mg.log(self.scale) + self.STANDARD_ENTROPY, self.batch_shape)
