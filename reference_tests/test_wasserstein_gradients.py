"""W1 on the lecture's parallel lines and gradients through the sort (claim W3).

For {0} x U[0, 1] against {theta} x U[0, 1], W1 = |theta| with derivative
sign(theta), continuous as theta -> 0 where KL and JSD jump; checked with
minigrad Tensors through assignment_emd and wasserstein_1d, and against
central finite differences.
"""
from __future__ import annotations

import numpy as np
import pytest

from dpm.wasserstein import assignment_emd, wasserstein_1d


@pytest.mark.claim("W3")
@pytest.mark.parametrize("theta", [-0.7, -1e-3, 0.25, 2.0])
def test_parallel_lines_w1_is_abs_theta_with_gradient_sign(theta):
    minigrad = pytest.importorskip("minigrad")
    rng = np.random.default_rng(30)
    u = rng.random(200)
    shift = minigrad.Tensor(theta, requires_grad=True)
    data = np.stack([np.zeros_like(u), u], axis=1)                         # (0, U[0, 1])
    model = minigrad.Tensor(data) + shift * minigrad.Tensor([1.0, 0.0])   # (theta, U[0, 1])
    w1, matching = assignment_emd(data, model)
    w1.backward()
    np.testing.assert_allclose(w1.item(), abs(theta), rtol=1e-12)
    np.testing.assert_allclose(shift.grad, np.sign(theta), rtol=1e-12)
    # The first coordinates alone carry the whole distance (1-D path).
    shift.grad = None
    w1_line = wasserstein_1d(np.zeros(200), shift * minigrad.Tensor(np.ones(200)))
    w1_line.backward()
    np.testing.assert_allclose(w1_line.item(), abs(theta), rtol=1e-12)
    np.testing.assert_allclose(shift.grad, np.sign(theta), rtol=1e-12)


@pytest.mark.claim("W3")
def test_parallel_lines_w1_is_continuous_in_theta():
    # |theta| -> 0 as theta -> 0 (where KL = inf and JSD = log 2 stay put).
    u = np.random.default_rng(31).random(100)
    data = np.stack([np.zeros_like(u), u], axis=1)
    thetas = [1.0, 0.1, 1e-3, 1e-6, 0.0]
    values = [assignment_emd(data, data + [t, 0.0])[0] for t in thetas]
    np.testing.assert_allclose(values, thetas, rtol=1e-9, atol=1e-15)


@pytest.mark.claim("W3")
@pytest.mark.parametrize("p", [1, 2])
def test_wasserstein_1d_tensor_gradient_matches_finite_differences(p):
    minigrad = pytest.importorskip("minigrad")
    rng = np.random.default_rng(32 + p)
    x, y = rng.normal(size=12), rng.normal(0.3, 2.0, size=12)
    samples = minigrad.Tensor(x, requires_grad=True)
    wasserstein_1d(samples, y, p=p).backward()
    eps = 1e-6
    numeric = np.array([(wasserstein_1d(x + eps * e, y, p=p) - wasserstein_1d(x - eps * e, y, p=p)) / (2 * eps)
                        for e in np.eye(12)])
    np.testing.assert_allclose(samples.grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.claim("W3")
def test_w2_gradient_at_identical_samples_is_zero_not_nan():
    # #14.13: W_2 = sqrt(mean gap^2) has no derivative at gap 0; 0 is a valid
    # subgradient (W_2 >= 0 is at its minimum), and away from 0 it is the
    # analytic (x_(k) - y_(k)) / (n W_2).
    from minigrad import Tensor
    points = np.array([0.3, -1.2, 2.0, 0.7])
    x = Tensor(points.copy(), requires_grad=True)
    w2 = wasserstein_1d(x, points, p=2)
    w2.backward()
    assert float(w2) == 0.0 and np.all(x.grad == 0.0)
    x = Tensor(points + 0.5, requires_grad=True)
    w2 = wasserstein_1d(x, points, p=2)
    w2.backward()
    assert float(w2) == pytest.approx(0.5, rel=1e-14)
    np.testing.assert_allclose(x.grad, 0.5 / (4 * 0.5), rtol=1e-14)
