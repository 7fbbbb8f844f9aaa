"""The shipped digits: shape, value range, labels, and the loader's options.

The oracle is the data set's own description (dpm/data/README.md): 1,797
images of 64 integer pixel counts 0..16, labels 0..9.
"""
import numpy as np
import pytest

from dpm.datasets import load_digits


def test_load_digits_shapes_and_dtypes():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64


def test_load_digits_raw_pixels_are_integer_counts_0_to_16():
    X, _ = load_digits(scale=False)
    assert np.array_equal(X, np.round(X))
    assert X.min() == 0 and X.max() == 16
    # every count 0..16 occurs: the file is not already binarized or rescaled
    assert set(np.unique(X).astype(int)) == set(range(17))


def test_load_digits_scaled_is_counts_over_16_in_unit_interval():
    X, _ = load_digits()
    raw, _ = load_digits(scale=False)
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, raw)


def test_load_digits_labels_cover_0_to_9_and_sum_to_1797():
    _, y = load_digits()
    counts = np.bincount(y, minlength=10)
    assert len(counts) == 10 and counts.sum() == 1797
    assert counts.min() > 150  # roughly balanced: about 180 of each digit


@pytest.mark.parametrize("threshold", [1, 8, 16])
def test_load_digits_binarize_thresholds_raw_counts(threshold):
    X, _ = load_digits(binarize=True, threshold=threshold)
    raw, _ = load_digits(scale=False)
    assert set(np.unique(X)) <= {0.0, 1.0}
    np.testing.assert_array_equal(X, (raw >= threshold).astype(float))


def test_load_digits_returns_fresh_arrays():
    X1, y1 = load_digits()
    X1[:] = -1.0
    y1[:] = -1
    X2, y2 = load_digits()
    assert X2.min() == 0.0 and y2.min() == 0


@pytest.mark.parametrize("kwargs, name", [
    ({"threshold": 0}, "threshold"), ({"threshold": 17}, "threshold"),
    ({"threshold": 8.5}, "threshold"), ({"binarize": "yes"}, "binarize"),
    ({"scale": 1}, "scale"),
])
def test_load_digits_rejects_bad_arguments_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        load_digits(**kwargs)
