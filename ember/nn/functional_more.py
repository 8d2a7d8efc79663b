"""More of ``torch.nn.functional`` (activations, channel dropouts, pixel shuffles, distances,
cell recurrences and margin/likelihood losses), composed from ember ops; re-exported by
``ember.nn.functional`` with PyTorch's names and arguments."""
from __future__ import annotations

import math

import numpy as np

from ..ops.elementwise import softplus, sigmoid, where
from ..ops.nn_ops import softmax, one_hot
from ..core.autograd import no_grad
from ..ops.creation_ops import ones, zeros
from ..random.generator import dropout
from ..ops.slicing import pad
from ..core.tensor import Tensor
from ..transforms.effects import update_buffer as _update_stat
from ._reduction import legacy_reduction as _legacy
from ._inplace import into as _into
from ..core.exceptions import OpError

__all__ = [
    "prelu", "selu", "celu", "mish", "hardswish", "hardsigmoid", "softsign", "tanhshrink",
    "softshrink", "hardshrink", "threshold", "glu", "softmin", "cosine_similarity",
    "pairwise_distance", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
    "rms_norm", "instance_norm",
    "local_response_norm", "margin_ranking_loss", "cosine_embedding_loss",
    "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss", "soft_margin_loss",
    "hinge_embedding_loss", "embedding_bag", "unfold", "fold"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _reduce(x, reduction, op):
    if reduction == "mean":
        return x.mean()
    if reduction == "sum":
        return x.sum()
    if reduction == "none":
        return x
    raise OpError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


# ---- activations -----------------------------------------------------------------------

def prelu(input, weight):
    """``input`` where positive, ``weight * input`` elsewhere; ``weight`` holds one slope or one
    per channel (dim 1).

    >>> ember.nn.functional.prelu(ember.tensor([[-2., 3.]]), ember.tensor([0.25]))
    tensor([[-0.5000, 3.0000]])
    """
    n = weight.numel()
    if input.ndim >= 2:
        c = input.shape[1]
        if n not in (1, c):
            raise OpError(f"prelu: weight has {n} slopes but the input {tuple(input.shape)} "
                             f"has {c} channels (dim 1); use 1 or {c} slopes")
        w = weight.reshape((1, n) + (1,) * (input.ndim - 2))
    else:
        if n != 1:
            raise OpError(f"prelu: an input of shape {tuple(input.shape)} has no channel "
                             f"dim; the weight must hold 1 slope, got {n}")
        w = weight.reshape(())
    return where(input > 0, input, w * input)


def selu(input, inplace=False):
    """``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` with the self-normalising
    constants.

    >>> ember.nn.functional.selu(ember.tensor([-1., 1.]))
    tensor([-1.1113, 1.0507])
    """
    return _into(input, lambda input: _SELU_SCALE * where(input > 0, input,
                                                          _SELU_ALPHA * input.expm1()),
                 inplace)


def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    >>> ember.nn.functional.celu(ember.tensor([-1., 1.]), alpha=2.0)
    tensor([-0.7869, 1.0000])
    """
    if alpha == 0:
        raise OpError("celu: alpha must not be 0 (it divides the input)")
    return _into(input, lambda input: where(input > 0, input, alpha * (input / alpha).expm1()),
                 inplace)


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``.

    >>> ember.nn.functional.mish(ember.tensor([-1., 1.]))
    tensor([-0.3034, 0.8651])
    """
    return _into(input, lambda input: input * softplus(input).tanh(), inplace)


def hardsigmoid(input, inplace=False):
    """``relu6(x + 3) / 6``.

    >>> ember.nn.functional.hardsigmoid(ember.tensor([-4., 0., 1.5]))
    tensor([0.0000, 0.5000, 0.7500])
    """
    return _into(input, lambda input: (input + 3.0).clamp(0.0, 6.0) / 6.0, inplace)


def hardswish(input, inplace=False):
    """``x * relu6(x + 3) / 6``.

    >>> ember.nn.functional.hardswish(ember.tensor([-4., 1., 4.]))
    tensor([-0.0000, 0.6667, 4.0000])
    """
    return _into(input, lambda input: input * ((input + 3.0).clamp(0.0, 6.0) / 6.0),
                 inplace)


def softsign(input):
    """``x / (1 + |x|)``.

    >>> ember.nn.functional.softsign(ember.tensor([-1., 3.]))
    tensor([-0.5000, 0.7500])
    """
    return input / (input.abs() + 1.0)


def tanhshrink(input):
    """``x - tanh(x)``.

    >>> ember.nn.functional.tanhshrink(ember.tensor([1.]))
    tensor([0.2384])
    """
    return input - input.tanh()


def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between.

    >>> ember.nn.functional.softshrink(ember.tensor([-2., 0.2, 1.]))
    tensor([-1.5000, 0.0000, 0.5000])
    """
    if lambd < 0:
        raise OpError(f"softshrink: lambd must be non-negative, got {lambd}")
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, 0 elsewhere.

    >>> ember.nn.functional.hardshrink(ember.tensor([-2., 0.2, 1.]))
    tensor([-2., 0., 1.])
    """
    return where((input > lambd) | (input < -lambd), input, 0.0)


def threshold(input, threshold, value, inplace=False):
    """``x`` where ``x > threshold``, ``value`` elsewhere.

    >>> ember.nn.functional.threshold(ember.tensor([-1., 0.5, 2.]), 1.0, 9.0)
    tensor([9., 9., 2.])
    """
    return _into(input, lambda input: where(input > threshold, input, value), inplace)


def glu(input, dim=-1):
    """The gated linear unit: split ``input`` in halves ``a, b`` along ``dim``;
    ``a * sigmoid(b)``.

    >>> ember.nn.functional.glu(ember.tensor([1., 0.]))
    tensor([0.5000])
    """
    if input.ndim == 0:
        raise OpError("glu: does not support a 0-dim input")
    n = input.shape[dim]
    if n % 2:
        raise OpError(f"glu: halving dimension {dim} of the input {tuple(input.shape)} "
                         f"needs an even size, got {n}")
    a, b = input.chunk(2, dim)
    return a * sigmoid(b)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-input, dim)``.

    >>> ember.nn.functional.softmin(ember.tensor([0., 1.]), dim=0)
    tensor([0.7311, 0.2689])
    """
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, -1 if dim is None else dim)


# ---- distances --------------------------------------------------------------------------

def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``x1 . x2 / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim`` (broadcasting).

    >>> ember.nn.functional.cosine_similarity(ember.tensor([[1., 0.]]), ember.tensor([[1., 1.]]))
    tensor([0.7071])
    """
    if tuple(x1.shape) != tuple(x2.shape):  # broadcast first: the norms are of the
        from ..ops.shape import broadcast_tensors  # broadcast operands (as PyTorch)
        x1, x2 = broadcast_tensors(x1, x2)
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` along the last dim.

    >>> ember.nn.functional.pairwise_distance(ember.tensor([[0., 0.]]), ember.tensor([[3., 4.]]), eps=0.0)
    tensor([5.])
    """
    d = x1 - x2 + eps
    if d.ndim == 0:
        return d.abs()
    return d.norm(p, -1, keepdim=keepdim)


# ---- dropouts -----------------------------------------------------------------------------

def _channel_mask(input, p, training, batched_ndim, name):
    if not 0.0 <= p <= 1.0:
        raise OpError(f"{name}: probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (batched_ndim - 1, batched_ndim):
        raise OpError(f"{name}: expected a {batched_ndim - 1}-D or {batched_ndim}-D input "
                         f"(channels then {batched_ndim - 2} spatial dims), got shape "
                         f"{tuple(input.shape)}")
    lead = input.ndim - (batched_ndim - 2)
    shape = tuple(input.shape[:lead]) + (1,) * (batched_ndim - 2)
    return dropout(ones(shape, dtype=input.dtype, device=input.device), p, training)


def _feature_dropout(input, p, training, nd, name):
    if not training or p == 0.0:
        if not 0.0 <= p <= 1.0:
            raise OpError(f"{name}: probability has to be between 0 and 1, but got {p}")
        return input
    return input * _channel_mask(input, p, training, nd, name)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) with probability ``p``, scale the rest by
    1/(1-p).

    >>> ember.nn.functional.dropout1d(ember.ones(1, 2, 3), training=False).shape
    ember.Size([1, 2, 3])
    """
    return _feature_dropout(input, p, training, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) with probability ``p``. As PyTorch (and with its
    warnings): a 3-D input is read as (N, C, L), and any other rank drops along dims 0 and 1
    (for a 2-D (N, C) input: single elements).

    >>> ember.nn.functional.dropout2d(ember.ones(1, 2, 3, 3), training=False).shape
    ember.Size([1, 2, 3, 3])
    """
    import warnings
    if not 0.0 <= p <= 1.0:
        raise OpError(f"dropout2d: probability has to be between 0 and 1, but got {p}")
    nd = input.ndim
    if nd not in (3, 4):
        warnings.warn(f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated "
                      f"and will result in an error in a future release. To retain the "
                      f"behavior and silence this warning, please use dropout instead. Note "
                      f"that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension (i.e. 3D or 4D inputs).", UserWarning, stacklevel=2)
    if nd == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", UserWarning,
                      stacklevel=2)
    if not training or p == 0.0 or nd < 2:
        return input if nd >= 2 or not training or p == 0.0 else dropout(input, p, training)
    shape = tuple(input.shape[:2]) + (1,) * (nd - 2)
    return input * dropout(ones(shape, dtype=input.dtype, device=input.device), p, training)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability ``p``.

    >>> ember.nn.functional.dropout3d(ember.ones(1, 2, 1, 3, 3), training=False).shape
    ember.Size([1, 2, 1, 3, 3])
    """
    return _feature_dropout(input, p, training, 5, "dropout3d")


_ALPHA_P = -_SELU_ALPHA * _SELU_SCALE  # SELU's negative saturation value


def _alpha_apply(input, keep, p):
    a = ((1.0 - p) * (1.0 + p * _ALPHA_P ** 2)) ** -0.5
    b = -a * _ALPHA_P * p
    return (input * keep + _ALPHA_P * (1.0 - keep)) * a + b


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps a SELU network's mean and variance: dropped elements take SELU's
    saturation value, then an affine map restores the statistics.

    >>> ember.nn.functional.alpha_dropout(ember.ones(3), 0.5, training=False)
    tensor([1., 1., 1.])
    """
    if not 0.0 <= p <= 1.0:
        raise OpError(f"alpha_dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0
    keep = dropout(ones(tuple(input.shape), dtype=input.dtype, device=input.device), p) * (1 - p)
    return _alpha_apply(input, keep, p)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """``alpha_dropout`` over whole channels (dim 1) of a batched input.

    >>> ember.nn.functional.feature_alpha_dropout(ember.ones(1, 2, 3), 0.5).shape
    ember.Size([1, 2, 3])
    """
    if not 0.0 <= p <= 1.0:
        raise OpError(f"feature_alpha_dropout: probability has to be between 0 and 1, "
                         f"but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0
    if input.ndim < 2:
        raise OpError(f"feature_alpha_dropout: expected an input with a batch and a channel "
                         f"dim, got shape {tuple(input.shape)}")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    keep = dropout(ones(shape, dtype=input.dtype, device=input.device), p) * (1 - p)
    return _alpha_apply(input, keep, p)


# ---- rearrangements -----------------------------------------------------------------------

def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r).

    >>> ember.nn.functional.pixel_shuffle(ember.arange(4.).reshape(1, 4, 1, 1), 2)
    tensor([[[[0., 1.],
              [2., 3.]]]])
    """
    r = int(upscale_factor)
    if input.ndim < 3:
        raise OpError(f"pixel_shuffle: expected an input with at least 3 dims, got shape "
                         f"{tuple(input.shape)}")
    if r <= 0:
        raise OpError(f"pixel_shuffle: upscale_factor must be positive, got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise OpError(f"pixel_shuffle: the channel dim ({c}) of the input "
                         f"{tuple(input.shape)} must be divisible by upscale_factor ** 2 = "
                         f"{r * r}")
    k = len(lead)
    x = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    x = x.permute(tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return x.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of ``pixel_shuffle``.

    >>> ember.nn.functional.pixel_unshuffle(ember.arange(4.).reshape(1, 1, 2, 2), 2).flatten()
    tensor([0., 1., 2., 3.])
    """
    r = int(downscale_factor)
    if input.ndim < 3:
        raise OpError(f"pixel_unshuffle: expected an input with at least 3 dims, got shape "
                         f"{tuple(input.shape)}")
    if r <= 0:
        raise OpError(f"pixel_unshuffle: downscale_factor must be positive, got {r}")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise OpError(f"pixel_unshuffle: the height ({h}) and width ({w}) of the input "
                         f"{tuple(input.shape)} must be divisible by downscale_factor = {r}")
    k = len(lead)
    x = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    x = x.permute(tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return x.reshape(tuple(lead) + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """Interleave the channels (dim 1) of ``groups`` groups: (N, g * k, *) viewed as
    (N, g, k, *), transposed to (N, k, g, *).

    >>> ember.nn.functional.channel_shuffle(ember.arange(4.).reshape(1, 4, 1), 2).flatten()
    tensor([0., 2., 1., 3.])
    """
    g = int(groups)
    if input.ndim < 3:
        raise OpError(f"channel_shuffle: expected an input with at least 3 dims, got shape "
                         f"{tuple(input.shape)}")
    if g <= 0:
        raise OpError(f"channel_shuffle: groups must be positive, got {g}")
    n, c, *rest = input.shape
    if c % g:
        raise OpError(f"channel_shuffle: the number of channels ({c}) must be divisible by "
                         f"groups = {g}")
    x = input.reshape((n, g, c // g) + tuple(rest)).transpose(1, 2)
    return x.reshape(tuple(input.shape))


# ---- normalisation --------------------------------------------------------------------------

def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2) + eps)`` over the trailing ``normalized_shape`` dims, times
    ``weight``; ``eps`` defaults to the dtype's machine epsilon.

    >>> ember.nn.functional.rms_norm(ember.tensor([[3., 4.]]), (2,), eps=0.0)
    tensor([[0.8485, 1.1314]])
    """
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(ns) > input.ndim or tuple(input.shape[input.ndim - len(ns):]) != ns:
        raise OpError(f"rms_norm: normalized_shape {ns} doesn't match the trailing dims "
                         f"of the input {tuple(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input.dtype.np).eps)
    dims = tuple(range(input.ndim - len(ns), input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each (example, channel) over its spatial dims; with running statistics,
    training updates them (mean over the batch, unbiased variance) and ``use_input_stats=False``
    normalises with them.

    >>> x = ember.tensor([[[1., 3.]]])
    >>> ember.nn.functional.instance_norm(x, eps=0.0)
    tensor([[[-1., 1.]]])
    """
    if input.ndim < 3:
        raise OpError(f"instance_norm: expected an input (N, C, *spatial) with at least one "
                         f"spatial dim, got shape {tuple(input.shape)}")
    c = input.shape[1]
    shape = (1, c) + (1,) * (input.ndim - 2)
    dims = tuple(range(2, input.ndim))
    if use_input_stats and running_mean is None and running_var is None:
        from .functional import _fused_norm_args
        from ..ops import norm
        rows = input.reshape(input.shape[0], c, -1)
        fused = _fused_norm_args(rows, (rows.shape[2],), None, None)
        if fused is not None:  # each (example, channel) a row of layer norm's fused kernel
            out = norm.layer_norm(rows, *fused, 1, eps)[0].reshape(tuple(input.shape))
            if weight is not None:
                out = out * weight.reshape(shape)
            return out + bias.reshape(shape) if bias is not None else out
    if use_input_stats:
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, unbiased=False, keepdim=True)
        if running_mean is not None or running_var is not None:
            n = 1
            for d in dims:
                n *= input.shape[d]
            with no_grad():
                if running_mean is not None:
                    bm = mean.detach().reshape(input.shape[0], c).mean(0)
                    _update_stat(running_mean, running_mean * (1 - momentum) + bm * momentum)
                if running_var is not None:
                    bv = (var.detach() * (n / max(n - 1, 1))).reshape(input.shape[0], c).mean(0)
                    _update_stat(running_var, running_var * (1 - momentum) + bv * momentum)
    else:
        if running_mean is None or running_var is None:
            raise OpError("instance_norm: use_input_stats=False needs running_mean and "
                             "running_var")
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x / (k + alpha * mean of x^2 over `size` neighbouring channels) ** beta`` (the window
    is zero-padded: ``size // 2`` channels before, ``(size - 1) // 2`` after).

    >>> ember.nn.functional.local_response_norm(ember.ones(1, 1, 1), 1, alpha=1.0, beta=1.0)
    tensor([[[0.5000]]])
    """
    if input.ndim < 3:
        raise OpError(f"local_response_norm: expected an input (N, C, *) with at least 3 "
                         f"dims, got shape {tuple(input.shape)}")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = (input * input).movedim(1, -1)
    sq = pad(sq, (size // 2, (size - 1) // 2))
    acc = sq[..., 0:c]
    for i in range(1, size):
        acc = acc + sq[..., i:i + c]
    div = (acc.movedim(-1, 1) * (alpha / size) + k) ** beta
    return input / div


# ---- losses -------------------------------------------------------------------------------

def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``.

    >>> ember.nn.functional.margin_ranking_loss(ember.tensor([1.]), ember.tensor([2.]), ember.tensor([1.]))
    tensor(1.)
    """
    reduction = _legacy(size_average, reduce, reduction, "margin_ranking_loss")
    if not (input1.ndim == input2.ndim == target.ndim):
        raise OpError(f"margin_ranking_loss: input1, input2 and target must have the same "
                         f"number of dims, got shapes {tuple(input1.shape)}, "
                         f"{tuple(input2.shape)}, {tuple(target.shape)}")
    loss = (-target * (input1 - input2) + margin).clamp(min=0.0)
    return _reduce(loss, reduction, "margin_ranking_loss")


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where
    ``target == -1`` (cosine over the last dim).

    >>> x = ember.tensor([[1., 0.]])
    >>> ember.nn.functional.cosine_embedding_loss(x, x, ember.tensor([1.]))
    tensor(0.)
    """
    reduction = _legacy(size_average, reduce, reduction, "cosine_embedding_loss")
    if input1.ndim not in (1, 2) or input1.shape != input2.shape:
        raise OpError(f"cosine_embedding_loss: input1 and input2 must be 1-D or 2-D of the "
                         f"same shape, got {tuple(input1.shape)} and {tuple(input2.shape)}")
    e = 1e-12
    prod = (input1 * input2).sum(-1)
    m1 = (input1 * input1).sum(-1) + e
    m2 = (input2 * input2).sum(-1) + e
    cos = prod / (m1 * m2).sqrt()
    zeros = cos * 0
    loss = where(target == 1, 1 - cos, zeros) + \
        where(target == -1, (cos - margin).clamp(min=0.0), zeros)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the ``p``-norm pairwise distance
    (``swap``: the smaller of ``d(a, n)`` and ``d(p, n)``).

    >>> a = ember.tensor([[0., 0.]])
    >>> ember.nn.functional.triplet_margin_loss(a, a, ember.tensor([[3., 4.]]), eps=0.0)
    tensor(0.)
    """
    reduction = _legacy(size_average, reduce, reduction, "triplet_margin_loss")
    if not (anchor.ndim == positive.ndim == negative.ndim) or anchor.ndim not in (1, 2):
        raise OpError(f"triplet_margin_loss: anchor, positive and negative must all be 1-D "
                         f"or 2-D, got shapes {tuple(anchor.shape)}, {tuple(positive.shape)}, "
                         f"{tuple(negative.shape)}")
    if margin <= 0:
        raise OpError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = where(d_swap < d_neg, d_swap, d_neg)
    loss = (d_pos - d_neg + margin).clamp(min=0.0)
    return _reduce(loss, reduction, "triplet_margin_loss")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log likelihood: ``exp(input) - target * input`` (``log_input``) or
    ``input - target * log(input + eps)``; ``full`` adds Stirling's term where target > 1.

    >>> ember.nn.functional.poisson_nll_loss(ember.tensor([0.]), ember.tensor([1.]))
    tensor(1.)
    """
    reduction = _legacy(size_average, reduce, reduction, "poisson_nll_loss")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        t = where(target > 1, target, 1.0)
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def _broadcasts(shape, to):
    try:
        return tuple(np.broadcast_shapes(shape, to)) == tuple(to)
    except ValueError:
        return False


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """``0.5 * (log(var) + (input - target)^2 / var)`` (+ ``0.5 log(2 pi)`` when ``full``),
    ``var`` clamped below at ``eps`` (the clamp passes the gradient through, as PyTorch).

    >>> ember.nn.functional.gaussian_nll_loss(ember.tensor([1.]), ember.tensor([1.]), ember.tensor([1.]))
    tensor(0.)
    """
    if not isinstance(var, Tensor) and not hasattr(var, "shape"):
        var = ones(tuple(input.shape), dtype=input.dtype, device=input.device) * float(var)
    vs, ins = tuple(var.shape), tuple(input.shape)
    if vs != ins:
        if ins[:-1] == vs:
            var = var.unsqueeze(-1)
        elif not (ins[:-1] == vs[:-1] and vs[-1:] == (1,)) and not _broadcasts(vs, ins):
            raise OpError(f"gaussian_nll_loss: var of shape {vs} does not fit the input "
                             f"{ins}: give the input's shape, its shape without the last dim, "
                             f"that with a last dim of 1, or a shape that broadcasts to it")
    if reduction not in ("mean", "sum", "none"):
        raise OpError(f"gaussian_nll_loss: reduction must be 'mean', 'sum' or 'none', "
                         f"got {reduction!r}")
    if bool((var < 0).any()):
        raise OpError("gaussian_nll_loss: var has negative entries")
    var = var + (var.clamp(min=eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-class logistic loss averaged over the classes (dim -1), then reduced over the
    batch.

    >>> ember.nn.functional.multilabel_soft_margin_loss(ember.tensor([[0., 0.]]), ember.tensor([[1., 0.]]))
    tensor(0.6931)
    """
    reduction = _legacy(size_average, reduce, reduction, "multilabel_soft_margin_loss")
    loss = -(target * -softplus(-input) + (1 - target) * -softplus(input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(-1) / input.shape[-1] if input.ndim else loss
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss: ``sum_{j != y} max(0, margin - x[y] + x[j]) ** p / C``
    (times ``weight[y]``).

    >>> ember.nn.functional.multi_margin_loss(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([3]))
    tensor(0.3250)
    """
    reduction = _legacy(size_average, reduce, reduction, "multi_margin_loss")
    if p not in (1, 2):
        raise OpError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    if input.ndim not in (0, 1, 2):
        raise OpError(f"multi_margin_loss: expected a 0-D, 1-D or 2-D input, got shape "
                         f"{tuple(input.shape)}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t = target.reshape(-1).long()
    c = x.shape[1]
    if t.shape[0] != x.shape[0]:
        raise OpError(f"multi_margin_loss: target of shape {tuple(target.shape)} does not "
                         f"match the input {tuple(input.shape)}")
    xy = x.gather(1, t.unsqueeze(1))
    h = (x - xy + margin).clamp(min=0.0)
    if p == 2:
        h = h * h
    not_y = 1 - one_hot(t, c).to(x.dtype)
    h = h * not_y
    if weight is not None:
        h = h * weight[t].unsqueeze(1)
    loss = h.sum(1) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction, "multi_margin_loss")


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """The logistic loss ``log(1 + exp(-target * input))``.

    >>> ember.nn.functional.soft_margin_loss(ember.tensor([0.]), ember.tensor([1.]))
    tensor(0.6931)
    """
    reduction = _legacy(size_average, reduce, reduction, "soft_margin_loss")
    return _reduce(softplus(-target * input), reduction, "soft_margin_loss")


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``.

    >>> ember.nn.functional.hinge_embedding_loss(ember.tensor([0.3, 0.3]), ember.tensor([1., -1.]))
    tensor(0.5000)
    """
    reduction = _legacy(size_average, reduce, reduction, "hinge_embedding_loss")
    zeros = input * 0
    loss = where(target != 1, (margin - input).clamp(min=0.0), zeros) + \
        where(target != -1, input, zeros)
    return _reduce(loss, reduction, "hinge_embedding_loss")


# ---- bags and patches ----------------------------------------------------------------------

def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sum, mean or max of the embedding rows of each bag: the rows of a 2-D ``input``, or
    the slices of a 1-D ``input`` that start at ``offsets``. ``padding_idx`` entries are
    skipped; an empty bag gives zeros. ``max_norm`` and ``scale_grad_by_freq`` act as in
    ``embedding``; ``sparse=True`` gives a dense gradient (PyTorch's values, densified).

    >>> w = ember.tensor([[1., 2.], [3., 4.], [5., 6.]])
    >>> ember.nn.functional.embedding_bag(ember.tensor([0, 1, 2]), w, ember.tensor([0, 2]))
    tensor([[2., 3.],
            [5., 6.]])
    """
    if mode not in ("sum", "mean", "max"):
        raise OpError(f"embedding_bag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise OpError(f"embedding_bag: per_sample_weights is only supported with "
                         f"mode='sum', got mode={mode!r}")
    idx = np.asarray(input.numpy() if hasattr(input, "numpy") else input)
    if idx.dtype.kind not in "iu":
        raise OpError(f"embedding_bag: input must hold integer indices, got {idx.dtype}")
    if idx.ndim == 2:
        if offsets is not None:
            raise OpError(f"embedding_bag: offsets must be None for a 2-D input "
                             f"{idx.shape} (each row is a bag)")
        b, length = idx.shape
        starts = np.arange(b) * length
        flat = idx.reshape(-1)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
    elif idx.ndim == 1:
        if offsets is None:
            raise OpError("embedding_bag: a 1-D input needs offsets (the start of each bag)")
        starts = np.asarray(offsets.numpy() if hasattr(offsets, "numpy") else offsets,
                            dtype=np.int64).reshape(-1)
        if include_last_offset:
            if starts.size == 0:
                raise OpError("embedding_bag: include_last_offset needs at least one offset")
            starts = starts[:-1]
        flat = idx
        psw = per_sample_weights
        if starts.size and (starts[0] != 0 or np.any(np.diff(starts) < 0)
                            or starts[-1] > flat.size):
            raise OpError(f"embedding_bag: offsets must start at 0, be non-decreasing and "
                             f"at most len(input) = {flat.size}, got {starts.tolist()}")
    else:
        raise OpError(f"embedding_bag: input must be 1-D (with offsets) or 2-D, got shape "
                         f"{idx.shape}")
    if flat.size and (flat.min() < 0 or flat.max() >= weight.shape[0]):
        raise IndexError(f"embedding_bag: indices must be in [0, {weight.shape[0]}), got "
                         f"values in [{flat.min()}, {flat.max()}]")
    if max_norm is not None:  # the rows used, renormalised in place first (as PyTorch)
        from ..ops.nn_ops import embedding_renorm_
        embedding_renorm_(weight, Tensor._wrap(flat.astype(np.int64)), max_norm, norm_type)
    if padding_idx is not None:
        padding_idx = padding_idx % weight.shape[0]
    b = starts.size
    ends = np.append(starts[1:], flat.size) if b else starts
    counts = ends - starts
    lmax = int(counts.max()) if b else 0
    pos = starts[:, None] + np.arange(max(lmax, 1))[None, :]
    valid = np.arange(max(lmax, 1))[None, :] < counts[:, None]
    pos = np.where(valid, pos, 0)
    if flat.size == 0:
        flat = np.zeros(1, np.int64)
    rows = flat[pos]
    if padding_idx is not None:
        valid = valid & (rows != padding_idx)
    d = weight.shape[1]
    g = weight.index_select(0, Tensor._wrap(rows.reshape(-1).astype(np.int64)))
    g = g.reshape(b, max(lmax, 1), d)
    if scale_grad_by_freq and idx.size:  # each row's gradient over its count in the input
        cnt = np.bincount(idx.reshape(-1), minlength=weight.shape[0])
        inv = (1.0 / np.maximum(cnt[rows], 1)).astype(weight.dtype.np)[..., None]
        g = g.detach() + (g - g.detach()) * Tensor._wrap(inv)
    m = Tensor._wrap(valid[..., None])
    if mode == "max":
        out = where(m, g, float("-inf")).amax(1)
        return where(Tensor._wrap(valid.any(1)[:, None]), out, 0.0)
    if psw is not None:
        pw = psw.index_select(0, Tensor._wrap(pos.reshape(-1).astype(np.int64)))
        g = g * pw.reshape(b, max(lmax, 1), 1)
    out = where(m, g, 0.0).sum(1)
    if mode == "mean":
        n = np.maximum(valid.sum(1), 1).astype(weight.dtype.np)[:, None]
        out = out / Tensor._wrap(n)
    return out


def _pair(v, name, what):
    t = (v, v) if isinstance(v, int) else tuple(v)
    if len(t) != 2:
        raise OpError(f"{name}: {what} must be an int or a pair, got {v}")
    return t


def _patch_index(c, hw, kernel_size, dilation, padding, stride, name):
    """Flat positions in the padded (C, Hp, Wp) image of every patch element, as (C*kh*kw, L)."""
    kh, kw = _pair(kernel_size, name, "kernel_size")
    dh, dw = _pair(dilation, name, "dilation")
    ph, pw = _pair(padding, name, "padding")
    sh, sw = _pair(stride, name, "stride")
    if min(kh, kw, dh, dw, sh, sw) <= 0 or min(ph, pw) < 0:
        raise OpError(f"{name}: kernel_size, dilation and stride must be positive and padding "
                         f"non-negative, got kernel_size={kernel_size}, dilation={dilation}, "
                         f"padding={padding}, stride={stride}")
    hp, wp = hw[0] + 2 * ph, hw[1] + 2 * pw
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dw * (kw - 1) - 1) // sw + 1
    if oh <= 0 or ow <= 0:
        raise OpError(f"{name}: the kernel {(kh, kw)} (dilation {(dh, dw)}) does not fit the "
                         f"padded size {(hp, wp)}")
    r = (np.arange(oh) * sh)[None, :, None] + (np.arange(kh) * dh)[:, None, None]  # kh, oh, 1
    q = (np.arange(ow) * sw)[None, None, :] + (np.arange(kw) * dw)[:, None, None]  # kw, 1, ow
    pos = r[:, None, :, :] * wp + q[None, :, :, :]  # kh, kw, oh, ow
    pos = pos.reshape(kh * kw, oh * ow)
    full = (np.arange(c) * hp * wp)[:, None, None] + pos[None]
    return full.reshape(c * kh * kw, oh * ow).astype(np.int64), (hp, wp), (ph, pw), oh * ow


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding patches (im2col): (N, C, H, W) -> (N, C * kh * kw, L), L the number of
    patch positions (unbatched (C, H, W) too).

    >>> ember.nn.functional.unfold(ember.arange(4.).reshape(1, 1, 2, 2), 1).shape
    ember.Size([1, 1, 4])
    """
    if input.ndim not in (3, 4):
        raise OpError(f"unfold: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                         f"shape {tuple(input.shape)}")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    n, c, h, w = x.shape
    idx, (hp, wp), (ph, pw), length = _patch_index(c, (h, w), kernel_size, dilation, padding,
                                                   stride, "unfold")
    if ph or pw:
        x = pad(x, (pw, pw, ph, ph))
    cols = x.reshape(n, c * hp * wp).index_select(1, Tensor._wrap(idx.reshape(-1)))
    cols = cols.reshape(n, idx.shape[0], length)
    return cols if input.ndim == 4 else cols.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding patches back into an image (col2im), the adjoint of ``unfold``:
    (N, C * kh * kw, L) -> (N, C, H, W) (unbatched (C * kh * kw, L) too).

    >>> ember.nn.functional.fold(ember.ones(1, 4, 1), (2, 2), 2)
    tensor([[[[1., 1.],
              [1., 1.]]]])
    """
    if input.ndim not in (2, 3):
        raise OpError(f"fold: expected a 2-D (C * kh * kw, L) or 3-D (N, C * kh * kw, L) "
                         f"input, got shape {tuple(input.shape)}")
    x = input if input.ndim == 3 else input.unsqueeze(0)
    n, ck, length = x.shape
    kh, kw = _pair(kernel_size, "fold", "kernel_size")
    if ck % (kh * kw):
        raise OpError(f"fold: dim 1 of the input ({ck}) must be divisible by the kernel's "
                         f"size kh * kw = {kh * kw}")
    c = ck // (kh * kw)
    h, w = _pair(output_size, "fold", "output_size")
    idx, (hp, wp), (ph, pw), expect = _patch_index(c, (h, w), kernel_size, dilation, padding,
                                                   stride, "fold")
    if length != expect:
        raise OpError(f"fold: the input has {length} patches (dim 2) but output_size "
                         f"{(h, w)} with kernel_size={kernel_size}, dilation={dilation}, "
                         f"padding={padding}, stride={stride} gives {expect}")
    out = zeros((n, c * hp * wp), dtype=x.dtype, device=x.device).index_add(1, Tensor._wrap(idx.reshape(-1)),
                                                       x.reshape(n, ck * length))
    out = out.reshape(n, c, hp, wp)[:, :, ph:ph + h, pw:pw + w]
    return out if input.ndim == 3 else out.squeeze(0)



# ---- connectionist temporal classification -------------------------------------------------

_CTC_NEG = -1e30  # log(0) stand-in: finite, so impossible paths give zero gradients, not NaN


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """The CTC loss (Graves et al. 2006), as ``torch.nn.functional.ctc_loss``: the negative
    log-probability of each target sequence summed over every alignment of it to the
    input frames (repeats merged, ``blank`` dropped). ``log_probs`` (T, N, C) or (T, C) are
    log-softmax outputs; ``targets`` (N, S) padded or all targets concatenated (1-D);
    ``input_lengths``/``target_lengths`` per sample (tensors or sequences of ints).
    ``reduction='mean'`` divides each loss by its target length, then averages over the
    batch (PyTorch's convention); ``zero_infinity`` zeroes impossible samples' losses and
    gradients. Differentiable in ``log_probs`` (the forward recursion over time, in log
    space).

    >>> lp = ember.tensor([[[-0.7, -0.7]]]).expand(3, 1, 2)  # 3 frames, {blank, 'a'}
    >>> ember.nn.functional.ctc_loss(lp, ember.tensor([[1]]), [3], [1], reduction="sum")
    tensor(0.3082)
    """
    import ember
    lp = log_probs
    if not isinstance(lp, Tensor):
        raise TypeError(f"ctc_loss: log_probs must be a Tensor, got {type(lp).__name__}")
    batched = lp.ndim == 3
    if lp.ndim not in (2, 3):
        raise OpError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape "
                      f"{tuple(lp.shape)}")
    if not batched:
        lp = lp.unsqueeze(1)
    T, N, C = lp.shape
    il = np.asarray(input_lengths.detach().numpy() if isinstance(input_lengths, Tensor)
                    else input_lengths, dtype=np.int64).reshape(-1)
    tl = np.asarray(target_lengths.detach().numpy() if isinstance(target_lengths, Tensor)
                    else target_lengths, dtype=np.int64).reshape(-1)
    if il.shape != (N,) or tl.shape != (N,):
        raise OpError(f"ctc_loss: input_lengths and target_lengths need one entry per sample "
                      f"({N}), got {il.size} and {tl.size}")
    if (il > T).any() or (il < 0).any():
        raise OpError(f"ctc_loss: input_lengths must lie in [0, {T}] (the frames of "
                      f"log_probs), got {il.tolist()}")
    tg = np.asarray(targets.detach().numpy() if isinstance(targets, Tensor) else targets,
                    dtype=np.int64)
    if tg.ndim == 1 and batched and N > 1 or (tg.ndim == 1 and tg.size == tl.sum() and
                                              not (batched and tg.size == N * tl.max())):
        offs = np.concatenate([[0], np.cumsum(tl)])
        rows = [tg[offs[i]:offs[i + 1]] for i in range(N)]
    else:
        tg2 = tg.reshape(N, -1) if tg.ndim >= 1 else tg.reshape(N, 1)
        if (tl > tg2.shape[1]).any():
            raise OpError(f"ctc_loss: target_lengths {tl.tolist()} exceed the targets' "
                          f"length {tg2.shape[1]}")
        rows = [tg2[i, :tl[i]] for i in range(N)]
    S = int(tl.max()) if N else 0
    L = 2 * S + 1
    ext = np.full((N, L), blank, dtype=np.int64)
    skip = np.zeros((N, L), dtype=bool)
    for i, r in enumerate(rows):
        if r.size and ((r < 0).any() or (r >= C).any() or (r == blank).any()):
            raise OpError(f"ctc_loss: targets must be classes in [0, {C}) other than the "
                          f"blank {blank}; sample {i} has {r.tolist()}")
        ext[i, 1:2 * len(r):2] = r
        if len(r) > 1:  # a label may follow the previous label directly unless they repeat
            skip[i, 3:2 * len(r):2] = r[1:] != r[:-1]
    valid = np.arange(L)[None, :] < (2 * tl + 1)[:, None]
    neg = ember.tensor(_CTC_NEG, dtype=lp.dtype)
    # emissions: lp[t, n, ext[n, s]] for every (t, n, s)
    em = ember.gather(lp, 2, ember.tensor(ext)[None].expand(T, N, L))
    vmask = ember.tensor(valid)
    smask = ember.tensor(skip)
    alpha = ember.where(ember.tensor(np.arange(L) < 2)[None] & vmask, em[0], neg)
    alive = il > 0
    for t in range(1, T):
        a1 = ember.cat([neg.expand(N, 1), alpha[:, :-1]], 1)
        a2 = ember.where(smask, ember.cat([neg.expand(N, 2), alpha[:, :-2]], 1), neg)
        m = ember.maximum(ember.maximum(alpha, a1), a2)
        new = m + ember.log(ember.exp(alpha - m) + ember.exp(a1 - m) + ember.exp(a2 - m)) + em[t]
        new = ember.where(vmask, new, neg)
        step = ember.tensor((il > t)[:, None])
        alpha = ember.where(step, new, alpha)
    last = ember.tensor(2 * tl)[:, None]
    end1 = ember.gather(alpha, 1, last).squeeze(1)
    end2 = ember.gather(alpha, 1, (last - 1).clamp(min=0)).squeeze(1)
    end2 = ember.where(ember.tensor(tl > 0), end2, neg)
    m = ember.maximum(end1, end2)
    loss = -(m + ember.log(ember.exp(end1 - m) + ember.exp(end2 - m)))
    impossible = (loss > -_CTC_NEG / 2) | ember.tensor(~alive & (tl > 0))
    loss = ember.where(impossible, ember.tensor(0.0 if zero_infinity else float("inf"),
                                                dtype=lp.dtype), loss)
    if reduction == "mean":
        out = (loss / ember.tensor(np.maximum(tl, 1), dtype=lp.dtype)).mean()
    elif reduction == "sum":
        out = loss.sum()
    elif reduction == "none":
        out = loss
    else:
        raise OpError(f"ctc_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return out if batched or reduction != "none" else out.squeeze(0)


__all__.append("ctc_loss")


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0,
                         options=None):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`` (as
    ``torch.nn.functional.linear_cross_entropy``): ``linear_weight`` (C, in) or
    (C, d_1, ..., d_K, in) for a K-dimensional loss over logits (N, C, d_1, ..., d_K);
    ``options`` (PyTorch's chunking settings, a memory saving) is accepted and changes nothing.

    >>> x, w = ember.ones(2, 3), ember.zeros(4, 3)
    >>> ember.nn.functional.linear_cross_entropy(x, w, ember.tensor([0, 1]))  # log 4
    tensor(1.3863)
    """
    from .functional import cross_entropy, linear
    if input.ndim not in (1, 2):
        raise OpError(f"linear_cross_entropy: expected input with 1 or 2 dims, got shape "
                      f"{tuple(input.shape)}")
    if linear_weight.ndim < 2 or linear_weight.shape[-1] != input.shape[-1]:
        raise OpError(f"linear_cross_entropy: linear_weight must be (C, ..., in_features = "
                      f"{input.shape[-1]}), got shape {tuple(linear_weight.shape)}")
    out = tuple(linear_weight.shape[:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != out:
        raise OpError(f"linear_cross_entropy: expected linear_bias of shape {out}, got "
                      f"{tuple(linear_bias.shape)}")
    if len(out) > 1 and input.ndim == 1:
        raise OpError(f"linear_cross_entropy: a K-dimensional loss (linear_weight "
                      f"{tuple(linear_weight.shape)}) needs a batched input (N, "
                      f"{input.shape[-1]}), got shape {tuple(input.shape)}")
    w2 = linear_weight.reshape(-1, linear_weight.shape[-1])
    b2 = None if linear_bias is None else linear_bias.reshape(-1)
    logits = linear(input, w2, b2).reshape(tuple(input.shape[:-1]) + out)
    if tuple(target.shape) == tuple(logits.shape) and ignore_index is not None:
        raise OpError("linear_cross_entropy: ignore_index cannot be given when the target "
                      "holds probabilities")
    return cross_entropy(logits, target, weight=weight,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)


__all__.append("linear_cross_entropy")


# ---- fractional max pooling (Graham 2014) --------------------------------------------------

def _fractional_starts(inp, out, k, u):
    """The window starts along one dim for the sample ``u`` in [0, 1) (PyTorch's sequence):
    ``int((i + u) alpha) - int(u alpha)``, alpha = (inp - k) / (out - 1), the last at
    inp - k."""
    if out == 1:
        return np.full(u.shape + (1,), inp - k, np.int64)
    alpha = (inp - k) / (out - 1)
    i = np.arange(out - 1)
    # truncation toward 0 (a C cast, as PyTorch): the same as floor for u in [0, 1)
    s = (np.trunc((i + u[..., None]) * alpha) - np.trunc(u[..., None] * alpha)).astype(np.int64)
    return np.concatenate([s, np.full(u.shape + (1,), inp - k, np.int64)], -1)


def _fractional_max_pool(nd, input, kernel_size, output_size, output_ratio, return_indices,
                         _random_samples):
    import ember
    op = f"fractional_max_pool{nd}d"
    x = input
    if x.ndim not in (nd + 1, nd + 2):
        raise OpError(f"{op}: expected a {nd + 1}-D or {nd + 2}-D input, got shape "
                      f"{tuple(x.shape)}")
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x.unsqueeze(0)
    N, C = x.shape[0], x.shape[1]
    size = tuple(x.shape[2:])
    k = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
    if output_size is None:
        if output_ratio is None:
            raise OpError(f"{op}: give output_size or output_ratio")
        r = (output_ratio,) * nd if isinstance(output_ratio, (int, float)) else \
            tuple(output_ratio)
        if not all(0 < v < 1 for v in r):
            raise OpError(f"{op}: output_ratio must be in (0, 1), got {output_ratio}")
        output_size = tuple(int(s * v) for s, v in zip(size, r))
    o = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
    if len(k) != nd or len(o) != nd or any(oi + ki - 1 > si for oi, ki, si in zip(o, k, size)):
        raise OpError(f"{op}: output_size {o} with kernel_size {k} does not fit the input's "
                      f"spatial size {size} (need output + kernel - 1 <= input per dim)")
    if _random_samples is None:
        u = ember.rand(N, C, nd, dtype=x.dtype)
    else:
        u = _random_samples
        if tuple(u.shape) != (N, C, nd):
            raise OpError(f"{op}: _random_samples must have shape {(N, C, nd)}, got "
                          f"{tuple(u.shape)}")
    un = np.asarray(u.detach().numpy(), dtype=np.float64)
    # which sample drives which dim, as PyTorch: 2-D (W, H), 3-D (T, H, W)
    idx = []
    for d in range(nd):
        col = nd - 1 - d if nd == 2 else d
        st = _fractional_starts(size[d], o[d], k[d], un[:, :, col])  # (N, C, o_d)
        idx.append(st[..., None] + np.arange(k[d]))                        # (N, C, o_d, k_d)
    # windows: (N, C, o_1..o_nd, k_1..k_nd) by advanced indexing
    grids = []
    for d in range(nd):
        shape = [N, C] + [1] * (2 * nd)
        shape[2 + d] = o[d]
        shape[2 + nd + d] = k[d]
        grids.append(idx[d].reshape(shape))
    n_i = np.arange(N).reshape([N, 1] + [1] * (2 * nd))
    c_i = np.arange(C).reshape([1, C] + [1] * (2 * nd))
    flat = 0
    for d in range(nd):
        flat = flat * size[d] + grids[d]
    flat = np.broadcast_to(flat, (N, C) + o + k)
    xf = x.reshape(N, C, int(np.prod(size)))
    win = xf[ember.tensor(np.broadcast_to(n_i, flat.shape)),
             ember.tensor(np.broadcast_to(c_i, flat.shape)), ember.tensor(flat)]
    win = win.reshape((N, C) + o + (int(np.prod(k)),))
    out = win.amax(-1)
    if unbatched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    arg = np.asarray(win.detach().numpy()).argmax(-1)
    ind = np.take_along_axis(flat.reshape((N, C) + o + (int(np.prod(k)),)), arg[..., None],
                             -1)[..., 0]
    ind = ember.tensor(ind.astype(np.int64))
    return out, (ind.squeeze(0) if unbatched else ind)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling over H and W (as ``F.fractional_max_pool2d``): windows of
    ``kernel_size`` at pseudo-random starts (one sample in [0, 1) per dim, channel and
    example, ``_random_samples`` (N, C, 2) when given) so the output has ``output_size``
    (or ``output_ratio`` of the input); differentiable.

    >>> x = ember.arange(16.).reshape(1, 1, 4, 4)
    >>> ember.nn.functional.fractional_max_pool2d(x, 2, output_size=2,
    ...                                           _random_samples=ember.zeros(1, 1, 2))
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _fractional_max_pool(2, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling over D, H and W (see ``fractional_max_pool2d``; samples
    (N, C, 3)).

    >>> ember.nn.functional.fractional_max_pool3d(ember.zeros(1, 1, 6, 6, 6), 2,
    ...                                           output_ratio=0.5).shape
    ember.Size([1, 1, 3, 3, 3])
    """
    return _fractional_max_pool(3, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


__all__ += ["fractional_max_pool2d", "fractional_max_pool3d"]
