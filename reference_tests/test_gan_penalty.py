"""Gradient penalty, weight clipping and the Lipschitz estimate (G6, W2).

Oracles: critics with input gradients in closed form (linear, quadratic,
sin of a projection), central finite differences of the penalty in the
critic's parameters (the penalty's parameter gradient needs second-order
autodiff), and the exact Lipschitz constant of sin(<w, x>).
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor
from minigrad.nn import MLP
from dpm.models.gan import (
    clip_weights, gradient_penalty, input_gradient_norms, interpolates, lipschitz_estimate)


def eps_of(seed, m):
    return np.random.default_rng(seed).random((m, 1))


@pytest.mark.claim("G6")
def test_penalty_uses_per_sample_norms():
    """f(x) = sum_j a_j x_j^2: grad f(x_i) = 2 a * x_i, so each sample has its own norm."""
    rng = np.random.default_rng(0)
    a = np.array([0.5, 2.0, -1.0])
    real, fake = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))

    def critic(x):
        return (mg.square(x) * a).sum(axis=1)
    x_hat = eps_of(5, 7) * real + (1 - eps_of(5, 7)) * fake
    norms = np.linalg.norm(2 * a * x_hat, axis=1)
    np.testing.assert_allclose(interpolates(real, fake, np.random.default_rng(5)), x_hat)
    np.testing.assert_allclose(input_gradient_norms(critic, x_hat).data, norms, rtol=1e-12)
    penalty = gradient_penalty(critic, real, fake, np.random.default_rng(5))
    assert penalty.item() == pytest.approx(np.mean((norms - 1) ** 2), rel=1e-12)
    one_sided = gradient_penalty(critic, real, fake, np.random.default_rng(5), center=1.5,
                                 one_sided=True)
    assert one_sided.item() == pytest.approx(np.mean(np.maximum(norms - 1.5, 0) ** 2), rel=1e-12)
    assert 0 < (norms > 1.5).sum() < 7  # the one-sided case has both sides


@pytest.mark.claim("G6")
def test_penalty_of_unit_linear_critic_is_zero_not_the_batch_norm():
    """f(x) = <w, x> with ||w|| = 1 has every per-sample norm 1: penalty 0. One norm over a
    batch of m would be sqrt(m) and the penalty (sqrt(m) - 1)^2."""
    w = np.array([0.6, -0.8])
    rng = np.random.default_rng(1)
    penalty = gradient_penalty(lambda x: x @ w, rng.normal(size=(16, 2)),
                               rng.normal(size=(16, 2)), rng)
    assert penalty.item() == pytest.approx(0.0, abs=1e-24)


def functional_critic(weights, x):
    W1, b1, W2, b2 = weights
    return mg.tanh(x @ W1 + b1) @ W2 + b2


@pytest.mark.claim("G6", "A2")
@pytest.mark.parametrize("one_sided", [False, True])
def test_penalty_parameter_gradient_matches_finite_differences(one_sided):
    """d penalty / d theta needs grad_x f differentiated again in theta (create_graph)."""
    rng = np.random.default_rng(2)
    weights = [rng.normal(size=(2, 8)), rng.normal(size=8) * 0.5, rng.normal(size=(8, 1)),
               rng.normal(size=1)]
    real, fake = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    center = 1.0 if not one_sided else 1.3

    def penalty(W1, b1, W2, b2):
        return gradient_penalty(lambda x: functional_critic((W1, b1, W2, b2), x), real, fake,
                                np.random.default_rng(9), center=center, one_sided=one_sided)
    if one_sided:  # both branches of the max present, none at the kink
        norms = input_gradient_norms(lambda x: functional_critic(weights, x),
                                     interpolates(real, fake, np.random.default_rng(9))).data
        assert 0 < (norms > center).sum() < len(norms)
        assert np.min(np.abs(norms - center)) > 1e-3
    assert mg.gradcheck(penalty, weights, rtol=1e-5)
    # and the second derivatives of the critic itself in (x, theta)
    assert mg.gradgradcheck(lambda x, W1, b1, W2, b2:
                            functional_critic((W1, b1, W2, b2), x).sum(), [real] + weights)


@pytest.mark.claim("G6")
def test_penalty_gradient_reaches_mlp_parameters():
    critic = MLP([2, 16, 1], activation="tanh", rng=np.random.default_rng(3))
    rng = np.random.default_rng(4)
    penalty = gradient_penalty(critic, rng.normal(size=(8, 2)), rng.normal(size=(8, 2)), rng)
    penalty.backward()
    first = critic.layers[0]
    assert penalty.item() > 0
    assert np.any(first.weight.grad != 0) and np.any(first.bias.grad != 0)
    assert critic.layers[1].weight.grad is not None
    assert critic.layers[1].bias.grad is None  # the last bias does not move grad_x f


def test_penalty_norm_gradient_is_finite_at_a_flat_critic():
    """||grad f|| = 0 (a constant critic): the square root's derivative must not give NaN."""
    W = Tensor(np.zeros((2, 1)), requires_grad=True)
    penalty = gradient_penalty(lambda x: x @ W, np.ones((4, 2)), np.zeros((4, 2)),
                               np.random.default_rng(0))
    penalty.backward()
    assert penalty.item() == pytest.approx(1.0)
    assert np.all(np.isfinite(W.grad))


@pytest.mark.claim("G6")
def test_clip_weights_bounds_every_parameter():
    critic = MLP([2, 32, 1], rng=np.random.default_rng(5))
    before = [p.data.copy() for p in critic.parameters()]
    clip_weights(critic, 0.1)
    for old, p in zip(before, critic.parameters()):
        assert np.all(np.abs(p.data) <= 0.1)
        inside = np.abs(old) <= 0.1
        np.testing.assert_array_equal(p.data[inside], old[inside])
        np.testing.assert_array_equal(p.data[~inside], 0.1 * np.sign(old[~inside]))


@pytest.mark.claim("W2")
def test_lipschitz_estimate_is_a_tight_lower_bound():
    """sin(<w, x>) has Lipschitz constant ||w||, attained where cos = +-1."""
    w = np.array([1.2, -0.5])
    critic = lambda x: mg.sin(x @ w)  # noqa: E731
    points = np.random.default_rng(6).uniform(-3, 3, size=(2000, 2))
    estimate = lipschitz_estimate(critic, points, rng=np.random.default_rng(7), pairs=2000)
    assert estimate <= np.linalg.norm(w) + 1e-12
    assert estimate > 0.999 * np.linalg.norm(w)
    assert lipschitz_estimate(lambda x: x @ w, points[:5]) == pytest.approx(np.linalg.norm(w))


@pytest.mark.parametrize("call, match", [
    (lambda: gradient_penalty(lambda x: x.sum(axis=1), np.ones((3, 2)), np.ones((4, 2)),
                              np.random.default_rng(0)), "same shape"),
    (lambda: gradient_penalty(lambda x: x.sum(axis=1), np.ones((3, 2)), np.ones((3, 2)),
                              np.random.default_rng(0), center=-1.0), "center"),
    (lambda: gradient_penalty(lambda x: x, np.ones((3, 2)), np.ones((3, 2)),
                              np.random.default_rng(0)), "critic must map"),
    (lambda: clip_weights(MLP([2, 1], rng=np.random.default_rng(0)), 0.0), "c must"),
    (lambda: lipschitz_estimate(lambda x: x.sum(axis=1), np.ones((0, 2))), "points"),
])
def test_penalty_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
