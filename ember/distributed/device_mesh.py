"""``DeviceMesh`` and ``init_device_mesh`` (``torch.distributed.device_mesh``), for the ranks of
the default process group laid out along one mesh dimension.

``init_device_mesh("cpu", (world_size,))`` initialises the default process group when no one
has (as PyTorch does) and returns the 1-D mesh of all ranks, which
``ember.distributed.tensor.parallel.parallelize_module`` takes as its ``device_mesh``. Meshes of
more than one dimension (tensor x data parallel) are not implemented.
"""
from __future__ import annotations

import math

from . import groups as _groups

__all__ = ["DeviceMesh", "init_device_mesh"]


class DeviceMesh:
    """The ranks ``mesh`` (a list of global ranks) along one dimension named
    ``mesh_dim_names[0]`` (optional), on devices of type ``device_type``.

    >>> import ember.distributed as dist
    >>> from ember.distributed.device_mesh import init_device_mesh
    >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("tp",))   # a world of one
    >>> mesh, mesh.size(), mesh.get_rank(), mesh["tp"] is mesh
    (DeviceMesh('cpu', [0], mesh_dim_names=('tp',)), 1, 0, True)
    >>> dist.destroy_process_group()
    """

    def __init__(self, device_type, mesh, *, mesh_dim_names=None, _init_backend=True):
        ranks = list(mesh.tolist() if hasattr(mesh, "tolist") else mesh)
        if any(isinstance(r, (list, tuple)) for r in ranks):
            raise NotImplementedError("DeviceMesh: meshes of more than one dimension are not "
                                      "implemented; use a 1-D mesh of the ranks")
        ranks = [int(r) for r in ranks]
        self.device_type = str(device_type)
        self.mesh_dim_names = tuple(mesh_dim_names) if mesh_dim_names else None
        if self.mesh_dim_names is not None and len(self.mesh_dim_names) != 1:
            raise ValueError(f"DeviceMesh: one mesh dimension needs one name, got "
                             f"{self.mesh_dim_names}")
        world = _groups._world_group("DeviceMesh")
        if sorted(ranks) != list(range(world.size())):
            raise NotImplementedError(f"DeviceMesh: a mesh over ranks {ranks} of a world of "
                                      f"{world.size()}; only a mesh of every rank is "
                                      f"implemented")
        self._ranks = ranks
        self._group = world

    @property
    def mesh(self):
        from ..core.creation import tensor
        return tensor(self._ranks)

    @property
    def ndim(self):
        return 1

    @property
    def shape(self):
        return (len(self._ranks),)

    def size(self, mesh_dim=None):
        """The number of ranks (along ``mesh_dim``: 0 is the only dimension)."""
        self._dim(mesh_dim)
        return len(self._ranks)

    def _dim(self, d):
        if d in (None, 0, -1) or (self.mesh_dim_names and d in self.mesh_dim_names):
            return 0
        raise IndexError(f"DeviceMesh: no mesh dimension {d!r} (this mesh has one dimension"
                         f"{', named ' + repr(self.mesh_dim_names[0]) if self.mesh_dim_names else ''})")

    def get_rank(self):
        """This process's global rank."""
        return _groups.get_rank()

    def get_local_rank(self, mesh_dim=None):
        """This process's coordinate along ``mesh_dim``."""
        self._dim(mesh_dim)
        return self._ranks.index(_groups.get_rank())

    def get_group(self, mesh_dim=None):
        """The process group of the ranks along ``mesh_dim``."""
        self._dim(mesh_dim)
        return self._group

    def __getitem__(self, name):
        self._dim(name)
        return self

    def __repr__(self):
        names = f", mesh_dim_names={self.mesh_dim_names}" if self.mesh_dim_names else ""
        return f"DeviceMesh({self.device_type!r}, {self._ranks}{names})"


def init_device_mesh(device_type, mesh_shape, *, mesh_dim_names=None, backend_override=None):
    """A mesh of ``prod(mesh_shape)`` ranks (the whole world; one dimension), initialising the
    default process group first when no one has."""
    shape = tuple(int(s) for s in mesh_shape)
    if len(shape) != 1:
        raise NotImplementedError(f"init_device_mesh: mesh_shape {shape} has {len(shape)} "
                                  f"dimensions; only a 1-D mesh of the ranks is implemented")
    if not _groups.is_initialized():
        _groups.init_process_group()
    n = _groups.get_world_size()
    if math.prod(shape) != n:
        raise ValueError(f"init_device_mesh: mesh_shape {shape} holds {math.prod(shape)} ranks "
                         f"but the world has {n}; launch with `ember run -n "
                         f"{math.prod(shape)}` or use mesh_shape=({n},)")
    return DeviceMesh(device_type, list(range(n)), mesh_dim_names=mesh_dim_names)
