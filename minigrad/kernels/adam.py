"""The fused Adam update, as a Numba kernel and its plain-NumPy twin.

One Adam step for a parameter p with gradient g (Kingma & Ba 2015, Alg. 1),
with optional L2 weight decay lambda folded into the gradient:

    g   <- g + lambda p
    m   <- beta1 m + (1 - beta1) g
    v   <- beta2 v + (1 - beta2) g^2
    p   <- p - lr * (m / c1) / (sqrt(v / c2) + eps),   c1 = 1 - beta1^t, c2 = 1 - beta2^t

Written with NumPy this is about ten passes over memory, each allocating a
temporary; the kernel makes one pass, reading p, g, m, v and writing p, m, v
once, vectorized (0.35 ms for the 313,600 weights of a 784x400 layer, against
about 10 ms for the NumPy twin, whose temporaries are each 2.5 MB). It runs
on one thread: a ``prange`` version took 0.19 ms alone but was no faster
inside a training step on 2 cores, where it runs right after the backward
pass's matrix products and competes with BLAS's threads for the cores.

Both versions take the same arguments and update ``param``, ``m`` and ``v``
in place; ``adam_update`` dispatches to the kernel when Numba is enabled and
the arrays are contiguous, else to the twin. No ``fastmath``: the loop has no
reduction, so it vectorizes without reassociation and the result is the
formula above up to the rounding of ``sqrt(v) / sqrt(c2)`` for ``sqrt(v / c2)``.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit

def adam_update_numpy(param, grad, m, v, lr, beta1, beta2, eps, bias1, bias2, weight_decay):
    """NumPy twin: one Adam step on ``param`` in place (``m``, ``v`` updated too).

    ``bias1 = 1 - beta1^t`` and ``bias2 = 1 - beta2^t`` are the bias corrections.
    """
    if weight_decay:
        grad = grad + weight_decay * param
    m *= beta1
    m += (1.0 - beta1) * grad
    v *= beta2
    v += (1.0 - beta2) * (grad * grad)
    denominator = np.sqrt(v)
    denominator *= 1.0 / math.sqrt(bias2)
    denominator += eps
    param -= (lr / bias1) * m / denominator


# error_model="numpy": without it Numba guards every division against zero
# (raising ZeroDivisionError), and the guard stops the loop from vectorizing;
# with it the loop runs 4 lanes wide (about 4x faster, measured). The
# denominator is at least eps > 0, so the guard could never fire anyway.
@njit(cache=True, error_model="numpy")
def _adam_loop(param, grad, m, v, lr, beta1, beta2, eps, bias1, bias2, weight_decay):
    step = lr / bias1
    inv_sqrt_bias2 = 1.0 / math.sqrt(bias2)
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i]
        m_i = beta1 * m[i] + (1.0 - beta1) * g
        v_i = beta2 * v[i] + (1.0 - beta2) * (g * g)
        m[i] = m_i
        v[i] = v_i
        param[i] -= step * m_i / (math.sqrt(v_i) * inv_sqrt_bias2 + eps)


def adam_update_numba(param, grad, m, v, lr, beta1, beta2, eps, bias1, bias2, weight_decay):
    """Numba kernel: the same step as ``adam_update_numpy``, in one pass.

    The arrays must be C-contiguous and of one shape (they are viewed as 1-D).
    """
    _adam_loop(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1), lr, beta1,
               beta2, eps, bias1, bias2, weight_decay)


def adam_update(param, grad, m, v, lr, beta1, beta2, eps, bias1, bias2, weight_decay):
    """One Adam step in place: the Numba kernel where it applies, else the NumPy twin."""
    if (NUMBA_ENABLED and param.flags.c_contiguous and grad.flags.c_contiguous
            and m.flags.c_contiguous and v.flags.c_contiguous and grad.shape == param.shape):
        adam_update_numba(param, grad, m, v, float(lr), float(beta1), float(beta2),
                          float(eps), float(bias1), float(bias2), float(weight_decay))
    else:
        adam_update_numpy(param, grad, m, v, lr, beta1, beta2, eps, bias1, bias2, weight_decay)
