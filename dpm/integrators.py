"""1-D integrators, and where to cut the real line for them.

Three integrators, all here (dpm.quadrature's divergences use the first;
every name is importable from dpm.quadrature too):

- ``integrate_1d``: scipy.integrate.quad (QUADPACK's adaptive Gauss-Kronrod)
  piece by piece between ``breakpoints``, with a divergence check of the
  infinite pieces (below).
- ``adaptive_gauss_legendre``: a vectorized adaptive rule (one call of the
  integrand per round for all points; distributions' log_prob and networks
  pay their overhead once), used by the GAN value function.
- ``gauss_legendre_panels``: a fixed composite rule on given panel edges,
  many integrals at once (the loss landscapes' grids).

One landmark heuristic (``landmarks``) says where a law does its work: at
its location (loc, else mean, else median) and a few scales (scale, else
standard deviation, else half the interquartile range) either side, out to
1e3 scales for laws without a variance (Cauchy; QUADPACK then handles the
1/x^2 tail beyond, which it does not from much further out); the ends of a
bounded support; and for a Gaussian mixture each component and the points
where two leading components cross (log p switches there, over a width
1 / |slope of the difference|). Breakpoints placed so, no narrow peak, far
location or sharp switch is missed.

An integral that diverges in a tail (KL(Cauchy || Normal), Pearson chi^2 of
a Normal against a much narrower one) is inf: before integrating, |x g(x)|
of the integrand g is checked to shrink far beyond the last cut, since
QUADPACK alone returns a finite number for such integrals. The check skips
points where a law's log-density is a false -inf inside its support (a
Gumbel's -z - e^{-z} overflows beyond z = -709 though the density is
positive): the integrand means nothing there.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate


# ------------------------------------------------------------ densities
def check_scalar_law(dist, name):
    """Quadrature is 1-D: one scalar distribution (or a log-density callable)."""
    if callable(dist) and not hasattr(dist, "log_prob"):
        return
    shapes = tuple(getattr(dist, "batch_shape", ())) + tuple(getattr(dist, "event_shape", ()))
    if shapes:
        raise ValueError(f"{name} must be a scalar 1-D distribution, got batch_shape "
                         f"{tuple(dist.batch_shape)} and event_shape {tuple(dist.event_shape)}")


def log_density(dist):
    """x (float ndarray) -> log p(x) as an ndarray, for a distribution or a callable."""
    if callable(dist) and not hasattr(dist, "log_prob"):
        return lambda x: np.asarray(getattr(dist(x), "data", dist(x)), dtype=float)

    def log_p(x):
        value = dist.log_prob(np.asarray(x, dtype=float))
        return np.asarray(getattr(value, "data", value), dtype=float)
    return log_p


def _scalar(value):
    value = np.asarray(getattr(value, "data", value), dtype=float)
    if value.size != 1:
        raise ValueError(f"quadrature needs 1-D distributions with a single batch element, "
                         f"got a parameter of shape {value.shape}")
    return float(value.reshape(()))


def support(dist):
    """(low, high) of a law's support interval; the real line for a callable or no ``support``."""
    interval = getattr(dist, "support", None)
    if interval is None:
        return -np.inf, np.inf
    return _scalar(interval.low), _scalar(interval.high)


# ------------------------------------------------------------ landmarks
_MULTIPLES = np.array([-8.0, -3.0, -1.0, 0.0, 1.0, 3.0, 8.0])
_HEAVY_MULTIPLES = np.array([-1e3, -30.0, 30.0, 1e3])    # no variance: far tails
_SWITCH_MULTIPLES = np.array([-8.0, -2.0, 0.0, 2.0, 8.0])         # around a crossing


def _array(value):
    return np.ravel(np.asarray(getattr(value, "data", value), dtype=float))


