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
``qr``'s derivative covers wide matrices too (not mode='complete' of a tall one).
``eig``/``eigvals`` return complex values (``eig``'s gradient assumes distinct eigenvalues
and a loss independent of the eigenvectors' phase).
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
    matrix_exp, solve, solve_triangular, svd, svdvals)

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
        if ord < 1:  # |x|**ord has an infinite slope at 0: its subgradient there is 0
            zero = a == 0
            a = E.where(zero, E.zeros_like(a), E.where(zero, E.ones_like(a), a) ** float(ord))
            if ord < 0:
                a = E.where(zero, E.full_like(a, float("inf")), a)
            return root_zero_grad(a.sum(dim, keepdim), float(ord))
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
    max(atol, rtol * largest) count as zero (default rtol: eps * max(m, n)); ``hermitian``:
    through the eigendecomposition of the lower triangle. Its gradient is PyTorch's (the
    derivative at constant rank), finite for rank-deficient matrices."""
    a = _float("linalg.pinv", A)
    if isinstance(atol, _Tensor) or isinstance(rtol, _Tensor) or a.dtype.is_complex:
        return _pinv_svd(a, atol, rtol, hermitian)
    return _pinv_fn(float(atol) if atol is not None else None,
                    float(rtol) if rtol is not None else None, bool(hermitian))(a)


def _pinv_svd(a, atol, rtol, hermitian=False):
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


_PINV_FNS = {}


def _pinv_fn(atol, rtol, hermitian):
    """The pseudo-inverse with its own derivative (Golub and Pereyra's, at constant rank, as
    PyTorch's): dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P. Through the SVD
    the derivative would divide by s_i^2 - s_j^2, which is 0 for the repeated zero singular
    values of a rank-deficient matrix and tiny where singular values nearly coincide. A
    custom JVP, so forward mode works and reverse mode transposes it."""
    key = (atol, rtol, hermitian)
    if key not in _PINV_FNS:
        E = _e()

        def f(a):
            return _pinv_svd(a, atol, rtol, hermitian)

        def jvp(primals, tangents):
            a, = primals
            da, = tangents
            p = _pinv_svd(a, atol, rtol, hermitian)
            pT, daT = _d._mT(p), _d._mT(da)
            m, n = a.shape[-2], a.shape[-1]
            dp = -(p @ da @ p) + (p @ pT) @ daT @ (E.eye(m, dtype=a.dtype) - a @ p) \
                + (E.eye(n, dtype=a.dtype) - p @ a) @ daT @ (pT @ p)
            return p, dp
        fn = E.custom_jvp(f)
        fn.defjvp(jvp)
        _PINV_FNS[key] = fn
    return _PINV_FNS[key]


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
    E = _e()
    vec = b.ndim == a.ndim - 1
    bm = b.unsqueeze(-1) if vec else b
    s = svdvals(a).detach()
    rank = (s > _cutoff(s, a, None, rcond)).to(_dt.int64).sum(-1)
    m, n = a.shape[-2:]
    if min(m, n) == 0:
        x = matmul(pinv(a, rtol=rcond), bm)
    else:
        # full rank: through QR, whose derivative stays accurate where singular values
        # nearly coincide (the SVD's has 1 / (s_i^2 - s_j^2) terms); rank-deficient: the
        # pseudo-inverse. Both are computed on inputs made safe for the branch not taken
        # (an identity), and selected per matrix, so the graph does not depend on values
        # (jit and eager agree) and no NaN of the other branch reaches the gradient.
        full = (rank == min(m, n)).unsqueeze(-1).unsqueeze(-1)
        eye = E.eye(m, n, dtype=a.dtype).expand(tuple(a.shape))
        a_qr, a_pv = E.where(full, a, eye), E.where(full, eye, a)
        if m >= n:
            q, r = qr(a_qr)
            x_qr = solve_triangular(r, _d._mT(q) @ bm, upper=True)
        else:  # the minimum-norm solution Q R^-T B from A^T = Q R
            q, r = qr(_d._mT(a_qr))
            x_qr = q @ solve_triangular(_d._mT(r), bm, upper=False)
        x = E.where(full, x_qr, matmul(pinv(a_pv, rtol=rcond), bm))
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


# ---- LU (ops/linalg_lu.py) and what builds on it ----------------------------------------

LUResult = namedtuple("LUResult", ["P", "L", "U"])
LUFactorResult = namedtuple("LUFactorResult", ["LU", "pivots"])
LUFactorExResult = namedtuple("LUFactorExResult", ["LU", "pivots", "info"])
SolveExResult = namedtuple("SolveExResult", ["result", "info"])


def _perm_to_P(perm, m, dtype):
    """P with ``A = P L U`` given ``A[perm] = L U``: ``P[perm[i], i] = 1``."""
    from .ops.linalg_lu import _perm_matrix
    return _perm_matrix(perm, m, dtype).mT


def lu(A, *, pivot=True):
    """``(P, L, U)`` with ``A = P L U``: P a permutation matrix, L unit lower-trapezoidal
    (..., m, k), U upper (..., k, n), k = min(m, n); partial pivoting (``pivot=False``: no row
    interchanges, P the identity). Differentiable for square matrices (as
    ``torch.linalg.lu``).

    >>> P, L, U = ember.linalg.lu(ember.tensor([[1., 2.], [3., 4.]]))
    >>> P @ L @ U
    tensor([[1., 2.],
            [3., 4.]])
    """
    from .ops.linalg_lu import lu_factor_parts
    L, U, _, perm = lu_factor_parts(A, pivot)
    return LUResult(_perm_to_P(perm, L.shape[-2], L.dtype), L, U)


def lu_factor(A, *, pivot=True):
    """``(LU, pivots)``: L and U packed in one matrix (L's unit diagonal implied) and
    LAPACK's 1-based row interchanges (int32), as ``torch.linalg.lu_factor``; the input of
    ``lu_solve`` and ``lu_unpack``."""
    from .ops.linalg_lu import lu_factor_parts
    L, U, pivots, _ = lu_factor_parts(A, pivot)
    return LUFactorResult(_pack(L, U), pivots)


def _pack(L, U):
    m, k, n = L.shape[-2], L.shape[-1], U.shape[-1]
    E = _e()
    if m >= n:  # L (m, n) and U (n, n): U on and above the diagonal of L's shape
        return E.tril(L, -1) + E.nn.functional.pad(U, (0, 0, 0, m - k))
    return E.nn.functional.pad(E.tril(L, -1), (0, n - k)) + U  # L (m, m), U (m, n)


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """``(LU, pivots, info)`` as ``torch.linalg.lu_factor_ex``; info is the 1-based index of
    the first zero on U's diagonal (0: none)."""
    LU, pivots = lu_factor(A, pivot=pivot)
    return LUFactorExResult(LU, pivots, _zero_pivot_info(LU))


def _zero_pivot_info(LU):
    E = _e()
    d = _diagonal(LU.detach(), 0, -2, -1)
    zero = d == 0
    first = E.argmax(zero.to(_dt.int32), dim=-1).to(_dt.int32) + 1
    return E.where(zero.any(-1), first, E.zeros_like(first))


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """``(P, L, U)`` from ``lu_factor``'s packed result (as ``torch.lu_unpack``); with
    ``unpack_data``/``unpack_pivots`` False the corresponding results are empty tensors."""
    from .ops.linalg_lu import lu_pivots_to_permutation
    E = _e()
    LU = _as_value(LU_data)
    m, n = LU.shape[-2], LU.shape[-1]
    k = builtins.min(m, n)
    if unpack_data:
        eye = E.eye(m, k, dtype=LU.dtype)
        L = E.tril(LU[..., :, :k], -1) + eye
        U = E.triu(LU[..., :k, :])
    else:
        L = U = E.empty(0, dtype=LU.dtype)
    if unpack_pivots:
        P = _perm_to_P(lu_pivots_to_permutation(LU_pivots, m), m, LU.dtype)
    else:
        P = E.empty(0, dtype=LU.dtype)
    return LUResult(P, L, U)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """Solve ``A X = B`` (``left=False``: ``X A = B``; ``adjoint``: with ``A^H``) given
    ``lu_factor(A)``, as ``torch.linalg.lu_solve``; differentiable in LU and B.

    >>> A = ember.tensor([[2., 1.], [1., 3.]])
    >>> ember.linalg.lu_solve(*ember.linalg.lu_factor(A), ember.tensor([[3.], [4.]]))
    tensor([[1.],
            [1.]])
    """
    from .ops.linalg_lu import lu_pivots_to_permutation
    E = _e()
    LU, B = _as_value(LU), _as_value(B)
    n = LU.shape[-1]
    if LU.shape[-2] != n:
        raise RuntimeError(f"linalg.lu_solve: LU must be square (..., n, n), got "
                           f"{tuple(LU.shape)}")
    P = _perm_to_P(lu_pivots_to_permutation(pivots, n), n, LU.dtype)  # A = P L U
    L = E.tril(LU, -1) + E.eye(n, dtype=LU.dtype)
    U = E.triu(LU)
    if not left:  # X A = B  <=>  A^H X^H = B^H
        Bh = B.mT.conj() if B.dtype.is_complex else B.mT
        X = lu_solve(LU, pivots, Bh, left=True, adjoint=not adjoint)
        return X.mT.conj() if X.dtype.is_complex else X.mT
    if B.shape[-2] != n:
        raise RuntimeError(f"linalg.lu_solve: B must have {n} rows (..., {n}, k) to match LU "
                           f"{tuple(LU.shape)}, got {tuple(B.shape)}")
    H = (lambda M: M.mT.conj()) if LU.dtype.is_complex else (lambda M: M.mT)
    if not adjoint:  # X = U^-1 L^-1 P^T B
        y = solve_triangular(L, H(P) @ B, upper=False, unitriangular=True)
        return solve_triangular(U, y, upper=True)
    # A^H X = B: U^H L^H P^H X = B
    y = solve_triangular(H(U), B, upper=False)
    z = solve_triangular(H(L), y, upper=True, unitriangular=True)
    return P @ z


def solve_ex(A, B, *, left=True, check_errors=False):
    """``(solution, info)`` as ``torch.linalg.solve_ex``: info 0 (a singular matrix raises
    ``LinAlgError``, as ``solve``)."""
    X = solve(A, B, left=left)
    A = _as_value(A)
    return SolveExResult(X, _e().zeros(tuple(A.shape[:-2]), dtype=_dt.int32))


def cond(A, p=None):
    """The condition number of (a batch of) matrices in the norm ``p`` (None or 2: the
    ratio of the largest to the smallest singular value; -2: its inverse; 'fro', 'nuc',
    inf, -inf, 1, -1: ``norm(A, p) * norm(inv(A), p)``), as ``torch.linalg.cond``.

    >>> ember.linalg.cond(ember.tensor([[2., 0.], [0., 0.5]]))
    tensor(4.)
    """
    A = _as_value(A)
    if p is None or p in (2, -2):
        s = svdvals(A)
        r = s[..., 0] / s[..., -1]
        return r if p != -2 else 1 / r
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def vander(x, N=None):
    """The Vandermonde matrix with increasing powers ``x^0, x^1, ..., x^(N-1)`` along the
    last dim (as ``torch.linalg.vander``; N defaults to ``x.shape[-1]``).

    >>> ember.linalg.vander(ember.tensor([1, 2, 3]))
    tensor([[1, 1, 1],
            [1, 2, 4],
            [1, 3, 9]])
    """
    E = _e()
    x = _as_value(x)
    x = x.reshape(1) if x.ndim == 0 else x  # (as PyTorch: one point)
    N = x.shape[-1] if N is None else int(N)
    if N < 1:
        raise ValueError(f"linalg.vander: N must be >= 1, got {N}")
    cols = [E.ones_like(x)]
    for _ in range(N - 1):
        cols.append(cols[-1] * x)
    return E.stack(cols, -1)


def tensorinv(A, ind=2):
    """The inverse of ``A`` read as a linear map from its last dims to its first ``ind``
    dims' space (``tensordot(tensorinv(A), A, ind)`` is the identity), as
    ``torch.linalg.tensorinv``."""
    A = _as_value(A)
    if ind <= 0:
        raise ValueError(f"linalg.tensorinv: ind must be positive, got {ind}")
    out_shape, in_shape = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    rows, cols = int(_np.prod(out_shape)), int(_np.prod(in_shape))
    if rows != cols:
        raise RuntimeError(f"linalg.tensorinv: the product of the first ind={ind} dims "
                           f"{out_shape} ({rows}) must equal that of the rest {in_shape} "
                           f"({cols})")
    return inv(A.reshape(rows, cols)).reshape(in_shape + out_shape)


def tensorsolve(A, B, dims=None):
    """The ``X`` with ``tensordot(A, X, X.ndim) = B`` (as ``torch.linalg.tensorsolve``;
    ``dims`` moves those dims of A to the end first)."""
    E = _e()
    A, B = _as_value(A), _as_value(B)
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        rest = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(*(rest + dims))
    x_shape = tuple(A.shape[B.ndim:])
    rows, cols = int(_np.prod(B.shape)), int(_np.prod(x_shape))
    if rows != cols or int(_np.prod(A.shape[:B.ndim])) != rows:
        raise RuntimeError(f"linalg.tensorsolve: A {tuple(A.shape)}'s first {B.ndim} dims "
                           f"must hold as many elements as B {tuple(B.shape)} ({rows}) and "
                           f"so must its other dims {x_shape} ({cols})")
    return E.linalg.solve(A.reshape(rows, cols), B.reshape(rows)).reshape(x_shape)


def _householder_full(A, tau):
    """``H_1 H_2 ... H_k`` (..., m, m) with ``H_i = I - tau_i v_i v_i^H``, ``v_i`` column i
    of ``A`` below the diagonal with a 1 on it (LAPACK's representation)."""
    E = _e()
    A, tau = _as_value(A), _as_value(tau)
    m, n = A.shape[-2], A.shape[-1]
    k = tau.shape[-1] if tau.ndim else 0
    if A.ndim < 2 or tau.ndim < 1 or k > min(m, n) or \
            tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"householder_product: expected A (..., m, n) and tau (..., k) with "
                           f"k <= min(m, n) and A's batch dims; got A {tuple(A.shape)} and "
                           f"tau {tuple(tau.shape)}")
    Q = E.eye(m, dtype=A.dtype).expand(tuple(A.shape[:-2]) + (m, m))
    below = E.tensor(_np.arange(m)[:, None] > _np.arange(k)[None, :])
    V = E.where(below, A[..., :, :k], E.zeros_like(A[..., :, :k])) + E.eye(m, k, dtype=A.dtype)
    for i in range(k):
        v = V[..., :, i:i + 1]  # (..., m, 1)
        vh = v.mT.conj() if A.dtype.is_complex else v.mT
        Q = Q - (Q @ v) @ (tau[..., i:i + 1, None] * vh)
    return Q


def householder_product(A, tau):
    """The first n columns of the product of k Householder reflectors ``H_1 ... H_k``
    given in LAPACK's form (``geqrf``'s output), as ``torch.linalg.householder_product``
    (``torch.orgqr``); differentiable in ``A`` and ``tau``.

    >>> A, tau = ember.geqrf(ember.tensor([[3., 1.], [4., 2.]]))
    >>> Q = ember.linalg.householder_product(A, tau)
    >>> bool(ember.allclose(Q.mT @ Q, ember.eye(2), atol=1e-6))
    True
    """
    A = _as_value(A)
    if A.ndim < 2 or A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"linalg.householder_product: expected A (..., m, n) with m >= n, "
                           f"got {tuple(A.shape)}")
    return _householder_full(A, tau)[..., :, :A.shape[-1]]


__all__ = ["LinAlgError", "householder_product", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "solve_ex", "cond",
           "vander", "tensorinv", "tensorsolve", "matrix_exp", "cholesky", "cholesky_ex", "cross", "det", "diagonal", "eig", "eigh",
           "eigvals", "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_norm",
           "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
           "solve_triangular", "svd", "svdvals", "vecdot", "vector_norm", "cholesky_solve"]
del Tensor
