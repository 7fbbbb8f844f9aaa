"""The GAN's analytic optimum: D* = p / (p + p_g) (G1) and V(G, D*) = 2 JSD - log 4 (G2).

Oracles: the exact log-ratio of two Gaussians (a quadratic in x), the
asymptotic covariance of the logistic-regression MLE (inverse Fisher
information), and the Jensen-Shannon divergence integrated here with
scipy.integrate.quad on scipy.stats densities (independent of dpm.quadrature).
"""
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit

import minigrad as mg
from minigrad.nn import Linear
from minigrad.optim import SGD, Adam
from dpm.distributions import Laplace, MultivariateNormal, Normal, Uniform
from dpm.distributions.mixture import GaussianMixture
from dpm.montecarlo import Estimate
from dpm.quadrature import adaptive_gauss_legendre
from dpm.models.gan import (
    discriminator_loss_from_logits, optimal_discriminator,
    train_discriminator, value)

LOG_4 = np.log(4.0)


def jsd_by_quad(p_pdf, q_pdf, low=-np.inf, high=np.inf, points=()):
    """JSD(P || Q) = 1/2 KL(P || M) + 1/2 KL(Q || M), M = (P + Q) / 2, by quad."""
    def integrand(x):
        p, q = p_pdf(x), q_pdf(x)
        m = 0.5 * (p + q)
        total = 0.0
        if p > 0:
            total += 0.5 * p * np.log(p / m)
        if q > 0:
            total += 0.5 * q * np.log(q / m)
        return total
    edges = [low, *sorted(points), high]
    return sum(integrate.quad(integrand, a, b, limit=200, epsabs=1e-13, epsrel=1e-11)[0]
               for a, b in zip(edges[:-1], edges[1:]))


def gaussian_log_ratio_coefficients(m0, s0, m1, s1):
    """log N(x; m0, s0) - log N(x; m1, s1) = c2 x^2 + c1 x + c0: returns (c0, c1, c2)."""
    c2 = -0.5 / s0**2 + 0.5 / s1**2
    c1 = m0 / s0**2 - m1 / s1**2
    c0 = -0.5 * m0**2 / s0**2 + 0.5 * m1**2 / s1**2 + np.log(s1 / s0)
    return np.array([c0, c1, c2])


MIXTURE = ([0.3, 0.7], [-2.0, 2.0], [0.5, 1.0])
PAIRS = {
    "narrower shifted normal": (Normal(0.0, 1.0), Normal(1.5, 0.7),
                                stats.norm(0, 1).pdf, stats.norm(1.5, 0.7).pdf, (0.0, 1.5)),
    "wider far normal": (Normal(0.0, 1.0), Normal(3.0, 2.0),
                         stats.norm(0, 1).pdf, stats.norm(3, 2).pdf, (0.0, 3.0)),
    "normal vs two-component mixture": (
        Normal(0.0, 1.0), GaussianMixture(*MIXTURE), stats.norm(0, 1).pdf,
        lambda x: 0.3 * stats.norm.pdf(x, -2, 0.5) + 0.7 * stats.norm.pdf(x, 2, 1.0),
        (-2.0, 0.0, 2.0)),
    "shifted laplace (kinks)": (Laplace(0.0, 1.0), Laplace(1.0, 0.5), stats.laplace(0, 1).pdf,
                                stats.laplace(1, 0.5).pdf, (0.0, 1.0)),
}


@pytest.mark.claim("G2")
@pytest.mark.parametrize("name", list(PAIRS))
def test_value_at_optimal_discriminator_is_two_jsd_minus_log4(name):
    p, p_g, p_pdf, q_pdf, modes = PAIRS[name]
    result = value(p, p_g, optimal_discriminator(p, p_g))
    assert isinstance(result, float)
    expected = 2.0 * jsd_by_quad(p_pdf, q_pdf, points=modes) - LOG_4
    assert abs(result - expected) <= 1e-9
    assert result > -LOG_4


