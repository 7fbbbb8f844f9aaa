"""Expectation-maximisation for Gaussian and Bernoulli mixtures (claim E1).

Lecture 003 ("the E-step of the EM algorithm"): for a mixture
p(x) = sum_k pi_k p(x | theta_k) and any q(z) over the labels,

    log p(x) >= sum_k q(k) log [pi_k p(x | theta_k)] + H(q),

with equality at q(k) = r_k(x) = pi_k p(x | theta_k) / p(x), the
responsibilities. EM alternates the two maximisations of this bound summed
over the data:

    E-step: r_ik = pi_k p(x_i | theta_k) / sum_j pi_j p(x_i | theta_j)
    M-step: n_k = sum_i r_ik, pi_k = n_k / N, and per family
            Gaussian:   mu_k = sum_i r_ik x_i / n_k,
                        Sigma_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / n_k
                        (diagonal covariances: its diagonal)
            Bernoulli:  mu_k = sum_i r_ik x_i / n_k

The E-step makes the bound equal to the log-likelihood, the M-step raises the
bound, so the log-likelihood never falls (E1); ``log_likelihood`` holds the
mean log-likelihood per point after every iteration, and the tests check it
never falls beyond rounding.

Degenerate clusters (documented choices, each keeping the guarantee):
- a variance floor: the covariance update is maximised subject to every
  eigenvalue >= ``floor`` = ``reg`` times the mean per-coordinate variance of
  the data; the constrained maximiser of the Gaussian bound has the same
  eigenvectors with eigenvalues max(lambda, floor) (for a diagonal covariance,
  max(sigma_j^2, floor)), so the M-step is still exact and EM still monotone.
  A cluster collapsing on one point no longer sends the likelihood to +inf.
- Bernoulli probabilities are kept in [floor, 1 - floor] the same way (the
  per-pixel bound is concave in mu, so clipping is its constrained maximiser),
  which also keeps log p(x) of unseen images finite.
- a component whose responsibilities all vanish (n_k = 0) keeps its mean and
  covariance with weight 0 and no longer contributes; re-seeding it would
  break the monotone guarantee, so it is not done.

Initialisation (seeded by ``rng``): k-means++ seeding of the means (the first
a random point, each next one drawn with probability proportional to the
squared distance to the nearest chosen), equal weights, the data covariance
for every component. Bernoulli mixtures start from random responsibilities
(Dirichlet(1) per point) followed by one M-step.

The Gaussian E-step is the fused Numba kernel of ``dpm.models._gmm_kernels``
(NumPy twin beside it). Reference: Bishop, PRML 9.2-9.3.
"""
from __future__ import annotations

import sys

import numpy as np

from dpm.models import _gmm_kernels as kernels

__all__ = ["fit_gmm", "fit_bernoulli_mixture", "GMMFit", "BernoulliMixtureFit"]


# ------------------------------------------------------------------ checks
def _check_data(x, name="x"):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N,) or (N, d) with N >= 1, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got {np.sum(~np.isfinite(x))} non-finite values")
    return x


def _check_fit_args(x, k, iters, tol):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= x.shape[0]:
        raise ValueError(f"k must be an integer in [1, N = {x.shape[0]}], got {k!r}")
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise ValueError(f"iters must be an integer >= 1, got {iters!r}")
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    return int(k), int(iters), float(tol)


def _converged(history, tol):
    return len(history) >= 2 and history[-1] - history[-2] < tol


def _check_finite_ll(value, iteration):
    if not np.isfinite(value):
        raise FloatingPointError(f"EM stopped: the log-likelihood is {value} after iteration "
                                 f"{iteration} (non-finite parameters?)")


