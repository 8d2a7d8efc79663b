"""Distributed benchmark: all-reduce bandwidth and data-parallel training steps.

    ember bench --distributed [--rounds 3] [--json out.json]
    (or: python -m ember.bench.distributed [--rounds 3] [--json out.json] [--no-torch])

It launches, in alternating rounds:
- ``mpiexec -n 2`` of this module (``--role mpi``): all-reduce of 1 MB and 25 MB float32 buffers
  with raw mpi4py ``Allreduce``, ``ember.distributed.all_reduce`` (a Tensor, with its
  cross-rank shape check) and DDP's bucket path (gradients in their bucket as backward
  leaves them, all-reduce in place, ``.grad`` views of the result); then a data-parallel
  training step of mnist-mlp and cifar-lenet at 2 ranks in each of ember's modes (eager
  module under DDP, ``ember.compile(module)`` under DDP, the whole step under ``ember.jit``
  with one coalesced all-reduce primitive in the plan; the fastest is marked), and DDP's
  gradient reduction for each model alone vs a raw all-reduce of the same bytes;
- one process (``--role single``): the same steps in each mode without the reduction (1
  rank, same per-rank batch);
- PyTorch (``--role torch``): the same steps in one process and with DDP over gloo on 2
  processes (torch.multiprocessing), and gloo's all-reduce of the same buffers.

Every process runs with one BLAS thread (a 2-core machine gives each rank one core). The
table reports the median over rounds of each run's median step time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKLOADS = ("mnist-mlp", "cifar-lenet")
SIZES_MB = (1, 25)


def _median_time(fn, reps, warmup=3, sync=None, setup=None):
    """[median, fastest] of ``reps`` timed calls of ``fn`` after ``warmup`` untimed ones;
    ``sync()`` (a barrier: every rank starts the call together) and ``setup()`` run before
    each call, outside the timed part."""
    for _ in range(warmup):
        if setup is not None:
            setup()
        fn()
    ts = []
    for _ in range(reps):
        if setup is not None:
            setup()
        if sync is not None:
            sync()
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return [statistics.median(ts), min(ts)]


def _reps(mb):
    return 40 if mb <= 1 else 8


# ---- ember under mpiexec ------------------------------------------------------------------------

def _ddp_reduction(ddp):
    """(setup, run): DDP's reduction alone, as at the end of a backward pass. ``setup``
    (untimed) puts DDP in the state backward leaves: every gradient in its bucket, already
    divided by the world size (the one copy autograd makes of a fresh gradient writes it
    there), every bucket counted full (what the parameters' hooks count during backward,
    a cost of the backward pass that the step times include); ``run`` is what remains: the
    buckets' all-reduces launched and waited for, ``.grad`` pointing at the averages."""
    def run():
        ddp._launch_ready()
        ddp._finish_backward()
    return ddp._mark_all_arrived, run


def _vs_raw(ddp, comm, MPI, reps=60, rounds=5):
    """DDP's reduction and a raw mpi4py ``Allreduce`` (in place, float32) of a buffer of the
    same bytes as DDP's buckets, taking turns in ``rounds`` (so that the machine's load hits
    both alike), ``reps`` calls each per round after the same warm-up, each call after a
    barrier: {"ddp": [median, fastest], "raw": [median, fastest]} over all calls."""
    setup, run = _ddp_reduction(ddp)
    flat = np.ones(sum(b.buf.size for b in ddp._buckets), ddp._buckets[0].buf.dtype)
    fns = {"ddp": (run, setup),
           "raw": (lambda: comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM), None)}
    times = {k: [] for k in fns}
    for r in range(rounds):
        for k in (("ddp", "raw") if r % 2 == 0 else ("raw", "ddp")):
            fn, pre = fns[k]
            times[k].append(_median_time(fn, reps, warmup=3, sync=comm.Barrier, setup=pre))
    return {k: [statistics.median(x[0] for x in v), min(x[1] for x in v)]
            for k, v in times.items()}


