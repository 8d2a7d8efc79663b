"""Run under `mpiexec -n 2`: every collective on every dtype/ReduceOp vs a single-process
NumPy reference. Prints 'collectives ok <n>' on rank 0 when every check passed."""
import sys

import numpy as np

import ember
import ember.distributed as dist

dist.init_process_group(backend="mpi")
rank, n = dist.get_rank(), dist.get_world_size()
assert n >= 2, n
checks = 0


def data(r, dtype, shape=(3, 4)):
    rng = np.random.default_rng(100 + r)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(0.5, 2.0, shape).astype(dtype)
    return rng.integers(-7, 8, shape).astype(dtype)


def same(a, b, what):
    global checks
    a = a.numpy() if isinstance(a, ember.Tensor) else np.asarray(a)
    assert a.dtype == np.asarray(b).dtype, (what, a.dtype, np.asarray(b).dtype)
    if a.dtype.kind == "f":
        ok = np.allclose(a, b, rtol=1e-6 if a.dtype == np.float32 else 1e-12, atol=0)
    else:
        ok = np.array_equal(a, b)
    assert ok, f"rank {rank}: {what}: got {a}, want {b}"
    checks += 1


REF = {"SUM": lambda xs: np.sum(xs, 0), "PRODUCT": lambda xs: np.prod(xs, 0),
       "MIN": lambda xs: np.min(xs, 0), "MAX": lambda xs: np.max(xs, 0)}

