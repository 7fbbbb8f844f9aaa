"""Every primitive of the registry against finite differences and independent oracles.

- A1: for each primitive and each of its ``examples(rng)``, the reverse-mode
  vector-Jacobian product equals central finite differences
  (``minigrad.gradcheck``, float64, every coordinate and a random direction).
- A2: the same for second order (``minigrad.gradgradcheck``) for every
  primitive (every rule is written in Tensor operations).
- Enumeration: a primitive without examples or without VJP rules, or an
  elementwise/reduction/linalg primitive without a forward oracle here, fails
  the suite, so a new op cannot slip in unchecked.
- Forward values against implementations that do not share our code: the
  ``math`` module (libm), quadrature and series for digamma/polygamma,
  linear-algebra identities (L L^T = A, A X = B, A A^{-1} = I, singular values).
- Gradients of composites against closed-form derivatives.

Binary elementwise ops on random broadcasting shape pairs (fixed seed) are
in ``test_broadcasting.py``, which also fails for a binary op it lacks.
"""
import math
import warnings

import numpy as np
import pytest
from scipy import integrate

import minigrad
from minigrad import Tensor
from minigrad.ops import REGISTRY, Primitive

EULER_GAMMA = 0.5772156649015329


def _cases():
    """(name, example index) for every example of every primitive."""
    cases = []
    for name, prim in REGISTRY.items():
        examples = prim.examples(np.random.default_rng(0)) if callable(prim.examples) else []
        cases += [pytest.param(name, k, id=f"{name}-{k}") for k in range(len(examples))]
        if not examples:  # still a case, so the op shows up as failing below
            cases.append(pytest.param(name, None, id=f"{name}-no-examples"))
    return cases


def _example(name, k):
    prim = REGISTRY[name]
    assert k is not None, f"primitive {name!r} has no examples: gradients cannot be checked"
    args, kwargs = prim.examples(np.random.default_rng(0))[k]
    return prim, args, kwargs


# ------------------------------------------------------------------ enumeration
def unchecked(registry):
    """Why each primitive of ``registry`` could not be gradient-checked (empty: all can)."""
    problems = []
    for name, prim in registry.items():
        examples = prim.examples(np.random.default_rng(0)) if callable(prim.examples) else None
        if not examples:
            problems.append(f"{name}: no examples")
        if not prim.vjps:
            problems.append(f"{name}: no vjp rules")
        elif not prim.variadic:
            problems += [f"{name}: {len(args)} inputs but {len(prim.vjps)} vjp rules"
                         for args, _ in examples or [] if len(args) != len(prim.vjps)]
    return problems


@pytest.mark.claim("A1")
def test_registry_every_primitive_has_examples_and_vjps():
    assert unchecked(REGISTRY) == [], "primitives that cannot be checked"
    assert len(REGISTRY) >= 45


def test_registry_guard_catches_a_bare_primitive():
    # Throwaway primitives (not registered): the guard must name each defect.
    bare = Primitive("bare", "test", np.negative)
    short = Primitive("short", "test", np.add, examples=lambda rng: [((1.0, 2.0), {})])
    short.defvjp(lambda g, out, a, b: g)
    assert unchecked({"bare": bare, "short": short}) == [
        "bare: no examples", "bare: no vjp rules", "short: 2 inputs but 1 vjp rules"]


def test_registry_names_are_the_exported_names():
    # minigrad.<name> is each primitive (or the wrapper giving it its public signature).
    assert [n for n in REGISTRY if n not in minigrad.__all__ or not hasattr(minigrad, n)] == []


def test_contract_functions_are_exported():
    # The names DESIGN.md promises at minigrad.* (the contract users call).
    names = ("exp log log1p expm1 sqrt abs sin cos tanh sigmoid relu leaky_relu softplus "
             "log_sigmoid logsumexp softmax log_softmax maximum minimum where clip concatenate "
             "stack matmul sum mean square erf lgamma digamma cholesky triangular_solve logdet "
             "grad no_grad gradcheck gradgradcheck GradcheckError Tensor").split()
    assert [n for n in names if not hasattr(minigrad, n)] == []


# ------------------------------------------------------- A1 / A2 per example
@pytest.mark.claim("A1")
@pytest.mark.parametrize("name,k", _cases())
def test_primitive_gradient_matches_finite_differences(name, k):
    prim, args, kwargs = _example(name, k)
    assert minigrad.gradcheck(lambda *xs: prim(*xs, **kwargs), args)


