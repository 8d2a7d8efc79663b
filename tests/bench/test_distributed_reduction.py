"""The distributed benchmark's DDP-reduction-vs-raw comparison measures like with like."""
import numpy as np

import pytest

from ember import nn
from ember.bench import distributed as bd
from tests.distributed.conftest import world_of_one  # noqa: F401  (a fixture)


@pytest.mark.usefixtures("world_of_one")
def test_reduction_vs_raw_reduces_the_same_bytes_in_turns(monkeypatch):
    net = nn.Sequential(nn.Linear(20, 30), nn.Tanh(), nn.Linear(30, 5))
    ddp = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=0.0005)  # several buckets
    assert len(ddp._buckets) > 1
    calls = []

    class FakeMPI:
        IN_PLACE, SUM = object(), "sum"

    class FakeComm:
        def Allreduce(self, send, buf, op):
            assert send is FakeMPI.IN_PLACE and op == "sum"
            calls.append(("raw", buf.nbytes, buf.dtype))

        def Barrier(self):
            calls.append(("barrier",))

    launched = []
    monkeypatch.setattr(ddp, "_launch", lambda b: launched.append(b.buf.nbytes))
    out = bd._vs_raw(ddp, FakeComm(), FakeMPI, reps=4, rounds=3)
    assert set(out) == {"ddp", "raw"} and all(len(v) == 2 for v in out.values())
    raw = [c for c in calls if c[0] == "raw"]
    assert len(raw) == 3 * (3 + 4)  # 3 rounds of 3 warm-up and 4 timed calls
    bucket_bytes = sum(b.buf.nbytes for b in ddp._buckets)
    assert {c[1:] for c in raw} == {(bucket_bytes, np.dtype(np.float32))}
    # every timed call of either after a barrier; DDP's buckets all launched each call
    assert calls.count(("barrier",)) == 3 * 2 * 4
    assert len(launched) == 3 * (4 + 3) * len(ddp._buckets)


def test_median_time_runs_setup_outside_the_timed_call():
    order = []
    med, fastest = bd._median_time(lambda: order.append("fn"), 2, warmup=1,
                                   sync=lambda: order.append("sync"),
                                   setup=lambda: order.append("setup"))
    assert order == ["setup", "fn", "setup", "sync", "fn", "setup", "sync", "fn"]
    assert 0 <= fastest <= med
