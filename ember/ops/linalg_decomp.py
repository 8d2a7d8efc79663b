"""Matrix decompositions and solves: the primitives behind ``ember.linalg``,
``ember.numpy.linalg`` and ``ember.scipy.linalg``.

Seven primitives carry all of linear algebra beyond the matrix product; everything else
composes from them (inv = solve against the identity, det = sign * exp(logabsdet), pinv and
lstsq through the SVD, norms through reductions or singular values):

- ``solve(a, b)``               a x = b for a general square ``a`` (LU in LAPACK)
- ``triangular_solve(a, b)``    a x = b reading one triangle of ``a``
- ``slogdet(a)``                (sign, log|det a|)
- ``cholesky(a)``               lower L with L L^T = a (reads a's lower triangle)
- ``qr(a)``                     Q R (reduced or complete)
- ``eigh(a)``                   (w, V) of a symmetric matrix (reads its lower triangle)
- ``svd(a)``                    (U, S, Vh)
- ``eig(a)``                    (w, V) of a general square matrix: complex, V's columns of
                                unit norm (LAPACK's geev, as NumPy and PyTorch)

Every one acts on the last two dims and broadcasts the leading ones (a batch of matrices).
Derivative conventions are PyTorch's and JAX's: eigh's and svd's gradients assume distinct
eigen/singular values (equal ones give inf or NaN, as theirs do); a symmetric input's
gradient is taken as if every entry were free (a function of ``a`` that symmetrises first
gets the exact gradient); QR's gradient needs m >= n (a wide matrix raises); det's and
slogdet's gradient needs an invertible matrix.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from ..core.tensor import Tensor
from ..backend import namespace
from ._util import broadcast_shapes, host_on_device_of
from .elementwise import as_value, cast, moveaxis_to_front, unbroadcast, where, zeros_like_v
from .linalg import matmul
from .registry_helpers import export, method
from ..core.exceptions import OpError

__all__: list[str] = []


class LinAlgError(RuntimeError, ValueError):
    """A matrix that the decomposition cannot handle (singular, not positive-definite). A
    RuntimeError as PyTorch's; also a ValueError, which keeps its class through ember's
    error wrapping (the wrapped message names the primitive and the input shapes)."""


# ---- small helpers (compositions, differentiable) -----------------------------------------

def _mT(a):
    return a.transpose(-1, -2)


def _check_matrix(op, x, square=False):
    if x.ndim < 2:
        raise OpError(f"{op}: expects a matrix or a batch of matrices (..., m, n), got shape "
                         f"{tuple(x.shape)}")
    if square and x.shape[-1] != x.shape[-2]:
        raise OpError(f"{op}: expects square matrices (..., n, n), got shape "
                         f"{tuple(x.shape)}")


def _float(op, x):
    x = as_value(x)
    if x.dtype.is_complex:
        raise TypeError(f"{op}: complex matrices are not supported yet ({x.dtype}, shape "
                        f"{tuple(x.shape)}); linalg.eig/eigvals and matmul take them")
    if not x.dtype.is_floating_point:
        x = cast(x, _dt.get_default_dtype())
    return x


def tril(input, diagonal=0):
    """The lower triangle of the last two dims (entries above ``diagonal`` set to 0).

    >>> ember.tril(ember.tensor([[1., 2.], [3., 4.]]))
    tensor([[1., 0.],
            [3., 4.]])
    """
    x = as_value(input)
    _check_matrix("tril", x)
    mask = np.tri(x.shape[-2], x.shape[-1], diagonal, dtype=bool)
    return where(_on_device_of(mask, x), x, zeros_like_v(x))


def triu(input, diagonal=0):
    """The upper triangle of the last two dims (entries below ``diagonal`` set to 0).

    >>> ember.triu(ember.tensor([[1., 2.], [3., 4.]]))
    tensor([[1., 2.],
            [0., 4.]])
    """
    x = as_value(input)
    _check_matrix("triu", x)
    mask = ~np.tri(x.shape[-2], x.shape[-1], diagonal - 1, dtype=bool)
    return where(_on_device_of(mask, x), x, zeros_like_v(x))


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the (dim1, dim2) planes, appended as the last dim (as PyTorch).

    >>> ember.diagonal(ember.tensor([[1., 2.], [3., 4.]]))
    tensor([1., 4.])
    """
    x = as_value(input)
    if x.ndim < 2:
        raise OpError(f"diagonal: needs at least 2 dims, got shape {tuple(x.shape)}")
    from .shape import movedim
    d1, d2 = dim1 % x.ndim, dim2 % x.ndim
    if d1 == d2:
        raise OpError(f"diagonal: dim1 and dim2 must differ, both are {dim1}")
    x = movedim(x, (d1, d2), (-2, -1))
    n, m = x.shape[-2], x.shape[-1]
    k = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    rows = np.arange(k) + max(-offset, 0)
    cols = np.arange(k) + max(offset, 0)
    return x[..., rows, cols]


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices whose diagonal ``offset`` holds the last dim of ``input`` (as PyTorch).

    >>> ember.diag_embed(ember.tensor([[1., 2.]]))
    tensor([[[1., 0.],
             [0., 2.]]])
    """
    v = as_value(input)
    if (dim1, dim2) != (-2, -1):  # built on the last two dims, then moved there
        nd = v.ndim + 1
        d1, d2 = dim1 % nd if -nd <= dim1 < nd else None, dim2 % nd if -nd <= dim2 < nd else None
        if d1 is None or d2 is None or d1 == d2:
            raise OpError(f"diag_embed: dim1={dim1} and dim2={dim2} must be two different dims "
                          f"of the {nd}-d result")
        from .shape import movedim
        out = diag_embed(v, offset, -2, -1)
        return movedim(out, (nd - 2, nd - 1), (d1, d2))
    k = v.shape[-1]
    n = k + abs(offset)
    from .slicing import pad
    mask = np.eye(n, k=offset, dtype=bool)
    # row i of the result holds v[i - max(-offset, 0)] on its diagonal entry
    col = v.unsqueeze(-1)  # (..., k, 1)
    if offset > 0:
        col = pad(col, (0, 0, 0, offset))
    elif offset < 0:
        col = pad(col, (0, 0, -offset, 0))
    return where(_on_device_of(mask, col), col, zeros_like_v(col))


def diag(input, diagonal=0):
    """A 1-d input becomes a diagonal matrix; a 2-d input gives its diagonal (as PyTorch).

    >>> ember.diag(ember.tensor([[1., 2.], [3., 4.]])), ember.diag(ember.tensor([1., 2.]))
    (tensor([1., 4.]), tensor([[1., 0.],
            [0., 2.]]))
    """
    x = as_value(input)
    if x.ndim == 1:
        return diag_embed(x, diagonal)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    raise OpError(f"diag: expects a 1-d or 2-d input, got shape {tuple(x.shape)}")


def trace(input):
    """The sum of the main diagonal of a matrix (the last two dims for a batch).

    >>> ember.trace(ember.tensor([[1., 2.], [3., 4.]]))
    tensor(5.)
    """
    x = as_value(input)
    _check_matrix("trace", x)
    return diagonal(x, 0, -2, -1).sum(-1)


def _on_device_of(a, x):
    """Host array ``a`` (a constant mask or matrix) as a tensor on ``x``'s device."""
    return Tensor._wrap(host_on_device_of(a, x))


