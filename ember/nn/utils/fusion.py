"""Folding an eval-mode BatchNorm into the convolution or linear layer before it
(PyTorch's ``torch.nn.utils.fusion``): one layer computes what the two did, in the
parameters' own dtype."""
from __future__ import annotations

import copy

from ...core.autograd import no_grad
from ..module import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def _check_eval(layer, bn, op):
    if layer.training or bn.training:
        raise RuntimeError(f"{op}: fusion folds the running statistics, so it is only for "
                           f"eval mode; call .eval() on {type(layer).__name__} and "
                           f"{type(bn).__name__} first")
    if bn.running_mean is None or bn.running_var is None:
        raise RuntimeError(f"{op}: {type(bn).__name__} has no running statistics "
                           f"(track_running_stats=False) to fold")


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The weight and bias of a convolution with the batch norm ``(bn_rm, bn_rv, bn_eps,
    bn_w, bn_b)`` folded in (``transpose``: a transposed convolution's weight layout).

    >>> w, b = ember.nn.utils.fuse_conv_bn_weights(
    ...     ember.ones(2, 1, 1, 1), None, ember.zeros(2), ember.full((2,), 4.), 0.0,
    ...     ember.ones(2), ember.zeros(2))
    >>> w.flatten().tolist(), b.tolist()
    ([0.5, 0.5], [0.0, 0.0])
    """
    with no_grad():
        dt = conv_w.dtype
        if conv_b is None:
            conv_b = bn_rm.new_zeros(bn_rm.shape)
        if bn_w is None:
            bn_w = bn_rm.new_ones(bn_rm.shape)
        if bn_b is None:
            bn_b = bn_rm.new_zeros(bn_rm.shape)
        var_rsqrt = (bn_rv + bn_eps).rsqrt()
        scale = bn_w * var_rsqrt
        shape = [1] * conv_w.ndim
        shape[1 if transpose else 0] = -1
        w = (conv_w * scale.reshape(shape)).to(dt)
        b = ((conv_b - bn_rm) * var_rsqrt * bn_w + bn_b).to(conv_b.dtype)
    return Parameter(w, conv_w.requires_grad), Parameter(b, conv_b.requires_grad)


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of the eval-mode ``conv`` with the eval-mode ``bn`` folded in.

    >>> conv, bn = ember.nn.Conv2d(1, 2, 3).eval(), ember.nn.BatchNorm2d(2).eval()
    >>> x = ember.randn(1, 1, 5, 5)
    >>> fused = ember.nn.utils.fuse_conv_bn_eval(conv, bn)
    >>> bool(((fused(x) - bn(conv(x))).abs() < 1e-5).all())
    True
    """
    _check_eval(conv, bn, "fuse_conv_bn_eval")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The weight and bias of a linear layer with the batch norm folded in.

    >>> w, b = ember.nn.utils.fuse_linear_bn_weights(
    ...     ember.ones(2, 3), ember.zeros(2), ember.zeros(2), ember.full((2,), 4.), 0.0,
    ...     ember.ones(2), ember.ones(2))
    >>> w.sum().item(), b.tolist()
    (3.0, [1.0, 1.0])
    """
    with no_grad():
        if linear_b is None:
            linear_b = bn_rm.new_zeros(bn_rm.shape)
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        w = linear_w * scale.unsqueeze(-1)
        b = (linear_b - bn_rm) * scale + bn_b
    return Parameter(w, linear_w.requires_grad), Parameter(b, linear_b.requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of the eval-mode ``linear`` with the eval-mode BatchNorm1d ``bn`` folded in.

    >>> lin, bn = ember.nn.Linear(3, 2).eval(), ember.nn.BatchNorm1d(2).eval()
    >>> x = ember.randn(4, 3)
    >>> fused = ember.nn.utils.fuse_linear_bn_eval(lin, bn)
    >>> bool(((fused(x) - bn(lin(x))).abs() < 1e-5).all())
    True
    """
    _check_eval(linear, bn, "fuse_linear_bn_eval")
    if linear.out_features != bn.num_features:
        raise RuntimeError(f"fuse_linear_bn_eval: Linear has {linear.out_features} outputs, "
                           f"BatchNorm {bn.num_features} features")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused
