"""``ember train`` (the reference recipes; ``--nproc N`` data-parallel over MPI ranks),
``ember run -n N script.py`` (launch ranks, as torchrun), ``ember bench`` (side-by-side training-step
benchmark), ``ember convert`` (PyTorch checkpoints to safetensors), ``ember quantize`` (a
trained checkpoint to int8) and ``ember info`` (versions, backend, BLAS)."""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys


def cmd_train(a):
    from ember.recipes import RECIPES
    from ember.recipes.trainer import train
    if a.nproc is not None and a.nproc < 1:
        print(f"ember train: --nproc must be a positive number of processes, got {a.nproc}",
              file=sys.stderr)
        return 2
    if a.nproc and a.nproc > 1:
        from ember.distributed.groups import _launched_by_mpi
        if not _launched_by_mpi():  # this process launches the ranks, each runs this command
            from ember.distributed.launch import run
            return run(a.nproc, ["-m", "ember.cli.main"] + list(a._argv))
    mod = importlib.import_module(RECIPES[a.recipe])
    try:
        _train(train, mod, a)
    except FileNotFoundError as e:  # missing data or checkpoint: one line saying what to do
        print(f"ember train: {e}", file=sys.stderr)
        return 2
    return 0


def _train(train, mod, a):
    train(mod, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
          data_dir=a.data_dir, dataset=a.dataset, mode=a.mode, out=a.out, resume=a.resume,
          progress=not a.no_progress, limit=a.limit, tensorboard=a.tensorboard,
          nproc=a.nproc, amp=a.amp, teacher=a.teacher, seeds=a.seeds, labels=a.labels,
          split=a.split, shots=a.shots, pretrain_epochs=a.pretrain_epochs)


def cmd_run(a):
    from ember.distributed.launch import run
    if not a.args:
        print("ember run: give a script to run: ember run -n 2 script.py [args...]",
              file=sys.stderr)
        return 2
    try:
        return run(a.nproc, a.args, hostfile=a.hostfile, mpiexec=a.mpiexec, module=a.module)
    except (FileNotFoundError, ValueError) as e:
        print(str(e), file=sys.stderr)
        return 2


def cmd_bench(a):
    from ember.bench.runner import main as bench_main
    return bench_main(a)


def cmd_info(a):
    import numpy as np
    import ember
    from ember.backend import blas_info, name
    import ember.backend
    info = blas_info()
    print(f"ember {ember.__version__}")
    print(f"python {platform.python_version()} ({sys.executable})")
    print(f"numpy {np.__version__}")
    kernel = info.get("kernel") or "unknown (pip install threadpoolctl to see it)"
    print(f"backend {name}; BLAS {info.get('blas')}, kernel {kernel}; threads "
          f"{info.get('threads', '?')}; CPUs {os.cpu_count()}")
    warning = ember.backend.blas_kernel_warning(info.get("kernel"), ember.backend.cpu_flags())
    if warning:
        print(f"warning: {warning}")
    print("allocator: " + ("malloc keeps freed memory for reuse (EMBER_MALLOC_TUNING=0 turns "
                           "this off)" if ember.backend.allocator_tuned else "system default") +
          ("" if ember.backend.huge_pages_advised else
           "; NumPy's large arrays on plain pages (no huge-page advice)"))
    spin_env = os.environ.get(ember._blas_env.VAR)
    spin = {"ember": f"set by ember to {spin_env}" + (
                " (NumPy was imported first: OpenBLAS's workers restarted with it)"
                if ember._blas_env.restarted else "") + " (EMBER_BLAS_TUNING=0 leaves it alone)",
            "environment": f"{spin_env!r}, from the environment",
            "off": "BLAS's default (EMBER_BLAS_TUNING=0)",
            "too late": "BLAS's default (NumPy was imported before ember, and its OpenBLAS "
                        "could not be restarted)"}
    print("OpenBLAS idle-thread spin (OPENBLAS_THREAD_TIMEOUT): " +
          spin.get(ember._blas_env.state, "unknown"))
    print("OpenBLAS worker threads: " + ember._blas_env.pin_state +
          ("" if ember._blas_env.pin_state == "off" else " (EMBER_BLAS_PIN=0 leaves them free)"))
    from ember.backend import accel, threads
    print("kernel threads (a kernel's second part): " + (
        "OpenBLAS's workers (EMBER_BLAS_WORKERS=0: a pool of Python threads)"
        if threads._workers() is not None else "a pool of Python threads"))
    print("compiled kernels: " + accel.status())
    print("optional extras:")
    for extra in ("tqdm", "safetensors", "matplotlib", "ml_dtypes", "hypothesis", "threadpoolctl",
                  "torch", "jax", "optax", "mpi4py"):
        try:
            m = importlib.import_module(extra)
            print(f"  {extra:12s} {getattr(m, '__version__', 'installed')}")
        except Exception:
            print(f"  {extra:12s} not installed")
    return 0


