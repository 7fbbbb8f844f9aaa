"""Monte Carlo expectations (M1) and pathwise vs score-function gradients (M6).

Oracles: closed-form moments and gradients of Gaussian expectations
(E[x^2] = mu^2 + s^2, E[sin x] = sin(mu) e^{-s^2/2}, E[x^T A x]); the exact
per-sample variance of every estimator by scipy.integrate.quad over the
Normal density, with the sampling error of a sample variance,
sqrt((mu_4 - v^2) / n), from the fourth central moment (also by quad); the
exact gradient pi_j (f_j - sum_k pi_k f_k) of a categorical expectation.
Every Monte Carlo comparison is within 5 standard errors, seeds fixed.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate

import minigrad as mg
from minigrad import Tensor
from dpm.distributions import Bernoulli, Categorical, Normal
from dpm.montecarlo import (
    Estimate, check_sample_size, compare_gradient_estimators, expectation, pathwise_gradient,
    score_function_gradient)


def normal_moment(h, mu, s, power=1, center=0.0):
    """E[(h(X) - center)^power], X ~ N(mu, s^2), by adaptive quadrature."""
    return integrate.quad(lambda x: (h(x) - center) ** power * st.norm.pdf(x, mu, s),
                          -np.inf, np.inf, limit=200)[0]


def exact_mean_and_variance(h, mu, s):
    """(E h, Var h, sd of the sample variance of n=1 draws) of h(X), X ~ N(mu, s^2)."""
    mean = normal_moment(h, mu, s)
    variance = normal_moment(h, mu, s, 2, mean)
    fourth = normal_moment(h, mu, s, 4, mean)
    return mean, variance, np.sqrt(fourth - variance ** 2)


def assert_stderr_matches(stderr, variance, spread, n):
    """stderr * sqrt(n) is a sample sd: within 5 of its own sds of the exact sd.

    ``spread`` is the sd of one squared deviation, sqrt(mu_4 - variance^2); by the delta
    method the sample sd of n draws has sd spread / (2 sqrt(variance) sqrt(n)).
    """
    sd = np.sqrt(variance)
    assert np.all(np.abs(stderr * np.sqrt(n) - sd) <= 5 * spread / (2 * sd * np.sqrt(n))), (
        stderr, sd / np.sqrt(n))


def discrete_moments(per_outcome, probs):
    """(mean, variance, sqrt(mu_4 - variance^2)) of a function of a discrete draw, exactly.

    ``per_outcome[k]`` is the value (any shape) at outcome k of probability probs[k].
    """
    per_outcome, probs = np.asarray(per_outcome, float), np.asarray(probs, float)
    w = probs.reshape((-1,) + (1,) * (per_outcome.ndim - 1))
    mean = np.sum(w * per_outcome, axis=0)
    variance = np.sum(w * (per_outcome - mean) ** 2, axis=0)
    fourth = np.sum(w * (per_outcome - mean) ** 4, axis=0)
    return mean, variance, np.sqrt(fourth - variance ** 2)


# ------------------------------------------------------------------ M1
@pytest.mark.claim("M1")
def test_expectation_is_within_five_standard_errors_and_shrinks_as_one_over_root_n():
    mu, s = 1.5, 2.0
    truth = mu ** 2 + s ** 2
    square = lambda x: x * x                                              # noqa: E731
    _, variance, variance_spread = exact_mean_and_variance(square, mu, s)
    sigma = np.sqrt(variance)                                 # sd of X^2 = sqrt(4 mu^2 s^2 + 2 s^4)
    assert variance == pytest.approx(4 * mu ** 2 * s ** 2 + 2 * s ** 4, rel=1e-8)
    rng = np.random.default_rng(2024)
    for n in (100, 1_000, 10_000, 100_000, 1_000_000):
        result = expectation(square, Normal(mu, s), n, rng)
        assert isinstance(result, Estimate) and result.n == n
        estimate, stderr = float(result), result.stderr
        assert abs(estimate - truth) <= 5 * stderr, (n, estimate, stderr)
        # stderr * sqrt(n) is the sample sd of X^2; by the delta method its own sd is
        # sqrt(mu_4 - sigma^4) / (2 sigma sqrt(n)): it must stay at sigma within 5 of those.
        assert abs(stderr * np.sqrt(n) - sigma) <= 5 * variance_spread / (2 * sigma * np.sqrt(n))


def test_expectation_of_vector_functions_and_bad_arguments():
    rng = np.random.default_rng(1)
    result = expectation(lambda x: np.stack([x, x ** 2], axis=1), Normal(0.5, 1.0), 50_000, rng)
    estimate, stderr = result.data, result.stderr
    assert estimate.shape == (2,) and stderr.shape == (2,)
    assert np.all(np.abs(estimate - [0.5, 1.25]) <= 5 * stderr)
    with pytest.raises(ValueError, match="n must be"):
        expectation(np.square, Normal(0.0, 1.0), 1, rng)
    with pytest.raises(ValueError, match="one value per draw"):
        expectation(lambda x: x.sum(), Normal(0.0, 1.0), 10, rng)


# ------------------------------------------------------------------ M6
# (name, f on Tensors, f on floats, f', mu, s, closed-form gradient (d/dmu, d/ds))
OBJECTIVES = [
    ("x^2", lambda x: x * x, lambda x: x * x, lambda x: 2 * x, 1.0, 1.0,
     lambda mu, s: (2 * mu, 2 * s)),
    ("sin x", mg.sin, np.sin, np.cos, 1.0, 0.5,
     lambda mu, s: (np.cos(mu) * np.exp(-s * s / 2), -s * np.sin(mu) * np.exp(-s * s / 2))),
]


def per_sample_gradients(f, df, mu, s, mean_f):
    """Each estimator's single-draw gradient as a function of x, per parameter."""
    score_loc = lambda x: (x - mu) / s ** 2                               # noqa: E731
    score_scale = lambda x: (x - mu) ** 2 / s ** 3 - 1 / s                # noqa: E731
    return {
        "pathwise": {"loc": df, "scale": lambda x: df(x) * (x - mu) / s},
        "score function": {"loc": lambda x: f(x) * score_loc(x),
                           "scale": lambda x: f(x) * score_scale(x)},
        # the leave-one-out mean tends to the constant E f (an O(1/n) difference)
        "score function + baseline": {"loc": lambda x: (f(x) - mean_f) * score_loc(x),
                                      "scale": lambda x: (f(x) - mean_f) * score_scale(x)},
    }


