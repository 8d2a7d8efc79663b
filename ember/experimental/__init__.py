"""``jax.experimental``'s names that ember has: ``io_callback`` (a host callback with
effects, kept in program order by jit), and the 64-bit mode contexts ``enable_x64`` /
``disable_x64`` of older JAX versions (today's JAX spells them ``jax.enable_x64(True)`` /
``jax.enable_x64(False)``, which ember has too)."""
from __future__ import annotations

from ..transforms.callbacks import io_callback  # noqa: F401
from ..jax_toplevel import _x64_mode

__all__ = ["io_callback", "enable_x64", "disable_x64"]


def enable_x64(new_val=True):
    """A context running its block in 64-bit mode (``new_val=False``: 32-bit mode), the
    previous mode restored after it.

    >>> with ember.experimental.enable_x64():
    ...     print(ember.numpy.zeros(1).dtype)
    ember.float64
    """
    return _x64_mode(bool(new_val))


def disable_x64():
    """A context running its block in 32-bit mode, the previous mode restored after it.

    >>> with ember.experimental.enable_x64(), ember.experimental.disable_x64():
    ...     print(ember.numpy.zeros(1).dtype)
    ember.float32
    """
    return _x64_mode(False)
