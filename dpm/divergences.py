"""Divergences between distributions by Monte Carlo (claims K5, K6, K7).

Each estimate is an average of per-draw values, returned as an ``Estimate``:
a minigrad Tensor (so ``float(d)`` and ``d.backward()`` work) that also
carries ``d.stderr`` (sample standard deviation of the per-draw values over
sqrt(n)) and ``d.n``. Draws come from ``rsample`` where the sampled law
``has_rsample`` (pathwise gradients reach its Tensor parameters); otherwise
from ``sample``, and a score-function term (log p - stop(log p)) * stop(value)
is added, which is 0 in value and gives the REINFORCE gradient
E[value d log p] for the sampled law's parameters (dpm.montecarlo, M6).

What each needs (lecture 000, "Summary of methods"; claim K7). A missing
piece raises a TypeError naming the argument and what it lacks:

                      log p(x)   x ~ P   log q(x)   x ~ Q
    cross_entropy                  x        x
    forward_kl, kl        x        x        x
    reverse_kl            x                 x         x (rsample)
    js_divergence         x        x        x         x
    f_divergence          x                 x         x
    mmd                            x                  x

"log p" may be a distribution or any callable x -> log p(x) (an unnormalised
target shifts KL by its log normaliser); "x ~ P" a distribution with
``sample`` (or an array of samples for cross_entropy; mmd takes only
arrays or Tensors of samples). An infinite divergence (a draw where the
other density is 0) gives inf with stderr NaN. ``n`` is the
number of draws (an integer >= 2, so that a standard error exists) and
``rng`` a numpy Generator (None draws an unseeded one, as in
dpm.distributions).
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor, as_tensor
from dpm.distributions.base import resolve_rng
from dpm.generators import GENERATORS, generator  # noqa: F401  (GENERATORS re-exported)
from dpm.montecarlo import Estimate, check_sample_size

LOG2 = float(np.log(2.0))


def _estimate(values):
    """Mean over the leading (draw) axis as an Estimate, with its standard error."""
    return Estimate.from_draws(values)


# ------------------------------------------------------- what each one needs
def _name(dist):
    return type(dist).__name__


# the letter of the law each argument stands for in the lecture's table
_LAW = {"p": "p", "q": "q", "data": "p", "model": "q"}


def _log_density(dist, x, role):
    """log dist(x) as a Tensor; dist is a distribution or a callable log density."""
    if hasattr(dist, "log_prob"):
        try:
            return as_tensor(dist.log_prob(x))
        except NotImplementedError:
            pass
    elif callable(dist):
        return as_tensor(dist(x))
    raise TypeError(f"{role} ({_name(dist)}) must give log densities (a log_prob method or a "
                    f"callable x -> log density): this divergence needs log {_LAW[role]}(x)")


def _draw(dist, n, rng, role, reparameterized=False):
    """n draws of dist: (x, True) by rsample when has_rsample, else (ndarray, False)."""
    if getattr(dist, "has_rsample", False):
        return dist.rsample((n,), rng), True
    if reparameterized:
        raise TypeError(f"{role} ({_name(dist)}) has no reparameterized sampler "
                        f"(has_rsample is False): this divergence needs reparameterized "
                        f"samples of {_LAW[role]}; kl(model, data, n, rng) falls back to "
                        f"score-function gradients")
    sample = getattr(dist, "sample", None)
    if sample is not None:
        try:
            return sample((n,), rng), False
        except NotImplementedError:
            pass
    raise TypeError(f"{role} ({_name(dist)}) cannot be sampled (no sample method): this "
                    f"divergence needs samples of {_LAW[role]}")


def _per_draw(values, log_density, reparameterized):
    """values plus the score-function term (0 in value) when draws are not reparameterized."""
    if reparameterized or not log_density.requires_grad:
        return values
    return values + (log_density - log_density.detach()) * values.detach()


def _sampled_values(dist, n, rng, role, g):
    """Per-draw g(x, log dist(x)) for x ~ dist, made differentiable in dist's parameters."""
    x, reparameterized = _draw(dist, n, rng, role)
    log_density = _log_density(dist, x, role)
    return _per_draw(g(x, log_density), log_density, reparameterized)


