"""The training loop shared by the recipes: eager (PyTorch style) or jit (one compiled
functional step), with progress bars, CSV/JSON logs, best/last checkpoints, a plot, and
``--resume``.

A recipe is a small module with ``NAME``, ``DEFAULTS``, ``data(args)`` (train and test
tensors), ``model()``, ``optimizer(params, lr)`` / ``functional_optimizer(lr)`` and ``loss``;
``metric`` is ``"accuracy"`` (classification) or ``"mse"``. A recipe that compares several
runs (``distill``, ``transfer``) defines ``experiment(args, log)`` instead, which ``train`` calls.

Determinism: the data order of epoch ``e`` is a permutation seeded by (seed, e), and the global
generator is reseeded at every epoch start, so a run resumed from the checkpoint of epoch ``e``
continues exactly as the uninterrupted run would.
"""
from __future__ import annotations

import csv
import json
import os
import time

import numpy as np

import ember
from ember import nn
from ember.serialization import _remove_stale_tmps as remove_stale_tmps

MODES = ("eager", "jit")
AMP = {"bf16": "bfloat16", "fp16": "float16"}  # --amp: ember.autocast's dtype


class Args:
    """The run configuration (the command line's options)."""

    def __init__(self, **kw):
        self.epochs = self.batch_size = self.lr = None
        self.seed, self.data_dir, self.dataset = 0, None, None
        self.mode, self.out, self.resume, self.progress = "eager", None, False, True
        self.limit = None  # use only this many training/test examples (smoke tests)
        self.tensorboard = None  # a folder: log the losses there for TensorBoard
        self.nproc = None  # data-parallel over this many MPI ranks (ember train --nproc)
        self.amp = None  # "bf16" or "fp16": mixed precision (autocast; fp16 adds loss scaling)
        self.__dict__.update(kw)


def _batches(n, batch_size, seed, epoch, shuffle=True):
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


def _take(t, idx):
    return ember.Tensor._wrap(t._data[idx]) if not isinstance(t, (list, tuple)) else \
        type(t)(_take(x, idx) for x in t)


def _len(t):
    return len(t[0]) if isinstance(t, (list, tuple)) else t.shape[0]


