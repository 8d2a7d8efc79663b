"""Eager dispatch overhead and the linear-regression training step, side by side.

    python benchmarks/bench_eager.py [--json out.json]

Frameworks run in alternating rounds in one process so that drift hits all alike; the
figure reported is the median over rounds of the per-call time. PyTorch is included when
installed. Nothing here is asserted by the test suite.
"""
from __future__ import annotations

import argparse
import json
import statistics
import timeit

import numpy as np

import ember

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def linreg_data():
    x = np.arange(5, dtype=np.float32).reshape(5, 1)
    return x, 2 * x + 1


def eager_step(lib):
    """The PyTorch-style step, written once for ``lib`` = ember or torch."""
    X, Y = map(lib.tensor, linreg_data())
    w = lib.zeros(1, 1, requires_grad=True)
    b = lib.zeros(1, requires_grad=True)

    def step():
        loss = ((X @ w + b - Y) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            w.sub_(0.01 * w.grad)
            b.sub_(0.01 * b.grad)
        w.grad = None
        b.grad = None
    return step


def ember_jit_step():
    X, Y = map(ember.tensor, linreg_data())
    p = {"w": ember.zeros(1, 1), "b": ember.zeros(1)}

    def loss(p, x, y):
        return ((x @ p["w"] + p["b"] - y) ** 2).mean()
    f = ember.jit(lambda p, x, y: ember.tree_map(lambda a, g: a - 0.01 * g, p,
                                                 ember.grad(loss)(p, x, y)))
    state = [p]

    def step():
        state[0] = f(state[0], X, Y)
    return step


def numpy_step():
    X, Y = linreg_data()
    w = np.zeros((1, 1), np.float32)
    b = np.zeros(1, np.float32)

    def step():
        r = X @ w + b - Y
        g = (2.0 / r.size) * r
        w[...] -= 0.01 * (X.T @ g)
        b[...] -= 0.01 * g.sum(0)
    return step


def cases():
    a, b = ember.ones(4), ember.ones(4)
    m = ember.randn(32, 32)
    out = {
        ("add 4", "ember"): lambda: a + b,
        ("matmul 32x32", "ember"): lambda: m @ m,
        ("linreg step", "ember eager"): eager_step(ember),
        ("linreg step", "ember jit"): ember_jit_step(),
        ("linreg step", "numpy"): numpy_step(),
    }
    an, mn = a.numpy(), m.numpy()
    out[("add 4", "numpy")] = lambda: an + an
    out[("matmul 32x32", "numpy")] = lambda: mn @ mn
    if torch is not None:
        ta, tm = torch.ones(4), torch.randn(32, 32)
        out[("add 4", "torch")] = lambda: ta + ta
        out[("matmul 32x32", "torch")] = lambda: tm @ tm
        out[("linreg step", "torch eager")] = eager_step(torch)
    return out


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--json")
    a = p.parse_args(argv)
    cs = cases()
    times = {k: [] for k in cs}
    for _ in range(a.rounds):
        for k, f in cs.items():
            f()
            n = 2000 if k[0] == "linreg step" else 20000
            times[k].append(timeit.timeit(f, number=n) / n * 1e6)
    rows = [(k[0], k[1], statistics.median(v)) for k, v in times.items()]
    rows.sort()
    print(f"{'workload':16s} {'framework':14s} {'median us/call':>15s}")
    for w, fw, t in rows:
        print(f"{w:16s} {fw:14s} {t:15.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump([dict(workload=w, framework=fw, us=t) for w, fw, t in rows], f, indent=1)


if __name__ == "__main__":
    main()
