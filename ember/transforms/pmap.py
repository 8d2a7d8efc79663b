"""pmap: map a function over the leading axis with that axis named, compiled (``jax.pmap``).

In one process, ``pmap(f, axis_name="i")`` is ``jit(vmap(f, axis_name="i"))``: every member
of the axis (a "device" in JAX's words) is one slice of the inputs, and the collectives of
``ember.lax`` (``psum``, ``pmean``, ``all_gather``, ...) combine the members. The results are
Tensors with the mapped axis in front (``out_axes``), as JAX's on N CPU devices.

Across processes (SPMD, as multi-host JAX): when a process group is initialised
(``ember.distributed.init_process_group`` under ``ember run -n N``) and its world size equals
the mapped axis size, rank ``r`` evaluates member ``r`` only: it takes slice ``r`` of the
mapped arguments, runs ``jit(f)`` with the axis bound to the group's communicator (the
collectives run over MPI), and gathers the members' outputs, so every rank returns what the
one-process pmap returns. Gradients flow through both ends (a slice's cotangent is gathered
from every rank), so a script gives the same numbers both ways.
"""
from __future__ import annotations

from ..core.state import AxisFrame, bind_axis, spmd_axes
from ..core.tensor import Tensor
from ..ops import collective_ops as _c
from ..tree import tree_flatten, tree_unflatten
from .batching import _broadcast_axes, vmap
from .custom import custom_vjp
from .staging.jitted import jit

# () -> the default process group's communicator, or None when no group is initialised;
# ember.distributed installs it (set_spmd_world), so this layer does not import it
_spmd_world = [lambda: None]


def set_spmd_world(provider):
    """Install the function pmap asks for the process group's communicator (or None)."""
    _spmd_world[0] = provider


def _argnums(v, name):
    t = (v,) if isinstance(v, int) else tuple(v)
    if not all(isinstance(i, int) for i in t):
        raise TypeError(f"pmap: {name} must be an int or a tuple of ints, got {v!r}")
    return t


def pmap(fun, axis_name=None, *, in_axes=0, out_axes=0, static_broadcasted_argnums=(),
         devices=None, backend=None, axis_size=None, donate_argnums=()):
    """``fun`` mapped over the leading axis of its arguments (``in_axes``), compiled, with the
    mapped axis named ``axis_name`` for the collectives of ``ember.lax``.

    ``static_broadcasted_argnums`` are passed to every member unchanged (and are part of the
    compiled function's cache key, so they must be hashable); ``devices``, if given, must have
    one entry per member; ``backend`` may be None or "cpu"; ``donate_argnums`` is accepted as
    a hint (on the CPU, as JAX's CPU backend, buffers are not donated).

    >>> f = ember.pmap(lambda x: x / ember.lax.psum(x, "i"), axis_name="i")
    >>> f(ember.tensor([1., 3.]))
    tensor([0.2500, 0.7500])
    >>> ember.pmap(lambda x, k: x * k, static_broadcasted_argnums=1)(ember.ones(2, 2), 3)
    tensor([[3., 3.],
            [3., 3.]])
    """
    if backend not in (None, "cpu"):
        raise ValueError(f"pmap: backend={backend!r} is not available; ember maps over CPU "
                         f"members in one process (backend=None or 'cpu')")
    static = _argnums(static_broadcasted_argnums, "static_broadcasted_argnums")
    _argnums(donate_argnums, "donate_argnums")
    name = getattr(fun, "__name__", "fun")
    compiled = {}  # (number of args, in_axes per argument) -> the jitted vmap

    def mapped(*args, **kwargs):
        if kwargs:
            raise TypeError(f"pmap({name}): keyword arguments are not mapped; pass "
                            f"{sorted(kwargs)} positionally (as jax.pmap requires)")
        n = len(args)
        st = tuple(sorted(i % n for i in static)) if n else ()
        bad = [i for i in static if not -n <= i < n]
        if bad:
            raise ValueError(f"pmap({name}): static_broadcasted_argnums {bad} are out of "
                             f"range for {n} positional arguments")
        if isinstance(in_axes, list):
            axes = tuple(in_axes)
        else:
            axes = in_axes
        if isinstance(axes, tuple):
            if len(axes) != n:
                raise ValueError(f"pmap({name}): in_axes has {len(axes)} entries for {n} "
                                 f"positional arguments (give one per argument, or an int)")
            axes = tuple(None if i in st else a for i, a in enumerate(axes))
        else:
            axes = tuple(None if i in st else axes for i in range(n))
        size = _mapped_size(name, args, axes, axis_size)
        if devices is not None and len(devices) != size:
            raise ValueError(f"pmap({name}): {len(devices)} devices given for a mapped axis "
                             f"of size {size}; give one device per member")
        comm = _spmd_world[0]()
        if comm is not None and comm.size > 1 and comm.size == size:
            key = ("spmd", n, st)
            f = compiled.get(key)
            if f is None:
                f = compiled[key] = jit(fun, static_argnums=st)
            return _spmd_call(f, args, axes, out_axes, axis_name, size, comm)
        key = (n, axes)
        f = compiled.get(key)
        if f is None:
            f = compiled[key] = jit(vmap(fun, in_axes=axes, out_axes=out_axes,
                                         axis_name=axis_name, axis_size=axis_size),
                                    static_argnums=st)
        return f(*args)
    mapped.__name__ = f"pmap({name})"
    mapped.__wrapped__ = fun
    return mapped


