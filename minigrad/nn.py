"""Neural-network building blocks: Module, Linear, MLP, Sequential, activations.

A ``Module`` is a plain Python object whose parameters are found, not
registered: every attribute that is a Tensor with ``requires_grad``, a
sub-Module, or a list/tuple/dict of those (nested to any depth) contributes,
named by its dotted path (``layers.0.weight``). The walk follows attribute
insertion order, so names and order are deterministic, and a tensor reached
twice (a shared weight) is listed once, under its first name.

Checkpoints are ``.npz`` archives of ``state_dict()``, written atomically
and read without pickle by :mod:`minigrad.checkpoint`.

    Linear:  y = x W + b,  W of shape (in, out),  W_ij, b_j ~ U(-1/sqrt(in), 1/sqrt(in))
    MLP:     h_0 = x,  h_k = act(Linear_k(h_{k-1})),  no act after the last layer
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.checkpoint import load_arrays, save_arrays
from minigrad.tensor import Tensor


class Module:
    """Base class: parameters discovered from attributes; ``m(x)`` calls ``m.forward(x)``."""

    training = True  # a class default, so subclasses need not call super().__init__()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ discovery
    def _walk(self):
        """Yield (dotted name, Tensor or Module) for every parameter and sub-module.

        Depth first over ``vars(self)`` in insertion order; a module already
        visited (shared, or a cycle) is not entered again.
        """
        seen_modules = {id(self)}
        pending = list(reversed(list(vars(self).items())))  # a stack: pop() takes the first
        while pending:
            name, value = pending.pop()
            if isinstance(value, Tensor):
                if value.requires_grad:
                    yield name, value
            elif isinstance(value, Module):
                if id(value) in seen_modules:
                    continue
                seen_modules.add(id(value))
                yield name, value
                children = list(vars(value).items())
                pending.extend((f"{name}.{k}", v) for k, v in reversed(children))
            elif isinstance(value, (list, tuple)):
                pending.extend((f"{name}.{i}", v) for i, v in reversed(list(enumerate(value))))
            elif isinstance(value, dict):
                pending.extend((f"{name}.{k}", v) for k, v in reversed(list(value.items())))

    def named_parameters(self):
        """List of (dotted name, Tensor) of every parameter, each tensor once."""
        seen, named = set(), []
        for name, value in self._walk():
            if isinstance(value, Tensor) and id(value) not in seen:
                seen.add(id(value))
                named.append((name, value))
        return named

    def parameters(self):
        """The parameters (Tensors with requires_grad), in ``named_parameters`` order."""
        return [p for _, p in self.named_parameters()]

    def modules(self):
        """This module and every sub-module, each once."""
        return [self] + [m for _, m in self._walk() if isinstance(m, Module)]

    def zero_grad(self):
        """Forget accumulated gradients (``.grad = None``) before the next backward."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Set the ``training`` flag on this module and all sub-modules; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        """Same as ``train(False)``."""
        return self.train(False)

    # ---------------------------------------------------------- state dicts
    def state_dict(self):
        """{dotted name: copy of the parameter's ndarray}."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy ``state``'s arrays into the parameters (in place, dtype kept).

        Every name must match a parameter and every shape its parameter's
        shape; otherwise nothing is changed and one ValueError lists all
        missing names, unexpected names and shape mismatches.
        """
        params = dict(self.named_parameters())
        arrays = {name: np.asarray(value.data if isinstance(value, Tensor) else value)
                  for name, value in dict(state).items()}
        missing = [n for n in params if n not in arrays]
        unexpected = [n for n in arrays if n not in params]
        problems = ([f"missing {missing}"] if missing else []) + \
            ([f"unexpected {unexpected}"] if unexpected else [])
        for name, a in arrays.items():
            p = params.get(name)
            if p is None:
                continue
            if a.shape != p.data.shape:
                problems.append(f"{name}: checkpoint shape {a.shape} != parameter shape "
                                f"{p.data.shape}")
            elif a.dtype.kind not in "biuf":
                problems.append(f"{name}: checkpoint dtype {a.dtype} is not a real number type")
        if problems:
            raise ValueError(f"state dict does not fit {type(self).__name__}: "
                             + "; ".join(problems))
        for name, p in params.items():
            p.data[...] = arrays[name]  # in place: optimizers keep pointing at p.data
            p.mark_modified()

    def save(self, path):
        """Write ``state_dict()`` to the ``.npz`` file ``path`` atomically."""
        save_arrays(path, self.state_dict())

    def load(self, path):
        """Read a checkpoint written by ``save`` (no pickle) into the parameters."""
        self.load_state_dict(load_arrays(path))
        return self


# -------------------------------------------------------------------- layers
def _positive_int(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _resolve_rng(rng):
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


class Linear(Module):
    """Affine map y = x W + b with W of shape (in_features, out_features).

    W and b are drawn from U(-1/sqrt(in), 1/sqrt(in)) with ``rng`` (a
    numpy Generator; the same seed gives the same layer). Inputs of any
    leading shape (..., in_features) give outputs (..., out_features).
    """

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype=np.float64):
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        rng = _resolve_rng(rng)
        bound = 1.0 / np.sqrt(self.in_features)
        self.weight = Tensor(rng.uniform(-bound, bound, size=(self.in_features,
                                                              self.out_features)).astype(dtype),
                             requires_grad=True)
        self.bias = (Tensor(rng.uniform(-bound, bound, size=self.out_features).astype(dtype),
                            requires_grad=True) if bias else None)

    def forward(self, x):
        x = self._checked(x)
        if self.bias is None:
            return x @ self.weight
        return mg.affine(x, self.weight, self.bias)   # x W + b as one fused primitive

    def forward_relu(self, x):
        """relu(x W + b), the layer and a relu after it as one fused primitive (same values)."""
        x = self._checked(x)
        if self.bias is None:
            return mg.relu(x @ self.weight)
        return mg.affine_relu(x, self.weight, self.bias)

    def _checked(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r} needs inputs of shape (..., {self.in_features}), "
                             f"got shape {x.shape}")
        return x

    def __repr__(self):
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) otherwise.

    The double where feeds expm1 only the non-positive inputs, so the branch
    not taken cannot overflow into the gradient.
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    positive = x.data > 0
    negative_part = mg.expm1(mg.where(positive, np.zeros_like(x.data), x))
    return mg.where(positive, x, negative_part * alpha)


def identity(x):
    """x unchanged."""
    return x


ACTIVATIONS = {
    "relu": mg.relu, "tanh": mg.tanh, "sigmoid": mg.sigmoid, "leaky_relu": mg.leaky_relu,
    "softplus": mg.softplus, "elu": elu, "identity": identity,
}


def activation_function(activation):
    """A callable for ``activation``: a name of ``ACTIVATIONS`` or a callable itself."""
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(f"activation must be a callable or one of {sorted(ACTIVATIONS)}, "
                     f"got {activation!r}")


def _activation_name(function):
    for name, known in ACTIVATIONS.items():
        if function is known:
            return name
    return getattr(function, "__name__", None) or repr(function)


class Sequential(Module):
    """Apply ``layers`` in order: Modules or plain callables (activations).

    A Linear layer followed by ``mg.relu`` runs as one fused primitive
    (``Linear.forward_relu``): the same values and gradients, one graph node
    and one pass fewer.
    """

    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"layer {i} of Sequential is not callable: {layer!r}")
        self.layers = list(layers)

    def forward(self, x):
        layers, i = self.layers, 0
        while i < len(layers):
            layer = layers[i]
            if type(layer) is Linear and i + 1 < len(layers) and layers[i + 1] is mg.relu:
                x = layer.forward_relu(x)
                i += 2
            else:
                x = layer(x)
                i += 1
        return x

    def __repr__(self):
        inner = ", ".join(repr(layer) if isinstance(layer, Module) else _activation_name(layer)
                          for layer in self.layers)
        return f"Sequential({inner})"


class MLP(Module):
    """Multilayer perceptron: Linear layers between consecutive ``sizes``.

    ``activation`` (a name of ``ACTIVATIONS`` or a callable) follows every
    layer but the last; ``final_activation`` (None: none) follows the last.
    """

    def __init__(self, sizes, activation="relu", rng=None, final_activation=None):
        sizes = list(sizes) if not isinstance(sizes, (str, bytes)) else None
        if sizes is None or len(sizes) < 2:
            raise ValueError(f"sizes must list at least two layer widths (input, output), "
                             f"got {sizes!r}")
        self.sizes = [_positive_int(f"sizes[{i}]", n) for i, n in enumerate(sizes)]
        self.activation = activation_function(activation)
        self.final_activation = (None if final_activation is None
                                 else activation_function(final_activation))
        rng = _resolve_rng(rng)
        self.layers = [Linear(n_in, n_out, rng=rng)
                       for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]

    def forward(self, x):
        last = len(self.layers) - 1
        fused_relu = self.activation is mg.relu   # Linear + relu as one primitive
        for k, layer in enumerate(self.layers):
            if k < last and fused_relu:
                x = layer.forward_relu(x)
                continue
            x = layer(x)
            if k < last:
                x = self.activation(x)
        return x if self.final_activation is None else self.final_activation(x)

    def __repr__(self):
        return f"MLP(sizes={self.sizes}, activation={_activation_name(self.activation)!r})"
