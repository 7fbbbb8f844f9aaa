"""Monte Carlo expectations and the two gradient estimators (claims M1, M6).

Expectation (M1; lecture 000, "Monte Carlo integration"):

    E_p[f(X)] ~ (1/N) sum_i f(x_i),  x_i ~ p,   standard error = sd(f(X)) / sqrt(N)

unbiased, with a standard error that shrinks like 1/sqrt(N) (the sample
standard deviation stands in for sd(f(X))).

Gradients of J(theta) = E_{p_theta}[f(X)] (f not depending on theta), two ways
(lecture 003, "Reparameterization"; REINFORCE: Williams 1992):

- pathwise (reparameterized): x = g(eps; theta), eps from a fixed law, so
      dJ/dtheta = E_eps[ f'(g(eps; theta)) dg/dtheta ];
  needs ``has_rsample`` and a differentiable f.
- score function (REINFORCE, likelihood ratio): d p = p d log p, so
      dJ/dtheta = E_p[ (f(x) - b) d log p_theta(x) / dtheta ]
  for any baseline b independent of x (E_p[d log p] = 0 keeps it unbiased);
  needs only samples and log p, works for discrete x, f may be a black box.

Both are unbiased; the pathwise estimator typically has far lower variance
(M6), and a baseline lowers the score function's. Each estimator returns, per
parameter, a ``GradientEstimate(estimate, variance)``: ``estimate`` the
Estimate of the mean of the n per-sample gradients (with its standard
error; ``.mean``, ``.stderr`` and ``.n`` read through to it), ``variance``
the per-sample variance (the variance of one draw's gradient, the number
the M6 table compares).

Per-sample gradients come from one backward pass: each parameter is
replicated into an (n, ...) leaf, the distribution is built on the replicas
(batch of n), and sample i only touches row i, so row i of the leaf's gradient
is sample i's gradient.
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.ops.registry import Primitive


class Estimate(Tensor):
    """A Monte Carlo result: a Tensor (differentiable where the draws are) with its error.

    ``float(e)``, ``e.backward()`` and arithmetic work as on any Tensor (the
    result of arithmetic is a plain Tensor: the error does not propagate).
    ``e.stderr`` has the value's shape (a float for a scalar): one standard
    error. ``e.n`` is the number of draws (the effective sample size for
    MCMC). Build one with ``Estimate.from_draws`` (mean of per-draw values)
    or ``Estimate.from_tensor`` (a value and an error computed elsewhere).

    In the graph an Estimate is its own vertex: the output of the identity
    primitive ``_as_estimate`` applied to the value, so gradients pass
    through it unchanged (to any order) and the value Tensor keeps its node.
    """

    __slots__ = ("stderr", "n")

    def __repr__(self):
        return f"Estimate({np.array2string(self.data)} +- {self.stderr} (1 s.e.), n={self.n})"

    @classmethod
    def from_tensor(cls, value, stderr, n):
        """An Estimate of ``value`` (a Tensor or array, differentiable as it is), ``stderr``, ``n``."""
        value = value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=float))
        stderr = np.asarray(stderr, dtype=float)
        if stderr.shape != value.shape:
            raise ValueError(f"stderr must have the value's shape {value.shape}, got "
                             f"{stderr.shape}")
        out = _as_estimate(value)
        # The identity's output is fresh and held by nobody else: it becomes the Estimate
        # (a Primitive always returns a plain Tensor).
        estimate = cls._wrap(out.data)
        estimate.requires_grad, estimate._node = out.requires_grad, out._node
        estimate.stderr = float(stderr) if stderr.ndim == 0 else stderr
        estimate.n = n
        return estimate

    @classmethod
    def from_draws(cls, values, axis=0):
        """Mean of per-draw ``values`` over ``axis``, stderr = sample sd / sqrt(n).

        ``values`` is a Tensor (the mean keeps its graph) or an array; n is its
        length along ``axis``. An infinite mean has stderr NaN.
        """
        values = values if isinstance(values, Tensor) else Tensor(np.asarray(values, dtype=float))
        n = values.shape[axis]
        mean = mg.mean(values, axis=axis)
        if n > 1:
            with np.errstate(invalid="ignore"):  # inf - inf in the spread of an infinite mean
                stderr = values.data.std(axis=axis, ddof=1) / np.sqrt(n)
        else:
            stderr = np.full(mean.shape, np.nan)
        return cls.from_tensor(mean, stderr, n)


# The identity, as a primitive of its own (not in the registry: it is no
# mathematics, only the vertex an Estimate occupies). d/dx x = 1.
_as_estimate = Primitive("estimate", "identity", lambda x: x)
_as_estimate.defvjp(lambda g, out, x: g)
_as_estimate.defvjp_arrays(lambda g, out, x: g)


def check_sample_size(n):
    """``n`` as an int, or ValueError: a whole number >= 2 (a standard error needs two draws)."""
    whole = (isinstance(n, numbers.Real) and not isinstance(n, bool) and math.isfinite(n)
             and int(n) == n)
    if not whole or n < 2:
        raise ValueError(f"n must be an integer >= 2 (a standard error needs two draws), "
                         f"got {n!r}")
    return int(n)


def expectation(f, dist, n, rng):
    """Estimate of E_dist[f(X)] from n draws, with its standard error (M1).

    ``f`` maps the draws, shape (n,) + dist's batch and event shape, to
    per-draw values of shape (n,) or (n, ...) (an ndarray or a Tensor); the
    Estimate has the trailing shape, is the mean over the draws with stderr
    sd / sqrt(n), and keeps f's graph when f returns a Tensor. Draws come
    from ``sample`` (an ndarray: no pathwise gradient; see pathwise_gradient
    for that). ``rng`` is a numpy Generator.
    """
    n = check_sample_size(n)
    values = f(dist.sample((n,), rng))
    shape = np.shape(getattr(values, "data", values))
    if len(shape) == 0 or shape[0] != n:
        raise ValueError(f"f must return one value per draw (leading axis {n}), got shape "
                         f"{shape}")
    return Estimate.from_draws(values if isinstance(values, Tensor)
                               else np.asarray(values, dtype=np.float64))


# ------------------------------------------------------------------ gradients
def _replicated_leaves(params, n):
    """Each parameter copied n times into a leaf of shape (n, 1.., *shape), right-aligned.

    The padding 1s keep parameters of different ranks broadcasting as they did
    without the leading n axis (loc (2,) with scale () stays (n, 2) with (n, 1)).
    """
    if not isinstance(params, dict) or not params:
        raise ValueError(f"params must be a non-empty dict name -> value, got {params!r}")
    arrays = {name: np.asarray(getattr(v, "data", v), dtype=np.float64)
              for name, v in params.items()}
    depth = max(a.ndim for a in arrays.values())
    leaves = {}
    for name, a in arrays.items():
        shape = (n,) + (1,) * (depth - a.ndim) + a.shape
        leaves[name] = Tensor(np.broadcast_to(a.reshape(shape[1:]), shape).copy(),
                              requires_grad=True)
    return arrays, leaves


def _per_sample_values(result, n, what):
    values = result if isinstance(result, Tensor) else Tensor(np.asarray(result, dtype=float))
    if values.shape != (n,):
        if values.ndim >= 1 and values.shape[0] == n:
            return values.sum(axis=tuple(range(1, values.ndim)))
        raise ValueError(f"{what} must give one value per draw, shape ({n},), got {values.shape}")
    return values


class GradientEstimate(NamedTuple):
    """A Monte Carlo gradient: the Estimate of the mean of n per-sample gradients, and
    their per-sample ``variance``. ``mean`` (an ndarray), ``stderr`` and ``n`` read
    the Estimate."""
    estimate: Estimate
    variance: np.ndarray

    mean = property(lambda self: self.estimate.data)
    stderr = property(lambda self: self.estimate.stderr)
    n = property(lambda self: self.estimate.n)


def _summaries(arrays, leaves, n):
    out = {}
    for name, leaf in leaves.items():
        grads = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad
        grads = grads.reshape((n,) + arrays[name].shape)
        out[name] = GradientEstimate(Estimate.from_draws(grads), grads.var(axis=0, ddof=1))
    return out


def pathwise_gradient(f, dist_factory, params, n, rng):
    """d/dtheta E_{p_theta}[f(X)] by the reparameterization x = g(eps; theta).

    ``dist_factory(**params)`` builds the distribution (e.g.
    ``lambda loc, scale: Normal(loc, scale)``); ``params`` maps names to values
    (floats or arrays); ``f`` maps the Tensor of draws, shape (n,) + batch + event,
    to n per-draw values (trailing axes are summed). Returns
    ``{name: GradientEstimate}`` with means of each parameter's shape.
    """
    n = check_sample_size(n)
    arrays, leaves = _replicated_leaves(params, n)
    dist = dist_factory(**leaves)
    if not dist.has_rsample:
        raise ValueError(f"{type(dist).__name__} has no reparameterized sampler; use "
                         f"score_function_gradient")
    x = dist.rsample((), rng)
    if x.shape[:1] != (n,):
        raise ValueError(f"the distribution built on the replicated parameters must have batch "
                         f"shape starting with {n}; its draws have shape {x.shape}")
    values = _per_sample_values(f(x), n, "f")
    if values.requires_grad:
        values.sum().backward()
    return _summaries(arrays, leaves, n)


def score_function_gradient(f, dist_factory, params, n, rng, baseline=None):
    """d/dtheta E_{p_theta}[f(X)] = E[(f(x) - b) d log p_theta(x) / dtheta] (REINFORCE).

    Same arguments as ``pathwise_gradient``; f only needs to be evaluated (it
    receives a constant Tensor), and the law may be discrete. ``baseline``:
    - None: b = 0;
    - "mean": b_i = mean of f over the other n - 1 draws (leave-one-out, so b_i
      is independent of x_i and the estimator stays unbiased);
    - a callable ``baseline(params) -> number``: a constant b, e.g. a known or
      running estimate of E[f].
    """
    n = check_sample_size(n)
    arrays, leaves = _replicated_leaves(params, n)
    dist = dist_factory(**leaves)
    x = dist.sample((), rng)
    if np.shape(x)[:1] != (n,):
        raise ValueError(f"the distribution built on the replicated parameters must have batch "
                         f"shape starting with {n}; its draws have shape {np.shape(x)}")
    with mg.no_grad():
        f_values = _per_sample_values(f(Tensor(x)), n, "f").data
    if baseline is None:
        b = 0.0
    elif isinstance(baseline, str) and baseline == "mean":
        b = (f_values.sum() - f_values) / (n - 1)
    elif callable(baseline):
        b = float(baseline(dict(arrays)))
    else:
        raise ValueError(f"baseline must be None, 'mean' or a callable, got {baseline!r}")
    log_p = _per_sample_values(dist.log_prob(x), n, "log_prob")
    if log_p.requires_grad:
        (log_p * Tensor(f_values - b)).sum().backward()
    return _summaries(arrays, leaves, n)


def compare_gradient_estimators(f, dist_factory, params, n, rng):
    """The M6 comparison on one objective: a dict estimator -> {name: GradientEstimate}.

    Estimators: "pathwise", "score function", "score function + baseline"
    (leave-one-out mean), each from its own n fresh draws of ``rng``.
    """
    return {
        "pathwise": pathwise_gradient(f, dist_factory, params, n, rng),
        "score function": score_function_gradient(f, dist_factory, params, n, rng),
        "score function + baseline": score_function_gradient(f, dist_factory, params, n, rng,
                                                             baseline="mean"),
    }
