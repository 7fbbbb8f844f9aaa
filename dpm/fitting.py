"""Fit a Normal N(mu, sigma) to a 1-D target by stochastic gradient descent on a divergence (F1-F4).

Lecture 000 ("Forward KL: learning a normal distribution", "Reverse KL:
learning a bimodal", "Jensen-Shannon divergence: bimodal") fits
Q = N(mu, sigma) to a target P by minimising one of

    forward KL   KL(P || Q) = E_P[log p(x) - log q(x)]           samples of P, log q (and log p)
    reverse KL   KL(Q || P) = E_Q[log q(x) - log p(x)]           reparameterized samples of Q, log p
    JS           1/2 KL(P || M) + 1/2 KL(Q || M),  M = (P + Q)/2  samples of both, both densities

and shows how the choice decides the answer on the bimodal
P = 1/2 N(-7.3, 1.4) + 1/2 N(7.3, 1.4): forward KL covers both modes (its
optimum over Normals matches P's mean and variance, F2), reverse KL and JS
seek one mode, chosen by the start (F3, F4).

How it is computed here. Each step draws fresh samples from ``rng``, forms
the Monte Carlo estimate of the divergence with ``dpm.divergences`` (an
unbiased estimate whose pathwise gradient is unbiased for the gradient of the
exact divergence) and takes one Adam step on (mu, rho), sigma = softplus(rho)
= log(1 + e^rho):

    sigma stays positive whatever step is taken; for sigma >~ 1 a step in rho
    is nearly the same step in sigma (d sigma / d rho = sigmoid(rho)).

Adam (minigrad.optim.Adam), not plain SGD, because the gradient's size
changes by orders of magnitude along one path and between the experiments
(forward KL from N(0, 1) to N(-7.3, 3.2) starts with d/dmu ~ 7; JS from N(0, 1)
between the two modes starts on a plateau where it is ~1e-2). Adam's
per-coordinate normalisation makes each early step about ``lr`` in every
coordinate, so one learning rate (0.01) serves every experiment. Its
second-moment decay is beta2 = 0.99 rather than the usual 0.999: a memory of
~100 steps forgets the large gradients of the start (d/dsigma ~ -55 at
N(0, 1) in F2) soon enough; with 0.999 the steps stay many times smaller
than ``lr`` for ~1000 steps and F2 stalls near sigma = 5.

The optimiser is part of the answer on the bimodal JS landscape. Its exact
gradient flow from N(+-1, 1) does not reach a mode: it grows sigma first and
ends in the symmetric local minimum N(0, 7.385) (JS 0.2652, above the modes'
0.2158; see demos/fitting.py). Adam's equal early steps in mu and sigma carry
the fit to the mode of the start's side, as in the lecture, when sigma moves
additively (softplus) and ``lr`` is small (0.01); with sigma = exp(rho)
("log") sigma grows geometrically and the fit goes wide instead. Both are
offered through ``scale_param``. With a constant ``lr`` the iterates end
fluctuating around the optimum; ``tail_average`` averages the last iterates
and gives a batch-means standard error of that average.

The result unpacks as ``loc, scale = fit_normal(...)`` and also carries the
optimisation path and the loss curve (used by the loss-landscape demo, F5).
"""
from __future__ import annotations

import numbers

import numpy as np
from scipy import optimize

import minigrad as mg
from minigrad.optim import Adam
from dpm import divergences, quadrature
from dpm.distributions import Normal
from dpm.distributions.base import resolve_rng
from dpm.montecarlo import check_sample_size

# divergence name -> the dpm.divergences estimator that computes it. Its arguments are
# forward_kl(data, model), reverse_kl(data, model), js_divergence(p, q): the
# always (target, fitted Normal, n, rng).
DIVERGENCES = {"forward_kl": "forward_kl", "reverse_kl": "reverse_kl", "js": "js_divergence"}

# sigma = to_scale(rho) for the unconstrained parameter rho, and its inverse.
# softplus(rho) = log(1 + e^rho); its inverse log(e^s - 1) = s + log(1 - e^-s).
SCALE_PARAMETERISATIONS = {
    "softplus": (mg.softplus, lambda s: s + np.log(-np.expm1(-s))),
    "log": (mg.exp, np.log),
}


