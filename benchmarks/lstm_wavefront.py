"""The two-layer LSTM primitive (ops/nn_ops lstm2_seq) with its wavefront on two threads vs
the same kernels on one thread (issue 17): does the switch EMBER_LSTM_WAVE_MIN_NH pay here?

    python benchmarks/lstm_wavefront.py [--rounds 10] [--sizes 64x128,32x128,16x64] [--steps 200]

For each size (batch x hidden; text-lstm is 64x128, 200 steps, input 100) it times, alternating
in one process, the forward kernel and forward + backward kernels of lstm2_seq
(``_lstm2_seq_impl``, ``_lstm2_seq_bwd_impl``) with the wavefront off (one thread) and on (two
threads), and prints wall and CPU time (min and median over rounds) and the ratio on/off of
the fastest and median walls. The two schedules compute the same bits (checked). BLAS runs
as configured (the wavefront holds it to one thread while both layers run).

Measure on a quiet machine only: with other processes on the two cores the wall time says
nothing about the second core (CPU time still shows the threads' overhead).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from ember.ops import nn_ops as K


def make(T, N, H, seed=0):
    rng = np.random.default_rng(seed)
    f32 = np.float32
    s = f32(1 / np.sqrt(H))  # float32: a NumPy float64 scalar would promote (NumPy 2)
    args = [rng.standard_normal(sh, dtype=f32) * s for sh in
            [(T, N, 100), (100, 4 * H), (4 * H,), (H, 4 * H), (H, 4 * H), (4 * H,), (H, 4 * H),
             (N, H), (N, H), (N, H), (N, H)]]
    assert all(a.dtype == f32 for a in args), [a.dtype for a in args]
    cts = [np.zeros((T, N, H), f32) for _ in range(4)]
    cts[2][-1] = rng.standard_normal((N, H), dtype=f32)  # as text-lstm: h_n of layer 2
    return args, cts


def run(args, cts, backward):
    out = K._lstm2_seq_impl(*args)
    if backward:
        out = out + K._lstm2_seq_bwd_impl(*cts, *out, *args, ct_h1=False, ct_c1=False,
                                          ct_c2=False)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--sizes", default="64x128,32x128,16x64",
                    help="batch x hidden, comma-separated (default 64x128,32x128,16x64)")
    a = ap.parse_args(argv)
    saved = K._WAVE_MIN_NH
    try:
        for size in a.sizes.split(","):
            N, H = (int(v) for v in size.split("x"))
            args, cts = make(a.steps, N, H)
            for backward in (False, True):
                K._WAVE_MIN_NH = None
                ref = run(args, cts, backward)
                K._WAVE_MIN_NH = 1
                if not all(np.array_equal(u, v) for u, v in zip(ref, run(args, cts, backward))):
                    raise SystemExit(f"{size}: the wavefront's bits differ from one thread's")
                times = {"one": [], "wave": []}
                for _ in range(a.rounds):
                    for name, on in (("one", None), ("wave", 1)):
                        K._WAVE_MIN_NH = on
                        c0, w0 = time.process_time(), time.perf_counter()
                        run(args, cts, backward)
                        times[name].append((time.perf_counter() - w0,
                                            time.process_time() - c0))
                what = "fwd+bwd" if backward else "fwd    "
                line = [f"N {N:3d} H {H:4d} T {a.steps} {what}"]
                stats = {}
                for name, v in times.items():
                    wall, cpu = [w for w, _ in v], [c for _, c in v]
                    stats[name] = (min(wall), statistics.median(wall))
                    line.append(f"{name} wall min {min(wall) * 1e3:6.1f} med "
                                f"{statistics.median(wall) * 1e3:6.1f} cpu min "
                                f"{min(cpu) * 1e3:6.1f} ms")
                line.append(f"wave/one min {stats['wave'][0] / stats['one'][0]:.2f} med "
                            f"{stats['wave'][1] / stats['one'][1]:.2f}")
                print(" | ".join(line), flush=True)
    finally:
        K._WAVE_MIN_NH = saved


if __name__ == "__main__":
    main()
