"""Distributions of transformed variables: the change-of-variables formula.

If x ~ p_X and y = f(x) with f invertible and differentiable, then

    log p_Y(y) = log p_X(x) - log |det J_f(x)|,   x = f^{-1}(y)
               = log p_X(x) + log |det J_{f^-1}(y)|

(lecture 002: p(y) = p(x) |det dx/dy|; claim N1). For a chain
y = f_K(... f_1(x)), the log-determinants add.

A *transform* is any object with

- ``forward(x) -> (y, log_det)``, log_det = log |det dy/dx|;
- ``inverse(y) -> (x, log_det)``, log_det = log |det dx/dy|;
- ``event_dim``: 0 for elementwise transforms (log_det has x's shape), 1
  for transforms of vectors such as coupling layers (log_det has the
  shape of x without its last axis);
- ``in_codomain(y)``: a boolean ndarray, True where y is an image point,
  and ``safe_point``, a value inside the codomain. y outside the codomain
  has density 0: log_prob gives -inf there, computing on ``safe_point``
  instead so the gradient stays finite (the double where).

``Transform`` below is their base class; the flows of
``dpm.models.flows`` add more. Here: AffineTransform, ExpTransform,
SigmoidTransform, TanhTransform, all elementwise and strictly monotone.
Their codomains are open intervals, so the boundary (y = 0 for exp,
y = +-1 for tanh) gets -inf; a sample that rounds onto the boundary
(tanh(x) for |x| > 19) therefore has log_prob -inf.
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import Distribution, _show, as_param, as_shape, resolve_rng
import minigrad as mg
from minigrad import as_tensor

LOG_2 = float(np.log(2.0))


class Transform:
    """An invertible elementwise map on an open interval codomain (low, high)."""

    event_dim = 0
    codomain_low, codomain_high = -np.inf, np.inf
    safe_point = 0.0
    sign = 1.0  # +1 increasing, -1 decreasing (AffineTransform: the sign of its scale)

    def forward(self, x):
        raise NotImplementedError

    def inverse(self, y):
        raise NotImplementedError

    def in_codomain(self, y):
        y = np.asarray(getattr(y, "data", y))
        if self.codomain_low == -np.inf and self.codomain_high == np.inf:
            return ~np.isnan(y)
        return (y > self.codomain_low) & (y < self.codomain_high)

    def output_shape(self, shape):
        """The shape of forward(x) for x of ``shape`` (parameters may broadcast it)."""
        return tuple(shape)


class AffineTransform(Transform):
    """y = loc + scale x (scale != 0); log |dy/dx| = log |scale|."""

    def __init__(self, loc, scale):
        self.loc = as_param(loc, "loc")
        self.scale = as_param(scale, "scale")
        if np.any(self.scale.data == 0):
            raise ValueError(f"scale must be nonzero (an affine map with scale 0 is not "
                             f"invertible), got {_show(self.scale.data)}")
        self.sign = np.sign(self.scale.data)

    def _log_abs_scale(self, shape):
        log_abs = mg.log(mg.abs(self.scale))
        return mg.broadcast_to(log_abs, shape=np.broadcast_shapes(shape, log_abs.shape))

    def forward(self, x):
        y = self.loc + self.scale * as_tensor(x)
        return y, self._log_abs_scale(y.shape)

    def inverse(self, y):
        x = (as_tensor(y) - self.loc) / self.scale
        return x, -self._log_abs_scale(x.shape)

    def output_shape(self, shape):
        return np.broadcast_shapes(tuple(shape), self.loc.shape, self.scale.shape)


class ExpTransform(Transform):
    """y = e^x onto (0, inf); log |dy/dx| = x."""

    codomain_low = 0.0
    safe_point = 1.0

    def forward(self, x):
        x = as_tensor(x)
        return mg.exp(x), x

    def inverse(self, y):
        log_y = mg.log(as_tensor(y))
        return log_y, -log_y


class SigmoidTransform(Transform):
    """y = 1 / (1 + e^{-x}) onto (0, 1); log |dy/dx| = log s(x) + log s(-x)."""

    codomain_low, codomain_high = 0.0, 1.0
    safe_point = 0.5

    def forward(self, x):
        x = as_tensor(x)
        return mg.sigmoid(x), mg.log_sigmoid(x) + mg.log_sigmoid(-x)

    def inverse(self, y):
        y = as_tensor(y)
        log_y, log_1my = mg.log(y), mg.log1p(-y)
        return log_y - log_1my, -(log_y + log_1my)  # logit, -log(y (1 - y))


class TanhTransform(Transform):
    """y = tanh x onto (-1, 1); log |dy/dx| = log(1 - tanh^2 x) = 2 (log 2 - x - softplus(-2x))."""

    codomain_low, codomain_high = -1.0, 1.0
    safe_point = 0.0

    def forward(self, x):
        x = as_tensor(x)
        # The softplus form stays accurate where 1 - tanh^2 x underflows.
        return mg.tanh(x), (LOG_2 - x - mg.softplus(x * -2.0)) * 2.0

    def inverse(self, y):
        y = as_tensor(y)
        log_1py, log_1my = mg.log1p(y), mg.log1p(-y)
        return (log_1py - log_1my) * 0.5, -(log_1py + log_1my)  # atanh y, -log(1 - y^2)


class TransformedDistribution(Distribution):
    """The law of y = f_K(... f_1(x)) for x ~ ``base`` and ``transforms`` = [f_1, ..., f_K].

    log_prob(y) inverts the chain and adds the inverse log-determinants,
    summed over the event axes each transform has not already reduced.
    ``rsample`` pushes the base's reparameterized draws forward, so it
    exists when the base has one. ``cdf`` is offered for a scalar base and
    monotone scalar transforms: F_Y(y) = F_X(x) if the chain increases,
    1 - F_X(x) if it decreases.
    """

    def __init__(self, base, transforms):
        if not isinstance(base, Distribution):
            raise TypeError(f"base must be a Distribution, got {type(base).__name__}")
        if isinstance(transforms, Transform) or hasattr(transforms, "forward"):
            transforms = [transforms]
        self.base = base
        self.transforms = list(transforms)
        for t in self.transforms:
            if not (hasattr(t, "forward") and hasattr(t, "inverse")):
                raise TypeError(f"each transform needs forward() and inverse(), got "
                                f"{type(t).__name__}")
        shape = base.batch_shape + base.event_shape
        for t in self.transforms:
            shape = t.output_shape(shape) if hasattr(t, "output_shape") else shape
        n_event = len(base.event_shape)
        super().__init__(shape[:len(shape) - n_event], base.event_shape)
        self.has_rsample = base.has_rsample

    def _reduce(self, log_det, transform):
        """Sum a transform's log_det over the event axes it left unreduced."""
        extra = len(self.event_shape) - getattr(transform, "event_dim", 0)
        return log_det.sum(axis=tuple(range(-extra, 0))) if extra > 0 else log_det

    def _base_draw_shape(self, shape):
        """The sample shape to ask of the base so that draws cover the whole batch.

        Transform parameters may add leading batch axes (AffineTransform with
        an array loc over a scalar base): the base then draws them as sample
        axes, independently.
        """
        shape = as_shape(shape)
        extra = len(self.batch_shape) - len(self.base.batch_shape)
        if self.batch_shape[extra:] != self.base.batch_shape:
            raise NotImplementedError(
                f"the transforms broadcast the base's batch shape {self.base.batch_shape} to "
                f"{self.batch_shape}; draws would be shared along the broadcast axes, so give "
                f"the base distribution the full batch shape")
        return shape + self.batch_shape[:extra]

    def _push_forward(self, x):
        for t in self.transforms:
            x, _ = t.forward(x)
        return x

    def rsample(self, shape=(), rng=None):
        """y = f_K(... f_1(x)) with x = base.rsample(shape, rng)."""
        if not self.has_rsample:
            return super().rsample(shape, rng)
        return self._push_forward(self.base.rsample(self._base_draw_shape(shape), rng))

    def sample(self, shape=(), rng=None):
        draws = self.base.sample(self._base_draw_shape(shape), resolve_rng(rng))
        with mg.no_grad():
            return self._push_forward(mg.Tensor(draws)).data

    def log_prob(self, y):
        """log p_X(x) + sum_k log |det dx_k-1/dx_k| along the inverted chain; -inf off the image."""
        value = as_tensor(y)
        inside = np.ones(value.shape, dtype=bool)
        log_det_sum = 0.0
        for t in reversed(self.transforms):
            ok = t.in_codomain(value) if hasattr(t, "in_codomain") else np.ones(value.shape, bool)
            inside = inside & ok if ok.shape == inside.shape else np.broadcast_to(
                inside, np.broadcast_shapes(inside.shape, ok.shape)) & ok
            if not ok.all():  # double where: invert only points of the codomain
                value = mg.where(ok, value, t.safe_point)
            value, log_det = t.inverse(value)
            log_det_sum = log_det_sum + self._reduce(log_det, t)
        log_density = self.base.log_prob(value) + log_det_sum
        # Reduce the pointwise mask over the event axes: a vector is inside
        # only if all its coordinates are.
        if self.event_shape:
            inside = inside.all(axis=tuple(range(-len(self.event_shape), 0)))
        if inside.all():
            return log_density
        inside = np.broadcast_to(inside, np.broadcast_shapes(inside.shape, log_density.shape))
        return mg.where(inside, log_density, -np.inf)

    def cdf(self, y):
        """F_X(f^{-1}(y)), or 1 - F_X(f^{-1}(y)) where the chain is decreasing.

        Off the image: 0 below it, 1 above it (the image of an interval under
        monotone maps is an interval).
        """
        if self.event_shape or any(getattr(t, "event_dim", 0) for t in self.transforms):
            raise NotImplementedError("cdf needs a scalar base and elementwise transforms")
        value = as_tensor(y)
        sign = np.ones(())               # sign of the part of the chain already inverted
        undecided = np.ones(value.shape, dtype=bool)
        off_image = np.zeros(value.shape)  # the cdf at points found off the image
        for t in reversed(self.transforms):
            ok = t.in_codomain(value)
            shape = np.broadcast_shapes(undecided.shape, ok.shape, np.shape(sign))
            newly_out = np.broadcast_to(undecided, shape) & ~ok
            # Below t's codomain means below the image in y-space if the rest of the
            # chain increases, above it if it decreases.
            below_in_y = (value.data <= t.codomain_low) == (np.asarray(sign) > 0)
            off_image = np.where(newly_out, np.where(below_in_y, 0.0, 1.0), off_image)
            undecided = np.broadcast_to(undecided, shape) & ok
            if not ok.all():  # double where: invert only points of the codomain
                value = mg.where(ok, value, t.safe_point)
            value, _ = t.inverse(value)
            sign = sign * getattr(t, "sign", 1.0)
        base_cdf = self.base.cdf(value)
        decreasing = np.broadcast_to(np.asarray(sign) < 0, base_cdf.shape)
        cdf = mg.where(decreasing, 1.0 - base_cdf, base_cdf) if decreasing.any() else base_cdf
        if undecided.all():
            return cdf
        shape = np.broadcast_shapes(cdf.shape, undecided.shape)
        return mg.where(np.broadcast_to(undecided, shape), cdf,
                        np.broadcast_to(off_image, shape).copy())
