"""ActNorm: a per-coordinate affine map with data-dependent initialisation (Glow; N2).

    forward (base -> data):  y = loc + exp(log_scale) * x,   log|det J| = sum_i log_scale_i
    inverse (data -> base):  x = (y - loc) * exp(-log_scale)

The first ``inverse`` call on a batch of at least two rows (the density
pass of maximum-likelihood training) first sets loc to the batch mean and
log_scale to the log of the batch standard deviation, so the data reach the
layers below standardised per coordinate; ``initialize(y)`` does the same
explicitly. A loaded checkpoint counts as initialised.

Reading: Kingma and Dhariwal 2018, "Glow", section 3.1.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.tensor import Tensor
from dpm.models.flows.base import FlowLayer, check_dim


class ActNorm(FlowLayer):
    """y = loc + exp(log_scale) x; starts as the identity, data-initialised on first inverse.

    ``rng`` is accepted for the common ``Layer(dim, rng=rng)`` signature; the
    layer has nothing random.
    """

    def __init__(self, dim, rng=None):
        self.dim = check_dim(dim)
        self.loc = Tensor(np.zeros(self.dim), requires_grad=True)
        self.log_scale = Tensor(np.zeros(self.dim), requires_grad=True)
        self.initialized = False

    def initialize(self, y):
        """loc = mean(y), log_scale = log sd(y) over all leading axes of y (>= 2 rows)."""
        rows = np.asarray(getattr(y, "data", y), dtype=np.float64).reshape(-1, self.dim)
        sd = rows.std(axis=0)
        if rows.shape[0] < 2 or not np.all(np.isfinite(sd) & (sd > 0)):
            raise ValueError("ActNorm.initialize needs at least two rows with a positive, "
                             "finite spread in every coordinate")
        self.loc.data[...] = rows.mean(axis=0)
        self.log_scale.data[...] = np.log(sd)
        self.initialized = True
        return self

    def _log_det(self, x):
        return mg.broadcast_to(self.log_scale.sum(), shape=x.shape[:-1])

    def forward(self, x):
        x = self._vectors(x)
        return self.loc + mg.exp(self.log_scale) * x, self._log_det(x)

    def inverse(self, y):
        y = self._vectors(y, "y")
        if not self.initialized and y.data.reshape(-1, self.dim).shape[0] >= 2:
            self.initialize(y)
        return (y - self.loc) * mg.exp(-self.log_scale), -self._log_det(y)

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.initialized = True