@pytest.mark.claim("A2")
@pytest.mark.parametrize("name,k", _cases())
def test_primitive_second_order_matches_finite_differences(name, k):
    prim, args, kwargs = _example(name, k)
    assert minigrad.gradgradcheck(lambda *xs: prim(*xs, **kwargs), args)


# --------------------------------------------------------- forward oracles
def _digamma_quad(x):
    # psi(x) = -gamma + int_0^1 (1 - t^(x-1)) / (1 - t) dt   (x > 0)
    value, _ = integrate.quad(lambda t: (1 - t ** (x - 1)) / (1 - t), 0, 1,
                              epsabs=1e-13, epsrel=1e-13, limit=200)
    return value - EULER_GAMMA


def _polygamma_series(n, x, terms=2000):
    # psi^(n)(x) = (-1)^(n+1) n! sum_k 1/(x+k)^(n+1), tail by Euler-Maclaurin
    m = n + 1
    head = math.fsum(1.0 / (x + k) ** m for k in range(terms))
    y = x + terms
    tail = 1 / ((m - 1) * y ** (m - 1)) + 1 / (2 * y ** m) + m / (12 * y ** (m + 1))
    return (-1) ** (n + 1) * math.factorial(n) * (head + tail)


def _erfcx_scalar(x):
    """e^{x^2} erfc(x): libm below 2, Laplace's continued fraction above
    (erfcx = 1 / (sqrt(pi) (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))))), where erfc underflows."""
    if x < 2.0:
        return math.exp(x * x) * math.erfc(x)
    tail = x
    for k in range(400, 0, -1):
        tail = x + (k / 2) / tail
    return 1.0 / (math.sqrt(math.pi) * tail)


def _log_ndtr_scalar(x):
    """log Phi(x) with Phi(x) = erfc(-x/sqrt 2)/2, each tail without cancellation."""
    if x > 0:
        return math.log1p(-0.5 * math.erfc(x / math.sqrt(2)))
    z = -x / math.sqrt(2)
    return math.log(0.5 * _erfcx_scalar(z)) - z * z


def _scalar(f):
    return lambda *arrays, **kw: np.vectorize(lambda *v: f(*v, **kw), otypes=[float])(*arrays)


