"""The speed paths of minigrad against the slow ones they replace (claim A1).

- Array rules (first-order backward passes on ndarrays) agree with the Tensor
  rules (used for higher order) on every example of every primitive that has
  them, so the finite-difference checks of each path cover the other.
- The fused primitives equal independent references: scipy.stats for the
  Bernoulli log-likelihood, dpm.kl's closed form and an exact series for the
  KL to N(0, I) (no cancellation near sigma = 1), matmul + add for affine.
- softplus as max(x, 0) + log1p(e^{-|x|}) equals np.logaddexp(0, x) to a few
  ulp over the whole float range, in both dtypes.
"""
import math
import warnings

import numpy as np
import pytest
from scipy import stats

import minigrad as mg
from minigrad import Tensor
from minigrad.ops import REGISTRY
from minigrad.ops.elementwise import softplus_array


def _array_rule_cases():
    cases = []
    for name, prim in REGISTRY.items():
        if prim.array_vjps is None and prim.array_vjp_joint is None:
            continue
        for k in range(len(prim.examples(np.random.default_rng(0)))):
            cases.append(pytest.param(name, k, id=f"{name}-{k}"))
    return cases


def test_the_hot_path_primitives_have_array_rules():
    names = {n for n, p in REGISTRY.items()
             if p.array_vjps is not None or p.array_vjp_joint is not None}
    assert {"add", "sub", "mul", "matmul", "affine", "affine_relu", "relu", "exp", "getitem",
            "mean", "sum", "bernoulli_log_prob", "normal_kl_standard", "reparameterize",
            "reshape", "sum_to"} <= names


@pytest.mark.claim("A1")
@pytest.mark.parametrize("name,k", _array_rule_cases())
def test_array_rules_equal_tensor_rules(name, k):
    prim = REGISTRY[name]
    args, kwargs = prim.examples(np.random.default_rng(0))[k]
    rng = np.random.default_rng(1)
    for dtype in (np.float64, np.float32):
        xs = [Tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in args]
        out = prim(*xs, **kwargs)
        u = Tensor(rng.normal(size=out.shape).astype(dtype))
        fast = mg.gradients(out, xs, grad_outputs=u, retain_graph=True)        # array rules
        slow = mg.gradients(out, xs, grad_outputs=u, create_graph=True)        # Tensor rules
        for i, (a, b) in enumerate(zip(fast, slow)):
            assert a.dtype == b.dtype == dtype and a.shape == xs[i].shape, (name, i, dtype)
            np.testing.assert_allclose(a.data, b.data, rtol=1e-12 if dtype == np.float64
                                       else 1e-6, atol=0, err_msg=f"{name} input {i}")


@pytest.mark.claim("A1")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softplus_equals_logaddexp_to_a_few_ulp(dtype):
    x = np.concatenate([np.linspace(-100, 100, 20001), [-1e30, -745.0, -1e-30, 0.0, 1e-30, 1e30]])
    x = x.astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = softplus_array(x)
    reference = np.logaddexp(dtype(0), x)
    assert ours.dtype == dtype
    ulp = np.spacing(np.maximum(np.abs(reference), np.finfo(dtype).tiny))
    assert np.max(np.abs(ours - reference) / ulp) <= 4
    assert np.all(softplus_array(np.array([np.inf, -np.inf], dtype=dtype)) == [np.inf, 0.0])


