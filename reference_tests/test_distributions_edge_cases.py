"""Edge cases of the distributions and their KLs found by an outside check (issue 14).

Each test failed before its fix. Oracles: scipy.stats and scipy.special,
closed forms, central finite differences, and for the Gamma family at huge
concentration the direct formulas evaluated with 60-digit decimals
(reference_tests/_high_precision.py), where their cancellation costs nothing.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

import minigrad as mg
from dpm.distributions import (
    Bernoulli, Categorical, Cauchy, Exponential, Gamma, GaussianMixture, Gumbel, Laplace,
    MultivariateNormal, Normal, RelaxedOneHotCategorical, Uniform)
from dpm.kl import kl_divergence
import _high_precision as hp

EPS = np.finfo(float).eps


# ------------------------------------------------ Gamma at huge concentration (#14.6)
@pytest.mark.parametrize("concentration", [0.5, 3.0, 9.99, 10.0, 57.3, 1e3, 1e6, 1e12, 1e15])
def test_gamma_entropy_is_accurate_at_every_concentration(concentration):
    expected = float(hp.gamma_entropy(concentration, 1.7))
    ours = Gamma(concentration, 1.7).entropy().item()
    # Below 10 the direct form loses ~eps * a log a; above, Stirling's form a few ulps.
    assert abs(ours - expected) <= 8 * EPS * max(abs(expected), 1.0), (ours, expected)


def test_gamma_entropy_at_1e12_was_wrong_in_the_sixth_digit():
    # The direct float64 formula gave 15.234375 here (issue 14, item 6).
    expected = float(hp.gamma_entropy(1e12, 1.0))
    assert Gamma(1e12, 1.0).entropy().item() == pytest.approx(expected, rel=4 * EPS, abs=0)
    assert abs(15.234375 - expected) > 1e-5


GAMMA_PAIRS = [
    (1e8, 1.0, 1.001e8, 1.001),        # the case: true 2.4983e-7, was 3.2e-8
    (1e12, 2.0, 1e12 + 1e6, 2.0),
    (1e4, 1.0, 1e4, 1.0001),           # equal concentrations, rates apart
    (10.0, 1.0, 10.01, 1.001),         # at the switch to Stirling's form
    (9.9, 1.0, 10.0, 1.0),             # just below it (direct form)
    (150.0, 1.3, 120.0, 0.7),
    (12.0, 1.0, 30.0, 2.5),
    (10.0, 2.0, 1e6, 3.0),             # far apart: large KL
    (1e6, 1.0, 10.0, 1.0),
    (2.5, 1.3, 1.2, 0.7),              # small concentrations
]


@pytest.mark.claim("K1")
@pytest.mark.parametrize("a1, r1, a2, r2", GAMMA_PAIRS)
def test_gamma_kl_is_accurate_at_large_concentration(a1, r1, a2, r2):
    expected = float(hp.gamma_kl(a1, r1, a2, r2))
    ours = kl_divergence(Gamma(a1, r1), Gamma(a2, r2)).item()
    # Direct form below 10: absolute error ~ eps * a log a; Stirling's form: ~ulps of KL.
    direct = min(a1, a2) < 10
    tolerance = 64 * EPS * (max(a1, a2) * 4 if direct else abs(expected))
    assert abs(ours - expected) <= tolerance, (ours, expected)
    assert ours >= 0


def test_gamma_kl_mixed_batch_uses_each_form_with_finite_gradients():
    a1 = mg.Tensor(np.array([2.0, 1e8, 50.0]), requires_grad=True)
    r2 = mg.Tensor(np.array([1.0, 1.001, 0.9]), requires_grad=True)
    a2 = np.array([3.0, 1.001e8, 5.0])
    kl = kl_divergence(Gamma(a1, 1.0), Gamma(a2, r2))
    expected = [float(hp.gamma_kl(a, 1.0, b, r)) for a, b, r in zip(a1.data, a2, r2.data)]
    np.testing.assert_allclose(kl.data, expected, rtol=1e-13)
    kl.sum().backward()
    assert np.all(np.isfinite(a1.grad)) and np.all(np.isfinite(r2.grad))


@pytest.mark.parametrize("a1, a2", [(3.0, 2.0), (40.0, 47.0), (2e4, 2.1e4)])
def test_gamma_kl_and_entropy_gradients_match_central_differences(a1, a2):
    # d/da1 KL = (a1 - a2) psi'(a1) + r2 / r1 - 1 (the psi(a1) terms cancel); at r1 = 1,
    # r2 = 1.2, and dH/da = 1 + (1 - a) psi'(a). psi' by scipy.special.polygamma.
    r1, r2 = 1.0, 1.2
    a = mg.Tensor(a1, requires_grad=True)
    kl_divergence(Gamma(a, r1), Gamma(a2, r2)).backward()
    expected = (a1 - a2) * special.polygamma(1, a1) + r2 / r1 - 1.0
    assert a.grad == pytest.approx(expected, rel=1e-10, abs=1e-15)
    a = mg.Tensor(a1, requires_grad=True)
    Gamma(a, r1).entropy().backward()
    # (scipy's 1 + (1 - a) psi'(a) itself cancels to ~1e-16 absolute)
    assert a.grad == pytest.approx(1.0 + (1.0 - a1) * special.polygamma(1, a1), rel=1e-10,
                                   abs=1e-15)


# ------------------------------------------------ Gaussian KL never negative (#14.8)
@pytest.mark.claim("K1")
def test_gaussian_kl_of_nearly_equal_laws_is_small_and_not_negative():
    loc, scale = 0.1, 1.0
    for d_loc, d_scale in [(1e-9, 1e-9), (0.0, 1e-12), (1e-12, 0.0), (0.0, 0.0), (3e-9, -2e-9)]:
        loc2, scale2 = loc + d_loc, scale + d_scale
        kl = kl_divergence(Normal(loc, scale), Normal(loc2, scale2)).item()
        # Closed form to second order in the differences of the stored floats (exact by
        # Sterbenz's lemma): (d_loc^2 + 2 d_scale^2) / (2 scale^2).
        d_loc, d_scale = loc2 - loc, scale2 - scale
        expected = (d_loc ** 2 + 2 * d_scale ** 2) / (2 * scale ** 2)
        assert kl >= 0.0
        assert kl == pytest.approx(expected, rel=1e-5, abs=1e-300)
    same = MultivariateNormal(np.array([0.3, -1.0]), covariance_matrix=[[2.0, 0.3], [0.3, 0.5]])
    assert kl_divergence(same, same).item() >= 0.0


# --------------------------------------------- -inf outside the support (#14.9)
@pytest.mark.filterwarnings("error")
def test_gumbel_at_minus_infinity_and_gamma_at_infinity_are_minus_infinity():
    assert Gumbel(0.0, 1.0).log_prob(-np.inf).item() == -np.inf
    assert Gumbel(0.0, 1.0).log_prob(np.inf).item() == -np.inf
    for concentration in (0.5, 1.0, 2.5):
        assert Gamma(concentration, 2.0).log_prob(np.inf).item() == -np.inf
    # gradients stay finite in the parameters
    loc = mg.Tensor(0.3, requires_grad=True)
    rate = mg.Tensor(2.0, requires_grad=True)
    x = np.array([-np.inf, 0.5])
    total = Gumbel(loc, 1.0).log_prob(x)[1] + Gamma(2.5, rate).log_prob(np.array([np.inf, 1.0]))[1]
    total.backward()
    assert np.isfinite(loc.grad) and np.isfinite(rate.grad)
    expected = stats.gumbel_r(0.3, 1.0).logpdf(0.5)
    assert Gumbel(0.3, 1.0).log_prob(x).data[1] == pytest.approx(expected, rel=1e-14)


# ------------------------------------------------ Cauchy cdf's lower tail (#14.10)
@pytest.mark.filterwarnings("error")
def test_cauchy_cdf_keeps_relative_accuracy_in_the_far_lower_tail():
    # F(x) = arctan(1 / |x|) / pi for x < 0, and arctan(t) = t - t^3/3 + ... for tiny t.
    for x in (-1e10, -1e50, -1e300, -1e308):
        t = -1.0 / x
        expected = (t - t ** 3 / 3) / np.pi
        assert Cauchy(0.0, 1.0).cdf(x).item() == pytest.approx(expected, rel=4 * EPS, abs=0)
    x = np.array([-50.0, -1.5, -1.0, -0.3, 0.0, 2.0, 1e6])
    np.testing.assert_allclose(Cauchy(0.7, 2.0).cdf(x).data, stats.cauchy(0.7, 2.0).cdf(x),
                               rtol=1e-14)
    assert Cauchy(0.0, 1.0).cdf(-np.inf).item() == 0.0


def test_cauchy_cdf_gradient_is_the_density_on_both_branches():
    x = mg.Tensor(np.array([-40.0, -1.2, 0.4, 9.0]), requires_grad=True)
    Cauchy(0.5, 1.5).cdf(x).sum().backward()
    np.testing.assert_allclose(x.grad, stats.cauchy(0.5, 1.5).pdf(x.data), rtol=1e-12)


# ----------------------------------------------- float32 stays float32 (#14.12)
FLOAT32_FAMILIES = [
    lambda f: Exponential(f(1.5)), lambda f: Gamma(f(2.0), f(1.5)), lambda f: Gamma(f(1.0), f(3)),
    lambda f: Cauchy(f(0.0), f(1.0)), lambda f: Normal(f(0.0), f(2.0)),
    lambda f: Laplace(f(0.0), f(1.0)), lambda f: Gumbel(f(0.0), f(1.0)),
    lambda f: Uniform(f(-1.0), f(1.0)),
    lambda f: GaussianMixture(np.array([0.3, 0.7], f), np.array([0.0, 1.0], f),
                              np.array([1.0, 2.0], f)),
]


@pytest.mark.parametrize("make", FLOAT32_FAMILIES, ids=lambda m: "")
def test_float32_parameters_give_float32_log_prob(make):
    dist32, dist64 = make(np.float32), make(np.float64)
    x = np.array([0.0, 0.5, 3.0, 30.0, -2.0], dtype=np.float32)
    with np.errstate(divide="ignore"):
        for point in (x, 0.5, [0.5, 2.0]):
            assert dist32.log_prob(point).dtype == np.float32, point
        ours, reference = dist32.log_prob(x).data, dist64.log_prob(x.astype(float)).data
    finite = np.isfinite(reference)
    np.testing.assert_array_equal(np.isfinite(ours), finite)
    np.testing.assert_allclose(ours[finite], reference[finite], rtol=2e-6, atol=2e-6)
    if not isinstance(dist32, Uniform):   # a float64 x still promotes, as NumPy does
        assert dist32.log_prob(np.array([0.5])).dtype == np.float64


# --------------------------------------- Bernoulli entropy's slope at p = 0 (#14.13)
def test_bernoulli_entropy_slope_is_infinite_at_the_ends_and_exact_inside():
    # dH/dp = log((1 - p) / p): +inf at p = 0, -inf at p = 1 (one-sided limits).
    p = mg.Tensor(np.array([0.0, 0.2, 0.5, 0.9, 1.0]), requires_grad=True)
    entropy = Bernoulli(probs=p).entropy()
    np.testing.assert_allclose(entropy.data, special.entr(p.data) + special.entr(1 - p.data),
                               rtol=1e-14)
    with np.errstate(divide="ignore"):   # the slope 1/0 = inf, as NumPy computes it
        entropy.sum().backward()
    assert p.grad[0] == np.inf and p.grad[-1] == -np.inf
    np.testing.assert_allclose(p.grad[1:-1], np.log((1 - p.data[1:-1]) / p.data[1:-1]),
                               rtol=1e-12)


# -------------------------------------------- non-integer sample shapes (#14.15)
SAMPLERS = [Normal(0.0, 1.0), Cauchy(0.0, 1.0), Exponential(2.0), Gamma(2.0, 1.0),
            Uniform(0.0, 1.0), Bernoulli(probs=0.3), Categorical(probs=[0.2, 0.8]),
            RelaxedOneHotCategorical(0.5, probs=[0.2, 0.8]),
            MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2)),
            GaussianMixture([0.5, 0.5], [0.0, 1.0], [1.0, 1.0])]


@pytest.mark.parametrize("dist", SAMPLERS, ids=lambda d: type(d).__name__)
@pytest.mark.parametrize("shape", [(2.7,), 2.5, (2, 1.0), (True,), "3", (-1,)])
def test_non_integer_sample_shape_is_a_value_error_naming_it(dist, shape):
    with pytest.raises(ValueError, match="sample shape"):
        dist.sample(shape, np.random.default_rng(0))
    assert dist.sample((np.int64(2), 3), np.random.default_rng(0)).shape[:2] == (2, 3)
    assert dist.sample(4, np.random.default_rng(0)).shape[:1] == (4,)
