"""Linear-algebra primitives: matmul, cholesky, triangular_solve, inv, logdet.

All accept stacks of matrices (leading batch axes). The rules (Giles 2008,
"Extended collection of matrix derivative results"; Murray 2016,
"Differentiation of the Cholesky decomposition"):

    C = A B          : dA = G B^T,              dB = A^T G
    X = A^{-1} B     : dB = A^{-T} G,           dA = -dB X^T (masked to A's triangle)
    Y = A^{-1}       : dA = -Y^T G Y^T
    y = log|det A|   : dA = g A^{-T}
    L = chol(A)      : dA = sym(L^{-T} Phi(L^T G) L^{-1}),
                       Phi = lower triangle with the diagonal halved
"""
from __future__ import annotations

import numpy as np
from scipy import linalg as sla

from minigrad.ops.registry import const_like, primitive
from minigrad.tensor import make_tensor
from minigrad.ops.shape import reshape, sum_to, swap_last


# -------------------------------------------------------------------- matmul
@primitive("matmul", "linalg",
           lambda rng: [((rng.normal(size=(3, 4)), rng.normal(size=(4, 2))), {}),
                        ((rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5))), {}),
                        ((rng.normal(size=(4,)), rng.normal(size=(4, 2))), {}),
                        ((rng.normal(size=(3, 4)), rng.normal(size=(4,))), {}),
                        ((rng.normal(size=(4,)), rng.normal(size=(4,))), {})])
def matmul(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs arrays of at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise ValueError(f"matmul shapes {a.shape} and {b.shape} do not align: "
                         f"{a.shape[-1]} != {b.shape[0 if b.ndim == 1 else -2]}")
    return np.matmul(a, b)


def _as_matrices(g, a, b):
    """Promote vectors to matrices the way matmul does, and g to match."""
    a2 = reshape(a, shape=(1,) + a.shape) if a.ndim == 1 else a
    b2 = reshape(b, shape=b.shape + (1,)) if b.ndim == 1 else b
    out_shape = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])
    return reshape(g, shape=out_shape), a2, b2


def _matmul_vjp_a(g, out, a, b):
    # d(a b)/da: g b^T. Two matrices (the common case) need no promotion.
    if a.ndim == 2 and b.ndim == 2:
        return matmul(g, swap_last(b))
    g2, a2, b2 = _as_matrices(g, a, b)
    return reshape(sum_to(matmul(g2, swap_last(b2)), shape=a2.shape), shape=a.shape)


def _matmul_vjp_b(g, out, a, b):
    # d(a b)/db: a^T g.
    if a.ndim == 2 and b.ndim == 2:
        return matmul(swap_last(a), g)
    g2, a2, b2 = _as_matrices(g, a, b)
    return reshape(sum_to(matmul(swap_last(a2), g2), shape=b2.shape), shape=b.shape)


matmul.defvjp(_matmul_vjp_a, _matmul_vjp_b)


def _on_tensors(rule):
    """A Tensor rule run on ndarrays (the general case of the array rules below)."""
    return lambda *arrays: rule(*[make_tensor(np.asarray(a)) for a in arrays])._data


def matmul_grad_a(g, out, a, b):
    """g b^T on ndarrays (the array rule; stacks and vectors via the Tensor rule)."""
    if a.ndim == 2 and b.ndim == 2:
        return g @ b.T
    return _on_tensors(_matmul_vjp_a)(g, out, a, b)


def matmul_grad_b(g, out, a, b):
    """a^T g on ndarrays."""
    if a.ndim == 2 and b.ndim == 2:
        return a.T @ g
    return _on_tensors(_matmul_vjp_b)(g, out, a, b)


matmul.defvjp_arrays(matmul_grad_a, matmul_grad_b)


# ------------------------------------------------------- triangular systems
def _lower_triangular(rng, n=3, batch=()):
    L = np.tril(rng.normal(size=batch + (n, n)), -1) * 0.5
    diag = 1.0 + rng.uniform(0.2, 1.0, size=batch + (n,))
    return L + diag[..., None] * np.eye(n)


def _spd(rng, n=3, batch=()):
    A = rng.normal(size=batch + (n, n))
    return A @ np.swapaxes(A, -1, -2) + n * np.eye(n)


