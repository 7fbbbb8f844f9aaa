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
- ``arctan(x)``: minigrad has no arctan primitive; see its docstring.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import as_tensor, log_sigmoid, softplus  # noqa: F401  (re-exported)

LN2 = float(np.log(2.0))


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
    a, b = as_tensor(a), as_tensor(b)
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
    x, y = as_tensor(x), as_tensor(y)
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
    """arctan(x), differentiable to sixth order, composed from primitives.

    minigrad has no arctan primitive, so this uses the addition formula
    around the point itself: with x0 = x (held constant),

        arctan(x) = arctan(x0) + arctan(w),   w = (x - x0) / (1 + x x0),

    exactly, for 1 + x x0 > 0 (computed as (x/x0 - 1) / (1/x0 + x) when
    |x0| > 1, to avoid overflow). At the point w = 0, so the value is NumPy's
    arctan(x0); replacing arctan(w) by w - w^3/3 + w^5/5 changes the
    function by O(w^7), so derivatives up to order 6 are those of arctan
    (the first is dw/dx = 1 / (1 + x^2)). x = +-inf gives +-pi/2 with
    gradient 0.
    """
    x = as_tensor(x)
    finite = np.isfinite(x.data)
    x_safe = mg.where(finite, x, 0.0) if not finite.all() else x
    x0 = np.where(finite, x.data, 0.0)
    # For |x0| > 1 the same w with numerator and denominator divided by x0,
    # so that x x0 cannot overflow.
    big = np.abs(x0) > 1.0
    if big.any():  # double where: each form sees only its own points, others a safe 2 or 0
        x_big, x0_big = mg.where(big, x_safe, 2.0), np.where(big, x0, 2.0)
        x_small, x0_small = mg.where(big, 0.0, x_safe), np.where(big, 0.0, x0)
        w = mg.where(big, (x_big / x0_big - 1.0) / (1.0 / x0_big + x_big),
                     (x_small - x0_small) / (1.0 + x_small * x0_small))
    else:
        w = (x_safe - x0) / (1.0 + x_safe * x0)
    w2 = w * w
    value = np.arctan(np.where(finite, x.data, 0.0)) + w * (1.0 - w2 * (1.0 / 3.0 - w2 * 0.2))
    if finite.all():
        return value
    return mg.where(finite, value, np.arctan(x.data))
