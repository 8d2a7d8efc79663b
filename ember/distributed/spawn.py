"""Spawn-launched worlds: ``ember.multiprocessing.spawn(fn, args, nprocs)`` over MPI.

PyTorch programs such as ``ddp-tutorial-series/multigpu.py`` start their ranks themselves::

    mp.spawn(main, args=(world_size,), nprocs=world_size)   # in the parent
    init_process_group("gloo", rank=rank, world_size=world_size)   # in each child

torch's children meet at MASTER_ADDR:MASTER_PORT. MPI processes started one by one cannot
form one world (MPICH's singletons cannot even connect to each other), so the parent starts
the children the way ``ember run`` starts ranks: one ``mpiexec -n nprocs`` job. Each child
is rank ``i`` of that job's ``MPI_COMM_WORLD``; ``fn(i, *args)`` runs in it, and its
``init_process_group(rank=i, world_size=nprocs)`` joins that world (MASTER_ADDR/PORT are not
needed). The parent is not a rank: it waits for the job.

How ``fn`` and ``args`` reach the children: pickled (multiprocessing's pickler, so shared
tensors and other resources travel as with ``spawn``) into a file per rank of a temporary
folder,
with multiprocessing's preparation data (``sys.path``, the working folder, the main module,
which each child imports as ``__mp_main__`` exactly as Python's ``spawn`` does, so a
``main`` defined in the script unpickles). Each child writes ``rank<i>.ok`` when ``fn``
returned, or ``rank<i>.err`` (the traceback) when it raised; a failing child then exits
with code 1, so the MPI launcher stops the others (no rank waits forever in a collective),
and the parent raises ``ProcessRaisedException`` naming the failing rank.

Exit codes as ``torch.multiprocessing.spawn`` reports them (``ProcessExitedException`` with
``error_index``, ``exit_code`` and ``signal_name``): a rank whose ``fn`` ends the process
(``sys.exit(3)``, ``raise SystemExit("message")``: code 1 and the message on stderr, as
Python) writes its code to ``rank<i>.exit`` first: exact, ``exit_code`` the code the OS
reports (modulo 256). A rank killed by a fatal signal Python can trap (SIGSEGV, SIGFPE,
SIGABRT, SIGBUS, SIGILL: faulthandler writes ``rank<i>.fault`` before the signal ends the
process): exact, ``exit_code`` minus the signal number, ``signal_name`` its name. Not exact,
because nothing of the rank runs to tell: a rank that ends without Python's exit
(``os._exit(n)``, a C library's ``exit``) or by a signal nothing can trap (SIGKILL, e.g. the
OOM killer; SIGTERM): the exit code is mpiexec's, which MPICH's Hydra sets to the failing
rank's exit code or, for a signal, the signal's number (so ``os._exit(9)`` and SIGKILL both
give 9, reported as exit code 9), and the rank is the first without ``rank<i>.ok`` (torch
knows both from each child's wait status; the parent here is not the ranks' parent, mpiexec's
proxy is).

As under ``ember run``, each rank gets its share of the cores for BLAS (``OMP_NUM_THREADS``
= cores // nprocs unless the environment sets a thread count): every rank's BLAS taking
all the cores would oversubscribe them.
"""
from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback

# variables through which an MPI launcher places a process in its job: a spawn from inside a
# rank must not hand them to the nested job's processes
_LAUNCHER_PREFIXES = ("PMI_", "PMIX_", "HYDRA_", "HYDI_", "MPIR_", "OMPI_", "MV2_",
                      "MPI_LOCAL", "I_MPI_", "SLURM_STEP", "EMBER_DIST_MPI")


def mpi_spawn_available() -> bool:
    """Whether :func:`start` can run: mpi4py installed and an ``mpiexec`` found (and
    ``EMBER_SPAWN`` is not ``python``, which keeps Python's own process start)."""
    if os.environ.get("EMBER_SPAWN", "").lower() == "python":
        return False
    try:
        import mpi4py  # noqa: F401
        from .launch import find_mpiexec
        find_mpiexec()
    except (ImportError, FileNotFoundError):
        return False
    return True


