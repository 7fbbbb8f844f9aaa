"""Convergence diagnostics for MCMC: autocorrelation, R-hat, bulk and tail ESS, MCSE (claim E2).

Samples are laid out ``(chains, draws)`` for one quantity or ``(chains, draws,
dim)`` for several; every function returns one value per quantity.

- Autocorrelation of one chain by FFT (zero-padded to avoid wrap-around):
      rho_t = sum_i (x_i - xbar)(x_{i+t} - xbar) / sum_i (x_i - xbar)^2.
- Effective sample size (Geyer 1992; Vehtari, Gelman, Simpson, Carpenter and
  Buerkner 2021, "Rank-normalization, folding, and localization"):
      ESS = M N / tau,  tau = 1 + 2 sum_t rho_t,
  with rho_t combined over M chains through the within/between variances
      rho_t = 1 - (W - mean_m acov_{m,t}) / var_plus,  var_plus = (N-1)/N W + B/N,
  the sum truncated by Geyer's initial positive sequence (pairs
  rho_{2k} + rho_{2k+1} while positive) made monotone, exactly as Stan and
  ArviZ compute it. For an AR(1) chain with coefficient rho the closed form is
  tau = (1 + rho) / (1 - rho).
- Bulk ESS: the ESS of split chains (each halved, so drifts within a chain
  show up as between-chain differences) after rank normalisation
  z = Phi^{-1}((rank - 3/8) / (S + 1/4)). Tail ESS: the minimum ESS of the
  indicators I(x <= q_0.05) and I(x <= q_0.95).
- R-hat (rank-normalised split R-hat): the larger of the split R-hat of the
  rank-normalised draws and of the rank-normalised folded draws |x - median|,
      R-hat = sqrt(((N - 1)/N W + B/N) / W),
  W the mean within-chain variance, B = N var(chain means). Near 1 (< 1.01)
  when the chains agree.
- MCSE of the mean: sd / sqrt(ESS_mean), with ESS_mean the ESS of the raw
  (not rank-normalised) split draws, as in Stan's summary.
"""
from __future__ import annotations

import numpy as np
import scipy.stats

__all__ = ["autocorrelation", "ess", "ess_bulk", "ess_tail", "ess_mean", "rhat", "mcse",
           "split_chains", "rank_normalize"]


def _as_chains(samples, name="samples"):
    """(chains, draws, dim) float array and whether the input had no dim axis."""
    x = np.asarray(getattr(samples, "data", samples), dtype=np.float64)
    if x.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (chains, draws) or (chains, draws, dim), "
                         f"got shape {x.shape}")
    squeeze = x.ndim == 2
    x = x[..., None] if squeeze else x
    if x.shape[1] < 4:
        raise ValueError(f"{name} needs at least 4 draws per chain, got {x.shape[1]}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains non-finite values")
    return x, squeeze


def _per_quantity(fn, samples, name="samples"):
    x, squeeze = _as_chains(samples, name)
    values = np.array([fn(x[:, :, j]) for j in range(x.shape[2])])
    return float(values[0]) if squeeze else values


def autocorrelation(x, axis=-1):
    """Autocorrelation rho_t of each series along ``axis``, t = 0..n-1, by FFT."""
    x = np.asarray(x, dtype=np.float64)
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    centred = x - x.mean(axis=-1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()  # zero padding: linear, not circular, correlation
    spectrum = np.fft.rfft(centred, n=size)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), n=size)[..., :n]
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = acov / acov[..., :1]
    rho = np.where(acov[..., :1] > 0, rho, 0.0)   # a constant series: no correlation
    return np.moveaxis(rho, -1, axis)


def _autocovariance(x):
    """Biased autocovariance of each row of (chains, draws): acov_t = rho_t * var (1/N)."""
    return autocorrelation(x, axis=-1) * x.var(axis=-1, keepdims=True)