# ------------------------------------------------------------------ Gaussian
class GMMFit:
    """A fitted Gaussian mixture: weights (K,), means (K, d), covariances (K, d, d).

    ``log_likelihood[t]`` is the mean log-likelihood per point after iteration
    t + 1. A fit of 1-D data (x of shape (N,)) keeps d = 1 in ``means`` and
    ``covariances`` but its ``log_prob`` takes points of shape (M,).
    """

    def __init__(self, weights, means, covariances, covariance, log_likelihood, converged,
                 one_d):
        self.weights, self.means, self.covariances = weights, means, covariances
        self.covariance = covariance
        self.log_likelihood = log_likelihood
        self.converged = converged
        self.n_iter = len(log_likelihood)
        self._one_d = one_d
        self._prec_chol = _precision_cholesky(covariances)

    def _points(self, x):
        x = np.asarray(x, dtype=np.float64)
        d = self.means.shape[1]
        if self._one_d:
            return x.reshape(-1, 1), x.shape
        if x.ndim < 1 or x.shape[-1] != d:
            raise ValueError(f"x must have shape (..., {d}), got {x.shape}")
        return x.reshape(-1, d), x.shape[:-1]

    def log_prob(self, x):
        """log p(x) = logsumexp_k [log pi_k + log N(x; mu_k, Sigma_k)] per point, an ndarray."""
        points, shape = self._points(x)
        const = kernels.component_constants(self.weights, self._prec_chol)
        log_p = kernels.estep(points, const, self.means, self._prec_chol, with_stats=False)[0]
        return log_p.reshape(shape)

    def responsibilities(self, x):
        """r_ik = p(z = k | x_i), shape (..., K) (NumPy, from the twin's formula)."""
        points, shape = self._points(x)
        const = kernels.component_constants(self.weights, self._prec_chol)
        diff = points[:, None, :] - self.means[None]
        y = np.einsum("krc,nkc->nkr", self._prec_chol, diff)
        a = const - 0.5 * np.einsum("nkr,nkr->nk", y, y)
        a -= a.max(axis=1, keepdims=True)
        r = np.exp(a)
        return (r / r.sum(axis=1, keepdims=True)).reshape(shape + (len(self.weights),))

    def sample(self, n, rng):
        """n draws, ancestral: k ~ Categorical(pi), x = mu_k + L_k eps."""
        labels = rng.choice(len(self.weights), size=n, p=self.weights)
        chol = np.linalg.cholesky(self.covariances)
        eps = rng.standard_normal((n, self.means.shape[1]))
        x = self.means[labels] + np.einsum("nrc,nc->nr", chol[labels], eps)
        return x[:, 0] if self._one_d else x

    @property
    def mixture(self):
        """The fit as a ``dpm.distributions.GaussianMixture`` (diagonal or 1-D fits only)."""
        from dpm.distributions import GaussianMixture
        if self.covariance != "diag" and not self._one_d:
            raise ValueError("a full-covariance fit is not a GaussianMixture (diagonal "
                             "components only); fit with covariance='diag' or use .log_prob")
        scales = np.sqrt(np.diagonal(self.covariances, axis1=1, axis2=2))
        if self._one_d:
            return GaussianMixture(self.weights, self.means[:, 0], scales[:, 0])
        return GaussianMixture(self.weights, self.means, scales)

    def __repr__(self):
        return (f"GMMFit(K={len(self.weights)}, d={self.means.shape[1]}, "
                f"covariance={self.covariance!r}, iterations={self.n_iter}, "
                f"log_likelihood={self.log_likelihood[-1]:.6g})")


def _precision_cholesky(covariances):
    """U_k = L_k^{-1} with Sigma_k = L_k L_k^T (lower triangular)."""
    chol = np.linalg.cholesky(covariances)
    eye = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
    return np.ascontiguousarray(np.linalg.solve(chol, eye))


def _kmeans_plus_plus(x, k, rng):
    means = [x[rng.integers(x.shape[0])]]
    nearest = np.sum((x - means[0]) ** 2, axis=1)
    for _ in range(1, k):
        total = nearest.sum()
        index = rng.choice(x.shape[0], p=nearest / total) if total > 0 else \
            rng.integers(x.shape[0])
        means.append(x[index])
        nearest = np.minimum(nearest, np.sum((x - x[index]) ** 2, axis=1))
    return np.array(means)


