"""minigrad.kernels: logsumexp, softmax, log_softmax, their vjp and exp_poly (A3).

Oracles: scipy.special.logsumexp / softmax / log_softmax on ordinary inputs;
closed forms where scipy is not exact (lse([a, a]) = a + log 2,
lse([0, b]) = log1p(exp(b)) for tiny results); central finite differences for
the vjp; np.exp for exp_poly. Each check runs on the Numba path and on the
NumPy twin (imported directly: the switch is read once at import), and the two
are compared with each other. Inputs that must give -inf, 0 or NaN run under
np.errstate(all="raise") with warnings turned into errors.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import special

from minigrad import kernels
from minigrad._numba import NUMBA_ENABLED

INF, NAN = np.inf, np.nan
IMPLS = {
    "numba": (kernels.logsumexp_numba, kernels.softmax_numba, kernels.log_softmax_numba,
              kernels.logsumexp_backward_numba),
    "numpy": (kernels.logsumexp_numpy, kernels.softmax_numpy, kernels.log_softmax_numpy,
              kernels.logsumexp_backward_numpy),
}
IMPLS["numba-parallel"] = IMPLS["numba"]   # the same kernels, every input through prange
needs_numba = pytest.mark.skipif(not NUMBA_ENABLED, reason="Numba missing or disabled")
impl_param = pytest.mark.parametrize("impl", [pytest.param("numba", marks=needs_numba),
                                              pytest.param("numba-parallel", marks=needs_numba),
                                              "numpy"])


@pytest.fixture(autouse=True)
def kernel_path(request, monkeypatch):
    """Inputs below SERIAL_BELOW values take the one-thread kernels; the
    "numba-parallel" cases (and parallel=True) lower the threshold to 0 so the
    same inputs go through the parallel ones."""
    params = getattr(request.node, "callspec", None)
    params = params.params if params else {}
    if params.get("impl") == "numba-parallel" or params.get("parallel"):
        monkeypatch.setattr(kernels, "SERIAL_BELOW", 0)
B = kernels.BLOCK

# (shape, axis): 1-D, many short rows, few long rows (cut into segments), rows
# of exactly BLOCK and BLOCK + 1 values, lengths not a multiple of 4, 3-D on each axis.
CASES = [((1000,), None), ((50_000,), 0), ((3000, 8), 1), ((3000, 8), 0), ((2, 7001), -1),
         ((5, B), 1), ((5, B + 1), 1), ((40, 5), 1), ((4, 5, 6), 0), ((4, 5, 6), 1),
         ((4, 5, 6), 2), ((4, 5, 6), -1), ((4, 5, 6), None), ((600, 1), 1)]


@contextlib.contextmanager
def strict():
    """Any floating-point warning or RuntimeWarning becomes an error."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def random_input(shape, seed):
    return np.random.default_rng(seed).normal(size=shape) * 10.0


@pytest.mark.claim("A3")
@impl_param
@pytest.mark.parametrize("shape,axis", CASES)
def test_logsumexp_matches_scipy(impl, shape, axis):
    logsumexp = IMPLS[impl][0]
    x = random_input(shape, 1)
    for keepdims in (False, True):
        with strict():
            ours = logsumexp(x, axis=axis, keepdims=keepdims)
        expected = special.logsumexp(x, axis=axis, keepdims=keepdims)
        assert ours.shape == np.shape(expected) and ours.dtype == np.float64
        np.testing.assert_allclose(ours, expected, rtol=1e-14, atol=1e-14)


