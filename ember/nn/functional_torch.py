"""``gumbel_softmax`` and ``affine_grid`` (PyTorch's ``nn.functional`` names), composed from
ember ops so they differentiate and trace."""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from ..core.creation import tensor as _tensor
from ..ops import elementwise as _ew, shape as _sh, indexing as _ix, linalg as _la
from ..ops import nn_ops as _nn, reduce as _red
from ..random import generator as _rnd

__all__ = ["gumbel_softmax", "affine_grid"]


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
