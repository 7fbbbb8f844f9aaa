"""dpm.divergences: KL family, cross-entropy and Jensen-Shannon (K5), what each needs (K7).

Oracles: the closed forms of dpm.kl_divergence (tested in test_kl.py against
scipy), entropies, scipy.integrate.quad of the integrands written here from
scipy.stats densities, hand-derived gradients of the Gaussian KL, and
minigrad.gradcheck (central differences) with the base noise fixed by seeding
the generator inside the function. Monte Carlo tolerances: 5 standard errors
from the per-draw values (the Estimate's stderr) or across independent
replicas for gradients.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp

import minigrad as mg
from dpm import kl_divergence
from dpm import divergences as D
from dpm.distributions import (
    Categorical, GaussianMixture, Laplace, MultivariateNormal, Normal)

LOG2 = np.log(2.0)


def assert_within_5se(estimate, truth):
    assert np.isfinite(estimate.stderr) and estimate.stderr > 0
    z = (float(estimate) - truth) / estimate.stderr
    assert abs(z) <= 5, f"estimate {float(estimate)} vs {truth}: z = {z:.2f}"


# -------------------------------------------------- scipy-side densities
def scipy_logpdf(spec):
    """log density from a spec: ("normal", m, s), ("laplace", m, b), ("mix", w, m, s)."""
    if spec[0] == "normal":
        return stats.norm(spec[1], spec[2]).logpdf
    if spec[0] == "laplace":
        return stats.laplace(spec[1], spec[2]).logpdf
    w, m, s = (np.asarray(a, dtype=float) for a in spec[1:])
    return lambda x: logsumexp(np.log(w) + stats.norm(m, s).logpdf(np.asarray(x)[..., None]),
                               axis=-1)


def dpm_dist(spec):
    kind, *args = spec
    return {"normal": Normal, "laplace": Laplace, "mix": GaussianMixture}[kind](*args)


def quad(integrand):
    value, _ = integrate.quad(integrand, -40, 40, points=[-8, -2, 0, 2, 8], limit=400)
    return value


def quad_kl(p, q):
    lp, lq = scipy_logpdf(p), scipy_logpdf(q)
    return quad(lambda x: np.exp(lp(x)) * (lp(x) - lq(x)))


def quad_js(p, q):
    lp, lq = scipy_logpdf(p), scipy_logpdf(q)

    def integrand(x):
        a, b = lp(x), lq(x)
        log_m = np.logaddexp(a, b) - LOG2
        return 0.5 * (np.exp(a) * (a - log_m) + np.exp(b) * (b - log_m))
    return quad(integrand)


NORMAL_A, NORMAL_B = ("normal", 0.0, 1.0), ("normal", 1.5, 2.0)
LAPLACE_A, LAPLACE_B = ("laplace", 0.0, 1.0), ("laplace", -1.0, 0.5)
MIXTURE = ("mix", [0.3, 0.7], [-2.0, 1.5], [0.7, 1.2])
PAIRS = [(NORMAL_A, NORMAL_B), (NORMAL_B, NORMAL_A), (LAPLACE_A, LAPLACE_B)]


# ------------------------------------------------------------- KL family
@pytest.mark.parametrize("p, q", PAIRS)
def test_kl_matches_closed_form(p, q):
    P, Q = dpm_dist(p), dpm_dist(q)
    truth = float(kl_divergence(P, Q))
    assert truth == pytest.approx(quad_kl(p, q), rel=1e-8)  # the two oracles agree
    assert_within_5se(D.kl(P, Q, 20_000, np.random.default_rng(1)), truth)


@pytest.mark.parametrize("p, q", [(MIXTURE, NORMAL_B), (NORMAL_A, MIXTURE)])
def test_kl_with_a_mixture_matches_quadrature(p, q):
    estimate = D.kl(dpm_dist(p), dpm_dist(q), 20_000, np.random.default_rng(2))
    assert_within_5se(estimate, quad_kl(p, q))


@pytest.mark.parametrize("p, q", PAIRS)
def test_forward_and_reverse_kl_are_the_two_directions(p, q):
    P, Q = dpm_dist(p), dpm_dist(q)
    forward = D.forward_kl(P, Q, 20_000, np.random.default_rng(3))
    assert_within_5se(forward, float(kl_divergence(P, Q)))
    # the same draws as kl(data, model): forward KL is KL with the data first
    assert float(forward) == float(D.kl(P, Q, 20_000, np.random.default_rng(3)))
    reverse = D.reverse_kl(P, Q, 20_000, np.random.default_rng(4))
    assert_within_5se(reverse, float(kl_divergence(Q, P)))


def test_kl_with_events_and_batches_matches_closed_form():
    # a 2-D correlated Gaussian (event shape (2,)) and a batch of three 1-D pairs
    p = MultivariateNormal(np.zeros(2), covariance_matrix=np.array([[1.0, 0.5], [0.5, 1.0]]))
    q = MultivariateNormal(np.ones(2), covariance_matrix=2 * np.eye(2))
    assert_within_5se(D.kl(p, q, 20_000, np.random.default_rng(20)), float(kl_divergence(p, q)))
    assert_within_5se(D.reverse_kl(p, q, 20_000, np.random.default_rng(21)),
                      float(kl_divergence(q, p)))
    P, Q = Normal(np.zeros(3), 1.0), Normal(np.array([0.5, 1.0, 2.0]), 1.5)
    batch = D.kl(P, Q, 20_000, np.random.default_rng(22))
    exact = kl_divergence(P, Q).data
    assert batch.shape == (3,) and batch.stderr.shape == (3,)
    assert np.all(np.abs(batch.data - exact) <= 5 * batch.stderr), (batch, exact)


def test_reverse_kl_of_an_unnormalised_target_shifts_by_its_log_normaliser():
    # needs only log p: a callable is enough, and log p + c moves KL by -c exactly
    target, model = Normal(0.5, 1.3), Normal(0.0, 1.0)
    exact = D.reverse_kl(target, model, 1000, np.random.default_rng(5))
    shifted = D.reverse_kl(lambda x: target.log_prob(x) + 3.0, model, 1000,
                           np.random.default_rng(5))
    assert float(shifted) == pytest.approx(float(exact) - 3.0, abs=1e-12)


@pytest.mark.parametrize("p, q", PAIRS + [(MIXTURE, NORMAL_A)])
def test_cross_entropy_is_entropy_plus_kl(p, q):
    lp, lq = scipy_logpdf(p), scipy_logpdf(q)
    truth = quad(lambda x: -np.exp(lp(x)) * lq(x))
    if p[0] != "mix":
        P, Q = dpm_dist(p), dpm_dist(q)
        assert truth == pytest.approx(float(P.entropy()) + float(kl_divergence(P, Q)), rel=1e-8)
    estimate = D.cross_entropy(dpm_dist(p), dpm_dist(q), 20_000, np.random.default_rng(6))
    assert_within_5se(estimate, truth)


def test_cross_entropy_of_samples_is_their_mean_negative_log_likelihood():
    samples = np.random.default_rng(7).laplace(0.0, 1.0, size=5000)
    estimate = D.cross_entropy(samples, Normal(0.2, 1.4))
    assert float(estimate) == pytest.approx(-stats.norm(0.2, 1.4).logpdf(samples).mean(),
                                            rel=1e-12)
    assert_within_5se(estimate, quad(lambda x: -stats.laplace.pdf(x)
                                     * stats.norm(0.2, 1.4).logpdf(x)))


def assert_stderr_matches_replicas(estimator, replicas, seed):
    """The reported standard error against the spread of independent replicas.

    Every 5-standard-error test above trusts ``Estimate.stderr``; an inflated
    one would let any estimate pass. Over R independent replicas the sample
    variance of the estimates, divided by the mean reported stderr^2 (each an
    unbiased estimate of Var / n), is about chi-square(R - 1) / (R - 1); the
    bounds are its 1e-6 and 1 - 1e-6 quantiles.
    """
    rng = np.random.default_rng(seed)
    estimates = [estimator(rng) for _ in range(replicas)]
    values = np.array([float(e) for e in estimates])
    stderrs = np.array([e.stderr for e in estimates])
    ratio = values.var(ddof=1) / np.mean(stderrs ** 2)
    low, high = stats.chi2.ppf([1e-6, 1 - 1e-6], replicas - 1) / (replicas - 1)
    assert low <= ratio <= high, (ratio, low, high)


@pytest.mark.parametrize("name, estimator", [
    ("kl", lambda rng: D.kl(Normal(0.0, 1.0), Normal(1.5, 2.0), 100, rng)),
    ("forward_kl", lambda rng: D.forward_kl(Normal(0.0, 1.0), Normal(1.5, 2.0), 100, rng)),
    ("reverse_kl", lambda rng: D.reverse_kl(Normal(0.0, 1.0), Normal(1.5, 2.0), 100, rng)),
    ("cross_entropy", lambda rng: D.cross_entropy(Laplace(0.0, 1.0), Normal(0.5, 1.5), 100, rng)),
    ("js", lambda rng: D.js_divergence(Normal(0.0, 1.0), Normal(1.5, 2.0), 100, rng)),
    ("js mixture", lambda rng: D.js_divergence(dpm_dist(MIXTURE), Normal(0.0, 1.0), 100, rng)),
])
def test_reported_stderr_matches_the_spread_of_replicas(name, estimator):
    assert_stderr_matches_replicas(estimator, 400, 23)


# ---------------------------------------------------------- Jensen-Shannon
@pytest.mark.claim("K5")
@pytest.mark.parametrize("p, q", [(NORMAL_A, NORMAL_B), (NORMAL_A, ("normal", 0.3, 0.5)),
                                  (MIXTURE, NORMAL_B), (LAPLACE_A, MIXTURE)])
def test_js_matches_quadrature_both_ways(p, q):
    truth = quad_js(p, q)
    assert truth == pytest.approx(quad_js(q, p), rel=1e-10)  # symmetric
    # JSD = 1/2 KL(P||M) + 1/2 KL(Q||M) with M the mixture (the definition in K5)
    mixture_log_pdf = lambda x: np.logaddexp(scipy_logpdf(p)(x), scipy_logpdf(q)(x)) - LOG2  # noqa: E731
    halves = [quad(lambda x, l=scipy_logpdf(r): 0.5 * np.exp(l(x)) * (l(x) - mixture_log_pdf(x)))
              for r in (p, q)]
    assert truth == pytest.approx(sum(halves), rel=1e-8)
    assert 0 < truth < LOG2
    for first, second, seed in [(p, q, 8), (q, p, 9)]:
        estimate = D.js_divergence(dpm_dist(first), dpm_dist(second), 20_000,
                                   np.random.default_rng(seed))
        assert 0 <= float(estimate) <= LOG2
        assert_within_5se(estimate, truth)


@pytest.mark.claim("K5")
def test_js_is_zero_for_equal_laws_and_log2_for_far_apart_ones():
    same = D.js_divergence(Normal(0.3, 1.2), Normal(0.3, 1.2), 500, np.random.default_rng(10))
    assert abs(float(same)) <= 1e-12
    # N(0,1) vs N(60,1): JSD = log 2 - O(e^-400); every draw gives log 2 to rounding
    far = D.js_divergence(Normal(0.0, 1.0), Normal(60.0, 1.0), 500, np.random.default_rng(11))
    assert float(far) == pytest.approx(LOG2, rel=1e-12)


# --------------------------------------------------------------- gradients
def test_gradcheck_of_each_divergence_in_model_parameters():
    data = Normal(0.4, 1.3)
    n = 64
    estimators = {
        "kl": lambda m: D.kl(data, m, n, np.random.default_rng(12)),
        "kl model first": lambda m: D.kl(m, data, n, np.random.default_rng(12)),
        "forward_kl": lambda m: D.forward_kl(data, m, n, np.random.default_rng(12)),
        "reverse_kl": lambda m: D.reverse_kl(data, m, n, np.random.default_rng(12)),
        "cross_entropy": lambda m: D.cross_entropy(data, m, n, np.random.default_rng(12)),
        "js model second": lambda m: D.js_divergence(data, m, n, np.random.default_rng(12)),
        "js model first": lambda m: D.js_divergence(m, data, n, np.random.default_rng(12)),
    }
    for name, estimator in estimators.items():
        f = lambda loc, scale: estimator(Normal(loc, scale))  # noqa: E731
        assert mg.gradcheck(f, [np.array(-0.3), np.array(0.8)]), name
    # gradients with respect to a Laplace model's loc and scale as well
    assert mg.gradcheck(lambda loc, scale: D.reverse_kl(data, Laplace(loc, scale), n,
                                                        np.random.default_rng(13)),
                        [np.array(0.2), np.array(1.1)])


def replicate_gradients(estimator, params, replicas, seed):
    """Mean and standard error over independent replicas of each parameter's gradient."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(replicas):
        leaves = [mg.Tensor(np.array(p), requires_grad=True) for p in params]
        estimator(*leaves, rng).backward()
        draws.append([leaf.grad for leaf in leaves])
    draws = np.array(draws, dtype=float)
    return draws.mean(axis=0), draws.std(axis=0, ddof=1) / np.sqrt(replicas)


