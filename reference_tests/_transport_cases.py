"""Random transport problems shared by test_emd.py and test_sinkhorn.py."""
from __future__ import annotations

from dpm.wasserstein import cost_matrix


def random_problem(rng, n, m, d=2):
    a, b = rng.random(n) + 0.05, rng.random(m) + 0.05
    a, b = a / a.sum(), b / b.sum()
    return a, b, cost_matrix(rng.normal(size=(n, d)), rng.normal(size=(m, d)))
