"""Where KL and JS break and Wasserstein does not (K8), and the convergence hierarchy (K9).

K8 (lecture 001, "Wasserstein distance vs KL vs JSD"): P = (0, Z), Q = (theta, Z),
Z ~ U[0, 1]. For theta != 0 the supports are disjoint segments, so
KL(P||Q) = KL(Q||P) = inf, JSD = log 2 and W1 = |theta|. Oracles: the
definitions (disjoint supports give dP/dM = 2 on supp P), the lower bound
||x - y|| >= |x_1 - y_1| = |theta| for every coupling, which the coupling
(0, z) -> (theta, z) attains, and 1-D reductions with closed forms.

K9 (lecture 004, Arjovsky, Chintala & Bottou 2017, thm 2): KL -> 0 implies
JSD -> 0 implies W1 -> 0, not conversely. The steps of the proof are
checked numerically, each with an independent closed form or quadrature:
TV <= sqrt(KL / 2) (Pinsker), JSD <= log 2 TV, TV <= sqrt(2 JSD),
JSD <= (KL(P||Q) + KL(Q||P)) / 4 (convexity of KL in its second argument)
and W1 <= diam * TV on a bounded support; then a sequence that converges
in W1 only (the parallel lines at theta_n = 1/n).
"""
import numpy as np
import pytest
from scipy import integrate, stats

import minigrad as mg
from dpm import quadrature
from dpm.datasets import ParallelLine, parallel_lines
from dpm.distributions import Normal, Uniform
from dpm.divergences import js_divergence, kl
from dpm.wasserstein import assignment_emd, cost_matrix, emd, wasserstein_1d

LOG2 = np.log(2.0)
THETAS = [-1.0, -0.3, 0.05, 0.5, 2.0]


# ------------------------------------------------------------------------ K8
@pytest.mark.claim("K8")
@pytest.mark.parametrize("theta", THETAS)
def test_parallel_lines_kl_is_infinite_both_ways(theta):
    rng = np.random.default_rng(0)
    p, q = ParallelLine(0.0), ParallelLine(theta)
    # Every draw of P has q = 0: log p - log q = +inf for all of them.
    assert float(kl(p, q, 50, rng)) == np.inf and float(kl(q, p, 50, rng)) == np.inf
    assert float(kl(p, ParallelLine(0.0), 50, rng)) == 0.0
    # The 1-D reduction smoothed to width eps: KL(U(-eps, eps) || U(theta - eps,
    # theta + eps)) is inf as soon as the supports are not nested (any theta != 0),
    # and KL(N(0, eps) || N(theta, eps)) = theta^2 / (2 eps^2) grows without bound.
    for eps in (0.1, 0.01):
        assert quadrature.kl(Uniform(-eps, eps), Uniform(theta - eps, theta + eps)) == np.inf
        value = quadrature.kl(Normal(0.0, eps), Normal(theta, eps))
        assert value == pytest.approx(theta ** 2 / (2 * eps ** 2), rel=1e-8)


@pytest.mark.claim("K8", "K5")
@pytest.mark.parametrize("theta", THETAS)
def test_parallel_lines_jsd_is_log_2(theta):
    # Monte Carlo from the laws' densities (w.r.t. counting x Lebesgue): every
    # draw has log p - log m = log 2, so the estimate is exact with zero spread.
    estimate = js_divergence(ParallelLine(0.0), ParallelLine(theta), 50, np.random.default_rng(1))
    assert float(estimate) == pytest.approx(LOG2, abs=1e-15) and estimate.stderr == 0.0
    # The smoothed 1-D reduction: JS(U(-e, e), U(theta - e, theta + e)) = log 2 min(|theta| / 2e, 1)
    # (only the non-overlapping pieces count), log 2 once e < |theta| / 2.
    for eps in (1.0, 0.3, 0.01):
        expected = LOG2 * min(abs(theta) / (2 * eps), 1.0)
        value = quadrature.js(Uniform(-eps, eps), Uniform(theta - eps, theta + eps))
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # Gaussian smoothing tends to log 2 as the width shrinks: JS(N(0, e), N(theta, e))
    # is a function of |theta| / e alone, checked against scipy.quad.
    for eps in (0.5, abs(theta) / 20):
        a, b = stats.norm(0.0, eps), stats.norm(theta, eps)
        def integrand(x):
            m = 0.5 * (a.pdf(x) + b.pdf(x))
            return 0.5 * sum(d.pdf(x) * np.log(d.pdf(x) / m) for d in (a, b) if d.pdf(x) > 0)
        lo, hi = min(0.0, theta) - 12 * eps, max(0.0, theta) + 12 * eps
        expected = integrate.quad(integrand, lo, hi, points=[0.0, theta], limit=200)[0]
        assert quadrature.js(Normal(0.0, eps), Normal(theta, eps)) == pytest.approx(
            expected, rel=1e-7, abs=1e-12)
    assert quadrature.js(Normal(0.0, abs(theta) / 40), Normal(theta, abs(theta) / 40)) \
        == pytest.approx(LOG2, abs=1e-12)