def test_reverse_kl_pathwise_gradient_matches_closed_form():
    # KL(N(m, s) || N(mp, sp)) = log(sp/s) + (s^2 + (m - mp)^2) / (2 sp^2) - 1/2
    m, s, mp, sp = 0.7, 0.6, -0.5, 1.5
    exact = np.array([(m - mp) / sp ** 2, -1.0 / s + s / sp ** 2])
    mean, stderr = replicate_gradients(
        lambda loc, scale, rng: D.reverse_kl(Normal(mp, sp), Normal(loc, scale), 200, rng),
        [m, s], 60, 14)
    assert np.all(np.abs(mean - exact) <= 5 * stderr), (mean, exact, stderr)


def test_kl_of_a_discrete_law_has_the_score_function_gradient():
    # KL(Cat(softmax theta) || Cat(r)): d/dtheta_j = pi_j (log pi_j - log r_j - KL)
    theta, r = np.array([0.3, -0.5, 1.0]), np.array([0.5, 0.2, 0.3])
    pi = np.exp(theta - logsumexp(theta))
    value = np.sum(pi * np.log(pi / r))
    exact = pi * (np.log(pi / r) - value)
    mean, stderr = replicate_gradients(
        lambda logits, rng: D.kl(Categorical(logits=logits), Categorical(probs=r), 200, rng),
        [theta], 200, 15)
    assert np.all(np.abs(mean[0] - exact) <= 5 * stderr[0]), (mean, exact, stderr)
    assert_within_5se(D.kl(Categorical(logits=theta), Categorical(probs=r), 20_000,
                           np.random.default_rng(16)), value)


