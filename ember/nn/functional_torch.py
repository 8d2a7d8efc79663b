"""``gumbel_softmax``, ``affine_grid`` and ``grid_sample`` (PyTorch's ``nn.functional`` names), composed from
ember ops so they differentiate and trace."""
from __future__ import annotations

import numpy as np

from ._reduction import legacy_reduction as _legacy
from ..core.tensor import Tensor
from ..core.primitive import Tracer
from ..core.creation import tensor as _tensor
from ..ops import elementwise as _ew, shape as _sh, indexing as _ix, linalg as _la
from ..ops import nn_ops as _nn, reduce as _red
from ..random import generator as _rnd

__all__ = ["gumbel_softmax", "affine_grid", "grid_sample", "rrelu", "lp_pool1d", "lp_pool2d",
           "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d", "pdist", "bilinear",
           "triplet_margin_with_distance_loss", "multilabel_margin_loss",
           "multi_head_attention_forward"]


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A sample from the Gumbel-softmax (Concrete) distribution over ``dim``: softmax of
    ``(logits + Gumbel noise) / tau``; with ``hard=True`` a one-hot of its argmax whose
    gradient is the soft sample's (straight-through), as PyTorch's.

    >>> y = ember.nn.functional.gumbel_softmax(ember.zeros(2, 4), tau=0.5, hard=True)
    >>> y.sum(-1), bool(((y == 0) | (y == 1)).all())
    (tensor([1., 1.]), True)
    """
    if not isinstance(logits, Tensor) or not logits.dtype.is_floating_point:
        raise TypeError(f"gumbel_softmax: logits must be a floating-point tensor, got "
                        f"{getattr(logits, 'dtype', type(logits).__name__)}")
    if tau <= 0:
        raise ValueError(f"gumbel_softmax: tau must be positive, got {tau}")
    u = _rnd.rand(*logits.shape, dtype=logits.dtype)
    tiny = float(np.finfo(logits.dtype.np).tiny)
    g = -_ew.log(-_ew.log(_ew.clamp(u, tiny, 1.0 - float(np.finfo(logits.dtype.np).eps))))
    y_soft = _nn.softmax((logits + g) / tau, dim)
    if not hard:
        return y_soft
    idx = _red.argmax(y_soft, dim, keepdim=True)
    y_hard = _ix.scatter(_ew.full_like_traced(y_soft, 0.0), dim, idx,
                         _ew.full_like_traced(idx.to(y_soft.dtype), 1.0))
    return y_hard - y_soft.detach() + y_soft


def _base(n, align_corners, dtype):
    if align_corners:
        v = np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)
    else:
        v = (np.arange(n) * 2.0 + 1.0) / n - 1.0
    return v.astype(dtype)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid ``(N, H, W, 2)`` of the 2-d affine maps ``theta`` (``N x 2 x 3``) for
    an output of ``size = (N, C, H, W)``, in normalised ``[-1, 1]`` coordinates (x first), as
    PyTorch's (``align_corners`` defaults to False). Only the 2-d (4-element ``size``) form.

    >>> theta = ember.tensor([[[1., 0., 0.], [0., 1., 0.]]])
    >>> ember.nn.functional.affine_grid(theta, (1, 1, 1, 2), align_corners=False)
    tensor([[[[-0.5000,  0.0000],
              [ 0.5000,  0.0000]]]])
    """
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise ValueError(f"affine_grid: only 2-d grids are supported (size = (N, C, H, W)), "
                         f"got size {size}; the volumetric (5-d) form is not implemented")
    if not isinstance(theta, Tensor) or not theta.dtype.is_floating_point:
        raise TypeError("affine_grid: theta must be a floating-point tensor")
    N, _, H, W = size
    if tuple(theta.shape) != (N, 2, 3):
        raise ValueError(f"affine_grid: expected theta of shape ({N}, 2, 3) for size {size}, "
                         f"got {tuple(theta.shape)}")
    dt = theta.dtype.np
    xs, ys = _base(W, bool(align_corners), dt), _base(H, bool(align_corners), dt)
    base = np.stack([np.broadcast_to(xs[None, :], (H, W)), np.broadcast_to(ys[:, None], (H, W)),
                     np.ones((H, W), dt)], -1).reshape(1, H * W, 3)
    grid = _la.matmul(_tensor(base), _sh.transpose(theta, 1, 2))  # (N, H*W, 2)
    return _sh.reshape(grid, (N, H, W, 2))


