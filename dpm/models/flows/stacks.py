"""Ready-made stacks: a standard normal base and RealNVP / MAF flows for the demos."""
from __future__ import annotations

import numpy as np

from dpm.distributions import DiagonalNormal
from dpm.distributions.base import resolve_rng
from dpm.models.flows.actnorm import ActNorm
from dpm.models.flows.base import Flow, check_dim
from dpm.models.flows.coupling import AffineCoupling
from dpm.models.flows.maf import MAF
from dpm.models.flows.planar import Planar


def standard_normal(dim):
    """N(0, I_dim) as a DiagonalNormal with event shape (dim,)."""
    dim = check_dim(dim)
    return DiagonalNormal(np.zeros(dim), np.ones(dim))


def realnvp_flow(dim, n_layers=8, hidden=(64,), rng=None, actnorm=True):
    """Flow of ``n_layers`` AffineCouplings with alternating halves (ActNorm last if asked)."""
    rng = resolve_rng(rng)
    layers = [AffineCoupling(dim, hidden, rng=rng, flip=bool(k % 2)) for k in range(n_layers)]
    return Flow(standard_normal(dim), layers + ([ActNorm(dim)] if actnorm else []))


def maf_flow(dim, n_layers=4, hidden=(64,), rng=None, actnorm=True):
    """Flow of ``n_layers`` MAFs, each in the reverse order of the one before."""
    rng = resolve_rng(rng)
    orders = [np.arange(dim) if k % 2 == 0 else np.arange(dim)[::-1] for k in range(n_layers)]
    layers = [MAF(dim, hidden, rng=rng, order=o) for o in orders]
    return Flow(standard_normal(dim), layers + ([ActNorm(dim)] if actnorm else []))


def planar_flow(dim, n_layers=16, rng=None):
    """Flow of ``n_layers`` planar layers (the variational posterior of Rezende and Mohamed)."""
    rng = resolve_rng(rng)
    return Flow(standard_normal(dim), [Planar(dim, rng=rng) for _ in range(n_layers)])


def iaf_flow(dim, n_layers=6, hidden=(32,), rng=None):
    """Flow of ``n_layers`` IAFs in alternating orders: one-pass sampling, for posteriors."""
    from dpm.models.flows.maf import IAF
    rng = resolve_rng(rng)
    orders = [np.arange(dim) if k % 2 == 0 else np.arange(dim)[::-1] for k in range(n_layers)]
    return Flow(standard_normal(dim), [IAF(dim, hidden, rng=rng, order=o) for o in orders])
