"""The Gumbel-max trick and its relaxation, Gumbel-softmax / Concrete (claims M3, M4).

Reading list: Maddison, Mnih & Teh, "The Concrete distribution: a continuous
relaxation of discrete random variables" (ICLR 2017); Jang, Gu & Poole,
"Categorical reparameterization with Gumbel-softmax" (ICLR 2017); lecture 001
(discrete VAE latents).

Gumbel-max (M3). With g_k ~ Gumbel(0, 1) independent (g = -log(-log u)),

    argmax_k (log pi_k + g_k) ~ Categorical(pi).

The argmax has no useful derivative, so the Concrete relaxation replaces it by
a softmax at temperature tau > 0 (M4):

    y = softmax((log pi + g) / tau),   y in the open simplex of R^K.

As tau -> 0, y tends to the one-hot vector of the Gumbel-max label; y is a
differentiable function of log pi for a fixed g, which is the
reparameterization. Its density with respect to the first K-1 coordinates
(the last is 1 - their sum) is

    log p(y) = log (K-1)! + (K-1) log tau + sum_k (log pi_k - (tau + 1) log y_k)
               - K logsumexp_k (log pi_k - tau log y_k).

Straight-through (``hard=True``): the forward value is the one-hot vector of
argmax y while the gradient is that of the soft sample y. It is written as
(y - stop_grad(y)) + one_hot, whose forward value is exactly one-hot
(y - y = 0 in floating point) and whose derivative is that of y.

Numerics: at very small tau, coordinates of y underflow to 0 in float64; such
a point is on the boundary of the simplex, outside the support, and its
log_prob is -inf. The samples themselves are still right (the soft one-hot).
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
from minigrad import Tensor
from dpm.distributions.base import (
    Distribution, Interval, as_shape, outside_to_neg_inf, positive_param, resolve_rng)
from dpm.distributions.categorical import Categorical


def gumbel_noise(shape, rng):
    """g ~ Gumbel(0, 1) = -log(-log u), u ~ U(0, 1), as an ndarray of ``shape``."""
    return resolve_rng(rng).gumbel(0.0, 1.0, size=as_shape(shape))


def gumbel_max_sample(logits, shape=(), rng=None):
    """Categorical draws argmax_k (logits_k + g_k) (M3); shape ``shape + logits.shape[:-1]``.

    ``logits`` may be unnormalised (adding a constant to every log pi_k does not
    move the argmax).
    """
    logits = np.asarray(getattr(logits, "data", logits), dtype=np.float64)
    g = gumbel_noise(as_shape(shape) + logits.shape, rng)
    return np.argmax(logits + g, axis=-1)


def one_hot(labels, num_categories, dtype=np.float64):
    """One-hot vectors of integer ``labels``: shape ``labels.shape + (K,)``."""
    labels = np.asarray(labels)
    return (labels[..., None] == np.arange(num_categories)).astype(dtype)


class RelaxedOneHotCategorical(Distribution):
    """Concrete / Gumbel-softmax at temperature ``temperature`` over K categories.

    ``probs`` or ``logits`` (exactly one; last axis = categories) give pi as
    for ``Categorical``; ``hard=True`` makes ``rsample`` straight-through.
    """

    has_rsample = True
    support = Interval(0.0, 1.0)   # each coordinate; log_prob also checks the simplex

    def __init__(self, temperature, probs=None, logits=None, hard=False):
        self.temperature = positive_param(temperature, "temperature")
        if self.temperature.size != 1:
            raise ValueError(f"temperature must be a single number, got shape "
                             f"{self.temperature.shape}")
        self.categorical = Categorical(probs=probs, logits=logits)
        self.hard = bool(hard)
        self.num_categories = self.categorical.num_categories
        super().__init__(batch_shape=self.categorical.batch_shape,
                         event_shape=(self.num_categories,))

    @property
    def probs(self):
        return self.categorical.probs

    @property
    def logits(self):
        """log pi (normalised), -inf where pi = 0."""
        return self.categorical.logits

    def rsample(self, shape=(), rng=None, hard=None):
        """y = softmax((log pi + g) / tau), a Tensor of ``shape + batch_shape + (K,)``.

        ``hard`` (default: the constructor's) gives the straight-through one-hot.
        """
        g = Tensor(gumbel_noise(self.extended_shape(shape), rng))
        y_soft = mg.softmax((self.logits + g) / mg.reshape(self.temperature, shape=()), axis=-1)
        if not (self.hard if hard is None else hard):
            return y_soft
        y_hard = Tensor(one_hot(np.argmax(y_soft.data, axis=-1), self.num_categories,
                                y_soft.dtype))
        # (y - stop_grad(y)) is exactly 0 forward; its derivative is dy.
        return (y_soft - y_soft.detach()) + y_hard

    def sample(self, shape=(), rng=None):
        """Soft samples (or one-hot ones if ``hard``) as an ndarray, no graph."""
        with mg.no_grad():
            return self.rsample(shape, rng).data

    def log_prob(self, value):
        """The Concrete log-density of points y of the open simplex (see the module).

        Shape: ``value.shape[:-1]`` broadcast with ``batch_shape``. Points with a
        coordinate <= 0 or not summing to 1 (within 1e-6) are outside: -inf.
        """
        y = value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=np.float64))
        K = self.num_categories
        if y.ndim == 0 or y.shape[-1] != K:
            raise ValueError(f"value must have last axis of length {K} (the categories), "
                             f"got shape {y.shape}")
        inside = np.all(y.data > 0, axis=-1) & (np.abs(y.data.sum(axis=-1) - 1) <= 1e-6)
        safe_y = y if inside.all() else mg.where(
            inside[..., None], y, Tensor(np.full(y.shape, 1.0 / K, dtype=y.dtype)))
        log_y = mg.log(safe_y)
        tau = mg.reshape(self.temperature, shape=())
        log_pi = self.logits
        if not np.all(log_pi.data > -np.inf):
            # A category of probability 0: the relaxed law lives on a face of the
            # simplex, where this density (w.r.t. K-1 coordinates) does not apply.
            raise ValueError("the Concrete density needs every probability > 0")
        log_norm = math.lgamma(K) + (K - 1) * mg.log(tau)
        log_density = (log_norm + (log_pi - (tau + 1.0) * log_y).sum(axis=-1)
                       - K * mg.logsumexp(log_pi - tau * log_y, axis=-1))
        return outside_to_neg_inf(log_density, np.broadcast_to(inside, log_density.shape))

    def __repr__(self):
        return (f"RelaxedOneHotCategorical(temperature={self.temperature.item():g}, "
                f"num_categories={self.num_categories}, batch_shape={self.batch_shape}"
                f"{', hard=True' if self.hard else ''})")
