"""Likelihood is not sample quality (G7): a Gaussian kernel density estimate, and a noisy mixture.

Theis, van den Oord and Bethge (2016), "A note on the evaluation of
generative models" (lecture 001):

- A KDE on the training points x_1..x_n with bandwidth h,

      q_h(x) = (1/n) sum_i N(x; x_i, h^2 I),
      log q_h(x) = logsumexp_i [log N(x; x_i, h^2 I)] - log n,

  draws samples x_i + h e: as h -> 0 they are the training points, perfect
  "samples", yet a held-out point far (in units of h) from every x_i gets
  log q_h ~ -min_i ||x - x_i||^2 / (2 h^2) -> -inf: poor test likelihood.
- A model that is 1% a good density p and 99% noise r,
  q = 0.01 p + 0.99 r, has log q(x) >= log(0.01 p(x)) = log p(x) - log 100
  everywhere (the second term is >= 0), so its log-likelihood is at most
  log 100 ~ 4.61 nats below p's, while 99 of 100 of its samples are noise.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import resolve_rng


class GaussianKDE:
    """q_h(x) = (1/n) sum_i N(x; x_i, h^2 I) on ``points`` (n, d) or (n,), bandwidth h."""

    def __init__(self, points, bandwidth):
        points = np.asarray(points, dtype=float)
        self.points = points[:, None] if points.ndim == 1 else points
        if self.points.ndim != 2 or len(self.points) == 0:
            raise ValueError(f"points must be a non-empty array (n,) or (n, d), got {points.shape}")
        self.bandwidth = float(bandwidth)
        if not np.isfinite(self.bandwidth) or self.bandwidth <= 0:
            raise ValueError(f"bandwidth must be a finite number > 0, got {bandwidth!r}")

    def log_prob(self, x, chunk=2048):
        """log q_h(x) for x of shape (m, d) (or (m,) in 1-D), by logsumexp over the points."""
        x = np.asarray(x, dtype=float)
        x = x[:, None] if x.ndim == 1 else x
        n, d = self.points.shape
        if x.ndim != 2 or x.shape[1] != d:
            raise ValueError(f"x must have shape (m, {d}), got {x.shape}")
        h2 = self.bandwidth ** 2
        log_norm = -0.5 * d * np.log(2.0 * np.pi * h2) - np.log(n)
        out = np.empty(len(x))
        for start in range(0, len(x), chunk):  # (chunk, n) distances at a time
            block = x[start:start + chunk]
            squared = (np.sum(block ** 2, 1)[:, None] - 2.0 * block @ self.points.T
                       + np.sum(self.points ** 2, 1)[None, :])
            exponents = -0.5 * np.maximum(squared, 0.0) / h2
            top = exponents.max(axis=1, keepdims=True)  # finite: the exponents are finite
            out[start:start + chunk] = (top[:, 0] + np.log(np.exp(exponents - top).sum(1))
                                        + log_norm)
        return out

    def sample(self, n, rng=None):
        """n draws x_I + h e, I uniform over the points, e ~ N(0, I): shape (n, d)."""
        rng = resolve_rng(rng)
        index = rng.integers(0, len(self.points), int(n))
        return self.points[index] + self.bandwidth * rng.standard_normal((int(n),
                                                                          self.points.shape[1]))


def mixture_log_prob(log_p, log_r, weight=0.01):
    """log(w p(x) + (1 - w) r(x)) from log p and log r, by logaddexp (exact in log space)."""
    weight = float(weight)
    if not 0.0 < weight < 1.0:
        raise ValueError(f"weight must be in (0, 1), got {weight!r}")
    return np.logaddexp(np.log(weight) + np.asarray(log_p, dtype=float),
                        np.log1p(-weight) + np.asarray(log_r, dtype=float))
