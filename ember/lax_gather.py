"""``jax.lax.gather`` and ``scatter``/``scatter_add``/``scatter_sub`` with JAX's dimension
numbers, composed from ember's advanced indexing (``x[idx]``, ``x.at[idx].set/add``), so they
differentiate, batch and compile with those rules. The index vector is the last dim of the
indices (as JAX always builds it); operand batching dims are not supported."""
from __future__ import annotations

import builtins
import enum
from typing import NamedTuple

import numpy as _np

from .core import dtypes as _dt
from .ops import elementwise as _E
from .ops import shape as _Sh
from .ops.creation_ops import arange as _arange
from . import lax_structure as _St
from .lax_elementwise import _strong, _kind

__all__ = ["GatherDimensionNumbers", "ScatterDimensionNumbers", "GatherScatterMode", "gather",
           "scatter", "scatter_add", "scatter_sub", "scatter_mul", "scatter_min", "scatter_max"]

_slice = builtins.slice


class GatherDimensionNumbers(NamedTuple):
    """How ``lax.gather`` reads its indices (JAX's fields).

    >>> ember.lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
    ...                                  start_index_map=(0,)).offset_dims
    (1,)
    """
    offset_dims: tuple
    collapsed_slice_dims: tuple
    start_index_map: tuple
    operand_batching_dims: tuple = ()
    start_indices_batching_dims: tuple = ()


class ScatterDimensionNumbers(NamedTuple):
    """How ``lax.scatter*`` reads its indices and updates (JAX's fields).

    >>> ember.lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
    ...                                   scatter_dims_to_operand_dims=(0,)).inserted_window_dims
    (0,)
    """
    update_window_dims: tuple
    inserted_window_dims: tuple
    scatter_dims_to_operand_dims: tuple
    operand_batching_dims: tuple = ()
    scatter_indices_batching_dims: tuple = ()


class GatherScatterMode(enum.Enum):
    """Out-of-bounds indices: ``CLIP`` (clamped so the slice fits), ``FILL_OR_DROP`` (a
    gather fills such slices with ``fill_value``, a scatter drops such updates; the default of
    the scatters, while ``gather`` defaults to ``CLIP``, as in JAX),
    ``PROMISE_IN_BOUNDS`` (treated as CLIP).

    >>> ember.lax.GatherScatterMode.from_any("clip")
    <GatherScatterMode.CLIP: 1>
    """
    CLIP = 1
    FILL_OR_DROP = 2
    PROMISE_IN_BOUNDS = 3

    @staticmethod
    def from_any(s):
        if isinstance(s, GatherScatterMode):
            return s
        if s is None:
            return GatherScatterMode.FILL_OR_DROP
        names = {"clip": "CLIP", "fill": "FILL_OR_DROP", "drop": "FILL_OR_DROP",
                 "promise_in_bounds": "PROMISE_IN_BOUNDS"}
        name = names.get(str(s).lower(), getattr(s, "name", str(s)).upper())
        try:
            return GatherScatterMode[name]
        except KeyError:
            raise ValueError(f"lax: unknown gather/scatter mode {s!r}; use 'clip', 'fill' or "
                             f"'promise_in_bounds'") from None


