"""``jax.sharding``'s names for ``shard_map`` over a 1-D mesh: :class:`Mesh`,
:class:`PartitionSpec` (``P``), :func:`make_mesh`, and :func:`shard_map` itself (also
``ember.shard_map``).

``shard_map(f, mesh=mesh, in_specs=..., out_specs=...)`` runs ``f`` once per member of the
mesh axis on that member's block of each input: an input whose spec names the axis at dim
``d`` is split into equal blocks along ``d``, an input whose spec does not is given whole to
every member. Outputs are put back together the same way (``P()``: the value every member
holds, which must not vary over the axis, e.g. the result of a ``psum``). It is ``pmap`` over
the blocks (``ember/transforms/pmap.py``), so it runs in one process, or one member per rank
under a process group of that many ranks.
"""
from __future__ import annotations

from .core.tensor import Tensor
from .ops.elementwise import as_value
from .transforms.batching import _broadcast_axes
from .transforms.pmap import pmap
from .tree import tree_flatten, tree_unflatten

__all__ = ["Mesh", "PartitionSpec", "P", "make_mesh", "shard_map"]


class PartitionSpec(tuple):
    """Per dim of a value: the mesh axis name it is split over, or None (not split).

    >>> ember.sharding.PartitionSpec(None, "i")
    PartitionSpec(None, 'i')
    """

    def __new__(cls, *parts):
        return super().__new__(cls, parts)

    def __repr__(self):
        return f"PartitionSpec({', '.join(map(repr, self))})"


P = PartitionSpec


class Mesh:
    """A 1-D arrangement of members (``devices``: any sequence, one entry per member) with
    its axis name.

    >>> mesh = ember.sharding.Mesh(range(4), ("i",))
    >>> mesh.shape
    {'i': 4}
    """

    def __init__(self, devices, axis_names):
        names = (axis_names,) if isinstance(axis_names, str) else tuple(axis_names)
        devs = list(devices.flat) if hasattr(devices, "flat") else list(devices)
        ndim = getattr(devices, "ndim", 1)
        if len(names) != 1 or ndim != 1:
            raise NotImplementedError(f"Mesh: only 1-D meshes are supported, got axis names "
                                      f"{names} over devices of {ndim} dims; nest shard_maps "
                                      f"(or vmaps with axis names) for more axes")
        if not devs:
            raise ValueError("Mesh: needs at least one device")
        self.devices = devs
        self.axis_names = names
        self.size = len(devs)

    @property
    def shape(self):
        return {self.axis_names[0]: self.size}

    def __repr__(self):
        return f"Mesh({self.axis_names[0]!r}: {self.size})"


def make_mesh(axis_shapes, axis_names, devices=None):
    """A :class:`Mesh` of ``axis_shapes`` members (one axis).

    >>> ember.sharding.make_mesh((2,), ("data",))
    Mesh('data': 2)
    """
    shapes = tuple(axis_shapes)
    if len(shapes) != 1:
        raise NotImplementedError(f"make_mesh: only 1-D meshes are supported, got axis shapes "
                                  f"{shapes}")
    return Mesh(devices if devices is not None else range(shapes[0]), axis_names)


def _spec_dims(op, specs, name, what):
    """The pytree of ``specs`` with each PartitionSpec replaced by the dim it splits over
    ``name`` (or None)."""
    if specs is None or isinstance(specs, PartitionSpec):
        parts = tuple(specs or ())
        dims = [d for d, p in enumerate(parts)
                if p == name or (isinstance(p, tuple) and name in p)]
        others = [p for p in parts if p is not None and p != name and
                  not (isinstance(p, tuple) and name in p)]
        if others or len(dims) > 1:
            raise ValueError(f"{op}: {what} {specs!r} names {others or [name] * len(dims)}; "
                             f"over a 1-D mesh with axis {name!r} a spec names that axis "
                             f"at most once")
        return _Dim(dims[0] if dims else None, len(parts))
    if isinstance(specs, (tuple, list)):
        return tuple(_spec_dims(op, s, name, what) for s in specs)
    if isinstance(specs, dict):
        return {k: _spec_dims(op, v, name, what) for k, v in specs.items()}
    raise TypeError(f"{op}: {what} must be PartitionSpecs (or tuples/dicts of them), got "
                    f"{specs!r}")