def _solve_one(A, B, lower):
    return sla.solve_triangular(A, B, lower=lower, check_finite=False)


@primitive("triangular_solve", "linalg",
           lambda rng: [((_lower_triangular(rng), rng.normal(size=(3, 2))), {"lower": True}),
                        ((np.swapaxes(_lower_triangular(rng), -1, -2), rng.normal(size=(3, 2))),
                         {"lower": False}),
                        ((_lower_triangular(rng, batch=(2,)), rng.normal(size=(2, 3, 4))),
                         {"lower": True})])
def _triangular_solve(A, B, lower=True):
    if A.ndim == 2 and B.ndim == 2:
        return _solve_one(A, B, lower)
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    A = np.broadcast_to(A, batch + A.shape[-2:])
    B = np.broadcast_to(B, batch + B.shape[-2:])
    X = np.empty(batch + B.shape[-2:], dtype=np.result_type(A, B))
    for idx in np.ndindex(*batch):
        X[idx] = _solve_one(A[idx], B[idx], lower)
    return X


def _tri_vjp_b(g, out, A, B, lower=True):
    return _triangular_solve(swap_last(A), g, lower=not lower)  # A^{-T} G


def _tri_vjp_a(g, out, A, B, lower=True):
    grad_B = _triangular_solve(swap_last(A), g, lower=not lower)
    mask = np.tril(np.ones(A.shape[-2:])) if lower else np.triu(np.ones(A.shape[-2:]))
    return -matmul(grad_B, swap_last(out)) * const_like(mask, g)  # only A's triangle is read


_triangular_solve.defvjp(_tri_vjp_a, _tri_vjp_b)


def triangular_solve(A, B, lower=True):
    """X with A X = B for triangular A (lower or upper); B may be a vector."""
    if A.shape[-1] != A.shape[-2]:
        raise ValueError(f"triangular_solve needs square A, got shape {A.shape}")
    if B.ndim == 1:
        return reshape(_triangular_solve(A, reshape(B, shape=(-1, 1)), lower=lower), shape=(-1,))
    if A.shape[-1] != B.shape[-2]:
        raise ValueError(f"triangular_solve shapes {A.shape} and {B.shape} do not align")
    return _triangular_solve(A, B, lower=lower)


# ----------------------------------------------------------- inverse, logdet
@primitive("inv", "linalg", lambda rng: [((_spd(rng),), {}), ((_spd(rng, batch=(2,)),), {})])
def inv(A):
    return np.linalg.inv(A)


inv.defvjp(lambda g, out, A: -matmul(matmul(swap_last(out), g), swap_last(out)))


@primitive("logdet", "linalg",
           lambda rng: [((_spd(rng),), {}), ((_spd(rng, batch=(2,)),), {}),
                        ((rng.normal(size=(3, 3)) + 3 * np.eye(3),), {})])
def logdet(A):
    """log |det A| (the sign is dropped; for SPD matrices it is log det A)."""
    return np.linalg.slogdet(A)[1]


logdet.defvjp(lambda g, out, A:
              reshape(g, shape=g.shape + (1, 1)) * swap_last(inv(A)))  # d log|det A| = A^{-T}


# ------------------------------------------------------------------ cholesky
@primitive("cholesky", "linalg", lambda rng: [((_spd(rng),), {}), ((_spd(rng, 4, (2,)),), {})])
def cholesky(A):
    """Lower-triangular L with L L^T = (A + A^T)/2.

    Symmetrising first makes the function depend on both triangles equally,
    so its gradient is the symmetric one and finite differences agree.
    """
    try:
        return np.linalg.cholesky((A + np.swapaxes(A, -1, -2)) / 2)
    except np.linalg.LinAlgError as err:
        raise ValueError(f"cholesky: matrix is not positive definite ({err})") from None


def _cholesky_vjp(g, out, A):
    n = A.shape[-1]
    phi = const_like(np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n), g)
    P = matmul(swap_last(out), g) * phi                          # Phi(L^T G)
    Y = _triangular_solve(swap_last(out), P, lower=False)        # L^{-T} P
    S = swap_last(_triangular_solve(swap_last(out), swap_last(Y), lower=False))  # Y L^{-1}
    return (S + swap_last(S)) * 0.5


cholesky.defvjp(_cholesky_vjp)
