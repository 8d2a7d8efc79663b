"""Volumetric convolution and pooling over (N, C, D, H, W): ``conv3d``, ``conv_transpose3d``,
``max_pool3d``, ``avg_pool3d``, ``adaptive_avg_pool3d``, ``adaptive_max_pool3d``, on the same
N-d kernels as the 1-d and 2-d forms (``conv.py``)."""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from .elementwise import as_value
from .einsum import einsum
from .conv import (_conv, _conv_transpose, _max_pool, _avg_pool, _adaptive_max,
                   _adaptive_matrix, _check_input)
from . import autocast_policy as _autocast
from ._util import host_on_device_of
from .registry_helpers import export
from ..core.exceptions import OpError

__all__ = []


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation over (N, C, D, H, W), as ``torch.nn.functional.conv3d``.

    >>> ember.nn.functional.conv3d(ember.ones(1, 1, 3, 3, 3), ember.ones(2, 1, 2, 2, 2)).shape
    ember.Size([1, 2, 2, 2, 2])
    """
    return _conv(3, input, weight, bias, stride, padding, dilation, groups, "conv3d")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transpose (input gradient) of conv3d, as ``torch.nn.functional.conv_transpose3d``.

    >>> ember.nn.functional.conv_transpose3d(ember.ones(1, 2, 2, 2, 2),
    ...                                      ember.ones(2, 3, 2, 2, 2), stride=2).shape
    ember.Size([1, 3, 4, 4, 4])
    """
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, "conv_transpose3d")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of (N, C, D, H, W), as ``torch.nn.functional.max_pool3d``.

    >>> ember.nn.functional.max_pool3d(ember.arange(8.).reshape(1, 1, 2, 2, 2), 2).flatten()
    tensor([7.])
    """
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, "max_pool3d")


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of (N, C, D, H, W), as ``torch.nn.functional.avg_pool3d``.

    >>> ember.nn.functional.avg_pool3d(ember.arange(8.).reshape(1, 1, 2, 2, 2), 2).flatten()
    tensor([3.5000])
    """
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool3d")


def adaptive_avg_pool3d(input, output_size):
    """Average pooling of (N, C, D, H, W) to ``output_size``.

    >>> ember.nn.functional.adaptive_avg_pool3d(ember.arange(8.).reshape(1, 1, 2, 2, 2), 1)
    tensor([[[[[3.5000]]]]])
    """
    x = as_value(input)
    _check_input(x, 3, "adaptive_avg_pool3d")
    sizes = x.shape[-3:]
    outs = (output_size,) * 3 if isinstance(output_size, (int, np.integer)) else \
        tuple(output_size)
    outs = tuple(n if o is None else int(o) for o, n in zip(outs, sizes))
    if len(outs) != 3 or any(o <= 0 for o in outs):
        raise OpError(f"adaptive_avg_pool3d: output_size must be 3 positive sizes, got "
                      f"{output_size}")
    mats = [Tensor._wrap(host_on_device_of(_adaptive_matrix(n, o, x.dtype.np), x))
            for n, o in zip(sizes, outs)]
    return einsum("...dhw,id,jh,kw->...ijk", x, *mats)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling of (N, C, D, H, W) to ``output_size``.

    >>> ember.nn.functional.adaptive_max_pool3d(ember.arange(8.).reshape(1, 1, 2, 2, 2), 1)
    tensor([[[[[7.]]]]])
    """
    if return_indices:  # and the flat (d * H * W + h * W + w) positions of the maxima
        from .conv import adaptive_max_indices
        return adaptive_max_indices(3, input, output_size, "adaptive_max_pool3d")
    return _adaptive_max(3, input, output_size, "adaptive_max_pool3d")


for _f in (conv3d, conv_transpose3d, max_pool3d, avg_pool3d, adaptive_avg_pool3d,
           adaptive_max_pool3d):
    export(_f, __all__)
for _n in ("conv3d", "conv_transpose3d"):
    _autocast.register(_n, globals()[_n])
