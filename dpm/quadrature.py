"""Exact 1-D references: divergences by numerical integration.

For two densities p and q on the real line,

    KL(P || Q)  = int p(x) [log p(x) - log q(x)] dx
    JS(P || Q)  = 1/2 KL(P || M) + 1/2 KL(Q || M),      M = (P + Q) / 2
    D_f(P || Q) = int q(x) f(p(x) / q(x)) dx  +  f'(inf) P(q = 0)

with the generators f of ``dpm.generators`` (the one table; KL is f = t log t,
JS f = 1/2 [t log t - (1 + t) log((1 + t)/2)]). The reference is independent of
the Monte Carlo estimators in what it integrates: densities, not samples.
The integrals are ``dpm.integrators.integrate_1d`` (QUADPACK between the
laws' landmarks, with a check of the infinite tails); the integrators and
the landmark heuristic are importable from here too.

Everything is evaluated from log-densities, so tails far out where p and q
underflow contribute 0 rather than NaN. The infinite cases follow the
mathematics: KL(P || Q) = inf when P puts mass where Q has none (the supports
are checked first); JS of disjoint supports is log 2; an f-divergence adds
f'(inf) times the mass of P outside Q's support; an integral that diverges
in a tail is inf.

A log-density can also be a false -inf inside its support: a Gumbel's
log q = -log beta - z - e^{-z} overflows beyond z = -709 though q > 0.
Where q is a false 0 but p a positive float the integrand is the limit
q f(p/q) -> p f'(inf) (inf for KL: the true value is beyond double
precision, as KL(N(-1000, 1) || Gumbel(0, 1)) = e^{1000.5} - ...). One
consequence: a Laplace(0, 0.99) against a Gumbel(0, 1), whose integrand
decays like e^{-|x|/99} and is still a positive float at x = -709, gives
inf here, though its closed form is 48.57 (of which 0.04 lies beyond the
point where q is representable).

These are references for tests and loss landscapes, not training
objectives: they are neither fast nor differentiable.
"""
from __future__ import annotations

import numpy as np

from dpm.generators import generator, perspective
from dpm.integrators import (  # noqa: F401  (the integrators are re-exported)
    adaptive_gauss_legendre, breakpoints, check_scalar_law, crossings, gauss_legendre_panels,
    integrate_1d, landmarks, log_density, support)

LOG2 = np.log(2.0)


def _inside(p_support, q_support):
    """True when the support of p lies inside the support of q."""
    return q_support[0] <= p_support[0] and p_support[1] <= q_support[1]


# ------------------------------------------------------------- divergences
def kl(p, q):
    """KL(P || Q) = int p log(p / q) by quadrature; inf if supp P is not inside supp Q."""
    return f_divergence(p, q, "forward_kl")


def cross_entropy(p, q):
    """H(P, Q) = -int p log q by quadrature (inf if supp P is not inside supp Q)."""
    check_scalar_law(p, "p"), check_scalar_law(q, "q")
    if not _inside(support(p), support(q)):
        return np.inf
    log_p, log_q = log_density(p), log_density(q)

    def integrand(x):
        lp = log_p(x)
        if lp == -np.inf:
            return 0.0
        lq = log_q(x)
        if lq == -np.inf:  # q underflowed inside its support: -p log q is +inf unless p did too
            return 0.0 if np.exp(lp) == 0.0 else np.inf
        # -p log q in log space, so that p below 1e-308 times a huge |log q| is not lost
        return -np.sign(lq) * np.exp(lp + np.log(np.abs(lq))) if lq != 0 else 0.0

    return integrate_1d(integrand, [p, q], *support(p))[0]


def entropy(p):
    """H(P) = -int p log p by quadrature."""
    return cross_entropy(p, p)


def js(p, q):
    """JS(P || Q) = 1/2 KL(P||M) + 1/2 KL(Q||M), M = (P+Q)/2; in [0, log 2], log 2 if disjoint.

    The f-divergence of the "js" generator, whose log-space form uses
    log m = logaddexp(log p, log q) - log 2, finite wherever either density is.
    """
    return float(np.clip(f_divergence(p, q, "js"), 0.0, LOG2))


