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
from .ops.elementwise import as_jax_value, as_value
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


def shard_map(f=None, mesh=None, in_specs=None, out_specs=None, *, axis_names=None,
              check_rep=None, check_vma=None):
    """``f`` run on each member's block of its inputs over a 1-D ``mesh``
    (``jax.shard_map``; see the module docstring). Without ``f`` it is a decorator:
    ``@functools.partial(shard_map, mesh=mesh, in_specs=..., out_specs=...)`` or
    ``@shard_map(mesh=mesh, in_specs=..., out_specs=...)``.

    >>> mesh = ember.sharding.make_mesh((2,), ("i",))
    >>> P = ember.sharding.PartitionSpec
    >>> f = ember.shard_map(lambda a: ember.lax.psum(a.sum(0), "i"), mesh=mesh,
    ...                     in_specs=P("i"), out_specs=P())
    >>> f(ember.arange(8.).reshape(4, 2))
    tensor([12., 16.])
    """
    op = "shard_map"
    if f is None:
        return lambda fun: shard_map(fun, mesh, in_specs, out_specs, axis_names=axis_names,
                                     check_rep=check_rep, check_vma=check_vma)
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


# ---- jax.sharding's device-level names --------------------------------------------------------
# ember runs one device per process (the CPU; a process group gives one per rank), and every
# array is whole on it. A NamedSharding over a mesh of this process's devices is therefore
# always true of the data (with one device, every block of every split is on that device), and
# programs written for JAX's sharding APIs compute the same results as unsharded. A mesh of
# virtual members (``make_mesh`` of this module with more members than devices, for
# ``shard_map``) is a layout for shard_map only: placing data on it says so.

class AxisType:
    """``jax.sharding.AxisType``: how a mesh axis is used (recorded on the mesh; ember's
    arrays are whole on one device whatever the type).

    >>> ember.sharding.AxisType.Explicit
    AxisType.Explicit
    """

    class _T:
        def __init__(self, name):
            self.name = name

        def __repr__(self):
            return f"AxisType.{self.name}"

    Auto, Explicit, Manual = _T("Auto"), _T("Explicit"), _T("Manual")


def devices(backend=None):
    """The devices of this process (``jax.devices``): ember's one CPU device.

    >>> ember.devices()
    [device(type='cpu')]
    """
    from .backend import device
    if backend not in (None, "cpu"):
        raise RuntimeError(f"devices: backend {backend!r} is not available; ember runs on the "
                           f"'cpu' backend (one device per process)")
    return [device("cpu")]


local_devices = devices


def device_count(backend=None):
    """How many devices this process has (``jax.device_count``): 1, the CPU. (JAX counts
    every process's devices; ember's multi-process runs use ``ember.distributed``.)

    >>> ember.device_count()
    1
    """
    return len(devices(backend))


local_device_count = device_count


def default_backend():
    """The platform computations run on (``jax.default_backend``): ``'cpu'``.

    >>> ember.default_backend()
    'cpu'
    """
    return "cpu"



def _is_device(d):
    from .backend import device
    return isinstance(d, device)


class SingleDeviceSharding:
    """All of an array on one device: what ``x.sharding`` is for a tensor not placed with a
    ``NamedSharding``.

    >>> ember.ones(2).sharding
    SingleDeviceSharding(device=device(type='cpu'))
    """

    def __init__(self, device):
        self.device = device

    @property
    def device_set(self):
        return {self.device}

    addressable_devices = device_set
    is_fully_replicated = True
    is_fully_addressable = True
    num_devices = 1

    def __eq__(self, other):
        return isinstance(other, SingleDeviceSharding) and other.device == self.device

    def __hash__(self):
        return hash(("single", str(self.device)))

    def __repr__(self):
        return f"SingleDeviceSharding(device={self.device!r})"