def split_chains(x):
    """(chains, draws) -> (2 chains, draws // 2): the first and last halves of each chain."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, -half:]], axis=0)


def rank_normalize(x):
    """Normal scores of the pooled ranks (ties averaged): Phi^-1((r - 3/8) / (S + 1/4))."""
    ranks = scipy.stats.rankdata(x, method="average").reshape(x.shape)
    return scipy.stats.norm.ppf((ranks - 0.375) / (x.size + 0.25))


def _ess_raw(x):
    """ESS of (chains, draws) by Geyer's initial monotone sequence (Stan / ArviZ)."""
    chains, draws = x.shape
    if np.ptp(x) == 0:
        return float(chains * draws)     # a constant: every draw equally informative (ArviZ)
    acov = _autocovariance(x)
    mean_var = acov[:, 0].mean() * draws / (draws - 1.0)      # W
    var_plus = mean_var * (draws - 1.0) / draws
    if chains > 1:
        var_plus += x.mean(axis=1).var(ddof=1)                 # + B / N
    rho = np.zeros(draws)
    rho_even, rho_odd = 1.0, 1.0 - (mean_var - acov[:, 1].mean()) / var_plus
    rho[0], rho[1] = rho_even, rho_odd
    t = 1
    while t < draws - 3 and rho_even + rho_odd > 0.0:        # initial positive sequence
        rho_even = 1.0 - (mean_var - acov[:, t + 1].mean()) / var_plus
        rho_odd = 1.0 - (mean_var - acov[:, t + 2].mean()) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:                                     # ... made monotone
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * rho[:max_t + 1].sum() + rho[max_t + 1:max_t + 2].sum()
    total = chains * draws
    tau = max(tau, 1.0 / np.log10(total))     # Stan's cap: ESS <= S log10 S
    return float(total / tau)


def _rhat_raw(x):
    """Split-free R-hat of (chains, draws): sqrt(((N-1)/N W + B/N) / W)."""
    draws = x.shape[1]
    between = draws * x.mean(axis=1).var(ddof=1)
    within = x.var(axis=1, ddof=1).mean()
    if within == 0:
        return 1.0 if between == 0 else np.inf
    return float(np.sqrt((between / within + draws - 1) / draws))


def ess_mean(samples):
    """ESS of the raw split draws (the one the MCSE of the mean uses)."""
    return _per_quantity(lambda x: _ess_raw(split_chains(x)), samples)


def ess_bulk(samples):
    """Bulk ESS: the ESS of the rank-normalised split draws (Vehtari et al. 2021)."""
    return _per_quantity(lambda x: _ess_raw(rank_normalize(split_chains(x))), samples)


def _ess_tail_one(x):
    split = split_chains(x)
    low, high = np.quantile(x, [0.05, 0.95])
    return min(_ess_raw((split <= low).astype(float)), _ess_raw((split <= high).astype(float)))


def ess_tail(samples):
    """Tail ESS: min of the ESS of I(x <= q_0.05) and I(x <= q_0.95) on split draws."""
    return _per_quantity(_ess_tail_one, samples)


def ess(samples, method="bulk"):
    """ESS per quantity: ``method`` "bulk" (default), "tail" or "mean"."""
    methods = {"bulk": ess_bulk, "tail": ess_tail, "mean": ess_mean}
    if method not in methods:
        raise ValueError(f"method must be one of {sorted(methods)}, got {method!r}")
    return methods[method](samples)


def _rhat_one(x):
    split = split_chains(x)
    bulk = _rhat_raw(rank_normalize(split))
    folded = np.abs(split - np.median(split))
    return max(bulk, _rhat_raw(rank_normalize(folded)))


def rhat(samples):
    """Rank-normalised split R-hat: max of the bulk and the folded (tail) version."""
    return _per_quantity(_rhat_one, samples)


def mcse(samples):
    """Monte Carlo standard error of the posterior mean: sd / sqrt(ESS_mean)."""
    def one(x):
        return float(x.std(ddof=1) / np.sqrt(_ess_raw(split_chains(x))))
    return _per_quantity(one, samples)