def f_divergence(p, q, f, f_at_infinity=None):
    """D_f(P || Q) = int q f(p/q) dx + f'(inf) P(q = 0), by quadrature.

    ``f`` is a name in ``dpm.generators.GENERATORS`` (forward_kl, reverse_kl,
    hellinger and hellinger_2, total_variation, pearson, pearson_2,
    pearson_3, neyman, neyman_2, neyman_3: the lecture's table, 000; and js)
    or a callable on ndarrays; for a callable give ``f_at_infinity`` =
    lim f(t)/t if P has mass where q = 0. Where p = 0 < q the integrand is
    q f(0+), so the result is inf when f(0+) = inf (reverse KL, Neyman) and
    Q has mass outside P's support.
    """
    check_scalar_law(p, "p"), check_scalar_law(q, "q")
    if isinstance(f, str):
        record = generator(f)
        f_at_infinity = record.f_at_infinity if f_at_infinity is None else f_at_infinity
        f_at_zero = record.f_at_zero
        if not _inside(support(p), support(q)) and np.isinf(f_at_infinity):
            return np.inf
        call = None
    else:
        record, call = None, f
        with np.errstate(all="ignore"):
            f_at_zero = float(f(np.array(0.0)))
            if np.isnan(f_at_zero):
                f_at_zero = float(f(np.array(1e-300)))  # the limit f(0+), e.g. 0 log 0 = 0
    if not _inside(support(q), support(p)) and np.isinf(f_at_zero):
        return np.inf
    log_p, log_q = log_density(p), log_density(q)
    q_support = support(q)

    def integrand(x):
        lp, lq = log_p(x), log_q(x)
        if lq == -np.inf and q_support[0] < x < q_support[1]:
            return _q_underflowed(lp, f_at_infinity)
        if record is not None:
            return float(perspective(record, lp, lq))
        if lq == -np.inf:
            return 0.0
        if lp == -np.inf:
            return np.exp(lq) * f_at_zero
        if np.exp(lp) == 0.0 and np.exp(lq) == 0.0:
            return 0.0  # both densities underflow: a callable f gives 0 * f(inf / 0) here
        return np.exp(lq) * float(call(np.exp(lp - lq)))

    value = integrate_1d(integrand, [p, q])[0]
    if not _inside(support(p), support(q)):
        outside = _mass_outside(p, q)
        if outside > 0:
            if f_at_infinity is None:
                raise ValueError("P has mass where q = 0: pass f_at_infinity = lim f(t)/t")
            value += np.inf if np.isinf(f_at_infinity) else f_at_infinity * outside
    return max(value, 0.0) if abs(value) < 1e-12 else value


def _q_underflowed(log_p, f_at_infinity):
    """q f(p / q) where q's log-density is a false -inf (its formula overflowed) inside its support.

    As q -> 0+ at fixed p, q f(p / q) -> p f'(inf): infinite for KL, Pearson
    and JS's cousins with f'(inf) = inf wherever p is a positive float, and 0
    where p underflowed too (the tail probe has judged that region already).
    """
    p_x = float(np.exp(log_p))
    if p_x == 0.0:
        return 0.0
    if f_at_infinity is None:
        raise ValueError("q's density underflows to 0 inside its support where P has mass: "
                         "pass f_at_infinity = lim f(t)/t")
    return p_x * f_at_infinity


def _mass_outside(p, q):
    """P's mass outside Q's support interval."""
    log_p = log_density(p)
    q_low, q_high = support(q)
    p_low, p_high = support(p)
    mass = 0.0
    density = lambda x: float(np.exp(log_p(x)))  # noqa: E731
    if p_low < q_low:
        mass += integrate_1d(density, [p], p_low, min(q_low, p_high))[0]
    if p_high > q_high:
        mass += integrate_1d(density, [p], max(q_high, p_low), p_high)[0]
    return mass
