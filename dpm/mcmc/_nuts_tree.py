"""The NUTS trajectories of all chains, advanced one leapfrog step per call (``nuts.py``).

Each chain is somewhere in its own iteration: building subtree ``level``
(2^level leapfrog steps in ``direction``), at leaf ``k`` of it. One ``tick``
takes one leapfrog step for every chain with a single gradient call, so no
chain waits for another's deeper tree (the lockstep recursion wasted ~40% of
its gradient calls so); a chain whose iteration ends starts its next one at
the following tick.

The recursion's checks, done leaf by leaf (the iterative form of Phan et al.
2019, as NumPyro runs it): leaf k completes the blocks of 2^j leaves with
(k + 1) % 2^j == 0, j = 1..level; each is the merge of two halves
init = [a, mid), final = [mid, k] with a = k + 1 - 2^j, mid = k + 1 - 2^(j-1),
and gets Stan's three generalised U-turn checks (whole block, and across
the seam). The momentum sums are differences of the running sum R(i) of p
over the subtree, so the block ends need only checkpoints: ``start[j]``
(p#, p, R(i - 1)) written at leaves i with i % 2^j == 0, and ``end[j]``
(p#, p) written at leaves with (i + 1) % 2^j == 0, read before the current
leaf overwrites them. Within a subtree the candidate is drawn by
progressive sampling (the new leaf replaces it with probability
w / W_subtree), which gives every leaf probability w / W as the recursion's
pairwise merges do; the trajectory-level merge is the biased progressive
step min(1, W_new / W_old), as before.

A point is one row [x | p | grad | log p] (chains, 3 dim + 1), so choosing
points per chain is one ``np.where``. After the gradient, a tick's
bookkeeping runs compiled (``_nuts_kernel.bookkeeping``) or, without Numba,
as its NumPy twin ``_bookkeeping``; both use the same uniforms.
"""
from __future__ import annotations

import numpy as np

from dpm.mcmc._nuts_kernel import MAX_ENERGY_ERROR, bookkeeping, drift, new_point
from minigrad._numba import NUMBA_ENABLED

COMPILED = NUMBA_ENABLED   # the kernel, else its twin (a module switch the tests flip)


def _dot(a, b):
    return np.einsum("...i,...i->...", a, b)


def _u_turn_free(sharp_minus, sharp_plus, rho):
    """Generalised no-U-turn criterion: both ends still move along rho."""
    return (_dot(sharp_plus, rho) > 0) & (_dot(sharp_minus, rho) > 0)


def _merge_is_u_turn_free(left_sharp, left_p, left_rho, right_sharp, right_p, right_rho):
    """Stan's three checks on left + right (time order; [beg, end] pairs): whole and seams."""
    rho = left_rho + right_rho
    return (_u_turn_free(left_sharp[0], right_sharp[1], rho)
            & _u_turn_free(left_sharp[0], right_sharp[0], left_rho + right_p[0])
            & _u_turn_free(left_sharp[1], right_sharp[1], right_rho + left_p[1]))


