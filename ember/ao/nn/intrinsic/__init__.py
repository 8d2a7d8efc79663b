"""Fused float modules (``torch.ao.nn.intrinsic``): what ``fuse_modules`` puts in place of a
Linear/Conv2d followed by a ReLU, so that ``convert`` makes one quantized layer with the ReLU
folded into its output range. They run as the Sequential of their parts."""
from __future__ import annotations

from ....nn.layers import Sequential

__all__ = ["LinearReLU", "ConvReLU2d", "ConvBn2d", "ConvBnReLU2d"]


class _FusedModule(Sequential):
    """The Sequential of its parts; modules attached later (observers) are not run by it."""

    _fused = True

    def __init__(self, *parts):
        super().__init__(*parts)
        self._n_parts = len(parts)

    def forward(self, x):
        for m in list(self._modules.values())[:self._n_parts]:
            x = m(x)
        return x


class LinearReLU(_FusedModule):
    """``Linear`` then ``ReLU`` as one module (the Sequential of the two).

    >>> m = ember.ao.nn.intrinsic.LinearReLU(ember.nn.Linear(2, 2), ember.nn.ReLU())
    >>> bool((m(ember.randn(4, 2)) >= 0).all())
    True
    """

    def __init__(self, linear, relu):
        super().__init__(linear, relu)


class ConvReLU2d(_FusedModule):
    """``Conv2d`` then ``ReLU`` as one module.

    >>> m = ember.ao.nn.intrinsic.ConvReLU2d(ember.nn.Conv2d(1, 2, 3), ember.nn.ReLU())
    >>> m(ember.randn(1, 1, 4, 4)).shape
    ember.Size([1, 2, 2, 2])
    """

    def __init__(self, conv, relu):
        super().__init__(conv, relu)


class ConvBn2d(_FusedModule):
    """``Conv2d`` then ``BatchNorm2d`` kept apart for quantization-aware training
    (``fuse_modules_qat``; ``prepare_qat`` makes it an ``ember.ao.nn.intrinsic.qat.ConvBn2d``,
    which folds the BatchNorm into the fake-quantized weight).

    >>> m = ember.ao.nn.intrinsic.ConvBn2d(ember.nn.Conv2d(1, 2, 3), ember.nn.BatchNorm2d(2))
    >>> m(ember.randn(4, 1, 5, 5)).shape
    ember.Size([4, 2, 3, 3])
    """

    def __init__(self, conv, bn):
        super().__init__(conv, bn)


class ConvBnReLU2d(_FusedModule):
    """``Conv2d``, ``BatchNorm2d`` then ``ReLU`` kept apart for quantization-aware training.

    >>> m = ember.ao.nn.intrinsic.ConvBnReLU2d(ember.nn.Conv2d(1, 2, 3), ember.nn.BatchNorm2d(2),
    ...                                        ember.nn.ReLU())
    >>> bool((m(ember.randn(4, 1, 5, 5)) >= 0).all())
    True
    """

    def __init__(self, conv, bn, relu):
        super().__init__(conv, bn, relu)