def _location_and_scale(dist):
    """(centres, widths, heavy): where the law sits and how wide, per component.

    loc/scale (or a mixture's locs/scales) when the law has them; else mean
    and standard deviation; else median and half the interquartile range.
    ``heavy``: the law has no finite variance.
    """
    try:
        heavy = not np.all(np.isfinite(_array(dist.variance)))
    except (NotImplementedError, AttributeError, ValueError, TypeError):
        heavy = True
    for loc_name, scale_name in (("locs", "scales"), ("loc", "scale")):
        if hasattr(dist, loc_name) and hasattr(dist, scale_name):
            loc, scale = np.broadcast_arrays(_array(getattr(dist, loc_name)),
                                             _array(getattr(dist, scale_name)))
            return loc, scale, heavy
    def moments():
        return dist.mean, np.sqrt(_array(dist.variance))

    def quartiles():
        quarter, three = (_array(dist.icdf(np.array(u))) for u in (0.25, 0.75))
        return dist.icdf(np.array(0.5)), 0.5 * (three - quarter)

    for location_and_scale in (moments, quartiles):
        try:
            loc, scale = np.broadcast_arrays(*(_array(v) for v in location_and_scale()))
        except (NotImplementedError, AttributeError, ValueError, TypeError):
            continue
        if np.all(np.isfinite(loc)) and np.all(np.isfinite(scale)):
            return loc, scale, heavy
    return np.zeros(0), np.zeros(0), heavy


def crossings(weights, locs, scales):
    """(points, widths) where two leading components of a 1-D Gaussian mixture cross.

    log w_j N(x; m_j, s_j) = log w_k N(x; m_k, s_k) is a quadratic in x; at a
    root where j and k are the two largest terms, log p switches from one to
    the other over a width 1 / |d/dx of their difference| (the logistic scale
    of logaddexp). Points where other components dominate are left out.
    """
    w, m, s = (np.ravel(np.asarray(v, dtype=float)) for v in (weights, locs, scales))
    with np.errstate(divide="ignore"):
        c = np.log(w) - np.log(s)
    points, widths = [], []
    for j in range(m.size):
        for k in range(j + 1, m.size):
            a = 0.5 / s[k] ** 2 - 0.5 / s[j] ** 2
            b = m[j] / s[j] ** 2 - m[k] / s[k] ** 2
            c0 = c[j] - c[k] - 0.5 * m[j] ** 2 / s[j] ** 2 + 0.5 * m[k] ** 2 / s[k] ** 2
            roots = np.roots([a, b, c0]) if a != 0 else ([-c0 / b] if b != 0 else [])
            for x in np.real(np.asarray(roots)[np.isreal(roots)]) if len(roots) else []:
                terms = c - 0.5 * ((x - m) / s) ** 2
                if terms[j] < np.max(terms) - 1e-6 * (1 + abs(terms[j])) or not np.isfinite(x):
                    continue
                slope = abs(2 * a * x + b)
                if slope > 0:
                    points.append(float(x)), widths.append(1.0 / slope)
    return np.array(points), np.array(widths)


def landmarks(dist):
    """Points where a 1-D law does its work (see the module docstring): a sorted ndarray."""
    points = [v for v in support(dist) if np.isfinite(v)]
    if callable(dist) and not hasattr(dist, "log_prob"):
        return np.array(points)
    centres, widths, heavy = _location_and_scale(dist)
    multiples = np.concatenate([_MULTIPLES, _HEAVY_MULTIPLES]) if heavy else _MULTIPLES
    keep = np.isfinite(centres) & np.isfinite(widths) & (widths > 0)
    points += list((centres[keep, None] + widths[keep, None] * multiples).ravel())
    if hasattr(dist, "weights") and hasattr(dist, "locs") and centres.size > 1:
        cross, switch = crossings(_array(dist.weights), centres, widths)
        points += list((cross[:, None] + switch[:, None] * _SWITCH_MULTIPLES).ravel())
    return np.unique(np.asarray(points, dtype=float))


def breakpoints(dists, low, high, points=()):
    """[low, every landmark of every law strictly inside, high], sorted: integration edges."""
    cuts = np.concatenate([landmarks(d) for d in dists] + [np.asarray(points, dtype=float)])
    cuts = np.unique(cuts[(cuts > low) & (cuts < high)])
    return np.concatenate([[low], cuts, [high]])