class Trajectories:
    """State of every chain's NUTS iteration; ``tick`` returns the chains that finished."""

    def __init__(self, chains, dim, max_depth):
        self.dim, self.max_depth = dim, max_depth
        width = 3 * dim + 1
        self.edge = np.zeros((chains, width))       # the point the next step starts from
        self.ends = np.zeros((2, chains, width))    # trajectory's backward [0], forward [1] end
        self.candidate = np.zeros((chains, width))  # the trajectory's draw so far
        self.sub_candidate = np.zeros((chains, width))
        self.h0, self.log_weight, self.sub_log_weight = (np.zeros(chains) for _ in range(3))
        # the trajectory's ends in time order: [beg, end] of p and p# = M^-1 p; rho = sum p
        self.whole_p, self.whole_sharp = np.zeros((2, chains, dim)), np.zeros((2, chains, dim))
        self.whole_rho = np.zeros((chains, dim))
        self.sub_first = np.zeros((2, chains, dim))   # p, p# of the subtree's first leaf
        self.sub_rho = np.zeros((chains, dim))        # R(k): running sum of p in the subtree
        self.start = np.zeros((chains, max_depth, 3, dim))   # p#, p, R(i - 1) per j
        self.end = np.zeros((chains, max_depth, 2, dim))     # p#, p per j
        self.powers = 2 ** np.arange(max_depth)
        self.level, self.k = np.zeros(chains, dtype=int), np.zeros(chains, dtype=int)
        self.direction = np.ones(chains)
        self.depth, self.n_leapfrog = np.zeros(chains, dtype=int), np.zeros(chains, dtype=int)
        self.sum_metro_prob, self.divergent = np.zeros(chains), np.zeros(chains, dtype=bool)

    def begin(self, mask, x, p, log_p, grad, inv_metric, rng):
        """Start a new iteration for the chains in ``mask`` from (x, p) with log p, grad there."""
        d = self.dim
        point = np.concatenate([x, p, grad, log_p[:, None]], axis=1)
        m = mask[:, None]
        self.edge = np.where(m, point, self.edge)
        self.ends = np.where(m, point, self.ends)
        self.candidate = np.where(m, point, self.candidate)
        self.h0 = np.where(mask, -log_p + 0.5 * _dot(p * inv_metric, p), self.h0)
        sharp = inv_metric * point[:, d:2 * d]
        self.whole_p = np.where(m, point[:, d:2 * d], self.whole_p)
        self.whole_sharp = np.where(m, sharp, self.whole_sharp)
        self.whole_rho = np.where(m, point[:, d:2 * d], self.whole_rho)
        for name in ("log_weight", "level", "k", "depth", "n_leapfrog", "sum_metro_prob",
                     "divergent"):
            value = getattr(self, name)
            value[mask] = 0
        self.direction = np.where(mask, self._coin(rng), self.direction)

    def _coin(self, rng):
        return np.where(rng.uniform(size=self.h0.shape) > 0.5, 1.0, -1.0)

    def tick(self, grad_fn, step_size, inv_metric, active, rng):
        """One leapfrog step of every chain; returns the mask of active chains that finished."""
        if not COMPILED:
            d = self.dim
            edge, eps = self.edge, (self.direction * step_size)[:, None]
            p_half = edge[:, d:2 * d] + 0.5 * eps * edge[:, 2 * d:3 * d]
            x = edge[:, :d] + eps * inv_metric * p_half
            log_p, grad = grad_fn(x)
            point = np.concatenate([x, p_half + 0.5 * eps * grad, grad, log_p[:, None]], axis=1)
            return self._bookkeeping(point, inv_metric, active, rng.uniform(size=(3, len(x))))
        x = drift(self.edge, self.direction, step_size, inv_metric)
        log_p, grad = grad_fn(x)
        point = new_point(self.edge, self.direction, step_size, x, log_p, grad)
        u = rng.uniform(size=(3, point.shape[0]))      # take, jump, coin
        finished = np.zeros(point.shape[0], dtype=bool)
        bookkeeping(point, inv_metric, active, u, self.max_depth, self.edge, self.ends,
                    self.candidate, self.sub_candidate, self.h0, self.log_weight,
                    self.sub_log_weight, self.whole_p, self.whole_sharp, self.whole_rho,
                    self.sub_first, self.sub_rho, self.start, self.end, self.level, self.k,
                    self.direction, self.depth, self.n_leapfrog, self.sum_metro_prob,
                    self.divergent, finished)
        return finished

    def _bookkeeping(self, point, inv_metric, active, u):
        """NumPy twin of ``_nuts_kernel.bookkeeping`` (vectorised over chains)."""
        d = self.dim
        p, log_p = point[:, d:2 * d], point[:, -1]
        sharp = inv_metric * p
        with np.errstate(over="ignore", invalid="ignore"):
            h = -log_p + 0.5 * _dot(sharp, p)
            log_w = np.where(np.isnan(h), -np.inf, self.h0 - h)
            diverged = -log_w > MAX_ENERGY_ERROR
            self.n_leapfrog += active
            self.sum_metro_prob += np.where(active, np.exp(np.minimum(0.0, log_w)), 0.0)
            self.divergent |= active & diverged
            first = self.k == 0
            self.sub_first = np.where(first[:, None], np.stack([p, sharp]), self.sub_first)
            self.sub_rho = np.where(first[:, None], 0.0, self.sub_rho)
            r_prev, self.sub_rho = self.sub_rho, self.sub_rho + p
            # progressive sampling of the subtree's candidate: probability w / W_subtree
            self.sub_log_weight = np.where(first, -np.inf, self.sub_log_weight)
            self.sub_log_weight = np.logaddexp(self.sub_log_weight, log_w)
            take = np.log(u[0]) < log_w - self.sub_log_weight
            self.sub_candidate = np.where(take[:, None], point, self.sub_candidate)
            u_turn = self._checkpoint_and_check(p, sharp, r_prev)
        valid = ~diverged & ~u_turn
        complete = active & valid & (self.k + 1 == self.powers[self.level])
        persist = self._merge(complete, point, p, sharp, u[1])
        going_on = complete & persist & (self.level + 1 < self.max_depth)
        mid_tree = active & valid & ~complete
        self.depth += complete
        self.level += going_on
        self.direction = np.where(going_on, np.where(u[2] > 0.5, 1.0, -1.0), self.direction)
        forward_end = np.where((self.direction > 0)[:, None], self.ends[1], self.ends[0])
        self.edge = np.where(mid_tree[:, None], point,
                             np.where(going_on[:, None], forward_end, self.edge))
        self.k = np.where(mid_tree, self.k + 1, 0)
        return active & ~mid_tree & ~going_on

    def _checkpoint_and_check(self, p, sharp, r_prev):
        """Write the leaf's start checkpoints, run the block checks it completes, then ends."""
        k, powers = self.k[:, None], self.powers
        leaf = np.stack([sharp, p, r_prev], axis=1)[:, None]         # (chains, 1, 3, dim)
        self.start = np.where((k % powers == 0)[..., None, None], leaf, self.start)
        closes = (k + 1) % powers == 0                                # (chains, depth)
        need = closes[:, 1:] & (np.arange(1, self.max_depth) <= self.level[:, None])
        u_turn = np.zeros(k.shape[0], dtype=bool)
        if need.any():
            a, mid, before_mid = self.start[:, 1:], self.start[:, :-1], self.end[:, :-1]
            r_now = self.sub_rho[:, None]
            rho_init, rho_final = mid[:, :, 2] - a[:, :, 2], r_now - mid[:, :, 2]
            sharp_now = sharp[:, None]
            before = before_mid
            free = (_u_turn_free(a[:, :, 0], sharp_now, r_now - a[:, :, 2])
                    & _u_turn_free(a[:, :, 0], mid[:, :, 0], rho_init + mid[:, :, 1])
                    & _u_turn_free(before[:, :, 0], sharp_now, rho_final + before[:, :, 1]))
            u_turn = np.any(need & ~free, axis=1)
        self.end = np.where(closes[..., None, None], leaf[:, :, :2], self.end)
        return u_turn

    def _merge(self, complete, point, p, sharp, u_jump):
        """Join each complete subtree to its trajectory; True where no U-turn."""
        if not complete.any():
            return complete
        forward = self.direction > 0
        f = forward[:, None]
        # the subtree in time order: forward it runs first leaf -> this leaf
        sub_p = np.where(f, np.stack([self.sub_first[0], p]), np.stack([p, self.sub_first[0]]))
        sub_sharp = np.where(f, np.stack([self.sub_first[1], sharp]),
                             np.stack([sharp, self.sub_first[1]]))
        with np.errstate(over="ignore", invalid="ignore"):
            persist = np.where(
                forward,
                _merge_is_u_turn_free(self.whole_sharp, self.whole_p, self.whole_rho,
                                      sub_sharp, sub_p, self.sub_rho),
                _merge_is_u_turn_free(sub_sharp, sub_p, self.sub_rho,
                                      self.whole_sharp, self.whole_p, self.whole_rho))
            # biased progressive sampling: the subtree's candidate w.p. min(1, W_new / W_old)
            jump = complete & (np.log(u_jump) < self.sub_log_weight - self.log_weight)
        self.candidate = np.where(jump[:, None], self.sub_candidate, self.candidate)
        self.log_weight = np.where(complete, np.logaddexp(self.log_weight, self.sub_log_weight),
                                   self.log_weight)
        c = complete[:, None]
        side = np.stack([c & ~f, c & f])                # which end of the trajectory moves
        self.ends = np.where(side, point, self.ends)
        self.whole_p = np.where(side, p, self.whole_p)
        self.whole_sharp = np.where(side, sharp, self.whole_sharp)
        self.whole_rho = np.where(c, self.whole_rho + self.sub_rho, self.whole_rho)
        return persist
