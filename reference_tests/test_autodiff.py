"""The backward pass: graph walk, accumulation, errors, higher order, anomalies.

Oracles: closed-form derivatives (x^T A x, logsumexp's Hessian
diag(s) - s s^T, sin''' = -cos), central finite differences of first-order
gradients (A2), and the rules of the contract (DESIGN.md): iterative
backward for 100,000-op chains, ``+=`` accumulation, ``.grad is None`` for
tensors that do not require grad, clear errors, ``create_graph`` for
Hessian-vector products and WGAN-GP, logsumexp of all -inf rows (A3).
"""
import subprocess
import sys
import warnings
import weakref

import numpy as np
import pytest

import minigrad
from minigrad import Tensor


def _finite_difference_gradient(f, x, h=1e-6):
    """Central differences of a scalar f: ndarray -> float, coordinate by coordinate."""
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


# ------------------------------------------------------------------ graph walk
def test_backward_of_a_100000_op_chain_at_default_recursion_limit_and_frees_it():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # CPython's default: recursion would die at depth ~1000
    try:
        x = Tensor(0.5, requires_grad=True)
        y, factor, n = x, 1.00001, 100_000
        for k in range(n):
            y = y * factor if k % 2 else y + 1.0  # alternate two primitives
            if k == n // 2:
                middle = weakref.ref(y)
        assert middle() is not None  # held by the graph
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    np.testing.assert_allclose(x.grad, factor ** (n // 2), rtol=1e-9)  # d y / d x
    assert middle() is None, "backward must release the graph it walked"


def test_deleting_a_100000_op_chain_without_backward_does_not_crash():
    # In a child process: a recursive deallocation would crash the interpreter.
    code = ("import sys; sys.setrecursionlimit(1000)\n"
            "from minigrad import Tensor\n"
            "x = Tensor(1.0, requires_grad=True); y = x\n"
            "for _ in range(100_000): y = y + 1.0\n"
            "del y\nprint('ok')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


def test_diamond_accumulates_both_paths():
    x = Tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    a = x * 2.0                   # used twice below
    y = (a * minigrad.exp(x) + a + x * x).sum()
    y.backward()
    xs = x.data
    np.testing.assert_allclose(x.grad, 2 * np.exp(xs) + 2 * xs * np.exp(xs) + 2 + 2 * xs)


def test_grad_accumulates_across_two_backward_calls():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (x * 3.0).sum().backward()
    first = x.grad
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3.0 + 2 * x.data)  # +=, not =
    np.testing.assert_allclose(first, [3.0, 3.0])          # the first array was not mutated


def test_constants_and_intermediates_have_no_grad():
    x = Tensor(np.ones(3), requires_grad=True)
    c = Tensor(np.arange(3.0))
    hidden = x * c
    (hidden * hidden).sum().backward()
    assert c.grad is None and not c.requires_grad
    assert hidden.grad is None
    np.testing.assert_allclose(x.grad, 2 * x.data * c.data ** 2)


def test_no_grad_records_nothing_and_restores_on_exit():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ZeroDivisionError), minigrad.no_grad():
        y = x * 2.0
        1 / 0
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
    with minigrad.no_grad(), minigrad.enable_grad():
        assert (x * 2.0).requires_grad
    assert (x * 2.0).requires_grad  # recording is back after an exception inside


# ------------------------------------------------------------------- errors
def test_backward_of_non_scalar_needs_grad_of_the_output_shape():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"non-scalar.*\(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(np.ones((3, 2)))
    y.backward(np.full((2, 3), 0.5))
    np.testing.assert_allclose(x.grad, np.ones((2, 3)))


def test_second_backward_needs_retain_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (minigrad.exp(x) * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    x.grad = None
    z = (minigrad.exp(x) * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad, 2 * (np.exp(x.data) * (1 + x.data)))


# -------------------------------------------------------------- higher order
@pytest.mark.claim("A2")
def test_create_graph_then_differentiate_grad_tensor():
    x = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    (x ** 3.0).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad, 3 * x.data ** 2)
    first = x.grad_tensor
    assert first.requires_grad
    x.grad, v = None, np.array([1.0, 2.0, -1.0])
    (first * Tensor(v)).sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.data * v)  # H v with H = diag(6x)


