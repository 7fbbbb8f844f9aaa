"""The shipped digits: shape, value range, labels, and the loader's options.

The oracle is the data set's own description (dpm/data/README.md): 1,797
images of 64 integer pixel counts 0..16, labels 0..9.
"""
import numpy as np
import pytest

from dpm.datasets import load_digits


def test_load_digits_shapes_and_dtypes():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64


def test_load_digits_raw_pixels_are_integer_counts_0_to_16():
    X, _ = load_digits(scale=False)
    assert np.array_equal(X, np.round(X))
    assert X.min() == 0 and X.max() == 16
    # every count 0..16 occurs: the file is not already binarized or rescaled
    assert set(np.unique(X).astype(int)) == set(range(17))


def test_load_digits_scaled_is_counts_over_16_in_unit_interval():
    X, _ = load_digits()
    raw, _ = load_digits(scale=False)
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, raw)


def test_load_digits_labels_cover_0_to_9_and_sum_to_1797():
    _, y = load_digits()
    counts = np.bincount(y, minlength=10)
    assert len(counts) == 10 and counts.sum() == 1797
    assert counts.min() > 150  # roughly balanced: about 180 of each digit


@pytest.mark.parametrize("threshold", [1, 8, 16])
def test_load_digits_binarize_thresholds_raw_counts(threshold):
    X, _ = load_digits(binarize=True, threshold=threshold)
    raw, _ = load_digits(scale=False)
    assert set(np.unique(X)) <= {0.0, 1.0}
    np.testing.assert_array_equal(X, (raw >= threshold).astype(float))


def test_load_digits_returns_fresh_arrays():
    X1, y1 = load_digits()
    X1[:] = -1.0
    y1[:] = -1
    X2, y2 = load_digits()
    assert X2.min() == 0.0 and y2.min() == 0


@pytest.mark.parametrize("kwargs, name", [
    ({"threshold": 0}, "threshold"), ({"threshold": 17}, "threshold"),
    ({"threshold": 8.5}, "threshold"), ({"binarize": "yes"}, "binarize"),
    ({"scale": 1}, "scale"),
])
def test_load_digits_rejects_bad_arguments_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        load_digits(**kwargs)


# ------------------------------------------------------------------ toy targets
# Oracles: scipy.stats densities and laws (KS / chi-square, p > 1e-3 at a
# fixed seed), and the geometry each target is defined by.
from scipy import stats  # noqa: E402

from dpm.datasets import (  # noqa: E402
    ParallelLine, bimodal, moons, parallel_lines, ring, ring_of_gaussians)


def test_bimodal_is_the_lecture_mixture():
    p = bimodal()
    x = np.linspace(-15.0, 15.0, 61)
    expected = np.log(0.5 * stats.norm.pdf(x, -7.3, 1.4) + 0.5 * stats.norm.pdf(x, 7.3, 1.4))
    np.testing.assert_allclose(p.log_prob(x).data, expected, rtol=1e-12)
    assert float(p.mean.data) == pytest.approx(0.0, abs=1e-15)
    assert float(p.variance.data) == pytest.approx(1.4 ** 2 + 7.3 ** 2, rel=1e-12)
    draws = p.sample((4000,), np.random.default_rng(1))
    cdf = lambda t: 0.5 * stats.norm.cdf(t, -7.3, 1.4) + 0.5 * stats.norm.cdf(t, 7.3, 1.4)  # noqa
    assert stats.kstest(draws, cdf).pvalue > 1e-3


def test_ring_of_gaussians_modes_density_and_draws():
    k, radius, scale = 8, 2.0, 0.05
    p = ring_of_gaussians(k, radius, scale)
    angles = 2 * np.pi * np.arange(k) / k
    modes = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    x = np.random.default_rng(2).normal(size=(20, 2)) + modes[[0, 3]].mean(axis=0)
    x[:8] = modes  # at the modes, and at points in between
    expected = np.log(sum(stats.multivariate_normal(m, scale ** 2).pdf(x) for m in modes) / k)
    np.testing.assert_allclose(p.log_prob(x).data, expected, rtol=1e-9)
    draws = p.sample((4000,), np.random.default_rng(3))
    distances = np.linalg.norm(draws[:, None, :] - modes[None], axis=-1)
    nearest = distances.argmin(axis=1)
    # modes 0.77 apart, 15 scales: every draw is nearest its own mode; the
    # labels are uniform and the distance/scale is Rayleigh (chi with 2 d.o.f.).
    assert stats.chisquare(np.bincount(nearest, minlength=k)).pvalue > 1e-3
    assert stats.kstest(distances.min(axis=1) / scale, stats.rayleigh.cdf).pvalue > 1e-3


