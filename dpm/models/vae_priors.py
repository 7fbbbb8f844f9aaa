"""Trainable priors for the VAE: a flow prior p(z) = base pushed through invertible layers (V10).

With z = f(u), u ~ N(0, I) and f = f_K o ... o f_1 invertible (lecture 002),

    log p(z) = log N(f^-1(z); 0, I) + log |det J_{f^-1}(z)|,

and the VAE's ELBO becomes E_q[log p(x | z) + log p(z) - log q(z | x)] with
this log p(z): no closed-form KL, so ``VAE.elbo`` takes the Monte Carlo form
(Chen et al. 2017, "Variational lossy autoencoder", use such a prior). A
flow prior lets the aggregate posterior q(z) = mean_x q(z | x) be matched
by a non-Gaussian p(z), which tightens the KL part of the bound.

``FlowPrior(base, layers)`` is a ``minigrad.nn.Module`` (so a VAE holding it
trains its layers) around ``dpm.distributions.TransformedDistribution``.
Any layer with ``forward(u) -> (z, log_det)``, ``inverse(z) -> (u, log_det)``
and ``event_dim = 1`` drops in: the flows of ``dpm.models.flows``
(``AffineCoupling``, ``MAF``, ...) are such layers. Until they are used,
``FlowPrior.default(dim)`` chains the two layers below, affine and
sinh-arcsinh, elementwise and invertible in closed form both ways:

- ``ElementwiseAffine``: z = b + e^s u, log |det| = sum s;
- ``SinhArcsinh`` (Jones & Pewsey 2009): z = sinh((asinh u + eps) / delta),
  u = sinh(delta asinh z - eps); eps skews, delta < 1 fattens the tails,
  delta > 1 thins them; identity at eps = 0, delta = 1.
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
from minigrad import Tensor, as_tensor, nn
from dpm.distributions import DiagonalNormal, TransformedDistribution

LOG_2 = math.log(2.0)


def asinh(x):
    """asinh x = sign(x) log(|x| + sqrt(x^2 + 1)): the odd form avoids cancellation for x << 0."""
    sign = np.where(x.data < 0, -1.0, 1.0)
    magnitude = mg.abs(x)
    return mg.log(magnitude + mg.sqrt(magnitude * magnitude + 1.0)) * sign


def sinh(t):
    """(e^t - e^-t) / 2."""
    return (mg.exp(t) - mg.exp(-t)) * 0.5


def log_cosh(t):
    """log cosh t = |t| + log1p(e^{-2|t|}) - log 2, finite for every t."""
    magnitude = mg.abs(t)
    return magnitude + mg.log1p(mg.exp(magnitude * -2.0)) - LOG_2


class ElementwiseAffine(nn.Module):
    """z = loc + exp(log_scale) u on vectors (event_dim 1); starts at the identity."""

    event_dim = 1

    def __init__(self, dim, rng=None, dtype=np.float64):
        self.loc = Tensor(np.zeros(dim, dtype=dtype), requires_grad=True)
        self.log_scale = Tensor(np.zeros(dim, dtype=dtype), requires_grad=True)

    def forward(self, u):
        u = as_tensor(u)
        z = self.loc + mg.exp(self.log_scale) * u
        return z, mg.broadcast_to(self.log_scale.sum(), shape=z.shape[:-1])

    def inverse(self, z):
        u = (as_tensor(z) - self.loc) * mg.exp(-self.log_scale)
        return u, mg.broadcast_to(-self.log_scale.sum(), shape=u.shape[:-1])


class SinhArcsinh(nn.Module):
    """z = sinh((asinh u + eps) / delta), delta = e^{log_delta}, per coordinate (event_dim 1).

    log |dz/du| = log cosh((asinh u + eps)/delta) - log delta - 1/2 log(1 + u^2),
    and the inverse's is its negative at u = f^-1(z).
    """

    event_dim = 1

    def __init__(self, dim, rng=None, dtype=np.float64):
        self.skew = Tensor(np.zeros(dim, dtype=dtype), requires_grad=True)
        self.log_delta = Tensor(np.zeros(dim, dtype=dtype), requires_grad=True)

    def _log_abs_dz_du(self, u, t):
        return log_cosh(t) - self.log_delta - mg.log1p(u * u) * 0.5

    def forward(self, u):
        u = as_tensor(u)
        t = (asinh(u) + self.skew) * mg.exp(-self.log_delta)
        return sinh(t), self._log_abs_dz_du(u, t).sum(axis=-1)

    def inverse(self, z):
        z = as_tensor(z)
        s = asinh(z) * mg.exp(self.log_delta) - self.skew
        u = sinh(s)
        # at u = f^-1(z): t = (asinh u + eps) / delta = asinh z
        return u, -self._log_abs_dz_du(u, asinh(z)).sum(axis=-1)


class FlowPrior(nn.Module):
    """p(z): ``base`` (default N(0, I_dim)) pushed through ``layers``; log_prob, sample, rsample."""

    def __init__(self, dim, layers, base=None, dtype=np.float64):
        self.dim = int(dim)
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("layers must list at least one invertible layer")
        self.base = base if base is not None else DiagonalNormal(
            np.zeros(self.dim, dtype=dtype), np.ones(self.dim, dtype=dtype))
        self.distribution = TransformedDistribution(self.base, self.layers)
        self.event_shape = (self.dim,)
        self.batch_shape = ()
        self.has_rsample = self.distribution.has_rsample

    @classmethod
    def default(cls, dim, n_blocks=2, rng=None, dtype=np.float64):
        """(ElementwiseAffine, SinhArcsinh) x n_blocks, then ElementwiseAffine."""
        layers = []
        for _ in range(n_blocks):
            layers += [ElementwiseAffine(dim, dtype=dtype), SinhArcsinh(dim, dtype=dtype)]
        return cls(dim, layers + [ElementwiseAffine(dim, dtype=dtype)], dtype=dtype)

    def log_prob(self, z):
        """log p_base(f^-1(z)) + log |det J_{f^-1}(z)|, shape z.shape[:-1]."""
        return self.distribution.log_prob(z)

    def sample(self, shape=(), rng=None):
        return self.distribution.sample(shape, rng)

    def rsample(self, shape=(), rng=None):
        return self.distribution.rsample(shape, rng)

    def __repr__(self):
        return f"FlowPrior(dim={self.dim}, layers={[type(t).__name__ for t in self.layers]})"
