"""The optional compiled-kernel accelerator: numba, when installed (``pip install
ember[fast]``) and not switched off with ``EMBER_NUMBA=0``.

Ops ask :func:`kernels` for ``ember.backend.numba_kernels`` (or None) at call time and keep a
NumPy path of their own: numba is never required. ``import ember`` does not import numba;
the first op that can use a kernel does (numba's import and runtime: 0.5-1 s and about 120 MB
resident, once per process; :func:`warm` does it up front), and each kernel compiles once
per machine (numba caches it on disk; later processes load it).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

_UNSET = object()
_loaded = _UNSET
_forced = None  # set_enabled(): True / False overrides the environment, None follows it


def _wanted() -> bool:
    if _forced is not None:
        return _forced
    v = os.environ.get("EMBER_NUMBA", "").strip().lower()
    if v in ("", "1", "on", "true", "yes"):
        return True
    if v in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"EMBER_NUMBA={v!r}: expected 1/on to use the numba kernels when numba "
                     f"is installed (the default) or 0/off to use the NumPy paths only")


def _load():
    try:
        import numba  # noqa: F401
    except ImportError:
        return None
    try:
        from . import numba_kernels
    except Exception as e:  # e.g. no writable cache directory: the NumPy paths instead
        warnings.warn(f"ember: numba is installed but its kernels failed to load ({e!r}); "
                      f"using the NumPy paths (set NUMBA_CACHE_DIR to a writable directory, "
                      f"or EMBER_NUMBA=0 to silence this)", RuntimeWarning, stacklevel=3)
        return None
    return numba_kernels


def kernels():
    """The module of compiled kernels, or None: numba not installed, or switched off."""
    global _loaded
    if not _wanted():
        return None
    if _loaded is _UNSET:
        _loaded = _load()
    return _loaded


def kernels_for(*arrays):
    """:func:`kernels` when every one of ``arrays`` is a float32 NumPy array, else None: the
    kernels compute in float32 on host memory. The choice depends on array types and dtypes
    only, so eager and jit take the same path."""
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != np.float32:
            return None
    return kernels()


_gemm = _UNSET


def sgemm():
    """NumPy's own BLAS ``cblas_sgemm`` for the compiled kernels that run a loop of
    products without returning to Python (numba_kernels.lstm_seq_fwd and lstm_seq_bwd):
    (address, ilp64), ilp64 True when its integers are 64-bit; None when NumPy's BLAS is
    not an OpenBLAS whose functions ember finds (ember/_blas_env.py). The same library and
    call as ``np.matmul``'s for a C-ordered product of two matrices of two or more rows
    and columns, so the same bits."""
    global _gemm
    if _gemm is _UNSET:
        _gemm = None
        import ctypes
        from .. import _blas_env
        lib = _blas_env.numpy_openblas()
        f = _blas_env.symbol(lib, "cblas_sgemm") if lib is not None else None
        config = _blas_env.symbol(lib, "openblas_get_config") if f is not None else None
        if config is not None:  # its integers' width from its build (USE64BITINT: ILP64)
            config.restype = ctypes.c_char_p
            wide = b"USE64BITINT" in (config() or b"")
            _gemm = (ctypes.cast(f, ctypes.c_void_p).value, wide)
    return _gemm


def warm():
    """Load the compiled kernels now rather than in the first op that uses one: numba's
    import, its runtime and each kernel's code (0.5-1 s and about 120 MB, once per process;
    each kernel compiled the first time on a machine). Returns the kernels module, or None
    when they are off or numba is missing. ``ember bench`` calls it before measuring a cell's
    memory, as it imports PyTorch before measuring PyTorch's."""
    k = kernels()
    if k is not None:
        k.warm(sgemm())
    return k


def set_enabled(flag):
    """Use the numba kernels (True, when installed), the NumPy paths only (False), or follow
    ``EMBER_NUMBA`` (None). Returns the previous setting. Results computed by a kernel differ
    from the NumPy path's by a few ulps where a kernel says so (e.g. the LSTM's gates)."""
    global _forced
    prev, _forced = _forced, flag
    return prev


def status() -> str:
    """One line for ``ember info``."""
    if not _wanted():
        return "off (EMBER_NUMBA=0)"
    k = kernels()
    if k is None:
        return ("not installed (pip install ember[fast]: compiled LSTM, GRU, embedding, "
                "few-channel convolution, full-grid col2im, 2x2 pool and batch-norm kernels)")
    import numba
    return (f"numba {numba.__version__} (compiled LSTM, GRU, embedding, few-channel "
            "convolution, full-grid col2im, 2x2 pool and batch-norm kernels; EMBER_NUMBA=0 turns "
            "them off)")
