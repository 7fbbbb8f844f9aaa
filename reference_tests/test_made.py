"""MADE: an exact autoregressive likelihood of binary vectors (R1) and the digits (R2).

Oracles: enumeration of all 2^D binary vectors (the probabilities sum to 1;
every conditional equals the ratio of marginals of the enumerated joint);
the input-gradient pattern of each logit (the autoregressive property);
empirical frequencies of samples and completions against the enumerated
law within 5 binomial standard errors; on the digits, a held-out NLL that
training must lower by a stated margin.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import minigrad as mg
from dpm.datasets import load_digits
from dpm.models.autoregressive import (MADE, completion_marginals, conditional_log_prob,
                                       made_masks)
from dpm.models.flows import fit_max_likelihood, mean_nll

ORDER = np.array([3, 0, 5, 1, 4, 2])


def all_binary(dim):
    return np.array(list(itertools.product([0.0, 1.0], repeat=dim)))


def made(dim=6, seed=0, order=ORDER, hidden=(16, 16)):
    model = MADE(dim, hidden, rng=np.random.default_rng(seed), order=order)
    for p in model.parameters():  # larger weights: a law far from uniform
        p.data *= 3.0
    return model


def joint(model):
    x = all_binary(model.dim)
    with mg.no_grad():
        return x, np.exp(model.log_prob(x).data)


@pytest.mark.claim("R1")
@pytest.mark.parametrize("order", [None, ORDER])
def test_probabilities_of_all_binary_vectors_sum_to_one(order):
    x, p = joint(made(order=order))
    assert abs(p.sum() - 1.0) < 1e-12
    assert p.max() > 5 * p.min()  # far from uniform, so the sum is not trivially 1


@pytest.mark.claim("R1")
def test_conditionals_are_ratios_of_marginals_of_the_joint():
    model = made()
    x, p = joint(model)
    with mg.no_grad():
        logits = model.conditionals(x).data
    for j in range(model.dim):
        earlier = ORDER < ORDER[j]
        for row in range(0, len(x), 7):
            same = np.all(x[:, earlier] == x[row, earlier], axis=1)
            exact = p[same & (x[:, j] == 1)].sum() / p[same].sum()
            assert abs(exact - 1 / (1 + np.exp(-logits[row, j]))) < 1e-12


@pytest.mark.claim("R1")
@pytest.mark.parametrize("order", [None, ORDER])
def test_autoregressive_property_from_input_gradients(order):
    """d logit_j / d x_i = 0 exactly unless order[i] < order[j]; nonzero where allowed."""
    model = made(order=order, hidden=(32,))
    order = np.arange(6) if order is None else order
    pattern = np.zeros((6, 6))
    for x in np.random.default_rng(1).uniform(0, 1, (5, 6)):
        for j in range(6):
            point = mg.Tensor(x, requires_grad=True)
            model.conditionals(point)[j].backward()
            pattern[j] += np.abs(point.grad)
    allowed = order[None, :] < order[:, None]  # allowed[j, i]
    assert np.all(pattern[~allowed] == 0.0)
    assert np.all(pattern[allowed] > 0.0)


@pytest.mark.claim("R1")
def test_masks_connect_exactly_the_earlier_inputs():
    masks = made_masks(ORDER, (7, 9), outputs_per_variable=2)
    reach = masks[0] @ masks[1] @ masks[2]  # paths from input i to output column
    allowed = ORDER[:, None] < ORDER[None, :]
    np.testing.assert_array_equal(reach > 0, np.tile(allowed, (1, 2)))


@pytest.mark.claim("R1", "R2")
def test_ancestral_samples_follow_the_enumerated_law():
    model = made(dim=4, order=np.array([2, 0, 3, 1]), hidden=(8,))
    x, p = joint(model)
    n = 20000
    draws = model.sample(n, np.random.default_rng(2))
    codes = draws @ (2 ** np.arange(3, -1, -1))
    counts = np.bincount(codes.astype(int), minlength=16)
    stderr = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(counts / n - p) <= 5 * stderr + 1e-12)


@pytest.mark.claim("R2")
def test_completion_samples_the_exact_conditional():
    order = np.array([2, 0, 3, 1])  # variables 1 and 3 come first
    model = made(dim=4, order=order, hidden=(8,))
    x, p = joint(model)
    observed = np.array([False, True, False, True])
    given = np.array([0.0, 1.0, 0.0, 0.0])
    n = 20000
    filled = model.complete(np.tile(given, (n, 1)), observed, np.random.default_rng(4))
    assert np.all(filled[:, observed] == given[observed])
    match = np.all(x[:, observed] == given[observed], axis=1)
    conditional = p[match] / p[match].sum()
    codes = filled @ (2 ** np.arange(3, -1, -1))
    freq = np.array([(codes == c).mean() for c in (x[match] @ (2 ** np.arange(3, -1, -1)))])
    assert np.all(np.abs(freq - conditional) <= 5 * np.sqrt(conditional * (1 - conditional) / n))


@pytest.mark.claim("R2")
def test_conditional_log_prob_is_the_enumerated_conditional():
    """log p(x_m | x_o) = log p(x) - log sum_{x'_m} p(x_o, x'_m) over all 2^6 vectors."""
    model = made()
    x, p = joint(model)
    observed = ORDER < 3                          # the first three variables of the order
    ours = conditional_log_prob(model, x, observed)
    for row in range(len(x)):
        same = np.all(x[:, observed] == x[row, observed], axis=1)
        assert abs(ours[row] - np.log(p[row] / p[same].sum())) < 1e-12
    # nothing observed: the whole log-likelihood; everything observed: 0
    with mg.no_grad():
        np.testing.assert_allclose(conditional_log_prob(model, x, np.zeros(6, bool)),
                                   model.log_prob(x).data, rtol=1e-13)
    np.testing.assert_array_equal(conditional_log_prob(model, x, np.ones(6, bool)), 0.0)


@pytest.mark.claim("R2")
def test_completion_marginals_match_the_enumerated_law():
    order = np.array([2, 0, 3, 1])
    model = made(dim=4, order=order, hidden=(8,))
    x, p = joint(model)
    observed = np.array([False, True, False, True])
    given = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    mean, stderr = completion_marginals(model, given, observed, 4000, np.random.default_rng(9))
    for row, g in enumerate(given):
        match = np.all(x[:, observed] == g[observed], axis=1)
        exact = (p[match][:, None] * x[match]).sum(axis=0) / p[match].sum()
        np.testing.assert_array_equal(mean[row, observed], g[observed])
        assert np.all(stderr[row, observed] == 0)
        missing = ~observed
        assert np.all(np.abs(mean[row, missing] - exact[missing]) <= 5 * stderr[row, missing])
        assert np.all(stderr[row, missing] > 0)
    with pytest.raises(ValueError, match="first variables"):
        conditional_log_prob(model, x, np.array([True, False, False, False]))
    with pytest.raises(ValueError, match="boolean mask"):
        completion_marginals(model, given, np.ones(3, bool), 10)
    with pytest.raises(ValueError, match="n must"):
        completion_marginals(model, given, observed, 1)


def test_made_rejects_bad_input():
    model = made(dim=4, order=np.array([2, 0, 3, 1]), hidden=(8,))
    with pytest.raises(ValueError, match="binary"):
        model.log_prob(np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        model.log_prob(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="order"):
        MADE(3, (4,), order=[0, 1, 1])
    with pytest.raises(ValueError, match="hidden"):
        MADE(3, (0,))
    with pytest.raises(ValueError, match="first in made.order"):
        model.complete(np.zeros(4), np.array([True, False, False, False]))


# --------------------------------------------------------------- R2: digits
def digits_split():
    """(train, test): the fixed 1,437 / 360 split of ``load_digits``, binarized at 8."""
    return (load_digits(binarize=True, split="train")[0],
            load_digits(binarize=True, split="test")[0])


@pytest.mark.claim("R2")
def test_teacher_forced_training_lowers_held_out_nll_on_the_digits():
    train, test = digits_split()
    model = MADE(64, (128,), rng=np.random.default_rng(5), order=np.arange(64)[::-1])
    before, _ = mean_nll(model, test)
    history = fit_max_likelihood(model, train, 150, 128, 5e-3, np.random.default_rng(6), test,
                                 eval_every=50, progress=False)
    after, stderr = mean_nll(model, test)
    assert before - after > 8.0 + 5 * stderr, (before, after, stderr)  # nats per image
    assert history.valid_nll[-1] < history.valid_nll[0]
    samples = model.sample(20, np.random.default_rng(7))
    assert samples.shape == (20, 64) and set(np.unique(samples)) <= {0.0, 1.0}
    bottom = np.arange(64) >= 32
    filled = model.complete(test[:5], bottom, np.random.default_rng(8))
    np.testing.assert_array_equal(filled[:, bottom], test[:5, bottom])


# --------------------------------------------------- the trainer's contract
def test_resumed_training_gives_the_same_numbers(tmp_path):
    train, test = digits_split()
    train = train[:300]

    def run(steps, path):
        model = MADE(64, (16,), rng=np.random.default_rng(1))
        history = fit_max_likelihood(model, train, steps, 64, 1e-2, np.random.default_rng(2),
                                     eval_every=5, checkpoint=path, progress=False)
        return model, history

    whole, h_whole = run(20, tmp_path / "whole.npz")
    run(10, tmp_path / "part.npz")  # stopped halfway, then resumed from its checkpoint
    resumed, h_resumed = run(20, tmp_path / "part.npz")
    for p, q in zip(whole.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    np.testing.assert_array_equal(h_whole.train_nll, h_resumed.train_nll)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_training_stops_on_a_non_finite_loss(tmp_path):
    model = MADE(4, (8,), rng=np.random.default_rng(0))
    model.layers[0].bias.data[0] = np.nan
    path = tmp_path / "ckpt.npz"
    with pytest.raises(FloatingPointError, match="step 1"):
        fit_max_likelihood(model, np.ones((10, 4)), 5, 5, checkpoint=path, progress=False)
    assert not path.exists()
