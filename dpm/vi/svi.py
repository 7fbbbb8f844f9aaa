"""Stochastic variational inference, per data point and amortized (lecture 003; claim V5).

A latent-variable model p(x, z; theta) = p(z) p(x | z; theta) and a data set
x_1..x_M. Every ELBO is a lower bound, so

    sum_i log p(x_i; theta) >= max_{phi_1..phi_M} sum_i ELBO(x_i; theta, phi_i).

- The lecture's SVI algorithm (``svi``) keeps one variational parameter
  phi_i = (mu_i, log sigma_i) per data point, q(z; phi_i) = N(mu_i, diag sigma_i^2):
  1. sample a mini-batch of data points;
  2. raise ELBO(x_i; theta, phi_i) in phi_i by ``inner_steps`` gradient steps
     (Adam), towards phi_i* = argmax_phi ELBO;
  3. take one gradient step in theta on the batch's ELBO at phi_i*; repeat.
- Amortized inference (``amortized``) replaces the table of phi_i by one
  encoder f_lambda: x -> (mu, log sigma), trained jointly with theta.

Both use the reparameterized ELBO of ``dpm.vi.elbo`` (pathwise gradients).
The amortization gap, on the same theta,

    gap = (1/M) sum_i [ELBO(x_i; theta, phi_i*) - ELBO(x_i; theta, f_lambda(x_i))] >= 0,

measures what the encoder loses against per-point optimisation
(``amortization_gap``: phi_i* found from the encoder's output, both ELBOs
evaluated with common random numbers, the gap an Estimate).

The model here (``BernoulliDecoder``): z ~ N(0, I_d), x | z ~ Bern(sigmoid(z W + b))
for binary vectors (binarized digits), a one-layer decoder.
"""
from __future__ import annotations

import sys

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.nn import MLP, Linear, Module
from minigrad.optim import Adam
from dpm.distributions import Bernoulli, DiagonalNormal
from dpm.montecarlo import Estimate
from dpm.vi._training import load_training, save_training
from dpm.vi.elbo import _log_weights, elbo


class BernoulliDecoder(Module):
    """p(x | z) = prod_j Bern(x_j; sigmoid((z W + b)_j)) with the prior p(z) = N(0, I_d)."""

    def __init__(self, x_dim, z_dim, rng=None):
        self.z_dim = z_dim
        self.linear = Linear(z_dim, x_dim, rng=rng)

    def forward(self, z):
        return Bernoulli(logits=self.linear(z))

    def log_joint(self, x):
        """z (n, B, d) -> log p(x_b, z) = log N(z; 0, I) + sum_j log Bern(x_bj | z): (n, B)."""
        prior = DiagonalNormal(np.zeros(self.z_dim), np.ones(self.z_dim))
        return lambda z: prior.log_prob(z) + mg.sum(self(z).log_prob(x), axis=-1)


class GaussianEncoder(Module):
    """q(z | x) = N(mu(x), diag sigma(x)^2) with (mu, log sigma) from an MLP."""

    def __init__(self, x_dim, z_dim, hidden=(64,), rng=None):
        self.z_dim = z_dim
        self.net = MLP([x_dim, *hidden, 2 * z_dim], activation="tanh", rng=rng)

    def forward(self, x):
        out = self.net(mg.as_tensor(x))
        return DiagonalNormal(out[:, :self.z_dim], mg.exp(out[:, self.z_dim:]))


def _check(x, decoder):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != decoder.linear.weight.shape[1]:
        raise ValueError(f"x must have shape (M, {decoder.linear.weight.shape[1]}), got {x.shape}")
    return x


def _check_finite(value, step):
    if not np.isfinite(value):
        raise FloatingPointError(f"ELBO became {value} at step {step}; stopping before the "
                                 f"update (the last checkpoint, if any, is finite)")


def optimize_local(decoder, x, loc, log_scale, steps, lr, rng, n=1):
    """Raise ELBO(x_b; theta, phi_b) in phi = (loc, log_scale) (B, d) by Adam; theta untouched.

    Returns the new (loc, log_scale) arrays.
    """
    loc = Tensor(np.array(loc, dtype=np.float64), requires_grad=True)
    log_scale = Tensor(np.array(log_scale, dtype=np.float64), requires_grad=True)
    optimizer = Adam([loc, log_scale], lr=lr)
    log_joint = decoder.log_joint(x)
    for _ in range(steps):
        optimizer.zero_grad()
        bound = elbo(log_joint, DiagonalNormal(loc, mg.exp(log_scale)), n=n, rng=rng)
        (-mg.mean(bound)).backward()
        optimizer.step()
    decoder.zero_grad()
    return loc.data, log_scale.data


