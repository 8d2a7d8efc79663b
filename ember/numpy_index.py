"""``jax.numpy``'s indexing helpers, re-exported by ``ember.numpy``: index grids
(``indices``, ``mgrid``, ``ogrid``, ``ix_``, the triangle and diagonal indices), flat <-> multi
indices, ``lexsort``, membership and set operations (with JAX's ``size=``/``fill_value=`` for
a fixed-size result under ``jit``), ``delete``/``insert``, ``compress``/``extract``,
``choose`` and the functional ``place``/``put``/``put_along_axis``.

Index arrays are JAX's default integer (``ember.core.dtypes.jax_int()``). Values gathered
from an input keep their gradients; index positions given as Python/NumPy values are static.
"""
from __future__ import annotations

import builtins
import operator

import numpy as _np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .numpy_base import arr as _a, concrete as _concrete, is_traced as _is_traced, \
    jax_int as _jax_int, jnp as _jnp, _e

__all__ = ["indices", "tril_indices", "triu_indices", "tril_indices_from", "triu_indices_from",
           "diag_indices", "diag_indices_from", "mask_indices", "unravel_index",
           "ravel_multi_index", "ix_", "mgrid", "ogrid", "s_", "index_exp", "lexsort", "isin",
           "setdiff1d", "union1d", "intersect1d", "setxor1d", "delete", "insert", "compress",
           "extract", "choose", "place", "put", "put_along_axis"]

s_ = _np.s_
index_exp = _np.index_exp


def _ints(x):
    return _jnp().asarray(_np.asarray(x).astype(_jax_int().np))


def indices(dimensions, dtype=None, sparse=False):
    """A grid of indices for an array of shape ``dimensions``: one array per dim (stacked;
    a tuple of broadcastable arrays with ``sparse=True``).

    >>> import ember.numpy as jnp
    >>> jnp.indices((2, 2))
    tensor([[[0, 0],
             [1, 1]],
    <BLANKLINE>
            [[0, 1],
             [0, 1]]], dtype=ember.int32)
    """
    d = _jax_int() if dtype is None else _dt.as_dtype(dtype)
    dims = tuple(operator.index(n) for n in dimensions)
    jnp = _jnp()
    out = []
    for i, n in enumerate(dims):
        shp = [1] * len(dims)
        shp[i] = n
        g = jnp.arange(n, dtype=d).reshape(tuple(shp))
        out.append(g if sparse else jnp.broadcast_to(g, dims))
    if sparse:
        return tuple(out)
    return jnp.stack(out) if out else jnp.zeros((0,), dtype=d)


def tril_indices(n, k=0, m=None):
    """The (row, column) indices of the lower triangle of an ``n`` x ``m`` matrix (below
    the ``k``-th diagonal included).

    >>> import ember.numpy as jnp
    >>> jnp.tril_indices(2)
    (tensor([0, 1, 1], dtype=ember.int32), tensor([0, 0, 1], dtype=ember.int32))
    """
    return tuple(_ints(i) for i in _np.tril_indices(operator.index(n), k, m))


def triu_indices(n, k=0, m=None):
    """The (row, column) indices of the upper triangle of an ``n`` x ``m`` matrix (above
    the ``k``-th diagonal included).

    >>> import ember.numpy as jnp
    >>> jnp.triu_indices(2)
    (tensor([0, 0, 1], dtype=ember.int32), tensor([0, 1, 1], dtype=ember.int32))
    """
    return tuple(_ints(i) for i in _np.triu_indices(operator.index(n), k, m))


def _shape2(op, arr):
    shp = tuple(arr.shape) if hasattr(arr, "shape") else _np.shape(arr)
    if len(shp) != 2:
        raise ValueError(f"{op}: the array must be 2-d, got shape {shp}")
    return shp


def tril_indices_from(arr, k=0):
    """``tril_indices`` for the shape of the 2-d ``arr``.

    >>> import ember.numpy as jnp
    >>> jnp.tril_indices_from(jnp.ones((2, 3)), 1)[1]
    tensor([0, 1, 0, 1, 2], dtype=ember.int32)
    """
    r, c = _shape2("tril_indices_from", arr)
    return tril_indices(r, k, c)


