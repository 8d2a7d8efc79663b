"""Launching ranks: find ``mpiexec`` and build the command ``ember run -n N`` runs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig


def find_mpiexec(explicit=None):
    """The ``mpiexec`` to use: ``explicit``, ``$EMBER_MPIEXEC``, the one next to this Python
    (the mpich wheel installs it there), or the first on ``PATH``."""
    for cand in (explicit, os.environ.get("EMBER_MPIEXEC")):
        if cand:
            path = shutil.which(cand)
            if path is None:
                raise FileNotFoundError(f"ember run: mpiexec {cand!r} was not found")
            return path
    dirs = [os.path.dirname(sys.executable), sysconfig.get_path("scripts")]
    for d in dirs:
        p = os.path.join(d, "mpiexec")
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    path = shutil.which("mpiexec") or shutil.which("mpirun")
    if path is None:
        raise FileNotFoundError(
            "ember run: no mpiexec found (looked next to this Python and on PATH); install MPI "
            "with pip install 'ember[dist]' (mpi4py and mpich wheels) or your system's MPI, or "
            "name one with --mpiexec / EMBER_MPIEXEC")
    return path


def _is_open_mpi(mpiexec):
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Open MPI" in out or "OpenRTE" in out


def mpiexec_command(nproc, argv, hostfile=None, mpiexec=None, python=None, module=False):
    """The argument list that starts ``nproc`` ranks of ``python argv...`` (``python -m argv``
    with ``module=True``)."""
    if not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"ember run: -n must be a positive number of processes, got {nproc!r}")
    exe = find_mpiexec(mpiexec)
    cmd = [exe, "-n", str(nproc)]
    if hostfile is not None:
        if not os.path.isfile(hostfile):
            raise FileNotFoundError(f"ember run: hostfile {hostfile!r} does not exist (one host "
                                    f"per line, e.g. 'node1:2' for two ranks on node1)")
        cmd += ["-hostfile", hostfile]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and _is_open_mpi(exe):
        cmd.append("--allow-run-as-root")
    # each rank first sets torchrun's variables (RANK, LOCAL_RANK, ...), then runs argv
    cmd += [python or sys.executable, "-m", "ember.distributed.rank_entry"]
    if module:
        cmd.append("-m")
    return cmd + list(argv)


def run(nproc, argv, hostfile=None, mpiexec=None, module=False, echo=print):
    """Start ``nproc`` ranks and wait for them; returns mpiexec's exit code."""
    cmd = mpiexec_command(nproc, argv, hostfile=hostfile, mpiexec=mpiexec, module=module)
    env = child_env()
    note = limit_rank_threads(env, nproc, hostfile)
    echo("ember run: " + " ".join(_quote(c) for c in cmd))
    if note:
        echo("ember run: " + note)
    sys.stdout.flush()
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def limit_rank_threads(env, nproc, hostfile=None):
    """Give each of ``nproc`` ranks its share of the cores for BLAS/OpenMP threads, as
    torchrun does (it sets OMP_NUM_THREADS=1 for several processes per node): unless ``env``
    already sets one of :data:`THREAD_VARS`, set ``OMP_NUM_THREADS`` to the cores of this
    machine divided by the ranks (1 with a hostfile: how many ranks share a host is the
    hostfile's business). Every rank's BLAS taking all the cores oversubscribes them: its
    threads spin against each other (measured: a 2-rank LeNet DDP step on 2 cores ran 7x
    slower). ember's kernel threads follow ``OMP_NUM_THREADS`` too
    (``backend.threads.thread_budget``). Returns a line saying what was set (None when nothing
    was)."""
    if nproc <= 1 or any(env.get(v) for v in THREAD_VARS):
        return None
    cores = _cores()
    n = 1 if hostfile else max(1, cores // nproc)
    env["OMP_NUM_THREADS"] = str(n)
    where = "per rank" if hostfile else f"per rank ({nproc} ranks on {cores} cores)"
    return (f"OMP_NUM_THREADS={n} {where} for BLAS; set OMP_NUM_THREADS to choose another "
            f"number")


def child_env():
    """The environment of the ranks: this one, with the folder holding the ``ember`` package
    this launcher runs first on PYTHONPATH (so the ranks import the same ember, also from a
    source checkout)."""
    import ember
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__)))
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in parts:
        env["PYTHONPATH"] = os.pathsep.join([root] + parts)
    return env


# where MPI launchers put a rank's place: (rank, world size, rank on its host, ranks on its
# host), first match wins (MPICH/Hydra and Intel MPI; Open MPI; MVAPICH; Slurm's srun)
_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "PMIX_RANK",
              "SLURM_PROCID")
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_NTASKS")
_LOCAL_RANK_VARS = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK",
                    "MV2_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")
_LOCAL_SIZE_VARS = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE",
                    "MV2_COMM_WORLD_LOCAL_SIZE")


def torchrun_env(environ):
    """torchrun's per-worker variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
    ``LOCAL_WORLD_SIZE``) from an MPI launcher's ``environ``; those the launcher does not tell
    are left out."""
    def first(names):
        for n in names:
            v = environ.get(n)
            if v not in (None, "") and v.lstrip("-").isdigit():
                return int(v)
        return None
    rank, size = first(_RANK_VARS), first(_SIZE_VARS)
    local_rank, local_size = first(_LOCAL_RANK_VARS), first(_LOCAL_SIZE_VARS)
    out = {}
    for k, v in (("RANK", rank), ("WORLD_SIZE", size), ("LOCAL_RANK", local_rank),
                 ("LOCAL_WORLD_SIZE", local_size)):
        if v is not None:
            out[k] = str(v)
    return out


def _quote(s):
    import shlex
    return shlex.quote(s)
