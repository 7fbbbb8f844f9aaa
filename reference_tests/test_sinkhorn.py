"""dpm.wasserstein.sinkhorn (log-domain, entropic OT, a relaxation of claim W1) and its kernels.

Oracles: the exact EMD (Sinkhorn's cost tends to it as reg falls, within
reg log(n m)), the plan's marginals, scaling of the total mass; the Numba
kernels of dpm/kernels/transport.py against their NumPy twins, on random
problems and on inputs aimed at the kernels' edges (row lengths around their
8 lanes and 64-column blocks, tied maxima, exponentials that underflow).
"""
from __future__ import annotations

import numpy as np
import pytest

from dpm.kernels import transport as kernels
from dpm.wasserstein import emd, sinkhorn
from reference_tests._transport_cases import random_problem


# Not marked W1 (the exact LP and the 3x4 example, test_emd.py): entropic OT only relaxes it.
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


def test_sinkhorn_plan_is_the_entropic_optimum_at_its_reg():
    # The test above bounds <P_reg, C> - emd by reg log(n m) only, which a
    # wrong reg (2 reg, reg / 2) still meets. Here the plan at a given reg is
    # pinned down: the optimum of <P, C> - reg H(P) over couplings of a, b is
    # the unique coupling with log P_ij = (f_i + g_j - C_ij) / reg (its KKT
    # conditions), so log P + C / reg must be a sum of a row and a column term;
    # and the cost must equal that of the plain matrix-scaling iteration
    # u = a / (K v), v = b / (K^T u), K = exp(-C / reg), written out here
    # (reg 0.1 against costs of order 1: K does not underflow).
    rng = np.random.default_rng(45)
    n, m, reg = 15, 11, 0.1
    a, b, cost = random_problem(rng, n, m)
    value, plan = sinkhorn(a, b, cost, reg, n_iter=100_000, tol=1e-13, return_plan=True)
    log_plan = np.log(plan) + cost / reg
    additive = (log_plan.mean(axis=1, keepdims=True) + log_plan.mean(axis=0, keepdims=True)
                - log_plan.mean())
    np.testing.assert_allclose(log_plan, additive, rtol=0, atol=1e-9)
    kernel = np.exp(-cost / reg)
    u, v = np.ones(n), np.ones(m)
    for _ in range(100_000):
        u = a / (kernel @ v)
        v_new = b / (kernel.T @ u)
        if np.max(np.abs(v_new - v) / v) < 1e-15:
            break
        v = v_new
    scaled = u[:, None] * kernel * v_new[None, :]
    np.testing.assert_allclose(scaled.sum(axis=1), a, rtol=1e-12)
    np.testing.assert_allclose(plan, scaled, rtol=1e-8, atol=1e-15)
    np.testing.assert_allclose(value, np.sum(scaled * cost), rtol=1e-10)


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


@pytest.mark.skipif(not kernels.NUMBA_ENABLED, reason="Numba off: sinkhorn runs the NumPy twin")
@pytest.mark.parametrize("n, m", [(1, 1), (1, 7), (2, 9), (5, 64), (3, 65), (17, 129), (260, 257)])
def test_sinkhorn_kernel_matches_numpy_twin_at_its_edges(n, m):
    # Row lengths below, at and around the 8 lanes of the row reductions and
    # the 64-column blocks; 260 x 257 takes the parallel path. Costs from a
    # few values: tied maxima in the first sweep (g = 0). With reg 0.01 the gaps
    # 7.2..7.45 put exp's argument at -720..-745 (subnormal results) and the
    # gap 20 at -2000 (exp underflows to 0).
    rng = np.random.default_rng(46)
    cost = rng.choice([0.0, 0.0, 7.2, 7.35, 7.45, 20.0], size=(n, m))
    a, b = rng.random(n) + 0.05, rng.random(m) + 0.05
    log_a, log_b = np.log(a / a.sum()), np.log(b / b.sum())
    results = []
    for loop in (kernels.sinkhorn_log_numba, kernels.sinkhorn_log_numpy):
        f, g = np.zeros(n), np.zeros(m)
        sweeps, error = loop(log_a, log_b, cost, 0.01, f, g, 40, -1.0)   # tol < 0: every sweep
        results.append((sweeps, error, f, g))
    (s1, e1, f1, g1), (s2, e2, f2, g2) = results
    assert s1 == s2 == 40
    np.testing.assert_allclose(e1, e2, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(f1, f2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(kernels.transport_cost_numba(cost, f1, g1, 0.01),
                               kernels.transport_cost_numpy(cost, f1, g1, 0.01), rtol=1e-12)


def three_by_four():
    """The masses of test_emd's lecture 3-by-4 example (004, III.1), unit-scale costs."""
    from dpm.wasserstein import cost_matrix
    x = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 0.5]])
    y = np.array([[0.5, 1.0], [2.0, 2.0], [3.0, -1.0], [-1.0, 0.5]])
    return np.array([0.5, 0.3, 0.2]), np.array([0.1, 0.4, 0.3, 0.2]), cost_matrix(x, y)


