"""Indexing: ``x[...]`` (basic: ints, slices, None, Ellipsis; advanced: integer/bool tensors)
and concatenation (``cat``, ``stack``).

Basic indexing is one primitive whose eager result is a NumPy view; its VJP writes the
cotangent into zeros (``index_put_basic``). Advanced indexing gathers (``gather_nd``); its VJP
scatter-adds (``index_add_nd``, NumPy's ``add.at``), whose own VJP gathers again.
"""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.errors import user_op_error
from ..core.primitive import Aval, Primitive, bind
from ..core.tensor import Tensor
from ..backend import accel, namespace
from ._util import canon_dim, has_values, host_on_device_of
from .elementwise import as_value, full_like_traced, moveaxis_to_front, promote, zeros_like_v
from .registry_helpers import export, method
from ..core.exceptions import OpError

__all__: list[str] = []

# An index is stored in params as a tuple of hashable items:
#   ("i", k) an int, ("s", start, stop, step) a slice, ("n",) None, ("e",) Ellipsis,
#   ("a", j) the j-th index array argument (advanced indexing only).


def _to_np_index(spec, arrays=()):
    out = []
    for it in spec:
        k = it[0]
        if k == "i":
            out.append(it[1])
        elif k == "s":
            out.append(slice(it[1], it[2], it[3]))
        elif k == "n":
            out.append(None)
        elif k == "e":
            out.append(Ellipsis)
        else:
            out.append(arrays[it[1]])
    return tuple(out)


def _check_int(i, size, dim):
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of bounds for dim {dim} with size {size}")


def _slice_spec(i):
    step = 1 if i.step is None else int(i.step)
    if step == 0:
        raise OpError("indexing: slice step cannot be zero")
    return ("s", None if i.start is None else int(i.start),
            None if i.stop is None else int(i.stop), step)


def _parse_basic(x, idx):
    """The spec of an index made of Python ints, slices, None and Ellipsis only (the common
    case, in one pass without ``_parse``'s per-kind scans), or None for any other index."""
    n_real = n_ell = 0
    for i in idx:
        t = type(i)
        if t is int or t is slice:
            n_real += 1
        elif i is Ellipsis:
            n_ell += 1
        elif i is not None:
            return None
    ndim = x.ndim
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim} (shape "
                         f"{tuple(x.shape)}): got {n_real}")
    shape = x.shape
    spec = []
    dim = 0
    for i in idx:
        t = type(i)
        if t is int:
            if not -shape[dim] <= i < shape[dim]:
                _check_int(i, shape[dim], dim)
            spec.append(("i", i))
            dim += 1
        elif t is slice:
            spec.append(_slice_spec(i))
            dim += 1
        elif i is None:
            spec.append(("n",))
        else:
            spec.append(("e",))
            dim += ndim - n_real
    return tuple(spec)