def cmd_convert(a):
    import ember
    from ember.core.tensor import Tensor
    try:
        obj = ember.load(a.input)
    except (OSError, RuntimeError) as e:
        print(f"ember convert: {e}", file=sys.stderr)
        return 1
    if a.key:
        for part in a.key.split("."):
            if not isinstance(obj, dict) or part not in obj:
                have = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
                print(f"ember convert: {a.input} has no entry {a.key!r} (at {part!r}; the "
                      f"checkpoint has {have})", file=sys.stderr)
                return 1
            obj = obj[part]
    ember.save(obj, a.output)
    tensors = []

    def collect(o):
        if isinstance(o, Tensor):
            tensors.append(o)
        elif isinstance(o, dict):
            for v in o.values():
                collect(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                collect(v)
    collect(obj)
    dtypes = sorted({str(t.dtype).replace("ember.", "") for t in tensors})
    n = sum(t.numel() for t in tensors)
    print(f"{a.input} -> {a.output}: {len(tensors)} tensors, {n:,} values"
          f"{' (' + ', '.join(dtypes) + ')' if dtypes else ''}")
    return 0


def cmd_quantize(a):
    from ember.recipes.quantize import quantize_checkpoint
    try:
        quantize_checkpoint(a.checkpoint, recipe=a.recipe, mode=a.mode, out=a.out,
                            data_dir=a.data_dir, dataset=a.dataset, limit=a.limit,
                            calibrate=a.calibrate)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"ember quantize: {e}", file=sys.stderr)
        return 1
    return 0


