"""PyTorch's top-level tensor functions that real training scripts use, composed from ember's
ops (so the differentiable ones work eagerly and under ``grad``/``jit``/``vmap`` without new
primitives): ``hypot``, ``logaddexp``, ``addmm``, ``baddbmm``, ``kron``, ``diff``,
``block_diag``, ``cartesian_prod``, ``meshgrid``, ``cdist``, ``quantile``, ``median``, ...

A few results have a data-dependent shape or order (``unique``, ``mode``, ``cummax``/``cummin``
indices, ``histc``): those compute on concrete values (eagerly), as under ``torch.func`` they
cannot be traced either; ``cummax``/``cummin`` values still carry gradients (a gather of the
input at the computed indices).
"""
from __future__ import annotations

import builtins
import collections
import math

import numpy as np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .core.primitive import Tracer, eager_mode
from .core.creation import tensor as _tensor, as_tensor as _as_tensor
from . import ops as _ops  # noqa: F401  (registers the primitives used below)
from .ops import elementwise as _ew, reduce as _red, shape as _sh, indexing as _ix
from .ops import linalg as _la, prng_ops as _prng, slicing as _sl
from .ops.creation_ops import zeros as _zeros, arange as _arange
from .random import generator as _rnd

__all__ = [
    "hypot", "logaddexp", "logaddexp2", "addmm", "baddbmm", "addbmm", "swapaxes", "swapdims",
    "column_stack", "hstack", "vstack", "hsplit", "vsplit", "rot90", "kron", "diff",
    "block_diag", "cartesian_prod", "meshgrid", "tril_indices", "triu_indices",
    "count_nonzero", "nanmean", "nansum", "std_mean", "var_mean", "trapezoid", "trapz",
    "logcumsumexp", "cdist", "isin", "bucketize", "searchsorted", "unique", "cummax", "cummin",
    "median", "mode", "quantile", "histc", "bernoulli", "multinomial", "erfc", "logit",
    "xlogy", "atleast_1d", "atleast_2d",
]

_ValuesIndices = {}


def _zl(x):
    return _ew.full_like_traced(x, 0)


def _ol(x):
    return _ew.full_like_traced(x, 1)


def _vi(name, values, indices):
    cls = _ValuesIndices.get(name)
    if cls is None:
        cls = _ValuesIndices[name] = collections.namedtuple(name, ["values", "indices"])
    return cls(values, indices)


def _t(x, op, name="input"):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (builtins.int, builtins.float, builtins.bool, list, tuple, np.ndarray,
                      np.generic)):
        return _as_tensor(x)
    raise TypeError(f"ember.{op}: {name} must be a Tensor, got {type(x).__name__}")


def _float_check(x, op):
    if not x.dtype.is_floating_point:
        raise TypeError(f"ember.{op}: expected a floating-point tensor, got {x.dtype}; "
                        f"convert first, e.g. x.float()")


def _norm_dim(dim, ndim, op):
    d = dim + builtins.max(ndim, 1) if dim < 0 else dim
    if not 0 <= d < builtins.max(ndim, 1):
        raise IndexError(f"ember.{op}: dim {dim} is out of range for a {ndim}-d tensor "
                         f"(expected in [{-builtins.max(ndim, 1)}, {builtins.max(ndim, 1) - 1}])")
    return d


# --------------------------------------------------------------------------- elementwise

def hypot(input, other):
    """``sqrt(input**2 + other**2)`` elementwise (as ``torch.hypot``)."""
    x, y = _t(input, "hypot"), _t(other, "hypot", "other")
    return _ew.sqrt(x * x + y * y)


def logaddexp(input, other):
    """``log(exp(input) + exp(other))`` without overflow (as ``torch.logaddexp``)."""
    x, y = _t(input, "logaddexp"), _t(other, "logaddexp", "other")
    m = _ew.maximum(x, y)
    fin = _ew.isfinite(m)
    ms = _ew.where(fin, m, _zl(m)).detach()
    core = ms + _ew.log(_ew.exp(x - ms) + _ew.exp(y - ms))
    return _ew.where(fin, core, m)


def logaddexp2(input, other):
    """``log2(2**input + 2**other)`` (as ``torch.logaddexp2``)."""
    ln2 = math.log(2.0)
    return logaddexp(_t(input, "logaddexp2") * ln2, _t(other, "logaddexp2", "other") * ln2) / ln2


def erfc(input):
    """``1 - erf(input)`` (as ``torch.erfc``), computed without cancellation for large
    inputs (its own kernel)."""
    from .ops.special import erfc as _erfc
    return _erfc(_t(input, "erfc"))


