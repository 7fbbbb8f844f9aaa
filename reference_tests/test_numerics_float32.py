"""dpm.numerics keeps float32 (Python numbers do not promote), and Cauchy.cdf with it.

References: scipy.special.xlogy and NumPy's arctan in float64 (values to a
few float32 ulps), the calculus of arctan (d^k/dx^k written out), and
scipy.stats.cauchy's cdf and pdf. The rule under test is NumPy's own
(NEP 50): a Python int or float beside a float32 array leaves it float32,
a float64 array beside it promotes.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

import minigrad as mg
from dpm import numerics as nm
from dpm.distributions import Cauchy

F32_EPS = float(np.finfo(np.float32).eps)


def f32(values):
    return mg.Tensor(np.asarray(values, dtype=np.float32))


@pytest.mark.filterwarnings("error")
def test_xlogy_and_logsubexp_keep_float32_beside_python_numbers():
    x = f32([0.0, 0.0, 0.5, 2.0, 3.0])
    for y in (0.0, 3, 2.5):
        value = nm.xlogy(x, y)
        assert value.dtype == np.float32, y
        expected = special.xlogy(x.data.astype(float), float(y))
        np.testing.assert_allclose(value.data, expected, rtol=4 * F32_EPS)
    y = f32([0.0, 2.0, 0.0, 3.0, 1e-30])
    assert nm.xlogy(x, y).dtype == np.float32 and nm.xlogy(0.5, y).dtype == np.float32
    np.testing.assert_array_equal(nm.xlogy(x, y).data[:2], [0.0, 0.0])    # 0 log 0 = 0
    assert nm.xlogy(x, y).data[2] == -np.inf                               # x log 0 = -inf
    assert nm.xlogy(x, np.array([1.0, 2.0, 3.0, 4.0, 5.0])).dtype == np.float64  # NumPy's rule
    assert nm.xlogy(0, 3).dtype == np.float64                              # integers: float64
    a = f32([0.0, 1.0, -2.0])
    value = nm.logsubexp(a, -3.0)
    assert value.dtype == np.float32
    expected = np.log(np.exp(a.data.astype(float)) - np.exp(-3.0))
    np.testing.assert_allclose(value.data, expected, rtol=4 * F32_EPS)


def test_xlogy_float32_gradients_stay_float32():
    x = mg.Tensor(np.array([0.0, 1.5], dtype=np.float32), requires_grad=True)
    y = mg.Tensor(np.array([2.0, 3.0], dtype=np.float32), requires_grad=True)
    nm.xlogy(x, y).sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, np.log([2.0, 3.0]), rtol=4 * F32_EPS)
    np.testing.assert_allclose(y.grad, [0.0, 0.5], rtol=4 * F32_EPS)


@pytest.mark.filterwarnings("error")
def test_arctan_is_numpy_s_value_in_both_dtypes_and_gradient_never_overflows():
    rng = np.random.default_rng(7)
    for dtype, top in ((np.float64, 300), (np.float32, 37)):
        x = (rng.standard_normal(2000) * 10.0 ** rng.uniform(-3, top, 2000)).astype(dtype)
        x = np.concatenate([x, np.array([0.0, 1.0, -1.0, np.inf, -np.inf], dtype=dtype)])
        t = mg.Tensor(x, requires_grad=True)
        value = nm.arctan(t)
        assert value.dtype == dtype
        np.testing.assert_array_equal(value.data, np.arctan(x))
        value.sum().backward()   # d arctan = 1/(1 + x^2), 0 at +-inf, no overflow warning
        assert t.grad.dtype == dtype
        with np.errstate(over="ignore"):
            expected = 1.0 / (1.0 + x.astype(float) ** 2)
        np.testing.assert_allclose(t.grad, expected, rtol=8 * np.finfo(dtype).eps,
                                   atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("x0", [-30.0, -1.5, 0.4, 1.0, 2.0, 1e3])
def test_arctan_fourth_derivative_on_both_forms(x0):
    # arctan'''' = 24 x (1 - x^2) / (1 + x^2)^4, from 1/(1 + x^2) differentiated three times.
    f = lambda x: nm.arctan(x).sum()  # noqa: E731
    d4 = mg.grad(mg.grad(mg.grad(mg.grad(f))))
    expected = 24.0 * x0 * (1.0 - x0 * x0) / (1.0 + x0 * x0) ** 4
    assert d4(x0).item() == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.filterwarnings("error")
def test_cauchy_cdf_with_float32_parameters_is_float32_on_both_branches():
    dist = Cauchy(np.float32(0.5), np.float32(2.0))
    x = np.array([-3e30, -40.0, -3.0, -1.5, 0.5, 0.7, 4.0, 1e20], dtype=np.float32)
    for point in (x, -7.0, 0.9, [-7.0, 0.9]):
        assert dist.cdf(point).dtype == np.float32, point
    reference = stats.cauchy(0.5, 2.0)
    np.testing.assert_allclose(dist.cdf(x).data, reference.cdf(x.astype(float)),
                               rtol=8 * F32_EPS)
    assert Cauchy(np.float32(0.5), np.float32(2.0)).cdf(np.array([0.5])).dtype == np.float64
    t = mg.Tensor(x[1:-1], requires_grad=True)
    dist.cdf(t).sum().backward()       # the cdf's gradient is the density, in float32
    assert t.grad.dtype == np.float32
    np.testing.assert_allclose(t.grad, reference.pdf(x[1:-1].astype(float)), rtol=8 * F32_EPS)
