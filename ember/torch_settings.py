"""PyTorch's process-wide switches that training scripts call at start-up:
``set_num_threads``/``get_num_threads`` (the BLAS thread pool, through threadpoolctl when
installed), ``use_deterministic_algorithms`` (ember's CPU kernels are deterministic already, so
this records the flag), ``set_float32_matmul_precision`` (recorded; NumPy's float32 matmul is
always full precision, i.e. ``'highest'``) and ``set_printoptions`` (the tensor repr)."""
from __future__ import annotations

import os

from .core import tensor as _tensor_mod
from .backend import threads as _threads

__all__ = ["set_num_threads", "get_num_threads", "set_num_interop_threads",
           "get_num_interop_threads", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "set_printoptions"]

_state = {"threads": None, "interop": 1, "deterministic": False, "warn_only": False,
          "matmul_precision": "highest"}


def set_num_threads(num):
    """Use ``num`` threads for BLAS-backed ops (matmul, conv) from now on, and at most
    ``num`` cores for ember's kernel threads (``set_num_threads(1)``: none besides the
    caller's)."""
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ValueError(f"ember.set_num_threads: expected a positive int, got {num!r}")
    for c in _threads._blas_controllers():
        c.set_num_threads(num)
    _threads.cores = min(_threads._count_cores(), num)
    _state["threads"] = num


def get_num_threads():
    """The number of threads BLAS-backed ops use (the last ``set_num_threads``, else the BLAS
    library's current setting, else the CPU count)."""
    if _state["threads"] is not None:
        return _state["threads"]
    for c in _threads._blas_controllers():
        return int(c.get_num_threads())
    return os.cpu_count() or 1


def set_num_interop_threads(num):
    """Recorded for ``get_num_interop_threads``: ember runs one op at a time per thread."""
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ValueError(f"ember.set_num_interop_threads: expected a positive int, got {num!r}")
    _state["interop"] = num


def get_num_interop_threads():
    return _state["interop"]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Ask for deterministic kernels. Every ember CPU kernel is deterministic (no atomics, a
    fixed reduction order), so nothing changes; the flag is kept for
    ``are_deterministic_algorithms_enabled``."""
    if not isinstance(mode, bool):
        raise TypeError(f"ember.use_deterministic_algorithms: mode must be a bool, got "
                        f"{type(mode).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, bool(warn_only)


def are_deterministic_algorithms_enabled():
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _state["warn_only"]


_PRECISIONS = ("highest", "high", "medium")


def set_float32_matmul_precision(precision):
    """``'highest'``, ``'high'`` or ``'medium'``. NumPy's float32 matmul always computes in
    full float32 (there are no TF32/bf16 tensor cores on this backend), so results are those
    of ``'highest'`` whatever is set; the value is kept for ``get_float32_matmul_precision``."""
    if precision not in _PRECISIONS:
        raise ValueError(f"ember.set_float32_matmul_precision: expected one of {_PRECISIONS}, "
                         f"got {precision!r}")
    _state["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _state["matmul_precision"]


_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=2 ** 63 - 1, edgeitems=3, linewidth=80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """How tensors print (as ``torch.set_printoptions``): digits after the point, the element
    count above which the middle is summarised, the items kept at each edge, the line width,
    a ``profile`` (``'default'``, ``'short'``, ``'full'``) and ``sci_mode`` (True/False, or
    None for automatic)."""
    opts = _tensor_mod.PRINT_OPTIONS
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"ember.set_printoptions: profile must be one of "
                             f"{sorted(_PROFILES)}, got {profile!r}")
        opts.update(_PROFILES[profile])
    for k, v in (("precision", precision), ("threshold", threshold),
                 ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if v is not None:
            if not isinstance(v, int) or v < 0:
                raise ValueError(f"ember.set_printoptions: {k} must be a non-negative int, "
                                 f"got {v!r}")
            opts[k] = v
    opts["sci_mode"] = sci_mode
