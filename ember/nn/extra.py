"""More of ``torch.nn``'s modules that real scripts use: the volumetric (3-D) layers, lazy
layers that infer their input size on the first call, ``Buffer``, ``DataParallel`` (on a
machine without GPUs PyTorch's runs the module as it is; so does this one), unpooling, LP
pooling, RReLU, Softmax2d, AdaptiveMaxPool1d and two more losses."""
from __future__ import annotations

from . import functional as F
from .module import Module, Buffer  # noqa: F401  (nn.Buffer)
from .conv import _ConvNd, _MaxPool, _Pool, _Adaptive, _AdaptiveMax
from .layers import Linear, _Loss
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .norm import _BatchNorm, BatchNorm1d, BatchNorm2d
from .more import (_InstanceNorm, InstanceNorm1d, InstanceNorm2d, ConstantPad1d, ZeroPad1d,
                   ReflectionPad1d, ReplicationPad1d, CircularPad1d)
from ..core.exceptions import OpError

__all__ = ["Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d",
           "AdaptiveMaxPool3d", "AdaptiveMaxPool1d", "BatchNorm3d", "InstanceNorm3d",
           "ConstantPad3d", "ZeroPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "LPPool1d", "LPPool2d", "LPPool3d",
           "RReLU", "Softmax2d", "Buffer", "DataParallel", "LazyLinear", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
           "TripletMarginWithDistanceLoss", "MultiLabelMarginLoss"]


# ---- volumetric layers ----------------------------------------------------------------------

class Conv3d(_ConvNd):
    """3-D convolution over ``(N, C_in, D, H, W)``; weight ``(C_out, C_in / groups, kD, kH,
    kW)``.

    >>> ember.nn.Conv3d(2, 4, 3, padding=1)(ember.ones(1, 2, 4, 4, 4)).shape
    ember.Size([1, 4, 4, 4, 4])
    """
    _n = 3

    def forward(self, x):
        x, pad = self._padded(x)
        return F.conv3d(x, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)


class ConvTranspose3d(_ConvNd):
    """The transpose of Conv3d; weight ``(C_in, C_out / groups, kD, kH, kW)``.

    >>> ember.nn.ConvTranspose3d(2, 3, 2, stride=2)(ember.ones(1, 2, 2, 2, 2)).shape
    ember.Size([1, 3, 4, 4, 4])
    """
    _n = 3
    _transposed = True

    def forward(self, x):
        return F.conv_transpose3d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class MaxPool3d(_MaxPool):
    """The maximum of each ``kernel_size`` window over the last three dims.

    >>> ember.nn.MaxPool3d(2)(ember.arange(8.).reshape(1, 1, 2, 2, 2)).flatten()
    tensor([7.])
    """
    def forward(self, x):
        return F.max_pool3d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool3d(_Pool):
    """The mean of each ``kernel_size`` window over the last three dims.

    >>> ember.nn.AvgPool3d(2)(ember.arange(8.).reshape(1, 1, 2, 2, 2)).flatten()
    tensor([3.5000])
    """
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad, divisor_override=divisor_override)

    def forward(self, x):
        return F.avg_pool3d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(_Adaptive):
    """Average pooling of ``(N, C, D, H, W)`` to ``output_size``.

    >>> ember.nn.AdaptiveAvgPool3d(1)(ember.arange(8.).reshape(1, 1, 2, 2, 2)).flatten()
    tensor([3.5000])
    """
    def forward(self, x):
        return F.adaptive_avg_pool3d(x, self.output_size)


class AdaptiveMaxPool3d(_AdaptiveMax):
    """Max pooling of ``(N, C, D, H, W)`` to ``output_size``.

    >>> ember.nn.AdaptiveMaxPool3d(1)(ember.arange(8.).reshape(1, 1, 2, 2, 2)).flatten()
    tensor([7.])
    """
    def forward(self, x):
        return F.adaptive_max_pool3d(x, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMax):
    """Max pooling of ``(N, C, L)`` to ``output_size`` positions.

    >>> ember.nn.AdaptiveMaxPool1d(2)(ember.tensor([[[1., 5., 2., 0.]]]))
    tensor([[[5., 2.]]])
    """
    def forward(self, x):
        return F.adaptive_max_pool1d(x, self.output_size, self.return_indices)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over ``(N, C, D, H, W)`` per channel ``C``.

    >>> ember.nn.BatchNorm3d(2)(ember.randn(4, 2, 3, 3, 3)).shape
    ember.Size([4, 2, 3, 3, 3])
    """
    _dims = (5,)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation over ``(N, C, D, H, W)`` (or unbatched ``(C, D, H, W)``).

    >>> y = ember.nn.InstanceNorm3d(2)(ember.randn(1, 2, 3, 3, 3))
    >>> bool(y.mean((2, 3, 4)).abs().max() < 1e-5)
    True
    """
    _spatial = 3


