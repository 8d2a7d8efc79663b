"""DataLoader faults: a worker that dies (by a signal or by exiting), a batch that takes too
long (``timeout``) and Ctrl-C in the main process end the iteration with a clear error, never
a hang, and leave no worker process behind."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ember.data import DataLoader, Dataset

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="worker faults use fork")


class Faulty(Dataset):
    """Item 5 dies or stalls as ``how`` says; the others are their index."""

    def __init__(self, how, n=8):
        self.how, self.n = how, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == 5:
            if self.how == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif self.how == "sigterm":
                os.kill(os.getpid(), signal.SIGTERM)
            elif self.how == "os_exit":
                os._exit(1)
            elif self.how == "sys_exit":
                sys.exit(3)
            elif self.how == "stall":
                import time
                time.sleep(60)
        return np.float32(i)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def _no_workers_left():
    import multiprocessing as mp
    return mp.active_children() == []


@pytest.mark.parametrize("how,message", [
    ("sigkill", r"DataLoader worker \(pid \d+\) is killed by signal: Killed\..*out of memory"),
    ("sigterm", r"DataLoader worker \(pid \d+\) is killed by signal: Terminated"),
    ("os_exit", r"DataLoader worker \(pid \d+\) exited unexpectedly with exit code 1"),
    ("sys_exit", r"DataLoader worker \(pid \d+\) exited unexpectedly with exit code 3"),
])
def test_dead_worker_raises_instead_of_hanging(how, message):
    loader = DataLoader(Faulty(how), batch_size=2, num_workers=2)
    with pytest.raises(RuntimeError, match=message):
        list(loader)
    assert _no_workers_left()


def test_timeout_is_honoured():
    loader = DataLoader(Faulty("stall"), batch_size=2, num_workers=2, timeout=0.5)
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds waiting "
                                           r"for batch 2"):
        list(loader)
    assert _no_workers_left()
    # a timeout that is long enough changes nothing
    out = [b.tolist() for b in DataLoader(Faulty("none"), batch_size=3, num_workers=2,
                                          timeout=30)]
    assert out == [[0, 1, 2], [3, 4, 5], [6, 7]]


@pytest.mark.parametrize("kw,match", [
    (dict(timeout=-1, num_workers=1), "timeout option should be a non-negative"),
    (dict(timeout="5", num_workers=1), "timeout option should be a non-negative"),
    (dict(timeout=5), "set num_workers > 0"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
])
def test_bad_loader_options(kw, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(Faulty("none"), **kw)


def test_errors_in_workers_name_the_batch_and_stop_the_pool():
    class Bad(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            if i == 3:
                raise KeyError("no sample 3")
            return np.float32(i)
    with pytest.raises(RuntimeError, match=r"batch 1 \(indices \[2, 3\]...\) failed: KeyError"):
        list(DataLoader(Bad(), batch_size=2, num_workers=2))
    assert _no_workers_left()

    def init(worker_id):
        raise ValueError("no GPU here")
    with pytest.raises(RuntimeError, match="worker_init_fn failed: ValueError: no GPU here"):
        list(DataLoader(Bad(), batch_size=2, num_workers=2, worker_init_fn=init))
    assert _no_workers_left()


def test_leaving_the_loop_early_stops_the_workers():
    it = iter(DataLoader(Faulty("none", n=40), batch_size=2, num_workers=2))
    next(it)
    it.close()
    assert _no_workers_left()


_CHILD = textwrap.dedent("""
    import os, signal, sys, time
    import numpy as np
    # a shell that starts a command in the background (no job control) makes it ignore
    # SIGINT, and children inherit that: stand in for a program run from a terminal
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from ember.data import DataLoader, Dataset

    class Slow(Dataset):
        def __len__(self):
            return 1000
        def __getitem__(self, i):
            time.sleep(0.05)
            return np.float32(i)

    import multiprocessing as mp
    loader = DataLoader(Slow(), batch_size=2, num_workers=2)
    mode = sys.argv[1]
    try:
        for k, b in enumerate(loader):
            if k == 0:
                print("pids", *[p.pid for p in mp.active_children()], flush=True)
            if k == 2 and mode == "exit":
                sys.exit(0)  # leaves the loop (and the loader's generator) mid-epoch
    except KeyboardInterrupt:
        print("interrupted", len(mp.active_children()), flush=True)
""")


@pytest.mark.parametrize("mode", ["sigint", "exit"])
def test_ctrl_c_and_exit_in_the_main_process(mode):
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, mode], stdout=subprocess.PIPE,
                            text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    first = proc.stdout.readline().split()
    assert first[0] == "pids" and len(first) == 3
    if mode == "sigint":  # Ctrl-C: the whole process group gets SIGINT, workers included
        os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    if mode == "sigint":
        assert out.split() == ["interrupted", "0"]
    for pid in map(int, first[1:]):
        assert not _alive(pid), f"worker {pid} outlived the main process"


class Pids(Dataset):
    """Each item is (its index, the pid of the process that loaded it)."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        return np.array([i, os.getpid()], dtype=np.int64)


def _epoch(loader):
    return np.concatenate([b.numpy() for b in loader])


def test_persistent_workers_survive_epochs_and_stop_with_the_loader():
    loader = DataLoader(Pids(), batch_size=3, num_workers=2, persistent_workers=True)
    first, second = _epoch(loader), _epoch(loader)
    assert first[:, 0].tolist() == second[:, 0].tolist() == list(range(12))
    procs = list(loader._pool.procs)
    # both epochs were loaded by the same two worker processes
    assert set(first[:, 1]) | set(second[:, 1]) <= {p.pid for p in procs}
    assert all(p.is_alive() for p in procs)
    del loader
    import gc
    gc.collect()
    assert not any(p.is_alive() for p in procs)


def test_persistent_workers_after_an_epoch_left_early():
    loader = DataLoader(Pids(), batch_size=2, num_workers=2, persistent_workers=True)
    it = iter(loader)
    next(it)
    it.close()  # left after one batch; the late batches of that epoch must not leak in
    assert _epoch(loader)[:, 0].tolist() == list(range(12))


def test_without_persistent_workers_each_epoch_starts_new_workers():
    loader = DataLoader(Pids(), batch_size=3, num_workers=2)
    assert set(_epoch(loader)[:, 1]).isdisjoint(set(_epoch(loader)[:, 1]))  # new pids
    assert loader._pool is None


def test_persistent_workers_replaced_after_a_worker_died():
    loader = DataLoader(Faulty("sigkill"), batch_size=2, num_workers=2,
                        persistent_workers=True)
    with pytest.raises(RuntimeError, match="killed by signal"):
        list(loader)
    assert loader._pool is None
