"""The LU decomposition with partial pivoting, ``A = P L U``, as two primitives:

- ``linalg_lu_pivots(a) -> (pivots, perm)``: Gaussian elimination with partial pivoting over
  the leading dims, returning LAPACK's 1-based row interchanges ``pivots`` (int32, (..., k),
  k = min(m, n)) and the row permutation ``perm`` (int64, (..., m)) with ``a[perm] = L U``.
  Integer results: not differentiable.
- ``linalg_lu(a, perm) -> (L, U)``: elimination without pivoting on the rows ``a[perm]``
  (the same numbers as the pivoted elimination), L (..., m, k) unit lower-trapezoidal and U
  (..., k, n) upper. Differentiable in ``a`` (for a square block: with ``X = L^-1 (P^T dA)
  U^-1``, dL = L tril(X, -1) and dU = triu(X) U; the VJP is its transpose,
  ``P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T``; rectangular ones below).

NumPy has no LU, so the elimination is a loop over the k columns, each step vectorised over
the batch. ``lu_pivots_to_permutation`` turns given pivots into a permutation (as
``jax.lax.linalg.lu_pivots_to_permutation``).
"""
from __future__ import annotations

import numpy as np

from ..backend import namespace
from ..core.exceptions import OpError
from ..core.primitive import Aval, Primitive, bind
from ..core import dtypes as _dt
from .elementwise import moveaxis_to_front
from .linalg import matmul
from .linalg_decomp import _mT, tril, triu, triangular_solve_p


def _eliminate(a, pivot):
    """In-place elimination of the (B, m, n) array ``a``; returns (pivots, perm)."""
    B, m, n = a.shape
    k = min(m, n)
    rows = np.arange(B)
    perm = np.tile(np.arange(m, dtype=np.int64), (B, 1))
    pivots = np.empty((B, k), np.int32)
    for j in range(k):
        if pivot:
            p = j + np.argmax(np.abs(a[:, j:, j]), axis=1)
            pivots[:, j] = p + 1
            swap = p != j
            if swap.any():
                r, q = rows[swap], p[swap]
                a[r, j], a[r, q] = a[r, q].copy(), a[r, j].copy()
                perm[r, j], perm[r, q] = perm[r, q], perm[r, j]
        else:
            pivots[:, j] = j + 1
        d = a[:, j, j]
        if j + 1 < m:
            with np.errstate(divide="ignore", invalid="ignore"):
                # a zero pivot (a singular matrix) leaves its column below as it is (all zero
                # when pivoting), as LAPACK's getrf
                a[:, j + 1:, j] = np.where((d != 0)[:, None],
                                           a[:, j + 1:, j] / np.where(d != 0, d, 1)[:, None],
                                           a[:, j + 1:, j])
            a[:, j + 1:, j + 1:] -= a[:, j + 1:, j:j + 1] * a[:, j:j + 1, j + 1:]
    return pivots, perm


def _split(a, m, n):
    k = min(m, n)
    L = np.tril(a[..., :, :k], -1)
    idx = np.arange(k)
    L[..., idx, idx] = 1
    return L, np.triu(a[..., :k, :])


# The elimination loops run on plain NumPy copies of the inputs; the results go back into the
# inputs' namespace (their device).

def _host(a):
    return np.asarray(a).view(np.ndarray)


def _pivots_impl(a):
    xp = namespace(a)
    *b, m, n = a.shape
    work = np.array(_host(a), dtype=a.dtype, copy=True).reshape((-1, m, n))
    pivots, perm = _eliminate(work, True)
    return [xp.asarray(pivots.reshape(tuple(b) + (min(m, n),))),
            xp.asarray(perm.reshape(tuple(b) + (m,)))]


def _lu_impl(a, perm):
    xp = namespace(a)
    *b, m, n = a.shape
    a2 = _host(a).reshape((-1, m, n))
    p2 = np.broadcast_to(_host(perm), tuple(b) + (m,)).reshape((-1, m))
    work = np.take_along_axis(a2, p2[:, :, None], axis=1).astype(a.dtype, copy=True)
    _eliminate(work, False)
    L, U = _split(work, m, n)
    k = min(m, n)
    return [xp.asarray(L.reshape(tuple(b) + (m, k))), xp.asarray(U.reshape(tuple(b) + (k, n)))]