def _index_arrays(op, idx, sizes, dims_map, operand_shape, mode):
    """Per operand dim an int tensor of shape ``batch + window`` (broadcastable) giving the
    entries of each window, and a bool mask of the batch entries whose window is out of
    bounds (None unless FILL_OR_DROP)."""
    nd = len(operand_shape)
    batch = tuple(idx.shape[:-1])
    nb = len(batch)
    if idx.shape[-1] != len(dims_map):
        raise TypeError(f"lax.{op}: the index vector (last dim of the indices, "
                        f"{tuple(idx.shape)}) must have {len(dims_map)} entries, one per "
                        f"mapped operand dim {tuple(dims_map)}")
    oob = None
    arrays = []
    for d in range(nd):
        n, s = operand_shape[d], sizes[d]
        if not 0 <= s <= n:
            raise TypeError(f"lax.{op}: window size {s} of dim {d} does not fit the operand "
                            f"{tuple(operand_shape)}")
        shape = [1] * (nb + nd)
        shape[nb + d] = s
        ar = _Sh.reshape(_arange(s, dtype=idx.dtype), tuple(shape))
        if d not in dims_map:
            arrays.append(ar)
            continue
        st = idx[..., dims_map.index(d)]
        if mode is GatherScatterMode.FILL_OR_DROP:
            bad = _E.logical_or(_E.lt(st, 0), _E.gt(st, n - s))
            oob = bad if oob is None else _E.logical_or(oob, bad)
        st = _E.clamp(st, 0, n - s)
        arrays.append(_E.add(_Sh.reshape(st, batch + (1,) * nd), ar))
    return arrays, oob


def _fill_default(dtype):
    k = _kind(dtype)
    if k in "fc":
        return float("nan")
    if k == "b":
        return True
    info = _np.iinfo(dtype.np)
    return int(info.min) if k == "i" else int(info.max)


def gather(operand, start_indices, dimension_numbers, slice_sizes, *, unique_indices=False,
           indices_are_sorted=False, mode=None, fill_value=None):
    """Slices of ``operand`` of ``slice_sizes`` starting at the index vectors in the last dim of
    ``start_indices`` (XLA's gather with JAX's ``GatherDimensionNumbers``). Out-of-bounds
    starts are clamped so the slice fits; ``mode='fill'`` fills such slices with
    ``fill_value`` instead (NaN for floats).

    >>> x = ember.arange(12.).reshape(3, 4)
    >>> dn = ember.lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
    ...                                       start_index_map=(0,))
    >>> ember.lax.gather(x, ember.tensor([[2], [0]]), dn, (1, 4))
    tensor([[ 8.,  9., 10., 11.],
            [ 0.,  1.,  2.,  3.]])
    """
    x = _strong("gather", operand)
    idx = _strong("gather", start_indices)
    dn = dimension_numbers
    if tuple(dn.operand_batching_dims) or tuple(dn.start_indices_batching_dims):
        raise NotImplementedError("lax.gather: operand_batching_dims are not supported; "
                                  "vmap the gather over the batch dim instead")
    if _kind(idx.dtype) not in "iu":
        raise TypeError(f"lax.gather: start_indices must be integers, got {idx.dtype.name}")
    sizes = tuple(int(s) for s in slice_sizes)
    if len(sizes) != x.ndim:
        raise TypeError(f"lax.gather: slice_sizes {sizes} needs one entry per dim of operand "
                        f"{tuple(x.shape)}")
    collapsed = tuple(int(d) for d in dn.collapsed_slice_dims)
    if any(sizes[d] != 1 for d in collapsed):
        raise TypeError(f"lax.gather: collapsed_slice_dims {collapsed} must have slice size 1, "
                        f"got slice_sizes {sizes}")
    m = GatherScatterMode.CLIP if mode is None else GatherScatterMode.from_any(mode)
    arrays, oob = _index_arrays("gather", idx, sizes, tuple(int(d) for d in
                                                             dn.start_index_map),
                                tuple(x.shape), m)
    out = x[tuple(arrays)]
    nb = idx.ndim - 1
    if oob is not None:
        fv = _fill_default(x.dtype) if fill_value is None else fill_value
        mask = _Sh.reshape(oob, tuple(oob.shape) + (1,) * x.ndim)
        out = _E.where(mask, _E.as_value(_np.asarray(fv, x.dtype.np)), out)
    keep = tuple(nb + d for d in range(x.ndim) if d not in collapsed)
    out = _Sh.reshape(out, tuple(out.shape[:nb]) + tuple(out.shape[k] for k in keep))
    offset = tuple(int(d) for d in dn.offset_dims)
    rank = nb + len(keep)
    if len(offset) != len(keep) or any(not 0 <= d < rank for d in offset):
        raise TypeError(f"lax.gather: offset_dims {offset} must name {len(keep)} dims of the "
                        f"{rank}-dim result")
    perm, b = [], 0
    for p in range(rank):
        if p in offset:
            perm.append(nb + offset.index(p))
        else:
            perm.append(b)
            b += 1
    return _Sh.permute(out, tuple(perm)) if perm != list(range(rank)) else out


