"""Global switches, with JAX's spellings: ``ember.config.update("jax_enable_x64", True)``.

``jax_enable_x64`` (default off; the environment variable ``EMBER_ENABLE_X64=1`` or
``JAX_ENABLE_X64=1`` turns it on at import): off, ``ember.numpy`` follows JAX's 32-bit
rules, so float64 NumPy data and Python floats become float32 there; on, they stay float64
and ``ember.numpy``'s creation functions default to float64. The PyTorch-style entry points
(``ember.tensor``, ``ember.from_numpy``, ``ember.zeros``, ...) keep PyTorch's rules either way
(``torch.tensor(float64 ndarray)`` is float64; the default dtype is set with
``ember.set_default_dtype``). The setting is process-wide, as JAX's.
"""
from __future__ import annotations

import os


def _env_flag(*names):
    return any(os.environ.get(n, "").strip().lower() in ("1", "true", "yes", "on") for n in names)


class Config:
    """``update(name, value)`` / ``read(name)`` / attribute access, as ``jax.config``. Also
    carries jit's switches (``explain_retraces``, ``disable_jit``; JAX's spellings
    ``jax_explain_cache_misses`` and ``jax_disable_jit`` in ``update``), which live with jit."""

    _own = {"jax_enable_x64": bool}
    _jax_names = {"jax_disable_jit": "disable_jit",
                  "jax_explain_cache_misses": "explain_retraces"}

    def __init__(self):
        object.__setattr__(self, "_values", {
            "jax_enable_x64": _env_flag("EMBER_ENABLE_X64", "JAX_ENABLE_X64")})

    @staticmethod
    def _jit():
        from .transforms import config as jit_config
        return jit_config

    def _names(self):
        return sorted(set(self._own) | set(self._jax_names) | {
            n for n in vars(self._jit()) if not n.startswith("_")})

    def update(self, name, value):
        if name in self._own:
            self._values[name] = self._own[name](value)
            return
        target = self._jax_names.get(name, name)
        if not hasattr(self._jit(), target) or target.startswith("_"):
            raise AttributeError(f"config.update: unknown option {name!r}; known: "
                                 f"{self._names()}")
        setattr(self._jit(), target, value)

    def read(self, name):
        if name in self._own:
            return self._values[name]
        target = self._jax_names.get(name, name)
        if not hasattr(self._jit(), target) or target.startswith("_"):
            raise AttributeError(f"config.read: unknown option {name!r}; known: "
                                 f"{self._names()}")
        return getattr(self._jit(), target)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.read(name)

    def __setattr__(self, name, value):
        self.update(name, value)


config = Config()


def x64_enabled():
    return config._values["jax_enable_x64"]
