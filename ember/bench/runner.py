"""Run the workloads side by side and report median ms/step, samples/s, the ratio to ember jit,
build time (model and optimizer made, weights loaded), first-call time (the first step: for
jit/compile the tracing and compiling, and for every framework the first run, whose new
arrays page-fault in) and peak memory; write JSON and Markdown, optionally a bar chart;
``--check`` verifies that after N steps every framework holds the same weights, up to what
float32 rounding alone makes of them (the reference run again from weights one ulp away).

Frameworks are timed in alternating rounds (each round runs every framework for a few steps),
so that drift of the machine hits all alike; the reported figure is the median over rounds.
All frameworks then share one process, and the allocator setting the ``ember`` command makes
(``ember.backend.keep_freed_memory``) applies to PyTorch and JAX as well, as does OpenBLAS's
idle-thread spin that importing ember sets (ember/_blas_env.py: the NumPy step's BLAS; PyTorch
and JAX bring their own). ``--isolate`` runs each framework in its own process instead, in
its out-of-the-box setting (both settings only for ember's cells), one framework after the
other. ember's optional compiled kernels (numba) are loaded before the first ember cell, as
PyTorch and JAX are imported before theirs; the log says how long that took.
"""
from __future__ import annotations

import importlib
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from .. import _blas_env
from . import workloads as workload_specs

ALL_WORKLOADS = list(workload_specs.SPECS)
ALL_FRAMEWORKS = list(workload_specs.BUILDERS)


def add_arguments(p):
    p.add_argument("--workloads", default=",".join(ALL_WORKLOADS),
                   help=f"comma-separated subset of {','.join(ALL_WORKLOADS)}")
    p.add_argument("--frameworks", default=",".join(ALL_FRAMEWORKS),
                   help=f"comma-separated subset of {','.join(ALL_FRAMEWORKS)}")
    p.add_argument("--rounds", type=int, default=7, help="alternating timing rounds")
    p.add_argument("--steps", type=int, default=5, help="minimum steps per framework per round (fast steps run more, so "
                   "that each timed batch lasts at least 50 ms)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps after the first call")
    p.add_argument("--check", type=int, default=0, metavar="N",
                   help="also verify that N steps from the same weights agree across frameworks "
                        "(beyond 1e-3 and 10x the difference that one ulp in the initial "
                        "weights makes)")
    p.add_argument("--tiny", action="store_true", help="tiny sizes (smoke tests)")
    p.add_argument("--batch", type=int, default=None,
                   help="samples per training step (default: each workload's own)")
    p.add_argument("--isolate", action="store_true",
                   help="run each framework in its own process, in its out-of-the-box setting "
                        "(default: all in this process, alternating rounds)")
    p.add_argument("--settle", type=float, default=0.25,
                   help="seconds of pause before each timed cell, so that spinning BLAS/OpenMP "
                        "threads of the previous framework don't steal the CPU")
    p.add_argument("--no-memory", dest="memory", action="store_false",
                   help="skip the peak-memory probe (one subprocess per cell)")
    p.add_argument("--json", default="bench.json", help="where to write the JSON results")
    p.add_argument("--markdown", default="bench.md", help="where to write the Markdown table")
    p.add_argument("--plot", nargs="?", const="bench.png", default=None,
                   help="draw a bar chart (PNG; needs matplotlib)")
    p.add_argument("--distributed", action="store_true",
                   help="instead: the data-parallel benchmark on 2 MPI ranks (all-reduce of 1 and "
                        "25 MB vs raw mpi4py, DDP steps of mnist-mlp and cifar-lenet vs 1 rank "
                        "and vs PyTorch's gloo DDP); uses --rounds, --frameworks (torch or not) "
                        "and --json; needs ember[dist]")


def _available(fw):
    for mod in workload_specs.REQUIRES.get(fw, ()):
        try:
            importlib.import_module(mod)
        except Exception:
            return False
    return True


MIN_BATCH_S = 0.05


def _median_ms(times):
    return statistics.median(times) * 1e3 if times else float("nan")


def _build_cell(fw, spec, w, data, steps, warmup):
    """Build one framework's step, time the build (model, optimizer) and the first call (for
    the compiled frameworks: tracing and compiling, then the first run, whose new arrays
    page-fault in), and size its timed batches."""
    t0 = time.perf_counter()
    step, weights = workload_specs.BUILDERS[fw](w, data, spec)
    t1 = time.perf_counter()
    step()
    first = time.perf_counter() - t1
    build = t1 - t0
    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    per_step = (time.perf_counter() - t0) / warmup if warmup else first
    # a timed batch lasts at least MIN_BATCH_S, so that tiny steps aren't dominated by the
    # wake-up after the settle pause
    n = max(steps, min(5000, math.ceil(MIN_BATCH_S / max(per_step, 1e-7))))
    return dict(step=step, weights=weights, first=first, build=build, times=[], n=n)


