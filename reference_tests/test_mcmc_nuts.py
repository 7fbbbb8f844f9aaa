"""NUTS's iterative trees against the recursion they replace, and its kernel against its twin (E2).

``dpm.mcmc._nuts_tree`` builds the trajectory one leaf per tick with
checkpoints instead of recursing. Given the same start, step size, metric
and sequence of doubling directions, the U-turn and divergence decisions, so
the tree depth and the number of leapfrog steps, must be exactly those of
the recursive one-chain algorithm (Hoffman and Gelman 2014 with Stan's
generalised criterion and seam checks), written out independently here.
The compiled bookkeeping and its NumPy twin must give the same draws.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from dpm import mcmc
from dpm.mcmc import _nuts_tree
from minigrad._numba import NUMBA_ENABLED

SCALES = np.array([1.0, 0.3, 2.0])


def grad_fn(x):
    """log N(0, diag SCALES^2) and its gradient, (chains, 3) -> ((chains,), (chains, 3))."""
    return -0.5 * np.sum((x / SCALES) ** 2, axis=-1), -x / SCALES ** 2


def _free(sharp_minus, sharp_plus, rho):
    return sharp_minus @ rho > 0 and sharp_plus @ rho > 0


def reference_tree(x, p, eps, inv_metric, directions, max_depth):
    """(tree depth, leapfrog steps, divergent) of one NUTS iteration by the recursion."""
    log_p, grad = grad_fn(x[None])
    h0 = -log_p[0] + 0.5 * p @ (inv_metric * p)
    steps, divergent = [0], [False]

    def leaf(z, direction):
        x, p, g = z
        p = p + 0.5 * direction * eps * g
        x = x + direction * eps * inv_metric * p
        log_p, g = grad_fn(x[None])
        p = p + 0.5 * direction * eps * g[0]
        steps[0] += 1
        h = -log_p[0] + 0.5 * p @ (inv_metric * p)
        bad = not h - h0 <= 1000.0
        divergent[0] |= bad
        return (x, p, g[0]), not bad

    def build(z, depth, direction):
        """(edge, p at the first and last leaf in build order, rho, valid)."""
        if depth == 0:
            z, valid = leaf(z, direction)
            return z, z[1], z[1], z[1], valid
        z, first, init_end, init_rho, valid = build(z, depth - 1, direction)
        if not valid:
            return z, None, None, None, False
        z, final_beg, last, final_rho, valid = build(z, depth - 1, direction)
        if not valid:
            return z, None, None, None, False
        rho, sharp = init_rho + final_rho, lambda q: inv_metric * q
        ok = (_free(sharp(first), sharp(last), rho)
              and _free(sharp(first), sharp(final_beg), init_rho + final_beg)
              and _free(sharp(init_end), sharp(last), final_rho + init_end))
        return z, first, last, rho, ok

    ends = {1: (x, p, grad[0]), -1: (x, p, grad[0])}
    whole_beg = whole_end = whole_rho = p
    depth = 0
    for level in range(max_depth):
        direction = directions[level]
        z, first, last, rho, valid = build(ends[direction], level, direction)
        if not valid:
            break
        ends[direction] = z
        depth += 1
        if direction > 0:
            left, right = (whole_beg, whole_end, whole_rho), (first, last, rho)
            whole_end = last
        else:
            left, right = (last, first, rho), (whole_beg, whole_end, whole_rho)
            whole_beg = last
        whole_rho = whole_rho + rho
        sharp = lambda q: inv_metric * q   # noqa: E731
        if not (_free(sharp(left[0]), sharp(right[1]), whole_rho)
                and _free(sharp(left[0]), sharp(right[0]), left[2] + right[0])
                and _free(sharp(left[1]), sharp(right[1]), right[2] + left[1])):
            break
    return depth, steps[0], divergent[0]


class ScriptedUniforms:
    """A stand-in rng whose coins give each chain its scripted direction for each level."""

    def __init__(self, tree, directions):
        self.tree, self.directions = tree, directions

    def uniform(self, size):
        chains = self.directions.shape[0]
        if tuple(np.atleast_1d(size)) == (chains,):   # begin(): the first subtree's direction
            return np.where(self.directions[:, 0] > 0, 0.75, 0.25)
        u = np.full((3, chains), 0.5)
        upcoming = np.minimum(self.tree.level + 1, self.directions.shape[1] - 1)
        u[2] = np.where(self.directions[np.arange(chains), upcoming] > 0, 0.75, 0.25)
        return u


@pytest.mark.claim("E2")
@pytest.mark.parametrize("compiled", [True, False] if NUMBA_ENABLED else [False])
def test_iterative_tree_makes_the_recursions_decisions(monkeypatch, compiled):
    monkeypatch.setattr(_nuts_tree, "COMPILED", compiled)
    rng = np.random.default_rng(5)
    chains, max_depth = 200, 7
    x = rng.standard_normal((chains, 3)) * SCALES
    p = rng.standard_normal((chains, 3))
    eps = rng.uniform(0.02, 1.2, size=chains)      # from tiny (max depth) to divergent
    inv_metric = rng.uniform(0.2, 2.0, size=(chains, 3))
    directions = np.where(rng.uniform(size=(chains, max_depth)) > 0.5, 1, -1)
    tree = _nuts_tree.Trajectories(chains, 3, max_depth)
    scripted = ScriptedUniforms(tree, directions)
    log_p, grad = grad_fn(x)
    tree.begin(np.ones(chains, dtype=bool), x, p, log_p, grad, inv_metric, scripted)
    running = np.ones(chains, dtype=bool)
    while running.any():
        running &= ~tree.tick(grad_fn, eps, inv_metric, running, scripted)
    expected = np.array([reference_tree(x[c], p[c], eps[c], inv_metric[c], directions[c],
                                        max_depth) for c in range(chains)])
    np.testing.assert_array_equal(tree.depth, expected[:, 0])
    np.testing.assert_array_equal(tree.n_leapfrog, expected[:, 1])
    np.testing.assert_array_equal(tree.divergent, expected[:, 2].astype(bool))
    # the cases span the interesting range: U-turns early and late, the cap, divergences
    assert len(set(expected[:, 0])) >= 5 and expected[:, 0].max() == max_depth
    assert expected[:, 2].sum() > 0 and (expected[:, 2] == 0).sum() > chains // 2


@pytest.mark.claim("E2")
@pytest.mark.skipif(not NUMBA_ENABLED, reason="Numba disabled: only the twin runs")
def test_compiled_bookkeeping_gives_the_twins_draws(monkeypatch):
    precision = mg.Tensor(np.diag(1.0 / SCALES ** 2))

    def log_prob(x):
        return -0.5 * mg.sum((x @ precision) * x, axis=-1)

    runs = []
    for compiled in (True, False):
        monkeypatch.setattr(_nuts_tree, "COMPILED", compiled)
        rng = np.random.default_rng(3)
        # a fixed step size: under dual averaging rounding differences grow chaotically
        runs.append(mcmc.nuts(log_prob, rng.standard_normal((3, 3)), 100, rng, warmup=0,
                              step_size=0.4))
    np.testing.assert_allclose(runs[0].samples, runs[1].samples, rtol=0, atol=1e-10)
    for name in ("tree_depth", "n_leapfrog", "divergent"):
        np.testing.assert_array_equal(runs[0].stats[name], runs[1].stats[name])
    np.testing.assert_allclose(runs[0].accept_rate, runs[1].accept_rate, rtol=1e-10)
    assert runs[0].stats["tree_depth"].min() >= 1 and len(np.unique(runs[0].samples)) > 200
