"""Broadcasting gradients are summed back to each input's shape (claim A4).

For z = op(a, b) with NumPy broadcasting and an upstream gradient u of z's
shape, the gradient of <u, z> with respect to a is

    grad_a[j] = sum over output indices i that read a[j] of u[i] * dz_i/da_j,

i.e. a sum over the prepended axes and over the axes where a has size 1.
The oracle below computes that sum by visiting every output index in a
Python loop (no sum_to, no keepdims tricks), and ``gradcheck`` compares with
central finite differences as well. Shape pairs are drawn with a fixed seed
and checked to include prepended dims and size-1 dims on both sides.
"""
import zlib

import numpy as np
import pytest

import minigrad
from minigrad import Tensor
from minigrad.ops import REGISTRY

RULES = {  # op: (forward on Tensors, dz/da, dz/db) pointwise on broadcast arrays
    "add": (lambda a, b, c: a + b, lambda a, b, c: 1.0, lambda a, b, c: 1.0),
    "sub": (lambda a, b, c: a - b, lambda a, b, c: 1.0, lambda a, b, c: -1.0),
    "mul": (lambda a, b, c: a * b, lambda a, b, c: b, lambda a, b, c: a),
    "div": (lambda a, b, c: a / b, lambda a, b, c: 1 / b, lambda a, b, c: -a / b ** 2),
    "pow": (lambda a, b, c: a ** b, lambda a, b, c: b * a ** (b - 1),
            lambda a, b, c: a ** b * np.log(a)),
    "maximum": (lambda a, b, c: minigrad.maximum(a, b), lambda a, b, c: float(a > b),
                lambda a, b, c: float(b > a)),
    "minimum": (lambda a, b, c: minigrad.minimum(a, b), lambda a, b, c: float(a < b),
                lambda a, b, c: float(b < a)),
    "where": (lambda a, b, c: minigrad.where(c, a, b), lambda a, b, c: float(c),
              lambda a, b, c: float(not c)),
}


def broadcast_pairs(seed=11, count=14):
    """Shape pairs that broadcast: dims dropped in front or set to 1, either side."""
    rng = np.random.default_rng(seed)
    pairs = [((), (2, 3)), ((2, 3), ())]  # scalars on each side, always
    while len(pairs) < count:
        full = tuple(int(n) for n in rng.integers(2, 5, size=rng.integers(2, 5)))
        shapes = []
        for _ in range(2):
            shape = full[rng.integers(1, len(full)):] if rng.random() < 0.5 else full
            shapes.append(tuple(1 if rng.random() < 0.35 else n for n in shape))
        pairs.append(tuple(shapes))
    return pairs


PAIRS = broadcast_pairs()


def test_every_binary_elementwise_primitive_is_covered():
    binary = {n for n, p in REGISTRY.items()
              if p.family == "elementwise" and p.vjps and not p.variadic and len(p.vjps) == 2}
    assert binary == set(RULES), f"add broadcasting rules for {sorted(binary - set(RULES))}"


def test_shape_pairs_cover_prepended_and_size_one_dims_on_both_sides():
    def features(mine, other):
        return (len(mine) < len(other),
                any(n == 1 and m > 1 for n, m in zip(mine[::-1], other[::-1])))
    for side in (0, 1):
        found = [features(p[side], p[1 - side]) for p in PAIRS]
        assert any(f[0] for f in found) and any(f[1] for f in found), side


def _inputs(name, rng, sa, sb):
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    if name == "div":
        b = np.sign(b) * (0.5 + np.abs(b))
    if name == "pow":
        a = 0.5 + np.abs(a)
    if name in ("maximum", "minimum"):  # no ties within a finite-difference step
        while np.min(np.abs(np.subtract(a, b))) < 0.05:
            a = rng.normal(size=sa)
    return a, b


