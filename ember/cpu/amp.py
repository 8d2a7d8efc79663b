"""``ember.cpu.amp``: PyTorch's older spelling of CPU mixed precision
(``torch.cpu.amp.autocast`` / ``GradScaler``), the same as ``ember.autocast("cpu")`` and
``ember.amp.GradScaler("cpu")``."""
from __future__ import annotations

from ..amp import autocast as _autocast, GradScaler as _GradScaler
from ..core import dtypes as _dt

__all__ = ["autocast", "GradScaler"]


class autocast(_autocast):
    """``torch.cpu.amp.autocast(enabled, dtype, cache_enabled)``: ``autocast("cpu", ...)``."""

    def __init__(self, enabled=True, dtype=_dt.bfloat16, cache_enabled=True):
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``torch.cpu.amp.GradScaler(...)``: ``GradScaler("cpu", ...)``."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        super().__init__("cpu", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)
