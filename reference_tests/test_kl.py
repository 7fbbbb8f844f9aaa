"""Every registered closed-form KL against an independent reference (claims K1, K2, K3).

References: for 1-D laws, scipy.integrate.quad of p (log p - log q) with
scipy.stats' densities; for Gaussians in d dimensions, a Monte Carlo
estimate from scipy.stats draws and densities, within 5 standard errors
(diagonal pairs also against a sum of 1-D quadratures); for discrete laws,
the exact sum (scipy.special.rel_entr). The tests are parametrized over the
registry itself, so a pair registered without an entry in EXAMPLES (and
its classes in RANDOM) fails here.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate, special, stats

import dpm
import minigrad as mg
from dpm.distributions import (
    Bernoulli, Categorical, Cauchy, DiagonalNormal, Exponential, Gamma, Gumbel, Laplace,
    MultivariateNormal, Normal, Uniform)
from dpm.kl import KL_REGISTRY, kl_divergence, kl_normal_standard_normal, register_kl

INF_P = {Normal: dict(loc=0.3, scale=1.2), Laplace: dict(loc=0.4, scale=0.8),
         Gumbel: dict(loc=0.1, scale=1.4), Cauchy: dict(loc=0.2, scale=0.9),
         Exponential: dict(rate=1.3), Gamma: dict(concentration=2.5, rate=1.5)}
INF_Q = {Uniform: dict(low=-1.0, high=5.0), Exponential: dict(rate=1.3),
         Gamma: dict(concentration=2.5, rate=1.5), Normal: dict(loc=0.3, scale=1.2),
         Laplace: dict(loc=0.4, scale=0.8), Gumbel: dict(loc=0.1, scale=1.4)}
L2 = np.array([[1.0, 0.0], [0.6, 0.8]])
L3 = np.array([[1.2, 0.0, 0.0], [-0.4, 0.7, 0.0], [0.3, 0.5, 0.9]])
EXAMPLES = {
    (Normal, Normal): [(dict(loc=0.3, scale=1.2), dict(loc=-1.0, scale=0.7)),
                       (dict(loc=0.0, scale=1.0), dict(loc=0.0, scale=3.0))],
    (Uniform, Uniform): [(dict(low=0.0, high=1.0), dict(low=-1.0, high=2.5)),
                         (dict(low=0.2, high=0.3), dict(low=0.2, high=5.0))],
    (Exponential, Exponential): [(dict(rate=1.5), dict(rate=0.4)),
                                 (dict(rate=0.2), dict(rate=3.0))],
    (Laplace, Laplace): [(dict(loc=0.5, scale=1.3), dict(loc=-0.2, scale=0.7)),
                         (dict(loc=0.0, scale=0.5), dict(loc=0.0, scale=2.0))],
    (Gamma, Gamma): [(dict(concentration=2.5, rate=1.3), dict(concentration=1.2, rate=0.7)),
                     (dict(concentration=0.8, rate=2.0), dict(concentration=3.0, rate=1.0))],
    (Gumbel, Gumbel): [(dict(loc=0.5, scale=1.3), dict(loc=-0.2, scale=0.7)),
                       (dict(loc=-1.0, scale=0.5), dict(loc=1.0, scale=2.0))],
    (Cauchy, Cauchy): [(dict(loc=0.5, scale=1.3), dict(loc=-0.2, scale=0.7)),
                       (dict(loc=3.0, scale=0.2), dict(loc=0.0, scale=1.0))],
    (MultivariateNormal, MultivariateNormal): [
        (dict(loc=np.array([1.0, 0.0]), covariance_matrix=np.array([[2.0, 0.5], [0.5, 1.0]])),
         dict(loc=np.array([0.0, 0.5]), scale_tril=L2)),
        (dict(loc=np.array([0.2, -0.3, 0.5]), scale_tril=L3),
         dict(loc=np.zeros(3), covariance_matrix=np.eye(3) * 1.5))],
    (DiagonalNormal, DiagonalNormal): [
        (dict(loc=np.array([0.2, -1.0, 0.5]), scale=np.array([0.5, 1.0, 2.0])),
         dict(loc=np.array([0.0, 0.3, 0.0]), scale=np.array([1.0, 0.8, 1.5])))],
    (DiagonalNormal, MultivariateNormal): [
        (dict(loc=np.array([0.2, -1.0, 0.5]), scale=np.array([0.5, 1.0, 2.0])),
         dict(loc=np.zeros(3), scale_tril=L3))],
    (MultivariateNormal, DiagonalNormal): [
        (dict(loc=np.array([0.2, -0.3, 0.5]), scale_tril=L3),
         dict(loc=np.array([0.0, 0.3, 0.0]), scale=np.array([1.0, 0.8, 1.5])))],
    # pairs of different families (dpm/kl_cross.py): finite closed forms ...
    (Normal, Laplace): [(dict(loc=0.3, scale=1.2), dict(loc=-0.5, scale=0.8)),
                        (dict(loc=2.0, scale=0.3), dict(loc=2.0, scale=1.5))],
    (Normal, Gumbel): [(dict(loc=0.3, scale=1.2), dict(loc=-0.5, scale=1.4)),
                       (dict(loc=-1.0, scale=0.5), dict(loc=1.0, scale=2.0))],
    (Laplace, Normal): [(dict(loc=0.5, scale=1.3), dict(loc=-0.2, scale=0.7)),
                        (dict(loc=0.0, scale=0.5), dict(loc=0.0, scale=2.0))],
    (Laplace, Gumbel): [(dict(loc=0.4, scale=0.8), dict(loc=0.1, scale=1.4)),
                        (dict(loc=-2.0, scale=0.3), dict(loc=1.0, scale=0.5)),
                        (dict(loc=0.0, scale=2.0), dict(loc=0.0, scale=1.0))],   # b >= beta: inf
    (Exponential, Normal): [(dict(rate=1.3), dict(loc=0.5, scale=1.0)),
                            (dict(rate=0.2), dict(loc=-1.0, scale=4.0))],
    (Exponential, Gamma): [(dict(rate=1.3), dict(concentration=2.5, rate=1.5)),
                           (dict(rate=0.5), dict(concentration=0.7, rate=0.3))],
    (Exponential, Laplace): [(dict(rate=1.3), dict(loc=0.4, scale=0.8)),
                             (dict(rate=0.5), dict(loc=-1.0, scale=2.0))],
    (Exponential, Gumbel): [(dict(rate=1.3), dict(loc=0.1, scale=1.4)),
                            (dict(rate=0.4), dict(loc=3.0, scale=2.5))],
    (Gamma, Exponential): [(dict(concentration=2.5, rate=1.5), dict(rate=1.3)),
                           (dict(concentration=0.6, rate=0.4), dict(rate=2.0))],
    (Gamma, Normal): [(dict(concentration=2.5, rate=1.5), dict(loc=1.0, scale=1.2)),
                      (dict(concentration=8.0, rate=0.5), dict(loc=10.0, scale=5.0))],
    (Gamma, Gumbel): [(dict(concentration=2.5, rate=1.5), dict(loc=0.1, scale=1.4)),
                      (dict(concentration=0.8, rate=2.0), dict(loc=-0.5, scale=0.6))],
    (Gumbel, Normal): [(dict(loc=0.1, scale=1.4), dict(loc=0.3, scale=1.2)),
                       (dict(loc=-1.0, scale=0.5), dict(loc=1.0, scale=2.0))],
    (Uniform, Normal): [(dict(low=0.0, high=1.0), dict(loc=0.0, scale=1.0)),   # torch: 1.0856
                        (dict(low=-2.0, high=3.5), dict(loc=0.5, scale=0.7))],
    (Uniform, Laplace): [(dict(low=0.2, high=1.5), dict(loc=0.4, scale=0.8)),   # m inside
                         (dict(low=0.2, high=1.5), dict(loc=-1.0, scale=2.0)),  # m below
                         (dict(low=-3.0, high=-1.0), dict(loc=0.5, scale=1.0))],  # m above
    (Uniform, Gumbel): [(dict(low=0.2, high=1.5), dict(loc=0.1, scale=1.4)),
                        (dict(low=-2.0, high=3.0), dict(loc=1.0, scale=0.6))],
    (Uniform, Cauchy): [(dict(low=0.2, high=1.5), dict(loc=0.2, scale=0.9)),
                        (dict(low=-20.0, high=-5.0), dict(loc=3.0, scale=0.5))],
    (Uniform, Exponential): [(dict(low=0.2, high=1.5), dict(rate=1.3)),
                             (dict(low=0.0, high=4.0), dict(rate=0.3)),
                             (dict(low=-0.5, high=1.0), dict(rate=1.0))],          # inf
    (Uniform, Gamma): [(dict(low=0.2, high=1.5), dict(concentration=2.5, rate=1.5)),
                       (dict(low=0.0, high=2.0), dict(concentration=0.7, rate=0.4)),
                       (dict(low=-0.5, high=1.0), dict(concentration=2.0, rate=1.0))],  # inf
    # ... and +inf: the support of p is not inside that of q, or E_p[-log q] diverges
    **{(P, Q): [(INF_P[P], INF_Q[Q])]
       for P, Q in [(P, Q) for P in (Normal, Laplace, Gumbel, Cauchy)
                    for Q in (Uniform, Exponential, Gamma)]
       + [(Exponential, Uniform), (Gamma, Uniform),
          (Cauchy, Normal), (Cauchy, Laplace), (Cauchy, Gumbel)]},
    (Bernoulli, Bernoulli): [(dict(logits=0.4), dict(logits=-1.2)),
                             (dict(logits=5.0), dict(logits=0.0))],
    (Categorical, Categorical): [(dict(logits=np.array([0.1, -0.5, 1.2, 0.0])),
                                  dict(logits=np.array([1.0, 0.0, -1.0, 0.3])))],
}

SCIPY_1D = {Normal: lambda loc, scale: stats.norm(loc, scale),
            Uniform: lambda low, high: stats.uniform(low, high - low),
            Exponential: lambda rate: stats.expon(scale=1 / rate),
            Laplace: lambda loc, scale: stats.laplace(loc, scale),
            Gamma: lambda concentration, rate: stats.gamma(concentration, scale=1 / rate),
            Gumbel: lambda loc, scale: stats.gumbel_r(loc, scale),
            Cauchy: lambda loc, scale: stats.cauchy(loc, scale)}


def gaussian_moments(cls, kwargs):
    if cls is DiagonalNormal:
        return kwargs["loc"], np.diag(kwargs["scale"] ** 2)
    if "scale_tril" in kwargs:
        return kwargs["loc"], kwargs["scale_tril"] @ kwargs["scale_tril"].T
    return kwargs["loc"], kwargs["covariance_matrix"]


def discrete_probs(cls, kwargs):
    if cls is Bernoulli:
        p = special.expit(kwargs["logits"])
        return np.array([1 - p, p])
    return special.softmax(kwargs["logits"])


def quad_expectation(p_law, f, extra_points=()):
    """integral p(x) f(x) dx over p's support, split at its median and the extra points.

    Where p(x) < e^-200 the integrand is taken as 0: p f is far below the
    tolerance there, while scipy's log-densities of some families (laplace,
    gumbel_r) already underflow to -inf in those tails.
    """
    lo, hi = p_law.support()
    points = sorted({float(x) for x in (p_law.median(), *extra_points) if lo < x < hi})
    edges = [lo] + points + [hi]

    def integrand(x):
        log_p = p_law.logpdf(x)
        return 0.0 if log_p < -200 else np.exp(log_p) * f(x)
    with np.errstate(all="ignore"):
        return sum(integrate.quad(integrand, a, b, epsabs=1e-13, epsrel=1e-11, limit=200)[0]
                   for a, b in zip(edges[:-1], edges[1:]))


def truncated_kl_grows(p_law, q_law):
    """True when int_{|x - median| < R} p log(p / q) keeps growing with R: a divergent KL.

    At R = 20 and 2000 interquartile ranges of p, by the trapezoid rule on a
    geometric grid (a rough integral suffices: a convergent integrand has no
    mass left past R = 20 for these families, whose tails are at most like
    1 / x^2 against a -log q of at most x^2 or e^|x|, while a divergent one
    adds far more than 1 nat out to R = 2000).
    """
    center = float(p_law.median())
    spread = float(p_law.ppf(0.75) - p_law.ppf(0.25))
    offsets = spread * np.geomspace(1e-6, 2000.0, 20001)
    x = np.concatenate([center - offsets[::-1], [center], center + offsets])
    with np.errstate(all="ignore"):
        log_p, log_q = p_law.logpdf(x), q_law.logpdf(x)
        # as in quad_expectation: p < e^-200 counts as 0 (scipy's log q may underflow there)
        integrand = np.where(log_p < -200, 0.0, np.exp(log_p) * (log_p - log_q))
    inner = np.abs(x - center) <= 20.0 * spread
    partial = [np.trapezoid(integrand[inner], x[inner]), np.trapezoid(integrand, x)]
    return not np.isfinite(partial[1]) or partial[1] > partial[0] + 1.0


_QUADRATURE_CACHE = {}


def _reference_kl_1d(P, pk, Q, qk):
    p_law, q_law = SCIPY_1D[P](**pk), SCIPY_1D[Q](**qk)
    (p_low, p_high), (q_low, q_high) = p_law.support(), q_law.support()
    if p_low < q_low or p_high > q_high or truncated_kl_grows(p_law, q_law):
        return np.inf
    kinks = [v for k, v in {**pk, **qk}.items() if k in ("loc", "low", "high")]
    return quad_expectation(p_law, lambda x: p_law.logpdf(x) - q_law.logpdf(x), kinks)


def reference_kl(P, pk, Q, qk, rng):
    """(value, standard error): exact references have standard error 0.

    For 1-D laws: +inf when scipy's support of p is not inside q's, or when
    the truncated integral grows without bound; else quadrature.
    """
    if P in SCIPY_1D:
        key = (P, tuple(sorted(pk.items())), Q, tuple(sorted(qk.items())))
        if key not in _QUADRATURE_CACHE:  # the cross-entropy test asks again
            _QUADRATURE_CACHE[key] = _reference_kl_1d(P, pk, Q, qk)
        return _QUADRATURE_CACHE[key], 0.0
    if P in (Bernoulli, Categorical):
        return special.rel_entr(discrete_probs(P, pk), discrete_probs(Q, qk)).sum(), 0.0
    (m1, s1), (m2, s2) = gaussian_moments(P, pk), gaussian_moments(Q, qk)
    if P is DiagonalNormal and Q is DiagonalNormal:  # exact: a sum of 1-D quadratures
        return sum(reference_kl(Normal, dict(loc=a, scale=np.sqrt(v)),
                                Normal, dict(loc=b, scale=np.sqrt(w)), rng)[0]
                   for a, v, b, w in zip(m1, np.diag(s1), m2, np.diag(s2))), 0.0
    p_law, q_law = stats.multivariate_normal(m1, s1), stats.multivariate_normal(m2, s2)
    x = p_law.rvs(size=200_000, random_state=rng)
    log_ratio = p_law.logpdf(x) - q_law.logpdf(x)
    return log_ratio.mean(), log_ratio.std(ddof=1) / np.sqrt(len(x))


PAIRS = sorted(KL_REGISTRY, key=lambda pair: (pair[0].__name__, pair[1].__name__))
PAIR_IDS = [f"{P.__name__}-{Q.__name__}" for P, Q in PAIRS]


def examples_of(pair):
    if pair not in EXAMPLES:
        pytest.fail(f"KL({pair[0].__name__} || {pair[1].__name__}) is registered but has no "
                    f"example in test_kl.EXAMPLES: add one so it is checked against a reference")
    return EXAMPLES[pair]


def test_every_example_pair_is_registered():
    # The tests below are parametrized over the registry: a pair dropped from it would
    # silently drop its checks (an empty parameter set only skips), so list them here.
    missing = [f"{P.__name__}-{Q.__name__}" for P, Q in EXAMPLES if (P, Q) not in KL_REGISTRY]
    assert missing == [], f"pairs with reference examples but no registered KL: {missing}"


@pytest.mark.claim("K3")
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_registered_kl_matches_reference(pair):
    P, Q = pair
    rng = np.random.default_rng(2024)
    for pk, qk in examples_of(pair):
        ours = kl_divergence(P(**pk), Q(**qk)).item()
        expected, se = reference_kl(P, pk, Q, qk, rng)
        if se == 0.0:
            assert ours == pytest.approx(expected, rel=1e-8, abs=1e-10)
        else:
            assert abs(ours - expected) <= 5 * se, (ours, expected, se)


CROSS_PAIRS = [pair for pair in PAIRS if pair[0] is not pair[1] and pair[0] in SCIPY_1D]


@pytest.mark.claim("K1")
@pytest.mark.parametrize("pair", CROSS_PAIRS, ids=lambda pair: f"{pair[0].__name__}-{pair[1].__name__}")
def test_cross_family_kl_matches_dpm_quadrature(pair):
    # The second reference for pairs of different families: dpm.quadrature integrates our
    # own log-densities (inf where the supports are not nested or a tail diverges).
    from dpm import quadrature
    P, Q = pair
    for pk, qk in examples_of(pair):
        p, q = P(**pk), Q(**qk)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = quadrature.kl(p, q)
        assert kl_divergence(p, q).item() == pytest.approx(expected, rel=1e-8, abs=1e-10)


@pytest.mark.claim("K1")
def test_cross_family_kl_has_both_kinds_of_infinity_and_torch_s_uniform_normal_value():
    # torch.distributions: KL(U(0, 1) || N(0, 1)) = 1.0856; in closed form 1/2 log(2 pi) + 1/6.
    value = kl_divergence(Uniform(0.0, 1.0), Normal(0.0, 1.0)).item()
    assert value == pytest.approx(0.5 * np.log(2 * np.pi) + 1.0 / 6.0, rel=1e-15)
    assert round(value, 4) == 1.0856
    assert kl_divergence(Normal(0.0, 1.0), Exponential(1.0)).item() == np.inf   # supports
    assert kl_divergence(Normal(0.0, 1.0), Uniform(-1e6, 1e6)).item() == np.inf
    assert kl_divergence(Cauchy(0.0, 1.0), Normal(0.0, 1e3)).item() == np.inf  # tails
    # mixed batches: inf only where the condition fails, finite gradients elsewhere
    low = mg.Tensor(np.array([0.5, -0.5]), requires_grad=True)
    kl = kl_divergence(Uniform(low, 2.0), Exponential(1.5))
    assert np.isfinite(kl.data[0]) and kl.data[1] == np.inf
    mg.where(np.isfinite(kl.data), kl, 0.0).sum().backward()
    # d/da [-log(b - a) - log l + l (a + b)/2] = 1/(b - a) + l/2
    np.testing.assert_allclose(low.grad, [1 / 1.5 + 0.75, 0.0], rtol=1e-14)
    scale = mg.Tensor(np.array([0.5, 1.0, 3.0]), requires_grad=True)
    kl = kl_divergence(Laplace(0.0, scale), Gumbel(0.0, 1.0))
    assert np.isfinite(kl.data[0]) and kl.data[1] == np.inf and kl.data[2] == np.inf
    mg.where(np.isfinite(kl.data), kl, 0.0).sum().backward()
    assert np.all(np.isfinite(scale.grad)) and scale.grad[1] == 0.0


@pytest.mark.claim("K2")
@pytest.mark.parametrize("pair", [p for p in PAIRS
                                  if p[0] in SCIPY_1D or p[0] in (Bernoulli, Categorical)],
                         ids=lambda pair: f"{pair[0].__name__}-{pair[1].__name__}")
def test_kl_is_cross_entropy_minus_entropy(pair):
    # H(P, Q) = -E_P log q by quadrature (or an exact sum); H(P) from scipy (its closed
    # form), and our entropy() must agree with it.
    P, Q = pair
    for pk, qk in examples_of(pair):
        if P in SCIPY_1D and reference_kl(P, pk, Q, qk, None)[0] == np.inf:
            # H(P, Q) = inf and H(P) finite: the KL is inf (checked against the reference above)
            assert kl_divergence(P(**pk), Q(**qk)).item() == np.inf
            continue
        if P in SCIPY_1D:
            p_law, q_law = SCIPY_1D[P](**pk), SCIPY_1D[Q](**qk)
            kinks = [v for k, v in {**pk, **qk}.items() if k in ("loc", "low", "high")]
            cross_entropy = -quad_expectation(p_law, q_law.logpdf, kinks)
            entropy = float(p_law.entropy())
        else:
            cross_entropy = -np.sum(special.xlogy(discrete_probs(P, pk), discrete_probs(Q, qk)))
            entropy = float(special.entr(discrete_probs(P, pk)).sum())
        assert P(**pk).entropy().item() == pytest.approx(entropy, rel=1e-12, abs=1e-14)
        assert kl_divergence(P(**pk), Q(**qk)).item() == pytest.approx(
            cross_entropy - entropy, rel=1e-8, abs=1e-10)


def random_spd_factor(rng, n, d):
    raw = np.tril(rng.normal(size=(n, d, d)), -1) * 0.7
    return raw + np.eye(d) * rng.uniform(0.3, 2.0, size=(n, d, 1))


RANDOM = {  # class -> rng, n -> constructor arguments for a batch of n laws
    Normal: lambda r, n: dict(loc=r.normal(size=n) * 2, scale=r.uniform(0.1, 3, n)),
    Uniform: lambda r, n: dict(low=-r.uniform(0, 2, n), high=r.uniform(0.1, 2, n)),
    Exponential: lambda r, n: dict(rate=r.uniform(0.1, 5, n)),
    Laplace: lambda r, n: dict(loc=r.normal(size=n) * 2, scale=r.uniform(0.1, 3, n)),
    Gamma: lambda r, n: dict(concentration=r.uniform(0.2, 6, n), rate=r.uniform(0.1, 5, n)),
    Gumbel: lambda r, n: dict(loc=r.normal(size=n) * 2, scale=r.uniform(0.1, 3, n)),
    Cauchy: lambda r, n: dict(loc=r.normal(size=n) * 2, scale=r.uniform(0.1, 3, n)),
    MultivariateNormal: lambda r, n: dict(loc=r.normal(size=(n, 3)),
                                          scale_tril=random_spd_factor(r, n, 3)),
    DiagonalNormal: lambda r, n: dict(loc=r.normal(size=(n, 3)), scale=r.uniform(0.1, 3, (n, 3))),
    Bernoulli: lambda r, n: dict(logits=r.normal(size=n) * 3),
    Categorical: lambda r, n: dict(logits=r.normal(size=(n, 5)) * 2),
}


@pytest.mark.claim("K1")
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_kl_is_nonnegative_and_zero_only_for_equal_laws(pair):
    P, Q = pair
    for cls in pair:
        if cls not in RANDOM:
            pytest.fail(f"{cls.__name__} has a registered KL but no entry in test_kl.RANDOM")
    rng = np.random.default_rng(7)
    # Batched triangular solves loop over the batch: fewer laws for the matrix families.
    n = 30 if {P, Q} & {MultivariateNormal} else 200
    kl = kl_divergence(P(**RANDOM[P](rng, n)), Q(**RANDOM[Q](rng, n))).data
    assert kl.shape == (n,) and not np.any(np.isnan(kl))
    assert np.all(kl > 0)  # random laws differ, so strictly positive (or +inf)
    if P is Q:
        same = RANDOM[P](rng, n)
        np.testing.assert_allclose(kl_divergence(P(**same), P(**same)).data, 0.0, atol=1e-12)


@pytest.mark.claim("K1")
def test_kl_is_not_symmetric():
    p, q = Normal(0.0, 1.0), Normal(1.0, 2.0)
    assert kl_divergence(p, q).item() == pytest.approx(np.log(2) + 2 / 8 - 0.5)
    assert kl_divergence(q, p).item() == pytest.approx(-np.log(2) + 5 / 2 - 0.5)
    # The Cauchy family is a known exception: its KL is symmetric.
    a, b = Cauchy(0.5, 1.3), Cauchy(-0.2, 0.7)
    assert kl_divergence(a, b).item() == pytest.approx(kl_divergence(b, a).item(), rel=1e-14)


@pytest.mark.claim("K1")
@pytest.mark.filterwarnings("error")
def test_uniform_support_not_nested_gives_inf():
    inner, outer, shifted = Uniform(0.0, 1.0), Uniform(-1.0, 2.0), Uniform(0.5, 1.5)
    assert np.isfinite(kl_divergence(inner, outer).item())
    assert kl_divergence(outer, inner).item() == np.inf
    assert kl_divergence(inner, shifted).item() == np.inf
    assert kl_divergence(shifted, inner).item() == np.inf
    high = mg.Tensor(np.array([2.0, 0.7]), requires_grad=True)
    kl = kl_divergence(inner, Uniform(-1.0, high))
    assert kl.data[1] == np.inf
    mg.where(np.isfinite(kl.data), kl, 0.0).sum().backward()
    np.testing.assert_allclose(high.grad, [1 / 3, 0.0])  # d/db log(b - a) = 1/(b - a)


@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_kl_gradcheck_in_both_laws_parameters(pair):
    P, Q = pair
    pk, qk = examples_of(pair)[0]
    keys = [("p", k) for k in pk] + [("q", k) for k in qk]
    values = [np.asarray(pk[k] if side == "p" else qk[k], dtype=float) for side, k in keys]

    def as_argument(name, t):
        if name == "scale_tril":  # perturb only the lower triangle
            return t * np.tril(np.ones(t.shape))
        if name == "covariance_matrix":
            return (t + t.T) * 0.5
        return t

    def kl(*tensors):
        args = {"p": {}, "q": {}}
        for (side, name), t in zip(keys, tensors):
            args[side][name] = as_argument(name, t)
        return kl_divergence(P(**args["p"]), Q(**args["q"]))
    if kl(*values).item() == np.inf:
        # The +inf pairs (support of p not inside q's): a constant, with no gradient to check.
        assert examples_of(pair) == [(pk, qk)] and not kl(*[mg.Tensor(v, requires_grad=True)
                                                             for v in values]).requires_grad
        return
    assert mg.gradcheck(kl, values, atol=1e-6, rtol=1e-5)


@pytest.mark.claim("K3")
def test_vae_kl_to_standard_normal_three_ways():
    rng = np.random.default_rng(3)
    loc, log_scale = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)) * 0.5
    scale = np.exp(log_scale)
    by_scale = kl_normal_standard_normal(loc, scale=scale).data
    assert by_scale.shape == (5,)
    np.testing.assert_allclose(kl_normal_standard_normal(loc, log_scale=log_scale).data, by_scale,
                               rtol=1e-13)
    np.testing.assert_allclose(
        kl_normal_standard_normal(loc, scale_tril=scale[..., None] * np.eye(4)).data, by_scale,
        rtol=1e-13)
    standard = DiagonalNormal(np.zeros(4), np.ones(4))
    np.testing.assert_allclose(kl_divergence(DiagonalNormal(loc, scale), standard).data, by_scale,
                               rtol=1e-13)
    # Monte Carlo with scipy's densities, row by row.
    for b in range(2):
        x = stats.norm(loc[b], scale[b]).rvs(size=(100_000, 4), random_state=rng)
        log_ratio = (stats.norm(loc[b], scale[b]).logpdf(x) - stats.norm.logpdf(x)).sum(axis=1)
        se = log_ratio.std(ddof=1) / np.sqrt(len(x))
        assert abs(by_scale[b] - log_ratio.mean()) <= 5 * se


@pytest.mark.claim("K3")
def test_vae_kl_full_covariance_matches_monte_carlo_and_gradients():
    rng = np.random.default_rng(4)
    mu = np.array([0.5, -0.2, 1.0])
    kl = kl_normal_standard_normal(mu, scale_tril=L3).item()
    sigma = L3 @ L3.T   # the lecture's formula, written out here as a check
    assert kl == pytest.approx(0.5 * (np.trace(sigma) + mu @ mu - 3 - np.linalg.slogdet(sigma)[1]))
    p_law = stats.multivariate_normal(mu, sigma)
    x = p_law.rvs(size=200_000, random_state=rng)
    log_ratio = p_law.logpdf(x) - stats.multivariate_normal(np.zeros(3)).logpdf(x)
    assert abs(kl - log_ratio.mean()) <= 5 * log_ratio.std(ddof=1) / np.sqrt(len(x))
    # Gradients: d/dmu = mu, d/dL = L - diag(1 / L_ii), d/dscale = scale - 1/scale.
    loc, tril = mg.Tensor(mu, requires_grad=True), mg.Tensor(L3, requires_grad=True)
    kl_normal_standard_normal(loc, scale_tril=tril).backward()
    np.testing.assert_allclose(loc.grad, mu, rtol=1e-13)
    np.testing.assert_allclose(tril.grad, L3 - np.diag(1 / np.diag(L3)), rtol=1e-13, atol=1e-15)
    scale = mg.Tensor(np.array([0.5, 2.0]), requires_grad=True)
    kl_normal_standard_normal(np.zeros(2), scale=scale).backward()
    np.testing.assert_allclose(scale.grad, [0.5 - 2.0, 2.0 - 0.5])


@pytest.mark.claim("K3")
def test_gaussian_kl_is_invariant_under_a_common_affine_map():
    rng = np.random.default_rng(5)
    A, b = rng.normal(size=(3, 3)) + 2 * np.eye(3), rng.normal(size=3)
    (m1, s1), (m2, s2) = (rng.normal(size=3), L3 @ L3.T), (rng.normal(size=3), np.eye(3) * 0.8)
    before = kl_divergence(MultivariateNormal(m1, s1), MultivariateNormal(m2, s2)).item()
    after = kl_divergence(MultivariateNormal(A @ m1 + b, A @ s1 @ A.T),
                          MultivariateNormal(A @ m2 + b, A @ s2 @ A.T)).item()
    assert after == pytest.approx(before, rel=1e-10)


def test_batches_broadcast():
    p = Normal(np.array([[0.0], [1.0], [2.0]]), 1.0)
    q = Normal(0.0, np.array([0.5, 1.0, 2.0, 4.0]))
    kl = kl_divergence(p, q).data
    assert kl.shape == (3, 4)
    assert kl[2, 1] == pytest.approx(kl_divergence(Normal(2.0, 1.0), Normal(0.0, 1.0)).item())
    batched = kl_divergence(MultivariateNormal(np.zeros((5, 2)), scale_tril=L2),
                            MultivariateNormal(np.ones(2), covariance_matrix=np.eye(2)))
    assert batched.shape == (5,)


def test_unregistered_pair_raises_naming_it_and_the_alternative():
    with pytest.raises(NotImplementedError) as info:
        kl_divergence(Normal(0.0, 1.0), Cauchy(0.0, 1.0))
    message = str(info.value)
    assert "KL(Normal || Cauchy)" in message
    assert "(Normal, Normal)" in message and "dpm.divergences.kl" in message


def test_dispatch_is_on_the_exact_pair_of_classes():
    class WideNormal(Normal):
        pass
    with pytest.raises(NotImplementedError, match="WideNormal"):
        kl_divergence(WideNormal(0.0, 1.0), Normal(0.0, 1.0))


def test_register_kl_adds_a_pair_and_refuses_duplicates():
    class Point(Normal):
        pass
    try:
        @register_kl(Point, Point)
        def kl_point_point(p, q):
            return mg.Tensor(0.0)
        assert kl_divergence(Point(0.0, 1.0), Point(1.0, 1.0)).item() == 0.0
        with pytest.raises(ValueError, match="already registered"):
            register_kl(Point, Point)(kl_point_point)
    finally:
        KL_REGISTRY.pop((Point, Point), None)
    with pytest.raises(TypeError, match="two classes"):
        register_kl(Normal, "Normal")
    assert dpm.kl_divergence is kl_divergence and dpm.register_kl is register_kl
