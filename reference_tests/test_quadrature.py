"""dpm.quadrature (the exact 1-D references) against closed forms and independent integrals.

Oracles: the closed-form KL registry (dpm.kl_divergence) and the same
formulas written out here by hand; scipy.stats entropies; JS, TV and
chi^2 integrals by scipy.integrate.quad on scipy.stats densities, written
here independently of dpm.quadrature; closed forms derived in the comments
(Bhattacharyya coefficient for Hellinger, the Gaussian integral of p^2/q for
Pearson chi^2, Phi for total variation at equal scales); and the infinite
values the mathematics gives (non-nested supports, disjoint supports).
"""
import numpy as np
import pytest
from scipy import integrate, stats

import dpm
from dpm import quadrature
from dpm.distributions import (
    Cauchy, Exponential, Gamma, GaussianMixture, Gumbel, Laplace, Normal, Uniform)

LOG2 = np.log(2.0)


def close(value, expected, rtol=1e-8, atol=1e-10):
    return abs(value - expected) <= atol + rtol * abs(expected)


def quad_real(g, points):
    """int g over the real line, split at sorted ``points`` (scipy.quad, independent)."""
    points = sorted(points)
    edges = [-np.inf] + points + [np.inf]
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        total += integrate.quad(g, a, b, limit=200, epsabs=1e-13, epsrel=1e-11)[0]
    return total


# ---------------------------------------------------------------- KL (K6: forward KL)
def kl_normal(m1, s1, m2, s2):
    return np.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5


def kl_laplace(m1, b1, m2, b2):
    # E_P |x - m2| = |m1 - m2| + b1 exp(-|m1 - m2| / b1)
    d = abs(m1 - m2)
    return np.log(b2 / b1) + (d + b1 * np.exp(-d / b1)) / b2 - 1.0


def kl_exponential(l1, l2):
    return np.log(l1 / l2) + l2 / l1 - 1.0


PAIRS = [
    (Normal(0.3, 1.2), Normal(-1.0, 0.7), kl_normal(0.3, 1.2, -1.0, 0.7)),
    (Normal(5.0, 0.05), Normal(4.0, 3.0), kl_normal(5.0, 0.05, 4.0, 3.0)),
    (Laplace(0.5, 2.0), Laplace(-1.0, 0.8), kl_laplace(0.5, 2.0, -1.0, 0.8)),
    (Exponential(2.5), Exponential(0.4), kl_exponential(2.5, 0.4)),
    (Uniform(0.2, 0.7), Uniform(-1.0, 3.0), np.log(4.0 / 0.5)),
]


@pytest.mark.claim("K6")
@pytest.mark.parametrize("p, q, expected", PAIRS)
def test_quadrature_kl_matches_hand_formula_and_registry(p, q, expected):
    value = quadrature.kl(p, q)
    assert close(value, expected)
    assert close(value, float(dpm.kl_divergence(p, q).data))


@pytest.mark.claim("K6")
def test_quadrature_kl_uniform_infinite_unless_nested():
    inner, outer, shifted = Uniform(0.0, 1.0), Uniform(-1.0, 2.0), Uniform(0.5, 1.5)
    assert quadrature.kl(inner, outer) == pytest.approx(np.log(3.0), rel=1e-12)
    assert quadrature.kl(outer, inner) == np.inf
    assert quadrature.kl(inner, shifted) == np.inf and quadrature.kl(shifted, inner) == np.inf
    assert quadrature.cross_entropy(outer, inner) == np.inf


@pytest.mark.claim("K6")
def test_quadrature_kl_infinite_for_heavy_tail_against_light_tail():
    # KL(Cauchy || Normal): p log p/q ~ (1 / pi x^2)(x^2 / 2) -> 1 / (2 pi), not integrable.
    assert quadrature.kl(Cauchy(0.0, 1.0), Normal(0.0, 1.0)) == np.inf
    # The other way round is finite: E_N[log N - log Cauchy], checked by scipy.quad.
    expected = quad_real(lambda x: stats.norm.pdf(x) * (stats.norm.logpdf(x)
                                                      - stats.cauchy.logpdf(x)), [0.0])
    assert close(quadrature.kl(Normal(0.0, 1.0), Cauchy(0.0, 1.0)), expected)