def logit(input, eps=None):
    """``log(p / (1 - p))``; with ``eps`` the input is clamped to ``[eps, 1 - eps]`` first
    (as ``torch.logit``)."""
    p = _t(input, "logit")
    if eps is not None:
        p = _ew.clamp(p, eps, 1.0 - eps)
    return _ew.log(p / (1.0 - p))


def xlogy(input, other):
    """``input * log(other)``, 0 where ``input == 0`` (as ``torch.xlogy``; NaN ``other``
    still gives NaN)."""
    x, y = _t(input, "xlogy"), _t(other, "xlogy", "other")
    zero = x == 0
    safe = _ew.where(zero & ~_ew.isnan(y), _ol(y), y)
    return _ew.where(zero & ~_ew.isnan(y), _zl(x * safe), x * _ew.log(safe))


# --------------------------------------------------------------------------- products

def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` for 2-d ``mat1``/``mat2`` (as ``torch.addmm``;
    with ``beta=0`` ``input`` is ignored, NaN included)."""
    m1, m2 = _t(mat1, "addmm", "mat1"), _t(mat2, "addmm", "mat2")
    if m1.ndim != 2 or m2.ndim != 2:
        raise ValueError(f"ember.addmm: mat1 and mat2 must be 2-d, got shapes "
                         f"{tuple(m1.shape)} and {tuple(m2.shape)}")
    prod = _la.mm(m1, m2)
    return _add_scaled(input, prod, beta, alpha)


def _add_scaled(input, prod, beta, alpha):
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod + _zl(prod)
    inp = _t(input, "addmm")
    return (inp if beta == 1 else inp * beta) + prod


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * (batch1 @ batch2)`` for 3-d batches (as ``torch.baddbmm``)."""
    b1, b2 = _t(batch1, "baddbmm", "batch1"), _t(batch2, "baddbmm", "batch2")
    if b1.ndim != 3 or b2.ndim != 3:
        raise ValueError(f"ember.baddbmm: batch1 and batch2 must be 3-d, got shapes "
                         f"{tuple(b1.shape)} and {tuple(b2.shape)}")
    return _add_scaled(input, _la.bmm(b1, b2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])`` (as ``torch.addbmm``)."""
    b1, b2 = _t(batch1, "addbmm", "batch1"), _t(batch2, "addbmm", "batch2")
    if b1.ndim != 3 or b2.ndim != 3:
        raise ValueError(f"ember.addbmm: batch1 and batch2 must be 3-d, got shapes "
                         f"{tuple(b1.shape)} and {tuple(b2.shape)}")
    return _add_scaled(input, _red.sum(_la.bmm(b1, b2), 0), beta, alpha)


def kron(input, other):
    """The Kronecker product (as ``torch.kron``): the result's shape is the elementwise
    product of the shapes (the shorter one padded with leading 1s)."""
    a, b = _t(input, "kron"), _t(other, "kron", "other")
    n = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (n - a.ndim) + tuple(a.shape)
    sb = (1,) * (n - b.ndim) + tuple(b.shape)
    a2 = _sh.reshape(a, tuple(v for s in sa for v in (s, 1)))
    b2 = _sh.reshape(b, tuple(v for s in sb for v in (1, s)))
    return _sh.reshape(a2 * b2, tuple(p * q for p, q in zip(sa, sb)))


def block_diag(*tensors):
    """A block-diagonal matrix from 0-, 1- or 2-d tensors (as ``torch.block_diag``; a 1-d
    tensor is one row)."""
    mats = []
    for i, t in enumerate(tensors):
        t = _t(t, "block_diag", f"tensors[{i}]")
        if t.ndim > 2:
            raise ValueError(f"ember.block_diag: tensors[{i}] has {t.ndim} dimensions; "
                             f"only 0-, 1- and 2-d tensors are allowed")
        mats.append(_sh.reshape(t, (1, 1)) if t.ndim == 0 else
                    _sh.reshape(t, (1, -1)) if t.ndim == 1 else t)
    if not mats:
        return _zeros(1, 0)
    dt = _dt.result_type(*mats)
    mats = [m.to(dt) for m in mats]
    cols = builtins.sum(m.shape[1] for m in mats)
    rows, c0 = [], 0
    for m in mats:
        r, c = m.shape
        parts = [p for p in (_zeros(r, c0, dtype=dt), m, _zeros(r, cols - c0 - c, dtype=dt))
                 if p.shape[1]]
        rows.append(_ix.cat(parts, 1) if len(parts) > 1 else parts[0])
        c0 += c
    return _ix.cat(rows, 0)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """Pairwise p-norm distances between the rows of ``x1`` (``..., P, M``) and ``x2``
    (``..., R, M``): shape ``..., P, R`` (as ``torch.cdist``; the gradient at a zero distance
    is 0, as PyTorch's)."""
    a, b = _t(x1, "cdist", "x1"), _t(x2, "cdist", "x2")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ValueError(f"ember.cdist: x1 and x2 must be at least 2-d with the same last "
                         f"dimension, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if p < 0:
        raise ValueError(f"ember.cdist: p must be non-negative, got {p}")
    d = _sh.unsqueeze(a, -2) - _sh.unsqueeze(b, -3)
    if p == 0:
        return _red.sum((d != 0).to(a.dtype), -1)
    ad = _ew.abs(d)
    if p == math.inf:
        return _red.amax(ad, -1)
    if p == 1:
        return _red.sum(ad, -1)
    s = _red.sum(ad ** p, -1)
    pos = s > 0
    safe = _ew.where(pos, s, _ol(s))
    return _ew.where(pos, safe ** (1.0 / p), _zl(s))


# --------------------------------------------------------------------------- shapes

def swapaxes(input, axis0, axis1):
    """``transpose(input, axis0, axis1)`` (NumPy's name, as ``torch.swapaxes``)."""
    return _sh.transpose(_t(input, "swapaxes"), axis0, axis1)


def swapdims(input, dim0, dim1):
    """``transpose(input, dim0, dim1)`` (as ``torch.swapdims``)."""
    return _sh.transpose(_t(input, "swapdims"), dim0, dim1)


def atleast_1d(*tensors):
    """Each tensor viewed with at least one dimension (as ``torch.atleast_1d``)."""
    one = len(tensors) == 1
    if one and isinstance(tensors[0], (list, tuple)):
        tensors, one = tensors[0], False
    out = [_sh.reshape(t, (1,)) if t.ndim == 0 else t for t in
           (_t(t, "atleast_1d") for t in tensors)]
    return out[0] if one else tuple(out)


def atleast_2d(*tensors):
    """Each tensor viewed with at least two dimensions (as ``torch.atleast_2d``)."""
    one = len(tensors) == 1
    if one and isinstance(tensors[0], (list, tuple)):
        tensors, one = tensors[0], False
    out = []
    for t in (_t(t, "atleast_2d") for t in tensors):
        out.append(_sh.reshape(t, (1, 1)) if t.ndim == 0 else
                   _sh.unsqueeze(t, 0) if t.ndim == 1 else t)
    return out[0] if one else tuple(out)


def _seq(tensors, op):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"ember.{op}: expected a list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"ember.{op}: expected a non-empty list of tensors")
    return [_t(t, op) for t in tensors]


def hstack(tensors):
    """Concatenate along dim 1 (dim 0 for 1-d tensors), as ``torch.hstack``."""
    ts = atleast_1d(*_seq(tensors, "hstack"))
    ts = ts if isinstance(ts, tuple) else (ts,)
    return _ix.cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate along dim 0 after making each tensor at least 2-d (as ``torch.vstack``)."""
    ts = atleast_2d(*_seq(tensors, "vstack"))
    ts = ts if isinstance(ts, tuple) else (ts,)
    return _ix.cat(list(ts), 0)


def column_stack(tensors):
    """Stack 0-/1-d tensors as columns (others concatenated along dim 1), as
    ``torch.column_stack``."""
    ts = _seq(tensors, "column_stack")
    cols = [_sh.reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in ts]
    return _ix.cat(cols, 1)


def _dsplit_like(input, ios, dim, op, min_ndim):
    x = _t(input, op)
    if x.ndim < min_ndim:
        raise ValueError(f"ember.{op}: needs a tensor with at least {min_ndim} dimension(s), "
                         f"got a {x.ndim}-d tensor")
    if isinstance(ios, builtins.int) and x.shape[dim] % ios:
        raise ValueError(f"ember.{op}: dimension {dim} of size {x.shape[dim]} is not "
                         f"divisible by the number of sections {ios}; pass split indices or "
                         f"use ember.tensor_split")
    return tuple(_sl.tensor_split(x, list(ios) if isinstance(ios, (list, tuple)) else ios,
                                  dim))


def hsplit(input, indices_or_sections):
    """Split along dim 1 (dim 0 for 1-d), as ``torch.hsplit``."""
    x = _t(input, "hsplit")
    return _dsplit_like(x, indices_or_sections, 0 if x.ndim == 1 else 1, "hsplit", 1)


def vsplit(input, indices_or_sections):
    """Split along dim 0 of an at-least-2-d tensor, as ``torch.vsplit``."""
    return _dsplit_like(input, indices_or_sections, 0, "vsplit", 2)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane ``dims`` (from the first towards the
    second axis), as ``torch.rot90``."""
    x = _t(input, "rot90")
    if len(dims) != 2:
        raise ValueError(f"ember.rot90: dims must have two entries, got {dims}")
    d0, d1 = (_norm_dim(d, x.ndim, "rot90") for d in dims)
    if d0 == d1 or x.ndim < 2:
        raise ValueError(f"ember.rot90: dims must name two different axes of a tensor with at "
                         f"least 2 dimensions, got dims={tuple(dims)} for shape "
                         f"{tuple(x.shape)}")
    k %= 4
    if k == 1:
        return _sh.transpose(_sl.flip(x, [d1]), d0, d1)
    if k == 2:
        return _sl.flip(x, [d0, d1])
    if k == 3:
        return _sl.flip(_sh.transpose(x, d0, d1), [d1])
    return x + 0 if x.dtype != _dt.bool_ else x.clone()


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (as ``torch.diff``); ``prepend``/
    ``append`` are concatenated first. Booleans give ``!=`` of neighbours."""
    x = _t(input, "diff")
    if n < 0:
        raise ValueError(f"ember.diff: order n must be non-negative, got {n}")
    if x.ndim == 0:
        raise ValueError("ember.diff: expected a tensor with at least 1 dimension, got 0-d")
    d = _norm_dim(dim, x.ndim, "diff")
    if n == 0:  # PyTorch: order 0 is the input itself, prepend/append ignored
        return x + 0 if x.dtype != _dt.bool_ else x.clone()
    parts = []
    for extra in (prepend, x, append):
        if extra is None:
            continue
        e = _t(extra, "diff")
        if e.ndim == 0:
            shape = list(x.shape)
            shape[d] = 1
            e = _sh.expand(_sh.reshape(e, (1,) * x.ndim), tuple(shape))
        parts.append(e)
    if len(parts) > 1:
        x = _ix.cat(parts, d)
    for _ in range(n):
        size = x.shape[d]
        if size == 0:
            break
        hi = _sl.narrow(x, d, 1, size - 1)
        lo = _sl.narrow(x, d, 0, size - 1)
        x = (hi != lo) if x.dtype == _dt.bool_ else hi - lo
    return x


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-d tensors (as ``torch.meshgrid``; ``indexing`` is ``'ij'``
    (the default) or ``'xy'``)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f"ember.meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [_t(t, "meshgrid") for t in tensors]
    for i, t in enumerate(ts):
        if t.ndim > 1:
            raise ValueError(f"ember.meshgrid: expected 0- or 1-d tensors, tensors[{i}] has "
                             f"shape {tuple(t.shape)}")
    ts = [_sh.reshape(t, (-1,)) for t in ts]
    n = len(ts)
    swap = indexing == "xy" and n >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    out = []
    for i, t in enumerate(ts):
        view = [1] * n
        view[i] = shape[i]
        out.append(_sh.expand(_sh.reshape(t, tuple(view)), shape))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def cartesian_prod(*tensors):
    """The Cartesian product of 1-d tensors as rows of an ``N x len(tensors)`` tensor (one
    tensor is returned as is), as ``torch.cartesian_prod``."""
    ts = [_t(t, "cartesian_prod") for t in tensors]
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return _ix.stack([_sh.reshape(g, (-1,)) for g in grids], 1)


def _tri_indices(row, col, offset, dtype, lower, op):
    if row < 0 or col < 0:
        raise ValueError(f"ember.{op}: row and col must be non-negative, got {row}, {col}")
    r, c = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    return _tensor(np.stack([r, c]).astype(_dt.as_dtype(dtype).np))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The ``2 x N`` coordinates of the lower triangle of a ``row x col`` matrix (as
    ``torch.tril_indices``)."""
    return _tri_indices(row, col, offset, dtype or _dt.int64, True, "tril_indices")


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The ``2 x N`` coordinates of the upper triangle of a ``row x col`` matrix (as
    ``torch.triu_indices``)."""
    return _tri_indices(row, col, offset, dtype or _dt.int64, False, "triu_indices")


# --------------------------------------------------------------------------- reductions

def count_nonzero(input, dim=None):
    """The number of non-zero entries (over ``dim``, an int or tuple), as int64."""
    x = _t(input, "count_nonzero")
    return _red.sum((x != 0).to(_dt.int64), dim)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """``sum`` treating NaN as zero (as ``torch.nansum``)."""
    x = _t(input, "nansum")
    if x.dtype.is_floating_point:
        x = _ew.where(_ew.isnan(x), _zl(x), x)
    return _red.sum(x, dim, keepdim=keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """``mean`` over the non-NaN entries (as ``torch.nanmean``; all-NaN gives NaN)."""
    x = _t(input, "nanmean")
    _float_check(x, "nanmean")
    if dtype is not None:
        x = x.to(dtype)
    keep = ~_ew.isnan(x)
    s = _red.sum(_ew.where(keep, x, _zl(x)), dim, keepdim=keepdim)
    return s / _red.sum(keep.to(x.dtype), dim, keepdim=keepdim)


def _var_args(unbiased, correction, op):
    if unbiased is not None and correction is not None:
        raise ValueError(f"ember.{op}: pass unbiased or correction, not both")
    return unbiased, correction


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` in one call (as ``torch.var_mean``; ``correction=1`` by default)."""
    x = _t(input, "var_mean")
    if isinstance(dim, builtins.bool):
        unbiased, dim = dim, None
    unbiased, correction = _var_args(unbiased, correction, "var_mean")
    return (_red.var(x, dim, unbiased=unbiased, keepdim=keepdim, correction=correction),
            _red.mean(x, dim, keepdim=keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` in one call (as ``torch.std_mean``; ``correction=1`` by default)."""
    x = _t(input, "std_mean")
    if isinstance(dim, builtins.bool):
        unbiased, dim = dim, None
    unbiased, correction = _var_args(unbiased, correction, "std_mean")
    return (_red.std(x, dim, unbiased=unbiased, keepdim=keepdim, correction=correction),
            _red.mean(x, dim, keepdim=keepdim))


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal-rule integral of ``y`` along ``dim``, with sample points ``x`` or
    spacing ``dx`` (default 1), as ``torch.trapezoid``."""
    y = _t(y, "trapezoid", "y")
    if x is not None and dx is not None:
        raise ValueError("ember.trapezoid: pass x or dx, not both")
    d = _norm_dim(dim, y.ndim, "trapezoid")
    n = y.shape[d]
    if n == 0:
        return _red.sum(y, d)
    lo, hi = _sl.narrow(y, d, 0, n - 1), _sl.narrow(y, d, 1, n - 1)
    if x is None:
        return _red.sum(lo + hi, d) * ((1.0 if dx is None else dx) / 2.0)
    if not isinstance(x, Tensor):
        raise TypeError(f"ember.trapezoid: x must be a Tensor, got {type(x).__name__}; use "
                        f"dx= for a constant spacing")
    dxs = diff(x, dim=-1 if x.ndim == 1 else dim)
    if x.ndim == 1:
        view = [1] * y.ndim
        view[d] = n - 1
        dxs = _sh.reshape(dxs, tuple(view))
    return _red.sum((lo + hi) * dxs, d) / 2.0


def trapz(y, x=None, *, dx=None, dim=-1):
    """``trapezoid``'s older name (as ``torch.trapz``)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def logcumsumexp(input, dim):
    """``log(cumsum(exp(input), dim))`` computed stably (as ``torch.logcumsumexp``): a
    log-depth prefix scan of ``logaddexp``, so no entry under- or overflows whatever the
    spread of the values."""
    x = _t(input, "logcumsumexp")
    _float_check(x, "logcumsumexp")
    if x.ndim == 0:
        return x + 0
    d = _norm_dim(dim, x.ndim, "logcumsumexp")
    n = x.shape[d]
    y, shift = x, 1
    while shift < n:
        head = _sl.narrow(y, d, 0, n - shift)
        pad = _ew.full_like_traced(_sl.narrow(y, d, 0, shift), -math.inf)
        y = logaddexp(y, _ix.cat([pad, head], d))
        shift *= 2
    return y if n > 1 else y + 0


