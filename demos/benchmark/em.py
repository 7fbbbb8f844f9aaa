"""EM for a Gaussian mixture: 100,000 points in 2-D, K = 16, 20 iterations (issue 9).

``dpm.models.gmm_em.fit_gmm`` (fused Numba E-step with the project's
vectorizable exp, responsibilities never written, sufficient statistics
accumulated per block) against a plain NumPy EM written here, laid out as
scikit-learn does it: a per-component E-step (Cholesky solves), a
max-shifted logsumexp, responsibilities (N, K), a per-component M-step.
Both run exactly 20 iterations from random starts of the same data
(target >= 3x).
"""
from __future__ import annotations

import numpy as np

from demos.benchmark._timing import row
from dpm.models.gmm_em import fit_gmm


def numpy_em(x, k, iters, rng):
    """Textbook EM, full covariances, all in NumPy."""
    n, d = x.shape
    means = x[rng.choice(n, size=k, replace=False)]
    covs = np.repeat(np.cov(x.T, bias=True)[None], k, axis=0)
    weights = np.full(k, 1.0 / k)
    for _ in range(iters):
        a = np.empty((n, k))
        for j in range(k):                       # sklearn's layout: one component at a time
            chol = np.linalg.cholesky(covs[j])
            y = np.linalg.solve(chol, (x - means[j]).T)
            a[:, j] = (np.log(weights[j]) - np.log(np.diag(chol)).sum()
                       - 0.5 * d * np.log(2 * np.pi) - 0.5 * np.sum(y * y, axis=0))
        top = a.max(axis=1, keepdims=True)
        r = np.exp(a - top)
        r /= r.sum(axis=1, keepdims=True)
        nk = r.sum(axis=0)
        weights = nk / n
        means = (r.T @ x) / nk[:, None]
        for j in range(k):
            diff = x - means[j]
            covs[j] = (r[:, j, None] * diff).T @ diff / nk[j] + 1e-6 * np.eye(d)
    return weights, means, covs


def run(quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    n = 20_000 if quick else 100_000
    centres = rng.uniform(-10, 10, size=(16, 2))
    x = centres[rng.integers(16, size=n)] + rng.normal(size=(n, 2))
    repeats = 3 if quick else 5
    return [row("em_gmm", f"N={n:.0e}, d=2, K=16, 20 it", "fit_gmm (numba E-step)",
                lambda: fit_gmm(x, 16, np.random.default_rng(1), iters=20, tol=0.0),
                "plain NumPy EM", lambda: numpy_em(x, 16, 20, np.random.default_rng(1)),
                repeats=repeats)]
