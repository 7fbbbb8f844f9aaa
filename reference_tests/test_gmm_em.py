"""EM for Gaussian and Bernoulli mixtures (E1) against scipy.stats and brute force.

Oracles: the log-likelihood after every iteration never falls (to rounding)
on several data sets, full and diagonal, 1-D and 2-D, Bernoulli; log p(x) of
a fit against scipy.stats.multivariate_normal; the fitted means of
well-separated clusters against the truth within 5 standard errors of a
cluster mean; Bernoulli marginals log p(x_observed) against brute-force
summation over every completion of the missing pixels; the Numba E-step
against its NumPy twin, including a zero weight and infinite points.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

from minigrad._numba import NUMBA_ENABLED
from dpm.models import _gmm_kernels as gk
from dpm.models.gmm_em import fit_bernoulli_mixture, fit_gmm


def blobs(rng, n=600):
    """Three 2-D Gaussian clusters, one elongated and rotated."""
    rotation = np.array([[np.cos(0.6), -np.sin(0.6)], [np.sin(0.6), np.cos(0.6)]])
    a = rng.normal(size=(n // 2, 2)) * [2.0, 0.3] @ rotation.T + [5.0, 0.0]
    b = rng.normal(size=(n // 3, 2)) * 0.5 + [-3.0, -3.0]
    c = rng.normal(size=(n - n // 2 - n // 3, 2)) + [0.0, 4.0]
    return np.concatenate([a, b, c])


def non_decreasing(history):
    history = np.asarray(history)
    # rounding of a mean of N log densities: a few ulps of |ll| each
    return np.all(np.diff(history) >= -1e-12 * np.maximum(1.0, np.abs(history[1:])))


DATASETS = {
    "blobs": lambda rng: blobs(rng),
    "one_gaussian": lambda rng: rng.normal(size=(400, 3)),
    "far_offset": lambda rng: blobs(rng) * 1e-3 + 1e4,
    "heavy_tails": lambda rng: rng.standard_t(2.0, size=(500, 2)),
}


@pytest.mark.claim("E1")
@pytest.mark.parametrize("covariance", ["full", "diag"])
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_gmm_log_likelihood_never_falls(name, covariance):
    rng = np.random.default_rng(3)
    x = DATASETS[name](rng)
    fit = fit_gmm(x, 5, rng, iters=60, tol=0.0, covariance=covariance)
    assert fit.n_iter == 60
    assert non_decreasing(fit.log_likelihood)
    assert fit.log_likelihood[-1] > fit.log_likelihood[0]


@pytest.mark.claim("E1")
def test_gmm_1d_never_falls_and_matches_mixture():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(-3, 0.5, 300), rng.normal(2, 1.5, 500)])
    fit = fit_gmm(x, 4, rng, iters=80, tol=0.0)
    assert non_decreasing(fit.log_likelihood)
    grid = np.linspace(-6, 7, 11)
    np.testing.assert_allclose(fit.log_prob(grid), fit.mixture.log_prob(grid).data, rtol=1e-12)
    assert fit.sample(5, rng).shape == (5,)


@pytest.mark.claim("E1")
def test_gmm_log_prob_matches_scipy():
    rng = np.random.default_rng(5)
    fit = fit_gmm(blobs(rng), 3, rng)
    x = rng.normal(size=(50, 2)) * 4
    density = sum(w * st.multivariate_normal(m, c).pdf(x)
                  for w, m, c in zip(fit.weights, fit.means, fit.covariances))
    np.testing.assert_allclose(fit.log_prob(x), np.log(density), rtol=1e-11)
    same_data = blobs(np.random.default_rng(5))
    assert np.isclose(fit.log_likelihood[-1], np.mean(fit.log_prob(same_data)))
    r = fit.responsibilities(x)
    np.testing.assert_allclose(r.sum(axis=1), 1.0)


@pytest.mark.claim("E1")
def test_gmm_recovers_separated_clusters():
    rng = np.random.default_rng(6)
    truth = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    scale, n = 0.8, 400
    x = np.concatenate([rng.normal(size=(n, 2)) * scale + m for m in truth])
    fit = fit_gmm(x, 3, rng)
    order = [int(np.argmin(np.sum((fit.means - m) ** 2, axis=1))) for m in truth]
    assert sorted(order) == [0, 1, 2]
    stderr = scale / np.sqrt(n)                       # s.e. of a cluster's sample mean
    assert np.all(np.abs(fit.means[order] - truth) <= 5 * stderr)
    np.testing.assert_allclose(fit.weights[order], 1 / 3, atol=1e-6)
    # the M-step's mean and covariance of a hard-assigned cluster: its sample moments
    labels = np.repeat(np.arange(3), n)
    for k, j in zip(order, range(3)):
        own = x[labels == j]
        np.testing.assert_allclose(fit.means[k], own.mean(axis=0), atol=1e-6)
        np.testing.assert_allclose(fit.covariances[k], np.cov(own.T, bias=True), atol=1e-5)


@pytest.mark.claim("E1")
def test_gmm_degenerate_cluster_is_floored():
    rng = np.random.default_rng(7)
    x = np.concatenate([np.tile([[1.0, 2.0]], (50, 1)), rng.normal(size=(200, 2))])
    fit = fit_gmm(x, 4, rng, iters=50, tol=0.0)
    assert non_decreasing(fit.log_likelihood)
    assert np.all(np.isfinite(fit.log_likelihood))
    floor = 1e-6 * np.mean(np.var(x, axis=0))
    assert np.all(np.linalg.eigvalsh(fit.covariances) >= floor * (1 - 1e-9))
    # k = N: every point its own cluster, still finite and monotone
    small = rng.normal(size=(6, 2))
    assert non_decreasing(fit_gmm(small, 6, rng, iters=20, tol=0.0).log_likelihood)


def test_gmm_bad_input():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="k must"):
        fit_gmm(x, 0, rng)
    with pytest.raises(ValueError, match="k must"):
        fit_gmm(x, 21, rng)
    with pytest.raises(ValueError, match="covariance"):
        fit_gmm(x, 2, rng, covariance="spherical")
    with pytest.raises(ValueError, match="finite"):
        fit_gmm(np.where(x > 1, np.nan, x), 2, rng)
    with pytest.raises(ValueError, match="iters"):
        fit_gmm(x, 2, rng, iters=0)
    with pytest.raises(ValueError, match="shape"):
        fit_gmm(np.zeros((2, 2, 2)), 2, rng)
    fit = fit_gmm(x, 2, rng, covariance="full")
    with pytest.raises(ValueError, match="full-covariance"):
        fit.mixture
    with pytest.raises(ValueError, match="shape"):
        fit.log_prob(np.zeros((3, 3)))


@pytest.mark.claim("E1")
@pytest.mark.skipif(not NUMBA_ENABLED, reason="Numba is off (MINIGRAD_DISABLE_NUMBA)")
def test_estep_kernel_matches_twin():
    rng = np.random.default_rng(8)
    K, d = 5, 3
    weights = rng.dirichlet(np.ones(K))
    weights[2] = 0.0
    weights /= weights.sum()
    a = rng.normal(size=(K, d, d))
    covs = a @ a.transpose(0, 2, 1) + np.eye(d)
    prec = np.linalg.inv(np.linalg.cholesky(covs))
    means = rng.normal(size=(K, d)) * 3
    x = rng.normal(size=(2000, d)) * 4
    x[7] = np.inf
    x[11, 1] = -np.inf
    const = gk.component_constants(weights, prec)
    ours = gk.estep_numba(x, const, means, prec)
    twin = gk.estep_numpy(x, const, means, prec)
    assert np.isneginf(ours[0][7]) and np.isneginf(ours[0][11])
    np.testing.assert_allclose(ours[0], twin[0], rtol=1e-12)
    for mine, reference in zip(ours[1:], twin[1:]):
        finite = np.isfinite(reference)
        np.testing.assert_allclose(mine[finite], reference[finite], rtol=1e-10, atol=1e-9)
    assert ours[1][2] == 0.0
    # log p against scipy
    good = np.isfinite(x).all(axis=1)
    density = sum(w * st.multivariate_normal(m, c).pdf(x[good])
                  for w, m, c in zip(weights, means, covs))
    np.testing.assert_allclose(ours[0][good], np.log(density), rtol=1e-10)
    np.testing.assert_allclose(ours[1].sum(), good.sum(), rtol=1e-12)


@pytest.mark.claim("E1")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bernoulli_mixture_never_falls(seed):
    rng = np.random.default_rng(seed)
    prototypes = rng.random((3, 30)) < 0.5
    labels = rng.integers(3, size=500)
    flips = rng.random((500, 30)) < 0.1
    x = (prototypes[labels] ^ flips).astype(float)
    fit = fit_bernoulli_mixture(x, 4, rng, iters=50, tol=0.0)
    assert non_decreasing(fit.log_likelihood)
    assert fit.log_likelihood[-1] > fit.log_likelihood[0]
    # log p(x) by the formula, against scipy.stats.bernoulli summed per component
    direct = sp.logsumexp(np.log(fit.weights) + np.stack(
        [st.bernoulli(p).logpmf(x).sum(axis=1) for p in fit.probs], axis=1), axis=1)
    np.testing.assert_allclose(fit.log_prob(x), direct, rtol=1e-12)
    assert np.all((fit.probs >= 1e-3) & (fit.probs <= 1 - 1e-3))


def test_bernoulli_marginal_matches_brute_force():
    rng = np.random.default_rng(9)
    x = (rng.random((200, 6)) < 0.4).astype(float)
    fit = fit_bernoulli_mixture(x, 3, rng)
    observed = np.array([True, False, True, True, False, False])
    completions = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    row = x[:4].copy()
    expected = []
    for r in row:
        full = np.repeat(r[None], len(completions), axis=0)
        full[:, ~observed] = completions
        expected.append(sp.logsumexp(fit.log_prob(full)))
    row[:, ~observed] = np.nan                    # unobserved entries are never read
    np.testing.assert_allclose(fit.log_prob(row, observed=observed), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="binary"):
        fit_bernoulli_mixture(x + 0.5, 2, rng)
    with pytest.raises(ValueError, match="floor"):
        fit_bernoulli_mixture(x, 2, rng, floor=0.0)
