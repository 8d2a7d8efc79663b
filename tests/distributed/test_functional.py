"""The collective primitive (ember.distributed.functional) and SyncBatchNorm in one process;
their 2-rank behaviour is checked in workers/ddp.py."""
import copy

import numpy as np
import pytest

import ember
import ember.distributed as dist
import ember.distributed.functional as DF
from ember import nn




def test_jit_never_folds_merges_or_drops_a_collective(world_of_one):
    def f(x):
        a = DF.all_reduce(x, "sum")
        b = DF.all_reduce(x, "sum")       # same operands: CSE must not merge it
        DF.all_reduce(x * 2, "max")       # result unused: DCE must not drop it
        c = DF.all_reduce(ember.ones(2), "sum")   # constant input: not folded
        return a + b + c
    text = ember.jit(f).lower(ember.ones(2)).as_text()
    assert text.count("dist_all_reduce") == 4, text
    assert ember.jit(f)(ember.ones(2)).tolist() == [3.0, 3.0]


def test_all_reduce_gradient_and_bad_op(world_of_one):
    x = ember.tensor([1., 2.], requires_grad=True)
    (DF.all_reduce(x * x, dist.ReduceOp.AVG)).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    y = ember.tensor([1., 2.], requires_grad=True)
    with pytest.raises(NotImplementedError, match="ReduceOp.MAX has no gradient rule"):
        DF.all_reduce(y, "max").sum().backward()
    with pytest.raises(ValueError, match="all_reduce: op must be a ReduceOp"):
        DF.all_reduce(y, "mean")


def test_all_reduce_coalesced_one_collective_per_dtype(world_of_one):
    a = ember.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    b = ember.tensor([5., 6., 7.], requires_grad=True)
    c = ember.tensor([1, 2])
    outs = DF.all_reduce_coalesced([a * 2, b, c], "sum")
    assert [o.shape for o in outs] == [(2, 2), (3,), (2,)]
    assert outs[0].tolist() == [[2., 4.], [6., 8.]] and outs[2].dtype == ember.int64
    (outs[0].sum() + (outs[1] * outs[1]).sum()).backward()
    assert a.grad.tolist() == [[2., 2.], [2., 2.]] and b.grad.tolist() == [10., 12., 14.]
    text = str(ember.make_graph(lambda a, b, c: DF.all_reduce_coalesced([a, b, c]))(a, b, c))
    assert text.count("dist_all_reduce") == 2, text   # float32 once, int64 once


def test_sync_batchnorm_in_a_world_of_one_is_batchnorm(world_of_one):
    ember.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU())
    ref = copy.deepcopy(net)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert isinstance(sync[1], nn.SyncBatchNorm) and sync[1].weight is net[1].weight
    x = ember.randn(4, 2, 6, 6)
    for _ in range(2):
        a, b = sync(x), ref(x)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)
        a.square().sum().backward()
        b.square().sum().backward()
    for p, q in zip(sync.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-4)
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(sync.state_dict()[k].numpy(), v.numpy(), rtol=1e-6, atol=1e-6)
    assert list(sync.state_dict()) == list(ref.state_dict())
    sync.eval(), ref.eval()
    np.testing.assert_allclose(sync(x).detach().numpy(), ref(x).detach().numpy(), atol=1e-5)


def test_sync_batchnorm_matches_torch(world_of_one):
    torch = pytest.importorskip("torch")
    ember.manual_seed(1)
    x = np.random.default_rng(0).standard_normal((6, 4, 5)).astype(np.float32)
    ours = nn.SyncBatchNorm(4, momentum=0.3)
    theirs = torch.nn.BatchNorm1d(4, momentum=0.3)   # SyncBatchNorm in one process
    xo = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (ours(xo) * ember.tensor(x)).sum().backward()
    (theirs(xt) * torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-6)


def test_sync_batchnorm_bad_input(world_of_one):
    with pytest.raises(ValueError, match=r"SyncBatchNorm\(3\): input has 2 channels"):
        nn.SyncBatchNorm(3)(ember.ones(4, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.SyncBatchNorm(3)(ember.ones(1, 3))
