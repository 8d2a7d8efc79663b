"""A training step as a plain ``python script.py`` runs it: CPU time and page faults per step,
with glibc's allocator left as it is (the default; ember's caching pool on) or tuned by
``ember.backend.keep_freed_memory()`` (what the ``ember`` command and ``ember bench`` do).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/plain_script_step.py \\
        cifar-lenet jit [--tuned] [--steps 40] [--batch 32]

Run it from outside the checkout with ``PYTHONPATH`` naming the checkout to compare two of
them, alternating (``EMBER_POOL=0`` turns the pool off). The workloads are ``ember bench``'s
(``ember.bench.workloads``); one process per configuration, since the allocator's state is the
process's. Prints mean / fastest / median CPU ms per step (time.process_time), minor page
faults per step and the process's peak RSS.
"""
import argparse
import resource
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("mode", choices=("jit", "eager"))
    ap.add_argument("--tuned", action="store_true", help="call keep_freed_memory() first")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=None)
    a = ap.parse_args()
    import ember
    if a.tuned:
        ember.backend.keep_freed_memory()
    from ember.bench import workloads as W
    spec = W.resolve(a.workload, False, a.batch)
    w = W.initial_weights(spec)
    build = W.build_ember_jit if a.mode == "jit" else W.build_ember_eager
    step, _ = build(w, spec.make_data(spec.batch, 1), spec)
    for _ in range(3):
        step()

    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    f0 = faults()
    for _ in range(a.steps):
        t = time.process_time()
        step()
        times.append(time.process_time() - t)
    f1 = faults()
    s = sorted(times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{a.workload} {a.mode} {'tuned' if a.tuned else 'untuned'}: CPU ms/step mean "
          f"{sum(s) / len(s) * 1e3:.2f} fastest {s[0] * 1e3:.2f} median {s[len(s) // 2] * 1e3:.2f}"
          f"; page faults/step {(f1 - f0) / a.steps:.0f}; peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
