"""Transport speed: log-domain Sinkhorn kernel vs its NumPy twin, and 1-D W1.

Rows:
- log-domain Sinkhorn on 1,000 x 1,000 points in 2-D (reg 0.05, a fixed
  number of sweeps, tol 0 so both run every sweep): the Numba kernel of
  dpm/kernels/transport.py against its NumPy twin (target >= 2x), and
  against POT's ``ot.sinkhorn2(method="sinkhorn_log")`` when POT happens to
  be installed (never required);
- ``dpm.wasserstein.sinkhorn`` at reg 0.05 on unit-scale costs (its
  multiplicative path) on 1,000 and 2,000 points, equal sweeps, against POT's
  plain ``ot.sinkhorn2`` when installed, else the NumPy scaling loop;
- the parallel-vs-one-thread crossover of one log-domain row update at
  128^2 to 512^2 entries (the value in dpm/kernels/thresholds.py);
- ``dpm.wasserstein.wasserstein_1d`` against ``scipy.stats.wasserstein_distance``
  on 1e5 vs 1e5 samples (equal sizes: the sorted fast path) and on unequal
  weighted samples (the quantile path).
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.stats

from demos.benchmark._timing import row
from dpm.kernels import transport as kernels
from dpm.wasserstein import cost_matrix, sinkhorn, wasserstein_1d


def _sinkhorn_rows(quick):
    rng = np.random.default_rng(0)
    n = 300 if quick else 1000
    sweeps = 10 if quick else 50
    reg = 0.05
    cost = cost_matrix(rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 1.0)
    log_a = log_b = np.full(n, -np.log(n))

    def loop(kernel):
        def run():
            f, g = np.zeros(n), np.zeros(n)
            kernel(log_a, log_b, cost, reg, f, g, sweeps, 0.0)
        return run

    repeats = 3 if quick else 5
    size = f"{n}x{n}, {sweeps} sweeps"
    rows = [row("sinkhorn_log", size, "numba kernel", loop(kernels.sinkhorn_log_numba),
                "numpy twin", loop(kernels.sinkhorn_log_numpy), repeats=repeats, warmup=1)]
    try:
        import ot  # optional peer, never required
    except ImportError:
        return rows
    a = np.full(n, 1.0 / n)
    rows.append(row("sinkhorn_log", size, "numba kernel", loop(kernels.sinkhorn_log_numba),
                    "POT sinkhorn2 (sinkhorn_log)",
                    lambda: ot.sinkhorn2(a, a, cost, reg, method="sinkhorn_log",
                                         numItermax=sweeps, stopThr=0.0),
                    repeats=repeats, warmup=1))
    return rows


def _threshold_rows(quick):
    """The crossover behind dpm.kernels.thresholds.SINKHORN_PARALLEL_MIN_SIZE.

    One row update of log-domain Sinkhorn, the parallel kernel against the
    same loop on one thread, at sizes around the threshold: speedup > 1
    means the parallel path pays at that size.
    """
    if not kernels.NUMBA_ENABLED:
        return []
    rng, reg, rows = np.random.default_rng(3), 0.05, []
    for n in ((128, 256) if quick else (128, 256, 512)):
        cost = np.ascontiguousarray(rng.random((n, n)))
        g, out = np.zeros(n), np.empty(n)
        rows.append(row("sinkhorn_log_threads", f"{n}x{n} = {n * n} entries, one row update",
                        "parallel", lambda: kernels._row_softmax_parallel(cost, g, reg, out),
                        "one thread",
                        lambda: kernels._row_softmax_rows(cost, g, reg, out, 0, cost.shape[0]),
                        repeats=5 if quick else 21, warmup=2))
    return rows


def _numpy_scaling(a, b, cost, reg, sweeps):
    """Plain Sinkhorn-Knopp in NumPy (POT's plain loop without POT): the fallback reference."""
    kernel = np.exp(-cost / reg)
    u, v = np.ones(a.shape[0]), np.ones(b.shape[0])
    for _ in range(sweeps):
        u = a / (kernel @ v)
        v = b / (kernel.T @ u)
    return float(np.sum(u[:, None] * kernel * v[None, :] * cost))


def _scaling_rows(quick):
    """dpm.wasserstein.sinkhorn at large reg (the multiplicative path), equal iterations.

    Against POT's plain ``ot.sinkhorn2`` (method "sinkhorn") when POT is
    installed, else against the NumPy scaling loop above; tol 0 so that both
    run every sweep.
    """
    try:
        import ot  # optional peer, never required
        reference = "POT sinkhorn2 (plain)"
        run_reference = lambda a, cost, reg, sweeps: ot.sinkhorn2(  # noqa: E731
            a, a, cost, reg, method="sinkhorn", numItermax=sweeps, stopThr=0.0)
    except ImportError:
        reference = "numpy scaling loop"
        run_reference = lambda a, cost, reg, sweeps: _numpy_scaling(a, a, cost, reg, sweeps)  # noqa: E731
    rng = np.random.default_rng(2)
    reg, sweeps = 0.05, 10 if quick else 50
    rows = []
    for n in ((300,) if quick else (1000, 2000)):
        cost = cost_matrix(rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 1.0)
        cost /= cost.max()   # unit-scale costs: spread / reg = 20, the scaling path
        a = np.full(n, 1.0 / n)
        rows.append(row("sinkhorn_scaling", f"{n}x{n}, reg {reg}, {sweeps} sweeps",
                        "dpm sinkhorn (auto: scaling)",
                        lambda: sinkhorn(a, a, cost, reg, n_iter=sweeps, tol=0.0),
                        reference, lambda: run_reference(a, cost, reg, sweeps),
                        repeats=3 if quick else 5, warmup=1))
    return rows


def _wasserstein_1d_rows(quick):
    rng = np.random.default_rng(1)
    n = 10_000 if quick else 100_000
    x, y = rng.normal(size=n), rng.normal(0.5, 2.0, size=n)
    repeats = 3 if quick else 7
    rows = [row("wasserstein_1d", f"{n} vs {n}", "sorted gaps", lambda: wasserstein_1d(x, y),
                "scipy.stats.wasserstein_distance", lambda: scipy.stats.wasserstein_distance(x, y),
                repeats=repeats)]
    m = (3 * n) // 4
    wx, wy = rng.random(n), rng.random(m)
    rows.append(row("wasserstein_1d", f"{n} vs {m}, weighted", "merged quantiles",
                    lambda: wasserstein_1d(x, y[:m], wx, wy),
                    "scipy.stats.wasserstein_distance",
                    lambda: scipy.stats.wasserstein_distance(x, y[:m], wx, wy), repeats=repeats))
    return rows


def run(quick: bool) -> list[dict]:
    with warnings.catch_warnings():   # tol 0: "did not converge" is the point of a fixed count
        warnings.simplefilter("ignore", RuntimeWarning)
        return (_sinkhorn_rows(quick) + _scaling_rows(quick) + _threshold_rows(quick)
                + _wasserstein_1d_rows(quick))
