"""DistributedDataParallel and DistributedSampler on 2 MPI ranks, and in a world of one."""
import warnings

import numpy as np
import pytest

import ember
import ember.distributed as dist
from ember import nn
from .mpi_helpers import run_ranks, check_ok


def test_ddp_and_sampler_on_two_ranks_equal_one_process():
    # SGD/Adam x (one bucket, many), no_sync, unused branch, BatchNorm, SyncBatchNorm, sampler
    check_ok(run_ranks("ddp.py", timeout=180), "ddp ok")




def test_ddp_in_a_world_of_one_trains_as_the_plain_module(world_of_one):
    ember.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    ref = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    ref.load_state_dict(net.state_dict())
    ddp = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=1e-4)
    assert len(ddp._buckets) > 1
    x, y = ember.randn(5, 4), ember.tensor([0, 1, 1, 0, 1])
    for m in (ddp, ref):
        opt = ember.optim.SGD(m.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(m(x), y).backward()
            opt.step()
    for (k, a), b in zip(ddp.state_dict().items(), ref.state_dict().values()):
        assert k.startswith("module.")
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    ddp.load_state_dict(ddp.state_dict())


def test_ddp_gradients_accumulate_in_place_in_the_flat_buckets(world_of_one):
    ember.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    ref = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    ref.load_state_dict(net.state_dict())
    ddp = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=1e-4)
    x, y = ember.randn(5, 4), ember.tensor([0, 1, 1, 0, 1])
    nn.functional.cross_entropy(ddp(x), y).backward()  # records the gradients' order
    ddp.zero_grad()
    for m in (ddp, ref):    # (ddp's forward rebuilds the buckets in that order)
        nn.functional.cross_entropy(m(x), y).backward()
    first = [p.grad for p in net.parameters()]
    for p in net.parameters():  # each .grad is a view of its bucket, not a copy
        assert sum(np.shares_memory(p.grad._data, b.buf) for b in ddp._buckets) == 1
    for m in (ddp, ref):        # accumulation writes into the same storage
        nn.functional.cross_entropy(m(x), y).backward()
    for p, q, g in zip(net.parameters(), ref.parameters(), first):
        assert p.grad is g
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-7)
    ddp.zero_grad()             # set_to_none: the next backward re-views
    assert all(p.grad is None for p in net.parameters())
    nn.functional.cross_entropy(ddp(x), y).backward()
    assert [p.grad for p in net.parameters()] == first
    with ember.autograd.set_grad_enabled(True):  # create_graph: autograd's own path, then
        loss = nn.functional.cross_entropy(ddp(x), y)  # copied into the bucket at the end
    ddp.zero_grad()
    loss.backward(create_graph=True)
    for p, g in zip(net.parameters(), first):
        assert p.grad is g


def test_ddp_before_init_says_so():
    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(RuntimeError, match="DistributedDataParallel: the default process group "
                                           "is not initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))


def test_ddp_bad_arguments(world_of_one):
    with pytest.raises(TypeError, match="must be an ember.nn.Module"):
        nn.parallel.DistributedDataParallel(lambda x: x)
    with pytest.raises(ValueError, match="bucket_cap_mb must be positive"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2), bucket_cap_mb=0)


def test_sampler_before_init_and_bad_arguments():
    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(RuntimeError, match="DistributedSampler: the default process group is not "
                                           "initialized.*num_replicas= and rank="):
        ember.data.DistributedSampler(range(10))
    with pytest.raises(ValueError, match=r"rank 3 is out of range: it must be in \[0, 1\]"):
        ember.data.DistributedSampler(range(10), num_replicas=2, rank=3)


