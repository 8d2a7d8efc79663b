"""``jax.lax``'s shape and structure operations (``broadcast_in_dim``, ``reshape``, ``slice``,
``pad``, ``concatenate``, ``iota``, ``full``, ``convert_element_type``, ...) with JAX's
arguments, composed from ember's shape, slicing and indexing primitives (so they differentiate,
batch and compile with those primitives' rules)."""
from __future__ import annotations

import builtins

import numpy as _np

from .core import dtypes as _dt
from .ops import elementwise as _E
from .ops import indexing as _I
from .ops import shape as _Sh
from .ops import slicing as _Sl
from .ops.creation_ops import arange as _arange
from .lax_elementwise import _strong

__all__ = ["convert_element_type", "bitcast_convert_type", "broadcast", "broadcast_in_dim", "broadcasted_iota", "iota",
           "reshape", "squeeze", "expand_dims", "transpose", "rev", "slice", "slice_in_dim",
           "index_in_dim", "concatenate", "pad", "collapse", "full", "full_like",
           "zeros_like_array"]

_slice = builtins.slice


def _ints(op, what, seq):
    try:
        return tuple(int(v) for v in seq)
    except TypeError:
        raise TypeError(f"lax.{op}: {what} must be a sequence of ints, got {seq!r}") from None


def _dims(op, dims, nd):
    out = []
    for d in _ints(op, "dimensions", dims):
        if not -nd <= d < nd:
            raise ValueError(f"lax.{op}: dimension {d} is out of range for a {nd}-dim operand")
        out.append(d % nd)
    return tuple(out)


def convert_element_type(operand, new_dtype):
    """``operand`` converted to ``new_dtype`` (floats to integers round toward zero; complex to
    real keeps the real part). Differentiable between inexact dtypes.

    >>> ember.lax.convert_element_type(ember.tensor([1.7, -1.7]), ember.int32)
    tensor([ 1, -1], dtype=ember.int32)
    """
    x = _strong("convert_element_type", operand) if not isinstance(operand, (bool, int, float,
                                                                               complex)) \
        else _E.as_jax_value(operand)
    return _E.cast(x, _dt.as_dtype(new_dtype))


def bitcast_convert_type(operand, new_dtype):
    """``operand``'s bytes read as ``new_dtype`` (little-endian, as JAX on the CPU). To a
    narrower dtype the result gains a trailing dim of the width ratio; to a wider one the
    operand's last dim must be that ratio and is consumed. bool and complex values convert
    only to their own dtype. No derivative (zero), as in JAX.

    >>> ember.lax.bitcast_convert_type(ember.tensor([1.0]), ember.int32)
    tensor([1065353216], dtype=ember.int32)
    >>> ember.lax.bitcast_convert_type(ember.tensor([1.0]), ember.uint8)
    tensor([[  0,   0, 128,  63]], dtype=ember.uint8)
    """
    x = _strong("bitcast_convert_type", operand) if not isinstance(
        operand, (bool, int, float, complex)) else _E.as_jax_value(operand)
    return _E.bitcast_convert_type(x, new_dtype)


def broadcast(operand, sizes):
    """``operand`` repeated over new leading dims of ``sizes``.

    >>> ember.lax.broadcast(ember.tensor([1., 2.]), (3,)).shape
    ember.Size([3, 2])
    """
    x = _strong("broadcast", operand)
    sizes = _ints("broadcast", "sizes", sizes)
    return _Sh.broadcast_to(x, sizes + tuple(x.shape))


def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """``operand`` broadcast to ``shape``: its dim ``i`` becomes dim ``broadcast_dimensions[i]``
    of the result (of the same size, or 1); the other dims are new.

    >>> ember.lax.broadcast_in_dim(ember.tensor([1., 2.]), (2, 3), (0,))
    tensor([[1., 1., 1.],
            [2., 2., 2.]])
    """
    x = _strong("broadcast_in_dim", operand)
    shape = _ints("broadcast_in_dim", "shape", shape)
    bd = _ints("broadcast_in_dim", "broadcast_dimensions", broadcast_dimensions)
    ok = len(bd) == x.ndim and all(0 <= d < len(shape) for d in bd) and \
        all(a < b for a, b in zip(bd, bd[1:])) and \
        all(x.shape[i] in (1, shape[d]) for i, d in enumerate(bd))
    if not ok:
        raise TypeError(f"lax.broadcast_in_dim: operand {tuple(x.shape)} cannot go to shape "
                        f"{shape} with broadcast_dimensions {bd}: give one strictly increasing "
                        f"result dim per operand dim, where the operand's size is 1 or equal")
    full = [1] * len(shape)
    for i, d in enumerate(bd):
        full[d] = x.shape[i]
    return _Sh.broadcast_to(_Sh.reshape(x, tuple(full)), shape)


