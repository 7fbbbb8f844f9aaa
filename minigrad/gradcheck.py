"""Finite-difference checks of reverse-mode gradients (claims A1, A2).

For f: inputs -> output and a random upstream vector u, the VJP gives
grad_x <u, f(x)>. Central differences give each coordinate independently:

    d/dx_k <u, f(x)>  ~  (<u, f(x + h e_k)> - <u, f(x - h e_k)>) / (2h),
    h = eps * (1 + |x_k|)

with error O(h^2). ``gradcheck`` compares the two for every coordinate of
every input, and also along one random direction v per input (the
directional derivative <grad, v> against (f(x + h v) - f(x - h v)) / 2h), in
float64. ``gradgradcheck`` applies the same test to the first-order gradient
function itself, built with ``create_graph=True``: that is what checks
second-order derivatives (Hessian-vector products).
"""
from __future__ import annotations

import numpy as np

from minigrad.autodiff import gradients
from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """A gradient disagreed with finite differences; the message says where."""


def _as_inputs(inputs):
    if isinstance(inputs, (Tensor, np.ndarray, float, int)):
        inputs = [inputs]
    return [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]


def _projected(f, arrays, u):
    out = f(*[Tensor(a) for a in arrays])
    return float(np.sum(u * np.asarray(out.data, dtype=np.float64)))


def _analytic(f, arrays, u):
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    out = f(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    if not out.requires_grad:
        return [np.zeros_like(a) for a in arrays]
    grads = gradients(out, xs, grad_outputs=Tensor(u.reshape(out.shape)))
    return [np.asarray(g.data, dtype=np.float64) for g in grads]


def _compare(which, index, analytic, numeric, atol, rtol):
    if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
        raise GradcheckError(
            f"gradient mismatch for input {which} at index {index}: reverse-mode "
            f"{analytic!r}, finite differences {numeric!r} "
            f"(|diff| = {abs(analytic - numeric):.3g})")


def gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0):
    """True if reverse-mode gradients of ``f`` match central differences, else raise.

    ``f`` maps Tensors (one per input) to a Tensor of any shape; ``inputs``
    are arrays or Tensors (checked in float64). Raises ``GradcheckError``
    naming the input, the index and both values at the first disagreement.
    """
    arrays = _as_inputs(inputs)
    rng = np.random.default_rng(seed)
    out = f(*[Tensor(a) for a in arrays])
    u = rng.normal(size=np.shape(out.data))
    analytic = _analytic(f, arrays, u)
    for which, (x, grad) in enumerate(zip(arrays, analytic)):
        if grad.shape != x.shape:
            raise GradcheckError(f"gradient of input {which} has shape {grad.shape}, "
                                 f"expected {x.shape}")
        for index in np.ndindex(*x.shape):
            h = eps * (1.0 + abs(x[index]))
            shifted = [a.copy() for a in arrays]
            shifted[which][index] = x[index] + h
            plus = _projected(f, shifted, u)
            shifted[which][index] = x[index] - h
            minus = _projected(f, shifted, u)
            _compare(which, index, grad[index], (plus - minus) / (2 * h), atol, rtol)
        if x.size:
            direction = rng.normal(size=x.shape)
            h = eps * (1.0 + float(np.max(np.abs(x))))
            plus = _projected(f, [a + h * direction if k == which else a
                                  for k, a in enumerate(arrays)], u)
            minus = _projected(f, [a - h * direction if k == which else a
                                   for k, a in enumerate(arrays)], u)
            _compare(which, "random direction", float(np.sum(grad * direction)),
                     (plus - minus) / (2 * h), atol, rtol * max(1.0, np.sqrt(x.size)))
    return True


def gradgradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: gradcheck of x -> grad_x <u, f(x)> projected on v.

    The first-order gradients are computed with ``create_graph=True`` and
    contracted with fixed random vectors, giving a scalar function of the
    inputs whose own gradient is a Hessian-vector product; that is compared
    with finite differences of the first-order gradient.
    """
    arrays = _as_inputs(inputs)
    rng = np.random.default_rng(seed + 1)
    out = f(*[Tensor(a) for a in arrays])
    u = Tensor(rng.normal(size=np.shape(out.data)))
    vs = [Tensor(rng.normal(size=a.shape)) for a in arrays]

    def first_order_projected(*xs):
        xs = [x if x.requires_grad else Tensor(x.data, requires_grad=True) for x in xs]
        value = f(*xs)
        grads = gradients(value, list(xs), grad_outputs=u, create_graph=True)
        total = None
        for g, v in zip(grads, vs):
            term = (g * v).sum()
            total = term if total is None else total + term
        return total

    return gradcheck(first_order_projected, arrays, eps=eps, atol=atol, rtol=rtol, seed=seed)
