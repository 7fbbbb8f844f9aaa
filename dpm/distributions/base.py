"""Distribution: the interface every family implements.

A distribution with parameters theta offers
- ``log_prob(x)``: log p(x; theta) as a Tensor, differentiable in theta (and
  in x where that makes sense); ``-inf`` outside the support, never NaN;
- ``sample(shape, rng)``: an ndarray of draws, no graph;
- ``rsample(shape, rng)``: draws as a differentiable function of theta, the
  reparameterization x = g(eps; theta) with eps from a fixed base law
  (only where ``has_rsample``);
- ``mean``, ``variance``, ``stddev``, ``entropy()`` where closed-form,
  ``cdf(x)`` where offered.

Shapes follow torch.distributions: ``batch_shape`` is the broadcast shape of
the parameters (independent distributions side by side), ``event_shape`` the
shape of one draw (``()`` for scalars, ``(d,)`` for a d-dimensional
Gaussian). ``sample((n,))`` returns shape ``(n,) + batch_shape +
event_shape``; ``log_prob`` reduces the event dimensions and returns
``sample_shape + batch_shape``.

Randomness: every sampler takes ``rng``, a ``numpy.random.Generator``; the
same seed gives the same numbers. ``rng=None`` draws a fresh unseeded
generator (like NumPy), so pass one for reproducible work.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor


class Interval:
    """The support [low, high] (either end may be infinite), per batch element.

    ``contains(x)`` is a boolean ndarray; ``low``/``high`` are floats or
    ndarrays broadcasting with the batch shape. Quadrature references use
    the bounds to integrate over the union of two supports.
    """

    def __init__(self, low=-np.inf, high=np.inf, discrete=False):
        self.low = low
        self.high = high
        self.discrete = discrete

    def contains(self, x):
        x = np.asarray(getattr(x, "data", x))
        inside = (x >= self.low) & (x <= self.high)
        if self.discrete:
            inside &= x == np.round(x)
        return inside

    def __repr__(self):
        kind = "integers" if self.discrete else "interval"
        return f"{kind}[{self.low}, {self.high}]"


real = Interval()
positive = Interval(0.0, np.inf)
unit_interval = Interval(0.0, 1.0)
boolean = Interval(0.0, 1.0, discrete=True)


def as_param(value, name):
    """A parameter as a Tensor (kept as given if it is one), checked finite."""
    tensor = value if isinstance(value, Tensor) else Tensor(value)
    if not np.all(np.isfinite(tensor.data)):
        raise ValueError(f"{name} must be finite, got {_show(tensor.data)}")
    return tensor


def positive_param(value, name):
    """A parameter that must be > 0 (a scale, a rate, a temperature)."""
    tensor = as_param(value, name)
    if not np.all(tensor.data > 0):
        raise ValueError(f"{name} must be > 0, got {_show(tensor.data)}")
    return tensor


def _show(array):
    array = np.asarray(array)
    return repr(array.item()) if array.size == 1 else np.array2string(array, threshold=8)


def resolve_rng(rng):
    """``rng`` if it is a Generator; a fresh one if None; else a clear error."""
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


def _is_count(n):
    """An integer (Python or NumPy, or a 0-d integer array; not a bool): a sample shape's entry."""
    if isinstance(n, np.ndarray) and n.shape == () and np.issubdtype(n.dtype, np.integer):
        return True
    return isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))


def as_shape(shape):
    """A sample shape as a tuple: () or n or (n, m, ...), each a non-negative integer.

    ``int(2.7)`` would silently draw 2 values, so anything that is not an
    integer (2.7, 2.5, "3", True) is refused with a ValueError naming the shape.
    """
    entries = (shape,) if np.ndim(shape) == 0 and not isinstance(shape, tuple) else shape
    try:
        entries = tuple(entries)
    except TypeError:
        raise ValueError(f"sample shape must be an integer or a tuple of integers, "
                         f"got {shape!r}") from None
    if not all(_is_count(n) for n in entries):
        raise ValueError(f"sample shape must be an integer or a tuple of integers, "
                         f"got {shape!r}")
    if any(n < 0 for n in entries):
        raise ValueError(f"sample shape must be non-negative, got {shape!r}")
    return tuple(int(n) for n in entries)


