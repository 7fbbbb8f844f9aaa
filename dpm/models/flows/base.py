"""The flow layer interface and ``Flow``, the distribution a stack of layers defines.

A layer is a ``Transform`` of vectors (``event_dim = 1``) and a
``minigrad.nn.Module`` whose parameters train:

    forward(x) -> (y, log|det dy/dx|),   inverse(y) -> (x, log|det dx/dy|),

both log-determinants of shape x.shape[:-1]. ``Flow(base, layers)`` is the
law of y = f_K(... f_1(z)), z ~ base (lecture 002, change of variables; N1):

    log p(y) = log p_Z(z) - sum_k log|det J_{f_k}|.

Sampling pushes z forward; the density pulls y back. Which direction is
cheap depends on the layer (MAF: density one pass, sampling D passes; IAF
the reverse). ``rsample`` therefore remembers the log-density of the draw it
returned, computed on the way forward, so that ``log_prob`` of that very
Tensor (what ``dpm.vi.elbo`` asks next) costs nothing and needs no inverse.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import nn
from dpm.distributions.base import Distribution, resolve_rng
from dpm.distributions.transformed import Transform, TransformedDistribution


def check_dim(dim, low=1):
    """``dim`` as an int >= low, else a ValueError naming it."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) or dim < low:
        raise ValueError(f"dim must be an integer >= {low}, got {dim!r}")
    return int(dim)


def bounded(raw, bound):
    """bound * tanh(raw / bound): the identity near 0, never beyond +-bound (stable log-scales)."""
    return mg.tanh(raw * (1.0 / bound)) * bound


class FlowLayer(Transform, nn.Module):
    """Base of the flow layers: an event_dim = 1 Transform with trainable parameters."""

    event_dim = 1

    def _vectors(self, x, name="x"):
        x = mg.as_tensor(x)
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"{type(self).__name__}: {name} must have shape (..., {self.dim}), "
                             f"got shape {x.shape}")
        return x

    def __repr__(self):
        return f"{type(self).__name__}(dim={self.dim})"


class _LastDraw:
    """The last rsample draw and its log-density (not a Module: never taken for parameters)."""

    value = log_prob = None

    def keep(self, value, log_prob):
        self.value, self.log_prob = value, log_prob


class Flow(TransformedDistribution, nn.Module):
    """y = f_K(... f_1(z)) with z ~ ``base`` (event shape (D,)) and ``layers`` = [f_1, ..., f_K].

    ``parameters()`` lists every layer's parameters, so ``optim.Adam(flow.parameters())`` trains it by
    maximising ``flow.log_prob(x).mean()`` (maximum likelihood) or an ELBO.
    """

    def __init__(self, base, layers):
        if not isinstance(base, Distribution) or len(base.event_shape) != 1:
            raise ValueError(f"base must be a Distribution of vectors (event shape (D,)), got "
                             f"{type(base).__name__} with event shape "
                             f"{getattr(base, 'event_shape', None)}")
        layers = list(layers)
        if not layers:
            raise ValueError("layers must hold at least one flow layer")
        dim = base.event_shape[0]
        for k, layer in enumerate(layers):
            if getattr(layer, "dim", dim) != dim:
                raise ValueError(f"layers[{k}] acts on dimension {layer.dim}, the base on {dim}")
        super().__init__(base, layers)
        self.dim = dim
        self._last_draw = _LastDraw()

    def forward_with_log_det(self, z):
        """(y, sum_k log|det J_k|) for base points z: the pass that sampling makes."""
        y, total = mg.as_tensor(z), 0.0
        for layer in self.transforms:
            y, log_det = layer.forward(y)
            total = total + log_det
        return y, total

    def rsample(self, shape=(), rng=None):
        """y = f(z), z ~ base; log q(y) = log p_Z(z) - log|det J_f(z)| is kept for log_prob(y)."""
        z = self.base.rsample(self._base_draw_shape(shape), resolve_rng(rng))
        y, log_det = self.forward_with_log_det(z)
        self._last_draw.keep(y, self.base.log_prob(z) - log_det)
        return y

    def log_prob(self, y):
        """log p(y) by the inverse pass; for the Tensor just returned by rsample, its cached value."""
        if y is self._last_draw.value:
            return self._last_draw.log_prob
        return super().log_prob(y)

    def load_state_dict(self, state):
        """Load parameters; data-initialised layers (ActNorm) then count as initialised."""
        super().load_state_dict(state)
        for module in self.modules():
            if hasattr(module, "initialized"):
                module.initialized = True
        return self

    def __repr__(self):
        return f"Flow(base={self.base!r}, layers={self.transforms!r})"
