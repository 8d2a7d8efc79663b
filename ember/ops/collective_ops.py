"""Named-axis collectives: ``psum``, ``pmax``, ``pmin``, ``all_gather``, ``psum_scatter``,
``ppermute`` and ``axis_index`` (JAX's ``lax`` collectives).

A collective names an axis (``axis_name``) that something outside binds:

- ``vmap(f, axis_name="i")`` (and ``pmap`` in one process): the axis is a batch dimension,
  and the collective's meaning is its *named batching rule* (``named_batch``): ``psum`` sums
  over the batch dimension, ``all_gather`` moves it into the value, ``axis_index`` is an iota
  along it. ``core.primitive.bind`` hands a collective to the interpreter of the vmap that
  binds its axis, even when the operand is not batched there (``psum(1.0, "i")`` is the axis
  size). Under another vmap (a different name) the ordinary ``batch`` rule carries the
  extra batch dimension through.
- one rank of an SPMD program over a process group (``AxisFrame.comm``): ``impl`` runs the
  collective on the communicator (each rank holds its own slice).

Their derivative rules are JAX's: ``psum`` and ``ppermute`` transpose to themselves (the
inverse permutation), ``all_gather`` and ``psum_scatter`` to each other. ``pmax``/``pmin``
(which JAX does not differentiate) send the derivative to the ranks holding the extreme value,
split equally between ties, as ``torch.amax`` does.

Every collective here takes one axis name; ``ember.lax`` accepts tuples of names and pytrees
and decomposes them into these primitives.
"""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from ..core.state import axis_frame, spmd_axes, tls as _tls
from .elementwise import as_value, moveaxis_to_front, zeros_like_v
from ..core.exceptions import OpError


def bound_axes():
    """The axis names in scope in this thread, innermost last."""
    return [f.name for f in _tls.axis_env]


def unbound_axis_error(op, name):
    bound = bound_axes()
    here = (f"the axes bound here are {', '.join(map(repr, bound))}" if bound
            else "no axis is bound here")
    return NameError(
        f"{op}: unbound axis name {name!r}: {op} must run inside a function mapped with "
        f"that axis name, e.g. ember.vmap(f, axis_name={name!r}) or ember.pmap(f, "
        f"axis_name={name!r}) ({here})")


def frame_of(op, name):
    """The frame binding ``name`` (raises the unbound-axis error naming ``op``)."""
    f = axis_frame(name)
    if f is None:
        raise unbound_axis_error(op, name)
    return f


def axis_size(axis_name):
    """The size of the named axis ``axis_name`` (``jax.lax.axis_size``).

    >>> ember.vmap(lambda v: v * ember.lax.axis_size("i"), axis_name="i")(ember.ones(3))
    tensor([3., 3., 3.])
    """
    return frame_of("axis_size", axis_name).size


def _spmd_comm(op, name):
    """The communicator of an SPMD frame (impl reached eagerly)."""
    f = axis_frame(name) or spmd_axes.get(name)
    if f is None:
        raise unbound_axis_error(op, name)
    if f.comm is None:  # a vmap frame reached the eager evaluator: an internal error
        raise RuntimeError(f"{op}: axis {name!r} is a vmap axis but the collective was "
                           f"evaluated outside its interpreter (internal error)")
    return f.comm


def _same(x, **params):
    return Aval(x.shape, x.dtype)


def _check_dim(op, d, r, what, allow_end=False):
    hi = r + 1 if allow_end else r
    if not isinstance(d, (int, np.integer)) or not 0 <= d < hi:
        raise OpError(f"{op}: {what}={d!r} is out of range for a per-example value of "
                         f"{r} dims (expected 0 <= {what} < {hi})")


# ---- psum / pmax / pmin ------------------------------------------------------------------

def _reduce_impl(kind):
    def impl(x, axis_name):
        buf = np.array(x, order="C")  # the communicator reduces in place
        return _spmd_comm(f"p{kind}", axis_name).allreduce(buf, kind)
    return impl


def _sum_named(vals, dims, size, axis_name):
    (x,), (d,) = vals, dims
    if d is None:
        return x * size, None
    s = x.sum(d)
    return (s if s.dtype == x.dtype else s.to(x.dtype)), None


def _extreme_named(kind):
    def rule(vals, dims, size, axis_name):
        (x,), (d,) = vals, dims
        if d is None:
            return x, None
        return (x.amax(d) if kind == "max" else x.amin(d)), None
    return rule


def _passthrough_batch(prim):
    def rule(args, dims, **params):  # another vmap's axis: elementwise along it
        return bind(prim, args[0], **params), dims[0]
    return rule


