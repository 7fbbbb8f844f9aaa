"""Gumbel-max (M3) and the Gumbel-softmax / Concrete relaxation (M4).

Oracles: scipy.stats.chisquare for the Gumbel-max frequencies; scipy.integrate
quad (K = 2) and the trapezoid rule in log-ratio coordinates
(K = 3, 4) for the Concrete density's normalisation; for K = 2 the exact
law of y_1 = sigmoid((l_1 - l_2 + L) / tau), L = g_1 - g_2 ~ Logistic(0, 1),
whose cdf sigmoid(tau logit(t) - (l_1 - l_2)) gives a closed-form density and
a KS test; the closed-form gradient pi_j (f_j - sum_k pi_k f_k) of
E_{Cat(pi)}[f(one_hot)] for the bias of the relaxed pathwise gradient;
central finite differences for log_prob and rsample (noise held fixed).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
from scipy import integrate

import minigrad as mg
from minigrad import Tensor
from dpm.distributions import Categorical, RelaxedOneHotCategorical
from dpm.distributions.relaxed import gumbel_max_sample, one_hot
from dpm.montecarlo import pathwise_gradient

PI3 = np.array([0.2, 0.5, 0.3])


@pytest.mark.claim("M3")
@pytest.mark.parametrize("probs", [[0.2, 0.5, 0.3], [0.01, 0.04, 0.15, 0.3, 0.5]])
def test_gumbel_max_draws_the_categorical(probs):
    probs = np.array(probs)
    rng = np.random.default_rng(len(probs))
    n = 60_000
    labels = gumbel_max_sample(np.log(probs) + 3.7, (n,), rng)   # a shift changes nothing
    counts = np.bincount(labels, minlength=probs.size)
    assert st.chisquare(counts, n * probs).pvalue > 1e-3
    assert np.all(np.abs(counts / n - probs) <= 5 * np.sqrt(probs * (1 - probs) / n))


@pytest.mark.claim("M3")  # M4 (approach to one-hot) is shown by the two tests at the end
def test_relaxed_argmax_is_the_gumbel_max_label_at_every_temperature():
    # Same noise: argmax softmax((l + g) / tau) = argmax (l + g) for every tau > 0.
    for tau in (5.0, 0.5, 0.05):
        y = RelaxedOneHotCategorical(tau, probs=PI3).sample((4000,), np.random.default_rng(9))
        labels = gumbel_max_sample(np.log(PI3), (4000,), np.random.default_rng(9))
        np.testing.assert_array_equal(np.argmax(y, axis=-1), labels)


@pytest.mark.parametrize("tau, logits", [(0.5, [0.3, -1.0]), (1.0, [0.0, 0.0]),
                                         (2.0, [2.0, -1.0])])
def test_concrete_density_matches_logistic_law_for_two_categories(tau, logits):
    delta = logits[0] - logits[1]
    t = np.linspace(0.01, 0.99, 25)
    s = sp.expit(tau * sp.logit(t) - delta)
    closed_form = np.log(tau * s * (1 - s) / (t * (1 - t)))
    dist = RelaxedOneHotCategorical(tau, logits=logits)
    np.testing.assert_allclose(dist.log_prob(np.stack([t, 1 - t], axis=-1)).data, closed_form,
                               rtol=1e-10, atol=1e-12)
    y1 = dist.sample((20_000,), np.random.default_rng(1))[:, 0]
    cdf = lambda x: sp.expit(tau * sp.logit(x) - delta)   # noqa: E731
    assert st.kstest(y1, cdf).pvalue > 1e-3


@pytest.mark.parametrize("tau", [1.0, 3.0])
def test_concrete_density_integrates_to_one_for_two_categories(tau):
    dist = RelaxedOneHotCategorical(tau, probs=[0.3, 0.7])
    density = lambda y1: math.exp(dist.log_prob([y1, 1.0 - y1]).item())   # noqa: E731
    total, error = integrate.quad(density, 0.0, 1.0, points=[0.5], limit=200)
    # a fixed tolerance (not one that widens with quad's own error estimate), and the
    # reference must be accurate enough to judge it
    assert error < 1e-9
    assert total == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("tau", [0.2, 0.5])
def test_concrete_density_integrates_to_one_for_two_categories_at_low_temperature(tau):
    # Below tau = 1 the density is unbounded at both ends of (0, 1) (like y^(tau - 1)),
    # so integrate in x = logit(y_1) instead: dy_1 = y_1 y_2 dx, a smooth integrand on R.
    dist = RelaxedOneHotCategorical(tau, probs=[0.3, 0.7])

    def integrand(x):
        log_jacobian = sp.log_expit(x) + sp.log_expit(-x)
        return math.exp(dist.log_prob([sp.expit(x), sp.expit(-x)]).item() + log_jacobian)

    total, error = integrate.quad(integrand, -60 / tau, 60 / tau, limit=200)   # tails e^-60
    assert error < 1e-7                      # quad's estimate: about 4e-9 here
    assert total == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("tau, probs", [(0.3, PI3), (0.7, PI3), (2.0, PI3),
                                        (0.5, [0.1, 0.2, 0.3, 0.4])])
def test_concrete_density_integrates_to_one_on_the_simplex(tau, probs):
    # In the coordinates x_k = log(y_k / y_K) (k < K) the simplex becomes R^{K-1}, with
    # dy_1..dy_{K-1} = (prod_k y_k) dx, and the integrand is smooth with tails
    # exp(-tau |x|): the trapezoid rule on [-40/tau, 40/tau]^{K-1} then converges
    # exponentially fast (dblquad on the simplex, with its edge singularities, takes minutes).
    K = len(probs)
    x = np.linspace(-40 / tau, 40 / tau, 400 if K == 3 else 120)
    grids = np.meshgrid(*[x] * (K - 1), indexing="ij")
    coords = np.stack(list(grids) + [np.zeros_like(grids[0])], axis=-1)
    dist = RelaxedOneHotCategorical(tau, probs=probs)
    log_integrand = (dist.log_prob(sp.softmax(coords, axis=-1)).data
                     + sp.log_softmax(coords, axis=-1).sum(axis=-1))
    total = np.exp(log_integrand)
    for _ in range(K - 1):
        total = integrate.trapezoid(total, x, axis=-1)
    assert total == pytest.approx(1.0, abs=1e-8)


def test_concrete_log_prob_outside_the_open_simplex_is_minus_infinity():
    dist = RelaxedOneHotCategorical(0.5, probs=PI3)
    points = np.array([[0.0, 0.5, 0.5], [0.2, 0.2, 0.2], [-0.1, 0.6, 0.5], [0.2, 0.3, 0.5]])
    out = dist.log_prob(points).data
    assert np.all(out[:3] == -np.inf) and np.isfinite(out[3])
    with pytest.raises(ValueError, match="last axis"):
        dist.log_prob(np.ones((4, 2)) / 2)


def test_concrete_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    y = RelaxedOneHotCategorical(0.8, probs=PI3).sample((5,), rng)
    mg.gradcheck(lambda l: RelaxedOneHotCategorical(0.8, logits=l).log_prob(y),
                 [rng.normal(size=3)])
    mg.gradcheck(lambda tau: RelaxedOneHotCategorical(tau, logits=np.log(PI3)).log_prob(y),
                 [np.array(0.8)])
    # rsample with the noise held fixed (same seed each call) is a smooth function of logits
    weights = rng.normal(size=(4, 3))
    mg.gradcheck(lambda l: (RelaxedOneHotCategorical(0.6, logits=l).rsample(
        (4,), np.random.default_rng(7)) * Tensor(weights)).sum(), [rng.normal(size=3)])


def test_straight_through_is_one_hot_forward_and_soft_backward():
    weights = np.array([1.0, -2.0, 0.5])
    grads, values = {}, {}
    for hard in (False, True):
        logits = Tensor(np.log(PI3), requires_grad=True)
        y = RelaxedOneHotCategorical(0.5, logits=logits, hard=hard).rsample(
            (50,), np.random.default_rng(4))
        values[hard] = y.data
        (y * Tensor(weights)).sum().backward()
        grads[hard] = logits.grad
    np.testing.assert_array_equal(values[True], one_hot(np.argmax(values[False], -1), 3))
    np.testing.assert_allclose(grads[True], grads[False], rtol=1e-12)


@pytest.mark.parametrize("kwargs", [{"temperature": 0.0}, {"temperature": -1.0},
                                    {"temperature": np.nan}, {"temperature": [1.0, 2.0]}])
def test_relaxed_rejects_bad_temperature(kwargs):
    with pytest.raises(ValueError, match="temperature"):
        RelaxedOneHotCategorical(probs=PI3, **kwargs)


@pytest.mark.claim("M4")
def test_relaxed_samples_tend_to_one_hot_as_temperature_falls():
    rng = np.random.default_rng(12)
    taus = [2.0, 1.0, 0.5, 0.1, 0.02]
    gaps, stderrs = [], []
    for tau in taus:
        top = RelaxedOneHotCategorical(tau, probs=PI3).sample((20_000,), rng).max(axis=-1)
        gaps.append(1.0 - top.mean())                       # distance from one-hot, measured
        stderrs.append(top.std(ddof=1) / np.sqrt(top.size))
    gaps, stderrs = np.array(gaps), np.array(stderrs)
    # each step down in temperature moves the samples significantly closer to one-hot
    assert np.all(gaps[1:] + 5 * stderrs[1:] < gaps[:-1] - 5 * stderrs[:-1]), gaps
    assert gaps[-1] + 5 * stderrs[-1] < 0.02


@pytest.mark.claim("M4")
def test_relaxed_pathwise_gradient_bias_shrinks_with_temperature():
    values = np.array([1.0, -1.0, 2.0])

    def f(y):          # f(y) = (v . y - 0.3)^2; on one-hot vectors f(e_k) = (v_k - 0.3)^2
        return ((y * Tensor(values)).sum(axis=-1) - 0.3) ** 2

    f_k = (values - 0.3) ** 2
    true = PI3 * (f_k - PI3 @ f_k)       # d/dlogits E_{Cat(pi)}[f(one_hot)]
    rng = np.random.default_rng(21)
    bias, bias_se = [], []
    for tau in (1.0, 0.5, 0.25, 0.1):
        g = pathwise_gradient(f, lambda logits: RelaxedOneHotCategorical(tau, logits=logits),
                              {"logits": np.log(PI3)}, 200_000, rng)["logits"]
        bias.append(np.linalg.norm(g.mean - true))
        bias_se.append(np.linalg.norm(g.stderr))
    bias, bias_se = np.array(bias), np.array(bias_se)
    assert bias[0] > 5 * bias_se[0]                    # the relaxation is biased at tau = 1
    assert np.all(bias[1:] + 5 * bias_se[1:] < bias[:-1] - 5 * bias_se[:-1]), (bias, bias_se)
    assert bias[-1] + 5 * bias_se[-1] < 0.25 * np.linalg.norm(true)


def test_categorical_and_relaxed_share_parameters():
    dist = RelaxedOneHotCategorical(1.0, logits=[0.0, 1.0, 2.0])
    np.testing.assert_allclose(dist.probs.data, sp.softmax([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(dist.logits.data,
                               Categorical(logits=[0.0, 1.0, 2.0]).logits.data)
    assert dist.has_rsample and dist.event_shape == (3,)
    assert dist.rsample((2, 5), np.random.default_rng(0)).shape == (2, 5, 3)
