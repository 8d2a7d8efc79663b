"""``jax.lax``'s elementwise operations (``ember.lax.add``, ``ember.lax.exp``, ...), strict as
in JAX: a binary operation takes operands of one dtype and one shape (a 0-d operand or a Python
number goes with any shape; a Python number is weakly typed and takes the other operand's
dtype), and an operation defined on floats refuses integers. ``ember.numpy``'s functions of the
same meaning promote and broadcast. Every operation is composed from ember's primitives, so it
differentiates, batches and compiles with their rules."""
from __future__ import annotations

import builtins
import enum

import numpy as _np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .ops import elementwise as _E
from .ops import special as _S
from .ops import reduce as _R
from .ops.creation_ops import arange as _arange
from .transforms.reverse import stop_gradient as _stop_gradient
from . import torch_ops as _T
from .ops import prng_ops as _P

__all__ = [
    "add", "sub", "mul", "div", "rem", "neg", "abs", "sign", "floor", "ceil", "round",
    "RoundingMethod", "exp", "exp2", "expm1", "log", "log1p", "sqrt", "rsqrt", "cbrt",
    "square", "reciprocal", "integer_pow", "pow", "logistic", "tanh", "sin", "cos", "tan",
    "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh", "erf", "erfc",
    "erf_inv", "lgamma", "digamma", "is_finite", "max", "min", "nextafter", "clamp", "eq", "ne",
    "lt", "le", "gt", "ge", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "shift_left",
    "shift_right_logical", "shift_right_arithmetic", "population_count", "real", "imag", "conj",
    "complex",
]

_PY_SCALARS = (bool, int, float, builtins.complex)


def _is_weak(x):
    return type(x) in _PY_SCALARS


def _what(x):
    return f"{type(x).__name__} {x!r}" if _is_weak(x) else f"{x.dtype.name}{tuple(x.shape)}"


