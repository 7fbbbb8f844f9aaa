"""TransformedDistribution and the elementwise transforms: change of variables.

References: scipy.stats.lognorm (exp of a normal), densities written by hand
from scipy.stats.norm and scipy.special (logit-normal, tanh-normal),
integration to 1 by scipy.integrate.quad, autodiff derivatives dy/dx for
log|det J|, and the lecture's example y = 2x + 1 of U(0, 1) (claim N1).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

import minigrad as mg
from dpm.distributions import (
    AffineTransform, DiagonalNormal, ExpTransform, Gamma, Normal, SigmoidTransform, TanhTransform,
    TransformedDistribution, Uniform)


@pytest.mark.claim("N1")
@pytest.mark.filterwarnings("error")
def test_affine_image_of_the_uniform_has_density_one_half():
    y_dist = TransformedDistribution(Uniform(0.0, 1.0), [AffineTransform(1.0, 2.0)])
    y = np.array([0.5, 1.0, 1.7, 2.9, 3.0, 3.5])
    density = np.exp(y_dist.log_prob(y).data)
    np.testing.assert_allclose(density, [0.0, 0.5, 0.5, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(y_dist.cdf(y).data, [0.0, 0.0, 0.35, 0.95, 1.0, 1.0])
    draws = y_dist.sample((2000,), np.random.default_rng(0))
    assert stats.kstest(draws, stats.uniform(1.0, 2.0).cdf).pvalue > 1e-3


@pytest.mark.filterwarnings("error")
def test_exp_of_normal_is_the_lognormal():
    loc, scale = 0.3, 0.7
    dist = TransformedDistribution(Normal(loc, scale), [ExpTransform()])
    law = stats.lognorm(scale, scale=np.exp(loc))
    y = np.array([0.05, 0.5, 1.0, 2.0, 7.0])
    np.testing.assert_allclose(dist.log_prob(y).data, law.logpdf(y), rtol=1e-12)
    # normal_cdf goes through 1 + erf: absolute, not relative, accuracy in the far left tail.
    np.testing.assert_allclose(dist.cdf(y).data, law.cdf(y), rtol=1e-12, atol=1e-16)
    assert np.all(dist.log_prob(np.array([-1.0, 0.0])).data == -np.inf)
    np.testing.assert_array_equal(dist.cdf(np.array([-1.0, 0.0])).data, [0.0, 0.0])
    for method in ("sample", "rsample"):
        draws = getattr(dist, method)((3000,), np.random.default_rng(1))
        draws = draws.data if isinstance(draws, mg.Tensor) else draws
        assert stats.kstest(draws, law.cdf).pvalue > 1e-3


@pytest.mark.filterwarnings("error")
def test_sigmoid_of_normal_is_the_logit_normal():
    dist = TransformedDistribution(Normal(0.4, 1.2), [SigmoidTransform()])
    y = np.array([1e-6, 0.1, 0.5, 0.8, 1 - 1e-6])
    expected = stats.norm(0.4, 1.2).logpdf(special.logit(y)) - np.log(y * (1 - y))
    np.testing.assert_allclose(dist.log_prob(y).data, expected, rtol=1e-10)
    np.testing.assert_array_equal(dist.log_prob(np.array([-0.5, 0.0, 1.0, 2.0])).data, -np.inf)
    total, _ = integrate.quad(lambda v: np.exp(dist.log_prob(v).item()), 0, 1)
    assert total == pytest.approx(1.0, abs=1e-8)


@pytest.mark.filterwarnings("error")
def test_tanh_of_normal_density():
    dist = TransformedDistribution(Normal(-0.3, 0.9), [TanhTransform()])
    y = np.array([-0.99, -0.5, 0.0, 0.3, 0.999])
    expected = stats.norm(-0.3, 0.9).logpdf(np.arctanh(y)) - np.log1p(-y * y)
    np.testing.assert_allclose(dist.log_prob(y).data, expected, rtol=1e-10)
    total, _ = integrate.quad(lambda v: np.exp(dist.log_prob(v).item()), -1, 1)
    assert total == pytest.approx(1.0, abs=1e-8)
    np.testing.assert_allclose(dist.cdf(y).data, stats.norm(-0.3, 0.9).cdf(np.arctanh(y)),
                               rtol=1e-12)


@pytest.mark.parametrize("scale", [2.5, -0.4])
def test_affine_of_normal_is_normal(scale):
    dist = TransformedDistribution(Normal(1.0, 0.5), [AffineTransform(-2.0, scale)])
    law = stats.norm(-2.0 + scale * 1.0, abs(scale) * 0.5)
    y = np.linspace(-5, 3, 9)
    np.testing.assert_allclose(dist.log_prob(y).data, law.logpdf(y), rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(y).data, law.cdf(y), rtol=1e-12, atol=1e-15)


@pytest.mark.filterwarnings("error")
def test_decreasing_chain_cdf_and_image():
    # y = -e^x, x ~ N(0, 1): image (-inf, 0); F(y) = 1 - F_lognormal(-y).
    dist = TransformedDistribution(Normal(0.0, 1.0), [ExpTransform(), AffineTransform(0.0, -1.0)])
    y = np.array([-3.0, -1.0, -0.2, 0.0, 2.0])
    lognormal = stats.lognorm(1.0)
    with np.errstate(divide="ignore"):
        expected = lognormal.logpdf(-y)
    np.testing.assert_allclose(dist.log_prob(y).data, expected, rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(y).data, 1 - lognormal.cdf(-y), rtol=1e-12)


@pytest.mark.filterwarnings("error")
def test_outside_the_image_is_neg_inf_with_finite_gradients():
    loc = mg.Tensor(0.2, requires_grad=True)
    scale = mg.Tensor(0.8, requires_grad=True)
    y = mg.Tensor(np.array([-1.0, 0.0, 0.5, 2.0]), requires_grad=True)
    log_p = TransformedDistribution(Normal(loc, scale), [ExpTransform()]).log_prob(y)
    assert np.all(log_p.data[:2] == -np.inf) and np.all(np.isfinite(log_p.data[2:]))
    mg.where(np.isfinite(log_p.data), log_p, 0.0).sum().backward()
    for t in (loc, scale, y):
        assert np.all(np.isfinite(t.grad))
    np.testing.assert_array_equal(y.grad[:2], 0.0)


def test_vector_event_sums_the_log_determinants():
    base = DiagonalNormal(np.array([0.0, 0.5]), np.array([1.0, 0.3]))
    dist = TransformedDistribution(base, [ExpTransform()])
    assert dist.event_shape == (2,) and dist.batch_shape == ()
    y = np.array([[0.5, 2.0], [1.0, 1.5], [-1.0, 1.0]])
    expected = stats.lognorm([1.0, 0.3], scale=np.exp([0.0, 0.5])).logpdf(y[:2]).sum(axis=-1)
    log_p = dist.log_prob(y).data
    np.testing.assert_allclose(log_p[:2], expected, rtol=1e-12)
    assert log_p[2] == -np.inf  # one coordinate outside the image: the vector is outside


def test_batch_shape_from_transform_parameters():
    dist = TransformedDistribution(Normal(0.0, 1.0), [AffineTransform(np.zeros(3), 2.0)])
    assert dist.batch_shape == (3,)
    assert dist.sample((4,), np.random.default_rng(0)).shape == (4, 3)
    assert dist.log_prob(np.zeros((5, 1))).shape == (5, 3)
    draws = dist.sample((4000,), np.random.default_rng(1))
    assert abs(np.corrcoef(draws[:, 0], draws[:, 1])[0, 1]) < 5 / np.sqrt(4000)  # independent
    shared = TransformedDistribution(Normal(np.zeros(1), 1.0), [AffineTransform(np.zeros(3), 2.0)])
    with pytest.raises(NotImplementedError, match="full batch shape"):
        shared.sample((2,), np.random.default_rng(0))


TRANSFORMS = [AffineTransform(0.5, -1.5), ExpTransform(), SigmoidTransform(), TanhTransform()]


@pytest.mark.claim("N2")
@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: type(t).__name__)
def test_transform_inverts_and_log_det_is_log_abs_derivative(transform):
    x = np.array([-2.5, -0.3, 0.0, 0.7, 3.0])
    xt = mg.Tensor(x, requires_grad=True)
    y, log_det = transform.forward(xt)
    y.sum().backward()  # elementwise: the gradient of the sum is dy/dx pointwise
    np.testing.assert_allclose(log_det.data, np.log(np.abs(xt.grad)), rtol=1e-12, atol=1e-14)
    # N2's numerical Jacobian: central differences of the forward map, O(h^2) error.
    h = 1e-6 * (1 + np.abs(x))
    numeric = (transform.forward(x + h)[0].data - transform.forward(x - h)[0].data) / (2 * h)
    np.testing.assert_allclose(log_det.data, np.log(np.abs(numeric)), rtol=1e-7, atol=1e-8)
    x_back, inverse_log_det = transform.inverse(y.data)
    np.testing.assert_allclose(x_back.data, x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(inverse_log_det.data, -log_det.data, rtol=1e-10, atol=1e-12)


def test_tanh_log_det_stays_finite_where_one_minus_tanh_squared_underflows():
    _, log_det = TanhTransform().forward(np.array([30.0, -400.0]))
    np.testing.assert_allclose(log_det.data, [2 * (np.log(2) - 30.0 - np.log1p(np.exp(-60.0))),
                                              2 * (np.log(2) - 400.0)], rtol=1e-14)


def test_log_prob_gradcheck_in_base_and_transform_parameters():
    def log_prob(loc, scale, shift, stretch, y):
        chain = [ExpTransform(), AffineTransform(shift, stretch)]
        return TransformedDistribution(Normal(loc, scale), chain).log_prob(y)
    assert mg.gradcheck(log_prob, [np.array(0.3), np.array(0.9), np.array(-1.0), np.array(2.0),
                                   np.array([-0.5, 0.4, 3.0])])


def test_rsample_follows_the_base():
    assert not TransformedDistribution(Gamma(2.0, 1.0), [ExpTransform()]).has_rsample
    dist = TransformedDistribution(Gamma(2.0, 1.0), [ExpTransform()])
    draws = dist.sample((2000,), np.random.default_rng(2))
    assert stats.kstest(np.log(draws), stats.gamma(2.0).cdf).pvalue > 1e-3
    with pytest.raises(NotImplementedError):
        dist.rsample((3,), np.random.default_rng(0))


def test_bad_arguments():
    with pytest.raises(ValueError, match="scale must be nonzero"):
        AffineTransform(0.0, 0.0)
    with pytest.raises(TypeError, match="base must be a Distribution"):
        TransformedDistribution("normal", [ExpTransform()])
    with pytest.raises(TypeError, match="forward"):
        TransformedDistribution(Normal(0.0, 1.0), [np.exp])