def _eye_like(x, n=None):
    n = x.shape[-1] if n is None else n
    return _on_device_of(np.eye(n, dtype=x.dtype.np), x)


def _matrix_batch(prim):
    """Batching rule for a primitive on (..., m, n) operands that broadcasts leading dims:
    the batch dim moves to the front and every operand gets the same rank."""
    def rule(args, dims, **params):
        moved = []
        for a, d in zip(args, dims):
            if d is None:
                a = a.reshape((1,) + tuple(a.shape))
            else:
                a = moveaxis_to_front(a, d)
            moved.append(a)
        r = max(a.ndim for a in moved)
        moved = [a.reshape((a.shape[0],) + (1,) * (r - a.ndim) + tuple(a.shape[1:]))
                 if a.ndim < r else a for a in moved]
        out = bind(prim, *moved, **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)
    return rule


def _lapack(op, fn, *arrays):
    try:
        with np.errstate(all="ignore"):
            return fn(*arrays)
    except np.linalg.LinAlgError as e:
        hint = {"cholesky": "the input is not (numerically) symmetric positive-definite; add a "
                            "multiple of the identity or check how it is built",
                "solve": "the matrix is singular; use linalg.lstsq or linalg.pinv for a "
                         "least-squares solution",
                }.get(op, "the input is ill-conditioned")
        raise LinAlgError(f"{e} ({hint})") from None


def _bcast_pair(a, b):
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])


def _pair_shape(op):
    def rule(a, b, **_):
        if a.shape[-1] != a.shape[-2] or a.shape[-1] != b.shape[-2]:
            raise OpError(f"linalg.{op}: the coefficient matrix must be square (..., n, n) and "
                             f"the right-hand side (..., n, k); got {a.shape} and {b.shape}")
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op=f"linalg.{op} (batch dims)")
        return Aval(batch + b.shape[-2:], a.dtype)
    return rule


# ---- solve ----------------------------------------------------------------------------------

def _solve_impl(a, b):
    return _lapack("solve", namespace(a).linalg.solve, *_bcast_pair(a, b))


