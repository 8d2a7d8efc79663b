"""Pipeline parallelism: schedules as action tables, GPipe and 1F1B over micro-batches equal
the unsplit model in forward and every gradient (in one process and on 2 MPI ranks), and the
activations each stage keeps alive."""
import copy

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn.parallel import (split_sequential, gpipe_actions, one_f_one_b_actions,
                               ScheduleGPipe, Schedule1F1B)


def _model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(),
                         nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def mse(o, t):
    return ((o - t) ** 2).mean()


def test_action_tables():
    assert [" ".join(f"{k}{i}" for k, i in row) for row in gpipe_actions(2, 4)] == \
        ["F0 F1 F2 F3 B3 B2 B1 B0"] * 2
    assert [" ".join(f"{k}{i}" for k, i in row) for row in one_f_one_b_actions(3, 4)] == [
        "F0 F1 F2 B0 F3 B1 B2 B3",
        "F0 F1 B0 F2 B1 F3 B2 B3",
        "F0 B0 F1 B1 F2 B2 F3 B3"]
    # fewer micro-batches than the warm-up: every forward, then every backward
    assert one_f_one_b_actions(4, 2)[0] == [("F", 0), ("F", 1), ("B", 0), ("B", 1)]
    for table in (gpipe_actions(3, 5), one_f_one_b_actions(3, 5)):
        for row in table:
            assert sorted(row) == sorted([("F", i) for i in range(5)] +
                                         [("B", i) for i in range(5)])
            # a micro-batch's backward comes after its forward on every stage
            assert all(row.index(("F", i)) < row.index(("B", i)) for i in range(5))
    text = str(Schedule1F1B(split_sequential(_model(), num_stages=2), 4, loss_fn=mse))
    assert text.splitlines() == ["1F1B (2 stages, 4 micro-batches)",
                                 "stage 0: F0 F1 B0 F2 B1 F3 B2 B3",
                                 "stage 1: F0 B0 F1 B1 F2 B2 F3 B3"]


@pytest.mark.parametrize("num_stages", [2, 3])
@pytest.mark.parametrize("schedule", [ScheduleGPipe, Schedule1F1B])
def test_pipeline_in_one_process_equals_the_unsplit_model(schedule, num_stages):
    full = _model()
    x, y = ember.randn(8, 6), ember.randn(8, 3)
    ref = full(x)
    mse(ref, y).backward()
    m = copy.deepcopy(full)
    for p in m.parameters():
        p.grad = None
    stages = split_sequential(m, num_stages=num_stages)
    s = schedule(stages, 4, loss_fn=mse)
    losses = []
    out = s.step(x, target=y, losses=losses)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-6, rtol=0)
    assert len(losses) == 4
    np.testing.assert_allclose(np.mean([v.item() for v in losses]), mse(ref, y).item(),
                               atol=1e-6)
    for (name, p), (_, q) in zip(full.named_parameters(), m.named_parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), atol=1e-6, rtol=0,
                                   err_msg=name)
    # 1F1B keeps at most (number of stages) micro-batches alive per stage; GPipe all of them
    if schedule is Schedule1F1B:
        assert s.max_live_activations == {k: num_stages - k for k in range(num_stages)}
    else:
        assert s.max_live_activations == {k: 4 for k in range(num_stages)}


def test_pipelines_on_two_ranks_equal_the_unsplit_model():
    from tests.distributed.mpi_helpers import run_ranks, check_ok
    check_ok(run_ranks("pipeline.py", timeout=180), "pipeline ok")


def test_forward_only_without_a_loss_and_a_second_step_accumulates():
    full = _model()
    x = ember.randn(8, 6)
    s = ScheduleGPipe(split_sequential(copy.deepcopy(full), split_points=[2, 5]), 2)
    assert str(s).splitlines()[1] == "stage 0: F0 F1"
    np.testing.assert_allclose(s.step(x).numpy(), full(x).detach().numpy(), atol=1e-6)
    assert s.max_live_activations == {0: 0, 1: 0, 2: 0}


def test_split_and_schedule_errors():
    m = _model()
    assert [len(s) for s in split_sequential(m, num_stages=3)] == [3, 2, 2]
    with pytest.raises(ValueError, match="num_stages must be between 1 and the number of "
                                         "layers \\(7\\)"):
        split_sequential(m, num_stages=9)
    with pytest.raises(ValueError, match="split_points \\[3, 2\\] must be increasing"):
        split_sequential(m, split_points=[3, 2])
    with pytest.raises(TypeError, match="expects an nn.Sequential"):
        split_sequential(nn.Linear(2, 2), num_stages=1)
    s = ScheduleGPipe(split_sequential(m, num_stages=2), 3, loss_fn=mse)
    with pytest.raises(ValueError, match="dim 0 must split into 3 equal micro-batches, got "
                                         "\\(8, 6\\)"):
        s.step(ember.randn(8, 6), target=ember.randn(8, 3))
    with pytest.raises(ValueError, match="needs target="):
        s.step(ember.randn(6, 6))
    with pytest.raises(RuntimeError, match="no process group is initialised"):
        ScheduleGPipe(split_sequential(m, num_stages=2)[0], 4, loss_fn=mse)