# ----------------------------------------------------------- KL and friends
def kl(p, q, n, rng=None):
    """KL(P || Q) = E_P[log p(X) - log q(X)], X ~ P, by Monte Carlo (needs log p, x ~ P, log q).

    Properties: >= 0, = 0 iff P = Q, not symmetric, inf when P has mass where
    q = 0 (then the estimate is inf or NaN as soon as a draw lands there).
    Computed here: the mean of n per-draw log-ratios, unbiased, variance
    Var_P[log p - log q] / n; pathwise gradient in P's parameters when P has
    rsample, score function otherwise; always pathwise in Q's. Reference:
    Kullback and Leibler (1951); lecture 000, "Forward KL".
    """
    n, rng = check_sample_size(n), resolve_rng(rng)
    return _estimate(_sampled_values(
        p, n, rng, "p", lambda x, log_p: log_p - _log_density(q, x, "q")))


def forward_kl(data, model, n, rng=None):
    """KL(P_data || Q_model) = E_P[log p - log q] from draws of the data (claims K7, F1, F2).

    Properties: mean-seeking (zero-avoiding): minimising over Q spreads Q over
    all of P's mass; KL = H(P, Q) - H(P), so its argmin over Q is that of the
    cross-entropy. Computed here as ``kl(data, model, n, rng)``, which needs
    log p: ``data`` given as an array of samples has no log p, and raises a
    TypeError pointing to ``cross_entropy(samples, model)`` (KL minus the
    constant H(P), the maximum-likelihood loss). Reference: lecture 000.
    """
    if not hasattr(data, "log_prob") and not callable(data):
        raise TypeError(f"forward_kl needs log p of the data (a distribution), got "
                        f"{_name(data)}; for samples only use cross_entropy(samples, model), "
                        f"which is KL minus the constant entropy H(P)")
    return kl(data, model, n, rng)


def reverse_kl(data, model, n, rng=None):
    """KL(Q_model || P_data) = E_Q[log q(Z) - log p(Z)], Z = model.rsample (claims K7, F3).

    Properties: mode-seeking (zero-forcing): Q is punished wherever p = 0 but
    not for missing mass of P, so it settles on one mode; an unnormalised log
    p shifts it by a constant (the ELBO). Computed here: mean of n pathwise
    draws, unbiased, gradients through z = g(eps; theta) to the model's
    Tensor parameters. Needs log p (``data``: distribution or callable), log
    q and reparameterized samples of the model; a model without rsample
    raises TypeError. Reference: lecture 000, "Reverse KL"; Kingma and
    Welling (2014) for the pathwise gradient.
    """
    n, rng = check_sample_size(n), resolve_rng(rng)
    z, _ = _draw(model, n, rng, "model", reparameterized=True)
    return _estimate(_log_density(model, z, "model") - _log_density(data, z, "data"))


def cross_entropy(data, model, n=None, rng=None):
    """H(P, Q) = -E_P[log q(X)], X ~ P (needs x ~ P and log q; claim K7).

    Properties: H(P, Q) = H(P) + KL(P || Q) >= H(P); its minimiser over Q is
    forward KL's: maximum likelihood. Computed here: the mean of -log q over
    ``data``'s draws: ``data`` is a distribution (n draws, rsample where it
    has one) or an array of samples (all used, shape (N,) + event shape; n
    must then be None or N). Unbiased, variance Var_P[log q] / n. Reference:
    lecture 000, "Forward KL" (KL = cross-entropy - entropy).
    """
    if hasattr(data, "sample") or hasattr(data, "rsample"):
        n, rng = check_sample_size(n), resolve_rng(rng)
        x, reparameterized = _draw(data, n, rng, "data")
        values = -_log_density(model, x, "model")
        if not reparameterized:  # score term for the data's parameters, if it has a density
            try:
                values = _per_draw(values, _log_density(data, x, "data"), False)
            except TypeError:
                pass
        return _estimate(values)
    samples = np.asarray(getattr(data, "data", data), dtype=np.float64)
    if samples.ndim == 0 or not np.all(np.isfinite(samples)):
        raise ValueError(f"data must be a distribution or an array of finite samples, got "
                         f"{_name(data)} of shape {samples.shape}")
    if n is not None and n != len(samples):
        raise ValueError(f"n = {n} differs from the {len(samples)} samples given; pass n=None")
    check_sample_size(len(samples))
    return _estimate(-_log_density(model, data if isinstance(data, Tensor) else samples, "model"))


