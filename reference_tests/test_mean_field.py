"""Mean-field fits of a Gaussian: reverse KL by CAVI (V2), forward KL by moments (V3).

Oracles: the conditional variance by the Schur complement (no precision
matrix), the general Gaussian KL formula written here, scipy.optimize on the
closed-form objectives, and a Monte Carlo ELBO with scipy.stats densities.
"""
import numpy as np
import pytest
from scipy import optimize, stats

from dpm import kl_divergence
from dpm.distributions import DiagonalNormal, MultivariateNormal
from dpm.vi import cavi, gaussian_cavi, gaussian_forward_kl, reverse_kl_sgd
from dpm.vi.mean_field import factorized, gaussian_target

# The lecture's example (004, II.1).
MU = np.array([0.0, 1.0])
SIGMA = np.array([[1.0, 0.9], [0.9, 1.0]])


def kl_mvn(mean0, cov0, mean1, cov1):
    """KL(N(mean0, cov0) || N(mean1, cov1)), the textbook formula with solves."""
    d = len(mean0)
    gap = mean1 - mean0
    trace = np.trace(np.linalg.solve(cov1, cov0))
    mahalanobis = gap @ np.linalg.solve(cov1, gap)
    logdet = np.linalg.slogdet(cov1)[1] - np.linalg.slogdet(cov0)[1]
    return 0.5 * (trace + mahalanobis - d + logdet)


def conditional_variances(cov):
    """Var(x_j | x_-j) = Sigma_jj - Sigma_j,-j Sigma_-j,-j^{-1} Sigma_-j,j (Schur complement)."""
    d = len(cov)
    out = np.empty(d)
    for j in range(d):
        rest = np.arange(d) != j
        out[j] = cov[j, j] - cov[j, rest] @ np.linalg.solve(cov[np.ix_(rest, rest)], cov[rest, j])
    return out


def random_gaussian(rng, d):
    factor = rng.normal(size=(d, d))
    return rng.normal(size=d), factor @ factor.T + 0.5 * np.eye(d)


@pytest.mark.claim("V2")
def test_gaussian_cavi_lecture_example_variance_019():
    fit = gaussian_cavi(MU, SIGMA)
    assert fit.converged
    # 1 / Lambda_jj = 1 - 0.9^2 = 0.19, to rounding (lecture 004: 0.19).
    np.testing.assert_allclose(fit.variances, [0.19, 0.19], rtol=1e-12)
    np.testing.assert_allclose(fit.variances, conditional_variances(SIGMA), rtol=1e-12)
    # Stopping rule: a sweep moved each mean by <= 1e-12 sd; the error is at
    # most that over (1 - 0.81), far below 1e-9.
    np.testing.assert_allclose(fit.means, MU, atol=1e-9)


@pytest.mark.claim("V2")
def test_gaussian_cavi_elbo_never_decreases_and_is_minus_kl():
    fit = gaussian_cavi(MU, SIGMA, init=([5.0, -4.0], [3.0, 0.1]))
    trace = np.array(fit.elbo_trace)
    assert len(trace) == 1 + 2 * fit.iterations
    assert np.all(np.diff(trace) >= -1e-14 * np.abs(trace[1:]))
    assert trace[-1] > trace[0] + 1.0  # it did climb from a poor start
    # At the optimum KL(q* || p) = -1/2 log(0.19) (the log-ratio of the
    # determinants: prod of conditional variances over det Sigma).
    np.testing.assert_allclose(fit.elbo[-1], -kl_mvn(fit.means, np.diag(fit.variances), MU, SIGMA),
                               rtol=1e-12)
    np.testing.assert_allclose(fit.elbo[-1], 0.5 * np.log(0.19), rtol=1e-12)


@pytest.mark.claim("V2")
def test_elbo_formula_matches_monte_carlo_with_scipy_densities():
    rng = np.random.default_rng(20240601)
    means, variances = np.array([0.3, 0.4]), np.array([0.5, 0.2])
    n = 200_000
    x = means + np.sqrt(variances) * rng.standard_normal((n, 2))
    log_ratio = (stats.multivariate_normal(MU, SIGMA).logpdf(x)
                 - stats.norm(means, np.sqrt(variances)).logpdf(x).sum(axis=1))
    estimate, stderr = log_ratio.mean(), log_ratio.std(ddof=1) / np.sqrt(n)
    elbo = -kl_divergence(factorized(means, variances), gaussian_target(MU, SIGMA)).item()
    assert abs(elbo - estimate) <= 5 * stderr


