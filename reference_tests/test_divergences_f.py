"""dpm.divergences.f_divergence: every generator of the lecture's table (claim K6).

Oracles: scipy.integrate.quad of q f(p/q), written here from scipy.stats
densities and the table's f(t) taken literally; closed forms for Gaussians
(KL from dpm.kl_divergence, Hellinger through the Bhattacharyya coefficient,
Pearson and Neyman chi^2, total variation of equal-covariance Gaussians),
each first checked against quadrature; minigrad.gradcheck with fixed draws.
Monte Carlo tolerance: 5 standard errors of the per-draw values.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

import minigrad as mg
from dpm import divergences as D
from dpm import generators as G
from dpm import kl_divergence
from dpm import quadrature
from dpm.distributions import DiagonalNormal, Laplace, Normal

# The lecture's table, f(t) as written (total variation with its bars restored).
TABLE = {
    "forward_kl": lambda t: t * mg.log(t),
    "reverse_kl": lambda t: -mg.log(t),
    "hellinger": lambda t: (mg.sqrt(t) - 1.0) ** 2,
    "hellinger_2": lambda t: (1.0 - mg.sqrt(t)) * 2.0,
    "total_variation": lambda t: mg.abs(t - 1.0) * 0.5,
    "pearson": lambda t: (t - 1.0) ** 2,
    "pearson_2": lambda t: t ** 2 - 1.0,
    "pearson_3": lambda t: t ** 2 - t,
    "neyman": lambda t: (1.0 - t) ** 2 / t,
    "neyman_2": lambda t: 1.0 / t - 1.0,
    "neyman_3": lambda t: 1.0 / t - t,
}


def assert_within_5se(estimate, truth):
    assert np.isfinite(estimate.stderr) and estimate.stderr > 0
    z = (float(estimate) - truth) / estimate.stderr
    assert abs(z) <= 5, f"estimate {float(estimate)} vs {truth}: z = {z:.2f}"


def quad_f(f, p, q):
    """int q f(p/q) dx with scipy densities and the literal generator."""
    def integrand(x):
        t = p.pdf(x) / q.pdf(x)
        return q.pdf(x) * float(f(mg.Tensor(t)).data)
    value, _ = integrate.quad(integrand, -25, 25, points=[-3, 0, 0.5, 3], limit=400)
    return value


def bhattacharyya(m1, s1, m2, s2):
    """int sqrt(p q) for two normals."""
    v = s1 ** 2 + s2 ** 2
    return np.sqrt(2 * s1 * s2 / v) * np.exp(-(m1 - m2) ** 2 / (4 * v))


def pearson_normal(m1, s1, m2, s2):
    """chi^2(P || Q) = int p^2/q - 1 for P = N(m1, s1^2), Q = N(m2, s2^2), 2 s2^2 > s1^2.

    p^2/q is a Gaussian exponent in x: completing the square gives
    int p^2/q = s2^2 / (s1 sqrt(2 s2^2 - s1^2)) exp((m1 - m2)^2 / (2 s2^2 - s1^2)).
    """
    w = 2 * s2 ** 2 - s1 ** 2
    return s2 ** 2 / (s1 * np.sqrt(w)) * np.exp((m1 - m2) ** 2 / w) - 1.0


# (P, Q) = N(0, 1), N(0.5, 1.5^2) for generators whose per-draw variance under
# Q needs q's tails heavier than p's (Pearson: int p^4/q^3 < inf), the reverse
# pair for Neyman (int q^3/p^2 < inf); both pairs for the bounded generators.
LIGHT_P = ((0.0, 1.0), (0.5, 1.5))
HEAVY_P = ((0.0, 1.5), (0.5, 1.0))
CASES = ([(name, LIGHT_P) for name in TABLE if not name.startswith("neyman")]
         + [(name, HEAVY_P) for name in TABLE if not name.startswith("pearson")])


def closed_form(name, pair):
    (m1, s1), (m2, s2) = pair
    if name == "forward_kl":
        return float(kl_divergence(Normal(m1, s1), Normal(m2, s2)))
    if name == "reverse_kl":
        return float(kl_divergence(Normal(m2, s2), Normal(m1, s1)))
    if name.startswith("hellinger"):
        return 2 * (1 - bhattacharyya(m1, s1, m2, s2))
    if name.startswith("pearson"):
        return pearson_normal(m1, s1, m2, s2)
    if name.startswith("neyman"):  # Neyman(P || Q) = Pearson(Q || P)
        return pearson_normal(m2, s2, m1, s1)
    return None  # total variation: quadrature only


@pytest.mark.claim("K6")
@pytest.mark.parametrize("name, pair", CASES)
def test_named_generator_matches_quadrature_and_closed_form(name, pair):
    (m1, s1), (m2, s2) = pair
    truth = quad_f(TABLE[name], stats.norm(m1, s1), stats.norm(m2, s2))
    exact = closed_form(name, pair)
    if exact is not None:
        assert truth == pytest.approx(exact, rel=1e-7, abs=1e-10)
    assert truth > 0
    estimate = D.f_divergence(Normal(m1, s1), Normal(m2, s2), name, 20_000,
                              np.random.default_rng(1))
    assert_within_5se(estimate, truth)


@pytest.mark.parametrize("name", ["forward_kl", "reverse_kl", "hellinger", "total_variation",
                                  "pearson", "neyman"])
def test_reported_stderr_matches_the_spread_of_replicas(name):
    """The 5-standard-error tests trust ``Estimate.stderr``: check it independently.

    Over R independent replicas the sample variance of the estimates over the
    mean reported stderr^2 (each unbiased for Var_Q[f(p/q)] / n) is about
    chi-square(R - 1) / (R - 1); the bounds are its 1e-6 quantiles. That
    needs per-draw values with a finite fourth moment and moderate kurtosis:
    for Pearson E_Q[(p/q)^8] = int p^8 / q^7 < inf iff s_q^2 > 7/8 s_p^2, for
    Neyman int q^5 / p^4 < inf iff s_p^2 > 4/5 s_q^2; the scale ratio 2 below
    leaves room to spare.
    """
    (m1, s1), (m2, s2) = LIGHT_P
    if name == "pearson":
        (m1, s1), (m2, s2) = (0.0, 1.0), (0.5, 2.0)
    if name == "neyman":
        (m1, s1), (m2, s2) = (0.0, 2.0), (0.5, 1.0)
    rng = np.random.default_rng(9)
    replicas = 400
    estimates = [D.f_divergence(Normal(m1, s1), Normal(m2, s2), name, 100, rng)
                 for _ in range(replicas)]
    values = np.array([float(e) for e in estimates])
    ratio = values.var(ddof=1) / np.mean([e.stderr ** 2 for e in estimates])
    low, high = stats.chi2.ppf([1e-6, 1 - 1e-6], replicas - 1) / (replicas - 1)
    assert low <= ratio <= high, (ratio, low, high)


@pytest.mark.claim("K6")
@pytest.mark.parametrize("name", ["hellinger", "hellinger_2", "total_variation", "forward_kl",
                                  "reverse_kl"])
def test_named_generator_on_laplace_laws_matches_quadrature(name):
    truth = quad_f(TABLE[name], stats.laplace(0.0, 1.0), stats.laplace(0.5, 1.5))
    estimate = D.f_divergence(Laplace(0.0, 1.0), Laplace(0.5, 1.5), name, 20_000,
                              np.random.default_rng(2))
    assert_within_5se(estimate, truth)


@pytest.mark.claim("K6")
@pytest.mark.parametrize("name", sorted(TABLE))
def test_callable_generator_equals_the_named_log_space_form(name):
    p, q = Normal(0.0, 1.2), Normal(0.4, 1.0)
    named = D.f_divergence(p, q, name, 500, np.random.default_rng(3))
    literal = D.f_divergence(p, q, TABLE[name], 500, np.random.default_rng(3))
    assert float(literal) == pytest.approx(float(named), rel=1e-9, abs=1e-12)
    assert literal.stderr == pytest.approx(named.stderr, rel=1e-6, abs=1e-12)


# f(t) of the records outside the lecture's table, written out by hand
EXTRA = {
    "hellinger_2_conjugate": lambda t: (t - np.sqrt(t)) * 2.0,
    "js": lambda t: 0.5 * (t * np.log(t) - (1 + t) * np.log((1 + t) / 2)),
}


@pytest.mark.claim("K6")
def test_each_generator_record_is_its_formula_with_its_conjugate_and_limits():
    # The one table (dpm.generators) read by the Monte Carlo estimators, the
    # quadrature and the landscapes: every record against f(t) written here,
    # its conjugate against t f(1/t), and f'(inf) = lim f(t)/t, f(0+) numerically.
    assert set(G.GENERATORS) == set(TABLE) | set(EXTRA)
    t = np.geomspace(1e-3, 1e3, 41)
    for name, record in G.GENERATORS.items():
        literal = (lambda u: TABLE[name](mg.Tensor(u)).data) if name in TABLE else EXTRA[name]
        np.testing.assert_allclose(record.f_log(mg.Tensor(np.log(t))).data, literal(t),
                                   rtol=1e-10, atol=1e-14, err_msg=name)
        np.testing.assert_allclose(record.f(t).data, literal(t), rtol=1e-10, atol=1e-14)
        conjugate = G.GENERATORS[record.conjugate]
        np.testing.assert_allclose(conjugate.f_log(mg.Tensor(np.log(t))).data,
                                   t * literal(1 / t), rtol=1e-9, atol=1e-13, err_msg=name)
        for limit, at in ((record.f_at_infinity, lambda u: literal(np.array([u]))[0] * (1 / u)),
                          (record.f_at_zero, lambda u: literal(np.array([1 / u]))[0])):
            if np.isinf(limit):   # log-slow growth at least: above 100 at 1e100
                assert limit > 0 and at(1e100) > 100, (name, limit, at(1e100))
            else:
                assert abs(at(1e12) - limit) <= 1e-4, (name, limit, at(1e12))
        assert record.f(np.array([0.0])).data[0] == record.f_at_zero


@pytest.mark.claim("K5", "K6")
def test_f_divergence_with_the_js_generator_is_the_jensen_shannon_divergence():
    p, q = Normal(0.0, 1.0), Normal(1.0, 1.5)
    estimate = D.f_divergence(p, q, "js", 20_000, np.random.default_rng(12))
    assert_within_5se(estimate, quadrature.js(p, q))


@pytest.mark.claim("K6")
@pytest.mark.parametrize("name", sorted(TABLE))
def test_f_divergence_is_zero_at_p_equal_q_and_nonnegative(name):
    same = D.f_divergence(Normal(0.3, 1.1), Normal(0.3, 1.1), name, 200, np.random.default_rng(4))
    assert float(same) == 0.0
    pair = LIGHT_P if not name.startswith("neyman") else HEAVY_P
    (m1, s1), (m2, s2) = pair
    estimate = D.f_divergence(Normal(m1, s1), Normal(m2, s2), name, 2000,
                              np.random.default_rng(5))
    assert float(estimate) + 5 * estimate.stderr >= 0


@pytest.mark.claim("K6")
def test_log_space_survives_densities_that_underflow():
    # d = 800: log p and log q near -1100, so p and q are 0 in float64 and the
    # ratio p/q would be 0/0; in log-space t = exp(log p - log q) is fine.
    d, delta = 800, 0.05
    p = DiagonalNormal(np.zeros(d), np.ones(d))
    q = DiagonalNormal(np.full(d, delta), np.ones(d))
    rng = np.random.default_rng(6)
    assert np.all(np.exp(q.log_prob(q.sample((10,), rng)).data) == 0.0)
    distance = np.sqrt(d) * delta  # |mu_p - mu_q|, covariances equal to I
    exact = {"hellinger": 2 * (1 - np.exp(-distance ** 2 / 8)),
             "total_variation": 2 * stats.norm.cdf(distance / 2) - 1,
             "forward_kl": distance ** 2 / 2, "reverse_kl": distance ** 2 / 2}
    for name, truth in exact.items():
        assert_within_5se(D.f_divergence(p, q, name, 4000, rng), truth)


@pytest.mark.claim("K6")
@pytest.mark.parametrize("name", sorted(TABLE))
def test_gradcheck_f_divergence_in_both_laws_parameters(name):
    def f(loc_p, scale_p, loc_q, scale_q):
        return D.f_divergence(Normal(loc_p, scale_p), Normal(loc_q, scale_q), name, 32,
                              np.random.default_rng(7))
    assert mg.gradcheck(f, [np.array(0.1), np.array(1.2), np.array(0.4), np.array(0.9)])


@pytest.mark.claim("K6")
def test_hellinger_pathwise_gradient_matches_closed_form():
    # D = 2 (1 - BC(m1, s1, m2, s2)); d/dm2 by central differences of the closed form
    m1, s1, m2, s2, h = 0.0, 1.0, 0.8, 1.3, 1e-6
    exact = -2 * (bhattacharyya(m1, s1, m2 + h, s2) - bhattacharyya(m1, s1, m2 - h, s2)) / (2 * h)
    rng = np.random.default_rng(8)
    grads = []
    for _ in range(60):
        loc = mg.Tensor(np.array(m2), requires_grad=True)
        D.f_divergence(Normal(m1, s1), Normal(loc, s2), "hellinger", 200, rng).backward()
        grads.append(float(loc.grad))
    mean, stderr = np.mean(grads), np.std(grads, ddof=1) / np.sqrt(len(grads))
    assert abs(mean - exact) <= 5 * stderr, (mean, exact, stderr)
