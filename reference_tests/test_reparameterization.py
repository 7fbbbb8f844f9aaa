"""Pathwise (reparameterized) gradients of E[g(x)] (claim M2).

For x = T(eps; theta), grad_theta E[g(x)] = E[g'(x) dT/dtheta]. Each test
draws n samples with n identical copies of the parameters (a batch), so one
backward pass gives the n per-sample gradients; their mean is the
estimate and their standard deviation / sqrt(n) its standard error. The
estimate must lie within 5 standard errors of the exact derivative, from a
closed form or from scipy.integrate.quad differentiated by central
differences (conftest.py: how a rare false failure is handled).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

import minigrad as mg
from dpm.distributions import (
    Cauchy, DiagonalNormal, ExpTransform, Exponential, Gamma, Gumbel, Laplace,
    MultivariateNormal, Normal, TransformedDistribution, Uniform)

EULER = float(np.euler_gamma)
N = 200_000  # then 5 SE is 1-5% of each exact gradient below (20,000 let a 5% error pass)


def per_sample_gradients(cls, params, g, n=N, seed=0, **fixed):
    """(n, k) per-sample gradients of g(x_i) in each of the k named parameters."""
    tensors = {k: mg.Tensor(np.full(n, float(v)), requires_grad=True) for k, v in params.items()}
    x = cls(**tensors, **fixed).rsample((), np.random.default_rng(seed))
    g(x).sum().backward()
    return np.stack([tensors[k].grad for k in params], axis=1)


def assert_within_5_se(per_sample, truth):
    per_sample = np.asarray(per_sample)
    estimate = per_sample.mean(axis=0)
    se = per_sample.std(axis=0, ddof=1) / np.sqrt(len(per_sample))
    z = np.abs(estimate - truth) / np.maximum(se, 1e-300)
    assert np.all(np.abs(estimate - truth) <= 5 * se + 1e-12), (
        f"estimate {estimate}, exact {truth}, standard error {se}, z {z}")


# (family, parameters, g, exact gradient in the order of the parameters)
def _cauchy_bump_gradient(loc, scale):
    # E[1/(1+x^2)] = (1+g)/((1+g)^2 + m^2) for x ~ Cauchy(m, g) (Cauchy convolution).
    s = 1.0 + scale
    denominator = (s * s + loc * loc) ** 2
    return [-2.0 * loc * s / denominator, (loc * loc - s * s) / denominator]


ANALYTIC = [
    ("Normal-square", Normal, dict(loc=0.7, scale=1.3), lambda x: x * x, [2 * 0.7, 2 * 1.3]),
    ("Normal-sin", Normal, dict(loc=0.7, scale=1.3), mg.sin,
     [np.cos(0.7) * np.exp(-1.3 ** 2 / 2), -1.3 * np.sin(0.7) * np.exp(-1.3 ** 2 / 2)]),
    ("Uniform-square", Uniform, dict(low=-0.5, high=2.0), lambda x: x * x,
     [(2 * -0.5 + 2.0) / 3, (-0.5 + 2 * 2.0) / 3]),
    ("Exponential-sin", Exponential, dict(rate=1.7), mg.sin,   # E sin = l / (1 + l^2)
     [(1 - 1.7 ** 2) / (1 + 1.7 ** 2) ** 2]),
    ("Exponential-square", Exponential, dict(rate=1.7), lambda x: x * x, [-4.0 / 1.7 ** 3]),
    ("Cauchy-bump", Cauchy, dict(loc=0.4, scale=0.8), lambda x: 1.0 / (1.0 + x * x),
     _cauchy_bump_gradient(0.4, 0.8)),
    ("Laplace-square", Laplace, dict(loc=0.3, scale=0.9), lambda x: x * x, [2 * 0.3, 4 * 0.9]),
    ("Laplace-cos", Laplace, dict(loc=0.3, scale=0.9), mg.cos,   # E cos = cos(m) / (1 + b^2)
     [-np.sin(0.3) / (1 + 0.81), -2 * 0.9 * np.cos(0.3) / (1 + 0.81) ** 2]),
    ("Gumbel-square", Gumbel, dict(loc=0.2, scale=1.1), lambda x: x * x,
     [2 * (0.2 + EULER * 1.1), 2 * EULER * (0.2 + EULER * 1.1) + np.pi ** 2 * 1.1 / 3]),
]


@pytest.mark.claim("M2")
@pytest.mark.parametrize("name,cls,params,g,exact", ANALYTIC, ids=[a[0] for a in ANALYTIC])
def test_pathwise_gradient_matches_analytic_derivative(name, cls, params, g, exact):
    assert_within_5_se(per_sample_gradients(cls, params, g), np.array(exact))


SCIPY_LAWS = {Normal: lambda loc, scale: stats.norm(loc, scale),
              Uniform: lambda low, high: stats.uniform(low, high - low),
              Exponential: lambda rate: stats.expon(scale=1 / rate),
              Cauchy: lambda loc, scale: stats.cauchy(loc, scale),
              Laplace: lambda loc, scale: stats.laplace(loc, scale),
              Gumbel: lambda loc, scale: stats.gumbel_r(loc, scale)}
QUAD_CASES = [(Normal, dict(loc=-0.4, scale=0.8)), (Uniform, dict(low=-1.0, high=0.7)),
              (Exponential, dict(rate=0.6)), (Cauchy, dict(loc=1.0, scale=0.5)),
              (Laplace, dict(loc=0.9, scale=0.6)), (Gumbel, dict(loc=-0.5, scale=0.7))]


def quad_expectation(cls, params, g):
    law = SCIPY_LAWS[cls](**params)
    lo, hi = law.support()
    points = sorted({float(np.clip(p, lo, hi)) for p in (law.median(), 0.3)})
    edges = [lo] + points + [hi]
    with np.errstate(over="ignore"):  # scipy's Gumbel pdf computes exp(-x) far left (-> 0)
        return sum(integrate.quad(lambda x: g(x) * law.pdf(x), a, b, epsabs=1e-13,
                                  epsrel=1e-12)[0]
                   for a, b in zip(edges[:-1], edges[1:]) if b > a)


@pytest.mark.claim("M2")
@pytest.mark.parametrize("cls,params", QUAD_CASES, ids=[c.__name__ for c, _ in QUAD_CASES])
def test_pathwise_gradient_matches_quadrature_derivative(cls, params):
    def bump(x):  # bounded and smooth, with g'(x) x bounded (finite variance even for Cauchy)
        return 1.0 / (1.0 + (x - 0.3) ** 2)
    exact = []
    for k in params:
        h = 1e-4
        up, down = dict(params), dict(params)
        up[k] += h
        down[k] -= h
        difference = quad_expectation(cls, up, bump) - quad_expectation(cls, down, bump)
        exact.append(difference / (2 * h))
    tensor_bump = lambda x: 1.0 / ((x - 0.3) * (x - 0.3) + 1.0)  # noqa: E731
    assert_within_5_se(per_sample_gradients(cls, params, tensor_bump, seed=7), np.array(exact))


LOCATION_SCALE = [(Normal, "loc", "scale"), (Cauchy, "loc", "scale"), (Laplace, "loc", "scale"),
                  (Gumbel, "loc", "scale")]


@pytest.mark.claim("M2")
@pytest.mark.parametrize("cls,loc_name,scale_name", LOCATION_SCALE,
                         ids=[c.__name__ for c, _, _ in LOCATION_SCALE])
def test_location_scale_draws_are_loc_plus_scale_times_noise(cls, loc_name, scale_name):
    # x = mu + s eps: dx/dmu = 1 and dx/ds = eps = (x - mu)/s, sample by sample.
    grads = per_sample_gradients(cls, {loc_name: 0.5, scale_name: 2.0}, lambda x: x, n=500)
    x = cls(0.5, 2.0).rsample((500,), np.random.default_rng(0)).data
    np.testing.assert_array_equal(grads[:, 0], 1.0)
    np.testing.assert_allclose(grads[:, 1], (x - 0.5) / 2.0, rtol=1e-12, atol=1e-12)


@pytest.mark.claim("M2")
def test_uniform_and_exponential_draws_have_the_lecture_form():
    # Uniform: x = a + (b - a) u, so dx/da = 1 - u and dx/db = u.
    # Exponential: x = Exp(1) / l, so dx/dl = -x / l.
    grads = per_sample_gradients(Uniform, dict(low=-1.0, high=3.0), lambda x: x, n=500)
    u = (Uniform(-1.0, 3.0).rsample((500,), np.random.default_rng(0)).data + 1.0) / 4.0
    np.testing.assert_allclose(grads, np.stack([1 - u, u], axis=1), rtol=1e-12, atol=1e-15)
    grads = per_sample_gradients(Exponential, dict(rate=2.5), lambda x: x, n=500)
    x = Exponential(2.5).rsample((500,), np.random.default_rng(0)).data
    np.testing.assert_allclose(grads[:, 0], -x / 2.5, rtol=1e-12)


@pytest.mark.claim("M2")
def test_multivariate_normal_pathwise_gradient_in_loc_and_scale_tril():
    # E|x|^2 = |mu|^2 + tr(L L^T): gradient 2 mu in mu and 2 L in L (zero above the diagonal).
    rng = np.random.default_rng(3)
    mu = np.array([0.5, -1.0, 2.0])
    L = np.array([[1.0, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.3, 0.2, 0.6]])
    n = 10000
    loc = mg.Tensor(np.tile(mu, (n, 1)), requires_grad=True)
    tril = mg.Tensor(np.tile(L, (n, 1, 1)), requires_grad=True)
    x = MultivariateNormal(loc, scale_tril=tril).rsample((), rng)
    assert x.shape == (n, 3)
    (x * x).sum().backward()
    assert_within_5_se(loc.grad, 2 * mu)
    assert_within_5_se(tril.grad.reshape(n, -1), (2 * L).ravel())


@pytest.mark.claim("M2")
def test_multivariate_normal_pathwise_gradient_through_the_cholesky_factor():
    # E sum_i sin(x_i) = sum_i sin(mu_i) exp(-Sigma_ii / 2): gradient
    # cos(mu_i) exp(-Sigma_ii/2) in mu, and -1/2 sin(mu_i) exp(-Sigma_ii/2) on Sigma's
    # diagonal, 0 off it.
    # Groups instead of single samples (each Cholesky backward is a solve per
    # batch member): 100 copies of the parameters with 200 draws each; the
    # group means are i.i.d., and their spread gives the standard error.
    rng = np.random.default_rng(4)
    mu = np.array([0.3, -1.2])
    sigma = np.array([[1.0, 0.6], [0.6, 2.0]])
    groups, per_group = 100, 200
    loc = mg.Tensor(np.tile(mu, (groups, 1)), requires_grad=True)
    cov = mg.Tensor(np.tile(sigma, (groups, 1, 1)), requires_grad=True)
    x = MultivariateNormal(loc, covariance_matrix=cov).rsample((per_group,), rng)
    assert x.shape == (per_group, groups, 2)
    mg.sin(x).sum().backward()
    damp = np.exp(-np.diag(sigma) / 2)
    assert_within_5_se(loc.grad / per_group, np.cos(mu) * damp)
    assert_within_5_se(cov.grad.reshape(groups, -1) / per_group,
                       np.diag(-0.5 * np.sin(mu) * damp).ravel())


@pytest.mark.claim("M2")
def test_diagonal_normal_pathwise_gradient():
    rng = np.random.default_rng(5)
    mu, s = np.array([0.2, -0.7, 1.5]), np.array([0.5, 1.0, 2.0])
    loc = mg.Tensor(np.tile(mu, (N, 1)), requires_grad=True)
    scale = mg.Tensor(np.tile(s, (N, 1)), requires_grad=True)
    x = DiagonalNormal(loc, scale).rsample((), rng)
    (x * x).sum().backward()
    assert_within_5_se(loc.grad, 2 * mu)
    assert_within_5_se(scale.grad, 2 * s)


@pytest.mark.claim("M2")
def test_transformed_lognormal_pathwise_gradient():
    # y = exp(x), x ~ N(m, s): E y = exp(m + s^2/2), gradient (E y, s E y).
    m, s = 0.1, 0.5
    grads = per_sample_gradients(
        lambda loc, scale: TransformedDistribution(Normal(loc, scale), [ExpTransform()]),
        dict(loc=m, scale=s), lambda y: y, seed=6)
    mean = np.exp(m + s * s / 2)
    assert_within_5_se(grads, np.array([mean, s * mean]))


def test_gamma_is_not_reparameterized():
    assert not Gamma(2.0, 1.0).has_rsample
    with pytest.raises(NotImplementedError, match="score-function"):
        Gamma(2.0, 1.0).rsample((3,), np.random.default_rng(0))
