"""pmap: map a function over the leading axis with that axis named, compiled (``jax.pmap``).

In one process, ``pmap(f, axis_name="i")`` is ``jit(vmap(f, axis_name="i"))``: every member
of the axis (a "device" in JAX's words) is one slice of the inputs, and the collectives of
``ember.lax`` (``psum``, ``pmean``, ``all_gather``, ...) combine the members. The results are
Tensors with the mapped axis in front (``out_axes``), as JAX's on N CPU devices.
"""
from __future__ import annotations

from ..core.tensor import Tensor
from ..tree import tree_flatten
from .batching import _broadcast_axes, vmap
from .staging.jitted import jit


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
