"""``ember.accelerator``: PyTorch's device-agnostic accelerator queries. This build runs on
the CPU only (the meta and strict devices are not accelerators)."""
from __future__ import annotations


def is_available() -> bool:
    """Whether an accelerator (CUDA, MPS, ...) is available: False in this build."""
    return False


def current_accelerator(check_available: bool = False):
    """The accelerator device, or None when there is none (always None here)."""
    return None


def device_count() -> int:
    return 0