# ------------------------------------------------------------ integrators
def integrate_1d(integrand, dists, low=None, high=None, points=()):
    """int integrand(x) dx over the union of the supports of ``dists``, by QUADPACK.

    The range is cut at the landmarks of every distribution (and ``points``);
    the two outer pieces may be infinite, and are first checked for a
    divergent tail (inf, inf; ``_diverges_at_infinity``, which reads the
    laws' log-densities to skip points where they are a false 0). Returns
    (value, error estimate).
    """
    supports = [support(d) for d in dists]
    low = min(s[0] for s in supports) if low is None else low
    high = max(s[1] for s in supports) if high is None else high
    edges = list(breakpoints(dists, low, high, points))
    if _diverges_at_infinity(integrand, edges, dists):
        return np.inf, np.inf
    total, error = 0.0, 0.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # QUADPACK warns when it cannot reach 1e-10 relative accuracy; the
        # error estimate is returned instead, and a divergent integral shows
        # up as an infinite or NaN piece, reported as inf below.
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in zip(edges[:-1], edges[1:]):
            if a == b:
                continue
            value, err = integrate.quad(lambda x: float(integrand(np.array(x))), a, b,
                                        limit=200, epsabs=1e-12, epsrel=1e-10)
            if not np.isfinite(value):
                return np.inf, np.inf
            total += value
            error += err
    return total, error


_ORDERS = (20, 40)
_RULES = [np.polynomial.legendre.leggauss(n) for n in _ORDERS]


def adaptive_gauss_legendre(f, edges, tol=1e-12, max_rounds=60):
    """int f(x) dx over [edges[0], edges[-1]], summed over the pieces between edges.

    Ends may be infinite: [a, inf) becomes x = a + t / (1 - t), t in [0, 1)
    (dx = dt / (1 - t)^2), and (-inf, b] likewise. Every interval gets a
    20- and a 40-node Gauss-Legendre rule; |I_40 - I_20| (an over-estimate
    of I_40's error for smooth f) must be below the interval's share of
    ``tol``, or the interval is halved. ``f`` maps an ndarray of points to
    an ndarray of values, so each round is one vectorized call (distributions'
    log_prob and networks pay their overhead once, not per point as with
    scipy.integrate.quad). Returns (integral, error estimate); -inf if f is
    -inf anywhere it is evaluated.
    """
    edges = np.asarray(edges, dtype=float)
    # Each interval: kind (0 finite, +1 right-infinite, -1 left-infinite), anchor, t-range, share.
    kinds, anchors, lows, highs = [], [], [], []
    for a, b in zip(edges[:-1], edges[1:]):
        if np.isinf(a) and np.isinf(b):
            raise ValueError("split (-inf, inf) at a finite point first")
        if np.isinf(b):
            kinds.append(1.0), anchors.append(a), lows.append(0.0), highs.append(1.0)
        elif np.isinf(a):
            kinds.append(-1.0), anchors.append(b), lows.append(0.0), highs.append(1.0)
        elif b > a:
            kinds.append(0.0), anchors.append(0.0), lows.append(a), highs.append(b)
    kind, anchor, lo, hi = (np.array(v) for v in (kinds, anchors, lows, highs))
    share = np.full(kind.size, 1.0 / max(kind.size, 1))
    total, total_error = 0.0, 0.0
    for _ in range(max_rounds):
        if kind.size == 0:
            break
        half, mid = 0.5 * (hi - lo), 0.5 * (hi + lo)
        nodes = np.concatenate([rule[0] for rule in _RULES])
        t = mid[:, None] + half[:, None] * nodes
        with np.errstate(divide="ignore", invalid="ignore"):  # t = 1 only on finite pieces
            x = np.where(kind[:, None] == 0, t, anchor[:, None] + kind[:, None] * t / (1.0 - t))
            jacobian = np.where(kind[:, None] == 0, 1.0, 1.0 / (1.0 - t) ** 2)
        values = np.asarray(f(x.ravel()), dtype=float).reshape(x.shape)
        if np.any(np.isneginf(values)):
            return -np.inf, np.inf
        weighted = values * jacobian * half[:, None]
        coarse = weighted[:, :_ORDERS[0]] @ _RULES[0][1]
        fine = weighted[:, _ORDERS[0]:] @ _RULES[1][1]
        error = np.abs(fine - coarse)
        done = error <= tol * share
        total += fine[done].sum()
        total_error += error[done].sum()
        split = ~done
        kind, anchor, share = (np.repeat(v[split], 2) for v in (kind, anchor, share / 2))
        lo, hi = (np.column_stack([lo[split], mid[split]]).ravel(),
                  np.column_stack([mid[split], hi[split]]).ravel())
    else:
        total += fine[split].sum()  # out of rounds: keep the best values and say how wrong
        total_error += error[split].sum()
    return total, total_error



