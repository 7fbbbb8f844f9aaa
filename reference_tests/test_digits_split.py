"""The digits' fixed train/test split and the two binarizations (data for V6, V10, V11).

Oracles: the split's definition (a fixed permutation, documented sizes), set
algebra (disjoint, covering), and for stochastic binarization the Bernoulli
law itself: the number of ones is a sum of independent Bernoulli(c / 16),
so it lies within 5 standard deviations sqrt(sum p (1 - p)) of sum p.
"""
import numpy as np
import pytest

from dpm.datasets import binarize_stochastic, digits_split_indices, load_digits

pytestmark = pytest.mark.claim("V6")


def test_split_sizes_disjoint_and_covering():
    train, test = digits_split_indices()
    assert len(train) == 1437 and len(test) == 360
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(1797))


def test_split_is_the_documented_permutation():
    order = np.random.default_rng(1797).permutation(1797)
    train, test = digits_split_indices()
    np.testing.assert_array_equal(test, np.sort(order[:360]))
    np.testing.assert_array_equal(train, np.sort(order[360:]))


@pytest.mark.parametrize("split", ["train", "test"])
def test_split_rows_are_the_full_tables_rows(split):
    X_all, y_all = load_digits()
    X, y = load_digits(split=split)
    rows = digits_split_indices()[0 if split == "train" else 1]
    np.testing.assert_array_equal(X, X_all[rows])
    np.testing.assert_array_equal(y, y_all[rows])
    assert set(np.unique(y)) == set(range(10))  # every digit in both halves


def test_split_works_with_every_binarization():
    raw, _ = load_digits(scale=False, split="test")
    fixed, _ = load_digits(binarize=True, threshold=5, split="test")
    np.testing.assert_array_equal(fixed, (raw >= 5).astype(float))


def test_stochastic_binarization_is_fixed_by_seed_and_matches_the_split():
    a, _ = load_digits(binarize="stochastic", seed=3)
    b, _ = load_digits(binarize="stochastic", seed=3)
    c, _ = load_digits(binarize="stochastic", seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    test_part, _ = load_digits(binarize="stochastic", seed=3, split="test")
    np.testing.assert_array_equal(test_part, a[digits_split_indices()[1]])


def test_stochastic_binarization_follows_bernoulli_of_the_intensities():
    probs, _ = load_digits()
    x, _ = load_digits(binarize="stochastic", seed=0)
    assert set(np.unique(x)) <= {0.0, 1.0}
    # pixels with intensity 0 or 1 are never / always on
    assert np.all(x[probs == 0] == 0) and np.all(x[probs == 1] == 1)
    sd = np.sqrt(np.sum(probs * (1 - probs)))
    assert abs(x.sum() - probs.sum()) <= 5 * sd
    # and per intensity level (17 levels), each count within 5 sd
    for level in range(1, 16):
        p = level / 16
        on = x[probs == p]
        assert abs(on.sum() - p * on.size) <= 5 * np.sqrt(on.size * p * (1 - p))


def test_binarize_stochastic_fresh_draws_differ_and_are_seeded():
    probs, _ = load_digits(split="train")
    first = binarize_stochastic(probs, np.random.default_rng(1))
    again = binarize_stochastic(probs, np.random.default_rng(1))
    other = binarize_stochastic(probs, np.random.default_rng(2))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_binarize_stochastic_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match="probs"):
        binarize_stochastic(np.array([0.5, 1.5]), np.random.default_rng(0))


@pytest.mark.parametrize("kwargs, name", [
    ({"split": "validation"}, "split"), ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
    ({"binarize": "random"}, "binarize"),
])
def test_load_digits_rejects_bad_split_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        load_digits(**kwargs)
