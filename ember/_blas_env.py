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