def _unnormalize(coord, size, align_corners):
    # [-1, 1] -> pixel coordinates: corner pixels' centres (align_corners) or their edges
    if align_corners:
        return (coord + 1.0) * ((size - 1) / 2.0)
    return ((coord + 1.0) * size - 1.0) / 2.0


def _reflect(coord, twice_low, twice_high):
    # fold coord into [low, high] by mirroring at both ends, any number of times
    if twice_low == twice_high:
        return coord * 0.0
    low, span = twice_low / 2.0, (twice_high - twice_low) / 2.0
    d = _ew.abs(coord - low)
    extra = _ew.fmod(d, span)
    odd = _ew.fmod(_ew.floor(d / span), 2.0) != 0
    return _ew.where(odd, span - extra + low, extra + low)


def _pad_coord(coord, size, padding_mode, align_corners):
    if padding_mode == "border":
        return _ew.clamp(coord, 0.0, float(size - 1))
    if padding_mode == "reflection":
        coord = _reflect(coord, 0.0, 2.0 * (size - 1)) if align_corners else \
            _reflect(coord, -1.0, 2.0 * size - 1.0)
        return _ew.clamp(coord, 0.0, float(size - 1))
    return coord


def _taps(flat, W, H, iy, ix, zero_pad):
    """Values of ``flat`` (N, C, H*W) at integer float coordinates (iy, ix), each (N, P);
    with ``zero_pad`` a tap outside the image reads 0."""
    inside = None
    if zero_pad:
        inside = (ix >= 0) & (ix <= W - 1) & (iy >= 0) & (iy <= H - 1)
        ix, iy = _ew.clamp(ix, 0.0, float(W - 1)), _ew.clamp(iy, 0.0, float(H - 1))
    idx = (iy * W + ix).detach().to(np.int64)  # (N, P)
    N, C = flat.shape[0], flat.shape[1]
    v = _ix.gather(flat, 2, _sh.expand(_sh.unsqueeze(idx, 1), (N, C, idx.shape[-1])))
    if inside is not None:
        v = v * _sh.unsqueeze(inside.to(flat.dtype), 1)
    return v