def triu_indices_from(arr, k=0):
    """``triu_indices`` for the shape of the 2-d ``arr``.

    >>> import ember.numpy as jnp
    >>> jnp.triu_indices_from(jnp.ones((2, 3)), 1)[1]
    tensor([1, 2, 2], dtype=ember.int32)
    """
    r, c = _shape2("triu_indices_from", arr)
    return triu_indices(r, k, c)


def diag_indices(n, ndim=2):
    """The indices of the main diagonal of an ``n`` x ... x ``n`` array of ``ndim`` dims.

    >>> import ember.numpy as jnp
    >>> jnp.diag_indices(2)
    (tensor([0, 1], dtype=ember.int32), tensor([0, 1], dtype=ember.int32))
    """
    n, ndim = operator.index(n), operator.index(ndim)
    if n < 0 or ndim < 0:
        raise ValueError(f"diag_indices: n and ndim must be non-negative, got {n}, {ndim}")
    return (_jnp().arange(n, dtype=_jax_int()),) * ndim


def diag_indices_from(arr):
    """``diag_indices`` for the square ``arr`` (2 dims or more, all of one length).

    >>> import ember.numpy as jnp
    >>> jnp.diag_indices_from(jnp.ones((2, 2)))[0]
    tensor([0, 1], dtype=ember.int32)
    """
    shp = tuple(_a(arr).shape)
    if len(shp) < 2 or len(set(shp)) != 1:
        raise ValueError(f"diag_indices_from: the array must have 2 dims or more, all of one "
                         f"length, got shape {shp}")
    return diag_indices(shp[0], len(shp))


def mask_indices(n, mask_func, k=0, *, size=None):
    """The indices where ``mask_func(ones((n, n)), k)`` is nonzero (e.g. ``jnp.triu``);
    ``size`` fixes their number (padded with zeros).

    >>> import ember.numpy as jnp
    >>> jnp.mask_indices(2, jnp.triu)
    (tensor([0, 0, 1], dtype=ember.int32), tensor([0, 1, 1], dtype=ember.int32))
    """
    m = mask_func(_jnp().ones((n, n), dtype=_jax_int()), k)
    v = _concrete("mask_indices", _a(m), "the number of indices", "Pass size=.")
    r, c = _np.nonzero(v)
    if size is not None:
        r, c = (_np.concatenate([x[:size], _np.zeros(builtins.max(size - len(x), 0), x.dtype)])
                for x in (r, c))
    return _ints(r), _ints(c)


def unravel_index(indices, shape):
    """Flat indices into an array of ``shape`` as a tuple of per-dim index arrays
    (negative indices count from the end).

    >>> import ember.numpy as jnp
    >>> jnp.unravel_index([5, 7], (2, 4))
    (tensor([1, 1], dtype=ember.int32), tensor([1, 3], dtype=ember.int32))
    """
    jnp = _jnp()
    i = _a(indices)
    if i.dtype.is_inexact or i.dtype is _dt.bool_:
        raise TypeError(f"unravel_index: indices must be integers, got {i.dtype.name}")
    shape = tuple(operator.index(s) for s in (shape if _np.ndim(shape) else (shape,)))
    total = int(_np.prod(shape, dtype=_np.int64))
    wide = isinstance(indices, Tensor) and i.dtype.np.itemsize > _jax_int().np.itemsize
    d = i.dtype if wide else _jax_int()
    i = i.to(d)
    if not _is_traced(i):
        v = i.numpy()
        if v.size and (v.max() >= total or v.min() < -total):
            raise ValueError(f"unravel_index: index {v.max() if v.max() >= total else v.min()} "
                             f"is out of bounds for shape {shape} ({total} entries)")
    i = jnp.where(i < 0, i + total, i)
    out = []
    for s in reversed(shape):
        out.append(i % s if s else i * 0)
        i = i // s if s else i
    return tuple(reversed(out))


