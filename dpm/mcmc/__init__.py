"""Markov chain Monte Carlo: Metropolis-Hastings, Gibbs, HMC and NUTS, with diagnostics (E2).

Every sampler takes ``x0`` of shape (chains, dim), a numpy Generator ``rng``,
and returns a ``Chains`` (``.samples`` (chains, draws, dim), ``.accept_rate``,
``.divergences``, ``.mean()`` an Estimate with an ESS-based standard error,
``.summary()``). ``log_prob`` maps a (chains, dim) Tensor to (chains,).

Files: metropolis.py (random-walk and independence MH), gibbs.py (exact
conditionals: Gaussian, mixture), hmc.py (leapfrog, static HMC), nuts.py
(No-U-Turn; its iterative trees in _nuts_tree.py, their compiled
bookkeeping in _nuts_kernel.py), adaptation.py (dual averaging, windowed
metric), diagnostics.py (R-hat, ESS, MCSE, autocorrelation), chains.py (the
result), kernels.py (Numba MH and Gibbs loops with NumPy twins).
"""
from dpm.mcmc.chains import Chains
from dpm.mcmc.diagnostics import (autocorrelation, ess, ess_bulk, ess_mean, ess_tail, mcse,
                                  rhat)
from dpm.mcmc.gibbs import GaussianConditionals, MixtureDensity, MixturePosterior, gibbs
from dpm.mcmc.hmc import hamiltonian, hmc, leapfrog
from dpm.mcmc.kernels import metropolis_gaussian, metropolis_mixture_1d
from dpm.mcmc.nuts import nuts
from dpm.mcmc.metropolis import independence_metropolis, metropolis, transition_matrix

__all__ = ["Chains", "autocorrelation", "ess", "ess_bulk", "ess_mean", "ess_tail", "mcse",
           "rhat", "hamiltonian", "hmc", "nuts", "leapfrog", "independence_metropolis", "metropolis",
           "transition_matrix", "gibbs", "GaussianConditionals", "MixtureDensity",
           "MixturePosterior", "metropolis_gaussian", "metropolis_mixture_1d"]
