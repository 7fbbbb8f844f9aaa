"""Fused primitives: a few compositions the models run every step, as one op each.

Each is a plain composition of other primitives, written as one forward on
ndarrays (fewer temporaries, one dispatch instead of several) with its own
VJP rules, themselves made of primitives (so second order works as for every
other op). They exist for speed only; their values are the compositions'.

    affine(x, W, b)              = x W + b                       (nn.Linear)
        dx = G W^T,  dW = x^T G (summed over x's leading axes),  db = G (summed to b)
    bernoulli_log_prob(t, x)     = sum_j x_j t_j - softplus(t_j)  (over the last axis)
        dt = g (x - sigmoid(t)),  dx = g t
    normal_kl_standard(mu, l)    = 1/2 sum_j e^{2 l_j} - 1 - 2 l_j + mu_j^2
                                 = KL(N(mu, diag(e^{2 l})) || N(0, I))  (over the last axis)
        dmu = g mu,  dl = g (e^{2 l} - 1) = g expm1(2 l)

``bernoulli_log_prob`` is the log-likelihood of independent Bernoulli pixels
x in {0, 1} with logits t (for x in [0, 1], minus the binary cross-entropy);
``normal_kl_standard`` takes the log standard deviation l, so there is no
log(exp) round trip, and forms e^{2l} - 1 - 2l without cancellation near
l = 0 (a series for |2l| < 0.1), so it is never negative.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad.ops.elementwise import expm1, sigmoid, softplus_array
from scipy import special

from minigrad.ops.linalg import _matmul_vjp_a, _matmul_vjp_b, matmul_grad_a, matmul_grad_b
from minigrad.ops.registry import primitive
from minigrad.ops.shape import reshape


def _last_axis(g):
    """Upstream gradient of a sum over the last axis, with that axis put back (size 1)."""
    return reshape(g, shape=g.shape + (1,))


# ------------------------------------------------------------------ affine
def _affine_examples(rng):
    return [((rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(2,))), {}),
            ((rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(5,))), {}),
            ((rng.normal(size=(4,)), rng.normal(size=(4, 2)), rng.normal(size=(2,))), {})]


@primitive("affine", "fused", _affine_examples)
def affine(x, weight, bias):
    """x W + b for x of shape (..., n), W (n, m), b (m,): the affine map of ``nn.Linear``."""
    if x.ndim == 0 or weight.ndim != 2 or bias.shape != weight.shape[-1:]:
        raise ValueError(f"affine needs x (..., n), weight (n, m) and bias (m,), got shapes "
                         f"{x.shape}, {weight.shape}, {bias.shape}")
    if x.shape[-1] != weight.shape[0]:
        raise ValueError(f"affine shapes {x.shape} and {weight.shape} do not align: "
                         f"{x.shape[-1]} != {weight.shape[0]}")
    out = np.matmul(x, weight)
    if np.result_type(out, bias) == out.dtype:
        out += bias          # in place: no second (batch, m) temporary
        return out
    return out + bias


affine.defvjp(lambda g, out, x, weight, bias: _matmul_vjp_a(g, out, x, weight),
              lambda g, out, x, weight, bias: _matmul_vjp_b(g, out, x, weight),
              lambda g, out, x, weight, bias: g)   # the engine sums g to b's shape
affine.defvjp_arrays(lambda g, out, x, weight, bias: matmul_grad_a(g, out, x, weight),
                     lambda g, out, x, weight, bias: matmul_grad_b(g, out, x, weight),
                     lambda g, out, x, weight, bias: g.reshape(-1, g.shape[-1]).sum(axis=0))


# -------------------------------------------------------- Bernoulli logits
def _bernoulli_examples(rng):
    return [((rng.normal(size=(3, 4)) * 2.0, rng.uniform(size=(3, 4))), {}),
            ((rng.normal(size=(2, 3, 4)) * 2.0, (rng.uniform(size=(3, 4)) < 0.5) * 1.0), {}),
            ((rng.normal(size=(5,)) * 2.0, rng.uniform(size=(5,))), {})]


@primitive("bernoulli_log_prob", "fused", _bernoulli_examples)
def bernoulli_log_prob(logits, x):
    """sum_j x_j t_j - softplus(t_j) over the last axis (t = logits; x, t broadcast)."""
    if logits.ndim == 0 and x.ndim == 0:
        raise ValueError("bernoulli_log_prob needs arrays with a last (event) axis, got "
                         "two scalars")
    value = np.multiply(x, logits)
    penalty = softplus_array(logits)
    if value.shape == penalty.shape and value.dtype == penalty.dtype:
        value -= penalty
    else:
        value = value - penalty
    return value.sum(axis=-1)


bernoulli_log_prob.defvjp(
    lambda g, out, logits, x: _last_axis(g) * (x - sigmoid(logits)),   # d/dt = x - sigmoid(t)
    lambda g, out, logits, x: _last_axis(g) * logits)                  # d/dx = t
bernoulli_log_prob.defvjp_arrays(
    lambda g, out, logits, x: g[..., None] * (x - special.expit(logits)),
    lambda g, out, logits, x: g[..., None] * logits)


# ------------------------------------------------ KL to the standard normal
def _kl_examples(rng):
    return [((rng.normal(size=(3, 4)), rng.normal(size=(3, 4)) * 0.5), {}),
            ((rng.normal(size=(5,)), rng.uniform(-0.04, 0.04, size=(5,))), {}),
            ((rng.normal(size=(2, 3)), rng.normal(size=(3,)) * 0.5), {})]


_INVERSE_FACTORIALS = [1.0 / math.factorial(k) for k in range(13)]


def expm1_minus_x_array(t):
    """e^t - 1 - t on an ndarray, without cancellation: t^2 sum_{k>=2} t^(k-2)/k! for |t| < 0.1."""
    direct = np.expm1(t) - t
    small = np.abs(t) < 0.1
    if not small.any():
        return direct
    series = np.full(np.shape(t), _INVERSE_FACTORIALS[12], dtype=direct.dtype)
    for k in range(11, 1, -1):
        series = series * t + _INVERSE_FACTORIALS[k]
    return np.where(small, series * t * t, direct).astype(direct.dtype, copy=False)


@primitive("normal_kl_standard", "fused", _kl_examples)
def normal_kl_standard(loc, log_scale):
    """KL(N(loc, diag(e^{2 log_scale})) || N(0, I)), summed over the last axis."""
    if loc.ndim == 0 and log_scale.ndim == 0:
        raise ValueError("normal_kl_standard needs arrays with a last (event) axis, got "
                         "two scalars")
    return 0.5 * np.sum(expm1_minus_x_array(2.0 * log_scale) + loc * loc, axis=-1)


normal_kl_standard.defvjp(
    lambda g, out, loc, log_scale: _last_axis(g) * loc,                     # d/dmu = mu
    lambda g, out, loc, log_scale: _last_axis(g) * expm1(log_scale * 2.0))  # d/dl = e^{2l} - 1
normal_kl_standard.defvjp_arrays(
    lambda g, out, loc, log_scale: g[..., None] * loc,
    lambda g, out, loc, log_scale: g[..., None] * np.expm1(log_scale * 2.0))