def _perm_matrix(perm, m, dtype):
    """P with ``(P x)[i] = x[perm[i]]``: a one-hot (..., m, m) matrix of ``dtype``."""
    from . import elementwise as ew
    from .linalg_decomp import _on_device_of
    eq = ew.eq(perm.reshape(tuple(perm.shape) + (1,)), _on_device_of(np.arange(m), perm))
    return ew.cast(eq, dtype)


# Rectangular matrices reduce to the square factorisation of their leading k x k block
# (B = P^T A, k = min(m, n)): a tall one has B2 = L2 U below it, so L2 = B2 U^-1; a wide one
# has B2 = L U2 beside it, so U2 = L^-1 B2.

def _solve_lower_unit(L, b):   # L^-1 b
    return bind(triangular_solve_p, L, b, lower=True, unit_diagonal=True)


def _right_solve_upper(b, U):  # b U^-1
    return _mT(bind(triangular_solve_p, _mT(U), _mT(b), lower=True, unit_diagonal=False))


def _lu_jvp(p, t, out):
    a, perm = p
    L, U = out
    m, n = a.shape[-2], a.shape[-1]
    k = min(m, n)
    P = _perm_matrix(perm, m, a.dtype)
    pda = matmul(P, t[0])  # P^T dA in this module's convention (rows perm)
    L1, U1 = L[..., :k, :], U[..., :, :k]
    x = _right_solve_upper(_solve_lower_unit(L1, pda[..., :k, :k]), U1)
    dL1, dU1 = matmul(L1, tril(x, -1)), matmul(triu(x), U1)
    if m > n:  # dL2 = (dB2 - L2 dU) U^-1
        dL2 = _right_solve_upper(pda[..., k:, :] - matmul(L[..., k:, :], dU1), U1)
        from .indexing import cat
        return [cat([dL1, dL2], -2), dU1]
    if n > m:  # dU2 = L^-1 (dB2 - dL U2)
        dU2 = _solve_lower_unit(L1, pda[..., :, k:] - matmul(dL1, U[..., :, k:]))
        from .indexing import cat
        return [dL1, cat([dU1, dU2], -1)]
    return [dL1, dU1]


def _lu_vjp(ct, out, a, perm):
    L, U = out
    gL, gU = ct
    from .elementwise import zeros_like_v
    gL = zeros_like_v(L) if gL is None else gL
    gU = zeros_like_v(U) if gU is None else gU
    m, n = a.shape[-2], a.shape[-1]
    k = min(m, n)
    L1, U1 = L[..., :k, :], U[..., :, :k]
    gL1, gU1 = gL[..., :k, :], gU[..., :, :k]
    g2 = None
    if m > n:  # L2 = B2 U^-1: gB2 = gL2 U^-T, and U takes -L2^T gL2 U^-T
        g2 = _mT(bind(triangular_solve_p, U1, _mT(gL[..., k:, :]), lower=False,
                      unit_diagonal=False))  # (U^-1 gL2^T)^T = gL2 U^-T
        gU1 = gU1 - matmul(_mT(L[..., k:, :]), g2)
    elif n > m:  # U2 = L^-1 B2: gB2 = L^-T gU2, and L takes -L^-T gU2 U2^T
        g2 = bind(triangular_solve_p, _mT(L1), gU[..., :, k:], lower=False, unit_diagonal=True)
        gL1 = gL1 - matmul(g2, _mT(U[..., :, k:]))
    phi = tril(matmul(_mT(L1), gL1), -1) + triu(matmul(gU1, _mT(U1)))
    y = bind(triangular_solve_p, _mT(L1), phi, lower=False, unit_diagonal=True)  # L^-T phi
    z = _mT(bind(triangular_solve_p, U1, _mT(y), lower=False, unit_diagonal=False))  # .. U^-T
    if g2 is not None:
        from .indexing import cat
        z = cat([z, g2], -2 if m > n else -1)
    P = _perm_matrix(perm, m, a.dtype)
    return (matmul(_mT(P), z), None)


def _to_front(args, dims):
    """Move each operand's batch dim to the front (a new one of size B when it has none)."""
    B = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    out = []
    for a, d in zip(args, dims):
        if d is None:
            a = a.reshape((1,) + tuple(a.shape)).expand((B,) + tuple(a.shape))
        else:
            a = moveaxis_to_front(a, d)
        out.append(a)
    return out


