"""First-order optimizers: SGD (with momentum), Adam and RMSprop.

Each ``step()`` updates every parameter whose ``.grad`` is set, in place on
``p.data`` (so a Module and its optimizer share the same arrays), and skips
parameters whose ``.grad`` is None. Per-parameter state (momentum buffers,
moment estimates, step counts) lives in ``optimizer.state[i]``. With weight
decay lambda > 0 the gradient used is g + lambda p (L2 regularisation).

    SGD:      u <- mu u + g;            p <- p - lr u          (mu = 0: p <- p - lr g)
              nesterov:                 p <- p - lr (g + mu u)
    Adam:     m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
              p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    RMSprop:  v <- a v + (1 - a) g^2;   p <- p - lr g / (sqrt(v) + eps)

Inside ``minigrad.detect_anomaly()`` a step first checks that every gradient
is finite and afterwards that every updated parameter is, and raises
``FloatingPointError`` naming the parameter (index and name) where a
non-finite value would enter, or has entered, the parameters.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad import autodiff
from minigrad.kernels.adam import adam_update
from minigrad.tensor import Tensor


def _number(name, value, low, high=math.inf, low_open=False, high_open=True):
    """``value`` as a float inside the interval, else a ValueError naming it."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    above = x > low if low_open else x >= low
    below = x < high if high_open else x <= high
    if not (math.isfinite(x) and above and below):
        interval = (f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}")
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return x


class Optimizer:
    """Base class: holds the parameters, their names and per-parameter state.

    ``params`` is a Module, an iterable of Tensors, or an iterable of
    ``(name, Tensor)`` pairs such as ``model.named_parameters()`` (the names
    then appear in error messages).
    """

    def __init__(self, params, lr):
        self.params, self.names = _collect(params)
        self.lr = _number("lr", lr, 0.0)
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        """Forget the parameters' gradients (``.grad = None``)."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Apply one update to every parameter that has a gradient."""
        anomaly = autodiff.STATE.anomaly
        if anomaly:
            self._check("gradient", [p.grad for p in self.params],
                        "the update is refused, no parameter changed")
        for i, p in enumerate(self.params):
            grad = p.grad
            if grad is None:
                continue
            if grad.shape != p.data.shape:
                raise ValueError(f"gradient of {self._label(i)} has shape {grad.shape}, "
                                 f"expected the parameter's shape {p.data.shape}")
            self._update(p._data, grad, self.state[i])
            p.mark_modified()  # a graph recorded before the step must not be differentiated
        if anomaly:
            self._check("updated value",
                        [p.data if p.grad is not None else None for p in self.params],
                        f"the {type(self).__name__} step (lr={self.lr}) overflowed it")

    def _update(self, param, grad, state):
        raise NotImplementedError

    def _label(self, i):
        name = self.names[i]
        return f"parameter {i}" + (f" ({name!r})" if name is not None else "")

    def _check(self, what, arrays, consequence):
        for i, array in enumerate(arrays):
            if array is not None and not np.all(np.isfinite(array)):
                bad = "NaN" if np.any(np.isnan(array)) else "inf"
                raise FloatingPointError(
                    f"anomaly: the {what} of {self._label(i)} of shape "
                    f"{self.params[i].data.shape} contains {bad}; {consequence}")

    def __repr__(self):
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr})"


def _collect(params):
    """(list of Tensors, list of names or None) from the accepted ``params`` forms."""
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    if isinstance(params, Tensor):
        raise TypeError("params must be an iterable of Tensors (e.g. model.parameters()), "
                        "got a single Tensor; wrap it in a list")
    tensors, names = [], []
    for k, item in enumerate(params):
        name = None
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Tensor):
            name, item = str(item[0]), item[1]
        if not isinstance(item, Tensor):
            raise TypeError(f"params[{k}] must be a Tensor, got {type(item).__name__}")
        if not item.requires_grad:
            raise ValueError(f"params[{k}]{'' if name is None else f' ({name!r})'} does not "
                             f"require grad: it would never be updated")
        if not item.data.flags.writeable:
            raise ValueError(f"params[{k}] has a read-only array; updates are made in place")
        if any(item is t for t in tensors):
            raise ValueError(f"params[{k}] is listed twice; it would be updated twice a step")
        tensors.append(item)
        names.append(name)
    if not tensors:
        raise ValueError("params is empty: the optimizer has nothing to update")
    return tensors, names


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and weight decay.

    u <- mu u + g,  p <- p - lr u  (u starts at 0, so the first step is p - lr g);
    with ``nesterov=True``, p <- p - lr (g + mu u).
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        self.momentum = _number("momentum", momentum, 0.0, 1.0)
        self.weight_decay = _number("weight_decay", weight_decay, 0.0)
        if nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0.0")
        self.nesterov = bool(nesterov)

    def _update(self, param, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            velocity = state.get("velocity")
            if velocity is None:
                velocity = state["velocity"] = np.zeros(param.shape, dtype=param.dtype)
            velocity *= self.momentum
            velocity += grad
            grad = grad + self.momentum * velocity if self.nesterov else velocity
        param -= self.lr * grad


class Adam(Optimizer):
    """Adam with bias-corrected moment estimates (Kingma & Ba 2015).

    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
    p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),
    t counted per parameter (a parameter skipped for lack of a gradient
    keeps its own count). The update is one fused pass
    (:mod:`minigrad.kernels.adam`).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (_number("betas[0]", beta1, 0.0, 1.0), _number("betas[1]", beta2, 0.0, 1.0))
        self.eps = _number("eps", eps, 0.0, low_open=True)
        self.weight_decay = _number("weight_decay", weight_decay, 0.0)

    def _update(self, param, grad, state):
        if not state:
            state["step"] = 0
            state["m"] = np.zeros(param.shape, dtype=param.dtype)
            state["v"] = np.zeros(param.shape, dtype=param.dtype)
        state["step"] = t = state["step"] + 1
        beta1, beta2 = self.betas
        adam_update(param, grad, state["m"], state["v"], self.lr, beta1, beta2, self.eps,
                    1.0 - beta1 ** t, 1.0 - beta2 ** t, self.weight_decay)


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of its history.

    v <- alpha v + (1 - alpha) g^2 (v starts at 0),  p <- p - lr g / (sqrt(v) + eps).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.alpha = _number("alpha", alpha, 0.0, 1.0)
        self.eps = _number("eps", eps, 0.0, low_open=True)
        self.weight_decay = _number("weight_decay", weight_decay, 0.0)

    def _update(self, param, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        square_avg = state.get("square_avg")
        if square_avg is None:
            square_avg = state["square_avg"] = np.zeros(param.shape, dtype=param.dtype)
        square_avg *= self.alpha
        square_avg += (1.0 - self.alpha) * (grad * grad)
        denominator = np.sqrt(square_avg)
        denominator += self.eps
        param -= self.lr * grad / denominator
