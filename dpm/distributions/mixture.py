"""GaussianMixture(weights, locs, scales): K Gaussians mixed by weights pi (claim M5).

Lecture 000 ("Digression: Gaussian mixture models") builds a K-modal law
from a latent label:

    z ~ Categorical(pi),   x | z = k ~ N(mu_k, diag(s_k^2))

and gets the density by marginalising z, in log-space:

    log p(x) = log sum_k pi_k N(x; mu_k, s_k) = logsumexp_k (log pi_k + log N(x; mu_k, s_k))

Shapes: 1-D mixtures take weights (K,), locs (K,), scales (K,); diagonal
d-D mixtures take locs (K, d) and scales (K, d) (or anything broadcasting to
it, e.g. (K, 1)). ``log_prob(x)`` takes x of any shape (1-D) or (..., d)
(d-D) and returns the shape without the event axis.

Moments by the laws of total expectation and variance (per coordinate):

    E[x] = sum_k pi_k mu_k,   Var[x] = sum_k pi_k (s_k^2 + mu_k^2) - E[x]^2

How log_prob is computed: when no gradient is needed (no parameter and no x
requires grad, or inside ``minigrad.no_grad``), by the fused Numba kernel of
``dpm.kernels.mixture`` (no (N x K) temporary); otherwise through minigrad
primitives (logsumexp over a (..., K) array), so gradients reach the weights,
locs and scales. Sampling is ancestral (z first, then x | z), not
reparameterizable in z: ``has_rsample`` is False.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.autodiff import STATE
from dpm.kernels import mixture as kernels
from dpm.distributions.base import (
    Distribution, _show, as_param, as_shape, as_value, positive_param, real, resolve_rng)
from dpm.distributions.categorical import Categorical, check_probs, log_of_probs
from dpm.montecarlo import Estimate, check_sample_size

HALF_LOG_2PI = kernels.HALF_LOG_2PI


class GaussianMixture(Distribution):
    """sum_k pi_k N(mu_k, diag(s_k^2)) in 1-D (locs (K,)) or diagonal d-D (locs (K, d))."""

    has_rsample = False
    support = real

    def __init__(self, weights, locs, scales):
        self.weights = check_probs(weights, "weights")
        self.locs = as_param(locs, "locs")
        self.scales = positive_param(scales, "scales")
        if self.weights.ndim != 1:
            raise ValueError(f"weights must have shape (K,), got {self.weights.shape}")
        K = self.weights.shape[0]
        if self.locs.ndim not in (1, 2) or self.locs.shape[0] != K:
            raise ValueError(f"locs must have shape (K,) or (K, d) with K = {K} (the length "
                             f"of weights), got {self.locs.shape}")
        try:
            np.broadcast_to(self.scales.data, self.locs.shape)
        except ValueError:
            raise ValueError(f"scales of shape {self.scales.shape} do not broadcast to locs' "
                             f"shape {self.locs.shape}") from None
        self.num_components = K
        self.dim = 1 if self.locs.ndim == 1 else self.locs.shape[1]
        super().__init__(batch_shape=(), event_shape=self.locs.shape[1:])
        self.dtype = np.result_type(self.weights.data, self.locs.data, self.scales.data)

    # -- densities
    def _needs_graph(self, x):
        if not STATE.grad_enabled:
            return False
        return any(isinstance(t, Tensor) and t.requires_grad
                   for t in (x, self.weights, self.locs, self.scales))

    def _check_event(self, x):
        if self.locs.ndim == 2 and (np.ndim(x) == 0 or np.shape(x)[-1] != self.dim):
            raise ValueError(f"x must have last axis of length d = {self.dim}, got shape "
                             f"{np.shape(x)}")

    def component_log_probs(self, x):
        """log pi_k + log N(x; mu_k, s_k) for every k: shape (sample shape..., K)."""
        x = as_value(x, self.dtype)
        self._check_event(x.data)
        scales = self.scales if self.scales.shape == self.locs.shape else mg.broadcast_to(
            self.scales, shape=self.locs.shape)
        log_weights = log_of_probs(self.weights)
        if self.locs.ndim == 1:
            z = (mg.reshape(x, shape=x.shape + (1,)) - self.locs) / scales
            return log_weights - mg.log(scales) - HALF_LOG_2PI - 0.5 * z * z
        z = (mg.reshape(x, shape=x.shape[:-1] + (1, self.dim)) - self.locs) / scales
        return (log_weights - mg.log(scales).sum(axis=-1) - self.dim * HALF_LOG_2PI
                - 0.5 * (z * z).sum(axis=-1))

    def log_prob(self, x):
        """log p(x) = logsumexp_k (log pi_k + log N(x; mu_k, s_k))  (M5)."""
        if self._needs_graph(x):
            return mg.logsumexp(self.component_log_probs(x), axis=-1)
        x = as_value(x, self.dtype).data
        self._check_event(x)
        # The fused kernel works in float64; the result keeps the inputs' dtype.
        log_p = kernels.mixture_log_prob(x, self.weights.data, self.locs.data, self.scales.data)
        return Tensor(log_p.astype(np.result_type(x, self.dtype), copy=False))

    def responsibilities(self, x):
        """p(z = k | x) = softmax_k (log pi_k + log N(x; mu_k, s_k)): shape (..., K)."""
        return mg.softmax(self.component_log_probs(x), axis=-1)

    # -- moments
    def _weights_column(self):
        return self.weights if self.locs.ndim == 1 else mg.reshape(self.weights, shape=(-1, 1))

    @property
    def mean(self):
        """E[x] = sum_k pi_k mu_k."""
        return (self._weights_column() * self.locs).sum(axis=0)

    @property
    def variance(self):
        """Var[x] = sum_k pi_k (s_k^2 + mu_k^2) - E[x]^2 (total variance, per coordinate)."""
        second = (self._weights_column() * (self.scales * self.scales + self.locs * self.locs))
        mean = self.mean
        return second.sum(axis=0) - mean * mean

    # -- sampling
    def sample_joint(self, shape=(), rng=None):
        """(x, z): ancestral draws z ~ Categorical(pi), x ~ N(mu_z, s_z); no graph."""
        rng = resolve_rng(rng)
        shape = as_shape(shape)
        labels = Categorical(probs=self.weights.data).sample(shape, rng)
        locs = self.locs.data
        scales = np.broadcast_to(self.scales.data, locs.shape)
        eps = rng.standard_normal(shape + self.event_shape)
        return locs[labels] + scales[labels] * eps, labels

    def sample(self, shape=(), rng=None):
        """Draws of shape ``shape + event_shape`` (event () in 1-D, (d,) in d-D)."""
        return self.sample_joint(shape, rng)[0]

    def __repr__(self):
        return (f"GaussianMixture(K={self.num_components}, "
                f"{'1-D' if self.locs.ndim == 1 else f'd={self.dim}'}, "
                f"weights={_show(self.weights.data)})")


def monte_carlo_kl_to_normal(p, q_loc, q_scale, n, rng):
    """KL(p || N(q_loc, diag q_scale^2)) ~ (1/n) sum_i [log p(x_i) - log q(x_i)], x_i ~ p.

    Unbiased; its standard error is sqrt(sample variance / n). ``p`` is a
    GaussianMixture; the integrand runs in one fused pass (Numba kernel, no N x K
    array). Returns a ``dpm.montecarlo.Estimate`` (a scalar, no graph).
    """
    if not isinstance(p, GaussianMixture):
        raise TypeError(f"p must be a GaussianMixture, got {type(p).__name__}")
    n = check_sample_size(n)
    q_scale = np.asarray(getattr(q_scale, "data", q_scale), dtype=np.float64)
    if not np.all(q_scale > 0):
        raise ValueError(f"q_scale must be > 0, got {_show(q_scale)}")
    x = p.sample((n,), rng)
    estimate, stderr = kernels.mixture_normal_log_ratio_stats(
        x, p.weights.data, p.locs.data, p.scales.data,
        np.asarray(getattr(q_loc, "data", q_loc), dtype=np.float64), q_scale)
    return Estimate.from_tensor(estimate, stderr, n)
