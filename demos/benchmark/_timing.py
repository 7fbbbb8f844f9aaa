"""Timing helpers shared by every benchmark module.

Each benchmark row times *our* implementation and a *reference* on the same
input, in the same process, after a warm-up call (which also triggers Numba's
compilation), and reports medians of repeats. Only the ratio ref/ours is
meaningful across machines; absolute seconds drift.
"""
from __future__ import annotations

import statistics
import time

import numpy as np


def median_time(fn, *, repeats=7, warmup=1, min_time=0.0):
    """Median wall time in seconds of ``fn()`` over ``repeats`` calls.

    ``warmup`` calls are made first and not timed. If one call is shorter
    than ``min_time`` seconds the timed unit becomes a loop of calls long
    enough to reach it (and the result is divided back to one call), so
    microsecond-scale operations are not swamped by timer resolution.
    """
    return median_times([fn], repeats=repeats, warmup=warmup, min_time=min_time)[0]


def median_times(fns, *, repeats=7, warmup=1, min_time=0.0):
    """``median_time`` of each of ``fns``, their timed units interleaved.

    Each repeat times one unit of every function in turn, so a slow spell of
    the machine (another process, a frequency change) falls on all of them
    alike instead of on whichever happened to run then: the ratios of the
    medians are steadier than those of medians taken one after the other.
    """
    inners = []
    for fn in fns:
        for _ in range(warmup):
            fn()
        inner = 1
        if min_time > 0:
            start = time.perf_counter()
            fn()
            once = max(time.perf_counter() - start, 1e-9)
            inner = max(1, int(min_time / once))
        inners.append(inner)
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for fn, inner, times in zip(fns, inners, samples):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            times.append((time.perf_counter() - start) / inner)
    return [statistics.median(times) for times in samples]


def row(bench, size, ours, ours_fn, ref, ref_fn, **timing):
    """Time ``ours_fn`` and ``ref_fn`` (interleaved) and return one result row (a dict).

    The keys are the ones ``--json`` prints: bench, size, ours, ours_s, ref,
    ref_s, speedup = ref_s / ours_s (above 1 means ours is faster).
    """
    ref_s, ours_s = median_times([ref_fn, ours_fn], **timing)
    return {
        "bench": bench,
        "size": size,
        "ours": ours,
        "ours_s": ours_s,
        "ref": ref,
        "ref_s": ref_s,
        "speedup": ref_s / ours_s,
    }


def torch_or_none():
    """PyTorch if it happens to be installed (never required), else None."""
    try:
        import torch  # noqa: F401  (optional peer)
    except Exception:
        return None
    torch.set_num_threads(2)
    return torch


class HandAdam:
    """Adam written out in NumPy for the hand-derived reference steps (Kingma & Ba 2015).

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), updated in place.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        self.t = 0

    def step(self, grads):
        beta1, beta2 = self.betas
        self.t += 1
        c1, c2 = 1.0 - beta1 ** self.t, 1.0 - beta2 ** self.t
        for p, g, (m, v) in zip(self.params, grads, self.moments):
            m *= beta1
            m += (1.0 - beta1) * g
            v *= beta2
            v += (1.0 - beta2) * (g * g)
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def print_profile(step, steps, top=20):
    """Run ``step`` once, then ``steps`` times under cProfile; print the top entries by own time."""
    import cProfile
    import pstats
    step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)
