"""minigrad.optim: each update rule against its formula written out by hand.

The objective is the quadratic f(p) = 1/2 sum_i a_i (p_i - c_i)^2, whose
gradient a (p - c) the references compute in NumPy directly (the optimizers
get theirs from minigrad's backward pass). The Numba Adam kernel is checked
against its NumPy twin; hyper-parameters, anomaly mode and edge cases are
checked for clear errors.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.kernels import adam as adam_kernels
from minigrad._numba import NUMBA_ENABLED
from minigrad.tensor import Tensor

CURVATURE = np.array([1.0, 10.0, 0.5])
CENTRE = np.array([1.0, -2.0, 3.0])
START = np.array([0.5, 1.5, -1.0])


def _quadratic_grad(p):
    return CURVATURE * (p - CENTRE)


def _run(optimizer_class, steps, **hyper):
    """Trajectory of an optimizer on the quadratic, gradients from backward()."""
    p = Tensor(START.copy(), requires_grad=True)
    optimizer = optimizer_class([p], **hyper)
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (mg.square(p - CENTRE) * CURVATURE).sum() * 0.5
        loss.backward()
        optimizer.step()
        path.append(p.data.copy())
    return np.array(path)


# ------------------------------------------------- the formulas, by hand
def _sgd_by_hand(steps, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    p, u, path = START.copy(), np.zeros(3), []
    for _ in range(steps):
        g = _quadratic_grad(p) + weight_decay * p
        u = momentum * u + g
        p = p - lr * ((g + momentum * u) if nesterov else u)
        path.append(p)
    return np.array(path)


def _adam_by_hand(steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    p, m, v, path = START.copy(), np.zeros(3), np.zeros(3), []
    beta1, beta2 = betas
    for t in range(1, steps + 1):
        g = _quadratic_grad(p) + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(p)
    return np.array(path)


def _rmsprop_by_hand(steps, lr, alpha=0.99, eps=1e-8, weight_decay=0.0):
    p, v, path = START.copy(), np.zeros(3), []
    for _ in range(steps):
        g = _quadratic_grad(p) + weight_decay * p
        v = alpha * v + (1 - alpha) * g ** 2
        p = p - lr * g / (np.sqrt(v) + eps)
        path.append(p)
    return np.array(path)


CASES = {
    "sgd": (optim.SGD, _sgd_by_hand, {"lr": 0.05}),
    "sgd_momentum": (optim.SGD, _sgd_by_hand, {"lr": 0.02, "momentum": 0.9}),
    "sgd_nesterov": (optim.SGD, _sgd_by_hand, {"lr": 0.02, "momentum": 0.8, "nesterov": True}),
    "sgd_weight_decay": (optim.SGD, _sgd_by_hand,
                         {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    "adam": (optim.Adam, _adam_by_hand, {"lr": 0.1}),
    "adam_betas_eps": (optim.Adam, _adam_by_hand, {"lr": 0.05, "betas": (0.5, 0.9),
                                                   "eps": 1e-3}),
    "adam_weight_decay": (optim.Adam, _adam_by_hand, {"lr": 0.05, "weight_decay": 0.2}),
    "rmsprop": (optim.RMSprop, _rmsprop_by_hand, {"lr": 0.01}),
    "rmsprop_alpha_eps": (optim.RMSprop, _rmsprop_by_hand,
                          {"lr": 0.02, "alpha": 0.5, "eps": 1e-2, "weight_decay": 0.1}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_optimizer_follows_its_update_formula(case):
    optimizer_class, by_hand, hyper = CASES[case]
    np.testing.assert_allclose(_run(optimizer_class, 25, **hyper), by_hand(25, **hyper),
                               rtol=1e-12, atol=1e-14)


def test_adam_numpy_twin_path_follows_the_formula(monkeypatch):
    monkeypatch.setattr(optim, "adam_update", adam_kernels.adam_update_numpy)
    np.testing.assert_allclose(_run(optim.Adam, 25, lr=0.1), _adam_by_hand(25, lr=0.1),
                               rtol=1e-12, atol=1e-14)


def test_adam_non_contiguous_parameter_is_updated_in_place():
    base = np.arange(6.0).reshape(2, 3)
    p = Tensor(np.zeros((3, 2)), requires_grad=True)
    p.data = base.T                             # a Fortran-ordered view (Tensor() would copy)
    optimizer = optim.Adam([p], lr=0.1)
    p.grad = np.ones((3, 2))
    optimizer.step()
    # first Adam step: lr * g / (|g| + eps) with bias correction
    np.testing.assert_allclose(base.T, np.arange(6.0).reshape(2, 3).T - 0.1 / (1 + 1e-8),
                               rtol=1e-15)


@pytest.mark.parametrize("size", [1, 7, 1000, 100_003])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_kernel_matches_numpy_twin(size, dtype):
    if size > 1000 and not NUMBA_ENABLED:
        pytest.skip("the kernel is a Python loop without Numba: too slow at this size")
    rng = np.random.default_rng(size)
    param = rng.normal(size=size).astype(dtype)
    m, v = np.zeros(size, dtype), np.zeros(size, dtype)
    twin = [param.copy(), m.copy(), v.copy()]
    for t in range(1, 4):
        grad = rng.normal(size=size).astype(dtype)
        hyper = (0.01, 0.9, 0.999, 1e-8, 1 - 0.9 ** t, 1 - 0.999 ** t, 0.01)
        adam_kernels.adam_update_numba(param, grad, m, v, *hyper)
        adam_kernels.adam_update_numpy(twin[0], grad, twin[1], twin[2], *hyper)
    # float32: the kernel computes in float64 and rounds once, the twin rounds after
    # every operation, so they differ by a few float32 ulps of the O(1) terms.
    rtol, atol = (1e-14, 1e-17) if dtype == np.float64 else (2e-6, 1e-6)
    for ours, theirs in zip([param, m, v], twin):
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


# ------------------------------------------------------------- behaviour
@pytest.mark.parametrize("case", ["sgd", "sgd_momentum", "adam", "rmsprop"])
def test_optimizer_converges_to_the_minimiser(case):
    optimizer_class, _, hyper = CASES[case]
    final = _run(optimizer_class, 3000, **hyper)[-1]
    np.testing.assert_allclose(final, CENTRE, rtol=0, atol=1e-9)


def test_sgd_momentum_sums_a_geometric_series_on_a_constant_gradient():
    # f(p) = <g, p>: with velocity u_k = sum_{j<k} mu^j g, after K steps
    # p_K = p_0 - lr g sum_{k=1}^{K} (1 - mu^k) / (1 - mu).
    g, lr, mu, steps = np.array([1.0, -2.0]), 0.1, 0.9, 30
    p = Tensor(np.zeros(2), requires_grad=True)
    optimizer = optim.SGD([p], lr=lr, momentum=mu)
    for _ in range(steps):
        optimizer.zero_grad()
        (p * g).sum().backward()
        optimizer.step()
    k = np.arange(1, steps + 1)
    np.testing.assert_allclose(p.data, -lr * g * np.sum((1 - mu ** k) / (1 - mu)), rtol=1e-13)


def test_sgd_momentum_is_faster_on_an_ill_conditioned_quadratic():
    # Curvatures 1 and 100 at lr = 0.01: plain descent shrinks the slow
    # coordinate by 0.99 a step; heavy ball (mu = 0.9) by sqrt(0.9) = 0.949.
    def steps_to_converge(momentum):
        p = Tensor(np.array([1.0, 1.0]), requires_grad=True)
        optimizer = optim.SGD([p], lr=0.01, momentum=momentum)
        for step in range(1, 5000):
            optimizer.zero_grad()
            (mg.square(p) * np.array([0.5, 50.0])).sum().backward()
            optimizer.step()
            if np.max(np.abs(p.data)) < 1e-6:
                return step
        return 5000

    plain, heavy_ball = steps_to_converge(0.0), steps_to_converge(0.9)
    assert heavy_ball < plain / 3, (heavy_ball, plain)


def test_optimizer_skips_parameters_without_gradient():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0]), requires_grad=True)
    optimizer = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    optimizer.step()
    assert b.grad is None and b.data[0] == 3.0 and optimizer.state[1] == {}
    optimizer.zero_grad()
    (b * 5.0).sum().backward()
    optimizer.step()  # b's first step: bias-corrected, so lr * g / (|g| + eps)
    np.testing.assert_allclose(b.data, [3.0 - 0.1 * 5.0 / (5.0 + 1e-8)], rtol=1e-15)
    assert optimizer.state[0]["step"] == 1 and optimizer.state[1]["step"] == 1


def test_optimizer_keeps_float32_and_accepts_a_module():
    model = nn.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float32)
    for optimizer in (optim.SGD(model, lr=0.1, momentum=0.5), optim.Adam(model),
                      optim.RMSprop(model)):
        optimizer.zero_grad()
        model(np.ones((4, 3), dtype=np.float32)).sum().backward()
        optimizer.step()
        assert all(p.dtype == np.float32 for p in model.parameters())
    assert optimizer.names == ["weight", "bias"]


# -------------------------------------------------------------- errors
@pytest.mark.parametrize("make, argument", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "lr"),
    (lambda ps: optim.SGD(ps, lr=float("nan")), "lr"),
    (lambda ps: optim.SGD(ps, lr="fast"), "lr"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=1.0), "momentum"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "momentum"),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1.0), "weight_decay"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "nesterov"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), "betas"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "betas"),
    (lambda ps: optim.Adam(ps, betas=0.9), "betas"),
    (lambda ps: optim.Adam(ps, eps=0.0), "eps"),
    (lambda ps: optim.Adam(ps, lr=float("inf")), "lr"),
    (lambda ps: optim.RMSprop(ps, alpha=1.0), "alpha"),
    (lambda ps: optim.RMSprop(ps, eps=-1e-8), "eps"),
])
def test_optimizer_rejects_bad_hyper_parameters(make, argument):
    with pytest.raises(ValueError, match=argument):
        make([Tensor(np.zeros(2), requires_grad=True)])


def test_optimizer_rejects_bad_parameter_lists():
    p = Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="listed twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        optim.SGD([Tensor(np.zeros(2))], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\] must be a Tensor"):
        optim.SGD([np.zeros(2)], lr=0.1)


def test_anomaly_mode_names_the_parameter_with_a_non_finite_gradient():
    model = nn.MLP([2, 3, 1], rng=np.random.default_rng(1))
    optimizer = optim.Adam(model.named_parameters(), lr=0.1)
    model(np.ones((1, 2))).sum().backward()
    model.layers[1].weight.grad[2, 0] = np.nan
    before = model.state_dict()
    with mg.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"parameter 2 \('layers\.1\.weight'\).*NaN"):
            optimizer.step()
    for name, array in model.state_dict().items():  # refused before any update
        np.testing.assert_array_equal(array, before[name])
    optimizer.step()                                 # opt-in: outside, NaN goes through
    assert np.isnan(model.layers[1].weight.data[2, 0])


def test_anomaly_mode_reports_an_update_that_overflows():
    p = Tensor(np.array([1e308, 0.0]), requires_grad=True)
    optimizer = optim.SGD([p], lr=1e10)
    p.grad = np.array([-1e300, 1.0])
    with mg.detect_anomaly(), np.errstate(over="ignore"):
        with pytest.raises(FloatingPointError, match=r"updated value of parameter 0.*inf.*lr"):
            optimizer.step()
