"""Array backends, one per device type: ``cpu`` (NumPy, the default; ``numpy_backend.py``),
``meta`` (shapes only; ``meta.py``) and ``strict`` (a test device; ``strict.py``). ``base.py``
holds the registry, the ``device`` class and :func:`namespace`, which every primitive's
``impl`` calls to get its inputs' array namespace. Kernels NumPy lacks are in ``kernels.py``;
this module also keeps the CPU allocator setting and BLAS information.
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

name = "numpy"

allocator_tuned = False
huge_pages_advised = True  # NumPy's default: madvise(MADV_HUGEPAGE) on large arrays


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory in the process instead of handing it back.

    By default glibc serves large arrays with fresh mmap calls and trims the heap after
    frees, so every training step's activations (same sizes each step) page-fault in anew;
    on a virtual machine those faults cost more than the arithmetic (mnist-cnn jit step
    ~50 -> ~25 ms here; PyTorch in the same process gains alike). With no mmap for large
    blocks and no trimming, freed blocks are reused, as a caching allocator would; the price
    is that the process keeps its peak heap. It changes the allocator of the whole process,
    so importing ember does not call it: the ``ember`` command (``train``, ``bench``,
    ``info``) calls it unless the environment sets EMBER_MALLOC_TUNING=0; a training script
    may call it itself. Returns whether it took effect (glibc only); ``allocator_tuned``
    tells whether it is on. It narrows the caching pool, the cure for the arrays ember
    allocates when the allocator is left as it is, to huge arrays (``pool.huge_only``), whose
    freed blocks malloc would otherwise cut up for smaller ones."""
    global allocator_tuned
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    allocator_tuned = bool(mallopt(m_mmap_threshold, 1 << 30)) and \
        bool(mallopt(m_trim_threshold, (1 << 31) - 1))
    if allocator_tuned:  # malloc now keeps and reuses freed memory itself: for most arrays
        # the caching pool (pool.py) would only hold a second cache beside it (more peak
        # memory, no fewer page faults), so they come from malloc again; huge ones stay
        pool.huge_only()
        plain_pages()
    return allocator_tuned


def plain_pages() -> bool:
    """Stop NumPy from asking Linux for transparent huge pages for its large arrays (it calls
    madvise(MADV_HUGEPAGE) on each by default), unless the environment chose itself
    (NUMPY_MADVISE_HUGEPAGE). Once malloc keeps freed memory (:func:`keep_freed_memory`),
    each page is faulted in once per process, and the huge pages' gain is small; but under
    the kernel's usual ``defrag=madvise`` a huge-page fault on a host whose memory is
    fragmented compacts memory first, which stalls without bound: one fresh 411 MB array
    (VGG-11's classifier gradient) took 0.84 s to write instead of 0.11-0.30 s, and
    VGG-11's first training step 3.6 s (eager; jit 2.3 s) instead of 1.1 s (1.5 s), with
    the steady steps unchanged within noise (mnist-cnn, LeNet at batch 128, ResNet-18, one
    thread CPU). Returns whether the setting was changed."""
    if os.environ.get("NUMPY_MADVISE_HUGEPAGE", "").strip():
        return False
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is None:
        return False
    setter(False)
    global huge_pages_advised
    huge_pages_advised = False
    return True


from .base import (Backend, available, backend_of, default_device, device, device_of,  # noqa: E402,F401
                   get, namespace, register, set_default_device)
from .kernels import erf  # noqa: E402,F401
from . import numpy_backend, meta, strict  # noqa: E402,F401  (each registers its backend)
from . import pool  # noqa: E402,F401  (the CPU backend's caching pool)

xp = numpy_backend.backend.xp  # the CPU namespace
MetaArray = meta.MetaArray


def blas_info() -> dict:
    """Which BLAS NumPy uses, its kernel (the CPU family OpenBLAS chose, via threadpoolctl when
    installed) and how many threads (best effort)."""
    info = {"numpy": np.__version__}
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # pragma: no cover
        info["blas"] = "unknown"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
        info["threads"] = int(env) if env and env.isdigit() else os.cpu_count()
    else:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            info["threads"] = pools[0].get("num_threads")
            info["kernel"] = pools[0].get("architecture")
    return info


# OpenBLAS kernels (its names for CPU families) that use AVX2 and FMA
_AVX2_KERNELS = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"}


def cpu_flags() -> set:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


_AVX512 = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}  # what SkylakeX needs


def blas_kernel_warning(kernel, flags, env=None):
    """A warning when OpenBLAS runs a kernel older than this CPU supports (None when fine or
    unknown). A forced ``OPENBLAS_CORETYPE=Prescott`` makes sgemm ~4x slower here, and a
    forced ``Haswell`` on an AVX-512 CPU ~1.8x (512^3 sgemm 1.47 vs 0.73 ms on an AMD EPYC).

    >>> ember.backend.blas_kernel_warning("Haswell", {"avx2", "fma"}) is None
    True
    >>> print(ember.backend.blas_kernel_warning("Katmai", {"avx2", "fma"}, {}))
    BLAS kernel Katmai does not use this CPU's AVX2/FMA: matrix products run several times slower than they could. Unset OPENBLAS_CORETYPE, or set it to Haswell
    """
    flags = set(flags)
    if not kernel:
        return None
    env = os.environ if env is None else env
    forced = env.get("OPENBLAS_CORETYPE")
    cause = (f" (OPENBLAS_CORETYPE={forced} is set)" if forced else "")
    if _AVX512 <= flags and kernel.lower() in ("haswell", "zen"):
        fix = "Unset OPENBLAS_CORETYPE, or set it to SkylakeX" if forced else \
            "An OpenBLAS that knows this CPU (a newer NumPy) would use it"
        return (f"BLAS kernel {kernel}{cause} does not use this CPU's AVX-512: single-precision "
                f"matrix products run ~1.8x slower than they could. {fix}")
    if not {"avx2", "fma"} <= flags or kernel.lower() in _AVX2_KERNELS:
        return None
    return (f"BLAS kernel {kernel}{cause} does not use this CPU's AVX2/FMA: matrix products run "
            f"several times slower than they could. Unset OPENBLAS_CORETYPE, or set it to Haswell")
