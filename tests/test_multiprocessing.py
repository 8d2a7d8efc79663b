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


def _hogwild_step(rank, model, queue):
    # each process writes into the shared parameters in place, as an optimizer step does
    with ember.no_grad():
        model.weight[rank].add_(float(rank + 1))
    t = queue.get()
    t.mul_(10.0)  # a shared tensor received through a Queue is the same memory too


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_shared_module_is_written_by_child_processes(method):
    ctx = mp.get_context(method)
    model = ember.nn.Linear(3, 2)
    with ember.no_grad():
        model.weight.zero_()
    assert model.share_memory() is model
    assert model.weight.is_shared() and model.bias.is_shared()
    extra = ember.ones(4).share_memory_()
    queue = ctx.Queue()
    procs = [ctx.Process(target=_hogwild_step, args=(r, model, queue)) for r in range(2)]
    for p in procs:
        p.start()
    queue.put(extra[1:3])  # a view: sent as the mapping, its offset and strides
    queue.put(extra[3:])
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert model.weight.tolist() == [[1.0] * 3, [2.0] * 3]
    assert extra.tolist() == [1.0, 10.0, 10.0, 10.0]
    assert isinstance(model.weight, ember.nn.Parameter)


def test_parameters_pickle_as_parameters():
    import pickle
    m = pickle.loads(pickle.dumps(ember.nn.Linear(2, 3)))
    assert all(isinstance(p, ember.nn.Parameter) for p in m.parameters())
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]


def _hogwild_spawned(rank, model, t):
    with ember.no_grad():
        model.weight[rank].add_(float(rank + 1))
    t.mul_(10.0)


def test_spawn_passes_shared_tensors_to_every_process():
    # mp.spawn(train, args=(model,)) with model.share_memory(): every process writes the
    # same memory (each gets its own grant of the shared descriptor)
    model = ember.nn.Linear(3, 2)
    with ember.no_grad():
        model.weight.zero_()
    model.share_memory()
    extra = ember.ones(4).share_memory_()
    mp.spawn(_hogwild_spawned, args=(model, extra[1:3]), nprocs=2)
    assert model.weight.tolist() == [[1.0] * 3, [2.0] * 3]
    assert extra.tolist() == [1.0, 100.0, 100.0, 1.0]
