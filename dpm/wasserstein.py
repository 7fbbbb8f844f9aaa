"""Wasserstein distances: exact 1-D W_p, discrete optimal transport, Sinkhorn,
and a Kantorovich-Rubinstein critic.

Definition (claim W1). For distributions P, Q and a ground cost d(x, y)^p,

    W_p(P, Q)^p = inf over couplings gamma in Pi(P, Q) of E_gamma d(X, Y)^p,

where Pi(P, Q) holds the joint distributions with marginals P and Q. For
discrete P = sum_i a_i delta_{x_i}, Q = sum_j b_j delta_{y_j} this is the
linear program (the earth mover's distance)

    min_{P >= 0} sum_ij P_ij C_ij  s.t.  sum_j P_ij = a_i,  sum_i P_ij = b_j.

Properties. W_p is a metric; it metrizes weak convergence on compact spaces,
so it is continuous in a generator's parameter where KL and JS jump (claim
W3: the parallel lines (0, U) and (theta, U) are |theta| apart). Duality
(Kantorovich-Rubinstein, claim W2): W_1(P, Q) = sup over 1-Lipschitz f of
E_P f - E_Q f, which needs only samples of P and Q.

How it is computed here.
- `wasserstein_1d`: exact, W_p^p = int_0^1 |F^-1(u) - G^-1(u)|^p du over the
  quantile functions of the (weighted) empirical distributions; with equal
  sizes and no weights, mean |sort(x) - sort(y)|^p. Differentiable in the
  samples through the sorting permutation when given minigrad Tensors.
- `emd`: the linear program above with scipy's HiGHS; `assignment_emd`: equal
  numbers of equally weighted points, solved exactly as an assignment problem.
- `sinkhorn`: entropic relaxation (biased upward by at most reg * log(n m) in
  cost; tends to `emd` as reg -> 0), by matrix scaling where exp(-C/reg)
  cannot underflow and in the log domain with epsilon-scaling where it can.
- `kr_critic_w1`: a Lipschitz-constrained minigrad MLP trained on the dual,
  its gap measured on held-out points (on its training points it would be
  biased upward by overfitting); code in dpm/kr_critic.py.

References: Villani, Optimal Transport (2009), ch. 5-6; Peyre & Cuturi,
Computational Optimal Transport (2019), ch. 2-4; Arjovsky, Chintala & Bottou,
Wasserstein GAN (2017); Gulrajani et al., Improved Training of WGANs (2017).
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment, linprog
from scipy.spatial.distance import cdist

from dpm.kernels import transport as transport_kernels

# Relative tolerance for "the two marginals carry the same total mass".
_MASS_RTOL = 1e-9


def _is_tensor(value):
    try:
        from minigrad import Tensor
    except ImportError:  # the engine is optional for the NumPy paths
        return False
    return isinstance(value, Tensor)


def _samples(name, values):
    """Validate 1-D or (n, d) finite samples; return a float64 array."""
    array = np.asarray(values.data if _is_tensor(values) else values, dtype=np.float64)
    if array.ndim not in (1, 2) or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D or 2-D array of samples, "
                         f"got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array[~np.isfinite(array)][:3]} "
                         f"among its values")
    return array


def _masses(name, values, size=None):
    """Validate a non-negative, finite, not-all-zero 1-D weight vector."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of masses, got shape {array.shape}")
    if size is not None and array.shape[0] != size:
        raise ValueError(f"{name} must have one mass per sample ({size}), got {array.shape[0]}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {array}")
    if array.sum() <= 0:
        raise ValueError(f"{name} must not be all zero, got {array}")
    return array


def _power(p):
    if not np.isfinite(p) or p < 1:
        raise ValueError(f"p must be a finite number >= 1 (W_p is a metric for p >= 1), got {p}")
    return float(p)


