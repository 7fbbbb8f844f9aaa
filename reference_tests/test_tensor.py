"""The Tensor of the contract (DESIGN.md): construction, dtypes, sugar, indexing, errors.

Oracles: NumPy on the same arrays for values, hand-derived derivatives for
gradients (d(2/t) = -2/t^2, d(2^t) = 2^t log 2, repeated indices add up).
"""
import numpy as np
import pytest

import minigrad
from minigrad import Tensor

A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
# An engine bug found here (since fixed): Tensor.reshape/.transpose passed shape/axes
# positionally, so the primitive took them for a second input. The method spellings
# below (METHODS, test_reshape_and_transpose_method_spellings_match_numpy) guard it.
def _grad(f, x):
    t = Tensor(x, requires_grad=True)
    f(t).sum().backward()
    return t.grad


# ----------------------------------------------------------------- construction
@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], 3, [1, 2], np.arange(4), [True, False],
                                  np.float16(0.5)])
def test_construction_gives_float64_unless_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float64 and isinstance(t.data, np.ndarray)
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))
    assert t.grad is None and not t.requires_grad


def test_float32_is_kept():
    t = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    assert t.dtype == np.float32 and Tensor(t).dtype == np.float32


@pytest.mark.parametrize("data", [np.array([1 + 2j]), 1j, np.array([object()], dtype=object),
                                  np.array(["a"])])
def test_non_real_data_is_rejected_with_type_error(data):
    with pytest.raises(TypeError, match="dtype"):
        Tensor(data)


def test_attributes():
    t = Tensor(A)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dtype == np.float64 and len(t) == 2
    np.testing.assert_array_equal(t.T.data, A.T)
    np.testing.assert_array_equal(_grad(lambda x: x.T * np.arange(6.0).reshape(3, 2), A),
                                  np.arange(6.0).reshape(3, 2).T)


# ----------------------------------------------------------------- operators
REFLECTED = [  # (f, f', name): scalars on both sides
    (lambda t: t + 2.0, lambda x: np.ones_like(x), "t+2"),
    (lambda t: 2.0 + t, lambda x: np.ones_like(x), "2+t"),
    (lambda t: t - 2.0, lambda x: np.ones_like(x), "t-2"),
    (lambda t: 2.0 - t, lambda x: -np.ones_like(x), "2-t"),
    (lambda t: 3 * t, lambda x: np.full_like(x, 3.0), "3*t"),
    (lambda t: t * 3, lambda x: np.full_like(x, 3.0), "t*3"),
    (lambda t: t / 4.0, lambda x: np.full_like(x, 0.25), "t/4"),
    (lambda t: 2.0 / t, lambda x: -2.0 / x ** 2, "2/t"),
    (lambda t: t ** 2, lambda x: 2 * x, "t**2"),
    (lambda t: 2.0 ** t, lambda x: 2.0 ** x * np.log(2.0), "2**t"),
    (lambda t: -t, lambda x: -np.ones_like(x), "-t"),
    (lambda t: abs(t), np.sign, "abs"),
]


@pytest.mark.parametrize("f,derivative,name", REFLECTED, ids=[r[2] for r in REFLECTED])
def test_operators_with_python_scalars_on_both_sides(f, derivative, name):
    with np.errstate(all="ignore"):  # the oracle evaluates f on plain arrays
        expected = f(A)
    np.testing.assert_allclose(f(Tensor(A)).data, expected)
    np.testing.assert_allclose(_grad(f, A), derivative(A))


def test_ndarray_on_the_left_gives_a_tensor():
    t = Tensor(A, requires_grad=True)
    results = [A + t, A - t, A * t, A / t, A ** Tensor(np.ones_like(A)), A.T @ t,
               np.float64(2.0) * t]
    assert all(type(r) is Tensor for r in results)
    for result, expected in zip(results, [A + A, A - A, A * A, A / A, A ** np.ones_like(A),
                                          A.T @ A, 2.0 * A]):
        np.testing.assert_allclose(result.data, expected, rtol=1e-15)
    (A * t).sum().backward()
    np.testing.assert_array_equal(t.grad, A)


def test_float32_stays_float32_with_python_scalars_and_in_gradients():
    x = np.array([0.5, 1.5, -0.25], dtype=np.float32)
    t = Tensor(x, requires_grad=True)
    outputs = [t + 1, 2.0 * t, t / 3.0, 1.0 - t, t ** 2, minigrad.exp(t),
               minigrad.sigmoid(t), minigrad.log_softmax(t, axis=-1), minigrad.erf(t), t.mean()]
    assert [o.dtype for o in outputs] == [np.float32] * len(outputs)
    sum(o.sum() for o in outputs).backward()
    assert t.grad.dtype == np.float32


