"""The No-U-Turn sampler, as Stan runs it (claim E2; Hoffman and Gelman 2014; Betancourt 2017).

Each iteration draws p ~ N(0, M) and builds a leapfrog trajectory by
doubling: a new subtree of 1, 2, 4, ... steps is added forwards or backwards
in time (a fair coin) until the trajectory makes a U-turn, a subtree
diverges, or the depth reaches ``max_depth`` (2^max_depth - 1 steps).

- Multinomial sampling (Betancourt 2017, appendix A): every point z of the
  trajectory has weight w(z) = exp(-H(z)). Within a subtree the candidate is
  chosen in proportion to w (merging two halves keeps the second half's
  candidate with probability W_2 / (W_1 + W_2)); when a new subtree joins the
  trajectory its candidate replaces the current one with probability
  min(1, W_new / W_old) (biased progressive sampling, which favours moving
  away from the start). Both leave the target invariant.
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
windowed diagonal metric (``adaptation.py``), per chain.

Chains run in lockstep: every chain doubles its own trajectory (its own
direction, step size and metric) at the same time, so one gradient call of
minigrad serves all chains; a chain whose tree has stopped (U-turn,
divergence, invalid subtree) is masked and its state frozen until the
slowest chain finishes the iteration. Each chain's draws are exactly those
of the one-chain recursion; only the order in which random numbers are
consumed differs.
"""
from __future__ import annotations

import numpy as np

from dpm.mcmc._target import (Progress, check_count, check_positive, check_rng, check_x0,
                              log_density_and_grad)
from dpm.mcmc.adaptation import WindowedAdaptation
from dpm.mcmc.chains import Chains
from dpm.mcmc.hmc import MAX_ENERGY_ERROR, find_step_size, hamiltonian

__all__ = ["nuts"]


class _Points:
    """Phase-space points of all chains: x, p (chains, dim), log p (chains,), grad."""
    __slots__ = ("x", "p", "log_p", "grad")

    def __init__(self, x, p, log_p, grad):
        self.x, self.p, self.log_p, self.grad = x, p, log_p, grad

    def where(self, mask, other):
        """self where mask (per chain), else other."""
        if mask.all():           # the common cases, without copying
            return self
        if not mask.any():
            return other
        m = mask[:, None]
        return _Points(np.where(m, self.x, other.x), np.where(m, self.p, other.p),
                       np.where(mask, self.log_p, other.log_p),
                       np.where(m, self.grad, other.grad))


class _Tree:
    """A (sub)trajectory per chain: end momenta, p# = M^-1 p at the ends, rho, weight, candidate."""
    __slots__ = ("p_beg", "p_end", "sharp_beg", "sharp_end", "rho", "log_weight", "candidate",
                 "valid")

    def flipped(self):
        """The same tree with its ends swapped (a backward subtree read in time order)."""
        tree = _Tree()
        tree.p_beg, tree.p_end, tree.sharp_beg, tree.sharp_end = (self.p_end, self.p_beg,
                                                                  self.sharp_end, self.sharp_beg)
        tree.rho, tree.log_weight = self.rho, self.log_weight
        tree.candidate, tree.valid = self.candidate, self.valid
        return tree


def _u_turn_free(sharp_minus, sharp_plus, rho):
    """Generalised no-U-turn criterion per chain: both ends still move along rho."""
    with np.errstate(over="ignore", invalid="ignore"):   # a diverged chain's huge momenta
        return ((np.einsum("ij,ij->i", sharp_plus, rho) > 0)
                & (np.einsum("ij,ij->i", sharp_minus, rho) > 0))


def _merge_is_u_turn_free(left, right, rho):
    """Stan's three checks on left + right (in time order): whole, and across the seam."""
    return (_u_turn_free(left.sharp_beg, right.sharp_end, rho)
            & _u_turn_free(left.sharp_beg, right.sharp_beg, left.rho + right.p_beg)
            & _u_turn_free(left.sharp_end, right.sharp_end, right.rho + left.p_end))