def js_divergence(p, q, n, rng=None):
    """JSD(P || Q) = 1/2 KL(P || M) + 1/2 KL(Q || M), M = (P + Q)/2 (claims K5, K7).

    Properties: symmetric, 0 <= JSD <= log 2, = log 2 exactly when the
    supports are disjoint (then it gives no gradient: claim K8). Computed
    here with log m = logaddexp(log p, log q) - log 2 (the mixture as a log
    density), from n draws of each law: per-pair values
    1/2 [log p(x_i) - log m(x_i)] + 1/2 [log q(y_i) - log m(y_i)], unbiased,
    the pairs independent. Needs log p, x ~ P, log q, y ~ Q. Reference: Lin
    (1991); lecture 000, "Jensen-Shannon divergence"; Goodfellow et al.
    (2014) for the GAN value 2 JSD - log 4.
    """
    n, rng = check_sample_size(n), resolve_rng(rng)

    def half(own, other, role, other_role):
        def g(x, log_own):
            log_other = _log_density(other, x, other_role)
            log_m = mg.logsumexp(mg.stack([log_own, log_other], axis=0), axis=0) - LOG2
            return (log_own - log_m) * 0.5
        return _sampled_values(own, n, rng, role, g)

    return _estimate(half(p, q, "p", "q") + half(q, p, "q", "p"))


# ------------------------------------------------------------- f-divergences
def f_divergence(p, q, f, n, rng=None):
    """D_f(P || Q) = E_Q[f(p(Y) / q(Y))], Y ~ Q, f convex with f(1) = 0 (claims K6, K7).

    ``f`` is a name in ``dpm.generators.GENERATORS`` (forward_kl t log t,
    reverse_kl -log t, hellinger (sqrt t - 1)^2 and hellinger_2 2(1 - sqrt t),
    total_variation 1/2 |t - 1| (the lecture's "1/2 t - 1" lost its bars),
    pearson (t - 1)^2, pearson_2 t^2 - 1, pearson_3 t^2 - t, neyman
    (1 - t)^2 / t, neyman_2 1/t - 1, neyman_3 1/t - t, and js) or a callable
    f(t) on Tensors.

    Properties: >= 0 with equality iff P = Q (Jensen, f convex, f(1) = 0);
    forward_kl gives KL(P || Q), reverse_kl KL(Q || P), hellinger and
    hellinger_2 both 2 (1 - int sqrt(p q)) (twice the squared Hellinger
    distance, in [0, 2]), total_variation sup_A |P(A) - Q(A)| in [0, 1].
    Computed here: mean over n draws of Q of f at s = log p - log q, the
    named generators in log-space, a callable at t = exp(s); unbiased,
    variance Var_Q[f(p/q)] / n (infinite for Pearson when q's tails are
    lighter than p's). Only where q > 0 is seen: when P has mass where q = 0
    the estimate misses f'(inf) P(q = 0) (see dpm.quadrature.f_divergence).
    Needs log p (distribution or callable), log q and y ~ Q. Reference:
    Csiszar (1967), Ali and Silvey (1966); Nowozin et al. (2016), f-GAN.
    """
    if isinstance(f, str):
        f_of_log_t = generator(f).f_log
    elif callable(f):
        f_of_log_t = lambda s: as_tensor(f(mg.exp(s)))  # noqa: E731
    else:
        raise TypeError(f"f must be a generator name or a callable f(t), got {_name(f)}")
    n, rng = check_sample_size(n), resolve_rng(rng)
    return _estimate(_sampled_values(
        q, n, rng, "q", lambda y, log_q: f_of_log_t(_log_density(p, y, "p") - log_q)))


# ---------------------------------------------------------------------- MMD
def gaussian_kernel(bandwidth=1.0):
    """k(x, y) = exp(-|x - y|^2 / (2 h^2)) as a function (x (n, d), y (m, d)) -> Gram (n, m)."""
    if not (np.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"bandwidth must be a finite number > 0, got {bandwidth!r}")

    def kernel(x, y):
        difference = x.reshape((x.shape[0], 1, -1)) - y.reshape((1, y.shape[0], -1))
        return mg.exp(mg.sum(mg.square(difference), axis=-1) * (-0.5 / bandwidth ** 2))
    return kernel


def _as_points(x, name):
    x = as_tensor(x)
    if x.ndim not in (1, 2) or x.shape[0] < 2 or not np.all(np.isfinite(x.data)):
        raise ValueError(f"{name} must hold at least 2 finite points, shape (n,) or (n, d), "
                         f"got shape {x.shape}")
    return x.reshape((x.shape[0], 1)) if x.ndim == 1 else x


