"""Reductions and the softmax family (claims A1, A3).

A reduction's gradient is the upstream gradient put back on the reduced axes
(reshaped to keep them as size 1) and broadcast to the input's shape, times
the derivative of the reduction: 1 for sum, 1/n for mean, an indicator of the
arg-max for max, the softmax for logsumexp.

logsumexp, softmax and log_softmax run on the Numba kernels of
:mod:`minigrad.kernels` (or their NumPy twins), which are exact for huge
magnitudes and give -inf with zero gradient for an all -inf row.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from minigrad import autodiff, kernels
from minigrad.ops.registry import const_like, primitive
from minigrad.tensor import make_tensor
from minigrad.ops.shape import broadcast_to, reshape


def normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(int(a) % builtins.max(ndim, 1))
    return tuple(sorted(set(out)))


def kept_shape(shape, axis):
    """The shape of a reduction over ``axis`` with keepdims=True."""
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_to_input(g, x, axis):
    """Upstream gradient ``g`` of a reduction, broadcast back to ``x``'s shape."""
    return broadcast_to(reshape(g, shape=kept_shape(x.shape, axis)), shape=x.shape)


def _reduction_examples(rng):
    x = rng.normal(size=(3, 4, 5))
    return [((x,), {}), ((x,), {"axis": 1}), ((x,), {"axis": (0, 2), "keepdims": True}),
            ((x,), {"axis": -1, "keepdims": False}), ((rng.normal(size=()),), {})]


@primitive("sum", "reduction", _reduction_examples)
def sum(x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims)


sum.defvjp(lambda g, out, x, axis=None, keepdims=False:  # d sum = 1
           expand_to_input(g, x, axis))


def _expand_array(g, x, axis):
    """``expand_to_input`` on ndarrays (filling a fresh array: faster than np.broadcast_to)."""
    out = np.empty(x.shape, dtype=g.dtype)
    out[...] = np.reshape(g, kept_shape(x.shape, axis))
    return out


sum.defvjp_arrays(lambda g, out, x, axis=None, keepdims=False: _expand_array(g, x, axis))


@primitive("mean", "reduction", _reduction_examples)
def mean(x, axis=None, keepdims=False):
    if x.size == 0 or x.dtype not in (np.float64, np.float32):   # ints, float16, empty
        return np.mean(x, axis=axis, keepdims=keepdims)
    # np.mean's own two steps (sum, then divide by the count) without its Python wrapper
    total = np.add.reduce(x, axis=axis, keepdims=keepdims)
    return np.true_divide(total, x.size // np.size(total))


def _count(shape, axis):
    return math.prod(shape[a] for a in normalize_axes(axis, len(shape)))


mean.defvjp(lambda g, out, x, axis=None, keepdims=False:  # d mean = 1/n
            expand_to_input(g, x, axis) * (1.0 / builtins.max(_count(x.shape, axis), 1)))
mean.defvjp_arrays(lambda g, out, x, axis=None, keepdims=False: _mean_grad_array(g, x, axis))


def _mean_grad_array(g, x, axis):
    """g / n put back on the reduced axes (``_expand_array``, then scaled in place)."""
    out = _expand_array(g, x, axis)
    out *= 1.0 / builtins.max(_count(x.shape, axis), 1)
    return out


def _argmax_weights(x, out, axis):
    # Indicator of the maximising entries, split evenly between ties.
    hit = x.data == np.reshape(out.data, kept_shape(x.shape, axis))
    return hit / np.sum(hit, axis=normalize_axes(axis, x.ndim), keepdims=True)


@primitive("max", "reduction", _reduction_examples)
def max(x, axis=None, keepdims=False):
    return np.max(x, axis=axis, keepdims=keepdims)


max.defvjp(lambda g, out, x, axis=None, keepdims=False:
           expand_to_input(g, x, axis) * const_like(_argmax_weights(x, out, axis), g))


@primitive("min", "reduction", _reduction_examples)
def min(x, axis=None, keepdims=False):
    return np.min(x, axis=axis, keepdims=keepdims)


min.defvjp(lambda g, out, x, axis=None, keepdims=False:
           expand_to_input(g, x, axis) * const_like(_argmax_weights(x, out, axis), g))


# ---------------------------------------------------------------- softmax family
def _single_axis_examples(rng):
    x = rng.normal(size=(4, 6)) * 3.0
    return [((x,), {"axis": -1}), ((x,), {"axis": 0}),
            ((rng.normal(size=(2, 3, 4)),), {"axis": 1}), ((rng.normal(size=(7,)),), {"axis": -1})]


@primitive("logsumexp", "reduction",
           lambda rng: _single_axis_examples(rng) + [((rng.normal(size=(3, 4)),), {"axis": None}),
                                                     ((rng.normal(size=(3, 4)),),
                                                      {"axis": 1, "keepdims": True})])
def logsumexp(x, axis=None, keepdims=False):
    """log sum_i exp(x_i) along ``axis`` (None: all), without overflow."""
    return kernels.logsumexp(x, axis=axis, keepdims=keepdims)


def _logsumexp_vjp(g, out, x, axis=None, keepdims=False):
    # d/dx logsumexp(x) = softmax(x); an all -inf slice has softmax 0, not NaN.
    if not autodiff.STATE.grad_enabled:
        # First order (the backward pass is not being recorded): g * softmax(x)
        # in one fused kernel pass, instead of softmax, broadcast and product.
        return make_tensor(kernels.logsumexp_backward(x.data, out.data, g.data, axis=axis))
    # Recorded (create_graph): the same formula in Tensor ops, differentiable again.
    if axis is None:  # softmax over all elements
        return expand_to_input(g, x, None) * reshape(softmax(reshape(x, shape=(-1,)), axis=-1),
                                                     shape=x.shape)
    return expand_to_input(g, x, axis) * softmax(x, axis=axis)


logsumexp.defvjp(_logsumexp_vjp)


@primitive("softmax", "reduction", _single_axis_examples)
def softmax(x, axis=-1):
    """exp(x_i - logsumexp(x)) along ``axis``."""
    return kernels.softmax(x, axis=axis)


# d softmax: J^T g = s * (g - sum(g * s))
softmax.defvjp(lambda g, out, x, axis=-1: out * (g - sum(g * out, axis=axis, keepdims=True)))


@primitive("log_softmax", "reduction", _single_axis_examples)
def log_softmax(x, axis=-1):
    """x_i - logsumexp(x) along ``axis``."""
    return kernels.log_softmax(x, axis=axis)


# d log_softmax: J^T g = g - softmax(x) * sum(g)
log_softmax.defvjp(lambda g, out, x, axis=-1:
                   g - softmax(x, axis=axis) * sum(g, axis=axis, keepdims=True))
