"""Tensor parallelism: a Megatron MLP split over a named axis in one process (pmap over the
members' stacked parameters) and over 2 MPI ranks equals the unsplit model in forward and in
every gradient."""
import copy

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn.parallel import (ColumnParallelLinear, RowParallelLinear, parallelize_module,
                               RowwiseParallel)


def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4), nn.ReLU(),
                         nn.Linear(4, 12), nn.Tanh(), nn.Linear(12, 3))


PLAN = {"0": "colwise", "2": "rowwise", "4": "colwise", "6": RowwiseParallel()}


def _block(layer, name, g, rank):
    if isinstance(layer, ColumnParallelLinear):
        k = layer.out_features // layer.tp_size
        return g[rank * k:(rank + 1) * k]
    k = layer.in_features // layer.tp_size
    return g[:, rank * k:(rank + 1) * k] if name.endswith("weight") else g


@pytest.mark.parametrize("n", [2, 4])
def test_tensor_parallel_mlp_in_one_process_equals_the_unsplit_model(n):
    full = _mlp()
    x, y = ember.randn(5, 6), ember.randn(5, 3)
    members = [parallelize_module(copy.deepcopy(full), PLAN, tp_size=n, rank=r)
               for r in range(n)]
    names = [k for k, _ in members[0].named_parameters()]
    stacked = {k: ember.stack([dict(m.named_parameters())[k].detach() for m in members])
               for k in names}

    def member(p, xb, yb):
        fwd = lambda p: ember.func.functional_call(members[0], p, (xb,))  # noqa: E731
        loss = lambda p: ((fwd(p) - yb) ** 2).mean()  # noqa: E731
        return fwd(p), ember.grad(loss)(p)
    out, grads = ember.pmap(member, axis_name="tp", in_axes=(0, None, None))(stacked, x, y)
    ref = full(x)
    ((ref - y) ** 2).mean().backward()
    for r in range(n):
        np.testing.assert_allclose(out[r].numpy(), ref.detach().numpy(), atol=1e-6, rtol=0)
    for name, p in full.named_parameters():
        layer = members[0][int(name.split(".")[0])]
        for r in range(n):
            np.testing.assert_allclose(grads[name][r].numpy(),
                                       _block(layer, name, p.grad.numpy(), r),
                                       atol=1e-6, rtol=0, err_msg=f"{name} member {r}")


def test_tensor_parallel_mlp_on_two_ranks_equals_the_unsplit_model():
    from tests.distributed.mpi_helpers import run_ranks, check_ok
    check_ok(run_ranks("tensor_parallel.py", timeout=180), "tp ok")


def test_parallelize_module_keeps_weights_order_and_state_dict_names():
    full = _mlp()
    tp = parallelize_module(copy.deepcopy(full), PLAN, tp_size=2, rank=1)
    assert [type(m).__name__ for m in tp] == ["ColumnParallelLinear", "Tanh",
                                              "RowParallelLinear", "ReLU",
                                              "ColumnParallelLinear", "Tanh",
                                              "RowParallelLinear"]
    assert list(tp.state_dict()) == list(full.state_dict())
    w = {k: v.detach().numpy() for k, v in full.state_dict().items()}
    np.testing.assert_array_equal(tp[0].weight.detach().numpy(), w["0.weight"][4:])
    np.testing.assert_array_equal(tp[2].weight.detach().numpy(), w["2.weight"][:, 4:])
    np.testing.assert_array_equal(tp[2].bias.detach().numpy(), w["2.bias"])
    # fnmatch patterns, as torch's plans
    tp2 = parallelize_module(copy.deepcopy(full), {"[04]": "colwise", "[26]": "rowwise"},
                             tp_size=2, rank=0)
    assert isinstance(tp2[4], ColumnParallelLinear) and isinstance(tp2[6], RowParallelLinear)


def test_tensor_parallel_errors_say_what_to_do():
    full = _mlp()
    with pytest.raises(ValueError, match="out_features=8 is not divisible by tp_size=3"):
        parallelize_module(copy.deepcopy(full), {"0": "colwise"}, tp_size=3, rank=0)
    with pytest.raises(KeyError, match="no submodule matches 'fc9'"):
        parallelize_module(copy.deepcopy(full), {"fc9": "colwise"}, tp_size=2)
    with pytest.raises(ValueError, match="unknown style 'diagonal'"):
        parallelize_module(copy.deepcopy(full), {"0": "diagonal"}, tp_size=2)
    with pytest.raises(TypeError, match="1 is a Tanh"):
        parallelize_module(copy.deepcopy(full), {"1": "colwise"}, tp_size=2)
    col = ColumnParallelLinear(6, 8, tp_size=2, rank=0)
    with pytest.raises(NameError, match="tensor-parallel axis 'tp' .* is not bound"):
        col(ember.ones(2, 6))
    with pytest.raises(ValueError, match="has 3 members here but the layer was split for "
                                         "tp_size=2"):
        ember.vmap(lambda v: col(v), axis_name="tp")(ember.ones(3, 2, 6))
