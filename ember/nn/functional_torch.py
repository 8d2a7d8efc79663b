"""``gumbel_softmax``, ``affine_grid`` and ``grid_sample`` (PyTorch's ``nn.functional`` names), composed from
ember ops so they differentiate and trace."""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from ..core.creation import tensor as _tensor
from ..ops import elementwise as _ew, shape as _sh, indexing as _ix, linalg as _la
from ..ops import nn_ops as _nn, reduce as _red
from ..random import generator as _rnd

__all__ = ["gumbel_softmax", "affine_grid", "grid_sample"]


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
    tensor([[[[-0.5000, 0.0000],
              [0.5000, 0.0000]]]])
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
    Only the 4-d form (the 5-d volumetric one is not implemented).

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
        raise ValueError("grid_sample: the volumetric (5-d input) form is not implemented; "
                         "only (N, C, H, W) inputs")
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