# Not a K5 test: K5 states the definition, symmetry and bound, not the gradient.
def test_js_gradient_matches_finite_difference_of_quadrature():
    data = ("normal", 0.0, 1.0)
    h = 1e-4
    exact = (quad_js(data, ("normal", 0.8 + h, 1.4)) - quad_js(data, ("normal", 0.8 - h, 1.4))) / (2 * h)
    mean, stderr = replicate_gradients(
        lambda loc, rng: D.js_divergence(Normal(0.0, 1.0), Normal(loc, 1.4), 200, rng),
        [0.8], 60, 17)
    assert abs(mean[0] - exact) <= 5 * stderr[0], (mean, exact, stderr)


# --------------------------------------------- what each needs (K7) and bad input
class SamplesOnly:
    """A law that can be sampled but has no density."""
    has_rsample = False

    def sample(self, shape=(), rng=None):
        return rng.normal(size=shape)

    def log_prob(self, x):
        raise NotImplementedError("SamplesOnly has no density")


def log_density_only(x):
    return Normal(0.0, 1.0).log_prob(x)


@pytest.mark.claim("K7")
@pytest.mark.parametrize("call, words", [
    # forward KL needs log p of the data
    (lambda rng: D.forward_kl(np.zeros(10), Normal(0., 1.), 10, rng), "cross_entropy"),
    (lambda rng: D.forward_kl(SamplesOnly(), Normal(0., 1.), 10, rng), "log p"),
    # KL needs samples of P (a density alone is not enough)
    (lambda rng: D.kl(log_density_only, Normal(0., 1.), 10, rng), "samples of p"),
    # reverse KL needs rsample of the model and log p of the data
    (lambda rng: D.reverse_kl(Normal(0., 1.), GaussianMixture([.5, .5], [-1., 1.], [1., 1.]),
                              10, rng), "GaussianMixture"),
    (lambda rng: D.reverse_kl(SamplesOnly(), Normal(0., 1.), 10, rng), "log p"),
    (lambda rng: D.reverse_kl(np.zeros(10), Normal(0., 1.), 10, rng), "log p"),
    # cross-entropy needs log q of the model
    (lambda rng: D.cross_entropy(Normal(0., 1.), SamplesOnly(), 10, rng), "log q"),
    # JS needs samples and densities of both
    (lambda rng: D.js_divergence(log_density_only, Normal(0., 1.), 10, rng), "samples of p"),
    (lambda rng: D.js_divergence(Normal(0., 1.), log_density_only, 10, rng), "samples of q"),
    (lambda rng: D.js_divergence(Normal(0., 1.), SamplesOnly(), 10, rng), "log q"),
    # f-divergence needs log p, log q and samples of Q
    (lambda rng: D.f_divergence(SamplesOnly(), Normal(0., 1.), "pearson", 10, rng), "log p"),
    (lambda rng: D.f_divergence(Normal(0., 1.), log_density_only, "pearson", 10, rng),
     "samples of q"),
])
def test_missing_requirement_raises_a_clear_error(call, words):
    with pytest.raises(TypeError, match=words):
        call(np.random.default_rng(0))


