"""Nested ``minigrad.grad``: mixed partials, Hessians and penalties through closures (A2).

Issue 14, items 1 and 2: the inner ``grad`` must record its backward pass
whenever its value depends on a tensor that requires grad other than its
own fresh input (an enclosing grad's input, a closed-over parameter).
Oracles: closed-form derivatives, ``gradients(..., create_graph=True)`` (the
explicit double backward, which never had the defect), and central finite
differences of first-order gradients in float64.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor

X0, Y0 = 0.7, -1.3


def f_scalar(x, y):
    """f(x, y) = sin(xy) + x^3 y."""
    return mg.sin(x * y) + x ** 3.0 * y


def mixed_partial_closed_form(x, y):
    # d^2 f / dx dy = cos(xy) - xy sin(xy) + 3 x^2
    return np.cos(x * y) - x * y * np.sin(x * y) + 3 * x ** 2


def _central(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.claim("A2")
def test_mixed_partial_by_argnums_matches_closed_form_and_differences():
    inner = mg.grad(f_scalar, argnums=0)                    # df/dx (x, y)
    value = mg.grad(lambda x, y: inner(x, y), argnums=1)(X0, Y0).item()
    expected = mixed_partial_closed_form(X0, Y0)
    assert abs(expected - 1.3652973463709568) < 1e-15       # the number quoted in issue 14
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    numeric = _central(lambda y: inner(X0, y).item(), Y0)
    np.testing.assert_allclose(value, numeric, rtol=1e-8)


@pytest.mark.claim("A2")
def test_mixed_partial_through_a_closure_matches_double_backward():
    value = mg.grad(lambda y: mg.grad(lambda x: f_scalar(x, y))(X0))(Y0).item()
    np.testing.assert_allclose(value, mixed_partial_closed_form(X0, Y0), rtol=1e-12)
    x, y = Tensor(X0, requires_grad=True), Tensor(Y0, requires_grad=True)
    gx = mg.gradients(f_scalar(x, y), x, create_graph=True)
    reference = mg.gradients(gx, y).item()
    np.testing.assert_allclose(value, reference, rtol=1e-13)


def _g(x, y, A):
    """g(x, y) = sum(tanh(A x) * y) + logsumexp(x * y): a coupled scalar of two vectors."""
    return (mg.tanh(Tensor(A) @ x) * y).sum() + mg.logsumexp(x * y)


@pytest.mark.claim("A2")
def test_mixed_hessian_block_through_closures_matches_differences():
    rng = np.random.default_rng(14)
    A, x0, y0 = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
    # H_xy[i, j] = d/dy_j (d g / dx_i): column j by the nested grad of component i.
    H = np.array([mg.grad(lambda y: mg.grad(lambda x: _g(x, y, A))(x0)[i])(y0).data
                  for i in range(3)])
    x, y = Tensor(x0, requires_grad=True), Tensor(y0, requires_grad=True)
    gx = mg.gradients(_g(x, y, A), x, create_graph=True)
    reference = np.array([mg.gradients(gx[i], y, retain_graph=True).data for i in range(3)])
    np.testing.assert_allclose(H, reference, rtol=1e-12, atol=1e-14)
    h = 1e-6
    numeric = np.empty((3, 3))
    for j in range(3):
        step = np.eye(3)[j] * h
        numeric[:, j] = (mg.grad(lambda x: _g(x, y0 + step, A))(x0).data
                         - mg.grad(lambda x: _g(x, y0 - step, A))(x0).data) / (2 * h)
    np.testing.assert_allclose(H, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.claim("A2")
def test_hessian_by_nested_grad_of_a_closed_over_matrix_function():
    # f(x) = x^T A x / 2 + sum(sin(x)): Hessian (A + A^T)/2 - diag(sin x).
    rng = np.random.default_rng(3)
    A, x0 = rng.normal(size=(4, 4)), rng.normal(size=4)
    f = lambda t: (t * (Tensor(A) @ t)).sum() * 0.5 + mg.sin(t).sum()   # noqa: E731
    H = np.array([mg.grad(lambda t: mg.grad(f)(t)[i])(x0).data for i in range(4)])
    np.testing.assert_allclose(H, (A + A.T) / 2 - np.diag(np.sin(x0)), rtol=1e-12, atol=1e-14)


@pytest.mark.claim("A2")
def test_gradient_penalty_through_a_closure_reaches_the_parameter():
    # g = d/dx sum(w x^2) = 2 w x; d/dw sum(g^2) = 8 w x^2 (issue 14, item 2).
    w = Tensor(np.array([0.5, -2.0, 1.25]), requires_grad=True)
    x = np.array([1.5, 0.3, -0.8])
    g = mg.grad(lambda t: (w * t * t).sum())(x)
    assert g.requires_grad
    (g * g).sum().backward()
    np.testing.assert_allclose(w.grad, 8 * w.data * x ** 2, rtol=1e-14)


@pytest.mark.claim("A2")
def test_wgan_style_penalty_via_grad_matches_differences_in_the_weights():
    rng = np.random.default_rng(5)
    points = rng.normal(size=(6, 3))
    W0, v = rng.normal(size=(3, 4)), rng.normal(size=4)

    def penalty(W):
        critic = lambda x: (mg.tanh(x @ W) @ Tensor(v)).sum()        # noqa: E731
        slopes = mg.grad(critic)(points)                               # (6, 3)
        return ((mg.sqrt((slopes * slopes).sum(axis=1)) - 1.0) ** 2.0).mean()

    W = Tensor(W0, requires_grad=True)
    penalty(W).backward()
    numeric = np.zeros_like(W0)
    h = 1e-6
    for i in np.ndindex(*W0.shape):
        step = np.zeros_like(W0)
        step[i] = h
        numeric[i] = (penalty(Tensor(W0 + step)).item()
                      - penalty(Tensor(W0 - step)).item()) / (2 * h)
    np.testing.assert_allclose(W.grad, numeric, rtol=1e-6, atol=1e-9)


def test_grad_records_only_when_something_outside_requires_grad():
    w = Tensor(np.array([2.0]), requires_grad=True)
    plain = mg.grad(lambda t: (t * t).sum())(np.array([3.0]))
    assert not plain.requires_grad                        # nothing outside: first order only
    with mg.no_grad():
        closed = mg.grad(lambda t: (w * t * t).sum())(np.array([3.0]))
    assert not closed.requires_grad                       # no_grad: no graph
    np.testing.assert_allclose(closed.data, [12.0])
    # The closure form's outer result depends on nothing outside either.
    second = mg.grad(lambda y: mg.grad(lambda x: f_scalar(x, y))(X0))(Y0)
    assert not second.requires_grad
