"""The one switch between Numba and plain NumPy.

Every kernel module imports ``njit`` and ``prange`` from here. When Numba is
missing, or the environment sets ``MINIGRAD_DISABLE_NUMBA=1``, ``njit`` becomes
a decorator that returns the Python function unchanged and ``prange`` is
``range``; callers then dispatch to the NumPy twin of each kernel (looping in
pure Python would be far too slow), using ``NUMBA_ENABLED`` to decide.
"""
from __future__ import annotations

import os

# No thread or environment settings here: a library does not change the
# process at import. OMP_WAIT_POLICY, which matters for Numba's OpenMP
# workers, is set only by the opt-in minigrad.tune_process() (tuning.py).
NUMBA_ENABLED = os.environ.get("MINIGRAD_DISABLE_NUMBA", "0") not in ("1", "true", "True")

if NUMBA_ENABLED:
    try:
        from numba import njit, prange
    except ImportError:  # numba is a declared dependency, but the package must still import
        NUMBA_ENABLED = False

if not NUMBA_ENABLED:
    def njit(*args, **kwargs):
        """Stand-in for ``numba.njit``: return the function unchanged."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda fn: fn

    prange = range