@pytest.mark.claim("G2", "G1")
def test_equal_laws_give_minus_log4_and_one_half():
    for p in (Normal(0.3, 1.7), GaussianMixture(*MIXTURE)):
        d_star = optimal_discriminator(p, p)
        grid = np.linspace(-6.0, 6.0, 101)
        np.testing.assert_array_equal(d_star(grid).data, 0.5)
        assert abs(value(p, p, d_star) + LOG_4) <= 1e-12


@pytest.mark.claim("G2")
def test_disjoint_supports_give_jsd_log2_and_value_zero():
    # JSD = log 2, so V(G, D*) = 2 log 2 - log 4 = 0 (lecture 001: disjoint supports).
    p, p_g = Uniform(0.0, 1.0), Uniform(2.0, 3.0)
    assert abs(value(p, p_g, optimal_discriminator(p, p_g))) <= 1e-12
    # Half overlap: JSD = 1/2 log 2, V = log 2 - log 4 = -log 2.
    p_g = Uniform(0.5, 1.5)
    assert abs(value(p, p_g, optimal_discriminator(p, p_g)) + np.log(2.0)) <= 1e-12
    # Outside both supports D* is 1/2, not NaN.
    assert optimal_discriminator(p, p_g)(np.array([-1.0, 5.0])).data.tolist() == [0.5, 0.5]


@pytest.mark.claim("G1")
def test_optimal_discriminator_maximises_the_value():
    p, p_g = Normal(0.0, 1.0), GaussianMixture(*MIXTURE)
    d_star = optimal_discriminator(p, p_g)
    best = value(p, p_g, d_star)
    for bump in (lambda x: 0.3 + 0 * x, lambda x: -0.2 * x, lambda x: 0.5 * np.sin(2 * x)):
        perturbed = value(p, p_g, lambda x, bump=bump: d_star.logit(x).data + bump(x), logits=True)
        assert perturbed < best - 1e-6
    # Given as probabilities, D* rounds to exactly 1 far in the tail where
    # p_g > 0 (logit > 37), so log(1 - D) = -inf there: V = -inf, as it is for
    # that D. Logits keep it exact, hence D* is evaluated through its logit.
    assert value(p, p_g, lambda x: d_star(x).data) == -np.inf
    # With a bounded log-ratio (two Laplace laws: |logit| <= 1) both agree.
    p, p_g = Laplace(0.0, 1.0), Laplace(1.0, 1.0)
    d_star = optimal_discriminator(p, p_g)
    as_probs = value(p, p_g, lambda x: d_star(x).data)
    assert abs(as_probs - value(p, p_g, d_star)) <= 1e-9


@pytest.mark.claim("G2")
def test_monte_carlo_value_matches_quadrature_in_1d_and_2d():
    rng = np.random.default_rng(42)
    p, p_g = Normal(0.0, 1.0), GaussianMixture(*MIXTURE)
    d_star = optimal_discriminator(p, p_g)
    exact = value(p, p_g, d_star)
    mc = value(p, p_g, d_star, n=50_000, rng=rng)
    assert isinstance(mc, Estimate) and mc.n == 50_000
    assert abs(float(mc) - exact) <= 5 * mc.stderr
    # 2-D: a shift along the first axis only, so JSD is that of the first marginals.
    p2 = MultivariateNormal(np.zeros(2), np.eye(2))
    g2 = MultivariateNormal(np.array([1.2, 0.0]), np.eye(2))
    mc2 = value(p2, g2, optimal_discriminator(p2, g2), n=50_000, rng=rng)
    expected = 2 * jsd_by_quad(stats.norm(0, 1).pdf, stats.norm(1.2, 1).pdf, points=(0, 1.2)) \
        - LOG_4
    assert abs(float(mc2) - expected) <= 5 * mc2.stderr
    with pytest.raises(ValueError, match="pass n for Monte Carlo"):
        value(p2, g2, optimal_discriminator(p2, g2))


