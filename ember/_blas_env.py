"""How long OpenBLAS's idle worker threads busy-wait, set before NumPy loads OpenBLAS.

After each product it runs on several threads, OpenBLAS keeps its worker threads spinning on
their cores (x86: a loop of no-ops) until 2^OPENBLAS_THREAD_TIMEOUT clock cycles pass, 2^28 by
default: about 0.1 s. A kernel that runs its own second thread within that time (the
two-layer LSTM's wavefront, the plans' two-thread elementwise chains) shares the core with
a spinning worker: the text-lstm training step, compiled, took 256 ms against 218 ms with the
spin cut to 2^20 cycles (about 0.4 ms; the workers alternating in one A/B run), and its eager
step 274 against 221. A step whose threaded products follow each other closely keeps them
warm: mnist-mlp, mnist-cnn, cifar-lenet and ResNet-18 took the same time either way.

OpenBLAS reads the variable when it starts its worker threads, which it does as NumPy loads
it. When NumPy came first (``import numpy as np`` at the top of a script, before ``import
ember``), ember restarts the workers instead (restart_blas_workers: OpenBLAS's own exported
re-read of its variables, shutdown and start of its thread pool, as after a fork), when it
can find those functions and no other Python thread is running. A value in the environment
is kept (``OPENBLAS_THREAD_TIMEOUT=28`` restores OpenBLAS's default); ``EMBER_BLAS_TUNING=0``
leaves the variable alone. Nothing here imports NumPy.
"""
from __future__ import annotations

import os
import sys

VAR = "OPENBLAS_THREAD_TIMEOUT"
SPIN_LOG2_CYCLES = "20"

def limit_blas_spin(environ=None, modules=None) -> str:
    """Set OPENBLAS_THREAD_TIMEOUT for this process (and its children) unless it is set, turned
    off, or NumPy has already loaded OpenBLAS; returns which of these happened."""
    env = os.environ if environ is None else environ
    mods = sys.modules if modules is None else modules
    if env.get("EMBER_BLAS_TUNING", "1").strip() == "0":
        return "off"
    if VAR in env:
        return "environment"
    if "numpy" in mods:
        return "too late"
    env[VAR] = SPIN_LOG2_CYCLES
    return "ember"


# what happened when ember was imported: "ember" (set here), "environment" (the user's value),
# "off" (EMBER_BLAS_TUNING=0) or "too late" (NumPy was imported first)
state = limit_blas_spin()


# ---- OpenBLAS's worker threads, each on a core of its own ------------------------------------
# On x86 OpenBLAS's calling thread waits for its workers in a loop of no-ops. A worker that has
# gone to sleep (after the spin above) may be woken onto the very core where the caller waits,
# and then runs only at the scheduler's next tick: on this repository's 2-vCPU VM a threaded
# product after a pause took 9.8-13.8 ms instead of 0.2 (scratch measurements: pinning the
# caller alone did not help; the worker on the other core did: 0.26 ms). In `ember bench`'s
# pattern (a 0.25 s pause, one step, then the timed steps) ember's second step stalled 10-30 ms
# (LeNet batch 128 jit, second step after a 0.3 s pause, medians of 10: 46 -> 19 ms with the
# worker pinned; eager batch 8: 8.3 -> 2.65 ms; steady steps the same). NumPy's OpenBLAS is
# built without OpenBLAS's own thread affinity, because processes sharing a host would pin
# onto the same cores; so ember pins only the workers, only when it loaded OpenBLAS itself
# (the spin above was set), the process may use every core it is allowed, no launcher or
# thread-count variable says otherwise, and OpenBLAS made one worker per further core:
# worker i on the i+1-th allowed core, the calling thread left free. EMBER_BLAS_PIN=0 (or
# EMBER_BLAS_TUNING=0) leaves them alone.

# how many processes of a launched job share this host (torchrun; MPICH/Hydra, Open MPI,
# MVAPICH); backend/threads.py reads them too
LOCAL_RANKS_VARS = ("LOCAL_WORLD_SIZE", "MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE",
                    "MV2_COMM_WORLD_LOCAL_SIZE")
_LIMITING_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS") + LOCAL_RANKS_VARS


def _task_ids():
    try:
        return set(os.listdir("/proc/self/task"))
    except OSError:
        return None


_before = _task_ids() if state == "ember" and sys.platform.startswith("linux") else None
restarted = False  # whether restart_blas_workers set the spin after NumPy had loaded OpenBLAS