def ravel_multi_index(multi_index, dims, mode="raise", order="C", *, dtype=None):
    """Per-dim index arrays into an array of shape ``dims`` as flat indices; ``mode``
    'raise' (eager check), 'wrap' or 'clip' for indices out of range, ``order`` 'C' or 'F'.

    >>> import ember.numpy as jnp
    >>> jnp.ravel_multi_index((jnp.array([1, 0]), jnp.array([1, 3])), (2, 4))
    tensor([5, 3], dtype=ember.int32)
    """
    jnp = _jnp()
    dims = tuple(operator.index(s) for s in dims)
    if len(multi_index) != len(dims):
        raise ValueError(f"ravel_multi_index: {len(multi_index)} index arrays for {len(dims)} "
                         f"dims {dims}")
    if order not in ("C", "F"):
        raise ValueError(f"ravel_multi_index: order must be 'C' or 'F', got {order!r}")
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"ravel_multi_index: mode must be 'raise', 'wrap' or 'clip', got "
                         f"{mode!r}")
    d = _jax_int() if dtype is None else _dt.as_dtype(dtype)
    idx = [_a(m) for m in multi_index]
    for m in idx:
        if m.dtype.is_inexact or m.dtype is _dt.bool_:
            raise TypeError(f"ravel_multi_index: indices must be integers, got {m.dtype.name}")
    idx = [m.to(d) for m in idx]
    if mode == "raise":
        for k, (m, s) in enumerate(zip(idx, dims)):
            v = _concrete("ravel_multi_index", m, "mode='raise' checks the indices",
                          "Pass mode='wrap' or mode='clip'.")
            if v.size and (v.min() < 0 or v.max() >= s):
                raise ValueError(f"ravel_multi_index: index {v.max() if v.max() >= s else v.min()}"
                                 f" is out of bounds for dim {k} of size {s}")
    elif mode == "wrap":
        idx = [m % s for m, s in zip(idx, dims)]
    else:
        idx = [jnp.clip(m, 0, s - 1) for m, s in zip(idx, dims)]
    order_dims = list(range(len(dims)))
    if order == "F":
        order_dims.reverse()
    out = None
    for k in order_dims:
        out = idx[k] if out is None else out * dims[k] + idx[k]
    return out if out is not None else jnp.zeros((), dtype=d)


def ix_(*args):
    """An open mesh from 1-d index sequences (booleans become the indices of their True
    entries): ``a[jnp.ix_(rows, cols)]`` picks a sub-matrix.

    >>> import ember.numpy as jnp
    >>> [t.shape for t in jnp.ix_(jnp.array([0, 1]), jnp.array([2, 0, 1]))]
    [ember.Size([2, 1]), ember.Size([1, 3])]
    """
    out = []
    n = len(args)
    for k, x in enumerate(args):
        t = _a(x)
        if t.ndim != 1:
            raise ValueError(f"ix_: arguments must be 1-d, argument {k} has shape "
                             f"{tuple(t.shape)}")
        if t.dtype is _dt.bool_:
            t = _ints(_np.flatnonzero(_concrete("ix_", t, "a boolean mask's indices",
                                                "Pass integer indices.")))
        shp = [1] * n
        shp[k] = t.shape[0]
        out.append(t.reshape(tuple(shp)))
    return tuple(out)


class _Grid:
    """``mgrid`` (dense) / ``ogrid`` (open): slices as aranges, a complex step as a number of
    points (endpoint included)."""

    def __init__(self, sparse):
        self._sparse = sparse

    def __getitem__(self, key):
        jnp = _jnp()
        single = not isinstance(key, tuple)
        keys = (key,) if single else key
        axes = []
        for k in keys:
            if not isinstance(k, slice):
                raise IndexError(f"{'ogrid' if self._sparse else 'mgrid'}: expected slices, "
                                 f"got {k!r}")
            start = 0 if k.start is None else k.start
            step = 1 if k.step is None else k.step
            if isinstance(step, complex):
                axes.append(jnp.linspace(start, k.stop, int(builtins.abs(step))))
            elif builtins.all(isinstance(v, (int, _np.integer)) for v in (start, k.stop, step)):
                axes.append(jnp.arange(start, k.stop, step, dtype=_jax_int()))
            else:
                axes.append(jnp.arange(start, k.stop, step, dtype=jnp._float_default()))
        if builtins.any(a.dtype.is_inexact for a in axes):
            d = jnp._float_default()
            axes = [a.to(d) for a in axes]
        if single:
            return axes[0]
        grids = ix_(*axes)
        if self._sparse:
            return list(grids)
        shape = tuple(a.shape[0] for a in axes)
        return jnp.stack([jnp.broadcast_to(g, shape) for g in grids])