def wasserstein_1d(x, y, x_weights=None, y_weights=None, p=1):
    """Exact W_p between two 1-D (weighted) empirical distributions. Claims W1, W3.

    W_p^p = int_0^1 |F^-1(u) - G^-1(u)|^p du, with F^-1, G^-1 the quantile
    functions: step functions whose steps sit at the cumulative weights, so
    the integral is a finite sum over the merged steps. For equal sizes and
    no weights it is mean |x_(k) - y_(k)|^p over the order statistics.

    x (n,), y (m,): samples; x_weights (n,), y_weights (m,): masses >= 0, not
    all zero (normalised here). Returns W_p as a float; if x or y is a
    minigrad Tensor (equal sizes, no weights) a scalar Tensor differentiable
    with respect to the samples: the sorting permutation is held fixed, which
    is the derivative almost everywhere (wherever the samples have no ties).
    """
    p = _power(p)
    tensors = _is_tensor(x) or _is_tensor(y)
    x_values, y_values = _samples("x", x), _samples("y", y)
    if x_values.ndim != 1 or y_values.ndim != 1:
        raise ValueError(f"x and y must be 1-D, got shapes {x_values.shape} and {y_values.shape}")
    plain = x_weights is None and y_weights is None and x_values.shape == y_values.shape
    if tensors:
        if not plain:
            raise ValueError("Tensor samples need equal sizes and no weights, got "
                             f"sizes {x_values.shape[0]}, {y_values.shape[0]} and weights given: "
                             f"{x_weights is not None or y_weights is not None}")
        return _sorted_gap_tensor(x, y, x_values, y_values, p)
    if plain:
        gaps = np.abs(np.sort(x_values) - np.sort(y_values))
        return float(gaps.mean()) if p == 1 else float(np.mean(gaps ** p) ** (1 / p))
    sorted_x, levels_x = _quantile_steps("x_weights", x_values, x_weights)
    sorted_y, levels_y = _quantile_steps("y_weights", y_values, y_weights)
    levels = np.union1d(levels_x, levels_y)
    widths = np.diff(levels, prepend=0.0)
    # On (levels[k-1], levels[k]] each quantile function is constant: the first
    # sorted sample whose cumulative weight reaches levels[k] (side="left"
    # skips zero-weight samples, which own no interval).
    quantile_x = sorted_x[np.searchsorted(levels_x, levels, side="left")]
    quantile_y = sorted_y[np.searchsorted(levels_y, levels, side="left")]
    gaps = np.abs(quantile_x - quantile_y)
    return float(widths @ gaps) if p == 1 else float((widths @ gaps ** p) ** (1 / p))


def _quantile_steps(name, values, weights):
    """Sorted samples and their cumulative weights, normalised to end at exactly 1.0."""
    if weights is None:
        return np.sort(values), np.arange(1, values.shape[0] + 1) / values.shape[0]
    weights = _masses(name, weights, values.shape[0])
    # Any order of tied samples gives the same quantile function, so the
    # (faster) unstable argsort is fine.
    order = np.argsort(values)
    levels = np.cumsum(weights[order])
    return values[order], levels / levels[-1]  # x / x is exactly 1.0 in IEEE arithmetic


def _sorted_gap_tensor(x, y, x_values, y_values, p):
    """(mean |x_(k) - y_(k)|^p)^(1/p) as a minigrad expression (claim W3)."""
    from minigrad import Tensor
    import minigrad

    def ascending(points, values):
        return (points[np.argsort(values, kind="stable")] if _is_tensor(points)
                else Tensor(np.sort(values)))
    x_sorted, y_sorted = ascending(x, x_values), ascending(y, y_values)
    gaps = minigrad.abs(x_sorted - y_sorted)
    if p == 1:
        return gaps.mean()
    # (mean gap^p)^(1/p) has derivative mean(...) ^ (1/p - 1) ... = inf * 0 at identical
    # samples; 0 is a subgradient there (W_p >= 0 is minimal), so the double where
    # takes the root only of a positive mean and gives value 0 and gradient 0 otherwise.
    moment = (gaps ** p).mean()
    positive = moment.data > 0
    root = minigrad.where(positive, moment, 1.0) ** (1 / p)
    return minigrad.where(positive, root, 0.0)


