"""Kernels NumPy lacks, written once for every NumPy-like backend: their operands' array
protocols (``__array_ufunc__``, ``__array_function__``) pick the backend, and the arrays they
create come from the operand's namespace."""
from __future__ import annotations

import math

import numpy as np

from .base import namespace

_math_erf = np.frompyfunc(math.erf, 1, 1)

# Coefficients of W. J. Cody's rational approximations (Math. Comp. 1969), as used by
# many libm implementations; relative error below 1e-15 on float64. _ERF_*: erf for |x| <= 0.5
# (numerator, denominator); _ERFC_MID_*: erfc on (0.5, 4]; _ERFC_FAR_*: erfc beyond 4.
_ERF_NUM = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_DEN = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)


# erf for float32 and narrower: x * P(s) / Q(s) with s = (x / 3.95)**2 on x clipped to
# [-3.95, 3.95] (beyond, erf rounds to +-1 in float32), evaluated in float64. A rational
# least-squares fit of erf(x)/x made for ember (Lawson-weighted toward equal ripple);
# relative error below 2e-9, so the float32 result is within 0.53 ulp of the exact value
# (correctly rounded for ~98% of inputs). No branches or masks: ~25 passes in all, ~10x
# faster than Cody's three intervals on a GELU-sized activation.
_ERF32_CLIP = 3.95
_ERF32_P = (1.1283791692351575, 2.8891215220924322, 13.212612482136432, 14.598309857406234,
            22.397664286024728, 4.290839249424717, -0.1870833063293669)
_ERF32_Q = (1.0, 7.761251800866388, 27.730428285414014, 58.659579325998095,
            77.28271228507599, 57.968914093561175)


def erf(x):
    """The error function, elementwise, for float16/32/64 arrays."""
    if x.dtype == np.float64:
        if x.size <= 64:
            r = _math_erf(x)  # (a 0-d input gives a Python float; arrays keep their type)
            return r.astype(np.float64) if isinstance(r, np.ndarray) else np.asarray(r, np.float64)
        return _erf_f64(x)
    return _erf_narrow(x)


_ERF_CHUNK = 8192  # elements per block: the float64 temporaries (3 x 64 KB) stay in L2


def _erf_narrow(x):
    """erf of a float32/float16/bfloat16 array, rounded to its dtype (see _ERF32_P); in
    blocks, so that the ~25 passes run over cached temporaries rather than main memory."""
    flat = x.reshape(-1)
    out = namespace(x).empty(flat.shape, x.dtype)
    n = flat.shape[0]
    if n == 0:
        return out.reshape(x.shape)
    size = min(n, _ERF_CHUNK)
    xc, s, num = (namespace(x).empty(size, np.float64) for _ in range(3))
    den = namespace(x).empty(size, np.float64)
    for lo in range(0, n, size):
        hi = min(lo + size, n)
        m = hi - lo
        a, b, p, q = xc[:m], s[:m], num[:m], den[:m]
        np.clip(flat[lo:hi], -_ERF32_CLIP, _ERF32_CLIP, out=a, casting="unsafe")
        np.multiply(a, a, out=b)
        b *= 1.0 / (_ERF32_CLIP * _ERF32_CLIP)
        np.multiply(b, _ERF32_P[-1], out=p)
        p += _ERF32_P[-2]
        for c in _ERF32_P[-3::-1]:
            p *= b
            p += c
        np.multiply(b, _ERF32_Q[-1], out=q)
        q += _ERF32_Q[-2]
        for c in _ERF32_Q[-3::-1]:
            q *= b
            q += c
        p *= a
        np.divide(p, q, out=out[lo:hi], casting="unsafe")
    return out.reshape(x.shape)


def _erf_f64(x):
    ax = np.abs(x)
    out = namespace(x).empty_like(x)
    small = ax <= 0.5
    if np.any(small):
        xs = x[small]
        z = xs * xs
        p, q = _ERF_NUM, _ERF_DEN
        num = ((((p[4] * z + p[0]) * z + p[1]) * z + p[2]) * z + p[3])
        den = ((((z + q[0]) * z + q[1]) * z + q[2]) * z + q[3])
        out[small] = xs * num / den
    big = ~small
    if np.any(big):
        out[big] = np.sign(x[big]) * (1.0 - _erfc_pos(ax[big]))
    return out


_ERFC_MID_NUM = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERFC_MID_DEN = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_ERFC_FAR_NUM = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_FAR_DEN = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)


