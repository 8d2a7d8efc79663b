"""Quantized inference modules (``ember.ao.nn.quantized``): what ``convert`` puts in place of
``nn.Linear``/``nn.Conv2d`` (and QuantStub/DeQuantStub).

Their state is plain buffers, so ``state_dict``, ``ember.save``/``ember.load`` and
``load_state_dict`` work as for any module: ``weight`` (int8), ``weight_scale`` /
``weight_zero_point`` (one per output channel, or one), ``bias`` (float32), ``scale`` /
``zero_point`` (the output's qparams, PyTorch's names) and ``input_scale`` /
``input_zero_point`` (the input's: an ember integer tensor does not carry its qparams, so
the layer keeps the ones its input was calibrated with).

A layer called with a float tensor quantizes it with its input qparams, runs the int8
kernel (``qlinear``/``qconv2d``: exact integer products, requantized to ``scale`` /
``zero_point``) and returns the dequantized float values: the numbers of PyTorch's quantized
layer, but a model's functional code between layers (``F.relu``, ``flatten``, pooling,
residual adds) keeps working on floats. Called with the uint8 integers of a quantized
activation (in its input qparams), it returns the output's integers.
"""
from __future__ import annotations

import numpy as np

from ....core import dtypes as _dt
from ....core.tensor import Tensor
from ....nn.module import Module
from ...quantization.quantized_ops import (dequantize_tensor, qconv2d, qconv2d_float,
                                           qlinear, qlinear_float, quantize_tensor)
from ...quantization.weight_cache import float_weight

__all__ = ["Linear", "Conv2d", "Quantize", "DeQuantize"]


def _buf(a, dtype):
    return Tensor._wrap(np.asarray(a, dtype))


def _qparams_of(observer, where):
    scale, zp = observer.calculate_qparams()
    return scale.numpy().reshape(-1), zp.numpy().reshape(-1)


class _QuantizedLayer(Module):
    _relu = False
    cache_float_weight = True  # keep a float32 copy of the int8 weight (see weight_cache)

    def _init_qparams(self, out_channels):
        self.register_buffer("weight_scale", _buf(np.ones(out_channels), np.float32))
        self.register_buffer("weight_zero_point", _buf(np.zeros(out_channels), np.int64))
        self.register_buffer("scale", _buf(1.0, np.float32))
        self.register_buffer("zero_point", _buf(0, np.int64))
        self.register_buffer("input_scale", _buf(1.0, np.float32))
        self.register_buffer("input_zero_point", _buf(0, np.int64))

    def _set_from(self, weight, bias, weight_observer, input_qparams, output_qparams):
        """Quantize a float ``weight`` with ``weight_observer`` (run on it here) and take the
        activations' qparams ``(scale, zero_point)``."""
        w = weight.detach().to(_dt.float32)
        weight_observer(w)
        ws, wz = _qparams_of(weight_observer, "weight")
        per_channel = weight_observer.qscheme.startswith("per_channel")
        if per_channel and getattr(weight_observer, "ch_axis", 0) != 0:
            raise ValueError(f"{type(self).__name__}: per-channel weight observers must use "
                             f"ch_axis=0 (the output channels), got "
                             f"{weight_observer.ch_axis}")
        qmin, qmax = weight_observer.quant_min, weight_observer.quant_max
        if weight_observer.dtype != "qint8":
            raise ValueError(f"{type(self).__name__}: weights must be quantized to qint8 "
                             f"(the weight observer has dtype={weight_observer.dtype!r}); use "
                             f"e.g. PerChannelMinMaxObserver.with_args(dtype='qint8', "
                             f"qscheme='per_channel_symmetric')")
        sc = Tensor._wrap(ws.astype(np.float32) if per_channel else ws[:1].reshape(()))
        zp = Tensor._wrap(wz.astype(np.int64) if per_channel else wz[:1].reshape(()))
        self.weight = quantize_tensor(w, sc, zp, qmin, qmax, "qint8",
                                      axis=0 if per_channel else None)
        self.weight_scale, self.weight_zero_point = sc, zp
        self.bias = None if bias is None else bias.detach().to(_dt.float32).clone()
        (si, zi), (so, zo) = input_qparams, output_qparams
        self.input_scale = _buf(np.asarray(si).reshape(-1)[0], np.float32)
        self.input_zero_point = _buf(np.asarray(zi).reshape(-1)[0], np.int64)
        self.scale = _buf(np.asarray(so).reshape(-1)[0], np.float32)
        self.zero_point = _buf(np.asarray(zo).reshape(-1)[0], np.int64)
        return self

    def _operands(self):
        return (self.weight, self.bias, self.input_scale, self.input_zero_point,
                self.weight_scale, self.weight_zero_point, self.scale, self.zero_point)

    def dequantized_weight(self):
        """The float weight the int8 weight stands for."""
        axis = 0 if self.weight_scale.ndim else None
        return dequantize_tensor(self.weight, self.weight_scale, self.weight_zero_point,
                                 axis=axis)

    def _qrepr(self):
        per = "per_channel" if self.weight_scale.ndim else "per_tensor"
        return (f"scale={float(self.scale.item()):.6g}, zero_point={int(self.zero_point.item())}"
                f", qscheme={per}")


