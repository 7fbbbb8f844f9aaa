"""Loss landscapes: a divergence of N(mu, sigma) from a 1-D target P over a (mu, sigma) grid (F5).

Lecture 000 ("Forward KL / Reverse KL / JS Divergence: Loss Landscape")
draws, for the bimodal target P = 1/2 N(-7.3, 1.4) + 1/2 N(7.3, 1.4),

    forward KL  KL(P || Q) = int p log(p / q)                    (zero-avoiding:
                one valley, at the moment-matched Normal, which covers both modes)
    reverse KL  KL(Q || P) = int q log(q / p)                    (zero-forcing:
                two valleys, one on each mode; q may not put mass where p ~ 0)
    JSD         1/2 KL(P || M) + 1/2 KL(Q || M),  M = (P + Q) / 2   (bounded by log 2)

as surfaces over the Normal model's (mu, sigma). Here P is a ``Normal`` or a
1-D ``GaussianMixture``; its parameters are read into plain arrays.

Two ways, which the tests hold against each other and against references:

- ``method="quadrature"``: the integrals over x by one fixed composite
  Gauss-Legendre rule per grid point, all grid points at once as NumPy arrays
  (a chunk at a time). The panels follow the Normals' own widths: each
  component of P and the model N(mu, sigma) gets PANELS equal panels on its
  +-Z_MAX = 12 standard deviations, and the rule cuts x at every edge of
  either set (so a narrow Q, and the narrow switch of log p between two
  modes seen by a wide Q, are both resolved). Outside all panels p and q are
  below 1e-31 of their peaks, so the truncation is far below the rounding.
  Checked in the tests against ``dpm.quadrature``'s adaptive QUADPACK: agreement
  to about 1e-12 relative (1e-13 absolute for the JSD); deterministic.
  (A rule in each Normal's standardized z alone is not enough: for sigma = 20
  the switch between the modes' log-densities is 0.007 wide in z, and such a
  rule was off by 1e-3.)
- ``method="monte_carlo"``: an ``Estimate`` of sample means (forward KL
  from n draws of P, reverse KL from x = mu + sigma eps, JSD from both), by
  the fused kernels of ``dpm.kernels.landscape`` (see there: common random
  numbers shared by all grid points, hence a smooth surface).

Both return arrays of shape (len(sigmas), len(mus)): row i is sigma_i, column
j is mu_j, ready for ``contour(mus, sigmas, values)``.
"""
from __future__ import annotations

import numpy as np

from dpm.kernels import landscape as kernels
from dpm import generators, quadrature
from dpm.kernels.mixture import HALF_LOG_2PI, prepare, mixture_log_prob
from dpm.distributions import GaussianMixture, Normal
from dpm.distributions.base import resolve_rng
from dpm.montecarlo import Estimate, check_sample_size

__all__ = ["DIVERGENCES", "landscape", "quadrature_landscape", "monte_carlo_landscape",
           "local_minima", "mixture_parameters"]

DIVERGENCES = ("forward_kl", "reverse_kl", "js")
LOG2 = np.log(2.0)
Z_MAX = 12.0          # the rule's half-width in standard deviations
PANELS = 96           # Gauss-Legendre panels on each Normal's [-Z_MAX, Z_MAX] (width 0.25 sd)
ORDER = 8             # nodes per panel: exact for polynomials of degree 15 on each panel
CHUNK = 1 << 21       # values per (grid chunk x nodes) array


# ------------------------------------------------------------------ inputs
def mixture_parameters(target):
    """(weights, locs, scales) of a Normal (K = 1) or a 1-D GaussianMixture, as float arrays."""
    if isinstance(target, Normal):
        loc, scale = (np.asarray(target.loc.data, float), np.asarray(target.scale.data, float))
        if loc.size != 1 or scale.size != 1:
            raise ValueError(f"target must be a single 1-D Normal, got loc of shape {loc.shape} "
                             f"and scale of shape {scale.shape}")
        return np.ones(1), loc.reshape(1), scale.reshape(1)
    if isinstance(target, GaussianMixture):
        locs = np.asarray(target.locs.data, float)
        if locs.ndim != 1:
            raise ValueError(f"target must be a 1-D GaussianMixture (locs of shape (K,)), "
                             f"got locs of shape {locs.shape}")
        scales = np.broadcast_to(np.asarray(target.scales.data, float), locs.shape)
        return np.asarray(target.weights.data, float), locs, np.array(scales)
    raise TypeError(f"target must be a dpm Normal or 1-D GaussianMixture, "
                    f"got {type(target).__name__}")