def test_sinkhorn_small_reg_converges_by_epsilon_scaling_and_tends_to_emd():
    # #8.7: reg 1e-3 on the 3 x 4 problem converges within the default n_iter
    # (no warning), and as reg -> 0 the cost falls to emd's within reg log(nm).
    import warnings
    a, b, cost = three_by_four()
    exact, _ = emd(a, b, cost)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        values = [sinkhorn(a, b, cost, reg) for reg in (1e-1, 1e-2, 1e-3, 1e-4)]
    for reg, value in zip((1e-1, 1e-2, 1e-3, 1e-4), values):
        assert -1e-9 <= value - exact <= reg * np.log(12) + 1e-9, (reg, value, exact)
    assert values[-1] - exact <= 1e-6


@pytest.mark.parametrize("reg", [0.5, 0.05])
def test_sinkhorn_scaling_and_log_paths_agree(reg):
    # The multiplicative path (chosen at these regs: spread / reg <= 200) and the
    # log domain solve the same problem: the same cost and plan to the tolerance.
    rng = np.random.default_rng(44)
    a, b, cost = random_problem(rng, 40, 30)
    value_s, plan_s = sinkhorn(a, b, cost, reg, n_iter=20_000, tol=1e-12, return_plan=True,
                               method="scaling")
    value_l, plan_l = sinkhorn(a, b, cost, reg, n_iter=20_000, tol=1e-12, return_plan=True,
                               method="log")
    assert value_s == pytest.approx(value_l, rel=1e-9)
    np.testing.assert_allclose(plan_s, plan_l, atol=1e-11)
    np.testing.assert_allclose(plan_s.sum(axis=0), b, atol=1e-12)
    with pytest.raises(ValueError, match="method"):
        sinkhorn(a, b, cost, reg, method="sinkhorn_knopp")


def test_gibbs_kernel_matches_numpy_twin():
    rng = np.random.default_rng(45)
    cost = rng.random((37, 70)) * 3.0
    ours, twin = np.empty(cost.shape), np.empty(cost.shape)
    kernels.gibbs_kernel_numba(cost, 0.1, 0.05, ours)
    kernels.gibbs_kernel_numpy(cost, 0.1, 0.05, twin)
    np.testing.assert_allclose(ours, twin, rtol=5e-16 * 4, atol=1e-300)


@pytest.mark.skipif(not kernels.NUMBA_ENABLED, reason="Numba off: sinkhorn runs the twin")
@pytest.mark.parametrize("n, m", [(5, 3), (150, 97)])
def test_sinkhorn_scaling_kernel_matches_numpy_twin(n, m):
    rng = np.random.default_rng(46)
    a, b, cost = random_problem(rng, n, m)
    kernel = np.exp(-cost / 0.3)
    runs = []
    for sweeps in (kernels.sinkhorn_scaling_numba, kernels.sinkhorn_scaling_numpy):
        u, v = np.zeros(n), np.ones(m)
        done, error = sweeps(kernel, a, b, u, v, 40, 0.0)
        runs.append((u, v, done, error))
    (u1, v1, d1, e1), (u2, v2, d2, e2) = runs
    assert d1 == d2 == 40 and e1 == pytest.approx(e2, rel=1e-8, abs=1e-15)
    np.testing.assert_allclose(u1, u2, rtol=1e-12)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
