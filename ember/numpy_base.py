"""Helpers shared by the modules that extend ``ember.numpy`` (``numpy_stats``,
``numpy_index``, ``numpy_math``, ``numpy_types``): the ``ember.numpy`` functions they compose
from, operand conversion and the eager-only check for data-dependent shapes."""
from __future__ import annotations

import builtins

import numpy as _np

from .core import dtypes as _dt
from .core.errors import ConcretizationError
from .core.primitive import Tracer
from .core.tensor import Tensor


def _e():
    import ember
    return ember


def jnp():
    """``ember.numpy`` (reached through the package: it re-exports these modules)."""
    return _e().numpy


def arr(x, dtype=None):
    """``x`` as a tensor by ``jnp.asarray``'s rules (JAX's canonical dtypes)."""
    return jnp().asarray(x, dtype)


def floating(x):
    """``x`` as a tensor, integers and bools as the default float (float32; float64 in
    64-bit mode), as JAX's statistics functions take them."""
    t = arr(x)
    if t.dtype.is_inexact:
        return t
    return t.to(_dt.float64 if _dt._x64[0] else _dt.get_default_dtype())


def jax_int():
    return _dt.jax_int()


def is_traced(*xs):
    return builtins.any(isinstance(x, Tracer) for x in xs)


def concrete(op, x, what, fix):
    """``x``'s NumPy value; a traced ``x`` raises naming ``op`` and the fix (``size=``)."""
    if isinstance(x, Tracer):
        raise ConcretizationError(
            f"{op}: {what} depends on the data, but this {x.dtype.name}{list(x.shape)} is "
            f"traced (jit/vmap/grad). {fix}")
    if isinstance(x, Tensor):
        return x.numpy()
    return _np.asarray(x)


def axes(axis, ndim, op):
    """``axis`` (None, an int or a tuple) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    seq = (axis,) if isinstance(axis, (int, _np.integer)) else tuple(axis)
    out = []
    for a in seq:
        a = int(a)
        if not -ndim <= a < builtins.max(ndim, 1):
            raise _np.exceptions.AxisError(f"{op}: axis {a} is out of bounds for an array of "
                                           f"{ndim} dims")
        out.append(a % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))