def _grid(mus, sigmas):
    mus = np.ascontiguousarray(mus, dtype=np.float64)
    sigmas = np.ascontiguousarray(sigmas, dtype=np.float64)
    for name, axis in (("mus", mus), ("sigmas", sigmas)):
        if axis.ndim != 1 or axis.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array, got shape {axis.shape}")
        if not np.all(np.isfinite(axis)):
            raise ValueError(f"{name} must be finite, got {axis}")
    if not np.all(sigmas > 0):
        raise ValueError(f"sigmas must be > 0, got min {sigmas.min()!r}")
    return mus, sigmas


def _check_divergence(divergence):
    if divergence not in DIVERGENCES:
        raise ValueError(f"divergence must be one of {DIVERGENCES}, got {divergence!r}")


# ------------------------------------------------------------------ quadrature
# Each landscape divergence is an f-divergence D_f(P || Q) of the one table.
GENERATOR = {"forward_kl": "forward_kl", "reverse_kl": "reverse_kl", "js": "js"}
SWITCH_PANELS = 24    # panels on +-Z_MAX logistic widths around a crossing of two components


def _log_normal(x, mu, sigma):
    z = (x - mu) / sigma
    return -0.5 * z * z - HALF_LOG_2PI - np.log(sigma)


def _target_edges(weights, locs, scales, panels):
    """P's panel edges: each component's +-Z_MAX sd, and each crossing's +-Z_MAX widths."""
    z_edges = np.linspace(-Z_MAX, Z_MAX, panels + 1)
    edges = [(locs[:, None] + scales[:, None] * z_edges).ravel()]
    cross, width = quadrature.crossings(weights, locs, scales)
    if cross.size:
        switch = np.linspace(-Z_MAX, Z_MAX, SWITCH_PANELS + 1)
        edges.append((cross[:, None] + width[:, None] * switch).ravel())
    return np.concatenate(edges)


