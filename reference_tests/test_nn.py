"""minigrad.nn: parameter discovery, state dicts, checkpoints, layers, MLP gradients.

Oracles: forward passes written out in NumPy (and scipy.special.expit),
central finite differences (minigrad.gradcheck), the uniform init drawn
independently from the same seed, and the file system itself for the
atomic-save checks.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import special

import minigrad as mg
from minigrad import nn, optim
from minigrad.tensor import Tensor


def _param(shape, rng):
    return Tensor(rng.normal(size=shape), requires_grad=True)


class _Block(nn.Module):
    def __init__(self, rng):
        self.scale = _param((2,), rng)
        self.buffer = Tensor(np.ones(2))  # no requires_grad: not a parameter
        self.note = "not a parameter either"

    def forward(self, x):
        return x * self.scale


class _Net(nn.Module):
    def __init__(self, rng):
        self.head = _param((3,), rng)
        self.blocks = [_Block(rng), _Block(rng)]
        self.table = {"first": _param((1,), rng), "second": [_param((2, 2), rng)]}
        self.pair = (nn.Linear(2, 2, rng=rng), _param((), rng))


def _model_output(model, x):
    return model(Tensor(x)).data


# ---------------------------------------------------------------- discovery
def test_module_named_parameters_follow_attributes_lists_dicts_in_order():
    net = _Net(np.random.default_rng(0))
    names = [name for name, _ in net.named_parameters()]
    assert names == ["head", "blocks.0.scale", "blocks.1.scale", "table.first",
                     "table.second.0", "pair.0.weight", "pair.0.bias", "pair.1"]
    assert [p.shape for p in net.parameters()] == [(3,), (2,), (2,), (1,), (2, 2), (2, 2),
                                                  (2,), ()]
    assert all(p.requires_grad for p in net.parameters())


def test_module_shared_tensor_and_shared_module_listed_once():
    rng = np.random.default_rng(1)
    net = _Net(rng)
    net.tied = net.head                      # the same tensor under a second name
    net.blocks.append(net.blocks[0])         # the same module twice
    net.parent = net                         # a cycle must not loop forever
    names = [name for name, _ in net.named_parameters()]
    assert len(names) == len(set(id(p) for p in net.parameters())) == 8
    assert "tied" not in names and names[0] == "head"


def test_module_zero_grad_sets_none_and_train_eval_propagate():
    net = _Net(np.random.default_rng(2))
    loss = sum((p * p).sum() for p in net.parameters())
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.eval()
    assert not net.training and not net.blocks[1].training and not net.pair[0].training
    net.train()
    assert all(m.training for m in net.modules())


# -------------------------------------------------------------- state dicts
def test_module_state_dict_is_a_copy_and_round_trips():
    source = nn.MLP([3, 5, 2], rng=np.random.default_rng(3))
    target = nn.MLP([3, 5, 2], rng=np.random.default_rng(4))
    state = source.state_dict()
    assert list(state) == [name for name, _ in source.named_parameters()]
    state["layers.0.weight"] += 1.0          # a copy: the model is untouched
    assert not np.allclose(state["layers.0.weight"], source.layers[0].weight.data)
    arrays_before = [p.data for p in target.parameters()]
    target.load_state_dict(source.state_dict())
    x = np.random.default_rng(5).normal(size=(4, 3))
    np.testing.assert_array_equal(_model_output(target, x), _model_output(source, x))
    # loaded in place: an optimizer built before the load still sees the same arrays
    assert all(a is p.data for a, p in zip(arrays_before, target.parameters()))


def test_module_load_state_dict_lists_every_mismatch_and_changes_nothing():
    model = nn.MLP([3, 5, 2], rng=np.random.default_rng(6))
    before = model.state_dict()
    state = model.state_dict()
    del state["layers.1.bias"]
    state["layers.0.weight"] = np.zeros((5, 3))
    state["extra.weight"] = np.zeros(2)
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    for fragment in ("layers.1.bias", "extra.weight", "layers.0.weight", "(5, 3)", "(3, 5)"):
        assert fragment in message
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


# -------------------------------------------------------------- checkpoints
def test_module_save_load_round_trip_leaves_no_temporary_files(tmp_path):
    source = nn.MLP([2, 4, 3], activation="tanh", rng=np.random.default_rng(7))
    path = tmp_path / "model.npz"
    source.save(path)
    source.save(path)                        # overwriting an existing checkpoint
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]
    target = nn.MLP([2, 4, 3], activation="tanh", rng=np.random.default_rng(8)).load(path)
    for (name, p), (name_t, q) in zip(source.named_parameters(), target.named_parameters()):
        assert name == name_t
        np.testing.assert_array_equal(p.data, q.data)
    with np.load(path, allow_pickle=False) as archive:   # a plain .npz for any reader
        assert sorted(archive.files) == sorted(source.state_dict())


def test_module_interrupted_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    model = nn.Linear(3, 2, rng=np.random.default_rng(9))
    path = tmp_path / "ckpt.npz"
    model.save(path)
    old = model.state_dict()
    model.weight.data[...] = 123.0

    def crash(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        model.save(path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]
    restored = nn.Linear(3, 2, rng=np.random.default_rng(10)).load(path)
    np.testing.assert_array_equal(restored.weight.data, old["weight"])
    np.testing.assert_array_equal(restored.bias.data, old["bias"])


def test_module_load_refuses_pickled_object_arrays(tmp_path):
    path = tmp_path / "evil.npz"
    # An object array is stored as a pickle; unpickling could run arbitrary code.
    np.savez(path, weight=np.array([{"payload": 1}, None], dtype=object), bias=np.zeros(2))
    model = nn.Linear(3, 2, rng=np.random.default_rng(11))
    before = model.state_dict()
    with pytest.raises(ValueError, match="pickle"):
        model.load(path)
    np.testing.assert_array_equal(model.weight.data, before["weight"])


def test_module_load_rejects_mismatched_checkpoint(tmp_path):
    path = tmp_path / "small.npz"
    nn.MLP([3, 4, 2], rng=np.random.default_rng(12)).save(path)
    with pytest.raises(ValueError, match=r"layers\.0\.weight.*\(3, 4\).*\(3, 6\)"):
        nn.MLP([3, 6, 2], rng=np.random.default_rng(13)).load(path)


# ------------------------------------------------------------------ Linear
def test_linear_seeded_init_is_reproducible_and_uniform_in_bounds():
    a = nn.Linear(50, 30, rng=np.random.default_rng(14))
    b = nn.Linear(50, 30, rng=np.random.default_rng(14))
    c = nn.Linear(50, 30, rng=np.random.default_rng(15))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    bound = 1.0 / np.sqrt(50)
    rng = np.random.default_rng(14)          # the documented draw, made independently
    np.testing.assert_array_equal(a.weight.data, rng.uniform(-bound, bound, size=(50, 30)))
    np.testing.assert_array_equal(a.bias.data, rng.uniform(-bound, bound, size=30))
    assert a.weight.shape == (50, 30) and np.abs(a.weight.data).max() <= bound


def test_linear_forward_is_x_w_plus_b_for_any_leading_shape():
    layer = nn.Linear(4, 3, rng=np.random.default_rng(16))
    x = np.random.default_rng(17).normal(size=(2, 5, 4))
    expected = x @ layer.weight.data + layer.bias.data
    np.testing.assert_allclose(_model_output(layer, x), expected, rtol=1e-14)
    no_bias = nn.Linear(4, 3, bias=False, rng=np.random.default_rng(16))
    assert [n for n, _ in no_bias.named_parameters()] == ["weight"]
    np.testing.assert_allclose(_model_output(no_bias, x), x @ no_bias.weight.data, rtol=1e-14)
    assert nn.Linear(4, 3, dtype=np.float32, rng=np.random.default_rng(0)).weight.dtype == \
        np.float32


@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3), (True, 3), ("3", 3)])
def test_linear_rejects_bad_sizes(args):
    with pytest.raises(ValueError, match="features must be a positive integer"):
        nn.Linear(*args)


def test_linear_rejects_bad_rng_and_bad_input_shape():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        nn.Linear(2, 3, rng=42)
    layer = nn.Linear(4, 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\).*\(5, 2\)"):
        layer(np.zeros((5, 2)))


# --------------------------------------------------------------------- MLP
_NUMPY_ACTIVATIONS = {
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "sigmoid": special.expit,
    "leaky_relu": lambda h: np.where(h > 0, h, 0.01 * h),
    "softplus": lambda h: np.logaddexp(0.0, h),
    "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0.0))),
    "identity": lambda h: h,
}


@pytest.mark.parametrize("activation", sorted(_NUMPY_ACTIVATIONS))
def test_mlp_forward_matches_numpy(activation):
    model = nn.MLP([3, 6, 5, 2], activation=activation, rng=np.random.default_rng(18),
                   final_activation="sigmoid")
    x = np.random.default_rng(19).normal(size=(7, 3)) * 2.0
    act = _NUMPY_ACTIVATIONS[activation]
    h = x
    for k, layer in enumerate(model.layers):
        h = h @ layer.weight.data + layer.bias.data
        h = act(h) if k < 2 else special.expit(h)
    np.testing.assert_allclose(_model_output(model, x), h, rtol=1e-13, atol=1e-15)


def test_mlp_rejects_unknown_activation_listing_choices_and_bad_sizes():
    with pytest.raises(ValueError, match=r"relu.*got 'swish'") as info:
        nn.MLP([2, 3], activation="swish")
    assert all(name in str(info.value) for name in nn.ACTIVATIONS)
    with pytest.raises(ValueError, match="at least two"):
        nn.MLP([4])
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        nn.MLP([4, 0, 1])
    model = nn.MLP([2, 3, 1], activation=lambda h: h * h, rng=np.random.default_rng(0))
    assert model(np.ones((1, 2))).shape == (1, 1)


@pytest.mark.claim("A1")
@pytest.mark.parametrize("activation", ["tanh", "softplus", "elu", "relu"])
def test_mlp_gradients_match_finite_differences(activation):
    rng = np.random.default_rng(20)
    model = nn.MLP([3, 4, 2], activation=activation, rng=rng)
    x = rng.normal(size=(5, 3))
    assert mg.gradcheck(lambda inputs: model(inputs), [x])
    layer = model.layers[0]
    weight = layer.weight

    def output_as_function_of_weight(w):
        layer.weight = w
        try:
            return model(Tensor(x))
        finally:
            layer.weight = weight

    assert mg.gradcheck(output_as_function_of_weight, [weight.data])


@pytest.mark.claim("A2")
def test_mlp_second_derivatives_match_finite_differences():
    model = nn.MLP([2, 3, 1], activation="tanh", rng=np.random.default_rng(21))
    x = np.random.default_rng(22).normal(size=(4, 2))
    assert mg.gradgradcheck(lambda inputs: model(inputs), [x])


def test_elu_gradient_is_finite_where_expm1_would_overflow():
    x = Tensor(np.array([-3.0, 800.0]), requires_grad=True)
    nn.elu(x).sum().backward()
    np.testing.assert_allclose(x.grad, [np.exp(-3.0), 1.0], rtol=1e-15)


def test_sequential_composes_and_names_its_layers():
    rng = np.random.default_rng(23)
    model = nn.Sequential(nn.Linear(2, 3, rng=rng), mg.tanh, nn.Linear(3, 1, rng=rng))
    assert [n for n, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    x = rng.normal(size=(4, 2))
    first, last = model.layers[0], model.layers[2]
    expected = np.tanh(x @ first.weight.data + first.bias.data) @ last.weight.data \
        + last.bias.data
    np.testing.assert_allclose(_model_output(model, x), expected, rtol=1e-14)


def test_mlp_regression_trains_to_low_loss():
    rng = np.random.default_rng(24)
    x = np.linspace(-3.0, 3.0, 64).reshape(-1, 1)
    y = np.sin(x)
    model = nn.MLP([1, 32, 1], activation="tanh", rng=rng)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    for _ in range(600):
        optimizer.zero_grad()
        loss = mg.square(model(x) - y).mean()
        loss.backward()
        optimizer.step()
    # R^2 above 0.999: the residual is under a thousandth of the target's variance.
    assert mg.square(model(x) - y).mean().item() < 1e-3 * np.var(y)
