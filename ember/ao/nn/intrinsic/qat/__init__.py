"""Fused layers for quantization-aware training (``torch.ao.nn.intrinsic.qat``): Conv2d with
its BatchNorm2d folded into the fake-quantized weight during training.

Each forward (PyTorch's scheme): ``s = gamma / sqrt(running_var + eps)``; the convolution
runs with the weight ``fake_quant(w * s)`` (what the int8 layer will hold) and no bias; its
output is divided by ``s`` again, the conv bias added, and the BatchNorm applied (batch
statistics and running-statistics updates in training, running statistics in eval). So
training sees the folded weight's int8 grid while BatchNorm still normalizes with the batch.
``convert`` folds the BatchNorm with its running statistics and makes the int8 Conv2d
(ConvReLU2d) from the folded weight and the fake-quant's trained weight qparams.
``freeze_bn_stats`` (the method, or the function for ``model.apply``) stops the running
statistics' updates and normalizes with them from then on; ``update_bn_stats`` resumes.
"""
from __future__ import annotations

from .....nn import functional as F
from .....nn.norm import BatchNorm2d
from ...qat import Conv2d as _QATConv2d

__all__ = ["ConvBn2d", "ConvBnReLU2d", "freeze_bn_stats", "update_bn_stats"]


class ConvBn2d(_QATConv2d):
    """Conv2d + BatchNorm2d for QAT (from a fused ``ember.ao.nn.intrinsic.ConvBn2d``); the
    BatchNorm is the child ``bn``.

    >>> qc = ember.ao.quantization.get_default_qat_qconfig("x86")
    >>> fused = ember.ao.nn.intrinsic.ConvBn2d(ember.nn.Conv2d(1, 2, 3), ember.nn.BatchNorm2d(2))
    >>> m = ember.ao.nn.intrinsic.qat.ConvBn2d.from_float(fused, qc)
    >>> m(ember.randn(4, 1, 5, 5)).shape, m.bn.num_batches_tracked.item()
    (ember.Size([4, 2, 3, 3]), 1)
    """

    _relu = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=None, padding_mode="zeros", eps=1e-05,
                 momentum=0.1, freeze_bn=False, qconfig=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bool(bias), padding_mode, qconfig=qconfig)
        self.bn = BatchNorm2d(out_channels, eps=eps, momentum=momentum)
        self.freeze_bn = bool(freeze_bn)
        if self.freeze_bn:
            self.bn.training = False

    def _scale_factor(self):
        bn = self.bn
        std = (bn.running_var + bn.eps).sqrt()
        return std.reciprocal() if bn.weight is None else bn.weight / std

    def forward(self, x):
        s = self._scale_factor()
        x, pad = self._padded(x)
        w = self.weight_fake_quant(self.weight * s.reshape(-1, 1, 1, 1))
        y = F.conv2d(x, w, None, self.stride, pad, self.dilation, self.groups)
        y = y / s.reshape(1, -1, 1, 1)
        if self.bias is not None:
            y = y + self.bias.reshape(1, -1, 1, 1)
        y = self.bn(y)
        return y.relu() if self._relu else y

    def train(self, mode=True):
        super().train(mode)
        if self.freeze_bn:
            self.bn.training = False
        return self

    def freeze_bn_stats(self):
        """Stop updating the BatchNorm's running statistics and normalize with them."""
        self.freeze_bn = True
        self.bn.training = False
        return self

    def update_bn_stats(self):
        """Resume the BatchNorm's batch statistics and running-statistics updates."""
        self.freeze_bn = False
        self.bn.training = self.training
        return self

    def folded_weight_bias(self):
        """The float weight and bias of the convolution with the BatchNorm folded in (its
        running statistics): what ``convert`` quantizes."""
        bn = self.bn
        s = self._scale_factor().detach()
        w = self.weight.detach() * s.reshape(-1, 1, 1, 1)
        b = -bn.running_mean if self.bias is None else self.bias.detach() - bn.running_mean
        b = b * s
        if bn.bias is not None:
            b = b + bn.bias.detach()
        return w, b

    @classmethod
    def from_float(cls, mod, qconfig=None):
        """The QAT layer of a fused ``ConvBn2d``/``ConvBnReLU2d``; it shares the conv's and
        the BatchNorm's parameters and statistics."""
        conv, bn = mod[0], mod[1]
        qconfig = qconfig or getattr(mod, "qconfig", None)
        q = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                conv.padding_mode, bn.eps, bn.momentum, False, qconfig=qconfig)
        q.weight, q.bias = conv.weight, conv.bias
        q.bn = bn
        q.train(mod.training)
        return q

    def extra_repr(self):
        return super().extra_repr() + (", freeze_bn=True" if self.freeze_bn else "")


class ConvBnReLU2d(ConvBn2d):
    """Conv2d + BatchNorm2d + ReLU for QAT (from a fused ``ember.ao.nn.intrinsic.ConvBnReLU2d``).

    >>> qc = ember.ao.quantization.get_default_qat_qconfig("x86")
    >>> fused = ember.ao.nn.intrinsic.ConvBnReLU2d(ember.nn.Conv2d(1, 2, 3),
    ...                                            ember.nn.BatchNorm2d(2), ember.nn.ReLU())
    >>> bool((ember.ao.nn.intrinsic.qat.ConvBnReLU2d.from_float(fused, qc)(
    ...     ember.randn(4, 1, 5, 5)) >= 0).all())
    True
    """

    _relu = True


def freeze_bn_stats(module):
    """For ``model.apply``: freeze the BatchNorm statistics of a QAT ConvBn layer (others
    are left alone), as ``torch.ao.nn.intrinsic.qat.freeze_bn_stats``."""
    if isinstance(module, ConvBn2d):
        module.freeze_bn_stats()


def update_bn_stats(module):
    """For ``model.apply``: resume the BatchNorm statistics of a QAT ConvBn layer."""
    if isinstance(module, ConvBn2d):
        module.update_bn_stats()
