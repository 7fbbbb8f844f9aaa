"""Flow variational inference (Rezende and Mohamed 2015): a flow posterior by reverse KL.

For an unnormalised target p~(z) = Z p(z), maximise over the flow q

    ELBO(q) = E_q[log p~(z) - log q(z)] = log Z - KL(q || p)  <=  log Z,

pathwise: z = f(eps), eps ~ N(0, I), and log q(z) = log N(eps) - log|det J_f(eps)|
accumulated on the way forward (``Flow.rsample``), so no inverse is needed.
A diagonal Gaussian q is the baseline. ``log_normalizer`` computes log Z of
a 2-D target by the trapezoid rule on a grid, so KL(q || p) = log Z - ELBO
is known in nats.

Targets: ``ring_energy`` (Rezende and Mohamed's U_1: a ring of radius 2 cut
into two arcs) and ``banana`` (a curved, narrow ridge).
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import optim
from minigrad.tensor import Tensor
from dpm.distributions import DiagonalNormal
from dpm.distributions.base import resolve_rng
from dpm.vi.elbo import elbo
from dpm.models.flows.evaluate import trapezoid_2d


def ring_energy(z):
    """log p~(z) = -U_1(z), U_1 = 1/2 ((|z| - 2) / 0.4)^2 - log(e^{-(z_1-2)^2/0.72} + e^{-(z_1+2)^2/0.72})."""
    z = mg.as_tensor(z)
    radius = mg.sqrt(mg.square(z).sum(axis=-1))
    z1 = z[..., 0]
    arcs = mg.logsumexp(mg.stack([mg.square(z1 - 2.0) * (-0.5 / 0.36),
                                  mg.square(z1 + 2.0) * (-0.5 / 0.36)], axis=-1), axis=-1)
    return mg.square((radius - 2.0) * (1 / 0.4)) * -0.5 + arcs


def banana(z):
    """log p~(z) = -z_1^2 / 8 - (z_2 - z_1^2 / 4)^2 / (2 * 0.3^2): a curved ridge."""
    z = mg.as_tensor(z)
    z1, z2 = z[..., 0], z[..., 1]
    return mg.square(z1) * (-1 / 8) - mg.square(z2 - mg.square(z1) * 0.25) * (0.5 / 0.09)


def log_normalizer(log_target, box=(-5, 5, -5, 5), n=801):
    """log Z = log of the integral of p~ over ``box`` by the trapezoid rule (max-shifted)."""
    xs, ys = np.linspace(box[0], box[1], n), np.linspace(box[2], box[3], n)
    gx, gy = np.meshgrid(xs, ys)
    with mg.no_grad():
        log_p = log_target(np.column_stack([gx.ravel(), gy.ravel()])).data.reshape(n, n)
    shift = log_p.max()
    return float(shift + np.log(trapezoid_2d(np.exp(log_p - shift), xs[1] - xs[0], ys[1] - ys[0])))


class DiagonalGaussianGuide:
    """q(z) = N(loc, diag(exp(2 log_scale))), rebuilt from its two Tensors at each call."""

    def __init__(self, dim):
        self.loc = Tensor(np.zeros(dim), requires_grad=True)
        self.log_scale = Tensor(np.zeros(dim), requires_grad=True)

    def parameters(self):
        return [self.loc, self.log_scale]

    def distribution(self):
        return DiagonalNormal(self.loc, mg.exp(self.log_scale))


def fit_reverse_kl(guide, log_target, steps, n=64, lr=1e-2, rng=None):
    """Maximise elbo(log_target, q, n) by Adam; ``guide`` a Flow or a DiagonalGaussianGuide.

    Returns the per-step ELBO estimates (a list of floats).
    """
    rng = resolve_rng(rng)
    optimizer = optim.Adam(guide.parameters(), lr=lr)
    trace = []
    for step in range(steps):
        q = guide.distribution() if hasattr(guide, "distribution") else guide
        bound = elbo(log_target, q, n=n, rng=rng)
        if not np.isfinite(bound.item()):
            raise FloatingPointError(f"ELBO is {bound.item()} at step {step + 1}")
        optimizer.zero_grad()
        (-bound).backward()
        optimizer.step()
        trace.append(bound.item())
    return trace


def final_elbo(guide, log_target, n, rng):
    """The ELBO of the fitted guide from n fresh draws: an Estimate (value, stderr)."""
    q = guide.distribution() if hasattr(guide, "distribution") else guide
    with mg.no_grad():
        return elbo(log_target, q, n=n, rng=rng)
