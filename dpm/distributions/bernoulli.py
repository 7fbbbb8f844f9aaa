"""Bernoulli(probs=None, logits=None): a coin with P(X = 1) = p (claims K2, K1).

    P(X = x) = p^x (1 - p)^(1 - x),   x in {0, 1},   p = probs = sigmoid(logits)
    log P(X = x) = log_sigmoid((2x - 1) * logits)      (from logits)
                 = x log p + (1 - x) log(1 - p)        (from probs)
    mean p, variance p (1 - p),
    H = -p log p - (1 - p) log(1 - p) = softplus(logits) - p * logits

With logits the log-probability is computed as log_sigmoid, i.e.
-softplus(-t), never as log(sigmoid(t)): sigmoid(40) rounds to 1 and
sigmoid(-800) to 0, which would turn log P into 0 and -inf where the true
values are -4e-18 and -800. Averaged over labels y, -log P(y) is the binary
cross-entropy with logits, so maximum likelihood for a Bernoulli model is
minimising BCE (K2).

Exactly one of probs, logits is given; probs must lie in [0, 1] (0 and 1
allowed, giving -inf log-probabilities for the impossible outcome with a finite
gradient). Samples are floats 0.0/1.0 of shape ``shape + batch_shape``; they
are not reparameterizable (``has_rsample`` is False).
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor
from dpm.distributions.base import (
    Distribution, _show, as_param, as_shape, boolean, outside_to_neg_inf, resolve_rng)
from dpm.distributions.categorical import log_of_probs


def log_complement(probs):
    """log(1 - p) by log1p, -inf where p = 1, with a finite gradient everywhere."""
    below_one = probs.data < 1
    if below_one.all():
        return mg.log1p(-probs)
    safe = mg.where(below_one, probs, Tensor(np.zeros_like(probs.data)))
    return outside_to_neg_inf(mg.log1p(-safe), below_one)


def _infinite_slope_at_the_ends(p):
    """0 in value, with slope +inf at p = 0 and -inf at p = 1, and 0 slope elsewhere.

    dH/dp = log((1 - p) / p) tends to +inf as p -> 0 and -inf as p -> 1, but
    the 0 log 0 = 0 convention (the safe where) leaves a finite slope there
    (1 and -1). sqrt(u) - sqrt(u) is 0 with slope 1 / (2 sqrt u) = inf at u = 0:
    applied to u = p where p = 0 and to u = 1 - p where p = 1, it restores
    the one-sided derivatives without touching the value. (NumPy reports the
    1/0 of that slope as a divide RuntimeWarning during backward, as it does
    for any 1/0; ``np.errstate(divide="ignore")`` around backward silences it.)
    """
    at_zero, at_one = p.data == 0, p.data == 1
    if not (at_zero.any() or at_one.any()):
        return Tensor(np.zeros((), dtype=p.dtype))
    ones = Tensor(np.ones_like(p.data))
    # Double where: elsewhere sqrt sees the constant 1 (finite slope, masked off).
    u_zero = mg.where(at_zero, p, ones)
    u_one = mg.where(at_one, 1.0 - p, ones)
    return ((mg.sqrt(u_zero) - mg.sqrt(u_zero).detach())
            + (mg.sqrt(u_one) - mg.sqrt(u_one).detach()))


class Bernoulli(Distribution):
    """P(X = 1) = probs = sigmoid(logits); exactly one of them is given."""

    has_rsample = False
    support = boolean

    def __init__(self, probs=None, logits=None):
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli takes exactly one of probs= and logits=, "
                             f"got {'both' if probs is not None else 'neither'}")
        if probs is not None:
            self._probs, self._logits = as_param(probs, "probs"), None
            if not np.all((self._probs.data >= 0) & (self._probs.data <= 1)):
                raise ValueError(f"probs must lie in [0, 1], got {_show(self._probs.data)}")
            shape = self._probs.shape
        else:
            self._logits, self._probs = as_param(logits, "logits"), None
            shape = self._logits.shape
        super().__init__(batch_shape=shape, event_shape=())

    @property
    def probs(self):
        """p = sigmoid(logits) as a Tensor."""
        return self._probs if self._probs is not None else mg.sigmoid(self._logits)

    @property
    def logits(self):
        """log p - log(1 - p) (+-inf where p is 1 or 0)."""
        if self._logits is not None:
            return self._logits
        return log_of_probs(self._probs) - log_complement(self._probs)

    def log_probs_pair(self):
        """(log P(X = 0), log P(X = 1)) as Tensors, computed in log-space."""
        if self._logits is not None:
            return mg.log_sigmoid(-self._logits), mg.log_sigmoid(self._logits)
        return log_complement(self._probs), log_of_probs(self._probs)

    def log_prob(self, value):
        """log P(X = value); -inf for values other than 0 and 1."""
        value = np.asarray(getattr(value, "data", value), dtype=np.float64)
        inside = self.support.contains(value)
        x = np.where(inside, value, 1.0)                 # safe input outside the support
        if self._logits is not None:
            log_p = mg.log_sigmoid(self._logits * Tensor(2.0 * x - 1.0))
        else:
            log_q, log_p1 = self.log_probs_pair()
            shape = np.broadcast_shapes(x.shape, self.batch_shape)
            log_p = mg.where(np.broadcast_to(x == 1.0, shape), log_p1, log_q)
        inside = np.broadcast_to(inside, log_p.shape)
        return outside_to_neg_inf(log_p, inside)

    def entropy(self):
        """H = -p log p - (1 - p) log(1 - p) in nats (0 log 0 = 0)."""
        if self._logits is not None:
            # = softplus(t) - sigmoid(t) t: finite for every t, no 0 * inf
            return mg.softplus(self._logits) - mg.sigmoid(self._logits) * self._logits
        p = self._probs
        log_q, log_p1 = self.log_probs_pair()
        zeros = Tensor(np.zeros_like(p.data))
        safe_log_p1 = mg.where(p.data > 0, log_p1, zeros)
        safe_log_q = mg.where(p.data < 1, log_q, zeros)
        entropy = -(p * safe_log_p1 + (1.0 - p) * safe_log_q)
        return entropy + _infinite_slope_at_the_ends(p)

    @property
    def mean(self):
        """E[X] = p."""
        return self.probs

    @property
    def variance(self):
        """Var[X] = p (1 - p)."""
        p = self.probs
        return p * (1.0 - p)

    def sample(self, shape=(), rng=None):
        """0.0/1.0 floats of shape ``shape + batch_shape``: 1 where u < p, u ~ U(0, 1)."""
        rng = resolve_rng(rng)
        u = rng.random(as_shape(shape) + self.batch_shape)
        return (u < self.probs.data).astype(np.float64)

    def __repr__(self):
        return f"Bernoulli(batch_shape={self.batch_shape})"
