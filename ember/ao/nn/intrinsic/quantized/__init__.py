"""Quantized fused layers (``torch.ao.nn.intrinsic.quantized``): the int8 Linear/Conv2d
with the ReLU folded into the output's clamp (at the zero point)."""
from __future__ import annotations

from ...quantized.modules import Conv2d as _QConv2d, Linear as _QLinear

__all__ = ["LinearReLU", "ConvReLU2d"]


class LinearReLU(_QLinear):
    """int8 Linear + ReLU: ``convert`` makes it from a fused ``ember.ao.nn.intrinsic.LinearReLU``.

    >>> fused = ember.ao.nn.intrinsic.LinearReLU(ember.nn.Linear(3, 2), ember.nn.ReLU())
    >>> q = ember.ao.nn.intrinsic.quantized.LinearReLU.from_float(
    ...     fused, input_qparams=(0.02, 128), output_qparams=(0.02, 0))
    >>> bool((q(ember.randn(5, 3)) >= 0).all())
    True
    """

    _relu = True


class ConvReLU2d(_QConv2d):
    """int8 Conv2d + ReLU (from a fused ``ember.ao.nn.intrinsic.ConvReLU2d``).

    >>> fused = ember.ao.nn.intrinsic.ConvReLU2d(ember.nn.Conv2d(1, 2, 3), ember.nn.ReLU())
    >>> q = ember.ao.nn.intrinsic.quantized.ConvReLU2d.from_float(
    ...     fused, input_qparams=(0.02, 128), output_qparams=(0.02, 0))
    >>> q(ember.randn(1, 1, 4, 4)).shape
    ember.Size([1, 2, 2, 2])
    """

    _relu = True
