"""``ember.autocast``: PyTorch's CPU automatic mixed precision.

Inside an enabled region the operations on the lower-precision list (matmul, linear,
convolutions, ...) cast their floating inputs to the region's dtype and run there; those on
the float32 list (the losses, ...) run in float32; everything else runs in its inputs' dtype.
The lists are ``ember.amp.autocast_policy()`` (PyTorch's names, and which ember implements).
Parameters are never converted: the casts are ordinary differentiable ops, so a float32
parameter gets a float32 gradient. The state is per thread; ``jit`` keys its plans by it
(entering or leaving a region retraces once, and ``explain_retraces`` says so).
"""
from __future__ import annotations

import functools
import warnings

from ..core import dtypes as _dt
from ..core.state import autocast_dtype, set_autocast
from ..ops import autocast_policy as _policy

__all__ = ["autocast", "autocast_policy", "is_autocast_enabled", "get_autocast_dtype"]


# Accelerator device types a PyTorch script may name: none is present in this build, so an
# autocast region (or GradScaler) on one is disabled with a warning, as PyTorch does on a
# machine without that device.
ACCELERATORS = ("cuda", "mps", "xpu", "hpu", "xla", "ipu", "mtia", "privateuseone")


def _check_device(device_type, op):
    """True for 'cpu', False for an absent accelerator; raises on anything else."""
    if not isinstance(device_type, str):
        raise TypeError(f"{op}: device_type must be a string such as 'cpu', got "
                        f"{type(device_type).__name__} {device_type!r}")
    if device_type == "cpu":
        return True
    if device_type in ACCELERATORS:
        return False
    raise ValueError(f"{op}: device_type={device_type!r} is not a device type; use 'cpu' "
                     f"(or an accelerator name: {', '.join(ACCELERATORS)})")


class autocast:
    """Mixed precision for a region, as ``torch.autocast`` (context manager or decorator).

    ``dtype``: ``ember.bfloat16`` (the CPU default) or ``ember.float16``; ``enabled=False``
    turns autocast off inside the region.

    >>> lin = ember.nn.Linear(4, 2)
    >>> with ember.autocast("cpu", dtype=ember.bfloat16):
    ...     y = lin(ember.ones(3, 4))
    ...     loss = ember.nn.functional.mse_loss(y, ember.zeros(3, 2))
    >>> y.dtype, loss.dtype, lin.weight.dtype
    (ember.bfloat16, ember.float32, ember.float32)
    >>> @ember.autocast("cpu")
    ... def f(x):
    ...     return x @ x
    >>> f(ember.ones(2, 2)).dtype
    ember.bfloat16
    """

    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        on_cpu = _check_device(device_type, "autocast")
        self.device_type = device_type
        self.fast_dtype = None
        self._enabled = bool(enabled)
        if not on_cpu and self._enabled:
            warnings.warn(f"autocast: device_type {device_type!r} is not available in this "
                          f"build; autocast is disabled in this region, as PyTorch does "
                          f"(use device_type='cpu' for CPU mixed precision)", UserWarning,
                          stacklevel=2)
            self._enabled = False
        d = (_dt.bfloat16 if on_cpu else _dt.float16) if dtype is None else _as_float_dtype(dtype)
        if d not in (_dt.bfloat16, _dt.float16):
            if self._enabled:
                warnings.warn(f"autocast: dtype {d} is not a lower-precision dtype ember "
                              f"autocasts to on CPU (bfloat16, float16); autocast is disabled "
                              f"in this region, as PyTorch does", UserWarning, stacklevel=2)
            self._enabled = False
        self.fast_dtype = d
        self.cache_enabled = cache_enabled
        self._prev = []

    def __enter__(self):
        self._prev.append(set_autocast(self.fast_dtype if self._enabled else None))
        return self

    def __exit__(self, *exc):
        set_autocast(self._prev.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)
        return wrapper

    def __repr__(self):
        return (f"ember.autocast(device_type={self.device_type!r}, dtype={self.fast_dtype!r}, "
                f"enabled={self._enabled})")


def _as_float_dtype(dtype):
    try:
        d = _dt.as_dtype(dtype)
    except TypeError as e:
        raise TypeError(f"autocast: dtype must be ember.bfloat16 or ember.float16, got "
                        f"{dtype!r}") from e
    if not d.is_floating_point:
        raise TypeError(f"autocast: dtype must be a floating dtype (ember.bfloat16 or "
                        f"ember.float16), got {d}; autocast lowers the precision of floating "
                        f"point operations, it does not quantize (see ember.ao.quantization)")
    return d


def is_autocast_enabled(device_type="cpu"):
    """Whether this thread is inside an enabled ``autocast`` region.

    >>> with ember.autocast("cpu"):
    ...     ember.is_autocast_enabled()
    True
    >>> ember.is_autocast_enabled()
    False
    """
    return _check_device(device_type, "is_autocast_enabled") and autocast_dtype() is not None


def get_autocast_dtype(device_type="cpu"):
    """The dtype autocast lowers to (bfloat16 outside a region, as PyTorch's CPU default).

    >>> with ember.autocast("cpu", dtype=ember.float16):
    ...     ember.get_autocast_dtype("cpu")
    ember.float16
    """
    if not _check_device(device_type, "get_autocast_dtype"):
        return _dt.float16  # PyTorch's default for the accelerators
    return autocast_dtype() or _dt.bfloat16


def autocast_policy():
    """PyTorch's CPU autocast lists as data: ``lower_precision``, ``float32`` and
    ``promote`` (aten op names), and ``implemented`` (the ones ember has -> the function
    that applies the cast).

    >>> p = ember.amp.autocast_policy()
    >>> "linear" in p["lower_precision"], "mse_loss" in p["float32"], p["promote"]
    (True, True, ['stack', 'cat', 'index_copy'])
    >>> p["implemented"]["conv2d"]
    'ember.ops.conv.conv2d'
    """
    return _policy.policy()