psum_p = Primitive(
    "psum", _reduce_impl("sum"), shape=_same, foldable=False,
    jvp=lambda p, t, out, axis_name: bind(psum_p, t[0], axis_name=axis_name),
    vjp=lambda ct, out, x, axis_name: (bind(psum_p, ct, axis_name=axis_name),),
    doc="Sum over the named axis, the result on every member.")
psum_p.linear = True


def _extreme_mask(x, out, axis_name):
    mask = (x == out).to(x.dtype)
    return mask, bind(psum_p, mask, axis_name=axis_name)


def _extreme_jvp(p, t, out, axis_name):
    mask, count = _extreme_mask(p[0], out, axis_name)
    return bind(psum_p, t[0] * mask, axis_name=axis_name) / count


def _extreme_vjp(ct, out, x, axis_name):
    mask, count = _extreme_mask(x, out, axis_name)
    return (bind(psum_p, ct, axis_name=axis_name) * mask / count,)


pmax_p = Primitive("pmax", _reduce_impl("max"), shape=_same, foldable=False,
                   vjp=_extreme_vjp, jvp=_extreme_jvp, vjp_needs_out=True,
                   doc="Maximum over the named axis.")
pmin_p = Primitive("pmin", _reduce_impl("min"), shape=_same, foldable=False,
                   vjp=_extreme_vjp, jvp=_extreme_jvp, vjp_needs_out=True,
                   doc="Minimum over the named axis.")
for _p, _rule in ((psum_p, _sum_named), (pmax_p, _extreme_named("max")),
                  (pmin_p, _extreme_named("min"))):
    _p.batch = _passthrough_batch(_p)
    _p.named_batch = _rule


# ---- all_gather / psum_scatter -----------------------------------------------------------

def _gather_shape(shape, n, axis, tiled):
    shape = tuple(shape)
    if tiled:
        return shape[:axis] + (n * shape[axis],) + shape[axis + 1:]
    return shape[:axis] + (n,) + shape[axis:]


def _all_gather_impl(x, axis_name, axis, tiled):
    comm = _spmd_comm("all_gather", axis_name)
    x = np.asarray(x)
    out = np.empty((comm.size,) + x.shape, x.dtype)
    comm.allgather(np.ascontiguousarray(x), out)
    if tiled:
        return np.concatenate(list(out), axis)
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def _bound_size(op, name):
    f = axis_frame(name) or spmd_axes.get(name)
    if f is None:
        raise unbound_axis_error(op, name)
    return f.size


def _all_gather_shape(x, axis_name, axis, tiled):
    n = _bound_size("all_gather", axis_name)
    return Aval(_gather_shape(x.shape, n, axis, tiled), x.dtype)


def _all_gather_named(vals, dims, size, axis_name, axis, tiled):
    (x,), (d,) = vals, dims
    if d is None:
        shape = tuple(x.shape)
        g = x.unsqueeze(axis).expand(shape[:axis] + (size,) + shape[axis:])
    else:
        from .shape import movedim
        g = movedim(x, d, axis)
    if tiled:
        s = tuple(g.shape)
        g = g.reshape(s[:axis] + (s[axis] * s[axis + 1],) + s[axis + 2:])
    return g, None


def _scatter_shape_check(shape, n, sd, tiled):
    m = shape[sd]
    if (m != n) if not tiled else (m % n):
        need = f"equal to the axis size {n}" if not tiled else f"a multiple of {n}"
        raise OpError(f"psum_scatter: dim {sd} (scatter_dimension) of the per-example "
                         f"shape {tuple(shape)} has size {m}, which must be {need} "
                         f"({'tiled=True' if tiled else 'tiled=False'})")


