"""Where a compiled training step spends its time: CPU time per line of the jit plan.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/plan_lines.py cifar-lenet \\
        [--batch 32] [--steps 10] [--rounds 5] [--top 25] [--wall] [--eager]

Builds the workload's ember jit step as ``ember bench`` does (``ember.bench.workloads``,
glibc's allocator tuned as by the ``ember`` command), recompiles its largest plan with a CPU
clock read (``time.process_time``) after every line, runs ``--rounds`` rounds of ``--steps``
steps and prints, for the lines that cost most, the fastest round's ms per step, the kernel the
line calls and the line itself. The line costs add up to the plan's time (the step's rest is
the call's Python wrapper); each clock read adds ~0.2 us to its line. One thread (the
environment above) gives figures that do not depend on what else the machine runs; with two,
OpenBLAS's idle workers spin after each threaded product and count as CPU time: ``--wall``
reads the wall clock instead (``time.perf_counter``), to see which lines gain from the second
core (quiet machine only). ``--eager`` times the eager step's backward instead, the plan the
tape replays (``transforms/tape_plans.py``; the forward runs op by op, outside it).
"""
import argparse
import gc
import re
import time


def _callee(line, glb):
    m = re.search(r"=\s*([fc]\d+)\(", line)
    if m is None:
        return "(view)" if ".reshape(" in line or line.rstrip().endswith(".T") else ""
    fn = glb.get(m.group(1))
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    mod = getattr(fn, "__module__", "") or ""
    name = f"{mod.rsplit('.', 1)[-1]}.{name}" if mod else name
    params = re.search(r"\*\*(p\d+)\)", line)
    eq = (glb.get(params.group(1)) or {}).get("eq") if params else None
    return f"{name} {eq}" if eq else name


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    ap.add_argument("--eager", action="store_true",
                    help="the eager step's replayed backward plan instead of the jit step's")
    a = ap.parse_args()
    import ember
    ember.backend.keep_freed_memory()
    from ember.bench import workloads as W
    spec = W.resolve(a.workload, False, a.batch)
    build = W.build_ember_eager if a.eager else W.build_ember_jit
    step, _ = build(W.initial_weights(spec), spec.make_data(spec.batch, 1), spec)
    step()
    step()
    plans = [o for o in gc.get_objects()
             if callable(o) and getattr(o, "__name__", "") == "plan" and hasattr(o, "source")]
    if not plans:
        raise SystemExit(f"{a.workload}: no compiled plan found")
    plan = max(plans, key=lambda p: len(p.source))
    src = plan.source.splitlines()
    body, labels = [src[0], "    _T = _pc()"], []
    for line in src[1:]:
        body.append(line)
        s = line.strip()
        if s.startswith(("return", "del ")):
            continue
        body.append(f"    _t2 = _pc(); _acc[{len(labels)}] += _t2 - _T; _T = _t2")
        labels.append(s)
    glb = plan.__globals__
    acc = [0.0] * len(labels)
    glb["_pc"], glb["_acc"] = time.perf_counter if a.wall else time.process_time, acc
    ns = {}
    exec(compile("\n".join(body), "<timed plan>", "exec"), glb, ns)
    plan.__code__ = ns["plan"].__code__  # the compiled step calls this function object
    for _ in range(3):
        step()
    best = None
    for _ in range(a.rounds):
        acc[:] = [0.0] * len(acc)
        for _ in range(a.steps):
            step()
        per = [v / a.steps * 1e3 for v in acc]
        if best is None or sum(per) < sum(best):
            best = per
    clock = "wall" if a.wall else "CPU"
    print(f"{a.workload} batch {spec.batch}: plan {sum(best):.2f} ms/step {clock} (fastest of "
          f"{a.rounds} rounds of {a.steps} steps), {len(labels)} lines")
    for i in sorted(range(len(best)), key=lambda i: -best[i])[:a.top]:
        line = labels[i]
        print(f"{best[i]:8.3f}  {_callee(line, glb):44.44s}  {line[:80]}")


if __name__ == "__main__":
    main()
