"""Flow variational inference by reverse KL on an unnormalised 2-D target.

Oracle: log Z of the target by the trapezoid rule on a fine grid, so every
ELBO must lie below log Z (within 5 standard errors of its Monte Carlo
estimate); the flow's ELBO must beat the diagonal Gaussian's by a stated
margin, beyond 5 standard errors of the difference; and the cached
log q of an rsample draw must equal the density by the inverse pass.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special

import minigrad as mg
from dpm.models import flows as F
from dpm.models.flows import vi

MARGIN = 0.3  # nats: the diagonal Gaussian misses the banana's curvature by more


def compare(make_flow, steps, lr, seed=0):
    rng, flow_rng = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    log_z = vi.log_normalizer(vi.banana, (-7, 7, -4, 10), 801)
    gauss = vi.DiagonalGaussianGuide(2)
    gauss_trace = vi.fit_reverse_kl(gauss, vi.banana, steps, 64, 2e-2, rng)
    flow = make_flow(flow_rng)
    flow_trace = vi.fit_reverse_kl(flow, vi.banana, steps, 64, lr, flow_rng)
    eg, ef = (vi.final_elbo(g, vi.banana, 20000, rng) for g in (gauss, flow))
    for estimate in (eg, ef):
        assert estimate.item() <= log_z + 5 * float(estimate.stderr)
    gap = ef.item() - eg.item()
    assert gap - 5 * np.hypot(float(eg.stderr), float(ef.stderr)) > MARGIN, (eg, ef, log_z)
    assert np.mean(flow_trace[-50:]) > np.mean(flow_trace[:50]) + 0.5  # training did something
    return flow


def test_iaf_posterior_beats_the_diagonal_gaussian_elbo():
    compare(lambda rng: F.iaf_flow(2, 6, (32,), rng=rng), 300, 1e-2)


@pytest.mark.slow
def test_planar_posterior_beats_the_diagonal_gaussian_elbo():
    compare(lambda rng: F.planar_flow(2, 16, rng=rng), 500, 2e-2)


@pytest.mark.parametrize("make", [lambda rng: F.iaf_flow(2, 3, (8,), rng=rng),
                                  lambda rng: F.planar_flow(2, 4, rng=rng)])
def test_cached_log_q_of_a_draw_equals_the_inverse_pass(make):
    flow = make(np.random.default_rng(3))
    draws = flow.rsample((7,), np.random.default_rng(4))
    cached = flow.log_prob(draws)
    recomputed = flow.log_prob(mg.Tensor(draws.data.copy()))
    np.testing.assert_allclose(cached.data, recomputed.data, atol=1e-10)


def test_log_normalizer_of_a_gaussian_is_exact():
    log_z = vi.log_normalizer(lambda z: mg.square(mg.as_tensor(z)).sum(axis=-1) * -0.5)
    inside_box = special.erf(5 / np.sqrt(2)) ** 2  # the grid covers [-5, 5]^2
    assert abs(log_z - np.log(2 * np.pi * inside_box)) < 1e-8