def _time_batch(cell, settle):
    time.sleep(settle)  # let the previous framework's worker threads go idle
    cell["step"]()  # wake up: caches, BLAS threads
    t = time.perf_counter()
    for _ in range(cell["n"]):
        cell["step"]()
    cell["times"].append((time.perf_counter() - t) / cell["n"])


def _tunes_allocator(fw):
    """Whether a framework's own process would run with ember's allocator setting."""
    return fw.startswith("ember") and os.environ.get("EMBER_MALLOC_TUNING", "1") != "0"


_CELL_PROBE = """
import importlib, json, sys
from ember.backend import keep_freed_memory
from ember.bench import runner, workloads
args = json.loads(sys.argv[1])
if args["tune"]:
    keep_freed_memory()
[importlib.import_module(m) for m in workloads.REQUIRES.get(args["fw"], ())]
load = runner._load_kernels(args["fw"])
spec = workloads.resolve(args["name"], args["tiny"], args["batch"])
w = workloads.initial_weights(spec)
cell = runner._build_cell(args["fw"], spec, w, spec.make_data(spec.batch, 0), args["steps"],
                          args["warmup"])
for _ in range(args["rounds"]):
    runner._time_batch(cell, args["settle"])
print(json.dumps({"first": cell["first"], "build": cell["build"], "times": cell["times"],
                  "n": cell["n"], "load": load}))
"""


def _load_kernels(fw):
    """ember's optional compiled kernels (numba: its import and runtime, once per process)
    loaded before an ember cell's first call, as PyTorch and JAX are imported before theirs:
    the seconds it took, or None (not an ember cell, or the kernels off or not installed)."""
    if not fw.startswith("ember"):
        return None
    from ..backend import accel
    t = time.perf_counter()
    return None if accel.warm() is None else time.perf_counter() - t


def _cell_env(fw):
    """The environment of an isolated cell: another framework's process keeps OpenBLAS's own
    idle-thread spin, unless the user set it (ember's importing sets it: ember/_blas_env.py)."""
    env = dict(os.environ)
    if not fw.startswith("ember"):
        env["EMBER_BLAS_TUNING"] = "0"
        if _blas_env.state == "ember":
            env.pop(_blas_env.VAR, None)
    return env


def _isolated_cell(fw, name, tiny, batch, rounds, steps, warmup, settle):
    args = dict(fw=fw, name=name, tiny=tiny, batch=batch, rounds=rounds, steps=steps,
                warmup=warmup, settle=settle, tune=_tunes_allocator(fw))
    out = subprocess.run([sys.executable, "-c", _CELL_PROBE, json.dumps(args)],
                         capture_output=True, text=True, timeout=3600, env=_cell_env(fw))
    if out.returncode != 0:
        raise RuntimeError(f"ember bench --isolate: the {fw} process for {name} failed:\n"
                           f"{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(workloads, frameworks, rounds=7, steps=5, warmup=3, check=0, tiny=False, memory=True,
        log=print, settle=0.25, batch=None, isolate=False):
    results = []
    if not isolate:
        load = next((t for t in map(_load_kernels, frameworks) if t is not None), None)
        if load is not None:
            log(f"  ember: compiled kernels loaded in {load:.2f} s, once per process, before "
                f"the first calls (as PyTorch and JAX are imported before theirs)")
    for name in workloads:
        spec = workload_specs.resolve(name, tiny, batch)
        w = workload_specs.initial_weights(spec)
        data = spec.make_data(spec.batch, 0)
        cells = {}
        for fw in frameworks:
            if not _available(fw):
                log(f"  {name}: {fw} skipped (not installed)")
                continue
            if name not in workload_specs.SUPPORTS.get(fw, (name,)):
                log(f"  {name}: {fw} skipped (written for {', '.join(workload_specs.SUPPORTS[fw])} only)")
                continue
            if isolate:
                cells[fw] = _isolated_cell(fw, name, tiny, spec.batch, rounds, steps, warmup,
                                           settle)
                if cells[fw].get("load") is not None:
                    log(f"  {name}: {fw}'s process loaded the compiled kernels in "
                        f"{cells[fw]['load']:.2f} s before its first call")
            else:
                cells[fw] = _build_cell(fw, spec, w, data, steps, warmup)
        if not isolate:
            for _ in range(rounds):
                for c in cells.values():
                    _time_batch(c, settle)
        check_res = _check(name, spec, w, data, list(cells), check) if check else {}
        ref = _median_ms(cells["ember-jit"]["times"]) if "ember-jit" in cells else None
        for fw, c in cells.items():
            ms = _median_ms(c["times"])
            row = dict(workload=name, framework=fw, batch=spec.batch, ms_per_step=ms,
                       samples_per_s=spec.batch / (ms / 1e3), first_call_s=c["first"],
                       # what the first call costs beyond a steady step: tracing and
                       # compiling, first-touch page faults
                       first_call_extra_s=c["first"] - ms / 1e3,
                       build_s=c.get("build"),
                       vs_ember_jit=(ms / ref) if ref else None)
            if memory:
                row["peak_mb"] = _peak_memory(name, fw, tiny, spec.batch,
                                              _tunes_allocator(fw) if isolate else
                                              os.environ.get("EMBER_MALLOC_TUNING", "1") != "0")
            if check:
                row["check_max_diff"] = check_res.get(fw)
                row["check_floor"] = check_res.get("floor")
            results.append(row)
            log(f"  {name:12s} {fw:14s} {ms:9.3f} ms/step")
    return results