class Run:
    def __init__(self, recipe, args):
        self.r, self.a = recipe, args
        self.tb = None  # the SummaryWriter of --tensorboard, during run()
        for k, v in recipe.DEFAULTS.items():
            if getattr(args, k, None) is None:
                setattr(args, k, v)
        if args.mode not in MODES:
            raise ValueError(f"train: --mode must be one of {MODES}, got {args.mode!r}")
        if args.amp is not None and args.amp not in AMP:
            raise ValueError(f"train: --amp must be one of {sorted(AMP)}, got {args.amp!r}")
        self.metric = getattr(recipe, "metric", "accuracy")
        self.out = args.out or os.path.join(
            "runs", f"{recipe.NAME}-{args.mode}" + (f"-{args.amp}" if args.amp else ""))
        self.history = []
        self.rank, self.world, self.ddp = 0, 1, None
        self.main = True  # rank 0: the one that writes logs, checkpoints and progress

    # ---- data parallel (--nproc) -------------------------------------------------------------
    def _join_ranks(self):
        """Under ``--nproc N`` (launched by MPI): join the process group and split the global
        batch over the ranks."""
        a = self.a
        if not a.nproc or a.nproc <= 1:
            return
        import ember.distributed as dist
        if not dist.is_initialized():
            dist.init_process_group()
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        if self.world != a.nproc:
            raise RuntimeError(f"train --nproc {a.nproc}: this run has {self.world} MPI ranks; "
                               f"launch it with `ember train --nproc {a.nproc} ...` (or "
                               f"mpiexec -n {a.nproc})")
        if a.batch_size % self.world:
            raise ValueError(f"train --nproc {self.world}: --batch-size {a.batch_size} is the "
                             f"global batch and must split evenly over {self.world} ranks; "
                             f"use a multiple of {self.world}")
        self.main = self.rank == 0

    # ---- data, model, optimizer ------------------------------------------------------------
    def setup(self):
        a = self.a
        self._join_ranks()
        ember.manual_seed(a.seed)
        self.xtr, self.ytr, self.xte, self.yte = self.r.data(a)
        if a.limit:
            self.xtr, self.ytr = _take(self.xtr, slice(0, a.limit)), self.ytr[:a.limit]
            self.xte, self.yte = _take(self.xte, slice(0, a.limit)), self.yte[:a.limit]
        self.model = self.r.model()
        self.start_epoch = 1
        # --amp: parameters stay float32; the forward pass runs under autocast; float16 adds
        # loss scaling (GradScaler eagerly, a DynamicLossScale carried through the jit step)
        self.scaler = self.loss_scale = None
        if a.mode == "eager":
            self.opt = self.r.optimizer(self.model.parameters(), a.lr)
            if a.amp == "fp16":
                self.scaler = ember.amp.GradScaler("cpu")
        else:
            self.fopt = self.r.functional_optimizer(a.lr)
            self.params = self._own_params()
            self.opt_state = self.fopt.init(self.params)
            if a.amp == "fp16":
                self.loss_scale = ember.amp.DynamicLossScale(ember.tensor(2.0 ** 16))
            self.step = self._make_jit_step()
        if a.resume:
            # a run killed inside a checkpoint write left its temporary file; the resumed run
            # may have no epoch left to write that checkpoint again, so clear them now
            for name in ("last.safetensors", "best.safetensors"):
                remove_stale_tmps(os.path.join(self.out, name))
            self._load(os.path.join(self.out, "last.safetensors"))
        if self.world > 1:
            from ember.nn.parallel import DistributedDataParallel
            if a.mode == "eager":  # broadcasts rank 0's weights, averages gradients
                self.ddp = DistributedDataParallel(self.model)
            else:
                import ember.distributed as dist
                for v in self.params.values():
                    dist.broadcast(v, src=0)

    def _own_params(self):
        # copies: the jitted step donates (reuses) these buffers; a frozen parameter
        # (requires_grad=False, as in fine-tuning) is not trained, as the eager optimizer skips it
        return {k: ember.Tensor._wrap(v._data.copy()) for k, v in self.model.named_parameters()
                if v.requires_grad}

    def _autocast(self):
        """The autocast region of --amp (a disabled one without it)."""
        amp = self.a.amp
        return ember.autocast("cpu", dtype=getattr(ember, AMP[amp]) if amp else None,
                              enabled=amp is not None)

    def _make_jit_step(self):
        model, loss_fn, fopt = self.model, self.r.loss, self.fopt
        from ember.func import functional_call
        region = self._autocast
        world = self.world

        def step(params, state, x, y):
            def objective(p):
                with region():
                    return loss_fn(functional_call(model, p, (x,)), y)
            loss, grads = ember.value_and_grad(objective)(params)
            if world > 1:  # data parallel: average the gradients over the ranks
                from ember.distributed.functional import all_reduce
                grads = {k: all_reduce(g, "avg") for k, g in grads.items()}
            updates, state = fopt.update(grads, state, params)
            return ember.optim.functional.apply_updates(params, updates), state, loss

        def scaled_step(params, state, loss_scale, x, y):
            def objective(p):
                with region():
                    loss = loss_fn(functional_call(model, p, (x,)), y)
                return loss_scale.scale(loss), loss
            grads, loss = ember.grad(objective, has_aux=True)(params)
            if world > 1:  # data parallel: average the (scaled) gradients over the ranks
                from ember.distributed.functional import all_reduce
                grads = {k: all_reduce(g, "avg") for k, g in grads.items()}
            grads = loss_scale.unscale(grads)
            finite = ember.amp.all_finite(grads)
            updates, new_state = fopt.update(grads, state, params)
            new_params = ember.optim.functional.apply_updates(params, updates)
            params, state = ember.amp.select_tree(finite, (new_params, new_state),
                                                  (params, state))
            return params, state, loss_scale.adjust(finite), loss
        if self.loss_scale is not None:
            return ember.jit(scaled_step, donate_argnums=(0, 1))
        return ember.jit(step, donate_argnums=(0, 1))

    # ---- one epoch ---------------------------------------------------------------------------
    def train_epoch(self, epoch):
        a = self.a
        ember.manual_seed(a.seed * 100003 + epoch)
        n = _len(self.xtr)
        bar = self._bar(epoch, n)
        total, count, t0 = 0.0, 0, time.perf_counter()
        self.model.train()
        tb, step = self.tb, (epoch - 1) * -(-n // a.batch_size)
        net = self.ddp if self.ddp is not None else self.model
        for idx in _batches(n, a.batch_size, a.seed, epoch):
            if self.world > 1:  # this rank's share of the global batch
                if len(idx) < self.world:
                    continue  # a last batch too small to give every rank an example
                idx = np.array_split(idx, self.world)[self.rank]
            x, y = _take(self.xtr, idx), self.ytr[idx]
            if a.mode == "eager":
                self.opt.zero_grad()
                with self._autocast():
                    loss = self.r.loss(net(x), y)
                if self.scaler is not None:
                    self.scaler.scale(loss).backward()
                    self.scaler.step(self.opt)
                    self.scaler.update()
                else:
                    loss.backward()
                    self.opt.step()
            elif self.loss_scale is not None:
                self.params, self.opt_state, self.loss_scale, loss = self.step(
                    self.params, self.opt_state, self.loss_scale, x, y)
            else:
                self.params, self.opt_state, loss = self.step(self.params, self.opt_state, x, y)
            lv = loss.item()
            total += lv * len(idx)
            count += len(idx)
            if tb is not None:
                step += 1
                tb.add_scalar("train/loss_step", lv, step)
            if bar is not None:
                bar.update(len(idx))
                bar.set_postfix(loss=f"{lv:.4f}",
                                samples_s=f"{count / (time.perf_counter() - t0):.0f}")
        if bar is not None:
            bar.close()
        if a.mode == "jit":
            self._params_into_model()
        if self.world > 1:  # the epoch's loss and speed over all ranks
            import ember.distributed as dist
            sums = ember.tensor([total, float(count)], dtype=ember.float64)
            dist.all_reduce(sums)
            total, count = sums.tolist()
        return total / max(count, 1), count / (time.perf_counter() - t0)

    def _params_into_model(self):
        with ember.no_grad():
            for k, p in self.model.named_parameters():
                if k in self.params:
                    p.copy_(self.params[k])

    def evaluate(self, x, y):
        self.model.eval()
        loss_sum, correct, n = 0.0, 0, _len(x)
        with ember.no_grad(), self._autocast():
            for idx in _batches(n, 1000, 0, 0, shuffle=False):
                out = self.model(_take(x, idx))
                t = y[idx]
                loss_sum += self.r.loss(out, t).item() * len(idx)
                if self.metric == "accuracy":
                    correct += int((out.float().numpy().argmax(-1) == t.numpy()).sum())
        self.model.train()
        return loss_sum / max(n, 1), (correct / max(n, 1) if self.metric == "accuracy" else None)

    # ---- the run -----------------------------------------------------------------------------
    def run(self, log=print):
        self.setup()
        a = self.a
        if not self.main:
            log = _quiet
        elif self.world > 1:
            log(f"data parallel: {self.world} ranks (MPI); global batch {a.batch_size} = "
                f"{self.world} x {a.batch_size // self.world} per rank; rank 0 writes {self.out}")
        os.makedirs(self.out, exist_ok=True)
        if a.limit:
            self._limit_note(log)
        if a.tensorboard and self.main:
            from ember.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(a.tensorboard)
            log(f"TensorBoard logs in {a.tensorboard} (tensorboard --logdir {a.tensorboard})")
        try:
            return self._run_epochs(log)
        finally:
            if self.tb is not None:
                self.tb.close()
                self.tb = None

    def _limit_note(self, log):
        """--limit is a smoke test: say what it leaves, and that few steps don't train."""
        a = self.a
        n, m = _len(self.xtr), _len(self.xte)
        steps = -(-n // max(a.batch_size or 1, 1)) * max(a.epochs - self.start_epoch + 1, 0)
        log(f"--limit {a.limit}: a smoke test on the first {n} training and {m} test examples, "
            f"{steps} optimizer steps in all" +
            ("; too few to train the model, so expect about chance accuracy (drop --limit "
             "or add --epochs for a real result)" if steps < 200 else ""))

    def _run_epochs(self, log):
        a = self.a
        if a.resume and self.start_epoch > 1:
            log(f"resuming {self.r.NAME} from epoch {self.start_epoch - 1} ({self.out})")
        for epoch in range(self.start_epoch, a.epochs + 1):
            train_loss, speed = self.train_epoch(epoch)
            if not self.main:  # the other ranks only train
                continue
            test_loss, test_acc = self.evaluate(self.xte, self.yte)
            rec = dict(epoch=epoch, train_loss=train_loss, test_loss=test_loss,
                       samples_per_s=speed)
            if test_acc is not None:
                rec["test_acc"] = test_acc
            self.history.append(rec)
            if self.tb is not None:
                for key, tag in (("train_loss", "train/loss"), ("test_loss", "test/loss"),
                                 ("test_acc", "test/accuracy"),
                                 ("samples_per_s", "train/samples_per_s")):
                    if key in rec:
                        self.tb.add_scalar(tag, rec[key], epoch)
                self.tb.flush()
            log(f"epoch {epoch:3d}  train loss {train_loss:.4f}  test loss {test_loss:.4f}"
                + (f"  test acc {test_acc:.4f}" if test_acc is not None else "")
                + f"  ({speed:.0f} samples/s)")
            self._write_logs()
            self._save(os.path.join(self.out, "last.safetensors"), epoch)
            if self._is_best(rec):
                self._save(os.path.join(self.out, "best.safetensors"), epoch)
        plot = self._plot(log) if self.main else None
        final = self.history[-1] if self.history else {}
        if "test_acc" in final:
            log(f"test accuracy: {final['test_acc']:.4f}")
        elif final:
            log(f"test loss: {final['test_loss']:.6f}")
        if final:
            self._say_where(log, plot)
        return self.model, self.history

    def _say_where(self, log, plot):
        """The run's last lines: where its checkpoints, logs and plot went."""
        j = lambda name: os.path.join(self.out, name)  # noqa: E731
        log(f"checkpoints: {j('last.safetensors')} (last epoch), {j('best.safetensors')} "
            f"(best test {'accuracy' if 'test_acc' in self.history[-1] else 'loss'})")
        log(f"logs: {j('metrics.csv')}, {j('metrics.json')}"
            + (f"; TensorBoard: {self.a.tensorboard}" if self.a.tensorboard else ""))
        log(f"plot: {plot}" if plot else "plot: none (pip install matplotlib for curves.png)")

    def _is_best(self, rec):
        key = "test_acc" if "test_acc" in rec else "test_loss"
        vals = [h[key] for h in self.history]
        return rec[key] == (max(vals) if key == "test_acc" else min(vals))

    # ---- outputs -----------------------------------------------------------------------------
    def _bar(self, epoch, n):
        if not self.a.progress or not self.main:
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(total=n, desc=f"{self.r.NAME} epoch {epoch}/{self.a.epochs}", unit="ex",
                    leave=False)

    def _write_logs(self):
        with open(os.path.join(self.out, "metrics.json"), "w") as f:
            json.dump({"recipe": self.r.NAME, "mode": self.a.mode, "seed": self.a.seed,
                       "amp": self.a.amp, "history": self.history}, f, indent=1)
        keys = list(self.history[0])
        with open(os.path.join(self.out, "metrics.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.history)

    def _plot(self, log):
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            log("(matplotlib not installed: no plot; pip install 'ember[plot]')")
            return None
        ep = [h["epoch"] for h in self.history]
        if not ep:
            return None
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        axes[0].plot(ep, [h["train_loss"] for h in self.history], label="train")
        axes[0].plot(ep, [h["test_loss"] for h in self.history], label="test")
        axes[0].set_xlabel("epoch")
        axes[0].set_ylabel("loss")
        axes[0].legend()
        if "test_acc" in self.history[0]:
            axes[1].plot(ep, [h["test_acc"] for h in self.history])
            axes[1].set_ylabel("test accuracy")
        axes[1].set_xlabel("epoch")
        fig.suptitle(f"{self.r.NAME} ({self.a.mode}" +
                     (f", amp {self.a.amp})" if self.a.amp else ")"))
        fig.tight_layout()
        path = os.path.join(self.out, "curves.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    def _save(self, path, epoch):
        ck = {"model": self.model.state_dict(), "epoch": epoch, "history": self.history,
              "mode": self.a.mode, "seed": self.a.seed, "recipe": self.r.NAME}
        if self.a.mode == "eager":
            ck["optim"] = self.opt.state_dict()
        else:
            leaves, _ = ember.tree_flatten(self.opt_state)
            ck["optim_leaves"] = list(leaves)
        if self.scaler is not None:
            ck["scaler"] = self.scaler.state_dict()
        if self.loss_scale is not None:
            ck["loss_scale"] = [self.loss_scale.loss_scale, self.loss_scale.counter]
        ember.save(ck, path)

    def _load(self, path):
        if not os.path.exists(path):
            raise FileNotFoundError(f"train --resume: no checkpoint at {path}; run without "
                                    f"--resume first (or pass the same --out)")
        ck = ember.load(path)
        if ck.get("recipe") != self.r.NAME or ck.get("mode") != self.a.mode:
            raise ValueError(f"train --resume: {path} is from recipe {ck.get('recipe')!r} in "
                             f"mode {ck.get('mode')!r}, not {self.r.NAME!r}/{self.a.mode!r}")
        self.model.load_state_dict(ck["model"])
        if self.a.mode == "eager":
            self.opt.load_state_dict(ck["optim"])
        else:
            self.params = self._own_params()
            _, td = ember.tree_flatten(self.opt_state)
            self.opt_state = ember.tree_unflatten(td, ck["optim_leaves"])
        if self.scaler is not None and "scaler" in ck:
            self.scaler.load_state_dict(ck["scaler"])
        if self.loss_scale is not None and "loss_scale" in ck:
            s, c = ck["loss_scale"]
            self.loss_scale = ember.amp.DynamicLossScale(s, c)
        self.history = list(ck["history"])
        self.start_epoch = int(ck["epoch"]) + 1


def _quiet(*args, **kwargs):
    pass


def train(recipe, **kw):
    """Run ``recipe`` (a recipe module) with options as keyword arguments."""
    log = kw.pop("log", print)
    if hasattr(recipe, "experiment"):  # a comparison of several runs (distill, transfer)
        args = Args(**kw)
        for k, v in recipe.DEFAULTS.items():
            if getattr(args, k, None) is None:
                setattr(args, k, v)
        if args.mode not in MODES:
            raise ValueError(f"train: --mode must be one of {MODES}, got {args.mode!r}")
        if args.resume:
            raise ValueError(f"train --resume: recipe {recipe.NAME!r} compares several runs "
                             f"and cannot be resumed; run it again without --resume")
        return recipe.experiment(args, log)
    return Run(recipe, Args(**kw)).run(log=log)


def cross_entropy(logits, y):
    return nn.functional.cross_entropy(logits, y)
