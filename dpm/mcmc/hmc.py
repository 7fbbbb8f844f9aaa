"""Hamiltonian Monte Carlo with a leapfrog integrator (claim E2; lecture 004; Neal 2011).

Augment x with a momentum p ~ N(0, M) and simulate Hamilton's equations for

    H(x, p) = -log p(x) + 1/2 p^T M^-1 p

by the leapfrog (Stormer-Verlet) scheme, step eps:

    p <- p + eps/2 grad log p(x);  x <- x + eps M^-1 p;  p <- p + eps/2 grad log p(x).

Leapfrog is reversible (negate p, run again, return to the start) and
preserves volume (each sub-step is a shear), so the Metropolis test on the
energy error, accept with min(1, exp(H(x, p) - H(x', p'))), makes the chain
exact; the error of H is O(eps^2) over a fixed time. Gradients of
``log_prob`` come from minigrad. The inverse metric M^-1 is diagonal and
adapted during warm-up with the step size (dual averaging toward an
acceptance of 0.65; see ``adaptation.py``); then both are frozen. Chains move
together; a trajectory whose energy error exceeds 1000 is a divergence.
"""
from __future__ import annotations

import numpy as np

from dpm.mcmc._target import (Progress, check_count, check_positive, check_rng, check_x0,
                              log_density_and_grad)
from dpm.mcmc.adaptation import WindowedAdaptation
from dpm.mcmc.chains import Chains

__all__ = ["hmc", "leapfrog", "hamiltonian", "find_step_size", "MAX_ENERGY_ERROR"]

MAX_ENERGY_ERROR = 1000.0   # Stan's threshold for a divergent trajectory


def hamiltonian(log_p, momentum, inv_metric):
    """H = -log p(x) + 1/2 p^T M^-1 p per chain (diagonal M^-1 of shape (chains, dim))."""
    with np.errstate(over="ignore", invalid="ignore"):   # inf energy: a rejected point
        return -log_p + 0.5 * np.sum(momentum * momentum * inv_metric, axis=-1)


def leapfrog(grad_fn, x, momentum, step_size, n_steps, inv_metric, grad=None):
    """``n_steps`` leapfrog steps of size ``step_size`` (per chain, may be negative).

    ``grad_fn(x) -> (log p (chains,), grad (chains, dim))``; returns
    (x, p, log p, grad) at the end. Pass ``grad`` at x to save one evaluation.
    """
    eps = np.asarray(step_size, dtype=np.float64).reshape(-1, 1)
    log_p = None
    if grad is None:
        log_p, grad = grad_fn(x)
    for _ in range(n_steps):
        momentum = momentum + 0.5 * eps * grad
        x = x + eps * inv_metric * momentum
        log_p, grad = grad_fn(x)
        momentum = momentum + 0.5 * eps * grad
    if log_p is None:
        log_p, _ = grad_fn(x)
    return x, momentum, log_p, grad


def _energy_error(h0, h1):
    """H0 - H1 with NaN (a trajectory that left the support) as -inf."""
    with np.errstate(invalid="ignore"):
        delta = h0 - h1
    return np.where(np.isnan(delta), -np.inf, delta)


def find_step_size(grad_fn, x, inv_metric, step_size, rng):
    """Stan's heuristic: double or halve eps until one leapfrog step crosses acceptance 0.8."""
    log_p, grad = grad_fn(x)
    step_size = np.array(step_size, dtype=np.float64).reshape(-1).copy()
    step_size = np.broadcast_to(step_size, x.shape[:1]).copy()
    direction = None
    active = np.ones(x.shape[0], dtype=bool)
    for _ in range(100):
        p = rng.standard_normal(x.shape) / np.sqrt(inv_metric)
        h0 = hamiltonian(log_p, p, inv_metric)
        _, p1, log_p1, _ = leapfrog(grad_fn, x, p, step_size, 1, inv_metric, grad)
        delta = _energy_error(h0, hamiltonian(log_p1, p1, inv_metric))
        up = delta > np.log(0.8)
        if direction is None:
            direction = np.where(up, 1, -1)
        active &= np.where(direction == 1, up, ~up)
        if not active.any():
            break
        step_size = np.where(active, step_size * np.where(direction == 1, 2.0, 0.5), step_size)
        if np.any(step_size > 1e7) or np.any(step_size < 1e-12):
            raise ValueError("no step size found: the posterior is improper or log_prob's "
                             "gradient is wrong")
    return step_size


