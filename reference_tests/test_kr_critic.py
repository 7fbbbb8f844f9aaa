"""The Kantorovich-Rubinstein critic estimate of W1 (claim W2) and the Lipschitz envelope.

Oracles: a brute-force Lipschitz envelope; weak duality (the estimate is the
gap of a 1-Lipschitz function h, so it never exceeds the exact W1 of
wasserstein_1d or assignment_emd between the points it is measured on);
closed forms (shifted Gaussians, a 2-D translation) and quadrature of
|Phi - Phi'|. The estimate is made on held-out points, where it is unbiased
for E_P h - E_Q h <= W1(P, Q): "not above W1 by more than 5 standard errors"
is then a theorem, "not below it by more than 5" the claim that the trained
critic is close to optimal. P = Q (W1 = 0) makes the held-out estimate
exactly unbiased and shows the in-sample one is not.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from dpm.wasserstein import assignment_emd, wasserstein_1d


def brute_force_envelope(points, values):
    distances = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)
    envelope = np.min(values[None, :] + distances, axis=1)
    distinct = distances > 0
    lipschitz = np.max(np.abs(values[:, None] - values[None, :])[distinct] / distances[distinct])
    return envelope, lipschitz


@pytest.mark.parametrize("d", [1, 2])
def test_lipschitz_envelope_matches_brute_force(d):
    from dpm.wasserstein import lipschitz_envelope
    rng = np.random.default_rng(50 + d)
    points = rng.normal(size=(300, d))
    points[7] = points[3]  # a repeated point: no division by a zero distance
    values = 3.0 * np.sin(2.0 * points[:, 0]) + rng.normal(scale=0.1, size=300)
    values[7] = values[3]
    envelope, lipschitz = lipschitz_envelope(points, values)
    expected_envelope, expected_lipschitz = brute_force_envelope(points, values)
    np.testing.assert_allclose(envelope, expected_envelope, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lipschitz, expected_lipschitz, rtol=1e-12)
    assert np.all(envelope <= values + 1e-12)
    _, envelope_lipschitz = brute_force_envelope(points, envelope)
    assert envelope_lipschitz <= 1 + 1e-9
    # a function that is already 1-Lipschitz is left as it is
    gentle = 0.6 * points[:, 0] + 0.3 * np.cos(points[:, -1])
    np.testing.assert_allclose(lipschitz_envelope(points, gentle)[0], gentle, rtol=1e-12, atol=1e-12)
    # away from the points (how a critic reaches held-out points): the same cones
    queries = rng.normal(scale=1.5, size=(200, d))
    queries[:3] = points[:3]
    distances = np.linalg.norm(queries[:, None, :] - points[None, :, :], axis=-1)
    at_queries, _ = lipschitz_envelope(points, values, queries=queries)
    expected_at_queries = np.min(values[None, :] + distances, axis=1)
    np.testing.assert_allclose(at_queries, expected_at_queries, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(at_queries[:3], envelope[:3], rtol=1e-12, atol=1e-12)


def exact_w1_unequal_scales():
    """W1(N(0, 1), N(1, 2)) = int |Phi(t) - Phi((t - 1) / 2)| dt by quadrature,
    split where the CDFs cross (t = -1)."""
    from scipy import integrate

    def gap(t):
        return abs(scipy.stats.norm.cdf(t) - scipy.stats.norm.cdf(t, 1.0, 2.0))
    return sum(integrate.quad(gap, low, high, epsabs=1e-13)[0]
               for low, high in ((-np.inf, -1.0), (-1.0, np.inf)))


@pytest.mark.claim("W2")
def test_kr_critic_shifted_gaussians_held_out():
    # W1(N(0, 1), N(1.5, 1)) = 1.5. The estimate is the held-out mean gap of
    # a 1-Lipschitz h, unbiased for E_P h - E_Q h <= 1.5: never above 1.5 by
    # more than 5 standard errors (weak duality), and not below it by more
    # than 5 when the critic is near optimal (the claim).
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    rng = np.random.default_rng(60)
    x, y = rng.normal(0.0, 1.0, 2000), rng.normal(1.5, 1.0, 2000)
    result = kr_critic_w1(x, y, steps=150, rng=rng)
    assert result.w1 - 1.5 <= 5 * result.w1.stderr, (result.w1, result.w1.stderr)
    assert 1.5 - result.w1 <= 5 * result.w1.stderr, (result.w1, result.w1.stderr)


@pytest.mark.claim("W2")
def test_kr_critic_weak_duality_on_the_points_it_is_measured_on():
    # h is 1-Lipschitz everywhere, so its gap on any two point sets is at
    # most the exact W1 between their empirical distributions: on fresh
    # points for the held-out estimate; on x, y themselves in-sample
    # (holdout=0), where the lecture's gap / K obeys it too.
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    rng = np.random.default_rng(66)
    x, y = rng.normal(0.0, 1.0, 1000), rng.normal(1.0, 2.0, 1000)
    x_fresh, y_fresh = rng.normal(0.0, 1.0, 800), rng.normal(1.0, 2.0, 600)
    held_out = kr_critic_w1(x, y, steps=100, rng=rng, fresh=(x_fresh, y_fresh))
    assert held_out.w1 <= wasserstein_1d(x_fresh, y_fresh) + 1e-12
    exact = exact_w1_unequal_scales()
    assert held_out.w1 - exact <= 5 * held_out.w1.stderr, (held_out.w1, exact, held_out.w1.stderr)
    in_sample = kr_critic_w1(x, y, steps=100, rng=rng, holdout=0.0)
    assert float(in_sample.w1) == in_sample.w1_train
    assert in_sample.w1 <= wasserstein_1d(x, y) + 1e-12
    assert in_sample.gap / in_sample.lipschitz <= wasserstein_1d(x, y) + 1e-12  # the lecture's (1/K) form


@pytest.mark.claim("W2")
def test_kr_critic_held_out_is_unbiased_where_in_sample_is_not():
    # P = Q = N(0, 1): W1 = 0 and E_P h - E_Q h = 0 for every h, so the
    # held-out estimate has mean exactly 0. On 20 + 20 training points the
    # critic overfits: its in-sample gap (w1_train) is biased upward. Both
    # checked over R independent fits by the replicas' own spread.
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    rng = np.random.default_rng(65)
    replicas = 20
    runs = [kr_critic_w1(rng.normal(size=40), rng.normal(size=40), hidden=(16, 16), steps=100,
                         batch_size=64, lr=1e-2, rng=rng) for _ in range(replicas)]
    held_out = np.array([float(r.w1) for r in runs])
    in_sample = np.array([r.w1_train for r in runs])
    assert abs(held_out.mean()) <= 5 * held_out.std(ddof=1) / np.sqrt(replicas), held_out
    assert in_sample.mean() > 5 * in_sample.std(ddof=1) / np.sqrt(replicas), in_sample


@pytest.mark.claim("W2")
@pytest.mark.slow
def test_kr_critic_stderr_matches_the_spread_of_replicas():
    # The 5-standard-error tests trust result.w1.stderr, the two-sample standard
    # error on the held-out points. Over R independent data sets and
    # trainings the sample variance of w1 over the mean reported stderr^2
    # should be about chi-square(R - 1) / (R - 1) (plus the spread of
    # E_P h - E_Q h between fits, small near the optimum); the bounds are its
    # 1e-6 quantiles. (The in-sample stderr it replaced gave a ratio of 0.78.)
    pytest.importorskip("minigrad.nn")
    from scipy import stats
    from dpm.wasserstein import kr_critic_w1
    rng = np.random.default_rng(64)
    replicas = 30
    runs = [kr_critic_w1(rng.normal(0.0, 1.0, 500), rng.normal(1.5, 1.0, 500), steps=150, rng=rng)
            for _ in range(replicas)]
    w1 = np.array([float(r.w1) for r in runs])
    ratio = w1.var(ddof=1) / np.mean([r.w1.stderr ** 2 for r in runs])
    low, high = stats.chi2.ppf([1e-6, 1 - 1e-6], replicas - 1) / (replicas - 1)
    assert low <= ratio <= high, (ratio, low, high)


@pytest.mark.claim("W2")
@pytest.mark.slow
def test_kr_critic_unequal_scales_against_quadrature():
    # W1(N(0, 1), N(1, 2)) by quadrature of |F - G|: the CDFs cross, so the
    # optimal critic is not monotone.
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    exact = exact_w1_unequal_scales()
    rng = np.random.default_rng(61)
    x, y = rng.normal(0.0, 1.0, 3000), rng.normal(1.0, 2.0, 3000)
    result = kr_critic_w1(x, y, steps=1000, rng=rng)
    assert result.w1 - exact <= 5 * result.w1.stderr, (result.w1, exact, result.w1.stderr)
    assert exact - result.w1 <= 5 * result.w1.stderr, (result.w1, exact, result.w1.stderr)


@pytest.mark.claim("W2")
@pytest.mark.slow
def test_kr_critic_two_dimensional_translation():
    # A translation by m moves every point by ||m||: W1 = ||m|| = sqrt(5).
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    rng = np.random.default_rng(62)
    x = rng.normal(size=(1000, 2))
    y = rng.normal(size=(1000, 2)) + [2.0, 1.0]
    x_fresh, y_fresh = rng.normal(size=(500, 2)), rng.normal(size=(500, 2)) + [2.0, 1.0]
    result = kr_critic_w1(x, y, steps=600, rng=rng, fresh=(x_fresh, y_fresh))
    assert result.w1 <= assignment_emd(x_fresh, y_fresh)[0] + 1e-9
    assert result.w1 - np.sqrt(5.0) <= 5 * result.w1.stderr, (result.w1, result.w1.stderr)
    assert np.sqrt(5.0) - result.w1 <= 5 * result.w1.stderr, (result.w1, result.w1.stderr)


@pytest.mark.claim("W2")
@pytest.mark.parametrize("penalty", ["clip", "two-sided"])
def test_kr_critic_other_constraints_keep_the_bound(penalty):
    # Whatever the constraint, the estimate is the gap of a 1-Lipschitz
    # function, so weak duality bounds it by the exact empirical W1 (here
    # in-sample, holdout=0).
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    rng = np.random.default_rng(63)
    x, y = rng.normal(0.0, 1.0, 500), rng.normal(1.0, 1.0, 400)
    result = kr_critic_w1(x, y, hidden=(16, 16), steps=50, rng=rng, penalty=penalty, clip=0.05,
                          holdout=0.0)
    if penalty == "clip":
        assert all(np.abs(p.data).max() <= 0.05 for p in result.critic.parameters())
    assert result.w1 <= wasserstein_1d(x, y) + 1e-12


@pytest.mark.parametrize("kwargs, match", [
    (dict(penalty="spectral"), "penalty must be"),
    (dict(steps=0), "steps must be a positive integer"),
    (dict(lr=-1.0), "lr must be a finite number > 0"),
    (dict(y=np.zeros((5, 2))), "same dimension"),
    (dict(holdout=1.0), "holdout must be a fraction"),
    (dict(holdout=0.1), "need at least 2 held out"),
    (dict(fresh=np.zeros(5)), "fresh must be a pair"),
    (dict(fresh=(np.zeros(5), np.zeros((5, 2)))), r"fresh\[1\] must hold at least 2 points"),
])
def test_kr_critic_invalid_arguments(kwargs, match):
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    arguments = dict(x=np.zeros(5), y=np.ones(5), steps=1)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        kr_critic_w1(**arguments)
