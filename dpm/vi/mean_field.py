"""Mean-field approximations of a Gaussian: reverse KL (CAVI) against forward KL.

Target p(x) = N(x; mu, Sigma) in d dimensions, precision Lambda = Sigma^{-1};
approximation q(x) = prod_j q_j(x_j), each factor N(m_j, v_j).

Reverse KL, min_q KL(q || p) (claim V2). The mean-field equations
log q_j*(x_j) = E_{q_-j}[log p(x)] + const give a Gaussian factor with

    v_j = 1 / Lambda_jj,
    m_j = mu_j - (1 / Lambda_jj) sum_{k != j} Lambda_jk (m_k - mu_k),

coupled through the means, so they are solved by coordinate ascent (CAVI),
which converges to m = mu. The variances are the *conditional* variances of
p, smaller than the marginal ones: q under-covers. For mu = (0, 1) and
Sigma = [[1, .9], [.9, 1]], v_j = 1 - 0.9^2 = 0.19.

Forward KL, min_q KL(p || q) (claim V3): each factor is the marginal of p,
q_j = N(mu_j, Sigma_jj) (moment matching; variance 1 in the example): q covers.

Both fits are returned as Distributions: ``fit.q`` is the diagonal Normal
``DiagonalNormal(m, sqrt(v))`` (with ``fit.means`` and ``fit.variances`` as
arrays), and the target is ``gaussian_target(mean, cov)``, a
MultivariateNormal. The ELBO of q against the normalised p is
E_q[log p(x)] + H[q] = -KL(q || p) (log Z = 0), taken in closed form from
``dpm.kl_divergence(fit.q, target)``; the forward direction is
``kl_divergence(target, fit.q)`` (dpm.divergences has the Monte Carlo
``forward_kl`` / ``reverse_kl`` estimators for laws without one).

``reverse_kl_sgd`` reaches the same optimum by stochastic gradients of the
reparameterised reverse KL (minigrad, Adam) instead of the mean-field equations.

Reference: Bishop, Pattern Recognition and Machine Learning, 10.1.2; lecture
004 (II.1, "KL and reverse KL").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.optim import Adam
from dpm.distributions.base import resolve_rng
from dpm.distributions.multivariate_normal import DiagonalNormal, MultivariateNormal
from dpm.kl import kl_divergence


@dataclass
class MeanFieldFit:
    """A fitted factorized Gaussian: ``q`` = prod_j N(means[j], variances[j]), a DiagonalNormal."""
    q: DiagonalNormal

    @property
    def means(self):
        """The factor means m_j as an ndarray of shape (d,)."""
        return self.q.mean.data

    @property
    def variances(self):
        """The factor variances v_j as an ndarray of shape (d,)."""
        return self.q.variance.data

    @property
    def stddevs(self):
        return np.sqrt(self.variances)


@dataclass
class CAVIResult:
    """What a CAVI run returns: the factor parameters and the bound's history.

    ``elbo[t]`` is the ELBO after sweep t (``elbo[0]`` at the start);
    ``elbo_trace`` has one entry after every single-factor update, and
    ``param_trace`` (if kept) the parameters at those same moments.
    """
    params: list
    elbo: list
    elbo_trace: list
    iterations: int
    converged: bool
    param_trace: list


@dataclass
class MeanFieldGaussian(MeanFieldFit, CAVIResult):
    """A factorized Gaussian fitted by CAVI (``q``, a DiagonalNormal), with the ELBO history."""

    def __repr__(self):
        # The histories can hold thousands of entries: show the answer, not them.
        return (f"MeanFieldGaussian(means={self.means}, variances={self.variances}, "
                f"iterations={self.iterations}, converged={self.converged}, "
                f"elbo={self.elbo[-1]:.6g})")

    @property
    def mean_path(self):
        """The factor means after every single-factor update, shape (updates + 1, d)."""
        return np.array([[m for m, _ in params] for params in self.param_trace])


@dataclass
class SGDFit(MeanFieldFit):
    """A factorized Gaussian fitted by stochastic gradients.

    ``q``: the DiagonalNormal whose means and variances are the Polyak
    averages of the iterates after the burn-in, averaged over independent
    replicas; ``means_stderr`` / ``variances_stderr``: the standard error of
    that average from the spread of the replicas (independent runs, so no
    autocorrelation correction is needed). ``loc_path``/``scale_path``:
    iterates, shape (steps, replicas, d).
    """
    means_stderr: np.ndarray = None
    variances_stderr: np.ndarray = None
    loc_path: np.ndarray = field(default=None, repr=False)
    scale_path: np.ndarray = field(default=None, repr=False)


def factorized(means, variances):
    """q = prod_j N(means[j], variances[j]) as a DiagonalNormal (loc m, scale sqrt v)."""
    return DiagonalNormal(np.asarray(means, dtype=float),
                          np.sqrt(np.asarray(variances, dtype=float)))


def gaussian_target(mean, cov):
    """p = N(mean, cov) as a MultivariateNormal, after ``validate_gaussian``."""
    mean, cov = validate_gaussian(mean, cov)
    return MultivariateNormal(mean, covariance_matrix=cov)


def validate_gaussian(mean, cov):
    """(mean, cov) as float arrays, checked: shapes (d,) and (d, d), finite,
    cov symmetric positive definite. Raises ValueError naming the argument."""
    mean = np.asarray(getattr(mean, "data", mean), dtype=float)
    cov = np.asarray(getattr(cov, "data", cov), dtype=float)
    if mean.ndim != 1 or mean.size == 0:
        raise ValueError(f"mean must be a non-empty vector of shape (d,), got shape {mean.shape}")
    d = mean.size
    if cov.shape != (d, d):
        raise ValueError(f"cov must have shape ({d}, {d}) to match mean, got shape {cov.shape}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        raise ValueError(f"mean and cov must be finite, got mean={mean}, cov={cov.tolist()}")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12 * np.abs(cov).max()):
        raise ValueError(f"cov must be symmetric, got {cov.tolist()}")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"cov must be positive definite, got {cov.tolist()} "
                         f"(eigenvalues {np.linalg.eigvalsh(cov)})") from None
    return mean, cov


def _check_init(init, default):
    """(means, variances) of a starting q as float arrays of shape (d,), checked."""
    d = default[0].size
    means, variances = (np.array(a, dtype=float) for a in (default if init is None else init))
    if means.shape != (d,) or variances.shape != (d,):
        raise ValueError(f"init must be (means, variances) of shapes ({d},) and ({d},), "
                         f"got {means.shape} and {variances.shape}")
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(variances))
            and np.all(variances > 0)):
        raise ValueError(f"init needs finite means and finite variances > 0, got {means}, "
                         f"{variances}")
    return means, variances


def cavi(params, updates, elbo, iters=100, tol=1e-14, check_ascent=True, converged=None,
         keep_params=False):
    """Coordinate ascent variational inference, for any factorization.

    params:  list, params[j] the parameters of factor q_j (any object);
    updates: list of callables, updates[j](params) -> the optimal params[j]
             given all the others (the mean-field equation
             log q_j* = E_{q_-j}[log p] + const, solved for factor j);
    elbo:    callable, elbo(params) -> float.
    One sweep updates every factor in turn. Each update maximises the ELBO
    over one factor, so the ELBO never decreases; with ``check_ascent`` a
    decrease beyond rounding raises RuntimeError (a wrong update). Stops after
    ``iters`` sweeps or when ``converged(previous_params, params)`` is true
    after a sweep; by default, when the sweep changed the ELBO by at most
    tol (1 + |ELBO|). (Near the optimum the ELBO changes as the *square* of
    the parameters' error, so a criterion on the parameters is sharper.)
    ``keep_params``: also record the parameters after every update.
    """
    if len(params) != len(updates):
        raise ValueError(f"need one update per factor: {len(params)} factors, "
                         f"{len(updates)} updates")
    if iters < 0:
        raise ValueError(f"iters must be >= 0, got {iters}")
    params = list(params)
    trace = [float(elbo(params))]
    param_trace = [list(params)] if keep_params else None
    per_sweep = [trace[0]]
    if converged is None:
        def converged(_, __):
            return abs(per_sweep[-1] - per_sweep[-2]) <= tol * (1.0 + abs(per_sweep[-1]))
    done = False
    sweep = 0
    for sweep in range(1, iters + 1):
        previous = list(params)
        for j, update in enumerate(updates):
            params[j] = update(params)
            value = float(elbo(params))
            # Exact ascent can still lose a few ulps to rounding.
            if check_ascent and value < trace[-1] - 1e-12 * (1.0 + abs(trace[-1])):
                raise RuntimeError(f"ELBO decreased from {trace[-1]!r} to {value!r} at sweep "
                                   f"{sweep}, factor {j}: that update is not a coordinate "
                                   f"maximiser")
            trace.append(value)
            if keep_params:
                param_trace.append(list(params))
        per_sweep.append(trace[-1])
        if converged(previous, params):
            done = True
            break
    return CAVIResult(params=params, elbo=per_sweep, elbo_trace=trace,
                      iterations=sweep, converged=done, param_trace=param_trace)


def gaussian_cavi(mean, cov, iters=500, init=None, tol=1e-12):
    """Mean-field q = prod_j N(m_j, v_j) minimising KL(q || p), p = N(mean, cov), by CAVI (V2).

    Update of factor j: v_j = 1 / Lambda_jj,
    m_j = mu_j - (1 / Lambda_jj) sum_{k != j} Lambda_jk (m_k - mu_k), Lambda = cov^{-1}.
    ``init`` = (means, variances) of the starting q; default zeros and the
    marginal variances. Stops when a sweep moves every mean by at most
    tol * sqrt(v_j) (the error then is about that over (1 - rate), where the
    rate is the squared correlation for d = 2: 0.81 in the example).
    Returns a MeanFieldGaussian: ``q`` (the DiagonalNormal), ``means``,
    ``variances``, ``elbo`` per sweep and ``elbo_trace`` per factor update
    (ELBO = -KL(q || p) by ``dpm.kl_divergence``, exact),
    ``mean_path`` (the means after each update), ``iterations``, ``converged``.
    """
    mean, cov = validate_gaussian(mean, cov)
    target = MultivariateNormal(mean, covariance_matrix=cov)
    d = mean.size
    precision = np.linalg.inv(cov)
    init_means, init_variances = _check_init(init, (np.zeros(d), np.diag(cov)))

    def factor_update(j):
        others = np.arange(d) != j

        def update(params):
            m = np.array([p[0] for p in params])
            coupling = precision[j, others] @ (m[others] - mean[others])
            return (mean[j] - coupling / precision[j, j], 1.0 / precision[j, j])
        return update

    def elbo(params):
        means, variances = np.array(params).T
        return -kl_divergence(factorized(means, variances), target).item()

    def converged(previous, params):
        (old_means, _), (means, variances) = np.array(previous).T, np.array(params).T
        return bool(np.all(np.abs(means - old_means) <= tol * np.sqrt(variances)))

    result = cavi([(m, v) for m, v in zip(init_means, init_variances)],
                  [factor_update(j) for j in range(d)], elbo, iters=iters,
                  converged=converged, keep_params=True)
    means, variances = np.array(result.params).T
    return MeanFieldGaussian(q=factorized(means, variances), **vars(result))


def gaussian_forward_kl(mean, cov):
    """The factorized q minimising KL(p || q), p = N(mean, cov): the marginals (V3).

    KL(p || q) = -sum_j E_p[log q_j(x_j)] + const separates over factors and
    each term is a cross-entropy minimised by q_j = p_j = N(mu_j, Sigma_jj).
    Returns a MeanFieldFit: ``q`` = DiagonalNormal(mu, sqrt(diag Sigma)),
    ``means``, ``variances``.
    """
    mean, cov = validate_gaussian(mean, cov)
    return MeanFieldFit(q=factorized(mean.copy(), np.diag(cov).copy()))


def reverse_kl_sgd(mean, cov, steps=2000, lr=0.05, n=32, rng=None, init=None,
                   decay=None, burn_in=0.5, replicas=16):
    """Fit q = prod_j N(m_j, s_j^2) to p = N(mean, cov) by stochastic gradients of KL(q || p).

    Loss: KL(q || p) = -H[q] - E_q[log p(z)], q = DiagonalNormal(m, s): the
    entropy in closed form (``q.entropy()``), the expectation by ``n``
    reparameterised draws a step (``q.rsample``, z = m + s * eps), so the
    gradient is unbiased (pathwise).
    Adam with a step size lr / (1 + t / decay) (default decay = steps / 10);
    the answer is the Polyak average of the iterates after ``burn_in`` (a
    fraction of ``steps``). ``replicas`` independent runs go side by side as
    the batch of one DiagonalNormal (Adam is elementwise, so they do not
    interact); the spread of their averages gives the standard error.
    Parameters are (m, log s) so the scales stay positive.
    """
    mean, cov = validate_gaussian(mean, cov)
    for name, value in (("steps", steps), ("n", n), ("replicas", replicas)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if replicas < 2:
        raise ValueError(f"replicas must be >= 2 to estimate a standard error, got {replicas}")
    if not (0 <= burn_in < 1 and int(burn_in * steps) < steps):
        raise ValueError(f"burn_in must be a fraction in [0, 1) leaving steps to average, "
                         f"got {burn_in!r}")
    decay = steps / 10 if decay is None else decay
    for name, value in (("lr", lr), ("decay", decay)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    rng = resolve_rng(rng)
    d = mean.size
    target = MultivariateNormal(mean, covariance_matrix=cov)
    init_means, init_variances = _check_init(init, (np.zeros(d), np.ones(d)))
    loc = Tensor(np.tile(init_means, (replicas, 1)), requires_grad=True)
    log_scale = Tensor(np.tile(0.5 * np.log(init_variances), (replicas, 1)), requires_grad=True)
    optimizer = Adam([loc, log_scale], lr=lr)
    loc_path, scale_path = np.empty((steps, replicas, d)), np.empty((steps, replicas, d))
    for t in range(steps):
        optimizer.lr = lr / (1.0 + t / decay)
        q = DiagonalNormal(loc, mg.exp(log_scale))                     # batch (replicas,)
        z = q.rsample((n,), rng)                                       # (n, replicas, d)
        # Summing the replicas' losses leaves each replica's gradient its own.
        loss = -(target.log_prob(z).mean(axis=0) + q.entropy()).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loc_path[t], scale_path[t] = loc.data, np.exp(log_scale.data)
    start = int(burn_in * steps)
    loc_average = loc_path[start:].mean(axis=0)                        # (replicas, d)
    variance_average = (scale_path[start:] ** 2).mean(axis=0)
    return SGDFit(q=factorized(loc_average.mean(axis=0), variance_average.mean(axis=0)),
                  means_stderr=loc_average.std(axis=0, ddof=1) / np.sqrt(replicas),
                  variances_stderr=variance_average.std(axis=0, ddof=1) / np.sqrt(replicas),
                  loc_path=loc_path, scale_path=scale_path)