def _solve_vjp(ct, out, a, b):
    gb = bind(solve_p, _mT(a), ct)
    ga = -matmul(gb, _mT(out))
    return unbroadcast(ga, tuple(a.shape)), unbroadcast(gb, tuple(b.shape))


solve_p = Primitive("linalg_solve", _solve_impl, shape=_pair_shape("solve"), vjp=_solve_vjp,
                    vjp_needs_out=True,
                    jvp=lambda p, t, out: bind(solve_p, p[0], t[1] - matmul(t[0], out)))
solve_p.batch = _matrix_batch(solve_p)


# ---- triangular solve --------------------------------------------------------------------

def _tri_mask(n, lower, unit):
    if lower:
        return np.tri(n, n, -1 if unit else 0, dtype=bool)
    return ~np.tri(n, n, 0 if unit else -1, dtype=bool)


def _tri_part(a, lower, unit):
    """The triangle of ``a`` the solve reads (strict when the diagonal is taken as ones)."""
    return where(_on_device_of(_tri_mask(a.shape[-1], lower, unit), a), a, zeros_like_v(a))


def _tri_impl(a, b, lower, unit_diagonal):
    n = a.shape[-1]
    xp = namespace(a)
    if lower:
        mask = xp.tri(n, n, -1 if unit_diagonal else 0, dtype=bool)
    else:
        mask = ~xp.tri(n, n, 0 if unit_diagonal else -1, dtype=bool)
    t = xp.where(mask, a, 0).astype(a.dtype, copy=False)
    if unit_diagonal:
        t = t + xp.eye(n, dtype=a.dtype)
    return _lapack("solve_triangular", xp.linalg.solve, *_bcast_pair(t, b))


def _tri_vjp(ct, out, a, b, lower, unit_diagonal):
    gb = bind(triangular_solve_p, _mT(a), ct, lower=not lower, unit_diagonal=unit_diagonal)
    ga = _tri_part(-matmul(gb, _mT(out)), lower, unit_diagonal)
    return unbroadcast(ga, tuple(a.shape)), unbroadcast(gb, tuple(b.shape))


def _tri_jvp(p, t, out, lower, unit_diagonal):
    rhs = t[1] - matmul(_tri_part(t[0], lower, unit_diagonal), out)
    return bind(triangular_solve_p, p[0], rhs, lower=lower, unit_diagonal=unit_diagonal)


triangular_solve_p = Primitive("triangular_solve", _tri_impl, shape=_pair_shape(
    "solve_triangular"), vjp=_tri_vjp, jvp=_tri_jvp, vjp_needs_out=True)
triangular_solve_p.batch = _matrix_batch(triangular_solve_p)


# ---- slogdet ------------------------------------------------------------------------------

def _slogdet_impl(a):
    xp = namespace(a)
    s, l = xp.linalg.slogdet(a)
    return xp.asarray(s, a.dtype), xp.asarray(l, a.dtype)


def _slogdet_vjp(ct, out, a):
    g = ct[1]
    inv_t = _mT(bind(solve_p, a, _eye_like(a)))
    return (g.unsqueeze(-1).unsqueeze(-1) * inv_t,)


def _slogdet_jvp(p, t, out):
    return [zeros_like_v(out[0]), trace(bind(solve_p, p[0], t[0]))]


slogdet_p = Primitive(
    "linalg_slogdet", _slogdet_impl, multiple_results=True,
    shape=lambda a: [Aval(a.shape[:-2], a.dtype)] * 2, vjp=_slogdet_vjp, jvp=_slogdet_jvp)
slogdet_p.batch = _matrix_batch(slogdet_p)


# ---- cholesky ------------------------------------------------------------------------------

def _phi(x):
    """The lower triangle with its diagonal halved."""
    return tril(x) - 0.5 * diag_embed(diagonal(x, 0, -2, -1))


def _cholesky_vjp(ct, out, a):
    L = out
    p = _phi(matmul(_mT(L), ct))
    # S = L^-T P L^-1, symmetrised
    x1 = bind(triangular_solve_p, _mT(L), p, lower=False, unit_diagonal=False)
    s = _mT(bind(triangular_solve_p, _mT(L), _mT(x1), lower=False, unit_diagonal=False))
    return (0.5 * (s + _mT(s)),)


def _cholesky_jvp(p, t, out):
    L = out
    x = bind(triangular_solve_p, L, t[0], lower=True, unit_diagonal=False)  # L^-1 dA
    y = _mT(bind(triangular_solve_p, L, _mT(x), lower=True, unit_diagonal=False))  # .. L^-T
    return matmul(L, _phi(y))


cholesky_p = Primitive(
    "linalg_cholesky", lambda a: _lapack("cholesky", namespace(a).linalg.cholesky, a),
    shape=lambda a: Aval(a.shape, a.dtype), vjp=_cholesky_vjp, jvp=_cholesky_jvp,
    vjp_needs_out=True)
