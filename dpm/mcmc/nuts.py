"""The No-U-Turn sampler, as Stan runs it (claim E2; Hoffman and Gelman 2014; Betancourt 2017).

Each iteration draws p ~ N(0, M) and builds a leapfrog trajectory by
doubling: a new subtree of 1, 2, 4, ... steps is added forwards or backwards
in time (a fair coin) until the trajectory makes a U-turn, a subtree
diverges, or the depth reaches ``max_depth`` (2^max_depth - 1 steps).

- Multinomial sampling (Betancourt 2017, appendix A): every point z of the
  trajectory has weight w(z) = exp(-H(z)). Within a subtree the candidate is
  chosen in proportion to w (each new leaf replaces it with probability
  w / W_subtree-so-far: the same law as the recursion's pairwise merges,
  which keep the second half's with probability W_2 / (W_1 + W_2)); when a
  new subtree joins the trajectory its candidate replaces the current one
  with probability min(1, W_new / W_old) (biased progressive sampling,
  which favours moving away from the start). Both leave the target invariant.
- Generalised U-turn (Betancourt 2013, as in Stan): with rho the sum of the
  momenta over a (sub)trajectory and p#_- , p#_+ = M^-1 p at its two ends,
  keep going while p#_- . rho > 0 and p#_+ . rho > 0; the check is applied to
  every subtree and, as Stan does since 2.26, also across the seam of each
  merge (the first half extended by the first point of the second, and the
  reverse), which catches U-turns that the two halves alone miss.
- Divergence: an energy error H - H0 above 1000 ends the subtree (and the
  tree) and is counted; its points never become candidates.
- Acceptance statistic for adaptation: the mean over the new points of
  min(1, exp(H0 - H)).

Warm-up: step size by dual averaging toward ``target_accept`` (0.8) and a
windowed diagonal metric (``adaptation.py``), per chain, each chain on its
own warm-up clock (chains finish iterations at different times).

Chains run together but not in lockstep (``_nuts_tree.py``): every call
of the gradient takes one leapfrog step of every chain, each at its own
place in its own tree (own direction, step size and metric); a chain whose
iteration ends records its draw, adapts, and starts the next at once, so no
chain waits for another's deeper tree. Each chain's draws follow the
one-chain algorithm; only the order in which random numbers are consumed
differs. After each gradient call the tree bookkeeping runs as one Numba
kernel (``_nuts_kernel.py``), with a NumPy twin when Numba is disabled.
"""
from __future__ import annotations

import numpy as np

from dpm.mcmc._nuts_tree import Trajectories
from dpm.mcmc._target import (Progress, check_count, check_positive, check_rng, check_x0,
                              log_density_and_grad)
from dpm.mcmc.adaptation import WindowedAdaptation
from dpm.mcmc.chains import Chains
from dpm.mcmc.hmc import find_step_size, hamiltonian

__all__ = ["nuts"]


def _adaptations(grad_fn, x, eps, inv_metric, warmup, target_accept, adapt_metric, rng):
    """One WindowedAdaptation per chain (chains reach warm-up iteration t at different times)."""
    def retune(c):
        return lambda metric, old: find_step_size(grad_fn, x[c:c + 1], metric, old, rng)
    return [WindowedAdaptation(warmup, eps[c:c + 1].copy(), inv_metric[c:c + 1].copy(),
                               target_accept, adapt_metric, retune(c))
            for c in range(x.shape[0])]


def nuts(log_prob, x0, n, rng, warmup=None, step_size=None, max_depth=10, target_accept=0.8,
         adapt_metric=True, progress=False):
    """NUTS: ``n`` draws per chain after ``warmup`` (default n) adaptation iterations.

    ``log_prob`` maps a (chains, dim) Tensor to (chains,) (gradients by
    minigrad); ``x0`` (chains, dim). Returns ``Chains`` with ``divergences``
    per chain and ``stats`` "tree_depth", "n_leapfrog", "energy", "divergent"
    per draw. ``progress=True`` prints progress lines on stderr.
    """
    x = check_x0(x0)
    n = check_count(n, "n")
    warmup = n if warmup is None else check_count(warmup, "warmup", 0)
    max_depth = check_count(max_depth, "max_depth")
    rng = check_rng(rng)
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
    chains, dim = x.shape

    def grad_fn(points):
        return log_density_and_grad(log_prob, points)

    log_p, grad = grad_fn(x)
    if not np.all(np.isfinite(log_p)):
        raise ValueError("x0 must lie where log_prob is finite")
    inv_metric = np.ones((chains, dim))
    eps = (find_step_size(grad_fn, x, inv_metric, np.ones(chains), rng) if step_size is None
           else check_positive(step_size, "step_size") * np.ones(chains))
    adapt = _adaptations(grad_fn, x, eps, inv_metric, warmup, target_accept, adapt_metric, rng)
    samples = np.empty((chains, n, dim))
    accept_sum, divergences = np.zeros(chains), np.zeros(chains, dtype=int)
    stats = {k: np.zeros((chains, n), dtype=int) for k in ("tree_depth", "n_leapfrog")}
    stats["energy"] = np.zeros((chains, n))
    stats["divergent"] = np.zeros((chains, n), dtype=bool)
    report = Progress("nuts", warmup, n, progress)
    tree, done = Trajectories(chains, dim, max_depth), np.zeros(chains, dtype=int)
    total, restart = warmup + n, np.ones(chains, dtype=bool)
    while True:
        if restart.any():
            momentum = rng.standard_normal((chains, dim)) / np.sqrt(inv_metric)
            tree.begin(restart, x, momentum, log_p, grad, inv_metric, rng)
        active = done < total
        finished = tree.tick(grad_fn, eps, inv_metric, active, rng)
        slowest = done.min()
        for c in np.flatnonzero(finished):
            z = tree.candidate[c]
            x[c], grad[c], log_p[c] = z[:dim], z[2 * dim:3 * dim], z[-1]
            t = done[c]
            accept_stat = tree.sum_metro_prob[c] / max(tree.n_leapfrog[c], 1)
            if t < warmup:
                (eps[c],), (inv_metric[c],) = adapt[c].step(t, x[c:c + 1], np.array([accept_stat]))
            else:
                i = t - warmup
                samples[c, i] = x[c]
                accept_sum[c] += accept_stat
                divergences[c] += tree.divergent[c]
                stats["divergent"][c, i] = tree.divergent[c]
                stats["tree_depth"][c, i] = tree.depth[c]
                stats["n_leapfrog"][c, i] = tree.n_leapfrog[c]
                stats["energy"][c, i] = hamiltonian(z[-1], z[dim:2 * dim], inv_metric[c])
            done[c] += 1
        if done.min() > slowest:
            report(slowest)
        restart = finished & (done < total)
        if not (done < total).any():
            break
    return Chains(samples, accept_sum / n, divergences=divergences, step_size=eps, stats=stats,
                  sampler="nuts")
