"""transfer: transfer learning on Fashion-MNIST, measured against training from scratch.

A small ResNet-style CNN (conv 1->16 stride 2, a BasicBlock, conv 16->32 stride 2, a BasicBlock,
global average pool, fc 32->5; 28k parameters) is pretrained on five source classes, then
trained on five other (target) classes from ``--shots`` labelled images per class (default 10
and 50), in three arms with the same budget (``--epochs`` epochs, default 20, of batches of
``shots`` images: 5 Adam steps an epoch at the same lr, 100 steps in all, the same seeds):

- scratch: the same network, freshly initialised;
- frozen features + new head: the pretrained network with a new fc; the features frozen
  (``requires_grad_(False)``, BatchNorm kept in eval with the source statistics);
- full fine-tuning: the pretrained network with a new fc, every weight trained.

Two splits: ``similar`` (source {0,1,5,8,9} -> target {2,3,4,6,7}: both sides hold garments and
shoes) and ``counter`` (source {0..4}, the garments -> target {5..9}, mostly shoes and bags),
the counter-example where pretraining is expected not to help. The test set is every test
image of the target classes. Prints and writes (``results.md``/``results.json`` in ``--out``)
the accuracy of each arm over the seeds.

    ember train --recipe transfer [--split similar|counter|both] [--shots 10,50] [--seeds 3]
                [--epochs 20] [--pretrain-epochs 2] [--data-dir DIR]
"""
import copy
import json
import os

import numpy as np

import ember
from ember import nn
from ember.models.resnet import BasicBlock
from . import _compare, _mnist

NAME = "transfer"
DEFAULTS = dict(epochs=20, batch_size=None, lr=1e-3)
PRETRAIN = dict(epochs=2, batch_size=64, lr=1e-3)
SPLITS = {"similar": ((0, 1, 5, 8, 9), (2, 3, 4, 6, 7)),
          "counter": ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))}
SHOTS = (10, 50)
ARMS = ("scratch", "frozen features + new head", "full fine-tuning")


class SmallResNet(nn.Module):
    """``features`` (two strided convs, each followed by a BasicBlock) and ``fc``."""

    def __init__(self, num_classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            BasicBlock(16, 16),
            nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            BasicBlock(32, 32),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


class FrozenFeatures(nn.Module):
    """Pretrained features used as a fixed function: no parameter trains and BatchNorm keeps
    the source statistics (eval mode, whatever ``train()`` says), as a PyTorch user freezes a
    backbone."""

    def __init__(self, features):
        super().__init__()
        self.features = features
        for p in features.parameters():
            p.requires_grad_(False)
        features.eval()

    def train(self, mode=True):
        self.training = mode
        self.features.eval()
        return self

    def forward(self, x):
        return self.features(x)


def data(args):
    return _mnist.load(args)


def _classes(x, y, classes):
    """The examples of ``classes``, relabelled 0..len(classes)-1."""
    yn = y.numpy()
    idx = np.flatnonzero(np.isin(yn, classes))
    remap = np.full(10, -1, np.int64)
    remap[list(classes)] = np.arange(len(classes))
    return _compare.subset_rows(x, idx), ember.tensor(remap[yn[idx]])


def _few_shots(y, shots, seed):
    """``shots`` random indices per class of ``y`` (sorted)."""
    rng = np.random.default_rng(seed)
    yn = y.numpy()
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(yn == c), min(shots, int(
        (yn == c).sum())), replace=False) for c in np.unique(yn)]))


def _arm_model(arm, pretrained):
    """The network of one arm; called by the run after it seeded the generator (so the new
    head's initialisation is the seed's)."""
    if arm == ARMS[0]:
        return SmallResNet()
    model = copy.deepcopy(pretrained)
    model.fc = nn.Linear(32, 5)
    if arm == ARMS[1]:
        model.features = FrozenFeatures(model.features)
    return model


def _optimizer(params, lr):
    return ember.optim.Adam([p for p in params if p.requires_grad], lr=lr)


def _functional_optimizer(lr):
    return ember.optim.functional.adam(lr)


def _to_images(x):
    return x if x.ndim == 4 else x.reshape(x.shape[0], 1, 28, 28)


