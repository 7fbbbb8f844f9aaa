"""K2: forward-KL fitting is maximum likelihood, and the familiar losses are NLLs.

KL(P_data || Q_theta) = -H(P_data) - E_data[log q_theta(x)], and H(P_data)
does not depend on theta, so minimising forward KL over theta is
maximising the average log-likelihood. For a fixed-scale Normal model that
is mean squared error, for a fixed-scale Laplace model mean absolute error
(Bernoulli and categorical models give BCE and cross-entropy: see
test_distributions_discrete.py). The optima are the sample mean and the
sample median, which the tests find from minigrad's gradients.
"""
import numpy as np
import pytest
from scipy import optimize

import minigrad as mg
from dpm.distributions import Laplace, Normal

RNG = np.random.default_rng(11)
DATA = RNG.standard_t(df=3, size=201) * 2.0 + 1.5   # heavy tails: mean and median differ


@pytest.mark.claim("K2")
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_normal_nll_is_scaled_mse_plus_a_constant(scale):
    loc = 0.7
    nll = -Normal(loc, scale).log_prob(DATA).mean().item()
    mse = np.mean((DATA - loc) ** 2)
    assert nll == pytest.approx(mse / (2 * scale**2) + 0.5 * np.log(2 * np.pi * scale**2),
                                rel=1e-12)


@pytest.mark.claim("K2")
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_laplace_nll_is_scaled_mae_plus_a_constant(scale):
    loc = -0.3
    nll = -Laplace(loc, scale).log_prob(DATA).mean().item()
    mae = np.mean(np.abs(DATA - loc))
    assert nll == pytest.approx(mae / scale + np.log(2 * scale), rel=1e-12)


def _fit_loc(family, start):
    """argmin over loc of the average NLL, with minigrad's gradient as the jacobian."""
    def nll(loc):
        return -family(loc, 1.0).log_prob(DATA).mean()

    def fun(theta):
        return nll(theta[0]).item()

    def jac(theta):
        loc = mg.Tensor(theta[0], requires_grad=True)
        nll(loc).backward()
        return np.array([loc.grad.item()])

    return optimize.minimize(fun, [start], jac=jac, method="BFGS").x[0]


@pytest.mark.claim("K2")
def test_forward_kl_fit_of_a_normal_location_is_the_sample_mean():
    assert _fit_loc(Normal, start=-3.0) == pytest.approx(DATA.mean(), abs=1e-6)


@pytest.mark.claim("K2")
def test_forward_kl_fit_of_a_laplace_location_is_the_sample_median():
    # The Laplace NLL is piecewise linear in loc: minimise it exactly over the
    # data points (the kinks), where the optimum of a sum of |x_i - loc| lies.
    nll = [-Laplace(x, 1.0).log_prob(DATA).mean().item() for x in DATA]
    assert DATA[int(np.argmin(nll))] == pytest.approx(np.median(DATA), abs=1e-12)
    # Its subgradient changes sign at the median: #(x > loc) - #(x < loc).
    median = np.median(DATA)
    for loc, sign in [(median - 1e-3, -1.0), (median + 1e-3, 1.0)]:
        t = mg.Tensor(loc, requires_grad=True)
        (-Laplace(t, 1.0).log_prob(DATA).sum()).backward()
        assert np.sign(t.grad.item()) == sign
        assert t.grad.item() == pytest.approx(np.sum(DATA < loc) - np.sum(DATA > loc))
