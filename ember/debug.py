"""``jax.debug``'s names: ``print`` and ``callback`` run when the computation runs (inside
``jit`` with its values, once per element under ``vmap``, in the forward pass under ``grad``);
see ``ember/transforms/callbacks.py``."""
from __future__ import annotations

from .transforms.callbacks import debug_callback as callback, debug_print as print  # noqa: F401

__all__ = ["print", "callback"]
