"""Shared parts of the comparison recipes (``distill``, ``transfer``): each arm of a comparison
is one ordinary training run of ``trainer.Run`` (so ``--mode eager|jit``, logs, checkpoints and
``--tensorboard`` work as for the other recipes) on a recipe assembled on the fly; the results
of the arms over several seeds become one table (mean, standard deviation, each seed, wall
time) printed and written as ``results.json`` and ``results.md`` in ``--out``."""
from __future__ import annotations

import json
import os
import time
import types

import numpy as np

import ember
from . import trainer


def arm_recipe(name, data, model, optimizer, functional_optimizer, loss, defaults):
    """A recipe module's interface as a namespace (what ``trainer.Run`` reads)."""
    return types.SimpleNamespace(NAME=name, DEFAULTS=dict(defaults), data=lambda args: data,
                                 model=model, optimizer=optimizer,
                                 functional_optimizer=functional_optimizer, loss=loss,
                                 metric="accuracy")


def run_arm(recipe, args, out, seed, epochs=None, log=None):
    """Train ``recipe`` as ``ember train`` would (``args``' mode, batch size, lr) with ``seed``
    into ``out``; returns (model, final test accuracy, wall seconds). The accuracy is the last
    epoch's: choosing the best epoch on the test set would flatter every arm."""
    kw = dict(epochs=epochs or args.epochs, batch_size=args.batch_size, lr=args.lr,
              seed=seed, mode=args.mode, out=out, progress=False, amp=args.amp,
              tensorboard=os.path.join(args.tensorboard, os.path.basename(out))
              if args.tensorboard else None)
    t0 = time.perf_counter()
    model, history = _ArmRun(recipe, trainer.Args(**kw)).run(log=log or _quiet)
    return model, history[-1]["test_acc"], time.perf_counter() - t0


class _ArmRun(trainer.Run):
    """A run without the curves' PNG (matplotlib costs seconds per run; the table is the
    result) that evaluates on the test set after its last epoch only; logs, checkpoints and
    TensorBoard as usual."""

    def _plot(self, log):
        pass

    def train_epoch(self, epoch):
        self._epoch = epoch
        return super().train_epoch(epoch)

    def evaluate(self, x, y):
        """Only after the last epoch (the test set is the result, not a guide)."""
        if getattr(self, "_epoch", self.a.epochs) < self.a.epochs:
            return float("nan"), float("nan")
        return super().evaluate(x, y)


def subset_rows(t, idx):
    return ember.Tensor._wrap(t._data[idx])


def predict(model, x, batch=1000):
    """``model``'s logits on ``x`` in eval mode, without gradients, as a NumPy array."""
    was = model.training
    model.eval()
    outs = []
    with ember.no_grad():
        for i in range(0, x.shape[0], batch):
            outs.append(model(subset_rows(x, slice(i, i + batch))).float().numpy())
    model.train(was)
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def accuracy(model, x, y):
    logits = predict(model, x)
    return float((logits.argmax(-1) == y.numpy()).mean()) if len(logits) else float("nan")


class Table:
    """Accuracy per (setting, arm) over seeds."""

    def __init__(self, title, arms):
        self.title, self.arms = title, list(arms)
        self.rows = {}  # setting -> arm -> list of (seed, acc, seconds)

    def add(self, setting, arm, seed, acc, seconds):
        self.rows.setdefault(setting, {}).setdefault(arm, []).append((seed, acc, seconds))

    def cell(self, setting, arm):
        runs = self.rows.get(setting, {}).get(arm, [])
        accs = np.array([a for _, a, _ in runs]) * 100
        return accs.mean(), (accs.std(ddof=1) if len(accs) > 1 else 0.0), accs, \
            float(np.mean([s for _, _, s in runs])) if runs else float("nan")

    def markdown(self):
        lines = [f"### {self.title}", "",
                 "| setting | " + " | ".join(f"{a} (%)" for a in self.arms) + " |",
                 "|---|" + "---|" * len(self.arms)]
        for setting in self.rows:
            cells = []
            for arm in self.arms:
                mean, sd, accs, secs = self.cell(setting, arm)
                each = ", ".join(f"{a:.1f}" for a in accs)
                cells.append(f"{mean:.2f} ± {sd:.2f} ({each}; {secs:.0f} s/run)")
            lines.append(f"| {setting} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def as_dict(self):
        return {"title": self.title, "arms": self.arms,
                "rows": {s: {a: [dict(seed=sd, test_acc=acc, seconds=sec)
                                 for sd, acc, sec in runs] for a, runs in arms.items()}
                         for s, arms in self.rows.items()}}

    def write(self, out, extra=None):
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(dict(self.as_dict(), **(extra or {})), f, indent=1)
        with open(os.path.join(out, "results.md"), "w") as f:
            f.write(self.markdown())


def _quiet(*args, **kwargs):
    pass
