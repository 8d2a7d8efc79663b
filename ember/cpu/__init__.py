"""``ember.cpu``: PyTorch's ``torch.cpu`` device module (the CPU is always there)."""
from __future__ import annotations

from . import amp  # noqa: F401

__all__ = ["is_available", "device_count", "current_device", "synchronize", "amp"]


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device=None) -> None:
    """Wait for the CPU's work: ember's operations are synchronous, so there is none."""