def _psum_scatter_impl(x, axis_name, scatter_dimension, tiled):
    comm = _spmd_comm("psum_scatter", axis_name)
    x = np.asarray(x)
    sd = scatter_dimension
    _scatter_shape_check(x.shape, comm.size, sd, tiled)
    send = np.ascontiguousarray(np.moveaxis(x, sd, 0))  # blocks along the front
    recv = np.empty((send.shape[0] // comm.size,) + send.shape[1:], x.dtype)
    comm.reduce_scatter(send, recv, "sum")
    return np.ascontiguousarray(np.moveaxis(recv, 0, sd) if tiled else recv[0])


def _psum_scatter_shape(x, axis_name, scatter_dimension, tiled):
    n = _bound_size("psum_scatter", axis_name)
    _scatter_shape_check(x.shape, n, scatter_dimension, tiled)
    s = tuple(x.shape)
    sd = scatter_dimension
    mid = (s[sd] // n,) if tiled else ()
    return Aval(s[:sd] + mid + s[sd + 1:], x.dtype)


def _psum_scatter_named(vals, dims, size, axis_name, scatter_dimension, tiled):
    s, _ = _sum_named(vals, dims, size, axis_name)
    shape = tuple(s.shape)
    sd = scatter_dimension
    _scatter_shape_check(shape, size, sd, tiled)
    if tiled:
        s = s.reshape(shape[:sd] + (size, shape[sd] // size) + shape[sd + 1:])
    return s, sd


all_gather_p = Primitive(
    "all_gather", _all_gather_impl, shape=_all_gather_shape, foldable=False,
    jvp=lambda p, t, out, **kw: bind(all_gather_p, t[0], **kw),
    vjp=lambda ct, out, x, axis_name, axis, tiled: (bind(
        psum_scatter_p, ct, axis_name=axis_name, scatter_dimension=axis, tiled=tiled),),
    doc="Every member's value, stacked (or concatenated: tiled) along ``axis``.")
psum_scatter_p = Primitive(
    "psum_scatter", _psum_scatter_impl, shape=_psum_scatter_shape, foldable=False,
    jvp=lambda p, t, out, **kw: bind(psum_scatter_p, t[0], **kw),
    vjp=lambda ct, out, x, axis_name, scatter_dimension, tiled: (bind(
        all_gather_p, ct, axis_name=axis_name, axis=scatter_dimension, tiled=tiled),),
    doc="The sum over the named axis, member i keeping block i of scatter_dimension.")
all_gather_p.linear = psum_scatter_p.linear = True
all_gather_p.named_batch = _all_gather_named
psum_scatter_p.named_batch = _psum_scatter_named
all_gather_p.batch = lambda args, dims, axis_name, axis, tiled: (bind(
    all_gather_p, moveaxis_to_front(args[0], dims[0]), axis_name=axis_name, axis=axis + 1,
    tiled=tiled), 0)
psum_scatter_p.batch = lambda args, dims, axis_name, scatter_dimension, tiled: (bind(
    psum_scatter_p, moveaxis_to_front(args[0], dims[0]), axis_name=axis_name,
    scatter_dimension=scatter_dimension + 1, tiled=tiled), 0)


# ---- ppermute ----------------------------------------------------------------------------

def _sources(perm, n):
    """For each destination, its source index (or -1: that member receives zeros)."""
    src = [-1] * n
    for s, d in perm:
        src[d] = s
    return src


def check_perm(perm, n, name):
    """``perm`` as a tuple of (source, destination) int pairs, checked against size ``n``."""
    try:
        pairs = tuple((int(s), int(d)) for s, d in perm)
    except (TypeError, ValueError):
        raise TypeError(f"ppermute: perm must be a sequence of (source, destination) index "
                        f"pairs, got {perm!r}") from None
    srcs = [s for s, _ in pairs]
    dsts = [d for _, d in pairs]
    bad = [p for p in pairs if not (0 <= p[0] < n and 0 <= p[1] < n)]
    if bad:
        raise OpError(f"ppermute: pairs {bad} of perm are out of range for axis {name!r} "
                         f"of size {n} (indices must be in [0, {n}))")
    for what, xs in (("source", srcs), ("destination", dsts)):
        dup = sorted({i for i in xs if xs.count(i) > 1})
        if dup:
            raise OpError(f"ppermute: {what} indices {dup} appear more than once in perm "
                             f"{list(pairs)}; each member may send once and receive once")
    return pairs


def _ppermute_impl(x, axis_name, perm):
    comm = _spmd_comm("ppermute", axis_name)
    x = np.ascontiguousarray(x)
    me = comm.rank
    dst = [d for s, d in perm if s == me]
    src = [s for s, d in perm if d == me]
    out = np.zeros_like(x)
    if dst and dst[0] == me:  # a member sending to itself keeps its value
        out[...] = x
        return out
    req = comm.isend(x, dst[0], tag=7) if dst else None
    if src:
        comm.recv(out, src[0], tag=7)
    if req is not None:
        req.wait()
    return out


def _ppermute_named(vals, dims, size, axis_name, perm):
    (x,), (d,) = vals, dims
    if d is None:
        x = x.unsqueeze(0).expand((size,) + tuple(x.shape))
    else:
        x = moveaxis_to_front(x, d)
    from ..core.creation import tensor
    src = _sources(perm, size)
    if all(s >= 0 for s in src):
        return x[tensor(np.array(src, np.int64))], 0
    from .elementwise import where
    got = x[tensor(np.array([max(s, 0) for s in src], np.int64))]
    mask = np.array([s >= 0 for s in src]).reshape((size,) + (1,) * (x.ndim - 1))
    return where(tensor(mask), got, zeros_like_v(got)), 0


ppermute_p = Primitive(
    "ppermute", _ppermute_impl, shape=_same, foldable=False,
    jvp=lambda p, t, out, axis_name, perm: bind(ppermute_p, t[0], axis_name=axis_name,
                                                perm=perm),
    vjp=lambda ct, out, x, axis_name, perm: (bind(
        ppermute_p, ct, axis_name=axis_name, perm=tuple((d, s) for s, d in perm)),),
    doc="Send each member's value to another member (perm: (source, destination) pairs); "
        "a member no pair sends to receives zeros.")
ppermute_p.linear = True
ppermute_p.batch = _passthrough_batch(ppermute_p)
ppermute_p.named_batch = _ppermute_named


# ---- pvary: identity forward, psum backward (tensor parallelism's input) ----------------

def _pvary_impl(x, axis_name):
    _spmd_comm("pvary", axis_name)  # the axis must be bound (no communication)
    return x


pvary_p = Primitive(
    "pvary", _pvary_impl, shape=_same, foldable=False,
    jvp=lambda p, t, out, axis_name: bind(pvary_p, t[0], axis_name=axis_name),
    vjp=lambda ct, out, x, axis_name: (bind(psum_p, ct, axis_name=axis_name),),
    doc="The identity on a value every member holds, whose cotangent is summed over the "
        "members (Megatron's 'copy to the tensor-parallel region'; JAX's former pvary).")
pvary_p.linear = True
pvary_p.batch = _passthrough_batch(pvary_p)
pvary_p.named_batch = lambda vals, dims, size, axis_name: (vals[0], dims[0])


# ---- axis_index --------------------------------------------------------------------------

def _axis_index_named(vals, dims, size, axis_name):
    from .creation_ops import arange
    return arange(size, dtype=_dt.int32), 0


axis_index_p = Primitive(
    "axis_index", lambda axis_name: np.asarray(
        _spmd_comm("axis_index", axis_name).rank, np.int32),
    shape=lambda axis_name: Aval((), _dt.int32), foldable=False, differentiable=False,
    jvp=lambda p, t, out, axis_name: zeros_like_v(out), vjp=lambda ct, out, axis_name: (),
    # under another vmap (a different name) the index does not vary along that vmap's axis
    batch=lambda args, dims, axis_name: (bind(axis_index_p, axis_name=axis_name), None),
    doc="This member's index along the named axis (int32).")
axis_index_p.named_batch = _axis_index_named

for _p in (psum_p, pmax_p, pmin_p, all_gather_p, psum_scatter_p, ppermute_p, pvary_p,
           axis_index_p):
    _p.axis_collective = True


# ---- single-name, single-array public functions (ember.lax wraps them) --------------------

def psum1(x, axis_name):
    frame_of("psum", axis_name)
    return bind(psum_p, as_value(x), axis_name=axis_name)


def pmax1(x, axis_name):
    frame_of("pmax", axis_name)
    return bind(pmax_p, as_value(x), axis_name=axis_name)


def pmin1(x, axis_name):
    frame_of("pmin", axis_name)
    return bind(pmin_p, as_value(x), axis_name=axis_name)


def all_gather1(x, axis_name, axis=0, tiled=False):
    frame_of("all_gather", axis_name)
    x = as_value(x)
    r = x.ndim
    if axis < 0:
        axis += r if tiled else r + 1
    if tiled and r == 0:
        raise OpError("all_gather: tiled=True needs a value with at least one dim, got a "
                         "0-d value; use tiled=False to stack scalars")
    _check_dim("all_gather", axis, r, "axis", allow_end=not tiled)
    return bind(all_gather_p, x, axis_name=axis_name, axis=int(axis), tiled=bool(tiled))


def psum_scatter1(x, axis_name, scatter_dimension=0, tiled=False):
    frame_of("psum_scatter", axis_name)
    x = as_value(x)
    if scatter_dimension < 0:
        scatter_dimension += x.ndim
    _check_dim("psum_scatter", scatter_dimension, x.ndim, "scatter_dimension")
    return bind(psum_scatter_p, x, axis_name=axis_name,
                scatter_dimension=int(scatter_dimension), tiled=bool(tiled))


def ppermute1(x, axis_name, perm):
    f = frame_of("ppermute", axis_name)
    return bind(ppermute_p, as_value(x), axis_name=axis_name,
                perm=check_perm(perm, f.size, axis_name))


def axis_index1(axis_name):
    frame_of("axis_index", axis_name)
    return bind(axis_index_p, axis_name=axis_name)


def pvary1(x, axis_name):
    frame_of("pvary", axis_name)
    return bind(pvary_p, as_value(x), axis_name=axis_name)
