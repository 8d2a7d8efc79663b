"""Reductions over dims: sum, mean, prod, max/min (values, indices), arg*, var/std,
logsumexp, cumulative ops, any/all, norm."""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from ._util import canon_dims
from .elementwise import as_value, cast, moveaxis_to_front
from .registry_helpers import export, method

__all__: list[str] = []


def _reduced_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _expand_back(g, shape, dims, keepdim):
    """Broadcast a reduced cotangent back to the input shape."""
    if not keepdim:
        g = g.reshape(_reduced_shape(shape, dims, True))
    return g.expand(shape)


def _batch_dims(dims, bd):
    """Shift reduction dims for a batch dim moved to the front."""
    return tuple(d + 1 for d in dims)


def _reduce_batch(prim):
    def rule(args, dims_, dims, keepdim, **params):
        x = moveaxis_to_front(args[0], dims_[0])
        return bind(prim, x, dims=_batch_dims(dims, 0), keepdim=keepdim, **params), 0
    return rule


# ---- sum ----------------------------------------------------------------------------

def _sum_impl(x, dims, keepdim, dtype=None):
    return np.sum(x, axis=dims, keepdims=keepdim, dtype=None if dtype is None else dtype.np)


def _sum_shape(x, dims, keepdim, dtype=None):
    return Aval(_reduced_shape(x.shape, dims, keepdim), dtype or x.dtype)


sum_p = Primitive(
    "sum", _sum_impl, shape=_sum_shape, linear=True,
    vjp=lambda ct, out, x, dims, keepdim, dtype=None: (
        cast(_expand_back(ct, tuple(x.shape), dims, keepdim), x.dtype),),
    jvp=lambda p, t, out, dims, keepdim, dtype=None: bind(sum_p, t[0], dims=dims,
                                                          keepdim=keepdim, dtype=dtype))
sum_p.batch = _reduce_batch(sum_p)


def sum(input, dim=None, keepdim=False, dtype=None):
    """Sum over ``dim`` (all dims by default). Integer and bool inputs sum as int64."""
    x = as_value(input)
    dims = canon_dims(dim, x.ndim, "sum")
    if dtype is None and x.dtype.category < 2:
        dtype = _dt.int64
    elif dtype is not None:
        dtype = _dt.as_dtype(dtype)
        x = cast(x, dtype)
    if dtype is x.dtype:
        dtype = None
    return bind(sum_p, x, dims=dims, keepdim=bool(keepdim), dtype=dtype)


def mean(input, dim=None, keepdim=False, dtype=None):
    """Arithmetic mean over ``dim`` (floating inputs only, as PyTorch)."""
    x = as_value(input)
    if dtype is not None:
        x = cast(x, dtype)
    if not x.dtype.is_floating_point:
        raise TypeError(f"mean: input dtype {x.dtype} is not floating point; pass "
                        f"dtype=ember.float32 or convert with .float()")
    dims = canon_dims(dim, x.ndim, "mean")
    n = 1
    for d in dims:
        n *= x.shape[d]
    s = bind(sum_p, x, dims=dims, keepdim=bool(keepdim), dtype=None)
    return s / n if n != 1 else s


for _f in (sum, mean):
    export(_f, __all__)
    method(_f)
