"""Tensor factories: zeros, ones, full, arange, linspace, eye, *_like, and random ones."""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..core import dtypes as _dt
from ..core.creation import place
from ..core.primitive import Tracer
from ..core.tensor import Tensor
from ..core.exceptions import OpError


def _shape(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        if any(isinstance(s, (str, bytes, float)) for s in size):
            raise TypeError
        shape = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"{op}: size must be integers or a tuple of integers, got {size!r}") from None
    if any(s < 0 for s in shape):
        raise OpError(f"{op}: negative dimension in size {shape}")
    return shape


def _make(arr, requires_grad, device):
    """A tensor of ``arr`` (made on the host) on ``device``."""
    t = Tensor._wrap(place(arr, device))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _device_of(x):
    """``x``'s device; a traced value's (known only when the plan runs) counts as the default
    device."""
    return None if isinstance(x, Tracer) or not isinstance(x, Tensor) else x.device


def _size_kw(size, kw, op):
    """PyTorch's keyword forms of the factory functions: ``size=``, and ``layout``,
    ``pin_memory``, ``memory_format`` (accepted with their dense defaults)."""
    if kw:
        extra = set(kw) - {"size", "layout", "pin_memory", "memory_format"}
        if extra:
            raise TypeError(f"{op}() got an unexpected keyword argument {sorted(extra)[0]!r}")
        lay = kw.get("layout")
        if lay is not None and getattr(lay, "name", lay) != "strided":
            raise OpError(f"{op}: layout {lay} is not supported; dense (ember.strided) only")
        if "size" in kw:
            if size:
                raise TypeError(f"{op}() got sizes both as arguments {size} and size=")
            size = (kw["size"],)
    return size


def _made(arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False, **kw):
    """A tensor of zeros of the given size.

    >>> ember.zeros(2, 3)
    tensor([[0., 0., 0.],
            [0., 0., 0.]])
    """
    return _made(_backend.get(device).xp.zeros(_shape(_size_kw(size, kw, "zeros"), "zeros"), _dt.as_dtype(dtype).np),
                 requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, **kw):
    """A tensor of ones of the given size.

    >>> ember.ones(2, dtype=ember.int64)
    tensor([1, 1])
    """
    return _made(_backend.get(device).xp.ones(_shape(_size_kw(size, kw, "ones"), "ones"), _dt.as_dtype(dtype).np),
                 requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, **kw):
    """An uninitialised tensor of the given size (ember fills it with zeros).

    >>> ember.empty(2, 3).shape
    ember.Size([2, 3])
    """
    return _made(_backend.get(device).xp.empty(_shape(_size_kw(size, kw, "empty"), "empty"), _dt.as_dtype(dtype).np),
                 requires_grad)


def _fill_dtype(fill_value, dtype):
    if dtype is not None:
        return _dt.as_dtype(dtype)
    if isinstance(fill_value, Tensor):
        return fill_value.dtype
    if isinstance(fill_value, (bool, np.bool_)):
        return _dt.bool_
    if isinstance(fill_value, (int, np.integer)):
        return _dt.int64
    if isinstance(fill_value, (complex, np.complexfloating)):
        return _dt.default_complex_dtype()
    return _dt.get_default_dtype()


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value`` (its dtype from the value unless given).

    >>> ember.full((2,), 7)
    tensor([7, 7])
    >>> ember.full((2,), 0.5)
    tensor([0.5000, 0.5000])
    """
    d = _fill_dtype(fill_value, dtype)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _made(_backend.get(device).xp.full(_shape((size,), "full"), fill_value, d.np),
                 requires_grad)


def _laid_like(out, x, memory_format, op):
    """``out`` (a fresh tensor made like ``x``) in the memory layout ``memory_format`` asks
    for; the default, ``preserve_format``, keeps a channels-last ``x``'s layout."""
    data = None if isinstance(x, Tracer) or not isinstance(x, Tensor) else x._data
    if memory_format is None and (type(data) is not np.ndarray or data.flags.c_contiguous):
        return out
    from ..core import memory_format as mf
    mf.check(memory_format, out.ndim, op)
    out._data = mf.like(out._data, data, memory_format)
    return out


