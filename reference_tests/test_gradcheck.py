"""The checker checks: gradcheck and gradgradcheck fail on wrong rules (A1, A2).

A gradient test that cannot fail proves nothing. Here throwaway primitives
(built with ``Primitive(...)`` directly, so they never enter ``REGISTRY``)
carry deliberately wrong VJP rules:

- a first derivative wrong at one coordinate of one input: ``gradcheck``
  must raise ``GradcheckError`` naming that input, that index, and both the
  reverse-mode and the finite-difference value;
- a first derivative that is right but written with a constant where a
  differentiable expression belongs (``3 x^2`` frozen as an ndarray, or
  ``b`` frozen in d(ab)/da): ``gradcheck`` passes, ``gradgradcheck`` must
  raise, because the recorded backward pass has lost x.

The correct versions of the same primitives pass both.
"""
import re

import numpy as np
import pytest

import minigrad
from minigrad import GradcheckError, Tensor
from minigrad.ops import REGISTRY
from minigrad.ops.registry import Primitive, const_like

X = np.array([[0.3, -1.2, 0.8], [1.5, 0.6, -0.4]])
Y = np.array([[1.1, 0.2, -0.7], [-0.5, 0.9, 1.3]])
WRONG_AT = (1, 2)
OFFSET = 0.7


def _values(message):
    """The reverse-mode and finite-difference numbers named in a GradcheckError."""
    number = r"(?:np\.float64\()?([-+0-9.eE]+|nan|inf)\)?"
    match = re.search(rf"reverse-mode {number}, finite differences {number}", message)
    assert match, f"message does not name both values: {message}"
    return float(match.group(1)), float(match.group(2))


def make_cube(rule):
    prim = Primitive("test_cube", "test", lambda x: x ** 3)
    prim.defvjp(rule)
    return prim


def make_product(rule_a, rule_b):
    prim = Primitive("test_product", "test", np.multiply)
    prim.defvjp(rule_a, rule_b)
    return prim


# ---------------------------------------------------------------- first order
@pytest.mark.claim("A1")
def test_gradcheck_passes_on_a_correct_rule():
    cube = make_cube(lambda g, out, x: g * x * x * 3.0)   # d x^3 = 3 x^2
    assert minigrad.gradcheck(cube, [X]) is True
    assert "test_cube" not in REGISTRY


@pytest.mark.claim("A1")
def test_gradcheck_names_input_index_and_both_values_of_a_wrong_rule():
    seen = {}

    def wrong_b(g, out, a, b):
        seen["g"] = g.data.copy()
        mask = np.zeros(b.shape)
        mask[WRONG_AT] = OFFSET  # wrong by OFFSET at one coordinate of input 1 only
        return g * a + const_like(mask, g)

    product = make_product(lambda g, out, a, b: g * b, wrong_b)
    with pytest.raises(GradcheckError) as err:
        minigrad.gradcheck(product, [X, Y])
    message = str(err.value)
    assert "input 1" in message and f"index {WRONG_AT}" in message, message
    analytic, numeric = _values(message)
    true_value = seen["g"][WRONG_AT] * X[WRONG_AT]   # d<u, ab>/db = u a
    assert analytic == pytest.approx(true_value + OFFSET, rel=1e-12)
    assert numeric == pytest.approx(true_value, rel=1e-6, abs=1e-8)
    assert "test_product" not in REGISTRY


@pytest.mark.claim("A1")
def test_gradcheck_catches_a_wrong_factor_at_the_first_coordinate():
    cube = make_cube(lambda g, out, x: g * x * x * 2.0)   # wrong: 2 x^2 instead of 3 x^2
    with pytest.raises(GradcheckError, match=r"input 0 at index \(0, 0\)") as err:
        minigrad.gradcheck(cube, [X])
    analytic, numeric = _values(str(err.value))
    assert analytic / numeric == pytest.approx(2.0 / 3.0, rel=1e-6)


@pytest.mark.claim("A1")
def test_gradcheck_catches_a_rule_missing_the_upstream_gradient():
    # d x^3 = 3 x^2, but the chain-rule factor g is forgotten: right only when g = 1.
    cube = make_cube(lambda g, out, x: x * x * 3.0)
    # gradcheck contracts with a random upstream u (not ones), so this shows even for a sum.
    with pytest.raises(GradcheckError):
        minigrad.gradcheck(cube, [X])
    with pytest.raises(GradcheckError):
        minigrad.gradcheck(lambda x: cube(x).sum(), [X])


# --------------------------------------------------------------- second order
@pytest.mark.claim("A2")
def test_gradgradcheck_passes_on_differentiable_rules():
    cube = make_cube(lambda g, out, x: g * x * x * 3.0)
    product = make_product(lambda g, out, a, b: g * b, lambda g, out, a, b: g * a)
    assert minigrad.gradgradcheck(cube, [X]) is True
    assert minigrad.gradgradcheck(product, [X, Y]) is True


@pytest.mark.claim("A2")
def test_gradgradcheck_fails_when_the_rule_freezes_x_as_a_constant():
    cube = make_cube(lambda g, out, x: g * const_like(3.0 * x.data ** 2, g))
    assert minigrad.gradcheck(cube, [X]) is True  # the first derivative is right
    with pytest.raises(GradcheckError, match=r"input 0 at index \(0, 0\)") as err:
        minigrad.gradgradcheck(cube, [X])
    analytic, numeric = _values(str(err.value))
    assert analytic == 0.0 and abs(numeric) > 1e-3  # the graph lost x: no second derivative


@pytest.mark.claim("A2")
def test_gradgradcheck_fails_on_a_lost_mixed_partial():
    # d(ab)/da = b with b frozen: d^2(ab)/(da db) = 1 is lost.
    product = make_product(lambda g, out, a, b: g * const_like(b.data, g),
                           lambda g, out, a, b: g * a)
    assert minigrad.gradcheck(product, [X, Y]) is True
    with pytest.raises(GradcheckError, match=r"input 1 at index"):
        minigrad.gradgradcheck(product, [X, Y])


def test_gradcheck_accepts_tensors_and_a_single_array():
    assert minigrad.gradcheck(minigrad.exp, Tensor(X)) is True
    assert minigrad.gradcheck(lambda a, b: a * b, [Tensor(X), Y]) is True