@pytest.mark.parametrize("n,reps,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                              (2, 4, False), (7, 2, True)])
def test_sampler_matches_pytorchs_partition(n, reps, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TS
    from ember.utils.data.distributed import DistributedSampler
    for r in range(reps):
        ours = DistributedSampler(
            range(n), num_replicas=reps, rank=r, shuffle=False, drop_last=drop_last)
        theirs = TS(range(n), num_replicas=reps, rank=r, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_sampler_shuffles_per_epoch_and_warns_on_a_repeated_epoch():
    s = ember.data.DistributedSampler(range(20), num_replicas=2, rank=0, seed=3)
    first = list(s)
    with pytest.warns(UserWarning, match="epoch 0 again.*set_epoch"):
        assert list(s) == first
    s.set_epoch(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = list(s)
    assert second != first
    other = ember.data.DistributedSampler(range(20), num_replicas=2, rank=1, seed=3)
    other.set_epoch(1)
    assert sorted(second + list(other)) == list(range(20))


def test_sampler_no_warning_for_a_peek_before_set_epoch():
    # pytorch/examples ddp-tutorial-series: len(next(iter(loader))[0]) starts a pass with the
    # old epoch, then set_epoch(epoch), then the epoch's pass: no repeated-epoch warning
    s = ember.data.DistributedSampler(range(20), num_replicas=2, rank=0, seed=3)
    loader = ember.data.DataLoader(range(20), batch_size=4, sampler=s)
    orders = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for epoch in range(3):
            next(iter(loader))
            s.set_epoch(epoch)
            orders.append([int(i) for b in loader for i in b])
    assert orders[0] != orders[1] != orders[2]


def test_ddp_rebuilds_buckets_in_gradient_ready_order(world_of_one):
    # PyTorch's rebuild: the first backward records when each gradient is ready, the next
    # forward regroups the buckets so that the first holds the earliest gradients
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.out = nn.Linear(16, 3)     # registered first, runs last
            self.inp = nn.Linear(4, 16)

        def forward(self, x):
            return self.out(self.inp(x).tanh())

    ember.manual_seed(0)
    net, ref = Net(), Net()
    ref.load_state_dict(net.state_dict())
    ddp = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=1e-4)
    names = {id(p): k for k, p in net.named_parameters()}

    def layout():
        return [[names[id(p)] for p in b.params] for b in ddp._buckets]
    assert layout() == [["inp.bias", "inp.weight"], ["out.bias", "out.weight"]]
    ready = []
    for p in ref.parameters():
        p.register_post_accumulate_grad_hook(
            lambda p: ready.append({id(q): k for k, q in ref.named_parameters()}[id(p)]))
    x, y = ember.randn(6, 4), ember.tensor([0, 1, 2, 0, 1, 2])
    opt, ropt = ember.optim.SGD(ddp.parameters(), lr=0.1), ember.optim.SGD(ref.parameters(),
                                                                        lr=0.1)
    for step in range(3):
        for m, o in ((ddp, opt), (ref, ropt)):
            o.zero_grad(set_to_none=False)          # gradients carried over the rebuild
            nn.functional.cross_entropy(m(x), y).backward()
            o.step()
        if step == 0:
            assert ddp._bucket_order is None and ready == ["out.weight", "out.bias",
                                                           "inp.weight", "inp.bias"]
            grads = [p.grad for p in net.parameters()]
    assert ddp._bucket_order == ready[:4]
    # (a 104-byte cap: out.weight's 192 bytes close the first bucket by themselves)
    assert layout() == [["out.weight"], ["out.bias", "inp.weight"], ["inp.bias"]]
    for p, q, g in zip(net.parameters(), ref.parameters(), grads):
        assert p.grad is not g and any(np.shares_memory(p.grad._data, b.buf)
                                       for b in ddp._buckets)
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6, atol=1e-7)
    before = [b.buf for b in ddp._buckets]
    nn.functional.cross_entropy(ddp(x), y).backward()   # rebuilt once: the buffers stay
    assert all(a is b.buf for a, b in zip(before, ddp._buckets))


def test_ddp_first_bucket_is_small_as_pytorchs(world_of_one):
    # backward order, last layer first: its 600x500 floats (1.2 MB) close the 1 MiB first
    # bucket by themselves; the rest (2 MB each) share the 25 MB default bucket
    net = nn.Sequential(nn.Linear(500, 1000), nn.Linear(1000, 500), nn.Linear(500, 600))
    ddp = nn.parallel.DistributedDataParallel(net)
    sizes = [[tuple(p.shape) for p in b.params] for b in ddp._buckets]
    assert sizes == [[(600,), (600, 500)], [(500,), (500, 1000), (1000,), (1000, 500)]]
    small = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=0.5)  # a smaller cap rules
    assert [len(b.params) for b in small._buckets] == [2, 2, 2]


def test_ddp_buckets_launch_in_gradient_order_while_backward_runs(world_of_one):
    # several buckets: the last layer's bucket starts its all-reduce while backward is still
    # computing the first layers' gradients (overlap), each in index order, the last blocking
    ember.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 256), nn.Tanh(),
                        nn.Linear(256, 10))
    ddp = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=0.005)  # a layer each
    assert len(ddp._buckets) == 3
    events = []
    comm = ddp._comm

    class Logged:
        def __getattr__(self, name):
            return getattr(comm, name)

        def iallreduce(self, buf, op):
            events.append(("launch", next(b.index for b in ddp._buckets if b.buf is buf)))
            return comm.iallreduce(buf, op)

        def allreduce(self, buf, op):
            events.append(("blocking", next(b.index for b in ddp._buckets if b.buf is buf)))
            return comm.allreduce(buf, op)
    object.__setattr__(ddp, "_comm", Logged())
    x = ember.randn(8, 64)
    h = net[0](x)   # the first layer's output: its gradient is among backward's last steps
    h.register_hook(lambda g: events.append(("first layer reached", None)))
    out = net[4](net[3](net[2](net[1](h))))
    for _ in range(2):
        events.clear()
        out.sum().backward(retain_graph=True)
        assert events == [("launch", 0), ("launch", 1), ("first layer reached", None),
                          ("blocking", 2)], events


