"""MCMC diagnostics (E2): ESS, R-hat, MCSE and autocorrelation against closed forms.

Oracles: an AR(1) chain x_t = rho x_{t-1} + e_t (stationary start) has
autocorrelation rho^t and integrated time tau = (1 + rho) / (1 - rho), so
ESS = M N (1 - rho) / (1 + rho) for M chains of N draws; the variance of the
mean of one chain is sigma^2 tau / N with sigma^2 = 1 / (1 - rho^2). The ESS
estimates are averaged over independent replicas and compared with the
closed form within 5 standard errors of that average (the replica spread);
the MCSE that ``Chains.mean`` reports is checked against the spread of the
means of independent replicas. The FFT autocorrelation is checked against
the direct sum.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from dpm import mcmc
from dpm.mcmc.chains import Chains
from dpm.mcmc.diagnostics import rank_normalize, split_chains


def ar1(rng, rho, chains, n, dim=None):
    """Stationary AR(1) chains of unit innovations, shape (chains, n[, dim])."""
    shape = (chains, n) if dim is None else (chains, dim, n)
    e = rng.standard_normal(shape)
    e[..., 0] /= np.sqrt(1 - rho ** 2)
    x = scipy.signal.lfilter([1.0], [1.0, -rho], e, axis=-1)
    return x if dim is None else np.moveaxis(x, 1, 2)


@pytest.mark.claim("E2")
@pytest.mark.parametrize("rho", [0.5, 0.9, -0.3])
@pytest.mark.parametrize("method", ["bulk", "mean"])
def test_ess_ar1_matches_closed_form(rho, method):
    rng = np.random.default_rng(11)
    chains, n, replicas = 4, 2000, 40
    estimates = np.array([mcmc.ess(ar1(rng, rho, chains, n), method) for _ in range(replicas)])
    truth = chains * n * (1 - rho) / (1 + rho)
    stderr = estimates.std(ddof=1) / np.sqrt(replicas)
    assert abs(estimates.mean() - truth) <= 5 * stderr, (estimates.mean(), truth, stderr)
    # and the replica spread itself is small: a useful, not a vacuous, comparison
    assert stderr < 0.03 * truth


@pytest.mark.claim("E2")
def test_ess_tail_of_independent_draws_is_about_the_sample_size():
    # tail ESS of iid draws: the indicator I(x <= q) of iid draws is iid, ESS ~ S
    rng = np.random.default_rng(2)
    values = np.array([mcmc.ess_tail(rng.standard_normal((4, 1000))) for _ in range(30)])
    stderr = values.std(ddof=1) / np.sqrt(values.size)
    assert abs(values.mean() - 4000) <= 5 * stderr + 0.02 * 4000


@pytest.mark.claim("E2")
def test_rhat_near_one_when_chains_agree_and_large_when_they_do_not():
    rng = np.random.default_rng(3)
    agree = ar1(rng, 0.5, 4, 2000)
    assert mcmc.rhat(agree) < 1.01
    shifted = agree + np.array([0.0, 0.0, 0.0, 2.0])[:, None]   # one chain elsewhere
    assert mcmc.rhat(shifted) > 1.1
    # a chain whose scale differs: the folded (tail) R-hat catches it, the bulk one not
    wide = agree * np.array([1.0, 1.0, 1.0, 3.0])[:, None]
    assert mcmc.rhat(wide) > 1.05
    # a drift within each chain shows up through splitting
    drift = agree + np.linspace(0, 3, 2000)
    assert mcmc.rhat(drift) > 1.1


@pytest.mark.claim("E2")
def test_split_rhat_formula_on_a_hand_example():
    # R-hat = sqrt(((N-1)/N W + B/N) / W) on split chains of rank-normalised draws
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 101)) + np.array([0, 0.3, -0.2])[:, None]
    split = split_chains(x)
    assert split.shape == (6, 50)
    z = rank_normalize(split)
    N = z.shape[1]
    W = z.var(axis=1, ddof=1).mean()
    B = N * z.mean(axis=1).var(ddof=1)
    bulk = np.sqrt(((N - 1) / N * W + B / N) / W)
    assert mcmc.rhat(x) >= bulk - 1e-12


@pytest.mark.claim("E2")
def test_autocorrelation_fft_equals_direct_sum():
    rng = np.random.default_rng(5)
    x = ar1(rng, 0.7, 2, 300)
    rho = mcmc.autocorrelation(x)
    for chain, fft in zip(x, rho):
        c = chain - chain.mean()
        direct = np.array([c[:c.size - t] @ c[t:] for t in range(c.size)]) / (c @ c)
        assert np.allclose(fft, direct, atol=1e-12)
    assert np.allclose(rho[:, 0], 1.0)


@pytest.mark.claim("E2")
def test_autocorrelation_of_ar1_is_rho_to_the_lag():
    rng = np.random.default_rng(6)
    x = ar1(rng, 0.8, 16, 4000)
    rho = mcmc.autocorrelation(x)[:, :4]
    mean, stderr = rho.mean(axis=0), rho.std(axis=0, ddof=1) / np.sqrt(16)
    assert np.all(np.abs(mean - 0.8 ** np.arange(4)) <= 5 * stderr + 1e-12)


@pytest.mark.claim("E2")
def test_chains_mean_stderr_matches_replica_spread_and_truth():
    rng = np.random.default_rng(7)
    rho, chains, n = 0.9, 4, 2000
    means, stderrs = [], []
    for _ in range(40):
        result = Chains(ar1(rng, rho, chains, n, dim=2), accept_rate=np.ones(chains))
        estimate = result.mean()
        assert estimate.shape == (2,) and np.asarray(estimate.stderr).shape == (2,)
        assert np.all(np.asarray(estimate.n) > 0)
        means.append(estimate.data)
        stderrs.append(estimate.stderr)
    means, stderrs = np.array(means), np.array(stderrs)
    # the closed-form s.e. of the pooled mean: sigma sqrt(tau / (M N))
    exact = np.sqrt(1 / (1 - rho ** 2) * (1 + rho) / (1 - rho) / (chains * n))
    spread = means.std(axis=0, ddof=1)
    # sd of a sample sd from 40 replicas is about sd / sqrt(2 * 39): 5 of those
    assert np.all(np.abs(spread - exact) <= 5 * exact / np.sqrt(78))
    assert np.all(np.abs(stderrs.mean(axis=0) - exact) <= 0.05 * exact)
    assert np.all(np.abs(means.mean(axis=0)) <= 5 * exact / np.sqrt(40))


@pytest.mark.claim("E2")
def test_mean_of_a_function_and_summary_table():
    rng = np.random.default_rng(8)
    result = Chains(rng.standard_normal((2, 500, 3)), accept_rate=np.ones(2), sampler="iid")
    second = result.mean(lambda s: s ** 2)
    assert second.shape == (3,)
    assert np.all(np.abs(second.data - 1.0) <= 5 * second.stderr)
    table = result.summary()
    assert "ess_bulk" in table and "r_hat" in table and "x[2]" in table and "iid" in table


def test_diagnostics_reject_bad_input():
    with pytest.raises(ValueError, match="samples"):
        mcmc.ess(np.zeros(10))
    with pytest.raises(ValueError, match="at least 4 draws"):
        mcmc.rhat(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        mcmc.ess(np.array([[0.0, 1.0, np.nan, 2.0, 3.0]]))
    with pytest.raises(ValueError, match="method"):
        mcmc.ess(np.zeros((2, 10)), method="median")
    with pytest.raises(ValueError, match="samples must have shape"):
        Chains(np.zeros((2, 10)), accept_rate=np.ones(2))


def test_constant_chains_give_finite_diagnostics():
    x = np.ones((2, 50))
    assert mcmc.rhat(x) == 1.0
    assert np.isfinite(mcmc.ess(x))