def cost_matrix(x, y, p=1):
    """Ground costs C_ij = ||x_i - y_j||^p (Euclidean); x (n,) or (n, d), y (m,) or (m, d)."""
    p = _power(p)
    x_points, y_points = _samples("x", x), _samples("y", y)
    x_points = x_points[:, None] if x_points.ndim == 1 else x_points
    y_points = y_points[:, None] if y_points.ndim == 1 else y_points
    if x_points.shape[1] != y_points.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got shapes {x_points.shape} "
                         f"and {y_points.shape}")
    distances = cdist(x_points, y_points)
    return distances if p == 1 else distances ** p


def _transport_problem(a, b, cost):
    """Validate marginals a (n,), b (m,) of equal total mass and a finite cost (n, m)."""
    a, b = _masses("a", a), _masses("b", b)
    total_a, total_b = a.sum(), b.sum()
    if abs(total_a - total_b) > _MASS_RTOL * max(total_a, total_b):
        raise ValueError(f"a and b must carry the same total mass (relative tolerance "
                         f"{_MASS_RTOL}), got sum(a) = {total_a!r} and sum(b) = {total_b!r}")
    cost = np.asarray(cost, dtype=np.float64)
    if cost.shape != (a.shape[0], b.shape[0]):
        raise ValueError(f"cost must have shape (len(a), len(b)) = {(a.shape[0], b.shape[0])}, "
                         f"got {cost.shape}")
    if not np.all(np.isfinite(cost)):
        raise ValueError("cost must be finite, got non-finite entries")
    return a, b, cost


def emd(a, b, cost, method="auto"):
    """Exact discrete optimal transport (earth mover's distance). Claim W1.

    Solves min <P, C> over P >= 0 with row sums a and column sums b as a
    linear program (HiGHS), the constraints built as sparse matrices:
    row sums are kron(I_n, 1_m^T) vec(P), column sums kron(1_n^T, I_m) vec(P).
    Returns (cost value, plan (n, m)). With C = cost_matrix(x, y, p) and
    masses summing to 1 the value is W_p^p.

    A general LP is the wrong tool past a few hundred points (500 x 500 takes
    about 30 s; see PERF-NOTES): network simplex or `sinkhorn` are. For n = m
    and uniform masses the LP has a permutation matrix among its optimal
    vertices (Birkhoff), so method="auto" then solves the assignment problem
    exactly with `scipy.optimize.linear_sum_assignment`; method="linprog"
    forces the LP, method="assignment" demands the assignment path.
    """
    a, b, cost = _transport_problem(a, b, cost)
    if method not in ("auto", "linprog", "assignment"):
        raise ValueError(f"method must be 'auto', 'linprog' or 'assignment', got {method!r}")
    n, m = cost.shape
    uniform = n == m and np.all(a == a[0]) and np.all(b == b[0])
    if method == "assignment" and not uniform:
        raise ValueError(f"method='assignment' needs len(a) == len(b) and uniform masses, "
                         f"got sizes {n}, {m}")
    if uniform and method != "linprog":
        rows, cols = linear_sum_assignment(cost)
        plan = np.zeros((n, m))
        plan[rows, cols] = a[0]
        return float(a[0] * cost[rows, cols].sum()), plan
    b = b * (a.sum() / b.sum())  # equal totals exactly, else the equalities are inconsistent
    row_sums = sparse.kron(sparse.identity(n), np.ones((1, m)))
    column_sums = sparse.kron(np.ones((1, n)), sparse.identity(m))
    result = linprog(cost.ravel(), A_eq=sparse.vstack([row_sums, column_sums]).tocsc(),
                     b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"linprog could not solve the transport problem: {result.message}")
    plan = np.maximum(result.x.reshape(n, m), 0.0)  # HiGHS may leave -1e-17 rounding
    return float(result.fun), plan


