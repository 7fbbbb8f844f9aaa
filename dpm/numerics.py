"""Log-space numerics on Tensors, in one place.

Each function is composed of minigrad primitives, so it is differentiable
(to any order, unless its docstring says otherwise) and its gradient never
picks up a NaN from a branch that is not taken: the *double where*. A
``where(c, f(x), g(x))`` evaluates both f and g everywhere; if g(x) is NaN
or infinite where c holds, its derivative there is too, and 0 * NaN = NaN
reaches the gradient. So each branch first gets a *safe* input,
``where(c, x, safe)``, and only then is the result selected.

- ``log1mexp(x) = log(1 - e^x)`` for x <= 0, two branches (Maechler 2012,
  "Accurately computing log(1 - exp(-|a|))"): ``log(-expm1(x))`` for
  x > -ln 2, where 1 - e^x is small and expm1 keeps its digits, and
  ``log1p(-e^x)`` below, where e^x is small and log1p keeps them.
- ``logsubexp(a, b) = log(e^a - e^b) = a + log1mexp(b - a)`` for a >= b.
- ``xlogy(x, y) = x log y`` with the convention 0 log y = 0 (entropies,
  cross-entropies of laws with zeros).
- ``softplus(x) = log(1 + e^x)`` and ``log_sigmoid(x) = -softplus(-x)``:
  minigrad's primitives (computed as logaddexp), re-exported here.
- ``normal_cdf(x) = (1 + erf(x / sqrt 2)) / 2``, the standard normal cdf.
- ``arctan(x)``: minigrad's primitive, with derivatives that do not
  overflow for huge |x|; see its docstring.

Every function keeps float32 inputs float32 (Python numbers beside them do
not promote: ``common_dtype``).
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import as_tensor, log_sigmoid, softplus  # noqa: F401  (re-exported)

LN2 = float(np.log(2.0))


def common_dtype(*values):
    """Tensors of ``values`` in NumPy's result dtype, Python numbers weak (NEP 50).

    A Tensor is kept as it is; anything else becomes a constant of the
    dtype NumPy would give the operation, in which a Python int or float
    does not count: xlogy(float32 Tensor, 3.0) is float32, as the engine's
    own ops are, while a float64 array beside it still promotes.
    """
    def strong(v):
        if isinstance(v, mg.Tensor):
            return v.data
        return float(v) if isinstance(v, (int, float)) else np.asarray(v)

    dtype = np.result_type(*(strong(v) for v in values))
    dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
    return tuple(v if isinstance(v, mg.Tensor) else mg.Tensor(np.asarray(v, dtype=dtype))
                 for v in values)


def log1mexp(x):
    """log(1 - e^x) for x <= 0; -inf at x = 0, NaN for x > 0 (1 - e^x < 0).

    Derivative: -e^x / (1 - e^x) = -1 / expm1(-x).
    """
    x = as_tensor(x)
    near_zero = x.data > -LN2
    # Safe inputs: -1 lies inside both branches' domains.
    x_near = mg.where(near_zero, x, -1.0)
    x_far = mg.where(near_zero, -1.0, x)
    with np.errstate(divide="ignore"):  # log(0) = -inf at x = 0 is the answer
        near = mg.log(-mg.expm1(x_near))
        far = mg.log1p(-mg.exp(x_far))
    return mg.where(near_zero, near, far)


def logsubexp(a, b):
    """log(e^a - e^b) for a >= b: a + log1mexp(b - a); -inf when a == b.

    a = b = -inf gives -inf (log of 0 - 0), with zero gradient.
    """
    a, b = common_dtype(a, b)
    empty = np.broadcast_to(a.data == -np.inf, np.broadcast_shapes(a.shape, b.shape))
    a_safe = mg.where(empty, 0.0, a)
    b_safe = mg.where(empty, -1.0, b)
    value = a_safe + log1mexp(b_safe - a_safe)
    return mg.where(empty, -np.inf, value) if empty.any() else value


def xlogy(x, y):
    """x log y, taken as 0 wherever x == 0 (whatever y is, as scipy.special.xlogy).

    Where x == 0 and y > 0 the product is computed (it is 0) so that the
    gradient in x is still log y; where x == 0 and y is not a positive
    finite number, y is replaced by 1 first so that no -inf or NaN appears.
    """
    x, y = common_dtype(x, y)
    shape = np.broadcast_shapes(x.shape, y.shape)
    y_ok = (y.data > 0) & np.isfinite(y.data)
    replace = np.broadcast_to((x.data == 0), shape) & ~np.broadcast_to(y_ok, shape)
    y_safe = mg.where(replace, 1.0, y) if replace.any() else y
    with np.errstate(divide="ignore"):  # x log 0 = -inf for x > 0 is the answer
        return x * mg.log(y_safe)


def normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal cdf.

    Accurate to about 1e-16 in absolute terms; far in the lower tail
    (x < -5) its relative accuracy falls, since 1 + erf cancels (an erfc
    primitive would fix that).
    """
    return (1.0 + mg.erf(as_tensor(x) * (1.0 / np.sqrt(2.0)))) * 0.5


def arctan(x):
    """arctan(x) by minigrad's primitive: NumPy's value, derivatives of every order.

    d arctan = 1 / (1 + x^2) squares x, which overflows beyond |x| = 1e154
    (a warning, though the gradient 0 it gives is right to double
    precision). For |x| > 1 the derivatives are therefore those of the same
    function written as sign(x) pi/2 - arctan(1/x), whose rules never square
    x; the value stays NumPy's arctan(x) exactly (the difference of the two
    forms, under one ulp, is added as a constant: by Sterbenz's lemma
    v + (a - v) = a). x = +-inf gives +-pi/2 with gradient 0. float32 stays
    float32.
    """
    x = as_tensor(x)
    big = np.abs(x.data) > 1.0
    if not big.any():
        return mg.arctan(x)
    # Double where: each form sees only its own points, the others a safe 2 or 0.
    x_big, x_small = mg.where(big, x, 2.0), mg.where(big, 0.0, x)
    tail = np.sign(x_big.data) * (np.pi / 2) - mg.arctan(1.0 / x_big)
    value = mg.where(big, tail, mg.arctan(x_small))
    with np.errstate(invalid="ignore"):  # NaN in, NaN out
        return value + (np.arctan(x.data) - value.data)