def zeros_like(x, dtype=None, device=None, requires_grad=False, *, layout=None,
               memory_format=None):
    """Zeros with the shape and dtype of ``x``.

    >>> ember.zeros_like(ember.tensor([1, 2]))
    tensor([0, 0])
    """
    return _laid_like(zeros(tuple(x.shape), dtype=dtype or x.dtype, device=device or _device_of(x),
                 requires_grad=requires_grad), x, memory_format, "zeros_like")


def ones_like(x, dtype=None, device=None, requires_grad=False, *, layout=None,
              memory_format=None):
    """Ones with the shape and dtype of ``x``.

    >>> ember.ones_like(ember.tensor([1., 2.]))
    tensor([1., 1.])
    """
    return _laid_like(ones(tuple(x.shape), dtype=dtype or x.dtype, device=device or _device_of(x),
                requires_grad=requires_grad), x, memory_format, "ones_like")


def empty_like(x, dtype=None, device=None, requires_grad=False, *, layout=None,
               memory_format=None):
    """An uninitialised tensor with the shape and dtype of ``x``.

    >>> ember.empty_like(ember.ones(2, 2)).shape
    ember.Size([2, 2])
    """
    return _laid_like(empty(tuple(x.shape), dtype=dtype or x.dtype, device=device or _device_of(x),
                 requires_grad=requires_grad), x, memory_format, "empty_like")


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False, *, layout=None,
              memory_format=None):
    """``fill_value`` with the shape and dtype of ``x``.

    >>> ember.full_like(ember.ones(2), 3.5)
    tensor([3.5000, 3.5000])
    """
    return _laid_like(full(tuple(x.shape), fill_value, dtype=dtype or x.dtype,
                          device=device or _device_of(x), requires_grad=requires_grad),
                     x, memory_format, "full_like")


def ones_like_t(x):
    """ones with x's shape and dtype that also works on traced values (used by autograd)."""
    from ..core.primitive import Tracer
    if isinstance(x, Tracer):
        from .elementwise import full_like_traced
        return full_like_traced(x, 1)
    return Tensor._wrap(_backend.namespace(x._data).ones(x._data.shape, x._data.dtype))


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` to ``end`` (excluded) in steps of ``step``; integers give int64.

    >>> ember.arange(4)
    tensor([0, 1, 2, 3])
    >>> ember.arange(1, 2, 0.25)
    tensor([1.0000, 1.2500, 1.5000, 1.7500])
    """
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise OpError("arange: step must be nonzero")
    if dtype is None:
        dtype = (_dt.int64 if all(isinstance(v, (int, np.integer)) for v in vals)
                 else _dt.get_default_dtype())
    d = _dt.as_dtype(dtype)
    return _make(np.arange(*vals, dtype=np.float64 if d.is_floating_point else None).astype(d.np),
                 requires_grad, device)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included).

    >>> ember.linspace(0, 1, 5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    if int(steps) < 0:
        raise OpError(f"linspace: number of steps must be non-negative, got {steps}")
    d = _dt.as_dtype(dtype)
    return _make(np.linspace(float(start), float(end), int(steps)).astype(d.np), requires_grad,
                 device)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in log scale.

    >>> ember.logspace(0, 2, 3)
    tensor([  1.,  10., 100.])
    """
    d = _dt.as_dtype(dtype)
    return _make(np.logspace(float(start), float(end), int(steps), base=base).astype(d.np),
                 requires_grad, device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The identity matrix (``n x m`` with ones on the diagonal).

    >>> ember.eye(2, 3)
    tensor([[1., 0., 0.],
            [0., 1., 0.]])
    """
    return _made(_backend.get(device).xp.eye(int(n), None if m is None else int(m),
                                             dtype=_dt.as_dtype(dtype).np), requires_grad)
