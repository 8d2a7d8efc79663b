"""Run under `mpiexec -n 2`: DDP training equals one process on the whole batch."""
import copy
import warnings

import numpy as np
from mpi4py import MPI

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.transforms import tape_plans as TP

dist.init_process_group()
rank, n = dist.get_rank(), dist.get_world_size()
PER = 32
rng = np.random.default_rng(0)
X = rng.standard_normal((PER * n, 784)).astype(np.float32)
Y = rng.integers(0, 10, PER * n)
mine = slice(rank * PER, (rank + 1) * PER)
report = {}


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                         nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def maxdiff(m1, m2):
    a, b = m1.state_dict(), m2.state_dict()
    return max(float(np.abs(a[k].numpy() - b[k].numpy()).max()) for k in a)


def train_pair(make_opt, steps=5, bucket_cap_mb=25, dtype=ember.float32, halves=False):
    """DDP on this rank's 32 samples vs one process on all 64 (``halves``: the one process
    averages the gradients of the ranks' halves, DDP's arithmetic exactly)."""
    ember.set_default_dtype(dtype)
    ember.manual_seed(1 + rank)             # different weights per rank: DDP broadcasts rank 0's
    model = mlp()
    ember.manual_seed(1)
    ref = mlp()                             # rank 0's weights, trained on the whole batch
    ember.set_default_dtype(ember.float32)
    ddp = DDP(model, bucket_cap_mb=bucket_cap_mb)
    assert maxdiff(ddp.module, ref) == 0.0, "construction must broadcast rank 0's parameters"
    opt, ropt = make_opt(ddp.parameters()), make_opt(ref.parameters())
    x, y = ember.tensor(X[mine], dtype=dtype), ember.tensor(Y[mine])
    xa, ya = ember.tensor(X, dtype=dtype), ember.tensor(Y)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(ddp(x), y).backward()
        opt.step()
        ropt.zero_grad()
        if halves:
            for r in range(n):
                rs = slice(r * PER, (r + 1) * PER)
                loss = nn.functional.cross_entropy(ref(xa[rs]), ya[rs])
                (loss * (1.0 / n)).backward()
        else:
            nn.functional.cross_entropy(ref(xa), ya).backward()
        ropt.step()
    return ddp, ref


sgd = lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9)   # noqa: E731
adam = lambda p: ember.optim.Adam(p, lr=1e-3)               # noqa: E731
# (optimizer, dtype, reference, tolerance). In float32 Adam amplifies the rounding of the
# sum order (full batch vs two halves) in near-zero gradient entries: one process comparing
# full-batch with averaged-halves gradients differs by 5e-6 after 5 steps (PyTorch: 2.5e-6),
# so float32 Adam is checked against the halves' arithmetic, and against the full batch in
# float64.
for name, make, dtype, halves, tol in (
        ("sgd f32 full batch", sgd, ember.float32, False, 1e-6),
        ("adam f32 averaged halves", adam, ember.float32, True, 1e-7),
        ("adam f64 full batch", adam, ember.float64, False, 1e-6),
        ("sgd f64 full batch", sgd, ember.float64, False, 1e-6)):
    for cap in (25, 0.05):                  # one bucket; several small buckets
        replayed = TP.stats["replayed"]
        ddp, ref = train_pair(make, bucket_cap_mb=cap, dtype=dtype, halves=halves)
        # the repeating tapes' backwards ran as compiled plans (tape_plans.py), the buckets'
        # all-reduces launched from inside them
        assert TP.stats["replayed"] > replayed
        d = maxdiff(ddp.module, ref)
        report[f"{name} cap={cap}"] = d
        assert d < tol, (name, cap, d)
        if name == "sgd f32 full batch":    # and with every backward walked
            prev = TP.set_enabled(False)
            try:
                wddp, wref = train_pair(make, bucket_cap_mb=cap, dtype=dtype, halves=halves)
            finally:
                TP.set_enabled(prev)
            d = maxdiff(wddp.module, wref)
            report[f"{name} cap={cap} walked"] = d
            assert d < tol, (name, cap, "walked", d)
            assert maxdiff(wddp.module, ddp.module) == 0.0  # the replay: the walk's bits
        if cap == 0.05:
            assert len(ddp._buckets) > 1, len(ddp._buckets)
        if hasattr(MPI.Comm, "Allreduce_init") and MPI.Get_version() >= (4, 0):
            # each bucket's all-reduce is a persistent collective on its buffer (set up once)
            assert all(b.preq is not None and b.preq.buf is b.buf for b in ddp._buckets)