def _lu_batch(args, dims):
    a, perm = _to_front(args, dims)
    b = tuple(a.shape[:-2])
    perm = perm.expand(b + tuple(perm.shape[-1:])) if tuple(perm.shape[:-1]) != b else perm
    return bind(lu_p, a, perm), [0, 0]


def _lu_shape(a, perm):
    m, n = a.shape[-2], a.shape[-1]
    k = min(m, n)
    b = tuple(a.shape[:-2])
    return [Aval(b + (m, k), a.dtype), Aval(b + (k, n), a.dtype)]


lu_p = Primitive("linalg_lu", _lu_impl, multiple_results=True, shape=_lu_shape, vjp=_lu_vjp,
                 jvp=_lu_jvp, vjp_needs_out=True, batch=_lu_batch)


def _pivots_shape(a):
    m, n = a.shape[-2], a.shape[-1]
    b = tuple(a.shape[:-2])
    return [Aval(b + (min(m, n),), _dt.int32), Aval(b + (m,), _dt.int64)]


lu_pivots_p = Primitive("linalg_lu_pivots", _pivots_impl, multiple_results=True,
                        shape=_pivots_shape, differentiable=False,
                        vjp=lambda ct, out, a: (None,),
                        jvp=lambda p, t, out: [out[0] * 0, out[1] * 0])
lu_pivots_p.batch = lambda args, dims: (bind(lu_pivots_p, moveaxis_to_front(args[0], dims[0])),
                                        [0, 0])


def _to_perm_impl(pivots, m):
    xp = namespace(pivots)
    b = pivots.shape[:-1]
    piv = _host(pivots).reshape((int(np.prod(b)), pivots.shape[-1])).astype(np.int64) - 1
    B, k = piv.shape
    if piv.size and (piv.min() < 0 or piv.max() >= m):
        raise OpError(f"lu_pivots_to_permutation: pivots must lie in [1, {m}], got values "
                      f"from {piv.min() + 1} to {piv.max() + 1}")
    perm = np.tile(np.arange(m, dtype=np.int64), (B, 1))
    rows = np.arange(B)
    for j in range(k):
        q = piv[:, j]
        perm[rows, j], perm[rows, q] = perm[rows, q], perm[rows, j].copy()
    return xp.asarray(perm.reshape(tuple(b) + (m,)))


to_perm_p = Primitive("lu_pivots_to_permutation", _to_perm_impl,
                      shape=lambda pivots, m: Aval(tuple(pivots.shape[:-1]) + (m,), _dt.int64),
                      differentiable=False, vjp=lambda ct, out, pivots, m: (None,),
                      jvp=lambda p, t, out, m: out * 0)
to_perm_p.batch = lambda args, dims, m: (bind(to_perm_p, moveaxis_to_front(args[0], dims[0]),
                                               m=m), 0)


def lu_pivots_to_permutation(pivots, permutation_size):
    """The row permutation (int64, (..., permutation_size)) that LAPACK-style 1-based row
    interchanges ``pivots`` make: row ``j`` swapped with row ``pivots[j] - 1`` in turn."""
    from .elementwise import as_value
    return bind(to_perm_p, as_value(pivots), m=int(permutation_size))


def lu_factor_parts(A, pivot=True):
    """``(L, U, pivots, perm)`` of ``A`` (..., m, n) with ``A[perm] = L U``."""
    from .elementwise import as_value
    a = as_value(A)
    if a.ndim < 2:
        raise OpError(f"linalg.lu: expected a (batch of) matrices (..., m, n), got shape "
                      f"{tuple(a.shape)}")
    if not (a.dtype.is_floating_point or a.dtype.is_complex):
        raise TypeError(f"linalg.lu: expected a floating-point matrix, got {a.dtype}")
    if pivot:
        pivots, perm = bind(lu_pivots_p, a)
    else:
        from .linalg_decomp import _on_device_of
        m, k = a.shape[-2], min(a.shape[-2], a.shape[-1])
        b = tuple(a.shape[:-2])
        perm = _on_device_of(np.arange(m), a).expand(b + (m,))
        pivots = _on_device_of(np.arange(1, k + 1, dtype=np.int32), a).expand(b + (k,))
    L, U = bind(lu_p, a, perm)
    return L, U, pivots, perm
