"""``ember.ao.nn.qat``: layers for quantization-aware training (``torch.ao.nn.qat`` and the
fused ``torch.ao.nn.intrinsic.qat``): the float layer whose weight passes through a
``FakeQuantize`` (``weight_fake_quant``) on every forward, so training sees the int8 (or
4-bit) weight grid; ``prepare_qat`` puts them in place and ``convert`` makes the int8 layers."""
from __future__ import annotations

from ....nn import functional as F
from ....nn.conv import Conv2d as _Conv2d
from ....nn.layers import Linear as _Linear

__all__ = ["Linear", "Conv2d", "LinearReLU", "ConvReLU2d"]


def _check_qconfig(cls, qconfig):
    if qconfig is None:
        raise ValueError(f"{cls.__name__}: quantization-aware training needs a qconfig "
                         f"(e.g. ember.ao.quantization.get_default_qat_qconfig('x86'))")


class Linear(_Linear):
    """Linear with fake-quantized weight (``weight_fake_quant``); ``from_float`` shares the
    float layer's parameters.

    >>> qc = ember.ao.quantization.get_default_qat_qconfig("x86")
    >>> m = ember.ao.nn.qat.Linear.from_float(ember.nn.Linear(3, 2), qc)
    >>> m(ember.randn(4, 3)).shape
    ember.Size([4, 2])
    """

    _relu = False

    def __init__(self, in_features, out_features, bias=True, qconfig=None):
        super().__init__(in_features, out_features, bias)
        _check_qconfig(type(self), qconfig)
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, x):
        y = F.linear(x, self.weight_fake_quant(self.weight), self.bias)
        return y.relu() if self._relu else y

    @classmethod
    def from_float(cls, mod, qconfig=None):
        lin = mod[0] if hasattr(mod, "_fused") else mod
        qconfig = qconfig or getattr(mod, "qconfig", None)
        q = cls(lin.in_features, lin.out_features, lin.bias is not None, qconfig=qconfig)
        q.weight, q.bias = lin.weight, lin.bias
        return q


class LinearReLU(Linear):
    """Linear + ReLU for QAT (from a fused ``ember.ao.nn.intrinsic.LinearReLU``).

    >>> qc = ember.ao.quantization.get_default_qat_qconfig("x86")
    >>> fused = ember.ao.nn.intrinsic.LinearReLU(ember.nn.Linear(3, 2), ember.nn.ReLU())
    >>> bool((ember.ao.nn.qat.LinearReLU.from_float(fused, qc)(ember.randn(4, 3)) >= 0).all())
    True
    """

    _relu = True


class Conv2d(_Conv2d):
    """Conv2d with fake-quantized weight (``weight_fake_quant``).

    >>> qc = ember.ao.quantization.get_default_qat_qconfig("x86")
    >>> m = ember.ao.nn.qat.Conv2d.from_float(ember.nn.Conv2d(1, 2, 3), qc)
    >>> m(ember.randn(1, 1, 5, 5)).shape
    ember.Size([1, 2, 3, 3])
    """

    _relu = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", qconfig=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)
        _check_qconfig(type(self), qconfig)
        self.qconfig = qconfig
        self.weight_fake_quant = qconfig.weight()

    def forward(self, x):
        x, pad = self._padded(x)
        y = F.conv2d(x, self.weight_fake_quant(self.weight), self.bias, self.stride, pad,
                     self.dilation, self.groups)
        return y.relu() if self._relu else y

    @classmethod
    def from_float(cls, mod, qconfig=None):
        conv = mod[0] if hasattr(mod, "_fused") else mod
        qconfig = qconfig or getattr(mod, "qconfig", None)
        q = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                conv.padding_mode, qconfig=qconfig)
        q.weight, q.bias = conv.weight, conv.bias
        return q


class ConvReLU2d(Conv2d):
    """Conv2d + ReLU for QAT (from a fused ``ember.ao.nn.intrinsic.ConvReLU2d``).

    >>> qc = ember.ao.quantization.get_default_qat_qconfig("x86")
    >>> fused = ember.ao.nn.intrinsic.ConvReLU2d(ember.nn.Conv2d(1, 2, 3), ember.nn.ReLU())
    >>> ember.ao.nn.qat.ConvReLU2d.from_float(fused, qc)(ember.randn(1, 1, 4, 4)).shape
    ember.Size([1, 2, 2, 2])
    """

    _relu = True