class ConstantPad3d(ConstantPad1d):
    """Pad the last three dims with ``value``; padding = (left, right, top, bottom, front,
    back).

    >>> ember.nn.ConstantPad3d(1, 2.0)(ember.zeros(1, 1, 1, 1)).shape
    ember.Size([1, 3, 3, 3])
    """
    _n = 3


class ZeroPad3d(ZeroPad1d):
    """Pad the last three dims with zeros.

    >>> ember.nn.ZeroPad3d((1, 0, 0, 0, 0, 0))(ember.ones(1, 1, 1, 1)).flatten()
    tensor([0., 1.])
    """
    _n = 3


class ReflectionPad3d(ReflectionPad1d):
    """Pad the last three dims with their reflection.

    >>> ember.nn.ReflectionPad3d(1)(ember.ones(1, 2, 2, 2)).shape
    ember.Size([1, 4, 4, 4])
    """
    _n = 3


class ReplicationPad3d(ReplicationPad1d):
    """Pad the last three dims by repeating their edge values.

    >>> ember.nn.ReplicationPad3d(1)(ember.ones(1, 2, 2, 2)).shape
    ember.Size([1, 4, 4, 4])
    """
    _n = 3


class CircularPad3d(CircularPad1d):
    """Pad the last three dims circularly.

    >>> ember.nn.CircularPad3d(1)(ember.ones(1, 2, 2, 2)).shape
    ember.Size([1, 4, 4, 4])
    """
    _n = 3


# ---- unpooling, LP pooling, activations ---------------------------------------------------------

class _MaxUnpool(Module):
    _n = 1

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, \
            stride if stride is not None else kernel_size, padding

    def forward(self, input, indices, output_size=None):
        fn = (F.max_unpool1d, F.max_unpool2d, F.max_unpool3d)[self._n - 1]
        return fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """The partial inverse of MaxPool1d (``return_indices=True``): maxima back at their
    positions, zeros elsewhere.

    >>> y, i = ember.nn.MaxPool1d(2, return_indices=True)(ember.tensor([[[1., 5., 2., 0.]]]))
    >>> ember.nn.MaxUnpool1d(2)(y, i)
    tensor([[[0., 5., 2., 0.]]])
    """
    _n = 1


class MaxUnpool2d(_MaxUnpool):
    """The partial inverse of MaxPool2d (``return_indices=True``).

    >>> y, i = ember.nn.MaxPool2d(2, return_indices=True)(ember.arange(16.).reshape(1, 1, 4, 4))
    >>> ember.nn.MaxUnpool2d(2)(y, i).shape
    ember.Size([1, 1, 4, 4])
    """
    _n = 2


class MaxUnpool3d(_MaxUnpool):
    """The partial inverse of MaxPool3d (``return_indices=True``).

    >>> y, i = ember.nn.MaxPool3d(2, return_indices=True)(ember.ones(1, 1, 2, 2, 2))
    >>> ember.nn.MaxUnpool3d(2)(y, i).shape
    ember.Size([1, 1, 2, 2, 2])
    """
    _n = 3


class _LPPool(Module):
    _n = 1

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, x):
        fn = (F.lp_pool1d, F.lp_pool2d, F.lp_pool3d)[self._n - 1]
        return fn(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPool):
    """The ``norm_type``-norm of each window.

    >>> ember.nn.LPPool1d(2, 2)(ember.tensor([[[3., 4., 1., 0.]]]))
    tensor([[[5., 1.]]])
    """
    _n = 1


class LPPool2d(_LPPool):
    """The ``norm_type``-norm of each window over the last two dims.

    >>> ember.nn.LPPool2d(1, 2)(ember.ones(1, 1, 2, 2))
    tensor([[[[4.]]]])
    """
    _n = 2


class LPPool3d(_LPPool):
    """The ``norm_type``-norm of each window over the last three dims.

    >>> ember.nn.LPPool3d(1, 2)(ember.ones(1, 1, 2, 2, 2)).flatten()
    tensor([8.])
    """
    _n = 3


