"""``ember.masked``: ``torch.masked``'s reductions and normalizations with a mask, on dense
tensors.

``mask`` is a boolean tensor (other dtypes are read as ``!= 0``) broadcastable to ``input``
(of no more dims); ``True`` marks the elements taking part, ``mask=None`` all of them. Each
operation replaces the masked-out elements by its reduction's identity (0 for sum/cumsum/
norm, 1 for prod/cumprod, -inf (an integer dtype's minimum) for amax/argmax/logsumexp/
softmax, +inf (maximum) for amin/argmin/softmin, NaN for median) and runs the plain op, so a
gradient reaches the masked-in elements only. What a fully masked-out reduction gives is
therefore PyTorch's: the identity for sum, prod, amax, amin, logsumexp and norm, NaN for
mean, var, std and median, NaN rows for softmax, log_softmax and softmin, index 0 for
argmax/argmin. ``dim=None`` (or ``()``) reduces over every dim.

>>> x = ember.tensor([[1., 2., 3.], [4., 5., 6.]])
>>> m = ember.tensor([[True, False, True], [False, False, False]])
>>> ember.masked.sum(x, 1, mask=m)
tensor([4., 0.])
>>> ember.masked.mean(x, 1, mask=m)
tensor([2., nan])
"""
from __future__ import annotations

import builtins
import math

import numpy as np

__all__ = ["sum", "prod", "cumsum", "cumprod", "amax", "amin", "argmax", "argmin", "mean",
           "median", "logsumexp", "logaddexp", "norm", "var", "std", "softmax", "log_softmax",
           "softmin", "normalize"]

_SMALL_INTS = ("uint8", "bool", "int8", "int16", "int32")


def _e():
    import ember
    return ember


def _tensor(x, op, name="input"):
    E = _e()
    if isinstance(x, E.Tensor) or hasattr(x, "aval"):
        return x
    if isinstance(x, (builtins.int, builtins.float, builtins.bool, list, tuple, np.ndarray)):
        return E.tensor(x)
    raise TypeError(f"masked.{op}: {name} must be a Tensor, got {type(x).__name__}")


def _dims(dim, ndim, op):
    """``dim`` as a sorted tuple of non-negative dims (None or () meaning all)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    n = max(ndim, 1)
    ds = (dim,) if isinstance(dim, (builtins.int, np.integer)) else tuple(dim)
    out = []
    for d in ds:
        if not -n <= d < n:
            raise IndexError(f"masked.{op}: dim {d} is out of range for a tensor of "
                             f"{ndim} dims (expected in [{-n}, {n - 1}])")
        d = builtins.int(d) % n
        if d in out:
            raise RuntimeError(f"masked.{op}: dim {d} appears more than once in {dim!r}")
        out.append(d)
    return tuple(sorted(out))


def _mask(x, mask, op):
    """The mask as a boolean tensor of ``x``'s shape (None: None)."""
    if mask is None:
        return None
    E = _e()
    m = _tensor(mask, op, "mask")
    if m.ndim > x.ndim:
        raise IndexError(f"masked.{op}: the mask has more dims ({m.ndim}, shape "
                         f"{tuple(m.shape)}) than the input ({x.ndim}, shape "
                         f"{tuple(x.shape)}); it must broadcast to the input's shape")
    if tuple(m.shape) != tuple(x.shape):
        try:
            m = E.broadcast_to(m, tuple(x.shape))
        except Exception:
            raise ValueError(f"masked.{op}: a mask of shape {tuple(m.shape)} does not "
                             f"broadcast to the input's shape {tuple(x.shape)}") from None
    return m if m.dtype == E.bool else m != 0


def _identity(kind, x):
    """The fill value of the masked-out elements (a Python number)."""
    E = _e()
    dt = x.dtype
    if kind == "sum":
        return 0
    if kind == "prod":
        return 1
    if kind in ("max", "min"):
        if dt.is_floating_point or dt.is_complex:  # (complex: logsumexp's -inf + 0j)
            return -math.inf if kind == "max" else math.inf
        if dt == E.bool:
            return kind == "min"
        info = E.iinfo(dt)
        return info.min if kind == "max" else info.max
    raise ValueError(kind)


def _fill(x, mask, kind, op):
    """``x`` with its masked-out elements replaced by the identity of ``kind``."""
    E = _e()
    m = _mask(x, mask, op)
    if m is None:
        return x, None
    fill = E.full_like(x, _identity(kind, x)) if x.numel() else x
    return E.where(m, x, fill), m


