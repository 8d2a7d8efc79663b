"""ember.multiprocessing: torch.multiprocessing's spawn with errors raised in the parent."""
import os

import pytest

import ember
import ember.multiprocessing as mp


def _write_rank(i, folder, value):
    t = ember.full((2,), float(value + i))
    ember.save({"t": t}, os.path.join(folder, f"rank{i}.safetensors"))


def _fail_on_one(i):
    if i == 1:
        raise ValueError(f"rank {i} is unhappy")


def _exit_code(i):
    os._exit(3 if i == 0 else 0)


def test_spawn_runs_each_rank_with_its_index(tmp_path):
    pytest.importorskip("safetensors")
    assert mp.spawn(_write_rank, args=(str(tmp_path), 10), nprocs=2) is None
    for i in range(2):
        t = ember.load(tmp_path / f"rank{i}.safetensors")["t"]
        assert t.tolist() == [10.0 + i] * 2


def test_spawn_raises_the_failing_process_error_in_the_parent():
    with pytest.raises(mp.ProcessRaisedException, match="rank 1 is unhappy") as e:
        mp.spawn(_fail_on_one, nprocs=2)
    assert e.value.error_index == 1 and "ValueError" in str(e.value)
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with exit "
                                                        "code 3"):
        mp.spawn(_exit_code, nprocs=2)


def test_start_processes_without_join_gives_a_context():
    ctx = mp.start_processes(_fail_on_one, nprocs=1, join=False, start_method="fork")
    assert len(ctx.pids()) == 1
    assert ctx.join() is True
    assert mp.cpu_count() >= 1 and mp.Queue is not None
    with pytest.raises(ValueError, match="nprocs must be at least 1"):
        mp.spawn(_fail_on_one, nprocs=0)