def assignment_emd(x, y, p=1):
    """Exact W_p between two equal-size point clouds with equal weights. Claims W1, W3.

    W_p^p = min over permutations s of (1/n) sum_i ||x_i - y_s(i)||^p, solved
    exactly by `scipy.optimize.linear_sum_assignment` (O(n^3), fine to a few
    thousand points). x, y: (n,) or (n, d). Returns (W_p, matching) with
    matching[i] the index of the y matched to x_i. If x or y is a minigrad
    Tensor, W_p is a Tensor differentiable in the points: the optimal matching
    is held fixed (envelope theorem; exact wherever it is unique). Keep
    matched points distinct there: ||.|| has no derivative at 0.
    """
    p = _power(p)
    cost = cost_matrix(x, y, p)
    if cost.shape[0] != cost.shape[1]:
        raise ValueError(f"x and y must hold the same number of points, got {cost.shape[0]} "
                         f"and {cost.shape[1]}")
    _, matching = linear_sum_assignment(cost)
    if not (_is_tensor(x) or _is_tensor(y)):
        value = cost[np.arange(cost.shape[0]), matching].mean()
        return float(value if p == 1 else value ** (1 / p)), matching
    import minigrad
    from minigrad import Tensor
    x_t = x if _is_tensor(x) else Tensor(_samples("x", x))
    y_t = y if _is_tensor(y) else Tensor(_samples("y", y))
    gaps = x_t - y_t[matching]
    if gaps.ndim == 1:
        powered = minigrad.abs(gaps) ** p
    else:
        squared = (gaps * gaps).sum(axis=1)
        powered = squared if p == 2 else squared ** (p / 2)
    return (powered.mean() if p == 1 else powered.mean() ** (1 / p)), matching


# The multiplicative path needs every kernel entry exp(-(C_ij - min C) / reg)
# above e^-SCALING_LIMIT (about 1e-87): then neither the kernel nor the scalings
# a / (K v), b / (K^T u) can leave float64's range (e^+-709).
SCALING_LIMIT = 200.0
# epsilon-scaling: reg falls by this factor per stage, from the cost spread to the target.
ANNEAL = 0.25


