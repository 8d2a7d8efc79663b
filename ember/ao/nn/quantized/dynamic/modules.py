"""Dynamically quantized ``Linear`` and ``LSTM``: int8 weights in plain buffers (so
``state_dict``, ``ember.save``/``ember.load`` and ``load_state_dict`` treat them like any
tensor), activations quantized from their own range at each call
(``ember.ao.quantization.linear_dynamic``), float outputs — PyTorch's
``torch.ao.nn.quantized.dynamic`` semantics on x86 (fbgemm: 7-bit activations,
``reduce_range=True``).

Weights are quantized as PyTorch's default dynamic qconfig does: qint8, one scale for the
tensor, symmetric (``scale = max|w| / 127.5``, zero point 0, codes in [-128, 127]).
``dtype=ember.float16`` keeps float16 weights instead and computes in float32 (PyTorch's
``linear_dynamic_fp16``).
"""
from __future__ import annotations

import numpy as np

from .....core import dtypes as _dt
from .....core.tensor import Tensor
from .....nn import Linear as _FloatLinear, LSTM as _FloatLSTM
from .....nn import functional as F
from .....nn.module import Module
from .....ops.creation_ops import zeros
from .....ops.indexing import cat, stack
from ....quantization.dynamic_ops import linear_dynamic
from ....quantization.functional import quantize_per_tensor
from ....quantization.weight_cache import float_weight

__all__ = ["Linear", "LSTM"]

_F32 = np.float32


def _weight_dtype(dtype, op):
    d = _dt.as_dtype(dtype) if not isinstance(dtype, str) else _dt.as_dtype(
        {"qint8": "int8"}.get(dtype.replace("torch.", ""), dtype.replace("torch.", "")))
    if d not in (_dt.int8, _dt.float16):
        raise ValueError(f"{op}: dtype must be ember.qint8 (int8 weights) or ember.float16, "
                         f"got {dtype!r}")
    return d


def quantize_weight(w):
    """``(int8 codes, float32 scale)`` of a float weight, per tensor and symmetric, as
    PyTorch's default dynamic weight observer: ``scale = max(|min(w, 0)|, max(w, 0)) /
    127.5`` (at least float32's eps), zero point 0, codes rounded half to even in [-128, 127].

    >>> from ember.ao.nn.quantized.dynamic.modules import quantize_weight
    >>> quantize_weight(ember.tensor([[0.5, -1.0], [2.0, 0.1]]))
    (tensor([[ 32, -64],
            [127,   6]], dtype=ember.int8), tensor(0.0157))
    """
    a = w.detach().float().numpy()
    amax = max(-min(float(a.min(initial=0.0)), 0.0), float(a.max(initial=0.0)), 0.0)
    scale = max(_F32(amax) / _F32(127.5), np.finfo(_F32).eps)
    q = quantize_per_tensor(w.detach().float(), float(scale), 0, "qint8")
    return q, Tensor._wrap(np.asarray(scale, _F32))


class Linear(Module):
    """A Linear layer with an int8 weight whose input is quantized per call (float in,
    float out), as ``torch.ao.nn.quantized.dynamic.Linear``. Buffers: ``weight`` (int8),
    ``scale`` (float32), ``zero_point`` (0) and ``bias`` (float32).

    >>> qlin = ember.ao.nn.quantized.dynamic.Linear.from_float(ember.nn.Linear(4, 2))
    >>> qlin
    DynamicQuantizedLinear(in_features=4, out_features=2, dtype=ember.qint8, qscheme=per_tensor_symmetric)
    >>> qlin(ember.ones(3, 4)).shape, qlin.weight.dtype
    (ember.Size([3, 2]), ember.int8)
    >>> sorted(qlin.state_dict())
    ['bias', 'scale', 'weight', 'zero_point']
    """

    _FLOAT_MODULE = _FloatLinear
    cache_float_weight = True  # keep a float32 copy of the int8 weight (see weight_cache)

    def __init__(self, in_features, out_features, bias_=True, dtype=_dt.int8):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.dtype = _weight_dtype(dtype, "quantized.dynamic.Linear")
        self.register_buffer("weight", zeros(out_features, in_features, dtype=self.dtype))
        if self.dtype is _dt.int8:
            self.register_buffer("scale", Tensor._wrap(np.asarray(1.0, _F32)))
            self.register_buffer("zero_point", zeros((), dtype=_dt.int64))
        self.register_buffer("bias", zeros(out_features) if bias_ else None)

    def forward(self, x):
        if self.dtype is _dt.float16:
            return F.linear(x, self.weight.to(x.dtype), self.bias)
        w = self.weight
        return linear_dynamic(x, w, self.scale, self.bias,
                              weight_codes=float_weight(self, "weight", w))

    def _get_name(self):
        return "DynamicQuantizedLinear"

    def extra_repr(self):
        q = ", dtype=ember.qint8, qscheme=per_tensor_symmetric" if self.dtype is _dt.int8 \
            else ", dtype=ember.float16"
        return f"in_features={self.in_features}, out_features={self.out_features}{q}"

    def __repr__(self):
        return f"{self._get_name()}({self.extra_repr()})"

    @classmethod
    def from_float(cls, mod, dtype=_dt.int8):
        """The dynamically quantized copy of a float ``nn.Linear``."""
        if not isinstance(mod, _FloatLinear):
            raise TypeError(f"quantized.dynamic.Linear.from_float: expects an ember.nn.Linear, "
                            f"got {type(mod).__name__}")
        q = cls(mod.in_features, mod.out_features, mod.bias is not None, dtype)
        if q.dtype is _dt.int8:
            q.weight, q.scale = quantize_weight(mod.weight)
        else:
            q.weight = mod.weight.detach().to(_dt.float16)
        if mod.bias is not None:
            q.bias = mod.bias.detach().float().clone()
        return q