def pretrain(args, x, y, xte, yte, out, log):
    """The source network: ``PRETRAIN`` epochs on every source image."""
    recipe = _compare.arm_recipe(f"{NAME}-pretrain", (x, y, xte, yte), SmallResNet, _optimizer,
                                 _functional_optimizer, nn.functional.cross_entropy, PRETRAIN)
    pargs = copy.copy(args)
    pargs.batch_size, pargs.lr = PRETRAIN["batch_size"], PRETRAIN["lr"]
    model, acc, secs = _compare.run_arm(recipe, pargs, out, args.seed,
                                        epochs=getattr(args, "pretrain_epochs", None)
                                        or PRETRAIN["epochs"])
    return model, acc, secs


def experiment(args, log=print):
    out = args.out or os.path.join("runs", f"{NAME}-{args.mode}")
    xtr, ytr, xte, yte = data(args)
    xtr, xte = _to_images(xtr), _to_images(xte)
    if args.limit:
        xtr, ytr = _compare.subset_rows(xtr, slice(0, args.limit)), ytr[:args.limit]
        xte, yte = _compare.subset_rows(xte, slice(0, args.limit)), yte[:args.limit]
    split = getattr(args, "split", None) or "both"
    if split not in ("similar", "counter", "both"):
        raise ValueError(f"transfer: --split must be 'similar', 'counter' or 'both', got "
                         f"{split!r}")
    shots = getattr(args, "shots", None) or SHOTS
    if isinstance(shots, str):
        try:
            shots = tuple(int(s) for s in shots.split(","))
        except ValueError:
            raise ValueError(f"transfer: --shots takes labelled images per class as a comma "
                             f"list like 10,50; got {shots!r}") from None
    if not shots or min(shots) < 1:
        raise ValueError(f"transfer: --shots must be positive counts, got {shots!r}")
    nseeds = getattr(args, "seeds", None) or 3
    tables, extra = [], {}
    for name in (("similar", "counter") if split == "both" else (split,)):
        source, target = SPLITS[name]
        xs, ys = _classes(xtr, ytr, source)
        xst, yst = _classes(xte, yte, source)
        xt, yt = _classes(xtr, ytr, target)
        xtt, ytt = _classes(xte, yte, target)
        pre, pre_acc, pre_secs = pretrain(args, xs, ys, xst, yst,
                                          os.path.join(out, name, "pretrain"), log)
        log(f"{name}: pretrained on classes {source} ({xs.shape[0]} images, "
            f"{pre_secs:.0f} s): source test accuracy {pre_acc:.4f}")
        table = _compare.Table(f"transfer, split {name}: {source} -> {target}", ARMS)
        for k in shots:
            for seed in range(args.seed, args.seed + nseeds):
                idx = _few_shots(yt, k, seed)
                x, y = _compare.subset_rows(xt, idx), yt[idx]
                for arm in ARMS:
                    tag = ("scratch", "frozen", "finetune")[ARMS.index(arm)]
                    recipe = _compare.arm_recipe(  # (its own name: 5 classes, not the data's 10)
                        f"{NAME}-{tag}", (x, y, xtt, ytt), lambda arm=arm: _arm_model(arm, pre),
                        _optimizer, _functional_optimizer, nn.functional.cross_entropy,
                        DEFAULTS)
                    aargs = copy.copy(args)
                    aargs.batch_size = args.batch_size or k
                    _, acc, secs = _compare.run_arm(
                        recipe, aargs, os.path.join(out, name, f"{tag}-{k}shot-seed{seed}"),
                        seed)
                    table.add(f"{k} per class", arm, seed, acc, secs)
                    log(f"{name}  {k:3d} per class  seed {seed}  {arm:27s} test acc "
                        f"{acc:.4f}  ({secs:.1f} s)")
        tables.append(table)
        extra[name] = dict(source=source, target=target, pretrain_test_acc=pre_acc,
                           pretrain_seconds=pre_secs)
    os.makedirs(out, exist_ok=True)
    budget = dict(epochs=args.epochs, batch_size=args.batch_size or "shots per class",
                  lr=args.lr, pretrain_epochs=getattr(args, "pretrain_epochs", None)
                  or PRETRAIN["epochs"], mode=args.mode)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(dict(budget=budget, splits=extra, tables=[t.as_dict() for t in tables]), f,
                  indent=1)
    text = "\n".join(t.markdown() for t in tables)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    log(text)
    log(f"budget: {budget}; results in {out}/results.md")
    return tables
