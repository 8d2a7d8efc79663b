"""JAX's ``jax.example_libraries`` on ember: ``stax`` (networks as ``(init_fun, apply_fun)``
pairs) and ``optimizers`` (``(init, update, get_params)`` triples over pytrees), so programs
written against them run with ``jax`` swapped for ``ember`` in their imports."""
from . import optimizers, stax  # noqa: F401

__all__ = ["optimizers", "stax"]
