"""Gibbs samplers (E2): Geweke's joint-distribution test, the rho^2 autocorrelation, kernels.

Oracles:
- Geweke (2004): for the mixture posterior sampler, alternating a Gibbs
  sweep theta ~ K(theta | y) with fresh data y ~ p(y | theta) leaves the
  joint p(theta, y) invariant, so the theta draws of this successive-
  conditional chain have the prior's moments, which independent prior draws
  give. Each test function's two means agree within 5 standard errors (the
  chain's from its ESS); a sampler with a planted bug (the prior mean
  dropped from mu's conditional) fails the same test, so it has power.
- Systematic-scan Gibbs on a bivariate Gaussian of correlation rho: x_1 is an
  AR(1) chain with coefficient rho^2, so its lag-t autocorrelation is rho^(2t).
- The Numba kernels equal their NumPy twins, and the twins equal the
  reading-path sweeps of gibbs.py, given the same pre-drawn randomness.
"""
from __future__ import annotations

import numpy as np
import pytest

from dpm import mcmc
from dpm.mcmc import kernels
from dpm.mcmc.chains import Chains
from dpm.montecarlo import Estimate


def geweke_statistics(mu, w):
    """g(theta): mu_1, mu_2, mu_1^2, mu_2^2, mu_1 mu_2, w_1 (draws, 6)."""
    return np.stack([mu[..., 0], mu[..., 1], mu[..., 0] ** 2, mu[..., 1] ** 2,
                     mu[..., 0] * mu[..., 1], w[..., 0]], axis=-1)



def geweke_z(model, rng, chains=64, iterations=300, prior_draws=20_000, data_points=3):
    mu, w = model.prior_draw(prior_draws, rng)
    direct = Estimate.from_draws(geweke_statistics(mu, w))
    # successive-conditional simulator, started from the joint (stationary) distribution
    mu, w = model.prior_draw(chains, rng)
    z = np.array([rng.choice(model.k, size=data_points, p=p) for p in w])
    state = (mu, w, z)
    y = model.simulate_data(state, rng)
    draws = np.empty((chains, iterations, 6))
    for t in range(iterations):
        state = model.sweep_given(state, y, rng)
        y = model.simulate_data(state, rng)
        draws[:, t] = geweke_statistics(state[0], state[1])
    chained = Chains(draws, np.ones(chains)).mean()
    return (chained.data - direct.data) / np.sqrt(chained.stderr ** 2 + direct.stderr ** 2)


class DroppedPriorMean(mcmc.MixturePosterior):
    """The planted bug: mu_k | z, y with the m0 / s0^2 term of its mean forgotten."""

    def sample_means(self, y, z, rng):
        one_hot = z[..., None] == np.arange(self.k)
        counts, sums = one_hot.sum(axis=1), (one_hot * y[..., None]).sum(axis=1)
        var = 1.0 / (1.0 / self.prior_scale ** 2 + counts / self.sigma ** 2)
        return var * sums / self.sigma ** 2 + np.sqrt(var) * rng.standard_normal(var.shape)


@pytest.mark.claim("E2")
@pytest.mark.parametrize("collapsed", [False, True])
def test_geweke_mixture_gibbs_agrees_with_prior(collapsed):
    model = mcmc.MixturePosterior(np.zeros(3), k=2, sigma=1.0, prior_loc=1.0,
                                  prior_scale=2.0, alpha=1.5, collapsed=collapsed)
    z = geweke_z(model, np.random.default_rng(10 + collapsed))
    assert np.all(np.abs(z) < 5), z


@pytest.mark.claim("E2")
def test_geweke_detects_a_planted_bug():
    model = DroppedPriorMean(np.zeros(3), k=2, sigma=1.0, prior_loc=1.0, prior_scale=2.0,
                             alpha=1.5)
    z = geweke_z(model, np.random.default_rng(12))
    assert np.max(np.abs(z)) > 5, z


@pytest.mark.claim("E2")
def test_gibbs_bivariate_lag_autocorrelation_is_rho_squared():
    rho = 0.8
    model = mcmc.GaussianConditionals([0.0, 0.0], [[1.0, rho], [rho, 1.0]])
    rng = np.random.default_rng(3)
    chains = mcmc.gibbs(model, rng.standard_normal((16, 2)), 5000, rng, warmup=100)
    acf = mcmc.autocorrelation(chains.samples[:, :, 0])[:, 1:4]   # per chain, lags 1..3
    mean, stderr = acf.mean(axis=0), acf.std(axis=0, ddof=1) / np.sqrt(16)
    assert np.all(np.abs(mean - rho ** (2 * np.arange(1, 4))) <= 5 * stderr), (mean, stderr)


