"""Variational Bayesian linear regression (V4) against the exact posterior by quadrature.

Oracles: the bound after every iteration never falls (to rounding); the
exact evidence log p(t) = log int p(alpha) N(t; 0, I/beta + Phi Phi^T / alpha)
d alpha by scipy.integrate.quad over scipy.stats.multivariate_normal
(independent of the eigenbasis formulas the module uses); the identity
log p(t) = bound + KL(q || p(w, alpha | t)) with the KL by quadrature, at
convergence and after one iteration; the exact posterior mean of alpha and
of w against the VB fit within one posterior standard deviation, the KL
falling as the data grow; the predictive distribution against sampling.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate

from dpm.vi.linear_regression import VBLinearRegression, exact_posterior


def problem(rng, n, noise=0.3, degree=3):
    x = rng.uniform(-1, 1, n)
    X = np.stack([x ** j for j in range(degree + 1)], axis=1)
    return X, np.sin(2 * x) + noise * rng.normal(size=n), 1 / noise ** 2


def non_decreasing(history):
    history = np.asarray(history)
    return np.all(np.diff(history) >= -1e-12 * np.maximum(1.0, np.abs(history[1:])))


@pytest.mark.claim("V4")
@pytest.mark.parametrize("n, a0, b0", [(20, 1e-2, 1e-4), (60, 1.0, 1.0), (8, 3.0, 0.1)])
def test_bound_never_falls(n, a0, b0):
    X, t, beta = problem(np.random.default_rng(n), n)
    vb = VBLinearRegression(a0, b0, beta).fit(X, t, iters=40)
    assert len(vb.history) == 40 and non_decreasing(vb.history)
    assert vb.history[-1] > vb.history[0]


@pytest.mark.claim("V4", "V1")
@pytest.mark.parametrize("iters", [1, 3, 50])
def test_evidence_is_bound_plus_kl(iters):
    X, t, beta = problem(np.random.default_rng(1), 20)
    a0, b0 = 1e-2, 1e-4
    vb = VBLinearRegression(a0, b0, beta).fit(X, t, iters=iters)
    exact = exact_posterior(X, t, a0, b0, beta)
    kl = exact.kl_from(vb)
    assert kl > 0
    assert abs(exact.log_evidence - (vb.history[-1] + kl)) < 1e-9


@pytest.mark.claim("V4")
def test_exact_evidence_against_direct_quadrature():
    X, t, beta = problem(np.random.default_rng(2), 15)
    a0, b0 = 2.0, 0.5
    exact = exact_posterior(X, t, a0, b0, beta)

    def joint(alpha):   # p(alpha) p(t | alpha), the Gaussian marginal of t given alpha
        cov = np.eye(len(t)) / beta + X @ X.T / alpha
        return st.gamma(a0, scale=1 / b0).pdf(alpha) * st.multivariate_normal(
            np.zeros(len(t)), cov).pdf(t)

    evidence = integrate.quad(joint, 0, np.inf, epsabs=0, epsrel=1e-11, limit=300)[0]
    assert abs(exact.log_evidence - np.log(evidence)) < 1e-8
    alpha_mean = integrate.quad(lambda a: a * joint(a), 0, np.inf, epsabs=0, epsrel=1e-11,
                                limit=300)[0] / evidence
    assert abs(exact.alpha_mean - alpha_mean) < 1e-7 * alpha_mean
    grid = np.linspace(0.05, 3 * alpha_mean, 7)
    np.testing.assert_allclose(exact.alpha_density(grid), [joint(a) / evidence for a in grid],
                               rtol=1e-8)


@pytest.mark.claim("V4")
def test_vb_close_to_exact_posterior():
    a0, b0 = 1e-2, 1e-4
    kls = []
    for n in (20, 200):
        X, t, beta = problem(np.random.default_rng(3), n)
        vb = VBLinearRegression(a0, b0, beta).fit(X, t, iters=100)
        exact = exact_posterior(X, t, a0, b0, beta)
        assert abs(vb.alpha_mean - exact.alpha_mean) < exact.alpha_sd
        sd = np.sqrt(np.diag(exact.covariance))
        assert np.all(np.abs(vb.mean - exact.mean) < sd)
        x_new = np.stack([np.linspace(-1, 1, 9) ** j for j in range(4)], axis=1)
        (vb_mean, vb_var), (ex_mean, ex_var) = vb.predict(x_new), exact.predict(x_new)
        assert np.all(np.abs(vb_mean - ex_mean) < 0.1 * np.sqrt(ex_var))
        assert np.all(vb_var <= ex_var * 1.001)   # mean-field narrows the predictive (here)
        kls.append(exact.kl_from(vb))
    assert kls[1] < kls[0]


@pytest.mark.claim("V4")
def test_predictive_matches_sampling():
    X, t, beta = problem(np.random.default_rng(4), 30)
    vb = VBLinearRegression(1.0, 1.0, beta).fit(X, t, iters=30)
    rng = np.random.default_rng(5)
    phi = np.array([1.0, 0.4, 0.16, 0.064])
    w = rng.multivariate_normal(vb.mean, vb.covariance, size=200_000)
    draws = w @ phi + rng.normal(size=len(w)) / np.sqrt(beta)
    mean, var = vb.predict(phi)
    assert abs(draws.mean() - mean[0]) <= 5 * draws.std() / np.sqrt(len(draws))
    # var of a sample variance of near-normal draws: 2 var^2 / (n - 1)
    assert abs(draws.var(ddof=1) - var[0]) <= 5 * var[0] * np.sqrt(2 / (len(draws) - 1))


def test_bad_input():
    X, t, beta = problem(np.random.default_rng(6), 10)
    with pytest.raises(ValueError, match="a0"):
        VBLinearRegression(0.0, 1.0, beta)
    with pytest.raises(ValueError, match="beta"):
        VBLinearRegression(1.0, 1.0, np.inf)
    with pytest.raises(ValueError, match="shape"):
        VBLinearRegression(1.0, 1.0, beta).fit(X, t[:-1], 5)
    with pytest.raises(ValueError, match="iters"):
        VBLinearRegression(1.0, 1.0, beta).fit(X, t, 0)
    with pytest.raises(ValueError, match="finite"):
        VBLinearRegression(1.0, 1.0, beta).fit(X, t * np.nan, 5)
