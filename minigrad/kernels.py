"""logsumexp, softmax, log_softmax and the logsumexp backward on plain ndarrays (claim A3).

    logsumexp(x) = M + log1p(R),  M = max_j x_j,  R = sum_{j != j*} exp(x_j - M)
    softmax(x)_j = exp(x_j - M) / (1 + R),   log_softmax(x)_j = (x_j - M) - log1p(R)
    d logsumexp / dx_j = softmax(x)_j = exp(x_j - logsumexp(x))

j* is the first index of the maximum, whose term exp(0) = 1 is taken out of the
sum so that log1p keeps a tiny result exact (logsumexp([0, -40]) = 4.2e-18, not
0). The shift by M keeps exp from overflowing at 1e308 or underflowing at
-1e308. Where M is infinite the shift is not made: an all -inf row gives -inf
(softmax 0, log_softmax -inf, gradient 0, no warning); a +inf entry gives +inf
(its softmax is NaN, the others 0, as exp(x - lse) says); NaN gives NaN.

Every public function has a Numba path (`<name>_numba`) and a plain-NumPy twin
(`<name>_numpy`) of the same signature; `<name>` is the Numba one when
`minigrad._numba.NUMBA_ENABLED`, else the twin. The reduced axis is moved last
and made contiguous, so every kernel sees rows of length m in a flat array.
Values are computed in float64; float32 input gives float32 output.

Speed. The work is bound by exp. On this 2-core AVX2 machine np.exp costs
about 5.5 ns a value on one core, and so does math.exp in a Numba loop (a
scalar libm call: pip's llvmlite has no vector math library). `exp_poly` writes
exp as arithmetic that LLVM vectorizes over 4 AVX2 lanes: about 1.8 ns a value
on one core, 3x the machine's exp, against 0.5 ns a value for np.sum over the
same memory (the floor). Short rows (m <= BLOCK) are processed a block of rows
at a time so that exp runs over the whole block's values, not 8 at a time; long
rows and whole arrays are cut into segments reduced in parallel and combined,
each segment in one pass over memory (online max and sum, BLOCK values at a
time). Measured on 2 threads: 1e7 values in about 16 ms (3.2 ns of core time a
value: our exp plus the max and the sum; 3-4x the np.sum floor), rows of
(1e6 x 8) in about 18 ms, where scipy.special.logsumexp takes 195 and 350 ms.
`python -m demos.benchmark --only logsumexp` measures the ratios.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit, prange

__all__ = ["logsumexp", "softmax", "log_softmax", "logsumexp_backward", "exp_poly", "log1p_poly",
           "logsumexp_numpy", "softmax_numpy", "log_softmax_numpy", "logsumexp_backward_numpy",
           "exp_poly_numpy", "logsumexp_numba", "softmax_numba", "log_softmax_numba",
           "logsumexp_backward_numba"]

BLOCK = 2048          # values per buffer: 16 KB of float64 stays in L1
SEGMENTS = 64         # a few rows are cut into about this many segments in all
INF = math.inf

# ---------------------------------------------------------------- exp_poly
# exp(t) = 2^n exp(r), n = rint(t / ln 2), r = t - n ln 2 in [-0.347, 0.347].
# ln 2 = LN2_HI + LN2_LO with LN2_HI's 32 significant bits, so n * LN2_HI is exact.
LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
SHIFTER = 6755399441055744.0          # 1.5 * 2^52: adding it rounds to an integer
SHIFTER_BITS = int(np.float64(SHIFTER).view(np.int64))
TAYLOR = tuple(1.0 / math.factorial(k) for k in range(14))   # degree 13: tail <= 5e-18
HORNER = TAYLOR[12::-1]               # 1/12!, ..., 1/1!, 1/0! after the leading 1/13!

if NUMBA_ENABLED:
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _bits(typingctx, value):
        """Reinterpret a float64's bits as an int64 (a bitcast LLVM can vectorize)."""
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(types.int64))
        return types.int64(types.float64), codegen

    @intrinsic
    def _from_bits(typingctx, bits):
        """Reinterpret an int64's bits as a float64."""
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(types.float64))
        return types.float64(types.int64), codegen
