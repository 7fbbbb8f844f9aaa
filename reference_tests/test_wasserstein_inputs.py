"""Invalid input to every public function of dpm.wasserstein raises a ValueError naming it.

(kr_critic_w1's arguments are checked in test_kr_critic.py.)
"""
from __future__ import annotations

import numpy as np
import pytest

from dpm.wasserstein import assignment_emd, cost_matrix, emd, sinkhorn, wasserstein_1d


@pytest.mark.parametrize("call, match", [
    (lambda: wasserstein_1d([], [1.0]), "x must be a non-empty"),
    (lambda: wasserstein_1d([1.0, np.nan], [1.0]), "x must be finite"),
    (lambda: wasserstein_1d([[1.0, 2.0]], [1.0]), "must be 1-D"),
    (lambda: wasserstein_1d([1.0], [2.0], x_weights=[-1.0]), "x_weights must be finite and >= 0"),
    (lambda: wasserstein_1d([1.0], [2.0], y_weights=[0.0]), "y_weights must not be all zero"),
    (lambda: wasserstein_1d([1.0, 2.0], [2.0], x_weights=[1.0]), "one mass per sample"),
    (lambda: wasserstein_1d([1.0], [2.0], p=0.5), "p must be a finite number >= 1"),
    (lambda: cost_matrix(np.ones((2, 2)), np.ones((2, 3))), "same dimension"),
    (lambda: emd([0.5, 0.5], [0.5, 0.6], np.ones((2, 2))), "same total mass"),
    (lambda: emd([0.5, 0.5], [1.0], np.ones((2, 2))), r"shape \(len\(a\), len\(b\)\)"),
    (lambda: emd([0.5, 0.5], [1.0], [[0.0], [np.inf]]), "cost must be finite"),
    (lambda: emd([1.5, -0.5], [1.0], [[0.0], [1.0]]), "a must be finite and >= 0"),
    (lambda: emd([0.5, 0.5], [0.3, 0.7], np.ones((2, 2)), method="assignment"), "uniform masses"),
    (lambda: emd([1.0], [1.0], [[0.0]], method="simplex"), "method must be"),
    (lambda: assignment_emd(np.ones(3), np.ones(4)), "same number of points"),
    (lambda: sinkhorn([1.0], [1.0], [[0.0]], reg=0.0), "reg must be a finite number > 0"),
    (lambda: sinkhorn([1.0], [1.0], [[0.0]], reg=1.0, n_iter=0), "n_iter must be a positive integer"),
])
def test_invalid_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