# state_dict keys as PyTorch
assert list(ddp.state_dict())[0] == "module.1.weight", list(ddp.state_dict())[:2]
assert ddp.module is ddp.module and isinstance(ddp.module, nn.Sequential)

# no_sync: two local accumulations, the third backward averages all of them
ember.manual_seed(1)
model, ref = mlp(), None
ref = copy.deepcopy(model)
ddp = DDP(model, bucket_cap_mb=0.1)
parts = [slice(0, 8), slice(8, 16), slice(16, 32)]
with ddp.no_sync():
    for s in parts[:2]:
        nn.functional.cross_entropy(ddp(ember.tensor(X[mine][s])), ember.tensor(Y[mine][s])).backward()
local = ddp.module[1].weight.grad.numpy().copy()
nn.functional.cross_entropy(ddp(ember.tensor(X[mine][parts[2]])), ember.tensor(Y[mine][parts[2]])).backward()
for r in range(n):
    for s in parts:
        rs = slice(r * PER + s.start, r * PER + s.stop)
        (nn.functional.cross_entropy(ref(ember.tensor(X[rs])), ember.tensor(Y[rs])) / n).backward()
d = max(float(np.abs(p.grad.numpy() - q.grad.numpy()).max())
        for p, q in zip(ddp.module.parameters(), ref.parameters()))
report["no_sync"] = d
assert d < 1e-6, d
# under no_sync the gradients were this rank's own (not averaged)
others = ember.zeros((n,) + local.shape)
dist.all_gather_into_tensor(others, ember.tensor(local))
assert not np.allclose(others[0].numpy(), others[1].numpy())


# an unused branch on one rank, and a parameter no rank uses
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(784, 32)
        self.a = nn.Linear(32, 10)
        self.b = nn.Linear(32, 10)
        self.never = nn.Linear(3, 3)

    def forward(self, x, use_b):
        h = self.body(x).relu()
        return self.a(h) + self.b(h) if use_b else self.a(h)


ember.manual_seed(3)
model = TwoHeads()
ref = copy.deepcopy(model)
ddp = DDP(model, bucket_cap_mb=0.01)
for step in range(2):
    nn.functional.cross_entropy(ddp(ember.tensor(X[mine]), use_b=(rank == 0)),
                                ember.tensor(Y[mine])).backward()
for step in range(2):
    for r in range(n):
        rs = slice(r * PER, (r + 1) * PER)
        (nn.functional.cross_entropy(ref(ember.tensor(X[rs]), use_b=(r == 0)),
                                     ember.tensor(Y[rs])) / n).backward()
for (k, p), q in zip(ddp.module.named_parameters(), ref.parameters()):
    if k.startswith("never"):
        assert p.grad is None and q.grad is None, k
        continue
    d = float(np.abs(p.grad.numpy() - q.grad.numpy()).max())
    assert d < 1e-6, (k, d)
report["unused branch"] = "ok"

# BatchNorm: rank 0's running statistics are broadcast at each training forward, and the
# gradients are the average of the ranks' (per-rank batch statistics)
ember.manual_seed(4)
bn_model = nn.Sequential(nn.Linear(784, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 10))
ref = copy.deepcopy(bn_model)
ddp = DDP(bn_model)
opt = ember.optim.SGD(ddp.parameters(), lr=0.1)
ropt = ember.optim.SGD(ref.parameters(), lr=0.1)
start = [b.clone() for b in ref.buffers()]   # rank 0's buffers before each step
for step in range(3):
    opt.zero_grad()
    nn.functional.cross_entropy(ddp(ember.tensor(X[mine])), ember.tensor(Y[mine])).backward()
    opt.step()
    ropt.zero_grad()
    stats = []
    for r in range(n):
        rs = slice(r * PER, (r + 1) * PER)
        for b, v in zip(ref.buffers(), start):  # every rank's forward starts from rank 0's
            b.copy_(v)
        (nn.functional.cross_entropy(ref(ember.tensor(X[rs])), ember.tensor(Y[rs])) / n).backward()
        stats.append([b.clone() for b in ref.buffers()])
    start = stats[0]
    for b, v in zip(ref.buffers(), stats[rank]):
        b.copy_(v)
    ropt.step()
