"""Fused primitives: a few compositions the models run every step, as one op each.

Each is a plain composition of other primitives, written as one forward on
ndarrays (fewer temporaries, one dispatch instead of several) with its own
VJP rules, themselves made of primitives (so second order works as for every
other op). They exist for speed only; their values are the compositions'.

    affine(x, W, b)              = x W + b                       (nn.Linear)
        dx = G W^T,  dW = x^T G (summed over x's leading axes),  db = G (summed to b)
    affine_relu(x, W, b)         = relu(x W + b)                 (a hidden layer)
        the same with G masked: G [x W + b > 0] = G [out > 0], computed once for all three
    bernoulli_log_prob(t, x)     = sum_j x_j t_j - softplus(t_j)  (over the last axis)
        dt = g (x - sigmoid(t)),  dx = g t
    normal_kl_standard(mu, l)    = 1/2 sum_j e^{2 l_j} - 1 - 2 l_j + mu_j^2
                                 = KL(N(mu, diag(e^{2 l})) || N(0, I))  (over the last axis)
        dmu = g mu,  dl = g (e^{2 l} - 1) = g expm1(2 l)
    reparameterize(mu, l, eps)   = mu + e^l eps                   (z ~ N(mu, diag(e^{2 l})))
        dmu = G,  dl = G eps e^l,  deps = G e^l   (each summed over eps's extra leading axes)

``bernoulli_log_prob`` is the log-likelihood of independent Bernoulli pixels
x in {0, 1} with logits t (for x in [0, 1], minus the binary cross-entropy);
``reparameterize`` is the reparameterization trick of a diagonal Gaussian
guide, z = mu + sigma eps with sigma = e^l and eps ~ N(0, I) drawn outside
(of shape (k,) + mu's for k draws per input): the path through which the
ELBO's gradient reaches mu and l. ``normal_kl_standard`` takes the log
standard deviation l, so there is no log(exp) round trip, and forms
e^{2l} - 1 - 2l without cancellation near l = 0 (a series for |2l| < 0.1,
in the Numba kernel of :mod:`minigrad.kernels.fused`), so it is never negative.
"""
from __future__ import annotations

import numpy as np

from minigrad.kernels import fused as fused_kernels
from minigrad.ops.elementwise import exp, expm1, sigmoid, sigmoid_array, softplus_array

from minigrad.ops.linalg import _matmul_vjp_a, _matmul_vjp_b, matmul_grad_a, matmul_grad_b
from minigrad.ops.registry import const_like, primitive
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
                     lambda g, out, x, weight, bias: _bias_grad(g))


def _bias_grad(g):
    """G summed over its rows.

    As the matrix-vector product 1^T G (one BLAS call, about twice as fast as
    NumPy's column sum on a (128, 128) G) in float64 and for a few rows; else
    NumPy's pairwise sum, whose float32 error grows as log n, not n.
    """
    rows = g.reshape(-1, g.shape[-1])
    if rows.dtype == np.float64 or rows.shape[0] <= 256:
        return np.ones(rows.shape[0], dtype=rows.dtype) @ rows
    return rows.sum(axis=0)


# ---------------------------------------------------- a hidden relu layer
@primitive("affine_relu", "fused", _affine_examples)
def affine_relu(x, weight, bias):
    """relu(x W + b): a Linear layer and its relu as one primitive (same shapes as affine)."""
    out = affine.forward(x, weight, bias)     # a fresh array: the relu is taken in place
    return np.maximum(out, 0.0, out=out)


def _masked(g, out):
    """G [out > 0]: the upstream gradient through the relu (its derivative, a constant)."""
    return g * const_like(out.data > 0, g)


affine_relu.defvjp(
    lambda g, out, x, weight, bias: _matmul_vjp_a(_masked(g, out), out, x, weight),
    lambda g, out, x, weight, bias: _matmul_vjp_b(_masked(g, out), out, x, weight),
    lambda g, out, x, weight, bias: _masked(g, out))


