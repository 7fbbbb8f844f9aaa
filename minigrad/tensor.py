"""Tensor: an ndarray that remembers how it was computed.

A Tensor wraps ``data`` (a float32 or float64 ndarray; anything else becomes
float64). When it is the output of a primitive applied to inputs of which at
least one ``requires_grad``, it keeps a *node* ``(primitive, inputs, kwargs,
version)``, made by ``make_tensor`` (the one constructor of the primitives'
outputs); following nodes from an output back to the leaves is the
computation graph that :mod:`minigrad.autodiff` walks in reverse to compute
gradients.

Everything arithmetic here is sugar: ``a + b`` calls the ``add`` primitive of
:mod:`minigrad.ops`, ``a @ b`` calls ``matmul``, and so on. Comparison
operators return plain boolean ndarrays: they are not differentiable.
"""
from __future__ import annotations

import numpy as np

_FLOAT_TYPES = (np.float32, np.float64)


class Tensor:
    """An n-dimensional float array with an optional gradient.

    Attributes: ``data`` (ndarray), ``grad`` (ndarray of ``data``'s shape, or
    None until a backward pass reaches this leaf), ``requires_grad``.
    A constant shares the ndarray it is given; a Tensor made with
    ``requires_grad=True`` from an ndarray or a Tensor holds a copy, since
    optimizers update it in place.

    Version counter (as torch's): assigning ``t.data = ...`` or updating it
    with an augmented assignment (``t.data += u``), and every optimizer step
    on a parameter, marks the tensor modified; a backward pass through a
    node recorded before the modification raises, since the rule would read
    the new values. Writes into the array itself (``t.data[i] = v``, NumPy
    ``out=``) are not seen, as with torch's ``.data``.
    """

    __slots__ = ("_data", "_grad", "requires_grad", "_node", "_version", "__weakref__")
    # Make ``ndarray (op) Tensor`` defer to Tensor's reflected operators.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data._data
        array = np.asarray(data)
        if array.dtype.type not in _FLOAT_TYPES:
            if array.dtype.kind not in "biuf":
                raise TypeError(f"Tensor data must be real numbers, got dtype {array.dtype}")
            array = array.astype(np.float64)
        elif requires_grad and array is data:
            # A parameter owns its storage: optimizers update ``data`` in
            # place, which must not write into the caller's array.
            array = array.copy()
        self._data = array
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        self._version = 0

    @classmethod
    def _wrap(cls, array):
        """A constant of this class (Tensor or a subclass) of an array that is already float."""
        return make_tensor(array if type(array) is np.ndarray else np.asarray(array), kind=cls)

    # ----------------------------------------------------- data and grad
    @property
    def data(self):
        """The ndarray (shared, not copied). Assigning to it marks the tensor modified."""
        return self._data

    @data.setter
    def data(self, array):
        self._data = array
        self.mark_modified()

    def mark_modified(self):
        """Record that ``data`` changed in place (optimizers call it after a step)."""
        self._version = _autodiff.STATE.bump_version()

    @property
    def grad(self):
        """The accumulated gradient as an ndarray, or None."""
        return None if self._grad is None else self._grad._data

    @grad.setter
    def grad(self, value):
        self._grad = None if value is None else (
            value if isinstance(value, Tensor) else make_tensor(np.asarray(value)))

    @property
    def grad_tensor(self):
        """The gradient as a Tensor: after ``backward(create_graph=True)`` it is
        differentiable again (Hessian-vector products)."""
        return self._grad

    # ----------------------------------------------------------- properties
    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    dtype = property(lambda self: self._data.dtype)
    size = property(lambda self: self._data.size)
    T = property(lambda self: _ops.transpose(self))

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than by a primitive."""
        return self._node is None

    # ---------------------------------------------------------- conversion
    def numpy(self):
        """The underlying ndarray (shared, not copied; no graph)."""
        return self._data

    def item(self):
        """The value of a one-element tensor as a Python float."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return float(self._data.reshape(()))

    def detach(self):
        """A new leaf sharing ``data``, cut from the graph."""
        return make_tensor(self._data)

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __float__(self):
        return self.item()

    def __len__(self):
        return len(self._data)

    def __bool__(self):
        return bool(self._data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self._data, separator=", ", prefix="Tensor(")
        return f"Tensor({body}{grad})"

    # ------------------------------------------------------------ autodiff
    def backward(self, grad=None, create_graph=False, retain_graph=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf.

        ``grad`` is the upstream gradient (required unless self has one
        element). With ``create_graph=True`` the backward pass is itself
        recorded, so gradients can be differentiated again; the
        differentiable gradient of each leaf is then kept in
        ``leaf.grad_tensor`` as well.
        """
        _autodiff.backward(self, grad, create_graph=create_graph, retain_graph=retain_graph)

    # ---------------------------------------------------------- arithmetic
    def _lift(self, other):
        """Turn a Python number or array into a constant Tensor of our dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float)):
            return Tensor._wrap(np.asarray(other, dtype=self._data.dtype))
        return Tensor(other)

    def __add__(self, other): return _ops.add(self, self._lift(other))
    def __radd__(self, other): return _ops.add(self._lift(other), self)
    def __sub__(self, other): return _ops.sub(self, self._lift(other))
    def __rsub__(self, other): return _ops.sub(self._lift(other), self)
    def __mul__(self, other): return _ops.mul(self, self._lift(other))
    def __rmul__(self, other): return _ops.mul(self._lift(other), self)
    def __truediv__(self, other): return _ops.div(self, self._lift(other))
    def __rtruediv__(self, other): return _ops.div(self._lift(other), self)
    def __pow__(self, other): return _ops.pow(self, self._lift(other))
    def __rpow__(self, other): return _ops.pow(self._lift(other), self)
    def __matmul__(self, other): return _ops.matmul(self, self._lift(other))
    def __rmatmul__(self, other): return _ops.matmul(self._lift(other), self)
    def __neg__(self): return _ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)

    # Comparisons are not differentiable: they return boolean ndarrays.
    def __lt__(self, other): return self._data < _raw(other)
    def __le__(self, other): return self._data <= _raw(other)
    def __gt__(self, other): return self._data > _raw(other)
    def __ge__(self, other): return self._data >= _raw(other)
    def __eq__(self, other): return self._data == _raw(other)
    def __ne__(self, other): return self._data != _raw(other)
    __hash__ = object.__hash__

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError("Tensors are immutable in minigrad (in-place writes would corrupt "
                        "the graph); build a new tensor with minigrad.where or concatenate")

    # ------------------------------------------------------------- methods
    def sum(self, axis=None, keepdims=False): return _ops.sum(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return _ops.mean(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return _ops.max(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return _ops.min(self, axis=axis, keepdims=keepdims)
    def logsumexp(self, axis=None, keepdims=False):
        return _ops.logsumexp(self, axis=axis, keepdims=keepdims)
    def softmax(self, axis=-1): return _ops.softmax(self, axis=axis)
    def log_softmax(self, axis=-1): return _ops.log_softmax(self, axis=axis)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape=shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes=axes or None)

    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def log1p(self): return _ops.log1p(self)
    def expm1(self): return _ops.expm1(self)
    def sin(self): return _ops.sin(self)
    def cos(self): return _ops.cos(self)
    def sqrt(self): return _ops.sqrt(self)
    def square(self): return _ops.square(self)
    def abs(self): return _ops.abs(self)
    def tanh(self): return _ops.tanh(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def relu(self): return _ops.relu(self)
    def softplus(self): return _ops.softplus(self)
    def clip(self, low=None, high=None): return _ops.clip(self, low, high)


def _raw(x):
    """The ndarray behind a Tensor, or x itself."""
    return x._data if isinstance(x, Tensor) else x


_new = object.__new__


def make_tensor(array, node=None, kind=None):
    """The one node constructor: a Tensor of ``array`` made by ``node``, or a constant.

    ``node = (primitive, inputs, kwargs, version)`` records how the array was
    computed (``version``: the global modification count at that moment, for
    the version check of the backward pass). ``kind``: a subclass of Tensor
    to make instead. Primitives call this on their hot path, so it sets the
    slots directly.
    """
    t = _new(kind or Tensor)
    t._data = array
    t._grad = None
    t.requires_grad = node is not None
    t._node = node
    t._version = 0
    return t


def as_tensor(x):
    """``x`` if it is already a Tensor, else a constant Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor(x)


# The operator sugar above needs the primitives, and the primitives need
# Tensor: import them once the class exists.
from minigrad import autodiff as _autodiff  # noqa: E402
from minigrad import ops as _ops  # noqa: E402
