"""A jitted function under other transforms: ``grad(jit(f))`` against ``jit(grad(f))`` (and
``vmap(jit(f))``, ``jvp(jit(f))``, ``jit(jit(f))``) on a 6-layer tanh MLP.

    python benchmarks/bench_jit_call.py [--rounds 7]

The variants run in alternating rounds in one process; the figure is the median over rounds
of the per-call time. Nothing here is asserted by the test suite.
"""
from __future__ import annotations

import argparse
import statistics
import timeit

import numpy as np

import ember


def mlp_setup(width=64, depth=6, batch=32, seed=0):
    rng = np.random.default_rng(seed)
    params = [(ember.tensor(rng.standard_normal((width, width)).astype(np.float32) * 0.2),
               ember.tensor(np.zeros(width, np.float32))) for _ in range(depth)]
    x = ember.tensor(rng.standard_normal((batch, width)).astype(np.float32))
    return params, x


def loss(params, x):
    h = x
    for w, b in params:
        h = ember.tanh(h @ w + b)
    return (h * h).mean()


def variants(params, x):
    g_of_j = ember.grad(ember.jit(loss))
    j_of_g = ember.jit(ember.grad(loss))
    v_of_j = ember.vmap(ember.jit(loss), in_axes=(None, 0))
    xs = ember.stack([x] * 4)
    jvp_of_j = ember.jit(loss)
    tangents = ember.tree_util.tree_map(ember.ones_like, params) \
        if hasattr(ember, "tree_util") else None
    j_of_j = ember.jit(lambda p, x: ember.jit(loss)(p, x) * 2.0)
    return {
        "jit(grad(f))": lambda: j_of_g(params, x),
        "grad(jit(f))": lambda: g_of_j(params, x),
        "vmap(jit(f))": lambda: v_of_j(params, xs),
        "jvp(jit(f))": lambda: ember.jvp(lambda p: jvp_of_j(p, x), (params,), (tangents,)),
        "jit(jit(f))": lambda: j_of_j(params, x),
        "grad(f) eager": lambda: ember.grad(loss)(params, x),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--number", type=int, default=200)
    args = ap.parse_args()
    params, x = mlp_setup()
    fns = variants(params, x)
    for f in fns.values():  # trace and compile
        f(), f()
    times = {k: [] for k in fns}
    for _ in range(args.rounds):
        for k, f in fns.items():
            times[k].append(timeit.timeit(f, number=args.number) / args.number * 1e3)
    base = statistics.median(times["jit(grad(f))"])
    for k, ts in times.items():
        m = statistics.median(ts)
        print(f"{k:>14}: {m:7.3f} ms  ({m / base:5.2f}x jit(grad(f)))")


if __name__ == "__main__":
    main()
