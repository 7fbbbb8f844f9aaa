"""dpm.numerics against independent references: series expansions, scipy.special, calculus.

log1mexp is checked against two convergent series (not against its own
branches): for x near 0, log(1 - e^x) = log(-x) + log(sum_k x^k / (k+1)!)
with a sign flip, i.e. log(-x) + log1p(sum_{k>=1} x^k / (k+1)!); for x far
below 0, log(1 - e^x) = -sum_{k>=1} e^{kx} / k.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

import minigrad as mg
from dpm import numerics as nm


def log1mexp_near_zero(x):
    """log(1 - e^x) = log(-x) + log((e^x - 1) / x) and (e^x - 1)/x = sum_k x^k / (k+1)!."""
    terms = sum(x ** k / math.factorial(k + 1) for k in range(1, 30))
    return math.log(-x) + math.log1p(terms)


def log1mexp_far(x):
    """log(1 - e^x) = -sum_{k>=1} e^{kx} / k for x < 0 (the series of log(1 - t))."""
    return -sum(math.exp(k * x) / k for k in range(1, 400))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("x", [-1e-300, -1e-20, -1e-8, -1e-3, -0.1, -0.5, -0.69])
def test_log1mexp_near_zero_matches_series(x):
    assert nm.log1mexp(x).item() == pytest.approx(log1mexp_near_zero(x), rel=1e-14)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("x", [-0.7, -1.0, -2.0, -5.0, -20.0, -50.0, -700.0])
def test_log1mexp_far_matches_series(x):
    assert nm.log1mexp(x).item() == pytest.approx(log1mexp_far(x), rel=1e-14)


def test_log1mexp_is_where_the_naive_formula_fails():
    # The naive log(1 - exp(x)) loses everything at both ends.
    with np.errstate(divide="ignore"):
        assert np.log(1 - np.exp(-1e-20)) == -np.inf
    assert np.log(1 - np.exp(-50.0)) == 0.0
    assert np.isfinite(nm.log1mexp(-1e-20).item())
    assert nm.log1mexp(-50.0).item() < 0


@pytest.mark.filterwarnings("error")
def test_log1mexp_endpoints():
    assert nm.log1mexp(0.0).item() == -np.inf
    assert nm.log1mexp(-np.inf).item() == 0.0


@pytest.mark.filterwarnings("error")
def test_log1mexp_gradient():
    x = np.array([-3.0, -0.9, -0.5, -0.01, -40.0])
    t = mg.Tensor(x, requires_grad=True)
    nm.log1mexp(t).sum().backward()
    # d/dx log(1 - e^x) = -e^x / (1 - e^x) = -1 / expm1(-x)
    np.testing.assert_allclose(t.grad, -1.0 / np.expm1(-x), rtol=1e-13)
    assert mg.gradcheck(nm.log1mexp, [x[:4]])


@pytest.mark.filterwarnings("error")
def test_logsubexp_values():
    a = np.array([0.0, 2.0, 1000.0, -1000.0, 3.0])
    b = np.array([-1.0, 1.9, 999.0, -1001.0, -np.inf])
    expected = special.logsumexp(np.stack([a[:4], b[:4]]), axis=0, b=np.array([[1.0], [-1.0]]))
    np.testing.assert_allclose(nm.logsubexp(a, b).data[:4], expected, rtol=1e-13)
    assert nm.logsubexp(a, b).data[4] == 3.0
    assert nm.logsubexp(1000.0, 999.0).item() == pytest.approx(1000.0 + math.log1p(-math.exp(-1)))


@pytest.mark.filterwarnings("error")
def test_logsubexp_empty_and_equal():
    assert nm.logsubexp(-np.inf, -np.inf).item() == -np.inf
    assert nm.logsubexp(1.5, 1.5).item() == -np.inf
    a = mg.Tensor(np.array([-np.inf, 0.5]), requires_grad=True)
    nm.logsubexp(a, np.array([-np.inf, -1.0])).sum().backward()
    assert np.all(np.isfinite(a.grad)) and a.grad[0] == 0.0


def test_logsubexp_gradient():
    assert mg.gradcheck(nm.logsubexp, [np.array([0.3, 2.0, -1.0]), np.array([-1.0, 1.2, -4.0])])


@pytest.mark.filterwarnings("error")
def test_xlogy_matches_scipy():
    x = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 2.5, -1.0, 3.0])
    y = np.array([0.0, 1.0, np.inf, 2.0, 0.0, 3.0, 0.5, 1e-300])
    np.testing.assert_array_equal(nm.xlogy(x, y).data, special.xlogy(x, y))


def test_xlogy_gradient_at_zero_x_is_log_y():
    x = mg.Tensor(np.array([0.0, 0.0, 1.5]), requires_grad=True)
    y = mg.Tensor(np.array([2.0, 0.0, 3.0]), requires_grad=True)
    nm.xlogy(x, y).sum().backward()
    np.testing.assert_allclose(x.grad, [np.log(2.0), 0.0, np.log(3.0)])
    np.testing.assert_allclose(y.grad, [0.0, 0.0, 0.5])
    assert mg.gradcheck(nm.xlogy, [np.array([0.5, 2.0]), np.array([0.7, 3.0])])


@pytest.mark.filterwarnings("error")
def test_softplus_and_log_sigmoid_match_scipy():
    x = np.array([-800.0, -30.0, -1.0, 0.0, 1e-9, 2.0, 40.0, 800.0])
    np.testing.assert_allclose(nm.softplus(x).data, np.logaddexp(0.0, x), rtol=1e-15)
    np.testing.assert_allclose(nm.log_sigmoid(x).data, special.log_expit(x), rtol=1e-15)


@pytest.mark.filterwarnings("error")
def test_normal_cdf_matches_scipy():
    x = np.linspace(-8, 8, 41)
    np.testing.assert_allclose(nm.normal_cdf(x).data, special.ndtr(x), rtol=1e-13, atol=1e-16)


@pytest.mark.filterwarnings("error")
def test_arctan_values_and_infinities():
    x = np.array([-1e300, -1e10, -3.0, -0.5, 0.0, 0.2, 1.0, 7.0, 1e200, np.inf, -np.inf])
    np.testing.assert_array_equal(nm.arctan(x).data, np.arctan(x))


@pytest.mark.parametrize("x0", [-2.0, -0.3, 0.0, 0.8, 5.0])
def test_arctan_derivatives_to_third_order(x0):
    f = lambda x: nm.arctan(x).sum()  # noqa: E731
    d1, d2, d3 = mg.grad(f), mg.grad(mg.grad(f)), mg.grad(mg.grad(mg.grad(f)))
    s = 1.0 + x0 * x0
    assert d1(x0).item() == pytest.approx(1.0 / s, rel=1e-14)
    assert d2(x0).item() == pytest.approx(-2.0 * x0 / s ** 2, rel=1e-13, abs=1e-15)
    assert d3(x0).item() == pytest.approx((6.0 * x0 * x0 - 2.0) / s ** 3, rel=1e-13)


def test_arctan_gradient_at_infinity_is_zero():
    t = mg.Tensor(np.array([np.inf, -np.inf, 1.0]), requires_grad=True)
    nm.arctan(t).sum().backward()
    np.testing.assert_array_equal(t.grad, [0.0, 0.0, 0.5])