@pytest.mark.claim("A2")
def test_grad_argnums_and_nested_derivatives():
    f = lambda a, b: (a * a * b + minigrad.sin(b)).sum()
    a, b = np.array([1.0, 2.0]), np.array([0.5, -0.3])
    np.testing.assert_allclose(minigrad.grad(f)(a, b).data, 2 * a * b)
    ga, gb = minigrad.grad(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga.data, 2 * a * b)
    np.testing.assert_allclose(gb.data, a * a + np.cos(b))
    x = 0.7
    d2 = minigrad.grad(minigrad.grad(lambda t: t ** 4.0))
    np.testing.assert_allclose(d2(x).item(), 12 * x ** 2)
    d3 = minigrad.grad(minigrad.grad(minigrad.grad(minigrad.sin)))
    np.testing.assert_allclose(d3(x).item(), -np.cos(x), rtol=1e-12)


def _hvp(f, x, v):
    """H(x) v by double backward: grad_x <grad_x f, v>."""
    return minigrad.grad(lambda t: (minigrad.grad(f)(t) * Tensor(v)).sum())(x).data


@pytest.mark.claim("A2")
def test_hessian_vector_products_against_closed_forms():
    rng = np.random.default_rng(3)
    A, x, v = rng.normal(size=(4, 4)), rng.normal(size=4), rng.normal(size=4)
    quadratic = lambda t: (t * (Tensor(A) @ t)).sum()  # x^T A x, Hessian A + A^T
    np.testing.assert_allclose(_hvp(quadratic, x, v), (A + A.T) @ v, rtol=1e-12)
    s = np.exp(x - np.log(np.sum(np.exp(x))))          # softmax
    np.testing.assert_allclose(_hvp(minigrad.logsumexp, x, v),
                               (np.diag(s) - np.outer(s, s)) @ v, rtol=1e-10, atol=1e-14)