mgrid = _Grid(False)
ogrid = _Grid(True)


def lexsort(keys, axis=-1):
    """The indices that sort by several keys: the last key is the primary one, ties broken
    by the one before it, and so on (stable).

    >>> import ember.numpy as jnp
    >>> jnp.lexsort((jnp.array([1, 0, 2]), jnp.array([1, 1, 0])))
    tensor([2, 1, 0], dtype=ember.int32)
    """
    jnp = _jnp()
    ks = [_a(k) for k in keys] if not isinstance(keys, Tensor) else list(keys)
    if not ks:
        raise TypeError("lexsort: need at least one key")
    shape = tuple(ks[0].shape)
    if builtins.any(tuple(k.shape) != shape for k in ks):
        raise ValueError(f"lexsort: all keys need one shape, got "
                         f"{[tuple(k.shape) for k in ks]}")
    if not shape:
        raise TypeError("lexsort: the keys must have at least 1 dim")
    ax = axis % len(shape)
    grid = _np.arange(shape[ax]).reshape([-1 if d == ax else 1 for d in range(len(shape))])
    idx = jnp.asarray(_np.broadcast_to(grid, shape).astype(_np.int64))
    for k in ks:
        kk = jnp.take_along_axis(k, idx, ax)
        o = jnp.argsort(kk, axis=ax, stable=True)
        idx = jnp.take_along_axis(idx, o, ax)
    return idx.to(_jax_int())


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    """Whether each entry of ``element`` occurs in ``test_elements`` (``invert=True``: does
    not occur).

    >>> import ember.numpy as jnp
    >>> jnp.isin(jnp.array([1, 2, 3]), jnp.array([3, 1]))
    tensor([ True, False,  True])
    """
    x, t = _a(element), _a(test_elements).reshape(-1)
    hit = (x.unsqueeze(-1) == t).any(-1) if t.shape[0] else _jnp().zeros(x.shape, _dt.bool_)
    return ~hit if invert else hit


# ---- set operations -----------------------------------------------------------------------

def _compact(op, values, keep, size, fill_value):
    """The entries of 1-d ``values`` where ``keep``, in order; with ``size`` exactly that
    many (padded with ``fill_value``), jit-compatible; without it eager only."""
    jnp = _jnp()
    if size is None:
        k = _concrete(op, keep, "the result's size", "Pass size= (and fill_value=) for a "
                      "fixed-size result, as in JAX.")
        return values[jnp.asarray(_np.flatnonzero(k).astype(_np.int64))]
    size = operator.index(size)
    if size < 0:
        raise ValueError(f"{op}: size must be non-negative, got {size}")
    n = values.shape[0]
    if size > n:
        values = jnp.concatenate([values, jnp.zeros((size - n,), dtype=values.dtype)])
        keep = jnp.concatenate([keep, jnp.zeros((size - n,), dtype=_dt.bool_)])
    order = jnp.argsort((~keep).to(_dt.int32), stable=True)[:size]
    out = values[order]
    count = keep.to(_dt.int64).sum()
    fill = fill_value(out, count) if callable(fill_value) else fill_value
    return jnp.where(jnp.arange(size) < count, out, jnp.asarray(fill).to(values.dtype))


def _first_fill(out, count):  # JAX's default fill for union/intersect/xor: the smallest value
    jnp = _jnp()
    if out.shape[0] == 0:
        return 0
    return jnp.where(count > 0, out[0], jnp.zeros((), dtype=out.dtype))


