"""MultivariateNormal and DiagonalNormal against scipy.stats.multivariate_normal.

log_prob and entropy equal scipy's for full, factor and diagonal
parameterizations, batched and broadcasting; draws follow the law (KS tests
on projections a^T x ~ N(a^T mu, a^T Sigma a) and on the squared Mahalanobis
distance ~ chi^2_d); gradients match finite differences; bad covariances
raise ValueError naming the argument.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import minigrad as mg
from dpm.distributions import DiagonalNormal, MultivariateNormal, Normal


def random_spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.5 * np.eye(d)


@pytest.mark.parametrize("d", [1, 2, 4])
@pytest.mark.parametrize("form", ["covariance_matrix", "scale_tril"])
def test_log_prob_and_entropy_match_scipy(d, form):
    rng = np.random.default_rng(d)
    mu, sigma = rng.normal(size=d), random_spd(rng, d)
    given = sigma if form == "covariance_matrix" else np.linalg.cholesky(sigma)
    dist = MultivariateNormal(mu, **{form: given})
    law = stats.multivariate_normal(mu, sigma)
    x = rng.normal(size=(6, d)) * 2
    np.testing.assert_allclose(dist.log_prob(x).data, law.logpdf(x), rtol=1e-12)
    assert dist.log_prob(x[0]).shape == ()
    assert dist.entropy().item() == pytest.approx(law.entropy(), rel=1e-12)
    np.testing.assert_allclose(dist.covariance_matrix.data, sigma, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dist.variance.data, np.diag(sigma), rtol=1e-12)
    np.testing.assert_array_equal(dist.mean.data, mu)


def test_batched_parameters_broadcast():
    rng = np.random.default_rng(0)
    d = 3
    mus = rng.normal(size=(4, 1, d))                          # loc batch (4, 1)
    sigmas = np.stack([random_spd(rng, d) for _ in range(5)])  # matrix batch (5,)
    dist = MultivariateNormal(mus, covariance_matrix=sigmas)
    assert dist.batch_shape == (4, 5) and dist.event_shape == (d,)
    x = rng.normal(size=(7, 1, 1, d))
    log_p = dist.log_prob(x).data
    assert log_p.shape == (7, 4, 5)
    for i in range(4):
        for j in range(5):
            expected = stats.multivariate_normal(mus[i, 0], sigmas[j]).logpdf(x[:, 0, 0])
            np.testing.assert_allclose(log_p[:, i, j], expected, rtol=1e-12)
    entropies = [stats.multivariate_normal(mus[0, 0], s).entropy() for s in sigmas]
    np.testing.assert_allclose(dist.entropy().data, np.broadcast_to(entropies, (4, 5)), rtol=1e-12)
    assert dist.sample((2,), rng).shape == (2, 4, 5, d)


# (loc shape, factor batch, x shape): size-1 batch axes broadcast both ways, as torch does.
SIZE_ONE_CASES = [((2,), (1,), (3, 2)),            # covariance batch (1,), x (3, 2)
                  ((2,), (2, 1), (2, 3, 2)),       # scale_tril batch (2, 1), x (2, 3, 2)
                  ((1, 2), (3,), (4, 1, 2)),       # loc batch (1,), factors (3,), x sample (4, 1)
                  ((2, 1, 2), (1, 3), (5, 1, 1, 2))]


@pytest.mark.parametrize("loc_shape, factor_batch, x_shape", SIZE_ONE_CASES)
@pytest.mark.parametrize("form", ["covariance_matrix", "scale_tril"])
def test_log_prob_broadcasts_against_size_one_batch_axes(loc_shape, factor_batch, x_shape, form):
    rng = np.random.default_rng(sum(x_shape))
    d = loc_shape[-1]
    loc = rng.normal(size=loc_shape)
    sigmas = np.array([random_spd(rng, d) for _ in range(int(np.prod(factor_batch)))])
    sigmas = sigmas.reshape(factor_batch + (d, d))
    given = sigmas if form == "covariance_matrix" else np.linalg.cholesky(sigmas)
    dist = MultivariateNormal(loc, **{form: given})
    x = rng.normal(size=x_shape)
    log_p = dist.log_prob(x).data
    out = np.broadcast_shapes(x_shape[:-1], loc_shape[:-1], factor_batch)
    assert log_p.shape == out
    x_full = np.broadcast_to(x, out + (d,))
    loc_full = np.broadcast_to(loc, out + (d,))
    sigma_full = np.broadcast_to(sigmas, out + (d, d))
    for index in np.ndindex(*out):
        expected = stats.multivariate_normal(loc_full[index], sigma_full[index]).logpdf(
            x_full[index])
        assert log_p[index] == pytest.approx(expected, rel=1e-12)


def _kl_textbook(m1, s1, m2, s2):
    gap = m2 - m1
    return 0.5 * (np.trace(np.linalg.solve(s2, s1)) + gap @ np.linalg.solve(s2, gap) - len(m1)
                  + np.linalg.slogdet(s2)[1] - np.linalg.slogdet(s1)[1])


@pytest.mark.claim("K3")
def test_kl_broadcasts_against_size_one_batch_axes():
    from dpm.kl import kl_divergence
    rng = np.random.default_rng(14)
    d = 2
    loc_p, loc_q = rng.normal(size=(3, d)), rng.normal(size=(1, d))
    cov_p = np.array([random_spd(rng, d) for _ in range(3)]).reshape(3, 1, d, d)[:, 0]
    cov_q = random_spd(rng, d)[None]                        # batch (1,)
    p = MultivariateNormal(loc_p, covariance_matrix=cov_p)
    q = MultivariateNormal(loc_q, covariance_matrix=cov_q)
    kl = kl_divergence(p, q).data
    assert kl.shape == (3,)
    for i in range(3):
        assert kl[i] == pytest.approx(_kl_textbook(loc_p[i], cov_p[i], loc_q[0], cov_q[0]),
                                      rel=1e-12)
    # factors of batch (2, 1) against (1, 3): the KL has batch (2, 3)
    cov_a = np.array([random_spd(rng, d) for _ in range(2)])[:, None]
    cov_b = np.array([random_spd(rng, d) for _ in range(3)])[None]
    a = MultivariateNormal(np.zeros(d), scale_tril=np.linalg.cholesky(cov_a))
    b = MultivariateNormal(np.ones(d), covariance_matrix=cov_b)
    kl = kl_divergence(a, b).data
    assert kl.shape == (2, 3)
    for i, j in np.ndindex(2, 3):
        assert kl[i, j] == pytest.approx(_kl_textbook(np.zeros(d), cov_a[i, 0], np.ones(d),
                                                      cov_b[0, j]), rel=1e-12)


def test_one_dimensional_case_is_the_normal():
    dist = MultivariateNormal(np.array([0.5]), covariance_matrix=np.array([[4.0]]))
    x = np.linspace(-3, 3, 7)[:, None]
    # against scipy's univariate normal (variance 4: sd 2), then our Normal agrees too
    np.testing.assert_allclose(dist.log_prob(x).data, stats.norm(0.5, 2.0).logpdf(x[:, 0]),
                               rtol=1e-13)
    np.testing.assert_allclose(dist.log_prob(x).data, Normal(0.5, 2.0).log_prob(x[:, 0]).data,
                               rtol=1e-13)


@pytest.mark.claim("M2")
@pytest.mark.parametrize("method", ["sample", "rsample"])
def test_draws_follow_the_law(method):
    rng = np.random.default_rng(11)
    d = 3
    mu, sigma = rng.normal(size=d), random_spd(rng, d)
    dist = MultivariateNormal(mu, covariance_matrix=sigma)
    draws = getattr(dist, method)((4000,), np.random.default_rng(12))
    draws = draws.data if isinstance(draws, mg.Tensor) else draws
    assert draws.shape == (4000, d)
    for a in [np.eye(d)[0], np.eye(d)[2], rng.normal(size=d)]:
        law = stats.norm(a @ mu, np.sqrt(a @ sigma @ a))
        assert stats.kstest(draws @ a, law.cdf).pvalue > 1e-3
    centred = draws - mu
    mahalanobis = np.einsum("ni,ij,nj->n", centred, np.linalg.inv(sigma), centred)
    assert stats.kstest(mahalanobis, stats.chi2(d).cdf).pvalue > 1e-3


def test_same_seed_same_numbers():
    dist = MultivariateNormal(np.zeros(2), scale_tril=np.array([[1.0, 0.0], [0.5, 2.0]]))
    a = dist.sample((5,), np.random.default_rng(1))
    np.testing.assert_array_equal(a, dist.sample((5,), np.random.default_rng(1)))
    np.testing.assert_array_equal(a, dist.rsample((5,), np.random.default_rng(1)).data)


def test_log_prob_gradcheck():
    rng = np.random.default_rng(2)
    mu, x = rng.normal(size=3), rng.normal(size=(2, 3))
    L = np.linalg.cholesky(random_spd(rng, 3))
    lower = np.tril(np.ones((3, 3)))

    def with_factor(loc, raw_factor, value):
        # Only the lower triangle is a parameter: mask the perturbations above it.
        return MultivariateNormal(loc, scale_tril=raw_factor * lower).log_prob(value)

    def with_covariance(loc, raw_covariance, value):
        return MultivariateNormal(loc, covariance_matrix=(raw_covariance + raw_covariance.T) * 0.5
                                  ).log_prob(value)
    assert mg.gradcheck(with_factor, [mu, L, x])
    assert mg.gradcheck(with_covariance, [mu, L @ L.T, x])


def test_log_prob_gradient_in_loc_is_the_precision_times_the_residual():
    # d/dmu log N(x; mu, Sigma) = Sigma^{-1} (x - mu)
    rng = np.random.default_rng(3)
    sigma, x = random_spd(rng, 3), rng.normal(size=3)
    loc = mg.Tensor(np.zeros(3), requires_grad=True)
    MultivariateNormal(loc, covariance_matrix=sigma).log_prob(x).backward()
    np.testing.assert_allclose(loc.grad, np.linalg.solve(sigma, x), rtol=1e-12)


def test_diagonal_normal_matches_independent_normals_and_scipy():
    rng = np.random.default_rng(4)
    mu, s = rng.normal(size=(2, 3)), rng.uniform(0.5, 2.0, size=3)
    dist = DiagonalNormal(mu, s)
    assert dist.batch_shape == (2,) and dist.event_shape == (3,)
    x = rng.normal(size=(5, 2, 3))
    expected = stats.norm(mu, s).logpdf(x).sum(axis=-1)
    np.testing.assert_allclose(dist.log_prob(x).data, expected, rtol=1e-12)
    np.testing.assert_allclose(dist.to_multivariate().log_prob(x).data, expected, rtol=1e-12)
    np.testing.assert_allclose(dist.entropy().data,
                               stats.multivariate_normal(mu[0], np.diag(s ** 2)).entropy())
    np.testing.assert_allclose(dist.variance.data, np.broadcast_to(s ** 2, (2, 3)))
    draws = dist.sample((3000,), np.random.default_rng(5))
    assert draws.shape == (3000, 2, 3)
    assert stats.kstest(draws[:, 1, 2], stats.norm(mu[1, 2], s[2]).cdf).pvalue > 1e-3
    assert mg.gradcheck(lambda m, sc, v: DiagonalNormal(m, sc).log_prob(v), [mu, s, x[:2]])


BAD = [
    (dict(loc=np.zeros(2), covariance_matrix=np.array([[1.0, 0.5], [0.0, 1.0]])), "symmetric"),
    (dict(loc=np.zeros(2), covariance_matrix=np.array([[1.0, 2.0], [2.0, 1.0]])),
     "(?s)positive definite.*smallest eigenvalue -1"),
    (dict(loc=np.zeros(2), covariance_matrix=np.array([[1.0, np.nan], [np.nan, 1.0]])),
     "covariance_matrix must be finite"),
    (dict(loc=np.zeros(2), scale_tril=np.array([[1.0, 0.3], [0.0, 1.0]])), "lower-triangular"),
    (dict(loc=np.zeros(2), scale_tril=np.array([[1.0, 0.0], [0.3, -1.0]])), "positive diagonal"),
    (dict(loc=np.zeros(3), covariance_matrix=np.eye(2)), r"loc must have shape \(\.\.\., 2\)"),
    (dict(loc=np.zeros(2), covariance_matrix=np.ones(2)), "square"),
    (dict(loc=np.zeros(2)), "exactly one"),
    (dict(loc=np.zeros(2), covariance_matrix=np.eye(2), scale_tril=np.eye(2)), "exactly one"),
    (dict(loc=np.zeros((3, 2)), covariance_matrix=np.stack([np.eye(2)] * 4)), "do not broadcast"),
    (dict(loc=np.array([0.0, np.inf]), covariance_matrix=np.eye(2)), "loc must be finite"),
]


@pytest.mark.parametrize("kwargs,message", BAD, ids=[m.split(".")[0] for _, m in BAD])
def test_bad_parameters_raise_value_error_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultivariateNormal(**kwargs)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\)"):
        MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2)).log_prob(np.zeros(3))
    with pytest.raises(ValueError, match="scale must be > 0"):
        DiagonalNormal(np.zeros(2), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="event"):
        DiagonalNormal(0.0, 1.0)
