"""Probability distributions with reparameterized sampling, one family a file.

Every family implements the interface of ``base.Distribution``: log_prob,
sample, rsample (where ``has_rsample``), mean, variance, entropy. Normal,
Cauchy, Laplace and Gumbel are ``location_scale.LocationScale`` families:
each declares only its standard law.
"""
from dpm.distributions.base import Distribution, Interval  # noqa: F401
from dpm.distributions.location_scale import LocationScale  # noqa: F401
from dpm.distributions.normal import Normal  # noqa: F401
from dpm.distributions.multivariate_normal import DiagonalNormal, MultivariateNormal  # noqa: F401
from dpm.distributions.uniform import Uniform  # noqa: F401
from dpm.distributions.exponential import Exponential  # noqa: F401
from dpm.distributions.cauchy import Cauchy  # noqa: F401
from dpm.distributions.laplace import Laplace  # noqa: F401
from dpm.distributions.gumbel import Gumbel  # noqa: F401
from dpm.distributions.gamma import Gamma  # noqa: F401
from dpm.distributions.transformed import (  # noqa: F401
    AffineTransform, ExpTransform, SigmoidTransform, TanhTransform, Transform,
    TransformedDistribution)
from dpm.distributions.bernoulli import Bernoulli  # noqa: F401
from dpm.distributions.categorical import Categorical  # noqa: F401
from dpm.distributions.relaxed import RelaxedOneHotCategorical  # noqa: F401
from dpm.distributions.mixture import GaussianMixture  # noqa: F401