# ------------------------------------ a Gumbel q: its log-density overflows to -inf far left
# log q = -log beta - z - e^{-z} is -inf beyond z = -709 (e^{-z} overflows) although q > 0
# there. The references below are written out by hand (dpm/kl_cross.py's formulas from the
# Gumbel cross-entropy log beta + (E X - m)/beta + E e^{-(X - m)/beta}) and integrated by
# scipy.quad on scipy.stats log-densities over a finite range (beyond it p (log p - log q)
# is below e^{-200}; scipy's Laplace logpdf is -inf from 745 scales out).
def gumbel_cross_entropy(mean, mgf, m, beta):
    return np.log(beta) + (mean - m) / beta + mgf


def kl_normal_gumbel(mu, s, m, beta):
    mgf = np.exp(-(mu - m) / beta + 0.5 * (s / beta) ** 2)
    return gumbel_cross_entropy(mu, mgf, m, beta) - 0.5 * np.log(2 * np.pi * np.e * s * s)


def kl_laplace_gumbel(mu, b, m, beta):
    if b >= beta:
        return np.inf   # E e^{-X/beta} diverges for a Laplace tail e^{-|x|/b}
    mgf = np.exp(-(mu - m) / beta) / (1.0 - (b / beta) ** 2)
    return gumbel_cross_entropy(mu, mgf, m, beta) - (1.0 + np.log(2 * b))


def scipy_kl(p, q, low, high, points):
    def integrand(x):
        lp = p.logpdf(x)
        return np.exp(lp) * (lp - q.logpdf(x))
    edges = [low] + sorted(points) + [high]
    return sum(integrate.quad(integrand, a, b, limit=200, epsabs=1e-13, epsrel=1e-11)[0]
               for a, b in zip(edges[:-1], edges[1:]))


@pytest.mark.claim("K6")
@pytest.mark.parametrize("p, q, expected, reference", [
    (Normal(0.3, 1.2), Gumbel(-0.5, 1.4), kl_normal_gumbel(0.3, 1.2, -0.5, 1.4),
     (stats.norm(0.3, 1.2), stats.gumbel_r(-0.5, 1.4), -50.0, 50.0)),
    (Normal(-1.0, 0.5), Gumbel(1.0, 2.0), kl_normal_gumbel(-1.0, 0.5, 1.0, 2.0),
     (stats.norm(-1.0, 0.5), stats.gumbel_r(1.0, 2.0), -30.0, 30.0)),
    (Laplace(0.4, 0.8), Gumbel(0.1, 1.4), kl_laplace_gumbel(0.4, 0.8, 0.1, 1.4),
     (stats.laplace(0.4, 0.8), stats.gumbel_r(0.1, 1.4), -400.0, 400.0)),
    (Laplace(-2.0, 0.3), Gumbel(1.0, 0.5), kl_laplace_gumbel(-2.0, 0.3, 1.0, 0.5),
     (stats.laplace(-2.0, 0.3), stats.gumbel_r(1.0, 0.5), -150.0, 150.0)),
])
def test_quadrature_kl_against_a_gumbel_is_finite_where_the_closed_form_is(p, q, expected,
                                                                          reference):
    # Far left q underflows to a false 0 while p already has: no 0 * inf, no false +inf.
    sp, sq, low, high = reference
    loc = float(p.loc.data)
    by_scipy = scipy_kl(sp, sq, low, high, [loc - 5.0, loc, loc + 5.0, float(q.loc.data)])
    assert close(by_scipy, expected, rtol=1e-9)
    assert close(float(dpm.kl_divergence(p, q).data), expected, rtol=1e-12)  # dpm/kl_cross.py
    assert close(quadrature.kl(p, q), expected, rtol=1e-9)


@pytest.mark.claim("K6")
@pytest.mark.parametrize("b", [1.0, 2.0, 3.5])
def test_quadrature_kl_laplace_against_narrower_gumbel_is_infinite(b):
    # p e^{-z} ~ e^{|x| (1/beta - 1/b)} / 2b does not decay for b >= beta: KL = inf. The
    # integrand only grows until the Gumbel log-density overflows (x = -709), beyond
    # which it is a false 0; the probe must judge the tail before that.
    assert kl_laplace_gumbel(0.0, b, 0.0, 1.0) == np.inf
    assert float(dpm.kl_divergence(Laplace(0.0, b), Gumbel(0.0, 1.0)).data) == np.inf
    assert quadrature.kl(Laplace(0.0, b), Gumbel(0.0, 1.0)) == np.inf
    # just inside the finite side, the hand formula (and scipy) agree with quadrature
    expected = kl_laplace_gumbel(0.0, 0.5 * b, 0.0, b)
    assert close(quadrature.kl(Laplace(0.0, 0.5 * b), Gumbel(0.0, b)), expected, rtol=1e-9)


