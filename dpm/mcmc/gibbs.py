"""Gibbs sampling by exact conditionals (claim E2; lecture 000, 004; Geman and Geman 1984).

Update one block at a time from its full conditional p(x_j | x_-j); each
update leaves p invariant, so a sweep does too, and no proposal is ever
rejected. ``gibbs(model, x0, n, rng)`` runs ``model.sweep`` on all chains
together; a model says how to start, sweep and report its state.

- ``GaussianConditionals(mean, cov)``: x ~ N(mu, Sigma), Lambda = Sigma^-1,
      x_j | x_-j ~ N(mu_j - sum_{k != j} Lambda_jk (x_k - mu_k) / Lambda_jj, 1 / Lambda_jj),
  a systematic scan j = 1..d. For d = 2, unit variances and correlation rho,
  x_1 | x_2 ~ N(rho x_2, 1 - rho^2) and the lag-1 autocorrelation of x_1 is rho^2.
- ``MixtureDensity(weights, locs, scales)``: a 1-D Gaussian mixture target
  sampled with its latent component z (data augmentation):
      z | x ~ Categorical(pi_k N(x; mu_k, s_k)),  x | z ~ N(mu_z, s_z).
- ``MixturePosterior(y, k, sigma, prior_loc, prior_scale, alpha, collapsed)``:
  the posterior of a K-component 1-D mixture with known component scale sigma,
  mu_k ~ N(m0, s0^2), w ~ Dirichlet(alpha), z_i ~ Categorical(w):
      z_i | w, mu, y   ~ Categorical(w_k N(y_i; mu_k, sigma^2))
      w | z            ~ Dirichlet(alpha + n_k)
      mu_k | z, y      ~ N(m_k, v_k),  1/v_k = 1/s0^2 + n_k/sigma^2,
                                       m_k = v_k (m0/s0^2 + sum_{z_i = k} y_i / sigma^2).
  ``collapsed=True`` integrates w out of the z update (Polya urn):
      z_i | z_-i, mu, y ~ Categorical((n_k^-i + alpha) N(y_i; mu_k, sigma^2)),
  one point at a time; w is then drawn from w | z only to be reported.
  The state reported is (mu_1..mu_K, w_1..w_K).
"""
from __future__ import annotations

import numpy as np

from dpm.mcmc._target import check_count, check_positive, check_rng, check_x0
from dpm.mcmc.chains import Chains

__all__ = ["gibbs", "GaussianConditionals", "MixtureDensity", "MixturePosterior",
           "categorical_from_logits"]


def categorical_from_logits(logits, uniforms):
    """Index k with probability softmax(logits)_k along the last axis, by inverse CDF."""
    logits = logits - logits.max(axis=-1, keepdims=True)
    cumulative = np.cumsum(np.exp(logits), axis=-1)
    threshold = uniforms[..., None] * cumulative[..., -1:]
    return np.minimum((cumulative < threshold).sum(axis=-1), logits.shape[-1] - 1)


def gibbs(model, x0, n, rng, warmup=0):
    """``n`` sweeps of ``model`` kept after ``warmup``; x0 (chains, model.dim) or None.

    None starts every chain from ``model.initial(chains, rng)``; pass an int as
    ``x0`` for that many chains drawn so.
    """
    n = check_count(n, "n")
    warmup = check_count(warmup, "warmup", 0)
    rng = check_rng(rng)
    if isinstance(x0, (int, np.integer)) and not isinstance(x0, bool):
        state = model.initial(check_count(x0, "x0"), rng)
    else:
        x = check_x0(x0)
        if x.shape[1] != model.dim:
            raise ValueError(f"x0 must have shape (chains, {model.dim}), got {x.shape}")
        state = model.from_position(x, rng)
    chains = model.position(state).shape[0]
    samples = np.empty((chains, n, model.dim))
    for t in range(warmup + n):
        state = model.sweep(state, rng)
        if t >= warmup:
            samples[:, t - warmup] = model.position(state)
    return Chains(samples, np.ones(chains), sampler=f"gibbs ({type(model).__name__})")


class GaussianConditionals:
    """Systematic-scan Gibbs for N(mean, cov) through the precision matrix."""

    def __init__(self, mean, cov):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        cov = np.asarray(cov, dtype=np.float64)
        d = self.mean.shape[0]
        if self.mean.ndim != 1 or cov.shape != (d, d):
            raise ValueError(f"cov must have shape ({d}, {d}) for mean of shape "
                             f"{self.mean.shape}, got {cov.shape}")
        try:
            np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError("cov must be symmetric positive definite") from None
        self.dim = d
        self.precision = np.linalg.inv(cov)
        self.cond_sd = 1.0 / np.sqrt(np.diag(self.precision))

    def initial(self, chains, rng):
        return self.mean + rng.standard_normal((chains, self.dim))

    def from_position(self, x, rng):
        return x.copy()

    def position(self, state):
        return state

    def sweep(self, x, rng, normals=None):
        """One scan j = 1..d; ``normals`` (chains, d) may be given (kernel twins)."""
        normals = rng.standard_normal(x.shape) if normals is None else normals
        x = x.copy()
        for j in range(self.dim):
            gap = x - self.mean
            gap[:, j] = 0.0
            cond_mean = self.mean[j] - gap @ self.precision[j] / self.precision[j, j]
            x[:, j] = cond_mean + self.cond_sd[j] * normals[:, j]
        return x