@pytest.mark.claim("E2")
def test_mixture_posterior_gibbs_recovers_separated_means():
    # well-separated data: the posterior of the sorted means sits near the cluster centres
    rng = np.random.default_rng(4)
    y = np.concatenate([rng.normal(-3, 1, 40), rng.normal(3, 1, 60)])
    model = mcmc.MixturePosterior(y, k=2, sigma=1.0, prior_scale=10.0)
    chains = mcmc.gibbs(model, 4, 400, rng, warmup=50)
    mu = np.sort(chains.samples[..., :2], axis=-1)
    # reference: the exact posterior of mu_k given the true split (at 6 sd separation a
    # point is misassigned with probability < 1e-3, below the Monte Carlo error)
    for j, cluster in enumerate((y[:40], y[40:])):
        post_var = 1 / (1 / 100 + cluster.size)
        post_mean = post_var * cluster.sum()
        est = Chains(mu[..., j:j + 1], np.ones(4)).mean()
        assert abs(est.data[0] - post_mean) <= 5 * est.stderr[0]


def test_gibbs_models_reject_bad_input():
    with pytest.raises(ValueError, match="cov"):
        mcmc.GaussianConditionals([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="weights"):
        mcmc.MixtureDensity([0.5, 0.6], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="scales"):
        mcmc.MixtureDensity([0.5, 0.5], [0.0, 1.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="sigma"):
        mcmc.MixturePosterior(np.zeros(3), 2, sigma=0.0)
    with pytest.raises(ValueError, match="x0"):
        mcmc.gibbs(mcmc.GaussianConditionals([0.0], [[1.0]]), np.zeros((2, 3)), 10,
                   np.random.default_rng(0))


# ------------------------------------------------------------------ kernels and twins
def mixture_inputs(rng, n=400, chains=3):
    log_weights = np.log([0.3, 0.5, 0.2])
    locs, scales = np.array([-2.0, 0.5, 3.0]), np.array([0.7, 1.0, 0.5])
    return (rng.standard_normal(chains), log_weights, locs, scales,
            rng.standard_normal((n, chains)), rng.uniform(size=(n, chains)))


@pytest.mark.claim("E2")
def test_mh_mixture_kernel_equals_twin():
    x0, lw, locs, scales, normals, uniforms = mixture_inputs(np.random.default_rng(0))
    step = np.array([0.5, 1.0, 2.0])
    a = kernels.rw_mixture_1d_numba(x0, step, lw, locs, scales, normals, np.log(uniforms))
    b = kernels.rw_mixture_1d_numpy(x0, step, lw, locs, scales, normals, np.log(uniforms))
    assert np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0], rtol=1e-13, atol=0)
    assert 0 < a[1].min() and a[1].max() < normals.shape[0]   # both branches were taken


@pytest.mark.claim("E2")
def test_mh_gaussian_kernel_equals_twin():
    rng = np.random.default_rng(1)
    mean, precision = np.array([1.0, -1.0, 0.0]), np.linalg.inv(np.array(
        [[2.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 0.5]]))
    normals, log_u = rng.standard_normal((300, 4, 3)), np.log(rng.uniform(size=(300, 4)))
    x0, step = rng.standard_normal((4, 3)), np.array([0.3, 0.6, 1.0, 2.0])
    a = kernels.rw_gaussian_numba(x0, step, mean, precision, normals, log_u)
    b = kernels.rw_gaussian_numpy(x0, step, mean, precision, normals, log_u)
    assert np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0], rtol=1e-13, atol=1e-15)


@pytest.mark.claim("E2")
def test_gibbs_gaussian_kernel_equals_twin_and_sweep():
    rng = np.random.default_rng(2)
    mean, cov = np.array([0.5, -1.0, 2.0]), np.array([[1.0, 0.6, 0.2], [0.6, 2.0, -0.4],
                                                      [0.2, -0.4, 0.7]])
    model = mcmc.GaussianConditionals(mean, cov)
    normals, x0 = rng.standard_normal((200, 4, 3)), rng.standard_normal((4, 3))
    a = kernels.gibbs_gaussian_numba(x0, mean, model.precision, normals)
    b = kernels.gibbs_gaussian_numpy(x0, mean, model.precision, normals)
    assert np.allclose(a, b, rtol=1e-12, atol=1e-14)
    x = x0
    for t in range(5):
        x = model.sweep(x, rng, normals=normals[t])
        assert np.allclose(x, b[:, t], rtol=1e-12, atol=1e-14)


@pytest.mark.claim("E2")
def test_gibbs_mixture_kernel_equals_twin_and_sweep():
    x0, lw, locs, scales, normals, uniforms = mixture_inputs(np.random.default_rng(3))
    a = kernels.gibbs_mixture_1d_numba(x0, lw, locs, scales, uniforms, normals)
    b = kernels.gibbs_mixture_1d_numpy(x0, lw, locs, scales, uniforms, normals)
    assert np.allclose(a, b, rtol=1e-13, atol=0)
    model = mcmc.MixtureDensity(np.exp(lw), locs, scales)
    x = x0[:, None]
    for t in range(5):
        x = model.sweep(x, None, uniforms=uniforms[t], normals=normals[t])
        assert np.allclose(x[:, 0], b[:, t], rtol=1e-13, atol=0)
