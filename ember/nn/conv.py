"""Convolution and pooling layers (PyTorch's constructors, parameter shapes and init)."""
from __future__ import annotations

import math

from . import functional as F
from . import init
from .module import Module, Parameter
from ..ops.creation_ops import empty
from ..core.exceptions import OpError


def _ntuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvNd(Module):
    _n = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", output_padding=0, dtype=None, device=None):
        super().__init__()
        n = self._n
        name = type(self).__name__
        if in_channels % groups or out_channels % groups:
            raise OpError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise OpError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation = _ntuple(dilation, n)
        self.output_padding = _ntuple(output_padding, n)
        self.groups, self.padding_mode = groups, padding_mode
        shape = ((in_channels, out_channels // groups) if self._transposed else
                 (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(empty(*shape, dtype=dtype, device=device))
        self.bias = Parameter(empty(out_channels, dtype=dtype, device=device)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._fans(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _padded(self, x):
        if self.padding_mode == "zeros" or isinstance(self.padding, str):
            return x, self.padding
        pads = []
        for p in reversed(self.padding):
            pads += [p, p]
        return F.pad(x, pads, mode=self.padding_mode), 0

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C_in, L)`` with PyTorch's arguments (stride, padding incl.
    ``'same'``, dilation, groups) and weight shape ``(C_out, C_in / groups, k)``.

    >>> conv = ember.nn.Conv1d(2, 4, kernel_size=3, padding=1)
    >>> conv.weight.shape, conv(ember.zeros(8, 2, 10)).shape
    (ember.Size([4, 2, 3]), ember.Size([8, 4, 10]))
    """
    _n = 1

    def forward(self, x):
        x, pad = self._padded(x)
        return F.conv1d(x, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over ``(N, C_in, H, W)`` with PyTorch's arguments (stride, padding incl.
    ``'same'``, dilation, groups) and weight shape ``(C_out, C_in / groups, kH, kW)``.

    >>> conv = ember.nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1)
    >>> conv(ember.zeros(1, 3, 32, 32)).shape
    ember.Size([1, 16, 16, 16])
    >>> ember.nn.Conv2d(4, 8, 3, groups=2).weight.shape
    ember.Size([8, 2, 3, 3])
    """
    _n = 2

    def forward(self, x):
        x, pad = self._padded(x)
        return F.conv2d(x, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)


class ConvTranspose1d(_ConvNd):
    """The transpose (gradient) of Conv1d: upsamples ``(N, C_in, L)``; weight shape
    ``(C_in, C_out / groups, k)``.

    >>> up = ember.nn.ConvTranspose1d(4, 2, kernel_size=2, stride=2)
    >>> up.weight.shape, up(ember.zeros(1, 4, 5)).shape
    (ember.Size([4, 2, 2]), ember.Size([1, 2, 10]))
    """
    _n = 1
    _transposed = True

    def forward(self, x):
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class ConvTranspose2d(_ConvNd):
    """The transpose (gradient) of Conv2d: upsamples ``(N, C_in, H, W)``; weight shape
    ``(C_in, C_out / groups, kH, kW)``.

    >>> up = ember.nn.ConvTranspose2d(8, 3, kernel_size=4, stride=2, padding=1)
    >>> up(ember.zeros(1, 8, 7, 7)).shape
    ember.Size([1, 3, 14, 14])
    """
    _n = 2
    _transposed = True

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class _Pool(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False, count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _MaxPool(_Pool):
    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                f", dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPool):
    """The maximum of each window of ``kernel_size`` (stride defaults to ``kernel_size``).

    >>> ember.nn.MaxPool1d(2)(ember.tensor([[[1., 5., 2., 0.]]]))
    tensor([[[5., 2.]]])
    """
    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPool):
    """The maximum of each ``kernel_size`` window over the last two dims (stride defaults
    to ``kernel_size``).

    >>> x = ember.arange(16.).reshape(1, 1, 4, 4)
    >>> ember.nn.MaxPool2d(2)(x)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool1d(_Pool):
    """The mean of each window of ``kernel_size`` (stride defaults to ``kernel_size``).

    >>> ember.nn.AvgPool1d(2)(ember.tensor([[[1., 5., 2., 0.]]]))
    tensor([[[3., 1.]]])
    """
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad)

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):  # PyTorch shows AvgPool1d's sizes as 1-tuples
        one = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,)  # noqa: E731
        return (f"kernel_size={one(self.kernel_size)}, stride={one(self.stride)}, "
                f"padding={one(self.padding)}")


class AvgPool2d(_Pool):
    """The mean of each ``kernel_size`` window over the last two dims.

    >>> x = ember.arange(16.).reshape(1, 1, 4, 4)
    >>> ember.nn.AvgPool2d(2)(x)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad, divisor_override=divisor_override)

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class _Adaptive(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_Adaptive):
    """Average pooling to a fixed output length, whatever the input length.

    >>> ember.nn.AdaptiveAvgPool1d(1)(ember.tensor([[[1., 2., 6.]]]))
    tensor([[[3.]]])
    """
    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)


class AdaptiveAvgPool2d(_Adaptive):
    """Average pooling to a fixed ``(H, W)`` output, whatever the input size.

    >>> ember.nn.AdaptiveAvgPool2d((1, 1))(ember.zeros(2, 64, 7, 7)).shape
    ember.Size([2, 64, 1, 1])
    """
    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)


class _AdaptiveMax(_Adaptive):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool2d(_AdaptiveMax):
    """Max pooling to a fixed ``(H, W)`` output, whatever the input size.

    >>> x = ember.arange(16.).reshape(1, 1, 4, 4)
    >>> ember.nn.AdaptiveMaxPool2d(1)(x)
    tensor([[[[15.]]]])
    """
    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)