def test_ddp_buckets_launch_mid_backward_under_the_replayed_plan(world_of_one):
    # a repeating tape's backward is one compiled plan (transforms/tape_plans.py): the buckets
    # still launch while it runs, each right after the plan's step that finishes its last
    # gradient (the first layer's gradients are computed after bucket 1 has launched)
    from ember.transforms import tape_plans as TP
    from tests.transforms.test_tape_plans import plan_frame, _between
    prev = TP.set_enabled(True)
    TP.clear()
    try:
        ember.manual_seed(0)
        net = nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 256), nn.Tanh(),
                            nn.Linear(256, 10))
        ddp = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=0.005)  # a layer each
        assert len(ddp._buckets) == 3
        events = []
        comm = ddp._comm

        def where():
            f = plan_frame()
            return None if f is None else (f.f_lineno, f)

        class Logged:
            def __getattr__(self, name):
                return getattr(comm, name)

            def iallreduce(self, buf, op):
                events.append(("launch", next(b.index for b in ddp._buckets if b.buf is buf),
                               where()))
                return comm.iallreduce(buf, op)

            def allreduce(self, buf, op):
                events.append(("blocking", next(b.index for b in ddp._buckets
                                                if b.buf is buf), where()))
                return comm.allreduce(buf, op)
        object.__setattr__(ddp, "_comm", Logged())
        opt = ember.optim.SGD(ddp.parameters(), lr=0.01)
        x = ember.randn(8, 64)
        n = TP.stats["replayed"]
        for step in range(3):
            events.clear()
            opt.zero_grad()
            ddp(x).sum().backward()
            opt.step()
            # (the second forward rebuilds the buckets in the order the first backward showed)
            k = len(ddp._buckets)
            assert k >= 3 and [e[:2] for e in events] == \
                [("launch", i) for i in range(k - 1)] + [("blocking", k - 1)], events
            if step == 0:  # seen once: walked
                assert all(e[2] is None for e in events)
                continue
            lines = [e[2][0] for e in events]
            assert lines == sorted(lines) and len(set(lines)) == k, lines
            # the first layer's gradients are computed after the first buckets launched
            later = [ln for ln in _between(events[0][2][1], lines[0], lines[-1])
                     if "_emit(" not in ln and not ln.strip().startswith("del ")]
            assert later
        assert TP.stats["replayed"] == n + 2
    finally:
        TP.set_enabled(prev)
        TP.clear()