@pytest.mark.claim("K6")
def test_quadrature_cross_entropy_against_a_gumbel_is_entropy_plus_kl():
    p, q = Normal(0.3, 1.2), Gumbel(-0.5, 1.4)
    mgf = np.exp(-(0.3 + 0.5) / 1.4 + 0.5 * (1.2 / 1.4) ** 2)
    expected = gumbel_cross_entropy(0.3, mgf, -0.5, 1.4)
    sp, sq = stats.norm(0.3, 1.2), stats.gumbel_r(-0.5, 1.4)
    by_scipy = integrate.quad(lambda x: -sp.pdf(x) * sq.logpdf(x), -50.0, 50.0,
                              points=[-5.0, 0.3, 5.0], limit=200, epsabs=1e-13)[0]
    assert close(by_scipy, expected, rtol=1e-9)
    assert close(quadrature.cross_entropy(p, q), expected, rtol=1e-9)


@pytest.mark.claim("K5", "K6")
def test_quadrature_where_q_overflows_under_p_s_bulk_takes_the_q_to_0_limit():
    # P = N(-1000, 1) sits where the Gumbel(0, 1) log-density is -inf (e^{1000} overflows)
    # though q > 0: there q f(p/q) -> p f'(inf), not 0. The laws barely overlap (each puts
    # less than e^{-100000} where the other lives), so TV = 1, Hellinger int (sqrt p -
    # sqrt q)^2 = 2, JS = log 2; and KL = log beta + (mu - m)/beta + e^{1000.5} - H = inf
    # in double precision.
    p, q = Normal(-1000.0, 1.0), Gumbel(0.0, 1.0)
    assert quadrature.f_divergence(p, q, "total_variation") == pytest.approx(1.0, abs=1e-12)
    assert quadrature.f_divergence(p, q, "hellinger") == pytest.approx(2.0, abs=1e-12)
    assert quadrature.js(p, q) == pytest.approx(LOG2, abs=1e-12)
    with np.errstate(over="ignore"):
        assert kl_normal_gumbel(-1000.0, 1.0, 0.0, 1.0) == np.inf
    assert quadrature.kl(p, q) == np.inf and quadrature.cross_entropy(p, q) == np.inf
    with pytest.raises(ValueError, match="f_at_infinity"):
        quadrature.f_divergence(p, q, lambda t: 0.5 * np.abs(t - 1.0))
    value = quadrature.f_divergence(p, q, lambda t: 0.5 * np.abs(t - 1.0), f_at_infinity=0.5)
    assert value == pytest.approx(1.0, abs=1e-12)


def test_quadrature_kl_of_identical_laws_is_zero():
    for p in (Normal(1.0, 2.0), Laplace(0.0, 1.0), Uniform(0.0, 3.0)):
        assert abs(quadrature.kl(p, p)) < 1e-12


# --------------------------------------------------------- entropy, cross-entropy
@pytest.mark.parametrize("dist, reference", [
    (Normal(1.0, 0.3), stats.norm(1.0, 0.3)),
    (Laplace(-2.0, 1.7), stats.laplace(-2.0, 1.7)),
    (Exponential(3.0), stats.expon(scale=1 / 3.0)),
    (Uniform(-1.0, 4.0), stats.uniform(-1.0, 5.0)),
    (Cauchy(0.0, 2.0), stats.cauchy(0.0, 2.0)),
    (Gumbel(1.0, 2.0), stats.gumbel_r(1.0, 2.0)),
    (Gamma(0.5, 2.0), stats.gamma(0.5, scale=0.5)),  # density unbounded at 0
])
def test_quadrature_entropy_matches_scipy(dist, reference):
    assert close(quadrature.entropy(dist), float(reference.entropy()), rtol=1e-8)


