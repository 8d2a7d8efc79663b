"""NumPy / ``jax.numpy`` names over ember tensors: ``import ember.numpy as jnp``.

The same Tensor and the same primitives as the PyTorch-style API, so everything here is
differentiable and works under ``grad``, ``vmap`` and ``jit``; only the names and argument
conventions are NumPy's (``axis``, ``keepdims``, ``ddof``, ``newshape``, split points).
Functional updates: ``x.at[idx].set(v)`` / ``.add(v)`` / ``.get()`` return new tensors.

Dtypes follow JAX's 32-bit mode: integer data defaults to int32 and floats to float32
(int64 / float64 with ``ember.config.update("jax_enable_x64", True)``); see docs/jax_users.md.
"""
from __future__ import annotations

import builtins
from collections import namedtuple as _namedtuple

import numpy as _np

from .core import dtypes as _dt
from .core.primitive import Tracer
from .core.tensor import Tensor
from .ops.slicing import pad as _ops_pad
from .backend import device as _device
from .tree import tree_map as _tree_map

ndarray = Tensor
float16, float32, float64 = _dt.float16, _dt.float32, _dt.float64
complex64, complex128 = _dt.complex64, _dt.complex128
int8, int16, int32, int64, uint8 = _dt.int8, _dt.int16, _dt.int32, _dt.int64, _dt.uint8
bool_ = _dt.bool_
bool = bool_  # noqa: A001  (the Array API's name; the module uses builtins.bool for Python's)
pi, e, inf, nan = _np.pi, _np.e, _np.inf, _np.nan


def _e():
    import ember
    return ember


def asarray(a, dtype=None, order=None, *, device=None, copy=None):
    """``a`` as a tensor (no copy when it already is one of that dtype). A (nested) list that
    holds tensors, traced ones included, is stacked: ``jnp.array([x, x ** 2])``.
    ``device`` places the result; ``copy=True`` always copies, ``copy=False`` raises when a
    copy would be needed (the Array API's ``copy``).

    >>> import ember.numpy as jnp
    >>> jnp.asarray([1.5, 2.5])
    tensor([1.5000, 2.5000])
    """
    if copy is not None or device is not None:
        return _asarray_copy(a, dtype, device, copy)
    if isinstance(a, Tensor):
        return a if dtype is None or _as_dtype(dtype) is a.dtype else a.to(_as_dtype(dtype))
    d = None if dtype is None else _as_dtype(dtype)
    if isinstance(a, (list, tuple)) and _contains_tensor(a):
        return _stack_nested(a, d)
    if d is None:  # JAX's rule: floats are float32 unless 64-bit mode is on
        arr = _np.asarray(a)
        kind = arr.dtype
        if kind == _np.float64 or (kind.kind == "f" and not isinstance(a, _np.ndarray)):
            d = _float_default()
        elif kind == _np.complex128 or (kind.kind == "c" and not isinstance(a, _np.ndarray)):
            d = _dt.complex_of(_float_default())
        elif kind.kind in "iu" and (kind.itemsize == 8 or not isinstance(a, (_np.ndarray,
                                                                              _np.generic))):
            # JAX's rule: integers are int32 (uint32) unless 64-bit mode is on
            d = _dt.jax_int(kind.kind == "u")
            if d.np.itemsize < 8 and not isinstance(a, (_np.ndarray, _np.generic)) and arr.size:
                info = _np.iinfo(d.np)
                hi, lo = arr.max(), arr.min()
                if hi > info.max or lo < info.min:
                    bad = hi if hi > info.max else lo
                    raise OverflowError(
                        f"asarray: the Python int {bad} does not fit {d.name} (JAX's default "
                        f"integer while 64-bit mode is off); pass dtype=jnp.int64 or turn 64-bit "
                        f"mode on (ember.config.update('jax_enable_x64', True))")
    return _e().tensor(a, dtype=d)


def _asarray_copy(a, dtype, device, copy):
    src = a
    if copy is False:
        if not isinstance(a, Tensor):
            if not (isinstance(a, _np.ndarray) or hasattr(a, "__dlpack__")):
                raise ValueError(f"asarray(copy=False): a {type(a).__name__} can't be used "
                                 f"without a copy; pass copy=None or copy=True")
        t = asarray(a, dtype)
        if isinstance(a, _np.ndarray) and a.dtype == t.dtype.np:
            t = _e().from_numpy(a)  # shares a's memory
        same = t is a or (isinstance(a, _np.ndarray) and _np.shares_memory(t._data, a))
        if not same or (device is not None and _e().device(device) != t.device):
            raise ValueError(f"asarray(copy=False): the result needs a copy (dtype "
                             f"{getattr(src, 'dtype', type(src).__name__)} -> {t.dtype}"
                             f"{', device ' + str(device) if device is not None else ''}); "
                             f"pass copy=None or copy=True")
        return t
    t = asarray(a, dtype)
    if copy and (t is a or (isinstance(a, _np.ndarray) and _np.shares_memory(t._data, a))):
        t = t.clone()
    return _on(t, device)


def _on(t, device):
    """``t`` on ``device`` (None: where it is)."""
    return t if device is None else t.to(device)


def _float_default():
    """float64 in 64-bit mode (``ember.config.update("jax_enable_x64", True)``), else the
    default float dtype (float32)."""
    return _dt.float64 if _dt._x64[0] else _dt.get_default_dtype()


def _as_dtype(dtype):
    """A ``dtype=`` argument as JAX reads it: Python's ``int``/``float``/``complex`` name the
    default integer / float / complex dtype (int32 / float32 / complex64 unless 64-bit mode);
    an explicit dtype (``jnp.int64`` included) is honoured."""
    if dtype is builtins.int:
        return _dt.jax_int()
    if dtype is builtins.float:
        return _float_default()
    if dtype is builtins.complex:
        return _dt.complex_of(_float_default())
    return _dt.as_dtype(dtype)


def _int_default(t):
    """An index/count result in JAX's default integer (int32 unless 64-bit mode)."""
    d = _dt.jax_int()
    return t if t.dtype is d else t.to(d)


def _float_or_default(x):
    return x if x.dtype.is_floating_point else x.to(_float_default())


def array(a, dtype=None, copy=True):
    """A new tensor from nested lists, NumPy arrays or tensors (a copy unless ``copy=False``).

    >>> import ember.numpy as jnp
    >>> jnp.array([[1, 2], [3, 4]], dtype=jnp.float32)
    tensor([[1., 2.],
            [3., 4.]])
    """
    t = asarray(a, dtype)
    return t.clone() if copy and t is a else t


def _v(x):  # an operand: tensors and Python scalars stay as they are (scalars are weak)
    return x if isinstance(x, (Tensor, int, float, builtins.bool)) else asarray(x)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


# ---- elementwise ------------------------------------------------------------------------

def _example(call, output):
    """A docstring example: ``call`` typed after ``import ember.numpy as jnp``, and its output."""
    return f"\n\n>>> import ember.numpy as jnp\n>>> {call}\n{output}\n"


def _unary(name, target):
    def f(x):
        return getattr(_e(), target)(asarray(x))
    f.__name__ = f.__qualname__ = name
    arg, output = _UNARY_EXAMPLES[name]
    f.__doc__ = (f"Elementwise ``{name}`` (``ember.{target}``)."
                 + _example(f"jnp.{name}(jnp.array({arg}))", output))
    return f


def _binary(name, target):
    def f(x1, x2):
        a, b = _v(x1), _v(x2)
        if not isinstance(a, Tensor):
            a = asarray(a, b.dtype if isinstance(b, Tensor) else None)
        return getattr(_e(), target)(a, b)
    f.__name__ = f.__qualname__ = name
    args, output = _BINARY_EXAMPLES[name]
    f.__doc__ = (f"Elementwise ``{name}`` with broadcasting (``ember.{target}``)."
                 + _example(f"jnp.{name}({args})", output))
    return f


# the docstring examples of the generated functions: (argument(s), output); the outputs are
# NumPy's values for the same inputs, printed as ember prints them
_HALF_TWO = "[0.5, 2.0]"
_UNARY_EXAMPLES = {
    "exp": (_HALF_TWO, "tensor([1.6487, 7.3891])"),
    "log": (_HALF_TWO, "tensor([-0.6931, 0.6931])"),
    "log1p": (_HALF_TWO, "tensor([0.4055, 1.0986])"),
    "expm1": (_HALF_TWO, "tensor([0.6487, 6.3891])"),
    "sqrt": (_HALF_TWO, "tensor([0.7071, 1.4142])"),
    "sin": (_HALF_TWO, "tensor([0.4794, 0.9093])"),
    "cos": (_HALF_TWO, "tensor([ 0.8776, -0.4161])"),
    "tan": (_HALF_TWO, "tensor([ 0.5463, -2.1850])"),
    "tanh": (_HALF_TWO, "tensor([0.4621, 0.9640])"),
    "sinh": (_HALF_TWO, "tensor([0.5211, 3.6269])"),
    "cosh": (_HALF_TWO, "tensor([1.1276, 3.7622])"),
    "arctan": (_HALF_TWO, "tensor([0.4636, 1.1071])"),
    "square": (_HALF_TWO, "tensor([0.2500, 4.0000])"),
    "reciprocal": (_HALF_TWO, "tensor([2.0000, 0.5000])"),
    "exp2": (_HALF_TWO, "tensor([1.4142, 4.0000])"),
    "log2": (_HALF_TWO, "tensor([-1., 1.])"),
    "log10": (_HALF_TWO, "tensor([-0.3010, 0.3010])"),
    "abs": ("[-2.0, 3.0]", "tensor([2., 3.])"),
    "absolute": ("[-2.0, 3.0]", "tensor([2., 3.])"),
    "negative": ("[-2.0, 3.0]", "tensor([ 2., -3.])"),
    "arcsin": ("[0.0, 1.0]", "tensor([0.0000, 1.5708])"),
    "arccos": ("[0.0, 1.0]", "tensor([1.5708, 0.0000])"),
    "sign": ("[-2.0, 0.0, 3.0]", "tensor([-1., 0., 1.])"),
    "floor": ("[-1.5, 1.5]", "tensor([-2., 1.])"),
    "ceil": ("[-1.5, 1.5]", "tensor([-1., 2.])"),
    "isnan": ("[1.0, jnp.nan]", "tensor([False, True])"),
    "isfinite": ("[1.0, jnp.inf]", "tensor([ True, False])"),
    "isinf": ("[1.0, -jnp.inf]", "tensor([False, True])"),
    "logical_not": ("[True, False]", "tensor([False, True])"),
}
_NUMBERS = "jnp.array([-3.0, 6.0]), 4.0"
_BOOLS = "jnp.array([True, True, False]), jnp.array([True, False, False])"
_BINARY_EXAMPLES = {
    "add": (_NUMBERS, "tensor([ 1., 10.])"),
    "subtract": (_NUMBERS, "tensor([-7., 2.])"),
    "multiply": (_NUMBERS, "tensor([-12., 24.])"),
    "divide": (_NUMBERS, "tensor([-0.7500, 1.5000])"),
    "true_divide": (_NUMBERS, "tensor([-0.7500, 1.5000])"),
    "floor_divide": (_NUMBERS, "tensor([-1., 1.])"),
    "power": ("jnp.array([2.0, 3.0]), jnp.array([3.0, 2.0])", "tensor([8., 9.])"),
    "maximum": (_NUMBERS, "tensor([4., 6.])"),
    "minimum": (_NUMBERS, "tensor([-3., 4.])"),
    "equal": ("jnp.array([4.0, 6.0]), 4.0", "tensor([ True, False])"),
    "not_equal": ("jnp.array([4.0, 6.0]), 4.0", "tensor([False, True])"),
    "less": (_NUMBERS, "tensor([ True, False])"),
    "less_equal": (_NUMBERS, "tensor([ True, False])"),
    "greater": (_NUMBERS, "tensor([False, True])"),
    "greater_equal": (_NUMBERS, "tensor([False, True])"),
    "logical_and": (_BOOLS, "tensor([ True, False, False])"),
    "logical_or": (_BOOLS, "tensor([ True,  True, False])"),
    "logical_xor": (_BOOLS, "tensor([False, True, False])"),
    "arctan2": (_NUMBERS, "tensor([-0.6435, 0.9828])"),
    "mod": (_NUMBERS, "tensor([1., 2.])"),
    "remainder": (_NUMBERS, "tensor([1., 2.])"),
    "fmod": (_NUMBERS, "tensor([-3., 2.])"),
}


