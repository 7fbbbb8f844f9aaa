"""Lipschitz constraints on a critic: gradient penalty, weight clipping, an estimate (G6, W2).

The Kantorovich-Rubinstein dual W1(P, Q) = sup_{||f||_L <= 1} E_P f - E_Q f
needs a 1-Lipschitz critic f. Two ways to keep a network near that class:

- Weight clipping (WGAN, Arjovsky et al. 2017): after every critic step,
  clip every parameter to [-c, c]. This bounds the Lipschitz constant by
  some K(c), not by 1, so the critic estimates K W1; crude but simple.
- Gradient penalty (WGAN-GP, Gulrajani et al. 2017): the optimal critic has
  ||grad f|| = 1 on the segments between coupled points, so add

      lambda E_{x_hat}[(||grad_x f(x_hat)||_2 - center)^2],
      x_hat = eps x + (1 - eps) x_fake,  eps ~ U[0, 1] one per sample,

  to the critic's loss. The norm is that of EACH sample's input gradient:
  one norm over the whole batch would penalise the batch's total, a
  different (and wrong) constraint. The penalty depends on the critic's
  parameters through grad_x f, so its gradient in them needs second-order
  autodiff: grad_x f is computed with ``create_graph=True`` and then
  differentiated again by the critic's backward pass. The one-sided variant
  penalises only norms above ``center``: max(0, ||grad f|| - center)^2.

Per-sample gradients by one backward pass: the batch's outputs are
independent given the parameters (a critic with no minibatch features), so
grad_x sum_i f(x_i) has row i equal to grad f(x_i).
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor
from dpm.distributions.base import resolve_rng


def _batch(name, x):
    x = np.asarray(getattr(x, "data", x), dtype=float)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch of points, got shape {x.shape}")
    return x


def _safe_norm(squared):
    """sqrt(s) with gradient 0 (not inf * 0 = NaN) where s = 0: the double where.

    Every s > 0 (the usual case: a zero input gradient is exceptional) needs
    no guard, and plain sqrt saves the penalty two ops forward and back.
    """
    positive = squared.data > 0
    if positive.all():
        return mg.sqrt(squared)
    safe = mg.where(positive, squared, np.ones_like(squared.data))
    return mg.where(positive, mg.sqrt(safe), np.zeros_like(squared.data))


def input_gradient_norms(critic, x, create_graph=True):
    """||grad_x f(x_i)||_2 for every sample i: a Tensor of shape (m,).

    ``critic`` maps a batch (m, ...) to outputs of shape (m,) or (m, 1).
    With ``create_graph=True`` the norms are differentiable in the critic's
    parameters (second order).
    """
    if getattr(critic, "mixes_samples", False):
        raise ValueError("critic has minibatch features (mixes_samples): row i of grad_x "
                         "sum_j f(x_j) is not grad f(x_i) for it")
    x = Tensor(_batch("x", x), requires_grad=True)
    out = critic(x)
    if out.shape not in ((x.shape[0],), (x.shape[0], 1)):
        raise ValueError(f"critic must map {x.shape[0]} points to shape ({x.shape[0]},) or "
                         f"({x.shape[0]}, 1), got {out.shape}")
    # Seeding the backward pass with ones is grad_x of sum_i f(x_i), without the sum's ops.
    grad_x = mg.gradients(out, x, grad_outputs=np.ones(out.shape, dtype=out.data.dtype),
                          create_graph=create_graph)
    axes = tuple(range(1, x.ndim))
    squared = mg.square(grad_x).sum(axis=axes) if axes else mg.square(grad_x)
    return _safe_norm(squared)


def interpolates(real, fake, rng):
    """x_hat = eps x + (1 - eps) x_fake with one eps ~ U[0, 1] per sample (an ndarray)."""
    real, fake = _batch("real", real), _batch("fake", fake)
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {real.shape} and "
                         f"{fake.shape}")
    eps = resolve_rng(rng).random((real.shape[0],) + (1,) * (real.ndim - 1))
    return eps * real + (1.0 - eps) * fake


def gradient_penalty(critic, real, fake, rng, center=1.0, one_sided=False):
    """mean_i (||grad f(x_hat_i)||_2 - center)^2 (WGAN-GP), a scalar Tensor (G6).

    ``real`` and ``fake``: batches of the same shape (arrays or Tensors; the
    fakes are treated as constants, as in Gulrajani et al.); ``rng`` draws
    the per-sample eps. ``one_sided=True``: mean_i max(0, norm_i - center)^2.
    Differentiable in the critic's parameters (call ``backward`` on a loss
    that contains it). Multiply by lambda (10 in the paper) yourself.
    """
    center = float(center)
    if not np.isfinite(center) or center < 0:
        raise ValueError(f"center must be a finite number >= 0, got {center!r}")
    norms = input_gradient_norms(critic, interpolates(real, fake, rng), create_graph=True)
    excess = norms - center
    if one_sided:
        excess = mg.relu(excess)
    return mg.square(excess).mean()


def clip_weights(module, c):
    """Clip every parameter of ``module`` to [-c, c] in place (WGAN's constraint); returns it."""
    c = float(c)
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"c must be a finite number > 0, got {c!r}")
    for p in module.parameters():
        np.clip(p.data, -c, c, out=p.data)
    return module


def lipschitz_estimate(critic, points, rng=None, pairs=None):
    """A lower bound on the Lipschitz constant of ``critic`` from samples.

    The larger of max_i ||grad f(x_i)||_2 over ``points`` and, with
    ``pairs`` > 0 random pairs drawn with ``rng``, max |f(x_i) - f(x_j)| /
    ||x_i - x_j||. Every such ratio is <= the Lipschitz constant, so this
    estimate is a lower bound that tightens with more points.
    """
    points = _batch("points", points)
    with mg.enable_grad():
        bound = float(np.max(input_gradient_norms(critic, points, create_graph=False).data))
    if pairs:
        rng = resolve_rng(rng)
        i, j = rng.integers(0, len(points), (2, int(pairs)))
        keep = i != j
        with mg.no_grad():
            values = np.asarray(critic(Tensor(points)).data, dtype=float).reshape(len(points))
        gaps = np.linalg.norm((points[i] - points[j]).reshape(len(i), -1), axis=1)[keep]
        ok = gaps > 0
        if ok.any():
            ratios = np.abs(values[i] - values[j])[keep][ok] / gaps[ok]
            bound = max(bound, float(ratios.max()))
    return bound