def _sorted_firsts(x):
    """``x`` sorted and a mask of each value's first occurrence."""
    jnp = _jnp()
    s = jnp.sort(x.reshape(-1))
    if s.shape[0] == 0:
        return s, jnp.zeros((0,), dtype=_dt.bool_)
    first = jnp.concatenate([jnp.ones((1,), dtype=_dt.bool_), s[1:] != s[:-1]])
    return s, first


def _common(a, b):
    x, y = _a(a), _a(b)
    d = _dt.promote_types(x.dtype, y.dtype)
    return x.reshape(-1).to(d), y.reshape(-1).to(d)


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted distinct values of ``ar1`` that are not in ``ar2``. ``size`` fixes the
    length (padded with ``fill_value``, default 0), as JAX needs under ``jit``.

    >>> import ember.numpy as jnp
    >>> jnp.setdiff1d(jnp.array([5, 1, 3, 3]), jnp.array([3, 4]))
    tensor([1, 5], dtype=ember.int32)
    """
    x, y = _common(ar1, ar2)
    s, first = _sorted_firsts(x)
    return _compact("setdiff1d", s, first & ~isin(s, y), size,
                    0 if fill_value is None else fill_value)


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """The sorted distinct values in either array. ``size`` fixes the length (padded with
    ``fill_value``, default the smallest value).

    >>> import ember.numpy as jnp
    >>> jnp.union1d(jnp.array([5, 1]), jnp.array([3, 1]))
    tensor([1, 3, 5], dtype=ember.int32)
    """
    x, y = _common(ar1, ar2)
    s, first = _sorted_firsts(_jnp().concatenate([x, y]))
    return _compact("union1d", s, first, size, _first_fill if fill_value is None else fill_value)


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None,
                fill_value=None):
    """The sorted distinct values in both arrays (with ``return_indices`` also the index of
    each one's first occurrence in ``ar1`` and in ``ar2``). ``size`` fixes the length (padded
    with ``fill_value``, default the smallest value).

    >>> import ember.numpy as jnp
    >>> jnp.intersect1d(jnp.array([5, 1, 3]), jnp.array([3, 4, 5]))
    tensor([3, 5], dtype=ember.int32)
    """
    jnp = _jnp()
    x, y = _common(ar1, ar2)
    perm = jnp.argsort(x, stable=True)
    s = x[perm]
    first = jnp.concatenate([jnp.ones((1,), dtype=_dt.bool_), s[1:] != s[:-1]]) \
        if s.shape[0] else jnp.zeros((0,), dtype=_dt.bool_)
    keep = first & isin(s, y)
    fill = _first_fill if fill_value is None else fill_value
    vals = _compact("intersect1d", s, keep, size, fill)
    if not return_indices:
        return vals
    # padding entries (with size=) index one past the end, as JAX's
    i1 = _compact("intersect1d", perm.to(_jax_int()), keep, size, x.shape[0])
    eq = vals.unsqueeze(-1) == y
    i2 = jnp.argmax(eq.to(_dt.int32), axis=-1).to(_jax_int())
    if size is not None:
        n = keep.to(_dt.int64).sum()
        i2 = jnp.where(jnp.arange(i2.shape[0]) < n, i2, y.shape[0])
    return vals, i1, i2


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted distinct values in exactly one of the arrays. ``size`` fixes the length
    (padded with ``fill_value``, default the smallest value).

    >>> import ember.numpy as jnp
    >>> jnp.setxor1d(jnp.array([5, 1, 3]), jnp.array([3, 4]))
    tensor([1, 4, 5], dtype=ember.int32)
    """
    x, y = _common(ar1, ar2)
    s, first = _sorted_firsts(_jnp().concatenate([x, y]))
    keep = first & (isin(s, x) != isin(s, y))
    return _compact("setxor1d", s, keep, size, _first_fill if fill_value is None else fill_value)


# ---- delete / insert: NumPy's index arithmetic on codes, then one gather ---------------------

