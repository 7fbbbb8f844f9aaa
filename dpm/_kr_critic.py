"""The Kantorovich-Rubinstein critic: W1 from samples through the dual. Claim W2.

Part of `dpm.wasserstein` (import it from there). Kantorovich-Rubinstein:

    W1(P, Q) = sup over 1-Lipschitz f of E_P f(X) - E_Q f(Y)
             = (1/K) sup over K-Lipschitz f of the same,

so any Lipschitz f gives a lower bound from samples alone, and a neural
critic trained to maximise it (the WGAN critic) estimates W1. References:
Arjovsky, Chintala & Bottou, Wasserstein GAN (2017); Gulrajani et al.,
Improved Training of Wasserstein GANs (2017); Peyre & Cuturi, Computational
Optimal Transport (2019), sec. 3.1 (c-transforms) and 6.1.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.spatial.distance import cdist


class KRCritic(NamedTuple):
    """Result of `kr_critic_w1` (values in the units of the samples)."""
    w1: float           # the larger of the two certified lower bounds (see kr_critic_w1)
    critic: object      # minigrad.nn.MLP f acting on standardised points (see `standardise`)
    gap: float          # s (mean f(x) - mean f(y)), s the standardising scale
    lipschitz: float    # f's Lipschitz constant K on the standardised points: gap / K is the lecture's form
    stderr: float       # Monte Carlo standard error of w1: sqrt(var h(x) / n + var h(y) / m), h the chosen function
    standardise: tuple  # (centre, scale): the critic sees (point - centre) / scale


def lipschitz_envelope(points, values, max_points=5000, rng=None):
    """g(p) = min over points v of f(v) + ||p - v||, evaluated at every point, and K.

    g is 1-Lipschitz (a minimum of 1-Lipschitz cones), g <= f on the points,
    and g = f wherever f already is 1-Lipschitz: the c-transform that turns
    any dual potential into an admissible one (Peyre & Cuturi, sec. 3.1).
    Also returns K = max |f(u) - f(v)| / ||u - v|| over distinct points.
    In 1-D both are exact in O(n log n): only sorted neighbours matter, and
    the cone minimum is two sweeps. In d-D all pairs are visited in chunks,
    the cones taken from a random subset of max_points when there are more
    (g is then still 1-Lipschitz, K a lower bound).
    """
    points = points.reshape(points.shape[0], -1)
    if points.shape[1] == 1:
        order = np.argsort(points[:, 0], kind="stable")
        steps, sorted_values = np.diff(points[order, 0]), values[order]
        rises = np.abs(np.diff(sorted_values))
        lipschitz = float(np.max(rises[steps > 0] / steps[steps > 0], initial=0.0))
        envelope = sorted_values.copy()
        for k in range(1, envelope.shape[0]):  # cones opening to the right, then to the left
            envelope[k] = min(envelope[k], envelope[k - 1] + steps[k - 1])
        for k in range(envelope.shape[0] - 2, -1, -1):
            envelope[k] = min(envelope[k], envelope[k + 1] + steps[k])
        result = np.empty_like(envelope)
        result[order] = envelope
        return result, lipschitz
    apexes = np.arange(points.shape[0])
    if points.shape[0] > max_points:
        apexes = np.random.default_rng(rng).choice(points.shape[0], max_points, replace=False)
    envelope, lipschitz = np.empty(points.shape[0]), 0.0
    for start in range(0, points.shape[0], 256):  # 256 x len(apexes) distances at a time
        distances = cdist(points[start:start + 256], points[apexes])
        envelope[start:start + 256] = np.min(values[apexes][None, :] + distances, axis=1)
        rises = np.abs(values[start:start + 256, None] - values[apexes][None, :])
        distinct = distances > 0
        lipschitz = max(lipschitz, float(np.max(rises[distinct] / distances[distinct], initial=0.0)))
    return envelope, lipschitz


def kr_critic_w1(x, y, hidden=(64, 64), steps=500, lr=1e-3, rng=None, penalty="gradient",
                 penalty_weight=10.0, clip=0.01, batch_size=256):
    """W1 from samples by the Kantorovich-Rubinstein dual. Claim W2.

    W1(P, Q) = (1/K) sup over K-Lipschitz f of E_P f(X) - E_Q f(Y). A minigrad
    MLP f (hidden layers `hidden`, ReLU) is trained by Adam, its step size
    falling linearly to 0, to maximise the minibatch mean f(x) - mean f(y),
    kept Lipschitz by a penalty at random interpolates x_hat = t x + (1 - t) y
    or by clipping:
    - penalty="gradient": + penalty_weight * E max(0, ||grad f(x_hat)|| - 1)^2,
      the one-sided form (Petzka et al. 2018), which only punishes slopes
      above 1 (the constraint is ||grad f|| <= 1);
    - penalty="two-sided": + penalty_weight * E (||grad f(x_hat)|| - 1)^2 as
      in WGAN-GP (Gulrajani et al. 2017). In 1-D it puts a barrier of height
      penalty_weight at slope 0, which can trap a critic that starts with the
      wrong sign at -W1 (seen here with some seeds);
    - penalty="clip": every weight clipped to [-clip, clip] after each step
      (WGAN; f is then K-Lipschitz for some unknown small K).
    The penalties need gradients of gradients (create_graph).
    None makes f exactly 1-Lipschitz (a penalty lets slopes reach about
    1 + 1/penalty_weight), so the estimate is made from two 1-Lipschitz
    functions on the pooled points: the envelope g of f
    (`lipschitz_envelope`) and the lecture's f / K, K = f's Lipschitz constant
    on the points. Each gives a lower bound on W1 between the empirical
    distributions of x and y (weak duality); w1 is the larger, and it reaches
    W1 as f approaches an optimal potential. (f / K alone suffers from any
    single steep stretch of f; the envelope alone from a uniformly flat f.)

    x (n,) or (n, d), y (m,) or (m, d): samples of P and Q, standardised by
    the pooled mean and one pooled scale s (W1 scales by s; results are
    scaled back). Returns KRCritic(w1, critic, gap, lipschitz, stderr, standardise).
    """
    import minigrad
    from minigrad import Tensor
    from minigrad.nn import MLP
    from minigrad.optim import Adam
    from dpm.wasserstein import _samples
    x, y = _samples("x", x), _samples("y", y)
    x, y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got shapes {x.shape} and {y.shape}")
    if penalty not in ("gradient", "two-sided", "clip"):
        raise ValueError(f"penalty must be 'gradient', 'two-sided' or 'clip', got {penalty!r}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    for name, value in (("lr", lr), ("penalty_weight", penalty_weight), ("clip", clip)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    rng = np.random.default_rng(rng)
    pooled = np.concatenate([x, y])
    centre, scale = pooled.mean(axis=0), pooled.std()
    scale = scale if scale > 0 else 1.0
    x, y = (x - centre) / scale, (y - centre) / scale
    critic = MLP([x.shape[1], *hidden, 1], activation="relu", rng=rng)
    optimiser = Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9))  # WGAN-GP's choice
    b = int(batch_size)
    for step in range(int(steps)):
        x_batch, y_batch = x[rng.integers(0, x.shape[0], b)], y[rng.integers(0, y.shape[0], b)]
        batch = Tensor(np.concatenate([x_batch, y_batch]))
        if penalty != "clip":  # one forward pass over the samples and the interpolates
            t = rng.random((b, 1))
            between = Tensor(t * x_batch + (1 - t) * y_batch, requires_grad=True)
            values = critic(minigrad.concatenate([batch, between]))
            slope = minigrad.gradients(values[2 * b:].sum(), between, create_graph=True)
            squared = (slope * slope).sum(axis=1)
            # sqrt has no derivative at 0 (a flat ReLU region): the double
            # where keeps that branch's NaN out of the gradient
            positive = squared.data > 0
            norm = minigrad.where(positive, minigrad.sqrt(minigrad.where(positive, squared, 1.0)), 0.0)
            excess = minigrad.relu(norm - 1.0) if penalty == "gradient" else norm - 1.0
            loss = penalty_weight * (excess ** 2).mean()
        else:
            values, loss = critic(batch), 0.0
        loss = loss + values[b:2 * b].mean() - values[:b].mean()  # minimise -gap
        optimiser.zero_grad()
        loss.backward()
        optimiser.lr = lr * (1.0 - step / int(steps))
        optimiser.step()
        if penalty == "clip":
            for parameter in critic.parameters():
                np.clip(parameter.data, -clip, clip, out=parameter.data)
    with minigrad.no_grad():
        values = critic(Tensor(np.concatenate([x, y]))).data[:, 0]
    n = x.shape[0]
    envelope, lipschitz = lipschitz_envelope(np.concatenate([x, y]), values, rng=rng)
    # Two 1-Lipschitz functions, so two certified lower bounds: the envelope
    # of f (best when f's slopes are about 1, as the penalty makes them) and
    # f / K (best when f is uniformly flat, as clipping makes it).
    gap = float(values[:n].mean() - values[n:].mean())
    scaled = values / lipschitz if lipschitz > 0 else np.zeros_like(values)
    best = max((envelope, scaled), key=lambda h: h[:n].mean() - h[n:].mean())
    w1 = float(best[:n].mean() - best[n:].mean())
    stderr = float(np.sqrt(best[:n].var(ddof=1) / n + best[n:].var(ddof=1) / (best.shape[0] - n)))
    return KRCritic(scale * w1, critic, scale * gap, lipschitz, scale * stderr, (centre, scale))
