"""log Gamma and digamma to ~50 significant digits with Python's decimal module.

An independent reference for the Gamma entropy and KL at huge concentration,
where float64 formulas cancel: the *direct* textbook formulas are evaluated
here with 60-digit arithmetic, so their cancellation costs nothing.

Route (standard, e.g. Abramowitz and Stegun 6.1.40 and 6.3.18): shift the
argument above 40 by the recurrences log Gamma(a) = log Gamma(a + 1) - log a
and psi(a) = psi(a + 1) - 1/a, then sum Stirling's series with 20 terms,

    log Gamma(a) = (a - 1/2) log a - a + 1/2 log(2 pi) + sum_k B_2k / (2k (2k-1) a^(2k-1))
    psi(a)       = log a - 1/(2a) - sum_k B_2k / (2k a^(2k)),

whose truncation error at a >= 40 is below 1e-60. The Bernoulli numbers come
from their recurrence in exact fractions.
"""
from __future__ import annotations

from decimal import Decimal, getcontext
from fractions import Fraction
from math import comb

getcontext().prec = 60
PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459230781640629")
TERMS = 20
SHIFT_TO = 40


def _bernoulli_numbers(n):
    """B_0 .. B_n as Fractions (B_1 = -1/2), from sum_{j<=m} C(m+1, j) B_j = 0."""
    numbers = [Fraction(1)]
    for m in range(1, n + 1):
        numbers.append(-sum(comb(m + 1, j) * numbers[j] for j in range(m)) / (m + 1))
    return numbers


_B = _bernoulli_numbers(2 * TERMS)


def _dec(fraction):
    return Decimal(fraction.numerator) / Decimal(fraction.denominator)


def _shift(a):
    a = Decimal(a)
    logs, reciprocals = Decimal(0), Decimal(0)
    while a < SHIFT_TO:
        logs += a.ln()
        reciprocals += 1 / a
        a += 1
    return a, logs, reciprocals


def lgamma(a):
    """log Gamma(a) for a > 0 (a float or Decimal), as a Decimal."""
    a, logs, _ = _shift(a)
    value = (a - Decimal("0.5")) * a.ln() - a + (2 * PI).ln() / 2
    for k in range(1, TERMS + 1):
        value += _dec(_B[2 * k]) / (2 * k * (2 * k - 1) * a ** (2 * k - 1))
    return value - logs


def digamma(a):
    """psi(a) = d/da log Gamma(a) for a > 0, as a Decimal."""
    a, _, reciprocals = _shift(a)
    value = a.ln() - 1 / (2 * a)
    for k in range(1, TERMS + 1):
        value -= _dec(_B[2 * k]) / (2 * k * a ** (2 * k))
    return value - reciprocals


def gamma_entropy(concentration, rate):
    """alpha - log rate + log Gamma(alpha) + (1 - alpha) psi(alpha), the direct form."""
    a, r = Decimal(concentration), Decimal(rate)
    return a - r.ln() + lgamma(a) + (1 - a) * digamma(a)


def gamma_kl(a1, r1, a2, r2):
    """KL(Gamma(a1, r1) || Gamma(a2, r2)) by the direct shape-rate formula."""
    a1, r1, a2, r2 = (Decimal(v) for v in (a1, r1, a2, r2))
    return ((a1 - a2) * digamma(a1) - lgamma(a1) + lgamma(a2)
            + a2 * (r1.ln() - r2.ln()) + a1 * (r2 - r1) / r1)
