"""The accuracy side of the comparison: run a reference recipe in PyTorch with the same data,
initial weights (ember's, copied), batch order, hyper-parameters and epochs as
``ember train --recipe NAME``, and print the per-epoch test accuracy.

    python benchmarks/accuracy_torch.py --recipe mnist-mlp --dataset fashion-mnist
    python benchmarks/accuracy_torch.py --recipe text-lstm --data-dir reviews.csv --epochs 8
    python benchmarks/accuracy_torch.py --recipe mnist-cnn --amp bf16   # torch.autocast("cpu")
"""
from __future__ import annotations

import argparse
import importlib
import time

import numpy as np
import torch

import ember
from ember.recipes import RECIPES
from ember.recipes.trainer import Args, _batches


def torch_model(name, em):
    """The recipe's architecture in torch, with the ember model's weights."""
    nn = torch.nn
    if name == "digits-mlp":
        m = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64),
                          nn.ReLU(), nn.Linear(64, 10))
    elif name == "mnist-mlp":
        m = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                          nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    elif name == "mnist-cnn":
        m = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 14 * 14, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    elif name == "text-lstm":
        class C(nn.Module):
            def __init__(self, vocab):
                super().__init__()
                self.embedding = nn.Embedding(vocab, 100, padding_idx=0)
                self.lstm = nn.LSTM(100, 128, num_layers=2, batch_first=True)
                self.fc = nn.Linear(128, 2)

            def forward(self, ids):
                _, (h, _) = self.lstm(self.embedding(ids))
                return self.fc(h[-1])
        m = C(em.embedding.num_embeddings)
    else:
        raise SystemExit(f"accuracy_torch: no torch twin for {name}")
    m.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em.state_dict().items()})
    return m


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--recipe", required=True, choices=sorted(RECIPES))
    p.add_argument("--dataset")
    p.add_argument("--data-dir")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--amp", choices=["bf16", "fp16"], help="the forward pass and loss under "
                   "torch.autocast('cpu') in that dtype (fp16 with torch.amp.GradScaler), as "
                   "ember train --amp")
    a = p.parse_args()
    r = importlib.import_module(RECIPES[a.recipe])
    args = Args(dataset=a.dataset, data_dir=a.data_dir, seed=a.seed, epochs=a.epochs)
    for k, v in r.DEFAULTS.items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    ember.manual_seed(a.seed)
    xtr, ytr, xte, yte = (torch.tensor(t.numpy()) for t in r.data(args))
    m = torch_model(a.recipe, r.model())
    opt = (torch.optim.Adam(m.parameters(), lr=args.lr) if "adam" in
           r.optimizer.__code__.co_names or "Adam" in r.optimizer.__code__.co_names else
           torch.optim.SGD(m.parameters(), lr=args.lr, momentum=0.9))
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, None: None}[a.amp]
    scaler = torch.amp.GradScaler("cpu", enabled=a.amp == "fp16")
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        m.train()
        for idx in _batches(len(ytr), args.batch_size, args.seed, epoch):
            idx = torch.tensor(idx)
            opt.zero_grad()
            with torch.autocast("cpu", dtype=amp_dtype, enabled=amp_dtype is not None):
                loss = torch.nn.functional.cross_entropy(m(xtr[idx]), ytr[idx])
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        m.eval()
        with torch.no_grad():
            correct = sum(int((m(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum())
                          for i in range(0, len(yte), 1000))
        print(f"epoch {epoch:3d}  test acc {correct / len(yte):.4f}  "
              f"({len(ytr) / (time.perf_counter() - t0):.0f} samples/s)", flush=True)
    _ = np


if __name__ == "__main__":
    main()