def _lse(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _mean(x, axis=None, keepdims=False):
    total = np.add.reduce(x, axis=axis, keepdims=keepdims)
    return total / (x.size // np.size(total))


def _matmul_loops(a, b):
    # Row-times-column sums with math.fsum, batch axes broadcast by hand.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a2 = np.broadcast_to(a2, batch + a2.shape[-2:])
    b2 = np.broadcast_to(b2, batch + b2.shape[-2:])
    out = np.empty(batch + (a2.shape[-2], b2.shape[-1]))
    for idx in np.ndindex(*out.shape):
        *lead, i, j = idx
        out[idx] = math.fsum(a2[tuple(lead)][i, :] * b2[tuple(lead)][:, j])
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


def _check_cholesky(A, out):
    np.testing.assert_allclose(out @ np.swapaxes(out, -1, -2), A, rtol=1e-12, atol=1e-12)
    assert np.all(np.triu(out, 1) == 0) and np.all(np.diagonal(out, 0, -2, -1) > 0)


def _check_solve(A, B, out, lower=True):
    np.testing.assert_allclose(A @ out, B, rtol=1e-10, atol=1e-12)


def _check_inv(A, out):
    np.testing.assert_allclose(A @ out, np.broadcast_to(np.eye(A.shape[-1]), A.shape),
                               atol=1e-12)


def _logdet_svd(A):
    return np.sum(np.log(np.linalg.svd(A, compute_uv=False)), axis=-1)


def _bernoulli_log_prob_oracle(t, x):
    # sum_j x_j t_j - log(1 + e^{t_j}), each term with libm, summed exactly
    t, x = np.broadcast_arrays(t, x)
    terms = np.vectorize(lambda a, b: b * a - math.log1p(math.exp(a)), otypes=[float])(t, x)
    return np.apply_along_axis(math.fsum, -1, terms)


def _normal_kl_standard_oracle(mu, l):
    # 1/2 sum_j sigma_j^2 + mu_j^2 - 1 - log sigma_j^2, with sigma_j^2 = e^{2 l_j}
    mu, l = np.broadcast_arrays(mu, l)
    terms = np.vectorize(lambda m, v: 0.5 * (math.exp(2 * v) + m * m - 1 - 2 * v),
                         otypes=[float])(mu, l)
    return np.apply_along_axis(math.fsum, -1, terms)


ORACLES = {
    # elementwise: Python's math (libm) and the definitions, elementwise
    "add": _scalar(lambda a, b: a + b), "sub": _scalar(lambda a, b: a - b),
    "mul": _scalar(lambda a, b: a * b), "div": _scalar(lambda a, b: a / b),
    "neg": _scalar(lambda x: -x), "pow": _scalar(math.pow), "square": _scalar(lambda x: x * x),
    "exp": _scalar(math.exp), "log": _scalar(math.log), "log1p": _scalar(math.log1p),
    "expm1": _scalar(math.expm1), "sqrt": _scalar(math.sqrt), "sin": _scalar(math.sin),
    "cos": _scalar(math.cos), "tanh": _scalar(math.tanh),
    "sigmoid": _scalar(lambda x: 1 / (1 + math.exp(-x))),
    "softplus": _scalar(lambda x: math.log1p(math.exp(x))),
    "log_sigmoid": _scalar(lambda x: -math.log1p(math.exp(-x))),
    "relu": _scalar(lambda x: max(x, 0.0)),
    "leaky_relu": _scalar(lambda x, slope: x if x > 0 else slope * x),
    "abs": _scalar(math.fabs), "erf": _scalar(math.erf), "lgamma": _scalar(math.lgamma),
    "erfc": _scalar(math.erfc), "erfcx": _scalar(_erfcx_scalar), "arctan": _scalar(math.atan),
    "log_ndtr": _scalar(_log_ndtr_scalar),
    "digamma": _scalar(_digamma_quad),
    "polygamma": lambda x, n: _scalar(_polygamma_series)(n, x),
    "maximum": _scalar(max), "minimum": _scalar(min),
    "where": lambda a, b, condition: _scalar(lambda c, p, q: p if c else q)(condition, a, b),
    "clip": _scalar(lambda x, low, high: min(max(x, low), high)),
    # reductions: definitions
    "sum": lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims),
    "mean": _mean,
    "max": lambda x, axis=None, keepdims=False: np.maximum.reduce(x, axis=axis, keepdims=keepdims),
    "min": lambda x, axis=None, keepdims=False: np.minimum.reduce(x, axis=axis, keepdims=keepdims),
    "logsumexp": _lse,
    "softmax": lambda x, axis=-1: np.exp(x - _lse(x, axis, True)),
    "log_softmax": lambda x, axis=-1: x - _lse(x, axis, True),
    # linear algebra: identities checked by the functions below (return None)
    "matmul": _matmul_loops,
    "cholesky": _check_cholesky, "triangular_solve": _check_solve, "inv": _check_inv,
    "logdet": _logdet_svd,
    # fused: the compositions they replace, term by term with libm and math.fsum
    "affine": lambda x, W, b: _matmul_loops(x, W) + b,
    "affine_relu": lambda x, W, b: np.maximum(_matmul_loops(x, W) + b, 0.0),
    "bernoulli_log_prob": _bernoulli_log_prob_oracle,
    "normal_kl_standard": _normal_kl_standard_oracle,
    "reparameterize": _scalar(lambda m, l, e: m + math.exp(l) * e),
}
ORACLE_FAMILIES = ("elementwise", "reduction", "linalg", "fused")


def test_every_elementwise_reduction_linalg_primitive_has_a_forward_oracle():
    lacking = [n for n, p in REGISTRY.items() if p.family in ORACLE_FAMILIES and n not in ORACLES]
    assert lacking == [], f"add a forward oracle for {lacking} to ORACLES"


@pytest.mark.parametrize("name", [n for n, p in REGISTRY.items() if p.family in ORACLE_FAMILIES])
def test_primitive_forward_matches_independent_oracle(name):
    prim = REGISTRY[name]
    for args, kwargs in prim.examples(np.random.default_rng(0)):
        ours = prim(*args, **kwargs).data
        if name in ("cholesky", "triangular_solve", "inv"):
            ORACLES[name](*args, ours, **kwargs)
            continue
        expected = ORACLES[name](*[np.asarray(a, dtype=float) for a in args], **kwargs)
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-13,
                                   err_msg=f"{name} with {kwargs}")