def _normal_log_density(x, loc, scale):
    return -0.5 * ((x - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)


class MixtureDensity:
    """Data-augmentation Gibbs for a 1-D Gaussian mixture density; the state is x (chains, 1)."""

    dim = 1

    def __init__(self, weights, locs, scales):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.locs = np.asarray(locs, dtype=np.float64)
        self.scales = np.broadcast_to(check_positive(scales, "scales"), self.locs.shape)
        if self.weights.shape != self.locs.shape or self.locs.ndim != 1:
            raise ValueError(f"weights {self.weights.shape} and locs {self.locs.shape} must be "
                             f"1-D of the same length")
        if np.any(self.weights < 0) or not np.isclose(self.weights.sum(), 1.0):
            raise ValueError(f"weights must be non-negative and sum to 1, got {weights!r}")
        with np.errstate(divide="ignore"):
            self.log_weights = np.log(self.weights)

    def initial(self, chains, rng):
        return self.locs[rng.integers(len(self.locs), size=chains)][:, None]

    def from_position(self, x, rng):
        return x.copy()

    def position(self, state):
        return state

    def sweep(self, x, rng, uniforms=None, normals=None):
        """z | x then x | z; pre-drawn ``uniforms``, ``normals`` (chains,) may be given."""
        chains = x.shape[0]
        uniforms = rng.uniform(size=chains) if uniforms is None else uniforms
        normals = rng.standard_normal(chains) if normals is None else normals
        logits = self.log_weights + _normal_log_density(x, self.locs, self.scales)
        z = categorical_from_logits(logits, uniforms)
        return (self.locs[z] + self.scales[z] * normals)[:, None]


class MixturePosterior:
    """Gibbs for a K-component 1-D mixture posterior (known sigma); state (mu, w, z)."""

    def __init__(self, y, k, sigma=1.0, prior_loc=0.0, prior_scale=3.0, alpha=1.0,
                 collapsed=False):
        self.y = np.asarray(y, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(self.y)):
            raise ValueError("y must be finite")
        self.k = check_count(k, "k")
        self.sigma = float(check_positive(sigma, "sigma"))
        self.prior_loc = float(prior_loc)
        self.prior_scale = float(check_positive(prior_scale, "prior_scale"))
        self.alpha = float(check_positive(alpha, "alpha"))
        self.collapsed = bool(collapsed)
        self.dim = 2 * self.k

    # ---- the generative model (also what Geweke's test simulates from)
    def prior_draw(self, chains, rng):
        mu = self.prior_loc + self.prior_scale * rng.standard_normal((chains, self.k))
        w = rng.dirichlet(np.full(self.k, self.alpha), size=chains)
        return mu, w

    def simulate_data(self, state, rng):
        """y ~ p(y | z, mu), one data set per chain (chains, N)."""
        mu, _, z = state
        return np.take_along_axis(mu, z, axis=1) + self.sigma * rng.standard_normal(z.shape)

    # ---- the conditionals
    def _log_lik(self, y, mu):
        """(chains, N, K) log N(y_i; mu_k, sigma^2)."""
        return _normal_log_density(y[..., None], mu[:, None, :], self.sigma)

    def sample_assignments(self, y, mu, w, rng):
        with np.errstate(divide="ignore"):
            logits = np.log(w)[:, None, :] + self._log_lik(y, mu)
        return categorical_from_logits(logits, rng.uniform(size=logits.shape[:2]))

    def sample_assignments_collapsed(self, y, mu, z, rng):
        z = z.copy()
        log_lik = self._log_lik(y, mu)
        counts = self.counts(z)
        rows = np.arange(z.shape[0])
        for i in range(z.shape[1]):
            counts[rows, z[:, i]] -= 1
            logits = np.log(counts + self.alpha) + log_lik[:, i]
            z[:, i] = categorical_from_logits(logits, rng.uniform(size=z.shape[0]))
            counts[rows, z[:, i]] += 1
        return z

    def counts(self, z):
        return (z[..., None] == np.arange(self.k)).sum(axis=1)

    def sample_weights(self, z, rng):
        # Dirichlet(a) = normalised independent Gamma(a_k, 1) draws, all chains at once
        gammas = rng.standard_gamma(self.alpha + self.counts(z))
        return gammas / gammas.sum(axis=1, keepdims=True)

    def sample_means(self, y, z, rng):
        one_hot = z[..., None] == np.arange(self.k)
        counts, sums = one_hot.sum(axis=1), (one_hot * y[..., None]).sum(axis=1)
        precision = 1.0 / self.prior_scale ** 2 + counts / self.sigma ** 2
        var = 1.0 / precision
        mean = var * (self.prior_loc / self.prior_scale ** 2 + sums / self.sigma ** 2)
        return mean + np.sqrt(var) * rng.standard_normal(mean.shape)

    def sweep_given(self, state, y, rng):
        """One sweep for data y (chains, N) (Geweke's test passes its own y)."""
        mu, w, z = state
        if self.collapsed:
            z = self.sample_assignments_collapsed(y, mu, z, rng)
        else:
            z = self.sample_assignments(y, mu, w, rng)
        w = self.sample_weights(z, rng)
        mu = self.sample_means(y, z, rng)
        return mu, w, z

    # ---- the interface ``gibbs`` uses
    def _data(self, chains):
        return np.broadcast_to(self.y, (chains, self.y.size))

    def initial(self, chains, rng):
        mu, w = self.prior_draw(chains, rng)
        return mu, w, self.sample_assignments(self._data(chains), mu, w, rng)

    def from_position(self, x, rng):
        mu, w = x[:, :self.k].copy(), x[:, self.k:].copy()
        if np.any(w < 0) or not np.allclose(w.sum(axis=1), 1.0):
            raise ValueError("x0's last k columns (the weights) must be probability vectors")
        return mu, w, self.sample_assignments(self._data(x.shape[0]), mu, w, rng)

    def position(self, state):
        return np.concatenate([state[0], state[1]], axis=1)

    def sweep(self, state, rng):
        return self.sweep_given(state, self._data(state[0].shape[0]), rng)