def _sum_dtype(x, dtype):
    E = _e()
    if dtype is not None:
        return dtype
    return E.int64 if x.dtype.name in _SMALL_INTS else x.dtype


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The sum over ``dim`` of the masked-in elements (0 where all are masked out); small
    integer and bool inputs sum in int64, as ``torch.masked.sum``."""
    E = _e()
    x = _tensor(input, "sum")
    dims = _dims(dim, x.ndim, "sum")
    v, _ = _fill(x, mask, "sum", "sum")
    return E.sum(v, dims, keepdim=bool(keepdim), dtype=_sum_dtype(x, dtype))


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The product over ``dim`` of the masked-in elements (1 where all are masked out)."""
    x = _tensor(input, "prod")
    dims = _dims(dim, x.ndim, "prod")
    v, _ = _fill(x, mask, "prod", "prod")
    v = v.to(_sum_dtype(x, dtype))
    for d in reversed(dims):
        v = v.prod(d, keepdim=bool(keepdim))
    return v


def _one_dim(dim, x, op):
    if not isinstance(dim, (builtins.int, np.integer)):
        raise TypeError(f"masked.{op}: dim must be one int, got {dim!r}")
    return _dims(dim, x.ndim, op)[0]


def cumsum(input, dim, *, dtype=None, mask=None):
    """The running sum along ``dim``, masked-out elements counting as 0."""
    E = _e()
    x = _tensor(input, "cumsum")
    d = _one_dim(dim, x, "cumsum")
    v, _ = _fill(x, mask, "sum", "cumsum")
    dt = x.dtype if dtype is None else dtype
    return E.cumsum(v, d, dtype=dt).to(dt)


def cumprod(input, dim, *, dtype=None, mask=None):
    """The running product along ``dim``, masked-out elements counting as 1."""
    E = _e()
    x = _tensor(input, "cumprod")
    d = _one_dim(dim, x, "cumprod")
    v, _ = _fill(x, mask, "prod", "cumprod")
    dt = x.dtype if dtype is None else dtype
    return E.cumprod(v, d, dtype=dt).to(dt)


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The maximum over ``dim`` of the masked-in elements (-inf, or the integer dtype's
    minimum, where all are masked out)."""
    E = _e()
    x = _tensor(input, "amax")
    v, _ = _fill(x, mask, "max", "amax")
    r = E.amax(v, _dims(dim, x.ndim, "amax"), keepdim=bool(keepdim))
    return r if dtype is None else r.to(dtype)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The minimum over ``dim`` of the masked-in elements (+inf, or the integer dtype's
    maximum, where all are masked out)."""
    E = _e()
    x = _tensor(input, "amin")
    v, _ = _fill(x, mask, "min", "amin")
    r = E.amin(v, _dims(dim, x.ndim, "amin"), keepdim=bool(keepdim))
    return r if dtype is None else r.to(dtype)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The index of the largest masked-in element along ``dim`` (of the flattened input when
    ``dim`` is None); ``dtype`` casts the indices, as ``torch.masked.argmax``."""
    E = _e()
    x = _tensor(input, "argmax")
    v, _ = _fill(x, mask, "max", "argmax")
    r = E.argmax(v, dim, keepdim=bool(keepdim))
    return r.to(x.dtype if dtype is None else dtype)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The index of the smallest masked-in element along ``dim``."""
    E = _e()
    x = _tensor(input, "argmin")
    v, _ = _fill(x, mask, "min", "argmin")
    r = E.argmin(v, dim, keepdim=bool(keepdim))
    return r.to(x.dtype if dtype is None else dtype)


