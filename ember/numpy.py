"""NumPy / ``jax.numpy`` names over ember tensors: ``import ember.numpy as jnp``.

The same Tensor and the same primitives as the PyTorch-style API, so everything here is
differentiable and works under ``grad``, ``vmap`` and ``jit``; only the names and argument
conventions are NumPy's (``axis``, ``keepdims``, ``ddof``, ``newshape``, split points).
Functional updates: ``x.at[idx].set(v)`` / ``.add(v)`` / ``.get()`` return new tensors.

Differences from ``jax.numpy``: integer data defaults to int64 (as ember and PyTorch; JAX
without x64 uses int32); floats default to float32 as in JAX.
"""
from __future__ import annotations

import builtins

import numpy as _np

from .core import dtypes as _dt
from .core.tensor import Tensor

ndarray = Tensor
float16, float32, float64 = _dt.float16, _dt.float32, _dt.float64
int8, int16, int32, int64, uint8 = _dt.int8, _dt.int16, _dt.int32, _dt.int64, _dt.uint8
bool_ = _dt.bool_
pi, e, inf, nan = _np.pi, _np.e, _np.inf, _np.nan


def _e():
    import ember
    return ember


def asarray(a, dtype=None):
    """``a`` as a tensor (no copy when it already is one of that dtype)."""
    if isinstance(a, Tensor):
        return a if dtype is None or _dt.as_dtype(dtype) is a.dtype else a.to(_dt.as_dtype(dtype))
    return _e().tensor(a, dtype=None if dtype is None else _dt.as_dtype(dtype))


def array(a, dtype=None, copy=True):
    t = asarray(a, dtype)
    return t.clone() if copy and t is a else t


def _v(x):  # an operand: tensors and Python scalars stay as they are (scalars are weak)
    return x if isinstance(x, (Tensor, int, float, bool)) else asarray(x)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


# ---- elementwise ------------------------------------------------------------------------

def _unary(name, target):
    def f(x):
        return getattr(_e(), target)(asarray(x))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` (``ember.{target}``)."
    return f


def _binary(name, target):
    def f(x1, x2):
        a, b = _v(x1), _v(x2)
        if not isinstance(a, Tensor):
            a = asarray(a, b.dtype if isinstance(b, Tensor) else None)
        return getattr(_e(), target)(a, b)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` with broadcasting (``ember.{target}``)."
    return f


_UNARY = dict(exp="exp", log="log", log1p="log1p", expm1="expm1", sqrt="sqrt", abs="abs",
              absolute="abs", sin="sin", cos="cos", tan="tan", tanh="tanh", sinh="sinh",
              cosh="cosh", arcsin="asin", arccos="acos", arctan="atan", sign="sign",
              floor="floor", ceil="ceil", square="square", reciprocal="reciprocal",
              negative="neg", exp2="exp2", log2="log2", log10="log10", isnan="isnan",
              isfinite="isfinite", isinf="isinf", logical_not="logical_not")
_BINARY = dict(add="add", subtract="sub", multiply="mul", divide="div", true_divide="div",
               floor_divide="floor_divide", power="pow", maximum="maximum", minimum="minimum",
               equal="eq", not_equal="ne", less="lt", less_equal="le", greater="gt",
               greater_equal="ge", logical_and="logical_and", logical_or="logical_or",
               logical_xor="logical_xor", arctan2="atan2", mod="remainder",
               remainder="remainder", fmod="fmod")
for _n, _t in _UNARY.items():
    globals()[_n] = _unary(_n, _t)
for _n, _t in _BINARY.items():
    globals()[_n] = _binary(_n, _t)
del _n, _t


def round(a, decimals=0):  # noqa: A001
    return _e().round(asarray(a), decimals=decimals)


def where(condition, x=None, y=None):
    """``x`` where ``condition`` else ``y`` (the three-argument form)."""
    if x is None or y is None:
        raise TypeError("where: ember.numpy supports the three-argument form where(condition, "
                        "x, y); for the indices of nonzero entries use ember.nonzero")
    return _e().where(asarray(condition), _v(x), _v(y))