class FitResult(tuple):
    """``(loc, scale)`` of the fitted Normal, with the history as attributes.

    Unpacks and compares as the pair ``(loc, scale)``; also has

    - ``loc``, ``scale``: the final iterate (floats);
    - ``path``: ndarray (steps + 1, 2), row t = (mu, sigma) before step t
      (row 0 the start, the last row the final iterate);
    - ``losses``: ndarray (steps,), the Monte Carlo loss at each step's
      parameters (row t of ``path``), a noisy estimate of the divergence;
    - ``divergence``: its name.
    """

    def __new__(cls, path, losses, divergence):
        self = super().__new__(cls, (float(path[-1, 0]), float(path[-1, 1])))
        self.path, self.losses, self.divergence = path, losses, divergence
        return self

    @property
    def loc(self):
        return self[0]

    @property
    def scale(self):
        return self[1]

    def __repr__(self):
        return (f"FitResult(loc={self.loc:.4g}, scale={self.scale:.4g}, divergence="
                f"{self.divergence!r}, steps={len(self.losses)})")


def tail_average(path, k, batches=10):
    """Mean of the last ``k`` rows of ``path`` and its batch-means standard error.

    Successive iterates are correlated, so sd / sqrt(k) would understate the
    error; the last k rows are cut into ``batches`` consecutive blocks and

        stderr = sd(block means) / sqrt(batches)

    which is honest when a block is longer than the correlation time.
    Returns ``(mean, stderr)``, each of shape ``path.shape[1:]``.
    """
    path = np.asarray(path, dtype=float)
    if not isinstance(k, numbers.Integral) or not 2 <= k <= len(path):
        raise ValueError(f"k must be an integer in [2, {len(path)}] (rows of path), got {k!r}")
    if not isinstance(batches, numbers.Integral) or not 2 <= batches <= k:
        raise ValueError(f"batches must be an integer in [2, k={k}], got {batches!r}")
    tail = path[len(path) - k:]
    size = k // batches
    blocks = tail[k - size * batches:].reshape((batches, size) + tail.shape[1:]).mean(axis=1)
    return tail.mean(axis=0), blocks.std(axis=0, ddof=1) / np.sqrt(batches)