@pytest.mark.claim("A1")
def test_bernoulli_log_prob_equals_scipy_and_is_finite_at_extreme_logits():
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.normal(size=(6, 30)) * 4, np.full((1, 30), -800.0),
                        np.full((1, 30), 800.0)])
    x = (rng.random((8, 30)) < 0.4) * 1.0
    reference = stats.bernoulli.logpmf(x[:6], 1 / (1 + np.exp(-t[:6]))).sum(axis=-1)
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = mg.bernoulli_log_prob(Tensor(t), Tensor(x)).data
    np.testing.assert_allclose(ours[:6], reference, rtol=1e-12)
    # log sigmoid(+-800) is exact: 0 for the matching pixel, -800 for the other
    np.testing.assert_allclose(ours[6:], [-800.0 * x[6].sum(), -800.0 * (1 - x[7]).sum()])
    # broadcasting a (k, B, d) stack of logits against x (B, d), as the VAE's k draws do
    stack = mg.bernoulli_log_prob(Tensor(np.stack([t[:6], -t[:6]])), Tensor(x[:6])).data
    np.testing.assert_allclose(stack[0], reference, rtol=1e-12)


@pytest.mark.claim("A1")
def test_normal_kl_standard_equals_the_closed_form_and_never_cancels():
    from dpm.distributions import DiagonalNormal
    from dpm.kl import kl_divergence
    rng = np.random.default_rng(4)
    mu, l = rng.normal(size=(5, 7)), rng.normal(size=(5, 7)) * 0.7
    generic = kl_divergence(DiagonalNormal(mu, np.exp(l)), DiagonalNormal(np.zeros(7),
                                                                           np.ones(7))).data
    np.testing.assert_allclose(mg.normal_kl_standard(Tensor(mu), Tensor(l)).data, generic,
                               rtol=1e-12)
    # mu = 0, sigma = e^l near 1: KL = 1/2 sum_{k>=2} (2l)^k / k!, an exact series here
    for l0 in (1e-9, -1e-6, 3e-3, -0.049, 0.2):
        series = 0.5 * math.fsum((2 * l0) ** k / math.factorial(k) for k in range(2, 40))
        ours = mg.normal_kl_standard(Tensor(np.zeros(1)), Tensor(np.array([l0]))).item()
        assert ours > 0 and ours == pytest.approx(series, rel=1e-14), l0


@pytest.mark.claim("A1")
def test_affine_equals_matmul_plus_bias_and_linear_uses_it():
    rng = np.random.default_rng(5)
    for dtype in (np.float64, np.float32):
        x = rng.normal(size=(2, 6, 4)).astype(dtype)
        layer = mg.nn.Linear(4, 3, rng=np.random.default_rng(0), dtype=dtype)
        y = layer(Tensor(x))
        assert y.dtype == dtype and y._node[0] is REGISTRY["affine"]
        np.testing.assert_allclose(y.data, x @ layer.weight.data + layer.bias.data,
                                   rtol=1e-12 if dtype == np.float64 else 1e-6)
        y.sum().backward()
        np.testing.assert_allclose(layer.bias.grad, np.full(3, 12.0))
        np.testing.assert_allclose(layer.weight.grad,
                                   np.broadcast_to(x.reshape(-1, 4).sum(0)[:, None], (4, 3)),
                                   rtol=1e-12 if dtype == np.float64 else 1e-5)
    with pytest.raises(ValueError, match="bias"):
        mg.affine(Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4))), Tensor(np.ones(3)))


@pytest.mark.claim("A1")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_rule_kernels_equal_their_numpy_twins(dtype):
    from minigrad.kernels import fused as kernels
    rng = np.random.default_rng(6)
    x = rng.normal(size=(64, 33)).astype(dtype)
    x[0, :4] = [0.0, -0.0, np.nan, np.inf]           # relu' is 0 at 0 and at NaN, 1 at inf
    g = rng.normal(size=x.shape).astype(dtype)
    fast, twin = kernels.relu_grad_numba(g, x), kernels.relu_grad_numpy(g, x)
    assert fast.dtype == twin.dtype == dtype
    np.testing.assert_array_equal(fast, twin)
    np.testing.assert_array_equal(fast[0, :4], [0.0, 0.0, 0.0, g[0, 3]])
    # the KL's rows: the series (|2l| < 0.1), the direct form, and the boundary between
    mu = rng.normal(size=(64, 9)).astype(dtype)
    log_scale = np.concatenate([rng.uniform(-0.06, 0.06, size=(32, 9)),
                                rng.normal(size=(31, 9)) * 2,
                                np.full((1, 9), 0.05)]).astype(dtype)
    fast = kernels.normal_kl_standard_numba(mu, log_scale)
    twin = kernels.normal_kl_standard_numpy(mu, log_scale)
    assert fast.dtype == twin.dtype == dtype and fast.shape == (64,)
    np.testing.assert_allclose(fast, twin, rtol=1e-13 if dtype == np.float64 else 1e-6)
    # the dispatcher takes the twin for broadcast or strided operands, with the same values
    np.testing.assert_allclose(kernels.normal_kl_standard(mu, log_scale[0]),
                               kernels.normal_kl_standard_numpy(mu, log_scale[0]), rtol=1e-13)
    np.testing.assert_array_equal(kernels.relu_grad(g.T, x.T), kernels.relu_grad_numpy(g.T, x.T))


