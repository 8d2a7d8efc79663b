"""``ember train`` (the reference recipes) and ``ember info`` (versions and backend)."""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys

RECIPES = {"digits-mlp": "ember.recipes.digits_mlp"}


def cmd_train(a):
    mod = importlib.import_module(RECIPES[a.recipe])
    kw = dict(mod.DEFAULTS)
    for k in kw:
        v = getattr(a, k)
        if v is not None:
            kw[k] = v
    mod.train(**kw, progress=not a.no_progress)
    return 0


def cmd_info(a):
    import numpy as np
    import ember
    from ember.backend import blas_info, name
    print(f"ember {ember.__version__}")
    print(f"python {platform.python_version()} ({sys.executable})")
    print(f"numpy {np.__version__}")
    print(f"backend {name}; BLAS {blas_info().get('blas')}; CPUs {os.cpu_count()}")
    for extra in ("tqdm", "safetensors", "matplotlib", "ml_dtypes", "hypothesis", "torch", "jax"):
        try:
            m = importlib.import_module(extra)
            print(f"  {extra:12s} {getattr(m, '__version__', 'installed')}")
        except Exception:
            print(f"  {extra:12s} not installed")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="ember", description="ember: train and inspect")
    sub = p.add_subparsers(dest="cmd")
    t = sub.add_parser("train", help="train a reference recipe (default: digits-mlp)")
    t.add_argument("--recipe", choices=sorted(RECIPES), default="digits-mlp")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", dest="batch_size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--no-progress", action="store_true", help="plain per-epoch lines")
    t.set_defaults(func=cmd_train)
    i = sub.add_parser("info", help="versions, backend, BLAS, optional extras")
    i.set_defaults(func=cmd_info)
    a = p.parse_args(argv)
    if a.cmd is None:
        p.print_help()
        return 2
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