@pytest.mark.claim("A2")
def test_hessian_vector_product_equals_finite_differences_of_gradients():
    rng = np.random.default_rng(4)
    W, x, v = rng.normal(size=(3, 5)), rng.normal(size=5), rng.normal(size=5)

    def f(t):
        smooth = minigrad.softplus(Tensor(W) @ t).sum()
        return smooth + minigrad.logsumexp(t) * minigrad.sin(t).sum()

    gradient = lambda y: minigrad.grad(f)(y).data
    h = 1e-5
    numeric = (gradient(x + h * v) - gradient(x - h * v)) / (2 * h)
    np.testing.assert_allclose(_hvp(f, x, v), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.claim("A2")
def test_gradients_with_respect_to_an_intermediate_tensor_wgan_gp():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    e = rng.uniform(size=(6, 1))
    W0, v = rng.normal(size=(3, 4)), rng.normal(size=4)

    def penalty(W_value, check=False):
        W = W_value if isinstance(W_value, Tensor) else Tensor(W_value)
        x_hat = Tensor(e) * Tensor(x) + Tensor(1 - e) * Tensor(y)
        x_hat = x_hat if x_hat.requires_grad else Tensor(x_hat.data, requires_grad=True)
        critic = minigrad.tanh(x_hat @ W) @ Tensor(v)     # D(x_hat), one value per row
        g = minigrad.gradients(critic.sum(), x_hat, create_graph=True)
        if check:  # dD/dx_hat = W (v * (1 - tanh^2)) row by row
            t = np.tanh(x_hat.data @ W.data)
            np.testing.assert_allclose(g.data, (v * (1 - t ** 2)) @ W.data.T, rtol=1e-12)
        norms = minigrad.sqrt((g * g).sum(axis=1))
        return ((norms - 1.0) ** 2.0).mean()

    W = Tensor(W0, requires_grad=True)
    penalty(W, check=True).backward()
    numeric = _finite_difference_gradient(lambda w: penalty(w).item(), W0)
    np.testing.assert_allclose(W.grad, numeric, rtol=1e-6, atol=1e-9)


def test_gradients_returns_without_accumulating_and_zeros_for_unused_inputs():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    unused = Tensor(np.array([3.0]), requires_grad=True)
    gx, gu = minigrad.gradients((x * x).sum(), [x, unused])
    np.testing.assert_allclose(gx.data, 2 * x.data)
    np.testing.assert_allclose(gu.data, [0.0])
    assert x.grad is None and unused.grad is None
    with pytest.raises(ValueError, match="requires_grad"):
        minigrad.gradients((x * 2.0).sum(), [Tensor(np.ones(2))])


def test_grad_of_a_non_scalar_function_says_so():
    with pytest.raises(TypeError, match=r"one-element.*\(3,\)"):
        minigrad.grad(lambda t: t * 2.0)(np.ones(3))


# ------------------------------------------------------------------ anomalies
def test_detect_anomaly_names_the_forward_op_that_made_nan():
    x = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own warning, then ours
        with minigrad.detect_anomaly(), pytest.raises(FloatingPointError,
                                                      match=r"'log'.*forward"):
            minigrad.exp(minigrad.log(x * 1.0))
        y = minigrad.log(x)  # outside the context: NaN flows, nothing raises
    assert np.isnan(y.data[0])


def test_detect_anomaly_names_the_op_whose_backward_made_inf():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        minigrad.sqrt(x).sum().backward()       # without the mode: d sqrt(x)/dx at 0 is inf
        assert np.isinf(x.grad[0]) and x.grad[1] == 0.25
        x.grad = None
        y = minigrad.sqrt(x).sum()              # forward at 0 is finite: sqrt(0) = 0
        with minigrad.detect_anomaly(), pytest.raises(FloatingPointError) as err:
            y.backward()
    message = str(err.value)
    assert "'sqrt'" in message and "backward" in message, message


# ----------------------------------------------------------- A3 through engine
@pytest.mark.claim("A3")
def test_logsumexp_all_minus_inf_row_is_minus_inf_with_zero_gradient_and_no_warning():
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 1.0]])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        t = Tensor(x, requires_grad=True)
        value = minigrad.logsumexp(t, axis=1)
        value.sum().backward()
        whole = Tensor(x[:1], requires_grad=True)
        total = minigrad.logsumexp(whole)
        total.backward()
    assert value.data[0] == -np.inf and total.item() == -np.inf
    np.testing.assert_allclose(value.data[1], np.log(1 + np.e), rtol=1e-15)
    np.testing.assert_array_equal(t.grad[0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(t.grad[1], [1 / (1 + np.e), 0.0, np.e / (1 + np.e)], rtol=1e-15)
    np.testing.assert_array_equal(whole.grad, np.zeros((1, 3)))


@pytest.mark.claim("A3")
def test_logsumexp_huge_and_tiny_magnitudes_and_hvp_at_minus_inf_entries():
    for shift in (1e300, 1000.0, -1000.0, -1e300):
        x = Tensor(np.array([shift, shift]), requires_grad=True)
        minigrad.logsumexp(x).backward()
        assert minigrad.logsumexp(x.detach()).item() == shift + np.log(2)
        np.testing.assert_array_equal(x.grad, [0.5, 0.5])
    x, v = np.array([-np.inf, 0.0, 1.0]), np.array([1.0, -2.0, 0.5])
    s = np.array([0.0, 1.0, np.e]) / (1 + np.e)
    hvp = _hvp(minigrad.logsumexp, x, v)
    np.testing.assert_allclose(hvp, (np.diag(s) - np.outer(s, s)) @ v, rtol=1e-12, atol=1e-15)
