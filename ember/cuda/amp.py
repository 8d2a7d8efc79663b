"""``ember.cuda.amp``: PyTorch's older spelling of mixed precision on CUDA
(``torch.cuda.amp.autocast`` / ``GradScaler``). There is no CUDA device in this build, so both
are disabled with a warning, as PyTorch disables them on a machine without CUDA; CPU mixed
precision is ``ember.autocast("cpu")`` and ``ember.amp.GradScaler("cpu")``."""
from __future__ import annotations

from ..amp import autocast as _autocast, GradScaler as _GradScaler
from ..core import dtypes as _dt

__all__ = ["autocast", "GradScaler"]


class autocast(_autocast):
    """``torch.cuda.amp.autocast(enabled, dtype, cache_enabled)``: ``autocast("cuda", ...)``."""

    def __init__(self, enabled=True, dtype=_dt.float16, cache_enabled=True):
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``torch.cuda.amp.GradScaler(...)``: ``GradScaler("cuda", ...)``."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)