@pytest.mark.claim("K6")
def test_quadrature_cross_entropy_is_entropy_plus_kl():
    p, q = Normal(0.5, 1.5), Normal(-1.0, 2.0)
    # H(P, Q) = 1/2 log(2 pi s_q^2) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2)
    expected = 0.5 * np.log(2 * np.pi * 4.0) + (2.25 + 2.25) / 8.0
    assert close(quadrature.cross_entropy(p, q), expected)
    assert close(quadrature.cross_entropy(p, q),
                 quadrature.entropy(p) + quadrature.kl(p, q))


# ------------------------------------------------------------------ JS (K5)
def js_by_scipy(p, q, points):
    """1/2 KL(P||M) + 1/2 KL(Q||M) from scipy.stats densities, M = (P + Q)/2."""
    def integrand(x):
        a, b = p.pdf(x), q.pdf(x)
        m = 0.5 * (a + b)
        return 0.5 * (a * np.log(a / m) if a > 0 else 0.0) + 0.5 * (b * np.log(b / m) if b > 0 else 0.0)
    return quad_real(integrand, points)


@pytest.mark.claim("K5")
@pytest.mark.parametrize("m2, s2", [(0.0, 1.0), (0.7, 1.0), (2.0, 0.5), (-6.0, 3.0), (30.0, 1.0)])
def test_quadrature_js_of_normals_matches_scipy_quad_symmetric_bounded(m2, s2):
    p, q = Normal(0.0, 1.0), Normal(m2, s2)
    expected = js_by_scipy(stats.norm(0.0, 1.0), stats.norm(m2, s2), [-5.0, 0.0, 5.0, m2])
    forward, backward = quadrature.js(p, q), quadrature.js(q, p)
    assert close(forward, expected, rtol=1e-7, atol=1e-10)
    assert close(forward, backward, rtol=1e-10, atol=1e-13)
    assert 0.0 <= forward <= LOG2
    if m2 == 0.0 and s2 == 1.0:
        assert forward < 1e-12


@pytest.mark.claim("K5")
def test_quadrature_js_is_half_kls_to_the_mixture():
    p, q = Normal(-1.0, 0.8), Normal(1.5, 1.3)
    # M = (P + Q)/2 as a GaussianMixture, then the definition term by term.
    m = GaussianMixture([0.5, 0.5], [-1.0, 1.5], [0.8, 1.3])
    assert close(quadrature.js(p, q), 0.5 * quadrature.kl(p, m) + 0.5 * quadrature.kl(q, m),
                 rtol=1e-8)


@pytest.mark.claim("K5")
def test_quadrature_js_of_uniforms_disjoint_and_overlapping():
    # Disjoint supports: m = p/2 where p > 0, so each KL term is log 2.
    assert quadrature.js(Uniform(0.0, 1.0), Uniform(2.0, 3.0)) == pytest.approx(LOG2, abs=1e-12)
    assert quadrature.js(Uniform(0.0, 1.0), Uniform(1.0, 2.0)) == pytest.approx(LOG2, abs=1e-12)
    # U(0,1) vs U(a, a+1): only the two non-overlapping pieces of length a
    # count, each giving 1/2 a log 2, so JS = a log 2.
    for a in (0.1, 0.5, 0.9):
        assert quadrature.js(Uniform(0.0, 1.0), Uniform(a, a + 1.0)) == pytest.approx(
            a * LOG2, rel=1e-9)


@pytest.mark.claim("K5")
def test_quadrature_js_of_the_lecture_bimodal_against_normals():
    bimodal = GaussianMixture([0.5, 0.5], [-7.3, 7.3], [1.4, 1.4])
    ref = lambda x: 0.5 * stats.norm.pdf(x, -7.3, 1.4) + 0.5 * stats.norm.pdf(x, 7.3, 1.4)  # noqa
    ref_dist = type("Mix", (), {"pdf": staticmethod(ref)})
    for loc, scale in ((0.0, 1.0), (7.0, 1.4), (-0.04, 6.94)):
        expected = js_by_scipy(ref_dist, stats.norm(loc, scale), [-7.3, 0.0, 7.3, loc])
        assert close(quadrature.js(bimodal, Normal(loc, scale)), expected, rtol=1e-7)


# ------------------------------------------------------- f-divergences (K6)
def bhattacharyya_normal(m1, s1, m2, s2):
    """int sqrt(p q) = sqrt(2 s1 s2 / (s1^2 + s2^2)) exp(-(m1 - m2)^2 / (4 (s1^2 + s2^2)))."""
    v = s1 ** 2 + s2 ** 2
    return np.sqrt(2 * s1 * s2 / v) * np.exp(-(m1 - m2) ** 2 / (4 * v))


