"""Checks of a fitted 2-D density: its integral on a grid with an error bound, and baselines.

``grid_integral(log_density, box, n)``: the trapezoid rule on an n x n grid
of the box [x0, x1] x [y0, y1], with the classical error bound summed cell by
cell (on a cell of sides h_x, h_y the rule errs by at most
h_x h_y / 12 (h_x^2 max|f_xx| + h_y^2 max|f_yy|) over the cell):

    |T_h - integral over the box| <= sum_cells h_x h_y / 12 (h_x^2 |f_xx| + h_y^2 |f_yy|),

the local second derivatives estimated by second differences on the same
grid (a bound stated from the grid, not a proof: it trusts that f'' does not
peak between grid points). The mass outside the box is estimated by the
fraction of the model's own samples that fall outside, with its binomial
standard error.

``best_gaussian(x)``: the maximum-likelihood Gaussian (sample mean and the
1/n covariance), the best single Gaussian in forward KL; its held-out
log-likelihood is the baseline a flow must beat (N4).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass
class GridIntegral:
    inside: float        # trapezoid rule over the box
    bound: float         # the trapezoid error bound from the grid's second differences
    outside: float       # Monte Carlo mass outside the box
    outside_stderr: float

    @property
    def total(self):
        return self.inside + self.outside


def trapezoid_2d(values, hx, hy):
    """Trapezoid rule of a (ny, nx) table of values on a uniform grid."""
    wx = np.full(values.shape[1], hx)
    wx[[0, -1]] *= 0.5
    wy = np.full(values.shape[0], hy)
    wy[[0, -1]] *= 0.5
    return float(wy @ values @ wx)


def grid_integral(log_density, box, n, samples):
    """The integral of exp(log_density) over the plane: trapezoid on ``box`` plus the mass outside.

    ``log_density`` maps (m, 2) points to (m,) log densities; ``samples``
    (N, 2) draws of the same model estimate the mass outside the box.
    """
    x0, x1, y0, y1 = box
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    gx, gy = np.meshgrid(xs, ys)
    density = np.exp(log_density(np.column_stack([gx.ravel(), gy.ravel()]))).reshape(n, n)
    hx, hy = xs[1] - xs[0], ys[1] - ys[0]
    # h^2 |f''| at each interior node is |second difference|; one node per cell.
    curvature = (np.abs(np.diff(density, 2, axis=1)).sum()
                 + np.abs(np.diff(density, 2, axis=0)).sum())
    samples = np.asarray(samples)
    out = ~((samples[:, 0] >= x0) & (samples[:, 0] <= x1)
            & (samples[:, 1] >= y0) & (samples[:, 1] <= y1))
    p = out.mean()
    return GridIntegral(trapezoid_2d(density, hx, hy),
                        hx * hy / 12 * float(curvature),
                        float(p), float(np.sqrt(max(p * (1 - p), 1.0 / len(out)) / len(out))))


def best_gaussian(x):
    """scipy's frozen N(mean, covariance) of maximum likelihood for the rows of x."""
    x = np.asarray(x, dtype=np.float64)
    return stats.multivariate_normal(x.mean(axis=0), np.cov(x.T, bias=True))