class NamedSharding:
    """How an array is laid out over a mesh of devices: ``spec`` names, per dim, the mesh
    axis it is split over (``jax.sharding.NamedSharding``). Over this process's devices (one
    CPU) every block is on that device, so data placed with it is exactly the unsharded data.

    >>> mesh = ember.make_mesh((1,), ("batch",))
    >>> s = ember.NamedSharding(mesh, ember.sharding.PartitionSpec("batch"))
    >>> s.spec, s.num_devices, ember.device_put(ember.ones(4, 2), s).sharding == s
    (PartitionSpec('batch'), 1, True)
    """

    def __init__(self, mesh, spec=None):
        if not isinstance(mesh, Mesh):
            raise TypeError(f"NamedSharding: mesh must be a Mesh (ember.make_mesh), got "
                            f"{mesh!r}")
        spec = PartitionSpec() if spec is None else spec
        if not isinstance(spec, PartitionSpec):
            spec = PartitionSpec(*spec)
        for p in spec:
            for name in (p if isinstance(p, tuple) else (p,)):
                if name is not None and name not in mesh.axis_names:
                    raise ValueError(f"NamedSharding: {spec!r} names axis {name!r}, but the "
                                     f"mesh's axes are {mesh.axis_names}")
        self.mesh, self.spec = mesh, spec

    @property
    def device_set(self):
        return set(self.mesh.devices)

    addressable_devices = device_set

    @property
    def num_devices(self):
        return self.mesh.size

    @property
    def is_fully_replicated(self):
        return self.mesh.size == 1 or all(p is None for p in self.spec)

    is_fully_addressable = True

    def __eq__(self, other):
        return (isinstance(other, NamedSharding) and other.mesh is self.mesh
                and tuple(other.spec) == tuple(self.spec))

    def __hash__(self):
        return hash((id(self.mesh), tuple(self.spec)))

    def __repr__(self):
        return f"NamedSharding(mesh={self.mesh!r}, spec={self.spec!r})"


_current_mesh = [None]


class set_mesh:
    """``with ember.set_mesh(mesh):`` makes ``mesh`` the current one (``jax.set_mesh``): a bare
    ``PartitionSpec`` given to ``device_put``/``reshard`` means a ``NamedSharding`` over it.

    >>> mesh = ember.make_mesh((1,), ("batch",))
    >>> with ember.set_mesh(mesh):
    ...     ember.reshard(ember.ones(2), ember.sharding.PartitionSpec("batch")).sharding.mesh is mesh
    True
    """

    def __init__(self, mesh):
        if not isinstance(mesh, Mesh):
            raise TypeError(f"set_mesh: expected a Mesh, got {mesh!r}")
        self.mesh = mesh
        self._prev = _current_mesh[0]
        _current_mesh[0] = mesh  # (also usable without `with`, as jax.set_mesh)

    def __enter__(self):
        return self.mesh

    def __exit__(self, *exc):
        _current_mesh[0] = self._prev
        return False


def get_mesh():
    """The mesh made current by ``set_mesh`` (None outside one)."""
    return _current_mesh[0]


def _resolve(op, sharding):
    if isinstance(sharding, PartitionSpec):
        if _current_mesh[0] is None:
            raise ValueError(f"{op}: a bare PartitionSpec {sharding!r} needs a current mesh: "
                             f"wrap the call in `with ember.set_mesh(mesh):` or pass "
                             f"NamedSharding(mesh, spec)")
        return NamedSharding(_current_mesh[0], sharding)
    return sharding