def pearson_normal(mp, sp, mq, sq):
    """chi^2(P||Q) = int p^2/q - 1.

    p^2/q = exp(-(x-mp)^2/sp^2 + (x-mq)^2/(2 sq^2)) sq / (sqrt(2 pi) sp^2); with
    a = 1/sp^2, b = 1/(2 sq^2) the Gaussian integral exists iff a > b, i.e.
    2 sq^2 > sp^2, and equals sqrt(pi/(a-b)) exp(ab (mp-mq)^2/(a-b)), giving
    chi^2 = sq^2 / (sp sqrt(2 sq^2 - sp^2)) exp((mp - mq)^2 / (2 sq^2 - sp^2)) - 1.
    """
    d = 2 * sq ** 2 - sp ** 2
    if d <= 0:
        return np.inf
    return sq ** 2 / (sp * np.sqrt(d)) * np.exp((mp - mq) ** 2 / d) - 1.0


NORMAL_PAIRS = [(0.0, 1.0, 1.0, 2.0), (0.5, 1.3, -0.5, 1.0), (0.0, 1.0, 0.0, 1.0),
                (2.0, 0.4, 0.0, 0.9)]


@pytest.mark.claim("K6")
@pytest.mark.parametrize("mp, sp, mq, sq", NORMAL_PAIRS)
def test_f_divergence_kl_generators_match_kl(mp, sp, mq, sq):
    p, q = Normal(mp, sp), Normal(mq, sq)
    assert close(quadrature.f_divergence(p, q, "forward_kl"), kl_normal(mp, sp, mq, sq))
    assert close(quadrature.f_divergence(p, q, "reverse_kl"), kl_normal(mq, sq, mp, sp))


@pytest.mark.claim("K6")
@pytest.mark.parametrize("mp, sp, mq, sq", NORMAL_PAIRS)
def test_f_divergence_hellinger_both_forms_match_bhattacharyya(mp, sp, mq, sq):
    # int (sqrt p - sqrt q)^2 = 2 (1 - BC) = int q 2 (1 - sqrt(p/q)).
    expected = 2.0 * (1.0 - bhattacharyya_normal(mp, sp, mq, sq))
    p, q = Normal(mp, sp), Normal(mq, sq)
    for name in ("hellinger", "hellinger_2"):
        assert close(quadrature.f_divergence(p, q, name), expected, rtol=1e-8, atol=1e-12)


@pytest.mark.claim("K6")
@pytest.mark.parametrize("delta, s", [(0.0, 1.0), (0.3, 1.0), (2.0, 0.5), (10.0, 1.0)])
def test_f_divergence_total_variation_equal_scales(delta, s):
    # f = |t - 1| / 2 gives sup_B |P(B) - Q(B)| in [0, 1]; for equal scales the
    # densities cross at the midpoint, so TV = Phi(d / 2s) - Phi(-d / 2s).
    expected = 2.0 * stats.norm.cdf(abs(delta) / (2 * s)) - 1.0
    value = quadrature.f_divergence(Normal(0.0, s), Normal(delta, s), "total_variation")
    assert close(value, expected, rtol=1e-8, atol=1e-12)
    assert 0.0 <= value <= 1.0


@pytest.mark.claim("K6")
def test_f_divergence_total_variation_unequal_scales_against_scipy():
    expected = 0.5 * quad_real(lambda x: abs(stats.norm.pdf(x, 0, 1) - stats.norm.pdf(x, 1, 2)),
                               [-2.0, 0.0, 1.0, 3.0])
    assert close(quadrature.f_divergence(Normal(0.0, 1.0), Normal(1.0, 2.0), "total_variation"),
                 expected, rtol=1e-8)


@pytest.mark.claim("K6")
@pytest.mark.parametrize("mp, sp, mq, sq", NORMAL_PAIRS + [(0.0, 1.4, 0.0, 1.0),
                                                           (1.0, 2.0, 0.0, 1.0),
                                                           (0.0, np.sqrt(2.0), 0.0, 1.0)])