@pytest.mark.claim("M6")
@pytest.mark.parametrize("objective", OBJECTIVES, ids=[o[0] for o in OBJECTIVES])
def test_gradient_estimators_unbiased_with_the_exact_variances(objective):
    name, f, f_float, df, mu, s, gradient = objective
    n = 100_000
    table = compare_gradient_estimators(f, lambda loc, scale: Normal(loc, scale),
                                        {"loc": mu, "scale": s}, n, np.random.default_rng(6))
    true = dict(zip(("loc", "scale"), gradient(mu, s)))
    exact = per_sample_gradients(f_float, df, mu, s, normal_moment(f_float, mu, s))
    exact_variance = {}
    for estimator, by_param in table.items():
        for param, g in by_param.items():
            assert abs(g.mean - true[param]) <= 5 * g.stderr, (estimator, param, g)
            mean, variance, spread = exact_mean_and_variance(exact[estimator][param], mu, s)
            assert mean == pytest.approx(true[param], abs=1e-8)        # each is unbiased
            assert abs(g.variance - variance) <= 5 * spread / np.sqrt(n), (estimator, param)
            # the standard error the 5-SE checks rely on: sd / sqrt(n), within 5 sd of the
            # sample sd (delta method: spread / (2 sd sqrt(n)))
            assert_stderr_matches(g.stderr, variance, spread, n)
            exact_variance[estimator, param] = variance
    # The margins below hold for the exact (quadrature) variances first: pathwise /
    # score-function is 0.13 and 0.09 (x^2, loc and scale), 0.08 and 0.11 (sin x); the
    # baseline / plain score-function ratio at loc is 0.60 (x^2) and 0.38 (sin x).
    for param in ("loc", "scale"):
        assert exact_variance["pathwise", param] < exact_variance["score function", param] / 5
        pathwise = table["pathwise"][param].variance
        score = table["score function"][param].variance
        assert pathwise < score / 5, (name, param, pathwise, score)    # M6, with a margin
    assert (exact_variance["score function + baseline", "loc"]
            < 0.7 * exact_variance["score function", "loc"])
    assert table["score function + baseline"]["loc"].variance < 0.7 * table["score function"][
        "loc"].variance


@pytest.mark.claim("M6")
def test_gradient_estimators_on_a_quadratic_of_a_two_dimensional_gaussian():
    A = np.array([[2.0, 0.5], [-0.3, 1.0]])
    mu, s = np.array([0.7, -1.2]), np.array([0.8, 1.5])

    def f(x):                                 # x^T A x per draw, x of shape (n, 2)
        return ((x @ Tensor(A)) * x).sum(axis=-1)

    true = {"loc": (A + A.T) @ mu, "scale": 2 * np.diag(A) * s}
    table = compare_gradient_estimators(f, lambda loc, scale: Normal(loc, scale),
                                        {"loc": mu, "scale": s}, 100_000,
                                        np.random.default_rng(8))
    for estimator, by_param in table.items():
        for param, g in by_param.items():
            assert g.mean.shape == (2,)
            assert np.all(np.abs(g.mean - true[param]) <= 5 * g.stderr), (estimator, param)
    for param in ("loc", "scale"):
        assert np.all(table["pathwise"][param].variance
                      < table["score function"][param].variance / 5)
        assert np.all(table["score function + baseline"][param].variance
                      < table["score function"][param].variance)