# ---------------------------------------------- closed-form derivatives (A1, A2)
def _elementwise_grad(f, x):
    """f'(x) elementwise: the gradient of sum f(x)."""
    return minigrad.grad(lambda t: f(t).sum())(x).data


def _elementwise_second(f, x):
    """f''(x) elementwise: grad of sum f' (nested grad, recorded backward)."""
    return minigrad.grad(lambda t: minigrad.grad(lambda s: f(s).sum())(t).sum())(x).data


X_ANY = np.linspace(-6.0, 6.0, 25)
X_POSITIVE = np.linspace(0.2, 9.0, 23)


def _sig(x):
    return 1 / (1 + np.exp(-x))


DERIVATIVES = {  # name: (f, inputs, f', f'')
    "log_sigmoid": (minigrad.log_sigmoid, X_ANY, lambda x: _sig(-x),
                    lambda x: -_sig(x) * _sig(-x)),
    "softplus": (minigrad.softplus, X_ANY, _sig, lambda x: _sig(x) * _sig(-x)),
    "erf": (minigrad.erf, X_ANY, lambda x: 2 / np.sqrt(np.pi) * np.exp(-x * x),
            lambda x: -4 * x / np.sqrt(np.pi) * np.exp(-x * x)),
    "tanh": (minigrad.tanh, X_ANY, lambda x: 1 / np.cosh(x) ** 2,
             lambda x: -2 * np.tanh(x) / np.cosh(x) ** 2),
    "lgamma": (minigrad.lgamma, X_POSITIVE, _scalar(_digamma_quad),
               _scalar(lambda x: _polygamma_series(1, x))),
    "digamma": (minigrad.digamma, X_POSITIVE, _scalar(lambda x: _polygamma_series(1, x)),
                _scalar(lambda x: _polygamma_series(2, x))),
    "sqrt": (minigrad.sqrt, X_POSITIVE, lambda x: 0.5 / np.sqrt(x), lambda x: -0.25 * x ** -1.5),
    "arctan": (minigrad.arctan, X_ANY, lambda x: 1 / (1 + x * x),
               lambda x: -2 * x / (1 + x * x) ** 2),
    "erfc": (minigrad.erfc, X_ANY, lambda x: -2 / np.sqrt(np.pi) * np.exp(-x * x),
             lambda x: 4 * x / np.sqrt(np.pi) * np.exp(-x * x)),
}