def _cubic_weights(t):
    # cubic convolution (A = -0.75) weights of the taps at offsets -1, 0, 1, 2
    A = -0.75

    def near(x):  # |x| <= 1
        return ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A

    return far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` (N, C, H, W) at the normalised locations ``grid`` (N, Ho, Wo, 2),
    x then y in ``[-1, 1]``, giving (N, C, Ho, Wo), as PyTorch's: ``mode`` 'bilinear',
    'nearest' or 'bicubic'; ``padding_mode`` 'zeros', 'border' or 'reflection';
    ``align_corners`` (default False) maps -1 and 1 to the corner pixels' centres instead of
    their outer edges. Differentiable in ``input`` and in ``grid`` (not for 'nearest').
    The volumetric form samples (N, C, D, H, W) at a (N, Do, Ho, Wo, 3) grid of (x, y, z)
    with 'bilinear' (trilinear) or 'nearest'.

    >>> img = ember.arange(4.).reshape(1, 1, 2, 2)
    >>> grid = ember.tensor([[[[0., 0.], [-1., -1.]]]])      # the centre, the top-left corner
    >>> ember.nn.functional.grid_sample(img, grid, align_corners=True)
    tensor([[[[1.5000, 0.0000]]]])
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"grid_sample: mode must be 'bilinear', 'nearest' or 'bicubic', "
                         f"got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"grid_sample: padding_mode must be 'zeros', 'border' or "
                         f"'reflection', got {padding_mode!r}")
    if not isinstance(input, Tensor) or not isinstance(grid, Tensor):
        raise TypeError("grid_sample: input and grid must be tensors")
    if input.ndim == 5:
        return _grid_sample_3d(input, grid, mode, padding_mode, bool(align_corners))
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or \
            grid.shape[0] != input.shape[0]:
        raise ValueError(f"grid_sample: expected input (N, C, H, W) and grid (N, Ho, Wo, 2) "
                         f"with the same N, got input {tuple(input.shape)} and grid "
                         f"{tuple(grid.shape)}")
    if not input.dtype.is_floating_point or grid.dtype != input.dtype:
        raise TypeError(f"grid_sample: input and grid must have the same floating dtype, got "
                        f"{input.dtype} and {grid.dtype}")
    ac = bool(align_corners)
    N, C, H, W = input.shape
    Ho, Wo = grid.shape[1], grid.shape[2]
    g = _sh.reshape(grid, (N, Ho * Wo, 2))
    x = _unnormalize(g[..., 0], W, ac)
    y = _unnormalize(g[..., 1], H, ac)
    flat = _sh.reshape(input, (N, C, H * W))
    zero_pad = padding_mode == "zeros"
    if mode == "bicubic":  # padding applies to every tap of the 4x4 neighbourhood
        x0, y0 = _ew.floor(x), _ew.floor(y)
        wx, wy = _cubic_weights(x - x0), _cubic_weights(y - y0)
        out = None
        for j in range(4):
            yj = _pad_coord(y0 + (j - 1.0), H, padding_mode, ac)
            row = None
            for i in range(4):
                xi = _pad_coord(x0 + (i - 1.0), W, padding_mode, ac)
                v = _taps(flat, W, H, yj, xi, zero_pad) * _sh.unsqueeze(wx[i], 1)
                row = v if row is None else row + v
            row = row * _sh.unsqueeze(wy[j], 1)
            out = row if out is None else out + row
    else:
        x, y = _pad_coord(x, W, padding_mode, ac), _pad_coord(y, H, padding_mode, ac)
        if mode == "nearest":
            out = _taps(flat, W, H, _ew.round(y).detach(), _ew.round(x).detach(), zero_pad)
        else:
            x0, y0 = _ew.floor(x).detach(), _ew.floor(y).detach()
            fx, fy = x - x0, y - y0
            out = None
            for dy, wy_ in ((0.0, 1.0 - fy), (1.0, fy)):
                for dx, wx_ in ((0.0, 1.0 - fx), (1.0, fx)):
                    # a corner past the edge reads 0 in every padding mode (after border
                    # or reflection its weight is 0 anyway)
                    v = _taps(flat, W, H, y0 + dy, x0 + dx, True) * \
                        _sh.unsqueeze(wx_ * wy_, 1)
                    out = v if out is None else out + v
    return _sh.reshape(out, (N, C, Ho, Wo))


def _grid_sample_3d(input, grid, mode, padding_mode, ac):
    if mode == "bicubic":
        raise ValueError("grid_sample: mode='bicubic' takes a 4-d input only (as PyTorch); "
                         "use 'bilinear' or 'nearest' for a 5-d one")
    if grid.ndim != 5 or grid.shape[-1] != 3 or grid.shape[0] != input.shape[0]:
        raise ValueError(f"grid_sample: expected input (N, C, D, H, W) and grid "
                         f"(N, Do, Ho, Wo, 3) with the same N, got input {tuple(input.shape)} "
                         f"and grid {tuple(grid.shape)}")
    if not input.dtype.is_floating_point or grid.dtype != input.dtype:
        raise TypeError(f"grid_sample: input and grid must have the same floating dtype, got "
                        f"{input.dtype} and {grid.dtype}")
    N, C, D, H, W = input.shape
    Do, Ho, Wo = grid.shape[1:4]
    g = _sh.reshape(grid, (N, Do * Ho * Wo, 3))
    x = _pad_coord(_unnormalize(g[..., 0], W, ac), W, padding_mode, ac)
    y = _pad_coord(_unnormalize(g[..., 1], H, ac), H, padding_mode, ac)
    z = _pad_coord(_unnormalize(g[..., 2], D, ac), D, padding_mode, ac)
    flat = _sh.reshape(input, (N, C, D * H * W))

    def taps(iz, iy, ix, zero_pad):  # values at integer float coordinates, (N, C, P)
        inside = None
        if zero_pad:
            inside = (ix >= 0) & (ix <= W - 1) & (iy >= 0) & (iy <= H - 1) & \
                (iz >= 0) & (iz <= D - 1)
            ix, iy = _ew.clamp(ix, 0.0, float(W - 1)), _ew.clamp(iy, 0.0, float(H - 1))
            iz = _ew.clamp(iz, 0.0, float(D - 1))
        idx = ((iz * H + iy) * W + ix).detach().to(np.int64)
        v = _ix.gather(flat, 2, _sh.expand(_sh.unsqueeze(idx, 1), (N, C, idx.shape[-1])))
        if inside is not None:
            v = v * _sh.unsqueeze(inside.to(flat.dtype), 1)
        return v
    if mode == "nearest":
        out = taps(_ew.round(z).detach(), _ew.round(y).detach(), _ew.round(x).detach(),
                   padding_mode == "zeros")
    else:
        x0, y0, z0 = _ew.floor(x).detach(), _ew.floor(y).detach(), _ew.floor(z).detach()
        fx, fy, fz = x - x0, y - y0, z - z0
        out = None
        for dz, wz in ((0.0, 1.0 - fz), (1.0, fz)):
            for dy, wy in ((0.0, 1.0 - fy), (1.0, fy)):
                for dx, wx in ((0.0, 1.0 - fx), (1.0, fx)):
                    # a corner past the edge reads 0 (after border or reflection its
                    # weight is 0 anyway)
                    v = taps(z0 + dz, y0 + dy, x0 + dx, True) * _sh.unsqueeze(wx * wy * wz, 1)
                    out = v if out is None else out + v
    return _sh.reshape(out, (N, C, Do, Ho, Wo))


# ---- more of torch.nn.functional: 3-d layers, unpooling, LP pooling, RReLU, in-place forms ----

def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: in training each negative element is scaled by a slope drawn
    uniformly from ``[lower, upper]``; in evaluation by their mean, as PyTorch's.

    >>> ember.nn.functional.rrelu(ember.tensor([-3., 2.]), 0.1, 0.3)
    tensor([-0.6000, 2.0000])
    """
    x = input
    if training:
        slope = _rnd.rand(*x.shape, dtype=x.dtype) * (upper - lower) + lower
    else:
        slope = (lower + upper) / 2.0
    out = _ew.where(x >= 0, x, x * slope)
    return x.copy_(out) if inplace else out


def _lp_pool(nsp, input, norm_type, kernel_size, stride, ceil_mode, op):
    from .functional import avg_pool1d, avg_pool2d, relu
    from ..ops.conv3d import avg_pool3d
    pool = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}[nsp]
    ks = (kernel_size,) * nsp if isinstance(kernel_size, int) else tuple(kernel_size)
    if nsp == 1:
        out = pool(input.pow(norm_type), ks[0], stride, 0, ceil_mode)
    else:
        out = pool(input.pow(norm_type), ks, stride, 0, ceil_mode)
    return (_ew.sign(out) * relu(_ew.abs(out))).mul(float(np.prod(ks))).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The ``norm_type``-norm of each window: ``(sum x**p) ** (1/p)`` (as PyTorch's).

    >>> ember.nn.functional.lp_pool1d(ember.tensor([[[3., 4., 1., 0.]]]), 2, 2)
    tensor([[[5., 1.]]])
    """
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode, "lp_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The ``norm_type``-norm of each window over the last two dims.

    >>> ember.nn.functional.lp_pool2d(ember.ones(1, 1, 2, 2), 1, 2)
    tensor([[[[4.]]]])
    """
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode, "lp_pool2d")


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The ``norm_type``-norm of each window over the last three dims.

    >>> ember.nn.functional.lp_pool3d(ember.ones(1, 1, 2, 2, 2), 1, 2).flatten()
    tensor([8.])
    """
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode, "lp_pool3d")


def _max_unpool(nsp, input, indices, kernel_size, stride, padding, output_size, op):
    def tup(v):
        return (v,) * nsp if isinstance(v, int) else tuple(v)
    ks = tup(kernel_size)
    st = ks if stride is None else tup(stride)
    pd = tup(padding)
    if tuple(indices.shape) != tuple(input.shape):
        raise ValueError(f"{op}: indices has shape {tuple(indices.shape)}, input "
                         f"{tuple(input.shape)}; pass the indices max_pool returned")
    spatial_in = tuple(input.shape[-nsp:])
    if output_size is None:
        out_sp = tuple((i - 1) * s - 2 * p + k for i, s, p, k in zip(spatial_in, st, pd, ks))
    else:
        out_sp = tuple(output_size)[-nsp:]
    lead = tuple(input.shape[:-nsp])
    n_out = int(np.prod(out_sp))
    flat_in = _sh.reshape(input, lead + (-1,))
    flat_idx = _sh.reshape(indices, lead + (-1,))
    if flat_idx.numel() and not isinstance(flat_idx, Tracer) and \
            int(flat_idx.max().item()) >= n_out:
        raise ValueError(f"{op}: an index is out of range for the output size {out_sp}")
    zeros = _ew.full_like_traced(_sh.expand(_sh.reshape(flat_in[..., :1], lead + (1,)),
                                            lead + (n_out,)), 0.0)
    # the value: each input written at its index (the last of repeated indices wins, as
    # PyTorch's CPU kernel); the gradient: PyTorch's, the output gradient gathered at every
    # input's index (repeated indices all receive it), i.e. that of the scatter-add
    out = _ix.scatter(zeros, -1, flat_idx, flat_in.detach())
    added = _ix.scatter_add(zeros, -1, flat_idx, flat_in)
    out = out + (added - added.detach())
    return _sh.reshape(out, lead + out_sp)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool1d``: each maximum put back at its index, zeros
    elsewhere.

    >>> x = ember.tensor([[[1., 5., 2., 0.]]])
    >>> y, i = ember.nn.functional.max_pool1d(x, 2, return_indices=True)
    >>> ember.nn.functional.max_unpool1d(y, i, 2)
    tensor([[[0., 5., 2., 0.]]])
    """
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size,
                       "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool2d`` (zeros where the maxima were not).

    >>> x = ember.arange(16.).reshape(1, 1, 4, 4)
    >>> y, i = ember.nn.functional.max_pool2d(x, 2, return_indices=True)
    >>> ember.nn.functional.max_unpool2d(y, i, 2).sum()
    tensor(40.)
    """
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size,
                       "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool3d`` (zeros where the maxima were not).

    >>> x = ember.arange(8.).reshape(1, 1, 2, 2, 2)
    >>> y, i = ember.nn.functional.max_pool3d(x, 2, return_indices=True)
    >>> ember.nn.functional.max_unpool3d(y, i, 2).sum()
    tensor(7.)
    """
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size,
                       "max_unpool3d")


def pdist(input, p=2.0):
    """The ``p``-norm distances between every pair of rows ``i < j`` of an (N, M) tensor,
    as a flat tensor of N(N-1)/2 values (as ``torch.nn.functional.pdist``).

    >>> ember.nn.functional.pdist(ember.tensor([[0., 0.], [3., 4.], [6., 8.]]))
    tensor([ 5., 10.,  5.])
    """
    if input.ndim != 2:
        raise ValueError(f"pdist: expected a 2-d input, got shape {tuple(input.shape)}")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    d = _ix.index_select(input, 0, _tensor(i)) - _ix.index_select(input, 0, _tensor(j))
    if p == 0:
        return (d != 0).to(input.dtype).sum(-1)
    if p == float("inf"):
        return _ew.abs(d).amax(-1)
    return _ew.abs(d).pow(p).sum(-1).pow(1.0 / p)


def bilinear(input1, input2, weight, bias=None):
    """``x1^T W x2 + b`` for each output feature (as ``torch.nn.functional.bilinear``).

    >>> ember.nn.functional.bilinear(ember.ones(1, 2), ember.ones(1, 3), ember.ones(4, 2, 3))
    tensor([[6., 6., 6., 6.]])
    """
    from ..ops.einsum import einsum
    y = einsum("...i,oij,...j->...o", input1, weight, input2)
    return y + bias if bias is not None else y


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """``max(0, d(a, p) - d(a, n) + margin)`` for any distance function (default: the
    pairwise Euclidean distance), as PyTorch's.

    >>> a = ember.tensor([[0., 0.]])
    >>> ember.nn.functional.triplet_margin_with_distance_loss(a, a, ember.tensor([[3., 4.]]))
    tensor(0.)
    """
    from .functional_more import pairwise_distance, _reduce
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: margin must be positive, got "
                         f"{margin}")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_swap = dist(positive, negative)
        d_neg = _ew.where(d_swap < d_neg, d_swap, d_neg)
    return _reduce(_ew.clamp(d_pos - d_neg + margin, 0.0), reduction,
                   "triplet_margin_with_distance_loss")


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """The multi-class multi-label hinge loss: for each sample, the targets are the leading
    non-negative entries of ``target`` (up to the first -1), and every (target j, non-target
    i) pair adds ``max(0, 1 - (x[j] - x[i]))``, divided by the number of classes (as PyTorch).

    >>> x = ember.tensor([[0.1, 0.2, 0.4, 0.8]])
    >>> ember.nn.functional.multilabel_margin_loss(x, ember.tensor([[3, 0, -1, 1]]))
    tensor(0.8500)
    """
    reduction = _legacy(size_average, reduce, reduction, "multilabel_margin_loss")
    from .functional_more import _reduce
    if input.ndim == 0:  # one sample of one class
        input, target, scalar = input.reshape(1), target.reshape(1), True
    else:
        scalar = False
    x = input if input.ndim == 2 else _sh.unsqueeze(input, 0)
    t = (target if target.ndim == 2 else _sh.unsqueeze(target, 0)).numpy()
    n, c = x.shape
    count = np.zeros((n, c), np.int64)  # a repeated target counts once per listing
    for r in range(n):
        for v in t[r]:
            if v < 0:
                break
            count[r, int(v)] += 1
    mask_t = _tensor(count.astype(x.dtype.np))
    mask_o = _tensor((count == 0).astype(x.dtype.np))
    # pairs (j target, i non-target): hinge(1 - x_j + x_i)
    h = _ew.clamp(1.0 - _sh.unsqueeze(x, 2) + _sh.unsqueeze(x, 1), 0.0)
    loss = (h * _sh.unsqueeze(mask_t, 2) * _sh.unsqueeze(mask_o, 1)).sum((1, 2)) / c
    if input.ndim == 1 or scalar:
        loss = _sh.reshape(loss, ())
    return _reduce(loss, reduction, "multilabel_margin_loss")


def _inplace_activation(name, fn):
    def op(input, *args, **kwargs):
        kwargs.pop("inplace", None)
        return input.copy_(fn(input, *args, **kwargs))
    op.__name__ = name
    extra = ", 0.5, 0.0" if name == "threshold_" else ""
    op.__doc__ = (f"``{name[:-1]}`` written into ``input`` (returns it).\n\n"
                  f"    >>> x = ember.tensor([-1., 2.])\n"
                  f"    >>> y = ember.nn.functional.{name[:-1]}(x.clone(){extra})\n"
                  f"    >>> ember.nn.functional.{name}(x{extra}) is x, bool((x == y).all())\n"
                  f"    (True, True)\n    ")
    return op


def _install_inplace_activations():
    from . import functional as F
    names = []
    for base in ("relu", "elu", "leaky_relu", "hardtanh", "threshold", "selu", "celu", "rrelu"):
        fn = getattr(F, base, None) or globals().get(base)
        if fn is not None and not hasattr(F, base + "_"):
            setattr(F, base + "_", _inplace_activation(base + "_", fn))
            names.append(base + "_")
    return names


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention of (L, N, E) queries over (S, N, E) keys/values (or unbatched
    (L, E), (S, E)), as ``F.multi_head_attention_forward``: the packed ``in_proj_weight``
    (or the separate q/k/v ones), ``bias_k``/``bias_v`` appended to the keys/values,
    ``add_zero_attn``, ``static_k``/``static_v`` (N * H, S, E / H), boolean (True = masked
    out) or additive ``attn_mask`` (L, S) / (N * H, L, S) and ``key_padding_mask`` (N, S),
    dropout on the attention in training. Returns (output, the attention weights averaged
    over heads, or per head, or None without ``need_weights``).

    >>> E = 4
    >>> x = ember.ones(3, 2, E)
    >>> out, w = ember.nn.functional.multi_head_attention_forward(
    ...     x, x, x, E, 2, ember.ones(3 * E, E), None, None, None, False, 0.0,
    ...     ember.eye(E), None)
    >>> out.shape, w.shape
    (ember.Size([3, 2, 4]), ember.Size([2, 3, 3]))
    """
    import math
    from . import functional as F
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    lq, n, e = query.shape
    if e != embed_dim_to_check:
        raise ValueError(f"multi_head_attention_forward: query has {e} features, expected "
                         f"embed_dim_to_check={embed_dim_to_check}")
    if e % num_heads:
        raise ValueError(f"multi_head_attention_forward: embed_dim {e} is not divisible by "
                         f"num_heads {num_heads}")
    h, d = num_heads, e // num_heads
    if is_causal and attn_mask is None:
        raise ValueError("multi_head_attention_forward: is_causal is a hint that attn_mask "
                         "is the causal mask; pass attn_mask as well")
    b = in_proj_bias
    bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError("multi_head_attention_forward: use_separate_proj_weight needs "
                             "q_proj_weight, k_proj_weight and v_proj_weight")
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        w = in_proj_weight
        wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
    q = F.linear(query, wq, bq)
    k = F.linear(key, wk, bk)
    v = F.linear(value, wv, bv)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            attn_mask = attn_mask.unsqueeze(0)
        if attn_mask.ndim != 3:
            raise ValueError(f"multi_head_attention_forward: attn_mask must be (L, S) or "
                             f"(N * num_heads, L, S), got {tuple(attn_mask.shape)}")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ValueError("multi_head_attention_forward: bias_k/bias_v can't be combined "
                             "with static_k/static_v")
        k = _ix.cat([k, _sh.expand(bias_k.reshape(1, 1, e), (1, n, e))], 0)
        v = _ix.cat([v, _sh.expand(bias_v.reshape(1, 1, e), (1, n, e))], 0)
        if attn_mask is not None:
            attn_mask = F.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise ValueError("multi_head_attention_forward: give both bias_k and bias_v or neither")
    q = q.reshape(lq, n * h, d).transpose(0, 1)
    k = k.reshape(k.shape[0], n * h, d).transpose(0, 1) if static_k is None else static_k
    v = v.reshape(v.shape[0], n * h, d).transpose(0, 1) if static_v is None else static_v
    if add_zero_attn:
        k = _ix.cat([k, _ew.full_like_traced(k[:, :1], 0.0)], 1)
        v = _ix.cat([v, _ew.full_like_traced(v[:, :1], 0.0)], 1)
        if attn_mask is not None:
            attn_mask = F.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))
    lk = k.shape[1]
    s = (q * (1.0 / math.sqrt(d))) @ k.transpose(1, 2)  # (N * H, L, S)
    if attn_mask is not None:
        s = s.masked_fill(attn_mask, float("-inf")) if attn_mask.dtype.is_bool \
            else s + attn_mask.to(s.dtype)
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (n, lk):
            raise ValueError(f"multi_head_attention_forward: key_padding_mask must be (N, S) "
                             f"= {(n, lk)}, got {tuple(key_padding_mask.shape)}")
        kpm = _sh.expand(key_padding_mask.reshape(n, 1, 1, lk), (n, h, 1, lk)) \
            .reshape(n * h, 1, lk)
        s = s.masked_fill(kpm, float("-inf")) if kpm.dtype.is_bool else s + kpm.to(s.dtype)
    p = _nn.softmax(s, -1)
    if dropout_p > 0.0 and training:
        p = F.dropout(p, dropout_p)
    o = (p @ v).transpose(0, 1).reshape(lq, n, e)
    o = F.linear(o, out_proj_weight, out_proj_bias)
    if unbatched:
        o = o.squeeze(1)
    if not need_weights:
        return o, None
    pw = p.reshape(n, h, lq, lk)
    if average_attn_weights:
        pw = pw.mean(1)
    return o, (pw.squeeze(0) if unbatched else pw)