def clip(a, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002
    lo = a_min if min is None else min
    hi = a_max if max is None else max
    return _e().clamp(asarray(a), lo, hi)


# ---- reductions -------------------------------------------------------------------------

def _reduce(name, target, **extra):
    def f(a, axis=None, dtype=None, keepdims=False):
        x = asarray(a)
        if dtype is not None:
            x = x.to(_dt.as_dtype(dtype))
        return getattr(_e(), target)(x, dim=_axes(axis, x.ndim), keepdim=keepdims, **extra)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``{name}`` over ``axis`` (all axes when None)."
    return f


sum = _reduce("sum", "sum")  # noqa: A001
mean = _reduce("mean", "mean")
max = amax = _reduce("max", "amax")  # noqa: A001
min = amin = _reduce("min", "amin")  # noqa: A001
any = _reduce("any", "any")  # noqa: A001
all = _reduce("all", "all")  # noqa: A001


def prod(a, axis=None, dtype=None, keepdims=False):
    """Product over ``axis`` (all axes when None)."""
    x = asarray(a) if dtype is None else asarray(a).to(_dt.as_dtype(dtype))
    for d in builtins.sorted(_axes(axis, x.ndim), reverse=True):
        x = _e().prod(x, dim=d, keepdim=keepdims)
    return x


def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom (NumPy's default 0)."""
    x = asarray(a) if dtype is None else asarray(a).to(_dt.as_dtype(dtype))
    dims = _axes(axis, x.ndim)
    n = int(_np.prod([x.shape[d] for d in dims], dtype=_np.int64))
    dev = x - x.mean(dim=dims, keepdim=True)
    return (dev * dev).sum(dim=dims, keepdim=keepdims) / builtins.max(n - ddof, 0)


def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    from .ops.reduce import root_zero_grad
    return root_zero_grad(var(a, axis, dtype, ddof, keepdims), 2)


def _arg(target):
    def f(a, axis=None, keepdims=False):
        x = asarray(a)
        if axis is None:
            r = getattr(_e(), target)(x.reshape(-1))
            return r.reshape((1,) * x.ndim) if keepdims else r
        return getattr(_e(), target)(x, dim=axis, keepdim=keepdims)
    f.__name__ = f.__qualname__ = target
    f.__doc__ = f"Index of the {target[3:]} along ``axis`` (of the flattened array if None)."
    return f


argmax, argmin = _arg("argmax"), _arg("argmin")


def _cum(target):
    def f(a, axis=None, dtype=None):
        x = asarray(a) if dtype is None else asarray(a).to(_dt.as_dtype(dtype))
        if axis is None:
            x, axis = x.reshape(-1), 0
        return getattr(_e(), target)(x, dim=axis)
    f.__name__ = f.__qualname__ = target
    return f


cumsum, cumprod = _cum("cumsum"), _cum("cumprod")


# ---- shapes -----------------------------------------------------------------------------

def reshape(a, newshape=None, *, shape=None):
    s = newshape if shape is None else shape
    return asarray(a).reshape((s,) if isinstance(s, int) else tuple(s))


def ravel(a):
    return asarray(a).reshape(-1)


def transpose(a, axes=None):
    x = asarray(a)
    return x.permute(*(range(x.ndim - 1, -1, -1) if axes is None else axes))


def swapaxes(a, axis1, axis2):
    return asarray(a).transpose(axis1, axis2)


def moveaxis(a, source, destination):
    return _e().movedim(asarray(a), source, destination)


def expand_dims(a, axis):
    x = asarray(a)
    n = x.ndim + len(_axes(axis, 0))
    for d in builtins.sorted(ax % n for ax in _axes(axis, 0)):
        x = x.unsqueeze(d)
    return x


def squeeze(a, axis=None):
    x = asarray(a)
    if axis is None:
        return x.squeeze()
    for ax in _axes(axis, x.ndim):
        if x.shape[ax] != 1:
            raise ValueError(f"squeeze: axis {ax} of an array of shape {tuple(x.shape)} has "
                             f"size {x.shape[ax]}, not 1")
    return x.reshape(tuple(s for i, s in enumerate(x.shape)
                           if i not in {ax % x.ndim for ax in _axes(axis, x.ndim)}))


def concatenate(arrays, axis=0):
    xs = [asarray(a) for a in arrays]
    if axis is None:
        xs, axis = [x.reshape(-1) for x in xs], 0
    return _e().cat(xs, dim=axis)


def stack(arrays, axis=0):
    return _e().stack([asarray(a) for a in arrays], dim=axis)


def hstack(tup):
    xs = [asarray(a) for a in tup]
    return concatenate(xs, axis=0 if xs[0].ndim == 1 else 1)


def vstack(tup):
    return concatenate([x.reshape(1, -1) if x.ndim == 1 else x for x in map(asarray, tup)], 0)


def split(ary, indices_or_sections, axis=0):
    """NumPy's split: an int is a number of equal sections, a list holds split points."""
    x = asarray(ary)
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0 or n % k:
            raise ValueError(f"split: an axis of size {n} can't be split into {k} equal "
                             f"sections; pass split points (a list) instead")
        sizes = [n // k] * k
    else:
        pts = [builtins.min(builtins.max(int(p) if p >= 0 else int(p) + n, 0), n)
               for p in indices_or_sections]
        bounds = [0] + pts + [n]
        sizes = [builtins.max(b - a, 0) for a, b in zip(bounds, bounds[1:])]
    return list(_e().split(x, sizes, dim=axis))


def flip(m, axis=None):
    x = asarray(m)
    return _e().flip(x, dims=_axes(axis, x.ndim))


def broadcast_to(array, shape):
    return _e().broadcast_to(asarray(array), tuple(shape))


def tile(A, reps):
    return _e().tile(asarray(A), (reps,) if isinstance(reps, int) else tuple(reps))


def repeat(a, repeats, axis=None):
    x = asarray(a)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return _e().repeat_interleave(x, repeats, dim=axis)


def take_along_axis(arr, indices, axis):
    return _e().take_along_dim(asarray(arr), asarray(indices), dim=axis)


def take(a, indices, axis=None):
    x = asarray(a)
    if axis is None:
        x, axis = x.reshape(-1), 0
    idx = asarray(indices)
    moved = _e().movedim(x, axis, 0)[idx]
    return _e().movedim(moved, tuple(range(idx.ndim)), tuple(range(axis, axis + idx.ndim)))


# ---- products -----------------------------------------------------------------------------

def _promoted(a, b):
    """Both operands in their common dtype: jax.numpy's products promote (ember.matmul, like
    torch.matmul, refuses mixed dtypes)."""
    from .ops.elementwise import promote
    (x, y), _ = promote(asarray(a), asarray(b), op="matmul")
    return x, y


def matmul(a, b):
    return _e().matmul(*_promoted(a, b))


def dot(a, b):
    """NumPy's dot: scalars multiply, 1-D/2-D operands are a matrix product, N-D contracts the
    last axis of ``a`` with the second-to-last of ``b``."""
    x, y = _promoted(a, b)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim <= 2 and y.ndim <= 2:
        return _e().matmul(x, y)
    return _e().tensordot(x, y, dims=([x.ndim - 1], [builtins.max(y.ndim - 2, 0)]))


def vdot(a, b):
    return (asarray(a).reshape(-1) * asarray(b).reshape(-1)).sum()


def inner(a, b):
    x, y = asarray(a), asarray(b)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    return _e().tensordot(x, y, dims=([x.ndim - 1], [y.ndim - 1]))


def outer(a, b):
    return asarray(a).reshape(-1, 1) * asarray(b).reshape(1, -1)


def tensordot(a, b, axes=2):
    return _e().tensordot(asarray(a), asarray(b), dims=axes)


def einsum(subscripts, *operands):
    return _e().einsum(subscripts, *[asarray(o) for o in operands])


# ---- creation -----------------------------------------------------------------------------

def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _dtype(dtype):
    return None if dtype is None else _dt.as_dtype(dtype)


def zeros(shape, dtype=None):
    return _e().zeros(_shape(shape), dtype=_dtype(dtype))


def ones(shape, dtype=None):
    return _e().ones(_shape(shape), dtype=_dtype(dtype))


def empty(shape, dtype=None):
    """Zeros (as ``jax.numpy.empty``: arrays are never uninitialised)."""
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
    return _e().full(_shape(shape), fill_value, dtype=_dtype(dtype))


def zeros_like(a, dtype=None):
    x = asarray(a)
    return zeros(x.shape, dtype or x.dtype)


def ones_like(a, dtype=None):
    x = asarray(a)
    return ones(x.shape, dtype or x.dtype)


def full_like(a, fill_value, dtype=None):
    x = asarray(a)
    return full(x.shape, fill_value, dtype or x.dtype)


def arange(start, stop=None, step=1, dtype=None):
    return _e().arange(start, stop, step, dtype=_dtype(dtype))


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    if endpoint or num <= 1:
        return _e().linspace(start, stop, num, dtype=_dtype(dtype))
    return _e().linspace(start, stop, num + 1, dtype=_dtype(dtype))[:-1]


def eye(N, M=None, k=0, dtype=None):
    if k == 0:
        return _e().eye(N, M, dtype=_dtype(dtype))
    m = N if M is None else M
    i = _np.arange(N)[:, None]
    j = _np.arange(m)[None, :]
    return asarray((j - i == k).astype(_np.float32), _dtype(dtype) or _dt.get_default_dtype())


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def shape(a):
    return tuple(asarray(a).shape)


def ndim(a):
    return asarray(a).ndim


def size(a):
    return int(_np.prod(shape(a), dtype=_np.int64))