else:
    def _bits(value):
        return int(np.float64(value).view(np.int64))

    def _from_bits(bits):
        return float(np.int64(bits).view(np.float64))


# fastmath "contract" only lets LLVM fuse a*b + c into one FMA (one rounding
# fewer). No flag may assume away NaN or inf, and no reassociation may undo the
# SHIFTER rounding trick: inline="always" gives this body its caller's flags, so
# every function calling it uses at most {"contract"}. (Without the inlining,
# Numba calls it as an opaque native function and the loops do not vectorize.)
@njit(cache=True, inline="always", fastmath={"contract"})
def _exp_scalar(t):
    """exp(t) for any float64 t: 0 below -746, inf above 709.8, NaN stays NaN."""
    t = -746.0 if t < -746.0 else t      # written so that NaN passes through both
    t = 710.0 if t > 710.0 else t
    k = t * LOG2E + SHIFTER
    n = k - SHIFTER
    r = (t - n * LN2_HI) - n * LN2_LO
    p = TAYLOR[13]
    for c in HORNER:                     # a constant tuple: unrolled by LLVM
        p = p * r + c
    # 2^n as two factors 2^(n//2) 2^(n - n//2), both normal, so a subnormal
    # result is rounded once by the last product instead of flushed to zero.
    n_int = _bits(k) - SHIFTER_BITS
    half = n_int >> 1
    return p * _from_bits((half + 1023) << 52) * _from_bits((n_int - half + 1023) << 52)


# The loops below run over array views from index 0: with an index of unknown
# sign Numba adds negative-index wrap-around code, and LLVM no longer vectorizes.
@njit(cache=True, fastmath={"contract"})
def _exp_inplace(buf):
    for j in range(buf.size):
        buf[j] = _exp_scalar(buf[j])


def exp_poly(t):
    """exp of an array by `_exp_scalar`, the vectorizable exp the kernels use (A3).

    Error: range reduction t = n ln 2 + r (|r| <= 0.347, error <= 2^-53 |r|),
    exp(r) by its Taylor polynomial of degree 13 (truncation <= r^14/14! < 5e-18,
    Horner in FMA about 1 ulp), times 2^n exactly. The tests assert it is within
    2 ulp of np.exp for normal results and within 2 subnormal steps (1e-323) below.
    """
    values = np.array(t, dtype=np.float64, copy=True).reshape(-1)
    _exp_inplace(values)
    return values.reshape(np.shape(t))


def exp_poly_numpy(t):
    """The same algorithm as `exp_poly` in NumPy operations (its twin)."""
    t = np.clip(np.asarray(t, dtype=np.float64), -746.0, 710.0)   # clip keeps NaN
    k = t * LOG2E + SHIFTER
    n = k - SHIFTER
    r = (t - n * LN2_HI) - n * LN2_LO
    p = np.full_like(r, TAYLOR[13])
    for c in HORNER:
        p = p * r + c
    n_int = np.where(np.isnan(k), 0, k.view(np.int64) - SHIFTER_BITS)
    half = n_int >> 1
    with np.errstate(over="ignore", under="ignore"):    # exp overflows to inf, underflows to 0
        scale_half = ((half + 1023) << 52).view(np.float64)
        return p * scale_half * ((n_int - half + 1023) << 52).view(np.float64)


# log1p(u) = k ln 2 + log(1 + f) with 1 + u = 2^k (1 + f), 1 + f in [sqrt(1/2), sqrt(2)),
# and log(1 + f) = 2 atanh(s), s = f / (2 + f), |s| <= 0.172: a series in s^2.
SQRT_HALF_BITS = int(np.float64(math.sqrt(0.5)).view(np.int64))
MANTISSA = (1 << 52) - 1
D1, D2, D3, D4, D5, D6, D7, D8, D9, D10, D11 = (2.0 / (2 * k + 1) for k in range(1, 12))


