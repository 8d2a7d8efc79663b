"""Moving tensors between devices: the ``device_put`` primitive behind ``Tensor.to(device)``,
``.cpu()`` and ``.cuda()``. A transfer is differentiable: the gradient goes back to the
source device (its VJP is the transfer the other way)."""
from __future__ import annotations

from .. import backend as _backend
from ..core.creation import place
from ..core.primitive import Aval, Primitive, Tracer, bind
from ..core.tensor import Tensor


def _device_put_impl(x, device, src):
    return place(x, device)


device_put_p = Primitive(
    "device_put", _device_put_impl,
    shape=lambda x, device, src: Aval(x.shape, x.dtype),
    vjp=lambda ct, out, x, device, src: (bind(device_put_p, ct, device=src, src=device),),
    jvp=lambda primals, tangents, out, device, src: bind(device_put_p, tangents[0],
                                                         device=device, src=src),
    linear=True,
    doc="A copy of x on another device (the gradient flows back to the source device).")
device_put_p.batch = lambda args, dims, device, src: (
    bind(device_put_p, args[0], device=device, src=src), dims[0])


def source_device(x):
    """The device of ``x``; a traced value counts as on the default device (its arrays'
    device is only known when the plan runs, and the transfer checks it then)."""
    if isinstance(x, Tracer):
        return _backend.default_device()
    return x.device


def device_put(x, device):
    """``x`` on ``device`` (``x`` itself when it is already there)."""
    dst = _backend.device(device)
    _backend.get(dst)  # a device without a backend (cuda) fails with a clear error here
    src = source_device(x)
    if src.type == dst.type:
        return x
    return bind(device_put_p, x, device=_backend.device(dst.type), src=src)


def cpu(self, memory_format=None):
    """A copy of this tensor in CPU memory (itself when it is there already)."""
    return device_put(self, "cpu")


def cuda(self, device=None, non_blocking=False, memory_format=None):
    raise RuntimeError("cuda(): this build of ember has no CUDA backend "
                       "(ember.cuda.is_available() is False); keep tensors on the CPU with "
                       ".cpu() or .to('cpu')")


Tensor.cpu = cpu
Tensor.cuda = cuda