def test_monte_carlo_error_matches_the_spread_of_replicas():
    """The test above trusts ``stderr``; here it is checked independently.

    Over R independent replicas the sample variance of the estimates over the
    mean reported stderr^2 (each unbiased for Var / n) is about
    chi-square(R - 1) / (R - 1); the bounds are its 1e-6 quantiles.
    """
    p, p_g = Normal(0.0, 1.0), GaussianMixture(*MIXTURE)
    d_star = optimal_discriminator(p, p_g)
    rng = np.random.default_rng(43)
    replicas = 300
    runs = [value(p, p_g, d_star, n=200, rng=rng) for _ in range(replicas)]
    estimates = np.array([float(r) for r in runs])
    ratio = estimates.var(ddof=1) / np.mean([r.stderr ** 2 for r in runs])
    low, high = stats.chi2.ppf([1e-6, 1 - 1e-6], replicas - 1) / (replicas - 1)
    assert low <= ratio <= high, (ratio, low, high)


@pytest.mark.claim("G1")
def test_trained_logistic_discriminator_matches_d_star():
    """Logistic regression on (u, u^2), u = standardised x, trained by minigrad's Adam.

    With n draws of each law the population optimum of the logistic loss is
    the log-ratio log p/p_g (equal class sizes: prior odds 1), a quadratic in
    x, so the model holds D* exactly. The maximum-likelihood fit is
    asymptotically N(theta, H^{-1}), H the Hessian of the summed loss (Fisher
    information), so each coefficient, and the logit at each x, is within 5
    standard errors of the truth; D = sigmoid(logit) is monotone, so the
    logit's band maps to D's band exactly. First we check that Adam reached
    the MLE: a Newton step from the fit is < 0.001 standard error.
    """
    rng = np.random.default_rng(2024)
    n = 5000
    p, p_g = Normal(0.0, 1.0), Normal(1.5, 0.7)
    real, fake = p.sample((n,), rng), p_g.sample((n,), rng)
    centre, width = np.r_[real, fake].mean(), np.r_[real, fake].std()

    def features(x):  # standardised so that Adam sees a well-conditioned problem
        u = (np.asarray(x) - centre) / width
        return np.stack([u, u * u], axis=-1)

    net = Linear(2, 1, rng=np.random.default_rng(0))
    # Adam to get near, then full-batch heavy-ball gradient descent to land:
    # the mean loss's Hessian has eigenvalues in about [0.04, 0.35] here, so
    # lr = 2 with momentum 0.8 contracts fast.
    adam = train_discriminator(net, features(real), features(fake),
                               Adam(net.parameters(), lr=0.05), 200)
    descent = train_discriminator(net, features(real), features(fake),
                                  SGD(net.parameters(), lr=2.0, momentum=0.8), 150)
    assert descent[-1] <= adam[-1] <= adam[0]
    theta = np.r_[net.bias.data, net.weight.data[:, 0]]          # (c0, c_u, c_uu)

    design = np.c_[np.ones(2 * n), features(np.r_[real, fake])]
    labels = np.r_[np.ones(n), np.zeros(n)]
    fitted = expit(design @ theta)
    gradient = design.T @ (fitted - labels)
    hessian = (design * (fitted * (1 - fitted))[:, None]).T @ design
    covariance = np.linalg.inv(hessian)
    stderr = np.sqrt(np.diag(covariance))
    assert np.all(np.abs(np.linalg.solve(hessian, gradient)) < 1e-3 * stderr)

    # The exact quadratic c2 x^2 + c1 x + c0 rewritten in u (x = centre + width u).
    c0, c1, c2 = gaussian_log_ratio_coefficients(0.0, 1.0, 1.5, 0.7)
    exact = np.array([c0 + c1 * centre + c2 * centre**2,
                      (c1 + 2 * c2 * centre) * width,
                      c2 * width**2])
    assert np.all(np.abs(theta - exact) <= 5 * stderr)

    grid = np.linspace(-3.0, 4.0, 141)
    phi = np.c_[np.ones(grid.size), features(grid)]
    logit_se = np.sqrt(np.einsum("ij,jk,ik->i", phi, covariance, phi))
    d_star = optimal_discriminator(p, p_g)
    exact_logit = d_star.logit(grid).data
    np.testing.assert_allclose(exact_logit, phi @ exact, rtol=1e-10, atol=1e-12)
    d_trained = expit(phi @ theta)
    d_exact = d_star(grid).data
    assert np.all(d_trained >= expit(exact_logit - 5 * logit_se))
    assert np.all(d_trained <= expit(exact_logit + 5 * logit_se))
    # D* itself agrees with p / (p + p_g) from scipy.stats.
    pdf_p, pdf_g = stats.norm(0, 1).pdf(grid), stats.norm(1.5, 0.7).pdf(grid)
    np.testing.assert_allclose(d_exact, pdf_p / (pdf_p + pdf_g), rtol=1e-12)


