"""Timing helpers shared by every benchmark module.

Each benchmark row times *our* implementation and a *reference* on the same
input, in the same process, after a warm-up call (which also triggers Numba's
compilation), and reports medians of repeats. Only the ratio ref/ours is
meaningful across machines; absolute seconds drift.
"""
from __future__ import annotations

import statistics
import time


def median_time(fn, *, repeats=7, warmup=1, min_time=0.0):
    """Median wall time in seconds of ``fn()`` over ``repeats`` calls.

    ``warmup`` calls are made first and not timed. If one call is shorter
    than ``min_time`` seconds the timed unit becomes a loop of calls long
    enough to reach it (and the result is divided back to one call), so
    microsecond-scale operations are not swamped by timer resolution.
    """
    for _ in range(warmup):
        fn()
    inner = 1
    if min_time > 0:
        start = time.perf_counter()
        fn()
        once = max(time.perf_counter() - start, 1e-9)
        inner = max(1, int(min_time / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def row(bench, size, ours, ours_fn, ref, ref_fn, **timing):
    """Time ``ours_fn`` and ``ref_fn`` and return one result row (a dict).

    The keys are the ones ``--json`` prints: bench, size, ours, ours_s, ref,
    ref_s, speedup = ref_s / ours_s (above 1 means ours is faster).
    """
    ref_s = median_time(ref_fn, **timing)
    ours_s = median_time(ours_fn, **timing)
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