class RReLU(Module):
    """Randomized leaky ReLU: random negative slopes in ``[lower, upper]`` in training, their
    mean in evaluation.

    >>> ember.nn.RReLU(0.1, 0.3).eval()(ember.tensor([-3., 2.]))
    tensor([-0.6000, 2.0000])
    """

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, x):
        return F.rrelu(x, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace
                                                             else "")


class Softmax2d(Module):
    """Softmax over the channels of ``(N, C, H, W)`` (or ``(C, H, W)``) at each location.

    >>> ember.nn.Softmax2d()(ember.zeros(1, 2, 1, 1)).flatten()
    tensor([0.5000, 0.5000])
    """

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise OpError(f"Softmax2d: expected a 3-D or 4-D input, got shape {tuple(x.shape)}")
        return F.softmax(x, -3)


# ---- Buffer, DataParallel ------------------------------------------------------------------

class DataParallel(Module):
    """PyTorch's single-process multi-GPU wrapper. With no GPUs (as here, and as PyTorch on a
    CPU machine) it runs the wrapped ``module`` unchanged; ``module`` and the ``module.``
    state_dict prefix are as PyTorch's, so checkpoints load into either. For several
    processes use ``ember.nn.parallel.DistributedDataParallel``.

    >>> net = ember.nn.DataParallel(ember.nn.Linear(2, 1))
    >>> sorted(net.state_dict()), net(ember.ones(3, 2)).shape
    (['module.bias', 'module.weight'], ember.Size([3, 1]))
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if device_ids:
            raise OpError(f"DataParallel: device_ids={device_ids} names GPUs, and this machine "
                          f"has none; leave device_ids out")
        self.module, self.dim = module, dim
        self.device_ids, self.output_device = [], output_device

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


# ---- lazy layers --------------------------------------------------------------------------------

class _Lazy(Module):
    """A layer whose input size comes from its first input: until then its parameters are
    empty placeholders; the first call builds the real layer (of ``cls_to_become``, with the
    input size filled in) and the module becomes that layer, as PyTorch's lazy modules. Run
    one batch through the model before handing its parameters to an optimizer."""

    cls_to_become = None
    _in_arg = "in_features"

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        self._lazy_args, self._lazy_kwargs = args, kwargs

    def _infer(self, x):
        if self._in_arg == "in_features":
            return x.shape[-1]
        if self._spatial_n is None:  # batch norm: always batched, channels at dim 1
            return x.shape[1]
        return x.shape[1 if x.ndim > self._spatial_n + 1 else 0]  # also unbatched inputs

    def __call__(self, *args, **kwargs):
        if type(self) is not self.cls_to_become and args:
            real = self.cls_to_become(self._infer(args[0]), *self._lazy_args,
                                      **self._lazy_kwargs)
            hooks = {k: v for k, v in self.__dict__.items() if k.startswith("_forward")}
            self.__dict__.clear()
            self.__dict__.update(real.__dict__)
            self.__dict__.update(hooks)
            self.__class__ = self.cls_to_become
        return Module.__call__(self, *args, **kwargs)

    def forward(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__}: called before its first input set its size")

    def has_uninitialized_params(self):
        return type(self) is not self.cls_to_become

    def extra_repr(self):
        return ", ".join([repr(a) for a in self._lazy_args] +
                         [f"{k}={v!r}" for k, v in self._lazy_kwargs.items()])


def _lazy(name, target, in_arg, spatial_n=0, doc=""):
    cls = type(name, (_Lazy,), {"cls_to_become": target, "_in_arg": in_arg,
                                "_spatial_n": spatial_n, "__doc__": doc,
                                "__module__": __name__})
    return cls


LazyLinear = _lazy("LazyLinear", Linear, "in_features", doc="""A Linear layer whose
    ``in_features`` is the last dim of its first input.

    >>> lin = ember.nn.LazyLinear(3)
    >>> lin(ember.ones(2, 5)).shape, type(lin).__name__, tuple(lin.weight.shape)
    (ember.Size([2, 3]), 'Linear', (3, 5))
    """)
LazyConv1d = _lazy("LazyConv1d", Conv1d, "in_channels", 1, """Conv1d with ``in_channels``
    from its first input.

    >>> ember.nn.LazyConv1d(4, 3)(ember.ones(1, 2, 8)).shape
    ember.Size([1, 4, 6])
    """)
LazyConv2d = _lazy("LazyConv2d", Conv2d, "in_channels", 2, """Conv2d with ``in_channels``
    from its first input.

    >>> conv = ember.nn.LazyConv2d(4, 3)
    >>> conv(ember.ones(1, 2, 8, 8)).shape, tuple(conv.weight.shape)
    (ember.Size([1, 4, 6, 6]), (4, 2, 3, 3))
    """)
LazyConv3d = _lazy("LazyConv3d", Conv3d, "in_channels", 3, """Conv3d with ``in_channels``
    from its first input.

    >>> ember.nn.LazyConv3d(4, 3)(ember.ones(1, 2, 4, 4, 4)).shape
    ember.Size([1, 4, 2, 2, 2])
    """)
LazyConvTranspose1d = _lazy("LazyConvTranspose1d", ConvTranspose1d, "in_channels", 1, """
    ConvTranspose1d with ``in_channels`` from its first input.

    >>> ember.nn.LazyConvTranspose1d(4, 2, stride=2)(ember.ones(1, 2, 3)).shape
    ember.Size([1, 4, 6])
    """)
LazyConvTranspose2d = _lazy("LazyConvTranspose2d", ConvTranspose2d, "in_channels", 2, """
    ConvTranspose2d with ``in_channels`` from its first input.

    >>> ember.nn.LazyConvTranspose2d(4, 2, stride=2)(ember.ones(1, 2, 3, 3)).shape
    ember.Size([1, 4, 6, 6])
    """)
LazyConvTranspose3d = _lazy("LazyConvTranspose3d", ConvTranspose3d, "in_channels", 3, """
    ConvTranspose3d with ``in_channels`` from its first input.

    >>> ember.nn.LazyConvTranspose3d(4, 2, stride=2)(ember.ones(1, 2, 1, 1, 1)).shape
    ember.Size([1, 4, 2, 2, 2])
    """)
LazyBatchNorm1d = _lazy("LazyBatchNorm1d", BatchNorm1d, "num_features", None, """BatchNorm1d
    with ``num_features`` from its first input.

    >>> ember.nn.LazyBatchNorm1d()(ember.randn(4, 3)).shape
    ember.Size([4, 3])
    """)
LazyBatchNorm2d = _lazy("LazyBatchNorm2d", BatchNorm2d, "num_features", None, """BatchNorm2d
    with ``num_features`` from its first input.

    >>> bn = ember.nn.LazyBatchNorm2d()
    >>> _ = bn(ember.randn(2, 3, 4, 4)); bn.num_features
    3
    """)
LazyBatchNorm3d = _lazy("LazyBatchNorm3d", BatchNorm3d, "num_features", None, """BatchNorm3d
    with ``num_features`` from its first input.

    >>> ember.nn.LazyBatchNorm3d()(ember.randn(2, 3, 2, 2, 2)).shape
    ember.Size([2, 3, 2, 2, 2])
    """)
LazyInstanceNorm1d = _lazy("LazyInstanceNorm1d", InstanceNorm1d, "num_features", 1, """
    InstanceNorm1d with ``num_features`` from its first input.

    >>> ember.nn.LazyInstanceNorm1d()(ember.randn(2, 3, 5)).shape
    ember.Size([2, 3, 5])
    """)
LazyInstanceNorm2d = _lazy("LazyInstanceNorm2d", InstanceNorm2d, "num_features", 2, """
    InstanceNorm2d with ``num_features`` from its first input.

    >>> ember.nn.LazyInstanceNorm2d()(ember.randn(2, 3, 4, 4)).shape
    ember.Size([2, 3, 4, 4])
    """)
LazyInstanceNorm3d = _lazy("LazyInstanceNorm3d", InstanceNorm3d, "num_features", 3, """
    InstanceNorm3d with ``num_features`` from its first input.

    >>> ember.nn.LazyInstanceNorm3d()(ember.randn(2, 3, 2, 2, 2)).shape
    ember.Size([2, 3, 2, 2, 2])
    """)


# ---- losses -------------------------------------------------------------------------------------

class TripletMarginWithDistanceLoss(_Loss):
    """The triplet margin loss with any distance function (default pairwise Euclidean).

    >>> a = ember.tensor([[0., 0.]])
    >>> ember.nn.TripletMarginWithDistanceLoss()(a, a, ember.tensor([[3., 4.]]))
    tensor(0.)
    """

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction=reduction)
        self.distance_function, self.margin, self.swap = distance_function, margin, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """The multi-class multi-label hinge loss (``F.multilabel_margin_loss``).

    >>> x = ember.tensor([[0.1, 0.2, 0.4, 0.8]])
    >>> ember.nn.MultiLabelMarginLoss()(x, ember.tensor([[3, 0, -1, 1]]))
    tensor(0.8500)
    """

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)