class LSTM(Module):
    """An LSTM whose weights are int8 (one scale per matrix) and whose matrix products
    quantize their input per call, as ``torch.ao.nn.quantized.dynamic.LSTM``: the input
    projection of a layer is one dynamic product over the whole sequence, then each step
    adds the dynamic product of the hidden state; gates in float32, PyTorch's order.
    Buffers per layer/direction: ``weight_ih_l0`` (int8), ``weight_ih_l0_scale``,
    ``weight_hh_l0``, ``weight_hh_l0_scale``, ``bias_ih_l0``, ``bias_hh_l0`` (float32).

    >>> qlstm = ember.ao.nn.quantized.dynamic.LSTM.from_float(ember.nn.LSTM(3, 5))
    >>> out, (h, c) = qlstm(ember.zeros(7, 4, 3))
    >>> out.shape, qlstm.weight_ih_l0.dtype
    (ember.Size([7, 4, 5]), ember.int8)
    """

    _FLOAT_MODULE = _FloatLSTM
    cache_float_weight = True  # keep float32 copies of the int8 weights (see weight_cache)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=_dt.int8):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bidirectional
        self.dtype = _weight_dtype(dtype, "quantized.dynamic.LSTM")
        dirs = 2 if bidirectional else 1
        g = 4 * hidden_size
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                isz = input_size if layer == 0 else hidden_size * dirs
                for kind, cols in (("ih", isz), ("hh", hidden_size)):
                    self.register_buffer(f"weight_{kind}{sfx}", zeros(g, cols, dtype=self.dtype))
                    if self.dtype is _dt.int8:
                        self.register_buffer(f"weight_{kind}{sfx}_scale",
                                             Tensor._wrap(np.asarray(1.0, _F32)))
                for kind in ("ih", "hh"):
                    self.register_buffer(f"bias_{kind}{sfx}", zeros(g) if bias else None)

    def _get_name(self):
        return "DynamicQuantizedLSTM"

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s + (", dtype=ember.qint8" if self.dtype is _dt.int8 else ", dtype=ember.float16")

    def __repr__(self):
        return f"{self._get_name()}({self.extra_repr()})"

    def _product(self, x, kind, sfx):
        name = f"weight_{kind}{sfx}"
        w, b = getattr(self, name), getattr(self, f"bias_{kind}{sfx}")
        if self.dtype is _dt.float16:
            return F.linear(x, w.to(_dt.float32), b)
        return linear_dynamic(x, w, getattr(self, f"{name}_scale"), b,
                              weight_codes=float_weight(self, name, w))

    def forward(self, input, hx=None):
        name = self._get_name()
        x = input
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: expected a 2-D (unbatched) or 3-D input, got shape "
                             f"{tuple(x.shape)}")
        if not x.dtype.is_floating_point:
            raise TypeError(f"{name}: input must be floating, got {x.dtype}")
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}(input_size={self.input_size}): input has {x.shape[-1]} "
                             f"features (shape {tuple(input.shape)})")
        x = x.float()
        dirs = 2 if self.bidirectional else 1
        shape = (self.num_layers * dirs, x.shape[1], self.hidden_size)
        if hx is None:
            h0 = c0 = zeros(*shape)
        else:
            h0, c0 = (t.unsqueeze(1) if unbatched else t for t in hx)
            for t in (h0, c0):
                if tuple(t.shape) != shape:
                    raise ValueError(f"{name}: initial state has shape {tuple(t.shape)}, "
                                     f"expected {shape}")
            h0, c0 = h0.float(), c0.float()
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                xw = self._product(x, "ih", sfx)  # (T, N, 4H): one dynamic product
                h, c = h0[k], c0[k]
                steps = range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0])
                seq = [None] * x.shape[0]
                for t in steps:
                    gates = self._product(h, "hh", sfx) + xw[t]
                    i, f, g, o = gates.chunk(4, -1)
                    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
                    h = o.sigmoid() * c.tanh()
                    seq[t] = h
                outs.append(stack(seq))
                hs.append(h)
                cs.append(c)
            x = outs[0] if dirs == 1 else cat(outs, -1)
        out, h_n, c_n = x, stack(hs), stack(cs)
        if unbatched:
            out, h_n, c_n = out.squeeze(1), h_n.squeeze(1), c_n.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if input.dtype is not _dt.float32:
            out, h_n, c_n = out.to(input.dtype), h_n.to(input.dtype), c_n.to(input.dtype)
        return out, (h_n, c_n)

    @classmethod
    def from_float(cls, mod, dtype=_dt.int8):
        """The dynamically quantized copy of a float ``nn.LSTM``."""
        if not isinstance(mod, _FloatLSTM):
            raise TypeError(f"quantized.dynamic.LSTM.from_float: expects an ember.nn.LSTM, got "
                            f"{type(mod).__name__}")
        q = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
                mod.dropout, mod.bidirectional, dtype)
        for name, p in mod.named_parameters():
            if name.startswith("weight_"):
                if q.dtype is _dt.int8:
                    codes, scale = quantize_weight(p)
                    setattr(q, name, codes)
                    setattr(q, name + "_scale", scale)
                else:
                    setattr(q, name, p.detach().to(_dt.float16))
            else:
                setattr(q, name, p.detach().float().clone())
        return q
