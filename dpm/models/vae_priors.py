"""Trainable priors for the VAE: a RealNVP flow prior p(z) (V10).

With z = f(u), u ~ N(0, I) and f = f_K o ... o f_1 invertible (lecture 002),

    log p(z) = log N(f^-1(z); 0, I) + log |det J_{f^-1}(z)|,

and the VAE's ELBO becomes E_q[log p(x | z) + log p(z) - log q(z | x)] with
this log p(z): no closed-form KL, so ``VAE.elbo`` takes the Monte Carlo form
(Chen et al. 2017, "Variational lossy autoencoder", use such a prior). A
flow prior lets p(z) follow the aggregate posterior q(z) = mean_x q(z | x)
where that is not Gaussian, which can tighten the KL part of the bound.

``flow_prior(dim)`` is a ``dpm.models.flows.Flow`` (a TransformedDistribution
and a ``minigrad.nn.Module``, so a VAE holding it trains its layers) of
RealNVP ``AffineCoupling`` layers with alternating halves, and for dim > 2 a
fixed random ``Permutation`` after every pair so that every coordinate meets
every other. Each coupling's output layer starts at zero, so s = t = 0 and
the flow starts as the identity: the VAE then starts exactly as the
standard-Normal-prior VAE of the same weights, and training moves the prior
only where the bound gains. No ActNorm: its data-dependent initialisation
would fire on the first batch of encoder draws of an untrained encoder, and
the couplings' biases already shift and scale each half.
"""
from __future__ import annotations

from dpm.distributions.base import resolve_rng
from dpm.models.flows import AffineCoupling, Flow, Permutation, standard_normal
from dpm.models.flows.base import check_dim


def flow_prior(dim, n_layers=4, hidden=(32,), rng=None, scale_bound=3.0, permute=None,
               identity_start=True):
    """p(z): N(0, I_dim) pushed through ``n_layers`` RealNVP couplings; a ``Flow``.

    Layer k changes the second half when k is even, the first when odd
    (``flip``); ``permute`` (default: dim > 2) puts a fixed random
    Permutation after every second coupling. ``identity_start`` zeroes each
    coupling's last Linear, so f = identity until training moves it.
    ``rng`` draws the networks' weights and the permutations.
    """
    dim = check_dim(dim)
    if dim < 2:
        raise ValueError(f"dim must be >= 2 for a coupling flow (a half must condition the "
                         f"other), got {dim}")
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
        raise ValueError(f"n_layers must be an integer >= 1, got {n_layers!r}")
    rng = resolve_rng(rng)
    permute = dim > 2 if permute is None else bool(permute)
    layers = []
    for k in range(n_layers):
        coupling = AffineCoupling(dim, hidden, rng=rng, flip=bool(k % 2),
                                  scale_bound=scale_bound)
        if identity_start:
            last = coupling.net.layers[-1]
            last.weight.data[...] = 0.0
            last.bias.data[...] = 0.0
        layers.append(coupling)
        if permute and k % 2 == 1 and k < n_layers - 1:
            layers.append(Permutation(dim, rng=rng))
    return Flow(standard_normal(dim), layers)
