"""Global switches, with JAX's spellings: ``ember.config.update("jax_enable_x64", True)``.

``jax_enable_x64`` (default off; the environment variable ``EMBER_ENABLE_X64=1`` or
``JAX_ENABLE_X64=1`` turns it on at import): off, ``ember.numpy`` follows JAX's 32-bit
rules, so float64 NumPy data and Python floats become float32 there; on, they stay float64
and ``ember.numpy``'s creation functions default to float64. The PyTorch-style entry points
(``ember.tensor``, ``ember.from_numpy``, ``ember.zeros``, ...) keep PyTorch's rules either way
(``torch.tensor(float64 ndarray)`` is float64; the default dtype is set with
``ember.set_default_dtype``). The setting is process-wide, as JAX's.

``jax_debug_nans`` / ``jax_debug_infs`` (default off): raise ``FloatingPointError`` at the
operation that produces a NaN / an inf (see ``ember.transforms.nan_checks``).
"""
from __future__ import annotations

from .core import dtypes as _dt
from .transforms import nan_checks as _nan_checks


class Config:
    """``update(name, value)`` / ``read(name)`` / attribute access, as ``jax.config``. Also
    carries jit's switches (``explain_retraces``, ``disable_jit``; JAX's spellings
    ``jax_explain_cache_misses`` and ``jax_disable_jit`` in ``update``), which live with jit."""

    # the flag itself lives in the core (``core.dtypes``), read by jit, grad, vmap and
    # ember.numpy alike
    _own = {"jax_enable_x64": (_dt.x64_enabled, _dt.set_x64),
            "jax_debug_nans": (lambda: _nan_checks.enabled("nans"),
                               lambda on: _nan_checks.set_enabled("nans", on)),
            "jax_debug_infs": (lambda: _nan_checks.enabled("infs"),
                               lambda on: _nan_checks.set_enabled("infs", on))}
    _jax_names = {"jax_disable_jit": "disable_jit",
                  "jax_explain_cache_misses": "explain_retraces"}

    @staticmethod
    def _jit():
        from .transforms import config as jit_config
        return jit_config

    def _names(self):
        return sorted(set(self._own) | set(self._jax_names) | {
            n for n in vars(self._jit()) if not n.startswith("_")})

    def update(self, name, value):
        if name in self._own:
            self._own[name][1](value)
            return
        target = self._jax_names.get(name, name)
        if not hasattr(self._jit(), target) or target.startswith("_"):
            raise AttributeError(f"config.update: unknown option {name!r}; known: "
                                 f"{self._names()}")
        setattr(self._jit(), target, value)

    def read(self, name):
        if name in self._own:
            return self._own[name][0]()
        target = self._jax_names.get(name, name)
        if not hasattr(self._jit(), target) or target.startswith("_"):
            raise AttributeError(f"config.read: unknown option {name!r}; known: "
                                 f"{self._names()}")
        return getattr(self._jit(), target)

    def config_with_absl(self):
        """Make the options command-line flags of an absl program (``jax.config``'s
        ``config_with_absl``): ``--jax_enable_x64``, ``--jax_disable_jit``,
        ``--jax_explain_cache_misses``, ``--jax_debug_nans``, ``--jax_debug_infs`` are defined
        as absl flags (absl must be installed)
        and applied when absl parses the command line (``app.run``)."""
        from absl import flags
        for name in ("jax_enable_x64", "jax_disable_jit", "jax_explain_cache_misses",
                     "jax_debug_nans", "jax_debug_infs"):
            if name in flags.FLAGS:
                continue
            flags.DEFINE_bool(name, bool(self.read(name)), f"ember.config.{name}")
            flags.register_validator(name, lambda v, n=name: self.update(n, bool(v)) or True)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.read(name)

    def __setattr__(self, name, value):
        self.update(name, value)


config = Config()


x64_enabled = _dt.x64_enabled