cholesky_p.batch = _matrix_batch(cholesky_p)


# ---- qr --------------------------------------------------------------------------------------

def _qr_impl(a, mode):
    q, r = namespace(a).linalg.qr(a, mode=mode)
    return q, r


def _qr_shape(a, mode):
    m, n = a.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    b = a.shape[:-2]
    return [Aval(b + (m, k), a.dtype), Aval(b + (k, n), a.dtype)]


def _copyltu(m):
    low = tril(m, -1)
    return low + _mT(low) + diag_embed(diagonal(m, 0, -2, -1))


def _qr_check_diff(a, mode):
    m, n = a.shape[-2:]
    if mode == "complete" and m > n:
        raise NotImplementedError(
            f"linalg.qr: mode='complete' of a tall matrix (shape {tuple(a.shape)}) has no "
            f"derivative (Q's last {m - n} columns are any orthonormal basis of the "
            f"complement, as in PyTorch); use mode='reduced'")


def _qr_square_vjp(gq, gr, q, r):
    """The VJP of A = QR for m >= n (R square, invertible)."""
    m = matmul(r, _mT(gr)) - matmul(_mT(gq), q)
    b = gq + matmul(q, _copyltu(m))
    # b R^-T: solve R x^T = b^T
    return _mT(bind(triangular_solve_p, r, _mT(b), lower=False, unit_diagonal=False))


def _qr_square_jvp(da, q, r):
    # dA R^-1: solve R^T X^T = dA^T
    dx_rinv = _mT(bind(triangular_solve_p, _mT(r), _mT(da), lower=True, unit_diagonal=False))
    qt_dx_rinv = matmul(_mT(q), dx_rinv)
    low = tril(qt_dx_rinv, -1)
    do = low - _mT(low)
    dq = matmul(q, do - qt_dx_rinv) + dx_rinv
    dr = matmul(qt_dx_rinv - do, r)
    return dq, dr


# A wide matrix (m < n) is [X | Y] with X square: X = Q U by the rule above, and R = [U | V]
# with V = Q^T Y, so dV = dQ^T Y + Q^T dY; in reverse, Y's cotangent is Q gV and Q's
# gathers Y gV^T besides gQ.

def _qr_vjp(ct, out, a, mode):
    _qr_check_diff(a, mode)
    gq, gr = ct
    q, r = out
    m, n = a.shape[-2:]
    if m >= n:
        return (_qr_square_vjp(gq, gr, q, r),)
    from .indexing import cat
    y, u = a[..., :, m:], r[..., :, :m]
    gu, gv = gr[..., :, :m], gr[..., :, m:]
    gx = _qr_square_vjp(gq + matmul(y, _mT(gv)), gu, q, u)
    return (cat([gx, matmul(q, gv)], -1),)


def _qr_jvp(p, t, out, mode):
    a, = p
    _qr_check_diff(a, mode)
    q, r = out
    m, n = a.shape[-2:]
    if m >= n:
        return list(_qr_square_jvp(t[0], q, r))
    from .indexing import cat
    dq, du = _qr_square_jvp(t[0][..., :, :m], q, r[..., :, :m])
    dv = matmul(_mT(dq), a[..., :, m:]) + matmul(_mT(q), t[0][..., :, m:])
    return [dq, cat([du, dv], -1)]


qr_p = Primitive("linalg_qr", _qr_impl, multiple_results=True, shape=_qr_shape,
                 vjp=_qr_vjp, jvp=_qr_jvp, vjp_needs_out=True)
qr_p.batch = _matrix_batch(qr_p)


# ---- eigh -----------------------------------------------------------------------------------

def _eigh_impl(a):
    w, v = _lapack("eigh", namespace(a).linalg.eigh, a)
    return w, v


