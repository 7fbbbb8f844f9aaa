"""Numba kernels of dpm, each beside a NumPy twin of the same signature (tested equal).

Off the reading path: the readable NumPy form of each computation is in its
concept's file, and these are the fast loops those files call.

- ``mixture``: Gaussian-mixture log-densities and the Monte Carlo
  log p - log q of a mixture against a diagonal Normal (dpm.distributions.mixture;
  ``prepare`` and ``block_log_prob_1d`` are shared with ``landscape``);
- ``landscape``: Monte Carlo loss landscapes over a (mu, sigma) grid
  (dpm.landscape);
- ``transport``: Sinkhorn sweeps in the log domain and by matrix scaling, the
  Gibbs kernel and the transport cost (dpm.wasserstein).

Each module picks its Numba kernel when Numba is enabled and the twin
otherwise (``MINIGRAD_DISABLE_NUMBA=1``).
"""
