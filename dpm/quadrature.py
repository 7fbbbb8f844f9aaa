"""Exact 1-D references: divergences by adaptive numerical integration.

For two densities p and q on the real line,

    KL(P || Q)  = int p(x) [log p(x) - log q(x)] dx
    JS(P || Q)  = 1/2 KL(P || M) + 1/2 KL(Q || M),      M = (P + Q) / 2
    D_f(P || Q) = int q(x) f(p(x) / q(x)) dx  +  f'(inf) P(q = 0)

computed with ``scipy.integrate.quad`` (QUADPACK's adaptive Gauss-Kronrod)
over the union of the two supports, split at the places where the integrand
has its mass (the distributions' means, a few standard deviations either
side, and the ends of bounded supports) so that no narrow peak is missed.
Everything is evaluated from log-densities, so tails far out where p and q
underflow contribute 0 rather than NaN.

The infinite cases follow the mathematics: KL(P || Q) = inf when P puts mass
where Q has none (the supports are checked first); JS of disjoint supports is
log 2; an f-divergence adds f'(inf) = lim f(t)/t times the mass of P outside
Q's support (inf for forward KL and Pearson, 0 for reverse KL, 1 for
Hellinger, 1/2 for total variation). An integral that diverges in a tail
(KL(Cauchy || Normal), Pearson chi^2 of a Normal against a much narrower
one) is inf: before integrating, |x g(x)| of the integrand g is checked to
shrink far beyond the last cut, since QUADPACK alone returns a finite
number for such integrals.

These are references for tests and loss landscapes, not training
objectives: they are neither fast nor differentiable.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate

LOG2 = np.log(2.0)


# ------------------------------------------------------------ densities
def _check_scalar_law(dist, name):
    """Quadrature is 1-D: one scalar distribution (or a log-density callable)."""
    if callable(dist) and not hasattr(dist, "log_prob"):
        return
    shapes = tuple(getattr(dist, "batch_shape", ())) + tuple(getattr(dist, "event_shape", ()))
    if shapes:
        raise ValueError(f"{name} must be a scalar 1-D distribution, got batch_shape "
                         f"{tuple(dist.batch_shape)} and event_shape {tuple(dist.event_shape)}")


def _log_density(dist):
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


def _support(dist):
    support = getattr(dist, "support", None)
    if support is None:
        return -np.inf, np.inf
    return _scalar(support.low), _scalar(support.high)


def _landmarks(dist):
    """Points where the density has mass: mean +- a few sd, and finite support ends."""
    points = []
    low, high = _support(dist)
    points += [v for v in (low, high) if np.isfinite(v)]
    try:
        centre, spread = _scalar(dist.mean), np.sqrt(_scalar(dist.variance))
    except (NotImplementedError, AttributeError, ValueError):
        centre, spread = None, None
    if centre is not None and np.isfinite(centre) and np.isfinite(spread) and spread > 0:
        points += list(centre + spread * np.array([-8.0, -3.0, -1.0, 0.0, 1.0, 3.0, 8.0]))
    for component in _components(dist):
        points += _landmarks(component)
    return points


def _components(dist):
    """Mixture components, when the distribution exposes them (for landmarks)."""
    try:
        locs = np.atleast_1d(np.asarray(getattr(dist.locs, "data", dist.locs), dtype=float))
        scales = np.atleast_1d(np.asarray(getattr(dist.scales, "data", dist.scales), dtype=float))
    except AttributeError:
        return []
    return [_Bump(m, s) for m, s in zip(locs.ravel(), scales.ravel())]


class _Bump:
    """A stand-in exposing mean/variance of one mixture component for landmarks."""
    support = None

    def __init__(self, loc, scale):
        self.mean, self.variance = loc, scale ** 2


def integrate_1d(integrand, dists, low=None, high=None, points=()):
    """int integrand(x) dx over the union of the supports of ``dists``.

    The range is cut at the landmarks of every distribution (and ``points``);
    the two outer pieces may be infinite. Returns (value, error estimate).
    """
    supports = [_support(d) for d in dists]
    low = min(s[0] for s in supports) if low is None else low
    high = max(s[1] for s in supports) if high is None else high
    cuts = sorted({p for d in dists for p in _landmarks(d)} | set(points))
    cuts = [c for c in cuts if low < c < high]
    edges = [low] + cuts + [high]
    if _diverges_at_infinity(integrand, edges):
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


def _diverges_at_infinity(integrand, edges):
    """True when an infinite end of ``edges`` makes int |integrand| diverge.

    QUADPACK maps an infinite piece onto (0, 1] and, for a divergent
    integral (KL(Cauchy || Normal), whose integrand tends to a constant
    1 / (2 pi); Pearson chi^2 of N(0, sqrt 2) against N(0, 1), whose
    integrand is constant), returns a finite number with a warning. An
    integrable tail needs x g(x) -> 0, so we look at |x g(x)| at three
    distances growing by 100x beyond the outermost cut: non-finite, or at
    least 1e-12 and not shrinking, means divergent. (Tails decaying slower
    than any power, like 1 / (x log^2 x), still shrink here and pass.)
    """
    inner = [e for e in edges if np.isfinite(e)]
    if len(inner) == len(edges):
        return False
    left, right = (min(inner), max(inner)) if inner else (0.0, 0.0)
    width = max(right - left, abs(left), abs(right), 1.0)
    for end, anchor, sign in ((edges[0], left, -1.0), (edges[-1], right, 1.0)):
        if np.isfinite(end):
            continue
        with np.errstate(all="ignore"):
            far = [anchor + sign * width * r for r in (1e4, 1e6, 1e8)]
            sizes = [abs(x * float(integrand(np.array(x)))) for x in far]
        if not all(np.isfinite(sizes)):
            return True
        if sizes[-1] >= 1e-12 and not sizes[-1] < sizes[-2] < sizes[-3]:
            return True
    return False


def _inside(p_support, q_support):
    """True when the support of p lies inside the support of q."""
    return q_support[0] <= p_support[0] and p_support[1] <= q_support[1]


# ------------------------------------------------------------- divergences
def kl(p, q):
    """KL(P || Q) = int p log(p / q) by quadrature; inf if supp P is not inside supp Q."""
    _check_scalar_law(p, "p"), _check_scalar_law(q, "q")
    if not _inside(_support(p), _support(q)):
        return np.inf
    log_p, log_q = _log_density(p), _log_density(q)

    def integrand(x):
        lp, lq = log_p(x), log_q(x)
        if lp == -np.inf:
            return 0.0  # 0 log 0 = 0
        if lq == -np.inf:
            return np.inf
        return np.exp(lp) * (lp - lq)

    # q's landmarks too: a narrow feature of log q inside P's mass must not be missed.
    value, _ = integrate_1d(integrand, [p, q], *_support(p))
    return max(value, 0.0) if abs(value) < 1e-12 else value


def cross_entropy(p, q):
    """H(P, Q) = -int p log q by quadrature (inf if supp P is not inside supp Q)."""
    _check_scalar_law(p, "p"), _check_scalar_law(q, "q")
    if not _inside(_support(p), _support(q)):
        return np.inf
    log_p, log_q = _log_density(p), _log_density(q)

    def integrand(x):
        lp = log_p(x)
        return 0.0 if lp == -np.inf else -np.exp(lp) * log_q(x)

    return integrate_1d(integrand, [p, q], *_support(p))[0]


def entropy(p):
    """H(P) = -int p log p by quadrature."""
    return cross_entropy(p, p)


def js(p, q):
    """JS(P || Q) = 1/2 KL(P||M) + 1/2 KL(Q||M), M = (P+Q)/2; in [0, log 2], log 2 if disjoint.

    The integrand is written with log m = logaddexp(log p, log q) - log 2 so
    that it is finite wherever either density is positive.
    """
    _check_scalar_law(p, "p"), _check_scalar_law(q, "q")
    log_p, log_q = _log_density(p), _log_density(q)

    def integrand(x):
        lp, lq = log_p(x), log_q(x)
        log_m = np.logaddexp(lp, lq) - LOG2
        if log_m == -np.inf:
            return 0.0
        term_p = 0.0 if lp == -np.inf else np.exp(lp) * (lp - log_m)
        term_q = 0.0 if lq == -np.inf else np.exp(lq) * (lq - log_m)
        return 0.5 * (term_p + term_q)

    value = integrate_1d(integrand, [p, q])[0]
    return float(np.clip(value, 0.0, LOG2))


# Each generator: f(t) on ndarrays, f'(inf) = lim_{t->inf} f(t)/t (the weight of
# P's mass where q = 0), and q f(p/q) written from (log p, log q) so that it
# stays finite where the ratio p/q would overflow or underflow.
GENERATORS = {
    "forward_kl": (lambda t: t * np.log(t), np.inf,
                   lambda lp, lq: np.exp(lp) * (lp - lq)),
    "reverse_kl": (lambda t: -np.log(t), 0.0,
                   lambda lp, lq: np.exp(lq) * (lq - lp)),
    "hellinger": (lambda t: (np.sqrt(t) - 1.0) ** 2, 1.0,
                  lambda lp, lq: (np.exp(lp / 2) - np.exp(lq / 2)) ** 2),
    "hellinger_2": (lambda t: 2.0 * (1.0 - np.sqrt(t)), 0.0,
                    lambda lp, lq: 2.0 * (np.exp(lq) - np.exp((lp + lq) / 2))),
    "total_variation": (lambda t: 0.5 * np.abs(t - 1.0), 0.5,
                        lambda lp, lq: 0.5 * np.abs(np.exp(lp) - np.exp(lq))),
    "pearson": (lambda t: (t - 1.0) ** 2, np.inf,
                lambda lp, lq: np.exp(lq + 2.0 * _log_abs_expm1(lp - lq))),
    "neyman": (lambda t: (1.0 - t) ** 2 / t, 1.0,
               lambda lp, lq: np.exp(lp + 2.0 * _log_abs_expm1(lq - lp))),
    # The lecture's other forms add c (t - 1) to the first: the integral
    # gains int_{q>0} c (p - q) = -c P(q = 0) and the f'(inf) term gains
    # +c P(q = 0), so the divergence is the same.
    "pearson_2": (lambda t: t ** 2 - 1.0, np.inf,
                  lambda lp, lq: np.exp(2.0 * lp - lq) - np.exp(lq)),
    "pearson_3": (lambda t: t ** 2 - t, np.inf,
                  lambda lp, lq: np.exp(2.0 * lp - lq) - np.exp(lp)),
    "neyman_2": (lambda t: 1.0 / t - 1.0, 0.0,
                 lambda lp, lq: np.exp(2.0 * lq - lp) - np.exp(lq)),
    "neyman_3": (lambda t: 1.0 / t - t, -1.0,
                 lambda lp, lq: np.exp(2.0 * lq - lp) - np.exp(lp)),
}


def _log_abs_expm1(d):
    """log |e^d - 1| without overflow: d + log(1 - e^-d) for d > 0."""
    if d > 0:
        return d + np.log1p(-np.exp(-d))
    return np.log(-np.expm1(d)) if d < 0 else -np.inf


def f_divergence(p, q, f, f_at_infinity=None):
    """D_f(P || Q) = int q f(p/q) dx + f'(inf) P(q = 0), by quadrature.

    ``f`` is a name in ``GENERATORS`` (forward_kl, reverse_kl, hellinger and
    its second form hellinger_2, total_variation, pearson with pearson_2
    (t^2 - 1) and pearson_3 (t^2 - t), neyman with neyman_2 (1/t - 1) and
    neyman_3 (1/t - t): the lecture's table, 000) or a
    callable on ndarrays; for a callable give ``f_at_infinity`` = lim f(t)/t
    if P has mass where q = 0. Where p = 0 < q the integrand is q f(0+), so
    the result is inf when f(0+) = inf (reverse KL, Neyman) and Q has mass
    outside P's support.
    """
    _check_scalar_law(p, "p"), _check_scalar_law(q, "q")
    if isinstance(f, str):
        if f not in GENERATORS:
            raise ValueError(f"unknown f-divergence {f!r}; choose from {sorted(GENERATORS)}")
        f, default_slope, q_f = GENERATORS[f]
        f_at_infinity = default_slope if f_at_infinity is None else f_at_infinity
    else:
        q_f = None
    with np.errstate(all="ignore"):
        f_at_zero = float(f(np.array(0.0)))
        if np.isnan(f_at_zero):
            f_at_zero = float(f(np.array(1e-300)))  # the limit f(0+), e.g. 0 log 0 = 0
    if not _inside(_support(q), _support(p)) and np.isinf(f_at_zero):
        return np.inf
    log_p, log_q = _log_density(p), _log_density(q)

    def integrand(x):
        lp, lq = log_p(x), log_q(x)
        if lq == -np.inf:
            return 0.0
        if lp == -np.inf:
            return np.exp(lq) * f_at_zero
        if q_f is not None:
            return float(q_f(lp, lq))
        if np.exp(lp) == 0.0 and np.exp(lq) == 0.0:
            return 0.0  # both densities underflow: a callable f gives 0 * f(inf / 0) here
        return np.exp(lq) * float(f(np.exp(lp - lq)))

    value = integrate_1d(integrand, [p, q])[0]
    if not _inside(_support(p), _support(q)):
        outside = _mass_outside(p, q)
        if outside > 0:
            if f_at_infinity is None:
                raise ValueError("P has mass where q = 0: pass f_at_infinity = lim f(t)/t")
            value += np.inf if np.isinf(f_at_infinity) else f_at_infinity * outside
    return value


def _mass_outside(p, q):
    """P's mass outside Q's support interval."""
    log_p = _log_density(p)
    q_low, q_high = _support(q)
    p_low, p_high = _support(p)
    mass = 0.0
    density = lambda x: float(np.exp(log_p(x)))  # noqa: E731
    if p_low < q_low:
        mass += integrate_1d(density, [p], p_low, min(q_low, p_high))[0]
    if p_high > q_high:
        mass += integrate_1d(density, [p], max(q_high, p_low), p_high)[0]
    return mass
