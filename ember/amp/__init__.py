"""``ember.amp``: mixed precision in PyTorch's idiom (``autocast``, ``GradScaler``) and JAX's
(jmp's ``Policy`` and loss scales for jitted steps)."""
from .autocast_mode import autocast, autocast_policy, is_autocast_enabled, get_autocast_dtype  # noqa: F401
from .grad_scaler import GradScaler  # noqa: F401
from .functional import (  # noqa: F401
    Policy, get_policy, DynamicLossScale, StaticLossScale, NoOpLossScale, all_finite,
    select_tree, cast_to_full, cast_to_half, half_dtype)

__all__ = ["autocast", "autocast_policy", "is_autocast_enabled", "get_autocast_dtype",
           "GradScaler", "Policy", "get_policy", "DynamicLossScale", "StaticLossScale",
           "NoOpLossScale", "all_finite", "select_tree", "cast_to_full", "cast_to_half",
           "half_dtype"]