class Linear(_QuantizedLayer):
    """An int8 Linear (``torch.ao.nn.quantized.Linear``): int8 weight with per-channel or
    per-tensor scales, float bias, uint8 activations; ``from_float`` / ``convert`` build it
    from a calibrated ``nn.Linear``.

    >>> fc = ember.nn.Linear(4, 2)
    >>> q = ember.ao.nn.quantized.Linear.from_float(fc, input_qparams=(0.02, 128),
    ...                                              output_qparams=(0.02, 128))
    >>> q.weight.dtype, sorted(q.state_dict())[:3]
    (ember.int8, ['bias', 'input_scale', 'input_zero_point'])
    >>> x = ember.randn(3, 4) * 0.3
    >>> bool(((q(x) - fc(x)).abs() < 0.05).all())
    True
    """

    def __init__(self, in_features, out_features, bias_=True, dtype="qint8"):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.register_buffer("weight", _buf(np.zeros((out_features, in_features)), np.int8))
        self.register_buffer("bias", _buf(np.zeros(out_features), np.float32) if bias_
                             else None)
        self._init_qparams(out_features)

    def forward(self, x):
        ops = self._operands()
        if x.dtype.is_floating_point:  # float in, float out: one op, no per-call weight cast
            return qlinear_float(x, *ops, relu=self._relu,
                                 weight_codes=float_weight(self, "weight", ops[0]))
        return qlinear(x, *ops, relu=self._relu)

    @classmethod
    def from_float(cls, mod, weight_observer=None, input_qparams=None, output_qparams=None):
        """A quantized copy of the float ``mod`` (an ``nn.Linear``, or a fused LinearReLU):
        its weight quantized with ``weight_observer`` (default: per-channel symmetric int8),
        with its input's and output's ``(scale, zero_point)`` (default: those its observers
        recorded during calibration, see ``prepare``)."""
        from ...quantization.observer import default_per_channel_weight_observer
        lin = mod[0] if hasattr(mod, "_fused") else mod
        q = cls(lin.in_features, lin.out_features, lin.bias is not None)
        return q._set_from(lin.weight, lin.bias,
                           weight_observer or default_per_channel_weight_observer(),
                           input_qparams or _observed(mod, "activation_pre_process"),
                           output_qparams or _observed(mod, "activation_post_process"))

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"{self._qrepr()}")


def _observed(mod, attr):
    obs = getattr(mod, attr, None)
    if obs is None:
        raise ValueError(f"from_float: {type(mod).__name__} has no {attr} observer; run "
                         f"ember.ao.quantization.prepare and calibrate first, or pass the "
                         f"qparams (input_qparams=/output_qparams=(scale, zero_point))")
    s, z = obs.calculate_qparams()
    return s.numpy(), z.numpy()