_UNARY = dict(exp="exp", log="log", log1p="log1p", expm1="expm1", sqrt="sqrt", abs="abs",
              absolute="abs", sin="sin", cos="cos", tan="tan", tanh="tanh", sinh="sinh",
              cosh="cosh", arcsin="asin", arccos="acos", arctan="atan",
              floor="floor", ceil="ceil", square="square", reciprocal="reciprocal",
              negative="neg", exp2="exp2", log2="log2", log10="log10", isnan="isnan",
              isfinite="isfinite", isinf="isinf", logical_not="logical_not")
_BINARY = dict(add="add", subtract="sub", multiply="mul", divide="div", true_divide="div",
               power="pow", maximum="maximum", minimum="minimum",
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
    """``a`` rounded to ``decimals`` decimals (halves to even, as NumPy).

    >>> import ember.numpy as jnp
    >>> jnp.round(jnp.array([1.234, 5.678]), 1)
    tensor([1.2000, 5.7000])
    """
    return _e().round(asarray(a), decimals=decimals)


def where(condition, x=None, y=None, *, size=None, fill_value=None):
    """``x`` where ``condition`` else ``y``; with one argument the indices of the nonzero
    entries, one array per dim (``nonzero``: needs a concrete value, not under jit).

    >>> import ember.numpy as jnp
    >>> jnp.where(jnp.array([True, False]), jnp.array([1., 2.]), 0.0)
    tensor([1., 0.])
    """
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise TypeError("where: pass both x and y, or neither (for the nonzero indices)")
    return _e().where(asarray(condition), _v(x), _v(y))


def nonzero(a, *, size=None, fill_value=None):
    """The indices of the nonzero entries, one int32 array per dim (int64 in 64-bit mode).
    Eager only: the result's size depends on the data (JAX's ``size=`` for a fixed size is
    not supported).

    >>> import ember.numpy as jnp
    >>> jnp.nonzero(jnp.array([0, 3, 0, 4]))
    (tensor([1, 3], dtype=ember.int32),)
    """
    if size is not None:
        raise ValueError("nonzero: size= is not supported; compute the indices outside jit")
    x = asarray(a)
    if x.ndim == 0:
        raise ValueError("nonzero: a 0-d array has no indices to return (as jax.numpy and the "
                         "Array API); use jnp.atleast_1d(a) first")
    return tuple(_int_default(i) for i in _e().nonzero(x, as_tuple=True))


def argwhere(a):
    """``argwhere`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.argwhere(jnp.array([0, 3, 0, 4]))
    tensor([[1],
            [3]], dtype=ember.int32)
    """
    return stack(nonzero(a), axis=1)


def flatnonzero(a):
    """``flatnonzero`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.flatnonzero(jnp.array([[0, 1], [2, 0]]))
    tensor([1, 2], dtype=ember.int32)
    """
    return nonzero(ravel(a))[0]


def clip(a, /, min=None, max=None, *, a_min=None, a_max=None):  # noqa: A002
    """``a`` limited to [min, max] (either bound may be None; both None: ``a`` unchanged).
    ``a_min``/``a_max`` are NumPy's older names.

    >>> import ember.numpy as jnp
    >>> jnp.clip(jnp.array([-2., 0.5, 3.]), 0.0, 1.0)
    tensor([0.0000, 0.5000, 1.0000])
    """
    lo = a_min if min is None else min
    hi = a_max if max is None else max
    x = asarray(a)
    if lo is None and hi is None:
        return x
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):  # the Array API: x's dtype is kept
        r = x
        if lo is not None:
            r = where(asarray(lo) > r, asarray(lo).to(x.dtype), r)
        if hi is not None:
            r = where(asarray(hi) < r, asarray(hi).to(x.dtype), r)
        return r
    return _e().clamp(x, lo, hi)


# ---- reductions -------------------------------------------------------------------------

def _reduce(name, target, **extra):
    def f(a, axis=None, dtype=None, keepdims=False):
        x = asarray(a)
        if dtype is not None:
            x = x.to(_as_dtype(dtype))
            if name == "sum":
                return _e().sum(x, dim=_axes(axis, x.ndim), keepdim=keepdims, dtype=x.dtype)
        elif name == "mean":  # JAX: the mean of bools and ints is a float
            x = _float_or_default(x)
        elif name == "sum":
            x = _wide_int(x)
            return _e().sum(x, dim=_axes(axis, x.ndim), keepdim=keepdims, dtype=x.dtype)
        return getattr(_e(), target)(x, dim=_axes(axis, x.ndim), keepdim=keepdims, **extra)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"``{name}`` over ``axis`` (all axes when None)."
                 + _example(f"jnp.{name}(x := jnp.array([[1., 2.], [3., 4.]])), "
                            f"jnp.{name}(x, axis=0)", _REDUCE_EXAMPLES[name]))
    return f


_REDUCE_EXAMPLES = {
    "sum": "(tensor(10.), tensor([4., 6.]))", "mean": "(tensor(2.5000), tensor([2., 3.]))",
    "max": "(tensor(4.), tensor([3., 4.]))", "min": "(tensor(1.), tensor([1., 2.]))",
    "any": "(tensor(True), tensor([True, True]))", "all": "(tensor(True), tensor([True, True]))",
}


sum = _reduce("sum", "sum")  # noqa: A001
mean = _reduce("mean", "mean")
max = amax = _reduce("max", "amax")  # noqa: A001
min = amin = _reduce("min", "amin")  # noqa: A001
any = _reduce("any", "any")  # noqa: A001
all = _reduce("all", "all")  # noqa: A001


def _wide_int(x):
    """Integers and bools as JAX's (and the Array API's) sums and products take them: at
    least the default integer (int32 / uint32 for unsigned ones; 64 bits in 64-bit mode)."""
    d = x.dtype
    if d.is_inexact:
        return x
    t = _dt.jax_int(d.np.kind == "u")
    return x if d is not _dt.bool_ and d.np.itemsize >= t.np.itemsize else x.to(t)


def prod(a, axis=None, dtype=None, keepdims=False):
    """Product over ``axis`` (all axes when None).

    >>> import ember.numpy as jnp
    >>> jnp.prod(jnp.array([[1., 2.], [3., 4.]]), axis=1)
    tensor([ 2., 12.])
    """
    x = _wide_int(asarray(a)) if dtype is None else asarray(a).to(_as_dtype(dtype))
    for d in builtins.sorted(_axes(axis, x.ndim), reverse=True):
        x = _e().prod(x, dim=d, keepdim=keepdims, dtype=x.dtype)
    return x


