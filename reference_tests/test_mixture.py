"""GaussianMixture (M5) and its kernels against scipy.stats, quadrature and finite differences.

Oracles: log of the weighted sum of scipy.stats.norm.pdf (and, far in the
tails where the pdfs underflow, scipy.special.logsumexp of norm.logpdf);
scipy.stats.multivariate_normal for the diagonal d-D case; scipy.integrate.quad
for normalisation, moments and the KL to a Normal; a KS test of the sampler
against the mixture cdf; central finite differences for the gradient path.
The Numba kernels are checked against their NumPy twins, including infinite,
NaN and far-away points and zero weights.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
from scipy import integrate

import minigrad as mg
from minigrad import Tensor
from minigrad._numba import NUMBA_ENABLED
from dpm.kernels import mixture as mk
from dpm.distributions import GaussianMixture
from dpm.distributions.mixture import monte_carlo_kl_to_normal

W3 = np.array([0.2, 0.5, 0.3])
MU3 = np.array([-2.0, 0.5, 3.0])
S3 = np.array([0.7, 1.0, 0.4])


def scipy_log_density(x, weights, locs, scales):
    return np.log(np.sum(weights * st.norm.pdf(np.asarray(x)[..., None], locs, scales), axis=-1))


def random_mixture(rng, K, d=None):
    weights = rng.dirichlet(np.ones(K))
    shape = (K,) if d is None else (K, d)
    return weights, rng.normal(size=shape) * 3, rng.uniform(0.3, 2.0, size=shape)


@pytest.mark.claim("M5")
@pytest.mark.parametrize("K", [1, 2, 5, 16])
def test_mixture_log_prob_matches_scipy_1d(K):
    rng = np.random.default_rng(K)
    weights, locs, scales = random_mixture(rng, K)
    x = rng.normal(size=200) * 5
    expected = scipy_log_density(x, weights, locs, scales)
    dist = GaussianMixture(weights, locs, scales)
    np.testing.assert_allclose(dist.log_prob(x).data, expected, rtol=1e-12, atol=1e-12)
    leaf = Tensor(locs, requires_grad=True)          # the gradient path, same numbers
    graph = GaussianMixture(weights, leaf, scales).log_prob(x)
    assert graph.requires_grad
    np.testing.assert_allclose(graph.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.claim("M5")
def test_mixture_log_prob_matches_scipy_diagonal_d_dimensional():
    rng = np.random.default_rng(7)
    weights, locs, scales = random_mixture(rng, 4, d=3)
    x = rng.normal(size=(5, 6, 3)) * 3
    expected = np.log(sum(w * st.multivariate_normal(m, np.diag(s ** 2)).pdf(x)
                          for w, m, s in zip(weights, locs, scales)))
    for locs_param in (locs, Tensor(locs, requires_grad=True)):
        out = GaussianMixture(weights, locs_param, scales).log_prob(x)
        assert out.shape == (5, 6)
        np.testing.assert_allclose(out.data, expected, rtol=1e-11)


@pytest.mark.claim("M5")
def test_mixture_log_prob_far_in_the_tails_is_finite_and_exact():
    # At x = 60 every pdf underflows (scipy's log of the sum is -inf); logsumexp is not.
    x = np.array([-80.0, 60.0, 1e3])
    expected = sp.logsumexp(np.log(W3) + st.norm.logpdf(x[:, None], MU3, S3), axis=-1)
    for out in (mk.mixture_log_prob(x, W3, MU3, S3), mk.mixture_log_prob_numpy(x, W3, MU3, S3),
                GaussianMixture(W3, Tensor(MU3, requires_grad=True), S3).log_prob(x).data):
        np.testing.assert_allclose(out, expected, rtol=1e-13)


@pytest.mark.claim("M5")
@pytest.mark.parametrize("weights", [W3, np.array([0.0, 0.4, 0.6])])
def test_mixture_density_integrates_to_one_and_moments_match_quadrature(weights):
    dist = GaussianMixture(weights, MU3, S3)
    density = lambda x: float(np.exp(dist.log_prob(np.array([x])).data[0]))   # noqa: E731
    total = integrate.quad(density, -np.inf, np.inf, points=None, limit=200)[0]
    mean = integrate.quad(lambda x: x * density(x), -30, 30, points=list(MU3), limit=200)[0]
    second = integrate.quad(lambda x: x * x * density(x), -30, 30, points=list(MU3), limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-9)
    assert dist.mean.item() == pytest.approx(mean, abs=1e-9)
    assert dist.variance.item() == pytest.approx(second - mean ** 2, rel=1e-9)


def test_mixture_moments_diagonal_by_total_variance():
    rng = np.random.default_rng(8)
    weights, locs, scales = random_mixture(rng, 3, d=2)
    dist = GaussianMixture(weights, locs, scales)
    mean = weights @ locs
    np.testing.assert_allclose(dist.mean.data, mean, rtol=1e-12)
    np.testing.assert_allclose(dist.variance.data, weights @ (scales ** 2 + locs ** 2) - mean ** 2,
                               rtol=1e-12)


def test_mixture_sampler_matches_the_mixture_cdf():
    rng = np.random.default_rng(3)
    dist = GaussianMixture(W3, MU3, S3)
    x = dist.sample((20_000,), rng)
    cdf = lambda t: np.sum(W3 * st.norm.cdf(np.asarray(t)[..., None], MU3, S3), axis=-1)  # noqa
    assert st.kstest(x, cdf).pvalue > 1e-3
    x2, labels = GaussianMixture(W3, np.stack([MU3, -MU3], 1), np.stack([S3, S3], 1)).sample_joint(
        (5000,), rng)
    assert x2.shape == (5000, 2) and labels.shape == (5000,)
    counts = np.bincount(labels, minlength=3)
    assert st.chisquare(counts, 5000 * W3).pvalue > 1e-3
    np.testing.assert_array_equal(dist.sample((10,), np.random.default_rng(1)),
                                  dist.sample((10,), np.random.default_rng(1)))


@pytest.mark.claim("M5")
def test_mixture_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    x = rng.normal(size=7) * 2

    def log_p(weight_logits, locs, scales, points):
        return GaussianMixture(mg.softmax(weight_logits, axis=-1), locs, scales).log_prob(points)

    mg.gradcheck(log_p, [rng.normal(size=3), MU3, S3, x])
    locs, scales = rng.normal(size=(3, 2)), rng.uniform(0.5, 1.5, size=(3, 2))
    mg.gradcheck(log_p, [rng.normal(size=3), locs, scales, rng.normal(size=(4, 2))])
    mg.gradcheck(lambda l, m, s: GaussianMixture(mg.softmax(l, axis=-1), m, s).variance,
                 [rng.normal(size=3), MU3, S3])
    responsibilities = GaussianMixture(W3, MU3, S3).responsibilities(x).data
    joint = W3 * st.norm.pdf(x[:, None], MU3, S3)
    np.testing.assert_allclose(responsibilities, joint / joint.sum(1, keepdims=True), rtol=1e-10)


@pytest.mark.claim("M5")
@pytest.mark.skipif(not NUMBA_ENABLED, reason="compares the Numba kernels with their twins")
@pytest.mark.parametrize("K, d", [(2, None), (16, None), (3, 1), (5, 4)])
def test_kernels_match_numpy_twins(K, d):
    rng = np.random.default_rng(K)
    weights, locs, scales = random_mixture(rng, K, d)
    weights[0] = 0.0                       # an unused component: c_k = -inf
    weights /= weights.sum()
    shape = (3001,) if d is None else (3001, d)
    x = rng.normal(size=shape) * 6
    x[:3] = [np.inf, -np.inf, np.nan] if d is None else np.array([np.inf, -np.inf, np.nan])[:, None]
    numba = mk.mixture_log_prob_numba(x, weights, locs, scales)
    twin = mk.mixture_log_prob_numpy(x, weights, locs, scales)
    np.testing.assert_allclose(numba, twin, rtol=1e-13, atol=1e-13, equal_nan=True)
    assert np.all(numba[:2] == -np.inf) and np.isnan(numba[2])
    q_loc, q_scale = (0.5, 2.0) if d is None else (rng.normal(size=d), rng.uniform(1, 2, d))
    ratio = mk.mixture_normal_log_ratio_numba(x[3:], weights, locs, scales, q_loc, q_scale)
    np.testing.assert_allclose(
        ratio, mk.mixture_normal_log_ratio_numpy(x[3:], weights, locs, scales, q_loc, q_scale),
        rtol=1e-12, atol=1e-12)
    log_q = st.norm.logpdf(x[3:], q_loc, q_scale)
    log_q = log_q if d is None else log_q.sum(-1)
    np.testing.assert_allclose(ratio, twin[3:] - log_q, rtol=1e-12, atol=1e-12)
    stats = mk.mixture_normal_log_ratio_stats_numba(x[3:], weights, locs, scales, q_loc, q_scale)
    np.testing.assert_allclose(stats, [ratio.mean(), ratio.std(ddof=1) / np.sqrt(ratio.size)],
                               rtol=1e-11)
    np.testing.assert_allclose(
        mk.mixture_normal_log_ratio_stats_numpy(x[3:], weights, locs, scales, q_loc, q_scale),
        stats, rtol=1e-11)


def test_monte_carlo_kl_to_normal_matches_quadrature():
    dist = GaussianMixture(W3, MU3, S3)
    q_loc, q_scale = 0.3, 2.5
    # The reference uses scipy's densities only (not our log_prob): on [-30, 30] no pdf
    # underflows to a log of 0, and beyond it the mixture's mass is below e^-400.
    def integrand(x):
        log_p = scipy_log_density(x, W3, MU3, S3)
        return float(np.exp(log_p) * (log_p - st.norm.logpdf(x, q_loc, q_scale)))
    exact = integrate.quad(integrand, -30, 30, points=list(MU3), limit=200)[0]
    n = 200_000
    result = monte_carlo_kl_to_normal(dist, q_loc, q_scale, n, np.random.default_rng(5))
    assert result.n == n and result.shape == ()
    estimate, stderr = float(result), result.stderr
    assert abs(estimate - exact) <= 5 * stderr
    assert stderr < 0.01
    # The standard error itself, against the exact sd of one log-ratio (quadrature of its
    # second and fourth central moments): stderr sqrt(n) is a sample sd, whose own sd is
    # sqrt(mu_4 - var^2) / (2 sd sqrt(n)) by the delta method.
    def central_moment(power):
        def integrand_k(x):
            log_p = scipy_log_density(x, W3, MU3, S3)
            return float(np.exp(log_p) * (log_p - st.norm.logpdf(x, q_loc, q_scale) - exact)
                         ** power)
        return integrate.quad(integrand_k, -30, 30, points=list(MU3), limit=200)[0]
    variance, fourth = central_moment(2), central_moment(4)
    sd = np.sqrt(variance)
    assert abs(stderr * np.sqrt(n) - sd) <= 5 * np.sqrt(fourth - variance ** 2) / (
        2 * sd * np.sqrt(n)), (stderr, sd / np.sqrt(n))


@pytest.mark.parametrize("args, name", [
    (([0.5, 0.6], [0.0, 1.0], [1.0, 1.0]), "weights"),
    (([0.5, 0.5], [0.0, 1.0], [1.0, -1.0]), "scales"),
    (([0.5, 0.5], [0.0, 1.0, 2.0], [1.0, 1.0, 1.0]), "locs"),
    (([0.5, 0.5], [[0.0, 1.0], [2.0, 3.0]], [1.0, 1.0, 1.0]), "scales"),
    (([0.5, 0.5], [0.0, np.nan], [1.0, 1.0]), "locs")])
def test_mixture_rejects_bad_parameters(args, name):
    with pytest.raises(ValueError, match=name):
        GaussianMixture(*args)


def test_mixture_rejects_points_of_the_wrong_dimension():
    dist = GaussianMixture([0.5, 0.5], np.zeros((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="last axis"):
        dist.log_prob(np.zeros((4, 2)))
    assert not dist.has_rsample