def erfc(x):
    """The complementary error function 1 - erf(x), elementwise, without the cancellation
    of computing it as 1 - erf for large x (Cody's erfc intervals beyond 0.5), in float64
    and rounded to the input's dtype."""
    a = x.astype(np.float64)
    out = namespace(a).empty_like(a)
    far = a > 0.5
    out[~far] = 1.0 - erf(a[~far])
    out[far] = _erfc_pos(a[far])
    return out.astype(x.dtype, copy=False)


def erfcx(x):
    """The scaled complementary error function exp(x**2) * erfc(x), elementwise: directly
    from Cody's rational forms beyond 0.5 (no overflow, no underflow to 0 for large x); below,
    exp(x**2) * erfc(x), which overflows to inf for x below about -9.4 (float32) or -26.6
    (float64), where the value exceeds the dtype's range."""
    a = x.astype(np.float64)
    out = namespace(a).empty_like(a)
    far = a > 0.5
    near = a[~far]
    with np.errstate(over="ignore"):
        out[~far] = np.exp(near * near) * (1.0 - erf(near))
    out[far] = _erfc_pos(a[far], scaled=False)
    with np.errstate(over="ignore"):
        return out.astype(x.dtype, copy=False)


def _erfc_pos(y, scaled=True):
    """erfc for y > 0.5 (Cody's two outer intervals); with ``scaled=False`` erfcx, the same
    without the factor exp(-y**2)."""
    if not scaled:
        def _scaled(v):
            return 1.0
    else:
        _scaled = _exp_neg_sq
    out = namespace(y).empty_like(y)
    mid = y <= 4.0
    if np.any(mid):
        v = y[mid]
        num = _ERFC_MID_NUM[8] * v
        den = v
        for i in range(7):
            num = (num + _ERFC_MID_NUM[i]) * v
            den = (den + _ERFC_MID_DEN[i]) * v
        r = (num + _ERFC_MID_NUM[7]) / (den + _ERFC_MID_DEN[7])
        out[mid] = _scaled(v) * r
    far = ~mid
    if np.any(far):
        v = y[far]
        z = 1.0 / (v * v)
        num = _ERFC_FAR_NUM[5] * z
        den = z
        for i in range(4):
            num = (num + _ERFC_FAR_NUM[i]) * z
            den = (den + _ERFC_FAR_DEN[i]) * z
        r = z * (num + _ERFC_FAR_NUM[4]) / (den + _ERFC_FAR_DEN[4])
        r = (1.0 / math.sqrt(math.pi) - r) / v
        out[far] = _scaled(v) * r
    return out


def _exp_neg_sq(v):
    # exp(-v*v) computed as exp(-vs*vs) * exp(-(v-vs)*(v+vs)) to keep precision
    vs = np.trunc(v * 16.0) / 16.0
    d = (v - vs) * (v + vs)
    return np.exp(-vs * vs) * np.exp(-d)


# ---- a read-only zero operand (relu's np.maximum(x, 0)) -------------------------------------
# NumPy's maximum/minimum run their SIMD loop only when both operands are arrays of one
# layout; with a scalar operand they take a scalar loop, 2.7x slower (float32, 2^20 entries,
# out of place: 0.53 vs 0.20 ms; in place 0.82 vs 0.24 ms for mnist-cnn's (64, 32, 28, 28)).
# The zeros come from an anonymous read-only memory mapping: every page reads as the
# kernel's one zero page, so the operand costs no memory and streams from the L1 cache.
ZERO_VIEW_MIN = 1 << 15  # entries: below, the scalar loop costs less than making the view
_zero_map = None


def zero_view(x):
    """An array of ``x``'s shape, dtype and strides whose entries read as zero bytes (0 of
    every numeric dtype), without memory of its own; None when ``x`` is not a NumPy array of
    ``ZERO_VIEW_MIN`` entries or more with non-negative strides, or no private read-only
    mapping can be made (not POSIX)."""
    global _zero_map
    if type(x) is not np.ndarray or x.size < ZERO_VIEW_MIN or min(x.strides) < 0:
        return None
    span = sum((n - 1) * s for n, s in zip(x.shape, x.strides)) + x.itemsize
    if _zero_map is None or len(_zero_map) < span:
        import mmap
        if not hasattr(mmap, "MAP_PRIVATE"):
            return None
        try:  # (a shared mapping would give each page read a page of memory)
            _zero_map = mmap.mmap(-1, max(span, 1 << 24), flags=mmap.MAP_PRIVATE,
                                  prot=mmap.PROT_READ)
        except (OSError, ValueError):
            return None
    return np.ndarray(x.shape, x.dtype, _zero_map, 0, x.strides)
