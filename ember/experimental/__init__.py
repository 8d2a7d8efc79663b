"""``jax.experimental``'s names that ember has: ``io_callback`` (a host callback with
effects, kept in program order by jit)."""
from __future__ import annotations

from ..transforms.callbacks import io_callback  # noqa: F401

__all__ = ["io_callback"]