def _mapped_size(name, args, axes, axis_size):
    leaves, _ = tree_flatten(args)
    per_leaf = _broadcast_axes(axes, args, "in_axes")
    for x, a in zip(leaves, per_leaf):
        if a is not None and isinstance(x, Tensor) and x.ndim:
            return x.shape[a]
    if axis_size is None:
        raise ValueError(f"pmap({name}): no argument is mapped (all in_axes are None) and no "
                         f"axis_size was given")
    return axis_size


def _local_slice(x, axis, name):
    """Slice ``comm.rank`` of ``x`` along ``axis``; its cotangent is every rank's, gathered
    (the transpose of taking one member's slice of a value every rank holds)."""
    rank = _c._spmd_comm("pmap", name).rank

    idx = (slice(None),) * axis + (rank,)

    @custom_vjp
    def take(v):
        return v[idx]
    take.defvjp(lambda v: (v[idx], None),
                lambda res, ct: (_c.bind(_c.all_gather_p, ct, axis_name=name, axis=axis,
                                         tiled=False),))
    return take(x)


def _spmd_call(f, args, axes, out_axes, axis_name, size, comm):
    """One rank's part of a pmap over the ranks of a process group (see the module doc)."""
    name = axis_name if axis_name is not None else ("pmap", id(f))
    frame = AxisFrame(name, size, None, comm)
    spmd_axes[name] = frame
    leaves, td = tree_flatten(args)
    per_leaf = _broadcast_axes(axes, args, "in_axes")
    with bind_axis(frame):
        local = [x if a is None or not isinstance(x, Tensor) else
                 _local_slice(x, a % x.ndim, name) for x, a in zip(leaves, per_leaf)]
        out = f(*tree_unflatten(td, local))
        o_leaves, o_def = tree_flatten(out)
        oax = _broadcast_axes(out_axes, out, "out_axes")
        res = []
        for o, a in zip(o_leaves, oax):
            o = _c.as_value(o)
            if a is None:  # replicated: every member holds the same value
                res.append(o)
                continue
            a = a % (o.ndim + 1)
            res.append(_gather_output(o, a, name))
    return tree_unflatten(o_def, res)


def _gather_output(x, axis, name):
    """Every rank's ``x`` stacked along ``axis``, on every rank (a value every rank holds);
    its cotangent (every rank holds the same) is this rank's slice of it."""
    rank = _c._spmd_comm("pmap", name).rank
    idx = (slice(None),) * axis + (rank,)

    def gather(v):
        return _c.bind(_c.all_gather_p, v, axis_name=name, axis=axis, tiled=False)

    @custom_vjp
    def stack(v):
        return gather(v)
    stack.defvjp(lambda v: (gather(v), None), lambda res, ct: (ct[idx],))
    return stack(x)