def _check(name, spec, w, data, frameworks, n):
    """Max abs weight difference to ember eager (or the first framework) after n steps, and
    under ``"floor"`` the difference that float32 rounding alone makes: the reference
    framework once more from weights moved by one ulp. Training steps amplify rounding (a
    ResNet-18 in PyTorch against itself from such weights: 4e-7 after one SGD step, 2e-3
    after five), so a difference is only a disagreement well above that floor."""
    def run(fw, weights):
        step, final = workload_specs.BUILDERS[fw](weights, data, spec)
        for _ in range(n):
            step()
        return final()

    def dist(a, b):
        return max(float(np.max(np.abs(a[k] - b[k]))) for k in b)

    final = {fw: run(fw, w) for fw in frameworks}
    ref_fw = "ember-eager" if "ember-eager" in final else frameworks[0]
    ref = final[ref_fw]
    rng = np.random.default_rng(0)
    nudged = {k: (v + rng.choice([-1, 1], v.shape) * np.spacing(v)).astype(v.dtype)
              if np.issubdtype(v.dtype, np.floating) else v for k, v in w.items()}
    out = {fw: dist(v, ref) for fw, v in final.items()}
    out["floor"] = dist(run(ref_fw, nudged), ref)
    return out


def check_failures(results, abs_tol=1e-3, floor_factor=10):
    """The rows whose weights differ from the reference by more than ``abs_tol`` and more
    than ``floor_factor`` times their workload's rounding floor."""
    return [r for r in results if r.get("check_max_diff") is not None and
            r["check_max_diff"] > max(abs_tol, floor_factor * (r.get("check_floor") or 0.0))]


_PEAK_PROBE = """
import importlib, os, resource, sys
from ember.backend import keep_freed_memory
from ember.bench import workloads
fw, name, tiny, batch, tune = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), \
    sys.argv[5] == "1"
if tune:
    keep_freed_memory()  # as the process whose step it measures
[importlib.import_module(m) for m in workloads.REQUIRES.get(fw, ())]
from ember.bench import runner
runner._load_kernels(fw)  # (numba's libraries, as the other frameworks': not the step's)
spec = workloads.resolve(name, tiny, batch)
w = workloads.initial_weights(spec)
data = spec.make_data(spec.batch, 0)

def kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))

try:  # hand freed heap memory back to the OS first (setup's model was freed, and with the
    # allocator setting its pages stay resident: a framework reusing them would look free;
    # so would ember reusing the blocks its pool kept)
    from ember.backend import pool
    pool.empty_cache()
    import ctypes
    ctypes.CDLL(None).malloc_trim(0)
except (OSError, AttributeError):  # not glibc
    pass
try:  # reset the high-water mark, so setup's transient peaks don't hide the step's
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base, peak = kib("VmRSS:"), lambda: kib("VmHWM:")
except OSError:  # no procfs: the process's maximum resident set, which includes setup
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
step, _ = workloads.BUILDERS[fw](w, data, spec)
for _ in range(3):
    step()
print(max(peak() - base, 0) / 1024)
"""


def _peak_memory(name, fw, tiny, batch, tune):
    """Peak resident memory (MB) a fresh process gains while building and stepping one cell
    (framework imports, weights and data excluded)."""
    try:
        out = subprocess.run([sys.executable, "-c", _PEAK_PROBE, fw, name, "1" if tiny else "0",
                              str(batch), "1" if tune else "0"],
                             capture_output=True, text=True, timeout=600)
        return round(float(out.stdout.strip().splitlines()[-1]), 1)
    except Exception:
        return None