def _inv_gaps(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it."""
    e = w.unsqueeze(-2) - w.unsqueeze(-1)
    eye = _on_device_of(np.eye(w.shape[-1], dtype=bool), w)
    safe = where(eye, e * 0 + 1, e)
    return where(eye, zeros_like_v(e), 1 / safe)


def _eigh_vjp(ct, out, a):
    gw, gv = ct
    w, v = out
    inner = _inv_gaps(w) * matmul(_mT(v), gv) + diag_embed(gw)
    return (matmul(matmul(v, inner), _mT(v)),)


def _eigh_jvp(p, t, out):
    w, v = out
    dp = matmul(matmul(_mT(v), t[0]), v)
    return [diagonal(dp, 0, -2, -1), matmul(v, _inv_gaps(w) * dp)]


eigh_p = Primitive("linalg_eigh", _eigh_impl, multiple_results=True,
                   shape=lambda a: [Aval(a.shape[:-1], a.dtype), Aval(a.shape, a.dtype)],
                   vjp=_eigh_vjp, jvp=_eigh_jvp, vjp_needs_out=True)
eigh_p.batch = _matrix_batch(eigh_p)


# ---- svd ------------------------------------------------------------------------------------

def _svd_impl(a, full_matrices):
    u, s, vh = _lapack("svd", lambda x: namespace(x).linalg.svd(x, full_matrices=full_matrices), a)
    return u, s, vh


def _svd_shape(a, full_matrices):
    m, n = a.shape[-2:]
    k = min(m, n)
    b = a.shape[:-2]
    if full_matrices:
        return [Aval(b + (m, m), a.dtype), Aval(b + (k,), a.dtype), Aval(b + (n, n), a.dtype)]
    return [Aval(b + (m, k), a.dtype), Aval(b + (k,), a.dtype), Aval(b + (k, n), a.dtype)]


def _svd_reduced(a, out, ct=None):
    """The first k = min(m, n) singular vectors (full_matrices=True: the rest carry no
    derivative, as in PyTorch)."""
    k = min(a.shape[-2:])
    u, s, vh = out
    u, vh = u[..., :, :k], vh[..., :k, :]
    if ct is None:
        return u, s, vh
    gu, gs, gvh = ct
    return (u, s, vh), (gu[..., :, :k], gs, gvh[..., :k, :])


def _svd_vjp(ct, out, a, full_matrices):
    (u, s, vh), (gu, gs, gvh) = _svd_reduced(a, out, ct)
    m, n = a.shape[-2:]
    v, gv = _mT(vh), _mT(gvh)
    f = _inv_gaps(s * s)
    utgu = matmul(_mT(u), gu)
    vtgv = matmul(_mT(v), gv)
    j = f * (utgu - _mT(utgu))
    kk = f * (vtgv - _mT(vtgv))
    inner = j * s.unsqueeze(-2) + s.unsqueeze(-1) * kk + diag_embed(gs)
    ga = matmul(matmul(u, inner), vh)
    sinv = 1 / s
    if m > n:  # the part of gU outside U's span
        proj = gu - matmul(u, utgu)
        ga = ga + matmul(proj * sinv.unsqueeze(-2), vh)
    if n > m:  # the part of gV outside V's span
        proj = gv - matmul(v, vtgv)
        ga = ga + matmul(u * sinv.unsqueeze(-2), _mT(proj))
    return (ga,)


def _svd_jvp(p, t, out, full_matrices):
    a, = p
    if full_matrices and a.shape[-1] != a.shape[-2]:
        raise NotImplementedError(
            f"linalg.svd: forward-mode derivatives of full_matrices=True need a square matrix, "
            f"got shape {tuple(a.shape)}; use full_matrices=False")
    u, s, vh = _svd_reduced(a, out)
    v = _mT(vh)
    da = t[0]
    m, n = a.shape[-2:]
    dp = matmul(matmul(_mT(u), da), v)
    ds = diagonal(dp, 0, -2, -1)
    f = _inv_gaps(s * s)
    srow, scol = s.unsqueeze(-2), s.unsqueeze(-1)
    du = matmul(u, f * (dp * srow + scol * _mT(dp)))
    dv = matmul(v, f * (scol * dp + _mT(dp) * srow))
    sinv = (1 / s).unsqueeze(-2)
    if m > n:
        dav = matmul(da, v)
        du = du + (dav - matmul(u, matmul(_mT(u), dav))) * sinv
    if n > m:
        datu = matmul(_mT(da), u)
        dv = dv + (datu - matmul(v, matmul(_mT(v), datu))) * sinv
    return [du, ds, _mT(dv)]


svd_p = Primitive("linalg_svd", _svd_impl, multiple_results=True, shape=_svd_shape,
                  vjp=_svd_vjp, jvp=_svd_jvp, vjp_needs_out=True)
svd_p.batch = _matrix_batch(svd_p)


# ---- public functions on the primitives (PyTorch's names; ember.linalg re-exports) -----

def solve(A, B, left=True):
    """x with A x = B (``left=False``: x A = B). ``B`` is a vector batch when it has one dim
    less than ``A`` and matches ``A.shape[:-1]`` (PyTorch's rule), else a matrix batch."""
    a, b = _float("linalg.solve", A), _float("linalg.solve", B)
    (a, b), _ = _promote_pair(a, b)
    _check_matrix("linalg.solve", a, square=True)
    if not left:
        return _mT(solve(_mT(a), _mT(b)))
    vec = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    if vec:
        return bind(solve_p, a, b.unsqueeze(-1)).squeeze(-1)
    return bind(solve_p, a, b)


def _promote_pair(a, b):
    from .elementwise import promote
    return promote(a, b)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """x with A x = B (``left=False``: x A = B) for triangular A (only its ``upper`` or lower
    triangle is read; ``unitriangular``: its diagonal is taken as ones)."""
    a, b = _float("linalg.solve_triangular", A), _float("linalg.solve_triangular", B)
    (a, b), _ = _promote_pair(a, b)
    _check_matrix("linalg.solve_triangular", a, square=True)
    _check_matrix("linalg.solve_triangular", b)
    if not left:
        return _mT(bind(triangular_solve_p, _mT(a), _mT(b), lower=upper,
                        unit_diagonal=unitriangular))
    return bind(triangular_solve_p, a, b, lower=not upper, unit_diagonal=unitriangular)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """``torch.triangular_solve``: (solution of op(A) x = b, A) with op the transpose or not.

    >>> A = ember.tensor([[2., 0.], [1., 1.]])
    >>> solution, _ = ember.triangular_solve(ember.tensor([[2.], [3.]]), A, upper=False)
    >>> solution
    tensor([[1.],
            [2.]])
    """
    a = _float("triangular_solve", A)
    if transpose:
        x = bind(triangular_solve_p, _mT(a), _float("triangular_solve", b), lower=upper,
                 unit_diagonal=unitriangular)
    else:
        x = solve_triangular(a, b, upper=upper, unitriangular=unitriangular)
    return x, a


def cholesky(A, upper=False):
    """Lower L with L L^T = A for symmetric positive-definite A (its lower triangle is read);
    ``upper=True`` returns L^T."""
    a = _float("linalg.cholesky", A)
    _check_matrix("linalg.cholesky", a, square=True)
    L = bind(cholesky_p, a)
    return _mT(L) if upper else L


def cholesky_solve(B, L, upper=False):
    """x with (L L^T) x = B given the Cholesky factor L (``torch.cholesky_solve``).

    >>> L = ember.tensor([[2., 0.], [1., 1.]])                # A = L @ L.T
    >>> ember.cholesky_solve(ember.tensor([[2.], [3.]]), L)
    tensor([[-0.5000],
            [ 2.0000]])
    """
    lo = _float("cholesky_solve", L)
    if upper:
        lo = _mT(lo)
    y = solve_triangular(lo, B, upper=False)
    return solve_triangular(_mT(lo), y, upper=True)


def slogdet(A):
    """(sign, log|det A|) of square matrices.

    >>> ember.slogdet(ember.tensor([[1., 2.], [3., 4.]]))
    (tensor(-1.), tensor(0.6931))
    """
    a = _float("linalg.slogdet", A)
    _check_matrix("linalg.slogdet", a, square=True)
    s, l = bind(slogdet_p, a)
    return s, l


def det(A):
    """The determinant of square matrices (sign * exp(log|det|)).

    >>> ember.det(ember.tensor([[1., 2.], [3., 4.]]))
    tensor(-2.)
    """
    s, l = slogdet(A)
    from .elementwise import exp
    return s * exp(l)


def logdet(A):
    """log det A: NaN for a negative determinant, -inf for a singular matrix (as PyTorch).

    >>> ember.logdet(ember.tensor([[2., 0.], [0., 3.]]))
    tensor(1.7918)
    """
    s, l = slogdet(A)
    from .elementwise import log
    return l + log(s)


def inv(A):
    """The inverse of square matrices.

    >>> ember.inverse(ember.tensor([[1., 2.], [3., 4.]]))
    tensor([[-2.0000,  1.0000],
            [ 1.5000, -0.5000]])
    """
    a = _float("linalg.inv", A)
    _check_matrix("linalg.inv", a, square=True)
    return bind(solve_p, a, _eye_like(a))


# PyTorch's named results (tuples, so unpacking is unchanged)
QRResult = namedtuple("QRResult", ["Q", "R"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


def qr(A, mode="reduced"):
    """Q, R with A = Q R; ``mode`` 'reduced' (Q is m x k), 'complete' (Q is m x m) or 'r'
    (Q empty, as PyTorch)."""
    a = _float("linalg.qr", A)
    _check_matrix("linalg.qr", a)
    if mode not in ("reduced", "complete", "r"):
        raise OpError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    q, r = bind(qr_p, a, mode="complete" if mode == "complete" else "reduced")
    if mode == "r":
        from .creation_ops import zeros
        return QRResult(zeros(0, dtype=a.dtype), r)
    return QRResult(q, r)


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices. The values are those
    of the lower (``UPLO='L'``) or upper triangle mirrored; the gradient is PyTorch's: that
    of the symmetric part (A + A^T) / 2, so it is symmetric. It assumes distinct
    eigenvalues (equal ones give inf/NaN, as PyTorch and JAX)."""
    a = _float("linalg.eigh", A)
    _check_matrix("linalg.eigh", a, square=True)
    if UPLO not in ("L", "U"):
        raise OpError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    low = tril(a, -1) if UPLO == "L" else _mT(triu(a, 1))
    mirrored = low + _mT(low) + diag_embed(diagonal(a, 0, -2, -1))
    half = 0.5 * (a + _mT(a))
    # exactly ``mirrored`` for a symmetric input; the derivative is the symmetric part's
    return EighResult(*eigh_symmetric(half + (mirrored - half).detach()))


def eigh_symmetric(a):
    """eigh of a matrix taken as symmetric as it is (no triangle read, no symmetrising):
    the primitive, for callers that symmetrise themselves (jnp.linalg.eigh)."""
    w, v = bind(eigh_p, a)
    return w, v


def eigvalsh(A, UPLO="L"):
    return eigh(A, UPLO)[0]


def svd(A, full_matrices=True):
    """U, S, Vh with A = U diag(S) Vh; S descending. The gradient assumes distinct nonzero
    singular values; with ``full_matrices=True`` the extra columns of U / rows of Vh carry
    no gradient (as in PyTorch)."""
    a = _float("linalg.svd", A)
    _check_matrix("linalg.svd", a)
    u, s, vh = bind(svd_p, a, full_matrices=bool(full_matrices))
    return SVDResult(u, s, vh)


def svdvals(A):
    return svd(A, full_matrices=False)[1]


# ---- eig (general square matrices; complex results) ------------------------------------------
# The rules, in JAX's cotangent convention (see elementwise.py; backward() conjugates to
# PyTorch's). With A = V diag(w) V^-1, dA' = V^-1 dA V and F[i, j] = 1 / (w[j] - w[i]) off
# the diagonal: dw = diag(dA'), dV = V (F * dA') less V diag(Re(diag(V^H V (F * dA')))), the
# part that would change the columns' unit norm. The VJP is that map's transpose over the
# reals: gA = V^-T (diag(gw) + F * (V^T gV - V^T conj(V) diag(Re(diag(V^T gV))))) V^T (its
# conjugate is PyTorch's formula). Distinct eigenvalues are assumed (equal ones give inf/NaN,
# as in PyTorch); a loss that depends on the eigenvectors' phase has no well-defined gradient.

def _eig_impl(a):
    # a real matrix goes to LAPACK real (dgeev: its eigenvalue order and vector phases are
    # NumPy's and PyTorch's), its results made complex
    w, v = _lapack("eig", namespace(a).linalg.eig, a)
    c = _dt.complex_of(_dt.from_np(a.dtype)).np
    return w.astype(c, copy=False), v.astype(c, copy=False)


def _eig_norm_part(v, dv0):
    """Re(diag(V^H dV0)) as a row vector (..., 1, n): the radial part of each column."""
    from .elementwise import conj_p, real_p
    r = bind(real_p, (bind(conj_p, v) * dv0).sum(-2, keepdim=True))
    return cast(r, v.dtype)


def _eig_jvp(p, t, out):
    w, v = out
    da = cast(t[0], v.dtype)
    dap = bind(solve_p, v, matmul(da, v))
    dv0 = matmul(v, _inv_gaps(w) * dap)
    return [diagonal(dap, 0, -2, -1), dv0 - v * _eig_norm_part(v, dv0)]


def _eig_vjp(ct, out, a):
    gw, gv = ct
    w, v = out
    vt = _mT(v)
    inner = None
    if gv is not None:
        from .elementwise import conj_p, real_p
        vtg = matmul(vt, gv)
        s = cast(bind(real_p, diagonal(vtg, 0, -2, -1)), v.dtype)
        inner = _inv_gaps(w) * (vtg - matmul(vt, bind(conj_p, v)) * s.unsqueeze(-2))
    if gw is not None:
        d = diag_embed(gw)
        inner = d if inner is None else inner + d
    if inner is None:
        return (None,)
    g = bind(solve_p, vt, matmul(inner, vt))
    return (cast(g, a.dtype),)  # a real input takes the real part


eig_p = Primitive("linalg_eig", _eig_impl, multiple_results=True,
                  shape=lambda a: [Aval(a.shape[:-1], _dt.complex_of(a.dtype)),
                                   Aval(a.shape, _dt.complex_of(a.dtype))],
                  vjp=_eig_vjp, jvp=_eig_jvp, vjp_needs_out=True)
eig_p.batch = _matrix_batch(eig_p)


def eig(A):
    """(eigenvalues, eigenvectors) of a general square matrix (batches too): complex64 for
    float32/complex64 inputs, complex128 for float64/complex128; ``A @ V = V diag(w)`` with
    columns of unit norm. The gradient (PyTorch's ``.grad``, JAX's from ``ember.grad``)
    assumes distinct eigenvalues and a loss that does not depend on the eigenvectors' phase.

    >>> w, V = ember.linalg.eig(ember.tensor([[2., 0.], [0., 3.]]))
    >>> w
    tensor([2.+0.j, 3.+0.j])
    """
    a = as_value(A)
    _check_matrix("linalg.eig", a, square=True)
    if a.dtype not in (_dt.float32, _dt.float64, _dt.complex64, _dt.complex128):
        a = cast(a, _dt.get_default_dtype())
    w, v = bind(eig_p, a)
    return w, v


def eigvals(A):
    """The eigenvalues of a general square matrix (complex; see :func:`eig`).

    >>> ember.linalg.eigvals(ember.tensor([[0., -1.], [1., 0.]]))
    tensor([0.+1.j, 0.-1.j])
    """
    return eig(A)[0]


# ---- matrix exponential -------------------------------------------------------------------

# the [13/13] Pade approximant of exp (Higham 2005, "The scaling and squaring method for the
# matrix exponential revisited"): its numerator's coefficients and the 1-norm up to which it
# meets double precision without scaling
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def _expm_impl(a):
    if type(a) is not np.ndarray:  # the host algorithm; the result goes back to a's device
        from ..backend import backend_of
        return host_on_device_of(_expm_impl(backend_of(a).to_host(a)), a)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    x = np.asarray(a, dtype=wide)
    n = x.shape[-1]
    if n == 0 or x.size == 0:
        return np.asarray(x, dtype=a.dtype)
    norm = np.abs(x).sum(-2).max(-1)                       # 1-norm of each matrix
    with np.errstate(divide="ignore"):
        s = np.where(norm > _THETA13, np.ceil(np.log2(norm / _THETA13)), 0).astype(np.int64)
    if not np.all(np.isfinite(norm)):
        s = np.where(np.isfinite(norm), s, 0)
    x = x / (2.0 ** s)[..., None, None]
    b = _PADE13
    eye = np.broadcast_to(np.eye(n, dtype=wide), x.shape)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2
             + b[1] * eye)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * eye
    r = _lapack("matrix_exp", np.linalg.solve, v - u, v + u)
    for k in range(int(s.max(initial=0))):  # undo the scaling: square each matrix s times
        sq = r @ r
        r = np.where((k < s)[..., None, None], sq, r)
    return r.astype(a.dtype)


def _expm_block(a, da):
    """exp of [[a, da], [0, a]]: its top-right block is the Frechet derivative L(a, da)."""
    from .indexing import cat
    n = a.shape[-1]
    a, da = _broadcast_like(a, da)
    top = cat([a, da], -1)
    bottom = cat([zeros_like_v(a), a], -1)
    big = bind(matrix_exp_p, cat([top, bottom], -2))
    return big[..., :n, n:]


def _broadcast_like(a, b):
    shape = broadcast_shapes(tuple(a.shape), tuple(b.shape), op="matrix_exp")
    return a.expand(*shape) if tuple(a.shape) != shape else a, \
        b.expand(*shape) if tuple(b.shape) != shape else b


def _expm_vjp(ct, out, a):
    # d<ct, exp(a)> / da = L(a^H, ct): the Frechet derivative at the adjoint
    at = _mT(a).conj() if a.dtype.is_complex else _mT(a)
    return (_expm_block(at, ct),)


matrix_exp_p = Primitive("matrix_exp", _expm_impl, shape=lambda a: Aval(a.shape, a.dtype),
                         vjp=_expm_vjp, jvp=lambda p, t, out: _expm_block(p[0], t[0]))
matrix_exp_p.batch = _matrix_batch(matrix_exp_p)


def matrix_exp(A):
    """The matrix exponential exp(A) = sum_k A^k / k! of square matrices (a batch too), as
    ``torch.linalg.matrix_exp`` and ``jax.scipy.linalg.expm``: scaling and squaring with a
    [13/13] Pade approximant, in float64 inside. Differentiable in both modes (the derivative
    is the exponential of a 2n x 2n block matrix).

    >>> ember.matrix_exp(ember.tensor([[0., 1.], [-1., 0.]]))  # a rotation by 1 radian
    tensor([[ 0.5403,  0.8415],
            [-0.8415,  0.5403]])
    """
    a = A if isinstance(A, Tensor) else as_value(A)
    if not (a.dtype.is_floating_point or a.dtype.is_complex):
        raise OpError(f"linalg.matrix_exp: expects a floating-point or complex matrix, got "
                      f"{a.dtype}; convert it with .float() first")
    _check_matrix("linalg.matrix_exp", a, square=True)
    return bind(matrix_exp_p, a)


for _f in (tril, triu, diagonal, diag_embed, diag, trace):
    export(_f, __all__)
    method(_f)
for _f in (det, logdet, slogdet, triangular_solve, cholesky_solve, matrix_exp):
    export(_f, __all__)
method(matrix_exp)
for _n, _f in (("inverse", inv),):
    export(_f, __all__, _n)
    method(_f, _n)
method(det)
method(logdet)
method(slogdet)
method(cholesky_solve)
method(triangular_solve)
