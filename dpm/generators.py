"""The f-divergence generators, each declared once (claim K6).

An f-divergence (Csiszar 1967; Ali and Silvey 1966; lecture 000, "A family
of divergences") is

    D_f(P || Q) = int q f(p / q) dx + f'(inf) P(q = 0),    f convex, f(1) = 0,

with f'(inf) = lim_{t -> inf} f(t) / t the weight of P's mass where q = 0,
and q f(0+) the integrand where p = 0 < q. Each ``Generator`` below holds

- ``f_log(s) = f(e^s)``: f written in s = log t = log p - log q, with
  minigrad operations (so it takes Tensors, with gradients, or ndarrays),
  such that no ratio p / q is ever formed (it overflows or underflows in the
  tails) and expm1 keeps the digits of t - 1 near t = 1;
- ``conjugate``: the name of the generator f*(u) = u f(1/u) (then
  q f(p/q) = p f*(q/p)), which evaluates the integrand where p >> q without
  overflow: see ``perspective``;
- ``f_at_infinity`` = f'(inf) and ``f_at_zero`` = f(0+) (and f*(0+) = f'(inf));
- ``formula``: f(t) in plain text.

Who reads it: ``dpm.divergences.f_divergence`` (Monte Carlo, E_Q f(e^s)),
``dpm.quadrature.f_divergence`` (the exact reference, integrating these over
scipy-independent densities) and ``dpm.landscape`` (forward KL, reverse KL
and JS over a grid). The tests check every record against f(t) written out
by hand, its conjugate against t f(1/t) and its limits numerically.

The lecture's other forms of Pearson and Neyman (pearson_2, pearson_3,
neyman_2, neyman_3) differ from the first by c (t - 1), which changes
neither divergence (the Q-mean of t - 1 is 0 when P << Q, and the f'(inf)
term absorbs the rest otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import minigrad as mg
from minigrad import as_tensor

LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class Generator:
    """One f of the table: f in log-space, its conjugate's name, f'(inf), f(0+)."""
    name: str
    formula: str
    f_log: Callable
    conjugate: str
    f_at_infinity: float
    f_at_zero: float

    def f(self, t):
        """f(t) for t >= 0 (ndarray or Tensor): f_log(log t), and f(0+) at t = 0."""
        t = as_tensor(t)
        zero = t.data == 0
        if not zero.any():
            return self.f_log(mg.log(t))
        s = mg.log(mg.where(zero, 1.0, t))
        return mg.where(zero, self.f_at_zero, self.f_log(s))


def t_log_t(s):
    """t log t = e^s s, with 0 log 0 = 0 where s = -inf (p = 0); double where for the gradient."""
    s = as_tensor(s)
    empty = s.data == -np.inf
    if not empty.any():
        return mg.exp(s) * s
    s_safe = mg.where(empty, 0.0, s)
    return mg.where(empty, 0.0, mg.exp(s_safe) * s_safe)


def _js(s):
    """1/2 [t log t - (1 + t) log((1 + t)/2)]
    = 1/2 [t (log 2 - log(1 + 1/t)) + log 2 - log(1 + t)]."""
    s = as_tensor(s)
    return (mg.exp(s) * (LOG2 - mg.softplus(-s)) + (LOG2 - mg.softplus(s))) * 0.5


_TABLE = [
    # name, f(t), f(e^s), conjugate u f(1/u), f'(inf), f(0+)
    ("forward_kl", "t log t", t_log_t, "reverse_kl", np.inf, 0.0),
    ("reverse_kl", "-log t", lambda s: -as_tensor(s), "forward_kl", 0.0, np.inf),
    ("hellinger", "(sqrt t - 1)^2", lambda s: mg.square(mg.expm1(as_tensor(s) * 0.5)),
     "hellinger", 1.0, 1.0),
    ("hellinger_2", "2 (1 - sqrt t)", lambda s: mg.expm1(as_tensor(s) * 0.5) * -2.0,
     "hellinger_2_conjugate", 0.0, 2.0),
    ("hellinger_2_conjugate", "2 (t - sqrt t)",
     lambda s: mg.exp(as_tensor(s) * 0.5) * mg.expm1(as_tensor(s) * 0.5) * 2.0,
     "hellinger_2", 2.0, 0.0),
    ("total_variation", "1/2 |t - 1|", lambda s: mg.abs(mg.expm1(as_tensor(s))) * 0.5,
     "total_variation", 0.5, 0.5),
    ("pearson", "(t - 1)^2", lambda s: mg.square(mg.expm1(as_tensor(s))), "neyman", np.inf, 1.0),
    ("pearson_2", "t^2 - 1", lambda s: mg.expm1(as_tensor(s) * 2.0), "neyman_3", np.inf, -1.0),
    ("pearson_3", "t^2 - t", lambda s: mg.exp(as_tensor(s)) * mg.expm1(as_tensor(s)),
     "neyman_2", np.inf, 0.0),
    ("neyman", "(1 - t)^2 / t", lambda s: -mg.expm1(as_tensor(s)) * mg.expm1(-as_tensor(s)),
     "pearson", 1.0, np.inf),
    ("neyman_2", "1/t - 1", lambda s: mg.expm1(-as_tensor(s)), "pearson_3", 0.0, np.inf),
    ("neyman_3", "1/t - t", lambda s: mg.expm1(-as_tensor(s)) - mg.expm1(as_tensor(s)),
     "pearson_2", -1.0, np.inf),
    ("js", "1/2 [t log t - (1 + t) log((1 + t) / 2)]", _js, "js", LOG2 / 2, LOG2 / 2),
]

GENERATORS = {name: Generator(name, formula, f_log, conjugate, slope, at_zero)
              for name, formula, f_log, conjugate, slope, at_zero in _TABLE}


def generator(name):
    """The record called ``name``, or ValueError listing the names."""
    if name not in GENERATORS:
        raise ValueError(f"unknown f-divergence f={name!r}; choose from {sorted(GENERATORS)} "
                         f"or pass a callable f(t)")
    return GENERATORS[name]


def perspective(gen, log_p, log_q):
    """q f(p / q) from log p and log q (ndarrays), without overflow where either tail is thin.

    Where p <= q: q f(e^s), s = log p - log q <= 0. Where p > q:
    p f*(e^-s), the conjugate's form, so that a generator growing like t^2
    is written as p t (finite wherever the product is representable).
    Where p = 0 < q: q f(0+); where q = 0: 0 (P's mass there is the
    f'(inf) term, added by the caller). Where the generator itself
    overflows while the density underflows (Pearson in a tail where p and q
    both vanish but p^2 / q is finite), the product is taken in log space
    with f's growth rate read off the record far out (``_far_tail``).
    Returns an ndarray (no graph).
    """
    log_p, log_q = np.asarray(log_p, dtype=float), np.asarray(log_q, dtype=float)
    with np.errstate(all="ignore"):
        s = log_p - log_q
        low = s <= 0
        s_low, s_high = np.where(low, s, 0.0), np.where(low, 0.0, s)
        below = np.exp(log_q) * gen.f_log(s_low).data
        above = np.exp(log_p) * GENERATORS[gen.conjugate].f_log(-s_high).data
        value = np.where(low, below, above)
        value = np.where(np.isneginf(log_p), np.exp(log_q) * gen.f_at_zero, value)
        # 0 * f(0+) = 0 where q underflows even when f(0+) = inf
        value = np.where(np.isneginf(log_p) & (np.exp(log_q) == 0), 0.0, value)
        bad = ~np.isfinite(value) & np.isfinite(log_p) & np.isfinite(log_q)
        if bad.any():
            weight, rate = np.where(low, log_q, log_p), np.where(low, s, -s)
            value = np.where(bad & low, _far_tail(gen, rate, weight), value)
            value = np.where(bad & ~low, _far_tail(GENERATORS[gen.conjugate], rate, weight),
                             value)
    return np.where(np.isneginf(log_q), 0.0, value)


_FAR = -300.0   # f(e^r) is still finite here for every generator of the table


def _far_tail(gen, r, log_weight):
    """e^log_weight f(e^r) for r << 0 where f(e^r) overflows: log|f| is linear in r there.

    The slope is read from the record at r = -300 and -301 (exact for a
    power-law tail, as every generator of the table has: f ~ c t^-k).
    """
    at = np.abs(gen.f_log(np.array([_FAR, _FAR - 1.0])).data)
    log_f = np.log(at[0]) + (np.log(at[1]) - np.log(at[0])) * (_FAR - r)
    sign = np.sign(gen.f_log(np.array(_FAR)).data)
    return sign * np.exp(log_weight + log_f)