def sinkhorn(a, b, cost, reg, n_iter=1000, tol=1e-9, return_plan=False, method="auto"):
    """Entropic optimal transport by Sinkhorn's iterations. Relaxes claim W1.

    Minimises <P, C> - reg H(P), H(P) = -sum P_ij log P_ij, over couplings of
    a and b. The optimum is P_ij = exp((f_i + g_j - C_ij) / reg) for dual
    potentials f, g. Two ways of finding them (``method``):

    - "scaling" (multiplicative, Sinkhorn-Knopp): P = diag(u) K diag(v),
      K = exp(-(C - min C) / reg), alternating u = a / (K v), v = b / (K^T u):
      two matrix-vector products a sweep, no exp inside the loop;
    - "log": the soft-min updates of the potentials,
          f_i = reg log a_i - reg logsumexp_j((g_j - C_ij) / reg),
          g_j = reg log b_j - reg logsumexp_i((f_i - C_ij) / reg),
      finite for any reg > 0, with epsilon-scaling: reg is annealed from the
      cost spread (max C - min C) down to the target by a factor ANNEAL a
      stage, each stage warm-started from the last one's potentials, so that
      small reg (1e-3 on unit costs) converges in few sweeps per stage;
    - "auto" (default): "scaling" when (max C - min C) / reg <= SCALING_LIMIT
      (every entry of K above e^-200, so nothing can underflow or
      overflow), "log" otherwise.

    Iteration stops when sum_i |sum_j P_ij - a_i| <= tol * sum(a) (columns are
    then exact); otherwise a RuntimeWarning says how far it got. ``n_iter``
    bounds the sweeps of the final stage (and of each annealing stage).

    Returns the transport cost <P, C> (not the regularised objective), and the
    plan if return_plan. As reg falls it decreases to emd's value:
    0 <= sinkhorn - emd <= reg log(n m). Zero masses are dropped before
    iterating (their rows/columns of P are 0). The loops run in Numba kernels
    (NumPy twins when Numba is off): see dpm/kernels/transport.py.
    """
    a, b, cost = _transport_problem(a, b, cost)
    if not np.isfinite(reg) or reg <= 0:
        raise ValueError(f"reg must be a finite number > 0, got {reg}")
    if int(n_iter) != n_iter or n_iter < 1:
        raise ValueError(f"n_iter must be a positive integer, got {n_iter}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if method not in ("auto", "scaling", "log"):
        raise ValueError(f"method must be 'auto', 'scaling' or 'log', got {method!r}")
    total = a.sum()
    rows, cols = a > 0, b > 0
    support_cost = (np.ascontiguousarray(cost) if rows.all() and cols.all()  # no copy needed
                    else np.ascontiguousarray(cost[np.ix_(rows, cols)]))
    # Work with probability vectors; plan and cost scale back by the total mass.
    a_support, b_support = a[rows] / total, b[cols] / b.sum()
    low = float(support_cost.min())
    spread = float(support_cost.max()) - low
    if method == "auto":
        method = "scaling" if spread <= SCALING_LIMIT * reg else "log"
    run = _sinkhorn_scaling if method == "scaling" else _sinkhorn_annealed
    f, g, sweeps, error, value = run(a_support, b_support, support_cost, float(reg), low,
                                     spread, int(n_iter), float(tol))
    if not error <= tol:
        warnings.warn(f"sinkhorn did not converge in {sweeps} iterations: row-marginal error "
                      f"{error:.3g} > tol = {tol:.3g} (raise n_iter or reg)", RuntimeWarning,
                      stacklevel=2)
    if not return_plan:
        return float(total * value)
    plan = np.zeros(cost.shape)
    plan[np.ix_(rows, cols)] = total * np.exp((f[:, None] + g[None, :] - support_cost) / reg)
    return float(total * value), plan


def _sinkhorn_scaling(a, b, cost, reg, low, spread, n_iter, tol):
    """Sinkhorn-Knopp on K = exp(-(C - low) / reg): (f, g, sweeps, error, <P, C>)."""
    kernel = np.empty(cost.shape)
    transport_kernels.gibbs_kernel(cost, low, reg, kernel)
    u, v = np.zeros(a.shape[0]), np.ones(b.shape[0])
    sweep, error = transport_kernels.sinkhorn_scaling(kernel, a, b, u, v, n_iter, tol)
    value = float(u @ np.einsum("ij,ij,j->i", kernel, cost, v))
    # P = u K v = exp((f + g - C) / reg) with f = reg log u + low, g = reg log v
    return reg * np.log(u) + low, reg * np.log(v), sweep, error, value


def _sinkhorn_annealed(a, b, cost, reg, low, spread, n_iter, tol):
    """Log-domain Sinkhorn with epsilon-scaling: (f, g, sweeps, error, <P, C>)."""
    log_a, log_b = np.log(a), np.log(b)
    f, g = np.zeros(a.shape[0]), np.zeros(b.shape[0])
    stages = [reg]
    while stages[-1] < spread:
        stages.append(stages[-1] / ANNEAL)
    sweeps = 0
    for stage_reg in stages[:0:-1]:   # the larger regs first, loosely: they only warm-start
        sweeps += transport_kernels.sinkhorn_log(log_a, log_b, cost, stage_reg, f, g, n_iter,
                                                  max(tol, 1e-6))[0]
    done, error = transport_kernels.sinkhorn_log(log_a, log_b, cost, reg, f, g, n_iter, tol)
    return f, g, sweeps + done, error, transport_kernels.transport_cost(cost, f, g, reg)


# The Kantorovich-Rubinstein critic (claim W2) is a concept of its own
# (dpm/kr_critic.py), re-exported here as part of this module's API.
from dpm.kr_critic import KRCritic, kr_critic_w1, lipschitz_envelope  # noqa: E402,F401