@pytest.mark.claim("A1", "A2")
@pytest.mark.parametrize("name", DERIVATIVES)
def test_first_and_second_derivative_match_closed_form(name):
    f, x, first, second = DERIVATIVES[name]
    np.testing.assert_allclose(_elementwise_grad(f, x), first(x), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(_elementwise_second(f, x), second(x), rtol=1e-9, atol=1e-13)


@pytest.mark.claim("A1")
def test_log_sigmoid_and_softplus_extremes_are_finite_without_warnings():
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    # Underflow of exp(-800) to 0 is the right answer, not an error.
    with np.errstate(divide="raise", over="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(minigrad.log_sigmoid(Tensor(x)).data,
                                   [-800.0, -40.0, -math.log(2), -math.exp(-40), 0.0], rtol=1e-12)
        np.testing.assert_allclose(minigrad.softplus(Tensor(x)).data,
                                   [0.0, math.exp(-40), math.log(2), 40.0, 800.0], rtol=1e-12)
        np.testing.assert_allclose(_elementwise_grad(minigrad.log_sigmoid, x),
                                   [1.0, 1.0, 0.5, math.exp(-40), 0.0], rtol=1e-12)


@pytest.mark.claim("A1", "A2")
def test_log_ndtr_and_its_derivatives_in_the_far_lower_tail():
    # Phi(x) = phi(x)/(-x) * S(x), S = 1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8 (x -> -inf), so
    # log Phi = -x^2/2 - log(-x) - log sqrt(2 pi) + log S and d log Phi/dx = phi/Phi = -x / S.
    x = np.array([-1e3, -3e4, -1e6, -1e8])
    u = 1 / (x * x)
    series = 1 - u + 3 * u ** 2 - 15 * u ** 3 + 105 * u ** 4
    value = -x * x / 2 - np.log(-x) - 0.5 * np.log(2 * np.pi) + np.log(series)
    np.testing.assert_allclose(minigrad.log_ndtr(Tensor(x)).data, value, rtol=1e-15)
    np.testing.assert_allclose(_elementwise_grad(minigrad.log_ndtr, x), -x / series, rtol=1e-13)
    # d^2 log Phi / dx^2 = -r (x + r), r = -x/S: (S - 1)/(u S^2) = (-1 + 3u - 15u^2 + 105u^3)/S^2.
    # The rule's erfcx' = 2z erfcx(z) - 2/sqrt(pi) cancels: relative error ~ x^2 eps, so the
    # second order is checked where that is below 1e-7 (documented in elementwise.py).
    near = slice(0, 2)
    second = (-1 + 3 * u - 15 * u ** 2 + 105 * u ** 3) / series ** 2
    np.testing.assert_allclose(_elementwise_second(minigrad.log_ndtr, x[near]), second[near],
                               rtol=1e-7)
    # the upper tail: log Phi(x) ~ -Phi(-x), gradient phi(x) / Phi(x) -> 0 without NaN
    top = Tensor(np.array([10.0, 40.0, 1e3]), requires_grad=True)
    minigrad.log_ndtr(top).sum().backward()
    np.testing.assert_allclose(top.grad, [np.exp(-50) / np.sqrt(2 * np.pi) / (1 - 7.6e-24),
                                          0.0, 0.0], rtol=1e-12, atol=0)


@pytest.mark.claim("A1")
def test_logdet_gradient_is_inverse_transpose_also_for_negative_determinant():
    A = np.array([[0.5, 2.0, 0.1], [1.0, -0.3, 0.4], [0.2, 0.7, 1.5]])
    assert np.linalg.det(A) < 0
    gradient = minigrad.grad(minigrad.logdet)(A).data
    np.testing.assert_allclose(gradient, np.linalg.inv(A).T, rtol=1e-12)


def _spd(rng, n):
    M = rng.normal(size=(n, n))
    return M @ M.T + n * np.eye(n)


@pytest.mark.claim("A1")
def test_cholesky_gradient_through_reconstruction_and_logdet():
    rng = np.random.default_rng(1)
    A, C = _spd(rng, 4), rng.normal(size=(4, 4))
    # sum(C * L L^T) = sum(C * (A + A^T)/2), so its gradient is (C + C^T) / 2.
    def reconstruction(a):
        L = minigrad.cholesky(a)
        return (L @ L.T * Tensor(C)).sum()
    np.testing.assert_allclose(minigrad.grad(reconstruction)(A).data, (C + C.T) / 2,
                               rtol=1e-10, atol=1e-12)
    # log det A = 2 sum log diag(L), whose gradient is A^{-1} (A symmetric).
    diagonal = (np.arange(4), np.arange(4))
    def logdet_by_cholesky(a):
        return minigrad.log(minigrad.cholesky(a)[diagonal]).sum() * 2.0
    np.testing.assert_allclose(logdet_by_cholesky(Tensor(A)).item(), np.linalg.slogdet(A)[1])
    np.testing.assert_allclose(minigrad.grad(logdet_by_cholesky)(A).data, np.linalg.inv(A),
                               rtol=1e-10)


@pytest.mark.claim("A1")
def test_triangular_solve_and_logsumexp_gradients_closed_form():
    rng = np.random.default_rng(2)
    L = np.tril(rng.normal(size=(4, 4)), -1) + np.diag(rng.uniform(1, 2, 4))
    B, C = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    X = np.linalg.solve(L, B)
    f = lambda a, b: (minigrad.triangular_solve(a, b, lower=True) * Tensor(C)).sum()
    grad_L, grad_B = minigrad.grad(f, argnums=(0, 1))(L, B)
    adjoint = np.linalg.solve(L.T, C)  # A^{-T} C
    np.testing.assert_allclose(grad_B.data, adjoint, rtol=1e-10)
    np.testing.assert_allclose(grad_L.data, np.tril(-adjoint @ X.T), rtol=1e-10, atol=1e-12)
    x = rng.normal(size=(3, 5)) * 10
    softmax = np.exp(x - _lse(x, 1, True))
    np.testing.assert_allclose(minigrad.grad(lambda t: minigrad.logsumexp(t, axis=1).sum())(x)
                               .data, softmax, rtol=1e-12)