MODES = ("eager", "compiled", "jit")
MODE_HELP = {"eager": "eager module", "compiled": "ember.compile(module)",
             "jit": "ember.jit of the whole step, gradients averaged by one coalesced "
                    "all-reduce inside the plan"}


def _ember_step(spec, mode, ddp, seed, bucket_cap_mb=25):
    """One training step (SGD momentum) of ``spec`` in ``mode`` on this rank's batch; with
    ``ddp`` the gradients are averaged over the ranks (DDP for eager/compiled, the
    all-reduce primitive in the jitted step). Returns (step, the DDP wrapper or None)."""
    import ember
    from ember.func import functional_call
    from ember.nn.parallel import DistributedDataParallel as DDP
    import ember.distributed.functional as DF
    from ember.bench.workloads import initial_weights, _ember_model, _ember_loss
    x, y = spec.make_data(spec.batch, seed)
    xt, yt = ember.tensor(x), ember.tensor(y)
    m = _ember_model(spec, initial_weights(spec))
    loss_fn = _ember_loss(spec)
    if mode in ("eager", "compiled"):
        net = ember.compile(m) if mode == "compiled" else m
        if ddp:
            net = DDP(net, bucket_cap_mb=bucket_cap_mb)
        opt = ember.optim.SGD(net.parameters(), lr=spec.lr, momentum=0.9)

        def step():
            opt.zero_grad()
            loss_fn(net(xt), yt).backward()
            opt.step()
        return step, net if ddp else None
    F = ember.optim.functional
    fopt = F.sgd(spec.lr, momentum=0.9)
    params = {k: v.detach().clone() for k, v in m.named_parameters()}
    box = [params, fopt.init(params)]

    def train_step(p, s, x, y):
        g = ember.grad(lambda q: loss_fn(functional_call(m, q, (x,)), y))(p)
        if ddp:
            keys = list(g)
            g = dict(zip(keys, DF.all_reduce_coalesced([g[k] for k in keys], "avg")))
        u, s = fopt.update(g, s, p)
        return F.apply_updates(p, u), s
    jstep = ember.jit(train_step, donate_argnums=(0, 1))

    def step():
        box[0], box[1] = jstep(box[0], box[1], xt, yt)
    return step, None


def role_mpi():
    from mpi4py import MPI
    import ember
    import ember.distributed as dist
    from ember.nn.parallel import DistributedDataParallel as DDP
    from ember.bench.workloads import SPECS
    dist.init_process_group()
    comm = MPI.COMM_WORLD
    out = {"allreduce": {}, "ddp": {}}
    for mb in SIZES_MB:
        n = mb * 2 ** 20 // 4
        raw = np.ones(n, np.float32)
        t = ember.ones(n)
        p = ember.nn.Parameter(ember.zeros(n))
        holder = ember.nn.Module()
        holder.p = p
        ddp = DDP(holder, bucket_cap_mb=mb + 1)
        p.grad = ember.ones(n)
        ddp_setup, ddp_reduce = _ddp_reduction(ddp)
        res = {}
        for _ in range(3):  # alternate
            for name, fn, pre in (("raw mpi4py Allreduce",
                                   lambda: comm.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM), None),
                                  ("ember dist.all_reduce", lambda: dist.all_reduce(t), None),
                                  ("ember DDP bucket", ddp_reduce, ddp_setup)):
                res.setdefault(name, []).append(_median_time(fn, _reps(mb), sync=comm.Barrier,
                                                             setup=pre))
        out["allreduce"][f"{mb} MB"] = {k: [statistics.median(x[0] for x in v),
                                             min(x[1] for x in v)] for k, v in res.items()}
    for wl in WORKLOADS:
        spec = SPECS[wl]
        steps = {mode: _ember_step(spec, mode, True, 1 + dist.get_rank()) for mode in MODES}
        nbytes = sum(q.numel() * 4 for q in steps["eager"][1].module.parameters())
        # overlap: the eager step with buckets of 1/16 of the gradients each (a parameter
        # is never split, so a large one makes its own bucket)
        cap = nbytes / 16 / 2 ** 20
        steps["eager-buckets"] = _ember_step(spec, "eager", True, 1 + dist.get_rank(), cap)
        times = _alternating(steps, comm.Barrier)
        several = steps["eager-buckets"][1]
        red_several = _vs_raw(several, comm, MPI)["ddp"]
        ddp = steps["eager"][1]
        vs = _vs_raw(ddp, comm, MPI)
        red, raw = vs["ddp"], vs["raw"]
        out["ddp"][wl] = {"step": times["eager"], "modes": times, "ddp_reduce": red,
                          "raw_allreduce": raw, "grad_bytes": nbytes,
                          "several": {"cap_mb": cap, "buckets": len(several._buckets),
                                      "ddp_reduce": red_several},
                          "buckets": len(ddp._buckets), "batch_per_rank": spec.batch}
    if dist.get_rank() == 0:
        print("RESULT " + json.dumps(out), flush=True)