@pytest.mark.claim("K7")
def test_what_is_not_needed_may_be_missing():
    rng = np.random.default_rng(18)
    # reverse KL and f-divergences need only log p: a callable density will do
    assert np.isfinite(float(D.reverse_kl(log_density_only, Normal(0.5, 1.0), 10, rng)))
    assert np.isfinite(float(D.f_divergence(log_density_only, Normal(0.5, 1.), "hellinger", 10,
                                            rng)))
    # cross-entropy needs only samples of P: a sampler without density, or an array
    assert np.isfinite(float(D.cross_entropy(SamplesOnly(), Normal(0.5, 1.0), 10, rng)))
    assert np.isfinite(float(D.cross_entropy(rng.normal(size=10), Normal(0.5, 1.0))))


@pytest.mark.parametrize("call, error, words", [
    (lambda: D.kl(Normal(0., 1.), Normal(0., 1.), 1, np.random.default_rng(0)), ValueError, "n"),
    (lambda: D.kl(Normal(0., 1.), Normal(0., 1.), 2.5, np.random.default_rng(0)), ValueError,
     "2.5"),
    (lambda: D.js_divergence(Normal(0., 1.), Normal(0., 1.), 10, 42), TypeError, "Generator"),
    (lambda: D.f_divergence(Normal(0., 1.), Normal(0., 1.), "chi", 10, None), ValueError,
     "hellinger"),
    (lambda: D.f_divergence(Normal(0., 1.), Normal(0., 1.), 3, 10, None), TypeError, "f must"),
    (lambda: D.cross_entropy(np.zeros(5), Normal(0., 1.), n=4), ValueError, "n = 4"),
    (lambda: D.cross_entropy(np.array([0.0, np.nan]), Normal(0., 1.)), ValueError, "finite"),
])
def test_bad_arguments_raise(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_estimate_is_a_tensor_with_a_standard_error():
    estimate = D.kl(Normal(0., 1.), Normal(1., 1.), 100, np.random.default_rng(19))
    assert isinstance(estimate, mg.Tensor) and estimate.n == 100
    assert "n=100" in repr(estimate)
    assert isinstance(float(estimate), float) and estimate.stderr > 0
    # a default generator is drawn when rng is None, as in dpm.distributions
    assert np.isfinite(float(D.kl(Normal(0., 1.), Normal(1., 1.), 100, None)))
