"""Exact integer matrix products through floating-point BLAS.

NumPy has no int8 GEMM: its int8 ``matmul`` wraps around, and its int32/int64 ``matmul`` is a
plain loop (~150x slower than float32 BLAS). But a float32 product of integer matrices is
exact as long as every partial sum BLAS forms is an integer of magnitude <= 2**24 (float32
represents every such integer, so each multiply-add is exact whatever order or blocking BLAS
uses). With ``|a| <= A`` and ``|b| <= B`` every partial sum of a K-term dot product is
bounded by ``K * A * B``, so contractions of up to ``2**24 // (A * B)`` terms are exact:

=====================================  ==========  ===============
operand ranges                          A * B       exact K per GEMM
=====================================  ==========  ===============
int8 [-127, 127] x int8 [-127, 127]     16129       1040
int8 [-128, 127] x int8 [-128, 127]     16384       1024
uint8 [0, 255] x int8 [-128, 127]       32640       514
(uint8 - zero point 128) x int8         16384       1024
=====================================  ==========  ===============

:func:`int_matmul` takes the bounds from the data (``max |a|``, ``max |b|``: one pass over
each operand, cheap beside the product) or from the caller, splits K into chunks of that
length, multiplies each chunk in float32 and sums the chunk results in integers, exactly.
Operands whose products exceed 2**24 go through float64 BLAS the same way (exact below
2**53). The result is ``int32`` unless the operand dtypes allow sums beyond int32's range
(K x the dtype ranges' product > 2**31 - 1), then ``int64``.
"""
from __future__ import annotations

import numpy as np

from ...backend import namespace

__all__ = ["int_matmul", "int_matmul_f32", "exact_chunk", "abs_bound"]

_F32_EXACT = 2 ** 24
_F64_EXACT = 2 ** 53
_I32_MAX = 2 ** 31 - 1


def abs_bound(a) -> int:
    """``max |a|`` of an integer array as a Python int (0 for an empty array)."""
    if a.size == 0:
        return 0
    return max(-int(a.min()), int(a.max()), 0)


def _dtype_bound(a, given):
    """The largest magnitude ``a``'s dtype can hold (the caller's bound for float arrays)."""
    kind = a.dtype.kind
    if kind in "iu":
        info = np.iinfo(a.dtype)
        return max(-int(info.min), int(info.max))
    if given is None:
        raise TypeError(f"int_matmul: a float operand ({a.dtype}, shape {tuple(a.shape)}) "
                        f"must hold integers and come with its bound (a_bound=/b_bound=: the "
                        f"largest |value|); pass integer arrays to have it measured")
    return int(given)


def exact_chunk(a_bound: int, b_bound: int, limit: int = _F32_EXACT) -> int:
    """How many products of magnitude <= ``a_bound * b_bound`` sum exactly below ``limit``
    (``2**24`` for float32, ``2**53`` for float64); 0 when a single product is too large."""
    p = int(a_bound) * int(b_bound)
    return limit // p if p else limit


def int_matmul(a, b, *, a_bound: int | None = None, b_bound: int | None = None):
    """The exact integer product ``a @ b`` (NumPy's ``matmul`` shapes: ``(..., M, K) @ (...,
    K, N)``, broadcast batch dims, 1-D operands as vectors) of integer arrays, computed with
    float32 BLAS in exact K-chunks (see the module docstring).

    ``a``/``b`` may also be float32/float64 arrays holding integers (a weight converted once
    and kept), given with their bound (``a_bound``/``b_bound``: the largest ``|value|``).
    Integer operands are measured when no bound is given.

    >>> import numpy as np
    >>> a = np.full((1, 4096), 125, np.int8); b = np.full((4096, 1), 125, np.int8); b[0] = 7
    >>> from ember.ao.quantization.kernels import int_matmul
    >>> int_matmul(a, b)                  # 4095 * 125**2 + 125 * 7, beyond 2**24
    array([[63985250]], dtype=int32)
    >>> int((a.astype(np.float32) @ b.astype(np.float32)).item())  # one float32 GEMM rounds
    63985248
    """
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"int_matmul: operands must have at least one dim, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    for name, x in (("first", a), ("second", b)):
        if x.dtype.kind not in "iuf":
            raise TypeError(f"int_matmul: the {name} operand must be an integer array (or a "
                            f"float array of integers with its bound), got {x.dtype}")
    k = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k != kb:
        raise ValueError(f"int_matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} don't line "
                         f"up: {k} != {kb} (dim -1 of the first vs dim -2 of the second)")
    ab = abs_bound(a) if a_bound is None and a.dtype.kind in "iu" else a_bound
    bb = abs_bound(b) if b_bound is None and b.dtype.kind in "iu" else b_bound
    wide = k * _dtype_bound(a, a_bound) * _dtype_bound(b, b_bound) > _I32_MAX
    acc = np.int64 if wide else np.int32
    step = exact_chunk(ab, bb, _F32_EXACT)
    ftype = np.float32
    if step == 0:  # one product is beyond float32's exact integers: float64 (exact to 2**53)
        step, ftype = exact_chunk(ab, bb, _F64_EXACT), np.float64
        if step == 0:
            raise ValueError(f"int_matmul: operand magnitudes {ab} and {bb} are too large for "
                             f"an exact floating-point product (|a| * |b| must be < 2**53)")
    af = a if a.dtype == ftype else a.astype(ftype)
    bf = b if b.dtype == ftype else b.astype(ftype)
    if step >= k:
        out = np.matmul(af, bf).astype(acc)
    else:
        out = None
        for k0 in range(0, k, step):
            bs = bf[k0:k0 + step] if bf.ndim == 1 else bf[..., k0:k0 + step, :]
            part = np.matmul(af[..., k0:k0 + step], bs).astype(acc)
            if out is None:
                out = part
            else:  # each chunk's sum is an exact integer: so is their integer sum
                out += part
    if a.ndim == 1 and b.ndim == 1:  # matmul of two vectors gives a scalar: keep an array
        out = namespace(a, b).asarray(out, acc)
    return out


def int_matmul_f32(a, b, *, a_bound: int, b_bound: int):
    """``int_matmul(a, b).astype(float32)`` for float32 operands holding integers (bounds
    given): when one float32 GEMM is exact (``K * a_bound * b_bound <= 2**24``) its result
    already is those accumulators, so it is returned as it is (no integer round trip);
    longer contractions go through :func:`int_matmul`'s exact chunks.

    >>> import numpy as np
    >>> from ember.ao.quantization.kernels import int_matmul_f32
    >>> a = np.full((1, 3), -128, np.float32); b = np.full((3, 2), 127, np.float32)
    >>> int_matmul_f32(a, b, a_bound=128, b_bound=127)
    array([[-48768., -48768.]], dtype=float32)
    """
    k = a.shape[-1]
    if (a.dtype == np.float32 and b.dtype == np.float32 and a.ndim > 1 and b.ndim > 1
            and exact_chunk(a_bound, b_bound, _F32_EXACT) >= k):
        return np.matmul(a, b)
    return int_matmul(a, b, a_bound=a_bound, b_bound=b_bound).astype(np.float32)
