"""``torch.optim.swa_utils``: weight averaging of a model during training — stochastic weight
averaging (SWA, an equal-weight running mean) and exponential moving averages (EMA) — with
``AveragedModel``, the ``SWALR`` schedule and ``update_bn`` (recompute BatchNorm statistics
for the averaged weights).

>>> model = ember.nn.Linear(2, 1)
>>> ema = ember.optim.swa_utils.AveragedModel(
...     model, multi_avg_fn=ember.optim.swa_utils.get_ema_multi_avg_fn(0.9))
>>> ema.update_parameters(model)
>>> int(ema.n_averaged)
1
"""
from __future__ import annotations

import copy
import itertools
import math

from ..core.autograd import no_grad
from ..core.creation import tensor
from ..core import dtypes as _dt
from ..nn.module import Module
from ..nn.norm import _BatchNorm
from .lr_scheduler import LRScheduler

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def get_ema_avg_fn(decay=0.999):
    """``avg_fn`` of an exponential moving average: ``decay * ema + (1 - decay) * p``."""
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """``avg_fn`` of the equal-weight running mean: ``avg + (p - avg) / (n + 1)``."""
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def get_ema_multi_avg_fn(decay=0.999):
    """``multi_avg_fn`` of an exponential moving average (updates the lists in place)."""
    def ema_update(ema_params, current_params, num_averaged):
        for e, p in zip(ema_params, current_params):
            if e.dtype.is_floating_point:
                e.lerp_(p, 1 - decay)
            else:  # an integer buffer: the formula in floats, truncated back (as PyTorch)
                e.copy_(e * decay + p * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """``multi_avg_fn`` of the equal-weight running mean (updates the lists in place)."""
    def swa_update(averaged_params, current_params, num_averaged):
        w = 1 / (float(num_averaged) + 1)
        for a, p in zip(averaged_params, current_params):
            if a.dtype.is_floating_point:
                a.lerp_(p, w)
            else:  # an integer buffer: the formula in floats, truncated back (as PyTorch)
                a.copy_(a + (p - a) / (float(num_averaged) + 1))
    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and, with ``use_buffers``, buffers) are the
    average of the models given to ``update_parameters`` — by default their equal-weight
    running mean (SWA); ``avg_fn(averaged, current, n_averaged) -> new`` or
    ``multi_avg_fn(averaged_list, current_list, n_averaged)`` (in place) for others, e.g.
    ``get_ema_multi_avg_fn(decay)``. Without ``use_buffers`` the buffers (BatchNorm's running
    statistics) are copied from the model at each update; call ``update_bn`` after training to
    recompute them for the averaged weights. Calling it runs the averaged copy."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: pass avg_fn or multi_avg_fn, not both")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=_dt.int64))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, module):
        if self.use_buffers:
            return list(itertools.chain(module.parameters(), module.buffers()))
        return list(module.parameters())

    def update_parameters(self, model):
        mine, theirs = self._tensors(self.module), self._tensors(model)
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} "
                             f"parameters{' and buffers' if self.use_buffers else ''}, the "
                             f"averaged copy {len(mine)}; pass the model it was made from")
        with no_grad():
            if int(self.n_averaged) == 0:
                for a, p in zip(mine, theirs):
                    a.copy_(p.detach())
            elif self.avg_fn is not None:
                for a, p in zip(mine, theirs):
                    a.copy_(self.avg_fn(a.detach(), p.detach(), self.n_averaged))
            else:  # one call per dtype, as PyTorch groups them
                fn = self.multi_avg_fn or get_swa_multi_avg_fn()
                groups = {}
                for a, p in zip(mine, theirs):
                    g = groups.setdefault(a.dtype, ([], []))
                    g[0].append(a)
                    g[1].append(p.detach())
                for avg, cur in groups.values():
                    fn(avg, cur, self.n_averaged)
            if not self.use_buffers:  # keep the buffers in step with the model
                for a, p in zip(self.module.buffers(), model.buffers()):
                    a.copy_(p.detach())
            self.n_averaged.add_(1)


def update_bn(loader, model, device=None):
    """One pass over ``loader`` in training mode to recompute every BatchNorm's running
    statistics as the plain average over the batches (for an averaged model's weights).
    A batch that is a list or tuple feeds its first element to the model."""
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    if not norms:
        return
    saved = {}
    with no_grad():
        for m in norms:
            m.running_mean.zero_()
            m.running_var.fill_(1)
            m.num_batches_tracked.zero_()
            saved[m] = m.momentum
            m.momentum = None
    was_training = model.training
    model.train()
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for m, momentum in saved.items():
            m.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's learning rate to ``swa_lr`` over ``anneal_epochs`` steps
    (``anneal_strategy`` "cos" or "linear"), then holds it (``torch.optim.swa_utils.SWALR``).
    Each step moves from the group's current learning rate, so it follows another schedule
    that ran before it."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        lrs = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else \
            [swa_lr] * len(optimizer.param_groups)
        if len(lrs) != len(optimizer.param_groups):
            raise ValueError(f"SWALR: {len(lrs)} swa_lr values for "
                             f"{len(optimizer.param_groups)} param groups")
        for g, lr in zip(optimizer.param_groups, lrs):
            g["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be a non-negative int, got "
                             f"{anneal_epochs!r}")
        self.anneal_epochs, self.anneal_strategy = anneal_epochs, anneal_strategy
        super().__init__(optimizer, last_epoch)

    def _alpha(self, t):
        t = max(0.0, min(1.0, t))
        return (1 - math.cos(math.pi * t)) / 2 if self.anneal_strategy == "cos" else t

    def lr_at(self, step):
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev, now = self._alpha((step - 1) / span), self._alpha(step / span)
        out = []
        for g in self.optimizer.param_groups:
            swa = g["swa_lr"]
            # the lr this schedule started from, recovered from the current one
            start = swa if prev == 1 else (g["lr"] - prev * swa) / (1 - prev)
            out.append(swa * now + start * (1 - now))
        return out