def test_discriminator_loss_is_stable_binary_cross_entropy():
    real = mg.Tensor(np.array([-800.0, -2.0, 0.0, 3.0, 800.0]), requires_grad=True)
    fake = mg.Tensor(np.array([-700.0, 1.0, 0.5, 900.0]), requires_grad=True)
    loss = discriminator_loss_from_logits(real, fake)
    # BCE with labels 1 (real) and 0 (fake): log(1 + e^{-l}) and log(1 + e^{l}).
    expected = np.logaddexp(0, -real.data).mean() + np.logaddexp(0, fake.data).mean()
    assert np.isfinite(loss.item()) and abs(loss.item() - expected) <= 1e-12 * expected
    loss.backward()
    np.testing.assert_allclose(real.grad, -expit(-real.data) / real.data.size, rtol=1e-12)
    np.testing.assert_allclose(fake.grad, expit(fake.data) / fake.data.size, rtol=1e-12)
    moderate = [mg.Tensor(np.array([0.3, -1.2]), requires_grad=True),
                mg.Tensor(np.array([0.7, 2.0, -0.4]), requires_grad=True)]
    assert mg.gradcheck(discriminator_loss_from_logits, moderate)


def test_value_handles_certain_discriminators_and_bad_input():
    p, p_g = Normal(0.0, 1.0), Normal(1.0, 1.0)
    # D = 0 where P has mass: log D = -inf, so V = -inf (not NaN).
    zero = value(p, p_g, lambda x: np.where(np.asarray(x) > 0, 0.0, 0.5))
    assert zero == -np.inf
    mc = value(p, p_g, lambda x: np.where(np.asarray(x) > 0, 0.0, 0.5), n=100,
               rng=np.random.default_rng(0))
    assert float(mc) == -np.inf and np.isnan(mc.stderr)
    # Huge logits: log(1 - sigmoid(l)) from log_sigmoid(-l) stays finite.
    big = value(p, p_g, lambda x: 40.0 + 0 * np.asarray(x), logits=True)
    assert np.isfinite(big) and abs(big - (-40.0)) <= 1e-9
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        value(p, p_g, lambda x: 2.0 + 0 * np.asarray(x))
    with pytest.raises(ValueError, match="n must be an integer"):
        value(p, p_g, optimal_discriminator(p, p_g), n=1)
    with pytest.raises(ValueError, match="event shape"):
        optimal_discriminator(p, MultivariateNormal(np.zeros(2), np.eye(2)))


def test_adaptive_gauss_legendre_against_scipy_quad():
    def pdf_mixture(x):
        return 0.3 * stats.norm.pdf(x, -2, 0.05) + 0.7 * stats.laplace.pdf(x, 3, 2.0)
    for edges in ([-np.inf, -2.0, 0.0, 3.0, np.inf], [-np.inf, 0.0, np.inf], [-1.0, 4.0]):
        ours, error = adaptive_gauss_legendre(pdf_mixture, edges)
        reference = sum(integrate.quad(pdf_mixture, a, b, points=None if np.isinf(a) or np.isinf(b)
                                       else [c for c in (-2.0, 3.0) if a < c < b],
                                       epsabs=1e-13, limit=400)[0]
                        for a, b in zip(edges[:-1], edges[1:]))
        assert abs(ours - reference) <= 1e-10 and error <= 1e-10
    minus_inf_beyond_1 = adaptive_gauss_legendre(lambda x: np.where(x > 1, -np.inf, 0.0), [0, 2])
    assert minus_inf_beyond_1[0] == -np.inf
    with pytest.raises(ValueError, match="split"):
        adaptive_gauss_legendre(np.exp, [-np.inf, np.inf])