def _place(op, x, sharding):
    """``x`` (a tensor) laid out by ``sharding``: checked as JAX checks it (each split dim
    divides by its mesh axes' sizes), the data unchanged (whole on this process's device),
    and the sharding recorded for ``x.sharding``."""
    if isinstance(sharding, NamedSharding):
        mesh = sharding.mesh
        if not all(_is_device(d) for d in mesh.devices):
            raise ValueError(f"{op}: the mesh {mesh!r} has virtual members, not devices (ember."
                             f"sharding.make_mesh for shard_map); ember holds arrays whole on "
                             f"its one device per process, so place data with a mesh of "
                             f"ember.devices() (ember.make_mesh) or pass it to shard_map as is")
        spec = tuple(sharding.spec)
        if len(spec) > x.ndim:
            raise ValueError(f"{op}: {sharding.spec!r} has {len(spec)} entries for an array of "
                             f"shape {tuple(x.shape)}")
        for d, p in enumerate(spec):
            names = p if isinstance(p, tuple) else (p,)
            k = 1
            for name in names:
                if name is not None:
                    k *= mesh.shape[name]
            if x.shape[d] % k:
                raise ValueError(f"{op}: dim {d} of shape {tuple(x.shape)} (size {x.shape[d]}) "
                                 f"is split over mesh axes {names} of {k} devices, which does "
                                 f"not divide it")
    elif not isinstance(sharding, SingleDeviceSharding):
        raise TypeError(f"{op}: expected a NamedSharding, SingleDeviceSharding or "
                        f"PartitionSpec, got {sharding!r}")
    from .core.primitive import Tracer
    if isinstance(x, Tracer) or x.requires_grad:
        return x  # (traced or on the tape: the value itself; its layout is the device's)
    y = Tensor._wrap(x._data)  # a new array object sharing the data, as JAX may alias
    y._sharding = sharding
    return y


def reshard(x, out_shardings):
    """``x`` (a pytree) laid out by ``out_shardings`` (``jax.sharding.reshard``): ember's
    arrays are whole on the one device, so the values are unchanged; the layout is checked
    and reported by ``.sharding``.

    >>> mesh = ember.make_mesh((1,), ("batch",))
    >>> ember.reshard(ember.ones(4), ember.NamedSharding(mesh, ember.sharding.P("batch"))).shape
    ember.Size([4])
    """
    layout = _resolve("reshard", out_shardings)
    leaves, tree = tree_flatten(x)
    return tree_unflatten(tree, [_place("reshard", as_jax_value(a), layout) for a in leaves])


def _sharding_of(self):
    """How this tensor is laid out: the ``NamedSharding`` it was placed with
    (``device_put``/``reshard``), else all of it on its device."""
    s = self.__dict__.get("_sharding")
    return s if s is not None else SingleDeviceSharding(self.device)


Tensor.sharding = property(_sharding_of)


def _devices_of(self):
    """The set of devices holding this tensor (``jax.Array.devices()``): its one device.

    >>> ember.ones(2).devices()
    {device(type='cpu')}
    """
    return {self.device}


Tensor.devices = _devices_of


def make_device_mesh(axis_shapes, axis_names, *, devices=None, axis_types=None):
    """A mesh of this process's devices (``jax.make_mesh``): the product of ``axis_shapes``
    must be the number of devices (``ember.device_count()``, 1 here).

    >>> ember.make_mesh((ember.device_count(),), ("batch",))
    Mesh('batch': 1)
    """
    devs = list(devices) if devices is not None else globals()["devices"]()
    shapes = tuple(int(s) for s in axis_shapes)
    n = 1
    for s in shapes:
        n *= s
    if n != len(devs):
        raise ValueError(f"make_mesh: axis_shapes {shapes} need {n} devices, but this process "
                         f"has {len(devs)} ({devs}); ember runs one device per process. Use "
                         f"ember.device_count() for the size, or ember.sharding.make_mesh "
                         f"with shard_map for virtual members run in turn")
    mesh = Mesh(devs, axis_names) if len(shapes) == 1 else None
    if mesh is None:
        raise NotImplementedError(f"make_mesh: only 1-D meshes are supported, got {shapes}")
    mesh.axis_types = tuple(axis_types) if axis_types is not None else (AxisType.Auto,)
    return mesh


__all__ += ["AxisType", "NamedSharding", "SingleDeviceSharding", "set_mesh", "get_mesh",
            "reshard", "devices", "device_count", "local_devices", "local_device_count",
            "make_device_mesh"]