@njit(cache=True, inline="always", fastmath={"contract"})
def _log1p_scalar(u):
    """log1p(u) for finite u >= 0 (the R of logsumexp), within 1 ulp of np.log1p."""
    one_plus = 1.0 + u
    lost = (u - (one_plus - 1.0)) / one_plus   # what rounding 1 + u dropped, to first order
    b = _bits(one_plus) - SQRT_HALF_BITS
    k = _from_bits((b >> 52) + SHIFTER_BITS) - SHIFTER   # int -> float by the shifter (vectorizes)
    f = _from_bits((b & MANTISSA) + SQRT_HALF_BITS) - 1.0
    half_f2 = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    tail = D11 * z + D10                      # 2 atanh(s) = 2s + s * tail, tail = sum_k D_k s^2k
    for d in (D9, D8, D7, D6, D5, D4, D3, D2, D1):
        tail = tail * z + d
    tail *= z
    # 2s = f - half_f2 + s * half_f2, so log(1 + f) = f - half_f2 + s * (half_f2 + tail)
    return k * LN2_HI - ((half_f2 - (s * (half_f2 + tail) + (k * LN2_LO + lost))) - f)


# error_model="numpy": no ZeroDivisionError branch, which would stop vectorization.
@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _add_log1p(M, R):
    """M[i] += log1p(R[i]): logsumexp from a row's statistics (views, so it vectorizes)."""
    for i in range(M.size):
        M[i] += _log1p_scalar(R[i])


def log1p_poly(u):
    """log1p of an array of finite u >= 0 by `_log1p_scalar` (A3); its twin is np.log1p."""
    values = np.zeros(np.shape(u))
    _add_log1p(values.reshape(-1), np.ascontiguousarray(u, dtype=np.float64).reshape(-1))
    return values


# ---------------------------------------------------------------- Numba row kernels
# A row's statistics (M, R) mean sum_j exp(x_j) = e^M (1 + R). M is NaN when the
# row holds a NaN, +inf (R = 0) when it holds +inf, -inf (R = 0) when all is -inf.
# Helpers on x[lo:hi] by index: a Numba array view per short row costs more
# than the row's arithmetic. Only the exp loops get views (see _exp_inplace).
@njit(cache=True, inline="always")
def _max_ignoring_nan(x, lo, hi):
    """Largest value of x[lo:hi] ignoring NaN; -inf when there is none."""
    best = -INF
    for j in range(lo, hi):
        best = x[j] if x[j] > best else best
    return best


@njit(cache=True, inline="always")
def _special_stats(x, lo, hi, top):
    """(M, R) of x[lo:hi] whose largest non-NaN value `top` is +-inf (no shift possible)."""
    for j in range(lo, hi):
        if x[j] != x[j]:
            return math.nan, 0.0
    return top, 0.0


@njit(cache=True, inline="always")
def _rest_stats(e, lo, hi, star, top):
    """(M, R) of a slice with finite max `top`, from e[lo:hi] = exp(x - top).

    R leaves out e[star], the first maximum's term (exactly 1). Four partial
    sums let the additions overlap; their order is fixed, so no fastmath.
    """
    e[star] = 0.0
    s0 = s1 = s2 = s3 = 0.0
    for j in range(lo, hi - 3, 4):
        s0 += e[j]
        s1 += e[j + 1]
        s2 += e[j + 2]
        s3 += e[j + 3]
    for j in range(hi - (hi - lo) % 4, hi):
        s0 += e[j]
    e[star] = 1.0
    rest = (s0 + s1) + (s2 + s3)
    return (top, rest) if rest == rest else (math.nan, 0.0)   # a NaN entry: M is NaN


@njit(cache=True, fastmath={"contract"})
def _exp_shifted(v, shift, e):
    """e[j] = exp(v[j] - shift) (views, so that the loop vectorizes)."""
    for j in range(v.size):
        e[j] = _exp_scalar(v[j] - shift)


