"""The array backend. ember's CPU backend is NumPy; kernels NumPy lacks live here.

Every primitive's ``impl`` calls into NumPy or into this module. A future GPU backend
(CuPy) provides the same names; the primitive table is where the two meet.
"""
from __future__ import annotations

import ctypes
import math
import os

import numpy as np

xp = np
name = "numpy"

allocator_tuned = False


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory in the process instead of handing it back.

    By default glibc serves large arrays with fresh mmap calls and trims the heap after
    frees, so every training step's activations (same sizes each step) page-fault in anew;
    on a virtual machine those faults cost more than the arithmetic (mnist-cnn jit step
    ~50 -> ~25 ms here; PyTorch in the same process gains alike). With no mmap for large
    blocks and no trimming, freed blocks are reused, as a caching allocator would; the price
    is that the process keeps its peak heap. It changes the allocator of the whole process,
    so importing ember does not call it: the ``ember`` command (``train``, ``bench``,
    ``info``) calls it unless the environment sets EMBER_MALLOC_TUNING=0; a training script
    may call it itself. Returns whether it took effect (glibc only); ``allocator_tuned``
    tells whether it is on."""
    global allocator_tuned
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    allocator_tuned = bool(mallopt(m_mmap_threshold, 1 << 30)) and \
        bool(mallopt(m_trim_threshold, (1 << 31) - 1))
    return allocator_tuned


_math_erf = np.frompyfunc(math.erf, 1, 1)

# Coefficients of W. J. Cody's rational approximations (Math. Comp. 1969), as used by
# many libm implementations; relative error below 1e-15 on float64. _ERF_*: erf for |x| <= 0.5
# (numerator, denominator); _ERFC_MID_*: erfc on (0.5, 4]; _ERFC_FAR_*: erfc beyond 4.
_ERF_NUM = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_DEN = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)


def erf(x):
    """The error function, elementwise, for float16/32/64 arrays."""
    x = np.asarray(x)
    if x.dtype == np.float64:
        if x.size <= 64:
            return _math_erf(x).astype(np.float64)
        return _erf_f64(x)
    # float32/float16: compute in float64 for full accuracy, then round
    return _erf_f64(x.astype(np.float64)).astype(x.dtype)


def _erf_f64(x):
    ax = np.abs(x)
    out = np.empty_like(x)
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


def _erfc_pos(y):
    """erfc for y > 0.5 (Cody's two outer intervals)."""
    out = np.empty_like(y)
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


def _scaled(v):
    # exp(-v*v) computed as exp(-vs*vs) * exp(-(v-vs)*(v+vs)) to keep precision
    vs = np.trunc(v * 16.0) / 16.0
    d = (v - vs) * (v + vs)
    return np.exp(-vs * vs) * np.exp(-d)


def blas_info() -> dict:
    """Which BLAS NumPy uses and with how many threads (best effort)."""
    info = {"numpy": np.__version__}
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # pragma: no cover
        info["blas"] = "unknown"
    try:
        from threadpoolctl import threadpool_info
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            info["threads"] = pools[0].get("num_threads")
    except Exception:
        import os
        env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
        info["threads"] = int(env) if env and env.isdigit() else os.cpu_count()
    return info