def _cumext(input, dim, op, better):
    x = _t(input, op)
    if x.ndim == 0:
        return _vi(op, x + 0, _zeros((), dtype=_dt.int64))
    d = _norm_dim(dim, x.ndim, op)
    a = np.moveaxis(np.asarray(x.detach().numpy()), d, -1)
    idx = np.zeros(a.shape, np.int64)
    if a.shape[-1]:
        best = a[..., 0].copy()
        cur = np.zeros(a.shape[:-1], np.int64)
        for j in range(a.shape[-1]):
            v = a[..., j]
            take = better(v, best) | (v == best) | np.isnan(v)
            take &= ~np.isnan(best) | np.isnan(v)
            best = np.where(take, v, best)
            cur = np.where(take, j, cur)
            idx[..., j] = cur
    index = _tensor(np.ascontiguousarray(np.moveaxis(idx, -1, d)))
    return _vi(op, _ix.gather(x, d, index), index)


def cummax(input, dim):
    """Running maximum along ``dim`` and the index where it was reached (the latest one on
    ties), as ``torch.cummax``. Values carry gradients; computed on concrete values."""
    return _cumext(input, dim, "cummax", np.greater)


def cummin(input, dim):
    """Running minimum along ``dim`` and the index where it was reached (as ``torch.cummin``)."""
    return _cumext(input, dim, "cummin", np.less)


