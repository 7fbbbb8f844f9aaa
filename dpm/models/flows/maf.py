"""Masked autoregressive and inverse autoregressive flows on MADE masks (N2, N3).

Both are the affine autoregressive map between a base point z and a data
point x, with shift mu and log-scale s from one MADE network (all D pairs
in one pass, ``dpm.models.autoregressive.MaskedMLP``) read on different sides:

    MAF (Papamakarios et al. 2017):  x_j = z_j exp(s_j(x_<j)) + mu_j(x_<j)
        density: z = (x - mu(x)) exp(-s(x)),      ONE pass,  log|det dz/dx| = -sum s(x)
        sampling: x_j needs x_<j first,           D passes
    IAF (Kingma et al. 2016):        x_j = z_j exp(s_j(z_<j)) + mu_j(z_<j)
        sampling: x = z exp(s(z)) + mu(z),        ONE pass,  log|det dx/dz| = sum s(z)
        density of a new x: z_j needs z_<j first, D passes

(_<j in the layer's ``order``). The Jacobian dx/dz is triangular in that
order with diagonal exp(s), so the log-determinant is a sum: O(D). The
D-pass direction is the fixed-point iteration v <- (map given v): after k
passes the first k variables of the order are exact, so D passes give the
exact answer (and its exact gradient). s = bound tanh(raw / bound).

Reading: Papamakarios, Pavlakou and Murray 2017 (MAF); Kingma, Salimans,
Jozefowicz, Chen, Sutskever and Welling 2016 (IAF).
"""
from __future__ import annotations

import minigrad as mg
from dpm.distributions.base import resolve_rng
from dpm.models.autoregressive import MaskedMLP
from dpm.models.flows.base import FlowLayer, bounded, check_dim


class _Autoregressive(FlowLayer):
    def __init__(self, dim, hidden=(64,), rng=None, order=None, activation="tanh",
                 scale_bound=3.0):
        self.dim = check_dim(dim)
        if not scale_bound > 0:
            raise ValueError(f"scale_bound must be > 0, got {scale_bound!r}")
        self.scale_bound = float(scale_bound)
        self.net = MaskedMLP(self.dim, hidden, rng=resolve_rng(rng), order=order,
                             outputs_per_variable=2, activation=activation)
        self.order = self.net.order

    def shift_and_log_scale(self, v):
        """(mu(v), s(v)) for the conditioning vector v, one masked pass."""
        out = self.net(v)
        return out[..., :self.dim], bounded(out[..., self.dim:], self.scale_bound)

    def _pushed(self, z, given):
        mu, s = self.shift_and_log_scale(given)
        return z * mg.exp(s) + mu, s

    def _pulled(self, x, given):
        mu, s = self.shift_and_log_scale(given)
        return (x - mu) * mg.exp(-s), s

    def _sequential(self, known, step):
        """Solve v = step(known, v)[0] by D fixed-point passes (exact after D)."""
        v = known * 0.0
        for _ in range(self.dim):
            v, s = step(known, v)
        return v, s


class MAF(_Autoregressive):
    """x = z exp(s(x)) + mu(x), autoregressive in x: density one pass, sampling D passes."""

    def forward(self, z):
        z = self._vectors(z, "z")
        x, s = self._sequential(z, self._pushed)
        return x, s.sum(axis=-1)

    def inverse(self, x):
        x = self._vectors(x)
        z, s = self._pulled(x, x)
        return z, -s.sum(axis=-1)


class IAF(_Autoregressive):
    """x = z exp(s(z)) + mu(z), autoregressive in z: sampling one pass, density D passes."""

    def forward(self, z):
        z = self._vectors(z, "z")
        x, s = self._pushed(z, z)
        return x, s.sum(axis=-1)

    def inverse(self, x):
        x = self._vectors(x)
        z, s = self._sequential(x, self._pulled)
        return z, -s.sum(axis=-1)