def test_comparisons_give_boolean_ndarrays():
    t, u = Tensor(A), Tensor(np.zeros_like(A))
    for result, expected in [(t > 0, A > 0), (t <= 0.5, A <= 0.5), (t == u, A == 0),
                             (t != 1.5, A != 1.5), (t < u, A < 0), (t >= A, A >= A)]:
        assert type(result) is np.ndarray and result.dtype == bool
        np.testing.assert_array_equal(result, expected)


# ------------------------------------------------------------------- indexing
@pytest.mark.parametrize("index", [1, -1, (0, 2), (slice(None), 1), slice(None, None, -1),
                                   (Ellipsis, None, slice(1, 3)), [1, 0, 1],
                                   (np.array([0, 1, 1]), np.array([2, 0, 0]))],
                         ids=["int", "negative", "pair", "column", "reversed", "ellipsis-None",
                              "list", "arrays"])
def test_indexing_values_and_gradients(index):
    t = Tensor(A, requires_grad=True)
    np.testing.assert_array_equal(t[index].data, A[index])
    weights = np.random.default_rng(0).normal(size=np.shape(A[index]))
    (t[index] * Tensor(weights)).sum().backward()
    expected = np.zeros_like(A)
    np.add.at(expected, index if not isinstance(index, list) else np.array(index), weights)
    np.testing.assert_allclose(t.grad, expected)


def test_repeated_integer_indices_accumulate():
    t = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    t[np.array([2, 0, 2, 2])].sum().backward()
    np.testing.assert_array_equal(t.grad, [1.0, 0.0, 3.0])


def test_boolean_mask_indexing():
    t = Tensor(A, requires_grad=True)
    mask = A > 0
    np.testing.assert_array_equal(t[mask].data, A[mask])
    (t[t > 0] ** 2).sum().backward()
    np.testing.assert_allclose(t.grad, np.where(mask, 2 * A, 0.0))


def test_setitem_raises_type_error():
    t = Tensor(A)
    with pytest.raises(TypeError, match="immutable"):
        t[0, 0] = 1.0
    assert t.data[0, 0] == A[0, 0]


# ---------------------------------------------------------- conversion, methods
def test_item_numpy_detach():
    t = Tensor(A, requires_grad=True)
    assert Tensor([[2.5]]).item() == 2.5 and type(Tensor(2.5).item()) is float
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        t.item()
    assert type(t.numpy()) is np.ndarray and np.array_equal(t.numpy(), A)
    d = (t * 2.0).detach()
    assert not d.requires_grad and d.is_leaf and d.grad is None
    np.testing.assert_array_equal(d.data, 2 * A)
    with pytest.raises(RuntimeError):
        (d * 3.0).sum().backward()


def test_parameters_own_their_storage_and_constants_share_it():
    user = np.array([1.0, 2.0, 3.0])
    constant, parameter = Tensor(user), Tensor(user, requires_grad=True)
    assert np.shares_memory(constant.data, user)
    assert not np.shares_memory(parameter.data, user)
    again = Tensor(parameter, requires_grad=True)
    assert not np.shares_memory(again.data, parameter.data)
    (parameter * parameter).sum().backward()
    minigrad.optim.SGD([parameter], lr=0.5).step()          # in place on parameter.data
    np.testing.assert_array_equal(user, [1.0, 2.0, 3.0])     # the caller's array is untouched
    np.testing.assert_array_equal(parameter.data, [0.0, 0.0, 0.0])


