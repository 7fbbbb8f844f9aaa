"""Coupling layers: NICE's additive and RealNVP's affine coupling (claims N2, N3).

Split x = (x_A, x_B) into two blocks (A the first floor(D/2) coordinates;
``flip=True`` swaps the roles). One block passes unchanged and conditions
the map of the other:

    additive (NICE):    y_A = x_A,   y_B = x_B + t(x_A),                 log|det J| = 0
    affine (RealNVP):   y_A = x_A,   y_B = x_B * exp(s(x_A)) + t(x_A),   log|det J| = sum_i s_i(x_A)

The Jacobian is block lower triangular, [[I, 0], [dy_B/dx_A, diag(exp s)]],
so its log-determinant is the sum of s, O(D), whatever the networks s and t
are; and the inverse is as cheap as the forward map:
x_B = (y_B - t(y_A)) * exp(-s(y_A)). Here s = bound * tanh(raw / bound)
keeps the scales in [e^-bound, e^bound], which keeps training stable. Stack
couplings with alternating ``flip`` (or a Permutation between them) so
every coordinate gets transformed.

Reading: Dinh, Krueger and Bengio 2015 (NICE); Dinh, Sohl-Dickstein and
Bengio 2017 (RealNVP); karpathy/pytorch-normalizing-flows.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import nn
from dpm.distributions.base import resolve_rng
from dpm.models.flows.base import FlowLayer, bounded, check_dim


class _Coupling(FlowLayer):
    """Shared bookkeeping: the split, the conditioning network, the reassembly."""

    n_outputs = 1  # parameters of the map of each changed coordinate

    def __init__(self, dim, hidden=(64,), rng=None, flip=False, activation="tanh"):
        self.dim = check_dim(dim, low=2)
        self.flip = bool(flip)
        self.split = self.dim // 2
        n_keep = self.dim - self.split if self.flip else self.split
        self.n_change = self.dim - n_keep
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        self.net = nn.MLP([n_keep, *hidden, self.n_outputs * self.n_change],
                          activation=activation, rng=resolve_rng(rng))

    def _parts(self, x):
        """(kept block, changed block) of x."""
        first, second = x[..., :self.split], x[..., self.split:]
        return (second, first) if self.flip else (first, second)

    def _join(self, kept, changed):
        parts = [changed, kept] if self.flip else [kept, changed]
        return mg.concatenate(parts, axis=-1)

    def _apply(self, x, direction):
        kept, changed = self._parts(self._vectors(x))
        changed, log_det = self._couple(changed, self.net(kept), direction)
        return self._join(kept, changed), log_det

    def forward(self, x):
        return self._apply(x, +1)

    def inverse(self, y):
        return self._apply(y, -1)

    def __repr__(self):
        return f"{type(self).__name__}(dim={self.dim}, flip={self.flip}, net={self.net!r})"


class AdditiveCoupling(_Coupling):
    """NICE: y_B = x_B + t(x_A); volume preserving, log|det J| = 0."""

    def _couple(self, changed, t, direction):
        log_det = mg.Tensor(np.zeros(changed.shape[:-1], dtype=changed.dtype))
        return changed + t * float(direction), log_det


class AffineCoupling(_Coupling):
    """RealNVP: y_B = x_B exp(s(x_A)) + t(x_A), s = bound tanh(raw / bound); log|det J| = sum s."""

    n_outputs = 2

    def __init__(self, dim, hidden=(64,), rng=None, flip=False, activation="tanh",
                 scale_bound=3.0):
        if not scale_bound > 0:
            raise ValueError(f"scale_bound must be > 0, got {scale_bound!r}")
        self.scale_bound = float(scale_bound)
        super().__init__(dim, hidden, rng=rng, flip=flip, activation=activation)

    def _couple(self, changed, params, direction):
        s = bounded(params[..., :self.n_change], self.scale_bound)
        t = params[..., self.n_change:]
        if direction > 0:
            return changed * mg.exp(s) + t, s.sum(axis=-1)
        return (changed - t) * mg.exp(-s), -s.sum(axis=-1)