def _child_environment():
    from .launch import child_env
    env = child_env()
    for k in list(env):
        if k.startswith(_LAUNCHER_PREFIXES):
            del env[k]
    return env


class MPIProcessContext:
    """The ranks started by :func:`start` (``ProcessContext``'s interface): ``join()`` waits
    for the job and raises the first failing rank's error; ``pids()`` lists the ranks'
    process ids (known once each child has started)."""

    def __init__(self, popen, folder, nprocs, errors):
        self.popen, self.folder, self.nprocs = popen, folder, nprocs
        self.raised, self.exited = errors  # ember.multiprocessing's exception classes
        self._done = False

    def pids(self):
        out = []
        for i in range(self.nprocs):
            try:
                with open(os.path.join(self.folder, f"rank{i}.pid")) as f:
                    out.append(int(f.read()))
            except (OSError, ValueError):
                out.append(None)
        return out

    def join(self, timeout=None):
        """Wait for every rank (at most ``timeout`` seconds: False if they are still
        running). True when all ended well; else the failure is raised here."""
        if self._done:
            return True
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        except KeyboardInterrupt:
            self._stop()
            raise
        try:
            self._check(code)
        finally:
            self._done = True
            shutil.rmtree(self.folder, ignore_errors=True)
        return True

    def _stop(self):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
        self._done = True

    def _records(self):
        """(time, rank, kind, text) of what the ranks wrote on failing: "err" (a traceback),
        "exit" (the code of a SystemExit), "fault" (faulthandler's report of a fatal
        signal); the first to fail first (the others may fail because of it)."""
        out = []
        for i in range(self.nprocs):
            for kind in ("err", "exit", "fault"):
                path = os.path.join(self.folder, f"rank{i}.{kind}")
                try:
                    with open(path) as f:
                        text = f.read()
                    when = os.path.getmtime(path)
                except OSError:
                    continue
                if kind != "fault" or text.strip():  # (the fault file exists from the start)
                    out.append((when, i, kind, text))
        return sorted(out)

    def _check(self, code):
        ProcessRaisedException, ProcessExitedException = self.raised, self.exited
        pids = self.pids()
        records = self._records()
        if records:
            _, i, kind, text = records[0]
            if kind == "err":
                raise ProcessRaisedException(f"\n\n-- Process {i} terminated with the "
                                             f"following error:\n{text}", i, pids[i])
            if kind == "exit":
                status = int(text)
                raise ProcessExitedException(f"process {i} terminated with exit code {status}",
                                             i, pids[i], status)
            num = _fault_signal(text, code)
            name = signal.Signals(num).name
            raise ProcessExitedException(f"process {i} terminated with signal {name}", i,
                                         pids[i], -num, name)
        missing = [i for i in range(self.nprocs)
                   if not os.path.exists(os.path.join(self.folder, f"rank{i}.ok"))]
        if code == 0 and not missing:
            return
        i = missing[0] if missing else 0
        if code < 0 or code > 128:  # the launcher killed, or reports a rank killed by a signal
            num = -code if code < 0 else code - 128
            try:
                name = signal.Signals(num).name
            except ValueError:
                name = f"signal {num}"
            raise ProcessExitedException(f"process {i} terminated with signal {name}", i,
                                         pids[i], -num, name)
        if code == 0:
            code = 1  # a rank ended without finishing fn and the launcher said nothing
        raise ProcessExitedException(f"process {i} terminated with exit code {code}", i,
                                     pids[i], code)


# faulthandler's words for the fatal signals it traps
_FAULTS = (("Segmentation fault", signal.SIGSEGV), ("Floating", signal.SIGFPE),
           ("Aborted", signal.SIGABRT), ("Bus error", signal.SIGBUS),
           ("Illegal instruction", signal.SIGILL))


def _fault_signal(text, code):
    """The signal number faulthandler's report ``text`` names (else mpiexec's ``code``, which
    Hydra sets to a signalled rank's signal number)."""
    for words, sig in _FAULTS:
        if f"Fatal Python error: {words}" in text:
            return int(sig)
    return code if 0 < code < 65 else int(signal.SIGSEGV)


