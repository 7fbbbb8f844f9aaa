"""Machine-specific thresholds of the kernels, beside the measurement that chose them.

``SERIAL_BELOW``: inputs of fewer values run the one-thread row kernels
(``_lse_rows_serial``, ``_softmax_rows_serial``) instead of the parallel ones.
Opening a parallel region wakes the worker threads: tens of microseconds on
an idle machine, and on a busy 2-core machine a worker may wait a whole time
slice (milliseconds) for a core, so below some size the parallel kernel is
slower than one thread doing all the work. ``measure_serial_cutoff`` is that
measurement (``python -m demos.benchmark --only logsumexp`` prints it as the
"serial vs parallel" rows); rerun it on a new machine and set the constant
to the smallest size at which the parallel kernel wins.

Measured on this project's 2-core AVX2 machine by ``measure_serial_cutoff``
(logsumexp over rows of 8, float64, 2 Numba threads, tune_process() applied),
twice on 2026-12-03, the machine shared with other processes:

    values                        2^11    2^13    2^15    2^17    2^19
    load ~8:  serial              5.6 us  38.5 us 157 us  674 us  1802 us
              parallel            30.8 us 57.8 us 170 us  669 us  1365 us
    load ~3:  serial              15 us   57 us   219 us  1306 us 2530 us
              parallel            50 us   63 us   356 us  1108 us 1030 us

From 2^17 values on parallel ties or wins (serial/parallel 1.01 and 1.18),
at 2^15 it loses (0.92 and 0.61), so the cutoff is 2^17; it was 2^15, set on
an idle machine, where waking the workers costs tens of microseconds. The
choice is a speed trade only: both kernels give the same numbers
(reference_tests/test_kernels.py runs every case through both, by setting
``minigrad.kernels.SERIAL_BELOW = 0``).

``BLOCK`` (values per row-kernel buffer, 2048 = 16 KB of float64, chosen to
stay in L1) is compiled into the Numba kernels as a constant, so it stays in
``rows.py``: Numba's cache does not notice a changed global of another file.
"""
from __future__ import annotations

import numpy as np

SERIAL_BELOW = 1 << 17


def measure_serial_cutoff(timer, exponents=(11, 13, 15, 17, 19), row=8, seed=0):
    """[(values, serial seconds, parallel seconds)] of logsumexp over rows of ``row`` values.

    ``timer(fn) -> seconds`` times a call (the benchmarks pass their median
    timer, ``demos.benchmark._timing.median_time``, with its warm-up, which
    also compiles the kernels).
    """
    from minigrad.kernels.rows import _lse_rows, _lse_rows_serial

    rng = np.random.default_rng(seed)
    results = []
    for k in exponents:
        x = rng.normal(size=(1 << k) // row * row)
        out = np.empty(x.size // row)
        serial = timer(lambda: _lse_rows_serial(x, row, out))
        parallel = timer(lambda: _lse_rows(x, row, out))
        results.append((x.size, serial, parallel))
    return results