def var(a, axis=None, dtype=None, ddof=0, keepdims=False, *, correction=None):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom (NumPy's default 0).

    >>> import ember.numpy as jnp
    >>> jnp.var(jnp.array([1., 2., 3., 4.]))
    tensor(1.2500)
    """
    if correction is not None:  # the Array API's name for ddof
        ddof = correction
    x = _float_or_default(asarray(a)) if dtype is None else asarray(a).to(_as_dtype(dtype))
    dims = _axes(axis, x.ndim)
    n = int(_np.prod([x.shape[d] for d in dims], dtype=_np.int64))
    dev = x - x.mean(dim=dims, keepdim=True)
    return (dev * dev).sum(dim=dims, keepdim=keepdims) / builtins.max(n - ddof, 0)


def std(a, axis=None, dtype=None, ddof=0, keepdims=False, *, correction=None):
    """The standard deviation over ``axis`` with ``ddof`` delta degrees of freedom (NumPy's
    default 0).

    >>> import ember.numpy as jnp
    >>> jnp.std(jnp.array([1., 2., 3., 4.]), ddof=1)
    tensor(1.2910)
    """
    from .ops.reduce import root_zero_grad
    return root_zero_grad(var(a, axis, dtype, ddof, keepdims, correction=correction), 2)


def _arg(target):
    def f(a, axis=None, keepdims=False):
        x = asarray(a)
        if axis is None:
            r = _int_default(getattr(_e(), target)(x.reshape(-1)))
            return r.reshape((1,) * x.ndim) if keepdims else r
        return _int_default(getattr(_e(), target)(x, dim=axis, keepdim=keepdims))
    f.__name__ = f.__qualname__ = target
    f.__doc__ = (f"Index of the {target[3:]} along ``axis`` (of the flattened array if None)."
                 + _example(f"jnp.{target}(x := jnp.array([[1., 5.], [3., 2.]])), "
                            f"jnp.{target}(x, axis=0)",
                            "(tensor(1, dtype=ember.int32), tensor([1, 0], dtype=ember.int32))"
                            if target == "argmax" else
                            "(tensor(0, dtype=ember.int32), tensor([0, 1], dtype=ember.int32))"))
    return f


argmax, argmin = _arg("argmax"), _arg("argmin")


def _cum(target):
    def f(a, axis=None, dtype=None):
        x = asarray(a) if dtype is None else asarray(a).to(_as_dtype(dtype))
        if x.dtype is _dt.bool_:  # JAX: bools count in the default integer
            x = x.to(_dt.jax_int())
        if axis is None:
            x, axis = x.reshape(-1), 0
        return getattr(_e(), target)(x, dim=axis, dtype=x.dtype)
    f.__name__ = f.__qualname__ = target
    f.__doc__ = (f"The cumulative {target[3:]} along ``axis`` (of the flattened array if None)."
                 + _example(f"jnp.{target}(jnp.array([[1., 2.], [3., 4.]]))",
                            "tensor([ 1.,  3.,  6., 10.])" if target == "cumsum"
                            else "tensor([ 1.,  2.,  6., 24.])"))
    return f


cumsum, cumprod = _cum("cumsum"), _cum("cumprod")


# ---- shapes -----------------------------------------------------------------------------

def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """``a`` with a new shape (one entry may be -1); ``newshape`` is NumPy's older name.

    >>> import ember.numpy as jnp
    >>> jnp.reshape(jnp.arange(6), (2, -1))
    tensor([[0, 1, 2],
            [3, 4, 5]], dtype=ember.int32)
    """
    if order != "C":
        raise ValueError(f"reshape: only order='C' is supported, got {order!r}")
    s = newshape if shape is None else shape
    r = asarray(a).reshape((s,) if isinstance(s, int) else tuple(s))
    return r.clone() if copy else r


def ravel(a):
    """``a`` flattened to 1-D.

    >>> import ember.numpy as jnp
    >>> jnp.ravel(jnp.array([[1, 2], [3, 4]]))
    tensor([1, 2, 3, 4], dtype=ember.int32)
    """
    return asarray(a).reshape(-1)


def transpose(a, axes=None):
    """``a`` with its axes permuted (reversed when ``axes`` is None).

    >>> import ember.numpy as jnp
    >>> jnp.transpose(jnp.zeros((2, 3, 4))).shape
    ember.Size([4, 3, 2])
    """
    x = asarray(a)
    return x.permute(*(range(x.ndim - 1, -1, -1) if axes is None else axes))


def swapaxes(a, axis1, axis2):
    """``a`` with axes ``axis1`` and ``axis2`` exchanged.

    >>> import ember.numpy as jnp
    >>> jnp.swapaxes(jnp.zeros((2, 3, 4)), 0, 2).shape
    ember.Size([4, 3, 2])
    """
    return asarray(a).transpose(axis1, axis2)


def moveaxis(a, source, destination):
    """``a`` with axis ``source`` moved to ``destination``.

    >>> import ember.numpy as jnp
    >>> jnp.moveaxis(jnp.zeros((2, 3, 4)), 0, -1).shape
    ember.Size([3, 4, 2])
    """
    return _e().movedim(asarray(a), source, destination)


def expand_dims(a, axis):
    """``a`` with new size-1 axes at the positions ``axis``.

    >>> import ember.numpy as jnp
    >>> jnp.expand_dims(jnp.zeros((2, 3)), (0, -1)).shape
    ember.Size([1, 2, 3, 1])
    """
    x = asarray(a)
    n = x.ndim + len(_axes(axis, 0))
    for d in builtins.sorted(ax % n for ax in _axes(axis, 0)):
        x = x.unsqueeze(d)
    return x


def squeeze(a, axis=None):
    """``a`` without size-1 axes (only those in ``axis`` when given).

    >>> import ember.numpy as jnp
    >>> jnp.squeeze(jnp.zeros((1, 3, 1)), axis=0).shape
    ember.Size([3, 1])
    """
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
    """The arrays joined along an existing ``axis`` (flattened first when ``axis=None``).

    >>> import ember.numpy as jnp
    >>> jnp.concatenate([jnp.zeros((1, 2)), jnp.ones((2, 2))]).shape
    ember.Size([3, 2])
    """
    xs = [asarray(a) for a in arrays]
    if axis is None:
        xs, axis = [x.reshape(-1) for x in xs], 0
    return _e().cat(xs, dim=axis)


def device_put(x, device=None, *, donate=False, may_alias=None):
    """``x`` (an array or a pytree of arrays) as ember tensors, as ``jax.device_put``: NumPy
    arrays are converted with JAX's dtype rules (float64 -> float32 unless 64-bit mode is
    on); ``device`` (None, a device, or a sharding of ``ember.sharding``) names where they
    go: every ember tensor of this process lives on its host device or the one named.

    >>> import numpy as np
    >>> ember.device_put(np.zeros(2)).dtype
    ember.float32
    """
    dev = device if isinstance(device, (str, _device)) else None
    layout = None
    if device is not None and dev is None:  # a sharding (or a bare PartitionSpec)
        from . import sharding as _sh
        layout = _sh._resolve("device_put", device)

    def put(a):
        t = a if isinstance(a, Tensor) else asarray(a)
        if layout is not None:
            return _sh._place("device_put", t, layout)
        return t if dev is None else t.to(dev)
    return _tree_map(put, x)


def device_get(x):
    """``x`` (a tensor or a pytree of them) as NumPy arrays on the host, as
    ``jax.device_get``.

    >>> ember.device_get({"w": ember.ones(2)})
    {'w': array([1., 1.], dtype=float32)}
    """
    return _tree_map(lambda a: a.cpu().numpy() if isinstance(a, Tensor) else a, x)


_PAD_MODES = {"constant": "constant", "edge": "replicate", "reflect": "reflect",
              "wrap": "circular"}


def pad(array, pad_width, mode="constant", *, constant_values=0):
    """``array`` padded by ``pad_width``: an int (every side of every axis), one
    ``(before, after)`` pair for all axes, or one pair per axis, as ``numpy.pad``. ``mode`` is
    'constant' (``constant_values``, a scalar), 'edge', 'reflect' or 'wrap'.

    >>> import ember.numpy as jnp
    >>> jnp.pad(jnp.array([1., 2.]), (1, 2), constant_values=9.)
    tensor([9., 1., 2., 9., 9.])
    >>> jnp.pad(jnp.ones((2, 2)), ((0, 1), (1, 0))).shape
    ember.Size([3, 3])
    """
    x = asarray(array)
    pw = _np.asarray(pad_width, dtype=object if isinstance(pad_width, Tensor) else None)
    if not _np.issubdtype(pw.dtype, _np.integer) or pw.ndim > 2:
        raise TypeError(f"pad: pad_width must be an int, a (before, after) pair or one pair "
                        f"per axis, got {pad_width!r}")
    pairs = _np.broadcast_to(pw.reshape((-1, 2) if pw.ndim == 2 else (1, -1) if pw.size == 2
                                        else (1, 1)), (x.ndim, 2))
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use one of "
                                  f"{sorted(_PAD_MODES)}")
    if _np.ndim(constant_values) != 0:
        raise NotImplementedError(f"pad: constant_values must be a scalar here, got "
                                  f"{constant_values!r}")
    flat = []
    for lo, hi in reversed(pairs.tolist()):
        flat += [int(lo), int(hi)]
    if mode == "constant":
        return _ops_pad(x, tuple(flat), value=constant_values)
    return _ops_pad(x, tuple(flat), mode=_PAD_MODES[mode])


def stack(arrays, axis=0):
    """The arrays joined along a new ``axis``.

    >>> import ember.numpy as jnp
    >>> jnp.stack([jnp.array([1, 2]), jnp.array([3, 4])], axis=1)
    tensor([[1, 3],
            [2, 4]], dtype=ember.int32)
    """
    return _e().stack([asarray(a) for a in arrays], dim=axis)


def hstack(tup):
    """The arrays joined horizontally (along axis 0 for 1-D arrays, else axis 1).

    >>> import ember.numpy as jnp
    >>> jnp.hstack([jnp.array([1, 2]), jnp.array([3])])
    tensor([1, 2, 3], dtype=ember.int32)
    """
    xs = [asarray(a) for a in tup]
    xs = [x.reshape(1) if x.ndim == 0 else x for x in xs]
    return concatenate(xs, axis=0 if xs[0].ndim == 1 else 1)


def vstack(tup):
    """The arrays joined vertically (1-D arrays and 0-d values become rows); also
    ``row_stack``.

    >>> import ember.numpy as jnp
    >>> jnp.vstack([jnp.array([1, 2]), jnp.array([3, 4])])
    tensor([[1, 2],
            [3, 4]], dtype=ember.int32)
    """
    return concatenate([x.reshape(1, -1) if x.ndim <= 1 else x for x in map(asarray, tup)], 0)


row_stack = vstack


def split(ary, indices_or_sections, axis=0):
    """NumPy's split: an int is a number of equal sections, a list holds split points.

    >>> import ember.numpy as jnp
    >>> jnp.split(jnp.arange(5.), [1, 3])
    [tensor([0.]), tensor([1., 2.]), tensor([3., 4.])]
    """
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
    """``m`` with the order of elements reversed along ``axis`` (all axes when None).

    >>> import ember.numpy as jnp
    >>> jnp.flip(jnp.array([[1, 2], [3, 4]]), axis=1)
    tensor([[2, 1],
            [4, 3]], dtype=ember.int32)
    """
    x = asarray(m)
    return _e().flip(x, dims=_axes(axis, x.ndim))


def broadcast_to(array, shape):
    """``array`` broadcast to ``shape`` (a view, no copy).

    >>> import ember.numpy as jnp
    >>> jnp.broadcast_to(jnp.array([1., 2.]), (2, 2))
    tensor([[1., 2.],
            [1., 2.]])
    """
    return _e().broadcast_to(asarray(array), tuple(shape))


def tile(A, reps):
    """``A`` repeated ``reps`` times along each axis.

    >>> import ember.numpy as jnp
    >>> jnp.tile(jnp.array([1, 2]), 2)
    tensor([1, 2, 1, 2], dtype=ember.int32)
    """
    return _e().tile(asarray(A), (reps,) if isinstance(reps, int) else tuple(reps))


def repeat(a, repeats, axis=None):
    """Each element repeated ``repeats`` times along ``axis`` (of the flattened array when None).

    >>> import ember.numpy as jnp
    >>> jnp.repeat(jnp.array([1, 2]), 2)
    tensor([1, 1, 2, 2], dtype=ember.int32)
    """
    x = asarray(a)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return _e().repeat_interleave(x, repeats, dim=axis)


def take_along_axis(arr, indices, axis):
    """Elements of ``arr`` picked by ``indices`` along ``axis`` (as ``argsort``'s output).

    >>> import ember.numpy as jnp
    >>> jnp.take_along_axis(jnp.array([[10, 30, 20]]), jnp.array([[0, 2, 1]]), axis=1)
    tensor([[10, 20, 30]], dtype=ember.int32)
    """
    return _e().take_along_dim(asarray(arr), asarray(indices), dim=axis)


def take(a, indices, axis=None):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when None).

    >>> import ember.numpy as jnp
    >>> jnp.take(jnp.array([[1, 2], [3, 4]]), jnp.array([1, 0]), axis=1)
    tensor([[2, 1],
            [4, 3]], dtype=ember.int32)
    """
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
    """The matrix product with NumPy's broadcasting of batch dimensions.

    >>> import ember.numpy as jnp
    >>> jnp.matmul(jnp.ones((5, 2, 3)), jnp.ones((3, 4))).shape
    ember.Size([5, 2, 4])
    """
    return _e().matmul(*_promoted(a, b))


def dot(a, b):
    """NumPy's dot: scalars multiply, 1-D/2-D operands are a matrix product, N-D contracts the
    last axis of ``a`` with the second-to-last of ``b``.

    >>> import ember.numpy as jnp
    >>> jnp.dot(jnp.array([1., 2.]), jnp.array([3., 4.]))
    tensor(11.)
    """
    x, y = _promoted(a, b)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim <= 2 and y.ndim <= 2:
        return _e().matmul(x, y)
    return _e().tensordot(x, y, dims=([x.ndim - 1], [builtins.max(y.ndim - 2, 0)]))


def vdot(a, b):
    """The dot product of the flattened ``a`` and ``b``.

    >>> import ember.numpy as jnp
    >>> jnp.vdot(jnp.array([[1., 2.], [3., 4.]]), jnp.ones((2, 2)))
    tensor(10.)
    """
    return (asarray(a).reshape(-1) * asarray(b).reshape(-1)).sum()


def inner(a, b):
    """The inner product over the last axes of ``a`` and ``b``.

    >>> import ember.numpy as jnp
    >>> jnp.inner(jnp.array([1., 2.]), jnp.array([3., 4.]))
    tensor(11.)
    """
    x, y = asarray(a), asarray(b)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    return _e().tensordot(x, y, dims=([x.ndim - 1], [y.ndim - 1]))


def outer(a, b):
    """The outer product of the flattened ``a`` and ``b``.

    >>> import ember.numpy as jnp
    >>> jnp.outer(jnp.array([1., 2.]), jnp.array([1., 10., 100.]))
    tensor([[  1.,  10., 100.],
            [  2.,  20., 200.]])
    """
    return asarray(a).reshape(-1, 1) * asarray(b).reshape(1, -1)


def tensordot(a, b, axes=2):
    """The sum of products over the last ``axes`` axes of ``a`` and the first of ``b`` (or the
    given pairs of axes).

    >>> import ember.numpy as jnp
    >>> jnp.tensordot(jnp.ones((2, 3, 4)), jnp.ones((3, 4, 5))).shape
    ember.Size([2, 5])
    """
    x, y = asarray(a), asarray(b)
    d = _dt.promote_types(x.dtype, y.dtype)
    return _e().tensordot(x.to(d), y.to(d), dims=axes)


def einsum(subscripts, *operands, optimize=None, precision=None):
    """Einstein summation over the operands (``ember.einsum``); also the sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (ints name the axes, ``Ellipsis`` the broadcast
    dims).

    >>> import ember.numpy as jnp
    >>> jnp.einsum("ij,j->i", jnp.ones((2, 3)), jnp.array([1., 2., 3.]))
    tensor([6., 6.])
    """
    if not isinstance(subscripts, str):
        args = (subscripts,) + operands
        ops, subs = list(args[0::2]), list(args[1::2])
        out = None
        if len(args) % 2 == 1:  # an output sublist closes the argument list
            out = args[-1]
            ops = ops[:-1]
        letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

        def word(sub):
            w = ""
            for s in sub:
                if s is Ellipsis:
                    w += "..."
                elif isinstance(s, (int, _np.integer)) and 0 <= s < len(letters):
                    w += letters[s]
                else:
                    raise ValueError(f"einsum: sublist entries must be ints in [0, 52) or "
                                     f"Ellipsis, got {s!r}")
            return w
        subscripts = ",".join(word(s) for s in subs) + ("" if out is None else "->" + word(out))
        operands = tuple(ops)
    return _e().einsum(subscripts, *[asarray(o) for o in operands])


# ---- creation -----------------------------------------------------------------------------

def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _dtype(dtype):
    return _float_default() if dtype is None else _as_dtype(dtype)


def zeros(shape, dtype=None, *, device=None):
    """An array of ``shape`` filled with zeros.

    >>> import ember.numpy as jnp
    >>> jnp.zeros((2, 2))
    tensor([[0., 0.],
            [0., 0.]])
    """
    return _e().zeros(_shape(shape), dtype=_dtype(dtype), device=device)


def ones(shape, dtype=None, *, device=None):
    """An array of ``shape`` filled with ones.

    >>> import ember.numpy as jnp
    >>> jnp.ones((2,), dtype=jnp.int32)
    tensor([1, 1], dtype=ember.int32)
    """
    return _e().ones(_shape(shape), dtype=_dtype(dtype), device=device)


def empty(shape, dtype=None, *, device=None):
    """Zeros (as ``jax.numpy.empty``: arrays are never uninitialised).

    >>> import ember.numpy as jnp
    >>> jnp.empty((2,))
    tensor([0., 0.])
    """
    return zeros(shape, dtype, device=device)


def full(shape, fill_value, dtype=None, *, device=None):
    """An array of ``shape`` filled with ``fill_value``.

    >>> import ember.numpy as jnp
    >>> jnp.full((2,), 7.0)
    tensor([7., 7.])
    """
    if dtype is None:  # the fill value's dtype (JAX's rule; floats per 64-bit mode)
        return _e().full(_shape(shape), fill_value, dtype=asarray(fill_value).dtype,
                         device=device)
    return _e().full(_shape(shape), fill_value, dtype=_as_dtype(dtype), device=device)


def _like_device(x, device):
    """The device a ``*_like`` result goes to: the one given, else ``x``'s (a traced value's
    device is not known while tracing: the default one, as the traced constants)."""
    if device is not None or isinstance(x, Tracer):
        return device
    return x.device


def zeros_like(a, dtype=None, *, device=None):
    """An array of zeros like ``a`` (shape and dtype).

    >>> import ember.numpy as jnp
    >>> jnp.zeros_like(jnp.array([1, 2]))
    tensor([0, 0], dtype=ember.int32)
    """
    x = asarray(a)
    return zeros(x.shape, dtype or x.dtype, device=_like_device(x, device))


def ones_like(a, dtype=None, *, device=None):
    """An array of ones like ``a`` (shape and dtype).

    >>> import ember.numpy as jnp
    >>> jnp.ones_like(jnp.zeros((2,)))
    tensor([1., 1.])
    """
    x = asarray(a)
    return ones(x.shape, dtype or x.dtype, device=_like_device(x, device))


def full_like(a, fill_value, dtype=None, *, device=None):
    """An array like ``a`` (shape and dtype) filled with ``fill_value``.

    >>> import ember.numpy as jnp
    >>> jnp.full_like(jnp.zeros(2, dtype=jnp.int32), 5)
    tensor([5, 5], dtype=ember.int32)
    """
    x = asarray(a)
    return full(x.shape, fill_value, dtype or x.dtype, device=_like_device(x, device))


def empty_like(a, dtype=None, *, device=None):
    """An array like ``a`` (shape and dtype), of zeros (``jax.numpy.empty_like``).

    >>> import ember.numpy as jnp
    >>> jnp.empty_like(jnp.ones(2, dtype=jnp.int32))
    tensor([0, 0], dtype=ember.int32)
    """
    return zeros_like(a, dtype, device=device)


def arange(start, stop=None, step=1, dtype=None, *, device=None):
    """Evenly spaced values in [start, stop) with ``step`` (integers stay integers;
    a float argument gives floats).

    >>> import ember.numpy as jnp
    >>> jnp.arange(1, 7, 2)
    tensor([1, 3, 5], dtype=ember.int32)
    """
    if dtype is None:
        floaty = builtins.any(isinstance(v, float) or (isinstance(v, Tensor) and
                                                         v.dtype.is_floating_point)
                              for v in (start, stop, step))
        d = _float_default() if floaty else _dt.jax_int()
    else:
        d = _as_dtype(dtype)
    return _on(_e().arange(start, stop, step, dtype=d), device)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """``num`` evenly spaced values from ``start`` to ``stop`` (excluded with
    ``endpoint=False``); ``start``/``stop`` may be arrays or traced values (the values run
    along a new ``axis``, and the result is differentiable in both ends).

    >>> import ember.numpy as jnp
    >>> jnp.linspace(0., 1., 4, endpoint=False)
    tensor([0.0000, 0.2500, 0.5000, 0.7500])
    """
    if device is not None:
        r = linspace(start, stop, num, endpoint, retstep, dtype, axis)
        return (_on(r[0], device), r[1]) if retstep else _on(r, device)
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: num must be >= 0, got {num}")
    if not isinstance(start, Tensor) and not isinstance(stop, Tensor) and _np.ndim(start) == 0 \
            and _np.ndim(stop) == 0 and axis == 0 and not retstep:
        if endpoint or num <= 1:
            return _e().linspace(start, stop, num, dtype=_dtype(dtype))
        return _e().linspace(start, stop, num + 1, dtype=_dtype(dtype))[:-1]
    a, b = asarray(start), asarray(stop)
    d = _dtype(dtype) or _dt.result_type(a, b)
    if not d.is_floating_point:
        d = _dt.get_default_dtype()
    a, b = _e().broadcast_tensors(a.to(d), b.to(d))
    div = (num - 1) if endpoint else num
    frac = _np.arange(num, dtype=d.np) / builtins.max(div, 1)
    shape = (num,) + (1,) * a.ndim
    t = asarray(frac.reshape(shape))
    r = a.unsqueeze(0) + t * (b - a).unsqueeze(0)
    if endpoint and num > 1:  # the last value is exactly stop
        r = concatenate([r[:-1], b.unsqueeze(0)], 0)
    r = moveaxis(r, 0, axis) if axis != 0 else r
    if dtype is not None:
        r = r.to(_as_dtype(dtype))
    return (r, (b - a) / builtins.max(div, 1)) if retstep else r


def eye(N, M=None, k=0, dtype=None, *, device=None):
    """A 2-D array with ones on the ``k``-th diagonal.

    >>> import ember.numpy as jnp
    >>> jnp.eye(2, 3, k=1)
    tensor([[0., 1., 0.],
            [0., 0., 1.]])
    """
    if device is not None:
        return _on(eye(N, M, k, dtype), device)
    if k == 0:
        return _e().eye(N, M, dtype=_dtype(dtype))
    m = N if M is None else M
    i = _np.arange(N)[:, None]
    j = _np.arange(m)[None, :]
    return asarray((j - i == k).astype(_np.float32), _dtype(dtype) or _dt.get_default_dtype())


def identity(n, dtype=None):
    """The ``n x n`` identity matrix.

    >>> import ember.numpy as jnp
    >>> jnp.identity(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    return eye(n, dtype=dtype)


def shape(a):
    """The shape of ``a`` as a tuple.

    >>> import ember.numpy as jnp
    >>> jnp.shape(jnp.zeros((2, 3)))
    (2, 3)
    """
    return tuple(asarray(a).shape)


def ndim(a):
    """The number of dimensions of ``a``.

    >>> import ember.numpy as jnp
    >>> jnp.ndim([[1, 2], [3, 4]])
    2
    """
    return asarray(a).ndim


def size(a):
    """The number of elements of ``a``.

    >>> import ember.numpy as jnp
    >>> jnp.size(jnp.zeros((2, 3)))
    6
    """
    return int(_np.prod(shape(a), dtype=_np.int64))



# ---- more of NumPy's / jax.numpy's surface ------------------------------------------------

__version__ = _np.__version__  # the NumPy API level these names follow
newaxis = None


def _contains_tensor(a):
    if isinstance(a, Tensor):
        return True
    if isinstance(a, (list, tuple)):
        return builtins.any(_contains_tensor(x) for x in a)
    return False


def _stack_nested(a, dtype):
    """A (nested) list holding tensors, traced ones included, built by stacking (as
    ``jnp.array([x, x ** 2])``): the elements are promoted to one dtype first."""
    if isinstance(a, (list, tuple)):
        parts = [_stack_nested(x, dtype) for x in a]
        if not parts:
            return _e().tensor([], dtype=dtype)
        d = dtype or _dt.result_type(*parts)
        return _e().stack([p if p.dtype is d else p.to(d) for p in parts])
    if isinstance(a, Tensor):
        return a if dtype is None else a.to(dtype)
    return _e().tensor(a, dtype=dtype)


def tril(m, k=0):
    """``tril`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.tril(jnp.array([[1, 2], [3, 4]]))
    tensor([[1, 0],
            [3, 4]], dtype=ember.int32)
    """
    return _e().tril(asarray(m), k)


def triu(m, k=0):
    """``triu`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.triu(jnp.array([[1, 2], [3, 4]]))
    tensor([[1, 2],
            [0, 4]], dtype=ember.int32)
    """
    return _e().triu(asarray(m), k)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """``diagonal`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.diagonal(jnp.array([[1, 2], [3, 4]]))
    tensor([1, 4], dtype=ember.int32)
    """
    return _e().diagonal(asarray(a), offset, axis1, axis2)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """``trace`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.trace(jnp.array([[1, 2], [3, 4]]))
    tensor(5)
    """
    r = diagonal(a, offset, axis1, axis2).sum(-1)
    return r if dtype is None else r.to(_as_dtype(dtype))


def diag(v, k=0):
    """``diag`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.diag(jnp.array([1, 2]))
    tensor([[1, 0],
            [0, 2]], dtype=ember.int32)
    """
    return _e().diag(asarray(v), k)


def fill_diagonal(a, val, wrap=False, *, inplace=False):
    """A copy of ``a`` with ``val`` on its main diagonal (JAX's form: ``inplace=False``).

    >>> import ember.numpy as jnp
    >>> jnp.fill_diagonal(jnp.zeros((2, 2)), 5.0, inplace=False)
    tensor([[5., 0.],
            [0., 5.]])
    """
    if inplace:
        raise ValueError("fill_diagonal: ember.numpy arrays are not modified in place; pass "
                         "inplace=False and use the result")
    x = asarray(a)
    mask = _np.eye(x.shape[0], x.shape[1], dtype=_np.bool_)
    return _e().where(mask, val, x)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``isclose`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.isclose(jnp.array([1.0, 2.0]), jnp.array([1.0, 2.1]))
    tensor([ True, False])
    """
    x, y = asarray(a), asarray(b)
    E = _e()
    if not x.dtype.is_inexact:
        x = x.to(_dt.get_default_dtype())
    y = y.to(_dt.promote_types(x.dtype, y.dtype))
    x = x.to(y.dtype)
    close = (x - y).abs() <= atol + rtol * y.abs()
    both_inf = E.logical_and(E.isinf(x), x == y)
    r = E.logical_or(E.logical_and(close, E.isfinite(x)), both_inf)
    if equal_nan:
        r = E.logical_or(r, E.logical_and(E.isnan(x), E.isnan(y)))
    return r


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``allclose`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.allclose(jnp.array([1.0, 2.0]), jnp.array([1.0, 2.0 + 1e-9]))
    tensor(True)
    """
    return all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """``array_equal`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.array_equal(jnp.array([1, 2]), jnp.array([1, 2]))
    tensor(True)
    """
    x, y = asarray(a1), asarray(a2)
    if tuple(x.shape) != tuple(y.shape):
        return asarray(False)
    eq = x == y
    if equal_nan:
        eq = _e().logical_or(eq, _e().logical_and(_e().isnan(x), _e().isnan(y)))
    return all(eq)


def atleast_1d(*arys):
    """``atleast_1d`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.atleast_1d(jnp.array(3.0)).shape
    ember.Size([1])
    """
    r = [asarray(a) if asarray(a).ndim >= 1 else asarray(a).reshape(1) for a in arys]
    return r[0] if len(r) == 1 else r


def atleast_2d(*arys):
    """``atleast_2d`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.atleast_2d(jnp.array([1, 2])).shape
    ember.Size([1, 2])
    """
    r = []
    for a in map(asarray, arys):
        r.append(a.reshape((1,) * (2 - a.ndim) + tuple(a.shape)) if a.ndim < 2 else a)
    return r[0] if len(r) == 1 else r


def atleast_3d(*arys):
    """``atleast_3d`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.atleast_3d(jnp.array([1, 2])).shape
    ember.Size([1, 2, 1])
    """
    r = []
    for a in map(asarray, arys):
        if a.ndim == 0:
            a = a.reshape(1, 1, 1)
        elif a.ndim == 1:
            a = a.reshape(1, -1, 1)
        elif a.ndim == 2:
            a = a.unsqueeze(-1)
        r.append(a)
    return r[0] if len(r) == 1 else r


def column_stack(tup):
    """``column_stack`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.column_stack([jnp.array([1, 2]), jnp.array([3, 4])])
    tensor([[1, 3],
            [2, 4]], dtype=ember.int32)
    """
    return concatenate([a.reshape(-1, 1) if a.ndim < 2 else a for a in map(asarray, tup)], 1)


def dstack(tup):
    """``dstack`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.dstack([jnp.array([1, 2]), jnp.array([3, 4])]).shape
    ember.Size([1, 2, 2])
    """
    return concatenate([atleast_3d(a) for a in tup], 2)


def append(arr, values, axis=None):
    """``append`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.append(jnp.array([1, 2]), jnp.array([3, 4]))
    tensor([1, 2, 3, 4], dtype=ember.int32)
    """
    x, v = asarray(arr), asarray(values)
    if axis is None:
        return concatenate([x.reshape(-1), v.reshape(-1)], 0)
    return concatenate([x, v], axis)


def array_split(ary, indices_or_sections, axis=0):
    """As ``split``, but an int need not divide the axis: the first sections get one more.

    >>> import ember.numpy as jnp
    >>> jnp.array_split(jnp.arange(5), 2)
    [tensor([0, 1, 2], dtype=ember.int32), tensor([3, 4], dtype=ember.int32)]
    """
    x = asarray(ary)
    if isinstance(indices_or_sections, (int, _np.integer)):
        n, k = x.shape[axis], int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: the number of sections must be > 0, got {k}")
        q, r = builtins.divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        pts = list(_np.cumsum(sizes)[:-1])
        return split(x, pts, axis)
    return split(x, list(indices_or_sections), axis)


def hsplit(ary, indices_or_sections):
    """``hsplit`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.hsplit(jnp.arange(4), 2)
    [tensor([0, 1], dtype=ember.int32), tensor([2, 3], dtype=ember.int32)]
    """
    x = asarray(ary)
    return split(x, indices_or_sections, 1 if x.ndim > 1 else 0)


def vsplit(ary, indices_or_sections):
    """``vsplit`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.vsplit(jnp.arange(4).reshape(2, 2), 2)
    [tensor([[0, 1]], dtype=ember.int32), tensor([[2, 3]], dtype=ember.int32)]
    """
    x = asarray(ary)
    if x.ndim < 2:
        raise ValueError(f"vsplit: needs at least 2 dims, got shape {tuple(x.shape)}")
    return split(x, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    """``dsplit`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> [p.shape for p in jnp.dsplit(jnp.zeros((1, 1, 4)), 2)]
    [ember.Size([1, 1, 2]), ember.Size([1, 1, 2])]
    """
    x = asarray(ary)
    if x.ndim < 3:
        raise ValueError(f"dsplit: needs at least 3 dims, got shape {tuple(x.shape)}")
    return split(x, indices_or_sections, 2)


def flipud(m):
    """``flipud`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.flipud(jnp.array([[1, 2], [3, 4]]))
    tensor([[3, 4],
            [1, 2]], dtype=ember.int32)
    """
    return flip(m, 0)


def fliplr(m):
    """``fliplr`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.fliplr(jnp.array([[1, 2], [3, 4]]))
    tensor([[2, 1],
            [4, 3]], dtype=ember.int32)
    """
    x = asarray(m)
    if x.ndim < 2:
        raise ValueError(f"fliplr: needs at least 2 dims, got shape {tuple(x.shape)}")
    return flip(x, 1)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (first towards second).

    >>> import ember.numpy as jnp
    >>> jnp.rot90(jnp.array([[1, 2], [3, 4]]))
    tensor([[2, 4],
            [1, 3]], dtype=ember.int32)
    """
    x = asarray(m)
    a0, a1 = axes
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a0), a1)
    if k == 1:
        return swapaxes(flip(x, a1), a0, a1)
    return flip(swapaxes(x, a0, a1), a1)


def _f(x):
    v = asarray(x)
    return v if v.dtype.is_floating_point else v.to(_dt.get_default_dtype())


def arcsinh(x):
    """``arcsinh`` as in NumPy (complex inputs too).

    >>> import ember.numpy as jnp
    >>> jnp.arcsinh(jnp.array([0.0, 1.0]))
    tensor([0.0000, 0.8814])
    """
    return _e().asinh(asarray(x))


def arccosh(x):
    """``arccosh`` as in NumPy (complex inputs too).

    >>> import ember.numpy as jnp
    >>> jnp.arccosh(jnp.array([1.0, 2.0]))
    tensor([0.0000, 1.3170])
    """
    return _e().acosh(asarray(x))


def arctanh(x):
    """``arctanh`` as in NumPy (complex inputs too).

    >>> import ember.numpy as jnp
    >>> jnp.arctanh(jnp.array([0.0, 0.5]))
    tensor([0.0000, 0.5493])
    """
    return _e().atanh(asarray(x))


asinh, acosh, atanh = arcsinh, arccosh, arctanh


def deg2rad(x):
    """``deg2rad`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.deg2rad(jnp.array([180.0]))
    tensor([3.1416])
    """
    return _f(x) * (_np.pi / 180)


def rad2deg(x):
    """Radians to degrees (also ``degrees``).

    >>> import ember.numpy as jnp
    >>> jnp.rad2deg(jnp.array([jnp.pi]))
    tensor([180.])
    """
    return _f(x) * (180 / _np.pi)


radians, degrees = deg2rad, rad2deg


def fabs(x):
    """``fabs`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.fabs(jnp.array([-1.5, 2.0]))
    tensor([1.5000, 2.0000])
    """
    return _f(x).abs()


def hypot(x1, x2):
    """``hypot`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.hypot(jnp.array([3.0]), jnp.array([4.0]))
    tensor([5.])
    """
    from .ops.reduce import root_zero_grad
    a, b = _v(x1), _v(x2)
    s = multiply(a, a) + multiply(b, b)
    return root_zero_grad(_f(s), 2)


def sinc(x):
    """sin(pi x) / (pi x), 1 at 0 (its derivative there is 0).

    >>> import ember.numpy as jnp
    >>> jnp.sinc(jnp.array([0.0, 0.5]))
    tensor([1.0000, 0.6366])
    """
    v = _f(x)
    zero = v == 0
    safe = _e().where(zero, _e().ones_like(v), v) * _np.pi
    return _e().where(zero, _e().ones_like(v), safe.sin() / safe)


def logaddexp(x1, x2):
    """``logaddexp`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.logaddexp(jnp.array([0.0]), jnp.array([0.0]))
    tensor([0.6931])
    """
    a, b = _f(x1), _v(x2)
    a, b = _e().broadcast_tensors(a, _f(b).to(a.dtype))
    m = _e().maximum(a, b)
    m_safe = _e().where(_e().isfinite(m), m, _e().zeros_like(m)).detach()
    return ((a - m_safe).exp() + (b - m_safe).exp()).log() + m_safe


def logaddexp2(x1, x2):
    """``logaddexp2`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.logaddexp2(jnp.array([1.0]), jnp.array([1.0]))
    tensor([2.])
    """
    ln2 = _np.log(2.0)
    return logaddexp(_f(x1) * ln2, _f(x2) * ln2) / ln2


def fmax(x1, x2):
    """``fmax`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.fmax(jnp.array([1.0, jnp.nan]), jnp.array([2.0, 0.0]))
    tensor([2., 0.])
    """
    a, b = asarray(x1), asarray(x2)
    E = _e()
    return E.where(E.isnan(b), a, E.where(E.isnan(a), b, maximum(a, b)))


def fmin(x1, x2):
    """``fmin`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.fmin(jnp.array([1.0, jnp.nan]), jnp.array([2.0, 0.0]))
    tensor([1., 0.])
    """
    a, b = asarray(x1), asarray(x2)
    E = _e()
    return E.where(E.isnan(b), a, E.where(E.isnan(a), b, minimum(a, b)))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``nan_to_num`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.nan_to_num(jnp.array([jnp.nan, 1.0]))
    tensor([0., 1.])
    """
    return _e().nan_to_num(asarray(x), nan, posinf, neginf)


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """``diff`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.diff(jnp.array([1, 4, 9, 16]))
    tensor([3, 5, 7], dtype=ember.int32)
    """
    x = asarray(a)
    parts = []
    if prepend is not None:
        p = asarray(prepend)
        if p.ndim == 0:
            shp = list(x.shape)
            shp[axis] = 1
            p = broadcast_to(p, shp)
        parts.append(p)
    parts.append(x)
    if append is not None:
        p = asarray(append)
        if p.ndim == 0:
            shp = list(x.shape)
            shp[axis] = 1
            p = broadcast_to(p, shp)
        parts.append(p)
    if len(parts) > 1:
        x = concatenate(parts, axis)
    for _ in range(n):
        k = x.shape[axis]
        x = _e().narrow(x, axis, 1, k - 1) - _e().narrow(x, axis, 0, k - 1)
    return x


def gradient(f, *varargs, axis=None, edge_order=1):
    """Central differences inside, one-sided at the edges (``edge_order`` 1); scalar
    spacings only.

    >>> import ember.numpy as jnp
    >>> jnp.gradient(jnp.array([1.0, 4.0, 9.0, 16.0]))
    tensor([3., 4., 6., 7.])
    """
    x = _f(f)
    axes = list(range(x.ndim)) if axis is None else list(_axes(axis, x.ndim))
    if edge_order != 1:
        raise ValueError("gradient: only edge_order=1 is supported")
    if len(varargs) == 0:
        dx = [1.0] * len(axes)
    elif len(varargs) == 1:
        dx = [varargs[0]] * len(axes)
    else:
        dx = list(varargs)
    out = []
    for ax, h in zip(axes, dx):
        if not isinstance(h, (int, float)):
            raise ValueError("gradient: only scalar spacings are supported")
        n = x.shape[ax]
        if n < 2:
            raise ValueError(f"gradient: axis {ax} has size {n}; needs at least 2 points")
        N = _e().narrow
        inner = (N(x, ax, 2, n - 2) - N(x, ax, 0, n - 2)) / (2 * h)
        first = (N(x, ax, 1, 1) - N(x, ax, 0, 1)) / h
        last = (N(x, ax, n - 1, 1) - N(x, ax, n - 2, 1)) / h
        out.append(concatenate([first, inner, last], ax))
    return out[0] if len(out) == 1 else out


def kron(a, b):
    """``kron`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.kron(jnp.array([1, 10]), jnp.array([1, 2]))
    tensor([ 1,  2, 10, 20], dtype=ember.int32)
    """
    x, y = asarray(a), asarray(b)
    nd = builtins.max(x.ndim, y.ndim)
    x = x.reshape((1,) * (nd - x.ndim) + tuple(x.shape))
    y = y.reshape((1,) * (nd - y.ndim) + tuple(y.shape))
    xs = []
    for s in x.shape:
        xs += [s, 1]
    ys = []
    for s in y.shape:
        ys += [1, s]
    r = x.reshape(xs) * y.reshape(ys)
    return r.reshape(tuple(p * q for p, q in zip(x.shape, y.shape)))


def sort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    """``sort`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.sort(jnp.array([3, 1, 2]))
    tensor([1, 2, 3], dtype=ember.int32)
    """
    x = asarray(a)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return _e().sort(x, dim=axis, descending=descending)[0]


def argsort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    """``argsort`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.argsort(jnp.array([3, 1, 2]))
    tensor([1, 2, 0], dtype=ember.int32)
    """
    x = asarray(a)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return _int_default(_e().argsort(x, dim=axis, descending=descending))


def partition(a, kth, axis=-1):
    """A partition around ``kth`` (the k-th smallest at position kth, smaller ones before,
    larger after); this one is fully sorted, which is a valid partition.

    >>> import ember.numpy as jnp
    >>> jnp.partition(jnp.array([3, 1, 2]), 1)[1]
    tensor(2, dtype=ember.int32)
    """
    return sort(a, axis)


def argpartition(a, kth, axis=-1):
    """``argpartition`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.argpartition(jnp.array([3, 1, 2]), 0)[0]
    tensor(1, dtype=ember.int32)
    """
    return argsort(a, axis)


def select(condlist, choicelist, default=0):
    """The first choice whose condition holds, elementwise; ``default`` where none does.

    >>> import ember.numpy as jnp
    >>> conditions = [jnp.array([True, False]), jnp.array([False, False])]
    >>> jnp.select(conditions, [jnp.array([1, 2]), jnp.array([3, 4])], default=0)
    tensor([1, 0], dtype=ember.int32)
    """
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions but {len(choicelist)} choices")
    out = asarray(default) if not isinstance(default, (int, float)) else default
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = where(c, v, out)
    return out


def piecewise(x, condlist, funclist, *args, **kw):
    """``funclist[i](x)`` where ``condlist[i]`` holds (later conditions win, as NumPy); one
    extra function is the default for where no condition holds. Every function is
    evaluated on the whole array (as under jit); constants are allowed.

    >>> import ember.numpy as jnp
    >>> conditions = [jnp.array([True, False]), jnp.array([False, True])]
    >>> jnp.piecewise(jnp.array([-1.0, 2.0]), conditions, [0.0, lambda v: v * 10])
    tensor([ 0., 20.])
    """
    v = asarray(x)
    if isinstance(condlist, Tensor) and condlist.ndim == v.ndim:
        condlist = [condlist]
    condlist = list(condlist)
    funcs = list(funclist)
    if len(funcs) == len(condlist) + 1:
        default = funcs.pop()
    elif len(funcs) == len(condlist):
        default = 0
    else:
        raise ValueError(f"piecewise: {len(condlist)} conditions need {len(condlist)} or "
                         f"{len(condlist) + 1} functions, got {len(funcs)}")

    def val(f):
        r = f(v, *args, **kw) if callable(f) else f
        return r if isinstance(r, Tensor) else full_like(v, r)

    out = val(default)
    for c, f in zip(condlist, funcs):
        out = where(c, val(f), out)
    return out


def count_nonzero(a, axis=None, keepdims=False):
    """``count_nonzero`` as in NumPy.

    >>> import ember.numpy as jnp
    >>> jnp.count_nonzero(jnp.array([0, 3, 0, 4]))
    tensor(2, dtype=ember.int32)
    """
    x = asarray(a)
    return sum((x != 0).to(_dt.jax_int()), axis=axis, keepdims=keepdims)


class _Concatenator:
    """``r_`` / ``c_``: slices become aranges (a complex step is a number of points), scalars
    1-d arrays, then everything is concatenated (``c_``: as columns)."""

    def __init__(self, columns):
        self._columns = columns

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        axis = -1 if self._columns else 0
        items = []
        for k in key:
            if isinstance(k, str):
                try:
                    axis = int(k.split(",")[0])
                    continue
                except ValueError:
                    raise ValueError(f"r_/c_: only an integer axis directive is supported, got "
                                     f"{k!r}") from None
            if isinstance(k, slice):
                start = 0 if k.start is None else k.start
                step = 1 if k.step is None else k.step
                if isinstance(step, complex):
                    items.append(linspace(start, k.stop, int(builtins.abs(step))))
                else:
                    items.append(arange(start, k.stop, step))
            else:
                items.append(asarray(k))
        if self._columns:
            items = [i.reshape(-1, 1) if i.ndim <= 1 else i for i in items]
            return concatenate(items, axis=axis)
        items = [i.reshape(1) if i.ndim == 0 else i for i in items]
        return concatenate(items, axis=axis)


r_ = _Concatenator(False)
c_ = _Concatenator(True)


# ---- the Array API standard's spellings (2024.12) beside NumPy's ------------------------

__array_api_version__ = "2024.12"
uint16, uint32, uint64 = _dt.uint16, _dt.uint32, _dt.uint64
acos, asin, atan, atan2, pow = arccos, arcsin, arctan, arctan2, power  # noqa: A001
concat = concatenate
_BINARY_EXAMPLES.update(
    bitwise_and=("jnp.array([6, 5]), jnp.array([3, 3])", "tensor([2, 1], dtype=ember.int32)"),
    bitwise_or=("jnp.array([6, 5]), jnp.array([3, 3])", "tensor([7, 7], dtype=ember.int32)"),
    bitwise_xor=("jnp.array([6, 5]), jnp.array([3, 3])", "tensor([5, 6], dtype=ember.int32)"))
_UNARY_EXAMPLES.update(bitwise_invert=("[1, 2]", "tensor([-2, -3], dtype=ember.int32)"),
                       trunc=("[1.5, -1.5]", "tensor([ 1., -1.])"))
bitwise_and = _binary("bitwise_and", "bitwise_and")
bitwise_or = _binary("bitwise_or", "bitwise_or")
bitwise_xor = _binary("bitwise_xor", "bitwise_xor")
bitwise_invert = invert = _unary("bitwise_invert", "bitwise_not")
trunc = _unary("trunc", "trunc")


def positive(x):
    return asarray(x)


def signbit(x):
    """True where the sign bit is set (negative numbers, -0.0, NaNs with the sign bit)."""
    return _e().signbit(asarray(x))


def copysign(x1, x2):
    a, b = _f(x1), _f(x2)
    return _e().where(signbit(b), -a.abs(), a.abs())


def permute_dims(x, /, axes):
    return asarray(x).permute(*axes)


def matrix_transpose(x, /):
    return asarray(x).transpose(-1, -2)


def vecdot(x1, x2, /, *, axis=-1):
    """The dot product over ``axis`` (broadcast), ``x1`` conjugated: ``sum(conj(x1) * x2)``."""
    a, b = asarray(x1), asarray(x2)
    n = builtins.min(a.ndim, b.ndim)
    if not -n <= axis < 0 and not (0 <= axis < n):
        raise ValueError(f"vecdot: axis {axis} is out of range for shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    if a.shape[axis] != b.shape[axis]:
        raise ValueError(f"vecdot: the contracted axis {axis} has size {a.shape[axis]} in x1 "
                         f"and {b.shape[axis]} in x2; they must be equal")
    p = _e().conj(a) * b
    return _e().sum(p, dim=axis, dtype=p.dtype)


def astype(x, dtype, /, *, copy=True, device=None):
    v = asarray(x)
    d = _as_dtype(dtype)
    if v.dtype is d:
        return v.clone() if copy else v
    return v.to(d)


def isdtype(dtype, kind):
    """Whether ``dtype`` is of ``kind``: a dtype, a kind name ('bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'numeric', ...) or a tuple of them."""
    d = _as_dtype(dtype)
    if isinstance(kind, tuple):
        return builtins.any(isdtype(d, k) for k in kind)
    if not isinstance(kind, str):
        return d is _as_dtype(kind)
    k = d.np.kind
    table = {"bool": k == "b", "signed integer": k == "i", "unsigned integer": k == "u",
             "integral": k in "iu", "real floating": d.is_floating_point,
             "complex floating": k == "c", "numeric": k in "iufc" or d.is_floating_point}
    if kind not in table:
        raise ValueError(f"isdtype: unknown kind {kind!r}; use one of {sorted(table)}")
    return table[kind]


def result_type(*arrays_and_dtypes):
    ds = []
    for a in arrays_and_dtypes:
        if isinstance(a, Tensor):
            ds.append(a)
        elif isinstance(a, (int, float, complex, builtins.bool)):
            ds.append(a)
        else:
            ds.append(ones((), dtype=_as_dtype(a)))
    return _dt.result_type(*ds)


def can_cast(from_, to, /):
    f = from_.dtype if isinstance(from_, Tensor) else _as_dtype(from_)
    return bool(_np.can_cast(f.np, _as_dtype(to).np, "safe"))


class finfo:
    """Machine limits of a floating dtype (bits, eps, max, min, smallest_normal, dtype)."""

    def __init__(self, dtype):
        d = dtype.dtype if isinstance(dtype, Tensor) else _as_dtype(dtype)
        if not d.is_inexact:
            raise ValueError(f"finfo: {d} is not a floating or complex dtype; use iinfo")
        d = _dt.real_of(d)  # a complex dtype's limits are its parts' (as NumPy and the Array API)
        try:
            i = _np.finfo(d.np)
        except ValueError:  # bfloat16 (an ml_dtypes type NumPy's finfo doesn't know)
            import ml_dtypes
            i = ml_dtypes.finfo(d.np)
        self.bits, self.eps, self.max, self.min = i.bits, float(i.eps), float(i.max), float(i.min)
        self.smallest_normal = self.tiny = float(i.smallest_normal)
        self.resolution = float(i.resolution)
        self.dtype = d


class iinfo:
    """Limits of an integer dtype (bits, max, min, dtype)."""

    def __init__(self, dtype):
        d = dtype.dtype if isinstance(dtype, Tensor) else _as_dtype(dtype)
        if d.is_inexact or d is _dt.bool_:
            raise ValueError(f"iinfo: {d} is not an integer dtype; use finfo")
        i = _np.iinfo(d.np)
        self.bits, self.max, self.min, self.dtype = i.bits, int(i.max), int(i.min), d


def unstack(x, /, *, axis=0):
    v = asarray(x)
    if v.ndim and v.shape[axis] == 0:
        return ()
    return tuple(_e().unbind(v, axis))


def broadcast_arrays(*arrays):
    return list(_e().broadcast_tensors(*[asarray(a) for a in arrays]))


def meshgrid(*xi, indexing="xy", copy=True, sparse=False):
    """Coordinate grids; ``indexing='xy'`` (default, NumPy's) or 'ij'."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [asarray(x).reshape(-1) for x in xi]
    n = len(xs)
    shapes = []
    for i, x in enumerate(xs):
        s = [1] * n
        s[i] = x.shape[0]
        shapes.append(s)
    if indexing == "xy" and n >= 2:
        for s in shapes:
            s[0], s[1] = s[1], s[0]
    out = [x.reshape(tuple(s)) for x, s in zip(xs, shapes)]
    if sparse:
        return out
    return list(_e().broadcast_tensors(*out))


def _cumulative(name, scan, start, x, axis, dtype, include_initial):
    """The Array API's cumulative_sum/prod: ``scan`` along ``axis`` (required above 1-D),
    with ``include_initial`` a leading slice of ``start`` (zeros or ones)."""
    v = asarray(x)
    if axis is None:
        if v.ndim > 1:
            raise ValueError(f"{name}: axis is required for arrays of more than 1 dim")
        axis = 0
    if dtype is None:
        v = _wide_int(v)
    r = scan(v, axis, dtype)
    if include_initial:
        shp = list(r.shape)
        shp[axis] = 1
        r = concatenate([start(shp, dtype=r.dtype), r], axis)
    return r


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    return _cumulative("cumulative_sum", cumsum, zeros, x, axis, dtype, include_initial)


def searchsorted(a, v, side="left", sorter=None):
    """Insertion points of ``v`` into the sorted 1-d ``a`` (``side`` 'left' or 'right')."""
    x, q = asarray(a), asarray(v)
    if sorter is not None:
        x = take(x, sorter)
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    cmp = (x.reshape((1,) * q.ndim + (-1,)) < q.unsqueeze(-1)) if side == "left" else \
        (x.reshape((1,) * q.ndim + (-1,)) <= q.unsqueeze(-1))
    return cmp.to(_dt.jax_int()).sum(-1, dtype=_dt.jax_int())


def unique_values(x, /):
    """The distinct values (NaNs distinct from each other, as the Array API)."""
    return unique_all(x).values


UniqueCountsResult = _namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = _namedtuple("UniqueInverseResult", ["values", "inverse_indices"])
UniqueAllResult = _namedtuple("UniqueAllResult",
                              ["values", "indices", "inverse_indices", "counts"])


def unique_counts(x, /):
    """The distinct values and how often each occurs (NaNs count one each, as the Array API);
    a named tuple ``(values, counts)``."""
    r = unique_all(x)
    return UniqueCountsResult(r.values, r.counts)


def unique_inverse(x, /):
    """The distinct values and, per element, the index of its value; a named tuple
    ``(values, inverse_indices)``."""
    r = unique_all(x)
    return UniqueInverseResult(r.values, r.inverse_indices)


def unique_all(x, /):
    """The distinct values, the index of each one's first occurrence, each element's index
    into the values, and the counts: a named tuple ``(values, indices, inverse_indices,
    counts)``. NaNs are distinct from each other (the Array API's rule). Eager only."""
    t = asarray(x)
    a = t.numpy()
    flat = a.reshape(-1)
    nan = _np.isnan(flat) if t.dtype.is_inexact else _np.zeros(flat.shape, builtins.bool)
    v, idx, inv, c = _np.unique(flat[~nan], return_index=True, return_inverse=True,
                                return_counts=True)
    where_ok = _np.flatnonzero(~nan)
    idx = where_ok[idx] if idx.size else idx
    n_nan = int(nan.sum())
    full_inv = _np.empty(flat.shape, _np.int64)
    full_inv[~nan] = inv.reshape(-1)
    full_inv[nan] = _np.arange(v.size, v.size + n_nan)
    v = _np.concatenate([v, flat[nan]]).astype(a.dtype, copy=False)
    idx = _np.concatenate([idx, _np.flatnonzero(nan)]).astype(_np.int64)
    c = _np.concatenate([c, _np.ones(n_nan, _np.int64)]).astype(_np.int64)
    mk = _e().tensor
    i = _dt.jax_int()
    return UniqueAllResult(mk(v, dtype=t.dtype), mk(idx, dtype=i),
                           mk(full_inv.reshape(a.shape), dtype=i), mk(c, dtype=i))


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    """NumPy's unique (eager only: the size depends on the data)."""
    r = _np.unique(asarray(ar).numpy(), return_index, return_inverse, return_counts, axis)
    if isinstance(r, tuple):  # the values, then indices / inverse / counts in the default int
        return (asarray(r[0]),) + tuple(_e().tensor(t, dtype=_dt.jax_int()) for t in r[1:])
    return asarray(r)


def __array_namespace_info__():
    return _NamespaceInfo()


class _NamespaceInfo:
    def capabilities(self):
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": 64}

    def default_device(self):
        return _e().device("cpu")

    def devices(self):
        return [_e().device("cpu")]

    def default_dtypes(self, *, device=None):
        return {"real floating": _float_default(),
                "complex floating": _dt.complex_of(_float_default()),
                "integral": _dt.jax_int(), "indexing": _dt.jax_int()}

    def dtypes(self, *, device=None, kind=None):
        all_ = {d.name: d for d in (bool_, int8, int16, int32, int64, uint8, uint16, uint32,
                                    uint64, float32, float64, complex64, complex128)}
        if kind is None:
            return all_
        return {n: d for n, d in all_.items() if isdtype(d, kind)}


def _array_namespace(self, api_version=None):
    """The Array API namespace of a tensor: ``ember.numpy``."""
    import sys
    return sys.modules[__name__]


def _to_device(self, device, /, *, stream=None):
    """The tensor on ``device`` (the Array API's spelling of ``.to(device)``)."""
    return self.to(device)


Tensor.__array_namespace__ = _array_namespace
Tensor.to_device = _to_device


# ---- more of the Array API standard -------------------------------------------------------

def bitwise_left_shift(x1, x2, /):
    """``x1 << x2`` for integer arrays.

    >>> import ember.numpy as jnp
    >>> jnp.bitwise_left_shift(jnp.array([1, 3]), 2)
    tensor([ 4, 12], dtype=ember.int32)
    """
    a, b = _v(x1), _v(x2)
    return _e().bitwise_left_shift(a if isinstance(a, Tensor) else asarray(a), b)


def bitwise_right_shift(x1, x2, /):
    """``x1 >> x2`` for integer arrays (arithmetic for signed ones).

    >>> import ember.numpy as jnp
    >>> jnp.bitwise_right_shift(jnp.array([16, -16]), 2)
    tensor([ 4, -4], dtype=ember.int32)
    """
    a, b = _v(x1), _v(x2)
    return _e().bitwise_right_shift(a if isinstance(a, Tensor) else asarray(a), b)


left_shift, right_shift = bitwise_left_shift, bitwise_right_shift


def nextafter(x1, x2, /):
    """The next representable float after ``x1`` towards ``x2``.

    >>> import ember.numpy as jnp
    >>> bool(jnp.nextafter(jnp.array(1.0), 2.0) > 1.0)
    True
    """
    a, b = _v(x1), _v(x2)
    return _e().nextafter(a if isinstance(a, Tensor) else asarray(a), b)


def conj(x, /):
    """The complex conjugate (``x`` itself for real arrays).

    >>> import ember.numpy as jnp
    >>> jnp.conj(jnp.array([1 + 2j, -2.0]))
    tensor([1.-2.j, -2.-0.j])
    """
    return _e().conj(asarray(x))


conjugate = conj


def real(x, /):
    """The real part (``x`` itself for real arrays).

    >>> import ember.numpy as jnp
    >>> jnp.real(jnp.array([1.5 - 1j]))
    tensor([1.5000])
    """
    return _e().real(asarray(x))


def imag(x, /):
    """The imaginary part (zeros like ``x`` for real arrays, as NumPy).

    >>> import ember.numpy as jnp
    >>> jnp.imag(jnp.array([1.5])), jnp.imag(jnp.array([1 - 2j]))
    (tensor([0.]), tensor([-2.]))
    """
    v = asarray(x)
    return _e().imag(v) if v.dtype.is_complex else zeros_like(v)


def angle(z, deg=False):
    """The argument of each (complex) number, in radians or ``deg``rees.

    >>> import ember.numpy as jnp
    >>> jnp.angle(jnp.array([1j, -1.0]))
    tensor([1.5708, 3.1416])
    """
    a = _e().angle(asarray(z))
    return a * (180 / _np.pi) if deg else a


def iscomplexobj(x):
    """Whether ``x``'s dtype is complex."""
    return asarray(x).dtype.is_complex


def isrealobj(x):
    """Whether ``x``'s dtype is not complex."""
    return not iscomplexobj(x)


def sign(x, /):
    """The sign (-1, 0, 1); for complex numbers ``x / |x|`` (0 at 0), as NumPy 2 and the
    Array API.

    >>> import ember.numpy as jnp
    >>> jnp.sign(jnp.array([-2.0, 0.0, 3.0]))
    tensor([-1., 0., 1.])
    """
    return _e().sgn(asarray(x))


def floor_divide(x1, x2, /):
    """The floor of ``x1 / x2``; for floats the Array API's infinities (``inf // 2`` is inf,
    ``1 // -inf`` is -0, where Python and NumPy give nan and -1).

    >>> import ember.numpy as jnp
    >>> jnp.floor_divide(jnp.array([7.0, -7.0, jnp.inf]), 2.0)
    tensor([ 3., -4., inf])
    """
    a, b = _v(x1), _v(x2)
    r = _e().floor_divide(a, b)
    if not r.dtype.is_floating_point:
        return r
    a, b = asarray(a).to(r.dtype), asarray(b).to(r.dtype)
    q = a / b
    fa, fb = _e().isfinite(a), _e().isfinite(b)
    return _e().where(_e().logical_xor(fa, fb) & ~_e().isnan(q), q, r)


def roll(a, shift, axis=None):
    """``a`` with elements shifted by ``shift`` along ``axis`` (of the flattened array when
    None), wrapping around.

    >>> import ember.numpy as jnp
    >>> jnp.roll(jnp.array([1, 2, 3, 4]), 1)
    tensor([4, 1, 2, 3], dtype=ember.int32)
    """
    x = asarray(a)
    if axis is None:
        return _e().roll(x.reshape(-1), shift, 0).reshape(x.shape)
    return _e().roll(x, shift, axis)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """The cumulative product along ``axis`` (optional for 1-d arrays), with a leading 1
    when ``include_initial``.

    >>> import ember.numpy as jnp
    >>> jnp.cumulative_prod(jnp.array([1, 2, 3]), include_initial=True)
    tensor([1, 1, 2, 6], dtype=ember.int32)
    """
    return _cumulative("cumulative_prod", cumprod, ones, x, axis, dtype, include_initial)


def from_dlpack(x, /, *, device=None, copy=None):
    """An array sharing memory with ``x`` (any DLPack producer: NumPy, PyTorch, JAX...);
    ``copy=True`` copies.

    >>> import ember.numpy as jnp
    >>> jnp.from_dlpack(np.arange(3.0))
    tensor([0., 1., 2.], dtype=ember.float64)
    """
    t = _e().from_dlpack(x)
    if copy:
        t = t.clone()
    return _on(t, device)


def _complex(self):
    return complex(self.item())


Tensor.__complex__ = _complex


from .numpy_more import *  # noqa: E402,F401,F403  (jax.numpy names beyond the basics)
