"""GAN losses from logits (G3, G6): closed forms, finite at +-1e3, the saturation of minimax,
and the least-squares GAN's link to Pearson chi^2.

Oracles: scipy.special.log_expit / expit for log D and D, central finite
differences (minigrad.gradcheck), scipy.integrate.quad on scipy.stats
densities for the LSGAN objective, and dpm.quadrature's Pearson chi^2.
"""
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit, log_expit

import minigrad as mg
from minigrad import Tensor
from dpm import quadrature
from dpm.distributions import Normal
from dpm.distributions.mixture import GaussianMixture
from dpm.models.gan import (
    KINDS, PEARSON_TARGETS, discriminator_loss, generator_logit_gradient, generator_loss,
    lsgan_generator_objective, lsgan_optimal_output)

REAL = np.array([-2.0, 0.3, 1.7, 4.0])
FAKE = np.array([-3.1, -0.4, 0.9, 2.2])


def reference_losses(kind, real, fake, targets=(0.0, 1.0, 1.0)):
    """(discriminator loss, generator loss) written from the lecture's formulas with scipy."""
    if kind in ("minimax", "non_saturating"):
        d = -(log_expit(real).mean() + log_expit(-fake).mean())
        g = log_expit(-fake).mean() if kind == "minimax" else -log_expit(fake).mean()
        return d, g
    if kind == "least_squares":
        a, b, c = targets
        return (0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean(),
                0.5 * ((fake - c) ** 2).mean())
    return fake.mean() - real.mean(), -fake.mean()


@pytest.mark.claim("G3", "G6")
@pytest.mark.parametrize("kind", KINDS)
def test_losses_match_closed_forms(kind):
    d, g = reference_losses(kind, REAL, FAKE)
    assert discriminator_loss(REAL, FAKE, kind).item() == pytest.approx(d, rel=1e-13)
    assert generator_loss(FAKE, kind).item() == pytest.approx(g, rel=1e-13)
    column = discriminator_loss(REAL[:, None], FAKE[:, None], kind).item()
    assert column == pytest.approx(d, rel=1e-13)


def test_least_squares_targets_are_used():
    targets = (-1.0, 1.0, 0.0)
    d, g = reference_losses("least_squares", REAL, FAKE, targets)
    assert discriminator_loss(REAL, FAKE, "least_squares", targets).item() == pytest.approx(d)
    assert generator_loss(FAKE, "least_squares", targets).item() == pytest.approx(g)


@pytest.mark.claim("G3")
@pytest.mark.parametrize("kind", KINDS)
def test_losses_gradients_match_finite_differences(kind):
    assert mg.gradcheck(lambda r, f: discriminator_loss(r, f, kind), [REAL, FAKE])
    assert mg.gradcheck(lambda f: generator_loss(f, kind), [FAKE])


@pytest.mark.claim("G3")
@pytest.mark.parametrize("kind", KINDS)
def test_losses_finite_at_huge_logits(kind):
    logits = np.array([1e3, -1e3, 0.0])
    real, fake = Tensor(logits, requires_grad=True), Tensor(-logits, requires_grad=True)
    d_loss = discriminator_loss(real, fake, kind)
    d_loss.backward()
    assert np.isfinite(d_loss.item())
    assert np.all(np.isfinite(real.grad)) and np.all(np.isfinite(fake.grad))
    fake2 = Tensor(logits, requires_grad=True)
    g_loss = generator_loss(fake2, kind)
    g_loss.backward()
    assert np.isfinite(g_loss.item()) and np.all(np.isfinite(fake2.grad))
    d_ref, g_ref = reference_losses(kind, logits, -logits)
    assert d_loss.item() == pytest.approx(d_ref, rel=1e-12)
    assert g_loss.item() == pytest.approx(reference_losses(kind, logits, logits)[1], rel=1e-12)


