"""``ember.cpu.amp``: PyTorch's older spelling of CPU mixed precision
(``torch.cpu.amp.autocast`` / ``GradScaler``), the same as ``ember.autocast("cpu")`` and
``ember.amp.GradScaler("cpu")``."""
from __future__ import annotations

from ..amp.device_amp import device_amp
from ..core import dtypes as _dt

__all__ = ["autocast", "GradScaler"]

autocast, GradScaler = device_amp("cpu", _dt.bfloat16, __name__)