def _static_obj(op, obj):
    if isinstance(obj, slice):
        return obj
    if isinstance(obj, Tensor):
        return _concrete(op, obj, "the positions", "Pass the positions as Python ints or a "
                         "NumPy array.")
    return _np.asarray(obj) if not isinstance(obj, (int, _np.integer)) else obj


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """``arr`` without the entries at ``obj`` (an int, a sequence of ints or a slice) along
    ``axis`` (of the flattened array when None).

    >>> import ember.numpy as jnp
    >>> jnp.delete(jnp.array([1, 2, 3, 4]), [0, 2])
    tensor([2, 4], dtype=ember.int32)
    """
    x = _a(arr)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    pos = _static_obj("delete", obj)
    codes = _np.arange(x.numel()).reshape(tuple(x.shape))
    try:
        kept = _np.delete(codes, pos, axis)
    except (IndexError, ValueError) as err:
        raise type(err)(f"delete: {err} (array of shape {tuple(x.shape)}, axis {axis})") from None
    return x.reshape(-1)[_jnp().asarray(kept.astype(_np.int64))]


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the positions ``obj`` along ``axis`` (of the
    flattened array when None), as NumPy's ``insert``.

    >>> import ember.numpy as jnp
    >>> jnp.insert(jnp.array([1, 2, 3]), 1, jnp.array([8, 9]))
    tensor([1, 8, 9, 2, 3], dtype=ember.int32)
    """
    jnp = _jnp()
    x = _a(arr)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    v = _a(values)
    v = v if v.dtype is x.dtype else v.to(x.dtype)
    pos = _static_obj("insert", obj)
    codes = _np.arange(x.numel()).reshape(tuple(x.shape))
    vcodes = -1 - _np.arange(v.numel()).reshape(tuple(v.shape))
    try:
        out = _np.insert(codes, pos, vcodes, axis)
    except (IndexError, ValueError) as err:
        raise type(err)(f"insert: {err} (array of shape {tuple(x.shape)}, values of shape "
                        f"{tuple(v.shape)}, axis {axis})") from None
    from_x = out >= 0
    gx = x.reshape(-1)[jnp.asarray(_np.where(from_x, out, 0).astype(_np.int64))]
    if v.numel() == 0:
        return gx
    gv = v.reshape(-1)[jnp.asarray(_np.where(from_x, 0, -1 - out).astype(_np.int64))]
    return jnp.where(jnp.asarray(from_x), gx, gv)


# ---- selection ----------------------------------------------------------------------------

def compress(condition, a, axis=None, *, size=None, fill_value=0, out=None):
    """The slices of ``a`` along ``axis`` (of the flattened array when None) where the 1-d
    ``condition`` is true (a shorter condition counts as false beyond its end). ``size``
    fixes the number of slices (padded with ``fill_value``), as JAX needs under ``jit``.

    >>> import ember.numpy as jnp
    >>> jnp.compress(jnp.array([True, False, True]), jnp.array([[1, 2], [3, 4], [5, 6]]), axis=0)
    tensor([[1, 2],
            [5, 6]], dtype=ember.int32)
    """
    if out is not None:
        raise NotImplementedError("compress: out= is not supported (arrays are immutable)")
    jnp = _jnp()
    c = _a(condition)
    if c.ndim != 1:
        raise ValueError(f"compress: condition must be 1-d, got shape {tuple(c.shape)}")
    x = _a(a)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = axis % builtins.max(x.ndim, 1)
    n = x.shape[axis]
    c = c != 0 if c.dtype is not _dt.bool_ else c
    if c.shape[0] > n:
        extra = c[n:]
        if not _is_traced(extra) and bool(extra.numpy().any()):
            raise ValueError(f"compress: condition has a true entry beyond the {n} slices of "
                             f"axis {axis} (condition length {c.shape[0]})")
        c = c[:n]
    elif c.shape[0] < n:
        c = jnp.concatenate([c, jnp.zeros((n - c.shape[0],), dtype=_dt.bool_)])
    xm = jnp.moveaxis(x, axis, 0)
    if size is None:
        k = _concrete("compress", c, "the result's size", "Pass size= (and fill_value=).")
        r = xm[jnp.asarray(_np.flatnonzero(k).astype(_np.int64))]
    else:
        size = operator.index(size)
        if not 0 <= size <= n:
            raise ValueError(f"compress: size must be in [0, {n}] (the length of axis {axis}), "
                             f"got {size}")
        order = jnp.argsort((~c).to(_dt.int32), stable=True)[:size]
        r = xm[order]
        cnt = c.to(_dt.int64).sum()
        ok = (jnp.arange(size) < cnt).reshape((size,) + (1,) * (r.ndim - 1))
        r = jnp.where(ok, r, jnp.asarray(fill_value).to(r.dtype))
    return jnp.moveaxis(r, 0, axis)


def extract(condition, arr, *, size=None, fill_value=0):
    """The entries of ``arr`` where ``condition`` is nonzero, flattened (``size`` as in
    ``compress``).

    >>> import ember.numpy as jnp
    >>> jnp.extract(jnp.array([[1, 0], [0, 1]]), jnp.array([[5, 6], [7, 8]]))
    tensor([5, 8], dtype=ember.int32)
    """
    return compress(_a(condition).reshape(-1) != 0, _a(arr).reshape(-1), size=size,
                    fill_value=fill_value)


def choose(a, choices, out=None, mode="raise"):
    """Per entry, the value of ``choices[a]`` (broadcast together); ``mode`` 'raise' (eager
    check), 'wrap' or 'clip' for indices out of range.

    >>> import ember.numpy as jnp
    >>> jnp.choose(jnp.array([0, 1, 0]), [jnp.array([1, 2, 3]), jnp.array([10, 20, 30])])
    tensor([ 1, 20,  3], dtype=ember.int32)
    """
    if out is not None:
        raise NotImplementedError("choose: out= is not supported (arrays are immutable)")
    jnp = _jnp()
    idx = _a(a)
    if idx.dtype.is_inexact:
        raise TypeError(f"choose: the index array must be integers, got {idx.dtype.name}")
    cs = [_a(c) for c in choices] if not isinstance(choices, Tensor) else list(choices)
    k = len(cs)
    if mode == "raise":
        v = _concrete("choose", idx, "mode='raise' checks the indices",
                      "Pass mode='wrap' or mode='clip'.")
        if v.size and (v.min() < 0 or v.max() >= k):
            raise ValueError(f"choose: index {v.max() if v.max() >= k else v.min()} is out of "
                             f"range for {k} choices; pass mode='wrap' or 'clip'")
    elif mode == "wrap":
        idx = idx % k
    elif mode == "clip":
        idx = jnp.clip(idx, 0, k - 1)
    else:
        raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    d = cs[0].dtype
    for c in cs[1:]:
        d = _dt.promote_types(d, c.dtype)
    bs = jnp.broadcast_arrays(idx, *[c.to(d) for c in cs])
    stacked = jnp.stack(bs[1:])
    return jnp.take_along_axis(stacked, bs[0].to(_dt.int64).unsqueeze(0), 0).squeeze(0)


def _no_inplace(op, inplace):
    if inplace:
        raise ValueError(f"{op}: arrays are immutable (as in JAX), so {op} cannot modify one "
                         f"in place; pass inplace=False to get the updated array")


def place(arr, mask, vals, *, inplace=True):
    """``arr`` with its entries where ``mask`` is true replaced by ``vals`` in order (cycled
    when shorter). JAX's functional form: ``inplace=False`` is required.

    >>> import ember.numpy as jnp
    >>> jnp.place(jnp.array([1, 2, 3, 4]), jnp.array([True, False, True, True]),
    ...           jnp.array([8, 9]), inplace=False)
    tensor([8, 2, 9, 8], dtype=ember.int32)
    """
    _no_inplace("place", inplace)
    jnp = _jnp()
    x = _a(arr)
    m = _a(mask)
    if tuple(m.shape) != tuple(x.shape):
        raise ValueError(f"place: mask of shape {tuple(m.shape)} doesn't match arr's "
                         f"{tuple(x.shape)}")
    v = _a(vals).reshape(-1).to(x.dtype)
    if v.shape[0] == 0:
        if not _is_traced(m) and bool(m.numpy().any()):
            raise ValueError("place: vals is empty but mask selects entries")
        return x
    mf = m.reshape(-1) != 0
    i = (jnp.cumsum(mf.to(_dt.int64)) - 1) % v.shape[0]
    return jnp.where(mf, v[i], x.reshape(-1)).reshape(tuple(x.shape))


def put(a, ind, v, mode=None, *, inplace=True):
    """``a`` with the entries at flat indices ``ind`` set to ``v`` (cycled to ``ind``'s
    length); ``mode`` 'clip' (default, as JAX), 'wrap' or 'raise' (eager check).
    ``inplace=False`` is required (arrays are immutable).

    >>> import ember.numpy as jnp
    >>> jnp.put(jnp.array([1, 2, 3]), jnp.array([0, 2]), 9, inplace=False)
    tensor([9, 2, 9], dtype=ember.int32)
    """
    _no_inplace("put", inplace)
    jnp = _jnp()
    x = _a(a)
    i = _a(ind).reshape(-1).to(_dt.int64)
    n = x.numel()
    vals = _a(v).reshape(-1).to(x.dtype)
    if i.shape[0] == 0:
        return x
    if vals.shape[0] == 0:
        raise ValueError("put: v is empty")
    if vals.shape[0] != i.shape[0]:
        vals = vals[jnp.arange(i.shape[0]) % vals.shape[0]]
    if mode in (None, "clip"):
        i = jnp.clip(jnp.where(i < 0, i + n, i), 0, n - 1)
    elif mode == "wrap":
        i = i % n
    elif mode == "raise":
        iv = _concrete("put", i, "mode='raise' checks the indices", "Pass mode='clip'.")
        if iv.size and (iv.max() >= n or iv.min() < -n):
            raise IndexError(f"put: index {iv.max() if iv.max() >= n else iv.min()} is out of "
                             f"bounds for an array of {n} entries")
        i = jnp.where(i < 0, i + n, i)
    else:
        raise ValueError(f"put: mode must be None, 'clip', 'wrap' or 'raise', got {mode!r}")
    return x.reshape(-1).at[i].set(vals).reshape(tuple(x.shape))


def put_along_axis(arr, indices, values, axis, inplace=True, *, mode=None):
    """``arr`` with ``values`` written at ``indices`` along ``axis`` (the inverse of
    ``take_along_axis``; ``axis=None`` for the flattened array). ``inplace=False`` is
    required (arrays are immutable).

    >>> import ember.numpy as jnp
    >>> jnp.put_along_axis(jnp.zeros((2, 3)), jnp.array([[0], [2]]), 1.0, axis=1,
    ...                    inplace=False)
    tensor([[1., 0., 0.],
            [0., 0., 1.]])
    """
    _no_inplace("put_along_axis", inplace)
    jnp = _jnp()
    x = _a(arr)
    if axis is None:
        return put_along_axis(x.reshape(-1), _a(indices).reshape(-1), values, 0,
                              inplace=False, mode=mode).reshape(tuple(x.shape))
    idx = _a(indices).to(_dt.int64)
    if idx.ndim != x.ndim:
        raise ValueError(f"put_along_axis: indices must have as many dims as arr "
                         f"({x.ndim}), got shape {tuple(idx.shape)}")
    ax = axis % x.ndim
    n = x.shape[ax]
    idx = jnp.where(idx < 0, idx + n, idx)
    shape = tuple(idx.shape[d] if d == ax else
                  (x.shape[d] if idx.shape[d] == 1 else idx.shape[d]) for d in range(x.ndim))
    full = []
    for d in range(x.ndim):
        if d == ax:
            full.append(jnp.broadcast_to(idx, shape))
        else:
            g = _np.arange(shape[d]).reshape([-1 if e == d else 1 for e in range(x.ndim)])
            full.append(jnp.asarray(_np.broadcast_to(g, shape).astype(_np.int64)))
    vals = jnp.broadcast_to(_a(values).to(x.dtype), shape)
    return x.at[tuple(full)].set(vals)