d = maxdiff(ddp.module, ref)
report["batchnorm"] = d
assert d < 1e-6, d

# SyncBatchNorm: statistics over all ranks = one process on the whole batch
if hasattr(nn, "SyncBatchNorm"):
    ember.manual_seed(5)
    net = nn.Sequential(nn.Linear(784, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 10))
    ref = copy.deepcopy(net)
    ddp = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(net))
    assert type(ddp.module[1]).__name__ == "SyncBatchNorm"
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1)
    ropt = ember.optim.SGD(ref.parameters(), lr=0.1)
    for step in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(ddp(ember.tensor(X[mine])), ember.tensor(Y[mine])).backward()
        opt.step()
        ropt.zero_grad()
        nn.functional.cross_entropy(ref(ember.tensor(X)), ember.tensor(Y)).backward()
        ropt.step()
    d = maxdiff(ddp.module, ref)
    report["syncbatchnorm"] = d
    assert d < 1e-5, d
    ddp.eval()
    with ember.no_grad():
        out, rout = ddp(ember.tensor(X[:4])), ref.eval()(ember.tensor(X[:4]))
    assert np.abs(out.numpy() - rout.numpy()).max() < 1e-5

# a jitted data-parallel step: gradients averaged by the all_reduce primitive inside jit
from ember.func import functional_call
import ember.distributed.functional as DF
ember.manual_seed(6)
net = mlp()
ref = copy.deepcopy(net)


def step(params, x, y):
    def objective(p):
        return nn.functional.cross_entropy(functional_call(net, p, (x,)), y)
    loss, grads = ember.value_and_grad(objective)(params)
    grads = ember.tree_map(lambda g: DF.all_reduce(g, "avg"), grads)
    return {k: params[k] - 0.1 * grads[k] for k in params}, DF.all_reduce(loss, "avg")


jstep = ember.jit(step)
params = {k: v.detach() for k, v in net.named_parameters()}
ropt = ember.optim.SGD(ref.parameters(), lr=0.1)
for _ in range(3):
    params, loss = jstep(params, ember.tensor(X[mine]), ember.tensor(Y[mine]))
    ropt.zero_grad()
    rloss = nn.functional.cross_entropy(ref(ember.tensor(X)), ember.tensor(Y))
    rloss.backward()
    ropt.step()
    assert abs(loss.item() - rloss.item()) < 1e-6, (loss.item(), rloss.item())
d = max(float(np.abs(params[k].numpy() - v.detach().numpy()).max())
        for k, v in ref.named_parameters())
report["jit step"] = d
assert d < 1e-6, d

# the same step averaging every gradient with one coalesced all-reduce
def step_coalesced(params, x, y):
    def objective(p):
        return nn.functional.cross_entropy(functional_call(net, p, (x,)), y)
    loss, grads = ember.value_and_grad(objective)(params)
    keys = list(grads)
    avg = DF.all_reduce_coalesced([grads[k] for k in keys], "avg")
    return {k: params[k] - 0.1 * g for k, g in zip(keys, avg)}


params = {k: v.detach() for k, v in net.named_parameters()}
ref = copy.deepcopy(net)
ropt = ember.optim.SGD(ref.parameters(), lr=0.1)
jc = ember.jit(step_coalesced)
for _ in range(3):
    params = jc(params, ember.tensor(X[mine]), ember.tensor(Y[mine]))
    ropt.zero_grad()
    nn.functional.cross_entropy(ref(ember.tensor(X)), ember.tensor(Y)).backward()
    ropt.step()
