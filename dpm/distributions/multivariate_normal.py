"""Multivariate normal distributions N(mu, Sigma) in d dimensions.

Two classes, one concept:

- ``MultivariateNormal(loc, covariance_matrix=None, scale_tril=None)``: a
  full covariance, kept as its Cholesky factor L (lower-triangular, positive
  diagonal, Sigma = L L^T). Give Sigma (factorized here, differentiably) or L.
- ``DiagonalNormal(loc, scale)``: Sigma = diag(scale^2), d independent
  normals as one event of shape (d,). This is the VAE encoder's q(z|x): it
  costs O(d), never forms a matrix, and its KL to N(0, I) is
  ``dpm.kl.kl_normal_standard_normal``.

With z = L^{-1} (x - mu) (a triangular solve, never an inverse):

    log p(x) = -1/2 |z|^2 - sum_i log L_ii - d/2 log(2 pi)
    mean mu, covariance L L^T, H = d/2 (1 + log 2 pi) + sum_i log L_ii

Reparameterization (claim M2; lecture 003): x = mu + L eps, eps ~ N(0, I_d).
Shapes: ``loc`` is (..., d), L is (..., d, d); the batch shape is the
broadcast of their leading axes and the event shape is (d,).
"""
from __future__ import annotations

import numpy as np

from dpm.distributions.base import (
    Distribution, _show, as_param, broadcast_batch_shape, expand_to, positive_param,
    resolve_rng)
import minigrad as mg
from minigrad import as_tensor

LOG_2PI = float(np.log(2.0 * np.pi))


