"""Permutation: y = x[..., perm], a volume-preserving reordering of coordinates (N2).

|det J| = 1 (a permutation matrix), so log|det J| = 0; the inverse is the
inverse permutation. Between coupling or autoregressive layers it lets
every coordinate be transformed and conditioned on in turn.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from dpm.distributions.base import resolve_rng
from dpm.models.flows.base import FlowLayer, check_dim


class Permutation(FlowLayer):
    """y_i = x_perm[i]; ``perm`` given, or drawn uniformly with ``rng``. No parameters."""

    def __init__(self, dim, rng=None, permutation=None):
        self.dim = check_dim(dim)
        if permutation is None:
            permutation = resolve_rng(rng).permutation(self.dim)
        permutation = np.asarray(permutation)
        if permutation.shape != (self.dim,) or permutation.dtype.kind not in "iu" \
                or not np.array_equal(np.sort(permutation), np.arange(self.dim)):
            raise ValueError(f"permutation must be a permutation of 0..{self.dim - 1}, "
                             f"got {permutation!r}")
        self.permutation = permutation.astype(np.intp)
        self.inverse_permutation = np.argsort(self.permutation)

    @staticmethod
    def _zero_log_det(x):
        return mg.Tensor(np.zeros(x.shape[:-1], dtype=x.dtype))

    def forward(self, x):
        x = self._vectors(x)
        return x[..., self.permutation], self._zero_log_det(x)

    def inverse(self, y):
        y = self._vectors(y, "y")
        return y[..., self.inverse_permutation], self._zero_log_det(y)
