"""``ember.cuda.amp``: PyTorch's older spelling of mixed precision on CUDA
(``torch.cuda.amp.autocast`` / ``GradScaler``). There is no CUDA device in this build, so both
are disabled with a warning, as PyTorch disables them on a machine without CUDA; CPU mixed
precision is ``ember.autocast("cpu")`` and ``ember.amp.GradScaler("cpu")``."""
from __future__ import annotations

from ..amp.device_amp import device_amp
from ..core import dtypes as _dt

__all__ = ["autocast", "GradScaler"]

autocast, GradScaler = device_amp("cuda", _dt.float16, __name__)