def _alternating(steps, sync=None, reps=30, rounds=3):
    """{mode: [median, fastest]} of each step, the modes taking turns (so that a change in
    the machine's load hits them alike)."""
    res = {mode: [] for mode in steps}
    for _ in range(rounds):
        for mode, (fn, _) in steps.items():
            res[mode].append(_median_time(fn, reps // rounds, warmup=3, sync=sync))
    return {mode: [statistics.median(x[0] for x in v), min(x[1] for x in v)]
            for mode, v in res.items()}


def role_single():
    from ember.bench.workloads import SPECS
    out = {}
    for wl in WORKLOADS:
        steps = {mode: _ember_step(SPECS[wl], mode, False, 1) for mode in MODES}
        times = _alternating(steps)
        out[wl] = dict(times, step=times["eager"])
    print("RESULT " + json.dumps(out), flush=True)


# ---- PyTorch gloo -------------------------------------------------------------------------------

def _torch_worker(rank, world, init_file, q):
    import torch
    import torch.distributed as tdist
    from torch.nn.parallel import DistributedDataParallel as TDDP
    from ember.bench.workloads import SPECS, initial_weights, _torch_model
    torch.set_num_threads(1)
    tdist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                             world_size=world)
    out = {"allreduce": {}, "ddp": {}}
    for mb in SIZES_MB:
        t = torch.ones(mb * 2 ** 20 // 4)
        out["allreduce"][f"{mb} MB"] = _median_time(lambda: tdist.all_reduce(t), _reps(mb),
                                                    sync=tdist.barrier)
    for wl in WORKLOADS:
        spec = SPECS[wl]
        x, y = spec.make_data(spec.batch, 1 + rank)
        m = TDDP(_torch_model(spec, initial_weights(spec)))
        opt = torch.optim.SGD(m.parameters(), lr=spec.lr, momentum=0.9)
        xt, yt = torch.tensor(x), torch.tensor(y)

        def step():
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(m(xt), yt).backward()
            opt.step()
        out["ddp"][wl] = _median_time(step, 30, warmup=5, sync=tdist.barrier)
    if rank == 0:
        q.put(out)
    tdist.destroy_process_group()


def role_torch():
    import tempfile
    import torch
    import torch.multiprocessing as tmp
    from ember.bench.workloads import SPECS, initial_weights, _torch_model
    torch.set_num_threads(1)
    single = {}
    for wl in WORKLOADS:
        spec = SPECS[wl]
        x, y = spec.make_data(spec.batch, 1)
        m = _torch_model(spec, initial_weights(spec))
        opt = torch.optim.SGD(m.parameters(), lr=spec.lr, momentum=0.9)
        xt, yt = torch.tensor(x), torch.tensor(y)

        def step():
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(m(xt), yt).backward()
            opt.step()
        single[wl] = _median_time(step, 30, warmup=5)
    ctx = tmp.get_context("spawn")
    q = ctx.Queue()
    fd, init_file = tempfile.mkstemp()
    os.close(fd)
    os.unlink(init_file)
    procs = [ctx.Process(target=_torch_worker, args=(r, 2, init_file, q)) for r in range(2)]
    for p in procs:
        p.start()
    res = q.get(timeout=600)
    for p in procs:
        p.join()
    res["single"] = single
    print("RESULT " + json.dumps(res), flush=True)


# ---- orchestration ------------------------------------------------------------------------------

def _run(cmd):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}")


def report(runs, which, rounds):
    """Print the tables; ``which`` 0: each run's median call, 1: each run's fastest call."""
    summary = {"allreduce": {}, "ddp": {}}

    def med(vals):
        return statistics.median(v[which] if isinstance(v, list) else v for v in vals)
    ms = lambda s: f"{s * 1e3:.2f}"  # noqa: E731
    print(f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
          f"{'fastest call' if which else 'median call'} of each run, median over "
          f"{rounds} rounds)")
    print("\n## All-reduce, 2 ranks (float32, ms per call; GB/s = bytes / time)\n")
    print("| buffer | raw mpi4py Allreduce | ember dist.all_reduce | ember DDP bucket path "
          "| torch gloo all_reduce |")
    print("|---|---|---|---|---|")
    for mb in SIZES_MB:
        k = f"{mb} MB"
        vals = {name: med([r["allreduce"][k][name] for r in runs["mpi"]])
                for name in runs["mpi"][0]["allreduce"][k]}
        gloo = med([r["allreduce"][k] for r in runs["torch"]]) if runs["torch"] else None
        summary["allreduce"][k] = dict(vals, gloo=gloo)
        raw = vals["raw mpi4py Allreduce"]
        cells = [f"{ms(raw)} ({mb * 2 ** 20 / raw / 1e9:.2f} GB/s)"]
        for name in ("ember dist.all_reduce", "ember DDP bucket"):
            cells.append(f"{ms(vals[name])} ({(vals[name] / raw - 1) * 100:+.1f}%)")
        cells.append(ms(gloo) if gloo is not None else "-")
        print(f"| {k} | " + " | ".join(cells) + " |")
    print("\n## Training step (SGD momentum), ms: 1 rank vs data-parallel on 2 ranks, same "
          "per-rank batch; ember in each mode (" + "; ".join(
              f"{k}: {v}" for k, v in MODE_HELP.items()) + "), PyTorch eager\n")
    print("| workload | ember mode | ember 1 rank | ember 2 ranks | ember DDP gradient "
          "reduction vs raw all-reduce of the same bytes | hidden by backward | torch 1 "
          "process | torch DDP gloo 2 ranks |")
    print("|---|---|---|---|---|---|---|---|")
    for wl in WORKLOADS:
        info = runs["mpi"][0]["ddp"][wl]
        d = {k: med([r["ddp"][wl][k] for r in runs["mpi"]])
             for k in ("ddp_reduce", "raw_allreduce")}
        t1 = med([r["single"][wl] for r in runs["torch"]]) if runs["torch"] else None
        t2 = med([r["ddp"][wl] for r in runs["torch"]]) if runs["torch"] else None
        modes = {}
        for mode in MODES:
            one = med([r[wl][mode] for r in runs["single"]])
            two = med([r["ddp"][wl]["modes"][mode] for r in runs["mpi"]])
            modes[mode] = {"single": one, "ddp": two}
        fastest = min(modes, key=lambda k: modes[k]["ddp"])  # of MODES (the default buckets)
        summary["ddp"][wl] = dict(d, step=modes["eager"]["ddp"], single=modes["eager"]["single"],
                                  modes=modes, fastest=fastest, torch_single=t1, torch_ddp=t2,
                                  grad_bytes=info["grad_bytes"], buckets=info["buckets"],
                                  batch_per_rank=info["batch_per_rank"])
        head = (f"{wl} (batch {info['batch_per_rank']}/rank, {info['grad_bytes'] / 1e6:.2f} MB "
                f"grads, {info['buckets']} bucket)")
        for mode in MODES:
            one, two = modes[mode]["single"], modes[mode]["ddp"]
            red = hidden = "-"
            if mode != "jit":  # DDP's buckets (the jitted step reduces inside its plan)
                red = (f"{ms(d['ddp_reduce'])} vs {ms(d['raw_allreduce'])} "
                       f"({(d['ddp_reduce'] / d['raw_allreduce'] - 1) * 100:+.0f}%)")
                h = (one + d["ddp_reduce"] - two) / d["ddp_reduce"] if d["ddp_reduce"] else 0
                hidden = f"{max(0.0, min(1.0, h)) * 100:.0f}%"
            label = mode + (" (fastest)" if mode == fastest else "")
            print(f"| {head} | {label} | {ms(one)} | {ms(two)} | {red} | {hidden} | "
                  f"{ms(t1) if t1 else '-'} | {ms(t2) if t2 else '-'} |")
            head = ""
        sev = runs["mpi"][0]["ddp"][wl].get("several")
        if sev:  # overlap with several buckets (eager)
            one = modes["eager"]["single"]
            two = med([r["ddp"][wl]["modes"]["eager-buckets"] for r in runs["mpi"]])
            red = med([r["ddp"][wl]["several"]["ddp_reduce"] for r in runs["mpi"]])
            h = (one + red - two) / red if red else 0
            summary["ddp"][wl]["several"] = {"buckets": sev["buckets"], "ddp": two,
                                             "ddp_reduce": red, "hidden": h}
            print(f"|  | eager, {sev['buckets']} buckets (bucket_cap_mb="
                  f"{sev['cap_mb']:.3f}) | {ms(one)} | {ms(two)} | {ms(red)} vs "
                  f"{ms(d['raw_allreduce'])} ({(red / d['raw_allreduce'] - 1) * 100:+.0f}%) | "
                  f"{max(0.0, min(1.0, h)) * 100:.0f}% | {ms(t1) if t1 else '-'} | "
                  f"{ms(t2) if t2 else '-'} |")
    print("\n(DDP gradient reduction: the buckets' all-reduces and DDP's Python around them, "
          "as at the end of backward (the per-parameter counting during backward is in the "
          "step times), taking turns with a raw mpi4py Allreduce of a buffer of the same bytes "
          "in 5 rounds of 60 calls each, every call after a barrier.)")
    print("\n(hidden by backward: (1-rank step + the reduction alone - 2-rank step) / the "
          "reduction alone. With 2 ranks on 2 cores each rank has one core and MPI moves data "
          "only while a rank calls into it, so this shows the launch order and the Python "
          "around the collectives, not a network's overlap. Projection to N machines on "
          "links as fast as this one: a ring all-reduce sends 2(N-1)/N of the buffer per "
          "rank (1x at N=2), so the bandwidth part of the measured 2-rank all-reduce grows "
          "by at most 2x, plus 2(N-1) latencies; the per-rank compute stays the 1-rank step.)")
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", choices=["mpi", "single", "torch"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    if a.role:
        if a.role != "torch" and os.environ.get("EMBER_MALLOC_TUNING", "1") != "0":
            # ember's ranks as `ember run` starts them (PyTorch's out of the box)
            from ember.backend import keep_freed_memory
            keep_freed_memory()
        return {"mpi": role_mpi, "single": role_single, "torch": role_torch}[a.role]()
    from ember.distributed.launch import find_mpiexec
    me = [sys.executable, "-m", "ember.bench.distributed"]
    runs = {"mpi": [], "single": [], "torch": []}
    for r in range(a.rounds):
        runs["mpi"].append(_run([find_mpiexec(), "-n", "2", *me, "--role", "mpi"]))
        runs["single"].append(_run([*me, "--role", "single"]))
        if not a.no_torch:
            runs["torch"].append(_run([*me, "--role", "torch"]))
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    summary = {"median": report(runs, 0, a.rounds), "best": report(runs, 1, a.rounds)}
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "runs": runs,
                       "loadavg": os.getloadavg()[0]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
