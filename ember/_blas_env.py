"""How long OpenBLAS's idle worker threads busy-wait, set before NumPy loads OpenBLAS.

After each product it runs on several threads, OpenBLAS keeps its worker threads spinning on
their cores (x86: a loop of no-ops) until 2^OPENBLAS_THREAD_TIMEOUT clock cycles pass, 2^28 by
default: about 0.1 s. A kernel that runs its own second thread within that time (the
two-layer LSTM's wavefront, the plans' two-thread elementwise chains) shares the core with
a spinning worker: the text-lstm training step, compiled, took 256 ms against 218 ms with the
spin cut to 2^20 cycles (about 0.4 ms; the workers alternating in one A/B run), and its eager
step 274 against 221. A step whose threaded products follow each other closely keeps them
warm: mnist-mlp, mnist-cnn, cifar-lenet and ResNet-18 took the same time either way.

OpenBLAS reads the variable once, when it is loaded, so this works only when ember is
imported before NumPy (the ``ember`` command always is). A value in the environment is kept
(``OPENBLAS_THREAD_TIMEOUT=28`` restores OpenBLAS's default); ``EMBER_BLAS_TUNING=0`` leaves
the variable alone. Nothing here imports NumPy.
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
pin_state = "not applied"  # (ember info says which)


def pin_blas_workers(environ=None) -> str:
    """Pin the threads that appeared while NumPy loaded OpenBLAS (its workers) to the cores
    after the first allowed one, when the conditions above hold; returns what happened."""
    global pin_state
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
    pin_state = f"{len(new)} worker(s) pinned to core(s) {cpus[1:]}"
    return pin_state