def hmc(log_prob, x0, n, rng, step_size=None, n_leapfrog=10, warmup=None, target_accept=0.65,
        adapt_metric=True, jitter=0.1, progress=False):
    """Static HMC: ``n`` draws per chain after ``warmup`` (default n) adaptation steps.

    ``log_prob`` maps a (chains, dim) Tensor to (chains,); ``x0`` (chains, dim).
    ``step_size`` None starts from Stan's heuristic and adapts it; a number
    starts from it and still adapts during warm-up (``warmup=0`` keeps it).
    Each iteration uses a step drawn uniformly in eps (1 +- ``jitter``), which
    breaks the periodic orbits a fixed eps L can fall into (the jitter is
    independent of the state, so exactness holds). ``progress=True`` prints
    progress lines on stderr.
    """
    x = check_x0(x0)
    n = check_count(n, "n")
    n_leapfrog = check_count(n_leapfrog, "n_leapfrog")
    warmup = n if warmup is None else check_count(warmup, "warmup", 0)
    rng = check_rng(rng)
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
    chains, dim = x.shape

    def grad_fn(points):
        return log_density_and_grad(log_prob, points)

    log_p, grad = grad_fn(x)
    if not np.all(np.isfinite(log_p)):
        raise ValueError("x0 must lie where log_prob is finite")
    inv_metric = np.ones((chains, dim))
    if step_size is None:
        eps = find_step_size(grad_fn, x, inv_metric, np.ones(chains), rng)
    else:
        eps = check_positive(step_size, "step_size") * np.ones(chains)
    adaptation = WindowedAdaptation(
        warmup, eps, inv_metric, target_accept, adapt_metric,
        retune=lambda metric, old: find_step_size(grad_fn, x_now[0], metric, old, rng))
    x_now = [x]
    samples = np.empty((chains, n, dim))
    accept_sum, divergences = np.zeros(chains), np.zeros(chains, dtype=int)
    energy = np.empty((chains, n))
    report = Progress("hmc", warmup, n, progress)
    for t in range(warmup + n):
        report(t)
        p = rng.standard_normal((chains, dim)) / np.sqrt(inv_metric)
        h0 = hamiltonian(log_p, p, inv_metric)
        step = eps * rng.uniform(1 - jitter, 1 + jitter, size=chains) if jitter else eps
        x1, p1, log_p1, grad1 = leapfrog(grad_fn, x, p, step, n_leapfrog, inv_metric, grad)
        h1 = hamiltonian(log_p1, p1, inv_metric)
        delta = _energy_error(h0, h1)
        accept_prob = np.exp(np.minimum(0.0, delta))
        accept = rng.uniform(size=chains) < accept_prob
        x = np.where(accept[:, None], x1, x)
        log_p, grad = np.where(accept, log_p1, log_p), np.where(accept[:, None], grad1, grad)
        x_now[0] = x
        if t < warmup:
            eps, inv_metric = adaptation.step(t, x, accept_prob)
        else:
            samples[:, t - warmup] = x
            accept_sum += accept_prob
            divergences += -delta > MAX_ENERGY_ERROR
            energy[:, t - warmup] = np.where(accept, h1, h0)
    return Chains(samples, accept_sum / n, divergences=divergences, step_size=eps,
                  stats={"energy": energy, "inv_metric": inv_metric}, sampler="hmc")
