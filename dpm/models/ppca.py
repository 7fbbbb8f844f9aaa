"""Probabilistic PCA (Tipping & Bishop 1999): the exact reference for a linear VAE (claim V7).

The model: z ~ N(0, I_q), x | z ~ N(W z + mu, sigma^2 I_d), so marginally

    x ~ N(mu, C),   C = W W^T + sigma^2 I_d,
    log p(x) = -1/2 [d log 2 pi + log det C + (x - mu)^T C^{-1} (x - mu)].

Maximum likelihood in closed form (Tipping & Bishop, eqs. 7, 8): with the
sample covariance S = (1/N) sum (x_n - mu)(x_n - mu)^T, mu = the sample mean,
and the eigenvalues lambda_1 >= ... >= lambda_d of S with eigenvectors U,

    sigma^2_ML = (1 / (d - q)) sum_{j > q} lambda_j      (the discarded variance, averaged)
    W_ML       = U_q (Lambda_q - sigma^2 I)^{1/2} R      (any rotation R; here R = I)

A linear-Gaussian VAE (linear encoder and decoder, shared learned sigma^2)
has an ELBO whose maximum equals this log-likelihood: at the optimum the
columns of W are orthogonal, the exact posterior N(M^{-1} W^T (x - mu),
sigma^2 M^{-1}), M = W^T W + sigma^2 I, is then diagonal, and a diagonal
guide matches it (Lucas, Tucker, Grosse & Norouzi 2019). The decoder's
column space is the principal subspace: ``principal_angles`` measures it.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

LOG_2PI = float(np.log(2.0 * np.pi))


def _data(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x must be an (N, d) array with N >= 2, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    return x


def ppca_mle(x, q):
    """(W, mu, sigma2): the Tipping-Bishop maximum-likelihood pPCA fit of x (N, d), W (d, q).

    Columns of W are the leading eigenvectors of S scaled by sqrt(lambda_j - sigma2)
    (clipped at 0 where lambda_j rounds below sigma2), ordered by eigenvalue.
    """
    x = _data(x)
    d = x.shape[1]
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not 1 <= q < d:
        raise ValueError(f"q must be an integer latent dimension in 1..{d - 1} (d - 1), "
                         f"got {q!r}")
    mu = x.mean(axis=0)
    centred = x - mu
    covariance = centred.T @ centred / x.shape[0]
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    sigma2 = float(eigenvalues[q:].mean())
    if sigma2 <= 0:
        raise ValueError(f"the data lie in a subspace of dimension <= {q}: sigma2_ML = "
                         f"{sigma2!r}; the likelihood is unbounded")
    W = eigenvectors[:, :q] * np.sqrt(np.maximum(eigenvalues[:q] - sigma2, 0.0))
    return W, mu, sigma2


def ppca_log_likelihood(x, W, mu, sigma2):
    """log N(x_n; mu, W W^T + sigma2 I) for each row of x: an (N,) array (nats).

    Computed by the Cholesky factor L of C: log det C = 2 sum log L_ii and the
    Mahalanobis term by one triangular solve.
    """
    x = _data(x)
    d = x.shape[1]
    W, mu = np.asarray(W, dtype=np.float64), np.asarray(mu, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != d:
        raise ValueError(f"W must have shape ({d}, q), got {W.shape}")
    if mu.shape != (d,):
        raise ValueError(f"mu must have shape ({d},), got {mu.shape}")
    if not (np.isfinite(sigma2) and sigma2 > 0):
        raise ValueError(f"sigma2 must be a finite number > 0, got {sigma2!r}")
    C = W @ W.T + sigma2 * np.eye(d)
    L = np.linalg.cholesky(C)
    white = solve_triangular(L, (x - mu).T, lower=True)
    half_log_det = np.log(np.diag(L)).sum()
    return -0.5 * (d * LOG_2PI + (white * white).sum(axis=0)) - half_log_det


def principal_angles(A, B):
    """The principal angles (radians, ascending) between the column spaces of A and B.

    With orthonormal bases Q_A, Q_B (QR), cos theta_i are the singular values
    of Q_A^T Q_B (Bjorck & Golub 1973); arccos is clipped to [0, 1] against rounding.
    Small angles are inaccurate in this cosine form (about sqrt(eps)); fine for
    the tolerances of V7 (degrees).
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2 or A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must be matrices with the same number of rows, got shapes "
                         f"{A.shape} and {B.shape}")
    QA, QB = np.linalg.qr(A)[0], np.linalg.qr(B)[0]
    cosines = np.linalg.svd(QA.T @ QB, compute_uv=False)
    return np.sort(np.arccos(np.clip(cosines, 0.0, 1.0)))
