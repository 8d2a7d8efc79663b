"""``ember.multiprocessing``: Python's :mod:`multiprocessing` under ``torch.multiprocessing``'s
name, plus :func:`spawn` / :func:`start_processes`, which run ``fn(i, *args)`` in ``nprocs``
fresh processes and, when one fails, stop the others and raise its error and traceback in
the parent.

Tensors cross processes by pickling (their bytes are copied); a tensor after
``share_memory_()`` lives in a shared mapping that child processes created with the ``fork``
start method see and write.
"""
from __future__ import annotations

import multiprocessing as _mp
import signal
import traceback
from multiprocessing import *  # noqa: F401,F403

__all__ = [n for n in _mp.__all__] + ["spawn", "start_processes", "ProcessContext",
                                      "ProcessRaisedException", "ProcessExitedException"]


class ProcessException(Exception):
    def __init__(self, msg, error_index, pid):
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised: the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a non-zero code (or was killed by a signal)."""

    def __init__(self, msg, error_index, pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                            self.signal_name)


def _wrap(fn, i, args, error_queue, nprocs=None):
    if nprocs is not None:  # spawn() without MPI: init_process_group explains what to install
        import os
        os.environ["EMBER_SPAWNED_WITHOUT_MPI"] = str(nprocs)
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass
    except Exception:
        error_queue.put(traceback.format_exc())
        raise SystemExit(1)


class ProcessContext:
    """The processes started by :func:`start_processes`; ``join()`` waits for them."""

    def __init__(self, processes, error_queues):
        self.processes, self.error_queues = processes, error_queues

    def pids(self):
        return [p.pid for p in self.processes]

    def join(self, timeout=None):
        """Wait for the processes; True when all have ended well. On the first failure the
        others are terminated and the failure is raised here (ProcessRaisedException with the
        child's traceback, or ProcessExitedException for an exit code or signal)."""
        from multiprocessing.connection import wait
        alive = [p for p in self.processes if p.exitcode is None]
        while alive:
            ready = wait([p.sentinel for p in alive], timeout=timeout)
            if not ready:
                return False
            failed = next((i for i, p in enumerate(self.processes)
                           if p.exitcode not in (None, 0)), None)
            if failed is not None:
                self._stop_all()
                self._raise(failed)
            alive = [p for p in self.processes if p.exitcode is None]
        failed = next((i for i, p in enumerate(self.processes) if p.exitcode != 0), None)
        if failed is not None:
            self._raise(failed)
        return True

    def _stop_all(self):
        for p in self.processes:
            if p.is_alive():
                p.terminate()
        for p in self.processes:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join()

    def _raise(self, i):
        p = self.processes[i]
        q = self.error_queues[i]
        if not q.empty():
            tb = q.get()
            raise ProcessRaisedException(f"\n\n-- Process {i} terminated with the following "
                                         f"error:\n{tb}", i, p.pid)
        code = p.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            raise ProcessExitedException(f"process {i} terminated with signal {name}", i,
                                         p.pid, code, name)
        raise ProcessExitedException(f"process {i} terminated with exit code {code}", i,
                                     p.pid, code)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in a new process started
    with ``start_method``. With ``join`` wait for all (raising the first failure here);
    otherwise return the :class:`ProcessContext`.

    With the ``spawn`` method and MPI available (the ``ember[dist]`` extra), the processes
    are the ranks of one MPI job (``ember.distributed.spawn``), so ``fn`` may call
    ``ember.distributed.init_process_group(rank=i, world_size=nprocs)`` and use the
    collectives, as PyTorch programs launched with ``mp.spawn`` do; ``EMBER_SPAWN=python``
    starts them with Python's ``multiprocessing`` instead (then each is a world of one)."""
    if not isinstance(nprocs, int) or nprocs < 1:
        raise ValueError(f"spawn: nprocs must be at least 1, got {nprocs}")
    if start_method == "spawn":
        from .distributed import spawn as mpi_spawn
        if mpi_spawn.mpi_spawn_available():
            return mpi_spawn.start(fn, args, nprocs, join,
                                   (ProcessRaisedException, ProcessExitedException))
    ctx = _mp.get_context(start_method)
    processes, queues = [], []
    for i in range(nprocs):
        q = ctx.SimpleQueue()
        p = ctx.Process(target=_wrap, args=(fn, i, tuple(args), q,
                                            nprocs if start_method == "spawn" else None),
                        daemon=daemon)
        p.start()
        processes.append(p)
        queues.append(q)
    context = ProcessContext(processes, queues)
    if not join:
        return context
    context.join()
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """``torch.multiprocessing.spawn``: :func:`start_processes` with the ``spawn`` method."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)


def get_sharing_strategy():
    return "file_descriptor"


def set_sharing_strategy(strategy):
    if strategy not in ("file_descriptor", "file_system"):
        raise ValueError(f"set_sharing_strategy: unknown strategy {strategy!r}")


def get_all_sharing_strategies():
    return {"file_descriptor", "file_system"}