def mmd(x, y, kernel="gaussian", bandwidth=1.0):
    """Unbiased U-statistic estimate of MMD^2(P, Q) from samples x ~ P, y ~ Q (claim K7).

    Definition: MMD^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y), X, X' ~ P and
    Y, Y' ~ Q independent; for a characteristic kernel (the Gaussian) it is
    0 iff P = Q. Properties: symmetric; the estimate below is unbiased, so it
    can be negative when P = Q (its mean is 0 then). Computed here:

        1/(n(n-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
            - 2/(nm) sum_{i, j} k(x_i, y_j)

    with all n^2 + m^2 + nm kernel values (memory n m d), differentiable in
    x and y when they are Tensors. Needs only samples of both laws. ``kernel``
    is "gaussian" (exp(-|x - y|^2 / (2 bandwidth^2))) or a callable
    (x (n, d), y (m, d)) -> Gram Tensor (n, m). Returns an ``Estimate``
    (``.n`` = min(n, m)) whose stderr is the two-sample delete-one jackknife
    (Arvesen 1969; ``_jackknife_stderr``): a U-statistic is no mean of
    independent per-draw values, so the sd / sqrt(n) of the other
    estimators does not apply. The jackknife is consistent where P != Q and
    errs high (conservative) near P = Q, where the U-statistic degenerates.
    Reference: Gretton et al. (2012), "A kernel two-sample test", eq. (3).
    """
    x, y = _as_points(x, "x"), _as_points(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got shapes {x.shape} "
                         f"and {y.shape}")
    if isinstance(kernel, str):
        if kernel != "gaussian":
            raise ValueError(f"kernel must be 'gaussian' or a callable, got {kernel!r}")
        kernel = gaussian_kernel(bandwidth)
    elif not callable(kernel):
        raise TypeError(f"kernel must be 'gaussian' or a callable, got {_name(kernel)}")
    n, m = x.shape[0], y.shape[0]

    if min(n, m) < 3:
        raise ValueError(f"x and y must hold at least 3 points each for a standard error, got "
                         f"{n} and {m}")
    grams = kernel(x, x), kernel(y, y), kernel(x, y)

    def off_diagonal_mean(gram, size):
        # drop the i = j terms: they make the plug-in estimate biased upward
        return mg.sum(gram * (1.0 - np.eye(size))) * (1.0 / (size * (size - 1)))
    value = (off_diagonal_mean(grams[0], n) + off_diagonal_mean(grams[1], m)
             - mg.mean(grams[2]) * 2.0)
    return Estimate.from_tensor(value, _jackknife_stderr(*(g.data for g in grams)), min(n, m))


def _jackknife_stderr(k_xx, k_yy, k_xy):
    """Two-sample delete-one jackknife s.e. of the MMD^2 U-statistic, from the Gram matrices.

    Deleting x_i leaves U_xx^(-i) = (S_xx - 2 r_i) / ((n-1)(n-2)), r_i its
    off-diagonal row sum, and the cross term (S_xy - c_i) / ((n-1) m), c_i
    row i of k_xy; likewise for y_j. Variance: (n-1)/n sum_i (theta_(i) -
    mean)^2 + (m-1)/m sum_j (theta_(j) - mean)^2. O(n^2 + m^2 + nm).
    """
    n, m = k_xy.shape

    def within(gram, size):
        rows = gram.sum(axis=1) - np.diag(gram)
        return rows, rows.sum()
    r_x, s_xx = within(k_xx, n)
    r_y, s_yy = within(k_yy, m)
    c_x, c_y, s_xy = k_xy.sum(axis=1), k_xy.sum(axis=0), k_xy.sum()
    drop_x = ((s_xx - 2 * r_x) / ((n - 1) * (n - 2)) + s_yy / (m * (m - 1))
              - 2 * (s_xy - c_x) / ((n - 1) * m))
    drop_y = (s_xx / (n * (n - 1)) + (s_yy - 2 * r_y) / ((m - 1) * (m - 2))
              - 2 * (s_xy - c_y) / (n * (m - 1)))
    variance = ((n - 1) / n * np.sum((drop_x - drop_x.mean()) ** 2)
                + (m - 1) / m * np.sum((drop_y - drop_y.mean()) ** 2))
    return np.sqrt(variance)
