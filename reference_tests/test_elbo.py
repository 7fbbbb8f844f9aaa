"""ELBO, IWAE and importance-sampled log-evidence (V1, V8) on conjugate models.

Oracles: Normal-Normal (z ~ N(0, 1), x | z ~ N(z, s^2)) with its exact
posterior and evidence in closed form; Gamma-Poisson with the evidence and
KL(q || posterior) by scipy.integrate.quad; IWAE_2 by 2-D quadrature;
analytic ELBO gradients (Normal-Normal) and central differences of the
closed-form ELBO (Gamma-Poisson) for the pathwise and score-function paths.
Every reported standard error is checked against the spread of independent
replicas (a batch of identical data points gives independent estimates).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
from scipy import integrate

import minigrad as mg
from minigrad._numba import NUMBA_ENABLED
from minigrad import Tensor
from dpm.distributions import Gamma, Normal
from dpm.vi import _iwae_kernels as ik
from dpm.vi.elbo import elbo, iwae, log_evidence, log_mean_exp

NOISE = 0.8                                   # s, the likelihood's sd


def log_joint_normal(x):
    """z ~ N(0, 1), x | z ~ N(z, NOISE^2): log p(x, z) for draws z (..., B)."""
    return lambda z: Normal(0.0, 1.0).log_prob(z) + Normal(z, NOISE).log_prob(x)


def posterior(x):
    var = NOISE ** 2 / (1 + NOISE ** 2)
    return x / (1 + NOISE ** 2), np.sqrt(var)


def log_evidence_exact(x):
    return st.norm(0, np.sqrt(1 + NOISE ** 2)).logpdf(x)


def kl_normal(m1, s1, m2, s2):
    return np.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5


def spread_matches(values, stderr, replicas):
    """Reported stderr^2 (mean over replicas) against the variance of the replicas' values.

    The sample variance of R values has relative s.e. sqrt(2 / (R - 1)) (near-normal
    values); 5 of those is the tolerance.
    """
    ratio = np.var(values, ddof=1) / np.mean(np.square(stderr))
    return abs(ratio - 1) <= 5 * np.sqrt(2 / (replicas - 1)), ratio


class ScoreNormal(Normal):
    """A Normal that hides its rsample, so the ELBO takes the score-function path."""
    has_rsample = False

    def sample(self, shape=(), rng=None):
        with mg.no_grad():
            return Normal.rsample(self, shape, rng).data


# ------------------------------------------------------------------ V1
@pytest.mark.claim("V1")
def test_elbo_at_posterior_is_log_evidence_with_zero_spread():
    x = np.array([-1.5, 0.2, 2.4])
    loc, scale = posterior(x)
    bound = elbo(log_joint_normal(x), Normal(loc, scale), n=64, rng=np.random.default_rng(0))
    np.testing.assert_allclose(bound.data, log_evidence_exact(x), rtol=0, atol=1e-12)
    assert np.all(bound.stderr < 1e-13) and bound.n == 64


@pytest.mark.claim("V1")
def test_elbo_gap_is_kl_to_posterior():
    x = np.array([-1.5, 0.2, 2.4, 1.0])
    loc, scale = posterior(x)
    q_loc, q_scale = loc + np.array([0.5, -1.0, 0.3, 0.0]), scale * np.array([1.0, 0.5, 2.0, 1.4])
    bound = elbo(log_joint_normal(x), Normal(q_loc, q_scale), n=4000,
                 rng=np.random.default_rng(1))
    gap = log_evidence_exact(x) - bound.data
    kl = kl_normal(q_loc, q_scale, loc, scale)
    assert np.all(np.abs(gap - kl) <= 5 * bound.stderr), (gap, kl, bound.stderr)
    assert np.all(bound.data < log_evidence_exact(x))


@pytest.mark.claim("V1")
def test_elbo_stderr_matches_replica_spread():
    replicas = 400
    x = np.full(replicas, 1.3)
    loc, scale = posterior(x)
    bound = elbo(log_joint_normal(x), Normal(loc + 0.7, scale * 1.5), n=25,
                 rng=np.random.default_rng(2))
    ok, ratio = spread_matches(bound.data, bound.stderr, replicas)
    assert ok, ratio


def gamma_poisson(counts, a=2.0, b=0.5):
    counts = np.asarray(counts, dtype=float)

    def log_joint(z):
        z = mg.as_tensor(z)
        log_lik = sum(c * mg.log(z) - z - sp.gammaln(c + 1) for c in counts)
        return Gamma(a, b).log_prob(z) + log_lik

    def log_joint_np(z):
        return st.gamma(a, scale=1 / b).logpdf(z) + st.poisson(z).logpmf(counts[:, None]).sum(0)

    evidence = integrate.quad(lambda z: np.exp(log_joint_np(np.array([z]))[0]), 0, np.inf,
                              epsabs=0, epsrel=1e-12, limit=200)[0]
    return log_joint, log_joint_np, np.log(evidence), (a + counts.sum(), b + len(counts))


def kl_quad(q, p):
    """KL(q || p) for two scipy frozen laws on (0, inf) by quadrature."""
    return integrate.quad(lambda z: q.pdf(z) * (q.logpdf(z) - p.logpdf(z)), 0, np.inf,
                          epsabs=1e-13, limit=200)[0]


@pytest.mark.claim("V1")
def test_gamma_poisson_exact_posterior_and_gap():
    log_joint, _, log_p, (a_post, b_post) = gamma_poisson([3, 5, 2, 4])
    # the evidence by quadrature against the closed form of the negative binomial family
    closed = (2.0 * np.log(0.5) - sp.gammaln(2.0) + sp.gammaln(a_post) - a_post * np.log(b_post)
              - sp.gammaln(np.array([3, 5, 2, 4]) + 1.0).sum())
    assert abs(log_p - closed) < 1e-10
    rng = np.random.default_rng(3)
    exact = elbo(log_joint, Gamma(np.full(3, a_post), np.full(3, b_post)), n=50, rng=rng)
    np.testing.assert_allclose(exact.data, log_p, rtol=0, atol=1e-10)
    assert np.all(exact.stderr < 1e-11)
    shapes, rates = np.array([10.0, 30.0, 16.0]), np.array([2.0, 9.0, 3.0])
    bound = elbo(log_joint, Gamma(shapes, rates), n=20000, rng=rng)
    post = st.gamma(a_post, scale=1 / b_post)
    kl = np.array([kl_quad(st.gamma(s, scale=1 / r), post) for s, r in zip(shapes, rates)])
    assert np.all(np.abs(log_p - bound.data - kl) <= 5 * bound.stderr), (log_p - bound.data, kl)


# ------------------------------------------------------------------ gradients
def replicated_grads(guide_cls, loc, scale, x, n, replicas, rng):
    """Per-replica ELBO gradients in (loc, scale): independent, so mean and s.e. across them."""
    loc_t = Tensor(np.full(replicas, loc), requires_grad=True)
    scale_t = Tensor(np.full(replicas, scale), requires_grad=True)
    bound = elbo(log_joint_normal(np.full(replicas, x)), guide_cls(loc_t, scale_t), n=n, rng=rng)
    bound.sum().backward()
    out = []
    for g in (loc_t.grad, scale_t.grad):
        out.append((g.mean(), g.std(ddof=1) / np.sqrt(replicas)))
    return out


@pytest.mark.claim("V1", "M6")
@pytest.mark.parametrize("guide_cls", [Normal, ScoreNormal], ids=["pathwise", "score"])
def test_elbo_gradient_unbiased(guide_cls):
    x, m, s = 1.1, -0.4, 0.7
    analytic = (-m + (x - m) / NOISE ** 2, -s - s / NOISE ** 2 + 1 / s)
    estimates = replicated_grads(guide_cls, m, s, x, n=8, replicas=4000,
                                 rng=np.random.default_rng(4))
    for (mean, stderr), truth in zip(estimates, analytic):
        assert abs(mean - truth) <= 5 * stderr, (guide_cls.__name__, mean, truth, stderr)
        assert stderr > 0


@pytest.mark.claim("V1")
def test_gamma_score_function_gradient_matches_closed_form():
    log_joint, _, log_p, (a_post, b_post) = gamma_poisson([3, 5, 2, 4])
    shape, rate, replicas = 12.0, 3.0, 3000

    def closed_elbo(alpha, beta):        # log p(x) - KL(Gamma(alpha, beta) || posterior)
        kl = ((alpha - a_post) * sp.digamma(alpha) - sp.gammaln(alpha) + sp.gammaln(a_post)
              + a_post * (np.log(beta) - np.log(b_post)) + alpha * (b_post - beta) / beta)
        return log_p - kl

    h = 1e-6
    analytic = ((closed_elbo(shape + h, rate) - closed_elbo(shape - h, rate)) / (2 * h),
                (closed_elbo(shape, rate + h) - closed_elbo(shape, rate - h)) / (2 * h))
    alpha = Tensor(np.full(replicas, shape), requires_grad=True)
    beta = Tensor(np.full(replicas, rate), requires_grad=True)
    elbo(log_joint, Gamma(alpha, beta), n=16, rng=np.random.default_rng(5)).sum().backward()
    for grad, truth in zip((alpha.grad, beta.grad), analytic):
        stderr = grad.std(ddof=1) / np.sqrt(replicas)
        assert abs(grad.mean() - truth) <= 5 * stderr, (grad.mean(), truth, stderr)


# ------------------------------------------------------------------ V8
def iwae_two_by_quadrature(x, q_loc, q_scale, nodes=240):
    """E_{z1, z2 ~ q} log((w1 + w2) / 2) by 2-D Gauss-Legendre quadrature on +-10 sd.

    The integrand is smooth and the q-mass outside the box is ~1e-23, so the
    rule is exact to ~1e-12 (checked: 160 and 240 nodes agree to that).
    """
    q = st.norm(q_loc, q_scale)
    t, weights = np.polynomial.legendre.leggauss(nodes)
    z, weights = q_loc + 10 * q_scale * t, 10 * q_scale * weights
    log_w = st.norm.logpdf(z) + st.norm.logpdf(x, z, NOISE) - q.logpdf(z)
    mass = weights * q.pdf(z)
    pair = np.logaddexp(log_w[:, None], log_w[None, :]) - np.log(2)
    return float(mass @ pair @ mass)


@pytest.mark.claim("V8")
def test_iwae_rises_with_k_to_log_evidence():
    x = 1.3
    loc, scale = posterior(x)
    q_loc, q_scale = loc + 0.6, scale * 1.3
    log_p = log_evidence_exact(x)
    rng = np.random.default_rng(6)
    ks = [1, 2, 8, 64, 512]
    bounds = [iwae(log_joint_normal(np.array([x])), Normal(np.array([q_loc]), q_scale), k=k,
                   n=max(200, 80000 // k), rng=rng) for k in ks]
    values = np.array([float(b.data[0]) for b in bounds])
    errors = np.array([float(b.stderr[0]) for b in bounds])
    # k = 1 is the ELBO: log p - KL(q || posterior)
    assert abs(values[0] - (log_p - kl_normal(q_loc, q_scale, loc, scale))) <= 5 * errors[0]
    assert abs(values[1] - iwae_two_by_quadrature(x, q_loc, q_scale)) <= 5 * errors[1]
    steps = np.diff(values)
    assert np.all(steps >= -5 * np.hypot(errors[1:], errors[:-1]))
    assert np.all(values <= log_p + 5 * errors)
    # the gap falls like Var_q(w / p(x)) / (2k) (delta method): chi^2(posterior || q) / 2k
    post, q = st.norm(loc, scale), st.norm(q_loc, q_scale)
    chi2 = integrate.quad(lambda z: np.exp(2 * post.logpdf(z) - q.logpdf(z)),
                          loc - 12 * scale, loc + 12 * scale, epsabs=1e-13)[0] - 1
    assert abs((log_p - values[-1]) - chi2 / (2 * ks[-1])) <= 5 * errors[-1]
    assert log_p - values[-1] < 0.05 * (log_p - values[0])


@pytest.mark.claim("V8")
def test_iwae_stderr_and_log_evidence_against_replicas():
    replicas = 300
    x = np.full(replicas, -0.9)
    loc, scale = posterior(x)
    guide = Normal(loc - 0.4, scale * 1.2)
    bound = iwae(log_joint_normal(x), guide, k=16, n=20, rng=np.random.default_rng(7))
    ok, ratio = spread_matches(bound.data, bound.stderr, replicas)
    assert ok, ratio
    evidence = log_evidence(log_joint_normal(x), guide, n=400, rng=np.random.default_rng(8))
    ok, ratio = spread_matches(evidence.data, evidence.stderr, replicas)
    assert ok, ratio
    # consistent: the replicas' average is log p(x) within its own standard error
    # (the O(1/n) bias, about chi^2 / (2n) ~ 1e-4, is far below it)
    mean_stderr = np.sqrt(np.mean(np.square(evidence.stderr)) / replicas)
    assert abs(evidence.data.mean() - log_evidence_exact(-0.9)) <= 5 * mean_stderr


@pytest.mark.claim("V8")
def test_iwae_gradient_path_equals_kernel_path():
    x = np.array([0.3, -1.0])
    loc = Tensor(np.array([0.1, -0.2]), requires_grad=True)
    guide = Normal(loc, np.array([0.9, 0.8]))
    with_graph = iwae(log_joint_normal(x), guide, k=50, n=4, rng=np.random.default_rng(9))
    with mg.no_grad():
        without = iwae(log_joint_normal(x), guide, k=50, n=4, rng=np.random.default_rng(9))
    np.testing.assert_allclose(with_graph.data, without.data, rtol=1e-13)
    with_graph.sum().backward()
    assert loc.grad is not None and np.all(np.isfinite(loc.grad))


@pytest.mark.claim("V8")
@pytest.mark.skipif(not NUMBA_ENABLED, reason="Numba is off (MINIGRAD_DISABLE_NUMBA)")
def test_log_mean_exp_kernel_matches_twin_and_scipy():
    rng = np.random.default_rng(10)
    values = rng.normal(size=(3, 3000, 40)) * 30
    values[0, :, 3] = -np.inf
    values[1, 5, 4] = np.inf
    values[2, 9, 5] = np.nan
    values[0, 50:, 6] = -np.inf
    ours, twin = ik.log_mean_exp_numba(values), ik.log_mean_exp_numpy(values)
    np.testing.assert_allclose(ours, twin, rtol=1e-13)
    assert np.isneginf(ours[0, 3]) and ours[1, 4] == np.inf and np.isnan(ours[2, 5])
    clean = values[:, :, 7:]
    np.testing.assert_allclose(ours[:, 7:], sp.logsumexp(clean, axis=1) - np.log(3000),
                               rtol=1e-13)
    np.testing.assert_allclose(log_mean_exp(Tensor(values[0, :, 7:]), axis=0).data,
                               sp.logsumexp(values[0, :, 7:], axis=0) - np.log(3000), rtol=1e-13)


def test_bad_input():
    x = np.array([0.5])
    guide = Normal(0.0 * x, 1.0 + 0 * x)
    with pytest.raises(ValueError, match="n must"):
        elbo(log_joint_normal(x), guide, n=0)
    with pytest.raises(ValueError, match="k must"):
        iwae(log_joint_normal(x), guide, k=0)
    with pytest.raises(ValueError, match="n must"):
        log_evidence(log_joint_normal(x), guide, n=1)
    with pytest.raises(ValueError, match="shape"):
        elbo(lambda z: z[..., None] * np.ones(2), guide, n=3)


@pytest.mark.claim("V8", "M6")
def test_iwae_score_function_gradient_matches_pathwise():
    """Both estimate d IWAE_k / d(loc, scale): their replica means agree within 5 s.e."""
    x, m, s, k, replicas = 0.9, 0.2, 0.8, 4, 3000
    means = {}
    for guide_cls in (Normal, ScoreNormal):
        loc = Tensor(np.full(replicas, m), requires_grad=True)
        scale = Tensor(np.full(replicas, s), requires_grad=True)
        bound = iwae(log_joint_normal(np.full(replicas, x)), guide_cls(loc, scale), k=k, n=4,
                     rng=np.random.default_rng(11))
        bound.sum().backward()
        means[guide_cls] = [(g.mean(), g.std(ddof=1) / np.sqrt(replicas))
                            for g in (loc.grad, scale.grad)]
    for (path, path_se), (score, score_se) in zip(means[Normal], means[ScoreNormal]):
        assert abs(path - score) <= 5 * np.hypot(path_se, score_se), (path, score)
    # the gradient is not the ELBO's: at k = 4 it differs from the k = 1 analytic value
    elbo_grad_loc = -m + (x - m) / NOISE ** 2
    path, path_se = means[Normal][0]
    assert abs(path - elbo_grad_loc) > 5 * path_se
