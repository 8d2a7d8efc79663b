"""``fuse_modules``: merge Conv2d+BatchNorm2d(+ReLU), Conv2d+ReLU, Linear(+BatchNorm1d)
+ReLU into one module before quantization, as ``torch.ao.quantization.fuse_modules``:
BatchNorm is folded into the preceding layer's weight and bias (eval-mode statistics), a
ReLU makes a fused ``ember.ao.nn.intrinsic`` module (quantized as one layer whose output
range starts at 0). The fused-away modules become ``nn.Identity``."""
from __future__ import annotations

import copy

import numpy as np

from ...core.tensor import Tensor
from ...nn.conv import Conv2d
from ...nn.layers import Identity, Linear, ReLU
from ...nn.module import Module, Parameter
from ...nn.norm import BatchNorm1d, BatchNorm2d
from ..nn import intrinsic as _nni

__all__ = ["fuse_modules", "fuse_modules_qat", "fuse_conv_bn_eval", "fuse_linear_bn_eval"]

_F32 = np.float32


def _fold(layer, bn, op):
    if layer.training or bn.training:
        raise ValueError(f"{op}: folding {type(bn).__name__} into {type(layer).__name__} uses "
                         f"the running statistics, so it needs eval mode: call model.eval() "
                         f"before fuse_modules")
    if not bn.track_running_stats or bn.running_mean is None:
        raise ValueError(f"{op}: {type(bn).__name__} without running statistics "
                         f"(track_running_stats=False) cannot be folded")
    fused = copy.deepcopy(layer)
    w = layer.weight.detach().numpy().astype(_F32)
    b = layer.bias.detach().numpy().astype(_F32) if layer.bias is not None else \
        np.zeros(w.shape[0], _F32)
    mean, var = bn.running_mean.numpy().astype(_F32), bn.running_var.numpy().astype(_F32)
    gamma = bn.weight.detach().numpy().astype(_F32) if bn.weight is not None else \
        np.ones_like(mean)
    beta = bn.bias.detach().numpy().astype(_F32) if bn.bias is not None else \
        np.zeros_like(mean)
    rsqrt = (_F32(1) / np.sqrt(var + _F32(bn.eps))).astype(_F32)
    g = (gamma * rsqrt).astype(_F32)
    fused.weight = Parameter(Tensor._wrap((w * g.reshape((-1,) + (1,) * (w.ndim - 1)))
                                          .astype(_F32)))
    fused.bias = Parameter(Tensor._wrap(((b - mean) * rsqrt * gamma + beta).astype(_F32)))
    return fused


