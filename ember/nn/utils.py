"""``ember.nn.utils``: gradient clipping and parameter/vector conversion (PyTorch's names)."""
from __future__ import annotations

import math

import numpy as np

from ..core.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _params(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients in place so their joint ``norm_type`` norm is at most
    ``max_norm``; returns the norm before clipping (a 0-d tensor)."""
    parameters = _params(parameters)  # a generator can be walked only once
    grads = [p.grad._data for p in parameters if p.grad is not None]
    if not grads:
        return Tensor._wrap(np.zeros((), np.float32))
    norm_type = float(norm_type)
    if norm_type == math.inf:
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = float(sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type))
                          for g in grads) ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is non-finite ({total}); pass error_if_nonfinite=False "
                           f"to clip anyway")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in parameters:
            if p.grad is not None:
                p.grad._data *= p.grad._data.dtype.type(coef)
    return Tensor._wrap(np.asarray(total, grads[0].dtype))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    for p in _params(parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def parameters_to_vector(parameters):
    from ..ops.indexing import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    i = 0
    for p in parameters:
        n = p.numel()
        p._data[...] = vec._data[i:i + n].reshape(p._data.shape)
        p._version[0] += 1
        i += n