def _floored(covariance, floor, kind):
    """The constrained M-step: eigenvalues (diagonal entries) raised to ``floor``."""
    if kind == "diag":
        return np.eye(covariance.shape[-1]) * np.maximum(np.diagonal(covariance), floor)
    values, vectors = np.linalg.eigh(0.5 * (covariance + covariance.T))
    return (vectors * np.maximum(values, floor)) @ vectors.T


def _m_step(x_count, stats, means, covariances, floor, kind):
    nk, sx, sxx = stats
    weights = nk / x_count
    new_means, new_covs = means.copy(), covariances.copy()
    for k in np.flatnonzero(nk > 0):
        shift = sx[k] / nk[k]                      # mu_new - mu_old
        new_means[k] = means[k] + shift
        new_covs[k] = _floored(sxx[k] / nk[k] - np.outer(shift, shift), floor, kind)
    return weights / weights.sum(), new_means, new_covs


def fit_gmm(x, k, rng, iters=100, tol=1e-8, covariance="full", reg=1e-6, verbose=False):
    """Fit a K-component Gaussian mixture to x (N, d) or (N,) by EM -> ``GMMFit``.

    Stops after ``iters`` iterations or when the mean log-likelihood rises by
    less than ``tol`` in one iteration. ``covariance`` is "full" or "diag";
    ``reg`` sets the variance floor (module docstring). ``rng`` (a numpy
    Generator) seeds the k-means++ start. ``verbose`` prints progress to stderr.
    """
    x = _check_data(x)
    k, iters, tol = _check_fit_args(x, k, iters, tol)
    if covariance not in ("full", "diag"):
        raise ValueError(f"covariance must be 'full' or 'diag', got {covariance!r}")
    if not (np.isfinite(reg) and reg > 0):
        raise ValueError(f"reg must be a finite number > 0, got {reg!r}")
    one_d = x.ndim == 1
    points = np.ascontiguousarray(x.reshape(-1, 1) if one_d else x)
    n, d = points.shape
    data_cov = np.atleast_2d(np.cov(points, rowvar=False, bias=True))
    floor = reg * max(float(np.mean(np.diagonal(data_cov))), np.finfo(float).tiny)
    kind = "diag" if covariance == "diag" or d == 1 else "full"
    means = _kmeans_plus_plus(points, k, rng)
    covariances = np.repeat(_floored(data_cov, floor, kind)[None], k, axis=0)
    weights = np.full(k, 1.0 / k)
    stats = kernels.estep(points, kernels.component_constants(
        weights, _precision_cholesky(covariances)), means, _precision_cholesky(covariances))
    history = []
    for t in range(1, iters + 1):
        weights, means, covariances = _m_step(n, stats[1:], means, covariances, floor, kind)
        prec_chol = _precision_cholesky(covariances)
        stats = kernels.estep(points, kernels.component_constants(weights, prec_chol), means,
                              prec_chol)
        history.append(float(np.mean(stats[0])))
        _check_finite_ll(history[-1], t)
        if verbose:
            print(f"EM iteration {t}: mean log-likelihood {history[-1]:.8g}", file=sys.stderr)
        if _converged(history, tol):
            break
    return GMMFit(weights, means, covariances, covariance, history, _converged(history, tol),
                  one_d)


