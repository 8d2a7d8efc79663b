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

JAX options with no counterpart in ember (``jax_platform_name``, ``jax_default_matmul_precision``,
``jax_remat3``, the compilation-cache options, ...) are accepted with the values that keep
ember's behaviour (``_INERT``) and refused, with the reason, otherwise:

>>> ember.config.update("jax_platform_name", "cpu")
>>> ember.config.update("jax_platform_name", "gpu")
Traceback (most recent call last):
ValueError: config.update('jax_platform_name', 'gpu'): ember supports 'cpu' or '' or None only: ember runs on the CPU
"""
from __future__ import annotations

from .core import dtypes as _dt
from .transforms import nan_checks as _nan_checks


def _one_of(*allowed, why=""):
    def check(value):
        if value not in allowed:
            return f"ember supports {' or '.join(map(repr, allowed))} only{why}"
        return None
    return check


def _any(value):
    return None


# JAX options that change nothing in ember (it runs on the CPU, its float32 products are full
# float32, it has no compilation cache or traceback filtering, its escaped-tracer checks are
# always on): accepted with the values that keep ember's behaviour, their value kept for
# ``read``; a value asking for a behaviour ember lacks is refused, saying so
_INERT = {
    "jax_platform_name": ("", _one_of("cpu", "", None, why=": ember runs on the CPU")),
    "jax_platforms": (None, lambda v: None if not v or "cpu" in str(v).split(",") else
                      "ember runs on the CPU: include 'cpu'"),
    "jax_default_matmul_precision": (None, _any),  # float32 products are full float32
    "jax_remat3": (False, _any),  # how JAX stages remat; ember's checkpoint is its own
    "jax_traceback_filtering": ("auto", _any),
    "jax_enable_checks": (False, _any),
    "jax_check_tracer_leaks": (False, _any),  # escaped tracers are always reported
    "jax_compilation_cache_dir": (None, _any),  # jit plans live in memory only
    "jax_persistent_cache_min_entry_size_bytes": (0, _any),
    "jax_persistent_cache_min_compile_time_secs": (1.0, _any),
    "jax_threefry_partitionable": (True, _one_of(True, why=": ember draws JAX's default "
                                                 "(partitionable) Threefry bits")),
    "jax_default_prng_impl": ("threefry2x32", _one_of("threefry2x32")),
    "jax_numpy_rank_promotion": ("allow", _one_of("allow")),
    "jax_numpy_dtype_promotion": ("standard", _one_of("standard")),
    "jax_num_cpu_devices": (-1, _one_of(1, -1, why=": ember runs one device per process "
                                       "(ember.sharding.make_mesh gives shard_map virtual "
                                       "members)")),
}


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

    _inert_values = {}

    def _names(self):
        return sorted(set(self._own) | set(self._jax_names) | set(_INERT) | {
            n for n in vars(self._jit()) if not n.startswith("_")})

    def update(self, name, value):
        if name in self._own:
            self._own[name][1](value)
            return
        if name in _INERT:
            why = _INERT[name][1](value)
            if why is not None:
                raise ValueError(f"config.update({name!r}, {value!r}): {why}")
            Config._inert_values[name] = value
            return
        target = self._jax_names.get(name, name)
        if not hasattr(self._jit(), target) or target.startswith("_"):
            raise AttributeError(f"config.update: unknown option {name!r}; known: "
                                 f"{self._names()}")
        setattr(self._jit(), target, value)

    def read(self, name):
        if name in self._own:
            return self._own[name][0]()
        if name in _INERT:
            return Config._inert_values.get(name, _INERT[name][0])
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