def _count(x, m, dim, keepdim):
    """How many elements take part in each reduction (int64)."""
    E = _e()
    if m is None:
        return E.sum(E.ones(tuple(x.shape), dtype=E.int64), _dims(dim, x.ndim, "count"),
                     keepdim=keepdim)
    return E.sum(m, _dims(dim, x.ndim, "count"), keepdim=keepdim, dtype=E.int64)


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The mean over ``dim`` of the masked-in elements (NaN where all are masked out)."""
    x = _tensor(input, "mean")
    dt = x.dtype if dtype is None else dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise TypeError(f"masked.mean: the result dtype must be floating or complex, got "
                        f"{dt} (from {'dtype=' if dtype is not None else 'the input'}); "
                        f"pass dtype=ember.float32")
    m = _mask(x, mask, "mean")
    total = sum(x, dim, keepdim=keepdim, dtype=dt, mask=m)
    return total / _count(x, m, dim, bool(keepdim))


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    """The median along ``dim`` of the masked-in elements (the lower of the two middle ones,
    as torch; NaN where all are masked out — for an integer input that is an error)."""
    E = _e()
    x = _tensor(input, "median")
    d = _one_dim(dim, x, "median")
    is_float = x.dtype.is_floating_point
    v = x if is_float else x.to(E.float32)
    m = _mask(v, mask, "median")
    if m is not None:
        v = E.where(m, v, E.full_like(v, math.nan))
    out = E.nanmedian(v, d, keepdim=bool(keepdim)).values
    if is_float:
        return out
    if bool(E.isnan(out).any()):
        raise ValueError("masked.median: a row of an integer input is masked out entirely, "
                         "and its median (NaN) has no integer value; convert the input to "
                         "a float dtype first")
    return out.to(x.dtype if dtype is None else dtype)


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """``log(sum(exp(x)))`` over ``dim`` of the masked-in elements (-inf where all are
    masked out)."""
    E = _e()
    x = _tensor(input, "logsumexp")
    dims = _dims(dim, x.ndim, "logsumexp")
    v, _ = _fill(x, mask, "max", "logsumexp")
    r = E.logsumexp(v, dims, keepdim=bool(keepdim))
    return r.to(x.dtype if dtype is None else dtype)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    """``log(exp(input) + exp(other))`` elementwise, each operand's masked-out elements
    counting as -inf (so -inf where both are masked out)."""
    E = _e()
    x = _tensor(input, "logaddexp")
    y = _tensor(other, "logaddexp", "other")
    a, _ = _fill(x, input_mask, "max", "logaddexp")
    b, _ = _fill(y, other_mask, "max", "logaddexp")
    return E.logaddexp(a, b).to(x.dtype if dtype is None else dtype)


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The vector ``ord``-norm over ``dim`` of the masked-in elements (0 where all are masked
    out; +inf for ``ord=-inf``)."""
    E = _e()
    x = _tensor(input, "norm")
    kind = "min" if ord == -math.inf else "sum"
    v, _ = _fill(x, mask, kind, "norm")
    return E.linalg.vector_norm(v, ord, _dims(dim, x.ndim, "norm"), bool(keepdim),
                                dtype=dtype)


def _std_var(op, input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt):
    E = _e()
    x = _tensor(input, op)
    if unbiased is not None and correction is not None:
        raise ValueError(f"masked.{op}: give unbiased or correction, not both")
    corr = 1.0
    if unbiased is not None:
        corr = 1.0 if unbiased else 0.0
    if correction is not None:
        corr = float(correction)
    dt = x.dtype if dtype is None else dtype
    if not (dt.is_floating_point or dt.is_complex):
        dt = E.float32
    m = _mask(x, mask, op)
    count = _count(x, m, dim, True)
    mu = sum(x, dim, keepdim=True, dtype=dt, mask=m) / count
    dev = x - mu
    sq = dev * dev.conj() if dev.dtype.is_complex else dev * dev
    total = sum(sq, dim, keepdim=keepdim, dtype=dt, mask=m)
    if not keepdim:
        count = count.reshape(tuple(total.shape))
    if corr != 0:
        real = {"complex64": E.float32, "complex128": E.float64}.get(dt.name, dt)
        count = E.clamp(count.to(real) - corr, min=0.0)
    out = (total / count).to(dt)
    return out.sqrt() if take_sqrt else out


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """The variance over ``dim`` of the masked-in elements, divided by ``count -
    correction`` (``correction`` 1 by default; ``unbiased=False`` is 0) clamped at 0, so
    NaN or inf where too few take part."""
    return _std_var("var", input, dim, unbiased, correction, keepdim, dtype, mask, False)


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None,
        mask=None):
    """The square root of ``masked.var``."""
    return _std_var("std", input, dim, unbiased, correction, keepdim, dtype, mask, True)


def softmax(input, dim, *, dtype=None, mask=None):
    """Softmax along ``dim`` over the masked-in elements: 0 at the masked-out ones, a row of
    NaN where all are masked out."""
    E = _e()
    x = _tensor(input, "softmax")
    v, _ = _fill(x, mask, "max", "softmax")
    return E.nn.functional.softmax(v, _one_dim(dim, x, "softmax"), dtype=dtype)


def log_softmax(input, dim, *, dtype=None, mask=None):
    """Log-softmax along ``dim`` over the masked-in elements (-inf at the masked-out ones)."""
    E = _e()
    x = _tensor(input, "log_softmax")
    v, _ = _fill(x, mask, "max", "log_softmax")
    return E.nn.functional.log_softmax(v, _one_dim(dim, x, "log_softmax"), dtype=dtype)


def softmin(input, dim, *, dtype=None, mask=None):
    """Softmin along ``dim`` over the masked-in elements."""
    E = _e()
    x = _tensor(input, "softmin")
    v, _ = _fill(x, mask, "min", "softmin")
    return E.nn.functional.softmin(v, _one_dim(dim, x, "softmin"), dtype=dtype)


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    """``input`` divided by its masked ``ord``-norm along ``dim`` (at least ``eps``); the
    masked-out elements are 0."""
    E = _e()
    x = _tensor(input, "normalize")
    v, _ = _fill(x, mask, "sum", "normalize")
    nrm = norm(x, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return v / E.clamp(nrm, min=eps)
