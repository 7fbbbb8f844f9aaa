"""exp and log1p as arithmetic that LLVM vectorizes, for the row kernels (claim A3).

    exp(t)    = 2^n exp(r),   n = rint(t / ln 2), r = t - n ln 2, exp(r) by Taylor (degree 13)
    log1p(u)  = k ln 2 + 2 atanh(s),   1 + u = 2^k (1 + f), s = f / (2 + f)

`_exp_scalar` and `_log1p_scalar` are inlined into the loops of the row
kernels (`rows.py`) and of dpm's mixture and landscape kernels: pip's
llvmlite has no vector math library, so math.exp in a Numba loop is a scalar
libm call, while these bodies vectorize over the AVX2 lanes (see the speed
notes in `minigrad/kernels/__init__.py`). `exp_poly` / `exp_poly_numpy` and
`log1p_poly` expose them on arrays for the tests and the benchmark.
Read next: `rows.py`, the row kernels built on them.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._numba import NUMBA_ENABLED, njit

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
