"""Does the second core pay for convolutions? Wall ms per compiled training step with OpenBLAS
on its default threads, on one thread, and on one thread with the convolution and pool
kernels split by batch over two threads (``conv._SPLIT_MIN_BYTES``), alternating in one
process.

    python benchmarks/conv_split.py cifar-lenet [--batch 32] [--splits 1048576,4194304]
        [--rounds 10] [--steps 5] [--wait-quiet 0.8]

Configurations (``blas threads : split``): ``N:auto`` (OpenBLAS's default thread count and
the default split, what a user gets: only the row-shifted products of enough blocks and the
max pool's forward), ``N:off`` (no split), ``1:off`` and ``1:<bytes>`` for each ``--splits``
value. The split
runs under one BLAS thread because OpenBLAS's idle workers spin for a while after each
threaded product (one 512x512 product then a 50 ms sleep: ~44 ms of process CPU with two
threads, ~5 ms with one), and a spinning worker takes the core that ember's kernel thread
needs. Only wall time answers the question, so run it on a quiet machine: ``--wait-quiet F``
starts each round only once the machine has been at least F idle over 0.3 s (read from
/proc/stat, with this process's BLAS held to one thread so that its own workers sleep) and
reports how many rounds it kept. Prints the fastest and the median round per configuration
(ms per step) and the process CPU per step.
"""
import argparse
import statistics
import time


def _idle(dt=0.3):
    def read():
        with open("/proc/stat") as f:
            v = [int(t) for t in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)
    i0, t0 = read()
    time.sleep(dt)
    i1, t1 = read()
    return (i1 - i0) / max(1, t1 - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--splits", default="1048576,4194304",
                    help="comma-separated split thresholds in bytes (conv._SPLIT_MIN_BYTES)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--wait-quiet", type=float, default=None, metavar="F",
                    help="keep only rounds started when the machine was at least F idle")
    ap.add_argument("--max-wait", type=float, default=600.0, help="seconds, with --wait-quiet")
    a = ap.parse_args()
    import ember
    import ember.ops.conv as C
    from ember.backend import threads
    from ember.bench import workloads as W
    ember.backend.keep_freed_memory()
    blas = threads._blas_controllers()
    default = max([c.get_num_threads() for c in blas] or [1])
    spec = W.resolve(a.workload, False, a.batch)
    step, _ = W.build_ember_jit(W.initial_weights(spec), spec.make_data(spec.batch, 1), spec)
    configs = [(default, "auto"), (default, None), (1, None)] + \
        [(1, int(s)) for s in a.splits.split(",") if s]

    def use(cfg):
        for c in blas:
            c.set_num_threads(cfg[0])
        C._SPLIT_MIN_BYTES = cfg[1]

    saved = C._SPLIT_MIN_BYTES
    wall = {c: [] for c in configs}
    cpu = {c: [] for c in configs}
    try:
        for cfg in configs:
            use(cfg)
            for _ in range(3):
                step()
        kept, start = 0, time.time()
        while kept < a.rounds:
            if a.wait_quiet is not None:
                if time.time() - start > a.max_wait:
                    break
                use((1, None))
                time.sleep(0.2)  # (this process's BLAS workers stop spinning)
                if _idle() < a.wait_quiet:
                    continue
            order = configs if kept % 2 == 0 else configs[::-1]
            for cfg in order:
                use(cfg)
                step()
                t, p = time.perf_counter(), time.process_time()
                for _ in range(a.steps):
                    step()
                wall[cfg].append((time.perf_counter() - t) / a.steps * 1e3)
                cpu[cfg].append((time.process_time() - p) / a.steps * 1e3)
            kept += 1
    finally:
        for c in blas:
            c.set_num_threads(default)
        C._SPLIT_MIN_BYTES = saved
    print(f"{a.workload} batch {spec.batch}, ember jit, {kept} rounds of {a.steps} steps"
          + (f" (started at >= {a.wait_quiet:.0%} idle)" if a.wait_quiet is not None else "")
          + f", kernel threads allowed: {threads.cores >= 2}")
    for cfg in configs:
        if not wall[cfg]:
            continue
        name = f"{cfg[0]}:{'off' if cfg[1] is None else cfg[1]}"
        print(f"  blas:split {name:>12}  wall fastest {min(wall[cfg]):7.2f} median "
              f"{statistics.median(wall[cfg]):7.2f} ms   CPU median "
              f"{statistics.median(cpu[cfg]):7.2f} ms")


if __name__ == "__main__":
    main()
