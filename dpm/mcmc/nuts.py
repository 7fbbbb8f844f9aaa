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
windowed diagonal metric (``adaptation.py``). The recursion is per chain
(trajectory lengths differ between chains), so chains run one after another.
"""
from __future__ import annotations

import numpy as np

from dpm.mcmc._target import check_count, check_positive, check_rng, check_x0, \
    log_density_and_grad
from dpm.mcmc.adaptation import WindowedAdaptation
from dpm.mcmc.chains import Chains
from dpm.mcmc.hmc import MAX_ENERGY_ERROR, find_step_size

__all__ = ["nuts"]


class _Point:
    """A phase-space point: position, momentum, log p and its gradient."""
    __slots__ = ("x", "p", "log_p", "grad")

    def __init__(self, x, p, log_p, grad):
        self.x, self.p, self.log_p, self.grad = x, p, log_p, grad


class _Tree:
    """What a (sub)tree reports upwards: its two end momenta, rho, weight, candidate."""
    __slots__ = ("p_beg", "p_end", "p_sharp_beg", "p_sharp_end", "rho", "log_weight",
                 "candidate", "valid")


def _u_turn_free(p_sharp_minus, p_sharp_plus, rho):
    """Generalised no-U-turn criterion: both ends still move along rho."""
    return float(p_sharp_plus @ rho) > 0 and float(p_sharp_minus @ rho) > 0


class _Transition:
    """One NUTS iteration of one chain (state kept here to keep the recursion short)."""

    def __init__(self, grad_fn, step_size, inv_metric, max_depth, rng):
        self.grad_fn, self.eps, self.inv_metric = grad_fn, step_size, inv_metric
        self.max_depth, self.rng = max_depth, rng
        self.n_leapfrog, self.sum_metro_prob, self.divergent = 0, 0.0, False

    def energy(self, z):
        return -z.log_p + 0.5 * float(np.sum(z.p * z.p * self.inv_metric))

    def leapfrog(self, z, direction):
        eps = direction * self.eps
        p = z.p + 0.5 * eps * z.grad
        x = z.x + eps * self.inv_metric * p
        log_p, grad = self.grad_fn(x[None])
        p = p + 0.5 * eps * grad[0]
        return _Point(x, p, float(log_p[0]), grad[0])

    def build_tree(self, z, depth, direction, h0):
        """Extend from z by 2^depth steps; returns (leading edge point, _Tree)."""
        tree = _Tree()
        if depth == 0:
            z = self.leapfrog(z, direction)
            self.n_leapfrog += 1
            h = self.energy(z)
            h = np.inf if np.isnan(h) else h
            if h - h0 > MAX_ENERGY_ERROR:
                self.divergent = True
            tree.log_weight = h0 - h
            self.sum_metro_prob += 1.0 if h0 - h > 0 else float(np.exp(h0 - h))
            tree.candidate = z
            tree.p_beg = tree.p_end = z.p
            tree.p_sharp_beg = tree.p_sharp_end = self.inv_metric * z.p
            tree.rho = z.p.copy()
            tree.valid = not self.divergent
            return z, tree
        z, init = self.build_tree(z, depth - 1, direction, h0)
        if not init.valid:
            return z, init
        z, final = self.build_tree(z, depth - 1, direction, h0)
        if not final.valid:
            return z, final
        tree.log_weight = np.logaddexp(init.log_weight, final.log_weight)
        # uniform (multinomial) choice between the halves in proportion to their weights
        take_final = np.log(self.rng.uniform()) < final.log_weight - tree.log_weight
        tree.candidate = final.candidate if take_final else init.candidate
        tree.p_beg, tree.p_end = init.p_beg, final.p_end
        tree.p_sharp_beg, tree.p_sharp_end = init.p_sharp_beg, final.p_sharp_end
        tree.rho = init.rho + final.rho
        tree.valid = (_u_turn_free(init.p_sharp_beg, final.p_sharp_end, tree.rho)
                      and _u_turn_free(init.p_sharp_beg, final.p_sharp_beg,
                                       init.rho + final.p_beg)
                      and _u_turn_free(init.p_sharp_end, final.p_sharp_end,
                                       final.rho + init.p_end))
        return z, tree

    def run(self, z0):
        """One iteration from z0 (momentum already drawn); returns (next point, depth)."""
        h0 = self.energy(z0)
        forward_end = backward_end = z0
        # the running trajectory as one tree: ends in time order (backward ... forward)
        whole = _Tree()
        whole.p_beg = whole.p_end = z0.p
        whole.p_sharp_beg = whole.p_sharp_end = self.inv_metric * z0.p
        whole.rho, whole.log_weight, whole.candidate = z0.p.copy(), 0.0, z0
        depth = 0
        while depth < self.max_depth:
            direction = 1 if self.rng.uniform() > 0.5 else -1
            start = forward_end if direction == 1 else backward_end
            end, sub = self.build_tree(start, depth, direction, h0)
            if not sub.valid:
                break
            depth += 1
            if direction == 1:
                forward_end = end
                left, right = whole, sub
            else:
                backward_end = end
                # the backward subtree runs backwards in time: flip its ends
                sub.p_beg, sub.p_end = sub.p_end, sub.p_beg
                sub.p_sharp_beg, sub.p_sharp_end = sub.p_sharp_end, sub.p_sharp_beg
                left, right = sub, whole
            # biased progressive sampling: prefer the new subtree's candidate
            if np.log(self.rng.uniform()) < sub.log_weight - whole.log_weight:
                whole.candidate = sub.candidate
            whole.log_weight = np.logaddexp(whole.log_weight, sub.log_weight)
            rho = left.rho + right.rho
            persist = (_u_turn_free(left.p_sharp_beg, right.p_sharp_end, rho)
                       and _u_turn_free(left.p_sharp_beg, right.p_sharp_beg,
                                        left.rho + right.p_beg)
                       and _u_turn_free(left.p_sharp_end, right.p_sharp_end,
                                        right.rho + left.p_end))
            whole.p_beg, whole.p_sharp_beg = left.p_beg, left.p_sharp_beg
            whole.p_end, whole.p_sharp_end = right.p_end, right.p_sharp_end
            whole.rho = rho
            if not persist:
                break
        return whole.candidate, depth


def nuts(log_prob, x0, n, rng, warmup=None, step_size=None, max_depth=10, target_accept=0.8,
         adapt_metric=True):
    """NUTS: ``n`` draws per chain after ``warmup`` (default n) adaptation iterations.

    ``log_prob`` maps a (chains, dim) Tensor to (chains,) (gradients by
    minigrad); ``x0`` (chains, dim). Returns ``Chains`` with ``divergences``
    per chain and ``stats`` "tree_depth", "n_leapfrog", "energy", "divergent" per draw.
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
    samples = np.empty((chains, n, dim))
    accept_rate, divergences, final_steps = np.zeros(chains), np.zeros(chains, dtype=int), []
    stats = {k: np.zeros((chains, n), dtype=int) for k in ("tree_depth", "n_leapfrog")}
    stats["energy"] = np.zeros((chains, n))
    stats["divergent"] = np.zeros((chains, n), dtype=bool)
    for c in range(chains):
        z = _Point(x[c], None, float(log_p[c]), grad[c])
        inv_metric = np.ones((1, dim))
        eps = (find_step_size(grad_fn, x[c:c + 1], inv_metric, 1.0, rng) if step_size is None
               else check_positive(step_size, "step_size") * np.ones(1))
        current = [z]
        adaptation = WindowedAdaptation(
            warmup, eps, inv_metric, target_accept, adapt_metric,
            retune=lambda metric, old: find_step_size(grad_fn, current[0].x[None], metric,
                                                      old, rng))
        for t in range(warmup + n):
            momentum = rng.standard_normal(dim) / np.sqrt(inv_metric[0])
            z = _Point(z.x, momentum, z.log_p, z.grad)
            move = _Transition(grad_fn, float(eps[0]), inv_metric[0], max_depth, rng)
            z, depth = move.run(z)
            current[0] = z
            accept_stat = move.sum_metro_prob / max(move.n_leapfrog, 1)
            if t < warmup:
                eps, inv_metric = adaptation.step(t, z.x[None], np.array([accept_stat]))
                continue
            i = t - warmup
            samples[c, i] = z.x
            accept_rate[c] += accept_stat / n
            divergences[c] += move.divergent
            stats["divergent"][c, i] = move.divergent
            stats["tree_depth"][c, i], stats["n_leapfrog"][c, i] = depth, move.n_leapfrog
            stats["energy"][c, i] = move.energy(z)
        final_steps.append(float(eps[0]))
    return Chains(samples, accept_rate, divergences=divergences, step_size=np.array(final_steps),
                  stats=stats, sampler="nuts")