def start(fn, args, nprocs, join, errors):
    """Run ``fn(i, *args)`` as rank ``i`` of a new ``nprocs``-rank MPI job (the module
    docstring); with ``join`` wait for it (raising a rank's failure here, as one of
    ``errors`` = (ProcessRaisedException, ProcessExitedException)), else return the
    :class:`MPIProcessContext`."""
    from multiprocessing import spawn as mp_spawn
    from multiprocessing.reduction import ForkingPickler
    from .launch import find_mpiexec, limit_rank_threads
    folder = tempfile.mkdtemp(prefix="ember-spawn-")
    try:
        prep = mp_spawn.get_preparation_data("ember-spawn")
        prep["authkey"] = bytes(prep["authkey"])  # the folder is this user's only (0700)
        for i in range(nprocs):
            # pickled once per rank: a resource that travels as a one-time grant (a shared
            # tensor's descriptor through multiprocessing's resource sharer) needs its own
            payload = {"prep": prep, "task": bytes(ForkingPickler.dumps((fn, tuple(args))))}
            with open(os.path.join(folder, f"payload{i}.pkl"), "wb") as f:
                pickle.dump(payload, f)
        cmd = [find_mpiexec(), "-n", str(nprocs), sys.executable, "-m",
               "ember.distributed.spawn", folder]
        env = _child_environment()
        limit_rank_threads(env, nprocs)  # each rank's BLAS its share of the cores
        popen = subprocess.Popen(cmd, env=env)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    ctx = MPIProcessContext(popen, folder, nprocs, errors)
    if not join:
        return ctx
    ctx.join()
    return None


def _child_main(folder):
    """A spawned rank: restore the parent's setting, run ``fn(rank, *args)``, report."""
    from multiprocessing import spawn as mp_spawn
    from .launch import torchrun_env
    rank = int(torchrun_env(os.environ).get("RANK", "0"))
    with open(os.path.join(folder, f"rank{rank}.pid"), "w") as f:
        f.write(str(os.getpid()))
    import faulthandler
    # a fatal signal (SIGSEGV, ...) writes its name here before it ends the process
    fault = open(os.path.join(folder, f"rank{rank}.fault"), "w")  # noqa: SIM115 (kept open)
    faulthandler.enable(file=fault, all_threads=False)
    try:
        with open(os.path.join(folder, f"payload{rank}.pkl"), "rb") as f:
            payload = pickle.load(f)
        mp_spawn.prepare(payload["prep"])
        fn, args = pickle.loads(payload["task"])
        if os.environ.get("EMBER_MALLOC_TUNING", "1") != "0":
            from ..backend import keep_freed_memory
            keep_freed_memory()
        fn(rank, *args)
    except KeyboardInterrupt:
        os._exit(130)
    except SystemExit as e:  # as a process ending: its code is the rank's exit code
        if e.code not in (None, 0):
            if isinstance(e.code, int):
                status = e.code & 0xFF  # what the OS reports of it
            else:  # Python prints the message and exits with 1
                print(e.code, file=sys.stderr)
                status = 1
            if status:
                _record(folder, rank, "exit", str(status))
                _flush()
                os._exit(status)
    except BaseException:
        _report(folder, rank, traceback.format_exc())
    with open(os.path.join(folder, f"rank{rank}.ok"), "w") as f:
        f.write("ok")
    _flush()
    return 0


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _record(folder, rank, kind, text):
    """Write ``rank<rank>.<kind>`` whole (the parent never reads half of it)."""
    tmp = os.path.join(folder, f"rank{rank}.{kind}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(folder, f"rank{rank}.{kind}"))


def _report(folder, rank, text):
    """Write the traceback where the parent reads it, then end this rank at once with code
    1 (the launcher stops the others; MPI_Finalize could wait for them)."""
    _record(folder, rank, "err", text)
    _flush()
    os._exit(1)


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
