"""2-stage GPipe and 1F1B pipelines on 2 ranks (stage r on rank r, 4 micro-batches) equal
the unsplit model in forward and in every gradient; 1F1B keeps at most 2 micro-batches'
activations alive per stage, GPipe all 4."""
import copy

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import split_sequential, ScheduleGPipe, Schedule1F1B

dist.init_process_group()
rank = dist.get_rank()
ember.manual_seed(0)
full = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
x, y = ember.randn(8, 6), ember.randn(8, 3)


def mse(o, t):
    return ((o - t) ** 2).mean()


ref = full(x)
mse(ref, y).backward()
for sched, live in ((ScheduleGPipe, 4), (Schedule1F1B, 2 - rank)):
    m = copy.deepcopy(full)
    for p in m.parameters():
        p.grad = None
    stage = split_sequential(m, num_stages=2)[rank]
    s = sched(stage, 4, loss_fn=mse)
    losses = []
    out = s.step(x if rank == 0 else None, target=y if rank == 1 else None, losses=losses)
    if rank == 1:
        np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-6, rtol=0)
        np.testing.assert_allclose(sum(v.item() for v in losses) / 4, mse(ref, y).item(),
                                   atol=1e-6)
    else:
        assert out is None
    mine = {id(p) for p in stage.parameters()}
    for (name, p), (_, q) in zip(full.named_parameters(), m.named_parameters()):
        if id(q) in mine:
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), atol=1e-6, rtol=0,
                                       err_msg=f"{s.name} {name}")
        else:
            assert q.grad is None
    assert s.max_live_activations == {rank: live}, (s.name, s.max_live_activations)
dist.destroy_process_group()
print("pipeline ok")
