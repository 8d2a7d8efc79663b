"""A/B of process-wide settings: one persistent worker process per configuration, each with
its own environment, timing ember's training step in alternating rounds.

Settings that a library reads once when it loads (OPENBLAS_THREAD_TIMEOUT, OpenBLAS's thread
count, EMBER_CONV_SPLIT_MIN_BYTES, EMBER_POOL, ...) cannot be switched inside one process, and
processes run one after another meet different spells of a machine whose speed drifts. Here
every configuration's process builds the step once and waits; each round asks every worker in
turn (the order reversed every other round) for ``steps`` timed steps, after a pause, so that
drift hits all alike.

    python benchmarks/env_ab.py cifar-lenet --steps 100 --rounds 6 \\
        default: t28:OPENBLAS_THREAD_TIMEOUT=28 split_off:EMBER_CONV_SPLIT_MIN_BYTES=off

A configuration is ``NAME:VAR=VALUE,VAR=VALUE`` (``NAME:`` for the inherited environment).
Prints the fastest and the median step (ms) per configuration.
"""
import argparse
import json
import os
import subprocess
import sys

WORKER = r"""
import json, sys, time
import ember
from ember.backend import keep_freed_memory
from ember.bench import workloads as W
keep_freed_memory()
name, kind, batch, steps, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
    float(sys.argv[5])
spec = W.resolve(name, False, batch or None)
build = W.build_ember_jit if kind == "jit" else W.build_ember_eager
step, _ = build(W.initial_weights(spec), spec.make_data(spec.batch, 0), spec)
step()
step()
print("ready", flush=True)
for _ in sys.stdin:
    time.sleep(pause)
    step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    print(json.dumps(times), flush=True)
"""


def parse_config(text):
    name, sep, rest = text.partition(":")
    if not sep or not name:
        raise SystemExit(f"env_ab: a configuration is NAME:VAR=VALUE,... (or NAME:), got {text!r}")
    env = {}
    for item in filter(None, rest.split(",")):
        var, eq, value = item.partition("=")
        if not eq or not var:
            raise SystemExit(f"env_ab: {item!r} in {text!r} is not VAR=VALUE")
        env[var] = value
    return name, env


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("configs", nargs="+", metavar="NAME:VAR=VALUE,...")
    ap.add_argument("--eager", action="store_true", help="the eager step instead of jit's")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per worker per round")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--pause", type=float, default=0.3, help="seconds before each worker's turn")
    a = ap.parse_args(argv)
    configs = [parse_config(c) for c in a.configs]
    if len({n for n, _ in configs}) != len(configs):
        raise SystemExit("env_ab: configuration names must differ")
    workers = {}
    try:
        for name, env in configs:
            p = subprocess.Popen(
                [sys.executable, "-c", WORKER, a.workload, "eager" if a.eager else "jit",
                 str(a.batch), str(a.steps), str(a.pause)],
                env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True)
            workers[name] = p
            if p.stdout.readline().strip() != "ready":
                raise SystemExit(f"env_ab: the worker of {name!r} failed to build the step")
        times = {name: [] for name in workers}
        names = list(workers)
        for r in range(a.rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                p = workers[name]
                p.stdin.write("go\n")
                p.stdin.flush()
                times[name] += json.loads(p.stdout.readline())
    finally:
        for p in workers.values():
            if p.stdin:
                p.stdin.close()
            p.wait(timeout=60)
    print(f"{a.workload} {'eager' if a.eager else 'jit'}"
          f"{f' batch {a.batch}' if a.batch else ''}: {a.rounds} rounds of {a.steps} steps")
    for name, ts in times.items():
        ts.sort()
        print(f"  {name:16s} fastest {ts[0] * 1e3:9.3f}  median {ts[len(ts) // 2] * 1e3:9.3f} ms")


if __name__ == "__main__":
    main()
