"""Image completion by a Bernoulli mean-field over missing pixels (V12).

Oracles: the bound after every coordinate update never falls (to rounding)
and stays below the exact log p(x_observed) of the EM-fitted mixture; on a
small image the ELBO(phi) and log p(x_o) by enumerating every completion,
against the Monte Carlo ``pixel_elbo`` (5 s.e.) and the closed-form bound;
on held-out binarized digits the completion's pixel error below the
prior-only fill's by more than 5 standard errors of the paired difference;
the score-function ascent raising the ELBO by more than 5 s.e.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.special as sp

from dpm.datasets import load_digits
from dpm.models.gmm_em import fit_bernoulli_mixture
from dpm.vi.completion import complete, complete_score_function, pixel_elbo

TOP_HIDDEN = np.arange(64) >= 32             # observed: the bottom half of an 8 x 8 digit


@pytest.fixture(scope="module")
def digits_model():
    train, _ = load_digits(binarize=True, split="train")      # the fixed split: 1437 / 360
    test, _ = load_digits(binarize=True, split="test")
    train = train[:1000]                                       # a smaller EM fit, for speed
    return fit_bernoulli_mixture(train, 10, np.random.default_rng(1), iters=25), test


def non_decreasing(history):
    return np.all(np.diff(history, axis=0) >= -1e-12 * np.maximum(1.0, np.abs(history[1:])))


@pytest.mark.claim("V12")
def test_bound_rises_every_update_and_stays_below_evidence(digits_model):
    mixture, test = digits_model
    result = complete(mixture, test, TOP_HIDDEN, iters=8)
    assert result.history.shape == (17, len(test))
    assert non_decreasing(result.history)
    assert np.all(result.history[-1] > result.history[0] + 1.0)
    np.testing.assert_allclose(result.log_evidence, mixture.log_prob(test, observed=TOP_HIDDEN))
    assert np.all(result.history[-1] <= result.log_evidence)
    # the pixel-only ELBO(phi) is at least the label-augmented bound, at most log p(x_o)
    rng = np.random.default_rng(2)
    estimate = pixel_elbo(mixture, test[:40], TOP_HIDDEN, result.probs[:40], n=400, rng=rng)
    assert np.all(estimate.data >= result.history[-1][:40] - 5 * estimate.stderr)
    assert np.all(estimate.data <= result.log_evidence[:40] + 5 * estimate.stderr)


@pytest.mark.claim("V12")
def test_small_image_against_enumeration():
    rng = np.random.default_rng(3)
    x = (rng.random((300, 7)) < 0.4).astype(float)
    x[:150, :3] = x[:150, 3:6]                      # correlated pixels, so completion can work
    mixture = fit_bernoulli_mixture(x, 3, rng, iters=50)
    observed = np.array([False, False, False, True, True, True, True])
    image = x[:2]
    result = complete(mixture, image, observed, iters=10)
    completions = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    for row, probs, bound, log_p in zip(image, result.probs, result.history[-1],
                                        result.log_evidence):
        full = np.repeat(row[None], len(completions), axis=0)
        full[:, :3] = completions
        log_joint = mixture.log_prob(full)
        phi = probs[:3]
        log_q = np.sum(completions * np.log(phi) + (1 - completions) * np.log1p(-phi), axis=1)
        exact_elbo = np.sum(np.exp(log_q) * (log_joint - log_q))
        assert abs(log_p - sp.logsumexp(log_joint)) < 1e-12
        assert bound <= exact_elbo + 1e-12 and exact_elbo <= log_p
        estimate = pixel_elbo(mixture, row[None], observed, probs[None], n=4000, rng=rng)
        assert abs(float(estimate.data[0]) - exact_elbo) <= 5 * estimate.stderr[0]


@pytest.mark.claim("V12")
def test_completion_beats_prior_fill_on_held_out(digits_model):
    mixture, test = digits_model
    result = complete(mixture, test, TOP_HIDDEN, iters=10)
    truth = test[:, ~TOP_HIDDEN]
    completion_wrong = (result.probs[:, ~TOP_HIDDEN] > 0.5) != truth
    prior_fill = (mixture.weights @ mixture.probs)[~TOP_HIDDEN] > 0.5
    prior_wrong = prior_fill[None, :] != truth
    per_image = (prior_wrong.mean(axis=1) - completion_wrong.mean(axis=1))
    stderr = per_image.std(ddof=1) / np.sqrt(len(per_image))
    assert per_image.mean() > 5 * stderr, (per_image.mean(), stderr)


@pytest.mark.claim("V12")
def test_score_function_ascent_raises_elbo(digits_model):
    mixture, test = digits_model
    rng = np.random.default_rng(4)
    probs, trace = complete_score_function(mixture, test[:20], TOP_HIDDEN, steps=60, rng=rng,
                                           n=16, lr=0.1)
    first, last = trace[0], trace[-1]
    gain = last.data - first.data
    assert np.all(gain > 5 * np.hypot(first.stderr, last.stderr))
    assert np.all((probs[:, TOP_HIDDEN] == test[:20, TOP_HIDDEN]))


def test_bad_input(digits_model):
    mixture, test = digits_model
    with pytest.raises(ValueError, match="shape"):
        complete(mixture, test[:, :10], TOP_HIDDEN)
    with pytest.raises(ValueError, match="binary"):
        complete(mixture, test * 0.5 + 0.25, TOP_HIDDEN)
    with pytest.raises(ValueError, match="n must"):
        complete_score_function(mixture, test[:2], TOP_HIDDEN, steps=1,
                                rng=np.random.default_rng(0), n=1)