def _openblas_library():
    """The path of NumPy's OpenBLAS shared library in this process (Linux), or None: the one
    OpenBLAS loaded, or among several (SciPy's, which numba loads, beside it) the one in
    NumPy's wheel (numpy.libs)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return None
    paths = sorted(p for p in paths if ".so" in os.path.basename(p))
    if len(paths) > 1:
        paths = [p for p in paths if os.path.basename(os.path.dirname(p)) == "numpy.libs"]
    return paths[0] if len(paths) == 1 else None


def symbol(lib, base):
    """OpenBLAS's function ``base`` under its build's symbol prefix and suffix (scipy_...,
    ...64_), or None."""
    for name in (p + base + s for p in ("", "scipy_") for s in ("", "64_", "_64")):
        if hasattr(lib, name):
            return getattr(lib, name)
    return None


_lib = None


def numpy_openblas():
    """NumPy's OpenBLAS as a ctypes library (Linux), when it runs its own thread pool
    (openblas_get_parallel() == 1; not OpenMP's, whose threads neither the spin nor
    backend/threads.py governs), else None."""
    global _lib
    if _lib is None:
        path = _openblas_library()
        if path is None:
            return None
        import ctypes
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            return None
        parallel = symbol(lib, "openblas_get_parallel")
        if parallel is None or parallel() != 1:
            return None
        _lib = lib
    return _lib


def _restart_functions():
    """OpenBLAS's (openblas_read_env, blas_thread_shutdown_, blas_thread_init), when NumPy's
    OpenBLAS (numpy_openblas) exports them, else None."""
    lib = numpy_openblas()
    try:
        return None if lib is None else (lib.openblas_read_env, lib.blas_thread_shutdown_,
                                         lib.blas_thread_init)
    except AttributeError:
        return None


def restart_blas_workers() -> str:
    """When NumPy loaded OpenBLAS before ember (``state == "too late"``): set the spin as
    ``limit_blas_spin`` would, make OpenBLAS re-read its variables (``openblas_read_env``) and
    restart its worker threads (``blas_thread_shutdown_``, then ``blas_thread_init``, which
    reads the timeout), so that the workers wait as if ember had come first; the new workers
    are then pinned like the first ones. Only with one Python thread running (none can be in
    a BLAS call) and an OpenBLAS with its own thread pool that exports those functions;
    returns the new state."""
    global state, _before, restarted
    env = os.environ
    if state != "too late" or not sys.platform.startswith("linux") or \
            env.get("EMBER_BLAS_TUNING", "1").strip() == "0" or VAR in env:
        return state
    import threading
    if threading.active_count() > 1:
        return state
    fns = _restart_functions()
    if fns is None:
        return state
    read_env, stop, start = fns
    env[VAR] = SPIN_LOG2_CYCLES  # (os.environ sets the C environment too, which OpenBLAS reads)
    read_env()
    stop()
    _before = _task_ids()
    start()
    state, restarted = "ember", True
    return state


pin_state = "not applied"  # (ember info says which)
free_cpu = None  # the allowed core left to the calling thread when the workers were pinned


def pin_blas_workers(environ=None) -> str:
    """Pin the threads that appeared while NumPy loaded OpenBLAS (its workers) to the cores
    after the first allowed one, when the conditions above hold; returns what happened."""
    global pin_state, free_cpu
    env = os.environ if environ is None else environ
    if env.get("EMBER_BLAS_PIN", "1").strip() == "0" or state != "ember" or _before is None:
        pin_state = "off" if env.get("EMBER_BLAS_PIN", "1").strip() == "0" else \
            f"not applied (OpenBLAS's spin: {state})"
        return pin_state
    if any(env.get(v, "").strip() for v in _LIMITING_VARS):
        pin_state = "not applied (a thread-count or launcher variable is set)"
        return pin_state
    import threading
    cpus = sorted(os.sched_getaffinity(0))
    new = sorted((_task_ids() or set()) - _before - {str(threading.get_native_id())}, key=int)
    if len(cpus) < 2 or len(new) != len(cpus) - 1:
        pin_state = f"not applied ({len(new)} new threads for {len(cpus)} cores)"
        return pin_state
    try:
        for tid, cpu in zip(new, cpus[1:]):
            os.sched_setaffinity(int(tid), {cpu})
    except OSError as e:
        pin_state = f"not applied ({e})"
        return pin_state
    free_cpu = cpus[0]
    pin_state = f"{len(new)} worker(s) pinned to core(s) {cpus[1:]}"
    return pin_state


def _repin_after_fork():
    """``os.fork``'s parent side. OpenBLAS stops its workers before a fork (its own
    pthread_atfork handler) and starts new ones at its next threaded call, unpinned (a
    DataLoader's worker processes would unpin them every epoch): start them now and pin
    them again, when they were pinned and OpenBLAS has stopped them."""
    global _before
    if "pinned" not in pin_state:
        return
    fns = _restart_functions()
    if fns is None:
        return
    import ctypes
    try:
        if ctypes.c_int.in_dll(numpy_openblas(), "blas_server_avail").value:
            return
    except ValueError:  # (not exported)
        return
    _before = _task_ids()
    fns[2]()  # blas_thread_init
    pin_blas_workers()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_parent=_repin_after_fork)