class _Transition:
    """One NUTS iteration of all chains (counters kept here to keep the recursion short)."""

    def __init__(self, grad_fn, step_size, inv_metric, max_depth, rng):
        self.grad_fn, self.eps, self.inv_metric = grad_fn, step_size, inv_metric
        self.max_depth, self.rng = max_depth, rng
        chains = step_size.shape[0]
        self.n_leapfrog = np.zeros(chains, dtype=int)
        self.sum_metro_prob = np.zeros(chains)
        self.divergent = np.zeros(chains, dtype=bool)

    def energy(self, z):
        return hamiltonian(z.log_p, z.p, self.inv_metric)

    def leapfrog(self, z, direction):
        eps = (direction * self.eps)[:, None]
        p = z.p + 0.5 * eps * z.grad
        x = z.x + eps * self.inv_metric * p
        log_p, grad = self.grad_fn(x)
        return _Points(x, p + 0.5 * eps * grad, log_p, grad)

    def build_tree(self, z, depth, direction, h0, active):
        """Extend each active chain from z by 2^depth steps: (leading edge, _Tree)."""
        if not active.any():     # every chain has stopped: no gradient calls for nothing
            return z, _stopped_tree(z)
        if depth == 0:
            z = self.leapfrog(z, direction).where(active, z)
            self.n_leapfrog += active
            with np.errstate(invalid="ignore", over="ignore"):
                h = self.energy(z)
            h = np.where(np.isnan(h), np.inf, h)
            diverged = active & (h - h0 > MAX_ENERGY_ERROR)
            self.divergent |= diverged
            tree = _Tree()
            tree.log_weight = h0 - h
            self.sum_metro_prob += np.where(active, np.exp(np.minimum(0.0, h0 - h)), 0.0)
            tree.candidate = z
            tree.p_beg = tree.p_end = z.p
            tree.sharp_beg = tree.sharp_end = self.inv_metric * z.p
            tree.rho = z.p
            tree.valid = ~diverged
            return z, tree
        z, init = self.build_tree(z, depth - 1, direction, h0, active)
        z, final = self.build_tree(z, depth - 1, direction, h0, active & init.valid)
        tree = _Tree()
        with np.errstate(invalid="ignore"):
            tree.log_weight = np.logaddexp(init.log_weight, final.log_weight)
            # the second half's candidate with probability W_final / (W_init + W_final)
            take_final = (np.log(self.rng.uniform(size=h0.shape))
                          < final.log_weight - tree.log_weight)
        tree.candidate = final.candidate.where(take_final, init.candidate)
        tree.p_beg, tree.p_end = init.p_beg, final.p_end
        tree.sharp_beg, tree.sharp_end = init.sharp_beg, final.sharp_end
        tree.rho = init.rho + final.rho
        tree.valid = init.valid & final.valid & _merge_is_u_turn_free(init, final, tree.rho)
        return z, tree

    def run(self, z0):
        """One iteration from z0 (momenta drawn); returns (next points, tree depth)."""
        h0 = self.energy(z0)
        chains = h0.shape[0]
        forward_end = backward_end = z0
        whole = _Tree()        # the trajectory so far, ends in time order
        whole.p_beg = whole.p_end = z0.p
        whole.sharp_beg = whole.sharp_end = self.inv_metric * z0.p
        whole.rho, whole.log_weight, whole.candidate = z0.p, np.zeros(chains), z0
        depth, active = np.zeros(chains, dtype=int), np.ones(chains, dtype=bool)
        for level in range(self.max_depth):
            direction = np.where(self.rng.uniform(size=chains) > 0.5, 1.0, -1.0)
            forward = direction > 0
            start = forward_end.where(forward, backward_end)
            end, sub = self.build_tree(start, level, direction, h0, active)
            valid = active & sub.valid          # an invalid subtree is thrown away
            forward_end = end.where(valid & forward, forward_end)
            backward_end = end.where(valid & ~forward, backward_end)
            depth += valid
            back = sub.flipped()
            left = _select(forward, whole, back)
            right = _select(forward, sub, whole)
            # biased progressive sampling: move to the new subtree's candidate w.p.
            # min(1, W_new / W_old)
            with np.errstate(invalid="ignore"):
                jump = valid & (np.log(self.rng.uniform(size=chains))
                                < sub.log_weight - whole.log_weight)
            rho = left.rho + right.rho
            persist = _merge_is_u_turn_free(left, right, rho)
            merged = _Tree()
            merged.candidate = sub.candidate.where(jump, whole.candidate)
            merged.log_weight = np.where(valid, np.logaddexp(whole.log_weight, sub.log_weight),
                                         whole.log_weight)
            m = valid[:, None]
            merged.p_beg = np.where(m, left.p_beg, whole.p_beg)
            merged.sharp_beg = np.where(m, left.sharp_beg, whole.sharp_beg)
            merged.p_end = np.where(m, right.p_end, whole.p_end)
            merged.sharp_end = np.where(m, right.sharp_end, whole.sharp_end)
            merged.rho = np.where(m, rho, whole.rho)
            whole = merged
            active = valid & persist
            if not active.any():
                break
        return whole.candidate, depth


