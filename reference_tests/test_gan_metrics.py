"""Sample-based GAN metrics (G4, G5, G8) and likelihood vs samples (G7).

Oracles: the chi distribution (P(||N(0, s^2 I_2)|| <= 3 s) = 1 - exp(-9/2)),
E_u |<mu, u>| = 2 ||mu|| / pi for u uniform on the circle, closed-form
Inception scores of one-hot and uniform predictions, the Frechet distance
by scipy.linalg.sqrtm and in closed form for commuting covariances, and
KDE densities by scipy.stats.multivariate_normal and scipy.special.logsumexp.
"""
import numpy as np
import pytest
from scipy import linalg, stats
from scipy.special import logsumexp

from dpm.datasets import ring_of_gaussians
from dpm.models.gan import (
    GaussianKDE, digits_classifier, digits_split, frechet_distance, gaussian_frechet_distance,
    high_quality_fraction, inception_score, mode_counts, mixture_log_prob, modes_covered,
    sliced_wasserstein)

SCALE = 0.05
CENTERS = 2.0 * np.column_stack([np.cos(2 * np.pi * np.arange(8) / 8),
                                 np.sin(2 * np.pi * np.arange(8) / 8)])


@pytest.mark.claim("G4", "G5")
def test_high_quality_fraction_of_the_target_is_the_chi_probability():
    x = ring_of_gaussians(8, 2.0, SCALE).sample((20000,), np.random.default_rng(0))
    p = 1 - np.exp(-4.5)  # P(chi_2 <= 3)
    assert abs(high_quality_fraction(x, CENTERS, SCALE) - p) <= 5 * np.sqrt(p * (1 - p) / 20000)
    assert modes_covered(x, CENTERS, SCALE) == 8


@pytest.mark.claim("G5")
def test_modes_covered_counts_a_collapsed_generator():
    rng = np.random.default_rng(1)
    kept = [0, 3, 5]
    x = CENTERS[rng.choice(kept, 2500)] + SCALE * rng.standard_normal((2500, 2))
    assert modes_covered(x, CENTERS, SCALE) == 3
    counts = mode_counts(x, CENTERS, SCALE)
    assert set(np.flatnonzero(counts)) == set(kept) and counts.sum() <= 2500
    # a few stray samples at a fourth mode do not make it covered (min count 0.2 n / K)
    strays = CENTERS[[6] * 10] + SCALE * rng.standard_normal((10, 2))
    assert modes_covered(np.vstack([x, strays]), CENTERS, SCALE) == 3
    assert modes_covered(np.vstack([x, strays]), CENTERS, SCALE, min_count=1) == 4
    # points midway between modes are not high quality
    assert high_quality_fraction(np.zeros((5, 2)), CENTERS, SCALE) == 0.0


def test_sliced_wasserstein_of_a_shift():
    """Y = X + mu: each projection's W1 is exactly |<mu, u>|; over u, E = 2 ||mu|| / pi."""
    rng = np.random.default_rng(2)
    x, mu = rng.normal(size=(3000, 2)), np.array([1.5, -2.0])
    estimate = sliced_wasserstein(x, x + mu, n_projections=400, rng=np.random.default_rng(3))
    directions = np.random.default_rng(3).standard_normal((400, 2))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    assert float(estimate) == pytest.approx(np.abs(directions @ mu).mean(), rel=1e-10)
    assert abs(float(estimate) - 2 * np.linalg.norm(mu) / np.pi) <= 5 * estimate.stderr
    one_d = sliced_wasserstein(x[:, :1], x[:, :1] + 0.7)
    assert float(one_d) == pytest.approx(0.7) and one_d.stderr == 0.0


@pytest.mark.claim("G8")
def test_inception_score_closed_forms():
    k = 10
    onehot = np.eye(k)[np.arange(200) % k]
    assert inception_score(onehot) == pytest.approx(k)  # confident and balanced: K
    assert inception_score(np.eye(k)[np.zeros(50, int)]) == pytest.approx(1.0)  # one class
    assert inception_score(np.full((30, k), 1.0 / k)) == pytest.approx(1.0)  # unsure
    probs = np.random.default_rng(4).dirichlet(np.ones(k) * 0.3, size=100)
    marginal = probs.mean(0)
    expected = np.exp(np.mean([stats.entropy(p, marginal) for p in probs]))
    assert inception_score(probs) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="probs"):
        inception_score(np.ones((3, 2)))