@pytest.mark.claim("A3")
@impl_param
@pytest.mark.parametrize("shape,axis", CASES)
def test_softmax_and_log_softmax_match_scipy(impl, shape, axis):
    _, softmax, log_softmax, _ = IMPLS[impl]
    x = random_input(shape, 2)
    with strict():
        ours = softmax(x, axis), log_softmax(x, axis)
    np.testing.assert_allclose(ours[0], special.softmax(x, axis=axis), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(ours[1], special.log_softmax(x, axis=axis), rtol=1e-14, atol=1e-14)


ADVERSARIAL = np.array([
    [1e308, 1e308, -INF, -INF], [-1e308, -1e308, -INF, -INF], [1e308, -1e308, 0, 1],
    [-INF, -INF, -INF, -INF], [-INF, 0.0, 0.0, -INF], [INF, 1.0, -INF, 2.0], [INF, INF, 0, 0],
    [NAN, 1.0, 2.0, 3.0], [1.0, NAN, INF, 0.0], [-INF, NAN, -INF, -INF], [INF, -INF, NAN, 0],
    [0.0, -40.0, -INF, -INF], [-800.0, -800.0, -INF, -INF], [1e-300, 2e-300, -1e-300, 0.0],
    [0.0, -745.0, -INF, -INF], [709.0, 709.5, -1e4, 3.0]])


def adversarial_expected():
    """Per row of ADVERSARIAL: logsumexp (closed forms), softmax and log_softmax.

    Rows with a finite maximum take scipy's max-shifted softmax; the rows with
    +-inf maxima or NaN are written out: x - lse and exp(x - lse) with
    inf - inf = NaN, and an all -inf row has softmax 0 and log_softmax -inf.
    """
    log2 = np.log(2.0)
    lse = np.array([1e308 + log2, -1e308 + log2, 1e308, -INF, log2, INF, INF, NAN, NAN, NAN,
                    NAN, np.log1p(np.exp(-40.0)), -800.0 + log2, np.log(4.0),
                    5e-324, 709.5 + np.log1p(np.exp(-0.5))])
    with np.errstate(all="ignore"):   # exp(-inf) and underflow inside the references
        soft = special.softmax(ADVERSARIAL, axis=1)
        log_soft = special.log_softmax(ADVERSARIAL, axis=1)
    soft[3], log_soft[3] = 0.0, -INF
    soft[5:7] = [[NAN, 0, 0, 0], [NAN, NAN, 0, 0]]
    log_soft[5:7] = [[NAN, -INF, -INF, -INF], [NAN, NAN, -INF, -INF]]
    soft[7:11] = log_soft[7:11] = NAN
    log_soft[11] = [-lse[11], -40.0 - lse[11], -INF, -INF]   # scipy rounds -4.2e-18 to 0
    log_soft[14] = [-5e-324, -745.0, -INF, -INF]
    assert np.all(soft[[0, 1, 12]] == [0.5, 0.5, 0, 0]) and np.all(soft[13] == 0.25)
    return lse, soft, log_soft


@pytest.mark.claim("A3")
@impl_param
def test_extremes_are_exact_and_silent(impl):
    logsumexp, softmax, log_softmax, _ = IMPLS[impl]
    lse, soft, log_soft = adversarial_expected()
    with strict():
        ours = logsumexp(ADVERSARIAL, axis=1), softmax(ADVERSARIAL, 1), log_softmax(ADVERSARIAL, 1)
    np.testing.assert_allclose(ours[0], lse, rtol=4e-16, atol=0)   # 5e-324 == 5e-324 exactly
    np.testing.assert_allclose(ours[1], soft, rtol=4e-16, atol=0)
    np.testing.assert_allclose(ours[2], log_soft, rtol=4e-16, atol=0)


@pytest.mark.claim("A3")
@impl_param
@pytest.mark.parametrize("fill", ["-inf", "nan_late", "inf_and_nan", "inf", "-inf_chunks"])
def test_long_rows_combine_chunks_exactly(impl, fill):
    """Rows longer than BLOCK are reduced in chunks and segments: specials anywhere."""
    logsumexp, softmax, _, _ = IMPLS[impl]
    x = random_input((2, 5 * B + 7), 3)
    if fill == "-inf":
        x[0] = -INF
        expected = [-INF, special.logsumexp(x[1])]
    elif fill == "nan_late":
        x[:, -3] = NAN
        expected = [NAN, NAN]
    elif fill == "inf_and_nan":
        x[0, 5], x[0, -2], x[1, 4 * B] = INF, NAN, INF
        expected = [NAN, INF]
    elif fill == "inf":
        x[:, 3 * B + 1] = INF
        expected = [INF, INF]
    else:                               # whole chunks of -inf before and after the values
        x[:, :2 * B] = -INF
        x[:, 4 * B:] = -INF
        expected = special.logsumexp(x, axis=1)
    with strict():
        ours, soft = logsumexp(x, axis=1), softmax(x, 1)
    np.testing.assert_allclose(ours, expected, rtol=1e-14)
    if fill == "-inf":
        assert np.all(soft[0] == 0.0) and np.isclose(soft[1].sum(), 1.0, rtol=1e-14)
    huge = np.full(10_000, 1e308)
    assert logsumexp(huge) == 1e308 + np.log(1e4)


@pytest.mark.claim("A3")
@needs_numba
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("shape,axis", CASES)
def test_numba_kernels_equal_numpy_twins(shape, axis, parallel):
    x = random_input(shape, 4)
    x.reshape(-1)[::7] = -INF
    softmax_axis = -1 if axis is None else axis
    for name in ("logsumexp", "softmax", "log_softmax"):
        numba_fn, numpy_fn = getattr(kernels, name + "_numba"), getattr(kernels, name + "_numpy")
        args = (axis,) if name == "logsumexp" else (softmax_axis,)
        np.testing.assert_allclose(numba_fn(x, *args), numpy_fn(x, *args), rtol=1e-15, atol=1e-15)
    adversarial = (IMPLS["numba"][k](ADVERSARIAL, axis=1) for k in range(3))
    for ours, twin in zip(adversarial, (IMPLS["numpy"][k](ADVERSARIAL, axis=1) for k in range(3))):
        np.testing.assert_array_equal(ours, twin)


@pytest.mark.claim("A3")
@impl_param
def test_float32_kept_and_correct(impl):
    logsumexp, softmax, log_softmax, backward = IMPLS[impl]
    x = random_input((300, 6), 5).astype(np.float32)
    x[0] = [3e38, 3e38, -3e38, -INF, 0, 1]
    expected = special.logsumexp(x.astype(np.float64), axis=1).astype(np.float32)
    with strict():
        results = [logsumexp(x, 1), softmax(x, 1), log_softmax(x, 1),
                   backward(x, expected, np.ones(300, np.float32), 1)]
    assert all(r.dtype == np.float32 for r in results)
    np.testing.assert_allclose(results[0], expected, rtol=1e-7)
    np.testing.assert_allclose(results[1], special.softmax(x.astype(np.float64), axis=1), atol=1e-7)
    np.testing.assert_array_equal(results[1], results[3])


@pytest.mark.claim("A3")
@impl_param
def test_empty_and_length_one_rows(impl):
    logsumexp, softmax, log_softmax, backward = IMPLS[impl]
    with strict():
        assert np.array_equal(logsumexp(np.zeros((3, 0)), axis=1), [-INF] * 3)   # empty sum is 0
        assert logsumexp(np.zeros((0, 5)), axis=1).shape == (0,)
        assert logsumexp(np.zeros((0, 3 * B)), axis=1).shape == (0,)
        assert softmax(np.zeros((3, 0)), 1).shape == (3, 0)
        assert backward(np.zeros((0, 5)), np.zeros(0), np.zeros(0), 1).shape == (0, 5)
        x = np.array([[2.5], [-INF], [1e308]])
        assert np.array_equal(logsumexp(x, axis=1), [2.5, -INF, 1e308])
        assert np.array_equal(softmax(x, 1), [[1.0], [0.0], [1.0]])
        assert np.array_equal(log_softmax(x, 1), [[0.0], [-INF], [0.0]])


@pytest.mark.claim("A3")
@impl_param
@pytest.mark.parametrize("shape,axis", [((7,), None), ((5, 6), 1), ((5, 6), 0), ((3, 4, 5), 1),
                                        ((2, 3000), 1), ((3, 4), None)])
def test_backward_matches_finite_differences(impl, shape, axis):
    """<vjp(g), v> equals d/dt <g, lse(x + t v)> at t = 0 by central differences."""
    logsumexp, _, _, backward = IMPLS[impl]
    rng = np.random.default_rng(6)
    x, v = rng.normal(size=shape) * 3, rng.normal(size=shape)
    lse = logsumexp(x, axis=axis)
    g = rng.normal(size=lse.shape)
    h = 1e-6 * (1 + np.abs(x).max())
    def along(t):
        return np.sum(g * logsumexp(x + t * v, axis=axis))
    fd = (along(h) - along(-h)) / (2 * h)
    grad = backward(x, lse, g, axis)
    assert grad.shape == x.shape
    assert np.isclose(np.sum(grad * v), fd, rtol=1e-7, atol=1e-8)
    kept = logsumexp(x, axis=axis, keepdims=True)   # keepdims-insensitive
    np.testing.assert_array_equal(backward(x, kept, g.reshape(kept.shape), axis), grad)


@pytest.mark.claim("A3")
@impl_param
@pytest.mark.parametrize("shape,axis", [c for c in CASES if c[1] is not None])
def test_backward_is_softmax_times_g(impl, shape, axis):
    logsumexp, _, _, backward = IMPLS[impl]
    x = random_input(shape, 7)
    x.reshape(-1)[::5] = -INF
    g = np.random.default_rng(8).normal(size=logsumexp(x, axis).shape)
    with np.errstate(invalid="ignore"):
        expected = np.expand_dims(g, axis) * special.softmax(x, axis=axis)
    dead_rows = np.all(x == -INF, axis=axis, keepdims=True)
    expected[np.broadcast_to(dead_rows, x.shape)] = 0.0   # scipy gives NaN there
    np.testing.assert_allclose(backward(x, logsumexp(x, axis), g, axis), expected,
                               rtol=1e-14, atol=1e-15)


@pytest.mark.claim("A3")
@impl_param
def test_backward_extremes(impl):
    """0 at -inf entries (even for an infinite g), 0 on all -inf rows, exact at 1e308."""
    logsumexp, _, _, backward = IMPLS[impl]
    x = np.array([[-INF, -INF, -INF], [-INF, 0.0, 0.0], [1e308, 1e308, -INF],
                  [-1e308, -INF, -1e308]])
    g = np.array([INF, 2.0, 4.0, 1.0])
    with strict():
        lse = logsumexp(x, axis=1)
        grad = backward(x, lse, g, 1)
        grad_all = backward(np.full((2, 3), -INF), np.full(2, -INF), np.ones(2), 1)
    np.testing.assert_array_equal(grad, [[0, 0, 0], [0, 1, 1], [2, 2, 0], [0.5, 0, 0.5]])
    np.testing.assert_array_equal(grad_all, np.zeros((2, 3)))


@impl_param
def test_bad_arguments_are_named(impl):
    logsumexp, softmax, _, backward = IMPLS[impl]
    with pytest.raises(ValueError, match=r"axis 2 is out of range for x of shape \(3, 4\)"):
        logsumexp(np.zeros((3, 4)), axis=2)
    with pytest.raises(ValueError, match="axis must be None or an int, got 1.0"):
        softmax(np.zeros(3), axis=1.0)
    with pytest.raises(ValueError, match="x must be a real array, got dtype complex128"):
        logsumexp(np.zeros(3, complex))
    with pytest.raises(ValueError, match=r"g has shape \(4,\); expected \(3,\) or \(3, 1\)"):
        backward(np.zeros((3, 4)), np.zeros(3), np.zeros(4), 1)


@pytest.mark.claim("A3")
@needs_numba
def test_exp_poly_within_two_ulp_of_np_exp():
    """The vectorizable exp: <= 2 ulp from np.exp for normal results, <= 2 steps when subnormal."""
    rng = np.random.default_rng(9)
    t = np.concatenate([np.linspace(-746, 710, 2_000_001), rng.uniform(-1, 1, 200_000),
                        rng.uniform(-745.2, -708, 200_000), -np.logspace(-300, 2.87, 10_000),
                        [0.0, -0.0, -745.13, -708.39, 709.78, 709.79, -746.0]])
    with np.errstate(all="ignore"):
        exact = np.exp(t)
    for ours in (kernels.exp_poly(t), kernels.exp_poly_numpy(t)):
        with np.errstate(invalid="ignore"):              # inf - inf where both overflow
            error = np.abs(ours - exact)
        normal = exact >= np.finfo(np.float64).tiny
        finite = np.isfinite(exact)
        assert np.all(error[normal & finite] <= 2 * np.spacing(exact[normal & finite]))
        assert np.all(error[~normal] <= 2 * 5e-324)
        assert np.array_equal(ours[~finite], exact[~finite])
    specials = kernels.exp_poly(np.array([-INF, INF, NAN, -1e300, 1e300, 0.0]))
    np.testing.assert_array_equal(specials, [0.0, INF, NAN, 0.0, INF, 1.0])


@pytest.mark.claim("A3")
@needs_numba
def test_log1p_poly_within_one_ulp_of_np_log1p():
    """The vectorizable log1p of logsumexp's R >= 0 (tiny R kept: log1p(R) = R)."""
    rng = np.random.default_rng(10)
    u = np.concatenate([rng.uniform(0, 1, 500_000), rng.uniform(0, 1e4, 200_000),
                        np.exp(rng.uniform(-745, 16, 500_000)),
                        [0.0, 5e-324, 1e-300, 4.2e-18, 1.0, 3.0, 1e7, np.sqrt(2) - 1, np.sqrt(0.5),
                         2 * np.sqrt(2) - 1]])
    exact = np.log1p(u)
    ours = kernels.log1p_poly(u)
    assert np.all(np.abs(ours - exact) <= np.spacing(exact))
    assert ours[u.size - 10] == 0.0 and ours[u.size - 9] == 5e-324


def test_public_names_dispatch_on_the_switch():
    for name in ("logsumexp", "softmax", "log_softmax", "logsumexp_backward"):
        chosen = getattr(kernels, name + ("_numba" if NUMBA_ENABLED else "_numpy"))
        assert getattr(kernels, name) is chosen


@pytest.mark.claim("A3")
def test_twins_run_when_numba_is_disabled():
    code = ("import numpy as np; from minigrad import kernels as k, _numba;"
            "assert not _numba.NUMBA_ENABLED and k.logsumexp is k.logsumexp_numpy;"
            "print(k.logsumexp(np.array([[-np.inf, -np.inf], [0.0, 0.0]]), axis=1).tolist())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MINIGRAD_DISABLE_NUMBA": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"[-inf, {float(np.log(2.0))!r}]"
