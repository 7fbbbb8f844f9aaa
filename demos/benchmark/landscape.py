"""Loss-landscape speed (F5): the fused Monte Carlo kernels vs their chunked NumPy twins.

Rows, for the lecture's bimodal target 1/2 N(-7.3, 1.4) + 1/2 N(7.3, 1.4):
- forward KL over a 200 x 200 (mu, sigma) grid with 10,000 draws a point
  (4e8 terms; target >= 5x over the twin): the kernel reuses log p(x_i),
  computed once, and per term does one fused multiply-add chain;
- reverse KL and JSD over 40 x 40 with 10,000 draws a point: each term
  evaluates the mixture log-density at mu + sigma eps_j (exp and log1p).
``--quick``: smaller grids and 2,000 draws.

Measured on this 2-core machine (full run): forward KL 42 ms vs 1.23 s (29x),
reverse KL 76 ms vs 1.83 s (24x), JSD 189 ms vs 2.50 s (13x). In the quick
run each Numba call costs a fixed ~8 ms when calls follow each other closely:
GNU OpenMP's idle workers spin for the core the next call needs (with
OMP_WAIT_POLICY=PASSIVE the quick forward-KL call takes 0.6 ms, 47x).
"""
from __future__ import annotations

import numpy as np

from demos.benchmark._timing import row
from dpm.kernels import landscape as kernels
from dpm.distributions import GaussianMixture
from dpm.landscape import _monte_carlo_arguments

TARGET = GaussianMixture([0.5, 0.5], [-7.3, 7.3], [1.4, 1.4])


def _row(divergence, points, n, repeats):
    mus, sigmas = np.linspace(-12.0, 12.0, points), np.linspace(0.5, 12.0, points)
    arguments = _monte_carlo_arguments(TARGET, divergence, mus, sigmas, n,
                                       np.random.default_rng(0))
    out, stderr = np.empty((points, points)), np.empty((points, points))

    def call(kernel):
        return lambda: kernel(mus, sigmas, *arguments, out, stderr)

    return row(f"landscape_{divergence}", f"{points}x{points}, n={n}", "numba kernel",
               call(getattr(kernels, f"{divergence}_numba")), "numpy twin (chunked)",
               call(getattr(kernels, f"{divergence}_numpy")), repeats=repeats, warmup=1)


def run(quick: bool) -> list[dict]:
    n = 2_000 if quick else 10_000
    repeats = 3
    return [_row("forward_kl", 60 if quick else 200, n, repeats),
            _row("reverse_kl", 20 if quick else 40, n, repeats),
            _row("js", 20 if quick else 40, n, repeats)]
