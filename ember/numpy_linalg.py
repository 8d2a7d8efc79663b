"""``jax.numpy.linalg``'s names (and the Array API's ``linalg`` extension): reached as
``ember.numpy.linalg``. The same functions as ``ember.linalg`` with NumPy/JAX argument names
(``axis``, ``keepdims``, ``UPLO``, ``compute_uv``) and results (named tuples as JAX's);
``eigh`` symmetrises its input, (a + a^T) / 2, as ``jax.numpy.linalg.eigh`` does by default.
"""
from __future__ import annotations

from collections import namedtuple

from . import linalg as _tl
from .ops import linalg_decomp as _d
from .linalg import LinAlgError, cross as _cross, det, eig, eigvals, inv, matrix_power  # noqa: F401

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def _a(x):
    from . import numpy as jnp
    return jnp.asarray(x)


def cholesky(a, *, upper=False):
    return _tl.cholesky(_a(a), upper=upper)


def slogdet(a, *, method=None):
    s, l = _tl.slogdet(_a(a))
    return SlogdetResult(s, l)


def eigh(a, UPLO=None, symmetrize_input=True):
    """(eigenvalues, eigenvectors) of symmetric matrices; by default of (a + a^T) / 2, else of
    the ``UPLO`` triangle ('L' by default) mirrored."""
    x = _d._float("linalg.eigh", _a(a))
    _d._check_matrix("linalg.eigh", x, square=True)
    if symmetrize_input:
        w, v = _d.eigh_symmetric(0.5 * (x + _d._mT(x)))
    else:
        w, v = _tl.eigh(x, UPLO or "L")
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", *, symmetrize_input=True):
    return eigh(a, UPLO, symmetrize_input).eigenvalues


def pinv(a, rtol=None, hermitian=False, *, rcond=None):
    return _tl.pinv(_a(a), rtol=rcond if rtol is None else rtol)


def lstsq(a, b, rcond=None, *, numpy_resid=False):
    """(x, residuals, rank, singular values) of the least-squares problem a x = b."""
    r = _tl.lstsq(_a(a), _a(b), rcond)
    return r.solution, r.residuals, r.rank, r.singular_values


def matrix_rank(M, rtol=None, *, tol=None):
    return _tl.matrix_rank(_a(M), rtol=rtol, tol=tol)


def norm(x, ord=None, axis=None, keepdims=False):
    """NumPy's norm: the 2-norm of all elements by default; a vector norm over an int
    ``axis`` (or of a 1-d input); a matrix norm over a pair of axes (or of a 2-d input)."""
    v = _d._float("linalg.norm", _a(x))
    if axis is None and ord is None:
        r = _tl.vector_norm(v, 2, None)
        return r.reshape((1,) * v.ndim) if keepdims else r
    if isinstance(axis, int):
        axis = (axis,)
    if axis is None:
        axis = tuple(range(v.ndim))
    if len(axis) == 1:
        return _tl.vector_norm(v, 2 if ord is None else ord, axis, keepdims)
    if len(axis) == 2:
        return _tl.matrix_norm(v, "fro" if ord is None else ord, axis, keepdims)
    raise ValueError(f"linalg.norm: axis must name 1 or 2 axes for ord={ord!r}, got {axis}")


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    v = _a(x)
    if axis is None and keepdims:
        axis = tuple(range(v.ndim))
    return _tl.vector_norm(v, ord, axis, keepdims)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    return _tl.matrix_norm(_a(x), ord, (-2, -1), keepdims)


def qr(a, mode="reduced"):
    """Q, R (mode 'reduced' or 'complete'); mode 'r' gives R alone, as NumPy/JAX."""
    q, r = _tl.qr(_a(a), "reduced" if mode == "r" else mode)
    return r if mode == "r" else QRResult(q, r)


def solve(a, b):
    """x with a x = b; ``b`` is a vector when it is 1-d, else a (batch of) matrices."""
    x, y = _a(a), _a(b)
    if y.ndim == 1:
        return _tl.solve(x, y.unsqueeze(-1)).squeeze(-1)
    (x, y), _ = _d._promote_pair(_d._float("linalg.solve", x), _d._float("linalg.solve", y))
    _d._check_matrix("linalg.solve", x, square=True)
    return _d.bind(_d.solve_p, x, y)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    if not compute_uv:
        return _tl.svdvals(_a(a))
    u, s, vh = _tl.svd(_a(a), full_matrices)
    return SVDResult(u, s, vh)


def svdvals(x, /):
    return _tl.svdvals(_a(x))


def cross(x1, x2, /, *, axis=-1):
    return _cross(_a(x1), _a(x2), dim=axis)


def diagonal(x, /, *, offset=0):
    return _d.diagonal(_a(x), offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """The sum of each matrix's ``offset`` diagonal (the Array API's dtypes: unsigned
    integers sum in uint64, other integers in int64)."""
    from .numpy import sum as _sum
    return _sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


def matrix_transpose(x, /):
    return _d._mT(_a(x))


def matmul(x1, x2, /):
    return _tl.matmul(_a(x1), _a(x2))


def multi_dot(arrays):
    return _tl.multi_dot([_a(x) for x in arrays])


def outer(x1, x2, /):
    return _a(x1).reshape((-1, 1)) * _a(x2).reshape((1, -1))


def vecdot(x1, x2, /, *, axis=-1):
    """The dot product over ``axis``, ``x1`` conjugated (the Array API's vecdot)."""
    from .numpy import vecdot as _vecdot
    return _vecdot(x1, x2, axis=axis)


def tensordot(x1, x2, /, *, axes=2):
    import ember
    return ember.tensordot(_a(x1), _a(x2), dims=axes)