@pytest.mark.claim("G3")
@pytest.mark.parametrize("kind", ["minimax", "non_saturating"])
def test_generator_gradient_closed_form_matches_autodiff(kind):
    logits = np.array([-1e3, -30.0, -5.0, -1.0, 0.0, 2.0, 30.0])
    fake = Tensor(logits, requires_grad=True)
    (generator_loss(fake, kind) * len(logits)).backward()  # per-sample derivative
    expected = -expit(logits) if kind == "minimax" else -expit(-logits)
    np.testing.assert_allclose(fake.grad, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(generator_logit_gradient(logits, kind), expected, rtol=1e-12)


@pytest.mark.claim("G3")
def test_minimax_saturates_where_non_saturating_does_not():
    """As D(G(z)) -> 0: |d minimax / dl| = D -> 0 while |d non-saturating / dl| = 1 - D -> 1."""
    logits = -np.array([2.0, 5.0, 10.0, 20.0, 40.0])
    d = expit(logits)
    minimax = np.abs(generator_logit_gradient(logits, "minimax"))
    non_saturating = np.abs(generator_logit_gradient(logits, "non_saturating"))
    np.testing.assert_allclose(minimax, d, rtol=1e-12)
    np.testing.assert_allclose(non_saturating / minimax, (1 - d) / d, rtol=1e-10)
    assert np.all(np.diff(minimax) < 0) and minimax[-1] < 1e-17
    assert np.all(non_saturating > 0.88) and non_saturating[-1] == pytest.approx(1.0, abs=1e-15)


@pytest.mark.claim("G6")
def test_lsgan_optimal_output_minimises_the_pointwise_objective():
    rng = np.random.default_rng(0)
    log_p, log_pg = rng.normal(size=20), rng.normal(size=20)
    a, b, _ = PEARSON_TARGETS
    d_star = lsgan_optimal_output(log_p, log_pg)
    np.testing.assert_allclose(d_star, (b * np.exp(log_p) + a * np.exp(log_pg))
                               / (np.exp(log_p) + np.exp(log_pg)), rtol=1e-12)

    def objective(d):
        return 0.5 * np.exp(log_p) * (d - b) ** 2 + 0.5 * np.exp(log_pg) * (d - a) ** 2
    for shift in (-1e-3, 1e-3):
        assert np.all(objective(d_star + shift) > objective(d_star))
    assert np.all(np.isfinite(lsgan_optimal_output([-1e4, 0.0], [0.0, -1e4])))


@pytest.mark.claim("G6")
@pytest.mark.parametrize("loc, scale", [(1.5, 0.8), (-0.7, 2.0), (0.0, 1.0)])
def test_lsgan_objective_is_pearson_chi2_of_mixture(loc, scale):
    """C(G) at the optimal LSGAN D (a, b, c = -1, 1, 0) equals chi^2_Pearson(P_g || (P + P_g)/2),
    i.e. 2 C(G) = chi^2_Pearson(P + P_g || 2 P_g) (Mao et al. 2017)."""
    def integrand(x):
        return float(lsgan_generator_objective(stats.norm.logpdf(x, 0.0, 1.0),
                                               stats.norm.logpdf(x, loc, scale)))
    c_of_g = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12)[0]
    midpoint = GaussianMixture([0.5, 0.5], [0.0, loc], [1.0, scale])
    pearson = quadrature.f_divergence(Normal(loc, scale), midpoint, "pearson")
    assert c_of_g == pytest.approx(pearson, rel=1e-8, abs=1e-12)
    # the second form: chi^2(P + P_g || 2 P_g) = int (2 p_g - (p + p_g))^2 / (p + p_g)
    def direct(x):
        p, pg = stats.norm.pdf(x, 0.0, 1.0), stats.norm.pdf(x, loc, scale)
        return 0.0 if p + pg == 0 else (2 * pg - (p + pg)) ** 2 / (p + pg)
    assert 2 * c_of_g == pytest.approx(integrate.quad(direct, -np.inf, np.inf, epsabs=1e-13,
                                                      epsrel=1e-12)[0], rel=1e-8, abs=1e-12)
    if loc == 0.0 and scale == 1.0:
        assert c_of_g == pytest.approx(0.0, abs=1e-14)  # P_g = P: the minimum


@pytest.mark.parametrize("call, match", [
    (lambda: discriminator_loss(REAL, FAKE, "hinge"), "kind"),
    (lambda: generator_loss(FAKE, "js"), "kind"),
    (lambda: discriminator_loss(np.array([]), FAKE), "real_logits"),
    (lambda: generator_loss(np.array([0.0, np.nan])), "fake_logits"),
    (lambda: generator_loss(np.zeros((3, 2))), "fake_logits"),
    (lambda: discriminator_loss(REAL, FAKE, "least_squares", targets=(1.0, 1.0, 0.0)), "targets"),
    (lambda: generator_logit_gradient(0.0, "wasserstein"), "kind"),
])
def test_losses_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