def as_value(x, dtype):
    """A point x at which to evaluate a density, as a Tensor.

    Tensors and floating ndarrays keep their dtype (so a float64 x against
    float32 parameters promotes, as in NumPy); Python numbers, lists and
    integer arrays take the distribution's ``dtype``, as torch treats Python
    scalars, so float32 parameters give a float32 log_prob.
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
        return Tensor(x)
    if isinstance(x, np.floating):
        return Tensor(np.asarray(x))
    return Tensor(np.asarray(x, dtype=dtype))


def constant(value, like):
    """``value`` as a constant Tensor of ``like``'s dtype (no float32 -> float64 promotion)."""
    return Tensor(np.asarray(value, dtype=like.dtype))


def broadcast_batch_shape(**params):
    """The NumPy broadcast of the named parameters' shapes (their batch shape).

    Raises ValueError naming every parameter and its shape when they do not
    broadcast, e.g. ``broadcast_batch_shape(loc=loc, scale=scale)``.
    """
    shapes = {name: np.shape(getattr(value, "data", value)) for name, value in params.items()}
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        listed = ", ".join(f"{name} of shape {shape}" for name, shape in shapes.items())
        raise ValueError(f"parameter shapes do not broadcast: {listed}") from None


def expand_to(tensor, shape):
    """``tensor`` broadcast to ``shape`` (a differentiable copy, or itself if it fits)."""
    shape = tuple(shape)
    return tensor if tensor.shape == shape else mg.broadcast_to(tensor, shape=shape)


def uniform_open(rng, shape):
    """Draws from U(0, 1) excluding both ends: (j + 1/2) / 2^52, j uniform on 0..2^52-1.

    ``rng.random`` returns k / 2^53 and so can return exactly 0; inverse-CDF
    samplers that take log u or log(1 - u) need u strictly inside (0, 1).
    The midpoints of a 2^-52 grid are exact in float64, lie in
    [2^-53, 1 - 2^-53] and are symmetric about 1/2.
    """
    grid = 2.0 ** 52
    return (np.floor(rng.random(shape) * grid) + 0.5) / grid


def outside_to_neg_inf(log_density, inside):
    """``log_density`` where ``inside`` holds, -inf elsewhere.

    The caller must already have computed ``log_density`` on a *safe* input
    (out-of-support points moved inside) so that its gradient is finite: the
    double-where idiom, so the branch not taken cannot send NaN backwards.
    """
    inside = np.asarray(inside, dtype=bool)
    if inside.all():
        return log_density
    return mg.where(inside, log_density, constant(-np.inf, log_density))


class Distribution:
    """Base class: subclasses set ``batch_shape``/``event_shape`` and override methods."""

    has_rsample = False
    support = real

    def __init__(self, batch_shape=(), event_shape=()):
        self.batch_shape = tuple(batch_shape)
        self.event_shape = tuple(event_shape)

    def extended_shape(self, sample_shape=()):
        """``sample_shape + batch_shape + event_shape``."""
        return as_shape(sample_shape) + self.batch_shape + self.event_shape

    # -- sampling
    def rsample(self, shape=(), rng=None):
        """Reparameterized draws: a Tensor differentiable in the parameters."""
        raise NotImplementedError(
            f"{type(self).__name__} has no reparameterized sampler (has_rsample is False); "
            f"use sample() with a score-function estimator (dpm.montecarlo) instead")

    def sample(self, shape=(), rng=None):
        """Draws as an ndarray of shape ``shape + batch_shape + event_shape`` (no graph)."""
        if not self.has_rsample:
            raise NotImplementedError(f"{type(self).__name__}.sample is not implemented")
        with mg.no_grad():
            return self.rsample(shape, rng).data

    # -- densities
    def log_prob(self, x):
        """log p(x) as a Tensor of shape ``sample_shape + batch_shape``."""
        raise NotImplementedError(f"{type(self).__name__}.log_prob is not implemented")

    def prob(self, x):
        """p(x) = exp(log p(x))."""
        return mg.exp(self.log_prob(x))

    def cdf(self, x):
        raise NotImplementedError(f"{type(self).__name__} offers no cdf")

    # -- moments
    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} has no closed-form mean")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} has no closed-form variance")

    @property
    def stddev(self):
        return mg.sqrt(self.variance)

    def entropy(self):
        """H(p) = -E_p[log p(X)] in nats, where closed-form."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form entropy")

    def __repr__(self):
        return (f"{type(self).__name__}(batch_shape={self.batch_shape}, "
                f"event_shape={self.event_shape})")