@pytest.mark.claim("K8")
@pytest.mark.parametrize("theta", THETAS + [0.0])
def test_parallel_lines_w1_is_abs_theta(theta):
    n = 200
    # Common Z: the coupling (0, z_i) -> (theta, z_i) costs |theta|, and no
    # coupling costs less since ||x - y|| >= |x_1 - y_1|: the exact optimum.
    x = parallel_lines(0.0, n, np.random.default_rng(2))
    y = parallel_lines(theta, n, np.random.default_rng(2))
    value, plan = emd(np.full(n, 1 / n), np.full(n, 1 / n), cost_matrix(x, y))
    assert value == pytest.approx(abs(theta), rel=1e-12, abs=1e-15)
    # Independent Z: |theta| <= W1(empirical) <= the sorted-Z coupling's cost.
    y_ind = parallel_lines(theta, n, np.random.default_rng(3))
    value_ind, _ = emd(np.full(n, 1 / n), np.full(n, 1 / n), cost_matrix(x, y_ind))
    gaps = np.sort(x[:, 1]) - np.sort(y_ind[:, 1])
    assert abs(theta) - 1e-12 <= value_ind <= np.mean(np.hypot(theta, gaps)) + 1e-12
    # The first coordinates alone, by the exact 1-D W1.
    assert wasserstein_1d(x[:, 0], y_ind[:, 0]) == pytest.approx(abs(theta), abs=1e-15)


@pytest.mark.claim("K8")
@pytest.mark.parametrize("theta", [-0.7, 0.2, 1.5])
def test_parallel_lines_only_w1_has_a_gradient(theta):
    # d W1 / d theta = sign(theta): through the optimal matching (envelope
    # theorem), with common Z so that the empirical W1 is exactly |theta|.
    theta_t = mg.Tensor(theta, requires_grad=True)
    x = ParallelLine(0.0).sample((100,), np.random.default_rng(4))
    y = ParallelLine(theta_t).rsample((100,), np.random.default_rng(4))
    w1, _ = assignment_emd(x, y)
    w1.backward()
    assert float(w1.data) == pytest.approx(abs(theta), rel=1e-12)
    assert float(theta_t.grad) == pytest.approx(np.sign(theta), rel=1e-12)
    # JSD and KL are constant in theta != 0: central differences of the
    # estimates (common random numbers) are exactly 0, and KL is inf on both sides.
    h = 1e-3
    js_plus, js_minus = (float(js_divergence(ParallelLine(0.0), ParallelLine(theta + s),
                                             20, np.random.default_rng(5))) for s in (h, -h))
    assert (js_plus - js_minus) / (2 * h) == 0.0
    kl_plus, kl_minus = (float(kl(ParallelLine(0.0), ParallelLine(theta + s), 20,
                                  np.random.default_rng(5))) for s in (h, -h))
    assert kl_plus == kl_minus == np.inf  # inf on both sides: no derivative to speak of


# ------------------------------------------------------------------------ K9
def normal_sequence(n):
    """P_n = N(1/n, 1) -> P = N(0, 1): KL both ways = 1/(2 n^2), TV = 2 Phi(1/(2n)) - 1, W1 = 1/n."""
    return Normal(1.0 / n, 1.0), Normal(0.0, 1.0)


