"""``torch.distributed.tensor``: its ``parallel`` submodule (tensor parallelism by
``parallelize_module``) and ``DeviceMesh``/``init_device_mesh``. Distributed tensors
(``DTensor``, ``Shard``/``Replicate`` placements) are not implemented: a parallelized
module's parameters are this rank's blocks as plain tensors."""
from ..device_mesh import DeviceMesh, init_device_mesh  # noqa: F401