def test_ring_points_have_uniform_angle_and_normal_radius():
    x = ring(3000, np.random.default_rng(4), radius=1.5, noise=0.1)
    assert x.shape == (3000, 2)
    r, angle = np.linalg.norm(x, axis=1), np.arctan2(x[:, 1], x[:, 0])
    # radius + noise * N(0,1) stays positive here (15 sd), so |x| is that radius.
    assert stats.kstest(r, stats.norm(1.5, 0.1).cdf).pvalue > 1e-3
    assert stats.kstest(angle, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3


def test_moons_without_noise_lie_on_their_half_circles():
    x, labels = moons(3000, np.random.default_rng(5), noise=0.0, return_labels=True)
    assert x.shape == (3000, 2) and labels.shape == (3000,)
    assert stats.binomtest(int(labels.sum()), 3000, 0.5).pvalue > 1e-3
    upper, lower = x[labels == 0], x[labels == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0, rtol=1e-12)
    assert upper[:, 1].min() >= 0 and lower[:, 1].max() <= 0.5
    # t ~ U[0, pi]: the angle of each point on its own circle
    t_upper = np.arctan2(upper[:, 1], upper[:, 0])
    t_lower = np.arctan2(0.5 - lower[:, 1], 1.0 - lower[:, 0])
    for t in (t_upper, t_lower):
        assert stats.kstest(t, stats.uniform(0.0, np.pi).cdf).pvalue > 1e-3


def test_moons_noise_is_normal_around_the_curves():
    rng_a, rng_b = np.random.default_rng(6), np.random.default_rng(6)
    clean = moons(2000, rng_a, noise=0.0)
    noisy = moons(2000, rng_b, noise=0.2)  # same labels and t, then the noise
    residual = (noisy - clean).ravel() / 0.2
    assert stats.kstest(residual, stats.norm.cdf).pvalue > 1e-3


def test_parallel_lines_and_its_distribution():
    x = parallel_lines(0.7, 2000, np.random.default_rng(7))
    assert x.shape == (2000, 2) and np.all(x[:, 0] == 0.7)
    assert stats.kstest(x[:, 1], stats.uniform(0, 1).cdf).pvalue > 1e-3
    line = ParallelLine(0.7)
    draws = line.sample((2000,), np.random.default_rng(7))
    np.testing.assert_array_equal(draws, x)  # same law, same seed, same numbers
    assert np.all(line.log_prob(draws).data == 0.0)
    off = np.array([[0.7, 1.5], [0.7, -0.1], [0.0, 0.5], [0.7000001, 0.5]])
    assert np.all(line.log_prob(off).data == -np.inf)


@pytest.mark.parametrize("maker", [
    lambda rng: ring(50, rng), lambda rng: moons(50, rng),
    lambda rng: parallel_lines(-1.0, 50, rng),
    lambda rng: ring_of_gaussians().sample((50,), rng)])
def test_toy_samplers_repeat_with_the_seed(maker):
    a, b = maker(np.random.default_rng(11)), maker(np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, maker(np.random.default_rng(12)))


@pytest.mark.parametrize("call, name", [
    (lambda: bimodal(scale=0.0), "scale"), (lambda: ring_of_gaussians(k=0), "k"),
    (lambda: ring_of_gaussians(radius=-1.0), "radius"),
    (lambda: ring(-1, np.random.default_rng(0)), "n"),
    (lambda: ring(5, np.random.default_rng(0), noise=-0.1), "noise"),
    (lambda: moons(2.5, np.random.default_rng(0)), "n"),
    (lambda: parallel_lines(np.nan, 5, np.random.default_rng(0)), "theta"),
    (lambda: ParallelLine(np.inf), "theta"), (lambda: ParallelLine([0.0, 1.0]), "theta"),
])
def test_toy_targets_reject_bad_arguments_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()
