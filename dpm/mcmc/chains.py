"""``Chains``: what every sampler of dpm.mcmc returns (claim E2).

``samples`` has shape (chains, draws, dim), warm-up discarded. ``mean()`` is
a ``dpm.montecarlo.Estimate`` of the target's mean, per coordinate, whose
standard error is the MCSE sd / sqrt(ESS_mean) and whose ``n`` is that ESS:
the number of independent draws the correlated chain is worth.
"""
from __future__ import annotations

import numpy as np

from dpm.mcmc import diagnostics
from dpm.montecarlo import Estimate


class Chains:
    """Draws of several chains with their sampler statistics.

    Attributes: ``samples`` (chains, draws, dim); ``accept_rate`` (chains,)
    the mean acceptance probability after warm-up (for HMC and NUTS the mean
    Metropolis acceptance statistic, as Stan reports it); ``divergences``
    (chains,) the number of divergent trajectories after warm-up (0 for
    samplers without trajectories); ``step_size`` (chains,) or None; ``stats``
    a dict of further per-draw statistics (tree depth, energy, ...).
    """

    def __init__(self, samples, accept_rate, divergences=None, step_size=None, stats=None,
                 sampler=""):
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 3:
            raise ValueError(f"samples must have shape (chains, draws, dim), got {samples.shape}")
        self.samples = samples
        self.accept_rate = np.asarray(accept_rate, dtype=np.float64)
        chains = samples.shape[0]
        self.divergences = (np.zeros(chains, dtype=int) if divergences is None
                            else np.asarray(divergences, dtype=int))
        self.step_size = None if step_size is None else np.asarray(step_size, dtype=np.float64)
        self.stats = {} if stats is None else dict(stats)
        self.sampler = sampler

    @property
    def num_chains(self):
        return self.samples.shape[0]

    @property
    def num_draws(self):
        return self.samples.shape[1]

    @property
    def dim(self):
        return self.samples.shape[2]

    def ess(self, method="bulk"):
        """ESS per coordinate (``method`` "bulk", "tail" or "mean")."""
        return diagnostics.ess(self.samples, method)

    def rhat(self):
        """Rank-normalised split R-hat per coordinate."""
        return diagnostics.rhat(self.samples)

    def mean(self, f=None):
        """Estimate of E[f(x)] per output coordinate (f = identity by default).

        ``f`` maps draws (chains, draws, dim) to (chains, draws) or
        (chains, draws, k). The stderr is sd / sqrt(ESS_mean) and ``n`` that ESS.
        """
        values = self.samples if f is None else np.asarray(f(self.samples), dtype=np.float64)
        if values.ndim == 2:
            values = values[..., None]
        if values.ndim != 3 or values.shape[:2] != self.samples.shape[:2]:
            raise ValueError(f"f must map (chains, draws, dim) to (chains, draws[, k]), "
                             f"got shape {values.shape}")
        n_eff = diagnostics.ess_mean(values)
        value = values.mean(axis=(0, 1))
        stderr = values.reshape(-1, values.shape[2]).std(axis=0, ddof=1) / np.sqrt(n_eff)
        return Estimate.from_tensor(value, stderr, n=n_eff)

    def summary(self, names=None):
        """A text table: mean, sd, MCSE, 5% and 95% quantiles, bulk and tail ESS, R-hat."""
        names = names or [f"x[{j}]" for j in range(self.dim)]
        flat = self.samples.reshape(-1, self.dim)
        mean = self.mean()
        q05, q95 = np.quantile(flat, [0.05, 0.95], axis=0)
        bulk, tail, rhat = self.ess("bulk"), self.ess("tail"), self.rhat()
        header = (f"{'':>8} {'mean':>10} {'sd':>9} {'mcse':>9} {'5%':>9} {'95%':>9} "
                  f"{'ess_bulk':>9} {'ess_tail':>9} {'r_hat':>6}")
        lines = [header]
        for j, name in enumerate(names):
            lines.append(f"{name:>8} {mean.data[j]:>10.4f} {flat[:, j].std(ddof=1):>9.4f} "
                         f"{np.atleast_1d(mean.stderr)[j]:>9.4f} {q05[j]:>9.4f} {q95[j]:>9.4f} "
                         f"{bulk[j]:>9.0f} {tail[j]:>9.0f} {rhat[j]:>6.3f}")
        lines.append(f"{self.sampler}: {self.num_chains} chains x {self.num_draws} draws, "
                     f"accept rate {self.accept_rate.mean():.3f}, "
                     f"divergences {int(self.divergences.sum())}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"Chains({self.sampler}, chains={self.num_chains}, draws={self.num_draws}, "
                f"dim={self.dim})")
