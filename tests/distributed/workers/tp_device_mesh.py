"""pytorch/examples distributed/tensor_parallelism's flow under `ember run -n 2`: no
init_process_group (init_device_mesh makes it), torch's import paths, parallelize_module by
keywords, AdamW(foreach=True); each rank's blocks equal the unsplit model's after 3 steps."""
import copy
import os

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.distributed.tensor.parallel import parallelize_module, ColwiseParallel, RowwiseParallel
from ember.distributed._tensor.device_mesh import init_device_mesh

world = int(os.environ["WORLD_SIZE"])
mesh = init_device_mesh(device_type="cpu", mesh_shape=(world,))
rank = mesh.get_rank()
assert dist.is_initialized() and mesh.size() == world == 2 and repr(mesh) == "DeviceMesh('cpu', [0, 1])"


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.in_proj = nn.Linear(10, 32)
        self.relu = nn.ReLU()
        self.out_proj = nn.Linear(32, 5)

    def forward(self, x):
        return self.out_proj(self.relu(self.in_proj(x)))


ember.manual_seed(0)
full = ToyModel()
tp = parallelize_module(module=copy.deepcopy(full), device_mesh=mesh,
                        parallelize_plan={"in_proj": ColwiseParallel(), "out_proj": RowwiseParallel()})
opt = ember.optim.AdamW(tp.parameters(), lr=0.25, foreach=True)
ropt = ember.optim.AdamW(full.parameters(), lr=0.25)
for i in range(3):
    ember.manual_seed(i)
    inp = ember.rand(20, 10)
    out = tp(inp)
    ref = full(inp)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-5, rtol=0)
    out.sum().backward()
    ref.sum().backward()
    opt.step()
    ropt.step()
k = 32 // world
np.testing.assert_allclose(tp.in_proj.weight.detach().numpy(),
                           full.in_proj.weight.detach().numpy()[rank * k:(rank + 1) * k], atol=1e-5)
np.testing.assert_allclose(tp.out_proj.weight.detach().numpy(),
                           full.out_proj.weight.detach().numpy()[:, rank * k:(rank + 1) * k], atol=1e-5)
np.testing.assert_allclose(tp.out_proj.bias.detach().numpy(), full.out_proj.bias.detach().numpy(),
                           atol=1e-5)
dist.destroy_process_group()
print(f"rank {rank} tp mesh ok", flush=True)
