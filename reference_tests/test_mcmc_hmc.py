"""Leapfrog and HMC machinery (E2): reversibility, volume, energy error order, adaptation.

Oracles: the leapfrog map run forward, momentum negated, run again returns
the start (to 1e-12); its Jacobian determinant is 1 (exactly computed for a
Gaussian target, where the map is linear, and by central differences on a
banana-shaped one); over a fixed time the energy error is O(eps^2) (slope of
log error on log eps within 0.1 of 2). Dual averaging is checked on a known
acceptance curve, the warm-up windows against Stan's schedule.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from dpm import mcmc
from dpm.mcmc._target import log_density_and_grad
from dpm.mcmc.adaptation import DualAveraging, metric_windows
from dpm.mcmc.hmc import find_step_size


def banana_log_prob(x):
    """log p = -x_1^2 / 2 - (x_2 - x_1^2 / 2)^2 (a curved, non-Gaussian target)."""
    x1, x2 = x[:, 0], x[:, 1]
    return -0.5 * x1 * x1 - (x2 - 0.5 * x1 * x1) ** 2


def banana_grad(x):
    return log_density_and_grad(banana_log_prob, x)


def flow(x, p, eps, steps, inv_metric, grad_fn=banana_grad):
    x1, p1, _, _ = mcmc.leapfrog(grad_fn, x, p, eps, steps, inv_metric)
    return x1, p1


def test_gradient_of_target_matches_closed_form():
    x = np.array([[0.3, -0.7], [1.2, 0.4]])
    log_p, grad = banana_grad(x)
    gap = x[:, 1] - 0.5 * x[:, 0] ** 2
    assert np.allclose(grad[:, 0], -x[:, 0] + 2 * gap * x[:, 0], atol=1e-14)
    assert np.allclose(grad[:, 1], -2 * gap, atol=1e-14)


@pytest.mark.claim("E2")
def test_leapfrog_is_reversible():
    rng = np.random.default_rng(0)
    x0, p0 = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    inv_metric = np.array([1.0, 0.5]) * np.ones((5, 2))
    x1, p1 = flow(x0, p0, 0.1, 40, inv_metric)
    assert np.max(np.abs(x1 - x0)) > 0.1          # it went somewhere
    x2, p2 = flow(x1, -p1, 0.1, 40, inv_metric)
    assert np.max(np.abs(x2 - x0)) < 1e-12
    assert np.max(np.abs(-p2 - p0)) < 1e-12


def _jacobian(map_, z, h):
    columns = []
    for i in range(z.size):
        e = np.zeros_like(z)
        e[i] = h
        columns.append((map_(z + e) - map_(z - e)) / (2 * h))
    return np.array(columns).T


@pytest.mark.claim("E2")
def test_leapfrog_preserves_volume():
    # Gaussian target: leapfrog is linear, its matrix read off exactly from unit vectors
    precision = np.array([[2.0, 0.6], [0.6, 1.0]])

    def gaussian_grad(x):
        return -0.5 * np.einsum("ci,ij,cj->c", x, precision, x), -x @ precision

    def linear_map(z):
        x1, p1 = flow(z[None, :2], z[None, 2:], 0.15, 25, np.ones((1, 2)), gaussian_grad)
        return np.concatenate([x1[0], p1[0]])

    A = np.array([linear_map(e) for e in np.eye(4)]).T
    assert abs(np.linalg.det(A) - 1.0) < 1e-12
    # banana: Jacobian by central differences (error ~ h^2 ~ 1e-10)
    rng = np.random.default_rng(1)
    for _ in range(3):
        z = rng.standard_normal(4)

        def banana_map(w):
            x1, p1 = flow(w[None, :2], w[None, 2:], 0.1, 20, np.ones((1, 2)))
            return np.concatenate([x1[0], p1[0]])

        assert abs(np.linalg.det(_jacobian(banana_map, z, 1e-5)) - 1.0) < 1e-7


@pytest.mark.claim("E2")
def test_energy_error_is_second_order_in_step():
    rng = np.random.default_rng(2)
    x0, p0 = rng.standard_normal((64, 2)) * 0.7, rng.standard_normal((64, 2))
    inv_metric = np.ones((64, 2))
    h0 = mcmc.hamiltonian(banana_grad(x0)[0], p0, inv_metric)
    steps = np.array([0.08, 0.04, 0.02, 0.01, 0.005])
    errors = []
    for eps in steps:
        x1, p1, log_p1, _ = mcmc.leapfrog(banana_grad, x0, p0, eps, int(round(1.6 / eps)),
                                          inv_metric)
        errors.append(np.mean(np.abs(mcmc.hamiltonian(log_p1, p1, inv_metric) - h0)))
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - 2.0) < 0.1, (slope, errors)


@pytest.mark.claim("E2")
def test_dual_averaging_finds_the_step_of_target_acceptance():
    # acceptance exp(-eps) known in closed form: the fixed point is eps* = -log(0.65)
    dual = DualAveraging(np.array([1.0, 0.01]), target_accept=0.65)
    step = np.array([1.0, 0.01])
    for _ in range(3000):
        step = dual.update(np.exp(-step))
    assert np.allclose(dual.final_step_size, -np.log(0.65), rtol=0.02)


def test_warmup_windows_follow_stan():
    assert metric_windows(1000) == (75, [100, 150, 250, 450, 950])
    start, ends = metric_windows(100)     # short warm-up: 15% / 75% / 10%
    assert start == 15 and ends == [90]
    assert metric_windows(10) == (10, [])


def test_find_step_size_crosses_acceptance_08():
    x = np.zeros((3, 2))
    eps = find_step_size(banana_grad, x, np.ones((3, 2)), np.ones(3),
                         np.random.default_rng(0))
    assert eps.shape == (3,) and np.all((eps > 0.05) & (eps < 20))


def test_hmc_rejects_bad_input_and_non_tensor_log_prob():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_leapfrog"):
        mcmc.hmc(banana_log_prob, np.zeros((2, 2)), 10, rng, n_leapfrog=0)
    with pytest.raises(ValueError, match="Tensor"):
        mcmc.hmc(lambda x: np.zeros(2), np.zeros((2, 2)), 10, rng)
    with pytest.raises(ValueError, match="step_size"):
        mcmc.hmc(banana_log_prob, np.zeros((2, 2)), 10, rng, step_size=0.0)
    with pytest.raises(ValueError, match="x0"):
        mcmc.nuts(banana_log_prob, np.zeros(2), 10, rng)


def test_hmc_fixed_step_without_warmup_keeps_it():
    rng = np.random.default_rng(5)
    chains = mcmc.hmc(banana_log_prob, np.zeros((2, 2)), 30, rng, step_size=0.2, warmup=0,
                      jitter=0.0)
    assert np.allclose(chains.step_size, 0.2)
    assert chains.samples.shape == (2, 30, 2)
    assert np.all((chains.accept_rate > 0) & (chains.accept_rate <= 1))


def test_samplers_report_progress_on_stderr_only_when_asked(capsys):
    for sampler in (mcmc.nuts, mcmc.hmc, mcmc.metropolis):
        sampler(banana_log_prob, np.zeros((2, 2)), 20, np.random.default_rng(0), warmup=10)
        assert capsys.readouterr().err == ""
        sampler(banana_log_prob, np.zeros((2, 2)), 20, np.random.default_rng(0), warmup=10,
                progress=True)
        err = capsys.readouterr().err
        assert "iteration 30 / 30 (sampling)" in err and "(warm-up)" in err
