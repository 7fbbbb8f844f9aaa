"""Machine-specific thresholds of the dpm kernels, each with the benchmark that measures it.

A threshold is a size below which a kernel's parallel path loses to its
serial one (waking Numba's thread pool costs tens of microseconds a
parallel region). It depends on the machine, so each value here names the
benchmark rows that measure the crossover; re-run them on a new machine and
move the value to where ``speedup`` (serial time / parallel time) crosses 1.

- ``SINKHORN_PARALLEL_MIN_SIZE``: matrix entries from which the log-domain
  Sinkhorn sweeps (``dpm.kernels.transport``, two parallel regions a sweep)
  run in parallel. Measured by ``python -m demos.benchmark --only sinkhorn``,
  rows ``sinkhorn_log_threads`` (one row update, parallel vs one thread, at
  128^2, 256^2 and 512^2 entries). The value 65,536 predates these rows
  (its measurement was not recorded). Measured 2026-12-03 on the 2-core
  machine while 8 sessions shared it: speedup 0.40 at 16,384 entries, 0.74
  at 65,536, 1.11 at 262,144, so under load the crossover lies between
  65,536 and 262,144; re-measure on an idle machine before moving it.
"""
SINKHORN_PARALLEL_MIN_SIZE = 65536