def _check_init(init):
    try:
        loc, scale = (float(v) for v in init)
    except (TypeError, ValueError):
        raise ValueError(f"init must be a pair (loc, scale) of real numbers, "
                         f"got {init!r}") from None
    if not np.isfinite(loc):
        raise ValueError(f"init loc must be finite, got {loc!r}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"init scale must be finite and > 0, got {scale!r}")
    return loc, scale


def _check_count(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_target(target, divergence):
    if not hasattr(target, "log_prob"):
        raise ValueError(f"target must be a distribution with log_prob, got "
                         f"{type(target).__name__}")
    if divergence in ("forward_kl", "js") and not hasattr(target, "sample"):
        raise ValueError(f"{divergence} needs samples of the target, but "
                         f"{type(target).__name__} has no sample()")
    shape = tuple(getattr(target, "batch_shape", ())) + tuple(getattr(target, "event_shape", ()))
    if shape != ():
        raise ValueError(f"target must be a single 1-D distribution (batch and event shape ()), "
                         f"got shape {shape}")


def _loss_function(divergence):
    if divergence not in DIVERGENCES:
        raise ValueError(f"divergence must be one of {sorted(DIVERGENCES)}, got {divergence!r}")
    return getattr(divergences, DIVERGENCES[divergence])


def fit_normal(target, divergence, init=(0.0, 1.0), steps=2000, lr=0.01, n=500, rng=None,
               scale_param="softplus", callback=None, print_every=0):
    """Fit N(loc, scale) to ``target`` by Adam on a Monte Carlo ``divergence`` (F1-F4).

    target      a 1-D distribution with ``log_prob`` (and ``sample`` for
                "forward_kl" and "js"), e.g. Normal or GaussianMixture
    divergence  "forward_kl" (KL(P || Q)), "reverse_kl" (KL(Q || P)) or "js"
    init        (loc, scale) of the starting Normal, scale > 0
    steps       number of Adam steps; lr its learning rate (on mu and rho)
    n           Monte Carlo sample size per step (fresh draws from ``rng`` each step)
    rng         numpy Generator; the same seed gives the same fit (None: unseeded)
    scale_param "softplus" (sigma = log(1 + e^rho), the default) or "log"
                (sigma = e^rho): how sigma is kept positive (see the module doc)
    callback    optional ``callback(step, loc, scale, loss)`` after each step's loss
    print_every print a progress line every this many steps (0: silent)

    Returns a ``FitResult``: unpacks as ``(loc, scale)`` and has ``path``
    and ``losses`` (see FitResult). Raises FloatingPointError naming the step
    if the loss or the parameters stop being finite (lower ``lr``).
    """
    loss_function = _loss_function(divergence)
    if scale_param not in SCALE_PARAMETERISATIONS:
        raise ValueError(f"scale_param must be one of {sorted(SCALE_PARAMETERISATIONS)}, "
                         f"got {scale_param!r}")
    _check_target(target, divergence)
    loc0, scale0 = _check_init(init)
    steps = _check_count("steps", steps, 1)
    n = check_sample_size(n)
    print_every = _check_count("print_every", print_every, 0)
    if not (isinstance(lr, numbers.Real) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable or None, got {type(callback).__name__}")
    rng = resolve_rng(rng)

    loc = mg.Tensor(np.array(loc0), requires_grad=True)
    to_scale, from_scale = SCALE_PARAMETERISATIONS[scale_param]
    raw_scale = mg.Tensor(np.array(from_scale(scale0)), requires_grad=True)
    optimizer = Adam([("loc", loc), ("raw_scale", raw_scale)], lr=lr, betas=(0.9, 0.99))
    path = np.empty((steps + 1, 2))
    losses = np.empty(steps)
    for step in range(steps):
        optimizer.zero_grad()
        model = Normal(loc, to_scale(raw_scale))
        path[step] = loc.data, model.scale.data
        loss = loss_function(target, model, n, rng)
        losses[step] = float(loss.data)
        if not np.isfinite(losses[step]):
            raise FloatingPointError(
                f"{divergence} estimate is {losses[step]} at step {step} "
                f"(loc={path[step, 0]:.4g}, scale={path[step, 1]:.4g}); "
                f"lower lr={lr} or raise n={n}")
        loss.backward()
        optimizer.step()
        if callback is not None:
            callback(step, *path[step], losses[step])
        if print_every and (step % print_every == 0 or step == steps - 1):
            print(f"fit_normal {divergence} step {step:5d}: loss {losses[step]:.5f}  "
                  f"loc {path[step, 0]:.4f}  scale {path[step, 1]:.4f}", flush=True)
    with mg.no_grad():
        path[steps] = loc.data, to_scale(raw_scale).data
    if not np.all(np.isfinite(path[steps])) or path[steps, 1] <= 0:
        raise FloatingPointError(f"parameters left the finite range after step {steps - 1}: "
                                 f"{path[steps]}; lower lr={lr}")
    return FitResult(path, losses, divergence)


def exact_fit(target, divergence, init=(0.0, 1.0), xatol=1e-6, fatol=1e-12):
    """The Normal that minimises the exact divergence, from ``init``: a reference for fit_normal.

    The divergence is computed by adaptive quadrature (``dpm.quadrature``:
    KL(P || Q), KL(Q || P) or JS(P || Q)) and minimised over (mu, log sigma)
    by Nelder-Mead (scipy.optimize.minimize) started at ``init``. On a
    landscape with several minima it returns the one the simplex from that
    start finds, which need not be where gradient descent goes (JS from
    N(+-1, 1): Nelder-Mead finds the mode, the exact gradient flow the wide
    local minimum). It stops when the simplex is within ``xatol`` in
    (mu, log sigma) and ``fatol`` in value. Returns ``(loc, scale, value)``.
    Slow (hundreds of integrals): for tests and demos. For forward KL the
    answer is known in closed form, the mean and standard deviation of the
    target (moment matching), which checks it.
    """
    if divergence not in DIVERGENCES:
        raise ValueError(f"divergence must be one of {sorted(DIVERGENCES)}, got {divergence!r}")
    loc0, scale0 = _check_init(init)
    exact = {"forward_kl": lambda q: quadrature.kl(target, q),
             "reverse_kl": lambda q: quadrature.kl(q, target),
             "js": lambda q: quadrature.js(target, q)}[divergence]

    def objective(theta):
        return exact(Normal(float(theta[0]), float(np.exp(theta[1]))))

    result = optimize.minimize(objective, [loc0, np.log(scale0)], method="Nelder-Mead",
                               options={"xatol": xatol, "fatol": fatol, "maxiter": 4000})
    return float(result.x[0]), float(np.exp(result.x[1])), float(result.fun)
