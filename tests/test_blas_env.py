"""ember/_blas_env.py: OPENBLAS_THREAD_TIMEOUT set when ember is imported before NumPy, and
OpenBLAS's worker threads pinned one per further core."""
import os
import subprocess
import sys

import pytest

import ember
from ember import _blas_env
from ember.bench import runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_sets_the_spin_when_numpy_is_not_loaded():
    env = {}
    assert _blas_env.limit_blas_spin(env, {}) == "ember"
    assert env == {"OPENBLAS_THREAD_TIMEOUT": "20"}


def test_keeps_a_value_from_the_environment():
    env = {"OPENBLAS_THREAD_TIMEOUT": "28"}
    assert _blas_env.limit_blas_spin(env, {}) == "environment"
    assert env == {"OPENBLAS_THREAD_TIMEOUT": "28"}


def test_turned_off():
    env = {"EMBER_BLAS_TUNING": "0"}
    assert _blas_env.limit_blas_spin(env, {}) == "off"
    assert "OPENBLAS_THREAD_TIMEOUT" not in env


def test_too_late_once_numpy_is_loaded():
    env = {}
    assert _blas_env.limit_blas_spin(env, {"numpy": object()}) == "too late"
    assert env == {}  # not set: it would not act in this process


def _child(code, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_THREAD_TIMEOUT", "EMBER_BLAS_TUNING")}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


PROBE = "import os, ember; print(ember._blas_env.state, os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"


def test_importing_ember_first_sets_it():
    assert _child(PROBE) == ["ember", "20"]


def _exports_restart():
    """Whether this process's OpenBLAS has what restart_blas_workers calls."""
    return _blas_env._restart_functions() is not None


RESTART_PROBE = (
    "import threading, numpy, os, ctypes; before = set(os.listdir('/proc/self/task')); "
    "import ember; from ember import _blas_env as b; print(b.state, b.restarted, "
    "os.environ.get('OPENBLAS_THREAD_TIMEOUT')); "
    "lib = ctypes.CDLL(b._openblas_library()); print(lib.openblas_thread_timeout()); "
    "after = set(os.listdir('/proc/self/task')); "
    "print(len(before - after), len(after - before)); a = numpy.ones((300, 300)); "
    "print(float((a @ a)[0, 0]))")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps: Linux")
def test_importing_numpy_first_restarts_the_workers_with_the_spin():
    out = _child(RESTART_PROBE)
    if not _exports_restart():  # (an OpenBLAS without those functions: left as it is)
        assert out[:3] == ["too", "late", "None"]
        return
    assert out[:3] == ["ember", "True", "20"]
    assert out[3] == "20"  # what OpenBLAS read: its workers now wait 2^20 cycles
    workers = len(os.sched_getaffinity(0)) - 1
    assert out[4:6] == [str(workers), str(workers)]  # the old workers gone, new ones made
    assert out[6] == "300.0"  # and products still work on them


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps: Linux")
def test_no_restart_with_another_python_thread_or_when_turned_off():
    busy = ("import threading, time, numpy; t = threading.Thread(target=time.sleep, "
            "args=(3,)); t.start(); ")
    assert _child(busy + PROBE) == ["too", "late", "None"]
    assert _child("import numpy; " + PROBE, EMBER_BLAS_TUNING="0") == ["off", "None"]
    assert _child("import numpy; " + PROBE, OPENBLAS_THREAD_TIMEOUT="24") == [
        "environment", "24"]


def test_user_value_and_opt_out():
    assert _child(PROBE, OPENBLAS_THREAD_TIMEOUT="24") == ["environment", "24"]
    assert _child(PROBE, EMBER_BLAS_TUNING="0") == ["off", "None"]


def test_isolated_bench_cells_of_other_frameworks_keep_blas_defaults(monkeypatch):
    monkeypatch.setattr(_blas_env, "state", "ember")
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "20")
    torch_env = runner._cell_env("torch-eager")
    assert "OPENBLAS_THREAD_TIMEOUT" not in torch_env
    assert torch_env["EMBER_BLAS_TUNING"] == "0"
    assert runner._cell_env("ember-jit")["OPENBLAS_THREAD_TIMEOUT"] == "20"
    # a value the user chose stays, for every framework
    monkeypatch.setattr(_blas_env, "state", "environment")
    assert runner._cell_env("numpy")["OPENBLAS_THREAD_TIMEOUT"] == "20"
    assert ember._blas_env is _blas_env


# OpenBLAS's workers pinned, one per further core (ember/_blas_env.pin_blas_workers)
PIN_PROBE = ("import os, threading, ember; me = threading.get_native_id(); "
             "print(repr(ember._blas_env.pin_state)); "
             "print(sorted(len(os.sched_getaffinity(int(t))) for t in "
             "os.listdir('/proc/self/task') if int(t) != me))")


def _pin_child(code=PIN_PROBE, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in _blas_env._LIMITING_VARS + ("EMBER_BLAS_PIN", "OPENBLAS_THREAD_TIMEOUT",
                                                   "EMBER_BLAS_TUNING")}
    env.update(extra, PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


@pytest.mark.skipif(not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
                    reason="thread affinity: Linux with two or more cores")
def test_openblas_workers_pinned_one_per_further_core():
    state, sizes = _pin_child()
    cores = len(os.sched_getaffinity(0))
    if "pinned" not in state:  # (an OpenBLAS that made another number of workers)
        assert "new threads" in state
        return
    assert eval(sizes).count(1) == cores - 1  # each worker on one core
    state, sizes = _pin_child(EMBER_BLAS_PIN="0")
    assert state == "'off'" and 1 not in eval(sizes)
    state, _ = _pin_child(OMP_NUM_THREADS="1")
    assert "variable" in state
    state, _ = _pin_child(EMBER_BLAS_TUNING="0")
    assert "not applied" in state


def test_pinning_after_numpy_came_first_follows_the_restart():
    out = _child("import numpy, ember; print(ember._blas_env.pin_state.split()[0])")
    if not (_exports_restart() and sys.platform.startswith("linux") and
            len(os.sched_getaffinity(0)) >= 2):
        assert out == ["not"]
        return
    assert out == [str(len(os.sched_getaffinity(0)) - 1)]  # "N worker(s) pinned ..."


FORK_PROBE = (
    "import os, threading, numpy, ember; me = threading.get_native_id(); "
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    b = numpy.ones((300, 300)); b @ b; os._exit(0)\n"
    "os.waitpid(pid, 0); print(repr(ember._blas_env.pin_state)); "
    "print(sorted(len(os.sched_getaffinity(int(t))) for t in "
    "os.listdir('/proc/self/task') if int(t) != me)); a = numpy.ones((300, 300)); "
    "print(float((a @ a)[0, 0]))")


@pytest.mark.skipif(not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
                    reason="thread affinity: Linux with two or more cores")
def test_workers_pinned_again_after_a_fork():
    """OpenBLAS stops its workers before a fork and would start them unpinned afterwards."""
    first, _ = _pin_child()
    if "pinned" not in first:  # (an OpenBLAS that made another number of workers)
        return
    state, sizes, product = _pin_child(FORK_PROBE)
    assert "pinned" in state
    assert eval(sizes).count(1) == len(os.sched_getaffinity(0)) - 1
    assert product == "300.0"