def _parse(x, idx):
    """(spec, index tensors) with bounds checked against x's shape."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    spec = _parse_basic(x, idx)
    if spec is not None:
        return spec, []
    n_real = sum(1 for i in idx if i is not None and i is not Ellipsis and
                 not (isinstance(i, (Tensor, np.ndarray)) and np.dtype(
                     i.dtype.np if isinstance(i, Tensor) else i.dtype) == np.bool_))
    n_bool_dims = sum(i.ndim for i in idx if isinstance(i, (Tensor, np.ndarray)) and
                      (i.dtype == _dt.bool_ if isinstance(i, Tensor) else i.dtype == np.bool_))
    if sum(1 for i in idx if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real + n_bool_dims > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim} (shape "
                         f"{tuple(x.shape)}): got {n_real + n_bool_dims}")
    spec, arrays = [], []
    dim = 0
    shape = tuple(x.shape)
    for i in idx:
        if i is None:
            spec.append(("n",))
        elif i is Ellipsis:
            spec.append(("e",))
            dim += x.ndim - n_real - n_bool_dims
        elif isinstance(i, slice):
            spec.append(_slice_spec(i))
            dim += 1
        elif isinstance(i, (bool, np.bool_)):
            raise IndexError("indexing with a Python bool is not supported; use a bool tensor")
        elif isinstance(i, (int, np.integer)) or (isinstance(i, Tensor) and i.ndim == 0 and
                                                  i.dtype.is_integer and
                                                  not _is_traced(i)):
            k = int(i)
            _check_int(k, shape[dim], dim)
            spec.append(("i", k))
            dim += 1
        else:
            t = i if isinstance(i, Tensor) else Tensor._wrap(host_on_device_of(np.asarray(i), x))
            if type(t) is Tensor and type(x) is Tensor and type(t._data) is not type(x._data) \
                    and type(t._data) is np.ndarray:
                t = Tensor._wrap(host_on_device_of(t._data, x))  # a CPU index, as in PyTorch
            if t.dtype is _dt.bool_:
                if tuple(t.shape) != shape[dim:dim + t.ndim]:
                    raise IndexError(f"the shape of the mask {tuple(t.shape)} does not match "
                                     f"the shape {shape[dim:dim + t.ndim]} of the indexed "
                                     f"tensor at dim {dim}")
                for nz in np.nonzero(t._data):  # needs a concrete mask
                    spec.append(("a", len(arrays)))
                    arrays.append(Tensor._wrap(nz.astype(np.int64)))
                dim += t.ndim
                continue
            if not t.dtype.is_integer:
                raise IndexError(f"tensors used as indices must be integer or bool, got "
                                 f"{t.dtype}")
            if has_values(t) and t.numel():
                lo, hi = int(t._data.min()), int(t._data.max())
                for v in (lo, hi):
                    _check_int(v, shape[dim], dim)
            spec.append(("a", len(arrays)))
            arrays.append(t)
            dim += 1
    return tuple(spec), arrays


def _is_traced(t):
    from ..core.primitive import Tracer
    return isinstance(t, Tracer)


# ---- basic indexing ------------------------------------------------------------------

def _basic_impl(x, spec):
    return x[_to_np_index(spec)]


def _basic_vjp(ct, out, x, spec):
    return (bind(index_put_basic_p, ct, shape=tuple(x.shape), spec=spec),)


def _prepend_batch(spec):
    return (("s", None, None, 1),) + spec


getitem_basic_p = Primitive(
    "getitem_basic", _basic_impl, view=True, linear=True, vjp=_basic_vjp,
    jvp=lambda p, t, out, spec: bind(getitem_basic_p, t[0], spec=spec),
    batch=lambda args, dims, spec: (
        bind(getitem_basic_p, moveaxis_to_front(args[0], dims[0]),
             spec=_prepend_batch(spec)), 0))
getitem_basic_p.vjp_reads = ()  # the rule reads x's shape only


def _put_basic_impl(ct, shape, spec):
    z = namespace(ct).zeros(shape, ct.dtype)
    z[_to_np_index(spec)] = ct
    return z


index_put_basic_p = Primitive(
    "index_put_basic", _put_basic_impl, linear=True,
    shape=lambda ct, shape, spec: Aval(shape, ct.dtype),
    vjp=lambda ct, out, g, shape, spec: (bind(getitem_basic_p, ct, spec=spec),),
    jvp=lambda p, t, out, shape, spec: bind(index_put_basic_p, t[0], shape=shape, spec=spec),
    batch=lambda args, dims, shape, spec: (
        bind(index_put_basic_p, moveaxis_to_front(args[0], dims[0]),
             shape=(args[0].shape[dims[0]],) + tuple(shape), spec=_prepend_batch(spec)), 0))


# ---- advanced indexing ---------------------------------------------------------------

def _gather_impl(x, *arrays, spec):
    return x[_to_np_index(spec, arrays)]


def _gather_vjp(ct, out, x, *arrays, spec):
    g = bind(index_add_nd_p, ct, *arrays, shape=tuple(x.shape), spec=spec)
    return (g,) + (None,) * len(arrays)


def _adv_layout(spec, arrays):
    """(k, r): advanced indices that are adjacent put their broadcast block (r dims) at
    output position k (the number of dims before it); otherwise NumPy puts it first (k=0)."""
    pos = [i for i, it in enumerate(spec) if it[0] == "a"]
    r = len(np.broadcast_shapes(*[tuple(a.shape) for a in arrays])) if arrays else 0
    if pos != list(range(pos[0], pos[-1] + 1)):
        return 0, r
    k = sum(1 for it in spec[:pos[0]] if it[0] in ("s", "n", "e"))
    if ("e",) in spec[:pos[0]]:
        return None, r  # an ellipsis before the block: position depends on the rank
    return k, r


def _batched_spec(spec, args, dims):
    """Batch everything: x and every index array get the batch dim in front, and an extra
    leading index ``arange(B)`` selects each example's slice. The output then has layout
    (B, block, other dims)."""
    x, arrays = args[0], list(args[1:])
    b = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    r = _example_rank(arrays, dims[1:])
    if dims[0] is None:
        x = x.reshape((1,) + tuple(x.shape)).expand((b,) + tuple(x.shape))
    else:
        x = moveaxis_to_front(x, dims[0])
    new_arrays = []
    for a, d in zip(arrays, dims[1:]):
        if d is None:
            a = a.reshape((1,) * (r + 1 - a.ndim) + tuple(a.shape))
        else:
            a = moveaxis_to_front(a, d)
            a = a.reshape((a.shape[0],) + (1,) * (r + 1 - a.ndim) + tuple(a.shape[1:]))
        new_arrays.append(a)
    bidx = Tensor._wrap(host_on_device_of(np.arange(b, dtype=np.int64), x)).reshape(
        (b,) + (1,) * r)
    new_spec = (("a", len(new_arrays)),) + spec
    return x, new_arrays + [bidx], new_spec, r


def _example_rank(arrays, dims):
    """Rank of the broadcast index block of one example (batch dims left out)."""
    return len(np.broadcast_shapes(*[tuple(a.shape) if d is None else
                                     tuple(a.shape)[:d] + tuple(a.shape)[d + 1:]
                                     for a, d in zip(arrays, dims)]))


def _gather_batch(args, dims, spec):
    x = args[0]
    if dims[0] is not None and all(d is None for d in dims[1:]):
        # only x is batched: a full slice in front keeps the block where it was
        out = bind(gather_nd_p, moveaxis_to_front(x, dims[0]), *args[1:],
                   spec=_prepend_batch(spec))
        k, r = _adv_layout(spec, args[1:])
        return out, (0 if k not in (0,) or _starts_adjacent_at_zero(spec) else r)
    xb, arrays, new_spec, r = _batched_spec(spec, args, dims)
    out = bind(gather_nd_p, xb, *arrays, spec=new_spec)  # (B, block, others)
    k, _ = _adv_layout(spec, args[1:])
    if k:  # per example the block sits after k leading dims: move it there
        from .shape import movedim
        out = movedim(out, tuple(range(1, 1 + r)), tuple(range(1 + k, 1 + k + r)))
    return out, 0


def _starts_adjacent_at_zero(spec):
    pos = [i for i, it in enumerate(spec) if it[0] == "a"]
    return pos == list(range(pos[0], pos[-1] + 1)) and not any(
        it[0] in ("s", "n", "e") for it in spec[:pos[0]])


gather_nd_p = Primitive(
    "gather_nd", _gather_impl, vjp=_gather_vjp, allocating=True,
    jvp=lambda p, t, out, spec: bind(gather_nd_p, t[0], *p[1:], spec=spec),
    batch=_gather_batch)


def _index_add_impl(ct, *arrays, shape, spec):
    if spec == (("a", 0),) and arrays[0].size > 64 and len(shape) > 1 and ct.dtype.kind == "f":
        # rows of a table picked by one index array (an embedding's gradient)
        return _add_rows(ct, arrays[0], shape)
    z = namespace(ct).zeros(shape, ct.dtype)
    np.add.at(z, _to_np_index(spec, arrays), ct)  # a ufunc: dispatches on z's array type
    return z


_ROW_PASSES = 8


def _add_rows(ct, idx, shape):
    """``np.add.at(zeros(shape), idx, ct)`` for one index array into axis 0, bit for bit
    (each row's values are added in index order), ~5x faster: the k-th occurrences of the
    indices seen at most _ROW_PASSES times are added in one vectorised pass each (unique
    rows per pass); each more frequent index (padding, common words) in one reduction."""
    n = shape[0]
    lo, hi = int(idx.min()), int(idx.max())
    if lo < -n or hi >= n:
        raise IndexError(f"index {hi if hi >= n else lo} is out of bounds for axis 0 with "
                         f"size {n}")
    xp = namespace(ct)
    K = accel.kernels_for(ct) if type(idx) is np.ndarray and ct.size else None
    if K is not None:  # one compiled pass (backend/numba_kernels.py), the same bits
        z = xp.zeros(shape, ct.dtype)
        # (a strided cotangent copied in the indices' order first: its rows read in place,
        # far apart, made the pass 2x slower for text-lstm's time-major input gradient)
        K.add_rows(z.reshape(n, -1), idx.reshape(-1).astype(np.int64, copy=False),
                   xp.ascontiguousarray(ct).reshape(idx.size, -1))
        return z
    idx = idx.reshape(-1)
    g = ct.reshape((idx.size,) + tuple(shape[1:]))
    idx = xp.where(idx < 0, idx + n, idx)
    z = xp.zeros(shape, ct.dtype)
    # a table of at most 2^16 rows: the indices sorted as uint16, whose stable sort is NumPy's
    # radix sort (the same order; 12800 indices, LSTM text batch: 0.75 -> 0.07 ms)
    key = idx.astype(xp.uint16) if n <= 1 << 16 else idx
    order = xp.argsort(key, kind="stable")
    srt = idx[order]
    starts = xp.flatnonzero(xp.concatenate((xp.ones(1, bool), srt[1:] != srt[:-1])))
    lens = xp.diff(xp.concatenate((starts, xp.full(1, srt.size, starts.dtype))))
    few = lens <= _ROW_PASSES
    st, ln = starts[few], lens[few]
    if st.size:  # first occurrences: z's rows are still 0, so 0 + v is stored, not added
        v = g[order[st]]
        v += 0  # as 0 + v: -0.0 becomes +0.0
        z[srt[st]] = v
    for k in range(1, int(ln.max()) if ln.size else 0):
        sel = ln > k
        z[srt[st[sel]]] += g[order[st[sel] + k]]
    for a, m in zip(starts[~few], lens[~few]):
        z[srt[a]] += np.add.reduce(g[order[a:a + m]], axis=0)
    return z


def _index_add_batch(args, dims, shape, spec):
    from .shape import movedim
    ct = args[0]
    b = ct.shape[dims[0]] if dims[0] is not None else next(
        a.shape[d] for a, d in zip(args, dims) if d is not None)
    if dims[0] is None:
        ct = ct.reshape((1,) + tuple(ct.shape)).expand((b,) + tuple(ct.shape))
    else:
        ct = moveaxis_to_front(ct, dims[0])
    k, _ = _adv_layout(spec, args[1:])
    r = _example_rank(args[1:], dims[1:])
    if all(d is None for d in dims[1:]):
        if not _starts_adjacent_at_zero(spec) and k == 0:
            ct = movedim(ct, 0, r)  # NumPy's layout has the block first, then the batch dim
        return bind(index_add_nd_p, ct, *args[1:], shape=(b,) + tuple(shape),
                    spec=_prepend_batch(spec)), 0
    # batched index arrays: bring ct to (B, block, others) and scatter with arange(B)
    if k:
        ct = movedim(ct, tuple(range(1 + k, 1 + k + r)), tuple(range(1, 1 + r)))
    _, arrays, new_spec, _ = _batched_spec(spec, (Tensor._wrap(host_on_device_of(np.zeros(shape, np.float32), ct)),)
                                           + tuple(args[1:]), (None,) + tuple(dims[1:]))
    return bind(index_add_nd_p, ct, *arrays, shape=(b,) + tuple(shape), spec=new_spec), 0


index_add_nd_p = Primitive(
    "index_add_nd", _index_add_impl, linear=True, allocating=True,
    shape=lambda ct, *arrays, shape, spec: Aval(shape, ct.dtype),
    vjp=lambda ct, out, g, *arrays, shape, spec: (
        (bind(gather_nd_p, ct, *arrays, spec=spec),) + (None,) * len(arrays)),
    jvp=lambda p, t, out, shape, spec: bind(index_add_nd_p, t[0], *p[1:], shape=shape,
                                            spec=spec),
    batch=_index_add_batch)


# ---- index range checks that hold in every mode ---------------------------------------

def _check_index_impl(idx, *, size, op, table):
    """``idx`` itself, after PyTorch's range check for indices into ``size`` rows: run as
    part of eager calls and of compiled jit plans alike, so a negative index (which NumPy
    would silently count from the end) or one past the end fails the same way in both."""
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise user_op_error(IndexError(
                f"{op}: index {int(bad)} is out of range for a table of {size} rows ({table}); "
                f"indices must be in [0, {size - 1}] (negative indices are not allowed)"))
    return idx


check_index_p = Primitive(
    "check_index", _check_index_impl, differentiable=False, foldable=False,
    shape=lambda idx, *, size, op, table: Aval(idx.shape, idx.dtype),
    vjp=lambda ct, out, idx, *, size, op, table: (None,),
    jvp=lambda p, t, out, **kw: zeros_like_v(out),
    batch=lambda args, dims, **kw: (bind(check_index_p, args[0], **kw), dims[0]),
    doc="identity on integer indices that raises IndexError unless all are in [0, size)")


def check_index(idx, size, op, table=""):
    """``idx`` unchanged if every index is in ``[0, size)``; else IndexError naming ``op``
    -- also inside ``jit``, ``vmap`` and ``grad`` (the check runs when the values exist)."""
    return bind(check_index_p, idx, size=int(size), op=op, table=table)


def _scalar_bool(idx):
    """True/False for an index that is one Python bool or one concrete 0-d bool tensor
    (NumPy and PyTorch: a new leading axis of length 1 or 0), else None."""
    if isinstance(idx, tuple) and len(idx) == 1:
        idx = idx[0]
    if isinstance(idx, (bool, np.bool_)):
        return bool(idx)
    if isinstance(idx, Tensor) and idx.ndim == 0 and idx.dtype is _dt.bool_ and \
            not _is_traced(idx):
        return bool(idx._data)
    return None


def getitem(x, idx):
    """``x[idx]`` with PyTorch/NumPy semantics."""
    x = as_value(x)
    if type(idx) is not int and type(idx) is not slice:
        b = _scalar_bool(idx)
        if b is not None:
            y = getitem(x, None)
            return y if b else getitem(y, slice(0, 0))
    spec, arrays = _parse(x, idx)
    if arrays:
        return bind(gather_nd_p, x, *arrays, spec=spec)
    return bind(getitem_basic_p, x, spec=spec)


Tensor.__getitem__ = getitem


def _selection(s, spec, arrays, v):
    """(mask of the block ``spec`` selects in ``s``, ``v`` broadcast to it in ``s``'s dtype)."""
    v = as_value(v) if not isinstance(v, (int, float, bool)) else v
    ones = Tensor._wrap(host_on_device_of(np.ones(tuple(s.shape), np.bool_), s))
    sel = bind(gather_nd_p, ones, *arrays, spec=spec) if arrays else \
        bind(getitem_basic_p, ones, spec=spec)
    if isinstance(v, Tensor) and v.ndim > sel.ndim:
        # as PyTorch: a value with more dims than the selection fits when the extra leading
        # dims are 1 (x[i] = y[None], attn[di] = weights of shape (1, n))
        extra = v.ndim - sel.ndim
        if all(n == 1 for n in v.shape[:extra]):
            v = v.reshape(tuple(v.shape[extra:]))
        else:
            raise OpError(f"setitem: can't assign a value of shape {tuple(v.shape)} to a "
                          f"selection of shape {tuple(sel.shape)}")
    vv = (sel.to(s.dtype) * 0 + v).to(s.dtype) if not isinstance(v, Tensor) else \
        v.expand(tuple(sel.shape)).to(s.dtype)
    return sel, vv


def _put_advanced(s, spec, arrays, v):
    """``s`` with ``v`` written at the advanced index (out of place); where an index repeats,
    the last write wins (the order of NumPy, and of PyTorch's and JAX's CPU kernels) and
    only it gets a gradient."""
    _, vv = _selection(s, spec, arrays, v)
    return bind(scatter_p, s, vv, *arrays, spec=spec)


def _put(s, idx, v):
    """``s`` with ``v`` written at ``idx`` (out of place)."""
    from .elementwise import where
    b = _scalar_bool(idx)
    if b is not None:  # a lone bool: all of s (as s[None]) or nothing
        if not b:
            return s
        idx = None
    spec, arrays = _parse(s, idx)
    if arrays:
        return _put_advanced(s, spec, arrays, v)
    sel, vv = _selection(s, spec, arrays, v)
    placed = bind(index_put_basic_p, vv, shape=tuple(s.shape), spec=spec)
    mask = bind(index_put_basic_p, sel, shape=tuple(s.shape), spec=spec)
    return where(mask, placed, s)


def _add_at(s, idx, v):
    """``s`` with ``v`` added at ``idx`` (out of place; repeated indices accumulate)."""
    spec, arrays = _parse(s, idx)
    _, vv = _selection(s, spec, arrays, v)
    if arrays:
        return s + bind(index_add_nd_p, vv, *arrays, shape=tuple(s.shape), spec=spec)
    return s + bind(index_put_basic_p, vv, shape=tuple(s.shape), spec=spec)


def _setitem(self, idx, value):
    from .tensor_methods import inplace_apply

    def put(s, v):
        return _put(s, idx, v)
    put.__name__ = "setitem"
    inplace_apply(self, put, value)


# ---- scatter with multiply / min / max (JAX's scatter_mul, scatter_min, scatter_max) -----

def _scatter_combine_impl(op):
    def impl(x, u, *arrays, spec):
        out = x.copy()
        getattr(np, op).at(out, _to_np_index(spec, arrays), u)  # a ufunc: any array type
        return out
    impl.__name__ = f"scatter_{op}_impl"
    return impl


def _scatter_batch(prim):
    """vmap: operand and updates get the batch dim in front; unbatched index arrays take a
    full slice in front, batched ones an extra ``arange(B)`` index (as ``index_add_nd``)."""
    def rule(args, dims, spec):
        from .shape import movedim
        x, u, arrays = args[0], args[1], args[2:]
        b = next(a.shape[d] for a, d in zip(args, dims) if d is not None)

        def front(t, d):
            if d is None:
                return t.reshape((1,) + tuple(t.shape)).expand((b,) + tuple(t.shape))
            return moveaxis_to_front(t, d)
        x, u = front(x, dims[0]), front(u, dims[1])
        k, _ = _adv_layout(spec, arrays) if arrays else (None, 0)
        if all(d is None for d in dims[2:]):
            if arrays and not _starts_adjacent_at_zero(spec) and k == 0:
                r = _example_rank(arrays, dims[2:])
                u = movedim(u, 0, r)  # NumPy puts the index block first, then the batch dim
            return bind(prim, x, u, *arrays, spec=_prepend_batch(spec)), 0
        r = _example_rank(arrays, dims[2:])
        if k:
            u = movedim(u, tuple(range(1 + k, 1 + k + r)), tuple(range(1, 1 + r)))
        _, new_arrays, new_spec, _ = _batched_spec(spec, (x,) + tuple(arrays),
                                                   (0,) + tuple(dims[2:]))
        return bind(prim, x, u, *new_arrays, spec=new_spec), 0
    return rule


def _gather_at(t, arrays, spec):
    return bind(gather_nd_p, t, *arrays, spec=spec) if arrays else \
        bind(getitem_basic_p, t, spec=spec)


def _add_into(t, arrays, shape, spec):
    return bind(index_add_nd_p, t, *arrays, shape=shape, spec=spec) if arrays else \
        bind(index_put_basic_p, t, shape=shape, spec=spec)


def _mul_others(x, u, arrays, spec):
    """(product of the updates landing on each entry of x, and for each update the product
    of the *other* updates landing where it does), without dividing by a zero update."""
    from .elementwise import where
    zero = u == 0
    u1 = where(zero, 1, u)
    ones = full_like_traced(x, 1)
    p_nz = bind(scatter_mul_p, ones, u1, *arrays, spec=spec)   # product of non-zeros
    n_zero = _add_into(zero.to(x.dtype), arrays, tuple(x.shape), spec)
    g_p, g_n = _gather_at(p_nz, arrays, spec), _gather_at(n_zero, arrays, spec)
    others = where(zero, where(g_n == 1, g_p, 0), where(g_n == 0, g_p / u1, 0))
    total = where(n_zero == 0, p_nz, 0)
    return total, others


def _mul_vjp(ct, out, x, u, *arrays, spec):
    total, others = _mul_others(x, u, arrays, spec)
    return (ct * total, _gather_at(ct * x, arrays, spec) * others) + (None,) * len(arrays)


def _mul_jvp(p, t, out, spec):
    x, u, arrays = p[0], p[1], p[2:]
    total, others = _mul_others(x, u, arrays, spec)
    return t[0] * total + x * _add_into(t[1] * others, arrays, tuple(x.shape), spec)


def _extremum_share(out, x, u, arrays, spec):
    """JAX's rule for scatter_min/max: the entries that attain an output (the operand's and
    every update's) share its derivative equally: (mask of x, mask of u, count per entry)."""
    mx = (x == out).to(x.dtype)
    mu = (u == _gather_at(out, arrays, spec)).to(x.dtype)
    return mx, mu, mx + _add_into(mu, arrays, tuple(x.shape), spec)


def _ext_vjp(ct, out, x, u, *arrays, spec):
    mx, mu, n = _extremum_share(out, x, u, arrays, spec)
    share = ct / n
    return (share * mx, _gather_at(share, arrays, spec) * mu) + (None,) * len(arrays)


def _ext_jvp(p, t, out, spec):
    x, u, arrays = p[0], p[1], p[2:]
    mx, mu, n = _extremum_share(out, x, u, arrays, spec)
    return (t[0] * mx + _add_into(t[1] * mu, arrays, tuple(x.shape), spec)) / n


def _set_impl(x, u, *arrays, spec):
    out = x.copy()
    out[_to_np_index(spec, arrays)] = u  # NumPy: of repeated indices the last write stays
    return out


def _winners(x, u, arrays, spec):
    """(for each update: whether it is the one that stays, for each entry of x: whether
    some update lands on it): an entry's winner is the last update position landing on it,
    found by a scatter-max of the positions."""
    n = int(np.prod(tuple(u.shape), dtype=np.int64))
    ids = Tensor._wrap(host_on_device_of(np.arange(n, dtype=np.int64).reshape(
        tuple(u.shape)), u))
    none = Tensor._wrap(host_on_device_of(np.full(tuple(x.shape), -1, np.int64), u))
    wid = bind(scatter_max_p, none, ids, *arrays, spec=spec)
    return _gather_at(wid, arrays, spec) == ids, wid >= 0


def _set_vjp(ct, out, x, u, *arrays, spec):
    from .elementwise import where
    win, touched = _winners(x, u, arrays, spec)
    g = _gather_at(ct, arrays, spec)
    return (where(touched, zeros_like_v(ct), ct), where(win, g, zeros_like_v(g))) + \
        (None,) * len(arrays)


def _scatter_shape(x, u, *arrays, spec):
    return Aval(tuple(x.shape), x.dtype)


scatter_p = Primitive("scatter", _set_impl, allocating=True, shape=_scatter_shape,
                      vjp=_set_vjp, doc="x with the updates written at the index (of repeated "
                                        "indices the last write stays)",
                      jvp=lambda p, t, out, spec: bind(scatter_p, t[0], t[1], *p[2:],
                                                       spec=spec))
scatter_p.vjp_reads = lambda needed: tuple(range(2, 2 + len(needed) - 2))  # the indices
scatter_mul_p = Primitive("scatter_mul", _scatter_combine_impl("multiply"), allocating=True,
                          shape=_scatter_shape, vjp=_mul_vjp, jvp=_mul_jvp,
                          doc="x with each update multiplied into its entry (duplicates "
                              "multiply in turn)")
scatter_p.batch = _scatter_batch(scatter_p)
scatter_mul_p.batch = _scatter_batch(scatter_mul_p)
scatter_min_p = Primitive("scatter_min", _scatter_combine_impl("minimum"), allocating=True,
                          shape=_scatter_shape, vjp=_ext_vjp, jvp=_ext_jvp, vjp_needs_out=True,
                          doc="x with each entry the minimum of itself and its updates")
scatter_min_p.batch = _scatter_batch(scatter_min_p)
scatter_max_p = Primitive("scatter_max", _scatter_combine_impl("maximum"), allocating=True,
                          shape=_scatter_shape, vjp=_ext_vjp, jvp=_ext_jvp, vjp_needs_out=True,
                          doc="x with each entry the maximum of itself and its updates")
scatter_max_p.batch = _scatter_batch(scatter_max_p)


def _scatter_op(prim, s, idx, v):
    """``s`` combined with ``v`` at ``idx`` by ``prim`` (out of place)."""
    b = _scalar_bool(idx)
    if b is not None:
        if not b:
            return s
        idx = None
    spec, arrays = _parse(s, idx)
    _, vv = _selection(s, spec, arrays, v)
    if (s.dtype.is_complex or vv.dtype.is_complex) and prim is not scatter_mul_p:
        raise TypeError(f"{prim.name}: complex values have no order (got {s.dtype}); use "
                        f"the real part")
    return bind(prim, s, vv, *arrays, spec=spec)


# ---- x.at[idx]: JAX's out-of-bounds modes ---------------------------------------------

_GET_MODES = {None: "clip", "clip": "clip", "promise_in_bounds": "clip", "fill": "fill",
              "drop": "fill"}
_SCATTER_MODES = {None: "drop", "drop": "drop", "fill": "drop", "clip": "clip",
                  "promise_in_bounds": "promise"}


def _mode_of(mode, table, op):
    m = getattr(mode, "name", mode)
    m = {"CLIP": "clip", "FILL_OR_DROP": "fill", "PROMISE_IN_BOUNDS": "promise_in_bounds"
         }.get(m, m.lower() if isinstance(m, str) else m)
    if m not in table:
        raise ValueError(f"x.at[...].{op}: unknown mode {mode!r}; use one of 'clip', 'fill' "
                         f"(= 'drop') or 'promise_in_bounds'")
    return table[m]


def _is_bool_index(i):
    return isinstance(i, (Tensor, np.ndarray)) and (
        i.dtype == _dt.bool_ if isinstance(i, Tensor) else i.dtype == np.bool_)


def _jax_index(x, idx, how):
    """``idx`` with JAX's out-of-bounds handling (``how``: 'clip', 'fill', 'drop' or
    'promise'): negative integers count from the end; then 'clip' clamps into the dim and
    'fill'/'drop' send out-of-bounds ones to one slot past its end, which the caller adds
    (their dims are returned); 'promise' trusts traced indices to be in range (concrete
    ones out of range are dropped, as XLA's scatter does). Concrete in-range indices are
    returned as they are."""
    if type(idx) is Tensor and x.ndim and idx._data.dtype.kind in "iu" and has_values(idx):
        d, n = idx._data, x.shape[0]  # the common case: one concrete index array
        if d.size == 0 or (d.min() >= -n and d.max() < n):
            return idx, []
    from .elementwise import clamp, logical_or, where
    if not isinstance(idx, tuple):
        idx = (idx,)
    n_real = sum(1 for i in idx if i is not None and i is not Ellipsis and not _is_bool_index(i))
    n_bool = sum(i.ndim for i in idx if _is_bool_index(i))
    out, pad, dim = [], [], 0
    for i in idx:
        if i is None or isinstance(i, (slice, bool, np.bool_)):
            out.append(i)
            dim += isinstance(i, slice)
            continue
        if i is Ellipsis:
            out.append(i)
            dim += x.ndim - n_real - n_bool
            continue
        if _is_bool_index(i):
            out.append(i)
            dim += i.ndim
            continue
        if dim >= x.ndim:  # too many indices: getitem explains
            return idx, []
        n = x.shape[dim]
        if isinstance(i, Tensor) and i.ndim == 0 and i.dtype.is_integer and has_values(i):
            i = int(i._data)
        if isinstance(i, (int, np.integer)):
            k = int(i) + n if int(i) < 0 else int(i)
            if 0 <= k < n:
                out.append(k)
            elif how == "clip":
                out.append(min(max(k, 0), n - 1))
            else:
                out.append(n)
                pad.append(dim)
            dim += 1
            continue
        t = i if isinstance(i, Tensor) else Tensor._wrap(host_on_device_of(np.asarray(i), x))
        if not t.dtype.is_integer:
            return idx, []  # getitem explains
        if has_values(t) and (t.numel() == 0 or (int(t._data.min()) >= -n and
                                                  int(t._data.max()) < n)):
            out.append(t)  # in range (NumPy counts negatives from the end)
        elif how == "promise" and not has_values(t):  # promised: only count from the end
            out.append(where(t < 0, t + n, t))
        else:
            t = where(t < 0, t + n, t)
            if how == "clip":
                t = clamp(t, 0, builtins_max(n - 1, 0))
            else:  # fill, drop, and a broken promise seen eagerly: dropped as by XLA
                t = where(logical_or(t < 0, t >= n), n, t)
                pad.append(dim)
            out.append(t)
        dim += 1
    return tuple(out), sorted(set(pad))


def builtins_max(a, b):
    return a if a >= b else b


def _grow(x, dims, value):
    """``x`` with one more entry holding ``value`` at the end of each dim in ``dims``."""
    for d in dims:
        shape = list(x.shape)
        shape[d] = 1
        x = cat([x, Tensor._wrap(host_on_device_of(np.full(shape, value, x.dtype.np), x))], d)
    return x


def fill_default(dtype):
    """JAX's fill value for out-of-bounds gathers: NaN for inexact dtypes, the most negative
    (signed) or largest (unsigned) integer, True for bool."""
    if dtype.is_inexact:
        return float("nan")
    if dtype is _dt.bool_:
        return True
    info = np.iinfo(dtype.np)
    return int(info.min) if dtype.is_signed else int(info.max)


class _At:
    """``x.at[idx]``: functional updates as in JAX (``get``, ``set``, ``add``, ``subtract``,
    ``multiply``, ``divide``, ``power``, ``min``, ``max``); each returns a new tensor and
    leaves ``x`` alone, so they work under every transform. Indices follow JAX, not
    PyTorch: negative ones count from the end, and out-of-bounds ones are clamped by ``get``
    (``mode='fill'`` gives ``fill_value`` instead) and dropped by the updates
    (``mode='clip'`` clamps them). Repeated indices accumulate (``add``, ``multiply``,
    ``min``, ``max``); ``x[i]`` with ``i`` out of range stays an IndexError.

    >>> x = ember.tensor([1., 2., 3.])
    >>> x.at[ember.tensor([0, 0, 5])].multiply(2.)
    tensor([4., 2., 3.])
    >>> x.at[ember.tensor([2, 7])].get(mode="fill", fill_value=-1.)
    tensor([ 3., -1.])
    """

    __slots__ = ("_x", "_idx")

    def __init__(self, x, idx=None):
        self._x, self._idx = x, idx

    def __getitem__(self, idx):
        return _At(self._x, idx)

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None,
            fill_value=None):
        x = as_value(self._x)
        how = _mode_of(mode, _GET_MODES, "get")
        idx, pad = _jax_index(x, self._idx, how)
        if pad:
            fv = fill_default(x.dtype) if fill_value is None else fill_value
            x = _grow(x, pad, fv)
        return getitem(x, idx)

    def _update(self, fn, values, mode, op):
        x = as_value(self._x)
        how = _mode_of(mode, _SCATTER_MODES, op)
        if not isinstance(values, (int, float, bool, complex, Tensor)):
            values = as_value(values)
        d = _dt.result_type(x, values)
        if d != x.dtype and op != "set":  # JAX: combine in the common dtype, then cast back
            return _At(x.to(d), self._idx)._update(fn, values, mode, op).to(x.dtype)
        idx, pad = _jax_index(x, self._idx, how)
        if not pad:
            return fn(x, idx, values)
        shape = tuple(x.shape)
        out = fn(_grow(x, pad, 0), idx, values)
        return getitem(out, tuple(slice(0, n) for n in shape))

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(_put, values, mode, "set")

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(_add_at, values, mode, "add")

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(_add_at, -as_value(values), mode, "subtract")

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(lambda s, i, v: _scatter_op(scatter_mul_p, s, i, v), values, mode,
                            "multiply")

    mul = multiply

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(lambda s, i, v: _scatter_op(scatter_min_p, s, i, v), values, mode,
                            "min")

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(lambda s, i, v: _scatter_op(scatter_max_p, s, i, v), values, mode,
                            "max")

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x / (product of the values at each index)`` in true division's dtype."""
        from .elementwise import div
        x = as_value(self._x)
        den = _At(full_like_traced(x, 1), self._idx).multiply(values, mode=mode)
        return div(x, den)

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x ** (product of the values at each index)``."""
        from .elementwise import pow as _pow
        x = as_value(self._x)
        return _pow(x, _At(full_like_traced(x, 1), self._idx).multiply(values, mode=mode))


Tensor.__setitem__ = _setitem
Tensor.at = property(_At, doc=_At.__doc__)


# ---- concatenation ---------------------------------------------------------------------

def _cat_impl(*xs, dim):
    return np.concatenate(xs, axis=dim)


def _cat_vjp(ct, out, *xs, dim):
    res, start = [], 0
    for x in xs:
        n = x.shape[dim]
        spec = tuple(("s", None, None, 1) for _ in range(dim)) + (("s", start, start + n, 1),)
        res.append(bind(getitem_basic_p, ct, spec=spec))
        start += n
    return tuple(res)


def _cat_batch(args, dims, dim):
    from .elementwise import batch_all_front
    return bind(cat_p, *batch_all_front(args, dims), dim=dim + 1), 0


cat_p = Primitive("cat", _cat_impl, linear=True, allocating=True, vjp=_cat_vjp,
                  jvp=lambda p, t, out, dim: bind(cat_p, *t, dim=dim), batch=_cat_batch)


def cat(tensors, dim=0):
    """Join tensors along an existing dim (all other dims must match).

    >>> ember.cat([ember.tensor([1, 2]), ember.tensor([3])])
    tensor([1, 2, 3])
    >>> ember.cat([ember.zeros(2, 1), ember.ones(2, 2)], dim=1)
    tensor([[0., 1., 1.],
            [0., 1., 1.]])
    """
    ts = [as_value(t) for t in tensors]
    if not ts:
        raise OpError("cat: expected a non-empty sequence of tensors")
    ts = [t for t in ts if not (t.ndim == 1 and t.shape[0] == 0)] or ts[:1]  # torch legacy
    d = canon_dim(dim, ts[0].ndim, "cat")
    ref = tuple(ts[0].shape)
    for i, t in enumerate(ts[1:], 1):
        s = tuple(t.shape)
        if len(s) != len(ref) or any(a != b for k, (a, b) in enumerate(zip(s, ref)) if k != d):
            raise OpError(f"cat: tensor {i} has shape {s}, which doesn't match tensor 0's "
                             f"shape {ref} outside dim {d}; all dims but dim {d} must be equal")
    ts, _ = promote(*ts)
    if len(ts) == 1:
        return ts[0]
    return bind(cat_p, *ts, dim=d)


def stack(tensors, dim=0):
    """Join tensors of the same shape along a new dim.

    >>> ember.stack([ember.tensor([1, 2]), ember.tensor([3, 4])], dim=1)
    tensor([[1, 3],
            [2, 4]])
    """
    ts = [as_value(t) for t in tensors]
    if not ts:
        raise OpError("stack: expected a non-empty sequence of tensors")
    ref = tuple(ts[0].shape)
    for i, t in enumerate(ts[1:], 1):
        if tuple(t.shape) != ref:
            raise OpError(f"stack: tensor {i} has shape {tuple(t.shape)} but tensor 0 has "
                             f"{ref}; stack needs equal shapes")
    d = canon_dim(dim, len(ref) + 1, "stack")
    return cat([t.unsqueeze(d) for t in ts], d)


concat = concatenate = cat
for _f in (cat, stack):
    export(_f, __all__)
export(cat, __all__, "concat")
export(cat, __all__, "concatenate")
method(getitem, "__getitem__")


# ---- gather / scatter family (composed from gather_nd / index_add_nd) -------------------

def _vectorise_scalars(x, index, src=None):
    """PyTorch counts a 0-d input, index or src as 1-D in the gather/scatter family
    (``zeros(10).scatter_(0, tensor(3), value=1)``): the 0-d ones become shape (1,) when the
    others are at most 1-D."""
    idx = as_value(index)
    s = src if src is None or isinstance(src, (int, float, bool)) else as_value(src)
    dims = [x.ndim, idx.ndim] + ([s.ndim] if isinstance(s, Tensor) else [])
    if 0 in dims and max(dims) <= 1:
        x = x.reshape(1) if x.ndim == 0 else x
        idx = idx.reshape(1) if idx.ndim == 0 else idx
        if isinstance(s, Tensor) and s.ndim == 0:
            s = s.reshape(1)
    return x, idx, s


def _along_index(index, dim, op, x_shape):
    """Index arrays that address ``x[..., index[...], ...]`` along ``dim`` (PyTorch's
    gather/scatter convention: the other dims count up with the position in ``index``)."""
    idx = as_value(index)
    if not idx.dtype.is_integer:
        raise TypeError(f"{op}: index must be an integer tensor, got {idx.dtype}")
    if idx.ndim != len(x_shape):
        raise OpError(f"{op}: index has {idx.ndim} dims but the input has {len(x_shape)} "
                         f"(shape {x_shape}); they must have the same number of dims")
    shp = tuple(idx.shape)
    for d, (a, b) in enumerate(zip(shp, x_shape)):
        if d != dim and a > b:
            raise OpError(f"{op}: index shape {shp} is larger than the input shape "
                             f"{x_shape} at dim {d}")
    if has_values(idx) and idx.numel():
        lo, hi = int(idx._data.min()), int(idx._data.max())
        if lo < -x_shape[dim] or hi >= x_shape[dim]:
            raise IndexError(f"{op}: index {hi if hi >= x_shape[dim] else lo} is out of bounds "
                             f"for dim {dim} with size {x_shape[dim]}")
    arrays = []
    for d in range(len(shp)):
        if d == dim:
            arrays.append(idx)
        else:
            s = [1] * len(shp)
            s[d] = shp[d]
            arrays.append(Tensor._wrap(host_on_device_of(np.arange(shp[d], dtype=np.int64), idx)).reshape(s))
    spec = tuple(("a", i) for i in range(len(shp)))
    return spec, arrays


def _vec(v):
    """A 0-d tensor (or number) as a 1-element vector; others unchanged (0-d inputs of the
    dim-taking indexing ops run as 1-element vectors, as in PyTorch)."""
    if isinstance(v, Tensor) and v.ndim == 0:
        return v.reshape(1)
    return v


def _scalar_dim(x, dim, op):
    """True for a 0-d ``x`` (``dim`` must then be 0 or -1)."""
    if x.ndim:
        return False
    canon_dim(dim, 1, op)
    return True


def gather(input, dim, index):
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` for dim=1 (PyTorch's gather).

    >>> ember.gather(ember.tensor([[1, 2], [3, 4]]), 1, ember.tensor([[0, 0], [1, 0]]))
    tensor([[1, 1],
            [4, 3]])
    """
    x = as_value(input)
    idx = as_value(index)
    shape = tuple(idx.shape)
    x, idx, _ = _vectorise_scalars(x, idx)
    d = canon_dim(dim, x.ndim, "gather")
    if idx.numel() == 0 and idx.ndim != x.ndim:  # PyTorch accepts any empty index
        return x.reshape(-1)[:0].reshape(shape)
    spec, arrays = _along_index(idx, d, "gather", tuple(x.shape))
    out = bind(gather_nd_p, x, *arrays, spec=spec)
    return out.reshape(shape) if tuple(out.shape) != shape else out


def take_along_dim(input, indices, dim=None):
    """Values at ``indices`` along ``dim`` (indices broadcast against input outside dim).

    >>> ember.take_along_dim(ember.tensor([[10, 30, 20]]), ember.tensor([[0, 2, 1]]), dim=1)
    tensor([[10, 20, 30]])
    """
    x = as_value(input)
    idx = as_value(indices)
    if dim is None:
        return gather(x.reshape(-1), 0, idx.reshape(-1))
    d = canon_dim(dim, x.ndim, "take_along_dim")
    xs, js = list(x.shape), list(idx.shape)
    xs[d] = js[d] = 1
    from ._util import broadcast_shapes
    b = list(broadcast_shapes(tuple(xs), tuple(js), op="take_along_dim"))
    bx, bi = list(b), list(b)
    bx[d], bi[d] = x.shape[d], idx.shape[d]
    return gather(x.expand(tuple(bx)), d, idx.expand(tuple(bi)))


def _src_for(src, index, x, op):
    if isinstance(src, (int, float, bool)):
        from .creation_ops import full
        return full(tuple(index.shape), src, dtype=x.dtype)
    s = as_value(src)
    if s.ndim != index.ndim or any(a > b for a, b in zip(index.shape, s.shape)):
        raise OpError(f"{op}: src shape {tuple(s.shape)} must have the index's number of "
                         f"dims and be at least as large as the index shape "
                         f"{tuple(index.shape)}")
    spec = tuple(("s", 0, n, 1) for n in index.shape)
    return bind(getitem_basic_p, s, spec=spec).to(x.dtype)


def scatter_add(input, dim, index, src):
    """``out = input`` plus ``src[i][j]`` added at ``out[index[i][j]][j]`` (dim=0).

    >>> ember.scatter_add(ember.zeros(3), 0, ember.tensor([0, 2, 0]), ember.tensor([1., 2., 3.]))
    tensor([4., 0., 2.])
    """
    x = as_value(input)
    shape = tuple(x.shape)
    x, idx, src = _vectorise_scalars(x, index, src)
    d = canon_dim(dim, x.ndim, "scatter_add")
    spec, arrays = _along_index(idx, d, "scatter_add", tuple(x.shape))
    s = _src_for(src, idx, x, "scatter_add")
    out = x + bind(index_add_nd_p, s, *arrays, shape=tuple(x.shape), spec=spec)
    return out.reshape(shape) if tuple(out.shape) != shape else out


def scatter(input, dim, index, src=None, value=None, reduce=None):
    """``out = input`` with ``src`` (or ``value``) written at the positions ``index`` names
    along ``dim``. Where an index repeats, PyTorch leaves the winner unspecified; ember
    writes the last of the colliding values (PyTorch's CPU order). ``reduce='add'`` is
    ``scatter_add``, ``reduce='multiply'`` multiplies them in.

    >>> ember.scatter(ember.zeros(2, 3), 1, ember.tensor([[2], [0]]), ember.tensor([[5.], [7.]]))
    tensor([[0., 0., 5.],
            [7., 0., 0.]])
    """
    x = as_value(input)
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if _scalar_dim(x, dim, "scatter"):
        return scatter(x.reshape(1), 0, _vec(as_value(index)), _vec(src),
                       reduce=reduce).reshape(())
    if reduce in ("add", "sum"):
        return scatter_add(x, dim, index, src)
    if reduce == "multiply":
        return scatter_combine(x, dim, index, src, "prod", "scatter")
    if reduce is not None:
        raise OpError(f"scatter: reduce={reduce!r} is not supported; use None, 'add' or "
                      f"'multiply'")
    shape = tuple(x.shape)
    x, idx, src = _vectorise_scalars(x, index, src)
    d = canon_dim(dim, x.ndim, "scatter")
    _, arrays = _along_index(idx, d, "scatter", tuple(x.shape))
    s = _src_for(src, idx, x, "scatter")
    out = _put_advanced(x, tuple(("a", i) for i in range(len(arrays))), arrays, s)
    return out.reshape(shape) if tuple(out.shape) != shape else out


def scatter_combine(x, dim, index, src, reduce, op, include_self=True):
    """``x`` with ``src`` combined in along ``dim`` at ``index`` by ``reduce`` ('prod',
    'amax', 'amin'): the scatter_mul/max/min primitives, so differentiable (ties of amax and
    amin share the gradient equally, as in PyTorch and JAX)."""
    x = as_value(x)
    shape = tuple(x.shape)
    x, idx, src = _vectorise_scalars(x, index, src)
    d = canon_dim(dim, x.ndim, op)
    spec, arrays = _along_index(idx, d, op, tuple(x.shape))
    s = _src_for(src, idx, x, op)
    prim = {"prod": scatter_mul_p, "amax": scatter_max_p, "amin": scatter_min_p}[reduce]
    if not include_self:  # the touched entries start from the reduction's identity
        k = x.dtype.np.kind
        ident = {"prod": 1,
                 "amax": -np.inf if k in "fc" else (False if k == "b" else
                                                    np.iinfo(x.dtype.np).min),
                 "amin": np.inf if k in "fc" else (True if k == "b" else
                                                   np.iinfo(x.dtype.np).max)}[reduce]
        x = _put_advanced(x, spec, arrays, ident)
    out = bind(prim, x, s, *arrays, spec=spec)
    return out.reshape(shape) if tuple(out.shape) != shape else out


def index_select(input, dim, index):
    """The entries of ``input`` at the 1-D ``index`` along ``dim``.

    >>> ember.index_select(ember.tensor([[1, 2], [3, 4], [5, 6]]), 0, ember.tensor([2, 0]))
    tensor([[5, 6],
            [1, 2]])
    """
    x = as_value(input)
    if _scalar_dim(x, dim, "index_select"):
        return index_select(x.reshape(1), 0, index).reshape(())
    d = canon_dim(dim, x.ndim, "index_select")
    idx = as_value(index)
    if idx.ndim > 1:
        raise OpError(f"index_select: index must be 0-D or 1-D, got shape {tuple(idx.shape)}")
    return getitem(x, (slice(None),) * d + (idx.reshape(-1),))


def index_add(input, dim, index, source, alpha=1):
    """``input`` with ``alpha * source`` slices added at the 1-D ``index`` along ``dim``.

    >>> ember.index_add(ember.zeros(3), 0, ember.tensor([0, 2, 0]), ember.tensor([1., 2., 3.]))
    tensor([4., 0., 2.])
    """
    x = as_value(input)
    if _scalar_dim(x, dim, "index_add"):
        return index_add(x.reshape(1), 0, index, _vec(as_value(source)), alpha).reshape(())
    d = canon_dim(dim, x.ndim, "index_add")
    idx = as_value(index).reshape(-1)
    spec, arrays = _parse(x, (slice(None),) * d + (idx,))
    s = as_value(source) * alpha if alpha != 1 else as_value(source)
    return x + bind(index_add_nd_p, s.to(x.dtype), *arrays, shape=tuple(x.shape), spec=spec)


def masked_fill(input, mask, value):
    """``value`` where ``mask`` is True (mask broadcasts against input).

    >>> ember.masked_fill(ember.tensor([1., 2., 3.]), ember.tensor([True, False, True]), 0.0)
    tensor([0., 2., 0.])
    """
    from .elementwise import where
    x = as_value(input)
    m = as_value(mask)
    if m.dtype is not _dt.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {m.dtype}")
    v = value if not isinstance(value, Tensor) else value.to(x.dtype)
    if isinstance(value, Tensor) and value.ndim:
        raise OpError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                      f"{tuple(value.shape)}")
    from ._util import broadcast_shapes
    broadcast_shapes(tuple(m.shape), tuple(x.shape), op="masked_fill")
    return where(m, v, x).to(x.dtype)  # the out-of-place form broadcasts mask and input


