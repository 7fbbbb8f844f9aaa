"""dpm.wasserstein against independent references: scipy.stats, linprog, closed forms.

Oracles: `scipy.stats.wasserstein_distance` (1-D W1), a dense `linprog`
formulation of the transport LP written here (and its dual), the 1-D
quantile formula, `linear_sum_assignment`, closed forms for point masses and
shifted Gaussians, and central finite differences for the Tensor path.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from scipy.optimize import linear_sum_assignment, linprog

from dpm import _transport_kernels as kernels
from dpm.wasserstein import assignment_emd, cost_matrix, emd, sinkhorn, wasserstein_1d


def dense_transport_lp(a, b, cost):
    """The transport LP written independently: dense constraints, column-major P."""
    n, m = cost.shape
    # variable k = j * n + i holds P_ij (column-major, unlike dpm's row-major)
    a_eq = np.zeros((n + m, n * m))
    for i in range(n):
        for j in range(m):
            a_eq[i, j * n + i] = 1.0
            a_eq[n + j, j * n + i] = 1.0
    result = linprog(cost.T.ravel(), A_eq=a_eq, b_eq=np.concatenate([a, b]),
                     bounds=(0, None), method="highs-ds")
    assert result.status == 0, result.message
    return result.fun, result.x.reshape(m, n).T


def dual_transport_lp(a, b, cost):
    """max a.u + b.v subject to u_i + v_j <= C_ij (the Kantorovich dual LP)."""
    n, m = cost.shape
    a_ub = np.zeros((n * m, n + m))
    for i in range(n):
        for j in range(m):
            a_ub[i * m + j, i] = a_ub[i * m + j, n + j] = 1.0
    result = linprog(-np.concatenate([a, b]), A_ub=a_ub, b_ub=cost.ravel(),
                     bounds=(None, None), method="highs-ipm")
    assert result.status == 0, result.message
    return -result.fun


def random_problem(rng, n, m, d=2):
    a, b = rng.random(n) + 0.05, rng.random(m) + 0.05
    a, b = a / a.sum(), b / b.sum()
    return a, b, cost_matrix(rng.normal(size=(n, d)), rng.normal(size=(m, d)))


# --- W1: the lecture's 3-by-4 masses example ---------------------------------

@pytest.mark.claim("W1")
def test_emd_three_by_four_masses_example():
    # The lecture (004, III.1) moves masses a_1..a_3 at x_1..x_3 onto masses
    # b_1..b_4 at y_1..y_4 with cost d(x, y) = ||x - y||, but gives no numbers;
    # we pick some and check against two independent LP solutions.
    x = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 0.5]])
    y = np.array([[0.5, 1.0], [2.0, 2.0], [3.0, -1.0], [-1.0, 0.5]])
    a = np.array([0.5, 0.3, 0.2])
    b = np.array([0.1, 0.4, 0.3, 0.2])
    cost = cost_matrix(x, y)
    np.testing.assert_allclose(cost[1, 0], np.hypot(0.5, 1.0))
    value, plan = emd(a, b, cost)
    primal, primal_plan = dense_transport_lp(a, b, cost)
    np.testing.assert_allclose(value, primal, rtol=1e-9)
    np.testing.assert_allclose(value, dual_transport_lp(a, b, cost), rtol=1e-7)  # strong duality
    np.testing.assert_allclose(value, np.sum(plan * cost), rtol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-12)
    assert plan.min() >= 0
    # the lecture's reading: the plan is a joint distribution with marginals a, b
    np.testing.assert_allclose(plan.sum(), 1.0, atol=1e-12)


@pytest.mark.claim("W1")
def test_emd_three_by_four_on_a_line_equals_quantile_formula():
    # On the real line W1 also equals int |F^-1 - G^-1|, a third oracle.
    x, y = np.array([0.0, 1.0, 3.0]), np.array([0.5, 2.0, 3.0, -1.0])
    a, b = np.array([0.5, 0.3, 0.2]), np.array([0.1, 0.4, 0.3, 0.2])
    value, _ = emd(a, b, cost_matrix(x, y))
    np.testing.assert_allclose(value, scipy.stats.wasserstein_distance(x, y, a, b), rtol=1e-10)
    np.testing.assert_allclose(value, wasserstein_1d(x, y, a, b), rtol=1e-10)


@pytest.mark.claim("W1")
@pytest.mark.parametrize("seed, n, m", [(0, 4, 6), (1, 7, 3), (2, 10, 10), (3, 1, 5), (4, 12, 9)])
def test_emd_matches_independent_linprog(seed, n, m):
    rng = np.random.default_rng(seed)
    a, b, cost = random_problem(rng, n, m)
    value, plan = emd(a, b, cost)
    primal, _ = dense_transport_lp(a, b, cost)
    np.testing.assert_allclose(value, primal, rtol=1e-9)
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-10)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-10)
    np.testing.assert_allclose(np.sum(plan * cost), value, rtol=1e-10)


def test_emd_zero_masses_and_unnormalised_totals():
    rng = np.random.default_rng(5)
    a, b, cost = random_problem(rng, 5, 6)
    a[2], b[0] = 0.0, 0.0
    a, b = 3 * a / a.sum(), 3 * b / b.sum()  # total mass 3, not 1
    value, plan = emd(a, b, cost)
    np.testing.assert_allclose(value, dense_transport_lp(a, b, cost)[0], rtol=1e-9)
    assert np.all(plan[2] == 0) and np.all(plan[:, 0] == 0)


@pytest.mark.claim("W1")
@pytest.mark.parametrize("seed", [0, 1])
def test_emd_uniform_equal_sizes_is_an_assignment(seed):
    rng = np.random.default_rng(seed)
    n = 15
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 0.5
    cost = cost_matrix(x, y)
    uniform = np.full(n, 1 / n)
    rows, cols = linear_sum_assignment(cost)
    assignment = cost[rows, cols].mean()
    lp_value, _ = emd(uniform, uniform, cost, method="linprog")
    fast_value, fast_plan = emd(uniform, uniform, cost)
    np.testing.assert_allclose(lp_value, assignment, rtol=1e-9)
    np.testing.assert_allclose(fast_value, assignment, rtol=1e-12)
    np.testing.assert_allclose(fast_plan.sum(axis=0), uniform, atol=1e-15)
    w1, matching = assignment_emd(x, y)
    np.testing.assert_allclose(w1, assignment, rtol=1e-12)
    assert sorted(matching) == list(range(n))
    w2, _ = assignment_emd(x, y, p=2)
    lp_squared, _ = emd(uniform, uniform, cost_matrix(x, y, p=2), method="linprog")
    np.testing.assert_allclose(w2, np.sqrt(lp_squared), rtol=1e-9)


# --- wasserstein_1d ----------------------------------------------------------

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


# --- W3: the parallel lines, and gradients through the sort ------------------

@pytest.mark.claim("W3")
@pytest.mark.parametrize("theta", [-0.7, -1e-3, 0.25, 2.0])
def test_parallel_lines_w1_is_abs_theta_with_gradient_sign(theta):
    minigrad = pytest.importorskip("minigrad")
    rng = np.random.default_rng(30)
    u = rng.random(200)
    shift = minigrad.Tensor(theta, requires_grad=True)
    data = np.stack([np.zeros_like(u), u], axis=1)                         # (0, U[0, 1])
    model = minigrad.Tensor(data) + shift * minigrad.Tensor([1.0, 0.0])   # (theta, U[0, 1])
    w1, matching = assignment_emd(data, model)
    w1.backward()
    np.testing.assert_allclose(w1.item(), abs(theta), rtol=1e-12)
    np.testing.assert_allclose(shift.grad, np.sign(theta), rtol=1e-12)
    # The first coordinates alone carry the whole distance (1-D path).
    shift.grad = None
    w1_line = wasserstein_1d(np.zeros(200), shift * minigrad.Tensor(np.ones(200)))
    w1_line.backward()
    np.testing.assert_allclose(w1_line.item(), abs(theta), rtol=1e-12)
    np.testing.assert_allclose(shift.grad, np.sign(theta), rtol=1e-12)


@pytest.mark.claim("W3")
def test_parallel_lines_w1_is_continuous_in_theta():
    # |theta| -> 0 as theta -> 0 (where KL = inf and JSD = log 2 stay put).
    u = np.random.default_rng(31).random(100)
    data = np.stack([np.zeros_like(u), u], axis=1)
    thetas = [1.0, 0.1, 1e-3, 1e-6, 0.0]
    values = [assignment_emd(data, data + [t, 0.0])[0] for t in thetas]
    np.testing.assert_allclose(values, thetas, rtol=1e-9, atol=1e-15)


@pytest.mark.claim("W3")
@pytest.mark.parametrize("p", [1, 2])
def test_wasserstein_1d_tensor_gradient_matches_finite_differences(p):
    minigrad = pytest.importorskip("minigrad")
    rng = np.random.default_rng(32 + p)
    x, y = rng.normal(size=12), rng.normal(0.3, 2.0, size=12)
    samples = minigrad.Tensor(x, requires_grad=True)
    wasserstein_1d(samples, y, p=p).backward()
    eps = 1e-6
    numeric = np.array([(wasserstein_1d(x + eps * e, y, p=p) - wasserstein_1d(x - eps * e, y, p=p)) / (2 * eps)
                        for e in np.eye(12)])
    np.testing.assert_allclose(samples.grad, numeric, rtol=1e-6, atol=1e-9)


# --- Sinkhorn ----------------------------------------------------------------

@pytest.mark.claim("W1")
def test_sinkhorn_tends_to_emd_as_reg_falls():
    rng = np.random.default_rng(40)
    n, m = 12, 9
    a, b, cost = random_problem(rng, n, m)
    exact, _ = emd(a, b, cost)
    tol = 1e-10
    regs = [1.0, 0.3, 0.1, 0.03, 0.01, 0.003]
    values = [sinkhorn(a, b, cost, reg, n_iter=200_000, tol=tol) for reg in regs]
    # <P_reg, C> is non-decreasing in reg (compare the two optimality
    # conditions) and 0 <= <P_reg, C> - emd <= reg log(n m) (entropy bounds);
    # slack tol * max C covers the stopping rule's marginal error.
    slack = tol * cost.max()
    assert np.all(np.diff(values) <= slack), values
    for reg, value in zip(regs, values):
        assert -slack <= value - exact <= reg * np.log(n * m) + slack, (reg, value, exact)
    assert values[-1] - exact < 1e-3 * exact


def test_sinkhorn_plan_marginals_and_mass_scaling():
    rng = np.random.default_rng(41)
    a, b, cost = random_problem(rng, 30, 20)
    a[3] = b[7] = 0.0
    a, b = 2.5 * a / a.sum(), 2.5 * b / b.sum()
    value, plan = sinkhorn(a, b, cost, 0.05, tol=1e-11, return_plan=True)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-13)
    assert np.abs(plan.sum(axis=1) - a).sum() <= 2.5e-11
    assert np.all(plan[3] == 0) and np.all(plan[:, 7] == 0)
    np.testing.assert_allclose(value, np.sum(plan * cost), rtol=1e-12)
    np.testing.assert_allclose(value, 2.5 * sinkhorn(a / 2.5, b / 2.5, cost, 0.05, tol=1e-11), rtol=1e-9)


def test_sinkhorn_small_reg_stays_finite():
    # reg 1e-3 against costs of order 1: exp(-C/reg) underflows, logs do not.
    rng = np.random.default_rng(42)
    a, b, cost = random_problem(rng, 8, 8)
    value = sinkhorn(a, b, cost, 1e-3, n_iter=100_000, tol=1e-8)
    exact, _ = emd(a, b, cost)
    assert np.isfinite(value) and exact - 1e-7 <= value <= exact + 1e-3 * np.log(64)


def test_sinkhorn_warns_when_not_converged():
    rng = np.random.default_rng(43)
    a, b, cost = random_problem(rng, 10, 10)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        sinkhorn(a, b, cost, 0.01, n_iter=3)


@pytest.mark.skipif(not kernels.NUMBA_ENABLED, reason="Numba off: the kernel is plain Python "
                    "(minutes at these sizes) and sinkhorn runs the NumPy twin")
@pytest.mark.parametrize("n, m", [(150, 97), (300, 230)])  # one thread; the parallel path
def test_sinkhorn_kernel_matches_numpy_twin(n, m):
    # m is not a multiple of the kernel's column block of 64
    rng = np.random.default_rng(44)
    a, b, cost = random_problem(rng, n, m, d=3)
    log_a, log_b = np.log(a), np.log(b)
    results = []
    for loop in (kernels.sinkhorn_log_numba, kernels.sinkhorn_log_numpy):
        f, g = np.zeros(n), np.zeros(m)
        sweeps, error = loop(log_a, log_b, cost, 0.02, f, g, 40, 0.0)
        results.append((sweeps, error, f, g))
    (s1, e1, f1, g1), (s2, e2, f2, g2) = results
    assert s1 == s2 == 40
    np.testing.assert_allclose(e1, e2, rtol=1e-8)
    np.testing.assert_allclose(f1, f2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(kernels.transport_cost_numba(cost, f1, g1, 0.02),
                               kernels.transport_cost_numpy(cost, f1, g1, 0.02), rtol=1e-12)


def test_exp_finite_matches_numpy_exp():
    rng = np.random.default_rng(45)
    x = np.concatenate([-rng.random(100_000) * 760, -rng.random(10_000), rng.random(1000) * 709,
                        -np.logspace(-300, 2, 1000), [0.0, -708.4, -745.0, -746.0, -1e300, 709.0]])
    ours, reference = kernels.exp_finite_array(x), np.exp(x)
    normal = reference >= np.finfo(float).tiny
    # documented bound: relative (|x| + 3) * 1.2e-16 for normal results,
    # absolute 2.3e-16 for x <= 0 (subnormal results lose bits, as they must)
    assert np.all(np.abs(ours - reference)[normal] <= (np.abs(x[normal]) + 3) * 1.2e-16 * reference[normal])
    assert np.all(np.abs(ours - reference)[x <= 0] <= 2.3e-16)
    assert np.all(ours >= 0)


# --- invalid input -----------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: wasserstein_1d([], [1.0]), "x must be a non-empty"),
    (lambda: wasserstein_1d([1.0, np.nan], [1.0]), "x must be finite"),
    (lambda: wasserstein_1d([[1.0, 2.0]], [1.0]), "must be 1-D"),
    (lambda: wasserstein_1d([1.0], [2.0], x_weights=[-1.0]), "x_weights must be finite and >= 0"),
    (lambda: wasserstein_1d([1.0], [2.0], y_weights=[0.0]), "y_weights must not be all zero"),
    (lambda: wasserstein_1d([1.0, 2.0], [2.0], x_weights=[1.0]), "one mass per sample"),
    (lambda: wasserstein_1d([1.0], [2.0], p=0.5), "p must be a finite number >= 1"),
    (lambda: cost_matrix(np.ones((2, 2)), np.ones((2, 3))), "same dimension"),
    (lambda: emd([0.5, 0.5], [0.5, 0.6], np.ones((2, 2))), "same total mass"),
    (lambda: emd([0.5, 0.5], [1.0], np.ones((2, 2))), r"shape \(len\(a\), len\(b\)\)"),
    (lambda: emd([0.5, 0.5], [1.0], [[0.0], [np.inf]]), "cost must be finite"),
    (lambda: emd([1.5, -0.5], [1.0], [[0.0], [1.0]]), "a must be finite and >= 0"),
    (lambda: emd([0.5, 0.5], [0.3, 0.7], np.ones((2, 2)), method="assignment"), "uniform masses"),
    (lambda: emd([1.0], [1.0], [[0.0]], method="simplex"), "method must be"),
    (lambda: assignment_emd(np.ones(3), np.ones(4)), "same number of points"),
    (lambda: sinkhorn([1.0], [1.0], [[0.0]], reg=0.0), "reg must be a finite number > 0"),
    (lambda: sinkhorn([1.0], [1.0], [[0.0]], reg=1.0, n_iter=0), "n_iter must be a positive integer"),
])
def test_invalid_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- W2: the Kantorovich-Rubinstein critic -----------------------------------

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


@pytest.mark.claim("W2")
def test_kr_critic_lower_bound_and_shifted_gaussians():
    # W1(N(0, 1), N(1.5, 1)) = 1.5. The critic's estimate is the sample-mean
    # gap of a 1-Lipschitz function, so (i) it never exceeds the exact W1 of
    # the empirical distributions (weak duality) and (ii) as a Monte Carlo
    # mean it lies within 5 of its standard errors of E_P h - E_Q h <= 1.5,
    # reaching 1.5 when the critic is optimal.
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    rng = np.random.default_rng(60)
    x, y = rng.normal(0.0, 1.0, 2000), rng.normal(1.5, 1.0, 2000)
    result = kr_critic_w1(x, y, steps=150, rng=rng)
    assert result.w1 <= wasserstein_1d(x, y) + 1e-12
    assert abs(result.w1 - 1.5) <= 5 * result.stderr, (result.w1, result.stderr)
    assert result.gap / result.lipschitz <= wasserstein_1d(x, y) + 1e-12  # the lecture's (1/K) form


@pytest.mark.claim("W2")
@pytest.mark.slow
def test_kr_critic_unequal_scales_against_quadrature():
    # W1(N(0, 1), N(1, 2)) = int |Phi(t) - Phi((t - 1) / 2)| dt by quadrature:
    # the CDFs cross, so the optimal critic is not monotone.
    pytest.importorskip("minigrad.nn")
    from scipy import integrate
    from dpm.wasserstein import kr_critic_w1
    exact, _ = integrate.quad(lambda t: abs(scipy.stats.norm.cdf(t) - scipy.stats.norm.cdf(t, 1.0, 2.0)),
                              -np.inf, np.inf, epsabs=1e-12)
    rng = np.random.default_rng(61)
    x, y = rng.normal(0.0, 1.0, 3000), rng.normal(1.0, 2.0, 3000)
    result = kr_critic_w1(x, y, steps=1000, rng=rng)
    assert result.w1 <= wasserstein_1d(x, y) + 1e-12
    assert abs(result.w1 - exact) <= 5 * result.stderr, (result.w1, exact, result.stderr)


@pytest.mark.claim("W2")
@pytest.mark.slow
def test_kr_critic_two_dimensional_translation():
    # A translation by m moves every point by ||m||: W1 = ||m|| = sqrt(5).
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    rng = np.random.default_rng(62)
    x = rng.normal(size=(1000, 2))
    y = rng.normal(size=(1000, 2)) + [2.0, 1.0]
    result = kr_critic_w1(x, y, steps=600, rng=rng)
    assert result.w1 <= assignment_emd(x, y)[0] + 1e-9
    assert abs(result.w1 - np.sqrt(5.0)) <= 5 * result.stderr, (result.w1, result.stderr)


@pytest.mark.claim("W2")
@pytest.mark.parametrize("penalty", ["clip", "two-sided"])
def test_kr_critic_other_constraints_keep_the_bound(penalty):
    # Whatever the constraint, the estimate is the gap of a 1-Lipschitz
    # function, so weak duality bounds it by the exact empirical W1.
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    rng = np.random.default_rng(63)
    x, y = rng.normal(0.0, 1.0, 500), rng.normal(1.0, 1.0, 400)
    result = kr_critic_w1(x, y, hidden=(16, 16), steps=50, rng=rng, penalty=penalty, clip=0.05)
    if penalty == "clip":
        assert all(np.abs(p.data).max() <= 0.05 for p in result.critic.parameters())
    assert result.w1 <= wasserstein_1d(x, y) + 1e-12


@pytest.mark.parametrize("kwargs, match", [
    (dict(penalty="spectral"), "penalty must be"),
    (dict(steps=0), "steps must be a positive integer"),
    (dict(lr=-1.0), "lr must be a finite number > 0"),
    (dict(y=np.zeros((5, 2))), "same dimension"),
])
def test_kr_critic_invalid_arguments(kwargs, match):
    pytest.importorskip("minigrad.nn")
    from dpm.wasserstein import kr_critic_w1
    arguments = dict(x=np.zeros(5), y=np.ones(5), steps=1)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        kr_critic_w1(**arguments)