def svi(decoder, x, steps, rng, batch_size=64, inner_steps=10, inner_lr=0.1, lr=0.01,
        verbose=False, checkpoint=None, every=100):
    """The lecture's SVI: per-data-point phi_i with an inner loop, then a theta step.

    Returns (loc (M, d), log_scale (M, d), history): the batch's mean ELBO at phi* per step.
    ``steps`` counts from the start of training: with ``checkpoint`` (a path) the state
    is saved atomically every ``every`` steps and at the end, and a run finding the
    file resumes from it (same numbers as an uninterrupted run).
    """
    x = _check(x, decoder)
    M, d = x.shape[0], decoder.z_dim
    loc, log_scale = np.zeros((M, d)), np.zeros((M, d))
    optimizer = Adam(decoder.parameters(), lr=lr)
    history, start = [], 0
    resumed = load_training(checkpoint, {"decoder": decoder}, optimizer, rng)
    if resumed is not None:
        start, history, extra = resumed
        loc, log_scale = extra["loc"].copy(), extra["log_scale"].copy()
    for step in range(start, steps):
        batch = rng.choice(M, size=min(batch_size, M), replace=False)
        loc[batch], log_scale[batch] = optimize_local(
            decoder, x[batch], loc[batch], log_scale[batch], inner_steps, inner_lr, rng)
        optimizer.zero_grad()
        guide = DiagonalNormal(Tensor(loc[batch]), Tensor(np.exp(log_scale[batch])))
        bound = mg.mean(elbo(decoder.log_joint(x[batch]), guide, n=1, rng=rng))
        _check_finite(float(bound.data), step)
        (-bound).backward()
        optimizer.step()
        history.append(float(bound.data))
        if verbose and (step + 1) % 50 == 0:
            print(f"svi step {step + 1}/{steps}: batch ELBO {history[-1]:.4f}", file=sys.stderr)
        if checkpoint is not None and ((step + 1) % every == 0 or step + 1 == steps):
            save_training(checkpoint, {"decoder": decoder}, optimizer, rng, step + 1, history,
                          {"loc": loc, "log_scale": log_scale})
    return loc, log_scale, history


def amortized(decoder, encoder, x, steps, rng, batch_size=64, lr=0.01, verbose=False,
              checkpoint=None, every=100):
    """Joint Adam ascent of the batch ELBO in theta (decoder) and lambda (encoder).

    Returns the history of the batch's mean ELBO per step; ``checkpoint`` and
    ``every`` as in ``svi`` (atomic saves, resume from the file).
    """
    x = _check(x, decoder)
    modules = {"decoder": decoder, "encoder": encoder}
    optimizer = Adam(list(decoder.parameters()) + list(encoder.parameters()), lr=lr)
    history, start = [], 0
    resumed = load_training(checkpoint, modules, optimizer, rng)
    if resumed is not None:
        start, history, _ = resumed
    for step in range(start, steps):
        batch = x[rng.choice(x.shape[0], size=min(batch_size, x.shape[0]), replace=False)]
        optimizer.zero_grad()
        bound = mg.mean(elbo(decoder.log_joint(batch), encoder(batch), n=1, rng=rng))
        _check_finite(float(bound.data), step)
        (-bound).backward()
        optimizer.step()
        history.append(float(bound.data))
        if verbose and (step + 1) % 50 == 0:
            print(f"amortized step {step + 1}/{steps}: batch ELBO {history[-1]:.4f}",
                  file=sys.stderr)
        if checkpoint is not None and ((step + 1) % every == 0 or step + 1 == steps):
            save_training(checkpoint, modules, optimizer, rng, step + 1, history)
    return history


def evaluate(decoder, x, loc, log_scale, n, rng):
    """Mean ELBO over the data points (an Estimate; each point's ELBO from n draws)."""
    with mg.no_grad():
        values = _log_weights(decoder.log_joint(x),
                              DiagonalNormal(loc, np.exp(log_scale)), (n,), rng)[0].data
    return _mean_over_points(values)


def _mean_over_points(values):
    """values (n, M): n draws for each of M fixed points -> Estimate of their mean ELBO."""
    n, M = values.shape
    stderr = np.sqrt(np.sum(values.var(axis=0, ddof=1)) / n) / M
    return Estimate.from_tensor(Tensor(values.mean()), stderr, n * M)


def amortization_gap(decoder, encoder, x, rng, inner_steps=200, inner_lr=0.05, n=64):
    """(gap, per-point ELBO, amortized ELBO) on the same theta, each an Estimate.

    phi_i* starts at the encoder's output and is raised by ``inner_steps``; both
    ELBOs then use the same standard-normal draws (common random numbers), so
    the gap's standard error is that of the per-draw differences.
    """
    x = _check(x, decoder)
    with mg.no_grad():
        q = encoder(x)
        enc_loc, enc_log_scale = q.loc.data, np.log(q.scale.data)
    loc, log_scale = optimize_local(decoder, x, enc_loc, enc_log_scale, inner_steps, inner_lr,
                                    rng, n=4)
    seed = int(rng.integers(2 ** 63))
    with mg.no_grad():
        local = _log_weights(decoder.log_joint(x), DiagonalNormal(loc, np.exp(log_scale)), (n,),
                             np.random.default_rng(seed))[0].data
        amort = _log_weights(decoder.log_joint(x), DiagonalNormal(enc_loc, np.exp(enc_log_scale)),
                             (n,), np.random.default_rng(seed))[0].data
    return _mean_over_points(local - amort), _mean_over_points(local), _mean_over_points(amort)