def masked_select(input, mask):
    """The 1-D tensor of the entries where ``mask`` (broadcast) is True.

    >>> ember.masked_select(ember.tensor([1., 2., 3.]), ember.tensor([True, False, True]))
    tensor([1., 3.])
    """
    from .shape import broadcast_tensors
    x, m = broadcast_tensors(as_value(input), as_value(mask))
    if m.dtype is not _dt.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got {m.dtype}")
    return getitem(x, m)


def nonzero(input, as_tuple=False):
    """Indices of the non-zero entries: an (n, ndim) int64 tensor, or a tuple of 1-D ones.

    >>> ember.nonzero(ember.tensor([[0, 1], [2, 0]]))
    tensor([[0, 1],
            [1, 0]])
    """
    x = as_value(input)
    d = x._data
    xp = namespace(d)
    nz = xp.nonzero(d) if d.ndim else ()
    if as_tuple:
        if not d.ndim:  # a 0-d input counts as a 1-element vector
            return (Tensor._wrap(xp.zeros(1 if d.item() else 0, np.int64)),)
        return tuple(Tensor._wrap(a.astype(np.int64)) for a in nz)
    return Tensor._wrap(xp.stack(nz, axis=1).astype(np.int64) if nz else
                        xp.zeros((1 if d.item() else 0, 0), np.int64))


def argwhere(input):
    """The indices of the nonzero elements, one row per element (as ``nonzero``).

    >>> ember.argwhere(ember.tensor([0, 3, 0, 4]))
    tensor([[1],
            [3]])
    """
    return nonzero(input)


for _f in (gather, take_along_dim, scatter, scatter_add, index_select, index_add, masked_fill,
           masked_select, nonzero, argwhere):
    export(_f, __all__)
    method(_f)