def _strong(op, x):
    """A non-Python-number operand as a Tensor (NumPy data with JAX's dtypes)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (_np.ndarray, _np.generic)):
        return _E.as_jax_value(x)
    raise TypeError(f"lax.{op}: operands must be tensors, NumPy arrays or Python numbers, got "
                    f"{type(x).__name__}; convert it with ember.numpy.asarray first")


def _kind(dtype):
    """'b' bool, 'i' signed int, 'u' unsigned int, 'f' float, 'c' complex."""
    return _np.dtype(dtype.np).kind


_SCALAR_FITS = {bool: "biufc", int: "iufc", float: "fc", builtins.complex: "c"}


def _weak_to(op, v, dtype, other):
    if _kind(dtype) not in _SCALAR_FITS[type(v)]:
        raise TypeError(f"lax.{op}: the Python {type(v).__name__} {v!r} does not fit the other "
                        f"operand's dtype {dtype.name} (lax does not promote); give a "
                        f"{dtype.name} value, convert with lax.convert_element_type, or use "
                        f"ember.numpy.{op} for promotion")
    return _E.as_value(_np.asarray(v, dtype.np))


def _args(op, *xs):
    """The operands of a strict n-ary op as Tensors of one dtype (see the module doc)."""
    strong = [(i, _strong(op, x)) for i, x in enumerate(xs) if not _is_weak(x)]
    if not strong:  # only Python numbers: each gets its kind's default dtype, which must agree
        dts = [_E.as_jax_value(x).dtype for x in xs]
        if any(d != dts[0] for d in dts[1:]):
            raise TypeError(f"lax.{op}: operands must have the same dtype, got "
                            f"{', '.join(_what(x) for x in xs)} (Python numbers of different "
                            f"kinds; lax does not promote); write them alike (1.0, not 1) or use "
                            f"ember.numpy.{op}")
        return [_E.as_jax_value(x) for x in xs]
    dtype = strong[0][1].dtype
    for _, t in strong[1:]:
        if t.dtype != dtype:
            raise TypeError(f"lax.{op}: operands must have the same dtype, got "
                            f"{', '.join(_what(t) for _, t in strong)} (lax does not promote); "
                            f"convert one with lax.convert_element_type, or use "
                            f"ember.numpy.{op} for promotion/broadcasting")
    shapes = [tuple(t.shape) for _, t in strong if t.ndim]
    if any(s != shapes[0] for s in shapes[1:]):
        raise TypeError(f"lax.{op}: operands must have the same shape (a 0-d operand or a Python "
                        f"number goes with any), got {', '.join(_what(t) for _, t in strong)}; "
                        f"lax does not broadcast: use lax.broadcast_in_dim, or ember.numpy."
                        f"{op} for promotion/broadcasting")
    out = list(xs)
    for i, t in strong:
        out[i] = t
    for i, x in enumerate(xs):
        if _is_weak(x):
            out[i] = _weak_to(op, x, dtype, None)
    return out


_KINDS = {"float": "fc", "real_float": "f", "number": "iufc", "signed": "ifc", "real": "biuf",
          "int": "iu", "int_or_bool": "biu", "any": "biufc", "complex": "c", "real_number": "iuf"}
_KIND_WORDS = {"fc": "floating or complex", "f": "floating", "iufc": "numeric (not bool)",
               "ifc": "signed numeric", "biuf": "real", "iu": "integer",
               "biu": "integer or bool", "c": "complex", "iuf": "real numeric (not bool)"}


def _check(op, kinds, *ts):
    allowed = _KINDS[kinds]
    for t in ts:
        if _kind(t.dtype) not in allowed:
            hint = (" ; convert it with lax.convert_element_type(x, ember.float32)"
                    if "f" in allowed and _kind(t.dtype) in "biu" else "")
            raise TypeError(f"lax.{op}: does not accept dtype {t.dtype.name} (takes "
                            f"{_KIND_WORDS[allowed]} dtypes){hint}")


def _unary(op, kinds, fn):
    def f(x):
        (t,) = _args(op, x)
        _check(op, kinds, t)
        return fn(t)
    f.__name__ = f.__qualname__ = op
    return f


def _binary(op, kinds, fn):
    def f(x, y):
        a, b = _args(op, x, y)
        _check(op, kinds, a, b)
        return fn(a, b)
    f.__name__ = f.__qualname__ = op
    return f


def _doc(f, text, example):
    f.__doc__ = f"{text}\n\n{example}\n"
    return f


# ---- arithmetic ----------------------------------------------------------------------------

def _div(a, b):
    if _kind(a.dtype) in "iu":  # C's division: rounds toward zero
        return _E.div(a, b, rounding_mode="trunc")
    return _E.div(a, b)


add = _doc(_binary("add", "number", _E.add), "Elementwise ``x + y`` (same dtype and shape).", """
    >>> ember.lax.add(ember.tensor([1., 2.]), 3.)
    tensor([4., 5.])""")
sub = _doc(_binary("sub", "number", _E.sub), "Elementwise ``x - y`` (same dtype and shape).", """
    >>> ember.lax.sub(ember.tensor([1., 2.]), ember.tensor([3., 5.]))
    tensor([-2., -3.])""")
mul = _doc(_binary("mul", "number", _E.mul), "Elementwise ``x * y`` (same dtype and shape).", """
    >>> ember.lax.mul(ember.tensor([1, 2]), 3)
    tensor([3, 6])""")
div = _doc(_binary("div", "number", _div), """Elementwise ``x / y``; integers divide rounding
    toward zero (C's rule, not Python's floor).""", """
    >>> ember.lax.div(ember.tensor([7, -7]), 2)
    tensor([ 3, -3])""")
rem = _doc(_binary("rem", "number", _E.fmod), """Elementwise remainder of ``x / y`` with the
    sign of ``x`` (C's ``fmod``; ``ember.numpy.remainder`` takes the sign of ``y``).""", """
    >>> ember.lax.rem(ember.tensor([7., -7.]), 3.)
    tensor([ 1., -1.])""")
neg = _doc(_unary("neg", "number", _E.neg), "Elementwise ``-x``.", """
    >>> ember.lax.neg(ember.tensor([1., -2.]))
    tensor([-1., 2.])""")
abs = _doc(_unary("abs", "signed", _E.abs), "Elementwise ``|x|`` (complex: the modulus).", """
    >>> ember.lax.abs(ember.tensor([-1.5, 2.]))
    tensor([1.5000, 2.0000])""")
def _sign(t):
    if _kind(t.dtype) != "c":
        return _E.sign(t)
    m = _E.abs(t)
    zero = _E.eq(m, 0)
    return _E.div(t, _E.cast(_E.where(zero, _E.add(_E.mul(m, 0), 1), m), t.dtype)) \
        * _E.cast(_E.logical_not(zero), t.dtype)


sign = _doc(_unary("sign", "number", _sign), "Elementwise sign: -1, 0 or 1 (complex: x/|x|).", """
    >>> ember.lax.sign(ember.tensor([-3., 0., 2.]))
    tensor([-1., 0., 1.])""")
floor = _doc(_unary("floor", "real_float", _E.floor), "Elementwise floor (floats only).", """
    >>> ember.lax.floor(ember.tensor([-1.5, 1.5]))
    tensor([-2., 1.])""")
ceil = _doc(_unary("ceil", "real_float", _E.ceil), "Elementwise ceiling (floats only).", """
    >>> ember.lax.ceil(ember.tensor([-1.5, 1.5]))
    tensor([-1., 2.])""")


class RoundingMethod(enum.IntEnum):
    """How ``lax.round`` breaks ties: ``AWAY_FROM_ZERO`` (0, the default) or
    ``TO_NEAREST_EVEN`` (1, NumPy's rule).

    >>> int(ember.lax.RoundingMethod.TO_NEAREST_EVEN)
    1
    """
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def round(x, rounding_method=RoundingMethod.AWAY_FROM_ZERO):  # noqa: A001
    """Elementwise rounding to an integral value; ties go away from zero unless
    ``rounding_method=lax.RoundingMethod.TO_NEAREST_EVEN`` (floats only; zero gradient).

    >>> x = ember.tensor([0.5, 1.5, 2.5, -2.5])
    >>> ember.lax.round(x)
    tensor([ 1.,  2.,  3., -3.])
    >>> ember.lax.round(x, ember.lax.RoundingMethod.TO_NEAREST_EVEN)
    tensor([ 0.,  2.,  2., -2.])
    """
    (t,) = _args("round", x)
    _check("round", "real_float", t)
    try:
        method = RoundingMethod(int(rounding_method))
    except (ValueError, TypeError):
        raise ValueError(f"lax.round: rounding_method must be lax.RoundingMethod."
                         f"AWAY_FROM_ZERO (0) or TO_NEAREST_EVEN (1), got {rounding_method!r}") \
            from None
    if method is RoundingMethod.TO_NEAREST_EVEN:
        return _E.round(t)
    whole = _E.trunc(t)
    frac = _E.abs(_E.sub(t, whole))  # exact in floating point
    return _E.where(frac >= 0.5, whole + _E.sign(t), whole)


exp = _doc(_unary("exp", "float", _E.exp), "Elementwise ``e ** x``.", """
    >>> ember.lax.exp(ember.tensor([0., 1.]))
    tensor([1.0000, 2.7183])""")
exp2 = _doc(_unary("exp2", "float", _E.exp2), "Elementwise ``2 ** x``.", """
    >>> ember.lax.exp2(ember.tensor([0., 3.]))
    tensor([1., 8.])""")
expm1 = _doc(_unary("expm1", "float", _E.expm1), "Elementwise ``e ** x - 1`` (accurate near 0).", """
    >>> ember.lax.expm1(ember.tensor([0., 1e-8]))
    tensor([0.0000e+00, 1.0000e-08])""")
log = _doc(_unary("log", "float", _E.log), "Elementwise natural logarithm.", """
    >>> ember.lax.log(ember.tensor([1., 4.]))
    tensor([0.0000, 1.3863])""")
log1p = _doc(_unary("log1p", "float", _E.log1p), "Elementwise ``log(1 + x)`` (accurate near 0).", """
    >>> ember.lax.log1p(ember.tensor([0., 1e-8]))
    tensor([0.0000e+00, 1.0000e-08])""")
sqrt = _doc(_unary("sqrt", "float", _E.sqrt), "Elementwise square root.", """
    >>> ember.lax.sqrt(ember.tensor([4., 2.]))
    tensor([2.0000, 1.4142])""")
rsqrt = _doc(_unary("rsqrt", "float", _E.rsqrt), "Elementwise ``1 / sqrt(x)``.", """
    >>> ember.lax.rsqrt(ember.tensor([4., 16.]))
    tensor([0.5000, 0.2500])""")


cbrt = _doc(_unary("cbrt", "real_float", _E.real_cbrt), "Elementwise real cube root (floats only).", """
    >>> ember.lax.cbrt(ember.tensor([-8., 27.]))
    tensor([-2., 3.])""")
square = _doc(_unary("square", "number", _E.square), "Elementwise ``x * x``.", """
    >>> ember.lax.square(ember.tensor([-3, 2]))
    tensor([9, 4])""")
reciprocal = _doc(_unary("reciprocal", "float", _E.reciprocal), "Elementwise ``1 / x``.", """
    >>> ember.lax.reciprocal(ember.tensor([4., -0.5]))
    tensor([ 0.2500, -2.0000])""")


def integer_pow(x, y):
    """Elementwise ``x ** y`` for a Python int exponent ``y`` (negative only for floats).

    >>> ember.lax.integer_pow(ember.tensor([2., -3.]), 3)
    tensor([  8., -27.])
    """
    if isinstance(y, bool) or not isinstance(y, (int, _np.integer)):
        raise TypeError(f"lax.integer_pow: the exponent must be a Python int, got "
                        f"{type(y).__name__} {y!r}; use lax.pow for a tensor exponent")
    (t,) = _args("integer_pow", x)
    _check("integer_pow", "number", t)
    y = int(y)
    if y < 0 and _kind(t.dtype) in "iu":
        raise TypeError(f"lax.integer_pow: a negative exponent ({y}) needs a floating or "
                        f"complex operand, got {t.dtype.name}")
    if y == 0:
        return _E.add(_E.mul(t, 0), 1)
    if y == 1:
        return t
    if y == 2:
        return _E.mul(t, t)
    return _E.pow(t, y)


def pow(x, y):  # noqa: A001
    """Elementwise ``x ** y``: ``x`` floating or complex, ``y`` of the same dtype or an
    integer dtype (as JAX).

    >>> ember.lax.pow(ember.tensor([4., 9.]), ember.tensor([0.5, 2.]))
    tensor([ 2., 81.])
    """
    if _is_weak(y) or _is_weak(x):
        a, b = _args("pow", x, y)
    else:
        a, b = _strong("pow", x), _strong("pow", y)
        if _kind(b.dtype) in "iu":
            if a.ndim and b.ndim and tuple(a.shape) != tuple(b.shape):
                _args("pow", a, _E.cast(b, a.dtype))  # raises the shape error
        else:
            a, b = _args("pow", a, b)
    _check("pow", "float", a)
    return _E.pow(a, b)


logistic = _doc(_unary("logistic", "float", _E.sigmoid), "Elementwise ``1 / (1 + e ** -x)``.",
                """
    >>> ember.lax.logistic(ember.tensor([0., 2.]))
    tensor([0.5000, 0.8808])""")
tanh = _doc(_unary("tanh", "float", _E.tanh), "Elementwise hyperbolic tangent.", """
    >>> ember.lax.tanh(ember.tensor([0., 1.]))
    tensor([0.0000, 0.7616])""")
sin = _doc(_unary("sin", "float", _E.sin), "Elementwise sine.", """
    >>> ember.lax.sin(ember.tensor([0., 1.]))
    tensor([0.0000, 0.8415])""")
cos = _doc(_unary("cos", "float", _E.cos), "Elementwise cosine.", """
    >>> ember.lax.cos(ember.tensor([0., 1.]))
    tensor([1.0000, 0.5403])""")
tan = _doc(_unary("tan", "float", _E.tan), "Elementwise tangent.", """
    >>> ember.lax.tan(ember.tensor([0., 1.]))
    tensor([0.0000, 1.5574])""")
asin = _doc(_unary("asin", "float", _E.asin), "Elementwise arcsine.", """
    >>> ember.lax.asin(ember.tensor([0., 1.]))
    tensor([0.0000, 1.5708])""")
acos = _doc(_unary("acos", "float", _E.acos), "Elementwise arccosine.", """
    >>> ember.lax.acos(ember.tensor([1., 0.]))
    tensor([0.0000, 1.5708])""")
atan = _doc(_unary("atan", "float", _E.atan), "Elementwise arctangent.", """
    >>> ember.lax.atan(ember.tensor([0., 1.]))
    tensor([0.0000, 0.7854])""")
atan2 = _doc(_binary("atan2", "real_float", _E.atan2), """Elementwise angle of the point
    ``(x, y)``, as ``atan2(y, x)`` with ``y`` first (floats only).""", """
    >>> ember.lax.atan2(ember.tensor([1., -1.]), ember.tensor([0., 0.]))
    tensor([ 1.5708, -1.5708])""")
sinh = _doc(_unary("sinh", "float", _E.sinh), "Elementwise hyperbolic sine.", """
    >>> ember.lax.sinh(ember.tensor([0., 1.]))
    tensor([0.0000, 1.1752])""")
cosh = _doc(_unary("cosh", "float", _E.cosh), "Elementwise hyperbolic cosine.", """
    >>> ember.lax.cosh(ember.tensor([0., 1.]))
    tensor([1.0000, 1.5431])""")
asinh = _doc(_unary("asinh", "float", _E.asinh), "Elementwise inverse hyperbolic sine.", """
    >>> ember.lax.asinh(ember.tensor([0., 1.]))
    tensor([0.0000, 0.8814])""")
acosh = _doc(_unary("acosh", "float", _E.acosh), "Elementwise inverse hyperbolic cosine.", """
    >>> ember.lax.acosh(ember.tensor([1., 2.]))
    tensor([0.0000, 1.3170])""")
atanh = _doc(_unary("atanh", "float", _E.atanh), "Elementwise inverse hyperbolic tangent.", """
    >>> ember.lax.atanh(ember.tensor([0., 0.5]))
    tensor([0.0000, 0.5493])""")
erf = _doc(_unary("erf", "real_float", _E.erf), "Elementwise error function (floats only).", """
    >>> ember.lax.erf(ember.tensor([0., 1.]))
    tensor([0.0000, 0.8427])""")
erfc = _doc(_unary("erfc", "real_float", _T.erfc), "Elementwise ``1 - erf(x)`` (floats only).",
            """
    >>> ember.lax.erfc(ember.tensor([0., 1.]))
    tensor([1.0000, 0.1573])""")
erf_inv = _doc(_unary("erf_inv", "real_float", _P.erfinv), """Elementwise inverse of ``erf``
    on (-1, 1) (floats only).""", """
    >>> ember.lax.erf_inv(ember.tensor([0., 0.5]))
    tensor([0.0000, 0.4769])""")
lgamma = _doc(_unary("lgamma", "real_float", _S.lgamma), """Elementwise ``log |Gamma(x)|``
    (floats only).""", """
    >>> ember.lax.lgamma(ember.tensor([1., 5.]))
    tensor([0.0000, 3.1781])""")
digamma = _doc(_unary("digamma", "real_float", _S.digamma), """Elementwise derivative of
    ``lgamma`` (floats only).""", """
    >>> ember.lax.digamma(ember.tensor([1., 2.]))
    tensor([-0.5772, 0.4228])""")
is_finite = _doc(_unary("is_finite", "real_float", _E.isfinite), """Elementwise: neither
    infinite nor NaN (floats only).""", """
    >>> ember.lax.is_finite(ember.tensor([1., float("inf"), float("nan")]))
    tensor([ True, False, False])""")
max = _doc(_binary("max", "real", _E.maximum), """Elementwise maximum (NaN wins; a tie
    splits the gradient, as JAX).""", """
    >>> ember.lax.max(ember.tensor([1., 5.]), ember.tensor([3., 2.]))
    tensor([3., 5.])""")
min = _doc(_binary("min", "real", _E.minimum), "Elementwise minimum (NaN wins).", """
    >>> ember.lax.min(ember.tensor([1., 5.]), ember.tensor([3., 2.]))
    tensor([1., 2.])""")
nextafter = _doc(_binary("nextafter", "real_float", _E.nextafter), """The next representable
    float after ``x`` toward ``y``, elementwise.""", """
    >>> ember.lax.nextafter(ember.tensor([1.]), ember.tensor([2.])) - 1
    tensor([1.1921e-07])""")


def clamp(min, x, max):  # noqa: A002
    """``x`` limited to ``[min, max]`` elementwise; ``min``/``max`` are 0-d or of ``x``'s shape
    (note JAX's argument order: the bounds around ``x``). The gradient flows to ``x`` where
    ``min < x < max``, to ``min`` where ``x < min`` and to ``max`` where ``x > max``.

    >>> ember.lax.clamp(0., ember.tensor([-1., 0.5, 2.]), 1.)
    tensor([0.0000, 0.5000, 1.0000])
    """
    lo, t, hi = _args("clamp", min, x, max)
    _check("clamp", "real", t)
    edge = _E.logical_or(_E.eq(t, lo), _E.eq(t, hi))
    inner = _E.where(edge, _stop_gradient(t), t)
    return _E.where(_E.lt(t, lo), lo, _E.where(_E.gt(t, hi), hi, inner))


eq = _doc(_binary("eq", "any", _E.eq), "Elementwise ``x == y`` (bool).", """
    >>> ember.lax.eq(ember.tensor([1, 2]), 2)
    tensor([False, True])""")
ne = _doc(_binary("ne", "any", _E.ne), "Elementwise ``x != y`` (bool).", """
    >>> ember.lax.ne(ember.tensor([1, 2]), 2)
    tensor([ True, False])""")
lt = _doc(_binary("lt", "real", _E.lt), "Elementwise ``x < y`` (bool).", """
    >>> ember.lax.lt(ember.tensor([1, 2]), 2)
    tensor([ True, False])""")
le = _doc(_binary("le", "real", _E.le), "Elementwise ``x <= y`` (bool).", """
    >>> ember.lax.le(ember.tensor([1, 3]), 2)
    tensor([ True, False])""")
gt = _doc(_binary("gt", "real", _E.gt), "Elementwise ``x > y`` (bool).", """
    >>> ember.lax.gt(ember.tensor([1, 3]), 2)
    tensor([False, True])""")
ge = _doc(_binary("ge", "real", _E.ge), "Elementwise ``x >= y`` (bool).", """
    >>> ember.lax.ge(ember.tensor([1, 2]), 2)
    tensor([False, True])""")


def _bits(dtype):
    return _np.dtype(dtype.np).itemsize * 8


def _logical(fn_bool, fn_int):
    return lambda a, b: (fn_bool if _kind(a.dtype) == "b" else fn_int)(a, b)


bitwise_and = _doc(_binary("bitwise_and", "int_or_bool", _E.bitwise_and), """Elementwise AND of
    integers' bits (bools: logical and).""", """
    >>> ember.lax.bitwise_and(ember.tensor([12]), 10)
    tensor([8])""")
bitwise_or = _doc(_binary("bitwise_or", "int_or_bool", _E.bitwise_or), """Elementwise OR of
    integers' bits (bools: logical or).""", """
    >>> ember.lax.bitwise_or(ember.tensor([12]), 10)
    tensor([14])""")
bitwise_xor = _doc(_binary("bitwise_xor", "int_or_bool", _E.bitwise_xor), """Elementwise XOR
    of integers' bits (bools: logical xor).""", """
    >>> ember.lax.bitwise_xor(ember.tensor([12]), 10)
    tensor([6])""")
bitwise_not = _doc(_unary("bitwise_not", "int_or_bool", _E.bitwise_not), """Elementwise
    complement of integers' bits (bools: logical not).""", """
    >>> ember.lax.bitwise_not(ember.tensor([0, 5]))
    tensor([-1, -6])""")


def _shift_left(a, s):
    n = _bits(a.dtype)
    over = _E.logical_or(_E.lt(s, 0), _E.ge(s, n))
    safe = _E.where(over, _E.mul(s, 0), s)
    return _E.where(over, _E.mul(a, 0), _E.bitwise_left_shift(a, safe))


def _shift_right_arithmetic(a, s):
    n = _bits(a.dtype)
    if _kind(a.dtype) == "u":  # the bits read as a signed number: the top bit fills
        top = _E.bitwise_right_shift(a, n - 1)
        fill = _E.sub(_E.mul(top, 0), top)  # all ones where the top bit is set
        over = _E.logical_or(_E.lt(s, 0), _E.ge(s, n))
        safe = _E.where(over, _E.mul(s, 0), s)
        keep = _shift_right_logical(a, safe)
        high = _shift_left(fill, _E.sub(_E.mul(safe, 0) + n, safe))
        return _E.where(over, fill, _E.bitwise_or(keep, _E.where(_E.eq(safe, 0),
                                                                _E.mul(a, 0), high)))
    s = _E.where(_E.logical_or(_E.lt(s, 0), _E.ge(s, n)), _E.mul(s, 0) + (n - 1), s)
    return _E.bitwise_right_shift(a, s)


def _shift_right_logical(a, s):
    n = _bits(a.dtype)
    over = _E.logical_or(_E.lt(s, 0), _E.ge(s, n))
    safe = _E.where(over, _E.mul(s, 0), s)
    shifted = _E.bitwise_right_shift(a, safe)
    if _kind(a.dtype) == "i":  # clear the copies of the sign bit: mask = 2**(n - s) - 1
        one = _E.add(_E.mul(a, 0), 1)
        mask = _E.sub(_E.bitwise_left_shift(one, _E.where(_E.eq(safe, 0), _E.mul(s, 0),
                                                          n - safe)), 1)
        shifted = _E.where(_E.eq(safe, 0), a, _E.bitwise_and(shifted, mask))
    return _E.where(over, _E.mul(a, 0), shifted)


shift_left = _doc(_binary("shift_left", "int", _shift_left), """Elementwise ``x << y``; a
    shift by the bit width or more gives 0.""", """
    >>> ember.lax.shift_left(ember.tensor([1, 3]), ember.tensor([4, 64]))
    tensor([16, 0])""")
shift_right_logical = _doc(_binary("shift_right_logical", "int", _shift_right_logical), """
    Elementwise ``x >> y`` filling with zeros (the bits of a negative number read as
    unsigned); a shift by the bit width or more gives 0.""", """
    >>> ember.lax.shift_right_logical(ember.tensor([-1, 16], dtype=ember.int32), 28)
    tensor([15, 0], dtype=ember.int32)""")
shift_right_arithmetic = _doc(_binary("shift_right_arithmetic", "int",
                                      _shift_right_arithmetic), """Elementwise ``x >> y``
    filling with copies of the sign bit; a shift by the bit width or more gives 0 or -1.""",
                              """
    >>> ember.lax.shift_right_arithmetic(ember.tensor([-16, 16]), 2)
    tensor([-4, 4])""")


def _population_count(t):
    n = _bits(t.dtype)
    k = _arange(n, dtype=t.dtype)
    bits = _E.bitwise_and(_E.bitwise_right_shift(t.unsqueeze(-1), k), 1)
    return _E.cast(_R.sum(bits, -1), t.dtype)


population_count = _doc(_unary("population_count", "int", _population_count), """The number
    of set bits of each integer (of its two's complement for a negative one).""", """
    >>> ember.lax.population_count(ember.tensor([7, -1], dtype=ember.int8))
    tensor([3, 8], dtype=ember.int8)""")
real = _doc(_unary("real", "complex", _E.real), "The real part of a complex tensor.", """
    >>> ember.lax.real(ember.tensor([1 + 2j]))
    tensor([1.])""")
imag = _doc(_unary("imag", "complex", _E.imag), "The imaginary part of a complex tensor.", """
    >>> ember.lax.imag(ember.tensor([1 + 2j]))
    tensor([2.])""")


def _conj(t):
    if _kind(t.dtype) != "c":
        t = _E.cast(t, _dt.complex128 if t.dtype == _dt.float64 else _dt.complex64)
    return _E.conj(t)


conj = _doc(_unary("conj", "float", _conj), """The complex conjugate (a real operand becomes
    complex, as in JAX).""", """
    >>> ember.lax.conj(ember.tensor([1 + 2j]))
    tensor([1.-2.j])""")
complex = _doc(_binary("complex", "real_float", _E.complex), """``x + 1j * y`` from two
    float tensors of one dtype (float32 -> complex64, float64 -> complex128).""", """
    >>> ember.lax.complex(ember.tensor([1.]), ember.tensor([2.]))
    tensor([1.+2.j])""")
