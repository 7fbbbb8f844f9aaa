"""Gaussian-mixture speed: log p(x) - log q(x), the Monte Carlo KL integrand (issue 3).

Rows, on 1,000,000 points (100,000 with --quick) of a 1-D mixture against a
Normal q:
- K = 16 and K = 2: the fused Numba kernel
  ``dpm.kernels.mixture.mixture_normal_log_ratio_numba`` against its
  vectorized NumPy twin (target >= 5x at K = 16), against scipy.stats
  (log of the weighted sum of norm.pdf, minus norm.logpdf), and against
  PyTorch's MixtureSameFamily when PyTorch happens to be installed;
- the fused mean-and-standard-error kernel (no N-array written) against the
  twin's values followed by mean and std;
- K = 16 in 4-D (diagonal): kernel vs twin.
"""
from __future__ import annotations

import numpy as np
import scipy.stats

from demos.benchmark._timing import row, torch_or_none
from dpm.kernels import mixture as mk


def _problem(rng, n, K, d=None):
    weights = rng.dirichlet(np.ones(K))
    shape = (K,) if d is None else (K, d)
    locs, scales = rng.normal(size=shape) * 4, rng.uniform(0.5, 2.0, size=shape)
    x = rng.normal(size=(n,) if d is None else (n, d)) * 4
    return x, weights, locs, scales


def _scipy_ratio(x, weights, locs, scales, q_loc, q_scale):
    # the textbook way: sum of weighted pdfs, then log (underflows far in the tails)
    density = np.zeros_like(x)
    for w, m, s in zip(weights, locs, scales):
        density += w * scipy.stats.norm.pdf(x, m, s)
    return np.log(density) - scipy.stats.norm.logpdf(x, q_loc, q_scale)


def _torch_rows(torch, size, args, repeats):
    x, weights, locs, scales, q_loc, q_scale = args
    D = torch.distributions
    p = D.MixtureSameFamily(D.Categorical(probs=torch.tensor(weights)),
                            D.Normal(torch.tensor(locs), torch.tensor(scales)))
    q = D.Normal(torch.tensor(q_loc), torch.tensor(q_scale))
    xt = torch.tensor(x)

    def ratio():
        with torch.no_grad():
            return p.log_prob(xt) - q.log_prob(xt)

    return [row("mixture_log_ratio", size, "numba fused kernel",
                lambda: mk.mixture_normal_log_ratio_numba(*args),
                "torch MixtureSameFamily", ratio, repeats=repeats)]


def run(quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    n = 100_000 if quick else 1_000_000
    repeats = 3 if quick else 7
    torch = torch_or_none()
    rows = []
    for K in (16, 2):
        x, weights, locs, scales = _problem(rng, n, K)
        args = (x, weights, locs, scales, 0.5, 3.0)
        size = f"N={n:.0e}, K={K}, 1-D"
        rows.append(row("mixture_log_ratio", size, "numba fused kernel",
                        lambda: mk.mixture_normal_log_ratio_numba(*args),
                        "numpy twin (N x K)", lambda: mk.mixture_normal_log_ratio_numpy(*args),
                        repeats=repeats))
        rows.append(row("mixture_log_ratio", size, "numba fused kernel",
                        lambda: mk.mixture_normal_log_ratio_numba(*args),
                        "scipy.stats norm.pdf sum", lambda: _scipy_ratio(*args), repeats=repeats))
        if torch is not None:
            rows += _torch_rows(torch, size, args, repeats)
        if K == 16:
            rows.append(row("mixture_kl_mean_stderr", size, "numba fused stats",
                            lambda: mk.mixture_normal_log_ratio_stats_numba(*args),
                            "numpy twin values + mean/std",
                            lambda: mk.mixture_normal_log_ratio_stats_numpy(*args),
                            repeats=repeats))
    x, weights, locs, scales = _problem(rng, n // 4, 16, d=4)
    args = (x, weights, locs, scales, np.zeros(4), np.full(4, 3.0))
    rows.append(row("mixture_log_ratio", f"N={n // 4:.0e}, K=16, d=4", "numba fused kernel",
                    lambda: mk.mixture_normal_log_ratio_numba(*args),
                    "numpy twin (N x K x d)", lambda: mk.mixture_normal_log_ratio_numpy(*args),
                    repeats=repeats))
    return rows
