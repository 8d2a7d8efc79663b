"""``ember.nn.utils``: gradient clipping, parameter/vector conversion, weight and spectral
normalisation, and the ``prune``, ``rnn``, ``parametrize`` and ``parametrizations``
submodules (PyTorch's names)."""
from __future__ import annotations

import math

import numpy as np

from ...core.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters", "weight_norm", "remove_weight_norm", "spectral_norm",
           "remove_spectral_norm", "get_total_norm", "clip_grads_with_norm_", "skip_init",
           "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def _params(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients in place so their joint ``norm_type`` norm is at most
    ``max_norm``; returns the norm before clipping (a 0-d tensor).

    >>> w = ember.nn.Parameter(ember.zeros(2))
    >>> w.grad = ember.tensor([3., 4.])
    >>> ember.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    parameters = _params(parameters)  # a generator can be walked only once
    grads = [p.grad._data for p in parameters if p.grad is not None]
    if not grads:
        return Tensor._wrap(np.zeros((), np.float32))
    total = _total_norm(grads, norm_type, error_if_nonfinite, "clip_grad_norm_")
    clip_grads_with_norm_(parameters, max_norm, total)
    return Tensor._wrap(np.asarray(total, grads[0].dtype))


def _total_norm(arrays, norm_type, error_if_nonfinite, op):
    """The joint ``norm_type`` norm of the arrays, as a Python float (float64 sums)."""
    norm_type = float(norm_type)
    if norm_type == math.inf:
        total = max(float(np.abs(a).max()) if a.size else 0.0 for a in arrays)
    else:
        total = float(sum(float(np.sum(np.abs(a.astype(np.float64)) ** norm_type))
                          for a in arrays) ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"{op}: the total norm of order {norm_type} of the gradients is "
                           f"non-finite ({total}); pass error_if_nonfinite=False to go on "
                           f"anyway")
    return total


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type`` norm of all the tensors together (e.g. the gradients, to clip them
    with ``clip_grads_with_norm_``), as a 0-d tensor.

    >>> ember.nn.utils.get_total_norm([ember.tensor([3.]), ember.tensor([4.])])
    tensor(5.)
    """
    ts = [t for t in _params(tensors) if t is not None]
    if not ts:
        return Tensor._wrap(np.zeros((), np.float32))
    arrs = [np.asarray(t.detach()._data if isinstance(t, Tensor) else t) for t in ts]
    total = _total_norm(arrs, norm_type, error_if_nonfinite, "get_total_norm")
    return Tensor._wrap(np.asarray(total, arrs[0].dtype))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients in place by ``max_norm / (total_norm + 1e-6)`` if that is below 1
    (``total_norm`` from ``get_total_norm``).

    >>> w = ember.nn.Parameter(ember.zeros(2))
    >>> w.grad = ember.tensor([3., 4.])
    >>> ember.nn.utils.clip_grads_with_norm_([w], 1.0, ember.tensor(5.))
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    coef = float(max_norm) / (float(total_norm) + 1e-6)
    if coef < 1:
        for p in _params(parameters):
            if p.grad is not None:
                p.grad._data *= p.grad._data.dtype.type(coef)


def skip_init(module_cls, *args, **kwargs):
    """Build ``module_cls(*args, **kwargs)`` without running its parameter initialisation
    (the storage is allocated but left as it is), as PyTorch's; the class must accept
    ``device=``.

    >>> lin = ember.nn.utils.skip_init(ember.nn.Linear, 3, 2)
    >>> tuple(lin.weight.shape), lin.weight.is_meta
    ((2, 3), False)
    """
    if "device" in kwargs:
        raise ValueError("skip_init: the module is built on the meta device first; pass no "
                         "device= (move it afterwards with .to())")
    return module_cls(*args, device="meta", **kwargs).to_empty(device="cpu")


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element to [-clip_value, clip_value] in place.

    >>> w = ember.nn.Parameter(ember.zeros(3))
    >>> w.grad = ember.tensor([-5., 0.5, 5.])
    >>> ember.nn.utils.clip_grad_value_([w], 1.0)
    >>> w.grad
    tensor([-1.0000, 0.5000, 1.0000])
    """
    for p in _params(parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one 1-D tensor.

    >>> layer = ember.nn.Linear(3, 2)
    >>> ember.nn.utils.parameters_to_vector(layer.parameters()).shape
    ember.Size([8])
    """
    from ...ops.indexing import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copies consecutive slices of the 1-D ``vec`` into the parameters in place (the inverse
    of ``parameters_to_vector``).

    >>> layer = ember.nn.Linear(2, 1)
    >>> ember.nn.utils.vector_to_parameters(ember.tensor([1., 2., 3.]), layer.parameters())
    >>> layer.weight, layer.bias
    (Parameter containing:
    tensor([[1., 2.]], requires_grad=True), Parameter containing:
    tensor([3.], requires_grad=True))
    """
    i = 0
    for p in parameters:
        n = p.numel()
        p._data[...] = vec._data[i:i + n].reshape(p._data.shape)
        p._version[0] += 1
        i += n
from . import prune  # noqa: E402,F401  (torch.nn.utils.prune)


from . import rnn  # noqa: F401,E402  (pad_sequence, pack_padded_sequence, ...)
from . import parametrize, parametrizations  # noqa: E402,F401  (torch.nn.utils.parametrize/-tions)
from .hook_norms import (  # noqa: E402,F401
    weight_norm, remove_weight_norm, spectral_norm, remove_spectral_norm)
from .fusion import (  # noqa: E402,F401
    fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights)
