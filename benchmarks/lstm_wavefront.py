"""Would a two-layer LSTM run faster as a wavefront on two threads? (issue 17)

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/lstm_wavefront.py \
        [--block 8] [--rounds 10] [--switch SECONDS]

The forward pass of text-lstm's two layers (batch 64, 200 steps, 100 -> 128 -> 128) through
ember's own LSTM kernel (``ops/nn_ops._lstm_seq_impl``, called once per block of steps), in
three schedules, alternating, in one process:
- ``one``: layer 1 over all blocks, then layer 2 (layer 2's input projection one GEMM per
  block), all on the calling thread: the work of the wavefront without a second thread;
- ``wave``: the same calls, layer 2 on a second thread, started on a block as soon as layer 1
  has finished it (one ``threading.Event`` per block);
- ``ceiling``: the two layers on two threads with no dependency at all (the best a second
  thread can give this loop of small NumPy calls under the GIL).
It prints wall and CPU time (min and median over rounds) per schedule, and the cost of one
GIL handoff between two threads (an Event ping-pong). The schedules compute the same bits
(checked). Nothing in ember uses this schedule yet: the figures decide whether to build it
(a fused two-layer primitive, its backward the same wavefront in reverse).

Measure on a quiet machine only: with other processes on the two cores, wall time says
nothing about the second core (CPU time still shows the threads' overhead).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

import numpy as np

from ember.ops.nn_ops import _lstm_seq_impl

T, N, I, H = 200, 64, 100, 128


def make(seed=0):
    rng = np.random.default_rng(seed)
    f32 = np.float32
    x = rng.standard_normal((T, N, I), dtype=f32)
    w1 = rng.standard_normal((I, 4 * H), dtype=f32) * 0.1
    u1 = rng.standard_normal((H, 4 * H), dtype=f32) * 0.1
    w2 = rng.standard_normal((H, 4 * H), dtype=f32) * 0.1
    u2 = rng.standard_normal((H, 4 * H), dtype=f32) * 0.1
    return x, w1, u1, w2, u2


def layer1(x, w1, u1, hs1, block, done=None):
    xw = (x.reshape(-1, I) @ w1).reshape(T, N, 4 * H)
    h = c = np.zeros((N, H), np.float32)
    for k in range(0, T, block):
        hs, cs, _ = _lstm_seq_impl(xw[k:k + block], u1, h, c, False)
        hs1[k:k + block] = hs
        h, c = hs[-1], cs[-1]
        if done is not None:
            done[k // block].set()


def layer2(hs1, w2, u2, hs2, block, done=None):
    h = c = np.zeros((N, H), np.float32)
    for k in range(0, T, block):
        if done is not None:
            done[k // block].wait()
        e = min(T, k + block)
        xw = (hs1[k:e].reshape(-1, H) @ w2).reshape(e - k, N, 4 * H)  # one GEMM per block
        hs, cs, _ = _lstm_seq_impl(xw, u2, h, c, False)
        hs2[k:e] = hs
        h, c = hs[-1], cs[-1]


def schedules(data, block):
    x, w1, u1, w2, u2 = data

    def one():
        hs1, hs2 = np.empty((T, N, H), np.float32), np.empty((T, N, H), np.float32)
        layer1(x, w1, u1, hs1, block)
        layer2(hs1, w2, u2, hs2, block)
        return hs2

    def wave():
        hs1, hs2 = np.empty((T, N, H), np.float32), np.empty((T, N, H), np.float32)
        done = [threading.Event() for _ in range(0, T, block)]
        th = threading.Thread(target=layer2, args=(hs1, w2, u2, hs2, block, done))
        th.start()
        layer1(x, w1, u1, hs1, block, done)
        th.join()
        return hs2

    fixed = np.empty((T, N, H), np.float32)
    layer1(x, w1, u1, fixed, block)

    def ceiling():  # layer 2 reads a finished layer-1 output: no waiting
        hs1, hs2 = np.empty((T, N, H), np.float32), np.empty((T, N, H), np.float32)
        th = threading.Thread(target=layer2, args=(fixed, w2, u2, hs2, block))
        th.start()
        layer1(x, w1, u1, hs1, block)
        th.join()
        return hs2

    return {"one": one, "wave": wave, "ceiling": ceiling}


def handoff_us(n=2000):
    """Microseconds per GIL handoff: two threads wake each other ``n`` times."""
    a, b = threading.Event(), threading.Event()

    def other():
        for _ in range(n):
            a.wait()
            a.clear()
            b.set()
    th = threading.Thread(target=other)
    th.start()
    t0 = time.perf_counter()
    for _ in range(n):
        a.set()
        b.wait()
        b.clear()
    th.join()
    return (time.perf_counter() - t0) / (2 * n) * 1e6


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block", type=int, default=8, help="steps per handoff (default 8)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--switch", type=float, default=None,
                    help="sys.setswitchinterval in seconds (default: Python's, 0.005)")
    a = ap.parse_args(argv)
    if a.switch is not None:
        sys.setswitchinterval(a.switch)
    fns = schedules(make(), a.block)
    ref = fns["one"]()
    for name, f in fns.items():
        if not np.array_equal(f(), ref):
            raise SystemExit(f"{name}: not the same bits as one thread")
    times = {k: [] for k in fns}
    for _ in range(a.rounds):
        for name, f in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            f()
            times[name].append((time.perf_counter() - w0, time.process_time() - c0))
    print(f"two-layer LSTM forward, batch {N}, {T} steps, H {H}, block {a.block}, "
          f"switch interval {sys.getswitchinterval() * 1e3:g} ms, {a.rounds} rounds")
    for name, v in times.items():
        wall, cpu = [w for w, _ in v], [c for _, c in v]
        print(f"  {name:8s} wall min {min(wall) * 1e3:7.1f} ms  median "
              f"{statistics.median(wall) * 1e3:7.1f} ms   cpu min {min(cpu) * 1e3:7.1f} ms")
    print(f"  one GIL handoff (Event ping-pong): {handoff_us():.1f} us")


if __name__ == "__main__":
    main()
