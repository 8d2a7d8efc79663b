"""PyTorch's older per-device spellings of mixed precision (``torch.cuda.amp`` /
``torch.cpu.amp``): ``autocast(enabled, dtype, cache_enabled)`` and ``GradScaler(...)`` with
the device fixed."""
from __future__ import annotations

from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def device_amp(device, default_dtype, module):
    """The ``autocast`` and ``GradScaler`` classes of ``torch.<device>.amp``."""

    class autocast(_autocast):
        __doc__ = f"``torch.{device}.amp.autocast(enabled, dtype, cache_enabled)``: " \
                  f"``autocast({device!r}, ...)``."

        def __init__(self, enabled=True, dtype=default_dtype, cache_enabled=True):
            super().__init__(device, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    class GradScaler(_GradScaler):
        __doc__ = f"``torch.{device}.amp.GradScaler(...)``: ``GradScaler({device!r}, ...)``."

        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                     growth_interval=2000, enabled=True):
            super().__init__(device, init_scale=init_scale, growth_factor=growth_factor,
                             backoff_factor=backoff_factor, growth_interval=growth_interval,
                             enabled=enabled)
    for cls in (autocast, GradScaler):
        cls.__module__, cls.__qualname__ = module, cls.__name__
    return autocast, GradScaler