d = max(float(np.abs(params[k].numpy() - v.detach().numpy()).max())
        for k, v in ref.named_parameters())
report["jit step coalesced"] = d
assert d < 1e-6, d
assert str(ember.make_graph(step_coalesced)(params, ember.tensor(X[mine]),
                                            ember.tensor(Y[mine]))).count("dist_all_reduce") == 1
assert "dist_all_reduce" in str(ember.make_graph(step)(params, ember.tensor(X[mine]),
                                                         ember.tensor(Y[mine])))

# flat gradient buckets: .grad is a view of its bucket (the all-reduce runs in place there),
# whatever way the gradients are cleared, accumulated or replaced between steps
def in_bucket(ddp):
    return all(p.grad is None or any(np.shares_memory(p.grad._data, b.buf)
                                     for b in ddp._buckets) for p in ddp.module.parameters())


def flat_case(clear, steps=3, jit=False, cap=0.05):
    ember.manual_seed(8)
    model = mlp()
    ref = copy.deepcopy(model)
    ddp = DDP(ember.compile(model) if jit else model, bucket_cap_mb=cap)   # compile: jit plans
    bufs = None
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ropt = ember.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    x, y = ember.tensor(X[mine]), ember.tensor(Y[mine])
    for step in range(steps):
        clear(opt)
        before = list(ddp._buckets)
        nn.functional.cross_entropy(ddp(x), y).backward()
        assert in_bucket(ddp), clear
        if step == 1:   # the buckets were rebuilt in gradient order at this step's forward
            bufs = [b.buf for b in ddp._buckets]
            # the replaced buckets' persistent all-reduces were released
            gone = [b for b in before if b not in ddp._buckets]
            assert all(b.preq is None for b in gone), clear
        opt.step()
        ropt.zero_grad()
        for r in range(n):
            rs = slice(r * PER, (r + 1) * PER)
            (nn.functional.cross_entropy(ref(ember.tensor(X[rs])), ember.tensor(Y[rs])) / n
             ).backward()
        ropt.step()
    assert all(a is b.buf for a, b in zip(bufs, ddp._buckets))
    return maxdiff(ddp.module if not jit else model, ref)


def replace_grads(opt):      # an optimizer/user that puts a new tensor in .grad
    for g in opt.param_groups:
        for p in g["params"]:
            if p.grad is not None:
                p.grad = p.grad * 0.0


for label, clear, jit in (("set_to_none", lambda o: o.zero_grad(), False),
                          ("zeros in place", lambda o: o.zero_grad(set_to_none=False), False),
                          ("replaced .grad", replace_grads, False),
                          ("jitted module", lambda o: o.zero_grad(), True)):
    d = flat_case(clear, jit=jit)
    report[f"flat {label}"] = d
    assert d < 1e-6, (label, d)

