"""Autoregressive models of binary vectors: MADE (claims R1, R2).

The chain rule writes any joint law as a product of conditionals in an order
sigma (lecture 002, "autoregressive models"):

    p(x) = prod_{k=1..D} p(x_sigma(k) | x_sigma(1), ..., x_sigma(k-1)).

MADE (Germain, Gregor, Murray and Larochelle 2015) computes all D
conditionals in one pass of an MLP whose weights are masked so that output j
sees only the inputs before j in the order. Every unit gets a *degree*: input
j has degree m_0(j) = order[j] + 1 (its 1-based position), hidden units
degrees in 1..D-1, and

    hidden mask  M[i, k] = 1  iff  m_l(k) >= m_{l-1}(i)
    output mask  M[i, j] = 1  iff  m_0(j) >  m_L(i)

so a path from input i to output j exists only if order[i] < order[j]. For
binary x the output j is the logit l_j of p(x_j = 1 | earlier variables):

    log p(x) = sum_j [x_j log sigmoid(l_j) + (1 - x_j) log sigmoid(-l_j)],

exact, so the 2^D probabilities sum to 1 (R1). Training is teacher forced
(the true x feeds every conditional at once); sampling is D passes, one
variable at a time in the order (R2). The same masks give MAF and IAF their
shift and log-scale networks (``dpm.models.flows.autoregressive``).

Reading: Germain et al. 2015, "MADE: Masked Autoencoder for Distribution
Estimation"; Larochelle and Murray 2011 (NADE); karpathy/pytorch-made.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.tensor import Tensor
from dpm.distributions.base import resolve_rng


def check_order(order, dim):
    """``order`` as an int array, a permutation of 0..dim-1 (order[j] = position of j)."""
    if order is None:
        return np.arange(dim)
    order = np.asarray(order)
    if order.shape != (dim,) or order.dtype.kind not in "iu" \
            or not np.array_equal(np.sort(order), np.arange(dim)):
        raise ValueError(f"order must be a permutation of 0..{dim - 1} (order[j] = position "
                         f"of variable j), got {order!r}")
    return order.astype(np.intp)


def _hidden_sizes(hidden):
    hidden = (hidden,) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
    for i, h in enumerate(hidden):
        if isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, np.integer)) or h < 1:
            raise ValueError(f"hidden[{i}] must be a positive integer, got {h!r}")
    return hidden


def made_masks(order, hidden, outputs_per_variable=1):
    """The 0/1 masks (in, out) of each layer of a MADE with input ``order``.

    Hidden degrees cycle through lo..D-1 (lo = the smallest degree feeding
    the layer), which uses every degree when the layer is at least D - 1
    wide. The output mask is tiled ``outputs_per_variable`` times, so output
    block b (columns b D .. b D + D - 1) holds parameter b of each variable.
    """
    dim = len(order)
    degrees = [np.asarray(order) + 1]
    for width in hidden:
        lo = min(int(degrees[-1].min()), max(dim - 1, 1))
        span = max(dim - lo, 1)
        degrees.append(lo + np.arange(width) % span)
    masks = [(d_out[None, :] >= d_in[:, None]).astype(np.float64)
             for d_in, d_out in zip(degrees[:-1], degrees[1:])]
    output = (degrees[0][None, :] > degrees[-1][:, None]).astype(np.float64)
    masks.append(np.tile(output, (1, outputs_per_variable)))
    return masks


class MaskedLinear(nn.Module):
    """y = x (W * M) + b: a Linear layer whose weight is multiplied by a fixed 0/1 mask."""

    def __init__(self, mask, rng):
        self.mask = np.asarray(mask, dtype=np.float64)
        n_in, n_out = self.mask.shape
        bound = 1.0 / np.sqrt(n_in)
        self.weight = Tensor(rng.uniform(-bound, bound, (n_in, n_out)), requires_grad=True)
        self.bias = Tensor(rng.uniform(-bound, bound, n_out), requires_grad=True)

    def forward(self, x):
        return mg.as_tensor(x) @ (self.weight * self.mask) + self.bias


class MaskedMLP(nn.Module):
    """The MADE network: masked Linear layers with ``activation`` between them.

    Maps (..., D) to (..., outputs_per_variable * D); output block b column j
    depends only on the inputs i with order[i] < order[j].
    """

    def __init__(self, dim, hidden=(64,), rng=None, order=None, outputs_per_variable=1,
                 activation="relu"):
        self.dim = nn._positive_int("dim", dim)
        self.order = check_order(order, self.dim)
        self.hidden = _hidden_sizes(hidden)
        self.activation = nn.activation_function(activation)
        rng = resolve_rng(rng)
        masks = made_masks(self.order, self.hidden, outputs_per_variable)
        self.layers = [MaskedLinear(m, rng) for m in masks]

    def forward(self, x):
        x = mg.as_tensor(x)
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (..., {self.dim}), got shape {x.shape}")
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = self.activation(x)
        return x


class MADE(MaskedMLP):
    """p(x) = prod_j Bernoulli(x_j; sigmoid(l_j(x_<j))) for binary vectors x in {0, 1}^dim.

    ``order[j]`` is variable j's position in the chain rule (default 0..D-1,
    raster order for images). ``conditionals(x)`` gives the logits laid out
    like x; ``log_prob(x)`` the exact log-likelihood in nats; ``sample(n,
    rng)`` draws variable by variable; ``complete(x, observed, rng)`` draws
    the unobserved variables from their exact conditional law when every
    observed variable comes before every unobserved one in the order.
    """

    def __init__(self, dim, hidden=(64,), rng=None, order=None, activation="relu"):
        super().__init__(dim, hidden, rng=rng, order=order, outputs_per_variable=1,
                         activation=activation)

    def conditionals(self, x):
        """Logits l (..., D): l_j = logit p(x_j = 1 | x_i with order[i] < order[j])."""
        return self.forward(x)

    def _binary(self, x):
        x = mg.as_tensor(x)
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (..., {self.dim}), got shape {x.shape}")
        if not np.all((x.data == 0) | (x.data == 1)):
            raise ValueError("x must be binary (every entry 0 or 1)")
        return x

    def log_prob(self, x):
        """sum_j log sigmoid((2 x_j - 1) l_j): one exact log-likelihood per row, in nats."""
        x = self._binary(x)
        signs = 2.0 * x.data - 1.0
        return mg.log_sigmoid(self.conditionals(x) * signs).sum(axis=-1)

    def _fill(self, x, positions, rng):
        """Draw the variables at ``positions`` of the order into x (ndarray), in order."""
        by_position = np.argsort(self.order)  # by_position[k] = the variable at position k
        with mg.no_grad():
            for k in positions:
                j = by_position[k]
                logit = self.conditionals(x).data[..., j]
                # p = sigmoid(logit), compared in log space: log u < log sigmoid(logit)
                log_u = np.log(rng.uniform(size=logit.shape))
                x[..., j] = (log_u < -np.logaddexp(0.0, -logit)).astype(x.dtype)
        return x

    def sample(self, n, rng=None):
        """n vectors (n, D) by ancestral sampling: D passes, one variable each."""
        n = nn._positive_int("n", n)
        return self._fill(np.zeros((n, self.dim)), range(self.dim), resolve_rng(rng))

    def complete(self, x, observed, rng=None):
        """Fill the unobserved entries of x from p(x_missing | x_observed), exactly.

        ``observed``: a boolean mask of shape (D,). Exact only when the
        observed variables are the first ones of the order (then the chain
        rule's remaining factors are the conditional law); otherwise a
        ValueError says so.
        """
        x = self._binary(np.array(getattr(x, "data", x), dtype=np.float64, copy=True)).data
        observed = np.asarray(observed, dtype=bool)
        if observed.shape != (self.dim,):
            raise ValueError(f"observed must be a boolean mask of shape ({self.dim},), "
                             f"got shape {observed.shape}")
        n_obs = int(observed.sum())
        if n_obs and self.order[observed].max() >= n_obs:
            raise ValueError("complete() is exact only when the observed variables come first "
                             "in made.order; train a MADE with such an order")
        return self._fill(x, range(n_obs, self.dim), resolve_rng(rng))


def _observed_first(made, observed):
    """``observed`` as a (D,) bool mask, checked to hold the first variables of made.order."""
    observed = np.asarray(observed)
    if observed.shape != (made.dim,) or observed.dtype != bool:
        raise ValueError(f"observed must be a boolean mask of shape ({made.dim},), got "
                         f"{observed.dtype} of shape {observed.shape}")
    n_obs = int(observed.sum())
    if n_obs and made.order[observed].max() >= n_obs:
        raise ValueError("observed must hold the first variables of made.order (then the chain "
                         "rule's remaining factors are the exact conditional law)")
    return observed


def conditional_log_prob(made, x, observed):
    """log p(x_missing | x_observed) per row, exactly (R2's completion, scored).

    When the observed variables come first in the order, the chain rule's
    remaining factors are the conditional law:
    log p(x_m | x_o) = sum_{j missing} log sigmoid((2 x_j - 1) l_j(x)), one pass.
    """
    observed = _observed_first(made, observed)
    x = made._binary(x)
    with mg.no_grad():
        terms = mg.log_sigmoid(made.conditionals(x) * (2.0 * x.data - 1.0)).data
    return terms[..., ~observed].sum(axis=-1)


def completion_marginals(made, x, observed, n, rng=None, rows_per_pass=8192):
    """p(x_j = 1 | x_observed) for every j, by n exact completions: (mean, standard error).

    Observed entries come back as x itself (standard error 0). The per-pixel
    marginals of the exact conditional have no closed form in MADE (the
    missing pixels depend on each other), hence Monte Carlo. The n draws of
    a row are completed together, about ``rows_per_pass`` rows a network pass.
    """
    n = nn._positive_int("n", n)
    if n < 2:
        raise ValueError(f"n must be >= 2 for a standard error, got {n}")
    _observed_first(made, observed)
    rng = resolve_rng(rng)
    x = made._binary(x).data
    rows = x.reshape(-1, made.dim)
    # all n completions of a chunk of rows in one batch: |missing| passes per chunk, not per draw
    per_chunk = max(1, rows_per_pass // n)
    mean, stderr = np.empty_like(rows), np.empty_like(rows)
    for first in range(0, len(rows), per_chunk):
        chunk = rows[first:first + per_chunk]
        draws = made.complete(np.tile(chunk, (n, 1)), observed, rng).reshape(n, *chunk.shape)
        mean[first:first + len(chunk)] = draws.mean(axis=0)
        stderr[first:first + len(chunk)] = draws.std(axis=0, ddof=1) / np.sqrt(n)
    return mean.reshape(x.shape), stderr.reshape(x.shape)