def median(input, dim=None, keepdim=False):
    """The lower median (of all entries, or along ``dim`` with its index), as
    ``torch.median``. Differentiable through the selected entries."""
    x = _t(input, "median")
    if dim is None:
        flat = _sh.reshape(x, (-1,))
        if flat.shape[0] == 0:
            raise ValueError("ember.median: cannot take the median of an empty tensor")
        s = _prng.sort(flat, 0)[0]
        return s[(flat.shape[0] - 1) // 2]
    if x.ndim == 0:
        return _vi("median", x + 0, _zeros((), dtype=_dt.int64))
    d = _norm_dim(dim, x.ndim, "median")
    n = x.shape[d]
    if n == 0:
        raise ValueError(f"ember.median: dimension {dim} is empty in shape {tuple(x.shape)}")
    vals, idx = _prng.sort(x, d)
    k = (n - 1) // 2
    v, i = _sl.narrow(vals, d, k, 1), _sl.narrow(idx, d, k, 1)
    if not keepdim:
        v, i = _sh.squeeze(v, d), _sh.squeeze(i, d)
    return _vi("median", v, i)


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest one on ties) and an index where
    it occurs, as ``torch.mode``. Computed on concrete values; values carry gradients."""
    x = _t(input, "mode")
    if x.ndim == 0:
        return _vi("mode", x + 0, _zeros((), dtype=_dt.int64))
    d = _norm_dim(dim, x.ndim, "mode")
    a = np.moveaxis(np.asarray(x.detach().numpy()), d, -1)
    if a.shape[-1] == 0:
        raise ValueError(f"ember.mode: dimension {dim} is empty in shape {tuple(x.shape)}")
    rows = a.reshape(-1, a.shape[-1])
    out = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        vals, counts = np.unique(row, return_counts=True)
        best = vals[np.argmax(counts)]
        out[r] = np.nonzero(row == best)[0][-1]
    index = _tensor(out.reshape(a.shape[:-1] + (1,)))
    index = _tensor(np.ascontiguousarray(np.moveaxis(index.numpy(), -1, d)))
    v = _ix.gather(x, d, index)
    if not keepdim:
        v, index = _sh.squeeze(v, d), _sh.squeeze(index, d)
    return _vi("mode", v, index)


_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_args(op, input, q, dim, interpolation):
    """quantile's and nanquantile's checked arguments: (x, scalar q?, q as a float64 1-d
    array, the source (flattened when dim is None, 1-d for a 0-d input), its dim)."""
    x = _t(input, op)
    _float_check(x, op)
    if interpolation not in _INTERP:
        raise ValueError(f"ember.{op}: interpolation must be one of {_INTERP}, got "
                         f"{interpolation!r}")
    scalar_q = not isinstance(q, Tensor) or q.ndim == 0
    qa = np.atleast_1d(np.asarray(q.detach().numpy() if isinstance(q, Tensor) else q,
                                  dtype=np.float64))
    if qa.ndim > 1:
        raise ValueError(f"ember.{op}: q must be a scalar or 1-d, got shape {qa.shape}")
    if ((qa < 0) | (qa > 1)).any():
        raise ValueError(f"ember.{op}: q values must be in [0, 1], got {qa.tolist()}")
    if dim is None:
        src, d = _sh.reshape(x, (-1,)), 0
    else:
        src = x if x.ndim else _sh.reshape(x, (1,))
        d = _norm_dim(dim, src.ndim, op)
    return x, scalar_q, qa, src, d


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-th quantiles (``q`` a float or 1-d tensor in [0, 1]) of all entries or along
    ``dim``, as ``torch.quantile``; a 1-d ``q`` adds a leading dimension. Differentiable."""
    x, scalar_q, qa, src, d = _quantile_args("quantile", input, q, dim, interpolation)
    n = src.shape[d]
    if n == 0:
        raise ValueError("ember.quantile: cannot take a quantile of an empty tensor")
    s = _prng.sort(src, d)[0]
    pos = qa * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)
    frac = pos - lo
    if interpolation == "lower":
        hi, frac = lo, frac * 0
    elif interpolation == "higher":
        lo, frac = hi, frac * 0
    elif interpolation == "nearest":
        near = np.round(pos).astype(np.int64)  # half to even, as PyTorch's round
        lo = hi = near
        frac = frac * 0
    elif interpolation == "midpoint":
        frac = np.where(hi > lo, 0.5, 0.0)
    # a q that requires grad: linear interpolation's weight q * (n - 1) - lo carries it
    q_t = q.reshape(-1).to(x.dtype) if isinstance(q, Tensor) and q.requires_grad and \
        interpolation == "linear" else None
    outs = []
    for i, (l, h, f) in enumerate(zip(lo, hi, frac)):
        a = _sl.narrow(s, d, int(l), 1)
        if q_t is not None and h != l:
            a = a + (_sl.narrow(s, d, int(h), 1) - a) * (q_t[i] * builtins.float(n - 1)
                                                          - builtins.float(l))
        elif h != l and f:
            a = a + (_sl.narrow(s, d, int(h), 1) - a) * builtins.float(f)
        if dim is None:
            a = _sh.reshape(a, (1,) * x.ndim if keepdim else ())
        elif not keepdim or x.ndim == 0:  # a 0-d input keeps no dim
            a = _sh.squeeze(a, d)
        outs.append(a)
    return outs[0] if scalar_q else _ix.stack(outs, 0)