@pytest.mark.claim("V2")
def test_gaussian_cavi_is_the_minimiser_in_four_dimensions():
    rng = np.random.default_rng(7)
    mean, cov = random_gaussian(rng, 4)
    fit = gaussian_cavi(mean, cov, iters=5000)
    assert fit.converged
    np.testing.assert_allclose(fit.variances, conditional_variances(cov), rtol=1e-10)
    np.testing.assert_allclose(fit.means, mean, atol=1e-8 * np.sqrt(np.diag(cov)).max())

    # An independent optimiser on the test's own KL formula lands there too.
    def objective(theta):
        return kl_mvn(theta[:4], np.diag(np.exp(theta[4:])), mean, cov)
    best = optimize.minimize(objective, np.zeros(8), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(best.x[:4], fit.means, atol=1e-5)
    np.testing.assert_allclose(np.exp(best.x[4:]), fit.variances, rtol=1e-5)
    assert objective(np.r_[fit.means, np.log(fit.variances)]) <= best.fun + 1e-12


@pytest.mark.claim("V3")
def test_forward_kl_factors_are_the_marginals():
    q = gaussian_forward_kl(MU, SIGMA)
    np.testing.assert_array_equal(q.means, MU)
    np.testing.assert_array_equal(q.variances, [1.0, 1.0])  # lecture 004: variance 1

    rng = np.random.default_rng(3)
    mean, cov = random_gaussian(rng, 3)
    q = gaussian_forward_kl(mean, cov)

    def objective(theta):
        return kl_mvn(mean, cov, theta[:3], np.diag(np.exp(theta[3:])))
    best = optimize.minimize(objective, np.zeros(6), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(best.x[:3], q.means, atol=1e-5)
    np.testing.assert_allclose(np.exp(best.x[3:]), q.variances, rtol=1e-5)


@pytest.mark.claim("V3", "V2")
def test_each_fit_wins_its_own_divergence():
    reverse = gaussian_cavi(MU, SIGMA)
    forward = gaussian_forward_kl(MU, SIGMA)
    kl_q_p = {name: kl_mvn(q.means, np.diag(q.variances), MU, SIGMA)
              for name, q in (("reverse", reverse), ("forward", forward))}
    kl_p_q = {name: kl_mvn(MU, SIGMA, q.means, np.diag(q.variances))
              for name, q in (("reverse", reverse), ("forward", forward))}
    assert kl_q_p["reverse"] < kl_q_p["forward"]
    assert kl_p_q["forward"] < kl_p_q["reverse"]
    # The fits are Distributions: kl_divergence of their q agrees with the textbook formula.
    target = gaussian_target(MU, SIGMA)
    for name, q in (("reverse", reverse), ("forward", forward)):
        np.testing.assert_allclose(kl_divergence(q.q, target).item(), kl_q_p[name], rtol=1e-12)
        np.testing.assert_allclose(kl_divergence(target, q.q).item(), kl_p_q[name], rtol=1e-12)
    # Reverse KL under-covers: every factor is narrower than the marginal.
    assert np.all(reverse.variances < forward.variances)


@pytest.mark.claim("V2")
def test_reverse_kl_sgd_lands_on_the_cavi_answer():
    fit = reverse_kl_sgd(MU, SIGMA, steps=1500, lr=0.05, n=32, replicas=16,
                         rng=np.random.default_rng(11))
    exact = gaussian_cavi(MU, SIGMA)
    # Standard errors from 16 independent replicas (the spread of their
    # Polyak averages); the bias of the decaying step size is well below them.
    assert np.all(np.abs(fit.means - exact.means) <= 5 * fit.means_stderr)
    assert np.all(np.abs(fit.variances - exact.variances) <= 5 * fit.variances_stderr)
    # The errors are small in absolute terms too: the fit is informative.
    assert np.all(fit.variances_stderr < 0.01) and np.all(fit.means_stderr < 0.01)


@pytest.mark.claim("V2", "V3")
def test_fits_are_diagonal_normals_of_the_factor_moments():
    fits = [gaussian_cavi(MU, SIGMA), gaussian_forward_kl(MU, SIGMA),
            reverse_kl_sgd(MU, SIGMA, steps=20, replicas=2, rng=np.random.default_rng(0))]
    for fit in fits:
        assert isinstance(fit.q, DiagonalNormal) and fit.q.event_shape == (2,)
        np.testing.assert_array_equal(fit.q.mean.data, fit.means)
        np.testing.assert_allclose(fit.q.variance.data, fit.variances, rtol=1e-15)
        x = np.array([[0.3, -0.2], [1.0, 2.0]])
        expected = stats.norm(fit.means, fit.stddevs).logpdf(x).sum(axis=1)
        np.testing.assert_allclose(fit.q.log_prob(x).data, expected, rtol=1e-12)
    assert isinstance(gaussian_target(MU, SIGMA), MultivariateNormal)


def test_cavi_rejects_an_update_that_lowers_the_elbo():
    # Maximise -(a - 1)^2 - (b + 2)^2 with a wrong update for b.
    def elbo(params):
        return -(params[0] - 1.0) ** 2 - (params[1] + 2.0) ** 2
    updates = [lambda params: 1.0, lambda params: params[1] + 1.0]
    with pytest.raises(RuntimeError, match="ELBO decreased"):
        cavi([0.0, -2.0], updates, elbo, iters=3)
    with pytest.raises(ValueError, match="one update per factor"):
        cavi([0.0], updates, elbo)
    result = cavi([0.0, 0.0], [lambda p: 1.0, lambda p: -2.0], elbo)
    assert result.params == [1.0, -2.0] and result.converged and result.elbo[-1] == 0.0


@pytest.mark.parametrize("mean, cov, message", [
    ([0.0, 1.0], [[1.0, 0.9], [0.8, 1.0]], "symmetric"),
    ([0.0, 1.0], [[1.0, 2.0], [2.0, 1.0]], "positive definite"),
    ([0.0, 1.0, 2.0], [[1.0, 0.0], [0.0, 1.0]], r"shape \(3, 3\)"),
    ([[0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], r"shape \(d,\)"),
    ([0.0, np.nan], [[1.0, 0.0], [0.0, 1.0]], "finite"),
])
def test_inputs_are_validated(mean, cov, message):
    for fit in (gaussian_cavi, gaussian_forward_kl):
        with pytest.raises(ValueError, match=message):
            fit(mean, cov)
    with pytest.raises(ValueError, match="init"):
        gaussian_cavi(MU, SIGMA, init=([0.0], [1.0]))
    with pytest.raises(ValueError, match="replicas"):
        reverse_kl_sgd(MU, SIGMA, replicas=1, rng=np.random.default_rng(0))