@affine_relu.defvjp_arrays_joint
def _affine_relu_grads(g, out, wanted, x, weight, bias):
    masked = fused_kernels.relu_grad(g, out)   # out > 0 exactly where x W + b > 0
    return (matmul_grad_a(masked, out, x, weight) if wanted[0] else None,
            matmul_grad_b(masked, out, x, weight) if wanted[1] else None,
            _bias_grad(masked) if wanted[2] else None)


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


def _bernoulli_logit_grad(g, logits, x):
    """g (x - sigmoid(t)) on arrays, in place where the shapes allow."""
    residual = sigmoid_array(logits)
    if np.shape(x) == residual.shape and residual.dtype == np.result_type(x, g):
        np.subtract(x, residual, out=residual)
    else:
        residual = x - residual
    residual *= g[..., None]
    return residual


bernoulli_log_prob.defvjp_arrays(
    lambda g, out, logits, x: _bernoulli_logit_grad(g, logits, x),
    lambda g, out, logits, x: g[..., None] * logits)


# ------------------------------------------------ KL to the standard normal
def _kl_examples(rng):
    return [((rng.normal(size=(3, 4)), rng.normal(size=(3, 4)) * 0.5), {}),
            ((rng.normal(size=(5,)), rng.uniform(-0.04, 0.04, size=(5,))), {}),
            ((rng.normal(size=(2, 3)), rng.normal(size=(3,)) * 0.5), {})]


@primitive("normal_kl_standard", "fused", _kl_examples)
def normal_kl_standard(loc, log_scale):
    """KL(N(loc, diag(e^{2 log_scale})) || N(0, I)), summed over the last axis."""
    if loc.ndim == 0 and log_scale.ndim == 0:
        raise ValueError("normal_kl_standard needs arrays with a last (event) axis, got "
                         "two scalars")
    return fused_kernels.normal_kl_standard(loc, log_scale)


normal_kl_standard.defvjp(
    lambda g, out, loc, log_scale: _last_axis(g) * loc,                     # d/dmu = mu
    lambda g, out, loc, log_scale: _last_axis(g) * expm1(log_scale * 2.0))  # d/dl = e^{2l} - 1
normal_kl_standard.defvjp_arrays(
    lambda g, out, loc, log_scale: g[..., None] * loc,
    lambda g, out, loc, log_scale: g[..., None] * np.expm1(log_scale * 2.0))


# ------------------------------------------------ the reparameterization trick
def _reparameterize_examples(rng):
    return [((rng.normal(size=(3, 4)), rng.normal(size=(3, 4)) * 0.5, rng.normal(size=(3, 4))),
             {}),
            ((rng.normal(size=(3, 4)), rng.normal(size=(3, 4)) * 0.5,
              rng.normal(size=(2, 3, 4))), {}),                     # k = 2 draws per row
            ((rng.normal(size=(4,)), rng.normal(size=(4,)) * 0.5, rng.normal(size=(5, 4))), {})]


@primitive("reparameterize", "fused", _reparameterize_examples)
def reparameterize(loc, log_scale, eps):
    """loc + e^{log_scale} eps: a draw of N(loc, diag(e^{2 log_scale})) from standard eps."""
    z = np.exp(log_scale)
    z = z * eps
    z += loc            # z has eps's (broadcast) shape, never smaller than loc's
    return z


reparameterize.defvjp(
    lambda g, out, loc, log_scale, eps: g,                              # dz/dmu = 1
    lambda g, out, loc, log_scale, eps: g * eps * exp(log_scale),       # dz/dl = eps e^l
    lambda g, out, loc, log_scale, eps: g * exp(log_scale))             # dz/deps = e^l
reparameterize.defvjp_arrays(   # as the Tensor rules, the engine sums each to its input
    lambda g, out, loc, log_scale, eps: g,
    lambda g, out, loc, log_scale, eps: g * eps * np.exp(log_scale),
    lambda g, out, loc, log_scale, eps: g * np.exp(log_scale))