def _numeric_padding(conv):
    p = conv.padding
    if p == "valid":
        return (0, 0)
    if p == "same":
        eff = [d * (k - 1) for d, k in zip(conv.dilation, conv.kernel_size)]
        if any(e % 2 for e in eff):
            raise ValueError(f"quantized Conv2d: padding='same' with kernel "
                             f"{conv.kernel_size} and dilation {conv.dilation} pads unevenly;"
                             f" give the padding as numbers")
        return tuple(e // 2 for e in eff)
    return tuple(p)


class Conv2d(_QuantizedLayer):
    """An int8 Conv2d (``torch.ao.nn.quantized.Conv2d``, zero padding only): int8 weight
    (C_out, C_in/groups, kH, kW) with per-channel or per-tensor scales, float bias, uint8
    activations.

    >>> conv = ember.nn.Conv2d(1, 2, 3, padding=1)
    >>> q = ember.ao.nn.quantized.Conv2d.from_float(conv, input_qparams=(0.01, 0),
    ...                                              output_qparams=(0.02, 128))
    >>> q(ember.rand(1, 1, 5, 5)).shape
    ember.Size([1, 2, 5, 5])
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros"):
        super().__init__()
        if padding_mode != "zeros":
            raise ValueError(f"quantized Conv2d: padding_mode must be 'zeros', got "
                             f"{padding_mode!r}")

        def pair(v):
            return (int(v), int(v)) if isinstance(v, int) else tuple(int(i) for i in v)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride = pair(kernel_size), pair(stride)
        self.padding, self.dilation, self.groups = pair(padding), pair(dilation), int(groups)
        self.register_buffer("weight", _buf(np.zeros(
            (out_channels, in_channels // groups) + self.kernel_size), np.int8))
        self.register_buffer("bias", _buf(np.zeros(out_channels), np.float32) if bias
                             else None)
        self._init_qparams(out_channels)

    def forward(self, x):
        ops = self._operands()
        conv = (self.stride, self.padding, self.dilation, self.groups)
        if x.dtype.is_floating_point:  # float in, float out: one op, no per-call weight cast
            return qconv2d_float(x, *ops, *conv, relu=self._relu,
                                 weight_codes=float_weight(self, "weight", ops[0]))
        return qconv2d(x, *ops, *conv, relu=self._relu)

    @classmethod
    def from_float(cls, mod, weight_observer=None, input_qparams=None, output_qparams=None):
        """A quantized copy of the float ``mod`` (``nn.Conv2d`` or a fused ConvReLU2d); see
        ``Linear.from_float``."""
        from ...quantization.observer import default_per_channel_weight_observer
        conv = mod[0] if hasattr(mod, "_fused") else mod
        if conv.padding_mode != "zeros":
            raise ValueError(f"quantized Conv2d: padding_mode must be 'zeros' (the quantized "
                             f"kernel pads with the zero point), got {conv.padding_mode!r}")
        # a QAT Conv+BN layer: its BatchNorm folded in (running statistics)
        weight, bias = conv.folded_weight_bias() if hasattr(conv, "folded_weight_bias") \
            else (conv.weight, conv.bias)
        q = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                _numeric_padding(conv), conv.dilation, conv.groups, bias is not None)
        return q._set_from(weight, bias,
                           weight_observer or default_per_channel_weight_observer(),
                           input_qparams or _observed(mod, "activation_pre_process"),
                           output_qparams or _observed(mod, "activation_post_process"))

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, {self._qrepr()}")


class Quantize(Module):
    """What a ``QuantStub`` becomes: rounds its float input onto the grid of its calibrated
    ``scale``/``zero_point`` (quint8) and returns those values as floats (the next quantized
    layer re-reads them exactly); ``int_repr(x)`` gives the integers.

    >>> q = ember.ao.nn.quantized.Quantize(0.5, 128)
    >>> q(ember.tensor([0.3, 1.0, 100.0]))
    tensor([ 0.5000,  1.0000, 63.5000])
    >>> q.int_repr(ember.tensor([0.3, 1.0]))
    tensor([129, 130], dtype=ember.uint8)
    """

    def __init__(self, scale, zero_point, dtype="quint8"):
        super().__init__()
        from ...quantization.observer import qdtype_name
        self.dtype = qdtype_name(dtype)
        self.register_buffer("scale", _buf(np.asarray(scale).reshape(-1)[0], np.float32))
        self.register_buffer("zero_point", _buf(np.asarray(zero_point).reshape(-1)[0],
                                                np.int64))

    def int_repr(self, x):
        lo, hi = (0, 255) if self.dtype == "quint8" else (-128, 127)
        return quantize_tensor(x, self.scale, self.zero_point, lo, hi, self.dtype)

    def forward(self, x):
        if not x.dtype.is_floating_point:
            return x
        return dequantize_tensor(self.int_repr(x), self.scale, self.zero_point)

    def extra_repr(self):
        return f"scale={float(self.scale.item()):.6g}, zero_point={int(self.zero_point.item())}"


class DeQuantize(Module):
    """What a ``DeQuantStub`` becomes: quantized layers already return floats, so it passes
    floats through (integers in, given ``scale``/``zero_point`` buffers, are dequantized).

    >>> ember.ao.nn.quantized.DeQuantize()(ember.tensor([1.5]))
    tensor([1.5000])
    """

    def __init__(self, scale=None, zero_point=None):
        super().__init__()
        self.register_buffer("scale", None if scale is None else _buf(scale, np.float32))
        self.register_buffer("zero_point", None if zero_point is None
                             else _buf(zero_point, np.int64))

    def forward(self, x):
        if x.dtype.is_floating_point:
            return x
        if self.scale is None:
            raise TypeError(f"DeQuantize: got integers ({x.dtype}) but no scale/zero_point "
                            f"to read them with; quantized layers return floats when given "
                            f"floats")
        return dequantize_tensor(x, self.scale, self.zero_point)