@pytest.mark.claim("G8")
def test_frechet_distance_matches_sqrtm_and_closed_forms():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    cov_1, cov_2 = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    m_1, m_2 = rng.normal(size=4), rng.normal(size=4)
    by_sqrtm = (np.sum((m_1 - m_2) ** 2) + np.trace(cov_1 + cov_2)
                - 2 * np.trace(linalg.sqrtm(cov_1 @ cov_2).real))
    assert gaussian_frechet_distance(m_1, cov_1, m_2, cov_2) == pytest.approx(by_sqrtm, rel=1e-9)
    s_1, s_2 = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 1.0])
    assert gaussian_frechet_distance(np.zeros(3), np.diag(s_1), np.ones(3), np.diag(s_2)) == \
        pytest.approx(3.0 + np.sum((np.sqrt(s_1) - np.sqrt(s_2)) ** 2), rel=1e-12)
    f = rng.normal(size=(500, 3))
    assert frechet_distance(f, f) == pytest.approx(0.0, abs=1e-10)
    assert frechet_distance(f, f + [1.0, 2.0, 0.0]) == pytest.approx(5.0, rel=1e-9)


@pytest.mark.claim("G8")
def test_digits_classifier_and_scores_order_real_above_noise():
    classifier = digits_classifier()
    assert classifier.accuracy > 0.93  # held-out quarter of the shipped digits
    x_train, _, x_test, _ = digits_split()
    noise = np.random.default_rng(6).random((len(x_test), 64))
    real_score = inception_score(classifier.probs(x_test))
    assert real_score > 8.0 and inception_score(classifier.probs(noise)) < 0.5 * real_score
    real_fd = frechet_distance(classifier.features(x_train), classifier.features(x_test))
    noise_fd = frechet_distance(classifier.features(x_train), classifier.features(noise))
    assert real_fd < 0.05 * noise_fd


# -------------------------------------------------------------------- G7
def test_kde_log_prob_matches_scipy():
    rng = np.random.default_rng(7)
    points, x = rng.normal(size=(40, 2)), rng.normal(size=(9, 2))
    kde = GaussianKDE(points, 0.3)
    expected = logsumexp([stats.multivariate_normal(p, 0.09 * np.eye(2)).logpdf(x)
                          for p in points], axis=0) - np.log(40)
    np.testing.assert_allclose(kde.log_prob(x), expected, rtol=1e-12)
    far = GaussianKDE(points, 1e-3).log_prob(x + 50.0)
    assert np.all(np.isfinite(far)) and np.all(far < -1e8)  # tiny, yet a number, not -inf/NaN


@pytest.mark.claim("G7")
def test_tiny_bandwidth_kde_copies_the_data_and_fails_on_test_points():
    rng = np.random.default_rng(8)
    train, test = rng.normal(size=(500, 2)), rng.normal(size=(2000, 2))
    tiny, fair = GaussianKDE(train, 0.01), GaussianKDE(train, 0.3)
    samples = tiny.sample(1000, np.random.default_rng(9))
    nearest = np.min(np.linalg.norm(samples[:, None] - train[None], axis=-1), axis=1)
    assert np.all(nearest < 6 * 0.01)  # every sample is (a jitter of) a training point
    true_ll = stats.multivariate_normal(np.zeros(2), np.eye(2)).logpdf(test).mean()
    tiny_ll, fair_ll = tiny.log_prob(test).mean(), fair.log_prob(test).mean()
    assert tiny_ll < true_ll - 100 and fair_ll > true_ll - 0.5
    # yet on its own training points it beats the truth: log q >= -log n - log(2 pi h^2)
    own = -np.log(500) - np.log(2 * np.pi * 0.01 ** 2)
    assert np.all(tiny.log_prob(train) >= own - 1e-9) and own > true_ll + 3


@pytest.mark.claim("G7")
def test_one_percent_of_p_costs_at_most_log_100_nats():
    """q = 0.01 p + 0.99 r: log q >= log p - log 100 pointwise, so on held-out data too."""
    p, r = stats.norm(0.0, 1.0), stats.norm(0.0, 1000.0)  # r: broad noise
    x = np.random.default_rng(10).normal(size=5000)
    log_q = mixture_log_prob(p.logpdf(x), r.logpdf(x), weight=0.01)
    np.testing.assert_allclose(log_q, np.log(0.01 * p.pdf(x) + 0.99 * r.pdf(x)), rtol=1e-12)
    assert np.all(log_q >= p.logpdf(x) - np.log(100) - 1e-12)
    gap = p.logpdf(x).mean() - log_q.mean()
    assert 0 < gap <= np.log(100)
    assert gap > np.log(100) - 1.0  # nearly the whole log 100: the bound is the right size
    x_far = np.array([1e3])
    assert np.isfinite(mixture_log_prob(p.logpdf(x_far), r.logpdf(x_far))[0])


@pytest.mark.parametrize("call, match", [
    (lambda: GaussianKDE(np.ones((3, 2)), 0.0), "bandwidth"),
    (lambda: GaussianKDE(np.ones((0, 2)), 1.0), "points"),
    (lambda: mixture_log_prob(0.0, 0.0, weight=1.5), "weight"),
    (lambda: modes_covered(np.ones((3, 3)), CENTERS, SCALE), "samples"),
    (lambda: high_quality_fraction(np.ones((3, 2)), CENTERS, 0.0), "scale"),
])
def test_metrics_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