# bucket rebuild in gradient-arrival order: layers registered in another order than they run
class Shuffled(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(64, 10)      # registered first, used last
        self.mid = nn.Linear(128, 64)
        self.stem = nn.Linear(784, 128)    # registered last, used first

    def forward(self, x):
        return self.head(self.mid(self.stem(x).relu()).relu())


for make in (sgd, adam):
    ember.manual_seed(10 + rank)
    model = Shuffled()
    ember.manual_seed(10)
    ref = Shuffled()
    ddp = DDP(model, bucket_cap_mb=0.02)
    names = {id(p): k for k, p in ddp.module.named_parameters()}
    before = [[names[id(p)] for p in b.params] for b in ddp._buckets]
    assert before[0] == ["stem.bias", "stem.weight"], before   # reverse registration order
    opt, ropt = make(ddp.parameters()), make(ref.parameters())
    for step in range(5):
        opt.zero_grad(set_to_none=(step % 2 == 0))
        nn.functional.cross_entropy(ddp(ember.tensor(X[mine])), ember.tensor(Y[mine])).backward()
        opt.step()
        ropt.zero_grad()
        if make is sgd:     # the full batch; Adam: the ranks' halves averaged (see above)
            nn.functional.cross_entropy(ref(ember.tensor(X)), ember.tensor(Y)).backward()
        else:
            for r in range(n):
                rs = slice(r * PER, (r + 1) * PER)
                (nn.functional.cross_entropy(ref(ember.tensor(X[rs])), ember.tensor(Y[rs]))
                 * (1.0 / n)).backward()
        ropt.step()
        if step == 0:
            assert ddp._bucket_order is None    # recorded, rebuilt at the next forward
        else:
            assert ddp._bucket_order == ["head.weight", "head.bias", "mid.weight", "mid.bias",
                                         "stem.weight", "stem.bias"], ddp._bucket_order
    after = [[names[id(p)] for p in b.params] for b in ddp._buckets]
    assert after[0][0] == "head.weight" and after != before, after
    every = [None] * n
    dist.all_gather_object(every, after)
    assert all(e == after for e in every), every       # the same buckets on every rank
    d = maxdiff(ddp.module, ref)
    report[f"rebuilt buckets {'sgd' if make is sgd else 'adam'}"] = d
    assert d < 1e-6, d

# no_sync accumulation into the bucket, then a synced pass: the average of all three
ember.manual_seed(9)
model = mlp()
ref = copy.deepcopy(model)
ddp = DDP(model, bucket_cap_mb=0.05)
for rep in range(2):                    # twice: the second round starts from views
    ddp.zero_grad(set_to_none=(rep == 0))
    ref.zero_grad()
    with ddp.no_sync():
        for s in parts[:2]:
            nn.functional.cross_entropy(ddp(ember.tensor(X[mine][s])),
                                        ember.tensor(Y[mine][s])).backward()
    assert in_bucket(ddp)
    nn.functional.cross_entropy(ddp(ember.tensor(X[mine][parts[2]])),
                                ember.tensor(Y[mine][parts[2]])).backward()
    for r in range(n):
        for s in parts:
            rs = slice(r * PER + s.start, r * PER + s.stop)
            (nn.functional.cross_entropy(ref(ember.tensor(X[rs])), ember.tensor(Y[rs])) / n
             ).backward()
    d = max(float(np.abs(p.grad.numpy() - q.grad.numpy()).max())
            for p, q in zip(ddp.module.parameters(), ref.parameters()))
    assert d < 1e-6, (rep, d)
report["flat no_sync"] = d

# the sampler: coverage, disjointness, padding, set_epoch, the repeated-epoch warning
N = 103
s = ember.data.DistributedSampler(range(N), seed=7)
assert (s.num_replicas, s.rank) == (n, rank)
mine_idx = list(s)
everyone = [None] * n
dist.all_gather_object(everyone, mine_idx)
flat = sum(everyone, [])
assert len(flat) == n * ((N + n - 1) // n) and set(flat) == set(range(N))
if N % n == 0:
    assert len(set(flat)) == N
else:
    assert len(flat) - len(set(flat)) == n * ((N + n - 1) // n) - N   # only the padding repeats
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    again = list(s)
assert again == mine_idx and any("set_epoch" in str(x.message) for x in w), w
s.set_epoch(1)
with warnings.catch_warnings():
    warnings.simplefilter("error")
    e1 = list(s)
assert e1 != mine_idx and sorted(set(sum([list(ember.data.DistributedSampler(
    range(N), num_replicas=n, rank=r, seed=7).__iter__()) for r in range(n)], []))) == \
    list(range(N))
sd = ember.data.DistributedSampler(range(N), shuffle=False, drop_last=True)
alld = [None] * n
dist.all_gather_object(alld, list(sd))
flat = sum(alld, [])
assert len(flat) == len(set(flat)) == (N // n) * n
loader = ember.data.DataLoader(ember.data.TensorDataset(ember.tensor(X[:40])), batch_size=5,
                               sampler=ember.data.DistributedSampler(range(40), shuffle=False))
assert sum(b[0].shape[0] for b in loader) == 40 // n
report["sampler"] = "ok"

if rank == 0:
    print("ddp ok", report, flush=True)
dist.destroy_process_group()
