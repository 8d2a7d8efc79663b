"""kuangliu/pytorch-cifar's model zoo by import swap: ember against PyTorch on the same
weights (losses, gradients) and the time of an eager training step.

    python benchmarks/cifar_zoo.py --repo PATH [--models ResNet18,MobileNetV2] [--batch 16]
        [--float64] [--no-time]

PATH is a checkout of https://github.com/kuangliu/pytorch-cifar (nothing of it is kept
here). Its ``models`` package is copied twice into a temporary directory, once as it is and
once with ``import torch`` / ``torch.nn`` / ``torch.nn.functional`` swapped for ember's; each
model is built by both, PyTorch's initial weights are loaded into ember's, and one
cross-entropy forward/backward on the same random batch is compared: the losses and, per
parameter, max |g_ember - g_torch| / max |g_torch| (``--float64`` for a comparison free of
float32 rounding: parameters whose gradient is zero by construction, such as a conv bias
before BatchNorm, show noise-level ratios either way). Then eager SGD-momentum steps of both,
alternating, best of 3 pairs. Training mode (BatchNorm's batch statistics; dropout draws
differ between the frameworks, so a model with dropout shows different losses).
"""
import argparse
import importlib
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SWAPS = [(r"^import torch\.nn\.functional as F$", "import ember.nn.functional as F"),
         (r"^import torch\.nn as nn$", "import ember.nn as nn"),
         (r"^import torch$", "import ember as torch")]
DEFAULT = ("LeNet,VGG,ResNet18,ResNet50,PreActResNet18,GoogLeNet,DenseNet121,ResNeXt29_2x64d,"
           "MobileNet,MobileNetV2,DPN26,SENet18,ShuffleNetV2,EfficientNetB0,RegNetX_200MF,"
           "RegNetY_400MF,PNASNetA,DLA,SimpleDLA")
ARGS = {"VGG": ("VGG11",), "ShuffleNetV2": (1,)}


def _load(root, name):
    """The ``models`` package under ``root``, imported fresh."""
    for k in [k for k in sys.modules if k == "models" or k.startswith("models.")]:
        del sys.modules[k]
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module("models")
    finally:
        sys.path.pop(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", required=True)
    ap.add_argument("--models", default=DEFAULT)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--float64", action="store_true")
    ap.add_argument("--no-time", action="store_true")
    a = ap.parse_args()
    import torch
    import ember
    tmp = Path(tempfile.mkdtemp())
    for side in ("torch", "ember"):
        shutil.copytree(Path(a.repo) / "models", tmp / side / "models")
    for f in (tmp / "ember" / "models").glob("*.py"):
        text = f.read_text()
        for pat, rep in SWAPS:
            text = re.sub(pat, rep, text, flags=re.M)
        f.write_text(text)
    tm, em = _load(tmp / "torch", "models"), _load(tmp / "ember", "models")
    rng = np.random.default_rng(0)
    dt = np.float64 if a.float64 else np.float32
    x = rng.standard_normal((a.batch, 3, 32, 32)).astype(dt)
    y = rng.integers(0, 10, a.batch)
    for name in a.models.split(","):
        try:
            torch.manual_seed(0)
            tmod, emod = getattr(tm, name)(*ARGS.get(name, ())), getattr(em, name)(*ARGS.get(name, ()))
            if a.float64:
                tmod, emod = tmod.double(), emod.double()
            emod.load_state_dict({k: ember.tensor(v.detach().numpy().copy())
                                  for k, v in tmod.state_dict().items()})
            xt, yt, xe, ye = torch.tensor(x), torch.tensor(y), ember.tensor(x), ember.tensor(y)
            lt = torch.nn.functional.cross_entropy(tmod(xt), yt)
            le = ember.nn.functional.cross_entropy(emod(xe), ye)
            lt.backward()
            le.backward()
            worst = 0.0
            for (_, p), (_, q) in zip(tmod.named_parameters(), emod.named_parameters()):
                if p.grad is not None:
                    g = p.grad.numpy()
                    worst = max(worst, float(np.abs(g - q.grad.numpy()).max() /
                                             (np.abs(g).max() + 1e-30)))
            line = f"{name:16s} loss torch {lt.item():.6f} ember {le.item():.6f}  " \
                   f"max rel grad diff {worst:.1e}"
            if not a.no_time:
                topt = torch.optim.SGD(tmod.parameters(), lr=0.01, momentum=0.9)
                eopt = ember.optim.SGD(emod.parameters(), lr=0.01, momentum=0.9)

                def ts():
                    topt.zero_grad()
                    torch.nn.functional.cross_entropy(tmod(xt), yt).backward()
                    topt.step()

                def es():
                    eopt.zero_grad()
                    ember.nn.functional.cross_entropy(emod(xe), ye).backward()
                    eopt.step()
                best = {"torch": 1e9, "ember": 1e9}
                for f in (ts, es, ts, es):  # warm-up
                    f()
                for _ in range(3):
                    for f, k in ((ts, "torch"), (es, "ember")):
                        t0 = time.perf_counter()
                        f()
                        best[k] = min(best[k], time.perf_counter() - t0)
                line += f"  step torch {best['torch'] * 1e3:.1f} ms ember " \
                        f"{best['ember'] * 1e3:.1f} ms ({best['ember'] / best['torch']:.2f}x)"
            print(line, flush=True)
        except Exception as e:  # one model's failure doesn't stop the others
            print(f"{name:16s} FAILED: {type(e).__name__}: {str(e)[:200]}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