def test_f_divergence_pearson_and_neyman_closed_forms(mp, sp, mq, sq):
    p, q = Normal(mp, sp), Normal(mq, sq)
    pearson, neyman = pearson_normal(mp, sp, mq, sq), pearson_normal(mq, sq, mp, sp)
    for name in ("pearson", "pearson_2", "pearson_3"):
        value = quadrature.f_divergence(p, q, name)
        assert value == np.inf if np.isinf(pearson) else close(value, pearson, rtol=1e-7)
    for name in ("neyman", "neyman_2", "neyman_3"):  # Neyman(P||Q) = Pearson(Q||P)
        value = quadrature.f_divergence(p, q, name)
        assert value == np.inf if np.isinf(neyman) else close(value, neyman, rtol=1e-7)


@pytest.mark.claim("K6")
def test_f_divergence_mass_outside_support_uses_f_prime_at_infinity():
    # P = U(0, 1), Q = U(0.5, 1.5): on [0.5, 1] p = q (f(1) = 0); Q's half on
    # (1, 1.5] has p = 0, weight f(0); P's half on [0, 0.5) has q = 0, weight f'(inf).
    p, q = Uniform(0.0, 1.0), Uniform(0.5, 1.5)
    expected = {"total_variation": 0.5 * 0.5 + 0.5 * 0.5,   # f(0) = f'(inf) = 1/2
                "hellinger": 0.5 * 1.0 + 0.5 * 1.0,         # f(0) = 1, f'(inf) = 1
                "hellinger_2": 0.5 * 2.0 + 0.5 * 0.0,       # f(0) = 2, f'(inf) = 0
                "forward_kl": np.inf, "reverse_kl": np.inf, "pearson": np.inf, "neyman": np.inf}
    for name, value in expected.items():
        assert quadrature.f_divergence(p, q, name) == pytest.approx(value, abs=1e-10), name
    # Nested supports: P = U(0, 1) inside Q = U(-1, 2) (q = 1/3): Q's mass 2/3
    # outside P gets f(0); inside, q f(3) over length 1.
    p, q = Uniform(0.0, 1.0), Uniform(-1.0, 2.0)
    assert quadrature.f_divergence(p, q, "pearson") == pytest.approx((2.0 ** 2) / 3 + 2 / 3, rel=1e-10)
    assert quadrature.f_divergence(p, q, "reverse_kl") == np.inf   # f(0) = -log 0
    assert quadrature.f_divergence(q, p, "reverse_kl") == pytest.approx(np.log(3.0), rel=1e-10)


@pytest.mark.claim("K6")
def test_f_divergence_callable_generator_matches_named_and_needs_slope():
    p, q = Normal(0.2, 1.1), Normal(-0.3, 0.9)
    squared = lambda t: (t - 1.0) ** 2  # noqa: E731
    assert close(quadrature.f_divergence(p, q, squared),
                 quadrature.f_divergence(p, q, "pearson"), rtol=1e-9)
    tv = lambda t: 0.5 * np.abs(t - 1.0)  # noqa: E731
    disjointish = (Uniform(0.0, 1.0), Uniform(0.5, 1.5))
    with pytest.raises(ValueError, match="f_at_infinity"):
        quadrature.f_divergence(*disjointish, tv)
    assert quadrature.f_divergence(*disjointish, tv, f_at_infinity=0.5) == pytest.approx(0.5)


def test_f_divergence_rejects_unknown_name_and_batched_laws():
    with pytest.raises(ValueError, match="squared_hellinger"):
        quadrature.f_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0), "squared_hellinger")
    with pytest.raises(ValueError, match="shape"):
        quadrature.kl(Normal(np.zeros(2), 1.0), Normal(0.0, 1.0))


# ------------------------------------------ mixtures with narrow, far-apart modes
WEIGHTS_P, WEIGHTS_Q = np.array([0.2, 0.5, 0.3]), np.array([0.6, 0.1, 0.3])
LOCS, SCALES = np.array([-400.0, 3.0, 900.0]), np.array([0.01, 2.0, 0.05])


def test_integrate_1d_finds_narrow_far_modes():
    mix = GaussianMixture(WEIGHTS_P, LOCS, SCALES)
    density = lambda x: np.exp(mix.log_prob(x).data)  # noqa: E731
    mass, _ = quadrature.integrate_1d(density, [mix])
    assert mass == pytest.approx(1.0, abs=1e-9)
    mean, _ = quadrature.integrate_1d(lambda x: x * density(x), [mix])
    assert mean == pytest.approx(float(WEIGHTS_P @ LOCS), rel=1e-9)