@njit(cache=True, inline="always")
def _combine(M, R, m, r):
    """Stats of two slices together: e^M (1 + R) + e^m (1 + r) = e^M' (1 + R')."""
    if M != M or m != m:
        return math.nan, 0.0
    if m > M:
        M, R, m, r = m, r, M, R
    if m == -INF or M == INF:
        return M, R
    return M, R + (1.0 + r) * _exp_scalar(m - M)


@njit(cache=True)
def _block_stats(x, m, e, M, R):
    """M, R of the short rows of x (k*m values); leaves exp(x - M) of each finite row in e.

    The shifts are written first and exp runs once over all k*m values, so it
    vectorizes even when m is 8.
    """
    first_max = np.empty(M.size, dtype=np.int64)
    for i in range(M.size):
        lo, hi = i * m, i * m + m
        top, star = -INF, lo
        for j in range(lo, hi):         # max and its first index, without branches
            bigger = x[j] > top
            star = j if bigger else star
            top = x[j] if bigger else top
        first_max[i] = star
        shift = top if math.isfinite(top) else 0.0
        for j in range(lo, hi):
            e[j] = x[j] - shift
        M[i], R[i] = (top, 0.0) if math.isfinite(top) else _special_stats(x, lo, hi, top)
    _exp_inplace(e)
    for i in range(M.size):
        if math.isfinite(M[i]):
            M[i], R[i] = _rest_stats(e, i * m, i * m + m, first_max[i], M[i])


@njit(cache=True)
def _segment_stats(x, e):
    """M, R of all of x in one pass: BLOCK values at a time, combined online."""
    M, R = -INF, 0.0
    for lo in range(0, x.size, BLOCK):
        hi = min(lo + BLOCK, x.size)
        top = _max_ignoring_nan(x, lo, hi)
        if math.isfinite(top):
            _exp_shifted(x[lo:hi], top, e)
            star = lo
            while x[star] != top:
                star += 1
            m, r = _rest_stats(e, 0, hi - lo, star - lo, top)
        else:
            m, r = _special_stats(x, lo, hi, top)
        M, R = _combine(M, R, m, r)
    return M, R


