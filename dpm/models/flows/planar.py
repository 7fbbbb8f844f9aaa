"""Planar and radial flows (Rezende and Mohamed 2015; claims N2, N3).

Planar:  f(z) = z + u_hat h(w.z + b),  h = tanh,
         J = I + u_hat psi^T with psi = h'(w.z + b) w (identity plus rank one), so
         log|det J| = log|1 + u_hat.psi| = log(1 + h'(a) m),  a = w.z + b,  m = w.u_hat.
         Invertible iff m >= -1; the parameterisation enforces m > -1 by
         u_hat = u + (softplus(w.u) - 1 - w.u) w / |w|^2, so m = softplus(w.u) - 1.
         Inverse: w.y + b = a + m tanh(a) =: g(a) is strictly increasing in a,
         with |g(a) - a| <= |m|; the root a is found by bisection on
         [c - |m|, c + |m|] (c = w.y + b), then z = y - u_hat tanh(a).

Radial:  f(z) = z + beta h(r) (z - z0),  r = |z - z0|,  h(r) = 1 / (alpha + r),
         J = (1 + beta h) I + beta h'(r) (z - z0)(z - z0)^T / r (a scaled identity plus rank one),
         log|det J| = (D - 1) log(1 + beta h) + log(1 + beta alpha h^2).
         alpha = softplus(.) > 0 and beta = softplus(.) - alpha > -alpha make
         it invertible. Inverse in closed form: |y - z0| = r (1 + beta h(r))
         is a quadratic in r, r^2 + (alpha + beta - r_y) r - alpha r_y = 0, whose
         positive root gives z = z0 + (y - z0) / (1 + beta h(r)).

Both are cheap forward (O(D)); the planar inverse is a 1-D root find, so
these layers suit variational posteriors (sampling and the density of the
draws, see ``Flow.rsample``) better than density estimation.

Reading: Rezende and Mohamed 2015, "Variational Inference with Normalizing
Flows", section 4.1 and appendix A.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.tensor import Tensor
from dpm.distributions.base import resolve_rng
from dpm.models.flows.base import FlowLayer, check_dim

BISECTION_STEPS = 80  # halves a bracket of width 2|m| below float64 resolution


class Planar(FlowLayer):
    """f(z) = z + u_hat tanh(w.z + b); log|det J| = log(1 + (1 - tanh^2(w.z + b)) w.u_hat)."""

    def __init__(self, dim, rng=None, init_scale=1.0):
        self.dim = check_dim(dim)
        rng = resolve_rng(rng)
        spread = init_scale / np.sqrt(self.dim)
        self.w = Tensor(rng.normal(0.0, spread, self.dim), requires_grad=True)
        self.u = Tensor(rng.normal(0.0, spread, self.dim), requires_grad=True)
        self.b = Tensor(rng.normal(0.0, spread), requires_grad=True)

    def _u_hat(self):
        """(u_hat, m = w.u_hat = softplus(w.u) - 1 > -1)."""
        wu = (self.w * self.u).sum()
        m = mg.softplus(wu) - 1.0
        u_hat = self.u + self.w * ((m - wu) / (self.w * self.w).sum())
        return u_hat, m

    @staticmethod
    def _log_det(a, m):
        slope = 1.0 - mg.square(mg.tanh(a))  # h'(a) in (0, 1]
        return mg.log1p(slope * m)

    def forward(self, z):
        z = self._vectors(z, "z")
        u_hat, m = self._u_hat()
        a = z @ self.w + self.b
        return z + mg.tanh(a)[..., None] * u_hat, self._log_det(a, m)

    def inverse(self, y):
        y = self._vectors(y, "y")
        u_hat, m = self._u_hat()
        c = y @ self.w + self.b
        a0 = self._root(c.data, float(m.data))
        # One Newton step on the graph from the (constant) root: its value is the
        # root and its derivatives are those of the implicit function a(c, m).
        t0 = np.tanh(a0)
        a = a0 - (a0 + m * t0 - c) / (m * (1.0 - t0 * t0) + 1.0)
        return y - mg.tanh(a)[..., None] * u_hat, -self._log_det(a, m)

    @staticmethod
    def _root(c, m):
        """The a with a + m tanh(a) = c (elementwise), by bisection."""
        low, high = c - abs(m) - 1e-12, c + abs(m) + 1e-12
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (low + high)
            above = mid + m * np.tanh(mid) > c
            high, low = np.where(above, mid, high), np.where(above, low, mid)
        return 0.5 * (low + high)


class Radial(FlowLayer):
    """f(z) = z + beta (z - z0) / (alpha + |z - z0|), alpha > 0, beta > -alpha."""

    def __init__(self, dim, rng=None, init_scale=1.0):
        self.dim = check_dim(dim)
        rng = resolve_rng(rng)
        self.z0 = Tensor(rng.normal(0.0, init_scale, self.dim), requires_grad=True)
        self.alpha_raw = Tensor(rng.normal(0.0, init_scale), requires_grad=True)
        self.beta_raw = Tensor(rng.normal(0.0, init_scale), requires_grad=True)

    def _alpha_beta(self):
        alpha = mg.softplus(self.alpha_raw)
        return alpha, mg.softplus(self.beta_raw) - alpha

    def _log_det(self, r, alpha, beta):
        h = 1.0 / (alpha + r)
        return mg.log1p(beta * h) * float(self.dim - 1) + mg.log1p(beta * alpha * h * h)

    def forward(self, z):
        z = self._vectors(z, "z")
        alpha, beta = self._alpha_beta()
        diff = z - self.z0
        r = mg.sqrt(mg.square(diff).sum(axis=-1))
        return z + diff * (beta / (alpha + r))[..., None], self._log_det(r, alpha, beta)

    def inverse(self, y):
        y = self._vectors(y, "y")
        alpha, beta = self._alpha_beta()
        diff_y = y - self.z0
        r_y = mg.sqrt(mg.square(diff_y).sum(axis=-1))
        # Positive root of r^2 + B r - alpha r_y = 0, B = alpha + beta - r_y, in the
        # form without cancellation for each sign of B.
        B = alpha + beta - r_y
        root = mg.sqrt(B * B + alpha * r_y * 4.0)
        r = mg.where(B.data >= 0, alpha * r_y * 2.0 / (B + root), (root - B) * 0.5)
        z = self.z0 + diff_y / (beta / (alpha + r) + 1.0)[..., None]
        return z, -self._log_det(r, alpha, beta)
