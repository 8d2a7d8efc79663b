"""A tensor-parallel MLP on 2 ranks (one member per rank, eager forward and .backward())
equals the unsplit model in forward and in every gradient."""
import copy

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import parallelize_module

dist.init_process_group()
rank, n = dist.get_rank(), dist.get_world_size()
ember.manual_seed(0)  # every rank builds the same unsplit model and data
full = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4), nn.ReLU(),
                     nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
x, y = ember.randn(5, 6), ember.randn(5, 3)
tp = parallelize_module(copy.deepcopy(full), {"0": "colwise", "2": "rowwise",
                                              "4": "colwise", "6": "rowwise"})
assert tp[0].rank == rank and tp[0].tp_size == n

out = tp(x)
loss = ((out - y) ** 2).mean()
loss.backward()
ref = full(x)
ref_loss = ((ref - y) ** 2).mean()
ref_loss.backward()
np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-6, rtol=0)
fp, tpp = dict(full.named_parameters()), dict(tp.named_parameters())
for name, p in fp.items():
    g = p.grad.numpy()
    layer = tp[int(name.split(".")[0])]
    k = layer.out_features // n if "Column" in type(layer).__name__ else \
        layer.in_features // n
    if "Column" in type(layer).__name__:
        want = g[rank * k:(rank + 1) * k]
    elif name.endswith("weight"):
        want = g[:, rank * k:(rank + 1) * k]
    else:
        want = g
    np.testing.assert_allclose(tpp[name].grad.numpy(), want, atol=1e-6, rtol=0, err_msg=name)

# a jitted step on each rank: the collectives are staged and run from the plan
step = ember.jit(lambda xb: ((tp(xb) - y) ** 2).mean())
np.testing.assert_allclose(step(x).item(), ref_loss.item(), atol=1e-6)
dist.destroy_process_group()
print("tp ok")
