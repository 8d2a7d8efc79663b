"""``ember.amp.GradScaler``: dynamic loss scaling for eager training, with the names, defaults
and update rule of ``torch.amp.GradScaler``.

A float16 gradient underflows to zero below 2**-24; multiplying the loss by a large scale
before ``backward()`` keeps the small gradients representable. ``unscale_`` divides the
gradients by the scale again (and notes any inf/NaN), ``step`` skips the optimizer step when
a gradient was not finite, and ``update`` halves the scale after such a step or doubles it
after ``growth_interval`` finite steps in a row.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..core.autograd import no_grad
from ..core.tensor import Tensor
from .autocast_mode import _check_device

__all__ = ["GradScaler"]

_READY, _UNSCALED, _STEPPED = 0, 1, 2


class GradScaler:
    """Dynamic loss scaling, as ``torch.amp.GradScaler("cpu")``.

    ``step()`` returns whether the optimizer stepped (False when the gradients held an inf
    or NaN and the step was skipped).

    >>> model = ember.nn.Linear(3, 1)
    >>> opt = ember.optim.SGD(model.parameters(), lr=0.1)
    >>> scaler = ember.amp.GradScaler("cpu", init_scale=1024.0)
    >>> with ember.autocast("cpu", dtype=ember.float16):
    ...     loss = ember.nn.functional.mse_loss(model(ember.ones(4, 3)), ember.zeros(4, 1))
    >>> scaler.scale(loss).backward()
    >>> scaler.step(opt)
    True
    >>> scaler.update()
    >>> scaler.get_scale()
    1024.0
    """

    def __init__(self, device="cpu", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        if not _check_device(device, "GradScaler"):
            if enabled:
                warnings.warn(f"GradScaler: device {device!r} is not available in this build; "
                              f"the scaler is disabled (scale() returns the loss unchanged, "
                              f"step() steps), as PyTorch does. Use GradScaler('cpu') for CPU "
                              f"loss scaling", UserWarning, stacklevel=2)
            enabled = False
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1.0, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got "
                             f"{backoff_factor}")
        if not isinstance(growth_interval, int) or growth_interval <= 0:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got "
                             f"{growth_interval!r}")
        self._device = device
        self._enabled = bool(enabled)
        self._init_scale = float(init_scale)
        self._scale = None  # float32, made on first use (as PyTorch's lazy scale tensor)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._per_optimizer = {}  # id(optimizer) -> {"stage", "found_inf"}

    # ---- scaling ------------------------------------------------------------------------
    def _lazy_scale(self):
        if self._scale is None:
            self._scale = np.float32(self._init_scale)
        return self._scale

    def scale(self, outputs):
        """``outputs`` (a tensor or nested lists/tuples of tensors) times the scale."""
        if not self._enabled:
            return outputs
        s = self._lazy_scale()

        def one(t):
            if isinstance(t, Tensor):
                if not t.dtype.is_floating_point:
                    raise TypeError(
                        f"GradScaler.scale: expected a floating-point loss, got a {t.dtype} "
                        f"tensor of shape {tuple(t.shape)}; scale the float loss you call "
                        f"backward() on (e.g. loss.float())")
                return t * Tensor._wrap(np.asarray(s, np.float32))
            if isinstance(t, (list, tuple)):
                return type(t)(one(x) for x in t)
            raise TypeError(f"GradScaler.scale: outputs must be a tensor or a list/tuple of "
                            f"tensors, got {type(t).__name__}")
        return one(outputs)

    def _state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer),
                                              {"stage": _READY, "found_inf": False})

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale, in place (call it before clipping
        gradients); notes whether any of them is inf or NaN. Once per step."""
        if not self._enabled:
            return
        st = self._state(optimizer)
        if st["stage"] == _UNSCALED:
            raise RuntimeError("GradScaler.unscale_: already called on this optimizer since "
                               "the last update(); call it once per step, before step() "
                               "(step() unscales by itself when you have not)")
        if st["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.unscale_: called after step(); call unscale_() "
                               "before step(), then update()")
        s = self._lazy_scale()
        inv = np.float32(np.float64(1.0) / np.float64(s))
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if g.dtype.name == "float16":
                        raise ValueError(
                            "GradScaler.unscale_: attempting to unscale float16 gradients. "
                            "Keep the parameters in float32 and run the forward pass under "
                            "ember.autocast('cpu', dtype=ember.float16) instead")
                    a = g._data
                    if not np.isfinite(a).all():
                        found = True
                    if a.dtype == np.float32 or a.dtype == np.float64:
                        np.multiply(a, inv, out=a)
                    else:  # bfloat16: ml_dtypes has no in-place mixed multiply
                        a[...] = (a.astype(np.float32) * inv).astype(a.dtype)
                    g._version[0] += 1
        st["found_inf"] = found
        st["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale the gradients (unless ``unscale_`` did) and step the optimizer when they
        are all finite. Returns whether it stepped."""
        if not self._enabled:
            optimizer.step(*args, **kwargs)
            return True
        if "closure" in kwargs:
            raise RuntimeError("GradScaler.step: a closure is not supported while the scaler "
                               "is enabled; compute the loss, scale(loss).backward(), then "
                               "step(optimizer)")
        st = self._state(optimizer)
        if st["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.step: already called since the last update(); "
                               "call update() once per iteration, after step()")
        if st["stage"] == _READY:
            self.unscale_(optimizer)
        stepped = not st["found_inf"]
        if stepped:
            optimizer.step(*args, **kwargs)
        st["stage"] = _STEPPED
        return stepped

    def update(self, new_scale=None):
        """Adjust the scale for the next iteration: ``new_scale`` if given, else back off after
        a skipped step or grow after ``growth_interval`` good steps in a row."""
        if not self._enabled:
            return
        if new_scale is not None:
            v = new_scale.item() if isinstance(new_scale, Tensor) else new_scale
            if not isinstance(v, (int, float, np.floating)):
                raise TypeError(f"GradScaler.update: new_scale must be a float or a 1-element "
                                f"tensor, got {type(new_scale).__name__}")
            self._scale = np.float32(v)
        else:
            if not self._per_optimizer:
                raise RuntimeError("GradScaler.update: no inf checks were recorded before "
                                   "update(); call step(optimizer) (or unscale_) first")
            found = any(st["found_inf"] for st in self._per_optimizer.values())
            s = self._lazy_scale()
            if found:
                self._scale = np.float32(s * np.float32(self._backoff_factor))
                self._growth_tracker = 0
            else:
                t = self._growth_tracker + 1
                if t == self._growth_interval:
                    grown = np.float32(s * np.float32(self._growth_factor))
                    if np.isfinite(grown):
                        self._scale = grown
                    t = 0
                self._growth_tracker = t
        self._per_optimizer = {}

    # ---- accessors (PyTorch's names) ------------------------------------------------------
    def get_scale(self):
        """The current scale as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return float(self._init_scale if self._scale is None else self._scale)

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = int(new_interval)

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker`` (PyTorch's keys); empty when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("GradScaler.load_state_dict: the state_dict is empty (it came "
                               "from a disabled GradScaler)")
        missing = {"scale", "growth_factor", "backoff_factor", "growth_interval",
                   "_growth_tracker"} - set(state_dict)
        if missing:
            raise KeyError(f"GradScaler.load_state_dict: missing keys {sorted(missing)}")
        self._init_scale = float(state_dict["scale"])
        self._scale = np.float32(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])

    def __repr__(self):
        return (f"GradScaler(scale={self.get_scale()}, growth_factor={self._growth_factor}, "
                f"backoff_factor={self._backoff_factor}, growth_interval="
                f"{self._growth_interval}, enabled={self._enabled})")
