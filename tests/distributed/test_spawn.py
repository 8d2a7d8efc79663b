"""Spawn-launched worlds: ``ember.multiprocessing.spawn`` + ``init_process_group(rank=,
world_size=)`` without a launcher, as PyTorch programs started with ``mp.spawn`` do."""
import os

import numpy as np
import pytest

import ember
import ember.distributed as dist
import ember.multiprocessing as mp

from .mpi_helpers import need_mpi


def _all_reduce_rank(rank, world_size, folder):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "localhost", "12355"
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    t = ember.tensor([float(rank + 1), 10.0 * (rank + 1)])
    dist.all_reduce(t)
    model = ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(3, 1))
    loss = model(ember.full((2, 3), float(rank + 1))).sum()
    loss.backward()
    with open(os.path.join(folder, f"threads{rank}"), "w") as f:
        f.write(os.environ.get("OMP_NUM_THREADS", "unset"))
    np.save(os.path.join(folder, f"rank{rank}.npy"),
            np.concatenate([[dist.get_rank(), dist.get_world_size()], t.numpy(),
                            model.module.weight.grad.numpy().ravel()]))
    dist.destroy_process_group()


def _fail_while_the_other_waits(rank, world_size):
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    if rank == 1:
        raise ValueError("rank 1 cannot go on")
    dist.all_reduce(ember.ones(4))  # rank 0 would wait here forever without the launcher


def _exit_or_fault_while_the_other_waits(rank, how):
    import signal
    import sys
    dist.init_process_group("gloo", rank=rank, world_size=2)
    if rank == 1:
        if how == "exit":
            sys.exit(3)
        if how == "message":
            raise SystemExit("rank 1 stops here")
        os.kill(os.getpid(), signal.SIGSEGV)
    dist.all_reduce(ember.ones(4))  # rank 0 would wait here forever without the launcher


@pytest.mark.parametrize("how, code, name", [("exit", 3, None), ("message", 1, None),
                                             ("segv", -11, "SIGSEGV")])
def test_spawned_ranks_exit_codes_as_torch_reports_them(monkeypatch, capfd, how, code, name):
    # torch.multiprocessing.spawn: ProcessExitedException with the rank, the exit code (minus
    # the signal's number for a signal) and the signal's name
    need_mpi()
    monkeypatch.delenv("EMBER_SPAWN", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with pytest.raises(mp.ProcessExitedException) as e:
        mp.spawn(_exit_or_fault_while_the_other_waits, args=(how,), nprocs=2)
    err = e.value
    assert (err.error_index, err.exit_code, err.signal_name) == (1, code, name), str(err)
    assert str(err) == (f"process 1 terminated with signal {name}" if name else
                        f"process 1 terminated with exit code {code}")
    if how == "message":  # printed as Python prints an uncaught SystemExit's message
        assert "rank 1 stops here" in capfd.readouterr().err


def test_spawned_ranks_form_one_world(tmp_path, monkeypatch):
    need_mpi()
    monkeypatch.delenv("EMBER_SPAWN", raising=False)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)  # each rank gets its share of the cores
    assert mp.spawn(_all_reduce_rank, args=(2, str(tmp_path)), nprocs=2, join=True) is None
    for rank in range(2):
        got = np.load(tmp_path / f"rank{rank}.npy")
        # rank, world size, the sum over ranks, and DDP's gradient averaged over the ranks:
        # d/dw sum(x @ w.T) = sum of x's rows = 2 * (rank + 1) per input, mean over ranks 3
        np.testing.assert_allclose(got, [rank, 2, 3.0, 30.0, 3.0, 3.0, 3.0])
        from ember.distributed.launch import _cores
        assert (tmp_path / f"threads{rank}").read_text() == str(max(1, _cores() // 2))


def test_a_failing_spawned_rank_reaches_the_parent(monkeypatch):
    need_mpi()
    monkeypatch.delenv("EMBER_SPAWN", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with pytest.raises(mp.ProcessRaisedException, match="rank 1 cannot go on") as e:
        mp.spawn(_fail_while_the_other_waits, args=(2,), nprocs=2)
    assert e.value.error_index == 1
    assert "Process 1 terminated with the following error" in str(e.value)


def test_spawn_world_size_must_match_nprocs(monkeypatch):
    need_mpi()
    monkeypatch.delenv("EMBER_SPAWN", raising=False)
    with pytest.raises(mp.ProcessRaisedException, match="world_size= says world size 3"):
        mp.spawn(_fail_while_the_other_waits, args=(3,), nprocs=2)


def _world_of_two(rank):
    dist.init_process_group("gloo", rank=rank, world_size=2)


def test_spawn_without_mpi_says_what_to_install(monkeypatch):
    monkeypatch.setenv("EMBER_SPAWN", "python")     # Python's processes: no MPI world
    with pytest.raises(mp.ProcessRaisedException, match="started without MPI"):
        mp.spawn(_world_of_two, nprocs=2)


def _rank_file(rank, folder):
    with open(os.path.join(folder, f"done{rank}"), "w") as f:
        f.write(str(os.getpid()))


def test_spawn_without_join_returns_a_context(tmp_path, monkeypatch):
    need_mpi()
    monkeypatch.delenv("EMBER_SPAWN", raising=False)
    ctx = mp.spawn(_rank_file, args=(str(tmp_path),), nprocs=2, join=False)
    assert ctx.join() is True and ctx.join() is True
    assert sorted(os.listdir(tmp_path)) == ["done0", "done1"]