def _stopped_tree(z):
    """A placeholder subtree for chains that have stopped (never valid, zero weight)."""
    tree = _Tree()
    tree.p_beg = tree.p_end = tree.sharp_beg = tree.sharp_end = tree.rho = z.p
    tree.log_weight = np.full(z.log_p.shape, -np.inf)
    tree.candidate, tree.valid = z, np.zeros(z.log_p.shape, dtype=bool)
    return tree


def _select(mask, a, b):
    """Tree fields of a where mask (per chain), else of b (candidate and validity not needed)."""
    if mask.all() or not mask.any():
        return a if mask.all() else b
    m = mask[:, None]
    tree = _Tree()
    for name in ("p_beg", "p_end", "sharp_beg", "sharp_end", "rho"):
        setattr(tree, name, np.where(m, getattr(a, name), getattr(b, name)))
    return tree


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
    z = _Points(x, None, log_p, grad)
    inv_metric = np.ones((chains, dim))
    eps = (find_step_size(grad_fn, x, inv_metric, np.ones(chains), rng) if step_size is None
           else check_positive(step_size, "step_size") * np.ones(chains))
    current = [z]
    adaptation = WindowedAdaptation(
        warmup, eps, inv_metric, target_accept, adapt_metric,
        retune=lambda metric, old: find_step_size(grad_fn, current[0].x, metric, old, rng))
    samples = np.empty((chains, n, dim))
    accept_sum, divergences = np.zeros(chains), np.zeros(chains, dtype=int)
    stats = {k: np.zeros((chains, n), dtype=int) for k in ("tree_depth", "n_leapfrog")}
    stats["energy"] = np.zeros((chains, n))
    stats["divergent"] = np.zeros((chains, n), dtype=bool)
    report = Progress("nuts", warmup, n, progress)
    for t in range(warmup + n):
        report(t)
        momentum = rng.standard_normal((chains, dim)) / np.sqrt(inv_metric)
        move = _Transition(grad_fn, eps, inv_metric, max_depth, rng)
        z, depth = move.run(_Points(z.x, momentum, z.log_p, z.grad))
        current[0] = z
        accept_stat = move.sum_metro_prob / np.maximum(move.n_leapfrog, 1)
        if t < warmup:
            eps, inv_metric = adaptation.step(t, z.x, accept_stat)
            continue
        i = t - warmup
        samples[:, i] = z.x
        accept_sum += accept_stat
        divergences += move.divergent
        stats["divergent"][:, i] = move.divergent
        stats["tree_depth"][:, i], stats["n_leapfrog"][:, i] = depth, move.n_leapfrog
        stats["energy"][:, i] = move.energy(z)
    return Chains(samples, accept_sum / n, divergences=divergences, step_size=eps, stats=stats,
                  sampler="nuts")