@pytest.mark.claim("K9")
def test_hierarchy_on_shifted_normals():
    ns = [1, 2, 4, 8, 16, 64]
    kls, jsds, w1s = [], [], []
    u = (np.arange(2000) + 0.5) / 2000  # quantile levels: W1 of the quantile coupling
    for n in ns:
        p_n, p = normal_sequence(n)
        kl_forward, kl_reverse = quadrature.kl(p_n, p), quadrature.kl(p, p_n)
        assert kl_forward == pytest.approx(1 / (2 * n ** 2), rel=1e-8)
        assert kl_reverse == pytest.approx(1 / (2 * n ** 2), rel=1e-8)
        jsd = quadrature.js(p_n, p)
        tv = 2 * stats.norm.cdf(1 / (2 * n)) - 1  # equal scales: the densities cross at 1/(2n)
        assert quadrature.f_divergence(p_n, p, "total_variation") == pytest.approx(tv, rel=1e-8)
        assert tv <= np.sqrt(kl_forward / 2)                   # Pinsker
        assert jsd <= (kl_forward + kl_reverse) / 4            # KL(P||M) <= KL(P||Q)/2
        assert jsd <= LOG2 * tv                                # JSD <= log 2 TV
        assert tv <= np.sqrt(2 * jsd)                          # Pinsker on each half of JSD
        # W1 of a location shift is the shift; here from the exact 1-D W1 on quantiles.
        w1 = wasserstein_1d(stats.norm.ppf(u, 1 / n), stats.norm.ppf(u, 0.0))
        assert w1 == pytest.approx(1 / n, rel=1e-9)
        kls.append(kl_forward), jsds.append(jsd), w1s.append(w1)
    for values in (kls, jsds, w1s):  # all three fall towards 0 along the sequence
        assert np.all(np.diff(values) < 0) and values[-1] < 0.02


@pytest.mark.claim("K9")
def test_hierarchy_on_a_bounded_support_with_w1_below_diam_tv():
    # P = U(0, 1), P_n = U(0, c), c = 1 + 1/n: KL(P||P_n) = log c -> 0 (the other
    # direction is inf: one direction suffices), TV = 1 - 1/c, W1 = (c - 1)/2,
    # JSD = 1/2 [-log m + (1/c) log(1/(c m)) + (1 - 1/c) log 2], m = (1 + 1/c)/2.
    u = (np.arange(1000) + 0.5) / 1000
    previous = np.inf
    for n in (1, 3, 10, 30, 100):
        c = 1 + 1 / n
        p, p_n = Uniform(0.0, 1.0), Uniform(0.0, c)
        kl_value = quadrature.kl(p, p_n)
        assert kl_value == pytest.approx(np.log(c), rel=1e-10)
        assert quadrature.kl(p_n, p) == np.inf
        m = (1 + 1 / c) / 2
        jsd_exact = 0.5 * (-np.log(m) + np.log(1 / (c * m)) / c + (1 - 1 / c) * LOG2)
        jsd = quadrature.js(p, p_n)
        assert jsd == pytest.approx(jsd_exact, rel=1e-9)
        tv = quadrature.f_divergence(p, p_n, "total_variation")
        assert tv == pytest.approx(1 - 1 / c, rel=1e-9)
        w1 = wasserstein_1d(u, c * u)  # quantile functions u and c u
        assert w1 == pytest.approx((c - 1) / 2, rel=1e-12)
        assert tv <= np.sqrt(kl_value / 2) and jsd <= LOG2 * tv and tv <= np.sqrt(2 * jsd)
        assert w1 <= c * tv  # diam of [0, c] times TV
        assert jsd < previous
        previous = jsd


@pytest.mark.claim("K9", "K8")
def test_parallel_lines_converge_in_w1_but_not_in_jsd_or_kl():
    # theta_n = 1/n: W1 = 1/n -> 0 while JSD = log 2 and KL = inf for every n.
    for n in (1, 10, 100, 1000):
        theta = 1.0 / n
        x = parallel_lines(0.0, 100, np.random.default_rng(6))
        y = parallel_lines(theta, 100, np.random.default_rng(6))
        w1, _ = assignment_emd(x, y)
        assert w1 == pytest.approx(theta, rel=1e-12)
        p, q = ParallelLine(0.0), ParallelLine(theta)
        assert float(js_divergence(p, q, 20, np.random.default_rng(7))) == pytest.approx(LOG2)
        assert float(kl(p, q, 20, np.random.default_rng(7))) == np.inf
        # The JSD stays at log 2 whatever the smoothing width below theta / 2.
        assert quadrature.js(Uniform(-theta / 4, theta / 4), Uniform(0.75 * theta, 1.25 * theta)) \
            == pytest.approx(LOG2, abs=1e-12)