# ------------------------------------------------------------------ Bernoulli
class BernoulliMixtureFit:
    """A fitted mixture of K products of Bernoullis: weights (K,), probs (K, D).

    ``log_prob(x, observed=None)`` is log p(x) per row; with a boolean mask
    ``observed`` (broadcasting to x) only the observed pixels enter:
    log p(x_o) = logsumexp_k [log pi_k + sum_{j in o} log Bern(x_j; mu_kj)],
    the exact marginal (the unobserved pixels sum out of each product).
    """

    def __init__(self, weights, probs, log_likelihood, converged):
        self.weights, self.probs = weights, probs
        self.log_likelihood = log_likelihood
        self.converged = converged
        self.n_iter = len(log_likelihood)

    def component_log_probs(self, x, observed=None):
        """log pi_k + sum_{j observed} [x_j log mu_kj + (1 - x_j) log(1 - mu_kj)], shape (N, K)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.ndim != 2 or x.shape[-1] != self.probs.shape[1]:
            raise ValueError(f"x must have shape (N, {self.probs.shape[1]}), got {x.shape}")
        mask = np.ones(x.shape, dtype=bool) if observed is None else \
            np.broadcast_to(np.asarray(observed, dtype=bool), x.shape)
        if not np.all((x[mask] == 0) | (x[mask] == 1)):
            raise ValueError("x must be binary (0 or 1) at the observed pixels")
        x = np.where(mask, x, 0.0)
        return _bernoulli_terms(x, mask, self.weights, self.probs)

    def log_prob(self, x, observed=None):
        """log p(x) (or log p(x_observed)) per row, an ndarray."""
        return _log_normalise(self.component_log_probs(x, observed))[0]

    def responsibilities(self, x, observed=None):
        """p(k | x) (or p(k | x_observed)), shape (N, K)."""
        return _log_normalise(self.component_log_probs(x, observed))[1]

    def sample(self, n, rng):
        labels = rng.choice(len(self.weights), size=n, p=self.weights)
        return (rng.random((n, self.probs.shape[1])) < self.probs[labels]).astype(np.float64)

    def __repr__(self):
        return (f"BernoulliMixtureFit(K={len(self.weights)}, D={self.probs.shape[1]}, "
                f"iterations={self.n_iter}, log_likelihood={self.log_likelihood[-1]:.6g})")


def _bernoulli_terms(x, mask, weights, probs):
    with np.errstate(divide="ignore"):            # a weight 0: an unused component
        log_weights = np.log(weights)
    return log_weights + (x * mask) @ np.log(probs).T + ((1.0 - x) * mask) @ np.log1p(-probs).T


def _log_normalise(a):
    """(logsumexp_k a_ik, softmax_k a_ik) per row."""
    top = a.max(axis=1, keepdims=True)
    e = np.exp(a - top)
    total = e.sum(axis=1, keepdims=True)
    return (top + np.log(total))[:, 0], e / total


def _bernoulli_m_step(x, r, floor):
    nk = r.sum(axis=0)
    probs = (r.T @ x) / np.maximum(nk, np.finfo(float).tiny)[:, None]
    return nk / nk.sum(), np.clip(probs, floor, 1.0 - floor)


def fit_bernoulli_mixture(x, k, rng, iters=100, tol=1e-8, floor=1e-3, verbose=False):
    """Fit K products of Bernoullis to binary x (N, D) by EM -> ``BernoulliMixtureFit``.

    ``floor`` keeps every probability in [floor, 1 - floor] (module docstring).
    """
    x = _check_data(x)
    if x.ndim != 2 or not np.all((x == 0) | (x == 1)):
        raise ValueError("x must be a binary (0/1) array of shape (N, D)")
    k, iters, tol = _check_fit_args(x, k, iters, tol)
    if not 0 < floor < 0.5:
        raise ValueError(f"floor must lie in (0, 0.5), got {floor!r}")
    everything = np.ones(x.shape, dtype=bool)
    weights, probs = _bernoulli_m_step(x, rng.dirichlet(np.ones(k), size=x.shape[0]), floor)
    _, r = _log_normalise(_bernoulli_terms(x, everything, weights, probs))
    history = []
    for t in range(1, iters + 1):
        weights, probs = _bernoulli_m_step(x, r, floor)
        log_p, r = _log_normalise(_bernoulli_terms(x, everything, weights, probs))
        history.append(float(np.mean(log_p)))
        _check_finite_ll(history[-1], t)
        if verbose:
            print(f"EM iteration {t}: mean log-likelihood {history[-1]:.8g}", file=sys.stderr)
        if _converged(history, tol):
            break
    return BernoulliMixtureFit(weights, probs, history, _converged(history, tol))
