"""The transfer recipe's comparison in PyTorch, seed for seed: the same small ResNet-style CNN
with the same module names (``features.0`` ... ``features.7.bn2``, ``fc``), the same source and
target subsets and few-shot draws (the recipe's own functions), the same initial weights (ember's
``SmallResNet`` and new heads, built after the same ``ember.manual_seed`` and copied through
their state_dict), the same batch order (the trainer's ``_batches``), the same budget (Adam,
lr, epochs, batch sizes) and the same evaluation (eval mode, after the last epoch, every test
image of the target classes) as ``ember train --recipe transfer``. PyTorch pretrains its own
source network from ember's initial weights (so the whole recipe, pretraining included, is
PyTorch math), then runs the three arms; prints the per-run lines and the table, with wall
seconds.

    python benchmarks/transfer_torch.py [--split similar|counter|both] [--shots 10,50]
        [--seeds 3] [--epochs 20] [--lr 1e-3] [--pretrain-epochs 2] [--threads 1]
        [--json out.json] [--ember-out DIR]
        [--frozen-head-lr LR] [--frozen-bn-train] [--backbone-lr LR]   (what-ifs)
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

import ember
from ember.recipes import transfer
from ember.recipes.trainer import Args, _batches


class BasicBlock(torch.nn.Module):
    def __init__(self, planes):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + x)


class SmallResNet(torch.nn.Module):
    def __init__(self, num_classes=5):
        super().__init__()
        nn = torch.nn
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            BasicBlock(16),
            nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            BasicBlock(32),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


def from_ember(em):
    """A torch SmallResNet holding ember model ``em``'s weights (the frozen arm's wrapper,
    ``features.features.*``, maps to ``features.*``)."""
    state = {k.replace("features.features.", "features."): torch.tensor(v.numpy())
             for k, v in em.state_dict().items()}
    m = SmallResNet()
    m.load_state_dict(state)
    return m


def accuracy(m, x, y):
    m.eval()
    with torch.no_grad():
        pred = torch.cat([m(x[i:i + 1000]).argmax(1) for i in range(0, len(y), 1000)])
    return float((pred == y).float().mean())


def train(m, params, x, y, epochs, batch, lr, seed, frozen=False):
    """The trainer's loop: Adam on ``params``, batches in the trainer's order; a frozen arm
    keeps its features in eval mode (BatchNorm on the source statistics)."""
    opt = torch.optim.Adam(params, lr=lr)
    F = torch.nn.functional
    m.train()
    if frozen:
        m.features.eval()
    for epoch in range(1, epochs + 1):
        for idx in _batches(len(y), batch, seed, epoch):
            idx = torch.from_numpy(idx)
            opt.zero_grad()
            loss = F.cross_entropy(m(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return float(loss.detach())


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir")
    p.add_argument("--split", default="both", choices=["similar", "counter", "both"])
    p.add_argument("--shots", default=",".join(map(str, transfer.SHOTS)))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=transfer.DEFAULTS["epochs"])
    p.add_argument("--lr", type=float, default=transfer.DEFAULTS["lr"])
    p.add_argument("--pretrain-epochs", type=int, default=transfer.PRETRAIN["epochs"])
    p.add_argument("--frozen-head-lr", type=float,
                   help="what-if: the frozen arm's head learning rate (default --lr)")
    p.add_argument("--frozen-bn-train", action="store_true",
                   help="what-if: the frozen arm's BatchNorm in train mode (target statistics)")
    p.add_argument("--backbone-lr", type=float,
                   help="what-if: full fine-tuning's learning rate for the features (the new "
                        "head keeps --lr)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--json", help="write the runs here")
    p.add_argument("--ember-out", metavar="DIR",
                   help="skip PyTorch's pretraining: fine-tune from the source network that "
                        "`ember train --recipe transfer --out DIR` pretrained "
                        "(DIR/SPLIT/pretrain/last.safetensors), to compare the arms' math alone")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    shots = tuple(int(s) for s in a.shots.split(","))
    xtr, ytr, xte, yte = transfer.data(Args(data_dir=a.data_dir))
    xtr, xte = transfer._to_images(xtr), transfer._to_images(xte)
    T = lambda t: torch.tensor(t.numpy())  # noqa: E731
    runs, summary = [], []
    for name in (("similar", "counter") if a.split == "both" else (a.split,)):
        source, target = transfer.SPLITS[name]
        xs, ys = transfer._classes(xtr, ytr, source)
        xst, yst = transfer._classes(xte, yte, source)
        xt, yt = transfer._classes(xtr, ytr, target)
        xtt, ytt = map(T, transfer._classes(xte, yte, target))
        # pretraining: ember's initial weights (the trainer seeds, then builds the model)
        ember.manual_seed(a.seed)
        em_pre = transfer.SmallResNet()
        pre = from_ember(em_pre)
        t0 = time.perf_counter()
        if a.ember_out:
            em_pre.load_state_dict(ember.load(os.path.join(
                a.ember_out, name, "pretrain", "last.safetensors"))["model"])
            pre = from_ember(em_pre)
        else:
            train(pre, pre.parameters(), T(xs), T(ys), a.pretrain_epochs,
                  transfer.PRETRAIN["batch_size"], transfer.PRETRAIN["lr"], a.seed)
        pre_secs = time.perf_counter() - t0
        pre_acc = accuracy(pre, T(xst), T(yst))
        print(f"{name}: {'ember' if a.ember_out else 'PyTorch'} pretrained on classes {source} ({len(ys)} images, {pre_secs:.0f} s): "
              f"source test accuracy {pre_acc:.4f}", flush=True)
        summary.append(dict(split=name, pretrain_test_acc=pre_acc, pretrain_seconds=pre_secs))
        features = {k: v.clone() for k, v in pre.state_dict().items()
                    if k.startswith("features.")}
        for k in shots:
            for seed in range(a.seed, a.seed + a.seeds):
                idx = transfer._few_shots(yt, k, seed)
                x, y = T(xt)[torch.from_numpy(idx)], T(yt)[torch.from_numpy(idx)]
                for arm in transfer.ARMS:
                    ember.manual_seed(seed)  # the new head's (or scratch net's) initial weights
                    m = from_ember(transfer._arm_model(arm, em_pre))
                    if arm != transfer.ARMS[0]:
                        m.load_state_dict(features, strict=False)
                    frozen = arm == transfer.ARMS[1]
                    if frozen:
                        m.features.requires_grad_(False)
                    lr, params = a.lr, [q for q in m.parameters() if q.requires_grad]
                    if frozen and a.frozen_head_lr:
                        lr = a.frozen_head_lr
                    if arm == transfer.ARMS[2] and a.backbone_lr:
                        params = [dict(params=m.features.parameters(), lr=a.backbone_lr),
                                  dict(params=m.fc.parameters())]
                    t0 = time.perf_counter()
                    loss = train(m, params, x, y, a.epochs, k, lr, seed,
                                 frozen and not a.frozen_bn_train)
                    acc = accuracy(m, xtt, ytt)
                    secs = time.perf_counter() - t0
                    runs.append(dict(split=name, shots=k, seed=seed, arm=arm, test_acc=acc,
                                     seconds=secs, last_loss=loss))
                    print(f"{name}  {k:3d} per class  seed {seed}  {arm:27s} test acc "
                          f"{acc:.4f}  ({secs:.1f} s; last batch loss {loss:.3f})", flush=True)
    print()
    print("| split | labels per class | " + " | ".join(transfer.ARMS) + " |")
    print("|---|---|" + "---|" * len(transfer.ARMS))
    for s in summary:
        for k in shots:
            cells = []
            for arm in transfer.ARMS:
                rs = [r for r in runs if (r["split"], r["shots"], r["arm"]) == (s["split"], k, arm)]
                v = np.array([r["test_acc"] for r in rs]) * 100
                sd = v.std(ddof=1) if len(v) > 1 else 0.0
                cells.append(f"{v.mean():.2f} ± {sd:.2f} ({', '.join(f'{q:.1f}' for q in v)}; "
                             f"{np.mean([r['seconds'] for r in rs]):.1f} s/run)")
            print(f"| {s['split']} | {k} | " + " | ".join(cells) + " |")
    budget = dict(epochs=a.epochs, lr=a.lr,
                  pretrain_epochs=None if a.ember_out else a.pretrain_epochs,
                  threads=a.threads, pretrained_by="ember" if a.ember_out else "torch",
                  frozen_head_lr=a.frozen_head_lr, frozen_bn_train=a.frozen_bn_train,
                  backbone_lr=a.backbone_lr)
    print(f"budget: {budget}; pretraining: " + ", ".join(
        f"{s['split']} {s['pretrain_test_acc'] * 100:.1f}% in {s['pretrain_seconds']:.0f} s"
        for s in summary))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(budget=budget, pretrain=summary, runs=runs), f, indent=1)


if __name__ == "__main__":
    main()