def iota(dtype, size):
    """``[0, 1, ..., size - 1]`` of ``dtype``.

    >>> ember.lax.iota(ember.int32, 4)
    tensor([0, 1, 2, 3], dtype=ember.int32)
    """
    return _arange(int(size), dtype=_dt.as_dtype(dtype))


def broadcasted_iota(dtype, shape, dimension):
    """A tensor of ``shape`` whose entries count along ``dimension``.

    >>> ember.lax.broadcasted_iota(ember.int32, (2, 3), 1)
    tensor([[0, 1, 2],
            [0, 1, 2]], dtype=ember.int32)
    """
    shape = _ints("broadcasted_iota", "shape", shape)
    (d,) = _dims("broadcasted_iota", (dimension,), len(shape))
    return broadcast_in_dim(iota(dtype, shape[d]), shape, (d,))


def reshape(operand, new_sizes, dimensions=None):
    """``operand`` with shape ``new_sizes`` (same number of elements, no -1), its dims first
    transposed to ``dimensions`` when given.

    >>> ember.lax.reshape(ember.arange(6), (3, 2), dimensions=(0,))
    tensor([[0, 1],
            [2, 3],
            [4, 5]])
    """
    x = _strong("reshape", operand)
    new = _ints("reshape", "new_sizes", new_sizes)
    if int(_np.prod(new, dtype=_np.int64)) != x.numel() or any(n < 0 for n in new):
        raise TypeError(f"lax.reshape: operand {tuple(x.shape)} ({x.numel()} elements) cannot "
                        f"take shape {new}; lax.reshape needs the exact sizes (no -1)")
    if dimensions is not None:
        perm = _dims("reshape", dimensions, x.ndim)
        if sorted(perm) != list(range(x.ndim)):
            raise ValueError(f"lax.reshape: dimensions {tuple(dimensions)} must be a "
                             f"permutation of 0..{x.ndim - 1}")
        x = _Sh.permute(x, perm)
    return _Sh.reshape(x, new)


def squeeze(array, dimensions):
    """``array`` without the given dims (each of size 1).

    >>> ember.lax.squeeze(ember.ones(1, 3, 1), (0, 2)).shape
    ember.Size([3])
    """
    x = _strong("squeeze", array)
    dims = _dims("squeeze", dimensions, x.ndim)
    bad = [d for d in dims if x.shape[d] != 1]
    if bad:
        raise ValueError(f"lax.squeeze: dims {bad} of shape {tuple(x.shape)} are not of size 1")
    return _Sh.reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in dims))


def expand_dims(array, dimensions):
    """``array`` with new size-1 dims at ``dimensions`` (positions in the result).

    >>> ember.lax.expand_dims(ember.ones(3, 4), (0, 2)).shape
    ember.Size([1, 3, 1, 4])
    """
    x = _strong("expand_dims", array)
    nd = x.ndim + len(tuple(dimensions))
    dims = set(_dims("expand_dims", dimensions, nd))
    it = iter(x.shape)
    return _Sh.reshape(x, tuple(1 if i in dims else next(it) for i in range(nd)))


def transpose(operand, permutation):
    """``operand`` with its dims permuted: result dim ``i`` is operand dim ``permutation[i]``.

    >>> ember.lax.transpose(ember.ones(2, 3, 4), (2, 0, 1)).shape
    ember.Size([4, 2, 3])
    """
    x = _strong("transpose", operand)
    perm = _dims("transpose", permutation, x.ndim)
    if sorted(perm) != list(range(x.ndim)):
        raise ValueError(f"lax.transpose: permutation {tuple(permutation)} is not a permutation "
                         f"of 0..{x.ndim - 1} (operand {tuple(x.shape)})")
    return _Sh.permute(x, perm)


