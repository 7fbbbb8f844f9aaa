"""The primitives of minigrad, grouped by family, and their registry.

Each primitive is a forward on ndarrays plus one vector-Jacobian product per
input, declared side by side in its family's file:

- ``elementwise.py``: arithmetic, exp/log family, trigonometric, activations,
  special functions, where/clip/maximum/minimum;
- ``reductions.py``: sum, mean, max, min, logsumexp, softmax, log_softmax;
- ``shape.py``: reshape, transpose, broadcast_to/sum_to, indexing/scatter,
  concatenate, stack;
- ``linalg.py``: matmul, triangular_solve, inv, logdet, cholesky;
- ``fused.py``: affine (x W + b), affine_relu, bernoulli_log_prob, normal_kl_standard,
  reparameterize:
  compositions the models run every step, fused for speed.

``REGISTRY`` maps each primitive's name to it, with example inputs, so that
the tests can check the gradient of every op, and fail for an op without one.
"""
from minigrad.ops.registry import REGISTRY, Primitive, primitive  # noqa: F401
from minigrad.ops.shape import (  # noqa: F401
    broadcast_to, concatenate, getitem, reshape, scatter, stack, sum_to, swap_last, transpose)
from minigrad.ops.elementwise import (  # noqa: F401
    abs, add, arctan, clip, cos, digamma, div, erf, erfc, erfcx, exp, expm1, leaky_relu, lgamma,
    log, log1p, log_ndtr, log_sigmoid, maximum, minimum, mul, neg, polygamma, pow, relu, sigmoid,
    sin, softplus, sqrt, square, sub, tanh, where)
from minigrad.ops.reductions import (  # noqa: F401
    logsumexp, log_softmax, max, mean, min, softmax, sum)
from minigrad.ops.linalg import cholesky, inv, logdet, matmul, triangular_solve  # noqa: F401
from minigrad.ops.fused import (affine, affine_relu, bernoulli_log_prob,  # noqa: F401
                                normal_kl_standard, reparameterize)