def test_score_function_gradient_of_discrete_laws_matches_closed_form():
    pi = np.array([0.1, 0.6, 0.3])
    values = np.array([2.0, -1.0, 0.5])
    true = pi * (values - pi @ values)        # d/dlogits sum_k pi_k f_k
    rng = np.random.default_rng(10)
    f = lambda c: Tensor(values[c.data.astype(int)])                      # noqa: E731
    # One draw k gives (f_k - b) d/dlogits log pi_k = (f_k - b)(e_k - pi): its exact
    # moments are sums over the 3 outcomes (the leave-one-out mean baseline tends to E f).
    for baseline, b in ((None, 0.0), ("mean", pi @ values), (lambda params: 0.2, 0.2)):
        g = score_function_gradient(f, lambda logits: Categorical(logits=logits),
                                    {"logits": np.log(pi)}, 50_000, rng, baseline)["logits"]
        assert np.all(np.abs(g.mean - true) <= 5 * g.stderr), (baseline, g)
        mean, variance, spread = discrete_moments(
            [(values[k] - b) * (np.eye(3)[k] - pi) for k in range(3)], pi)
        np.testing.assert_allclose(mean, true, atol=1e-15)
        assert_stderr_matches(g.stderr, variance, spread, 50_000)
    p = 0.3                                   # d/dp E_{Bern(p)}[(x - 0.2)^2] = 0.64 - 0.04
    g = score_function_gradient(lambda x: (x - 0.2) ** 2, lambda probs: Bernoulli(probs=probs),
                                {"probs": p}, 50_000, rng)["probs"]
    assert abs(g.mean - 0.6) <= 5 * g.stderr
    # one draw: (x - 0.2)^2 d/dp log p(x), with d/dp log p(x) = -1/(1-p) at 0, 1/p at 1
    mean, variance, spread = discrete_moments([0.04 * -1 / (1 - p), 0.64 / p], [1 - p, p])
    assert mean == pytest.approx(0.6, rel=1e-14)
    assert_stderr_matches(g.stderr, variance, spread, 50_000)


def test_gradient_estimators_reject_bad_use():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="no reparameterized sampler"):
        pathwise_gradient(lambda c: c, lambda logits: Categorical(logits=logits),
                          {"logits": np.zeros(3)}, 10, rng)
    with pytest.raises(ValueError, match="baseline"):
        score_function_gradient(lambda x: x, lambda loc: Normal(loc, 1.0), {"loc": 0.0}, 10,
                                rng, baseline="median")
    with pytest.raises(ValueError, match="params"):
        pathwise_gradient(lambda x: x, lambda loc: Normal(loc, 1.0), {}, 10, rng)
    with pytest.raises(ValueError, match="n must be"):
        pathwise_gradient(lambda x: x, lambda loc: Normal(loc, 1.0), {"loc": 0.0}, 1, rng)


@pytest.mark.parametrize("n", [1, 0, -5, 2.5, None, True, float("nan"), float("inf"), "100"])
def test_sample_size_must_be_a_whole_number_of_at_least_two(n):
    with pytest.raises(ValueError, match=r"n must be an integer >= 2.*got"):
        expectation(lambda x: x, Normal(0.0, 1.0), n, np.random.default_rng(0))


def test_sample_size_accepts_whole_floats_and_numpy_integers():
    assert check_sample_size(10.0) == 10 and check_sample_size(np.int64(7)) == 7


def test_expectation_keeps_the_graph_of_a_tensor_valued_f():
    # E[(x - w)^2] for X ~ N(0.5, 1): d/dw = 2 (w - 0.5) exactly in expectation, and
    # per draw 2 (w - x): the Estimate's backward gives the mean of those, the sample
    # version of the closed form, within 5 standard errors of 2 (w - 0.5).
    w = Tensor(np.array(1.25), requires_grad=True)
    rng = np.random.default_rng(3)
    result = expectation(lambda x: (Tensor(x) - w) ** 2, Normal(0.5, 1.0), 20_000, rng)
    result.backward()
    assert abs(w.grad - 2 * (1.25 - 0.5)) <= 5 * 2 / np.sqrt(20_000)
    assert abs(float(result) - (0.75 ** 2 + 1.0)) <= 5 * result.stderr


def test_estimate_is_its_own_vertex_of_the_graph():
    # from_tensor must not share the value's node: using both in one expression
    # counts each once (d/dx (v + e) = 2 dv/dx), and higher order passes through.
    x = Tensor(np.array(0.3), requires_grad=True)
    value = x * x * x
    e = Estimate.from_tensor(value, 0.1, 10)
    assert e._node is not value._node and isinstance(e, Estimate)
    (first,) = mg.gradients(value + e, [x], create_graph=True)
    assert float(first) == pytest.approx(2 * 3 * 0.3 ** 2, rel=1e-14)
    (second,) = mg.gradients(first, [x])
    assert float(second) == pytest.approx(2 * 6 * 0.3, rel=1e-14)
    with pytest.raises(ValueError, match="stderr must have the value's shape"):
        Estimate.from_tensor(Tensor(np.zeros(3)), np.zeros(2), 10)
