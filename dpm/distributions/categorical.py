"""Categorical(probs=None, logits=None): one of K labels 0..K-1 (claims K2, K4).

    P(X = k) = pi_k,   pi = probs   or   pi = softmax(logits)
    log P(X = k) = log_softmax(logits)_k = logits_k - logsumexp(logits)
    H(pi) = -sum_k pi_k log pi_k             (0 log 0 = 0)

The last axis of ``probs``/``logits`` holds the K categories; the axes before
it are the batch. Exactly one of the two is given. With ``probs`` every
entry must lie in [0, 1] and each row sum to 1 within a tolerance (1e-6 in
float64, 1e-4 in float32); a category of probability 0 has log-probability
-inf, and its gradient stays finite (the double-where below).

Samples are integer labels of shape ``shape + batch_shape``, drawn by
inverting the cumulative distribution: X = #{k : F_k <= u}, u ~ U(0, 1). They
are not differentiable (``has_rsample`` is False): use the score-function
estimator of ``dpm.montecarlo`` or the Gumbel-softmax relaxation of
``relaxed.py`` for gradients through a draw.

In a classifier, the negative log-likelihood -log pi_y of the label y is the
cross-entropy loss: fitting logits by maximum likelihood is minimising the
forward KL from the data's label distribution (K2). The KL to the uniform
categorical is log K - H(pi) (K4), registered in ``dpm.kl``.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor
from dpm.distributions.base import (
    Distribution, Interval, _show, as_param, as_shape, outside_to_neg_inf, resolve_rng)


def sum_tolerance(dtype):
    """How far from 1 a row of probabilities may sum: a few thousand ulps of the dtype."""
    return 1e-4 if np.dtype(dtype) == np.float32 else 1e-6


def check_probs(probs, name="probs", axis=-1):
    """``probs`` as a Tensor with entries in [0, 1] and rows summing to 1 along ``axis``."""
    probs = as_param(probs, name)
    data = probs.data
    if data.ndim == 0 and axis is not None:
        raise ValueError(f"{name} must have at least one axis (the categories), got a scalar")
    if not np.all((data >= 0) & (data <= 1)):
        raise ValueError(f"{name} must lie in [0, 1], got {_show(data)}")
    if axis is not None:
        totals = data.sum(axis=axis)
        if not np.all(np.abs(totals - 1) <= sum_tolerance(data.dtype)):
            raise ValueError(f"{name} must sum to 1 along the last axis (the categories), "
                             f"got sums {_show(totals)}")
    return probs


def log_of_probs(probs):
    """log p elementwise, -inf where p = 0, with a finite gradient everywhere.

    The double where: log sees 1 instead of 0, so the branch not taken sends
    no NaN (0 * 1/0) into the gradient.
    """
    positive = probs.data > 0
    if positive.all():
        return mg.log(probs)
    safe = mg.where(positive, probs, Tensor(np.ones_like(probs.data)))
    return outside_to_neg_inf(mg.log(safe), positive)


def entropy_from(probs, log_probs, axis=-1):
    """-sum p log p along ``axis`` with 0 log 0 = 0 (no NaN where p = 0)."""
    positive = probs.data > 0
    safe_log = log_probs if positive.all() else mg.where(
        positive, log_probs, Tensor(np.zeros_like(probs.data)))
    return -(probs * safe_log).sum(axis=axis)


class Categorical(Distribution):
    """Labels 0..K-1 with probabilities ``probs`` or ``softmax(logits)`` (last axis)."""

    has_rsample = False

    def __init__(self, probs=None, logits=None):
        if (probs is None) == (logits is None):
            raise ValueError("Categorical takes exactly one of probs= and logits=, "
                             f"got {'both' if probs is not None else 'neither'}")
        if probs is not None:
            self._probs, self._logits = check_probs(probs, "probs"), None
            shape = self._probs.shape
        else:
            self._logits, self._probs = as_param(logits, "logits"), None
            shape = self._logits.shape
            if len(shape) == 0:
                raise ValueError("logits must have at least one axis (the categories), "
                                 "got a scalar")
        if shape[-1] < 1:
            raise ValueError(f"there must be at least one category, got shape {shape}")
        self.num_categories = shape[-1]
        self.support = Interval(0, self.num_categories - 1, discrete=True)
        super().__init__(batch_shape=shape[:-1], event_shape=())

    # -- parameters, each from the other when needed
    @property
    def probs(self):
        """pi as a Tensor (softmax of the logits when given logits)."""
        return self._probs if self._probs is not None else mg.softmax(self._logits, axis=-1)

    @property
    def logits(self):
        """Normalised log-probabilities log pi (-inf where pi = 0)."""
        if self._logits is not None:
            return mg.log_softmax(self._logits, axis=-1)
        return log_of_probs(self._probs)

    # -- densities
    def log_prob(self, value):
        """log pi_value for integer labels; shape broadcast(value.shape, batch_shape).

        Labels outside {0, ..., K-1} (or not whole numbers) have log-probability -inf.
        """
        value = np.asarray(getattr(value, "data", value))
        inside = self.support.contains(value)
        labels = np.where(inside, value, 0).astype(np.intp)
        out_shape = np.broadcast_shapes(labels.shape, self.batch_shape)
        labels = np.broadcast_to(labels, out_shape).reshape(-1)
        table = self.logits
        if table.shape[:-1] != out_shape:
            table = mg.broadcast_to(table, shape=out_shape + (self.num_categories,))
        table = mg.reshape(table, shape=(-1, self.num_categories))
        picked = mg.reshape(table[np.arange(labels.size), labels], shape=out_shape)
        return outside_to_neg_inf(picked, np.broadcast_to(inside, out_shape))

    def entropy(self):
        """H(pi) = -sum_k pi_k log pi_k in nats (0 log 0 = 0)."""
        return entropy_from(self.probs, self.logits)

    @property
    def mean(self):
        raise NotImplementedError(
            "Categorical labels are unordered, so their mean is not meaningful; the mean of "
            "the one-hot vector is .probs")

    @property
    def variance(self):
        raise NotImplementedError(
            "Categorical labels are unordered, so their variance is not meaningful; the "
            "one-hot vector has variances probs * (1 - probs)")

    # -- sampling
    def sample(self, shape=(), rng=None):
        """Integer labels of shape ``shape + batch_shape`` by inverting the CDF."""
        rng = resolve_rng(rng)
        probs = self.probs.data.astype(np.float64)
        cdf = np.cumsum(probs, axis=-1)
        # Normalise by the row total so rounding in the cumsum cannot leave u above F_K.
        cdf = cdf / cdf[..., -1:]
        u = rng.random(as_shape(shape) + self.batch_shape + (1,))
        labels = np.sum(u >= cdf, axis=-1)          # number of F_k that u passed
        return np.minimum(labels, self.num_categories - 1).astype(np.int64)

    def __repr__(self):
        return (f"Categorical(num_categories={self.num_categories}, "
                f"batch_shape={self.batch_shape})")
