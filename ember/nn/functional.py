"""``ember.nn.functional``: layers and losses as functions (PyTorch's names)."""
from __future__ import annotations

from ..ops.elementwise import relu, gelu, silu, softplus, sigmoid, tanh  # noqa: F401
from ..ops.nn_ops import log_softmax, softmax, one_hot, embedding, dropout  # noqa: F401
from ..ops.conv import (  # noqa: F401
    conv1d, conv2d, conv_transpose1d, conv_transpose2d, max_pool1d, max_pool2d, avg_pool1d,
    avg_pool2d, adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,
    adaptive_max_pool2d)
from ..ops.slicing import pad  # noqa: F401


def linear(input, weight, bias=None):
    out = input @ weight.mT
    return out + bias if bias is not None else out


def _reduce(x, reduction, op):
    if reduction == "mean":
        return x.mean()
    if reduction == "sum":
        return x.sum()
    if reduction == "none":
        return x
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood of class indices ``target`` (N,) under log-probs (N, C)."""
    if input.ndim != 2 or target.ndim != 1 or target.shape[0] != input.shape[0]:
        raise ValueError(f"nll_loss: expects input (N, C) and target (N,), got "
                         f"{tuple(input.shape)} and {tuple(target.shape)}")
    picked = (input * one_hot(target, input.shape[1]).to(input.dtype)).sum(1)
    return _reduce(-picked, reduction, "nll_loss")


def cross_entropy(input, target, reduction="mean"):
    """Cross entropy of logits (N, C) against class indices (N,), computed stably."""
    return nll_loss(log_softmax(input, 1), target, reduction)


def mse_loss(input, target, reduction="mean"):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"mse_loss: input shape {tuple(input.shape)} and target shape "
                         f"{tuple(target.shape)} differ")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")