# Each kernel below opens one parallel region (two for the softmax of a few
# long rows): every region start wakes the worker threads, which costs much
# more than the work when the machine is busy.
@njit(cache=True, parallel=True)
def _long_row_stats(xf, m, M, R):
    """M, R of each row of the (n, m) values xf, m > BLOCK: segments in parallel."""
    n = M.size
    pieces = max(1, min(SEGMENTS // n, m // BLOCK))   # few long rows: cut each row too
    seg = (m + pieces - 1) // pieces
    Ms, Rs = np.empty(n * pieces), np.empty(n * pieces)
    for s in prange(n * pieces):
        start = (s // pieces) * m + (s % pieces) * seg
        stop = (s // pieces) * m + min(m, (s % pieces) * seg + seg)
        Ms[s], Rs[s] = _segment_stats(xf[start:max(start, stop)], np.empty(BLOCK))
    for i in range(n):                  # serial: n * pieces numbers, no more
        M[i], R[i] = -INF, 0.0
        for p in range(i * pieces, i * pieces + pieces):
            M[i], R[i] = _combine(M[i], R[i], Ms[p], Rs[p])


@njit(cache=True, parallel=True)
def _lse_rows(xf, m, out):
    """out[i] = logsumexp of row i of the (n, m) values xf (m >= 1)."""
    n = out.size
    R = np.empty(n)
    if m > BLOCK:
        _long_row_stats(xf, m, out, R)
        _add_log1p(out, R)
        return
    per = BLOCK // m
    for b in prange((n + per - 1) // per):
        r0, r1 = b * per, min(n, b * per + per)
        _block_stats(xf[r0 * m:r1 * m], m, np.empty((r1 - r0) * m), out[r0:r1], R[r0:r1])
        _add_log1p(out[r0:r1], R[r0:r1])



# Below SERIAL_BELOW values a parallel region costs more than the work: waking
# the workers takes tens of microseconds, and on a busy 2-core machine a worker
# may wait a whole time slice (ms) for a core. Small inputs run in one thread.
SERIAL_BELOW = 1 << 15


@njit(cache=True)
def _stats_serial(xf, m, M, R, e):
    """M, R of every row of the (n, m) values xf in one thread.

    Short rows (m <= BLOCK) leave exp(x - M) in e (n*m values); long rows use
    a BLOCK buffer of their own and leave e alone.
    """
    if m > BLOCK:
        buffer = np.empty(BLOCK)
        for i in range(M.size):
            M[i], R[i] = _segment_stats(xf[i * m:i * m + m], buffer)
        return
    per = BLOCK // m
    for r0 in range(0, M.size, per):
        r1 = min(M.size, r0 + per)
        _block_stats(xf[r0 * m:r1 * m], m, e[r0 * m:r1 * m], M[r0:r1], R[r0:r1])


@njit(cache=True)
def _lse_rows_serial(xf, m, out):
    """`_lse_rows` in one thread, for inputs below SERIAL_BELOW values."""
    R = np.empty(out.size)
    _stats_serial(xf, m, out, R, np.empty(xf.size if m <= BLOCK else 0))
    _add_log1p(out, R)

SOFTMAX, LOG_SOFTMAX, BACKWARD = 0, 1, 2   # what `_finish_row` writes


@njit(cache=True, inline="always")
def _finish_row(x, lo, hi, M, R, g, out, mode, have_exp):
    """softmax, log_softmax or g * softmax of x[lo:hi] (a row or a piece) into out[lo:hi].

    have_exp: out[lo:hi] already holds exp(x - M) (short rows), else it is computed here.
    """
    if not math.isfinite(M):
        off = -INF if mode == LOG_SOFTMAX else 0.0   # all -inf: softmax 0, log_softmax -inf
        for j in range(lo, hi):
            dead = mode == BACKWARD and x[j] == -INF
            out[j] = math.nan if (M != M or x[j] == INF) and not dead else off
    elif mode == LOG_SOFTMAX:
        L = _log1p_scalar(R)
        for j in range(lo, hi):
            out[j] = (x[j] - M) - L
    else:
        scale = (g if mode == BACKWARD else 1.0) / (1.0 + R)
        if not have_exp:
            _exp_shifted(x[lo:hi], M, out[lo:hi])
        for j in range(lo, hi):
            out[j] = 0.0 if (mode == BACKWARD and x[j] == -INF) else out[j] * scale


@njit(cache=True, parallel=True)
def _softmax_rows(xf, m, g, out, mode):
    """`_finish_row` for every row of the (n, m) values xf; g (n,) only for BACKWARD."""
    n = out.size // m
    M, R = np.empty(n), np.empty(n)
    if m <= BLOCK:
        per = BLOCK // m
        for b in prange((n + per - 1) // per):
            r0, r1 = b * per, min(n, b * per + per)
            x, e = xf[r0 * m:r1 * m], out[r0 * m:r1 * m]     # out is the exp buffer
            _block_stats(x, m, e, M[r0:r1], R[r0:r1])
            for i in range(r0, r1):
                lo = (i - r0) * m
                _finish_row(x, lo, lo + m, M[i], R[i], g[min(i, g.size - 1)], e, mode, True)
        return
    _long_row_stats(xf, m, M, R)
    pieces = (m + BLOCK - 1) // BLOCK
    for s in prange(n * pieces):
        i = s // pieces
        lo = i * m + (s % pieces) * BLOCK
        _finish_row(xf, lo, min(lo + BLOCK, i * m + m), M[i], R[i], g[min(i, g.size - 1)],
                    out, mode, False)


@njit(cache=True)
def _softmax_rows_serial(xf, m, g, out, mode):
    """`_softmax_rows` in one thread, for inputs below SERIAL_BELOW values."""
    n = out.size // m
    M, R = np.empty(n), np.empty(n)
    _stats_serial(xf, m, M, R, out)     # short rows: out now holds exp(x - M)
    for i in range(n):
        _finish_row(xf, i * m, i * m + m, M[i], R[i], g[min(i, g.size - 1)], out, mode,
                    m <= BLOCK)


# ---------------------------------------------------------------- NumPy twins of the row kernels
def _row_stats_numpy(rows):
    """M, R (as in `_block_stats`) of each row of a 2-D array, and e = exp(x - M)."""
    if rows.shape[1] == 0:                     # an empty sum is 0: logsumexp -inf
        return np.full(rows.shape[0], -INF), np.zeros(rows.shape[0]), rows.copy()
    top = rows.max(axis=1)
    finite = np.isfinite(top)                  # np.max gives NaN for a row holding NaN
    e = np.exp(rows - np.where(finite, top, 0.0)[:, None])
    e[~finite] = 0.0
    which = np.flatnonzero(finite)
    star = np.argmax(rows[which], axis=1)       # the first maximum of each finite row
    e[which, star] = 0.0
    rest = np.where(finite, e.sum(axis=1), 0.0)
    e[which, star] = 1.0
    return top, rest, e


def _finish_rows_numpy(rows, top, rest, e, g, mode):
    """The twin of `_finish_row` over all rows at once."""
    if mode == LOG_SOFTMAX:
        out = (rows - top[:, None]) - np.log1p(rest)[:, None]
    else:
        out = e * ((g if mode == BACKWARD else 1.0) / (1.0 + rest))[:, None]
    special = ~np.isfinite(top)
    values = np.where(rows[special] == INF, np.nan, -INF if mode == LOG_SOFTMAX else 0.0)
    out[special] = np.where(np.isnan(top[special])[:, None], np.nan, values)
    return np.where(rows == -INF, 0.0, out) if mode == BACKWARD else out


def _lse_rows_numpy(rows):
    top, rest, _ = _row_stats_numpy(rows)
    return top + np.log1p(rest)


# ---------------------------------------------------------------- public functions
def _prepare(x, axis, name="x"):
    """float64 values, the axis normalized to [0, ndim) or None, and the result dtype."""
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real array, got dtype {array.dtype}")
    if axis is not None:
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"axis must be None or an int, got {axis!r}")
        if not -array.ndim <= axis < array.ndim:
            raise ValueError(f"axis {axis} is out of range for {name} of shape {array.shape}")
        axis = int(axis) % array.ndim
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    return array.astype(np.float64, copy=False), axis, dtype


def _rows(x64, axis):
    """x as C-contiguous rows (n, m) along `axis` (None: one row of everything)."""
    moved = x64.reshape(1, -1) if axis is None else np.moveaxis(x64, axis, -1)
    n, m = math.prod(moved.shape[:-1]), moved.shape[-1]
    return np.ascontiguousarray(moved).reshape(n, m), moved.shape


def _cast(values, dtype):
    """values as dtype; past float32's range a value rounds to +-inf, silently."""
    with np.errstate(over="ignore"):
        return values.astype(dtype, copy=False)


def _reduced_shape(shape, axis, keepdims):
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    return tuple(1 if (k == axis and keepdims) else s for k, s in enumerate(shape)
                 if k != axis or keepdims)


def _logsumexp(x, axis, keepdims, numba):
    x64, axis, dtype = _prepare(x, axis)
    rows, _ = _rows(x64, axis)
    if numba and rows.size > 0:
        lse = np.empty(rows.shape[0])
        kernel = _lse_rows if rows.size >= SERIAL_BELOW else _lse_rows_serial
        kernel(rows.reshape(-1), rows.shape[1], lse)
    else:
        with np.errstate(all="ignore"):
            lse = _lse_rows_numpy(rows)
    return _cast(lse.reshape(_reduced_shape(x64.shape, axis, keepdims)), dtype)


def logsumexp_numba(x, axis=None, keepdims=False):
    """log sum_j exp(x_j) over `axis` (None: all) by the Numba kernels (A3)."""
    return _logsumexp(x, axis, keepdims, True)


def logsumexp_numpy(x, axis=None, keepdims=False):
    """log sum_j exp(x_j) over `axis` (None: all) in NumPy: the twin of `logsumexp_numba`."""
    return _logsumexp(x, axis, keepdims, False)


def _softmax(x, axis, mode, numba, g=np.ones(1)):
    x64, axis, dtype = _prepare(x, axis)
    rows, moved_shape = _rows(x64, axis)
    if numba and rows.size > 0:
        out = np.empty(rows.size)
        kernel = _softmax_rows if rows.size >= SERIAL_BELOW else _softmax_rows_serial
        kernel(rows.reshape(-1), rows.shape[1], g, out, mode)
    else:
        with np.errstate(all="ignore"):
            out = _finish_rows_numpy(rows, *_row_stats_numpy(rows), g, mode)
    out = out.reshape(moved_shape)
    out = out.reshape(x64.shape) if axis is None else np.moveaxis(out, -1, axis)
    return _cast(np.ascontiguousarray(out), dtype)


def softmax_numba(x, axis=-1):
    """softmax(x)_j = exp(x_j - logsumexp(x)) along `axis`, one fused Numba kernel (A3)."""
    return _softmax(x, axis, SOFTMAX, True)


def softmax_numpy(x, axis=-1):
    """The NumPy twin of `softmax_numba`."""
    return _softmax(x, axis, SOFTMAX, False)


def log_softmax_numba(x, axis=-1):
    """log_softmax(x)_j = x_j - logsumexp(x) along `axis`, one fused Numba kernel (A3)."""
    return _softmax(x, axis, LOG_SOFTMAX, True)


def log_softmax_numpy(x, axis=-1):
    """The NumPy twin of `log_softmax_numba`."""
    return _softmax(x, axis, LOG_SOFTMAX, False)


def _backward(x, lse, g, axis, numba):
    x64, axis, _ = _prepare(x, axis)
    shapes = (_reduced_shape(x64.shape, axis, False), _reduced_shape(x64.shape, axis, True))
    for name, value in (("lse", lse), ("g", g)):
        if np.shape(value) not in shapes:
            raise ValueError(f"{name} has shape {np.shape(value)}; expected {shapes[0]} or "
                             f"{shapes[1]} for x of shape {x64.shape} reduced over axis {axis}")
    g = np.ascontiguousarray(g, dtype=np.float64).reshape(-1)
    return _softmax(x, axis, BACKWARD, numba, g)


def logsumexp_backward_numba(x, lse, g, axis=None):
    """Vector-Jacobian product of logsumexp: g * exp(x - lse) = g * softmax(x) (A3).

    lse (the forward's output) and g have the reduced shape, with or without the
    kept axis; the result has x's shape. It is 0 where x = -inf and on all -inf
    rows (lse = -inf: gradient 0, not NaN). lse is only checked for its shape:
    exp(x - lse) is recomputed from x as exp(x - M) / (1 + R), because a rounded
    lse ruins it at huge magnitudes (lse([1e308, 1e308]) = 1e308 would give 1, not 1/2).
    """
    return _backward(x, lse, g, axis, True)


def logsumexp_backward_numpy(x, lse, g, axis=None):
    """The NumPy twin of `logsumexp_backward_numba`."""
    return _backward(x, lse, g, axis, False)


if NUMBA_ENABLED:
    logsumexp, softmax, log_softmax = logsumexp_numba, softmax_numba, log_softmax_numba
    logsumexp_backward = logsumexp_backward_numba
else:
    logsumexp, softmax, log_softmax = logsumexp_numpy, softmax_numpy, log_softmax_numpy
    logsumexp_backward = logsumexp_backward_numpy