def _scatter(op, operand, scatter_indices, updates, dimension_numbers, mode, combine):
    x = _strong(op, operand)
    idx = _strong(op, scatter_indices)
    u = _strong(op, updates)
    if u.dtype != x.dtype:
        raise TypeError(f"lax.{op}: updates ({u.dtype.name}) must have the operand's dtype "
                        f"({x.dtype.name}); convert with lax.convert_element_type")
    if _kind(idx.dtype) not in "iu":
        raise TypeError(f"lax.{op}: scatter_indices must be integers, got {idx.dtype.name}")
    dn = dimension_numbers
    if tuple(dn.operand_batching_dims) or tuple(dn.scatter_indices_batching_dims):
        raise NotImplementedError(f"lax.{op}: operand_batching_dims are not supported; vmap "
                                  f"the scatter over the batch dim instead")
    win = tuple(int(d) for d in dn.update_window_dims)
    inserted = tuple(int(d) for d in dn.inserted_window_dims)
    nb = idx.ndim - 1
    if len(win) + nb != u.ndim or len(win) + len(inserted) != x.ndim:
        raise TypeError(f"lax.{op}: updates {tuple(u.shape)} need {nb} scatter dims (from the "
                        f"indices {tuple(idx.shape)}) and {x.ndim - len(inserted)} window dims "
                        f"(operand {tuple(x.shape)} less inserted_window_dims {inserted})")
    scatter_dims = [d for d in range(u.ndim) if d not in win]
    u = _Sh.permute(u, tuple(scatter_dims) + win)
    if tuple(u.shape[:nb]) != tuple(idx.shape[:-1]):
        raise TypeError(f"lax.{op}: the updates' scatter dims {tuple(u.shape[:nb])} must equal "
                        f"the indices' batch dims {tuple(idx.shape[:-1])}")
    it = iter(u.shape[nb:])
    sizes = tuple(1 if d in inserted else next(it) for d in range(x.ndim))
    u = _Sh.reshape(u, tuple(u.shape[:nb]) + sizes)
    m = GatherScatterMode.from_any(mode)
    arrays, oob = _index_arrays(op, idx, sizes, tuple(int(d) for d in
                                                    dn.scatter_dims_to_operand_dims),
                                tuple(x.shape), m)
    if oob is None:
        return combine(x, tuple(arrays), u)
    # drop out-of-bounds windows: send them into padding past the end, then cut it off
    shape = tuple(x.shape)
    big = _St.pad(x, _E.as_value(_np.zeros((), x.dtype.np)),
                  [(0, s, 0) for s in sizes])
    ob = _Sh.reshape(oob, tuple(oob.shape) + (1,) * x.ndim)
    arrays = [_E.where(ob, _E.add(_E.sub(a, a), 0) + n + _Sh.reshape(
        _arange(s, dtype=a.dtype), tuple(1 if i != nb + d else s for i in range(nb + x.ndim))),
        a) for d, (a, n, s) in enumerate(zip(arrays, shape, sizes))]
    out = combine(big, tuple(arrays), u)
    return out[tuple(_slice(0, n) for n in shape)]


