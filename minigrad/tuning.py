"""Opt-in process tuning for speed: ``minigrad.tune_process()``. Importing minigrad changes nothing.

Two settings made this project's benchmarks faster on its 2-core machine,
but both belong to the whole process, so a library must not make them on
its own (they slowed PyTorch in the same process about 4x). Call
``minigrad.tune_process()`` once, early in a script, or set
``MINIGRAD_TUNE_PROCESS=1`` in the environment to have the import call it.

1. glibc malloc keeps freed array memory. A training step allocates and frees
   the same few dozen arrays every time. glibc hands every block above
   ``M_MMAP_THRESHOLD`` straight to the kernel with ``mmap`` and returns it
   with ``munmap`` when freed, and trims the top of the heap whenever more
   than ``M_TRIM_THRESHOLD`` is free; either way the next step faults the
   same pages in again, zero-filled. Measured when this was the default: a
   64-128-8 MLP step took 0.6 ms instead of 0.29 ms, and the hand-written
   NumPy step slowed as much. ``tune_process`` raises the thresholds
   (blocks up to 32 MiB from the heap, up to 128 MiB of free heap kept),
   much as PyTorch's caching allocator does by other means.
2. OpenMP workers wait passively. Numba's parallel kernels run on GNU
   OpenMP, whose idle workers spin after each parallel region; on a busy
   2-core machine they compete with the next call (and with NumPy): a small
   parallel kernel called in a loop took 2.7 ms instead of 0.06 ms.
   ``OMP_WAIT_POLICY=PASSIVE`` puts them to sleep. It is read once, when the
   OpenMP runtime loads (the first parallel kernel), so ``tune_process``
   must run before that; a value the user already set is kept.

Without tuning, minigrad's kernels avoid the worst case themselves: inputs
below ``minigrad.kernels.SERIAL_BELOW`` values run on one thread and open
no parallel region at all.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt parameter numbers from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20   # glibc's own cap for its dynamic threshold
TRIM_THRESHOLD = 128 << 20

# What the last tune_process() call did (None: never called).
APPLIED = None


def tune_malloc():
    """Raise glibc's mmap and trim thresholds; True when applied (False off glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _openmp_loaded():
    """True when an OpenMP runtime is already mapped into the process (Linux only)."""
    try:
        with open("/proc/self/maps") as maps:
            return any("libgomp" in line or "libomp" in line or "libiomp" in line
                       for line in maps)
    except OSError:
        return False


def tune_process(malloc=True, openmp=True):
    """Apply the process-wide speed settings above; returns what was done.

    The result is a dict: ``malloc`` (True when glibc's thresholds were
    raised), ``omp_wait_policy`` (the policy now in the environment) and
    ``omp_wait_policy_set_here`` (False when the user had set it) and
    ``openmp_already_loaded`` (True when the runtime had loaded before this
    call, in which case the policy only reaches child processes).
    """
    global APPLIED
    loaded = _openmp_loaded()
    set_here = openmp and "OMP_WAIT_POLICY" not in os.environ
    if set_here:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    APPLIED = {"malloc": tune_malloc() if malloc else False,
               "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
               "omp_wait_policy_set_here": set_here,
               "openmp_already_loaded": loaded}
    return APPLIED


def untuned_environment():
    """A copy of os.environ without the settings tune_process added (for a peer's subprocess)."""
    env = dict(os.environ)
    if APPLIED is not None and APPLIED["omp_wait_policy_set_here"]:
        env.pop("OMP_WAIT_POLICY", None)
    return env


def describe():
    """One line saying which settings are in force (for benchmark output)."""
    if APPLIED is None:
        return ("process tuning: none (library defaults; minigrad.tune_process() not called, "
                f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')})")
    late = " (set after OpenMP loaded: not in effect)" if APPLIED["openmp_already_loaded"] else ""
    return (f"process tuning: minigrad.tune_process(): glibc malloc thresholds "
            f"{'raised' if APPLIED['malloc'] else 'unchanged'}, "
            f"OMP_WAIT_POLICY={APPLIED['omp_wait_policy']}{late}")