def table(results):
    head = ["workload", "framework", "ms/step", "samples/s", "vs ember jit", "build s", "first call s",
            "beyond a step s", "peak MB", "check"]
    rows = []
    for r in results:
        rows.append([r["workload"], r["framework"], f"{r['ms_per_step']:.3f}",
                     f"{r['samples_per_s']:.0f}",
                     f"{r['vs_ember_jit']:.2f}x" if r.get("vs_ember_jit") else "-",
                     f"{r['build_s']:.2f}" if r.get("build_s") is not None else "-",
                     f"{r['first_call_s']:.2f}",
                     f"{r['first_call_extra_s']:.2f}" if r.get("first_call_extra_s") is not None
                     else "-",
                     f"{r['peak_mb']:.0f}" if r.get("peak_mb") is not None else "-",
                     (f"{r['check_max_diff']:.1e}" if r.get("check_max_diff") is not None
                      else "-")])
    return head, rows


def markdown(results, meta):
    head, rows = table(results)
    lines = [f"ember bench ({meta['date']}, {meta['machine']}; {meta.get('mode', '')}; ratios "
             f"are time / ember jit time: above 1 means ember jit is faster)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def text_table(results):
    head, rows = table(results)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head)] + [fmt.format(*r) for r in rows])


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    wls = list(dict.fromkeys(r["workload"] for r in results))
    fws = list(dict.fromkeys(r["framework"] for r in results))
    fig, axes = plt.subplots(1, len(wls), figsize=(3.2 * len(wls), 3.2), squeeze=False)
    for ax, wl in zip(axes[0], wls):
        rs = [r for r in results if r["workload"] == wl]
        ax.bar([r["framework"] for r in rs], [r["ms_per_step"] for r in rs],
               color=[f"C{fws.index(r['framework'])}" for r in rs])
        ax.set_title(wl)
        ax.set_ylabel("ms / step")
        ax.tick_params(axis="x", rotation=60, labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def distributed_argv(a):
    """``ember bench --distributed``'s arguments for ``ember.bench.distributed``: PyTorch's gloo
    columns run unless ``--frameworks`` names no torch framework (torch-eager, torch-compile)."""
    fws = [f for f in a.frameworks.split(",") if f]
    return ["--rounds", str(a.rounds), "--json", a.json] + (
        [] if any(f == "torch" or f.startswith("torch-") for f in fws) else ["--no-torch"])


def main(a):
    import platform
    if getattr(a, "distributed", False):
        from .distributed import main as distributed_main
        return distributed_main(distributed_argv(a))
    wls = [w for w in a.workloads.split(",") if w]
    fws = [f for f in a.frameworks.split(",") if f]
    bad = [w for w in wls if w not in workload_specs.SPECS] + [f for f in fws if f not in workload_specs.BUILDERS]
    if bad:
        print(f"ember bench: unknown workload/framework {bad}; choose from {ALL_WORKLOADS} and "
              f"{ALL_FRAMEWORKS}", file=sys.stderr)
        return 2
    from ember.backend import blas_info, blas_kernel_warning, cpu_flags
    warning = blas_kernel_warning(blas_info().get("kernel"), cpu_flags())
    if warning:
        print(f"ember bench: warning: {warning}", file=sys.stderr)
    isolate = getattr(a, "isolate", False)
    results = run(wls, fws, a.rounds, a.steps, a.warmup, a.check, a.tiny, a.memory,
                  settle=a.settle, batch=getattr(a, "batch", None), isolate=isolate)
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, "
            f"{os.cpu_count()} CPUs, python {platform.python_version()}",
            "rounds": a.rounds, "steps": a.steps, "settle_s": a.settle, "tiny": a.tiny,
            "mode": ("each framework in its own process (--isolate)" if isolate else
                     "all frameworks in one process, alternating rounds")}
    print()
    print(text_table(results))
    with open(a.json, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    with open(a.markdown, "w") as f:
        f.write(markdown(results, meta))
    if a.plot:
        try:
            plot(results, a.plot)
        except ImportError:
            print("ember bench: --plot needs matplotlib (pip install 'ember[plot]')",
                  file=sys.stderr)
    if a.check:
        bad = check_failures(results)
        if bad:
            rows = [(r["workload"], r["framework"], r["check_max_diff"], r["check_floor"])
                    for r in bad]
            print(f"ember bench --check: weights differ after {a.check} steps by more than "
                  f"1e-3 and 10x the workload's rounding floor (the reference from weights "
                  f"one ulp away): {rows}", file=sys.stderr)
            return 1
    return 0
