"""dpm.wasserstein.emd and assignment_emd (claim W1) against independent LP solutions.

Oracles: a dense `linprog` formulation of the transport LP written here (and
its dual, for strong duality), the 1-D quantile formula and
`scipy.stats.wasserstein_distance` on a line, and `linear_sum_assignment`
for uniform masses. Related: test_sinkhorn.py (the entropic version),
test_wasserstein_1d.py (the sorted 1-D path), test_wasserstein_inputs.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from scipy.optimize import linear_sum_assignment, linprog

from dpm.wasserstein import assignment_emd, cost_matrix, emd, wasserstein_1d
from reference_tests._transport_cases import random_problem


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
    # An oracle that is not an LP solver (emd and both LPs above run HiGHS):
    # the masses are tenths, so split each point into 10 a_i (10 b_j) units of
    # mass 1/10. The transport polytope with integer marginals has integer
    # vertices (its constraint matrix is totally unimodular), so an optimal
    # plan moves whole units and the EMD is the 10 x 10 assignment cost / 10,
    # solved by linear_sum_assignment (Jonker-Volgenant).
    units_x = np.repeat(np.arange(3), np.rint(10 * a).astype(int))
    units_y = np.repeat(np.arange(4), np.rint(10 * b).astype(int))
    unit_cost = cost[np.ix_(units_x, units_y)]
    rows, cols = linear_sum_assignment(unit_cost)
    np.testing.assert_allclose(value, unit_cost[rows, cols].sum() / 10, rtol=1e-12)


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