@pytest.mark.claim("K5", "K6")
def test_quadrature_on_separated_mixtures_reduces_to_the_weights():
    # Components hundreds of scales apart overlap by less than exp(-1000):
    # the mixtures then behave as the labels, KL(P||Q) = KL(w_P || w_Q),
    # JS = JS of the weights, H = H(w) + sum_k w_k H(N(0, s_k)), to
    # double precision.
    p, q = GaussianMixture(WEIGHTS_P, LOCS, SCALES), GaussianMixture(WEIGHTS_Q, LOCS, SCALES)
    kl_weights = float(np.sum(WEIGHTS_P * np.log(WEIGHTS_P / WEIGHTS_Q)))
    m = 0.5 * (WEIGHTS_P + WEIGHTS_Q)
    js_weights = 0.5 * float(np.sum(WEIGHTS_P * np.log(WEIGHTS_P / m))
                             + np.sum(WEIGHTS_Q * np.log(WEIGHTS_Q / m)))
    entropy = float(-np.sum(WEIGHTS_P * np.log(WEIGHTS_P))
                    + WEIGHTS_P @ (0.5 * np.log(2 * np.pi * np.e * SCALES ** 2)))
    assert close(quadrature.kl(p, q), kl_weights, rtol=1e-8)
    assert close(quadrature.js(p, q), js_weights, rtol=1e-8)
    assert close(quadrature.entropy(p), entropy, rtol=1e-8)
    tv_weights = 0.5 * float(np.abs(WEIGHTS_P - WEIGHTS_Q).sum())
    assert close(quadrature.f_divergence(p, q, "total_variation"), tv_weights, rtol=1e-8)


# ------------------------------------------ laws without a mean: landmarks at location and scale
def test_laws_far_from_zero_without_a_mean():
    # #14.4: breakpoints at the location and scale, not only at means (a Cauchy
    # has none). KL(Cauchy(m, a) || Cauchy(m, b)) = log((a + b)^2 / (4 a b))
    # (Chyzak and Nielsen 2019), entropy log(4 pi scale), JS against scipy.quad
    # on scipy densities split at the common location.
    assert close(quadrature.kl(Cauchy(1e4, 1.0), Cauchy(1e4, 2.0)), np.log(9 / 8), rtol=1e-9)
    assert close(quadrature.entropy(Cauchy(1000.0, 0.01)), np.log(4 * np.pi * 0.01), rtol=1e-9)
    p, q = stats.cauchy(1e4, 1.0), stats.cauchy(1e4, 2.0)

    def js_integrand(x):
        lp, lq = p.logpdf(x), q.logpdf(x)
        lm = np.logaddexp(lp, lq) - LOG2
        return 0.5 * (np.exp(lp) * (lp - lm) + np.exp(lq) * (lq - lm))
    expected = quad_real(js_integrand, [1e4 + k for k in (-1e3, -30, -3, 0, 3, 30, 1e3)])
    assert close(quadrature.js(Cauchy(1e4, 1.0), Cauchy(1e4, 2.0)), expected, rtol=1e-8)


def test_mixture_with_unequal_scales_against_a_wide_normal():
    # #14.5's pair: log p switches between the components near x = 15.4 over a
    # width of about 0.05, far outside both components' bulk; the landmarks put
    # breakpoints at that crossing. Reference: scipy.quad on scipy densities with
    # the crossing located here by brentq.
    from scipy.optimize import brentq
    mix = GaussianMixture([0.3, 0.7], [-7.3, 7.3], [1.4, 0.5])
    a = lambda x: np.log(0.3) + stats.norm.logpdf(x, -7.3, 1.4)  # noqa: E731
    b = lambda x: np.log(0.7) + stats.norm.logpdf(x, 7.3, 0.5)   # noqa: E731
    cross = brentq(lambda x: a(x) - b(x), 9.0, 30.0)
    q = stats.norm(0.0, 20.0)

    def integrand(x):
        lq, lp = q.logpdf(x), np.logaddexp(a(x), b(x))
        return np.exp(lq) * (lq - lp)
    expected = quad_real(integrand, [-7.3, 0.0, 7.3, cross - 0.3, cross, cross + 0.3])
    assert close(expected, 104.4755895, rtol=1e-9)
    assert close(quadrature.kl(Normal(0.0, 20.0), mix), expected, rtol=1e-11)