@pytest.mark.claim("A1")
def test_sequential_and_mlp_fuse_linear_and_relu_with_the_same_values_and_gradients():
    rng = np.random.default_rng(7)
    first, second = (mg.nn.Linear(5, 4, rng=np.random.default_rng(1)),
                     mg.nn.Linear(4, 3, rng=np.random.default_rng(2)))
    x = rng.normal(size=(6, 5))
    fused = mg.nn.Sequential(first, mg.relu, second)(Tensor(x))
    assert fused._node[1][0]._node[0] is REGISTRY["affine_relu"]      # one node for both
    fused.sum().backward()
    grads = [p.grad.copy() for p in (first.weight, first.bias, second.weight, second.bias)]
    for p in (first.weight, first.bias, second.weight, second.bias):
        p.grad = None
    hidden = mg.relu(mg.affine(Tensor(x), first.weight, first.bias))   # the composition
    plain = mg.affine(hidden, second.weight, second.bias)
    plain.sum().backward()
    np.testing.assert_allclose(fused.data, plain.data, rtol=1e-15, atol=0)
    for g, p in zip(grads, (first.weight, first.bias, second.weight, second.bias)):
        np.testing.assert_allclose(g, p.grad, rtol=1e-13, atol=1e-15)
    mlp = mg.nn.MLP([5, 4, 3], rng=np.random.default_rng(3))
    out = mlp(Tensor(x))
    assert out._node[1][0]._node[0] is REGISTRY["affine_relu"]
    expected = np.maximum(x @ mlp.layers[0].weight.data + mlp.layers[0].bias.data, 0.0)
    np.testing.assert_allclose(out.data, expected @ mlp.layers[1].weight.data
                               + mlp.layers[1].bias.data, rtol=1e-13)


def test_a_joint_rule_is_asked_only_for_the_wanted_gradients():
    rng = np.random.default_rng(8)
    x = Tensor(rng.normal(size=(5, 4)))                          # a constant input
    weight = Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    bias = Tensor(rng.normal(size=3), requires_grad=True)
    prim, asked = REGISTRY["affine_relu"], []
    rule = prim.array_vjp_joint

    def spy(g, out, wanted, *arrays):
        asked.append(list(wanted))
        return rule(g, out, wanted, *arrays)
    prim.array_vjp_joint = spy
    try:
        out = mg.affine_relu(x, weight, bias)
        (only_weight,) = mg.gradients(out.sum(), [weight], retain_graph=True)
        both = mg.gradients(out.sum(), [weight, bias])
    finally:
        prim.array_vjp_joint = rule
    assert asked == [[False, True, False], [False, True, True]]
    mask = (x.data @ weight.data + bias.data > 0) * 1.0
    np.testing.assert_allclose(only_weight.data, x.data.T @ mask, rtol=1e-14)
    np.testing.assert_allclose(both[0].data, only_weight.data, rtol=0)
    np.testing.assert_allclose(both[1].data, mask.sum(axis=0), rtol=1e-14)
