"""Metropolis-Hastings (E2): exact stationarity on a finite space, and the samplers' contract.

Oracle: on S states the MH kernel is a matrix P built from the same
acceptance rule the samplers use; pi P = pi and detailed balance
pi_i P_ij = pi_j P_ji must hold to rounding for an asymmetric proposal, and
fail when the Hastings correction q(x|x')/q(x'|x) is dropped (so the test
can fail). The continuous samplers are checked against known moments in
test_mcmc_targets.py.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from dpm import mcmc
from dpm.distributions import Normal
from dpm.mcmc.metropolis import log_accept


def random_problem(rng, S=7):
    log_pi = rng.normal(size=S) * 2
    Q = rng.uniform(size=(S, S)) * (rng.uniform(size=(S, S)) < 0.7)
    Q = Q + Q.T * 0   # asymmetric values ...
    support = (Q > 0) | (Q.T > 0)
    Q = np.where(support, Q + 0.05, 0.0)      # ... on a symmetric support
    return log_pi, Q / Q.sum(axis=1, keepdims=True)


@pytest.mark.claim("E2")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mh_transition_matrix_is_stationary_and_reversible(seed):
    rng = np.random.default_rng(seed)
    log_pi, Q = random_problem(rng)
    P = mcmc.transition_matrix(log_pi, Q)
    pi = np.exp(log_pi - log_pi.max())
    pi /= pi.sum()
    assert np.all(P >= 0) and np.allclose(P.sum(axis=1), 1.0, atol=1e-15)
    assert np.max(np.abs(pi @ P - pi)) < 1e-15
    flow = pi[:, None] * P
    assert np.max(np.abs(flow - flow.T)) < 1e-15


@pytest.mark.claim("E2")
def test_without_hastings_correction_stationarity_fails():
    # the negative control: Metropolis' symmetric rule on an asymmetric proposal
    rng = np.random.default_rng(0)
    log_pi, Q = random_problem(rng)
    alpha = np.exp(log_accept(log_pi[:, None], log_pi[None, :]))
    P = Q * alpha
    np.fill_diagonal(P, 0.0)
    np.fill_diagonal(P, 1.0 - P.sum(axis=1))
    pi = np.exp(log_pi - log_pi.max())
    pi /= pi.sum()
    assert np.max(np.abs(pi @ P - pi)) > 1e-3


def test_log_accept_outside_support_is_minus_inf_not_nan():
    assert log_accept(-np.inf, -np.inf) == -np.inf
    assert log_accept(0.0, -np.inf) == -np.inf
    assert log_accept(-1.0, 0.0) == 0.0


def standard_normal_log_prob(x):
    return -0.5 * mg.sum(x * x, axis=-1)


@pytest.mark.claim("E2")
def test_metropolis_adapts_toward_target_acceptance_and_freezes():
    rng = np.random.default_rng(1)
    chains = mcmc.metropolis(standard_normal_log_prob, np.zeros((4, 5)), 2000, rng, step=5.0,
                             warmup=1000)
    assert chains.samples.shape == (4, 2000, 5)
    # acceptance of the frozen kernel near 0.234 (its s.e. from the ESS of the accept
    # indicator is about 0.01 here; the adapted scale is only approximately optimal)
    assert np.all(np.abs(chains.accept_rate - 0.234) < 0.05)
    assert chains.step_size.shape == (4, 5)
    # the optimal scale for a standard normal in d dims is about 2.38 / sqrt(d)
    assert np.all(np.abs(chains.step_size / (2.38 / np.sqrt(5)) - 1) < 0.3)


def test_metropolis_same_seed_same_chain():
    a = mcmc.metropolis(standard_normal_log_prob, np.zeros((2, 2)), 50,
                        np.random.default_rng(3))
    b = mcmc.metropolis(standard_normal_log_prob, np.zeros((2, 2)), 50,
                        np.random.default_rng(3))
    assert np.array_equal(a.samples, b.samples)


@pytest.mark.claim("E2")
def test_independence_metropolis_moments():
    # target N(1, 0.5^2) per coordinate, proposal N(0.8, 0.8^2): heavier tails, so
    # p / q is bounded and the chain uniformly ergodic
    rng = np.random.default_rng(4)

    def log_prob(x):
        return -0.5 * mg.sum(((x - 1.0) / 0.5) ** 2, axis=-1)

    proposal = Normal(0.8 * np.ones(2), 0.8 * np.ones(2))
    chains = mcmc.independence_metropolis(log_prob, proposal, np.zeros((4, 2)), 3000, rng,
                                          warmup=200)
    mean, second = chains.mean(), chains.mean(lambda s: (s - 1.0) ** 2)
    assert np.all(np.abs(mean.data - 1.0) <= 5 * mean.stderr)
    assert np.all(np.abs(second.data - 0.25) <= 5 * second.stderr)
    assert np.all(chains.rhat() < 1.01)


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_metropolis_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="x0"):
        mcmc.metropolis(standard_normal_log_prob, np.zeros(3), 10, rng)
    with pytest.raises(ValueError, match="step"):
        mcmc.metropolis(standard_normal_log_prob, np.zeros((1, 3)), 10, rng, step=-1.0)
    with pytest.raises(ValueError, match="n must"):
        mcmc.metropolis(standard_normal_log_prob, np.zeros((1, 3)), 0, rng)
    with pytest.raises(ValueError, match="rng"):
        mcmc.metropolis(standard_normal_log_prob, np.zeros((1, 3)), 10, None)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        mcmc.metropolis(lambda x: mg.sum(x), np.zeros((2, 3)), 10, rng)
    with pytest.raises(ValueError, match="finite"):
        mcmc.metropolis(lambda x: mg.log(x[:, 0]) * 1.0, -np.ones((2, 1)), 10, rng)
    with pytest.raises(ValueError, match="proposal"):
        mcmc.transition_matrix(np.zeros(3), np.ones((3, 2)))
