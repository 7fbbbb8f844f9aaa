"""Shape primitives: they move numbers around, so their gradients move them back.

reshape <-> reshape, transpose <-> inverse transpose, broadcast_to <-> sum_to,
indexing <-> scatter-add into zeros, concatenate/stack <-> slicing. Each pair
is the other's VJP, so every rule here is differentiable again.
"""
from __future__ import annotations

import numpy as np

from minigrad.ops.registry import primitive
from minigrad.tensor import Tensor


@primitive("reshape", "shape",
           lambda rng: [((rng.normal(size=(3, 4)),), {"shape": (2, 6)}),
                        ((rng.normal(size=(3, 4)),), {"shape": (-1,)})])
def reshape(x, shape):
    return np.reshape(x, shape)


reshape.defvjp(lambda g, out, x, shape: reshape(g, shape=x.shape))
reshape.defvjp_arrays(lambda g, out, x, shape: np.reshape(g, x.shape))


@primitive("transpose", "shape",
           lambda rng: [((rng.normal(size=(3, 4)),), {}),
                        ((rng.normal(size=(2, 3, 4)),), {"axes": (1, 2, 0)})])
def transpose(x, axes=None):
    return np.transpose(x, axes)


def _transpose_vjp(g, out, x, axes=None):
    inverse = None if axes is None else tuple(np.argsort(axes))
    return transpose(g, axes=inverse)


transpose.defvjp(_transpose_vjp)
transpose.defvjp_arrays(lambda g, out, x, axes=None:
                        np.transpose(g, None if axes is None else tuple(np.argsort(axes))))


def swap_last(x):
    """Transpose of the last two axes (matrix transpose of a stack)."""
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(x, axes=tuple(axes))


@primitive("broadcast_to", "shape",
           lambda rng: [((rng.normal(size=(3, 1)),), {"shape": (2, 3, 4)}),
                        ((rng.normal(size=()),), {"shape": (5,)})])
def broadcast_to(x, shape):
    # A copy, not NumPy's read-only view: downstream code may write into it.
    return np.array(np.broadcast_to(x, shape))


broadcast_to.defvjp(lambda g, out, x, shape: sum_to(g, shape=x.shape))
broadcast_to.defvjp_arrays(lambda g, out, x, shape: sum_to.forward(g, shape=x.shape))


@primitive("sum_to", "shape",
           lambda rng: [((rng.normal(size=(2, 3, 4)),), {"shape": (3, 1)}),
                        ((rng.normal(size=(5,)),), {"shape": ()})])
def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the reverse of broadcasting (claim A4)."""
    shape = tuple(shape)
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot sum an array of shape {x.shape} to the larger shape {shape}")
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and x.shape[lead + i] != 1)
    summed = np.sum(x, axis=axes, keepdims=True) if axes else x
    return summed.reshape(shape)


sum_to.defvjp(lambda g, out, x, shape: broadcast_to(g, shape=x.shape))
sum_to.defvjp_arrays(lambda g, out, x, shape: broadcast_to.forward(g, shape=x.shape))


# ------------------------------------------------------------------ indexing
def _index_examples(rng):
    x = rng.normal(size=(5, 4))
    return [((x,), {"index": 2}), ((x,), {"index": (slice(1, 4), slice(None, None, 2))}),
            ((x,), {"index": np.array([0, 3, 3, 1])}),  # repeated rows accumulate
            ((x,), {"index": (np.array([0, 4]), np.array([1, 2]))}),
            ((x,), {"index": x > 0})]


def _is_basic(index):
    """True when the index has no arrays, so each element is picked at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               for p in parts)


def _plain_index(index):
    """Tensors and lists inside an index become integer or boolean ndarrays."""
    def plain(p):
        if isinstance(p, Tensor):
            p = p.data
        if isinstance(p, (list, np.ndarray)):
            p = np.asarray(p)
            if p.dtype.kind == "f":
                if not np.all(p == np.round(p)):
                    raise IndexError("a float index array must hold whole numbers")
                p = p.astype(np.intp)
        return p
    return tuple(plain(p) for p in index) if isinstance(index, tuple) else plain(index)


@primitive("getitem", "shape", _index_examples)
def _getitem(x, index):
    return np.array(x[index])  # a copy: results never alias their input


_getitem.defvjp(lambda g, out, x, index: scatter(g, index=index, shape=x.shape))
_getitem.defvjp_arrays(lambda g, out, x, index: scatter.forward(g, index=index, shape=x.shape))


def getitem(x, index):
    """``x[index]`` with ints, slices, None, Ellipsis, integer or boolean arrays."""
    return _getitem(x, index=_plain_index(index))


@primitive("scatter", "shape",
           lambda rng: [((rng.normal(size=(4, 4)),),
                         {"index": np.array([0, 3, 3, 1]), "shape": (5, 4)}),
                        ((rng.normal(size=(2,)),), {"index": (1, slice(0, 2)), "shape": (3, 2)})])
def scatter(values, index, shape):
    """Zeros of ``shape`` with ``values`` added at ``index`` (repeats accumulate)."""
    out = np.zeros(shape, dtype=values.dtype)
    if _is_basic(index):
        out[index] = values
    else:
        np.add.at(out, index, values)
    return out


scatter.defvjp(lambda g, out, values, index, shape: _getitem(g, index=index))


# ------------------------------------------------------------- joining arrays
def _join_examples(rng):
    return [((rng.normal(size=(2, 3)), rng.normal(size=(4, 3))), {"axis": 0}),
            ((rng.normal(size=(2, 3)), rng.normal(size=(2, 1)), rng.normal(size=(2, 2))),
             {"axis": 1})]


@primitive("concatenate", "shape", _join_examples, variadic=True)
def _concatenate(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


def _concatenate_vjp(i, g, out, *inputs, axis=0):
    start = sum(x.shape[axis] for x in inputs[:i])
    index = [slice(None)] * out.ndim
    index[axis] = slice(start, start + inputs[i].shape[axis])
    return _getitem(g, index=tuple(index))


_concatenate.defvjp(_concatenate_vjp)


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    return _concatenate(*tensors, axis=axis)


@primitive("stack", "shape",
           lambda rng: [((rng.normal(size=(2, 3)), rng.normal(size=(2, 3))), {"axis": 0}),
                        ((rng.normal(size=(4,)), rng.normal(size=(4,)), rng.normal(size=(4,))),
                         {"axis": -1})],
           variadic=True)
def _stack(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


def _stack_vjp(i, g, out, *inputs, axis=0):
    index = [slice(None)] * out.ndim
    index[axis] = i
    return _getitem(g, index=tuple(index))


_stack.defvjp(_stack_vjp)


def stack(tensors, axis=0):
    """Join a sequence of same-shape tensors along a new axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return _stack(*tensors, axis=axis)
