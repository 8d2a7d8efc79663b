"""The distill recipe's comparison in PyTorch: the same teacher weights (an ember checkpoint of
mnist-cnn, loaded into torch's twin), the same labelled subsets, initial student weights
(ember's, copied), batch order, loss (torch's kl_div with log_target, batchmean, T^2, plus
cross entropy), Adam, epochs and seeds as ``ember train --recipe distill``; prints the table.

    python benchmarks/distill_torch.py --teacher runs/mnist-cnn-eager/last.safetensors \
        [--labels 2000] [--epochs 30] [--seeds 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import ember
from ember.recipes import distill
from ember.recipes.trainer import Args, _batches

from accuracy_torch import torch_model


def run(x, y, soft, xte, yte, em_student, distilled, epochs, batch, lr, seed):
    nn = torch.nn
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    m.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em_student.state_dict().items()})
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    F, T, a = torch.nn.functional, distill.T, distill.ALPHA
    for epoch in range(1, epochs + 1):
        for idx in _batches(len(y), batch, seed, epoch):
            idx = torch.tensor(idx)
            opt.zero_grad()
            out = m(x[idx])
            if distilled:
                kl = F.kl_div(F.log_softmax(out / T, -1), F.log_softmax(soft[idx] / T, -1),
                              reduction="batchmean", log_target=True) * T * T
                loss = a * kl + (1 - a) * F.cross_entropy(out, y[idx])
            else:
                loss = F.cross_entropy(out, y[idx])
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float((m(xte).argmax(1) == yte).float().mean())


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--teacher", required=True)
    p.add_argument("--data-dir")
    p.add_argument("--labels", type=int, default=distill.LABELS)
    p.add_argument("--epochs", type=int, default=distill.DEFAULTS["epochs"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(1)
    xtr, ytr, xte, yte = distill.data(Args(data_dir=a.data_dir))
    teacher = torch_model("mnist-cnn", distill.load_teacher(a.teacher)).eval()
    X, Y = torch.tensor(xtr.numpy()), torch.tensor(ytr.numpy())
    XT, YT = torch.tensor(xte.numpy()), torch.tensor(yte.numpy())
    with torch.no_grad():
        acc = float(torch.cat([teacher(XT[i:i + 1000]).argmax(1) for i in
                               range(0, len(YT), 1000)]).eq(YT).float().mean())
    print(f"teacher test accuracy {acc:.4f}")
    labels = min(a.labels, len(Y))
    res = {"student alone": [], "distilled student": []}
    for seed in range(a.seed, a.seed + a.seeds):
        idx = np.sort(np.random.default_rng(seed).choice(len(Y), labels, replace=False))
        x, y = X[idx], Y[idx]
        with torch.no_grad():
            soft = torch.cat([teacher(x[i:i + 1000]) for i in range(0, len(y), 1000)])
        for arm, distilled in (("student alone", False), ("distilled student", True)):
            ember.manual_seed(seed)  # the trainer seeds, then builds the model
            t0 = time.perf_counter()
            acc = run(x, y, soft, XT, YT, distill.student(), distilled, a.epochs,
                      distill.DEFAULTS["batch_size"], distill.DEFAULTS["lr"], seed)
            res[arm].append(acc)
            print(f"seed {seed}  {arm:18s} test acc {acc:.4f}  "
                  f"({time.perf_counter() - t0:.1f} s)", flush=True)
    for arm, accs in res.items():
        v = np.array(accs) * 100
        print(f"{arm}: {v.mean():.2f} ± {v.std(ddof=1) if len(v) > 1 else 0:.2f} "
              f"({', '.join(f'{x:.1f}' for x in v)})")


if __name__ == "__main__":
    main()
