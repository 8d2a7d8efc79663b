"""Run under `mpiexec -n 2` with one argument naming the case."""
import sys
import time

import numpy as np

import ember
import ember.distributed as dist

case = sys.argv[1]
dist.init_process_group()
rank = dist.get_rank()


def expect_error(fn, *parts):
    try:
        fn()
    except (RuntimeError, ValueError, TypeError) as e:
        msg = str(e)
        for p in parts:
            assert p in msg, f"{p!r} not in {msg!r}"
        return msg
    raise AssertionError(f"no error from {fn}")


if case == "messages":
    # a shape mismatch: every rank gets the same error naming op, ranks and shapes
    t = ember.zeros(3, 4) if rank == 0 else ember.zeros(5, 4)
    m = expect_error(lambda: dist.all_reduce(t), "all_reduce", "rank 0 has shape (3, 4)",
                     "rank 1 has shape (5, 4)")
    t = ember.zeros(3) if rank == 0 else ember.zeros(3, dtype=ember.float64)
    expect_error(lambda: dist.broadcast(t, src=0), "broadcast", "float32", "float64")
    t = ember.zeros(3)
    if rank == 0:
        expect_error(lambda: dist.all_reduce(t), "rank 0 called all_reduce",
                     "rank 1 called broadcast")
    else:
        expect_error(lambda: dist.broadcast(t, src=0), "rank 0 called all_reduce",
                     "rank 1 called broadcast")
    if rank == 0:
        expect_error(lambda: dist.barrier(), "rank 0 called barrier", "rank 1 called all_reduce")
    else:
        expect_error(lambda: dist.all_reduce(t), "rank 0 called barrier",
                     "rank 1 called all_reduce")
    expect_error(lambda: dist.all_reduce(t, op=dist.ReduceOp.SUM if rank else dist.ReduceOp.MAX),
                 "different reduce ops", "ReduceOp.MAX", "ReduceOp.SUM")
    expect_error(lambda: dist.broadcast(t, src=rank), "different roots")
    expect_error(lambda: dist.all_reduce([1, 2]), "all_reduce", "must be an ember Tensor")
    expect_error(lambda: dist.all_reduce(t, op="median"), "all_reduce", "ReduceOp")
    expect_error(lambda: dist.all_gather([ember.zeros(3)], t), "all_gather", "one per rank")
    expect_error(lambda: dist.all_gather_into_tensor(ember.zeros(5), t),
                 "all_gather_into_tensor", "(6,)")
    expect_error(lambda: dist.broadcast(t, src=7), "broadcast", "global rank 7")
    expect_error(lambda: dist.send(t, dst=rank), "send", "itself")
    expect_error(lambda: dist.init_process_group(), "already initialized")
    # after all these errors the ranks are still in step
    t = ember.ones(2)
    dist.all_reduce(t)
    assert t.tolist() == [2.0, 2.0], t
    if rank == 0:
        print("messages ok", flush=True)
elif case == "checks":
    # the signature check: one all-gather per call by default, once per signature with
    # EMBER_DIST_CHECKS=first; a mismatch on new signatures is caught either way
    from ember.distributed import collectives as C
    comm = dist._world()
    calls = []
    raw = comm.allgather_raw
    comm.allgather_raw = lambda a, o: (calls.append(1), raw(a, o))
    first = C._checks[0] == 2
    t = ember.ones(3)
    for _ in range(4):
        dist.all_reduce(t)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.tolist() == [16.0, 16.0, 16.0], t   # 1 -> 2 -> 4 -> 8 -> 16, AVG keeps it
    assert len(calls) == (2 if first else 5), (first, len(calls))
    t = ember.zeros(2, 4) if rank == 0 else ember.zeros(4, 2)
    expect_error(lambda: dist.all_reduce(t), "all_reduce", "rank 0 has shape (2, 4)",
                 "rank 1 has shape (4, 2)")
    t = ember.ones(2)
    dist.all_reduce(t)
    assert t.tolist() == [2.0, 2.0], t
    if rank == 0:
        print("checks ok", first, flush=True)
elif case == "raise":
    # rank 1 raises; rank 0 waits in a collective it would never leave: both must exit
    if rank == 1:
        raise ValueError("boom on purpose")
    t = ember.ones(2)
    dist.all_reduce(t)
    time.sleep(60)
    print("rank 0 should not get here", flush=True)