METHODS = [
    (lambda t: t.sum(), lambda x: np.ones_like(x), "sum"),
    (lambda t: t.sum(axis=0, keepdims=True) * np.array([1.0, 2.0, 3.0]),
     lambda x: np.tile([1.0, 2.0, 3.0], (2, 1)), "sum-axis"),
    (lambda t: t.mean(), lambda x: np.full_like(x, 1 / x.size), "mean"),
    (lambda t: t.mean(axis=1) * np.array([1.0, -1.0]),
     lambda x: np.repeat([[1.0], [-1.0]], 3, axis=1) / 3, "mean-axis"),
    (lambda t: t.max(), lambda x: (x == x.max()).astype(float), "max"),
    (lambda t: t.max(axis=1), lambda x: (x == x.max(axis=1, keepdims=True)).astype(float),
     "max-axis"),
    (lambda t: t.reshape(3, 2) * np.arange(6.0).reshape(3, 2),
     lambda x: np.arange(6.0).reshape(2, 3), "reshape"),
    (lambda t: t.reshape((6,)) * np.arange(6.0), lambda x: np.arange(6.0).reshape(2, 3),
     "reshape-tuple"),
    (lambda t: t.transpose() * np.arange(6.0).reshape(3, 2),
     lambda x: np.arange(6.0).reshape(3, 2).T, "transpose"),
    (lambda t: t.reshape(1, 2, 3).transpose(2, 0, 1) * np.arange(6.0).reshape(3, 1, 2),
     lambda x: np.arange(6.0).reshape(3, 1, 2).transpose(1, 2, 0)[0], "transpose-axes"),
    (lambda t: t.exp(), np.exp, "exp"),
    (lambda t: (t * t + 1.0).log(), lambda x: 2 * x / (x * x + 1), "log"),
]


# The same expressions in NumPy, as the value oracle (the Tensor methods share
# NumPy's names except exp and log, spelled here as np.exp / np.log).
METHOD_VALUES = {
    "sum": lambda x: x.sum(),
    "sum-axis": lambda x: x.sum(axis=0, keepdims=True) * np.array([1.0, 2.0, 3.0]),
    "mean": lambda x: x.mean(),
    "mean-axis": lambda x: x.mean(axis=1) * np.array([1.0, -1.0]),
    "max": lambda x: x.max(),
    "max-axis": lambda x: x.max(axis=1),
    "reshape": lambda x: x.reshape(3, 2) * np.arange(6.0).reshape(3, 2),
    "reshape-tuple": lambda x: x.reshape((6,)) * np.arange(6.0),
    "transpose": lambda x: x.transpose() * np.arange(6.0).reshape(3, 2),
    "transpose-axes": lambda x: x.reshape(1, 2, 3).transpose(2, 0, 1)
    * np.arange(6.0).reshape(3, 1, 2),
    "exp": np.exp,
    "log": lambda x: np.log(x * x + 1.0),
}


@pytest.mark.parametrize("f,derivative,name", [
    pytest.param(*m, id=m[2]) for m in METHODS])
def test_methods_values_and_gradients(f, derivative, name):
    expected = METHOD_VALUES[name](A)
    value = f(Tensor(A)).data
    assert value.shape == np.shape(expected)
    np.testing.assert_allclose(value, expected, rtol=1e-14)
    np.testing.assert_allclose(_grad(f, A), derivative(A), rtol=1e-12)


def test_method_values_match_numpy():
    t = Tensor(A)
    np.testing.assert_allclose(t.sum().item(), A.sum())
    np.testing.assert_allclose(t.mean(axis=0).data, A.mean(axis=0))
    np.testing.assert_array_equal(t.max(axis=1, keepdims=True).data, A.max(axis=1, keepdims=True))
    np.testing.assert_allclose(t.exp().log().data, A, atol=1e-15)


def test_reshape_and_transpose_method_spellings_match_numpy():
    t = Tensor(A)
    for shape in [(3, 2), ((3, 2),), ([6],), (-1,), (1, -1)]:
        np.testing.assert_array_equal(t.reshape(*shape).data, A.reshape(*shape))
    for axes in [(), (1, 0), ((1, 0),)]:
        np.testing.assert_array_equal(t.transpose(*axes).data, A.transpose(*axes))


def test_max_splits_the_gradient_between_ties():
    np.testing.assert_array_equal(_grad(lambda t: t.max(), np.array([1.0, 3.0, 3.0])),
                                  [0.0, 0.5, 0.5])


# --------------------------------------------------------------------- errors
def test_shape_mismatch_errors_name_both_shapes():
    # NumPy spells shapes "(2,3)", we spell them "(2, 3)": accept both.
    with pytest.raises(ValueError, match=r"\(2, ?3\).*\(2, ?3\)"):
        Tensor(A) @ Tensor(A)
    with pytest.raises(ValueError, match=r"\(3, ?\).*\(4, ?\)"):
        Tensor(np.ones(3), requires_grad=True) + Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"\(2, ?3\).*\(2, ?\)"):
        Tensor(A) * np.ones(2)
    with pytest.raises(ValueError, match=r"\(2, ?3\).*\(4, ?\)"):
        minigrad.matmul(Tensor(A), Tensor(np.ones(4)))
