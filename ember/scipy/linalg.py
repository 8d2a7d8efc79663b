"""``jax.scipy.linalg``'s names (SciPy's conventions: ``lower=`` flags, the upper Cholesky
factor by default, ``trans=``) over ember's linear-algebra primitives."""
from __future__ import annotations

from .. import linalg as _tl
from ..ops import linalg_decomp as _d
from ..linalg import LinAlgError, det, inv  # noqa: F401


def _a(x):
    from .. import numpy as jnp
    return jnp.asarray(x)


def cholesky(a, lower=False):
    """The Cholesky factor: upper (SciPy's default) or ``lower``."""
    return _tl.cholesky(_a(a), upper=not lower)


def cho_factor(a, lower=False):
    """(c, lower): the factor and which triangle it is, for ``cho_solve``."""
    return cholesky(a, lower), lower


def cho_solve(c_and_lower, b):
    """x with A x = b given ``cho_factor(A)``."""
    c, lower = c_and_lower
    x = _a(b)
    vec = x.ndim == 1
    r = _d.cholesky_solve(x.unsqueeze(-1) if vec else x, _a(c), upper=not lower)
    return r.squeeze(-1) if vec else r


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False):
    """x with op(a) x = b, op given by ``trans`` (0/'N', 1/'T', 2/'C'), reading the ``lower``
    or upper triangle of ``a``."""
    x, y = _a(a), _a(b)
    vec = y.ndim == 1
    y = y.unsqueeze(-1) if vec else y
    if trans in (1, 2, "T", "C"):
        (x, y), _ = _d._promote_pair(_d._float("solve_triangular", x),
                                     _d._float("solve_triangular", y))
        r = _d.bind(_d.triangular_solve_p, _d._mT(x), y, lower=not lower,
                    unit_diagonal=unit_diagonal)
    elif trans in (0, "N"):
        r = _tl.solve_triangular(x, y, upper=not lower, unitriangular=unit_diagonal)
    else:
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got "
                         f"{trans!r}")
    return r.squeeze(-1) if vec else r


def solve(a, b, lower=False, assume_a="gen"):
    """x with a x = b; ``assume_a='pos'`` solves through the Cholesky factor."""
    if assume_a == "pos":
        return cho_solve(cho_factor(a, lower=True), b)
    if assume_a not in ("gen", "sym", "her"):
        raise ValueError(f"solve: assume_a must be 'gen', 'sym', 'her' or 'pos', got {assume_a!r}")
    from .. import numpy_linalg
    return numpy_linalg.solve(a, b)


def eigh(a, b=None, lower=True, eigvals_only=False):
    """Eigenvalues (and eigenvectors) of a symmetric matrix from its ``lower`` or upper
    triangle; the generalised problem (``b``) is not supported."""
    if b is not None:
        raise NotImplementedError("scipy.linalg.eigh: the generalised problem a v = w b v is "
                                  "not supported; for positive-definite b, transform with "
                                  "L = cholesky(b, lower=True): eigh(L^-1 a L^-T)")
    w, v = _tl.eigh(_a(a), "L" if lower else "U")
    return w if eigvals_only else (w, v)


def qr(a, mode="full", pivoting=False):
    """SciPy's modes: 'full' (complete Q), 'economic' (reduced), 'r' (a 1-tuple (R,))."""
    if pivoting:
        raise NotImplementedError("scipy.linalg.qr: pivoting=True is not supported")
    modes = {"full": "complete", "economic": "reduced", "r": "reduced"}
    if mode not in modes:
        raise ValueError(f"scipy.linalg.qr: mode must be 'full', 'economic' or 'r', got "
                         f"{mode!r}")
    q, r = _tl.qr(_a(a), modes[mode])
    return (r,) if mode == "r" else (q, r)


def svd(a, full_matrices=True, compute_uv=True):
    if not compute_uv:
        return _tl.svdvals(_a(a))
    return _tl.svd(_a(a), full_matrices)


def expm(A, *, upper_triangular=False):
    """The matrix exponential (``jax.scipy.linalg.expm``; ``ember.linalg.matrix_exp``).
    ``upper_triangular`` is a hint in JAX; the result is the same without it.

    >>> ember.scipy.linalg.expm(ember.numpy.zeros((2, 2)))
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _d.matrix_exp(_a(A))