def _recipe_defaults(argv):
    """The epilog of ``ember train --help``: each recipe's default epochs, batch size and
    learning rate (the recipes are imported only when that help is asked for)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if "train" not in args or not {"-h", "--help"} & set(args):
        return None
    from ember.recipes import RECIPES
    lines = ["recipe defaults (--epochs, --batch-size, --lr):"]
    for name in sorted(RECIPES):
        try:
            d = getattr(importlib.import_module(RECIPES[name]), "DEFAULTS", {})
        except ImportError:
            continue
        lines.append(f"  {name}: " + ", ".join(f"{k.replace('_', '-')} {d[k]}" for k in
                                               ("epochs", "batch_size", "lr") if d.get(k) is not None))
    return "\n".join(lines)


def main(argv=None):
    from ember.recipes import RECIPES
    p = argparse.ArgumentParser(prog="ember", description="ember: train, benchmark, inspect")
    sub = p.add_subparsers(dest="cmd")
    t = sub.add_parser("train", help="train a reference recipe (default: digits-mlp)",
                       description="Train a reference recipe; it ends by saying where its "
                       "checkpoints, logs and plot went (--out).",
                       epilog=_recipe_defaults(argv),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--recipe", choices=sorted(RECIPES), default="digits-mlp",
                   help="what to train (default digits-mlp: the bundled Digits set, offline)")
    t.add_argument("--epochs", type=int,
                   help="passes over the training set (default: the recipe's, listed below)")
    t.add_argument("--batch-size", dest="batch_size", type=int,
                   help="examples per optimizer step (default: the recipe's, listed below)")
    t.add_argument("--lr", type=float, help="learning rate (default: the recipe's, below)")
    t.add_argument("--seed", type=int, default=0,
                   help="seed of the initial weights and the batch order (default 0)")
    t.add_argument("--data-dir", dest="data_dir",
                   help="the data set's folder (default: none; mnist-mlp/mnist-cnn find "
                   "Fashion-MNIST in /usr/share/datasets/fashion-mnist, Debian/Ubuntu package "
                   "dataset-fashion-mnist; digits-mlp and linreg need no data)")
    t.add_argument("--dataset", choices=["mnist", "fashion-mnist"],
                   help="for the mnist-* recipes (default fashion-mnist)")
    t.add_argument("--mode", choices=["eager", "jit"], default="eager",
                   help="eager: loss.backward(); opt.step(). jit: one compiled step "
                   "(default eager)")
    t.add_argument("--out", help="folder for logs, checkpoints and the plot "
                                 "(default runs/<recipe>-<mode>)")
    t.add_argument("--resume", action="store_true", help="continue from <out>/last.safetensors "
                   "(default: start afresh)")
    t.add_argument("--limit", type=int, help="a smoke test: train and test on the first N "
                   "examples of each split only (default: all). Few examples give few "
                   "optimizer steps, so the accuracy says nothing about the recipe")
    t.add_argument("--no-progress", action="store_true",
                   help="no progress bars (default: bars when tqdm is installed)")
    t.add_argument("--tensorboard", metavar="DIR", help="also log the losses (per step and per "
                   "epoch) as TensorBoard event files in DIR (needs pip install tensorboard; "
                   "default: off)")
    t.add_argument("--nproc", type=int, help="train data-parallel on N processes (MPI ranks, "
                   "launched with mpiexec): --batch-size is the global batch, split over the "
                   "ranks; rank 0 alone writes logs, checkpoints and progress (default 1)")
    t.add_argument("--amp", choices=["bf16", "fp16"],
                   help="mixed precision: the forward pass under ember.autocast with this "
                        "dtype, parameters in float32 (fp16 adds dynamic loss scaling; "
                        "default: off, float32)")
    t.add_argument("--teacher", metavar="CKPT", help="distill: the teacher's weights (a "
                   "checkpoint of `ember train --recipe mnist-cnn`); default: train it first")
    t.add_argument("--seeds", type=int, help="distill, transfer: how many seeds to compare "
                   "over (default 3: --seed, --seed+1, ...)")
    t.add_argument("--labels", type=int, help="distill: the student's labelled images "
                   "(default 2000)")
    t.add_argument("--split", choices=["similar", "counter", "both"], help="transfer: the "
                   "class split (default both)")
    t.add_argument("--shots", help="transfer: labelled images per target class, a comma list "
                   "(default 10,50)")
    t.add_argument("--pretrain-epochs", dest="pretrain_epochs", type=int,
                   help="transfer: epochs of pretraining on the source classes (default 2)")
    t.set_defaults(func=cmd_train)
    r = sub.add_parser("run", help="launch N processes of a script under MPI, as torchrun "
                                   "(ember run -n 2 script.py args...)")
    r.add_argument("-n", "--nproc", "--nproc-per-node", "--nproc_per_node", dest="nproc",
                   type=int, required=True, help="number of processes (ranks); each gets "
                   "torchrun's RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE")
    r.add_argument("--standalone", action="store_true",
                   help="accepted for torchrun command lines (MPI's launcher does the "
                        "rendezvous)")
    r.add_argument("--hostfile", help="MPI hostfile for several machines (one host per line, "
                                      "e.g. 'node1:2')")
    r.add_argument("--mpiexec", help="the mpiexec to use (default: next to this Python, then "
                                     "PATH; or EMBER_MPIEXEC)")
    r.add_argument("-m", dest="module", action="store_true",
                   help="run a module (python -m) instead of a script")
    r.add_argument("args", nargs=argparse.REMAINDER, help="script.py (or module) and its "
                                                          "arguments")
    r.set_defaults(func=cmd_run)
    b = sub.add_parser("bench", help="one training step per workload: ember eager/jit vs "
                                     "PyTorch eager/compile vs JAX jit")
    from ember.bench.runner import add_arguments
    add_arguments(b)
    b.set_defaults(func=cmd_bench)
    c = sub.add_parser("convert", help="convert a checkpoint (a PyTorch .pth/.pt, read without "
                                       "running code from it, or safetensors) to safetensors")
    c.add_argument("input", help="the checkpoint to read (format told from its content)")
    c.add_argument("output", help="the .safetensors file to write")
    c.add_argument("--key", help="convert only this entry of a dict checkpoint, e.g. "
                                 "state_dict or model (dots for nesting)")
    c.set_defaults(func=cmd_convert)
    q = sub.add_parser("quantize", help="quantize a trained recipe's checkpoint to int8 and "
                                        "print the size and test accuracy before and after")
    q.add_argument("checkpoint", help="a checkpoint written by ember train (e.g. "
                                      "runs/mnist-mlp-eager/best.safetensors)")
    q.add_argument("--recipe", choices=sorted(RECIPES),
                   help="the recipe it was trained with (default: the one it records)")
    q.add_argument("--mode", choices=["dynamic", "static"], default="dynamic",
                   help="dynamic: int8 Linear/LSTM weights, activations quantized per call; "
                        "static: int8 Linear/Conv2d with per-channel weights and activation "
                        "ranges calibrated on --calibrate training examples (x86 qconfig)")
    q.add_argument("--calibrate", type=int, default=1000, metavar="N",
                   help="static mode: calibrate on the first N training examples (1000)")
    q.add_argument("--out", help="the quantized checkpoint to write (default: "
                                 "CHECKPOINT-int8-MODE.safetensors)")
    q.add_argument("--data-dir", dest="data_dir")
    q.add_argument("--dataset", choices=["mnist", "fashion-mnist"])
    q.add_argument("--limit", type=int, help="evaluate on the first N test examples only")
    q.set_defaults(func=cmd_quantize)
    i = sub.add_parser("info", help="versions, backend, BLAS, optional extras")
    i.set_defaults(func=cmd_info)
    a = p.parse_args(argv)
    a._argv = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get("EMBER_MALLOC_TUNING", "1") != "0":
        from ember.backend import keep_freed_memory
        keep_freed_memory()  # the command's process, not every importer of ember
    if a.cmd is None:
        p.print_help()
        return 2
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
