"""``torch.distributed._tensor.device_mesh``: :mod:`ember.distributed.device_mesh`."""
from ..device_mesh import DeviceMesh, init_device_mesh  # noqa: F401
