"""More of ``torch.nn``: activations, channel dropouts, padding layers, pixel/channel
shuffles, Upsample, distances, RMSNorm/InstanceNorm/LocalResponseNorm, cell RNNs and the
margin/likelihood losses, with PyTorch's constructor arguments, parameters and reprs."""
from __future__ import annotations

import math

from . import functional as F
from . import init
from .module import Module, Parameter
from .layers import _Loss
from .norm import init_channel_norm
from ..ops.creation_ops import empty, ones, zeros
from ..core.exceptions import OpError


# ---- activations -----------------------------------------------------------------------

class Hardtanh(Module):
    """``x`` clamped to ``[min_val, max_val]``.

    >>> ember.nn.Hardtanh()(ember.tensor([-3., 0.5, 2.]))
    tensor([-1.0000, 0.5000, 1.0000])
    """
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if max_val <= min_val:
            raise OpError(f"Hardtanh: max_val ({max_val}) must be greater than min_val "
                             f"({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + \
            (", inplace=True" if self.inplace else "")


class _Simple(Module):
    """An activation without parameters (``inplace`` accepted, as PyTorch)."""
    _fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return type(self)._fn(x, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class SELU(_Simple):
    """The self-normalising ELU, ``scale * elu(x, alpha)``.

    >>> ember.nn.SELU()(ember.tensor([-1., 1.]))
    tensor([-1.1113, 1.0507])
    """
    _fn = staticmethod(F.selu)


class Mish(_Simple):
    """``x * tanh(softplus(x))``.

    >>> ember.nn.Mish()(ember.tensor([1.]))
    tensor([0.8651])
    """
    _fn = staticmethod(F.mish)


class Hardswish(_Simple):
    """``x * relu6(x + 3) / 6``.

    >>> ember.nn.Hardswish()(ember.tensor([1.]))
    tensor([0.6667])
    """
    _fn = staticmethod(F.hardswish)


class Hardsigmoid(_Simple):
    """``relu6(x + 3) / 6``.

    >>> ember.nn.Hardsigmoid()(ember.tensor([0.]))
    tensor([0.5000])
    """
    _fn = staticmethod(F.hardsigmoid)


class Softsign(Module):
    """``x / (1 + |x|)``.

    >>> ember.nn.Softsign()(ember.tensor([3.]))
    tensor([0.7500])
    """
    def forward(self, x):
        return F.softsign(x)


class Tanhshrink(Module):
    """``x - tanh(x)``.

    >>> ember.nn.Tanhshrink()(ember.tensor([1.]))
    tensor([0.2384])
    """
    def forward(self, x):
        return F.tanhshrink(x)


class CELU(Module):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    >>> ember.nn.CELU()(ember.tensor([-1., 1.]))
    tensor([-0.6321, 1.0000])
    """
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return F.celu(x, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``.

    >>> ember.nn.Softplus()(ember.tensor([0.]))
    tensor([0.6931])
    """
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softshrink(Module):
    """Shrink towards 0 by ``lambd`` (0 inside ``[-lambd, lambd]``).

    >>> ember.nn.Softshrink()(ember.tensor([-2., 0.2, 1.]))
    tensor([-1.5000, 0.0000, 0.5000])
    """
    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return F.softshrink(x, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Softshrink):
    """``x`` outside ``[-lambd, lambd]``, 0 inside.

    >>> ember.nn.Hardshrink()(ember.tensor([-2., 0.2, 1.]))
    tensor([-2., 0., 1.])
    """
    def forward(self, x):
        return F.hardshrink(x, self.lambd)


class Threshold(Module):
    """``x`` where ``x > threshold``, ``value`` elsewhere.

    >>> ember.nn.Threshold(1.0, 9.0)(ember.tensor([0.5, 2.]))
    tensor([9., 2.])
    """
    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + \
            (", inplace=True" if self.inplace else "")


class GLU(Module):
    """The gated linear unit along ``dim``: first half times sigmoid of the second.

    >>> ember.nn.GLU()(ember.tensor([1., 0.]))
    tensor([0.5000])
    """
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmin(Module):
    """``softmax(-x)`` along ``dim``.

    >>> ember.nn.Softmin(dim=0)(ember.tensor([0., 1.]))
    tensor([0.7311, 0.2689])
    """
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmin(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(Module):
    """Leaky ReLU with a learned slope (one, or one per channel), initialised to ``init``.

    >>> ember.nn.PReLU()(ember.tensor([-2., 3.]))
    tensor([-0.5000, 3.0000], grad_fn=<...>)
    """
    def __init__(self, num_parameters=1, init=0.25, dtype=None, device=None):
        super().__init__()
        if num_parameters < 1:
            raise OpError(f"PReLU: num_parameters must be at least 1, got {num_parameters}")
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty(num_parameters, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


# ---- distances ---------------------------------------------------------------------------

class CosineSimilarity(Module):
    """Cosine similarity of two inputs along ``dim``.

    >>> ember.nn.CosineSimilarity()(ember.tensor([[1., 0.]]), ember.tensor([[1., 1.]]))
    tensor([0.7071])
    """
    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``||x1 - x2 + eps||_p`` along the last dim.

    >>> ember.nn.PairwiseDistance(eps=0.0)(ember.tensor([[0., 0.]]), ember.tensor([[3., 4.]]))
    tensor([5.])
    """
    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


# ---- dropouts ------------------------------------------------------------------------------

class _DropoutNd(Module):
    _fn = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise OpError(f"{type(self).__name__}: dropout probability has to be between 0 "
                             f"and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return type(self)._fn(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) with probability ``p`` in training mode.

    >>> ember.nn.Dropout1d().eval()(ember.ones(1, 2, 3)).shape
    ember.Size([1, 2, 3])
    """
    _fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zeroes whole channels of (N, C, H, W) with probability ``p`` in training mode.

    >>> ember.nn.Dropout2d().eval()(ember.ones(1, 2, 3, 3)).shape
    ember.Size([1, 2, 3, 3])
    """
    _fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zeroes whole channels of (N, C, D, H, W) with probability ``p`` in training mode.

    >>> ember.nn.Dropout3d().eval()(ember.ones(1, 2, 1, 3, 3)).shape
    ember.Size([1, 2, 1, 3, 3])
    """
    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks (keeps zero mean and unit variance).

    >>> ember.nn.AlphaDropout().eval()(ember.ones(3))
    tensor([1., 1., 1.])
    """
    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """``AlphaDropout`` over whole channels.

    >>> ember.nn.FeatureAlphaDropout().eval()(ember.ones(1, 2, 3)).shape
    ember.Size([1, 2, 3])
    """
    _fn = staticmethod(F.feature_alpha_dropout)


# ---- padding -------------------------------------------------------------------------------

def _pad_tuple(padding, n, name):
    if isinstance(padding, int):
        return (padding,) * (2 * n)
    padding = tuple(padding)
    if len(padding) != 2 * n:
        raise OpError(f"{name}: padding must be an int or a tuple of {2 * n} ints, got "
                         f"{padding}")
    return padding


class _PadNd(Module):
    _n, _mode = 1, "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _pad_tuple(padding, self._n, type(self).__name__)

    def forward(self, x):
        if x.ndim not in (self._n + 1, self._n + 2):
            raise OpError(f"{type(self).__name__}: expected a {self._n + 1}-D or "
                             f"{self._n + 2}-D input, got shape {tuple(x.shape)}")
        return F.pad(x, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value``.

    >>> ember.nn.ConstantPad1d(1, 9.)(ember.tensor([[1., 2.]]))
    tensor([[9., 1., 2., 9.]])
    """
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, x):
        if x.ndim < self._n:
            raise OpError(f"{type(self).__name__}: expected an input with at least "
                             f"{self._n} dims, got shape {tuple(x.shape)}")
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dims with ``value``; padding = (left, right, top, bottom).

    >>> ember.nn.ConstantPad2d(1, 0.)(ember.ones(1, 1, 1)).shape
    ember.Size([1, 3, 3])
    """
    _n = 2


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros.

    >>> ember.nn.ZeroPad1d(1)(ember.tensor([[1., 2.]]))
    tensor([[0., 1., 2., 0.]])
    """
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ZeroPad1d):
    """Pad the last two dims with zeros; padding = (left, right, top, bottom).

    >>> ember.nn.ZeroPad2d((1, 0, 0, 0))(ember.ones(1, 1, 1))
    tensor([[[0., 1.]]])
    """
    _n = 2


class ReflectionPad1d(_PadNd):
    """Pad the last dim with its reflection (the edge not repeated).

    >>> ember.nn.ReflectionPad1d(1)(ember.tensor([[1., 2., 3.]]))
    tensor([[2., 1., 2., 3., 2.]])
    """
    _mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Pad the last two dims with their reflection.

    >>> ember.nn.ReflectionPad2d(1)(ember.ones(1, 2, 2)).shape
    ember.Size([1, 4, 4])
    """
    _n = 2


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating its edge values.

    >>> ember.nn.ReplicationPad1d(1)(ember.tensor([[1., 2.]]))
    tensor([[1., 1., 2., 2.]])
    """
    _mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Pad the last two dims by repeating their edge values.

    >>> ember.nn.ReplicationPad2d(1)(ember.ones(1, 2, 2)).shape
    ember.Size([1, 4, 4])
    """
    _n = 2


class CircularPad1d(_PadNd):
    """Pad the last dim circularly (wrapping around).

    >>> ember.nn.CircularPad1d(1)(ember.tensor([[1., 2., 3.]]))
    tensor([[3., 1., 2., 3., 1.]])
    """
    _mode = "circular"


class CircularPad2d(CircularPad1d):
    """Pad the last two dims circularly.

    >>> ember.nn.CircularPad2d(1)(ember.ones(1, 2, 2)).shape
    ember.Size([1, 4, 4])
    """
    _n = 2


# ---- rearrangement and resampling ------------------------------------------------------------

class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r).

    >>> ember.nn.PixelShuffle(2)(ember.ones(1, 4, 3, 3)).shape
    ember.Size([1, 1, 6, 6])
    """
    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W).

    >>> ember.nn.PixelUnshuffle(2)(ember.ones(1, 1, 6, 6)).shape
    ember.Size([1, 4, 3, 3])
    """
    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x):
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of ``groups`` groups.

    >>> ember.nn.ChannelShuffle(2)(ember.arange(4.).reshape(1, 4, 1)).flatten()
    tensor([0., 2., 1., 3.])
    """
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        return F.channel_shuffle(x, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class Upsample(Module):
    """Resize the spatial dims to ``size`` or by ``scale_factor`` (``interpolate``'s modes).

    >>> ember.nn.Upsample(scale_factor=2)(ember.tensor([[[1., 2.]]]))
    tensor([[[1., 1., 2., 2.]]])
    """
    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if size is not None and scale_factor is not None:
            raise OpError(f"{type(self).__name__}: give only one of size and scale_factor")
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self):
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')`` for (N, C, H, W).

    >>> ember.nn.UpsamplingNearest2d(scale_factor=2)(ember.ones(1, 1, 2, 2)).shape
    ember.Size([1, 1, 4, 4])
    """
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)`` for (N, C, H, W).

    >>> ember.nn.UpsamplingBilinear2d(scale_factor=2)(ember.ones(1, 1, 2, 2)).shape
    ember.Size([1, 1, 4, 4])
    """
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


# ---- normalisation ---------------------------------------------------------------------------

class RMSNorm(Module):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dims.

    >>> ember.nn.RMSNorm(2, eps=0.0)(ember.tensor([[3., 4.]]))
    tensor([[0.8485, 1.1314]], grad_fn=<...>)
    """
    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, dtype=None,
                 device=None):
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        self.normalized_shape, self.eps = ns, eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*ns, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class _InstanceNorm(Module):
    _spatial = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, dtype=None, device=None, bias=True):
        super().__init__()
        init_channel_norm(self, num_features, eps, momentum, affine, bias, track_running_stats,
                          dtype, device)

    def forward(self, x):
        name = type(self).__name__
        n = self._spatial
        if x.ndim not in (n + 1, n + 2):
            raise OpError(f"{name}: expected a {n + 1}-D (unbatched) or {n + 2}-D input, "
                             f"got shape {tuple(x.shape)}")
        unbatched = x.ndim == n + 1
        if unbatched:
            x = x.unsqueeze(0)
        if self.affine and x.shape[1] != self.num_features:
            raise OpError(f"{name}({self.num_features}): expected {self.num_features} "
                             f"channels (dim 1), got input of shape {tuple(x.shape)}")
        use_input = self.training or not self.track_running_stats
        out = F.instance_norm(x, self.running_mean if self.training else None,
                              self.running_var if self.training else None,
                              self.weight, self.bias, True, self.momentum, self.eps) \
            if use_input else \
            F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            False, self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Normalise each (example, channel) of (N, C, L) over L.

    >>> ember.nn.InstanceNorm1d(1, eps=0.0)(ember.tensor([[[1., 3.]]]))
    tensor([[[-1., 1.]]])
    """
    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Normalise each (example, channel) of (N, C, H, W) over (H, W).

    >>> ember.nn.InstanceNorm2d(1, eps=0.0)(ember.tensor([[[[1., 3.]]]]))
    tensor([[[[-1., 1.]]]])
    """
    _spatial = 2


class LocalResponseNorm(Module):
    """Divide by ``(k + alpha * mean of x^2 over size neighbouring channels) ** beta``.

    >>> ember.nn.LocalResponseNorm(1, alpha=1.0, beta=1.0)(ember.ones(1, 1, 1))
    tensor([[[0.5000]]])
    """
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# ---- recurrent cells -----------------------------------------------------------------------

class _CellBase(Module):
    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, dtype=None, device=None,
                 nonlinearity=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        if nonlinearity is not None:
            self.nonlinearity = nonlinearity
        g = self._gates * hidden_size
        self.weight_ih = Parameter(empty(g, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(g, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(g, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(g, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        k = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _check(self, input, hx):
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise OpError(f"{name}: expected a 1-D (unbatched) or 2-D (batch, input_size) "
                             f"input, got shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise OpError(f"{name}(input_size={self.input_size}): input has "
                             f"{input.shape[-1]} features (shape {tuple(input.shape)})")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        return x, batched

    def _hidden(self, h, x, batched):
        name = type(self).__name__
        if h is None:
            return zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
        if h.ndim != (2 if batched else 1):
            raise OpError(f"{name}: a {'2-D' if batched else '1-D'} input needs a "
                             f"{'2-D' if batched else '1-D'} hidden state, got shape "
                             f"{tuple(h.shape)}")
        h = h if batched else h.unsqueeze(0)
        if tuple(h.shape) != (x.shape[0], self.hidden_size):
            raise OpError(f"{name}: hidden state of shape {tuple(h.shape)} does not match "
                             f"(batch={x.shape[0]}, hidden_size={self.hidden_size})")
        return h

    def _proj(self, x, h):
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        gh = F.linear(h, self.weight_hh, self.bias_hh)
        return gi, gh

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = getattr(self, "nonlinearity", "tanh")
        if nl != "tanh":
            s += f", nonlinearity={nl}"
        return s


class RNNCell(_CellBase):
    """One step of an Elman RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu).

    >>> cell = ember.nn.RNNCell(3, 4)
    >>> cell(ember.ones(2, 3)).shape
    ember.Size([2, 4])
    """
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None,
                 device=None):
        if nonlinearity not in ("tanh", "relu"):
            raise OpError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype, device, nonlinearity)

    def forward(self, input, hx=None):
        x, batched = self._check(input, hx)
        h = self._hidden(hx, x, batched)
        gi, gh = self._proj(x, h)
        out = (gi + gh).tanh() if self.nonlinearity == "tanh" else F.relu(gi + gh)
        return out if batched else out.squeeze(0)


class LSTMCell(_CellBase):
    """One LSTM step; returns ``(h', c')``. Gates in PyTorch's order: input, forget, cell,
    output.

    >>> h, c = ember.nn.LSTMCell(3, 4)(ember.ones(2, 3))
    >>> h.shape, c.shape
    (ember.Size([2, 4]), ember.Size([2, 4]))
    """
    _gates = 4

    def forward(self, input, hx=None):
        x, batched = self._check(input, hx)
        if hx is None:
            h = c = self._hidden(None, x, batched)
        else:
            if len(hx) != 2:
                raise OpError("LSTMCell: hx must be a pair (h, c)")
            h, c = self._hidden(hx[0], x, batched), self._hidden(hx[1], x, batched)
        gi, gh = self._proj(x, h)
        dt = c.dtype
        if dt.name in ("float32", "float64") and gi.dtype == dt and gh.dtype == dt:
            from ..ops.nn_ops import lstm_cell  # one fused step, its VJP one kernel too
            h2, c2 = lstm_cell(gi + gh, c)
            return (h2, c2) if batched else (h2.squeeze(0), c2.squeeze(0))
        i, f, g, o = (gi + gh).chunk(4, 1)  # mixed precisions under autocast
        c2 = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h2 = o.sigmoid() * c2.tanh()
        return (h2, c2) if batched else (h2.squeeze(0), c2.squeeze(0))


class GRUCell(_CellBase):
    """One GRU step: reset/update gates, ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``.

    >>> ember.nn.GRUCell(3, 4)(ember.ones(2, 3)).shape
    ember.Size([2, 4])
    """
    _gates = 3

    def forward(self, input, hx=None):
        from .rnn import _fused_gru
        from ..ops.nn_ops import gru_sequence
        x, batched = self._check(input, hx)
        h = self._hidden(hx, x, batched)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        if _fused_gru(gi, self.weight_hh, self.bias_hh, h):  # one step of the fused kernel
            b = self.bias_hh if self.bias_hh is not None else \
                zeros(3 * self.hidden_size, dtype=h.dtype)
            out = gru_sequence(gi.unsqueeze(0), self.weight_hh.mT, b, h).squeeze(0)
            return out if batched else out.squeeze(0)
        gh = F.linear(h, self.weight_hh, self.bias_hh)  # mixed precisions under autocast
        ir, iz, inn = gi.chunk(3, 1)
        hr, hz, hn = gh.chunk(3, 1)
        r = (ir + hr).sigmoid()
        z = (iz + hz).sigmoid()
        n = (inn + r * hn).tanh()
        out = (1 - z) * n + z * h
        return out if batched else out.squeeze(0)


# ---- bags and patches -----------------------------------------------------------------------

class EmbeddingBag(Module):
    """Sums, means or maxes of embedding rows per bag (rows of a 2-D input, or slices of a
    1-D input starting at ``offsets``), without materialising the per-index embeddings'
    sequence dim.

    >>> bag = ember.nn.EmbeddingBag(10, 3, mode="sum")
    >>> bag(ember.tensor([1, 2, 4, 5, 4]), ember.tensor([0, 2])).shape
    ember.Size([2, 3])
    """
    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, dtype=None, device=None):
        super().__init__()
        if mode not in ("sum", "mean", "max"):
            raise OpError(f"EmbeddingBag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise OpError(f"EmbeddingBag: padding_idx must be within num_embeddings "
                                 f"({num_embeddings}), got {padding_idx}")
            if padding_idx < 0:
                padding_idx += num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype,
                                          device=device))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise OpError(f"EmbeddingBag: _weight has shape {tuple(_weight.shape)}, "
                                 f"expected {(num_embeddings, embedding_dim)}")
            self.weight = Parameter(_weight)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            from ..core.autograd import no_grad
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


class Unfold(Module):
    """Sliding patches of (N, C, H, W) as columns (N, C * kh * kw, L).

    >>> ember.nn.Unfold(2)(ember.ones(1, 3, 4, 4)).shape
    ember.Size([1, 12, 9])
    """
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, x):
        return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Unfold):
    """Sum columns (N, C * kh * kw, L) back into an (N, C, H, W) image.

    >>> ember.nn.Fold((3, 3), 2)(ember.ones(1, 4, 4))
    tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]])
    """
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, x):
        return F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return f"output_size={self.output_size}, " + super().extra_repr()


# ---- losses --------------------------------------------------------------------------------

class MarginRankingLoss(_Loss):
    """``max(0, -y * (x1 - x2) + margin)``.

    >>> ember.nn.MarginRankingLoss()(ember.tensor([1.]), ember.tensor([2.]), ember.tensor([1.]))
    tensor(1.)
    """
    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)


class CosineEmbeddingLoss(MarginRankingLoss):
    """``1 - cos`` for similar pairs (y = 1), ``max(0, cos - margin)`` for dissimilar ones.

    >>> x = ember.tensor([[1., 0.]])
    >>> ember.nn.CosineEmbeddingLoss()(x, x, ember.tensor([1.]))
    tensor(0.)
    """
    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin,
                                       reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """``max(0, d(a, p) - d(a, n) + margin)``.

    >>> a = ember.tensor([[0., 0.]])
    >>> ember.nn.TripletMarginLoss(eps=0.0)(a, a, ember.tensor([[3., 4.]]))
    tensor(0.)
    """
    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None,
                 reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise OpError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p,
                                     self.eps, self.swap, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """Poisson negative log likelihood.

    >>> ember.nn.PoissonNLLLoss()(ember.tensor([0.]), ember.tensor([1.]))
    tensor(1.)
    """
    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log likelihood with a predicted variance.

    >>> ember.nn.GaussianNLLLoss()(ember.tensor([1.]), ember.tensor([1.]), ember.tensor([1.]))
    tensor(0.)
    """
    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-class logistic loss averaged over classes.

    >>> ember.nn.MultiLabelSoftMarginLoss()(ember.tensor([[0., 0.]]), ember.tensor([[1., 0.]]))
    tensor(0.6931)
    """
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, self.weight,
                                             reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss.

    >>> ember.nn.MultiMarginLoss()(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([3]))
    tensor(0.3250)
    """
    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise OpError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        self.p, self.margin = p, margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """``log(1 + exp(-y * x))``.

    >>> ember.nn.SoftMarginLoss()(ember.tensor([0.]), ember.tensor([1.]))
    tensor(0.6931)
    """
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``x`` for y = 1, ``max(0, margin - x)`` for y = -1.

    >>> ember.nn.HingeEmbeddingLoss()(ember.tensor([0.3, 0.3]), ember.tensor([1., -1.]))
    tensor(0.5000)
    """
    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class CTCLoss(_Loss):
    """The connectionist temporal classification loss (see ``F.ctc_loss``), as
    ``torch.nn.CTCLoss``: ``loss(log_probs, targets, input_lengths, target_lengths)``.

    >>> lp = ember.tensor([[[-0.7, -0.7]]]).expand(3, 1, 2)  # 3 frames, {blank, 'a'}
    >>> ember.nn.CTCLoss(reduction="sum")(lp, ember.tensor([[1]]), [3], [1])
    tensor(0.3082)
    """
    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)


class _FractionalMaxPool(Module):
    _nd = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        if output_size is None and output_ratio is None:
            raise OpError(f"{type(self).__name__}: give output_size or output_ratio")
        self.kernel_size, self.output_size, self.output_ratio = (kernel_size, output_size,
                                                                 output_ratio)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)

    def forward(self, input):
        fn = F.fractional_max_pool2d if self._nd == 2 else F.fractional_max_pool3d
        return fn(input, self.kernel_size, self.output_size, self.output_ratio,
                  self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPool):
    """Fractional max pooling over H and W (see ``F.fractional_max_pool2d``), as
    ``torch.nn.FractionalMaxPool2d``.

    >>> ember.nn.FractionalMaxPool2d(2, output_ratio=0.5)(ember.zeros(1, 3, 8, 8)).shape
    ember.Size([1, 3, 4, 4])
    """
    _nd = 2


class FractionalMaxPool3d(_FractionalMaxPool):
    """Fractional max pooling over D, H and W, as ``torch.nn.FractionalMaxPool3d``.

    >>> ember.nn.FractionalMaxPool3d(2, output_size=3)(ember.zeros(1, 1, 6, 6, 6)).shape
    ember.Size([1, 1, 3, 3, 3])
    """
    _nd = 3


class LinearCrossEntropyOptions:
    """PyTorch's chunking settings for ``linear_cross_entropy`` (a memory saving of its
    kernels): kept and shown, with no effect on ember's results.

    >>> ember.nn.LinearCrossEntropyOptions(batch_chunk_size=1024).batch_chunk_size
    1024
    """

    def __init__(self, allow_retain_graph=False, batch_chunk_size=None, chunking_method="auto",
                 acc_policy="auto", acc_dtype=None):
        self.allow_retain_graph, self.batch_chunk_size = allow_retain_graph, batch_chunk_size
        self.chunking_method, self.acc_policy = chunking_method, acc_policy
        self.acc_dtype = acc_dtype

    def __repr__(self):
        return (f"LinearCrossEntropyOptions(allow_retain_graph={self.allow_retain_graph}, "
                f"batch_chunk_size={self.batch_chunk_size}, chunking_method="
                f"{self.chunking_method!r}, acc_policy={self.acc_policy!r}, acc_dtype="
                f"{self.acc_dtype})")


class LinearCrossEntropyLoss(_WeightedLoss):
    """A linear layer to ``num_classes`` (times ``out_features``) logits and the cross
    entropy against ``target`` in one module (as ``torch.nn.LinearCrossEntropyLoss``; the
    projection's parameters are ``linear.weight``/``linear.bias``).

    >>> loss = ember.nn.LinearCrossEntropyLoss(3, 4)
    >>> loss.linear.weight.shape, loss(ember.ones(2, 3), ember.tensor([0, 1])).shape
    (ember.Size([4, 3]), ember.Size([]))
    """
    def __init__(self, in_features, num_classes, *, out_features=(), bias=False, device=None,
                 dtype=None, reduction="mean", weight=None, ignore_index=None,
                 label_smoothing=0.0, options=None):
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise OpError(f"LinearCrossEntropyLoss: expected weight of shape "
                          f"{(num_classes,)}, got {tuple(weight.shape)}")
        if not 0 <= label_smoothing <= 1:
            raise OpError(f"LinearCrossEntropyLoss: label_smoothing must be in [0, 1], got "
                          f"{label_smoothing}")
        super().__init__(weight, reduction=reduction)
        from .layers import Linear
        self.num_classes, self.out_features = num_classes, tuple(out_features)
        self.ignore_index, self.label_smoothing, self.options = (ignore_index, label_smoothing,
                                                                 options)
        self.linear = Linear(in_features, math.prod(self.out_features) * num_classes,
                             bias=bias, device=device, dtype=dtype)

    def forward(self, input, target):
        shape = (self.num_classes,) + self.out_features
        w = self.linear.weight.reshape(shape + (self.linear.in_features,))
        b = None if self.linear.bias is None else self.linear.bias.reshape(shape)
        return F.linear_cross_entropy(input, w, target, linear_bias=b, weight=self.weight,
                                      reduction=self.reduction, ignore_index=self.ignore_index,
                                      label_smoothing=self.label_smoothing,
                                      options=self.options)


__all__ = [
    "FractionalMaxPool2d", "FractionalMaxPool3d", "LinearCrossEntropyLoss",
    "LinearCrossEntropyOptions", "CTCLoss", "Hardtanh", "Softplus", "PReLU", "SELU", "CELU", "Mish", "Hardswish", "Hardsigmoid",
    "Softsign", "Tanhshrink", "Softshrink", "Hardshrink", "Threshold", "GLU", "Softmin",
    "CosineSimilarity", "PairwiseDistance", "Dropout1d", "Dropout2d", "Dropout3d",
    "AlphaDropout", "FeatureAlphaDropout", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d",
    "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
    "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "PixelShuffle", "PixelUnshuffle",
    "ChannelShuffle", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "RMSNorm",
    "InstanceNorm1d", "InstanceNorm2d", "LocalResponseNorm", "RNNCell", "LSTMCell", "GRUCell",
    "MarginRankingLoss", "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss",
    "GaussianNLLLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss", "SoftMarginLoss",
    "HingeEmbeddingLoss", "EmbeddingBag", "Unfold", "Fold"]
