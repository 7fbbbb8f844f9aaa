"""The NUTS bookkeeping of one leapfrog step, compiled: ``Trajectories.tick``'s Numba kernel.

After the leapfrog step and its gradient (minigrad, for all chains at once),
everything else a tick does is a few dozen tiny array operations per chain;
as NumPy calls their overhead cost as much as the gradient. This kernel does
them in one compiled loop over chains, on the same state arrays and with the
same pre-drawn uniforms u (take, jump, coin) as the NumPy twin
(``Trajectories._bookkeeping``), so the two give the same draws to rounding
(reference_tests/test_mcmc_nuts.py). Notation as in ``_nuts_tree.py``.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import njit

MAX_ENERGY_ERROR = 1000.0   # as dpm.mcmc.hmc (a literal here: a compiled global)


@njit(cache=True)
def _free(sharp_minus, sharp_plus, rho_a, rho_b, extra):
    """Generalised no-U-turn criterion on rho = rho_a + rho_b + extra (vectors)."""
    dot_minus, dot_plus = 0.0, 0.0
    for i in range(rho_a.shape[0]):
        rho = rho_a[i] + rho_b[i] + extra[i]
        dot_minus += sharp_minus[i] * rho
        dot_plus += sharp_plus[i] * rho
    return dot_minus > 0 and dot_plus > 0


@njit(cache=True)
def _logaddexp(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    top = max(a, b)
    return top + math.log(math.exp(a - top) + math.exp(b - top))


@njit(cache=True)
def _block_free(start, end, c, j, sharp, r_now, zero):
    """Stan's three checks on the block of 2^j leaves that leaf k closes (init + final)."""
    a_sharp, a_r = start[c, j, 0], start[c, j, 2]
    mid_sharp, mid_p, mid_r = start[c, j - 1, 0], start[c, j - 1, 1], start[c, j - 1, 2]
    before_sharp, before_p = end[c, j - 1, 0], end[c, j - 1, 1]
    return (_free(a_sharp, sharp, r_now, -a_r, zero)
            and _free(a_sharp, mid_sharp, mid_r, -a_r, mid_p)
            and _free(before_sharp, sharp, r_now, -mid_r, before_p))


@njit(cache=True)
def _merge(c, d, forward, p, sharp, whole_p, whole_sharp, whole_rho, sub_first, sub_rho, zero):
    """Stan's three checks on trajectory + subtree in time order (left, right)."""
    if forward:   # left = trajectory [beg, end]; right = subtree [first leaf, this leaf]
        return (_free(whole_sharp[0, c], sharp, whole_rho[c], sub_rho[c], zero)
                and _free(whole_sharp[0, c], sub_first[1, c], whole_rho[c], sub_first[0, c], zero)
                and _free(whole_sharp[1, c], sharp, sub_rho[c], whole_p[1, c], zero))
    # left = subtree [this leaf, first leaf]; right = trajectory
    return (_free(sharp, whole_sharp[1, c], sub_rho[c], whole_rho[c], zero)
            and _free(sharp, whole_sharp[0, c], sub_rho[c], whole_p[0, c], zero)
            and _free(sub_first[1, c], whole_sharp[1, c], whole_rho[c], sub_first[0, c], zero))


@njit(cache=True)
def drift(edge, direction, step_size, inv_metric):
    """The leapfrog step's position x' = x + eps M^-1 (p + eps/2 grad) from each chain's edge."""
    chains, d = inv_metric.shape
    x = np.empty((chains, d))
    for c in range(chains):
        eps = direction[c] * step_size[c]
        for i in range(d):
            p_half = edge[c, d + i] + 0.5 * eps * edge[c, 2 * d + i]
            x[c, i] = edge[c, i] + eps * inv_metric[c, i] * p_half
    return x


@njit(cache=True)
def new_point(edge, direction, step_size, x, log_p, grad):
    """The leaf [x' | p' | grad' | log p'] with p' = p + eps/2 grad + eps/2 grad'."""
    chains, d = x.shape
    point = np.empty((chains, 3 * d + 1))
    for c in range(chains):
        eps = direction[c] * step_size[c]
        for i in range(d):
            p_half = edge[c, d + i] + 0.5 * eps * edge[c, 2 * d + i]
            point[c, i], point[c, 2 * d + i] = x[c, i], grad[c, i]
            point[c, d + i] = p_half + 0.5 * eps * grad[c, i]
        point[c, 3 * d] = log_p[c]
    return point


@njit(cache=True)
def bookkeeping(point, inv_metric, active, u, max_depth, edge, ends, candidate, sub_candidate,
                h0, log_weight, sub_log_weight, whole_p, whole_sharp, whole_rho, sub_first,
                sub_rho, start, end, level, k, direction, depth, n_leapfrog, sum_metro_prob,
                divergent, finished):
    """Account for the new leaf ``point`` (chains, 3 dim + 1) of every active chain, in place."""
    chains, d = point.shape[0], inv_metric.shape[1]
    zero = np.zeros(d)
    for c in range(chains):
        finished[c] = False
        if not active[c]:
            continue
        p = point[c, d:2 * d]
        sharp = inv_metric[c] * p
        h = -point[c, 3 * d]
        for i in range(d):
            h += 0.5 * sharp[i] * p[i]
        log_w = -np.inf if math.isnan(h) else h0[c] - h
        diverged = -log_w > MAX_ENERGY_ERROR
        n_leapfrog[c] += 1
        sum_metro_prob[c] += math.exp(min(0.0, log_w))
        divergent[c] = divergent[c] or diverged
        kc = k[c]
        if kc == 0:
            sub_first[0, c], sub_first[1, c] = p, sharp
            sub_rho[c] = 0.0
            sub_log_weight[c] = -np.inf
        r_prev = sub_rho[c].copy()
        sub_rho[c] += p
        sub_log_weight[c] = _logaddexp(sub_log_weight[c], log_w)
        if math.log(u[0, c]) < log_w - sub_log_weight[c]:
            sub_candidate[c] = point[c]
        for j in range(max_depth):
            if kc % (1 << j) == 0:
                start[c, j, 0], start[c, j, 1], start[c, j, 2] = sharp, p, r_prev
        u_turn = False
        for j in range(1, level[c] + 1):
            if (kc + 1) % (1 << j) == 0 and not _block_free(start, end, c, j, sharp,
                                                            sub_rho[c], zero):
                u_turn = True
        for j in range(max_depth):
            if (kc + 1) % (1 << j) == 0:
                end[c, j, 0], end[c, j, 1] = sharp, p
        k[c] = 0
        if diverged or u_turn:
            finished[c] = True
            continue
        if kc + 1 < (1 << level[c]):
            edge[c] = point[c]
            k[c] = kc + 1
            continue
        # the subtree is complete: join it to the trajectory
        forward = direction[c] > 0
        persist = _merge(c, d, forward, p, sharp, whole_p, whole_sharp, whole_rho, sub_first,
                         sub_rho, zero)
        if math.log(u[1, c]) < sub_log_weight[c] - log_weight[c]:
            candidate[c] = sub_candidate[c]
        log_weight[c] = _logaddexp(log_weight[c], sub_log_weight[c])
        side = 1 if forward else 0
        ends[side, c], whole_p[side, c], whole_sharp[side, c] = point[c], p, sharp
        whole_rho[c] += sub_rho[c]
        depth[c] += 1
        if persist and level[c] + 1 < max_depth:
            level[c] += 1
            direction[c] = 1.0 if u[2, c] > 0.5 else -1.0
            edge[c] = ends[1 if direction[c] > 0 else 0, c]
        else:
            finished[c] = True