for dtype in (np.float32, np.float64, np.int64):
    allx = np.stack([data(r, dtype) for r in range(n)])
    mine = allx[rank]
    for opname in ("SUM", "AVG", "PRODUCT", "MIN", "MAX"):
        op = getattr(dist.ReduceOp, opname)
        if opname == "AVG":
            s = allx.sum(0)
            want = (s / n).astype(dtype) if np.dtype(dtype).kind == "f" else \
                (np.sign(s) * (np.abs(s) // n)).astype(dtype)
        else:
            want = REF[opname](allx).astype(dtype)
        t = ember.tensor(mine.copy())
        dist.all_reduce(t, op=op)
        same(t, want, f"all_reduce {opname} {np.dtype(dtype)}")
        t = ember.tensor(mine.copy())
        w = dist.all_reduce(t, op=op, async_op=True)
        w.wait()
        assert w.is_completed()
        same(t, want, f"all_reduce async {opname} {np.dtype(dtype)}")
        # non-contiguous tensor (a transposed view)
        t = ember.tensor(mine.copy().T.copy()).t()
        dist.all_reduce(t, op=op)
        same(t, want, f"all_reduce non-contiguous {opname}")
        for dst in range(n):
            t = ember.tensor(mine.copy())
            dist.reduce(t, dst=dst, op=op)
            same(t, want if rank == dst else mine, f"reduce {opname} dst={dst}")
        # reduce_scatter_tensor: input (n*2, 4) -> output (2, 4)
        big = np.concatenate([data(r * 7 + 1, dtype, (2 * n, 4)) for r in [rank]])
        allbig = np.stack([np.concatenate([data(r * 7 + 1, dtype, (2 * n, 4))]) for r in range(n)])
        if opname == "AVG":
            s = allbig.sum(0)
            wbig = (s / n).astype(dtype) if np.dtype(dtype).kind == "f" else \
                (np.sign(s) * (np.abs(s) // n)).astype(dtype)
        else:
            wbig = REF[opname](allbig).astype(dtype)
        out = ember.tensor(np.zeros((2, 4), dtype))
        dist.reduce_scatter_tensor(out, ember.tensor(big), op=op)
        same(out, wbig[2 * rank:2 * rank + 2], f"reduce_scatter_tensor {opname}")
        outl = ember.tensor(np.zeros((2, 4), dtype))
        dist.reduce_scatter(outl, [ember.tensor(b) for b in np.split(big, n)], op=op)
        same(outl, wbig[2 * rank:2 * rank + 2], f"reduce_scatter {opname}")

    for src in range(n):
        t = ember.tensor(mine.copy())
        dist.broadcast(t, src=src)
        same(t, allx[src], f"broadcast src={src}")
        t = ember.tensor(mine.copy())
        dist.broadcast(t, src=src, async_op=True).wait()
        same(t, allx[src], f"broadcast async src={src}")
    lst = [ember.tensor(np.zeros((3, 4), dtype)) for _ in range(n)]
    dist.all_gather(lst, ember.tensor(mine))
    for r in range(n):
        same(lst[r], allx[r], "all_gather")
    out = ember.tensor(np.zeros((n * 3, 4), dtype))
    dist.all_gather_into_tensor(out, ember.tensor(mine))
    same(out, allx.reshape(n * 3, 4), "all_gather_into_tensor (cat)")
    out = ember.tensor(np.zeros((n, 3, 4), dtype))
    dist.all_gather_into_tensor(out, ember.tensor(mine), async_op=True).wait()
    same(out, allx, "all_gather_into_tensor (stack, async)")
    for root in range(n):
        gl = [ember.tensor(np.zeros((3, 4), dtype)) for _ in range(n)] if rank == root else None
        dist.gather(ember.tensor(mine), gl, dst=root)
        if rank == root:
            for r in range(n):
                same(gl[r], allx[r], "gather")
        sl = [ember.tensor(allx[r] * 2) for r in range(n)] if rank == root else None
        t = ember.tensor(np.zeros((3, 4), dtype))
        dist.scatter(t, sl, src=root)
        same(t, allx[rank] * 2, "scatter")
    t = ember.tensor(np.repeat(allx[rank][None], n, 0).reshape(n * 3, 4))
    o = ember.tensor(np.zeros((n * 3, 4), dtype))
    dist.all_to_all_single(o, t)
    same(o, allx.reshape(n * 3, 4), "all_to_all_single")

# point to point
t = ember.tensor(np.arange(5, dtype=np.float32) + 10 * rank)
if rank == 0:
    dist.send(t, dst=1)
    r = ember.zeros(5)
    src = dist.recv(r, src=1)
    same(r, np.arange(5, dtype=np.float32) + 10, "recv from 1")
    assert src == 1
elif rank == 1:
    r = ember.zeros(5)
    src = dist.recv(r)          # any source
    assert src == 0
    same(r, np.arange(5, dtype=np.float32), "recv any")
    dist.send(t, dst=0)
peer = (rank + 1) % n
prev = (rank - 1) % n
r = ember.zeros(5)
ws = [dist.isend(t, dst=peer), dist.irecv(r, src=prev)]
for w in ws:
    w.wait()
same(r, np.arange(5, dtype=np.float32) + 10 * prev, "isend/irecv ring")
r = ember.zeros(5)
for w in dist.batch_isend_irecv([dist.P2POp(dist.isend, t, peer), dist.P2POp(dist.irecv, r, prev)]):
    w.wait()
same(r, np.arange(5, dtype=np.float32) + 10 * prev, "batch_isend_irecv")

# objects
objs = [{"rank": rank}, "x" * rank, None]
dist.broadcast_object_list(objs, src=1)
assert objs == [{"rank": 1}, "x", None], objs
got = [None] * n
dist.all_gather_object(got, ("r", rank))
assert got == [("r", r) for r in range(n)], got
gl = [None] * n if rank == 0 else None
dist.gather_object(rank * 3, gl, dst=0)
if rank == 0:
    assert gl == [r * 3 for r in range(n)], gl
out = [None]
dist.scatter_object_list(out, [f"to{r}" for r in range(n)] if rank == 0 else None, src=0)
assert out == [f"to{rank}"], out
checks += 4

# groups: a group of rank 1 alone, and of all ranks in reverse order
g1 = dist.new_group([1])
if rank == 1:
    assert dist.get_world_size(g1) == 1 and dist.get_rank(g1) == 0
    t = ember.tensor([5.])
    dist.all_reduce(t, group=g1)
    same(t, np.array([5.], np.float32), "all_reduce in a group of one")
else:
    assert g1 is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g1) == -1
gall = dist.new_group(list(range(n)))
t = ember.tensor([float(rank)])
dist.broadcast(t, src=n - 1, group=gall)
same(t, np.array([n - 1.], np.float32), "broadcast in a group (global src)")

# bfloat16/float16 reduce through float32, bool through uint8
t = ember.tensor([1.5, 2.0], dtype=ember.float16)
dist.all_reduce(t)
same(t, np.array([1.5 * n, 2.0 * n], np.float16), "float16 all_reduce")
t = ember.tensor([rank == 0, True])
dist.all_reduce(t, op=dist.ReduceOp.MIN)
same(t, np.array([False, True]), "bool MIN")

dist.barrier()
dist.barrier(async_op=True).wait()
if rank == 0:
    print(f"collectives ok {checks}", flush=True)
dist.destroy_process_group()