def quadrature_landscape(target, divergence, mus, sigmas, panels=PANELS, order=ORDER):
    """The divergence between ``target`` and N(mu, sigma) at every grid point, by quadrature.

    Returns an array (len(sigmas), len(mus)). Each component k of P and the
    model Q get ``panels`` equal panels on their own +-Z_MAX standard
    deviations, and each crossing of two leading components of P (where log p
    switches between them: ``dpm.quadrature.crossings``) SWITCH_PANELS on
    +-Z_MAX of its logistic widths; the integral runs over the union of these
    panels (cut at every edge of either) with ``order`` Gauss-Legendre nodes
    a panel (``dpm.quadrature.gauss_legendre_panels``), of the integrand
    q f(p/q) of ``dpm.generators`` (``perspective``).
    """
    _check_divergence(divergence)
    mus, sigmas = _grid(mus, sigmas)
    weights, locs, scales = mixture_parameters(target)
    record = generators.GENERATORS[GENERATOR[divergence]]
    z_edges = np.linspace(-Z_MAX, Z_MAX, panels + 1)
    p_edges = _target_edges(weights, locs, scales, panels)
    out = np.empty(sigmas.size * mus.size)
    rows, cols = np.divmod(np.arange(out.size), mus.size)
    size = max(1, CHUNK // ((p_edges.size + panels) * order))
    for lo in range(0, out.size, size):
        mu, sigma = mus[cols[lo:lo + size], None], sigmas[rows[lo:lo + size], None]
        edges = np.sort(np.concatenate([np.broadcast_to(p_edges, (mu.shape[0], p_edges.size)),
                                        mu + sigma * z_edges], axis=1), axis=1)
        x, w = quadrature.gauss_legendre_panels(edges, order)
        integrand = generators.perspective(record, mixture_log_prob(x, weights, locs, scales),
                                           _log_normal(x, mu, sigma))
        out[lo:lo + size] = np.einsum("gn,gn->g", integrand, w)
    return out.reshape(sigmas.size, mus.size)


# ------------------------------------------------------------------ Monte Carlo
def _monte_carlo_arguments(target, divergence, mus, sigmas, n, rng):
    """The kernel's arguments (after the grid): draws of P and base noise, hoisted terms.

    x_p ~ P and eps ~ N(0, 1) (n each) are drawn in that order whatever the
    divergence, so one seed gives the three surfaces the same draws.
    """
    weights, locs, scales = mixture_parameters(target)
    x_p = np.ascontiguousarray(target.sample((n,), rng), dtype=np.float64)
    eps = rng.standard_normal(n)
    _, const, k_locs, inv, _ = prepare(x_p, weights, locs, scales)
    k_locs, inv = k_locs[:, 0].copy(), inv[:, 0].copy()
    h = -0.5 * eps * eps - HALF_LOG_2PI
    if divergence == "forward_kl":
        log_p = mixture_log_prob(x_p, weights, locs, scales)
        return (x_p, log_p + HALF_LOG_2PI)
    if divergence == "reverse_kl":
        return (eps, h, const, k_locs, inv)
    return (x_p, mixture_log_prob(x_p, weights, locs, scales), eps, h, const, k_locs, inv)


def monte_carlo_landscape(target, divergence, mus, sigmas, n=10_000, rng=None, kernel=None):
    """An ``Estimate`` of shape (len(sigmas), len(mus)) (with its stderr), by Monte Carlo.

    Forward KL: mean of log p(x_i) - log q(x_i), x_i ~ P; reverse KL: mean of
    log q(x_j) - log p(x_j), x_j = mu + sigma eps_j; JSD: half of each side's
    mean of log(own density) - log m. Unbiased; the same draws at every grid
    point. ``kernel`` overrides the kernel (``dpm.kernels.landscape.<name>_numba``
    or ``_numpy``; default: Numba when enabled).
    """
    _check_divergence(divergence)
    mus, sigmas = _grid(mus, sigmas)
    n, rng = check_sample_size(n), resolve_rng(rng)
    arguments = _monte_carlo_arguments(target, divergence, mus, sigmas, n, rng)
    out, stderr = np.empty((sigmas.size, mus.size)), np.empty((sigmas.size, mus.size))
    (kernel or getattr(kernels, divergence))(mus, sigmas, *arguments, out, stderr)
    return Estimate.from_tensor(out, stderr, n)


def landscape(target, divergence, mus, sigmas, method="quadrature", n=10_000, rng=None):
    """D(P || N(mu, sigma)) over the grid: an array (len(sigmas), len(mus)) for quadrature,
    an ``Estimate`` of that shape for ``method="monte_carlo"`` (n draws, generator ``rng``).

    divergence: "forward_kl" (KL(P || Q)), "reverse_kl" (KL(Q || P)) or "js".
    """
    if method == "quadrature":
        return quadrature_landscape(target, divergence, mus, sigmas)
    if method == "monte_carlo":
        return monte_carlo_landscape(target, divergence, mus, sigmas, n=n, rng=rng)
    raise ValueError(f"method must be 'quadrature' or 'monte_carlo', got {method!r}")


def local_minima(values, mus, sigmas):
    """Grid points lower than all 8 neighbours (edges excluded), lowest first.

    Returns a list of (mu, sigma, value). A minimum on the grid's edge means
    the grid is too small, not a minimum, so none is reported there.
    """
    values = np.asarray(values)
    centre = values[1:-1, 1:-1]
    lower = np.ones(centre.shape, dtype=bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                lower &= centre < values[1 + dr:values.shape[0] - 1 + dr,
                                         1 + dc:values.shape[1] - 1 + dc]
    r, c = np.nonzero(lower)
    found = [(float(mus[j + 1]), float(sigmas[i + 1]), float(centre[i, j])) for i, j in zip(r, c)]
    return sorted(found, key=lambda m: m[2])