def scatter(operand, scatter_indices, updates, dimension_numbers, *, indices_are_sorted=False,
            unique_indices=False, mode=None):
    """``operand`` with the windows at ``scatter_indices`` replaced by ``updates`` (XLA's
    scatter with JAX's ``ScatterDimensionNumbers``; out-of-bounds windows are dropped unless
    ``mode='clip'``; with repeated indices one of the updates wins).

    >>> dn = ember.lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
    ...                                        scatter_dims_to_operand_dims=(0,))
    >>> ember.lax.scatter(ember.zeros(4), ember.tensor([[1], [3]]), ember.tensor([5., 6.]), dn)
    tensor([0., 5., 0., 6.])
    """
    return _scatter("scatter", operand, scatter_indices, updates, dimension_numbers, mode,
                    lambda x, i, u: x.at[i].set(u, mode="promise_in_bounds"))


def scatter_add(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """``operand`` with ``updates`` added at the windows of ``scatter_indices`` (repeated
    indices accumulate; out-of-bounds windows are dropped unless ``mode='clip'``).

    >>> dn = ember.lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
    ...                                        scatter_dims_to_operand_dims=(0,))
    >>> ember.lax.scatter_add(ember.zeros(3), ember.tensor([[1], [1], [5]]),
    ...                       ember.tensor([1., 2., 4.]), dn)
    tensor([0., 3., 0.])
    """
    return _scatter("scatter_add", operand, scatter_indices, updates, dimension_numbers, mode,
                    lambda x, i, u: x.at[i].add(u, mode="promise_in_bounds"))


def scatter_sub(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """``operand`` with ``updates`` subtracted at the windows of ``scatter_indices``.

    >>> dn = ember.lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
    ...                                        scatter_dims_to_operand_dims=(0,))
    >>> ember.lax.scatter_sub(ember.ones(3), ember.tensor([[0], [0]]), ember.tensor([1., 2.]),
    ...                       dn)
    tensor([-2., 1., 1.])
    """
    return _scatter("scatter_sub", operand, scatter_indices, updates, dimension_numbers, mode,
                    lambda x, i, u: x.at[i].add(_E.neg(u), mode="promise_in_bounds"))


def scatter_mul(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """``operand`` with its windows at ``scatter_indices`` multiplied by ``updates`` (repeated
    indices multiply in turn; out-of-bounds windows are dropped unless ``mode='clip'``).
    Differentiable with repeated indices too (JAX requires ``unique_indices`` there).

    >>> dn = ember.lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
    ...                                        scatter_dims_to_operand_dims=(0,))
    >>> ember.lax.scatter_mul(ember.ones(3) * 2, ember.tensor([[1], [1], [5]]),
    ...                       ember.tensor([3., 4., 10.]), dn)
    tensor([ 2., 24.,  2.])
    """
    return _scatter("scatter_mul", operand, scatter_indices, updates, dimension_numbers, mode,
                    lambda x, i, u: x.at[i].multiply(u, mode="promise_in_bounds"))


def scatter_min(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """``operand`` with each window entry the minimum of itself and the updates landing on
    it (ties share the derivative equally, as in JAX).

    >>> dn = ember.lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
    ...                                        scatter_dims_to_operand_dims=(0,))
    >>> ember.lax.scatter_min(ember.zeros(3), ember.tensor([[0], [0], [2]]),
    ...                       ember.tensor([-1., -3., 4.]), dn)
    tensor([-3., 0., 0.])
    """
    return _scatter("scatter_min", operand, scatter_indices, updates, dimension_numbers, mode,
                    lambda x, i, u: x.at[i].min(u, mode="promise_in_bounds"))


def scatter_max(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """``operand`` with each window entry the maximum of itself and the updates landing on
    it.

    >>> dn = ember.lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
    ...                                        scatter_dims_to_operand_dims=(0,))
    >>> ember.lax.scatter_max(ember.zeros(3), ember.tensor([[0], [0], [2]]),
    ...                       ember.tensor([-1., -3., 4.]), dn)
    tensor([0., 0., 4.])
    """
    return _scatter("scatter_max", operand, scatter_indices, updates, dimension_numbers, mode,
                    lambda x, i, u: x.at[i].max(u, mode="promise_in_bounds"))
