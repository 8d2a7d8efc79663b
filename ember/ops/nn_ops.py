"""Softmax-family ops used by losses: log_softmax (a primitive, numerically stable),
softmax, and one_hot."""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from ._util import canon_dim
from .elementwise import as_value, cast, moveaxis_to_front
from .registry_helpers import export, method

__all__: list[str] = []


def _log_softmax_impl(x, dim):
    m = np.max(x, axis=dim, keepdims=True) if x.size else x
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=dim, keepdims=True))


def _ls_vjp(ct, out, x, dim):
    return (ct - out.exp() * ct.sum(dim=dim, keepdim=True),)


def _ls_jvp(p, t, out, dim):
    return t[0] - (out.exp() * t[0]).sum(dim=dim, keepdim=True)


log_softmax_p = Primitive("log_softmax", _log_softmax_impl,
                          shape=lambda x, dim: Aval(x.shape, x.dtype), vjp=_ls_vjp, jvp=_ls_jvp,
                          vjp_needs_out=True)
log_softmax_p.batch = lambda args, dims, dim: (
    bind(log_softmax_p, moveaxis_to_front(args[0], dims[0]), dim=dim + 1), 0)


def log_softmax(input, dim, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably (max subtracted first)."""
    x = as_value(input)
    if dtype is not None:
        x = cast(x, dtype)
    if not x.dtype.is_floating_point:
        x = cast(x, _dt.get_default_dtype())
    return bind(log_softmax_p, x, dim=canon_dim(dim, x.ndim, "log_softmax"))


def softmax(input, dim, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    return log_softmax(input, dim, dtype).exp()


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of size ``num_classes``."""
    t = as_value(tensor)
    if t.dtype.category != 1:
        raise TypeError(f"one_hot: expects an integer tensor of class indices, got {t.dtype}")
    if num_classes < 0:
        num_classes = int(t.max().item()) + 1 if hasattr(t, "max") else int(t._data.max()) + 1
    from .creation_ops import arange
    return cast(t.unsqueeze(-1) == arange(num_classes), _dt.int64)


for _f in (log_softmax, softmax):
    export(_f, __all__)
    method(_f)
export(one_hot, __all__)
