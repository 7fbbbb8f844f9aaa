"""The 1-D continuous families against scipy.stats, and their contract.

For every family and several parameter sets (scalars and broadcasting
arrays): log_prob, cdf, mean, variance and entropy equal scipy.stats';
sample and rsample follow the law (Kolmogorov-Smirnov, fixed seed,
p > 1e-3); gradients of log_prob match finite differences; points outside
the support give -inf with finite gradients and no warnings; bad
parameters raise ValueError naming the parameter; a seed reproduces draws.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import minigrad as mg
from dpm.distributions import Cauchy, Exponential, Gamma, Gumbel, Laplace, Normal, Uniform

# family -> (constructor, scipy frozen law, parameter sets, grid of x to evaluate)
FAMILIES = {
    "Normal": (Normal, lambda loc, scale: stats.norm(loc, scale),
               [dict(loc=0.0, scale=1.0), dict(loc=-1.5, scale=0.3),
                dict(loc=np.array([[0.0], [2.0]]), scale=np.array([0.5, 1.0, 3.0]))],
               np.linspace(-6, 6, 13)),
    "Uniform": (Uniform, lambda low, high: stats.uniform(low, high - low),
                [dict(low=0.0, high=1.0), dict(low=-2.0, high=3.5),
                 dict(low=np.array([[-1.0], [0.5]]), high=np.array([1.0, 2.0, 4.0]))],
                np.linspace(-3, 5, 17)),
    "Exponential": (Exponential, lambda rate: stats.expon(scale=1.0 / rate),
                    [dict(rate=1.0), dict(rate=0.2), dict(rate=np.array([[0.5], [3.0]]))],
                    np.linspace(-2, 10, 13)),
    "Cauchy": (Cauchy, lambda loc, scale: stats.cauchy(loc, scale),
               [dict(loc=0.0, scale=1.0), dict(loc=2.0, scale=0.1),
                dict(loc=np.array([[0.0], [-3.0]]), scale=np.array([0.5, 2.0, 10.0]))],
               np.linspace(-30, 30, 13)),
    "Laplace": (Laplace, lambda loc, scale: stats.laplace(loc, scale),
                [dict(loc=0.0, scale=1.0), dict(loc=1.2, scale=0.4),
                 dict(loc=np.array([[0.0], [-2.0]]), scale=np.array([0.5, 1.0, 3.0]))],
                np.linspace(-7, 7, 15)),
    "Gumbel": (Gumbel, lambda loc, scale: stats.gumbel_r(loc, scale),
               [dict(loc=0.0, scale=1.0), dict(loc=-1.0, scale=2.5),
                dict(loc=np.array([[0.0], [3.0]]), scale=np.array([0.5, 1.0, 3.0]))],
               np.linspace(-4, 12, 17)),
    "Gamma": (Gamma, lambda concentration, rate: stats.gamma(concentration, scale=1.0 / rate),
              [dict(concentration=1.0, rate=1.0), dict(concentration=0.5, rate=2.0),
               dict(concentration=np.array([[2.5], [7.0]]), rate=np.array([0.5, 1.0, 4.0]))],
              np.concatenate([[-1.0, 0.0], np.linspace(0.05, 15, 12)])),
}
CASES = [(name, i) for name, spec in FAMILIES.items() for i in range(len(spec[2]))]
IDS = [f"{name}-{i}" for name, i in CASES]


def family(name, i):
    cls, law, params, grid = FAMILIES[name]
    return cls(**params[i]), law(**params[i]), grid


def grid_for(dist, grid):
    """x of shape (len(grid), 1, ..., 1) so it broadcasts against the batch shape."""
    return grid.reshape((-1,) + (1,) * len(dist.batch_shape))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name,i", CASES, ids=IDS)
def test_log_prob_matches_scipy(name, i):
    dist, law, grid = family(name, i)
    x = grid_for(dist, grid)
    with np.errstate(divide="ignore"):
        expected = law.logpdf(x)
    ours = dist.log_prob(x).data
    assert ours.shape == expected.shape
    finite = np.isfinite(expected)
    np.testing.assert_allclose(ours[finite], expected[finite], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ours[~finite], expected[~finite])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name,i", CASES, ids=IDS)
def test_cdf_matches_scipy(name, i):
    dist, law, grid = family(name, i)
    x = grid_for(dist, grid)
    np.testing.assert_allclose(dist.cdf(x).data, law.cdf(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,i", CASES, ids=IDS)
def test_moments_and_entropy_match_scipy(name, i):
    dist, law, _ = family(name, i)
    shape = dist.batch_shape
    for ours, theirs in [(dist.mean, law.mean()), (dist.variance, law.var()),
                         (dist.entropy(), law.entropy())]:
        theirs = np.broadcast_to(theirs, shape)
        assert ours.shape == shape
        np.testing.assert_allclose(ours.data, theirs, rtol=1e-12, atol=1e-14)  # NaN == NaN


@pytest.mark.claim("M2")
@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize("method", ["sample", "rsample"])
def test_draws_follow_the_law_ks(name, method):
    cls, law, params, _ = FAMILIES[name]
    dist, frozen = cls(**params[1]), law(**params[1])
    if method == "rsample" and not dist.has_rsample:
        with pytest.raises(NotImplementedError, match="no reparameterized sampler"):
            dist.rsample((3,), np.random.default_rng(0))
        return
    draws = getattr(dist, method)((4000,), np.random.default_rng(20260))
    draws = draws.data if isinstance(draws, mg.Tensor) else draws
    assert draws.shape == (4000,)
    assert stats.kstest(draws, frozen.cdf).pvalue > 1e-3


@pytest.mark.parametrize("name", list(FAMILIES))
def test_draws_have_the_extended_shape_and_broadcast_batch(name):
    cls, law, params, _ = FAMILIES[name]
    dist = cls(**params[2])
    rng = np.random.default_rng(1)
    draws = dist.sample((5, 4), rng)
    assert isinstance(draws, np.ndarray) and draws.shape == (5, 4) + dist.batch_shape
    assert np.all(dist.support.contains(draws))
    assert dist.log_prob(draws).shape == (5, 4) + dist.batch_shape


@pytest.mark.parametrize("name", list(FAMILIES))
def test_same_seed_same_numbers(name):
    cls, _, params, _ = FAMILIES[name]
    dist = cls(**params[1])
    a = dist.sample((7,), np.random.default_rng(42))
    b = dist.sample((7,), np.random.default_rng(42))
    c = dist.sample((7,), np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    if dist.has_rsample:
        np.testing.assert_array_equal(dist.rsample((7,), np.random.default_rng(42)).data, a)


# In-support points away from kinks (Laplace's loc) and from the boundary.
GRADCHECK_X = {"Normal": [-1.3, 0.4, 2.0], "Uniform": [-1.5, 0.1, 3.0],
               "Exponential": [0.2, 1.0, 4.0], "Cauchy": [-3.0, 0.5, 7.0],
               "Laplace": [-2.0, 0.4, 3.0], "Gumbel": [-1.0, 0.5, 4.0],
               "Gamma": [0.3, 1.0, 4.0]}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_log_prob_gradcheck_in_parameters_and_x(name):
    cls, _, params, _ = FAMILIES[name]
    keys = list(params[1])
    values = [np.full(3, float(params[1][k])) for k in keys]
    x = np.array(GRADCHECK_X[name])

    def log_prob(*args):
        return cls(**dict(zip(keys, args[:-1]))).log_prob(args[-1])
    assert mg.gradcheck(log_prob, values + [x])


@pytest.mark.parametrize("name", ["Normal", "Cauchy", "Laplace", "Gumbel", "Uniform",
                                  "Exponential"])
def test_cdf_gradient_is_the_density(name):
    cls, law, params, _ = FAMILIES[name]
    dist = cls(**params[1])
    x = mg.Tensor(np.array(GRADCHECK_X[name]), requires_grad=True)
    dist.cdf(x).sum().backward()
    # d/dx F(x) = p(x), with p from scipy.stats (not our own log_prob)
    np.testing.assert_allclose(x.grad, law(**params[1]).pdf(x.data), rtol=1e-10)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name,outside", [("Uniform", [-5.0, 4.0]), ("Exponential", [-1.0, -1e300]),
                                          ("Gamma", [-0.5, -np.inf])])
def test_outside_support_is_neg_inf_with_finite_gradients(name, outside):
    cls, _, params, _ = FAMILIES[name]
    tensors = {k: mg.Tensor(float(v), requires_grad=True) for k, v in params[1].items()}
    x = mg.Tensor(np.array(GRADCHECK_X[name] + outside), requires_grad=True)
    log_p = cls(**tensors).log_prob(x)
    n_in = len(GRADCHECK_X[name])
    assert np.all(log_p.data[n_in:] == -np.inf)
    assert np.all(np.isfinite(log_p.data[:n_in]))
    # A loss over the in-support points: its gradient must not be poisoned by the others.
    mg.where(np.isfinite(log_p.data), log_p, 0.0).sum().backward()
    for t in list(tensors.values()):
        assert np.all(np.isfinite(t.grad))
    if x.grad is not None:  # Uniform's density does not depend on x: no gradient reaches it
        assert np.all(np.isfinite(x.grad)) and np.all(x.grad[n_in:] == 0.0)


@pytest.mark.filterwarnings("error")
def test_gamma_density_at_zero():
    # alpha < 1: density +inf at 0; alpha = 1: the rate; alpha > 1: 0.
    assert Gamma(0.5, 1.0).log_prob(0.0).item() == np.inf
    assert Gamma(1.0, 2.0).log_prob(0.0).item() == pytest.approx(np.log(2.0))
    assert Gamma(2.0, 1.0).log_prob(0.0).item() == -np.inf


@pytest.mark.filterwarnings("error")
def test_cauchy_far_tail_is_finite():
    x = 1e200
    assert Cauchy(0.0, 1.0).log_prob(x).item() == pytest.approx(-np.log(np.pi) - 2 * np.log(x))
    assert Cauchy(0.0, 1.0).cdf(x).item() == 1.0


def test_gradients_reach_tensor_parameters():
    scale = mg.Tensor(2.0, requires_grad=True)
    Normal(0.0, scale).entropy().backward()
    assert scale.grad == pytest.approx(0.5)  # dH/dsigma = 1/sigma
    rate = mg.Tensor(np.array([0.5, 2.0]), requires_grad=True)
    Exponential(rate).mean.sum().backward()
    np.testing.assert_allclose(rate.grad, -1.0 / np.array([0.5, 2.0]) ** 2)


def test_gamma_has_no_rsample_and_refuses_a_silent_cdf_gradient():
    assert not Gamma(2.0, 1.0).has_rsample
    alpha = mg.Tensor(2.0, requires_grad=True)
    with pytest.raises(NotImplementedError, match="not differentiable"):
        Gamma(alpha, 1.0).cdf(1.0)
    with mg.no_grad():
        assert Gamma(alpha, 1.0).cdf(1.0).item() == pytest.approx(stats.gamma(2.0).cdf(1.0))


BAD_PARAMETERS = [
    (Normal, dict(loc=0.0, scale=0.0), "scale"), (Normal, dict(loc=0.0, scale=-1.0), "scale"),
    (Normal, dict(loc=np.nan, scale=1.0), "loc"), (Normal, dict(loc=0.0, scale=np.inf), "scale"),
    (Uniform, dict(low=1.0, high=1.0), "low must be < high"),
    (Uniform, dict(low=np.array([0.0, 2.0]), high=1.0), "low must be < high"),
    (Uniform, dict(low=-np.inf, high=0.0), "low"),
    (Exponential, dict(rate=0.0), "rate"), (Exponential, dict(rate=-2.0), "rate"),
    (Cauchy, dict(loc=0.0, scale=-0.1), "scale"), (Laplace, dict(loc=0.0, scale=0.0), "scale"),
    (Gumbel, dict(loc=np.inf, scale=1.0), "loc"), (Gumbel, dict(loc=0.0, scale=-1.0), "scale"),
    (Gamma, dict(concentration=0.0, rate=1.0), "concentration"),
    (Gamma, dict(concentration=1.0, rate=-1.0), "rate"),
    (Normal, dict(loc=np.zeros(3), scale=np.ones(2)), "do not broadcast"),
]


@pytest.mark.parametrize("cls,kwargs,message", BAD_PARAMETERS,
                         ids=[f"{c.__name__}-{m}" for c, _, m in BAD_PARAMETERS])
def test_bad_parameters_raise_value_error_naming_them(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_bad_parameter_message_shows_the_value():
    with pytest.raises(ValueError, match=r"scale must be > 0, got -1\.5"):
        Normal(0.0, -1.5)


def test_rng_must_be_a_generator():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        Normal(0.0, 1.0).sample((3,), rng=123)