def gauss_legendre_panels(edges, order):
    """Nodes and weights of a composite Gauss-Legendre rule, one row of panels per integral.

    ``edges`` (G, E): sorted panel edges of G integrals; each of the E - 1
    panels gets ``order`` nodes (exact for polynomials of degree 2 order - 1
    on it). Returns x, w of shape (G, (E - 1) order): int f ~ sum_n w f(x).
    """
    t, w = np.polynomial.legendre.leggauss(order)
    centre, half = 0.5 * (edges[:, 1:] + edges[:, :-1]), 0.5 * (edges[:, 1:] - edges[:, :-1])
    x = centre[:, :, None] + half[:, :, None] * t
    return x.reshape(edges.shape[0], -1), (half[:, :, None] * w).reshape(edges.shape[0], -1)


_PROBE_RATIOS = 10.0 ** np.arange(-1.0, 8.01, 0.25)   # 0.1 to 1e8 widths beyond the last cut


def _diverges_at_infinity(integrand, edges, dists=()):
    """True when an infinite end of ``edges`` makes int |integrand| diverge.

    QUADPACK maps an infinite piece onto (0, 1] and, for a divergent
    integral (KL(Cauchy || Normal), whose integrand tends to a constant
    1 / (2 pi); Pearson chi^2 of N(0, sqrt 2) against N(0, 1), whose
    integrand is constant), returns a finite number with a warning. An
    integrable tail needs x g(x) -> 0, so we look at |x g(x)| at the three
    farthest of the distances 0.1, 0.18, ..., 1e8 widths (ratio 10^(1/4))
    beyond the outermost cut at which the integrand can be judged:
    non-finite, or at least 1e-12 and not shrinking, means divergent. (Tails
    decaying slower than any power, like 1 / (x log^2 x), still shrink here
    and pass.)

    A point cannot be judged where a law of ``dists`` has log-density -inf
    inside its support: the formula overflowed (a Gumbel's e^{-z} far in
    its left tail, beyond z = -709), so the density is a false 0 and the
    integrand there means nothing (0 * inf, or 0 where p e^{-z} is huge).
    Such points are left out; with fewer than two left, only a non-finite
    value counts as divergent.
    """
    inner = [e for e in edges if np.isfinite(e)]
    if len(inner) == len(edges):
        return False
    left, right = (min(inner), max(inner)) if inner else (0.0, 0.0)
    width = max(right - left, abs(left), abs(right), 1.0)
    for end, anchor, sign in ((edges[0], left, -1.0), (edges[-1], right, 1.0)):
        if np.isfinite(end):
            continue
        far = anchor + sign * width * _PROBE_RATIOS
        far = far[_representable(far, dists)]
        with np.errstate(all="ignore"):
            sizes = [abs(x * float(integrand(np.array(x)))) for x in far[-3:]]
        if not all(np.isfinite(sizes)):
            return True
        if len(sizes) >= 2 and sizes[-1] >= 1e-12 and not all(
                a > b for a, b in zip(sizes[:-1], sizes[1:])):
            return True
    return False


def _representable(x, dists):
    """False where a law's log-density is -inf strictly inside its support (a false zero).

    ``x``: a 1-D ndarray of points; one vectorized log-density call per law.
    """
    ok = np.ones(x.shape, dtype=bool)
    for dist in dists:
        low, high = support(dist)
        with np.errstate(all="ignore"):
            ok &= ~((log_density(dist)(x) == -np.inf) & (low < x) & (x < high))
    return ok
