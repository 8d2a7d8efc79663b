"""``ember.amp``: mixed precision in PyTorch's idiom (``autocast``, ``GradScaler``) and JAX's
(jmp's ``Policy`` and loss scales for jitted steps)."""
from .autocast_mode import autocast, autocast_policy, is_autocast_enabled, get_autocast_dtype  # noqa: F401
from .grad_scaler import GradScaler  # noqa: F401

__all__ = ["autocast", "autocast_policy", "is_autocast_enabled", "get_autocast_dtype",
           "GradScaler"]
