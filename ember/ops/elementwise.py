"""Elementwise primitives: unary math, binary arithmetic with NumPy broadcasting,
comparisons, logical ops, select (where), casts.

Binary primitives broadcast implicitly (as NumPy does), so their VJP rules sum the
cotangent back to each input's shape (``unbroadcast``), and their batching rule lines the
batch dimension up in front of both operands.
"""
from __future__ import annotations

import math
from builtins import complex as _pycomplex

import numpy as np

from ..backend import namespace
from ..backend import ufuncs as U
from ..backend.kernels import zero_view
from ..core import dtypes as _dt
from ..core.creation import place
from ..core.primitive import Aval, Primitive, Tracer, bind
from ..core.tensor import Tensor
from ._util import broadcast_shapes
from .registry_helpers import method, export
from ..core.exceptions import OpError

__all__: list[str] = []

# --------------------------------------------------------------------------------------
# value conversion and promotion
# --------------------------------------------------------------------------------------


def as_value(x):
    """Tensors/tracers pass through; arrays and Python data become Tensors."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    if isinstance(x, np.generic):  # a NumPy scalar keeps its dtype
        return Tensor._wrap(np.asarray(x))
    from ..core.creation import tensor
    return tensor(x)


def as_jax_value(x):
    """``as_value`` at a JAX-facing entry point (jit, grad, vjp, jvp, vmap): tensors pass
    through; NumPy data and Python numbers get JAX's dtypes first (float64 -> float32 and
    complex128 -> complex64 unless 64-bit mode is on: ``core.dtypes.canonical_value``)."""
    if isinstance(x, Tensor):
        return x
    return as_value(_dt.canonical_value(x))


def cast(x, dtype):
    """``x`` converted to ``dtype`` (a no-op when it already has it)."""
    dtype = _dt.as_dtype(dtype)
    if isinstance(x, Tensor):
        if x.dtype is dtype:
            return x
        return bind(convert_element_type_p, x, new_dtype=dtype)
    # a Python or NumPy scalar
    return dtype.np.type(x)


def promote(*xs, op="op"):
    """Operands converted to their common dtype (PyTorch's promotion; scalars are weak)."""
    d = _dt.result_type(*xs)
    return [cast(x, d) for x in xs], d


def _binary_args(x, y):
    # the hot paths: two tensors of the same dtype; a float tensor and a Python number
    tx, ty = type(x), type(y)
    if tx is Tensor:
        if ty is Tensor:
            if x._data.dtype is y._data.dtype:
                return x, y
        elif (ty is float or ty is int) and x._data.dtype.kind == "f":
            return x, x._data.dtype.type(y)
    elif ty is Tensor and (tx is float or tx is int) and y._data.dtype.kind == "f":
        return y._data.dtype.type(x), y
    if not isinstance(x, Tensor):
        if not isinstance(x, (int, float, bool, _pycomplex, np.number, np.bool_)):
            x = as_value(x)
    if not isinstance(y, Tensor):
        if not isinstance(y, (int, float, bool, _pycomplex, np.number, np.bool_)):
            y = as_value(y)
    (x, y), _ = promote(x, y)
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        x = as_value(x)
    return x, y


# --------------------------------------------------------------------------------------
# generic rules
# --------------------------------------------------------------------------------------


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape`` (the reverse of NumPy broadcasting)."""
    shape = tuple(shape)
    gshape = tuple(g.shape)
    if gshape == shape:
        return g
    from .reduce import sum as _sum
    lead = len(gshape) - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and gshape[i + lead] != 1)
    if dims:
        g = _sum(g, dim=dims, keepdim=True)
    if lead or tuple(g.shape) != shape:
        g = g.reshape(shape)
    return g


def _shape(a):
    return tuple(a.shape) if hasattr(a, "shape") else ()


def moveaxis_to_front(x, d):
    if d == 0:
        return x
    from .shape import movedim
    return movedim(x, d, 0)


def batch_all_front(args, dims):
    """Every argument with its batch dim in front; unbatched ones broadcast to the batch size.
    The simple batching rule of primitives that act on trailing dims."""
    b = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    out = []
    for a, d in zip(args, dims):
        if d is None:
            a = a.reshape((1,) + tuple(a.shape)).expand((b,) + tuple(a.shape))
        else:
            a = moveaxis_to_front(a, d)
        out.append(a)
    return out


def elementwise_batch(prim):
    """Batching rule for any elementwise primitive with implicit broadcasting."""
    def rule(args, dims, **params):
        ranks = [len(_shape(a)) - (d is not None) for a, d in zip(args, dims)]
        r = max(ranks)
        new = []
        for a, d, k in zip(args, dims, ranks):
            if d is None:
                new.append(a)
            else:
                a = moveaxis_to_front(a, d)
                if k < r:  # insert size-1 dims after the batch dim so trailing dims align
                    s = _shape(a)
                    a = a.reshape((s[0],) + (1,) * (r - k) + s[1:])
                new.append(a)
        return bind(prim, *new, **params), 0
    return rule


def _float_dtype(x):
    d = x.dtype
    return d if d.is_floating_point else _dt.get_default_dtype()


def _same_shape_rule(x, **_):
    return Aval(x.shape, x.dtype)


def _broadcast_rule(op, bool_out=False):
    """The shape rule of a broadcasting elementwise primitive; errors name ``op``."""
    def rule(*xs, **_):
        shape = broadcast_shapes(*[tuple(x.shape) for x in xs], op=op)
        return Aval(shape, _dt.bool_ if bool_out else xs[0].dtype)
    return rule


def zeros_like_v(x):
    """Zeros shaped like x, working on tensors and traced values alike."""
    return full_like_traced(x, 0)


def full_like_traced(x, value):
    if isinstance(x, Tracer):
        # a traced value's device is the default device (its plan's backend moves it there)
        return bind(broadcast_in_dim_p, place(np.asarray(value, x.dtype.np)),
                    shape=tuple(x.shape))
    return Tensor._wrap(namespace(x._data).full(x._data.shape, value, x._data.dtype))


def _times(t, d):
    """``t * f'(x)``. A derivative that is a bool mask (relu's) multiplies as it is: NumPy
    takes float * bool, so the mask needs no float copy (same values as casting it)."""
    return bind(mul_p, t, d) if d.dtype is _dt.bool_ else t * d


def _is_ufunc(fn):
    """An elementwise NumPy ufunc (no core signature): it takes ``out=``."""
    return isinstance(fn, np.ufunc) and fn.signature is None


def _unary(name, fn, deriv=None, *, float_only=True, differentiable=True, needs_out=False,
           export_name=None, doc="", real_only=False, takes_out=False):
    """Define a unary elementwise primitive. ``deriv(x, out)`` returns f'(x) as an ember value.
    ``takes_out``: ``fn`` is no ufunc but acts as one (a new array of its input's shape and
    dtype, or written into ``out=``), so a jit plan may run it in place."""
    p = Primitive(name, fn, shape=_same_shape_rule, differentiable=differentiable,
                  vjp_needs_out=needs_out, doc=doc,
                  elementwise_ufunc=takes_out or _is_ufunc(fn))
    if deriv is not None:
        p.vjp = lambda ct, out, x: (_times(ct, deriv(x, out)),)
        p.jvp = lambda primals, tangents, out: _times(tangents[0], deriv(primals[0], out))
    else:  # piecewise constant (floor, sign, ...): a zero gradient, as PyTorch
        p.vjp = lambda ct, out, x: (ct * 0,)
        p.jvp = lambda primals, tangents, out: zeros_like_v(out)
    p.batch = elementwise_batch(p)

    def op(x):
        x = as_value(x)
        if float_only and not x.dtype.is_inexact:
            x = cast(x, _dt.get_default_dtype())
        elif real_only and x.dtype.is_complex:
            raise_complex(op.__name__, x)
        return bind(p, x)
    op.__name__ = op.__qualname__ = export_name or name  # (qualname: pickled by reference)
    op.__doc__ = doc or f"Elementwise {name}."
    p.op = op
    if export_name is None:
        export(op, __all__)
        method(op)
    return p


# --------------------------------------------------------------------------------------
# casts
# --------------------------------------------------------------------------------------

def _convert_impl(x, new_dtype):
    if x.dtype.kind == "c" and new_dtype.np.kind != "c":
        x = x.real  # complex -> real keeps the real part (as PyTorch; NumPy would warn)
    return x.astype(new_dtype.np)


convert_element_type_p = Primitive(
    "convert_element_type", _convert_impl,
    shape=lambda x, new_dtype: Aval(x.shape, new_dtype),
    vjp=lambda ct, out, x, new_dtype: (cast(ct, x.dtype) if x.dtype.is_inexact
                                       else None,),
    jvp=lambda primals, tangents, out, new_dtype: (
        cast(tangents[0], new_dtype) if new_dtype.is_inexact else zeros_like_v(out)),
    linear=True,
)
convert_element_type_p.batch = lambda args, dims, new_dtype: (
    bind(convert_element_type_p, args[0], new_dtype=new_dtype), dims[0])


# bitcast_convert_type: the same bytes read as another dtype (JAX's lax.bitcast_convert_type)

def _bitcast_shape(shape, old, new):
    """The result shape: a narrower dtype adds a trailing dim of the width ratio, a wider
    one consumes a trailing dim of that size (JAX's rule)."""
    a, b = old.np.itemsize, new.np.itemsize
    if a == b:
        return tuple(shape)
    if a > b:
        return tuple(shape) + (a // b,)
    if not shape or shape[-1] != b // a:
        raise ValueError(f"bitcast_convert_type: converting shape {tuple(shape)} from "
                         f"{old.name} ({8 * a} bits) to {new.name} ({8 * b} bits) needs a "
                         f"last dim of {b // a} (the {b // a} pieces of each {new.name}), got "
                         f"{shape[-1] if shape else 'a 0-d operand'}")
    return tuple(shape[:-1])


def _bitcast_impl(x, new_dtype):
    xp = namespace(x)
    old = _dt.from_np(x.dtype)
    shape = _bitcast_shape(x.shape, old, new_dtype)
    c = xp.ascontiguousarray(x)
    if old.np.itemsize > new_dtype.np.itemsize:
        c = c.reshape(tuple(x.shape) + (1,))
    return c.view(new_dtype.np).reshape(shape)


def _bitcast_batch(args, dims, new_dtype):
    return bind(bitcast_convert_type_p, moveaxis_to_front(args[0], dims[0]),
                new_dtype=new_dtype), 0


bitcast_convert_type_p = Primitive(
    "bitcast_convert_type", _bitcast_impl, differentiable=False, allocating=True,
    shape=lambda x, new_dtype: Aval(_bitcast_shape(x.shape, x.dtype, new_dtype), new_dtype),
    vjp=lambda ct, out, x, new_dtype: (None,),
    jvp=lambda p, t, out, new_dtype: zeros_like_v(out),
    batch=_bitcast_batch,
    doc="the operand's bytes reinterpreted as new_dtype (no derivative)")


def bitcast_convert_type(x, new_dtype):
    """``x``'s bytes read as ``new_dtype`` (see ``ember.lax.bitcast_convert_type``)."""
    x = as_value(x)
    new_dtype = _dt.as_dtype(new_dtype)
    old = x.dtype
    if (old.is_bool or old.is_complex or new_dtype.is_bool or new_dtype.is_complex) and \
            old != new_dtype:
        raise TypeError(f"bitcast_convert_type: bool and complex values can only be bitcast "
                        f"to their own dtype; got {old.name} to {new_dtype.name}. Go through "
                        f"an unsigned integer of the same width, or lax.convert_element_type "
                        f"to convert values")
    _bitcast_shape(tuple(x.shape), old, new_dtype)  # a shape that doesn't fit: ValueError
    return bind(bitcast_convert_type_p, x, new_dtype=new_dtype)


# broadcast_in_dim: a (usually scalar) value broadcast to a shape; used for traced constants
def _bid_impl(x, shape):
    return namespace(x).broadcast_to(x, shape).copy()


broadcast_in_dim_p = Primitive(
    "broadcast_in_dim", _bid_impl,
    shape=lambda x, shape: Aval(shape, x.dtype),
    vjp=lambda ct, out, x, shape: (unbroadcast(ct, _shape(x)),),
    jvp=lambda primals, tangents, out, shape: bind(broadcast_in_dim_p, tangents[0], shape=shape),
    linear=True,
)


def _bid_batch(args, dims, shape):
    x = moveaxis_to_front(args[0], dims[0])
    s = _shape(x)
    k = len(s) - 1
    x = x.reshape((s[0],) + (1,) * (len(shape) - k) + s[1:])
    return bind(broadcast_in_dim_p, x, shape=(s[0],) + tuple(shape)), 0


broadcast_in_dim_p.batch = _bid_batch


# --------------------------------------------------------------------------------------
# binary arithmetic
# --------------------------------------------------------------------------------------


def _binary(name, fn, vjp, jvp, *, differentiable=True, needs_out=False):
    p = Primitive(name, fn, shape=_broadcast_rule(name), vjp=vjp, jvp=jvp,
                  differentiable=differentiable, vjp_needs_out=needs_out,
                  elementwise_ufunc=_is_ufunc(fn))
    p.batch = elementwise_batch(p)
    return p


def _unbroadcast_like(g, x):
    """The cotangent ``g`` of a broadcast operand ``x``, summed back to ``x``'s shape."""
    return None if g is None else unbroadcast(g, _shape(x))


add_p = _binary("add", U.add,
                lambda ct, out, x, y: (_unbroadcast_like(ct, x), _unbroadcast_like(ct, y)),
                lambda p, t, out: t[0] + t[1])
add_p.linear = True
sub_p = _binary("sub", U.subtract,
                lambda ct, out, x, y: (_unbroadcast_like(ct, x), _unbroadcast_like(-ct, y)),
                lambda p, t, out: t[0] - t[1])
sub_p.linear = True
mul_p = _binary("mul", U.multiply,
                lambda ct, out, x, y: (_unbroadcast_like(ct * y, x), _unbroadcast_like(ct * x, y)),
                lambda p, t, out: t[0] * p[1] + p[0] * t[1])


# the ufunc that computes each one in place (``x.add_(y)`` outside autograd)
add_p.ufunc, sub_p.ufunc, mul_p.ufunc = "add", "subtract", "multiply"


def _div_vjp(ct, out, x, y):
    gx = ct / y
    return _unbroadcast_like(gx, x), _unbroadcast_like(-gx * x / y, y)


div_p = _binary("div", U.true_divide, _div_vjp,
                lambda p, t, out: t[0] / p[1] - t[1] * p[0] / (p[1] * p[1]))
div_p.ufunc = "divide"


def _pow_dx(x, y):
    """d(x**y)/dx = y * x**(y-1), taken as 0 where y == 0 (as PyTorch): the unguarded
    formula gives 0 * 0**-1 = NaN at x = 0. A tensor exponent is made safe before the power,
    so that no NaN reaches higher derivatives through the unselected branch either."""
    if not isinstance(y, Tensor):  # a scalar exponent: decided here, no extra ops
        return None if y == 0 else y * pow(x, y - 1)
    nz = y != 0
    y_safe = where(nz, y, ones_like_v(y))
    return where(nz, y_safe * pow(x, y_safe - 1), zeros_like_v(y))


def _pow_dy(x, out):
    """d(x**y)/dy = x**y * log(x) for x > 0, and 0 elsewhere (the limit at x = 0)."""
    if not isinstance(x, Tensor):  # a Python/NumPy number as the base: 0.7 ** y
        if np.iscomplexobj(x):
            return out * np.log(x) if x != 0 else zeros_like_v(out)
        return out * np.log(x) if x > 0 else zeros_like_v(out)
    if x.dtype.is_complex:  # the principal log; 0 at x = 0
        pos = x != 0
        return where(pos, out * log(where(pos, x, ones_like_v(x))), zeros_like_v(out))
    pos = x > 0
    safe = where(pos, x, ones_like_v(x))
    return where(pos, out * log(safe), zeros_like_v(out))


def _pow_vjp(ct, out, x, y):
    gx = gy = None
    if isinstance(x, Tensor):
        d = _pow_dx(x, y)
        gx = _unbroadcast_like(ct * 0 if d is None else ct * d, x)
    if isinstance(y, Tensor) and y.dtype.is_inexact:
        gy = _unbroadcast_like(ct * _pow_dy(x, out), y)
    return gx, gy


def _pow_jvp(p, t, out):
    x, y = p
    tx, ty = t
    r = None
    if isinstance(x, Tensor):
        d = _pow_dx(x, y)
        if d is not None:
            # a zero tangent contributes 0 even where the derivative is infinite (0 ** 0.5)
            r = where(tx == 0, zeros_like_v(out), tx * d)
    if isinstance(y, Tensor) and y.dtype.is_inexact:
        ry = ty * _pow_dy(x, out)
        r = ry if r is None else r + ry
    return zeros_like_v(out) if r is None else r


pow_p = _binary("pow", U.power, _pow_vjp, _pow_jvp, needs_out=True)


def _minmax_vjp(ct, out, x, y):
    # ties split the gradient evenly, as PyTorch and JAX do
    xm = cast(x == out, ct.dtype)
    ym = cast(y == out, ct.dtype)
    denom = xm + ym
    return _unbroadcast_like(ct * xm / denom, x), _unbroadcast_like(ct * ym / denom, y)


def _minmax_jvp(p, t, out):
    xm = cast(p[0] == out, t[0].dtype)
    ym = cast(p[1] == out, t[0].dtype)
    return (t[0] * xm + t[1] * ym) / (xm + ym)


maximum_p = _binary("maximum", U.maximum, _minmax_vjp, _minmax_jvp, needs_out=True)
minimum_p = _binary("minimum", U.minimum, _minmax_vjp, _minmax_jvp, needs_out=True)


def _nodiff(name, fn, bool_out=True):
    p = Primitive(name, fn, shape=_broadcast_rule(name, bool_out), differentiable=False,
                  elementwise_ufunc=_is_ufunc(fn),
                  vjp=lambda ct, out, *a: (None,) * len(a),
                  jvp=lambda p, t, out: zeros_like_v(out))
    p.batch = elementwise_batch(p)
    return p


eq_p = _nodiff("eq", U.equal)
ne_p = _nodiff("ne", U.not_equal)
lt_p = _nodiff("lt", U.less)
le_p = _nodiff("le", U.less_equal)
gt_p = _nodiff("gt", U.greater)
ge_p = _nodiff("ge", U.greater_equal)
and_p = _nodiff("logical_and", U.logical_and)
or_p = _nodiff("logical_or", U.logical_or)
xor_p = _nodiff("logical_xor", U.logical_xor)
bitand_p = _nodiff("bitwise_and", U.bitwise_and, bool_out=False)
bitor_p = _nodiff("bitwise_or", U.bitwise_or, bool_out=False)
bitxor_p = _nodiff("bitwise_xor", U.bitwise_xor, bool_out=False)
floordiv_p = _nodiff("floor_divide", U.floor_divide, bool_out=False)
lshift_p = _nodiff("bitwise_left_shift", U.left_shift, bool_out=False)
rshift_p = _nodiff("bitwise_right_shift", U.right_shift, bool_out=False)
# nextafter moves its input by one ulp: PyTorch's derivative is the identity in the input
# and zero in ``other``
nextafter_p = _binary("nextafter", U.nextafter,
                      lambda ct, out, x, y: (_unbroadcast_like(ct, x),
                                             _unbroadcast_like(ct * 0, y)),
                      lambda p, t, out: t[0] + t[1] * 0)


def _fmod_vjp(ct, out, x, y):
    return _unbroadcast_like(ct, x), _unbroadcast_like(-ct * trunc(x / y), y)


def _rem_vjp(ct, out, x, y):
    return _unbroadcast_like(ct, x), _unbroadcast_like(-ct * floor(x / y), y)


remainder_p = _binary("remainder", U.remainder, _rem_vjp,
                      lambda p, t, out: t[0] - t[1] * floor(p[0] / p[1]))
fmod_p = _binary("fmod", U.fmod, _fmod_vjp,
                 lambda p, t, out: t[0] - t[1] * trunc(p[0] / p[1]))
def _atan2_denominator(y, x):
    """x^2 + y^2, with 1 where both are 0: there the gradient is 0 (as PyTorch), not 0/0."""
    d = x * x + y * y
    return where(d == 0, ones_like_v(d), d)


atan2_p = _binary("atan2", U.arctan2,
                  lambda ct, out, y, x: (_unbroadcast_like(ct * x / _atan2_denominator(y, x), y),
                                         _unbroadcast_like(-ct * y / _atan2_denominator(y, x), x)),
                  lambda p, t, out: (t[0] * p[1] - t[1] * p[0]) / _atan2_denominator(*p))


def _select_impl(c, x, y):
    r = _bit_select(c, x, y)
    return namespace(x, y, c).where(c, x, y) if r is None else r


# np.where branches on every entry: on a mask of random-looking booleans (x > 0 over
# activations) each miss-predicted branch costs, ~4-5 ns an entry (float32, 2^20: 4.2 ms).
# Selecting the bits instead, y ^ ((x ^ y) & m) with m all ones where c, is a few
# branch-free integer passes (0.8 ms; against a scalar 0, x & m: 0.33 ms), the same bits.
_BIT_SELECT_MIN = 1 << 15
_UINTS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _select_operand(a, other):
    """A Python number or a NumPy scalar of ``other``'s dtype as a 0-d array of that dtype
    (as np.where treats a Python number: weakly typed), when it converts exactly; else
    ``a`` as it is."""
    if isinstance(a, np.generic) and isinstance(other, np.ndarray) and a.dtype == other.dtype:
        return np.asarray(a)
    if type(a) in (int, float) and isinstance(other, np.ndarray) and other.dtype.kind in "fiu":
        try:
            v = other.dtype.type(a)
        except (OverflowError, ValueError):
            return a
        if type(a)(v) == a or (a != a and v != v):  # (compared as Python numbers)
            return np.asarray(v)
    return a


def _bit_select(c, x, y):
    """``np.where(c, x, y)`` by bit selection for a C-ordered boolean mask ``c`` of at least
    _BIT_SELECT_MIN entries and ``x``, ``y`` of one 2/4/8-byte dtype, each C-ordered of
    ``c``'s shape or 0-d; None otherwise (np.where takes it)."""
    if type(c) is not np.ndarray or c.dtype != np.bool_ or c.size < _BIT_SELECT_MIN or \
            not c.flags.c_contiguous:
        return None
    x, y = _select_operand(x, y), _select_operand(y, x)
    arrs = [a for a in (x, y) if isinstance(a, np.ndarray)]
    if len(arrs) != 2 or x.dtype != y.dtype or x.dtype.kind not in "fiu" or \
            x.itemsize not in _UINTS or any(type(a) is not np.ndarray or (
                a.ndim and (a.shape != c.shape or not a.flags.c_contiguous)) for a in arrs):
        return None
    u = _UINTS[x.itemsize]
    xp = namespace(c)
    m = xp.empty(c.shape, u)
    np.negative(c, out=m, dtype=u, casting="unsafe")  # True -> all ones, False -> 0
    xb, yb = x.view(u), y.view(u)
    if not y.ndim and not yb:  # against zero bits (0, +0.0): x & m
        return np.bitwise_and(m, xb, out=m).view(x.dtype)
    if not x.ndim and not xb:
        np.invert(m, out=m)
        return np.bitwise_and(m, yb, out=m).view(x.dtype)
    np.bitwise_and(np.bitwise_xor(xb, yb, out=xp.empty(c.shape, u)), m, out=m)
    return np.bitwise_xor(m, yb, out=m).view(x.dtype)


def _select_vjp(ct, out, c, x, y):
    z = zeros_like_v(ct)
    return None, _unbroadcast_like(where(c, ct, z), x), _unbroadcast_like(where(c, z, ct), y)


select_p = Primitive(
    "select", _select_impl, allocating=True,
    shape=lambda c, x, y: Aval(broadcast_shapes(tuple(c.shape), tuple(x.shape), tuple(y.shape),
                                                op="where"), x.dtype),
    vjp=_select_vjp,
    jvp=lambda p, t, out: bind(select_p, p[0], t[1], t[2]),
)
select_p.batch = elementwise_batch(select_p)


# --------------------------------------------------------------------------------------
# public binary functions
# --------------------------------------------------------------------------------------

def raise_complex(op, x, hint=""):
    """The error of an ordering operation (``<``, max, sort, floor, ...) given complex
    numbers, which have no order (PyTorch raises too)."""
    raise TypeError(f"{op}: complex numbers have no order, got a {x.dtype} tensor of shape "
                    f"{tuple(x.shape)}; compare their abs() or real parts instead{hint}")


def _real_args(name, x, y):
    for v in (x, y):
        d = getattr(v, "dtype", None)
        if d is not None and (d.is_complex if isinstance(d, _dt.DType) else d.kind == "c"):
            raise_complex(name, v if isinstance(v, Tensor) else as_value(v))
    return x, y


def _defbinary(prim, name, doc="", real_only=False):
    if real_only:
        def op(input, other):
            x, y = _real_args(name, *_binary_args(input, other))
            return bind(prim, x, y)
        op.__name__ = op.__qualname__ = name
        op.__doc__ = doc or f"Elementwise {name} with broadcasting."
        export(op, __all__)
        method(op)
        return op

    def op(input, other):
        x, y = _binary_args(input, other)
        return bind(prim, x, y)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Elementwise {name} with broadcasting."
    export(op, __all__)
    method(op)
    return op


def _dtype(v):
    d = v.dtype
    return d if isinstance(d, _dt.DType) else _dt.from_np(d)


def _defbinary_float(prim, name):
    def op(input, other):
        x, y = _binary_args(input, other)
        if not _dtype(x).is_floating_point:
            x, y = cast(x, _dt.get_default_dtype()), cast(y, _dt.get_default_dtype())
        return bind(prim, x, y)
    op.__name__ = op.__qualname__ = name
    export(op, __all__)
    method(op)
    return op


def add(input, other, alpha=1):
    """``input + alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    x, y = _binary_args(input, other)
    return bind(add_p, x, y)


def sub(input, other, alpha=1):
    """``input - alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    x, y = _binary_args(input, other)
    return bind(sub_p, x, y)


mul = _defbinary(mul_p, "mul")
maximum = _defbinary(maximum_p, "maximum", real_only=True)
minimum = _defbinary(minimum_p, "minimum", real_only=True)
eq = _defbinary(eq_p, "eq")
ne = _defbinary(ne_p, "ne")
lt = _defbinary(lt_p, "lt", real_only=True)
le = _defbinary(le_p, "le", real_only=True)
gt = _defbinary(gt_p, "gt", real_only=True)
ge = _defbinary(ge_p, "ge", real_only=True)
remainder = _defbinary(remainder_p, "remainder", real_only=True)
fmod = _defbinary(fmod_p, "fmod", real_only=True)
atan2 = _defbinary_float(atan2_p, "atan2")
floor_divide = _defbinary(floordiv_p, "floor_divide")
for _f in (add, sub):
    export(_f, __all__)
    method(_f)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
multiply, subtract = mul, sub


def div(input, other, rounding_mode=None):
    """True division (integers give floats); ``rounding_mode`` 'trunc' or 'floor'."""
    x, y = _binary_args(input, other)
    if rounding_mode is None:
        if not _dtype(x).is_inexact:
            x, y = cast(x, _dt.get_default_dtype()), cast(y, _dt.get_default_dtype())
        return bind(div_p, x, y)
    if rounding_mode == "floor":
        if _dtype(x).is_floating_point:
            return floor(bind(div_p, x, y))
        return bind(floordiv_p, x, y)
    if rounding_mode == "trunc":
        if _dtype(x).is_floating_point:
            return trunc(bind(div_p, x, y))
        q = bind(div_p, cast(x, _dt.float64), cast(y, _dt.float64))
        return cast(trunc(q), _dtype(x))
    raise OpError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


true_divide = divide = div


def pow(input, exponent):
    """``input ** exponent`` elementwise."""
    x, y = _binary_args(input, exponent)
    return bind(pow_p, x, y)


def float_power(input, exponent):
    x, y = _binary_args(input, exponent)
    return pow(cast(x, _dt.float64), cast(y, _dt.float64))


def logical_and(input, other):
    return bind(and_p, *_logical_args(input, other))


def logical_or(input, other):
    return bind(or_p, *_logical_args(input, other))


def logical_xor(input, other):
    return bind(xor_p, *_logical_args(input, other))


def _logical_args(x, y):
    return cast(as_value(x), _dt.bool_), cast(as_value(y), _dt.bool_)


def logical_not(input):
    return bind(eq_p, cast(as_value(input), _dt.bool_), np.bool_(False))


def bitwise_and(input, other):
    return bind(bitand_p, *_binary_args(input, other))


def bitwise_or(input, other):
    return bind(bitor_p, *_binary_args(input, other))


def bitwise_xor(input, other):
    return bind(bitxor_p, *_binary_args(input, other))


def _int_args(op, input, other):
    x, y = _binary_args(input, other)
    for v in (x, y):
        k = v.dtype.np.kind if isinstance(v, Tensor) else np.asarray(v).dtype.kind
        if k not in "iu":
            raise TypeError(f"{op}: needs integer tensors, got "
                            f"{v.dtype if isinstance(v, Tensor) else type(v).__name__}")
    return x, y


def bitwise_left_shift(input, other):
    """``input`` shifted left by ``other`` bits (integers; ``input << other``).

    >>> ember.bitwise_left_shift(ember.tensor([1, 3]), 2)
    tensor([ 4, 12])
    """
    return bind(lshift_p, *_int_args("bitwise_left_shift", input, other))


def bitwise_right_shift(input, other):
    """``input`` shifted right by ``other`` bits, arithmetic for signed integers
    (``input >> other``).

    >>> ember.bitwise_right_shift(ember.tensor([16, -16]), 2)
    tensor([ 4, -4])
    """
    return bind(rshift_p, *_int_args("bitwise_right_shift", input, other))


signbit_p = Primitive("signbit", U.signbit, shape=lambda x: Aval(x.shape, _dt.bool_),
                      differentiable=False, elementwise_ufunc=True,
                      vjp=lambda ct, out, x: (None,), jvp=lambda p, t, out: zeros_like_v(out))
signbit_p.batch = elementwise_batch(signbit_p)


def signbit(input):
    """True where the sign bit is set: negative numbers, -0.0 and NaNs with the sign bit.

    >>> ember.signbit(ember.tensor([-1.0, -0.0, 0.0, 2.0]))
    tensor([ True,  True, False, False])
    """
    x = as_value(input)
    if x.dtype.is_complex:
        raise_complex("signbit", x)
    if not x.dtype.is_floating_point:
        return x < 0 if x.dtype.is_signed else zeros_like_v(x) != 0
    return bind(signbit_p, x)


def nextafter(input, other):
    """The next floating-point value after ``input`` towards ``other``; its gradient is
    PyTorch's: 1 for ``input``, 0 for ``other``.

    >>> ember.nextafter(ember.tensor([1.0]), ember.tensor([2.0])) > 1.0
    tensor([True])
    """
    x, y = _binary_args(input, other)
    if not x.dtype.is_floating_point:
        raise TypeError(f"nextafter: needs floating tensors, got {x.dtype}")
    return bind(nextafter_p, x, y)


def bitwise_not(input):
    x = as_value(input)
    if x.dtype is _dt.bool_:
        return logical_not(x)
    return bind(bitxor_p, x, ~x.dtype.np.type(0))  # all bits set (unsigned too)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other`` (broadcast together)."""
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    c = cast(as_value(condition), _dt.bool_)
    (x, y), _ = promote(input, other)
    if not isinstance(x, Tensor):
        x = as_value(x)
    return bind(select_p, c, x, y)


for _f in (div, pow, float_power, logical_and, logical_or, logical_xor, logical_not,
           bitwise_and, bitwise_or, bitwise_xor, bitwise_not, where, bitwise_left_shift,
           bitwise_right_shift, nextafter, signbit):
    export(_f, __all__)
    method(_f)
for _n, _f in (("true_divide", div), ("divide", div), ("multiply", mul), ("subtract", sub),
               ("greater", gt), ("greater_equal", ge), ("less", lt), ("less_equal", le),
               ("not_equal", ne)):
    export(_f, __all__, _n)
    method(_f, _n)


# --------------------------------------------------------------------------------------
# unary math
# --------------------------------------------------------------------------------------

def _sigmoid_impl(x):
    h = x.dtype.type(0.5)  # (typed constants: NumPy 1.x makes float32 scalar + 1 a float64)
    return (U.tanh(x * h) + x.dtype.type(1)) * h


neg_p = _unary("neg", U.negative, lambda x, out: -ones_like_v(x), float_only=False)
neg_p.vjp = lambda ct, out, x: (-ct,)
neg_p.jvp = lambda p, t, out: -t[0]
neg_p.linear = True
exp_p = _unary("exp", U.exp, lambda x, out: out, needs_out=True)
exp2_p = _unary("exp2", U.exp2, lambda x, out: out * math.log(2.0), needs_out=True)
def _expm1_impl(x):
    if x.dtype.kind != "c":
        return U.expm1(x)
    # exp(z) - 1 without the cancellation near 0: expm1(a) cos(b) - 2 sin^2(b/2) + i e^a sin(b);
    # infinities and NaNs take exp(z) - 1 (C99's special values of cexp)
    re, im = x.real, x.imag
    with np.errstate(all="ignore"):
        s = U.sin(im * 0.5)
        out = U.expm1(re) * U.cos(im) - 2 * s * s + 1j * (U.exp(re) * U.sin(im))
        special = ~(U.isfinite(re) & U.isfinite(im))
        if special.any():
            out = namespace(x).where(special, U.exp(x) - 1, out)
    return out.astype(x.dtype, copy=False)


expm1_p = _unary("expm1", _expm1_impl, lambda x, out: out + 1, needs_out=True)
log_p = _unary("log", U.log, lambda x, out: 1 / x)
log2_p = _unary("log2", U.log2, lambda x, out: 1 / (x * math.log(2.0)))
log10_p = _unary("log10", U.log10, lambda x, out: 1 / (x * math.log(10.0)))
log1p_p = _unary("log1p", U.log1p, lambda x, out: 1 / (x + 1))
sqrt_p = _unary("sqrt", U.sqrt, lambda x, out: 0.5 / out, needs_out=True)
rsqrt_p = _unary("rsqrt", lambda x: 1 / U.sqrt(x), lambda x, out: -0.5 * out / x,
                 needs_out=True)
sin_p = _unary("sin", U.sin, lambda x, out: cos(x))
cos_p = _unary("cos", U.cos, lambda x, out: -sin(x))
tan_p = _unary("tan", U.tan, lambda x, out: 1 + out * out, needs_out=True)
asin_p = _unary("asin", U.arcsin, lambda x, out: rsqrt(1 - x * x))
acos_p = _unary("acos", U.arccos, lambda x, out: -rsqrt(1 - x * x))
atan_p = _unary("atan", U.arctan, lambda x, out: 1 / (1 + x * x))
sinh_p = _unary("sinh", U.sinh, lambda x, out: cosh(x))
asinh_p = _unary("asinh", U.arcsinh, lambda x, out: rsqrt(x * x + 1),
                 doc="The inverse hyperbolic sine.")
acosh_p = _unary("acosh", U.arccosh, lambda x, out: 1 / (sqrt(x - 1) * sqrt(x + 1)),
                 doc="The inverse hyperbolic cosine (NaN below 1 for real inputs).")
atanh_p = _unary("atanh", U.arctanh, lambda x, out: 1 / (1 - x * x),
                 doc="The inverse hyperbolic tangent (NaN outside [-1, 1] for real inputs).")
cosh_p = _unary("cosh", U.cosh, lambda x, out: sinh(x))
tanh_p = _unary("tanh", U.tanh, lambda x, out: 1 - out * out, needs_out=True)
sigmoid_p = _unary("sigmoid", _sigmoid_impl, lambda x, out: out * (1 - out), needs_out=True)
reciprocal_p = _unary("reciprocal", U.reciprocal, lambda x, out: -out * out, needs_out=True)
abs_p = _unary("abs", U.abs, lambda x, out: sign(x), float_only=False)
sign_p = _unary("sign", U.sign, None, float_only=False, real_only=True)
floor_p = _unary("floor", U.floor, None, float_only=False, real_only=True)
ceil_p = _unary("ceil", U.ceil, None, float_only=False, real_only=True)
round_p = _unary("round_", lambda x: namespace(x).round(x), None, float_only=False, export_name="_round")
trunc_p = _unary("trunc", U.trunc, None, float_only=False, real_only=True)
def _relu_impl(x, out=None):
    z = zero_view(x)  # (NumPy's maximum with a scalar 0 takes its scalar loop: 2-3x slower)
    return U.maximum(x, x.dtype.type(0) if z is None else z, out=out)


# in place in jit plans: relu(conv + bias) overwrites the sum, no second activation-sized array
relu_p = _unary("relu", _relu_impl, lambda x, out: out > 0, float_only=False, needs_out=True,
                real_only=True, takes_out=True)


def _softplus_impl(x):
    return U.logaddexp(x.dtype.type(0), x)


softplus_p = _unary("softplus_", _softplus_impl, lambda x, out: sigmoid(x),
                    export_name="_softplus_prim")


def _erf_impl(x):
    return namespace(x).erf(x)


erf_p = _unary("erf", _erf_impl, lambda x, out: (2 / math.sqrt(math.pi)) * exp(-x * x))


neg, exp, exp2, expm1, log, log2, log10, log1p = (
    neg_p.op, exp_p.op, exp2_p.op, expm1_p.op, log_p.op, log2_p.op, log10_p.op, log1p_p.op)
sqrt, rsqrt, sin, cos, tan, asin, acos, atan = (
    sqrt_p.op, rsqrt_p.op, sin_p.op, cos_p.op, tan_p.op, asin_p.op, acos_p.op, atan_p.op)
sinh, cosh, tanh, sigmoid, reciprocal, abs, sign = (
    sinh_p.op, cosh_p.op, tanh_p.op, sigmoid_p.op, reciprocal_p.op, abs_p.op, sign_p.op)
floor, ceil, trunc, relu, erf = floor_p.op, ceil_p.op, trunc_p.op, relu_p.op, erf_p.op
asinh, acosh, atanh = asinh_p.op, acosh_p.op, atanh_p.op
negative, absolute, arcsin, arccos, arctan, fix = neg, abs, asin, acos, atan, trunc
arcsinh, arccosh, arctanh = asinh, acosh, atanh
for _n, _f in (("negative", neg), ("absolute", abs), ("arcsin", asin), ("arccos", acos),
               ("arctan", atan), ("fix", trunc), ("arcsinh", asinh), ("arccosh", acosh),
               ("arctanh", atanh)):
    export(_f, __all__, _n)
    method(_f, _n)


def ones_like_v(x):
    return full_like_traced(x, 1)


def round(input, decimals=0):
    """Round half to even (as ``torch.round``); ``decimals`` scales first."""
    x = as_value(input)
    if x.dtype.is_complex:
        raise_complex("round", x)
    if decimals == 0:
        return bind(round_p, x)
    s = 10.0 ** decimals
    return bind(round_p, x * s) / s


def square(input):
    return mul(input, input)


def clamp(input, min=None, max=None):
    """Limit values to [min, max]; the gradient passes where min <= x <= max."""
    x = as_value(input)
    if x.dtype.is_complex:
        raise_complex("clamp", x)
    if min is None and max is None:
        raise OpError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        r = x
        if min is not None:
            r = maximum(r, min)
        if max is not None:
            r = minimum(r, max)
        return r
    if not x.dtype.is_floating_point and (isinstance(min, float) or isinstance(max, float)):
        x = cast(x, _dt.get_default_dtype())
    return bind(clamp_p, x, lo=None if min is None else float(min) if x.dtype.is_floating_point
                else int(min), hi=None if max is None else float(max) if x.dtype.is_floating_point
                else int(max))


def _clamp_impl(x, lo, hi):
    return namespace(x).clip(x, lo, hi).astype(x.dtype, copy=False)


def _clamp_mask(x, lo, hi):
    m = None
    if lo is not None:
        m = x >= lo
    if hi is not None:
        m = (x <= hi) if m is None else logical_and(m, x <= hi)
    return cast(m, x.dtype)


clamp_p = Primitive("clamp", _clamp_impl, shape=_same_shape_rule,
                    vjp=lambda ct, out, x, lo, hi: (ct * _clamp_mask(x, lo, hi),),
                    jvp=lambda p, t, out, lo, hi: t[0] * _clamp_mask(p[0], lo, hi))
clamp_p.batch = elementwise_batch(clamp_p)
clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold (as PyTorch)."""
    x = as_value(input)
    bx = x * beta if beta != 1 else x
    sp = bind(softplus_p, bx)
    if beta != 1:
        sp = sp / beta
    return where(bx > threshold, x, sp)


def silu(input):
    x = as_value(input)
    return x * sigmoid(x)


def gelu(input, approximate="none"):
    """GELU: x * Phi(x); ``approximate='tanh'`` uses the tanh formula (as PyTorch)."""
    x = as_value(input)
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1 + tanh(c * (x + 0.044715 * x * x * x)))
    if approximate != "none":
        raise OpError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2.0))))


def lerp(input, end, weight):
    return input + weight * (end - input)


def isnan(input):
    x = as_value(input)
    return ne(x, x)


def isinf(input):
    x = as_value(input)
    return eq(abs(x), float("inf")) if x.dtype.is_inexact else zeros_like_v(x) != 0


def isfinite(input):
    x = as_value(input)
    if not x.dtype.is_inexact:
        return zeros_like_v(x) == 0
    return logical_not(logical_or(isnan(x), isinf(x)))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    x = as_value(input)
    big = float(np.finfo(x.dtype.np).max) if x.dtype.is_floating_point else 0
    x = where(isnan(x), nan, x)
    x = where(x == float("inf"), big if posinf is None else posinf, x)
    return where(x == float("-inf"), -big if neginf is None else neginf, x)


for _f in (round, square, clamp, clip, clamp_min, clamp_max, softplus, silu, gelu, lerp,
           isnan, isinf, isfinite, nan_to_num):
    export(_f, __all__)
    method(_f)


# ---- docstring examples (run by tests/test_docstrings.py) ---------------------------------
# Most functions here are generated, so their examples sit in one table: name -> (the call, its
# output as PyTorch gives it[, a summary for a function without a docstring]). _HALF_TWO,
# _PAIRS and _BOOLS are common arguments.
_HALF_TWO = "ember.tensor([0.5, 2.0])"
_PAIRS = "ember.tensor([-3.0, 6.0]), ember.tensor([4.0, 4.0])"
_BOOLS = "ember.tensor([True, True, False]), ember.tensor([True, False, False])"
_EXAMPLES = {
    "mul": (f"ember.mul({_PAIRS})", "tensor([-12., 24.])"),
    "maximum": (f"ember.maximum({_PAIRS})", "tensor([4., 6.])"),
    "minimum": (f"ember.minimum({_PAIRS})", "tensor([-3., 4.])"),
    "eq": ("ember.eq(ember.tensor([1, 2]), 2)", "tensor([False, True])"),
    "ne": ("ember.ne(ember.tensor([1, 2]), 2)", "tensor([ True, False])"),
    "lt": ("ember.lt(ember.tensor([1, 2]), 2)", "tensor([ True, False])"),
    "le": ("ember.le(ember.tensor([1, 2]), 2)", "tensor([True, True])"),
    "gt": ("ember.gt(ember.tensor([1, 2]), 1)", "tensor([False, True])"),
    "ge": ("ember.ge(ember.tensor([1, 2]), 2)", "tensor([False, True])"),
    "remainder": (f"ember.remainder({_PAIRS})", "tensor([1., 2.])"),
    "fmod": (f"ember.fmod({_PAIRS})", "tensor([-3., 2.])"),
    "atan2": ("ember.atan2(ember.tensor([1.0, -1.0]), ember.tensor([1.0, 0.0]))",
             "tensor([ 0.7854, -1.5708])",
             "The angle of the point ``(other, input)``, in (-pi, pi]."),
    "floor_divide": (f"ember.floor_divide({_PAIRS})", "tensor([-1., 1.])"),
    "add": ("ember.add(ember.tensor([1., 2.]), ember.tensor([10., 20.]), alpha=2)",
           "tensor([21., 42.])"),
    "sub": ("ember.sub(ember.tensor([1., 2.]), 1)", "tensor([0., 1.])"),
    "div": ("ember.div(ember.tensor([-7., 7.]), 2, rounding_mode='floor')", "tensor([-4., 3.])"),
    "pow": ("ember.pow(ember.tensor([2., 3.]), 2)", "tensor([4., 9.])"),
    "float_power": ("ember.float_power(ember.tensor([2, 3]), 2)",
                   "tensor([4., 9.], dtype=ember.float64)",
                   "``input ** exponent`` in float64 (as ``torch.float_power``)."),
    "logical_and": (f"ember.logical_and({_BOOLS})",
                   "tensor([ True, False, False])",
                   "Elementwise logical and (nonzero is True); a bool result."),
    "logical_or": (f"ember.logical_or({_BOOLS})",
                  "tensor([ True,  True, False])",
                  "Elementwise logical or (nonzero is True); a bool result."),
    "logical_xor": (f"ember.logical_xor({_BOOLS})",
                   "tensor([False, True, False])",
                   "Elementwise logical exclusive or (nonzero is True); a bool result."),
    "logical_not": ("ember.logical_not(ember.tensor([True, False]))",
                   "tensor([False, True])",
                   "Elementwise logical not (zero is True); a bool result."),
    "bitwise_and": ("ember.bitwise_and(ember.tensor([12, 10]), ember.tensor([10, 6]))",
                   "tensor([8, 2])",
                   "Elementwise bitwise and of integers (logical and of bools)."),
    "bitwise_or": ("ember.bitwise_or(ember.tensor([12, 10]), ember.tensor([10, 6]))",
                  "tensor([14, 14])",
                  "Elementwise bitwise or of integers (logical or of bools)."),
    "bitwise_xor": ("ember.bitwise_xor(ember.tensor([12, 10]), ember.tensor([10, 6]))",
                   "tensor([ 6, 12])",
                   "Elementwise bitwise exclusive or of integers (of bools)."),
    "bitwise_not": ("ember.bitwise_not(ember.tensor([0, 5]))",
                   "tensor([-1, -6])",
                   "Elementwise bitwise not of integers (logical not of bools)."),
    "where": ("ember.where(ember.tensor([True, False]), ember.tensor([1., 2.]), 0.0)",
             "tensor([1., 0.])"),
    "neg": ("ember.neg(ember.tensor([-2.0, 3.0]))", "tensor([ 2., -3.])"),
    "exp": (f"ember.exp({_HALF_TWO})", "tensor([1.6487, 7.3891])"),
    "exp2": (f"ember.exp2({_HALF_TWO})", "tensor([1.4142, 4.0000])"),
    "expm1": (f"ember.expm1({_HALF_TWO})", "tensor([0.6487, 6.3891])"),
    "log": (f"ember.log({_HALF_TWO})", "tensor([-0.6931, 0.6931])"),
    "log2": (f"ember.log2({_HALF_TWO})", "tensor([-1., 1.])"),
    "log10": (f"ember.log10({_HALF_TWO})", "tensor([-0.3010, 0.3010])"),
    "log1p": (f"ember.log1p({_HALF_TWO})", "tensor([0.4055, 1.0986])"),
    "sqrt": (f"ember.sqrt({_HALF_TWO})", "tensor([0.7071, 1.4142])"),
    "rsqrt": (f"ember.rsqrt({_HALF_TWO})", "tensor([1.4142, 0.7071])"),
    "sin": (f"ember.sin({_HALF_TWO})", "tensor([0.4794, 0.9093])"),
    "cos": (f"ember.cos({_HALF_TWO})", "tensor([ 0.8776, -0.4161])"),
    "tan": (f"ember.tan({_HALF_TWO})", "tensor([ 0.5463, -2.1850])"),
    "asin": ("ember.asin(ember.tensor([0.0, 1.0]))", "tensor([0.0000, 1.5708])"),
    "acos": ("ember.acos(ember.tensor([0.0, 1.0]))", "tensor([1.5708, 0.0000])"),
    "atan": (f"ember.atan({_HALF_TWO})", "tensor([0.4636, 1.1071])"),
    "sinh": (f"ember.sinh({_HALF_TWO})", "tensor([0.5211, 3.6269])"),
    "asinh": (f"ember.asinh({_HALF_TWO})", "tensor([0.4812, 1.4436])"),
    "acosh": ("ember.acosh(ember.tensor([1.0, 2.0]))", "tensor([0.0000, 1.3170])"),
    "atanh": ("ember.atanh(ember.tensor([0.0, 0.5]))", "tensor([0.0000, 0.5493])"),
    "cosh": (f"ember.cosh({_HALF_TWO})", "tensor([1.1276, 3.7622])"),
    "tanh": (f"ember.tanh({_HALF_TWO})", "tensor([0.4621, 0.9640])"),
    "sigmoid": ("ember.sigmoid(ember.tensor([-1.0, 0.0, 2.0]))",
               "tensor([0.2689, 0.5000, 0.8808])"),
    "reciprocal": (f"ember.reciprocal({_HALF_TWO})", "tensor([2.0000, 0.5000])"),
    "abs": ("ember.abs(ember.tensor([-2.0, 3.0]))", "tensor([2., 3.])"),
    "sign": ("ember.sign(ember.tensor([-2.0, 0.0, 3.0]))", "tensor([-1., 0., 1.])"),
    "floor": ("ember.floor(ember.tensor([-1.5, 1.5]))", "tensor([-2., 1.])"),
    "ceil": ("ember.ceil(ember.tensor([-1.5, 1.5]))", "tensor([-1., 2.])"),
    "trunc": ("ember.trunc(ember.tensor([-1.5, 1.5]))", "tensor([-1., 1.])"),
    "relu": ("ember.relu(ember.tensor([-1.0, 2.0]))", "tensor([0., 2.])"),
    "erf": ("ember.erf(ember.tensor([0.0, 0.5]))", "tensor([0.0000, 0.5205])"),
    "round": ("ember.round(ember.tensor([0.5, 1.5, 2.7]))", "tensor([0., 2., 3.])"),
    "square": ("ember.square(ember.tensor([-2.0, 3.0]))", "tensor([4., 9.])", "``input * input``."),
    "clamp": ("ember.clamp(ember.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)",
             "tensor([0.0000, 0.5000, 1.0000])"),
    "clamp_min": ("ember.clamp_min(ember.tensor([-2.0, 0.5]), 0.0)",
                 "tensor([0.0000, 0.5000])",
                 "``input`` limited from below by ``min``."),
    "clamp_max": ("ember.clamp_max(ember.tensor([-2.0, 0.5]), 0.0)",
                 "tensor([-2., 0.])",
                 "``input`` limited from above by ``max``."),
    "softplus": ("ember.softplus(ember.tensor([-1.0, 0.0, 2.0]))",
                "tensor([0.3133, 0.6931, 2.1269])"),
    "silu": ("ember.silu(ember.tensor([-1.0, 0.0, 2.0]))",
            "tensor([-0.2689, 0.0000, 1.7616])",
            "``x * sigmoid(x)`` (swish)."),
    "gelu": ("ember.gelu(ember.tensor([-1.0, 0.0, 1.0]))", "tensor([-0.1587, 0.0000, 0.8413])"),
    "lerp": ("ember.lerp(ember.tensor([0., 10.]), ember.tensor([10., 20.]), 0.25)",
            "tensor([ 2.5000, 12.5000])",
            "Linear interpolation ``input + weight * (end - input)``."),
    "isnan": ("ember.isnan(ember.tensor([1.0, float('nan')]))",
             "tensor([False, True])",
             "True where ``input`` is NaN."),
    "isinf": ("ember.isinf(ember.tensor([1.0, float('-inf')]))",
             "tensor([False, True])",
             "True where ``input`` is +inf or -inf."),
    "isfinite": ("ember.isfinite(ember.tensor([1.0, float('inf')]))",
                "tensor([ True, False])",
                "True where ``input`` is neither infinite nor NaN."),
    "nan_to_num": ("ember.nan_to_num(ember.tensor([float('nan'), float('inf')]), posinf=9.0)",
                   "tensor([0., 9.])",
                   "NaN replaced by ``nan``, infinities by ``posinf``/``neginf``."),
}


def _add_example(name, call, output, summary=""):
    function = globals()[name]
    doc = function.__doc__ or summary
    if ">>>" not in doc:
        function.__doc__ = f"{doc}\n\n>>> {call}\n{output}\n"


for _name, _entry in _EXAMPLES.items():
    _add_example(_name, *_entry)
del _name, _entry


# stop_gradient: identity whose derivative is zero (JAX's lax.stop_gradient)
stop_gradient_p = Primitive(
    "stop_gradient", lambda x: x, shape=lambda x: Aval(x.shape, x.dtype), differentiable=False,
    vjp=lambda ct, out, x: (None,), jvp=lambda p, t, out: zeros_like_v(out))
stop_gradient_p.batch = lambda args, dims: (bind(stop_gradient_p, args[0]), dims[0])


# --------------------------------------------------------------------------------------
# complex numbers
# --------------------------------------------------------------------------------------
# Derivative convention. The rules propagate JAX's cotangents: for a holomorphic f the VJP is
# ``ct * f'(z)`` (the formulas above hold for complex z unchanged) and every rule is the
# transpose of its JVP over the reals. ``ember.grad``/``vjp`` return these, as JAX does.
# PyTorch's ``.grad`` is their conjugate (``dL/dx + i dL/dy`` for a real loss L of z = x + iy,
# the direction of steepest ascent); ``backward()`` conjugates complex seeds and complex leaf
# gradients (core/autograd.py), so both conventions come from one table of rules.


def _real_impl(x):
    return x.real.copy() if x.dtype.kind == "c" else x


def _imag_impl(x):
    return x.imag.copy()


def _real_dtype_rule(x, **_):
    return Aval(x.shape, _dt.real_of(x.dtype))


real_p = Primitive("real", _real_impl, shape=_real_dtype_rule,
                   vjp=lambda ct, out, x: (cast(ct, x.dtype),),
                   jvp=lambda p, t, out: bind(real_p, t[0]))
real_p.batch = elementwise_batch(real_p)
imag_p = Primitive("imag", _imag_impl, shape=_real_dtype_rule,
                   vjp=lambda ct, out, x: (bind(complex_p, zeros_like_v(ct), -ct),),
                   jvp=lambda p, t, out: bind(imag_p, t[0]))
imag_p.batch = elementwise_batch(imag_p)
conj_p = Primitive("conj", U.conjugate, shape=_same_shape_rule, elementwise_ufunc=True,
                   vjp=lambda ct, out, x: (bind(conj_p, ct),),
                   jvp=lambda p, t, out: bind(conj_p, t[0]))
conj_p.batch = elementwise_batch(conj_p)


def _complex_impl(re, im):
    xp = namespace(re, im)
    shape = np.broadcast_shapes(np.shape(re), np.shape(im))
    out = xp.empty(shape, _dt.complex_of(_dt.from_np(re.dtype)).np)
    out.real[...] = re
    out.imag[...] = im
    return out


complex_p = Primitive(
    "complex", _complex_impl,
    shape=lambda re, im: Aval(broadcast_shapes(tuple(re.shape), tuple(im.shape), op="complex"),
                              _dt.complex_of(re.dtype)),
    vjp=lambda ct, out, re, im: (_unbroadcast_like(bind(real_p, ct), re),
                                 _unbroadcast_like(-bind(imag_p, ct), im)),
    jvp=lambda p, t, out: bind(complex_p, t[0], t[1]))
complex_p.batch = elementwise_batch(complex_p)


def _abs_sgn(x):
    """``x / |x|`` (0 where x == 0) of a complex x: the direction abs' derivative points."""
    r = bind(abs_p, x)
    nz = r != 0
    return where(nz, x / cast(where(nz, r, ones_like_v(r)), x.dtype), zeros_like_v(x))


def _abs_vjp(ct, out, x):
    if x.dtype.is_complex:
        return (cast(ct, x.dtype) * bind(conj_p, _abs_sgn(x)),)
    return (_times(ct, sign(x)),)


def _abs_jvp(p, t, out):
    x = p[0]
    if x.dtype.is_complex:
        return bind(real_p, bind(conj_p, _abs_sgn(x)) * t[0])
    return _times(t[0], sign(x))


abs_p.shape_rule = _real_dtype_rule
abs_p.vjp, abs_p.jvp = _abs_vjp, _abs_jvp


def _complex_arg(x, op):
    x = as_value(x)
    if not x.dtype.is_complex:
        raise TypeError(f"{op}: expects a complex tensor, got {x.dtype}; "
                        f"make one with ember.complex(real, imag) or x.to(ember.complex64)")
    return x


def real(input):
    """The real part (a real tensor: float32 of complex64, float64 of complex128); a real
    input is returned as it is (as ``torch.real``).

    >>> ember.real(ember.tensor([1 + 2j, 3 - 1j]))
    tensor([1., 3.])
    """
    x = as_value(input)
    return bind(real_p, x) if x.dtype.is_complex else x


def imag(input):
    """The imaginary part of a complex tensor (a real tensor); a real input raises, as in
    PyTorch (``ember.numpy.imag`` gives zeros, as NumPy).

    >>> ember.imag(ember.tensor([1 + 2j, 3 - 1j]))
    tensor([ 2., -1.])
    """
    return bind(imag_p, _complex_arg(input, "imag"))


def conj(input):
    """The complex conjugate (real inputs are returned as they are).

    >>> ember.conj(ember.tensor([1 + 2j]))
    tensor([1.-2.j])
    """
    x = as_value(input)
    return bind(conj_p, x) if x.dtype.is_complex else x


def complex(real, imag):
    """The complex tensor ``real + 1j * imag`` (float32 parts give complex64, float64 parts
    complex128; both parts must have the same floating dtype, as ``torch.complex``).

    >>> ember.complex(ember.tensor([1., 2.]), ember.tensor([0.5, -1.]))
    tensor([1.+0.5000j, 2.-1.0000j])
    """
    re, im = as_value(real), as_value(imag)
    if not (re.dtype.is_floating_point and im.dtype.is_floating_point) or re.dtype is not im.dtype:
        raise TypeError(f"complex: real and imag must have the same floating dtype (float32 "
                        f"or float64), got {re.dtype} and {im.dtype}; convert with .float() or "
                        f".double()")
    if re.dtype not in (_dt.float32, _dt.float64):
        re, im = cast(re, _dt.float32), cast(im, _dt.float32)
    return bind(complex_p, re, im)


def polar(abs, angle):
    """The complex tensor ``abs * (cos(angle) + 1j * sin(angle))``.

    >>> ember.polar(ember.tensor([2.0]), ember.tensor([0.0]))
    tensor([2.+0.j])
    """
    r, t = as_value(abs), as_value(angle)
    return complex(r * cos(t), r * sin(t))


def angle(input):
    """The argument of each complex number, in (-pi, pi] (a real tensor); for real inputs
    pi where negative and 0 elsewhere (as ``torch.angle``).

    >>> ember.angle(ember.tensor([1j, -1 + 0j]))
    tensor([1.5708, 3.1416])
    """
    x = as_value(input)
    if x.dtype.is_complex:
        return atan2(bind(imag_p, x), bind(real_p, x))
    if not x.dtype.is_floating_point:
        x = cast(x, _dt.get_default_dtype())
    return where(x < 0, math.pi, where(isnan(x), x, zeros_like_v(x)))


def sgn(input):
    """``x / |x|`` for complex x (0 at 0); the sign for real x (as ``torch.sgn``).

    >>> ember.sgn(ember.tensor([3 + 4j, 0j]))
    tensor([0.6000+0.8000j, 0.0000+0.0000j])
    """
    x = as_value(input)
    return _abs_sgn(x) if x.dtype.is_complex else sign(x)


def view_as_real(input):
    """A complex tensor's numbers as real pairs: shape ``(..., 2)`` holding (real, imag)
    (a copy here, where PyTorch returns a view).

    >>> ember.view_as_real(ember.tensor([1 + 2j]))
    tensor([[1., 2.]])
    """
    x = _complex_arg(input, "view_as_real")
    from .indexing import stack
    return stack([bind(real_p, x), bind(imag_p, x)], -1)


def view_as_complex(input):
    """The inverse of ``view_as_real``: a float32/float64 tensor whose last dim has size 2
    read as (real, imag) pairs (a copy here, where PyTorch returns a view).

    >>> ember.view_as_complex(ember.tensor([[1., 2.], [3., -1.]]))
    tensor([1.+2.j, 3.-1.j])
    """
    x = as_value(input)
    if x.ndim == 0 or x.shape[-1] != 2 or x.dtype not in (_dt.float32, _dt.float64):
        raise TypeError(f"view_as_complex: expects a float32 or float64 tensor whose last dim "
                        f"has size 2, got {x.dtype} of shape {tuple(x.shape)}")
    return complex(x[..., 0], x[..., 1])


def is_complex(input):
    """Whether ``input``'s dtype is complex.

    >>> ember.is_complex(ember.tensor([1j])), ember.is_complex(ember.tensor([1.]))
    (True, False)
    """
    return as_value(input).dtype.is_complex


for _f in (real, imag, conj, complex, polar, angle, sgn, view_as_real, view_as_complex,
           is_complex):
    export(_f, __all__)
for _f in (conj, angle, sgn, polar):
    method(_f)
export(conj, __all__, "conj_physical")
method(conj, "conj_physical")
Tensor.resolve_conj = Tensor.resolve_neg = lambda self: self  # conj() is never lazy here
Tensor.real = property(real, doc="The real part (a tensor; ``torch.Tensor.real``).")
Tensor.imag = property(imag, doc="The imaginary part of a complex tensor "
                                 "(``torch.Tensor.imag``).")
Tensor.is_conj = lambda self: False



def real_cbrt(x):
    """The real cube root of a floating ``x`` (negative for negative ``x``; ``jnp.cbrt``,
    ``lax.cbrt``), in float64 and rounded once to ``x``'s dtype: a float32 power with the
    exponent 1/3 rounded (and NumPy's AVX-512 power) misses exact cubes by an ulp."""
    x = as_value(x)
    dt = x.dtype
    w = x.to(_dt.float64) if dt.is_floating_point and dt.itemsize < 8 else x
    return (sign(w) * pow(abs(w), 1.0 / 3.0)).to(dt)


# the inputs whose values each vjp rule reads (Primitive.vjp_reads): the eager tape keeps a
# shape-and-dtype stand-in of the others, so they are freed as soon as the forward drops them
for _p in (add_p, sub_p, neg_p, convert_element_type_p, broadcast_in_dim_p,
           # derivatives written in the output alone
           exp_p, exp2_p, expm1_p, sqrt_p, tan_p, tanh_p, sigmoid_p, reciprocal_p, relu_p):
    _p.vjp_reads = ()
# x * y: x's cotangent reads y, y's reads x; x / y: both read y, y's reads x
mul_p.vjp_reads = lambda needed: ((1,) if needed[0] else ()) + ((0,) if needed[1] else ())
div_p.vjp_reads = lambda needed: (1, 0) if needed[1] else (1,)
# where(c, x, y): the cotangents read the condition; x and y only lend their shapes (so
# writing into a buffer after an x[i] = v assignment used it does not break backward)
select_p.vjp_reads = (0,)
del _p
