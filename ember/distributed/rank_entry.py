"""The first code each rank runs under ``ember run``: torchrun's environment, then the script.

``ember run -n N script.py args`` starts ``python -m ember.distributed.rank_entry script.py
args`` on every rank (through ``mpiexec``). This sets the variables torchrun gives its
workers -- ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` -- from what the MPI
launcher put in the environment (:func:`ember.distributed.launch.torchrun_env`), then runs the
script as ``__main__`` (``sys.argv`` and ``sys.path[0]`` as ``python script.py args`` would
have them), or a module with ``-m module args``. So a PyTorch script that reads
``os.environ["LOCAL_RANK"]`` before ``init_process_group()`` runs unchanged.

Like every process of the ``ember`` command, a rank keeps freed memory for reuse
(``ember.backend.keep_freed_memory``; ``EMBER_MALLOC_TUNING=0`` turns it off): without it each
training step's large arrays page-fault in afresh (measured: ~3000 minor faults and about
twice the time per LeNet step of a compiled model).
"""
from __future__ import annotations

import os
import runpy
import sys

from .launch import torchrun_env


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.update(torchrun_env(os.environ))
    if os.environ.get("EMBER_MALLOC_TUNING", "1") != "0":
        from ..backend import keep_freed_memory
        keep_freed_memory()
    if not argv:
        print("ember.distributed.rank_entry: give a script (or -m module) to run",
              file=sys.stderr)
        return 2
    if argv[0] == "-m":
        if len(argv) < 2:
            print("ember.distributed.rank_entry: -m needs a module name", file=sys.stderr)
            return 2
        sys.argv = [argv[1]] + argv[2:]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        return 0
    script = argv[0]
    sys.argv = argv
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
