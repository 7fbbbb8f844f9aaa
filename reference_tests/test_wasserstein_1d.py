"""dpm.wasserstein.wasserstein_1d (sorted samples, quantile formula) against references.

Oracles: `scipy.stats.wasserstein_distance` (W1, weighted and not), the
transport LP of `emd` for p > 1, point masses, and the closed form
W1(N(m1, s), N(m2, s)) = |m1 - m2| within 5 standard errors. Gradients
through the sort: test_wasserstein_gradients.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from dpm.wasserstein import cost_matrix, emd, wasserstein_1d


@pytest.mark.parametrize("n, m, weighted", [(50, 50, False), (40, 73, False), (40, 73, True), (1, 9, True)])
def test_wasserstein_1d_matches_scipy(n, m, weighted):
    rng = np.random.default_rng(n + m)
    x, y = rng.normal(size=n), rng.standard_t(3, size=m) + 0.3
    wx = rng.random(n) if weighted else None
    wy = rng.random(m) if weighted else None
    np.testing.assert_allclose(wasserstein_1d(x, y, wx, wy),
                               scipy.stats.wasserstein_distance(x, y, wx, wy), rtol=1e-11)


def test_wasserstein_1d_zero_weights_and_ties():
    x = np.array([0.0, 1.0, 1.0, 5.0, 2.0])
    wx = np.array([0.2, 0.0, 0.3, 0.0, 0.5])
    y = np.array([1.0, 1.0, -2.0])
    wy = np.array([1.0, 2.0, 1.0])
    np.testing.assert_allclose(wasserstein_1d(x, y, wx, wy),
                               scipy.stats.wasserstein_distance(x, y, wx, wy), rtol=1e-12)
    # only zero-weight samples differ: the distributions are the same
    assert wasserstein_1d(x, x[[0, 2, 4]], wx, wx[[0, 2, 4]]) == 0.0


@pytest.mark.parametrize("p", [1, 2, 3])
def test_wasserstein_1d_p_matches_emd(p):
    rng = np.random.default_rng(10 + p)
    x, y = rng.normal(size=8), rng.exponential(size=11)
    wx, wy = rng.random(8), rng.random(11)
    value, _ = emd(wx / wx.sum(), wy / wy.sum(), cost_matrix(x, y, p=p))
    np.testing.assert_allclose(wasserstein_1d(x, y, wx, wy, p=p), value ** (1 / p), rtol=1e-9)
    # equal sizes, no weights: the sorted fast path
    value, _ = emd(np.full(8, 1 / 8), np.full(8, 1 / 8), cost_matrix(x, y[:8], p=p), method="linprog")
    np.testing.assert_allclose(wasserstein_1d(x, y[:8], p=p), value ** (1 / p), rtol=1e-9)


@pytest.mark.parametrize("p", [1, 2])
def test_wasserstein_1d_point_masses(p):
    assert wasserstein_1d([1.5], [-2.0], p=p) == 3.5
    assert wasserstein_1d([1.5, 1.5], [-2.0], [0.3, 0.7], [4.0], p=p) == 3.5


def test_wasserstein_1d_shifted_gaussians_closed_form():
    # W1(N(m1, s), N(m2, s)) = |m1 - m2|. With a shift of 3 s every sorted gap
    # y_(k) - x_(k) is positive (for n = 10^4 the extreme gaps are about
    # 3 s +- 0.5 s), so the empirical W1 equals mean(y) - mean(x) exactly,
    # whose standard error is s sqrt(2 / n).
    rng = np.random.default_rng(20)
    n, s = 10_000, 1.7
    x, y = rng.normal(0.4, s, size=n), rng.normal(0.4 + 3 * s, s, size=n)
    estimate = wasserstein_1d(x, y)
    assert estimate >= y.mean() - x.mean() - 1e-12  # f(t) = t is 1-Lipschitz
    assert abs(estimate - 3 * s) <= 5 * s * np.sqrt(2 / n)
