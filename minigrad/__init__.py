"""minigrad: reverse-mode automatic differentiation on NumPy arrays.

Read in this order: ``tensor.py`` (the Tensor and its operator sugar),
``ops/registry.py`` (what a primitive is), ``ops/*.py`` (the table of
derivatives), ``autodiff.py`` (the backward pass), ``gradcheck.py`` (how we
know the derivatives are right), then ``nn.py`` and ``optim.py``.
``kernels/`` holds the Numba kernels (with NumPy twins) behind logsumexp,
softmax and Adam. Importing minigrad changes nothing in the process;
``tuning.py`` explains the opt-in ``minigrad.tune_process()`` (glibc malloc
thresholds, OpenMP passive waiting) that the benchmarks call.
"""
import os as _os

from minigrad.tuning import tune_process
from minigrad.tensor import Tensor, as_tensor
from minigrad.autodiff import (
    backward, detect_anomaly, enable_grad, grad, gradients, no_grad)
from minigrad.ops import (
    abs, add, affine, affine_relu, arctan, bernoulli_log_prob, broadcast_to, cholesky, clip,
    concatenate, cos, digamma, div, erf, erfc, erfcx, exp, expm1, getitem, inv, leaky_relu,
    lgamma, log, log1p, log_ndtr, log_sigmoid, log_softmax, logdet, logsumexp, matmul, max,
    maximum, mean, min, minimum, mul, neg, normal_kl_standard, polygamma, pow, relu,
    reparameterize, reshape, scatter, sigmoid, sin, softmax, softplus, sqrt, square, stack, sub,
    sum, sum_to, tanh, transpose, triangular_solve, where)
from minigrad.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "Tensor", "as_tensor", "tune_process", "backward", "detect_anomaly", "enable_grad", "grad",
    "gradients", "no_grad", "GradcheckError", "gradcheck", "gradgradcheck",
    "abs", "add", "affine", "affine_relu", "arctan", "bernoulli_log_prob", "broadcast_to",
    "cholesky", "clip",
    "concatenate", "cos", "digamma",
    "div", "erf", "erfc", "erfcx", "exp", "expm1", "getitem", "inv", "leaky_relu", "lgamma", "log",
    "log1p", "log_ndtr", "log_sigmoid", "log_softmax", "logdet", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "neg", "normal_kl_standard", "polygamma", "pow",
    "relu", "reparameterize", "reshape",
    "scatter", "sigmoid", "sin", "softmax", "softplus", "sqrt", "square", "stack", "sub", "sum",
    "sum_to", "tanh", "transpose", "triangular_solve", "where",
]

from minigrad import nn, optim  # noqa: E402

if _os.environ.get("MINIGRAD_TUNE_PROCESS", "") not in ("", "0"):
    tune_process()   # the user asked for it in the environment
