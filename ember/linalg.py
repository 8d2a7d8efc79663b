"""``torch.linalg``'s names over ember's linear-algebra primitives: ``ember.linalg``.

The primitives (solve, triangular solve, slogdet, cholesky, qr, eigh, svd) live in
``ember/ops/linalg_decomp.py`` with their VJP, JVP and batching rules; everything else here
composes from them, so every function is differentiable, batched over leading dims and works
under ``grad``, ``vmap`` and ``jit``. ``ember.numpy.linalg`` and ``ember.scipy.linalg`` give
JAX's names over the same functions.

Gradient conventions (PyTorch's and JAX's): ``eigh``'s and ``svd``'s derivatives assume
distinct eigen/singular values (equal ones give inf/NaN), and so do the functions built on the
SVD (``pinv``, ``lstsq``, ``matrix_norm`` with ord 2/-2/'nuc'); ``det``/``slogdet``/``inv``/
``solve`` need an invertible matrix (a singular one raises ``LinAlgError``, as PyTorch);
``qr``'s derivative needs m >= n. ``eig``/``eigvals`` return complex values (``eig``'s gradient
assumes distinct eigenvalues and a loss independent of the eigenvectors' phase).
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as _np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .core.tensor import Tensor as _Tensor
from .ops import linalg_decomp as _d
from .ops.elementwise import as_value as _as_value
from .ops.linalg import matmul  # noqa: F401
from .ops.linalg_decomp import (  # noqa: F401
    LinAlgError, cholesky, det, diagonal as _diagonal, eig, eigh, eigvals, eigvalsh, inv, qr,
    solve, solve_triangular, svd, svdvals)

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])


def _e():
    import ember
    return ember


def _float(op, x):
    return _d._float(op, x)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonals of a batch of matrices (``torch.linalg.diagonal``)."""
    return _diagonal(A, offset, dim1, dim2)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (all elements when None): any real ord, inf,
    -inf, or 0 (the number of nonzero entries). Its gradient at the zero vector is 0."""
    from .ops.reduce import root_zero_grad
    x = _as_value(x)
    if x.dtype.is_complex:  # the norm of the moduli
        x = _e().abs(x)
    x = _float("linalg.vector_norm", x)
    if dtype is not None:
        x = x.to(_dt.as_dtype(dtype))
    E = _e()
    if dim is None:
        x, dim = x.reshape(-1), 0
        if keepdim:
            raise ValueError("linalg.vector_norm: keepdim=True needs dim (over all elements "
                             "the shape is lost); pass dim=tuple(range(x.ndim))")
    a = x.abs()
    if ord == float("inf"):
        return E.amax(a, dim, keepdim)
    if ord == float("-inf"):
        return E.amin(a, dim, keepdim)
    if ord == 0:
        return (a != 0).to(x.dtype).sum(dim, keepdim)
    if ord == 1:
        return a.sum(dim, keepdim)
    if ord == 2:
        return root_zero_grad((a * a).sum(dim, keepdim), 2)
    if isinstance(ord, (int, float)):
        return root_zero_grad((a ** float(ord)).sum(dim, keepdim), float(ord))
    raise ValueError(f"linalg.vector_norm: ord must be a number or +-inf, got {ord!r}")


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norms over the two ``dim``: 'fro', 'nuc', inf, -inf, 1, -1, 2, -2."""
    a = _float("linalg.matrix_norm", A)
    if dtype is not None:
        a = a.to(_dt.as_dtype(dtype))
    if a.ndim < 2:
        raise ValueError(f"linalg.matrix_norm: expects (..., m, n), got shape {tuple(a.shape)}")
    E = _e()
    d0, d1 = (d % a.ndim for d in dim)
    if d0 == d1:
        raise ValueError(f"linalg.matrix_norm: dim must name two different dims, got {dim}")
    if ord == "fro":
        return vector_norm(a, 2, (d0, d1), keepdim)
    if 0 in (a.shape[d0], a.shape[d1]) and ord in ("nuc", 1, 2, float("inf")):
        return a.abs().sum((d0, d1), keepdim)  # an empty matrix has norm 0 (as PyTorch)
    if ord in ("nuc", 2, -2):
        m = E.movedim(a, (d0, d1), (-2, -1))
        s = svdvals(m)
        r = s.sum(-1) if ord == "nuc" else (E.amax(s, -1) if ord == 2 else E.amin(s, -1))
        if keepdim:
            for d in sorted((d0, d1)):
                r = r.unsqueeze(d)
        return r
    if ord in (1, -1, float("inf"), float("-inf")):
        # 1: the largest column sum (over rows, d0); inf: the largest row sum (over d1)
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)
        s = a.abs().sum(inner, keepdim=True)
        r = E.amax(s, outer, keepdim=True) if ord > 0 else E.amin(s, outer, keepdim=True)
        if keepdim:
            return r
        return r.reshape(tuple(n for i, n in enumerate(r.shape) if i not in (d0, d1)))
    raise ValueError(f"linalg.matrix_norm: ord must be 'fro', 'nuc', +-1, +-2 or +-inf, got "
                     f"{ord!r}")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm when ``dim`` is an int (or the input is 1-d), a
    matrix norm when ``dim`` is a pair (or the input is 2-d and ``ord`` is given); with
    neither ``ord`` nor ``dim`` the 2-norm of all elements."""
    a = _as_value(A)
    if a.dtype.is_complex and ord in (None, "fro", 1, -1, _np.inf, -_np.inf) or (
            a.dtype.is_complex and (isinstance(dim, int) or a.ndim == 1)):
        a = _e().abs(a)  # these norms depend on the moduli only
    a = _float("linalg.norm", a)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2 or (dim is None and ord is not None and a.ndim == 2):
        return matrix_norm(a, "fro" if ord is None else ord, (-2, -1) if dim is None else dim,
                           keepdim, dtype=dtype)
    if dim is None and ord is not None and a.ndim != 1:
        raise ValueError(f"linalg.norm: with ord={ord!r} and no dim the input must be 1-d or "
                         f"2-d, got shape {tuple(a.shape)}; pass dim")
    if dim is None and keepdim:
        dim = tuple(range(a.ndim))
    return vector_norm(a, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def _default_rtol(a):
    return float(_np.finfo(a.dtype.np).eps) * builtins.max(a.shape[-2], a.shape[-1])


def _cutoff(s, a, atol, rtol):
    """max(atol, rtol * largest) per matrix, shaped (..., 1); a tensor atol/rtol holds one
    value per matrix of the batch (PyTorch's convention)."""
    E = _e()
    smax = E.amax(s, -1, keepdim=True) if s.shape[-1] else s.sum(-1, keepdim=True)
    if isinstance(atol, _Tensor):
        atol = atol.to(s.dtype).unsqueeze(-1)
    if isinstance(rtol, _Tensor):
        rtol = rtol.to(s.dtype).unsqueeze(-1)
    if rtol is None:
        if isinstance(atol, _Tensor):
            rtol = E.where(atol > 0, E.zeros_like(atol), E.full_like(atol, _default_rtol(a)))
        else:
            rtol = 0.0 if atol is not None and atol > 0 else _default_rtol(a)
    c = smax * rtol
    if atol is None:
        return c
    return E.maximum(c, atol if isinstance(atol, _Tensor) else E.full_like(c, atol))


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse through the SVD; singular values at or below
    max(atol, rtol * largest) count as zero (default rtol: eps * max(m, n))."""
    a = _float("linalg.pinv", A)
    E = _e()
    if hermitian:  # from the eigendecomposition of the lower triangle (as PyTorch)
        w, v = eigh(a)
        aw = w.abs()
        keep = aw > _cutoff(aw, a, atol, rtol).detach()
        winv = E.where(keep, 1 / E.where(keep, w, E.ones_like(w)), E.zeros_like(w))
        return matmul(v * winv.unsqueeze(-2), _d._mT(v).conj() if v.dtype.is_complex
                      else _d._mT(v))
    u, s, vh = svd(a, full_matrices=False)
    keep = s > _cutoff(s, a, atol, rtol).detach()
    sinv = E.where(keep, 1 / E.where(keep, s, E.ones_like(s)), E.zeros_like(s))
    return matmul(_d._mT(vh) * sinv.unsqueeze(-2), _d._mT(u))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    """The number of singular values above max(atol, rtol * largest) (int64)."""
    a = _float("linalg.matrix_rank", A)
    if tol is not None:
        atol, rtol = tol, 0.0
    s = (eigvalsh(a).abs() if hermitian else svdvals(a)).detach()
    return (s > _cutoff(s, a, atol, rtol)).to(_dt.int64).sum(-1)


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A x = B through the pseudo-inverse (minimum norm when
    A is rank-deficient): (solution, residuals, rank, singular_values). ``residuals`` holds
    the squared residual norm of each column when m > n (0 where A is rank-deficient; PyTorch
    returns an empty tensor there), else it is empty."""
    a, b = _float("linalg.lstsq", A), _float("linalg.lstsq", B)
    vec = b.ndim == a.ndim - 1
    bm = b.unsqueeze(-1) if vec else b
    x = matmul(pinv(a, rtol=rcond), bm)
    s = svdvals(a).detach()
    rank = (s > _cutoff(s, a, None, rcond)).to(_dt.int64).sum(-1)
    m, n = a.shape[-2:]
    if m > n:  # zero where A is rank-deficient (PyTorch returns an empty tensor there)
        r = matmul(a, x) - bm
        full = (rank == n).to(a.dtype)
        residuals = (r * r).sum(-2) * (full.unsqueeze(-1) if full.ndim else full)
    else:
        residuals = _e().zeros(0, dtype=a.dtype)
    return LstsqResult(x.squeeze(-1) if vec else x, residuals, rank, s)


def matrix_power(A, n):
    """A to the integer power n (n < 0 inverts first) by repeated squaring."""
    a = _as_value(A)
    _d._check_matrix("linalg.matrix_power", a, square=True)
    if not isinstance(n, (int, _np.integer)):
        raise TypeError(f"linalg.matrix_power: n must be an integer, got {n!r}")
    n = int(n)
    if n == 0:
        return _e().zeros_like(a) + _d._eye_like(a)
    if n < 0:
        a, n = inv(a), -n
    result = None
    base = a
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (broadcasting the other dims)."""
    E = _e()
    a, b = E.broadcast_tensors(_as_value(input), _as_value(other))
    if a.shape[dim] != 3:
        raise ValueError(f"linalg.cross: dim {dim} must have size 3, got shapes "
                         f"{tuple(_as_value(input).shape)} and {tuple(_as_value(other).shape)}")
    a0, a1, a2 = E.unbind(a, dim)
    b0, b1, b2 = E.unbind(b, dim)
    return E.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim)


def vecdot(x, y, *, dim=-1):
    """The dot product of vectors along ``dim`` (broadcasting the others)."""
    return (_as_value(x) * _as_value(y)).sum(dim)


def multi_dot(tensors):
    """The product of a chain of matrices (the first may be 1-d, the last too)."""
    ts = [_as_value(t) for t in tensors]
    if len(ts) < 2:
        raise ValueError(f"linalg.multi_dot: needs at least 2 tensors, got {len(ts)}")
    r = ts[0]
    for t in ts[1:]:
        r = matmul(r, t)
    return r


def slogdet(A):
    """(sign, logabsdet) of square matrices, a named tuple as in PyTorch."""
    s, l = _d.slogdet(A)
    return SlogdetResult(s, l)


def inv_ex(A, *, check_errors=False):
    """(inverse, info) as ``torch.linalg.inv_ex``; info is 0 (a singular matrix raises)."""
    r = inv(A)
    return r, _e().zeros(tuple(r.shape[:-2]), dtype=_dt.int32)


def cholesky_ex(A, *, upper=False, check_errors=False):
    r = cholesky(A, upper=upper)
    return r, _e().zeros(tuple(r.shape[:-2]), dtype=_dt.int32)


def cholesky_solve(B, L, upper=False):
    return _d.cholesky_solve(B, L, upper)


__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "diagonal", "eig", "eigh",
           "eigvals", "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_norm",
           "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
           "solve_triangular", "svd", "svdvals", "vecdot", "vector_norm", "cholesky_solve"]
del Tensor
