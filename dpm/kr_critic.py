"""The Kantorovich-Rubinstein critic: W1 from samples through the dual. Claim W2.

Re-exported by `dpm.wasserstein`. Kantorovich-Rubinstein:

    W1(P, Q) = sup over 1-Lipschitz f of E_P f(X) - E_Q f(Y)
             = (1/K) sup over K-Lipschitz f of the same,

so any 1-Lipschitz f gives a lower bound from samples alone, and a neural
critic trained to maximise it (the WGAN critic) estimates W1. The critic is
chosen from data, so its gap is measured on points it was not trained on
(held out, or fresh): measured on its own training points it is biased
upward, by overfitting, and its standard error is too small. References:
Arjovsky, Chintala & Bottou, Wasserstein GAN (2017); Gulrajani et al.,
Improved Training of Wasserstein GANs (2017); Peyre & Cuturi, Computational
Optimal Transport (2019), sec. 3.1 (c-transforms) and 6.1.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.spatial.distance import cdist

from dpm.montecarlo import Estimate


class KRCritic(NamedTuple):
    """Result of `kr_critic_w1` (values in the units of the samples)."""
    w1: Estimate        # mean h(x') - mean h(y') on the held-out points x', y' (see
    #                     kr_critic_w1), stderr sqrt(var h(x') / n' + var h(y') / m'),
    #                     n = min(n', m')
    critic: object      # minigrad.nn.MLP f acting on standardised points (see `standardise`)
    gap: float          # s (mean f(x') - mean f(y')) held out, s the standardising scale
    lipschitz: float    # f's Lipschitz constant K on the standardised training points
    #                     (gap / K is the lecture's form)
    standardise: tuple  # (centre, scale): the critic sees (point - centre) / scale
    w1_train: float     # mean h(x) - mean h(y) on the training points: in-sample, biased upward


def lipschitz_envelope(points, values, max_points=5000, rng=None, queries=None):
    """g(p) = min over points v of f(v) + ||p - v||, evaluated at every point, and K.

    g is 1-Lipschitz (a minimum of 1-Lipschitz cones), g <= f on the points,
    and g = f wherever f already is 1-Lipschitz: the c-transform that turns
    any dual potential into an admissible one (Peyre & Cuturi, sec. 3.1).
    g is defined everywhere, not only on the points: with `queries` (k,) or
    (k, d) it is evaluated there instead (the same cones), which is how a
    critic fitted on some points is applied to held-out ones.
    Also returns K = max |f(u) - f(v)| / ||u - v|| over distinct points.
    In 1-D both are exact in O(n log n): only sorted neighbours matter, and
    the cone minimum is two sweeps. In d-D all pairs are visited in chunks,
    the cones taken from a random subset of max_points when there are more
    (g is then still 1-Lipschitz, K a lower bound).
    """
    points = points.reshape(points.shape[0], -1)
    queries = points if queries is None else queries.reshape(queries.shape[0], -1)
    if points.shape[1] == 1:
        order = np.argsort(points[:, 0], kind="stable")
        sorted_points, sorted_values = points[order, 0], values[order]
        steps = np.diff(sorted_points)
        rises = np.abs(np.diff(sorted_values))
        lipschitz = float(np.max(rises[steps > 0] / steps[steps > 0], initial=0.0))
        envelope = sorted_values.copy()
        for k in range(1, envelope.shape[0]):  # cones opening to the right, then to the left
            envelope[k] = min(envelope[k], envelope[k - 1] + steps[k - 1])
        for k in range(envelope.shape[0] - 2, -1, -1):
            envelope[k] = min(envelope[k], envelope[k + 1] + steps[k])
        # g is 1-Lipschitz on the points, so a cone beyond the nearest point
        # on either side of a query never gives the minimum there
        right = np.searchsorted(sorted_points, queries[:, 0])
        left, right = np.maximum(right - 1, 0), np.minimum(right, sorted_points.shape[0] - 1)
        return np.minimum(envelope[left] + np.abs(queries[:, 0] - sorted_points[left]),
                          envelope[right] + np.abs(queries[:, 0] - sorted_points[right])), lipschitz
    apexes = np.arange(points.shape[0])
    if points.shape[0] > max_points:
        apexes = np.random.default_rng(rng).choice(points.shape[0], max_points, replace=False)
    lipschitz = 0.0
    for start in range(0, points.shape[0], 256):  # 256 x len(apexes) distances at a time
        distances = cdist(points[start:start + 256], points[apexes])
        rises = np.abs(values[start:start + 256, None] - values[apexes][None, :])
        distinct = distances > 0
        lipschitz = max(lipschitz, float(np.max(rises[distinct] / distances[distinct], initial=0.0)))
    envelope = np.empty(queries.shape[0])
    for start in range(0, queries.shape[0], 256):
        distances = cdist(queries[start:start + 256], points[apexes])
        envelope[start:start + 256] = np.min(values[apexes][None, :] + distances, axis=1)
    return envelope, lipschitz


def kr_critic_w1(x, y, hidden=(64, 64), steps=500, lr=1e-3, rng=None, penalty="gradient",
                 penalty_weight=10.0, clip=0.01, batch_size=256, holdout=0.5, fresh=None):
    """W1 from samples by the Kantorovich-Rubinstein dual, on held-out points. Claim W2.

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
    1 + 1/penalty_weight), so the estimate uses one of two functions that are
    1-Lipschitz everywhere, built from f on the training points: the envelope
    g of f (`lipschitz_envelope`) and the envelope of the lecture's f / K,
    K = f's Lipschitz constant on those points (equal to f / K there when K
    is exact). The one with the larger gap on the training points is h. (f / K
    alone suffers from any single steep stretch of f; the envelope alone from
    a uniformly flat f. Off the training points f / K itself may be steeper
    than 1, so the reported lecture form gap / K is not certified there.)

    Held-out estimate. h was chosen to fit the training points, so its gap
    there (`w1_train`) is biased upward and its sample variance understates
    the error. w1 is instead the plain two-sample mean difference on points h
    never saw, x' ~ P and y' ~ Q:

        w1 = mean h(x') - mean h(y'),  stderr^2 = var h(x') / n' + var h(y') / m',

    an unbiased estimate, given h, of E_P h - E_Q h <= W1(P, Q) (weak
    duality; equality when h is an optimal potential), with an honest
    standard error; also w1 <= the exact W1 between the empirical
    distributions of x' and y'. The held-out points are `fresh` = (x', y')
    when given (then all of x, y train f), otherwise a random fraction
    `holdout` of x and of y. holdout=0 trains and estimates on the same
    points (the in-sample estimate: w1 = w1_train, a certified lower bound on
    W1 between the empirical distributions of x and y, but biased upward as
    an estimate of W1(P, Q)).

    x (n,) or (n, d), y (m,) or (m, d): samples of P and Q, standardised by
    the pooled mean and one pooled scale s of the training points (W1 scales
    by s; results are scaled back). Returns
    KRCritic(w1, critic, gap, lipschitz, standardise, w1_train), w1 an Estimate.
    """
    import minigrad
    from minigrad import Tensor
    from minigrad.nn import MLP
    from minigrad.optim import Adam
    from dpm.wasserstein import _samples
    x, y = _samples("x", x), _samples("y", y)
    x, y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got shapes {x.shape} "
                         f"and {y.shape}")
    if penalty not in ("gradient", "two-sided", "clip"):
        raise ValueError(f"penalty must be 'gradient', 'two-sided' or 'clip', got {penalty!r}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    for name, value in (("lr", lr), ("penalty_weight", penalty_weight), ("clip", clip)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    rng = np.random.default_rng(rng)
    x, x_test = _split("x", x, holdout, fresh, 0, rng)
    y, y_test = _split("y", y, holdout, fresh, 1, rng)
    pooled = np.concatenate([x, y])
    centre, scale = pooled.mean(axis=0), pooled.std()
    scale = scale if scale > 0 else 1.0
    x, y, x_test, y_test = ((points - centre) / scale for points in (x, y, x_test, y_test))
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
    train, test = np.concatenate([x, y]), np.concatenate([x_test, y_test])
    with minigrad.no_grad():
        values, values_test = (critic(Tensor(points)).data[:, 0] for points in (train, test))
    # Both candidates are fixed by the training points alone, then applied to
    # every point (training first, held-out after): the envelope of f (best
    # when f's slopes are about 1, as the penalty makes them) and that of
    # f / K (best when f is uniformly flat, as clipping makes it).
    everywhere = np.concatenate([train, test])
    envelope, lipschitz = lipschitz_envelope(train, values, rng=rng, queries=everywhere)
    scaled = (lipschitz_envelope(train, values / lipschitz, rng=rng, queries=everywhere)[0]
              if lipschitz > 0 else np.zeros(everywhere.shape[0]))
    n, n_test = x.shape[0], x_test.shape[0]
    split = (n, train.shape[0], train.shape[0] + n_test)  # x | y | x' | y'

    def mean_gap(h):
        h_x, h_y, h_x_test, h_y_test = np.split(h, split)
        return h_x.mean() - h_y.mean(), h_x_test.mean() - h_y_test.mean(), h_x_test, h_y_test

    best = max((envelope, scaled), key=lambda h: mean_gap(h)[0])  # chosen on the training points
    w1_train, w1, h_x, h_y = mean_gap(best)
    stderr = np.sqrt(h_x.var(ddof=1) / h_x.shape[0] + h_y.var(ddof=1) / h_y.shape[0])
    gap = values_test[:n_test].mean() - values_test[n_test:].mean()
    w1 = Estimate.from_tensor(scale * w1, scale * stderr, min(h_x.shape[0], h_y.shape[0]))
    return KRCritic(w1, critic, float(scale * gap), lipschitz, (centre, scale),
                    float(scale * w1_train))


def _split(name, points, holdout, fresh, which, rng):
    """(training points, held-out points) of one sample: see kr_critic_w1's holdout and fresh."""
    if fresh is not None:
        if not isinstance(fresh, (tuple, list)) or len(fresh) != 2:
            raise ValueError("fresh must be a pair (x_fresh, y_fresh) of samples, "
                             f"got {type(fresh).__name__}")
        from dpm.wasserstein import _samples
        held_out = _samples(f"fresh[{which}]", fresh[which])
        held_out = held_out.reshape(held_out.shape[0], -1)
        if held_out.shape[1] != points.shape[1] or held_out.shape[0] < 2:
            raise ValueError(f"fresh[{which}] must hold at least 2 points of dimension "
                             f"{points.shape[1]}, got shape {np.shape(fresh[which])}")
        return points, held_out
    if not np.isfinite(holdout) or not 0 <= holdout < 1:
        raise ValueError(f"holdout must be a fraction in [0, 1), got {holdout}")
    if holdout == 0:
        if points.shape[0] < 2:
            raise ValueError(f"{name} needs at least 2 points for a standard error, "
                             f"got {points.shape[0]}")
        return points, points
    k = int(round(holdout * points.shape[0]))
    if k < 2 or k == points.shape[0]:
        raise ValueError(f"holdout={holdout} holds out {k} of the {points.shape[0]} points of "
                         f"{name}; need at least 2 held out and 1 to train")
    order = rng.permutation(points.shape[0])
    return points[order[k:]], points[order[:k]]