class _Dim:
    """A spec's split dim (an int or None) as a pytree leaf (and its length)."""

    def __init__(self, dim, rank):
        self.dim, self.rank = dim, rank


def _dims(tree):
    """_Dim leaves -> ints/None (the in_axes/out_axes pytree)."""
    if isinstance(tree, _Dim):
        return tree.dim
    if isinstance(tree, tuple):
        return tuple(_dims(t) for t in tree)
    return {k: _dims(v) for k, v in tree.items()}


def shard_map(f, mesh=None, in_specs=None, out_specs=None, *, axis_names=None,
              check_rep=None, check_vma=None):
    """``f`` run on each member's block of its inputs over a 1-D ``mesh``
    (``jax.shard_map``; see the module docstring).

    >>> mesh = ember.sharding.make_mesh((2,), ("i",))
    >>> P = ember.sharding.PartitionSpec
    >>> f = ember.shard_map(lambda a: ember.lax.psum(a.sum(0), "i"), mesh=mesh,
    ...                     in_specs=P("i"), out_specs=P())
    >>> f(ember.arange(8.).reshape(4, 2))
    tensor([12., 16.])
    """
    op = "shard_map"
    if not isinstance(mesh, Mesh):
        raise TypeError(f"{op}: mesh must be an ember.sharding.Mesh, got {mesh!r}")
    if out_specs is None:
        raise TypeError(f"{op}: out_specs is required (a PartitionSpec per output)")
    name, n = mesh.axis_names[0], mesh.size
    in_tree = _spec_dims(op, in_specs if in_specs is not None else P(), name, "in_specs")
    out_tree = _spec_dims(op, out_specs, name, "out_specs")
    out_axes = _dims(out_tree)

    def blocks(x, d, what):
        x = as_value(x)
        s = tuple(x.shape)
        if d >= len(s) or s[d] % n:
            raise ValueError(f"{op}: {what} of shape {s} cannot be split into {n} equal "
                             f"blocks along dim {d} (mesh axis {name!r} has {n} members)")
        return x.reshape(s[:d] + (n, s[d] // n) + s[d + 1:])

    def mapped(*args):
        # one spec for every argument, or a tuple with one per argument
        axes = (_dims(in_tree),) * len(args) if isinstance(in_tree, _Dim) else _dims(in_tree)
        if not isinstance(axes, tuple) or len(axes) != len(args):
            raise ValueError(f"{op}: in_specs has {len(axes)} entries for {len(args)} "
                             f"arguments")
        leaves, td = tree_flatten(args)
        per_leaf = _broadcast_axes(axes, args, "in_specs")
        split = [x if d is None or not isinstance(x, Tensor) else blocks(x, d, "an input")
                 for x, d in zip(leaves, per_leaf)]
        outs = pmap(f, axis_name=name, in_axes=axes, out_axes=out_axes,
                    axis_size=n)(*tree_unflatten(td, split))
        o_leaves, o_def = tree_flatten(outs)
        res = []
        for o, d in zip(o_leaves, _broadcast_axes(out_axes, outs, "out_specs")):
            if d is not None:  # member blocks side by side along dim d
                s = tuple(o.shape)
                o = o.reshape(s[:d] + (s[d] * s[d + 1],) + s[d + 2:])
            res.append(o)
        return tree_unflatten(o_def, res)
    mapped.__name__ = f"shard_map({getattr(f, '__name__', 'f')})"
    mapped.__wrapped__ = f
    return mapped