def _swap_last(matrix):
    axes = list(range(matrix.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return mg.transpose(matrix, axes=tuple(axes))


def _diagonal(matrix):
    """The diagonals of a stack of square matrices, differentiably: shape (..., d)."""
    d = matrix.shape[-1]
    return matrix[..., np.arange(d), np.arange(d)]


def _check_square(matrix, name):
    if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(f"{name} must be a (..., d, d) stack of square matrices, "
                         f"got shape {matrix.shape}")


def _check_event(loc, d, name="loc"):
    if loc.ndim < 1 or loc.shape[-1] != d:
        raise ValueError(f"{name} must have shape (..., {d}) to match the {d} x {d} matrix, "
                         f"got shape {loc.shape}")


class MultivariateNormal(Distribution):
    """N(loc, Sigma) with Sigma given as ``covariance_matrix`` or as its factor ``scale_tril``.

    ``covariance_matrix`` must be symmetric positive definite; ``scale_tril``
    lower-triangular with a positive diagonal. Exactly one is given.
    """

    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, scale_tril=None):
        if (covariance_matrix is None) == (scale_tril is None):
            raise ValueError("MultivariateNormal needs exactly one of covariance_matrix, "
                             "scale_tril")
        self.loc = as_param(loc, "loc")
        if covariance_matrix is not None:
            covariance = as_param(covariance_matrix, "covariance_matrix")
            _check_square(covariance, "covariance_matrix")
            _check_spd(covariance.data)
            self.scale_tril = mg.cholesky(covariance)
        else:
            self.scale_tril = as_param(scale_tril, "scale_tril")
            _check_square(self.scale_tril, "scale_tril")
            _check_lower_triangular(self.scale_tril.data)
        d = self.scale_tril.shape[-1]
        _check_event(self.loc, d)
        try:
            batch = np.broadcast_shapes(self.loc.shape[:-1], self.scale_tril.shape[:-2])
        except ValueError:
            matrix = "covariance_matrix" if covariance_matrix is not None else "scale_tril"
            raise ValueError(f"the batch axes of loc (shape {self.loc.shape}) and {matrix} "
                             f"(shape {self.scale_tril.shape}) do not broadcast") from None
        super().__init__(batch, (d,))
        self.dtype = np.result_type(self.loc.data, self.scale_tril.data)

    # -- pieces
    @property
    def covariance_matrix(self):
        """Sigma = L L^T, shape batch_shape + (d, d)."""
        L = self.scale_tril
        return expand_to(L @ _swap_last(L), self.batch_shape + self.event_shape * 2)

    def half_log_det(self):
        """1/2 log det Sigma = sum_i log L_ii, shape of L's batch."""
        return mg.log(_diagonal(self.scale_tril)).sum(axis=-1)

    def whiten(self, diff):
        """z = L^{-1} diff for ``diff`` of shape (..., d) broadcasting with the batch.

        Size-1 batch axes broadcast both ways, as in torch: the axes along
        which L varies are solved one factor each, and all other axes (those
        of the sample, and batch axes where L has size 1) become columns of
        one right-hand side, so each distinct factor is used once.
        """
        L = self.scale_tril
        d = self.event_shape[0]
        full = np.broadcast_shapes(diff.shape, L.shape[:-1])
        diff = expand_to(diff, full)
        outer = full[:-1]
        factor_batch = (1,) * (len(outer) - (L.ndim - 2)) + L.shape[:-2]
        solve_axes = [i for i, n in enumerate(factor_batch) if n != 1]
        column_axes = [i for i, n in enumerate(factor_batch) if n == 1]
        solve_shape = tuple(outer[i] for i in solve_axes)
        column_shape = tuple(outer[i] for i in column_axes)
        k = len(outer)
        order = tuple(solve_axes) + (k,) + tuple(column_axes)
        columns = mg.reshape(mg.transpose(diff, axes=order),
                             shape=solve_shape + (d, int(np.prod(column_shape))))
        factor = mg.reshape(L, shape=solve_shape + (d, d))
        solved = mg.triangular_solve(factor, columns, lower=True)
        solved = mg.reshape(solved, shape=solve_shape + (d,) + column_shape)
        return mg.transpose(solved, axes=tuple(int(i) for i in np.argsort(order)))

    # -- interface
    def rsample(self, shape=(), rng=None):
        """x = loc + L eps, eps ~ N(0, I): shape ``shape + batch_shape + (d,)``."""
        eps = resolve_rng(rng).standard_normal(self.extended_shape(shape)).astype(self.dtype)
        L = self.scale_tril
        if L.ndim == 2:
            return self.loc + mg.Tensor(eps) @ L.T
        return self.loc + (L @ mg.Tensor(eps[..., None]))[..., 0]

    def log_prob(self, x):
        """-1/2 |L^{-1}(x - loc)|^2 - sum log L_ii - d/2 log(2 pi); shape sample + batch."""
        x = as_tensor(x)
        d = self.event_shape[0]
        if x.ndim < 1 or x.shape[-1] != d:
            raise ValueError(f"x must have shape (..., {d}) for a {d}-dimensional normal, "
                             f"got shape {x.shape}")
        z = self.whiten(x - self.loc)
        return (z * z).sum(axis=-1) * -0.5 - self.half_log_det() - 0.5 * d * LOG_2PI

    @property
    def mean(self):
        return expand_to(self.loc, self.batch_shape + self.event_shape)

    @property
    def variance(self):
        """The diagonal of Sigma: sum_j L_ij^2."""
        L = self.scale_tril
        return expand_to((L * L).sum(axis=-1), self.batch_shape + self.event_shape)

    def entropy(self):
        """d/2 (1 + log 2 pi) + sum_i log L_ii."""
        d = self.event_shape[0]
        return expand_to(self.half_log_det() + 0.5 * d * (1.0 + LOG_2PI), self.batch_shape)


def _check_spd(covariance):
    asymmetry = np.max(np.abs(covariance - np.swapaxes(covariance, -1, -2)), initial=0.0)
    if asymmetry > 1e-8 * max(np.max(np.abs(covariance), initial=0.0), 1e-300):
        raise ValueError(f"covariance_matrix must be symmetric, got {_show(covariance)} "
                         f"(max |Sigma - Sigma^T| = {asymmetry:.3g})")
    try:
        np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        smallest = np.min(np.linalg.eigvalsh(covariance))
        raise ValueError(f"covariance_matrix must be positive definite, got {_show(covariance)} "
                         f"(smallest eigenvalue {smallest:.3g})") from None


def _check_lower_triangular(L):
    if np.any(np.triu(L, 1) != 0):
        raise ValueError(f"scale_tril must be lower-triangular (zeros above the diagonal), "
                         f"got {_show(L)}")
    diagonal = np.diagonal(L, axis1=-2, axis2=-1)
    if not np.all(diagonal > 0):
        raise ValueError(f"scale_tril must have a positive diagonal, got diagonal "
                         f"{_show(diagonal)}")


class DiagonalNormal(Distribution):
    """N(loc, diag(scale^2)): d independent normals as one event of shape (d,).

    ``loc`` and ``scale`` (> 0) broadcast to (..., d); the last axis is the
    event. log p(x) = sum_i log N(x_i; loc_i, scale_i^2).
    """

    has_rsample = True

    def __init__(self, loc, scale):
        self.loc = as_param(loc, "loc")
        self.scale = positive_param(scale, "scale")
        shape = broadcast_batch_shape(loc=self.loc, scale=self.scale)
        if len(shape) < 1:
            raise ValueError(f"DiagonalNormal needs loc or scale with a last (event) axis of "
                             f"length d, got shapes {self.loc.shape} and {self.scale.shape}")
        super().__init__(shape[:-1], shape[-1:])
        self.dtype = np.result_type(self.loc.data, self.scale.data)

    def rsample(self, shape=(), rng=None):
        """x = loc + scale * eps, eps ~ N(0, I)."""
        eps = resolve_rng(rng).standard_normal(self.extended_shape(shape)).astype(self.dtype)
        return self.loc + self.scale * eps

    def log_prob(self, x):
        """sum_i [-(x_i - loc_i)^2 / (2 scale_i^2) - log scale_i] - d/2 log(2 pi)."""
        x = as_tensor(x)
        d = self.event_shape[0]
        if x.ndim < 1 or x.shape[-1] != d:
            raise ValueError(f"x must have shape (..., {d}), got shape {x.shape}")
        z = (x - self.loc) / self.scale
        log_scale = expand_to(mg.log(self.scale), self.batch_shape + self.event_shape)
        return (z * z).sum(axis=-1) * -0.5 - log_scale.sum(axis=-1) - 0.5 * d * LOG_2PI

    @property
    def mean(self):
        return expand_to(self.loc, self.batch_shape + self.event_shape)

    @property
    def variance(self):
        return expand_to(self.scale * self.scale, self.batch_shape + self.event_shape)

    def entropy(self):
        """sum_i log scale_i + d/2 (1 + log 2 pi)."""
        log_scale = expand_to(mg.log(self.scale), self.batch_shape + self.event_shape)
        d = self.event_shape[0]
        return log_scale.sum(axis=-1) + 0.5 * d * (1.0 + LOG_2PI)

    def to_multivariate(self):
        """The same law as a MultivariateNormal with L = diag(scale) (differentiable)."""
        shape = self.batch_shape + self.event_shape
        scale = expand_to(self.scale, shape)
        eye = np.eye(self.event_shape[0], dtype=self.dtype)
        return MultivariateNormal(expand_to(self.loc, shape), scale_tril=scale[..., None] * eye)
