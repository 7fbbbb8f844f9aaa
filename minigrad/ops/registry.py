"""The table of primitives: each one a forward on ndarrays plus its VJPs.

A primitive is declared in two parts that read like a table of derivatives::

    exp = primitive("exp", "elementwise", examples=...)(np.exp)

    @exp.defvjp
    def exp_vjp(g, out, x):          # d/dx e^x = e^x
        return g * out

``forward`` maps ndarrays to an ndarray. Each vector-Jacobian product (VJP)
rule receives the upstream gradient ``g``, the output ``out`` and the inputs,
all as Tensors, plus the primitive's keyword arguments, and returns the
gradient for one input written with Tensor operations. Because the rules are
themselves made of primitives, the backward pass can be recorded and
differentiated again (Hessian-vector products, WGAN-GP): one rule serves
first and higher order. A rule may return a gradient of the *broadcast*
shape; the engine sums it back to the input's shape, so rules hold only the
mathematics.

A primitive on the hot path of training may also declare *array rules*
(``defvjp_arrays``): the same VJPs written on ndarrays. A first-order
backward pass (``create_graph=False``, nothing recorded) calls them instead,
saving a primitive dispatch and a Tensor per operation inside each rule;
higher-order passes always use the Tensor rules. Both are checked: the
finite-difference checks run the array rules (first order) and the Tensor
rules (second order), and the suite checks the two agree on every example.
Where the inputs' gradients share work (a fused layer's masked upstream
gradient), one *joint* array rule (``defvjp_arrays_joint``) returns them all
from one call instead.

Every primitive is listed in ``REGISTRY`` with ``examples``, a function
``rng -> list of (args, kwargs)`` giving valid inputs away from kinks and
poles, so the test suite can enumerate every op and check its gradients.
"""
from __future__ import annotations

import numpy as np

from minigrad import autodiff
from minigrad.tensor import Tensor, make_tensor

REGISTRY: dict[str, "Primitive"] = {}
_STATE = autodiff.STATE


class Primitive:
    """A differentiable operation: forward on ndarrays, one VJP per input.

    ``variadic`` primitives (concatenate, stack) take any number of inputs
    and have a single rule ``vjp(i, g, out, *inputs, **kwargs)`` for the
    i-th one.
    """

    __slots__ = ("name", "family", "forward", "vjps", "examples", "variadic", "array_vjps",
                 "array_vjp_joint")

    def __init__(self, name, family, forward, examples=None, variadic=False):
        self.name = name
        self.family = family
        self.forward = forward
        self.vjps = None
        self.examples = examples
        self.variadic = variadic
        self.array_vjps = None
        self.array_vjp_joint = None

    def defvjp(self, *rules):
        """Declare the VJP rules, one per input in order (decorator-friendly)."""
        self.vjps = rules
        return rules[0] if len(rules) == 1 else rules

    def defvjp_arrays(self, *rules):
        """Declare the same rules on ndarrays, ``rule(g, out, *inputs, **kwargs) -> ndarray``,
        for first-order backward passes (not for variadic primitives)."""
        if self.variadic or self.vjps is None or len(rules) != len(self.vjps):
            raise ValueError(f"{self.name}: array rules need one per Tensor rule")
        self.array_vjps = rules

    def defvjp_arrays_joint(self, rule):
        """Declare one array rule for all inputs, for first-order backward passes:
        ``rule(g, out, wanted, *inputs, **kwargs) -> tuple`` of one gradient per input
        (None where ``wanted[i]`` is False), for inputs whose gradients share work."""
        if self.variadic or self.vjps is None:
            raise ValueError(f"{self.name}: a joint array rule needs the Tensor rules first")
        self.array_vjp_joint = rule
        return rule

    def vjp(self, i, g, out, inputs, kwargs):
        """Gradient for input ``i`` given upstream ``g`` (a Tensor): what the backward pass calls."""
        if self.variadic:
            return self.vjps[0](i, g, out, *inputs, **kwargs)
        return self.vjps[i](g, out, *inputs, **kwargs)

    def __call__(self, *args, **kwargs):
        # The hot path of the whole engine: kept flat on purpose.
        inputs = args
        for a in args:
            if type(a) is not Tensor:
                inputs = _constants(args)
                break
        if len(inputs) == 1:
            value = self.forward(inputs[0]._data, **kwargs)
        elif len(inputs) == 2:
            value = self.forward(inputs[0]._data, inputs[1]._data, **kwargs)
        else:
            value = self.forward(*[t._data for t in inputs], **kwargs)
        node = None
        if _STATE.grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    node = (self, inputs, kwargs, _STATE.version)
                    break
        out = make_tensor(value if type(value) is np.ndarray else np.asarray(value), node)
        if _STATE.anomaly:
            autodiff.check_anomaly(self.name, value, [t._data for t in inputs], "forward")
        return out

    def __repr__(self):
        return f"<primitive {self.name} ({self.family})>"


def _constants(args):
    """The arguments as Tensors: a Python number takes the dtype of the Tensor arguments.

    So ``maximum(x32, 0.0)`` and ``where(c, x32, 0.0)`` stay float32, as
    ``x32 + 0.0`` does (Tensor's operators lift numbers the same way).
    Arrays keep their own dtype (NumPy's promotion rules then apply).
    """
    dtypes = [a._data.dtype for a in args if isinstance(a, Tensor)]
    dtype = np.result_type(*dtypes) if dtypes else np.float64
    return tuple(a if isinstance(a, Tensor) else
                 make_tensor(np.asarray(a, dtype=dtype)) if isinstance(a, (int, float)) else
                 Tensor(a) for a in args)


def primitive(name, family, examples=None, variadic=False):
    """Decorator turning a forward function on ndarrays into a registered Primitive."""
    def register(forward):
        if name in REGISTRY:
            raise ValueError(f"primitive {name!r} is already registered")
        prim = Primitive(name, family, forward, examples, variadic)
        REGISTRY[name] = prim
        return prim
    return register


def const_like(array, like):
    """A constant Tensor of ``array`` in the dtype of Tensor ``like``.

    Masks and other non-differentiable factors in VJP rules go through here
    so that float32 gradients stay float32.
    """
    return make_tensor(np.asarray(array, dtype=like._data.dtype))
