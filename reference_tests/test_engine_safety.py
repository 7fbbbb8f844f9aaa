"""Engine edge cases of issue 14: version counter, grad_outputs arrays, float32, checkpoints.

- 14.7: modifying ``Tensor.data`` between the forward and the backward pass
  raises (a version counter, as torch's), naming the primitive; optimizer
  steps mark their parameters modified, and the ordinary training loop
  (forward, backward, step) keeps working.
- 14.11: ``gradients(y, x, grad_outputs=ndarray)`` for one output reads the
  array as that output's upstream gradient, as a Tensor is read.
- 14.12: function-form ops with a Python number keep float32 float32.
- 14.14: an empty, truncated or corrupted checkpoint is a ValueError naming
  the file, and the parameters stay untouched.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor, nn, optim


# ------------------------------------------------------------- version counter
@pytest.mark.parametrize("modify", ["assign", "augmented"])
def test_data_modified_between_forward_and_backward_raises(modify):
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([3.0, -1.0]))                      # a constant read by mul's rule
    y = (x * w).sum()
    if modify == "assign":
        w.data = np.array([5.0, 5.0])
    else:
        w.data += 1.0
    with pytest.raises(RuntimeError, match=r"input 1.*'mul'.*modified in place"):
        y.backward()
    assert x.grad is None


def test_leaf_modified_after_forward_raises_and_a_fresh_forward_works():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = mg.exp(x).sum()
    x.data *= 2.0
    with pytest.raises(RuntimeError, match="'exp'.*modified in place"):
        y.backward()
    mg.exp(x).sum().backward()                             # recomputed: fine
    np.testing.assert_allclose(x.grad, np.exp([1.0, -2.0]))


def test_modification_before_the_forward_pass_is_allowed():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.data = np.array([3.0, 4.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 8.0])


def test_optimizer_steps_keep_working_and_mark_their_parameters():
    rng = np.random.default_rng(0)
    model = nn.MLP([3, 5, 1], rng=rng)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    x, target = Tensor(rng.normal(size=(8, 3))), Tensor(rng.normal(size=(8, 1)))
    losses = []
    for _ in range(30):                                    # the ordinary loop
        opt.zero_grad()
        loss = mg.square(model(x) - target).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0]
    stale = mg.square(model(x) - target).mean()            # forward, then a step, then backward
    stale.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        stale.backward()


def test_version_check_also_guards_create_graph_and_gradients():
    x = Tensor(np.array([0.3, 0.7]), requires_grad=True)
    y = (mg.sin(x) * x).sum()
    x.data = x.data + 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        mg.gradients(y, x, create_graph=True)


# -------------------------------------------------------------- grad_outputs
@pytest.mark.claim("A2")
def test_gradients_accepts_an_ndarray_upstream_for_one_output():
    x = Tensor(np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]]), requires_grad=True)
    y = mg.sin(x) * 3.0
    u = np.array([[1.0, -2.0, 0.5], [0.25, 4.0, -1.0]])
    from_array = mg.gradients(y, x, grad_outputs=u, retain_graph=True)
    from_tensor = mg.gradients(y, x, grad_outputs=Tensor(u), retain_graph=True)
    np.testing.assert_allclose(from_array.data, 3 * np.cos(x.data) * u, rtol=1e-15)
    np.testing.assert_array_equal(from_array.data, from_tensor.data)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        mg.gradients(y, x, grad_outputs=np.ones(3))
    two = mg.gradients([y.sum(), (x * x).sum()], x, grad_outputs=[np.array(2.0), None])
    np.testing.assert_allclose(two.data, 6 * np.cos(x.data) + 2 * x.data, rtol=1e-15)
    with pytest.raises(ValueError, match="grad_outputs has 1 entries for 2 outputs"):
        mg.gradients([y.sum(), (x * x).sum()], x, grad_outputs=[None])
    with pytest.raises(ValueError, match="must be a list or tuple"):
        mg.gradients([y], x, grad_outputs=u[:1])


# --------------------------------------------------------------- float32
@pytest.mark.parametrize("op", [
    lambda x: mg.where(x.data > 0, x, 0.0), lambda x: mg.where(x.data > 0, 1.0, x),
    lambda x: mg.maximum(x, 0.0), lambda x: mg.minimum(0, x), lambda x: mg.pow(x, 2.0),
    lambda x: mg.add(1.0, x), lambda x: mg.clip(x, -0.5, 0.5)])
def test_function_form_ops_with_python_numbers_keep_float32(op):
    x = Tensor(np.array([-1.0, 0.25, 2.0], dtype=np.float32), requires_grad=True)
    out = op(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_numbers_alone_and_arrays_keep_numpy_promotion():
    x32 = Tensor(np.ones(2, dtype=np.float32))
    assert mg.add(1.0, 2.0).dtype == np.float64
    assert mg.maximum(x32, np.zeros(2)).dtype == np.float64   # a float64 array promotes


# ------------------------------------------------------------- checkpoints
def _model():
    return nn.Linear(3, 2, rng=np.random.default_rng(11))


def _corruptions(tmp_path):
    good = tmp_path / "good.npz"
    _model().save(good)
    raw = good.read_bytes()
    cases = {"empty.npz": b"", "truncated.npz": raw[: len(raw) // 2],
             "garbage.npz": b"not a checkpoint at all\n" * 10}
    header = bytearray(raw)                                # break the first member's header
    header[:4] = b"XXXX"
    cases["bad_local_header.npz"] = bytes(header)
    npy_header = bytearray(raw)
    at = raw.index(b"\x93NUMPY")                           # break the .npy magic inside
    npy_header[at:at + 6] = b"\x00" * 6
    cases["bad_npy_header.npz"] = bytes(npy_header)
    paths = []
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        paths.append(path)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    return paths + [single]


def test_unreadable_checkpoints_raise_value_error_naming_the_file(tmp_path):
    model = _model()
    model.weight.data = model.weight.data * 0 + 7.0        # distinct from the saved values
    before = {k: v.copy() for k, v in model.state_dict().items()}
    for path in _corruptions(tmp_path):
        with pytest.raises(ValueError, match="cannot load checkpoint") as info:
            model.load(path)
        assert str(path) in str(info.value), info.value
        for name, value in model.state_dict().items():
            np.testing.assert_array_equal(value, before[name])


def test_missing_checkpoint_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        _model().load(tmp_path / "nope.npz")


# ------------------------------------------------ leaf gradients never alias
def test_leaf_gradients_share_memory_with_nothing():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    (x + y).sum().backward()                      # add's rule hands the same g to both
    assert not np.shares_memory(x.grad, y.grad)
    x.grad *= 10.0
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])
    seed = np.array([[0.5, 2.0]])
    z = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    mg.reshape(z, shape=(1, 2)).backward(seed)    # the leaf's gradient is a view of the seed
    assert not np.shares_memory(z.grad, seed)
    w = Tensor(np.zeros((4, 3)), requires_grad=True)
    mg.logsumexp(w, axis=1).sum().backward()      # the fused kernel's own array is kept
    np.testing.assert_allclose(w.grad, np.full((4, 3), 1 / 3), rtol=1e-15)
