"""Probability distributions with reparameterized sampling, one family a file.

Every family implements the interface of ``base.Distribution``: log_prob,
sample, rsample (where ``has_rsample``), mean, variance, entropy.
"""
from dpm.distributions.base import Distribution, Interval  # noqa: F401
