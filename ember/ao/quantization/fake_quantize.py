"""``FakeQuantize``: an observer plus fake quantization, for quantization-aware training
(``torch.ao.quantization.FakeQuantize``): during training it records its input's range,
derives the scale/zero point and rounds the values onto that grid, with the
straight-through gradient (1 inside the range, 0 outside)."""
from __future__ import annotations

import numpy as np

from ...core import dtypes as _dt
from ...core.errors import ConcretizationError
from ...core.primitive import transforms_active
from ...core.tensor import Tensor
from ...nn.module import Module
from .functional import fake_quantize_per_channel_affine, fake_quantize_per_tensor_affine
from .observer import (MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver,
                       _Factory, per_channel_symmetric, per_tensor_affine,
                       per_tensor_symmetric)

__all__ = ["FakeQuantize", "default_fake_quant", "default_weight_fake_quant",
           "default_per_channel_weight_fake_quant", "disable_observer", "enable_observer",
           "disable_fake_quant", "enable_fake_quant"]


_UNDER_JIT = ("FakeQuantize under a transform (jit, grad, vmap): its observer records "
              "statistics with NumPy, eagerly. Train (or calibrate) with observers eagerly, "
              "then freeze them (model.apply(ember.ao.quantization.disable_observer)) before "
              "jit; fake quantization with frozen qparams traces")


def _flag(module, name):
    """A switch's value: its buffer (state_dict), or under a trace that passes the module's
    buffers as traced inputs, the Python copy kept beside it."""
    try:
        return bool(int(getattr(module, name).numpy()[0]))
    except ConcretizationError:
        return module.__dict__.get("_" + name, True)


def _along(t, axis, ndim):
    if axis is None:
        return t.reshape(())
    shape = [1] * ndim
    shape[axis] = -1
    return t.reshape(shape)


class FakeQuantize(Module):
    """Observe, then quantize-dequantize in float with a straight-through gradient.
    ``observer`` is the observer class (default: moving-average min/max); the other
    arguments go to it (``quant_min``/``quant_max`` set the integer range: -8, 7 for 4-bit
    weights). ``disable_observer()`` freezes the qparams, ``disable_fake_quant()`` passes
    values through.

    >>> fq = ember.ao.quantization.FakeQuantize(quant_min=0, quant_max=255)
    >>> x = ember.tensor([-1.0, 0.0, 0.3, 1.0], requires_grad=True)
    >>> y = fq(x); y
    tensor([-0.9961, 0.0000, 0.2980, 0.9961], grad_fn=<AddBackward>)
    >>> y.sum().backward(); x.grad
    tensor([1., 1., 1., 1.])
    """

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=None, quant_max=None,
                 is_dynamic=False, **observer_kwargs):
        super().__init__()
        if quant_min is not None or quant_max is not None:
            observer_kwargs.update(quant_min=quant_min, quant_max=quant_max)
        self.activation_post_process = observer(**observer_kwargs)
        obs = self.activation_post_process
        self.quant_min, self.quant_max = obs.quant_min, obs.quant_max
        self.dtype, self.qscheme = obs.dtype, obs.qscheme
        self.ch_axis = getattr(obs, "ch_axis", -1)
        self.is_per_channel = self.qscheme.startswith("per_channel")
        self.register_buffer("fake_quant_enabled", Tensor._wrap(np.asarray([1], np.uint8)))
        self.register_buffer("observer_enabled", Tensor._wrap(np.asarray([1], np.uint8)))
        self.register_buffer("scale", Tensor._wrap(np.asarray([1.0], np.float32)))
        self.register_buffer("zero_point", Tensor._wrap(np.asarray([0], np.int64)))

    with_args = classmethod(lambda cls, **kw: _Factory(cls, kw))

    def observed(self):
        return self.activation_post_process.observed()

    def calculate_qparams(self):
        return self.activation_post_process.calculate_qparams()

    def enable_observer(self, enabled=True):
        self.observer_enabled = Tensor._wrap(np.asarray([int(enabled)], np.uint8))
        self.__dict__["_observer_enabled"] = bool(enabled)
        return self

    def disable_observer(self):
        return self.enable_observer(False)

    def enable_fake_quant(self, enabled=True):
        self.fake_quant_enabled = Tensor._wrap(np.asarray([int(enabled)], np.uint8))
        self.__dict__["_fake_quant_enabled"] = bool(enabled)
        return self

    def disable_fake_quant(self):
        return self.enable_fake_quant(False)

    def forward(self, x):
        if _flag(self, "observer_enabled"):
            if transforms_active():
                raise TypeError(_UNDER_JIT)
            self.activation_post_process(x.detach())
            scale, zp = self.calculate_qparams()
            self.scale, self.zero_point = scale, zp
        if not _flag(self, "fake_quant_enabled"):
            return x
        if not transforms_active():
            if self.is_per_channel:
                return fake_quantize_per_channel_affine(x, self.scale, self.zero_point,
                                                        self.ch_axis, self.quant_min,
                                                        self.quant_max)
            return fake_quantize_per_tensor_affine(x, self.scale.reshape(()),
                                                   self.zero_point.reshape(()),
                                                   self.quant_min, self.quant_max)
        return self._traced_fake_quantize(x)

    def _traced_fake_quantize(self, x):
        """The same arithmetic as the functional fake quantization with the qparams as
        (traced) tensors: a jitted model reads the frozen qparams at each call."""
        axis = self.ch_axis if self.is_per_channel else None
        s = _along(self.scale.to(_dt.float32), axis, x.ndim)
        z = _along(self.zero_point.to(_dt.float32), axis, x.ndim)
        inv = 1.0 / s
        r = (x.detach() * inv).round() + z
        inside = (r >= self.quant_min) & (r <= self.quant_max)
        q = ((r.clamp(self.quant_min, self.quant_max) - z) * s).to(x.dtype)
        return q + (x - x.detach()) * inside.to(x.dtype)

    def extra_repr(self):
        return (f"fake_quant_enabled={int(self.fake_quant_enabled.numpy()[0])}, "
                f"observer_enabled={int(self.observer_enabled.numpy()[0])}, "
                f"quant_min={self.quant_min}, quant_max={self.quant_max}, dtype={self.dtype}, "
                f"qscheme={self.qscheme}, scale={self.scale.numpy()}, "
                f"zero_point={self.zero_point.numpy()}")


default_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype="quint8",
    qscheme=per_tensor_affine, reduce_range=True)
default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype="qint8",
    qscheme=per_tensor_symmetric, reduce_range=False)
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype="qint8", qscheme=per_channel_symmetric, reduce_range=False, ch_axis=0)


def _each_fake_quant(fn):
    def apply(module):
        if isinstance(module, FakeQuantize):
            fn(module)
    apply.__name__ = fn.__name__
    return apply


disable_observer = _each_fake_quant(FakeQuantize.disable_observer)
enable_observer = _each_fake_quant(FakeQuantize.enable_observer)
disable_fake_quant = _each_fake_quant(FakeQuantize.disable_fake_quant)
enable_fake_quant = _each_fake_quant(FakeQuantize.enable_fake_quant)
