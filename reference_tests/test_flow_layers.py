"""Flow layers: exact inverses and log-determinants (N2), Jacobian structure (N3).

Oracles: the Jacobian by central differences in float64 (its slogdet beside
each layer's log|det J|, its zero pattern beside the claimed structure) and
the parameter gradient of log p by central differences along a random
direction. Every layer is built at random, non-identity parameters.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from dpm.models import flows as F

D = 5
H = 1e-6


def make_layer(cls, seed=0, dim=D):
    """A layer at random parameters, checked to be far from the identity."""
    rng = np.random.default_rng(seed)
    layer = cls(dim, rng=rng)
    if cls is F.ActNorm:
        layer.initialize(rng.normal(0.5, 2.0, size=(50, dim)) * rng.uniform(0.3, 3, dim))
    for p in layer.parameters():  # move every parameter off its initial value
        p.data[...] += 0.3 * rng.standard_normal(p.shape)
    return layer


def points(seed, n, dim=D):
    return np.random.default_rng(100 + seed).normal(size=(n, dim))


def numerical_jacobian(f, x):
    """J[i, j] = d f_i / d x_j by central differences, step H (1 + |x_j|)."""
    cols = []
    for j in range(x.size):
        step = H * (1.0 + abs(x[j]))
        e = np.zeros_like(x)
        e[j] = step
        cols.append((f(x + e) - f(x - e)) / (2 * step))
    return np.stack(cols, axis=1)


def value_of(fn):
    def f(x):
        with mg.no_grad():
            return fn(mg.Tensor(x[None]))[0].data[0]
    return f


@pytest.mark.claim("N2")
@pytest.mark.parametrize("cls", F.LAYERS, ids=lambda c: c.__name__)
def test_layer_is_not_the_identity(cls):
    layer = make_layer(cls)
    x = points(0, 20)
    y, _ = layer.forward(x)
    assert np.max(np.abs(y.data - x)) > 0.05


@pytest.mark.claim("N2")
@pytest.mark.parametrize("cls", F.LAYERS, ids=lambda c: c.__name__)
def test_layer_round_trips_both_ways(cls):
    layer = make_layer(cls, seed=1)
    x = points(1, 30)
    y, log_det = layer.forward(x)
    back, log_det_back = layer.inverse(y)
    np.testing.assert_allclose(back.data, x, atol=1e-10)
    np.testing.assert_allclose(log_det_back.data, -log_det.data, atol=1e-10)
    assert log_det.shape == (30,)
    y2 = points(2, 30)
    x2, log_det_inv = layer.inverse(y2)
    forth, log_det_fwd = layer.forward(x2)
    np.testing.assert_allclose(forth.data, y2, atol=1e-10)
    np.testing.assert_allclose(log_det_fwd.data, -log_det_inv.data, atol=1e-10)


@pytest.mark.claim("N2")
@pytest.mark.parametrize("cls", F.LAYERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("direction", ["forward", "inverse"])
def test_log_det_matches_numerical_jacobian(cls, direction):
    layer = make_layer(cls, seed=2)
    fn = getattr(layer, direction)
    for x in points(3, 4):
        jac = numerical_jacobian(value_of(fn), x)
        sign, logdet = np.linalg.slogdet(jac)
        with mg.no_grad():
            reported = fn(mg.Tensor(x[None]))[1].data[0]
        assert sign > 0 or cls is F.Permutation  # a permutation matrix may have det -1
        assert abs(reported - logdet) < 1e-6, (direction, reported, logdet)


@pytest.mark.claim("N2")
@pytest.mark.parametrize("cls", F.LAYERS, ids=lambda c: c.__name__)
def test_flow_log_prob_parameter_gradient_matches_central_differences(cls):
    """d/d theta of sum log p(y) through the inverse pass, along a random direction."""
    layer = make_layer(cls, seed=3)
    params = layer.parameters()
    if not params:
        pytest.skip("Permutation has no parameters")
    flow = F.Flow(F.standard_normal(D), [layer])
    y = points(4, 6)
    rng = np.random.default_rng(5)
    directions = [rng.standard_normal(p.shape) for p in params]

    def total(shift):
        for p, d in zip(params, directions):
            p.data += shift * d
        with mg.no_grad():
            value = flow.log_prob(y).sum().item()
        for p, d in zip(params, directions):
            p.data -= shift * d
        return value

    layer.zero_grad()
    flow.log_prob(y).sum().backward()
    analytic = sum(float(np.sum(p.grad * d)) for p, d in zip(params, directions))
    numeric = (total(1e-6) - total(-1e-6)) / 2e-6
    assert abs(analytic - numeric) <= 1e-5 * (1 + abs(numeric)), (analytic, numeric)


# ---------------------------------------------------------------- N3: structure
def jacobian_at(layer, seed=4):
    x = points(seed, 1)[0]
    return numerical_jacobian(value_of(layer.forward), x)


@pytest.mark.claim("N3")
@pytest.mark.parametrize("cls", [F.AdditiveCoupling, F.AffineCoupling])
@pytest.mark.parametrize("flip", [False, True])
def test_coupling_jacobian_is_block_triangular(cls, flip):
    layer = make_layer(lambda dim, rng: cls(dim, rng=rng, flip=flip))
    jac = jacobian_at(layer)
    first, second = np.arange(D) < D // 2, np.arange(D) >= D // 2
    kept, changed = (second, first) if flip else (first, second)
    np.testing.assert_allclose(jac[np.ix_(kept, kept)], np.eye(kept.sum()), atol=1e-8)
    np.testing.assert_allclose(jac[np.ix_(kept, changed)], 0.0, atol=1e-8)
    block = jac[np.ix_(changed, changed)]
    np.testing.assert_allclose(block - np.diag(np.diag(block)), 0.0, atol=1e-8)
    assert np.abs(jac[np.ix_(changed, kept)]).max() > 1e-3  # the coupling is really there
    if cls is F.AdditiveCoupling:
        np.testing.assert_allclose(np.diag(block), 1.0, atol=1e-8)


@pytest.mark.claim("N3")
@pytest.mark.parametrize("cls", [F.MAF, F.IAF])
def test_autoregressive_jacobian_is_triangular_in_its_order(cls):
    order = np.random.default_rng(9).permutation(D)
    layer = make_layer(lambda dim, rng: cls(dim, rng=rng, order=order))
    jac = jacobian_at(layer)
    later = order[None, :] > order[:, None]  # later[i, j]: x_j comes after x_i
    np.testing.assert_allclose(jac[later], 0.0, atol=1e-8)
    earlier = order[None, :] < order[:, None]
    assert np.all(np.abs(jac[earlier]) > 1e-6)  # every allowed dependence is present
    assert np.all(np.diag(jac) > 0)


@pytest.mark.claim("N3")
def test_planar_jacobian_is_identity_plus_rank_one():
    jac = jacobian_at(make_layer(F.Planar))
    singular = np.linalg.svd(jac - np.eye(D), compute_uv=False)
    assert singular[0] > 1e-3 and singular[1] < 1e-8


@pytest.mark.claim("N3")
def test_radial_jacobian_is_scaled_identity_plus_rank_one():
    layer = make_layer(F.Radial)
    x = points(4, 1)[0]
    jac = numerical_jacobian(value_of(layer.forward), x)
    alpha = np.logaddexp(0, layer.alpha_raw.data)
    beta = np.logaddexp(0, layer.beta_raw.data) - alpha
    r = np.linalg.norm(x - layer.z0.data)
    singular = np.linalg.svd(jac - (1 + beta / (alpha + r)) * np.eye(D), compute_uv=False)
    assert singular[0] > 1e-3 and singular[1] < 1e-8


@pytest.mark.claim("N3")
def test_permutation_and_actnorm_jacobians():
    perm = make_layer(F.Permutation)
    np.testing.assert_allclose(jacobian_at(perm), np.eye(D)[perm.permutation], atol=1e-8)
    act = make_layer(F.ActNorm)
    np.testing.assert_allclose(jacobian_at(act), np.diag(np.exp(act.log_scale.data)), atol=1e-8)


# ------------------------------------------------------------- contract, errors
@pytest.mark.parametrize("cls", F.LAYERS, ids=lambda c: c.__name__)
def test_layer_rejects_a_wrong_event_size(cls):
    layer = make_layer(cls)
    with pytest.raises(ValueError, match=r"\(\.\.\., 5\)"):
        layer.forward(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="dim"):
        cls(0, rng=np.random.default_rng(0))


def test_layers_keep_batch_shapes_and_float64():
    for cls in F.LAYERS:
        layer = make_layer(cls)
        y, log_det = layer.forward(np.zeros((2, 3, D)) + 0.1)
        assert y.shape == (2, 3, D) and log_det.shape == (2, 3) and y.dtype == np.float64


def test_bad_arguments_name_themselves():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="permutation"):
        F.Permutation(3, permutation=[0, 0, 1])
    with pytest.raises(ValueError, match="order"):
        F.MAF(3, rng=rng, order=[0, 2, 2])
    with pytest.raises(ValueError, match="scale_bound"):
        F.AffineCoupling(4, rng=rng, scale_bound=0)
    with pytest.raises(ValueError, match="base"):
        F.Flow(None, [F.Planar(3, rng=rng)])
    with pytest.raises(ValueError, match="dimension"):
        F.Flow(F.standard_normal(3), [F.Planar(4, rng=rng)])
    with pytest.raises(ValueError, match="ActNorm"):
        F.ActNorm(2).initialize(np.ones((5, 2)))


def test_actnorm_initialises_from_data_and_not_after_loading(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.normal([1.0, -2.0, 3.0], [0.5, 2.0, 4.0], size=(400, 3))
    layer = F.ActNorm(3)
    z, _ = layer.inverse(data)
    np.testing.assert_allclose(z.data.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.data.std(axis=0), 1.0, atol=1e-12)
    layer.save(tmp_path / "act.npz")
    fresh = F.ActNorm(3).load(tmp_path / "act.npz")
    z2, _ = fresh.inverse(data[:50] * 10)  # a loaded layer keeps its statistics
    np.testing.assert_allclose(z2.data, layer.inverse(data[:50] * 10)[0].data)


def test_flow_checkpoint_round_trip_keeps_actnorm_statistics(tmp_path):
    rng = np.random.default_rng(2)
    data = rng.normal(3.0, 2.0, size=(200, 2))
    flow = F.realnvp_flow(2, 2, (8,), rng=rng)
    expected = flow.log_prob(data).data  # initialises the ActNorm from the data
    flow.save(tmp_path / "flow.npz")
    fresh = F.realnvp_flow(2, 2, (8,), rng=np.random.default_rng(9)).load(tmp_path / "flow.npz")
    np.testing.assert_allclose(fresh.log_prob(data[:5] * 0.1).data,
                               flow.log_prob(data[:5] * 0.1).data)
    np.testing.assert_allclose(fresh.log_prob(data).data, expected)


def test_flow_samples_match_its_density():
    """E[y] and E[y y^T] over the flow's samples against the same moments of its density."""
    layers = [make_layer(lambda d, rng: F.AffineCoupling(d, (8,), rng=rng), dim=2),
              make_layer(F.Planar, seed=1, dim=2), make_layer(F.Radial, seed=2, dim=2)]
    flow = F.Flow(F.standard_normal(2), layers)
    draws = flow.sample((20000,), np.random.default_rng(6))
    box = (-10, 10, -10, 10)
    result = F.grid_integral(lambda p: flow.log_prob(p).data, box, 401, draws)
    assert abs(result.total - 1.0) <= result.bound + 5 * result.outside_stderr
    xs = np.linspace(-10, 10, 401)
    gx, gy = np.meshgrid(xs, xs)
    dens = np.exp(flow.log_prob(np.column_stack([gx.ravel(), gy.ravel()])).data).reshape(gx.shape)
    h = xs[1] - xs[0]
    for moment in (lambda a, b: a, lambda a, b: b, lambda a, b: a * a, lambda a, b: a * b):
        exact = F.evaluate.trapezoid_2d(moment(gx, gy) * dens, h, h)
        values = moment(draws[:, 0], draws[:, 1])
        assert abs(values.mean() - exact) <= 5 * values.std() / np.sqrt(len(values))


@pytest.mark.claim("N3")
@pytest.mark.parametrize("cls, one_pass", [(F.MAF, "inverse"), (F.IAF, "forward")])
def test_autoregressive_flows_need_one_pass_one_way_and_d_passes_the_other(cls, one_pass):
    layer = make_layer(cls)
    calls = []
    network = layer.net.forward
    layer.net.forward = lambda v: calls.append(1) or network(v)
    other = "forward" if one_pass == "inverse" else "inverse"
    getattr(layer, one_pass)(points(7, 10))
    assert len(calls) == 1
    calls.clear()
    getattr(layer, other)(points(7, 10))
    assert len(calls) == D