def rev(operand, dimensions):
    """``operand`` reversed along ``dimensions``.

    >>> ember.lax.rev(ember.tensor([[1, 2], [3, 4]]), (1,))
    tensor([[2, 1],
            [4, 3]])
    """
    x = _strong("rev", operand)
    dims = _dims("rev", dimensions, x.ndim)
    return _Sl.flip(x, list(dims)) if dims else x


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001
    """The block ``start <= i < limit`` (every ``stride``-th) of each dim; indices must lie in
    the operand (no negative indices, as in JAX).

    >>> ember.lax.slice(ember.arange(10), (1,), (8,), (3,))
    tensor([1, 4, 7])
    """
    x = _strong("slice", operand)
    st = _ints("slice", "start_indices", start_indices)
    lim = _ints("slice", "limit_indices", limit_indices)
    sd = _ints("slice", "strides", strides) if strides is not None else (1,) * x.ndim
    if not len(st) == len(lim) == len(sd) == x.ndim:
        raise TypeError(f"lax.slice: operand {tuple(x.shape)} needs {x.ndim} start indices, "
                        f"limit indices and strides, got {st}, {lim}, {sd}")
    for d, (a, b, s, n) in enumerate(zip(st, lim, sd, x.shape)):
        if not (0 <= a <= b <= n) or s < 1:
            raise TypeError(f"lax.slice: dim {d} of operand {tuple(x.shape)}: need 0 <= start "
                            f"({a}) <= limit ({b}) <= {n} and stride ({s}) >= 1")
    return x[tuple(_slice(a, b, s) for a, b, s in zip(st, lim, sd))]


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``lax.slice`` along one ``axis``; ``None`` bounds mean the ends and negative ones count
    from the end.

    >>> ember.lax.slice_in_dim(ember.arange(6).reshape(2, 3), 1, None, axis=1)
    tensor([[1, 2],
            [4, 5]])
    """
    x = _strong("slice_in_dim", operand)
    (axis,) = _dims("slice_in_dim", (axis,), x.ndim)
    n = x.shape[axis]
    a = 0 if start_index is None else int(start_index)
    b = n if limit_index is None else int(limit_index)
    a, b = a + n if a < 0 else a, b + n if b < 0 else b
    st, lim, sd = [0] * x.ndim, list(x.shape), [1] * x.ndim
    st[axis], lim[axis], sd[axis] = a, b, int(stride)
    return slice(x, st, lim, sd)


def index_in_dim(operand, index, axis=0, keepdims=True):
    """Entry ``index`` (negative counts from the end) along ``axis``, kept as a size-1 dim
    unless ``keepdims=False``.

    >>> ember.lax.index_in_dim(ember.arange(6).reshape(2, 3), -1, axis=1, keepdims=False)
    tensor([2, 5])
    """
    x = _strong("index_in_dim", operand)
    (axis,) = _dims("index_in_dim", (axis,), x.ndim)
    n = x.shape[axis]
    i = int(index)
    if not -n <= i < n:
        raise IndexError(f"lax.index_in_dim: index {i} is out of range for dim {axis} of size "
                         f"{n}")
    i %= n
    out = slice_in_dim(x, i, i + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


def concatenate(operands, dimension):
    """The operands (one dtype, equal shapes but along ``dimension``) joined along it.

    >>> ember.lax.concatenate([ember.ones(1, 2), ember.zeros(2, 2)], 0)
    tensor([[1., 1.],
            [0., 0.],
            [0., 0.]])
    """
    xs = [_strong("concatenate", x) for x in operands]
    if not xs:
        raise ValueError("lax.concatenate: needs at least one operand")
    dts = {x.dtype for x in xs}
    if len(dts) > 1:
        raise TypeError(f"lax.concatenate: operands must have the same dtype, got "
                        f"{[x.dtype.name for x in xs]}; convert with lax.convert_element_type "
                        f"or use ember.numpy.concatenate for promotion")
    nd = xs[0].ndim
    (d,) = _dims("concatenate", (dimension,), builtins.max(nd, 1))
    for x in xs:
        if x.ndim != nd or any(a != b for i, (a, b) in enumerate(zip(x.shape, xs[0].shape))
                               if i != d):
            raise TypeError(f"lax.concatenate: shapes {[tuple(x.shape) for x in xs]} differ "
                            f"outside dimension {d}")
    return xs[0] if len(xs) == 1 else _I.cat(xs, dim=d)


def pad(operand, padding_value, padding_config):
    """``operand`` padded with ``padding_value`` (a scalar of its dtype; differentiable):
    ``padding_config`` gives ``(low, high, interior)`` per dim; ``interior`` values go between
    neighbours and a negative ``low``/``high`` crops.

    >>> ember.lax.pad(ember.tensor([1., 2., 3.]), 0., [(1, -1, 1)])
    tensor([0., 1., 0., 2., 0.])
    """
    x = _strong("pad", operand)
    if isinstance(padding_value, (bool, int, float, complex)):
        v = _E.as_value(_np.asarray(padding_value, x.dtype.np))
    else:
        v = _strong("pad", padding_value)
        if v.ndim != 0 or v.dtype != x.dtype:
            raise TypeError(f"lax.pad: padding_value must be a scalar of the operand's dtype "
                            f"{x.dtype.name}, got {v.dtype.name}{tuple(v.shape)}")
    cfg = [tuple(int(c) for c in p) for p in padding_config]
    if len(cfg) != x.ndim or any(len(p) != 3 or p[2] < 0 for p in cfg):
        raise ValueError(f"lax.pad: padding_config needs one (low, high, interior >= 0) triple "
                         f"per dim of operand {tuple(x.shape)}, got {padding_config!r}")

    def block(shape):
        return _Sh.broadcast_to(v, tuple(shape))
    for d, (lo, hi, interior) in enumerate(cfg):
        n = x.shape[d]
        if interior and n > 1:
            shape = list(x.shape)
            gap = block(shape[:d + 1] + [interior] + shape[d + 1:])
            y = _I.cat([_Sh.unsqueeze(x, d + 1), gap], dim=d + 1)
            y = _Sh.reshape(y, tuple(shape[:d] + [n * (interior + 1)] + shape[d + 1:]))
            x = y[(_slice(None),) * d + (_slice(0, (n - 1) * (interior + 1) + 1),)]
            n = x.shape[d]
        if lo + n + hi < 0:
            raise ValueError(f"lax.pad: dim {d} would get a negative size ({lo} + {n} + {hi})")
        a, b = builtins.max(-lo, 0), n - builtins.max(-hi, 0)
        if a or b != n:
            x = x[(_slice(None),) * d + (_slice(a, builtins.max(a, b)),)]
        parts = []
        shape = list(x.shape)
        if lo > 0:
            parts.append(block(shape[:d] + [lo] + shape[d + 1:]))
        parts.append(x)
        if hi > 0:
            parts.append(block(shape[:d] + [hi] + shape[d + 1:]))
        if len(parts) > 1:
            x = _I.cat(parts, dim=d)
    return x


def collapse(operand, start_dimension, stop_dimension=None):
    """``operand`` with dims ``start_dimension`` up to (not including) ``stop_dimension``
    (default: the end) merged into one.

    >>> ember.lax.collapse(ember.ones(2, 3, 4), 1).shape
    ember.Size([2, 12])
    """
    x = _strong("collapse", operand)
    nd = x.ndim
    a = int(start_dimension) % nd if nd else 0
    b = nd if stop_dimension is None else int(stop_dimension)
    b = b + nd if b < 0 else b
    if not 0 <= a <= b <= nd:
        raise ValueError(f"lax.collapse: dims {start_dimension}..{stop_dimension} do not fit a "
                         f"{nd}-dim operand")
    merged = int(_np.prod(x.shape[a:b], dtype=_np.int64))
    return _Sh.reshape(x, tuple(x.shape[:a]) + (merged,) + tuple(x.shape[b:]))


def full(shape, fill_value, dtype=None):
    """A tensor of ``shape`` filled with ``fill_value`` (a scalar, traced allowed) of ``dtype``
    (default: the value's own, JAX's weak types for Python numbers).

    >>> ember.lax.full((2, 2), 7, ember.int8)
    tensor([[7, 7],
            [7, 7]], dtype=ember.int8)
    """
    shape = _ints("full", "shape", shape)
    v = _E.as_jax_value(fill_value)
    if v.ndim != 0:
        raise TypeError(f"lax.full: fill_value must be a scalar, got shape {tuple(v.shape)}")
    if dtype is not None:
        v = _E.cast(v, _dt.as_dtype(dtype))
    return _Sh.broadcast_to(v, shape)


def full_like(x, fill_value, dtype=None, shape=None):
    """A tensor like ``x`` (its shape and dtype unless given) filled with ``fill_value``.

    >>> ember.lax.full_like(ember.ones(2, dtype=ember.int32), 3)
    tensor([3, 3], dtype=ember.int32)
    """
    t = _strong("full_like", x)
    return full(tuple(t.shape) if shape is None else shape, fill_value,
                t.dtype if dtype is None else dtype)


def zeros_like_array(x):
    """Zeros of ``x``'s shape and dtype.

    >>> ember.lax.zeros_like_array(ember.ones(2))
    tensor([0., 0.])
    """
    return full_like(x, 0)


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """Explicit ``(low, high)`` pads per dim for ``padding`` 'VALID', 'SAME' (the extra
    element at the end) or 'SAME_LOWER' (at the start), as ``jax.lax.padtype_to_pads``.

    >>> ember.lax.padtype_to_pads((28, 28), (8, 8), (2, 2), "SAME")
    [(3, 3), (3, 3)]
    """
    if not isinstance(padding, str):
        return [tuple(int(v) for v in p) for p in padding]
    kind = padding.upper()
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"padtype_to_pads: padding must be 'VALID', 'SAME', 'SAME_LOWER' or a "
                         f"sequence of (low, high) pairs, got {padding!r}")
    pads = []
    for n, k, s in zip(in_shape, window_shape, window_strides):
        total = builtins.max((-(-n // s) - 1) * s + k - n, 0)
        small = total // 2
        pads.append((small, total - small) if kind == "SAME" else (total - small, small))
    return pads