# --------------------------------------------------------------------------- searching

def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each entry of ``elements`` occurs in ``test_elements`` (as ``torch.isin``)."""
    e = _t(elements, "isin", "elements")
    t = _sh.reshape(_t(test_elements, "isin", "test_elements"), (-1,))
    hit = _red.any(_sh.unsqueeze(e, -1) == t, -1) if t.shape[0] else \
        _zl(e).to(_dt.bool_)
    return ~hit if invert else hit


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Insertion indices of ``values`` into ``sorted_sequence`` (innermost dimension) that keep
    it sorted; ``right``/``side='right'`` puts equal values after (as ``torch.searchsorted``)."""
    seq = _t(sorted_sequence, "searchsorted", "sorted_sequence")
    scalar = not isinstance(values, Tensor)
    v = _t(values, "searchsorted", "values")
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"ember.searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError("ember.searchsorted: side='left' contradicts right=True")
        right = side == "right"
    if sorter is not None:
        seq = _ix.gather(seq, -1, _t(sorter, "searchsorted", "sorter"))
    if seq.ndim > 1 and (v.ndim != seq.ndim or tuple(v.shape[:-1]) != tuple(seq.shape[:-1])):
        raise ValueError(f"ember.searchsorted: sorted_sequence of shape {tuple(seq.shape)} needs "
                         f"values with the same leading dimensions, got {tuple(v.shape)}")
    if seq.ndim > 1:
        cmp = _sh.unsqueeze(seq, -2) <= _sh.unsqueeze(v, -1) if right else \
            _sh.unsqueeze(seq, -2) < _sh.unsqueeze(v, -1)
    else:
        cmp = (seq <= _sh.unsqueeze(v, -1)) if right else (seq < _sh.unsqueeze(v, -1))
    out = _red.sum(cmp.to(_dt.int64), -1).to(_dt.int32 if out_int32 else _dt.int64)
    return out if not scalar or out.ndim else out


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket index of each entry for the 1-d sorted ``boundaries`` (as
    ``torch.bucketize``: ``right=False`` gives ``boundaries[i-1] < x <= boundaries[i]``)."""
    b = _t(boundaries, "bucketize", "boundaries")
    if b.ndim != 1:
        raise ValueError(f"ember.bucketize: boundaries must be 1-d, got shape {tuple(b.shape)}")
    return searchsorted(b, _t(input, "bucketize"), out_int32=out_int32, right=right)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct entries (sorted), optionally with the inverse indices and counts (as
    ``torch.unique``). The result's size depends on the values: computed eagerly."""
    x = _t(input, "unique")
    a = np.asarray(x.detach().numpy())
    res = np.unique(a if dim is None else a, return_inverse=True, return_counts=True,
                    axis=None if dim is None else _norm_dim(dim, x.ndim, "unique"))
    vals, inv, counts = res
    out = [_tensor(vals).to(x.dtype)]
    if return_inverse:
        inv = inv.reshape(a.shape) if dim is None else inv.reshape(-1)
        out.append(_tensor(inv.astype(np.int64)))
    if return_counts:
        out.append(_tensor(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def histc(input, bins=100, min=0, max=0):
    """A histogram of ``bins`` equal-width bins over ``[min, max]`` (the data's range when
    both are 0); values outside are ignored (as ``torch.histc``). Computed eagerly."""
    x = _t(input, "histc")
    _float_check(x, "histc")
    if bins <= 0:
        raise ValueError(f"ember.histc: bins must be positive, got {bins}")
    a = np.asarray(x.detach().numpy(), dtype=np.float64).ravel()
    lo, hi = builtins.float(min), builtins.float(max)
    if lo == hi and a.size:
        lo, hi = builtins.float(a.min()), builtins.float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise ValueError(f"ember.histc: max ({max}) must be at least min ({min})")
    counts, _ = np.histogram(a, bins=bins, range=(lo, hi))
    return _tensor(counts.astype(x.dtype.np))


# --------------------------------------------------------------------------- sampling

def bernoulli(input, p=None, *, generator=None):
    """A 0/1 draw per entry with probability ``input`` (or the float ``p``), in ``input``'s
    dtype (as ``torch.bernoulli``)."""
    x = _t(input, "bernoulli")
    _float_check(x, "bernoulli")
    prob = x if p is None else _ew.full_like_traced(x, p)
    u = _rnd.rand(*x.shape, dtype=x.dtype, generator=generator)
    return (u < prob.detach()).to(x.dtype)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """``num_samples`` category indices per row of the non-negative weights ``input`` (1- or
    2-d), with or without replacement (as ``torch.multinomial``). Without replacement the
    draw is the Gumbel top-k of the log-weights; with replacement an inverse-CDF lookup."""
    w = _t(input, "multinomial")
    _float_check(w, "multinomial")
    if w.ndim not in (1, 2):
        raise ValueError(f"ember.multinomial: input must be 1- or 2-d, got shape "
                         f"{tuple(w.shape)}")
    n = w.shape[-1]
    if num_samples <= 0:
        raise ValueError(f"ember.multinomial: num_samples must be positive, got {num_samples}")
    if not replacement and num_samples > n:
        raise ValueError(f"ember.multinomial: cannot draw {num_samples} samples without "
                         f"replacement from {n} categories; pass replacement=True")
    w = w.detach()
    w2 = w if w.ndim == 2 else _sh.unsqueeze(w, 0)
    if not isinstance(w2, Tracer):
        arr = w2.numpy()
        if (arr < 0).any() or not np.isfinite(arr).all() or (arr.sum(-1) <= 0).any():
            raise ValueError("ember.multinomial: weights must be finite, non-negative and have "
                             "a positive sum in every row")
        if not replacement and ((arr > 0).sum(-1) < num_samples).any():
            raise ValueError(f"ember.multinomial: a row has fewer than {num_samples} categories "
                             f"of non-zero weight, too few to draw without replacement; pass "
                             f"replacement=True or draw fewer")
    rows = w2.shape[0]
    if replacement and type(w2) is Tensor and eager_mode():
        # concrete weights: the same arithmetic as the ops below, straight on NumPy (a policy
        # network samples one action per step; the ops' dispatch would cost more than the draw)
        cdf = arr.cumsum(axis=-1)
        u = _rnd.rand(rows, num_samples, dtype=w.dtype, generator=generator)._data * \
            cdf[:, n - 1:n]
        idx = (cdf[:, None, :] <= u[:, :, None]).astype(np.int64).sum(-1)
        np.minimum(idx, n - 1, out=idx)
        idx = Tensor._wrap(idx)
    elif replacement:
        cdf = _red.cumsum(w2, -1)
        total = _sl.narrow(cdf, -1, n - 1, 1)
        u = _rnd.rand(rows, num_samples, dtype=w.dtype, generator=generator) * total
        idx = _red.sum((_sh.unsqueeze(cdf, 1) <= _sh.unsqueeze(u, -1)).to(_dt.int64), -1)
        idx = _ew.clamp(idx, 0, n - 1)
    else:
        u = _rnd.rand(rows, n, dtype=w.dtype, generator=generator)
        tiny = np.finfo(w.dtype.np).tiny
        g = -_ew.log(-_ew.log(_ew.clamp(u, tiny, 1.0)))
        key = _ew.where(w2 > 0, _ew.log(_ew.where(w2 > 0, w2, _ol(w2))) + g,
                        _ew.full_like_traced(w2, -math.inf))
        idx = _prng.topk(key, num_samples, -1)[1]
    return idx if w.ndim == 2 else _sh.squeeze(idx, 0)


_METHODS = ("hypot", "logaddexp", "logaddexp2", "addmm", "baddbmm", "addbmm", "swapaxes",
            "swapdims", "kron", "diff", "rot90", "count_nonzero", "nanmean", "nansum",
            "logcumsumexp", "cummax", "cummin", "median", "mode", "quantile", "isin", "unique",
            "histc", "bernoulli", "multinomial", "erfc", "logit", "xlogy", "hsplit", "vsplit")
for _name in _METHODS:  # Tensor methods of the same names, where ember has none yet
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, globals()[_name])
del _name
