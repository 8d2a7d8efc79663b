"""Launching worker scripts under MPI for the distributed tests."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "workers")


def need_mpi():
    pytest.importorskip("mpi4py")
    from ember.distributed.launch import find_mpiexec
    try:
        return find_mpiexec()
    except FileNotFoundError as e:
        pytest.skip(str(e))


def run_ranks(script, *args, n=2, timeout=120, env=None):
    """Run ``workers/<script>`` on ``n`` ranks; returns the CompletedProcess (text output)."""
    mpiexec = need_mpi()
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    e["OMP_NUM_THREADS"] = e["OPENBLAS_NUM_THREADS"] = "1"  # 2 ranks on a shared 2-core box
    e.update(env or {})
    cmd = [mpiexec, "-n", str(n), sys.executable, os.path.join(WORKERS, script), *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e,
                              cwd=ROOT)
    except subprocess.TimeoutExpired as ex:
        pytest.fail(f"{script} on {n} ranks did not finish in {timeout}s (a hang):\n"
                    f"{ex.stdout}\n{ex.stderr}")


def check_ok(proc, marker):
    assert proc.returncode == 0 and marker in proc.stdout, \
        f"exit code {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