def fuse_conv_bn_eval(conv, bn):
    """A copy of ``conv`` with the eval-mode BatchNorm ``bn`` folded into its weight/bias.

    >>> conv, bn = ember.nn.Conv2d(1, 2, 3).eval(), ember.nn.BatchNorm2d(2).eval()
    >>> x = ember.randn(1, 1, 5, 5)
    >>> fused = ember.ao.quantization.fuse_conv_bn_eval(conv, bn)
    >>> bool(((fused(x) - bn(conv(x))).abs() < 1e-5).all())
    True
    """
    return _fold(conv, bn, "fuse_conv_bn_eval")


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` with the eval-mode BatchNorm1d ``bn`` folded in.

    >>> lin, bn = ember.nn.Linear(3, 2).eval(), ember.nn.BatchNorm1d(2).eval()
    >>> x = ember.randn(4, 3)
    >>> fused = ember.ao.quantization.fuse_linear_bn_eval(lin, bn)
    >>> bool(((fused(x) - bn(lin(x))).abs() < 1e-5).all())
    True
    """
    return _fold(linear, bn, "fuse_linear_bn_eval")


def _fuse(mods, names, op):
    types = tuple(type(m) for m in mods)
    if types == (Conv2d, BatchNorm2d):
        return _fold(mods[0], mods[1], op)
    if types == (Conv2d, BatchNorm2d, ReLU):
        return _nni.ConvReLU2d(_fold(mods[0], mods[1], op), mods[2])
    if types == (Conv2d, ReLU):
        return _nni.ConvReLU2d(mods[0], mods[1])
    if types == (Linear, ReLU):
        return _nni.LinearReLU(mods[0], mods[1])
    if types == (Linear, BatchNorm1d):
        return _fold(mods[0], mods[1], op)
    if types == (Linear, BatchNorm1d, ReLU):
        return _nni.LinearReLU(_fold(mods[0], mods[1], op), mods[2])
    raise ValueError(
        f"{op}: cannot fuse {names} ({', '.join(t.__name__ for t in types)}); supported: "
        f"Conv2d+BatchNorm2d(+ReLU), Conv2d+ReLU, Linear(+BatchNorm1d)+ReLU, "
        f"Linear+BatchNorm1d")


def _fuse_qat(mods, names, op):
    types = tuple(type(m) for m in mods)
    if types == (Conv2d, BatchNorm2d):
        return _nni.ConvBn2d(*mods)
    if types == (Conv2d, BatchNorm2d, ReLU):
        return _nni.ConvBnReLU2d(*mods)
    if types in ((Conv2d, ReLU), (Linear, ReLU)):
        return _fuse(mods, names, op)
    raise ValueError(
        f"{op}: cannot fuse {names} ({', '.join(t.__name__ for t in types)}) for "
        f"quantization-aware training; supported: Conv2d+BatchNorm2d(+ReLU), Conv2d+ReLU, "
        f"Linear+ReLU (fold Linear+BatchNorm1d in eval mode with fuse_modules)")


def _get(model, name, op):
    m = model
    for part in name.split("."):
        nxt = m._modules.get(part) if isinstance(m, Module) else None
        if nxt is None:
            raise ValueError(f"{op}: the model has no submodule {name!r}; names are those of "
                             f"model.named_modules(), e.g. "
                             f"{[n for n, _ in model.named_modules() if n][:6]}")
        m = nxt
    return m


def _set(model, name, new):
    *path, last = name.split(".")
    parent = model
    for part in path:
        parent = parent._modules[part]
    parent._modules[last] = new


def fuse_modules(model, modules_to_fuse, inplace=False, fuser_func=None,
                 fuse_custom_config_dict=None):
    """Fuse each list of submodule names in ``modules_to_fuse`` (or the one list) into its
    first module, the others becoming ``nn.Identity`` (copy unless ``inplace``).

    >>> model = ember.nn.Sequential(ember.nn.Conv2d(1, 4, 3), ember.nn.BatchNorm2d(4),
    ...                             ember.nn.ReLU()).eval()
    >>> fused = ember.ao.quantization.fuse_modules(model, [["0", "1", "2"]])
    >>> fused
    Sequential(
      (0): ConvReLU2d(
        (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))
        (1): ReLU()
      )
      (1): Identity()
      (2): Identity()
    )
    >>> x = ember.randn(2, 1, 6, 6)
    >>> bool(((fused(x) - model(x)).abs() < 1e-5).all())
    True
    """
    return _fuse_groups(model, modules_to_fuse, inplace, fuser_func,
                        lambda ms, names: _fuse(ms, names, "fuse_modules"), "fuse_modules")


def fuse_modules_qat(model, modules_to_fuse, inplace=False, fuser_func=None,
                     fuse_custom_config_dict=None):
    """``fuse_modules`` for quantization-aware training (``torch.ao.quantization.
    fuse_modules_qat``), on a model in training mode: Conv2d+BatchNorm2d(+ReLU) become
    ``ember.ao.nn.intrinsic.ConvBn2d``/``ConvBnReLU2d`` (not folded: ``prepare_qat`` makes
    them QAT layers that fold the BatchNorm into the fake-quantized weight at each step),
    Conv2d+ReLU and Linear+ReLU as ``fuse_modules``.

    >>> model = ember.nn.Sequential(ember.nn.Conv2d(1, 4, 3), ember.nn.BatchNorm2d(4),
    ...                             ember.nn.ReLU())
    >>> fused = ember.ao.quantization.fuse_modules_qat(model, [["0", "1", "2"]])
    >>> type(fused[0]).__name__, type(fused[1]).__name__
    ('ConvBnReLU2d', 'Identity')
    """
    return _fuse_groups(model, modules_to_fuse, inplace, fuser_func,
                        lambda ms, names: _fuse_qat(ms, names, "fuse_modules_qat"),
                        "fuse_modules_qat")


def _fuse_groups(model, modules_to_fuse, inplace, fuser_func, fuser, op):
    if not isinstance(model, Module):
        raise TypeError(f"{op}: expects an ember.nn.Module, got {type(model).__name__}")
    groups = [modules_to_fuse] if modules_to_fuse and isinstance(modules_to_fuse[0], str) \
        else list(modules_to_fuse)
    if not inplace:
        model = copy.deepcopy(model)
    for names in groups:
        names = list(names)
        mods = [_get(model, n, op) for n in names]
        fused = fuser_func(mods) if fuser_func is not None else fuser(mods, names)
        _set(model, names[0], fused)
        for n in names[1:]:
            _set(model, n, Identity())
    return model