def _summed_back(shape, out_shape, values):
    """sum of values[i] over the output indices i that read element j of an input."""
    total = np.zeros(shape)
    lead = len(out_shape) - len(shape)
    for i in np.ndindex(*out_shape):
        j = tuple(0 if n == 1 else k for k, n in zip(i[lead:], shape))
        total[j] += values[i]
    return total


@pytest.mark.claim("A4")
@pytest.mark.parametrize("name", RULES)
@pytest.mark.parametrize("sa,sb", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_binary_gradients_are_summed_to_input_shapes(name, sa, sb):
    rng = np.random.default_rng(zlib.crc32(repr((name, sa, sb)).encode()))  # fixed per case
    forward, d_a, d_b = RULES[name]
    a, b = _inputs(name, rng, sa, sb)
    out_shape = np.broadcast_shapes(sa, sb)
    condition = rng.random(out_shape) < 0.5
    u = rng.normal(size=out_shape)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    (forward(ta, tb, condition) * Tensor(u)).sum().backward()
    assert ta.grad.shape == sa and tb.grad.shape == sb
    A, B = np.broadcast_to(a, out_shape), np.broadcast_to(b, out_shape)
    local_a = np.vectorize(d_a, otypes=[float])(A, B, condition)
    local_b = np.vectorize(d_b, otypes=[float])(A, B, condition)
    np.testing.assert_allclose(ta.grad, _summed_back(sa, out_shape, u * local_a), rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(tb.grad, _summed_back(sb, out_shape, u * local_b), rtol=1e-12,
                               atol=1e-14)
    assert minigrad.gradcheck(lambda x, y: forward(x, y, condition), [a, b])


@pytest.mark.claim("A4")
def test_matmul_batch_broadcasting_gradients():
    rng = np.random.default_rng(12)
    a, b = rng.normal(size=(2, 1, 3, 4)), rng.normal(size=(5, 4, 2))
    u = rng.normal(size=(2, 5, 3, 2))
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    ((ta @ tb) * Tensor(u)).sum().backward()
    grad_a, grad_b = np.zeros_like(a), np.zeros_like(b)
    for i in range(2):
        for k in range(5):  # batch (i, k) reads a[i, 0] and b[k]
            grad_a[i, 0] += u[i, k] @ b[k].T
            grad_b[k] += a[i, 0].T @ u[i, k]
    np.testing.assert_allclose(ta.grad, grad_a, rtol=1e-12)
    np.testing.assert_allclose(tb.grad, grad_b, rtol=1e-12)
    assert minigrad.gradcheck(lambda x, y: x @ y, [a[:, :, :2, :2], b[:2, :2, :]])


@pytest.mark.claim("A4")
def test_three_inputs_of_different_shapes_through_a_composite():
    rng = np.random.default_rng(13)
    a, b, c = rng.normal(size=(3, 1)), rng.uniform(0.5, 1.5, (4,)), rng.normal(size=(2, 1, 1))
    condition = rng.random((2, 3, 4)) < 0.5

    def f(x, y, z):
        return minigrad.where(condition, x * y, x / y) + minigrad.exp(z) * x - z * y

    assert minigrad.gradcheck(f, [a, b, c])
    ta, tb, tc = (Tensor(v, requires_grad=True) for v in (a, b, c))
    f(ta, tb, tc).sum().backward()
    assert (ta.grad.shape, tb.grad.shape, tc.grad.shape) == ((3, 1), (4,), (2, 1, 1))


@pytest.mark.claim("A4")
def test_constants_on_either_side_and_float32_keep_shape_and_dtype():
    x = Tensor(np.ones((1, 3), dtype=np.float32), requires_grad=True)
    (np.arange(6.0, dtype=np.float32).reshape(6, 1, 1) * x + 2.0 - x / 4.0).sum().backward()
    assert x.grad.shape == (1, 3) and x.grad.dtype == np.float32
    # sum_k k = 15 from the product, and -1/4 from each of the 6 broadcast copies of x / 4
    np.testing.assert_allclose(x.grad, np.full((1, 3), 15.0 - 6 * 0.25))
