"""``jax.numpy``'s remaining math, creation and utility functions, re-exported by
``ember.numpy``: elementwise extras (``cbrt``, ``divmod``, ``modf``, ``frexp``, ``ldexp``,
``gcd``/``lcm``, ``heaviside``, ``float_power``, ``spacing``, ``i0``), polynomials, ranges and
windows, array building (``block``, ``resize``, ``tri``, ``diagflat``, ``vander``), function
mappers (``vectorize`` with ``signature=``, ``apply_along_axis``, ``fromfunction``), bits and
small predicates. Composed from ember ops: differentiable where JAX's are.
"""
from __future__ import annotations

import builtins
import operator
import re

import numpy as _np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .ops.elementwise import real_cbrt as _real_cbrt
from .numpy_base import arr as _a, concrete as _concrete, floating as _fl, \
    jax_int as _jax_int, jnp as _jnp, _e

__all__ = ["around", "rint", "cbrt", "divmod", "modf", "frexp", "ldexp", "gcd", "lcm",
           "heaviside", "float_power", "spacing", "i0", "unwrap", "cross", "vander", "polyval",
           "polyadd", "polysub", "polymul", "polydiv", "polyder", "polyint", "poly", "polyfit",
           "logspace", "geomspace", "tri", "diagflat", "block", "resize", "rollaxis",
           "apply_along_axis", "apply_over_axes", "vectorize", "fromfunction", "frombuffer",
           "fromstring", "bartlett", "blackman", "hamming", "hanning", "kaiser", "matvec",
           "vecmat", "bitwise_not", "bitwise_count", "packbits", "unpackbits", "trim_zeros",
           "ediff1d", "copy", "array_equiv", "isscalar", "isreal", "iscomplex", "isposinf",
           "isneginf", "iterable", "euler_gamma", "broadcast_shapes", "array_repr", "array_str"]

euler_gamma = _np.euler_gamma


def _f(x):
    return _fl(x)


# ---- elementwise --------------------------------------------------------------------------

def around(a, decimals=0, out=None):
    """``round``'s other name (halves to even).

    >>> import ember.numpy as jnp
    >>> jnp.around(jnp.array([0.5, 1.5, 2.25]), 1)
    tensor([0.5000, 1.5000, 2.2000])
    """
    if out is not None:
        raise NotImplementedError("around: out= is not supported (arrays are immutable)")
    return _jnp().round(a, decimals)


def rint(x, /):
    """Round to the nearest integer (halves to even), as floats.

    >>> import ember.numpy as jnp
    >>> jnp.rint(jnp.array([0.5, 1.5, -2.7]))
    tensor([ 0.,  2., -3.])
    """
    t = _a(x)
    return _jnp().round(t if t.dtype.is_inexact else _f(t))


def cbrt(x, /):
    """The real cube root (negative for negative ``x``).

    >>> import ember.numpy as jnp
    >>> jnp.cbrt(jnp.array([8., -27.]))
    tensor([ 2., -3.])
    """
    return _real_cbrt(_f(x))


def divmod(x1, x2, /):  # noqa: A001
    """``(floor_divide(x1, x2), mod(x1, x2))``.

    >>> import ember.numpy as jnp
    >>> jnp.divmod(jnp.array([7, -7]), 3)
    (tensor([ 2, -3], dtype=ember.int32), tensor([1, 2], dtype=ember.int32))
    """
    jnp = _jnp()
    return jnp.floor_divide(x1, x2), jnp.mod(x1, x2)


def modf(x, /, out=None):
    """The fractional and integral parts, both with ``x``'s sign.

    >>> import ember.numpy as jnp
    >>> jnp.modf(jnp.array([1.5, -2.25]))
    (tensor([ 0.5000, -0.2500]), tensor([ 1., -2.]))
    """
    t = _f(x)
    whole = _e().trunc(t)
    return t - whole, whole


def frexp(x, /):
    """Mantissa in [0.5, 1) (signed) and integer exponent with ``x = m * 2**e`` (0, inf and
    NaN give themselves and exponent 0).

    >>> import ember.numpy as jnp
    >>> jnp.frexp(jnp.array([8., 0.75]))
    (tensor([0.5000, 0.7500]), tensor([4, 0], dtype=ember.int32))
    """
    jnp, e = _jnp(), _e()
    t = _f(x)
    finite = e.isfinite(t) & (t != 0)
    safe = jnp.where(finite, t, 1.0)
    ex = e.floor(e.log2(e.abs(safe))) + 1
    m = safe / e.exp2(ex)
    # correct the rare off-by-one of log2 at powers of two
    big = e.abs(m) >= 1
    m = jnp.where(big, m / 2, m)
    ex = jnp.where(big, ex + 1, ex)
    small = e.abs(m) < 0.5
    m = jnp.where(small, m * 2, m)
    ex = jnp.where(small, ex - 1, ex)
    return jnp.where(finite, m, t), jnp.where(finite, ex, 0).to(_jax_int())


def ldexp(x1, x2, /):
    """``x1 * 2**x2`` (``x2`` integers).

    >>> import ember.numpy as jnp
    >>> jnp.ldexp(jnp.array([0.5, 3.]), jnp.array([4, -1]))
    tensor([8.0000, 1.5000])
    """
    m, ex = _f(x1), _a(x2)
    if ex.dtype.is_inexact:
        raise TypeError(f"ldexp: the exponents must be integers, got {ex.dtype.name}")
    return m * _e().exp2(ex.to(m.dtype))


def _int_pair(op, x1, x2):
    a, b = _a(x1), _a(x2)
    if a.dtype.is_inexact or b.dtype.is_inexact:
        raise TypeError(f"{op}: arguments must be integers, got {a.dtype.name} and "
                        f"{b.dtype.name}")
    d = _dt.promote_types(a.dtype, b.dtype)
    return a.to(d), b.to(d)


def gcd(x1, x2):
    """The greatest common divisor of integers (non-negative).

    >>> import ember.numpy as jnp
    >>> jnp.gcd(jnp.array([12, 20]), jnp.array([18, -8]))
    tensor([6, 4], dtype=ember.int32)
    """
    a, b = _int_pair("gcd", x1, x2)
    return _e().gcd(a, b)


def lcm(x1, x2):
    """The least common multiple of integers (non-negative).

    >>> import ember.numpy as jnp
    >>> jnp.lcm(jnp.array([4, 6]), jnp.array([6, -4]))
    tensor([12, 12], dtype=ember.int32)
    """
    a, b = _int_pair("lcm", x1, x2)
    return _e().abs(_e().lcm(a, b))


def heaviside(x1, x2, /):
    """The step function: 0 below zero, 1 above, ``x2`` at zero.

    >>> import ember.numpy as jnp
    >>> jnp.heaviside(jnp.array([-1., 0., 2.]), 0.5)
    tensor([0.0000, 0.5000, 1.0000])
    """
    jnp = _jnp()
    x = _f(x1)
    h = _a(x2).to(x.dtype) if isinstance(x2, Tensor) or _np.ndim(x2) else x2
    return jnp.where(x < 0, 0.0, jnp.where(x > 0, 1.0, h * jnp.ones_like(x))).to(x.dtype)


def float_power(x, y, /):
    """``x ** y`` computed in the widest float available (float64 in 64-bit mode, else
    float32, as JAX).

    >>> import ember.numpy as jnp
    >>> jnp.float_power(jnp.array([2, 3]), 2)
    tensor([4., 9.])
    """
    d = _dt.float64 if _dt._x64[0] else _dt.float32
    a = _a(x)
    if a.dtype.is_complex:
        d = _dt.complex_of(d)
    b = y if isinstance(y, (int, float)) else _a(y).to(d)
    return a.to(d) ** b


def spacing(x, /):
    """The distance from ``x`` to the next representable number away from zero.

    >>> import ember.numpy as jnp
    >>> float(jnp.spacing(jnp.array(1.0)))
    1.1920928955078125e-07
    """
    jnp = _jnp()
    t = _f(x)
    inf = jnp.where(t < 0, -_np.inf, _np.inf).to(t.dtype)
    return jnp.nextafter(t, inf) - t


# the Chebyshev coefficients of exp(-x) I0(x) on [0, 8] and of exp(-x) sqrt(x) I0(x) on
# (8, inf) (Clenshaw's tables, as in the Cephes library's i0)
_I0_A = [-4.41534164647933937950e-18, 3.33079451882223809783e-17, -2.43127984654795469359e-16,
         1.71539128555513303061e-15, -1.16853328779934516808e-14, 7.67618549860493561688e-14,
         -4.85644678311192946090e-13, 2.95505266312963983461e-12, -1.72682629144155570723e-11,
         9.67580903537323691224e-11, -5.18979560163526290666e-10, 2.65982372468238665035e-9,
         -1.30002500998624804212e-8, 6.04699502254191894932e-8, -2.67079385394061173391e-7,
         1.11738753912010371815e-6, -4.41673835845875056359e-6, 1.64484480707288970893e-5,
         -5.75419501008210370398e-5, 1.88502885095841655729e-4, -5.76375574538582365885e-4,
         1.63947561694133579842e-3, -4.32430999505057594430e-3, 1.05464603945949983183e-2,
         -2.37374148058994688156e-2, 4.93052842396707084878e-2, -9.49010970480476444210e-2,
         1.71620901522208775349e-1, -3.04682672343198398683e-1, 6.76795274409476084995e-1]
_I0_B = [-7.23318048787475395456e-18, -4.83050448594418207126e-18, 4.46562142029675999901e-17,
         3.46122286769746109310e-17, -2.82762398051658348494e-16, -3.42548561967721913462e-16,
         1.77256013305652638360e-15, 3.81168066935262242075e-15, -9.55484669882830764870e-15,
         -4.15056934728722208663e-14, 1.54008621752140982691e-14, 3.85277838274214270114e-13,
         7.18012445138366623367e-13, -1.79417853150680611778e-12, -1.32158118404477131188e-11,
         -3.14991652796324136454e-11, 1.18891471078464383424e-11, 4.94060238822496958910e-10,
         3.39623202570838634515e-9, 2.26666899049817806459e-8, 2.04891858946906374183e-7,
         2.89137052083475648297e-6, 6.88975834691682398426e-5, 3.36911647825569408990e-3,
         8.04490411014108831608e-1]


def _chbevl(x, coef):
    b0 = x * 0 + coef[0]
    b1 = x * 0
    b2 = b1
    for c in coef[1:]:
        b2 = b1
        b1 = b0
        b0 = x * b1 - b2 + c
    return 0.5 * (b0 - b2)


def i0(x):
    """The modified Bessel function of the first kind, order 0.

    >>> import ember.numpy as jnp
    >>> jnp.i0(jnp.array([0., 1.]))
    tensor([1.0000, 1.2661])
    """
    jnp, e = _jnp(), _e()
    t = _f(x)
    ax = e.abs(t)
    small = ax <= 8
    xs = jnp.where(small, ax, 8.0)
    xl = jnp.where(small, 16.0, ax)
    a = e.exp(xs) * _chbevl(xs / 2 - 2, _I0_A)
    b = e.exp(xl) * _chbevl(32.0 / xl - 2, _I0_B) / e.sqrt(xl)
    return jnp.where(small, a, b)


def unwrap(p, discont=None, axis=-1, period=2 * _np.pi):
    """``p`` with jumps larger than ``discont`` (default ``period / 2``) along ``axis``
    replaced by their ``period`` complement.

    >>> import ember.numpy as jnp
    >>> jnp.unwrap(jnp.array([0., 3., 6.5]), period=4.0)
    tensor([ 0.0000, -1.0000, -1.5000])
    """
    jnp = _jnp()
    x = _f(p)
    if discont is None:
        discont = period / 2
    dd = jnp.diff(x, axis=axis)
    half = period / 2
    ddmod = jnp.mod(dd + half, period) - half
    ddmod = jnp.where((ddmod == -half) & (dd > 0), half, ddmod)
    corr = jnp.where(jnp.abs(dd) < discont, 0.0, ddmod - dd)
    first = jnp.take(x, jnp.asarray([0]), axis=axis)
    return jnp.concatenate([first, jnp.take(x, jnp.arange(1, x.shape[axis]), axis=axis)
                            + jnp.cumsum(corr, axis=axis)], axis=axis)


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors (or the z component of 2-vectors) along the given
    axes.

    >>> import ember.numpy as jnp
    >>> jnp.cross(jnp.array([1., 0., 0.]), jnp.array([0., 1., 0.]))
    tensor([0., 0., 1.])
    """
    jnp = _jnp()
    if axis is not None:
        axisa = axisb = axisc = axis
    x = jnp.moveaxis(_a(a), axisa, -1)
    y = jnp.moveaxis(_a(b), axisb, -1)
    if x.shape[-1] not in (2, 3) or y.shape[-1] not in (2, 3):
        raise ValueError(f"cross: the vectors must have 2 or 3 components, got {x.shape[-1]} "
                         f"and {y.shape[-1]}")
    d = _dt.promote_types(x.dtype, y.dtype)
    x, y = x.to(d), y.to(d)
    if x.shape[-1] == 2 and y.shape[-1] == 2:
        return x[..., 0] * y[..., 1] - x[..., 1] * y[..., 0]
    if x.shape[-1] == 2:
        x = jnp.concatenate([x, jnp.zeros_like(x[..., :1])], -1)
    if y.shape[-1] == 2:
        y = jnp.concatenate([y, jnp.zeros_like(y[..., :1])], -1)
    c = jnp.stack([x[..., 1] * y[..., 2] - x[..., 2] * y[..., 1],
                   x[..., 2] * y[..., 0] - x[..., 0] * y[..., 2],
                   x[..., 0] * y[..., 1] - x[..., 1] * y[..., 0]], -1)
    return jnp.moveaxis(c, -1, axisc)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-d ``x``: columns ``x**(N-1), ..., x**0`` (reversed
    when ``increasing``).

    >>> import ember.numpy as jnp
    >>> jnp.vander(jnp.array([2., 3.]), 3)
    tensor([[4., 2., 1.],
            [9., 3., 1.]])
    """
    jnp = _jnp()
    t = _a(x)
    if t.ndim != 1:
        raise ValueError(f"vander: x must be 1-d, got shape {tuple(t.shape)}")
    n = t.shape[0] if N is None else operator.index(N)
    if n < 0:
        raise ValueError(f"vander: N must be non-negative, got {n}")
    if n == 0:
        return jnp.zeros((t.shape[0], 0), dtype=t.dtype)
    cols = [jnp.ones_like(t)]
    for _ in range(1, n):
        cols.append(cols[-1] * t)
    v = jnp.stack(cols, axis=1)
    return v if increasing else jnp.flip(v, axis=1)


# ---- polynomials (coefficients highest power first) ---------------------------------------

def polyval(p, x, *, unroll=16):
    """The polynomial with coefficients ``p`` (highest power first) at ``x`` (Horner).

    >>> import ember.numpy as jnp
    >>> jnp.polyval(jnp.array([1., 0., -2.]), jnp.array([2., 3.]))
    tensor([2., 7.])
    """
    c, t = _a(p), _a(x)
    d = _dt.promote_types(c.dtype, t.dtype)
    c, t = c.to(d), t.to(d)
    y = _jnp().zeros_like(t)
    for k in range(c.shape[0]):
        y = y * t + c[k]
    return y


def _poly_pair(a1, a2):
    a, b = _a(a1), _a(a2)
    d = _dt.promote_types(a.dtype, b.dtype)
    return _jnp().atleast_1d(a.to(d)), _jnp().atleast_1d(b.to(d))


def polyadd(a1, a2):
    """The sum of two polynomials.

    >>> import ember.numpy as jnp
    >>> jnp.polyadd(jnp.array([1., 2.]), jnp.array([3., 4., 5.]))
    tensor([3., 5., 7.])
    """
    jnp = _jnp()
    a, b = _poly_pair(a1, a2)
    n = builtins.max(a.shape[0], b.shape[0])
    return jnp.pad(a, (n - a.shape[0], 0)) + jnp.pad(b, (n - b.shape[0], 0))


def polysub(a1, a2):
    """The difference of two polynomials.

    >>> import ember.numpy as jnp
    >>> jnp.polysub(jnp.array([1., 2.]), jnp.array([3., 4., 5.]))
    tensor([-3., -3., -3.])
    """
    a, b = _poly_pair(a1, a2)
    return polyadd(a, -b)


def _strip(op, c):
    v = _concrete(op, c, "trimming leading zeros", "Pass trim_leading_zeros=False.")
    nz = _np.flatnonzero(v)
    return c[int(nz[0]):] if nz.size else c[-1:]


def polymul(a1, a2, *, trim_leading_zeros=False):
    """The product of two polynomials.

    >>> import ember.numpy as jnp
    >>> jnp.polymul(jnp.array([1., 1.]), jnp.array([1., -1.]))
    tensor([ 1.,  0., -1.])
    """
    from .numpy_stats import convolve
    a, b = _poly_pair(a1, a2)
    if trim_leading_zeros:
        a, b = _strip("polymul", a), _strip("polymul", b)
    return convolve(a, b)


def polydiv(u, v, *, trim_leading_zeros=False):
    """The quotient and remainder of dividing polynomial ``u`` by ``v``.

    >>> import ember.numpy as jnp
    >>> jnp.polydiv(jnp.array([1., 0., -1.]), jnp.array([1., 1.]))
    (tensor([ 1., -1.]), tensor([0., 0., 0.]))
    """
    jnp = _jnp()
    a, b = _poly_pair(_f(u), _f(v))
    if trim_leading_zeros:
        b = _strip("polydiv", b)
    m, n = a.shape[0] - 1, b.shape[0] - 1
    scale = 1.0 / b[0]
    q = jnp.zeros((builtins.max(m - n + 1, 1),), dtype=a.dtype)
    r = a
    for k in range(0, m - n + 1):
        d = scale * r[k]
        q = q.at[k].set(d)
        r = r.at[k:k + n + 1].add(-d * b)
    if trim_leading_zeros:
        r = _strip("polydiv", r)
    return q, r


def polyder(p, m=1):
    """The ``m``-th derivative of the polynomial ``p``.

    >>> import ember.numpy as jnp
    >>> jnp.polyder(jnp.array([1., 2., 3.]))
    tensor([2., 2.])
    """
    jnp = _jnp()
    c = _a(p)
    m = operator.index(m)
    if m < 0:
        raise ValueError(f"polyder: the order m must be non-negative, got {m}")
    for _ in range(m):
        n = c.shape[0] - 1
        if n <= 0:
            return jnp.zeros((0,), dtype=c.dtype) if n == 0 else c
        c = c[:-1] * jnp.arange(n, 0, -1).to(c.dtype)
    return c


def polyint(p, m=1, k=None):
    """The ``m``-th antiderivative of the polynomial ``p`` (integration constants ``k``,
    default 0).

    >>> import ember.numpy as jnp
    >>> jnp.polyint(jnp.array([3., 2.]))
    tensor([1.5000, 2.0000, 0.0000])
    """
    jnp = _jnp()
    c = _f(p)
    m = operator.index(m)
    if m < 0:
        raise ValueError(f"polyint: the order m must be non-negative, got {m}")
    if m == 0:
        return c
    ks = jnp.zeros((m,), dtype=c.dtype) if k is None else \
        jnp.broadcast_to(_a(k).to(c.dtype).reshape(-1), (m,))
    for i in range(m):
        n = c.shape[0]
        c = jnp.concatenate([c / jnp.arange(n, 0, -1).to(c.dtype), ks[i:i + 1]])
    return c


def poly(seq_of_zeros):
    """The coefficients of the monic polynomial with the given roots (or of a square
    matrix's characteristic polynomial, from its eigenvalues, for symmetric matrices).

    >>> import ember.numpy as jnp
    >>> jnp.poly(jnp.array([1., 2.]))
    tensor([ 1., -3.,  2.])
    """
    from .numpy_stats import convolve
    jnp = _jnp()
    z = _f(seq_of_zeros)
    if z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0] > 0:
        z = jnp.linalg.eigvalsh(z)
    elif z.ndim != 1:
        raise ValueError(f"poly: expected a 1-d sequence of roots or a square matrix, got "
                         f"shape {tuple(z.shape)}")
    c = jnp.ones((1,), dtype=z.dtype)
    for k in range(z.shape[0]):
        c = convolve(c, jnp.stack([jnp.ones((), dtype=z.dtype), -z[k]]))
    return c


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """The least-squares polynomial fit of degree ``deg`` (coefficients highest power
    first; ``y`` may be 2-d for several fits). ``full``/``cov`` are not supported.

    >>> import ember.numpy as jnp
    >>> jnp.polyfit(jnp.array([0., 1., 2.]), jnp.array([1., 3., 5.]), 1)
    tensor([2.0000, 1.0000])
    """
    if full or cov:
        raise NotImplementedError("polyfit: full= and cov= are not supported; the "
                                  "coefficients alone are returned")
    jnp = _jnp()
    xs, ys = _f(x), _f(y)
    d = _dt.promote_types(xs.dtype, ys.dtype)
    xs, ys = xs.to(d), ys.to(d)
    deg = operator.index(deg)
    if deg < 0:
        raise ValueError(f"polyfit: deg must be non-negative, got {deg}")
    lhs = vander(xs, deg + 1)
    rhs = ys
    if w is not None:
        ww = _a(w).to(d)
        lhs = lhs * ww[:, None]
        rhs = rhs * (ww if rhs.ndim == 1 else ww[:, None])
    scl = jnp.sqrt(jnp.sum(lhs * lhs, axis=0))
    scl = jnp.where(scl == 0, 1.0, scl)
    sol = jnp.linalg.lstsq(lhs / scl, rhs, rcond=rcond)[0]
    return (sol.T / scl).T


# ---- ranges, windows ----------------------------------------------------------------------

def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``.

    >>> import ember.numpy as jnp
    >>> jnp.logspace(0, 2, 3)
    tensor([  1.,  10., 100.])
    """
    jnp = _jnp()
    lin = jnp.linspace(start, stop, num, endpoint=endpoint, axis=axis)
    r = jnp.power(_a(base).to(lin.dtype) if isinstance(base, Tensor) else float(base), lin)
    return r if dtype is None else r.to(_dt.as_dtype(dtype))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale from ``start`` to ``stop`` (same sign).

    >>> import ember.numpy as jnp
    >>> jnp.geomspace(1, 1000, 4)
    tensor([   1.,   10.,  100., 1000.])
    """
    jnp, e = _jnp(), _e()
    a, b = _f(start), _f(stop)
    d = _dt.promote_types(a.dtype, b.dtype)
    a, b = a.to(d), b.to(d)
    sign = e.sign(a)
    # the logarithms and powers in float64, rounded once to d (a float32 power of ten misses
    # 10 by an ulp with NumPy's AVX-512 kernels)
    w = _dt.float64 if d.is_floating_point else d
    lin = jnp.linspace(e.log10(e.abs(a.to(w))), e.log10(e.abs(b.to(w))), num,
                       endpoint=endpoint, axis=0)
    r = jnp.power(10.0, lin).to(d)
    if num > 0:  # the ends exactly
        r = r.at[0].set(e.abs(a))
        if endpoint and num > 1:
            r = r.at[-1].set(e.abs(b))
    r = r * sign
    if axis != 0:
        r = jnp.moveaxis(r, 0, axis)
    return r if dtype is None else r.to(_dt.as_dtype(dtype))


def _window(op, m):
    m = operator.index(m)
    return m, _jnp().arange(0, m).to(_fl(1.0).dtype) if m > 0 else None


def bartlett(M):
    """The Bartlett (triangular) window of ``M`` points.

    >>> import ember.numpy as jnp
    >>> jnp.bartlett(5)
    tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
    """
    m, n = _window("bartlett", M)
    jnp = _jnp()
    if m <= 1:
        return jnp.ones((builtins.max(m, 0),), dtype=_fl(1.0).dtype)
    return 1 - jnp.abs(2 * n / (m - 1) - 1)


def _cos_window(m, coefs):
    jnp = _jnp()
    m, n = _window("window", m)
    if m <= 1:
        return jnp.ones((builtins.max(m, 0),), dtype=_fl(1.0).dtype)
    r = 0
    for k, c in enumerate(coefs):
        r = r + c * jnp.cos(2 * _np.pi * k * n / (m - 1))
    return r


def blackman(M):
    """The Blackman window of ``M`` points.

    >>> import ember.numpy as jnp
    >>> jnp.blackman(5)[1:4]
    tensor([0.3400, 1.0000, 0.3400])
    """
    return _cos_window(M, (0.42, -0.5, 0.08))


def hamming(M):
    """The Hamming window of ``M`` points.

    >>> import ember.numpy as jnp
    >>> jnp.hamming(3)
    tensor([0.0800, 1.0000, 0.0800])
    """
    return _cos_window(M, (0.54, -0.46))


def hanning(M):
    """The Hann window of ``M`` points.

    >>> import ember.numpy as jnp
    >>> jnp.hanning(3)
    tensor([0., 1., 0.])
    """
    return _cos_window(M, (0.5, -0.5))


def kaiser(M, beta):
    """The Kaiser window of ``M`` points with shape parameter ``beta``.

    >>> import ember.numpy as jnp
    >>> jnp.kaiser(3, 0.0)
    tensor([1., 1., 1.])
    """
    jnp = _jnp()
    m, n = _window("kaiser", M)
    if m <= 1:
        return jnp.ones((builtins.max(m, 0),), dtype=_fl(1.0).dtype)
    alpha = (m - 1) / 2.0
    b = _f(beta)
    return i0(b * jnp.sqrt(1 - ((n - alpha) / alpha) ** 2)) / i0(b)


# ---- building arrays ----------------------------------------------------------------------

def tri(N, M=None, k=0, dtype=None):
    """An ``N`` x ``M`` matrix with ones at and below the ``k``-th diagonal.

    >>> import ember.numpy as jnp
    >>> jnp.tri(2, 3)
    tensor([[1., 0., 0.],
            [1., 1., 0.]])
    """
    d = _fl(1.0).dtype if dtype is None else _dt.as_dtype(dtype)
    return _jnp().asarray(_np.tri(N, M, k).astype(d.np))


def diagflat(v, k=0):
    """A 2-d array with the flattened ``v`` on the ``k``-th diagonal.

    >>> import ember.numpy as jnp
    >>> jnp.diagflat(jnp.array([[1, 2]]))
    tensor([[1, 0],
            [0, 2]], dtype=ember.int32)
    """
    return _jnp().diag(_a(v).reshape(-1), k)


def block(arrays):
    """An array assembled from nested lists of blocks (the innermost lists join along the
    last axis, the outer ones along earlier axes).

    >>> import ember.numpy as jnp
    >>> jnp.block([[jnp.ones((2, 2)), jnp.zeros((2, 1))], [jnp.zeros((1, 3))]])
    tensor([[1., 1., 0.],
            [1., 1., 0.],
            [0., 0., 0.]])
    """
    jnp = _jnp()

    def depth(x):
        if isinstance(x, list):
            if not x:
                raise ValueError("block: lists must not be empty")
            ds = {depth(i) for i in x}
            if len(ds) != 1:
                raise ValueError("block: nested lists must all have the same depth")
            return ds.pop() + 1
        if isinstance(x, tuple):
            raise TypeError("block: use lists, not tuples, to nest blocks")
        return 0

    d = depth(arrays)
    leaves = []

    def collect(x):
        if isinstance(x, list):
            for i in x:
                collect(i)
        else:
            leaves.append(_a(x))
    collect(arrays)
    nd = builtins.max([d] + [t.ndim for t in leaves])

    def build(x, level):
        if not isinstance(x, list):
            t = _a(x)
            return t.reshape((1,) * (nd - t.ndim) + tuple(t.shape))
        parts = [build(i, level + 1) for i in x]
        return jnp.concatenate(parts, axis=-(d - level))
    return build(arrays, 0)


def resize(a, new_shape):
    """``a`` repeated (flattened, cyclically) or truncated to ``new_shape``.

    >>> import ember.numpy as jnp
    >>> jnp.resize(jnp.array([1, 2, 3]), (2, 4))
    tensor([[1, 2, 3, 1],
            [2, 3, 1, 2]], dtype=ember.int32)
    """
    jnp = _jnp()
    x = _a(a).reshape(-1)
    shape = (operator.index(new_shape),) if _np.ndim(new_shape) == 0 else \
        tuple(operator.index(s) for s in new_shape)
    if builtins.any(s < 0 for s in shape):
        raise ValueError(f"resize: all sizes must be non-negative, got {shape}")
    total = int(_np.prod(shape, dtype=_np.int64))
    if x.shape[0] == 0:
        return jnp.zeros(shape, dtype=x.dtype)
    reps = -(-total // x.shape[0])
    return jnp.tile(x, reps)[:total].reshape(shape)


def rollaxis(a, axis, start=0):
    """``a`` with ``axis`` moved to position ``start`` (NumPy's older ``moveaxis``).

    >>> import ember.numpy as jnp
    >>> jnp.rollaxis(jnp.ones((2, 3, 4)), 2).shape
    ember.Size([4, 2, 3])
    """
    x = _a(a)
    n = x.ndim
    axis = operator.index(axis)
    start = operator.index(start)
    if not -n <= axis < n:
        raise _np.exceptions.AxisError(f"rollaxis: axis {axis} is out of bounds for {n} dims")
    if not -n <= start <= n:
        raise _np.exceptions.AxisError(f"rollaxis: start {start} is out of bounds for {n} dims")
    axis %= n
    start = start % n if start < 0 else start
    if axis < start:
        start -= 1
    return _jnp().moveaxis(x, axis, start)


# ---- mapping functions --------------------------------------------------------------------

def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``func1d`` applied to each 1-d slice of ``arr`` along ``axis`` (by ``vmap``); the
    slices' results take the place of that axis.

    >>> import ember.numpy as jnp
    >>> jnp.apply_along_axis(lambda v: v.sum(), 1, jnp.array([[1., 2.], [3., 4.]]))
    tensor([3., 7.])
    """
    jnp = _jnp()
    x = _a(arr)
    ax = axis % x.ndim
    f = lambda v: _a(func1d(v, *args, **kwargs))  # noqa: E731
    for _ in range(x.ndim - 1):
        f = _e().vmap(f, in_axes=0, out_axes=0)
    moved = jnp.moveaxis(x, ax, -1)
    r = f(moved)
    lead = x.ndim - 1
    # the result's own dims go where axis was
    extra = r.ndim - lead
    return jnp.moveaxis(r, tuple(range(lead, lead + extra)),
                        tuple(range(ax, ax + extra))) if extra else r


def apply_over_axes(func, a, axes):
    """``func(a, axis)`` applied for each axis in turn, the result kept at ``a``'s number of
    dims.

    >>> import ember.numpy as jnp
    >>> jnp.apply_over_axes(jnp.sum, jnp.ones((2, 3)), [0, 1])
    tensor([[6.]])
    """
    jnp = _jnp()
    x = _a(a)
    for ax in ([axes] if isinstance(axes, int) else axes):
        r = _a(func(x, ax))
        if r.ndim == x.ndim - 1:
            r = jnp.expand_dims(r, ax)
        elif r.ndim != x.ndim:
            raise ValueError(f"apply_over_axes: func must keep the number of dims or remove "
                             f"one, got shape {tuple(r.shape)} from {tuple(x.shape)}")
        x = r
    return x


_DIM = r"\w+"
_CORE = rf"\((?:{_DIM}(?:,{_DIM})*)?\)"
_ARGS = rf"{_CORE}(?:,{_CORE})*"
_SIG = rf"^{_ARGS}->{_ARGS}$"


def _parse_signature(op, sig):
    s = sig.replace(" ", "")
    if not re.match(_SIG, s):
        raise ValueError(f"{op}: not a valid gufunc signature: {sig!r} (e.g. '(n),(n)->()')")
    ins, outs = s.split("->")
    parse = lambda part: [tuple(d for d in g.split(",") if d)  # noqa: E731
                          for g in re.findall(r"\(([^)]*)\)", part)]
    return parse(ins), parse(outs)


class vectorize:  # noqa: N801  (NumPy's / JAX's name)
    """``pyfunc`` mapped over the leading (broadcast) dims of its arguments by ``vmap``;
    ``signature`` ('(n),(n)->()') names the core dims each call sees, ``excluded`` the
    positions/names of arguments passed through unmapped.

    >>> import ember.numpy as jnp
    >>> dot = jnp.vectorize(lambda a, b: (a * b).sum(), signature="(n),(n)->()")
    >>> dot(jnp.ones((3, 2)), jnp.array([1., 2.]))
    tensor([3., 3., 3.])
    """

    def __init__(self, pyfunc, *, excluded=frozenset(), signature=None):
        self.pyfunc = pyfunc
        self.excluded = frozenset(excluded)
        self.signature = signature
        self.__doc__ = getattr(pyfunc, "__doc__", None) or vectorize.__doc__
        self.__name__ = getattr(pyfunc, "__name__", "vectorize")

    def __call__(self, *args, **kwargs):
        jnp = _jnp()
        excluded = self.excluded
        fixed_kw = {k: v for k, v in kwargs.items() if k in excluded}
        mapped_kw = {k: v for k, v in kwargs.items() if k not in excluded}
        names = list(mapped_kw)
        pos = [i for i in range(len(args)) if i not in excluded]
        vals = [_a(args[i]) for i in pos] + [_a(mapped_kw[k]) for k in names]
        if self.signature is not None:
            ins, outs = _parse_signature("vectorize", self.signature)
            if len(ins) != len(vals):
                raise TypeError(f"vectorize: the signature {self.signature!r} has {len(ins)} "
                                f"inputs, got {len(vals)} mapped arguments")
        else:
            ins, outs = [()] * len(vals), None
        sizes = {}
        loops = []
        for v, core in zip(vals, ins):
            if v.ndim < len(core):
                raise ValueError(f"vectorize: an input of shape {tuple(v.shape)} has fewer "
                                 f"dims than its core dims {core}")
            for dname, n in zip(core, v.shape[v.ndim - len(core):]):
                if sizes.setdefault(dname, n) != n:
                    raise ValueError(f"vectorize: core dim {dname!r} is {sizes[dname]} in one "
                                     f"input and {n} in another")
            loops.append(tuple(v.shape[:v.ndim - len(core)]))
        bshape = _np.broadcast_shapes(*loops) if loops else ()
        vals = [jnp.broadcast_to(v, bshape + tuple(v.shape[v.ndim - len(core):]))
                for v, core in zip(vals, ins)]

        def call(*vs):
            a = list(args)
            for i, v in zip(pos, vs[:len(pos)]):
                a[i] = v
            kw = dict(fixed_kw)
            kw.update(zip(names, vs[len(pos):]))
            return self.pyfunc(*a, **kw)

        f = call
        for _ in range(len(bshape)):
            f = _e().vmap(f)
        out = f(*vals)
        if outs is not None and len(outs) > 1 and not isinstance(out, tuple):
            raise TypeError(f"vectorize: the signature has {len(outs)} outputs but the "
                            f"function returned one")
        return out


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``function`` called once with the index grids of ``shape`` (of ``dtype``).

    >>> import ember.numpy as jnp
    >>> jnp.fromfunction(lambda i, j: i + 2 * j, (2, 2), dtype=int)
    tensor([[0, 2],
            [1, 3]], dtype=ember.int32)
    """
    from .numpy_index import indices
    if dtype is float:
        d = _fl(1.0).dtype
    elif dtype is int:
        d = _jax_int()
    else:
        d = _dt.as_dtype(dtype)
    grids = indices(tuple(shape), dtype=d)
    return function(*[grids[i] for i in range(len(tuple(shape)))], **kwargs)


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    """A 1-d array read from a bytes-like ``buffer`` (a copy).

    >>> import ember.numpy as jnp
    >>> jnp.frombuffer(bytes([1, 2, 3]), dtype=jnp.uint8)
    tensor([1, 2, 3], dtype=ember.uint8)
    """
    d = _np.float64 if dtype is float else _dt.as_dtype(dtype).np
    return _jnp().asarray(_np.frombuffer(buffer, dtype=d, count=count, offset=offset).copy())


def fromstring(string, dtype=float, count=-1, *, sep):
    """A 1-d array from numbers in ``string`` separated by ``sep``.

    >>> import ember.numpy as jnp
    >>> jnp.fromstring("1 2 3", sep=" ")
    tensor([1., 2., 3.])
    """
    d = _np.float64 if dtype is float else _dt.as_dtype(dtype).np
    return _jnp().asarray(_np.fromstring(string, dtype=d, count=count, sep=sep))


def matvec(x1, x2, /):
    """Matrix-vector products over the leading (broadcast) dims: ``x1[..., i, j] @
    x2[..., j]``.

    >>> import ember.numpy as jnp
    >>> jnp.matvec(jnp.array([[1., 2.], [3., 4.]]), jnp.array([1., 1.]))
    tensor([3., 7.])
    """
    jnp = _jnp()
    return jnp.matmul(_a(x1), jnp.expand_dims(_a(x2), -1))[..., 0]


def vecmat(x1, x2, /):
    """Vector-matrix products over the leading (broadcast) dims: ``x1[..., i] @
    x2[..., i, j]``.

    >>> import ember.numpy as jnp
    >>> jnp.vecmat(jnp.array([1., 1.]), jnp.array([[1., 2.], [3., 4.]]))
    tensor([4., 6.])
    """
    jnp = _jnp()
    return jnp.matmul(jnp.expand_dims(_a(x1), -2), _a(x2))[..., 0, :]


# ---- bits ---------------------------------------------------------------------------------

def bitwise_not(x, /):
    """``~x`` (bitwise NOT for integers, logical NOT for bools).

    >>> import ember.numpy as jnp
    >>> jnp.bitwise_not(jnp.array([0, 5]))
    tensor([-1, -6], dtype=ember.int32)
    """
    return _jnp().bitwise_invert(x)


def bitwise_count(x, /):
    """The number of 1 bits in the absolute value of each integer (uint8 results).

    >>> import ember.numpy as jnp
    >>> jnp.bitwise_count(jnp.array([7, -3, 0]))
    tensor([3, 2, 0], dtype=ember.uint8)
    """
    jnp = _jnp()
    t = _a(x)
    if t.dtype.is_inexact:
        raise TypeError(f"bitwise_count: integers or bools only, got {t.dtype.name}")
    if t.dtype is _dt.bool_:
        return t.to(_dt.uint8)
    bits = t.dtype.np.itemsize * 8
    v = jnp.abs(t) if t.dtype.np.kind == "i" else t
    u = v.to(_dt.uint64) if bits == 64 else v.to(_dt.int64)
    c = jnp.zeros(t.shape, dtype=_dt.uint8)
    for k in range(bits):
        c = c + ((u >> k) & 1).to(_dt.uint8)
    return c


def packbits(a, axis=None, bitorder="big"):
    """Bools/ints (nonzero = 1) packed 8 to a uint8 along ``axis`` (of the flattened array
    when None), zero-padded at the end.

    >>> import ember.numpy as jnp
    >>> jnp.packbits(jnp.array([1, 0, 1, 1]))
    tensor([176], dtype=ember.uint8)
    """
    jnp = _jnp()
    if bitorder not in ("big", "little"):
        raise ValueError(f"packbits: bitorder must be 'big' or 'little', got {bitorder!r}")
    t = _a(a)
    if t.dtype.is_inexact:
        raise TypeError(f"packbits: integers or bools only, got {t.dtype.name}")
    if axis is None:
        t, axis = t.reshape(-1), 0
    t = jnp.moveaxis((t != 0).to(_dt.uint8), axis, -1)
    n = t.shape[-1]
    pad = (-n) % 8
    if pad:
        t = jnp.pad(t, [(0, 0)] * (t.ndim - 1) + [(0, pad)])
    t = t.reshape(tuple(t.shape[:-1]) + (-1, 8))
    w = _np.array([128, 64, 32, 16, 8, 4, 2, 1], _np.uint8)
    if bitorder == "little":
        w = w[::-1].copy()
    r = (t.to(_dt.int32) * jnp.asarray(w.astype(_np.int32))).sum(-1).to(_dt.uint8)
    return jnp.moveaxis(r, -1, axis)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """uint8 entries unpacked into their 8 bits along ``axis`` (of the flattened array when
    None); ``count`` keeps that many bits (negative: drops from the end).

    >>> import ember.numpy as jnp
    >>> jnp.unpackbits(jnp.array([176], dtype=jnp.uint8))
    tensor([1, 0, 1, 1, 0, 0, 0, 0], dtype=ember.uint8)
    """
    jnp = _jnp()
    if bitorder not in ("big", "little"):
        raise ValueError(f"unpackbits: bitorder must be 'big' or 'little', got {bitorder!r}")
    t = _a(a)
    if t.dtype is not _dt.uint8:
        raise TypeError(f"unpackbits: expected uint8 data, got {t.dtype.name}")
    if axis is None:
        t, axis = t.reshape(-1), 0
    t = jnp.moveaxis(t, axis, -1).to(_dt.int32)
    shifts = _np.arange(7, -1, -1) if bitorder == "big" else _np.arange(8)
    bits = (t.unsqueeze(-1) >> jnp.asarray(shifts.astype(_np.int32))) & 1
    bits = bits.reshape(tuple(t.shape[:-1]) + (-1,)).to(_dt.uint8)
    if count is not None:
        n = bits.shape[-1]
        c = operator.index(count)
        keep = c if c >= 0 else builtins.max(n + c, 0)
        if keep <= n:
            bits = bits[..., :keep]
        else:
            bits = jnp.pad(bits, [(0, 0)] * (bits.ndim - 1) + [(0, keep - n)])
    return jnp.moveaxis(bits, -1, axis)


# ---- small utilities ----------------------------------------------------------------------

def trim_zeros(filt, trim="fb", axis=None):
    """The 1-d ``filt`` without its leading ('f') and/or trailing ('b') zeros (eager only:
    the size depends on the data).

    >>> import ember.numpy as jnp
    >>> jnp.trim_zeros(jnp.array([0, 0, 1, 2, 0]))
    tensor([1, 2], dtype=ember.int32)
    """
    t = _a(filt)
    if t.ndim != 1 and axis is None:
        raise ValueError(f"trim_zeros: filt must be 1-d, got shape {tuple(t.shape)}")
    v = _concrete("trim_zeros", t, "the result's size", "Trim outside jit.")
    nz = _np.flatnonzero(v)
    if nz.size == 0:
        return t[:0]
    t_ = trim.lower()
    lo = int(nz[0]) if "f" in t_ else 0
    hi = int(nz[-1]) + 1 if "b" in t_ else v.shape[0]
    return t[lo:hi]


def ediff1d(ary, to_end=None, to_begin=None):
    """The differences between consecutive entries of the flattened ``ary``, with optional
    values before and after.

    >>> import ember.numpy as jnp
    >>> jnp.ediff1d(jnp.array([1, 4, 9]), to_begin=0)
    tensor([0, 3, 5], dtype=ember.int32)
    """
    jnp = _jnp()
    t = _a(ary).reshape(-1)
    d = t[1:] - t[:-1]
    parts = []
    if to_begin is not None:
        parts.append(_a(to_begin).reshape(-1).to(d.dtype))
    parts.append(d)
    if to_end is not None:
        parts.append(_a(to_end).reshape(-1).to(d.dtype))
    return jnp.concatenate(parts) if len(parts) > 1 else d


def copy(a, order=None):
    """A copy of ``a`` (a new tensor; gradients pass through).

    >>> import ember.numpy as jnp
    >>> jnp.copy(jnp.array([1, 2]))
    tensor([1, 2], dtype=ember.int32)
    """
    return _jnp().array(a, copy=True)


def array_equiv(a1, a2):
    """Whether the two arrays broadcast to one shape and are equal everywhere.

    >>> import ember.numpy as jnp
    >>> jnp.array_equiv(jnp.array([1, 2]), jnp.array([[1, 2], [1, 2]]))
    tensor(True)
    """
    jnp = _jnp()
    x, y = _a(a1), _a(a2)
    try:
        _np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
    except ValueError:
        return jnp.asarray(False)
    return jnp.all(x == y)


def isscalar(element):
    """Whether ``element`` is a scalar: a Python or NumPy scalar, or a 0-d array (as JAX).

    >>> import ember.numpy as jnp
    >>> jnp.isscalar(3.0), jnp.isscalar(jnp.array(3.0)), jnp.isscalar([3.0])
    (True, True, False)
    """
    if isinstance(element, Tensor):
        return element.ndim == 0
    if isinstance(element, _np.ndarray):
        return element.ndim == 0
    return isinstance(element, (builtins.bool, int, float, complex, _np.generic))


def isreal(x):
    """True where the imaginary part is zero (everywhere for real dtypes).

    >>> import ember.numpy as jnp
    >>> jnp.isreal(jnp.array([1.0, 2.0]))
    tensor([True, True])
    """
    t = _a(x)
    if not t.dtype.is_complex:
        return _jnp().ones(t.shape, dtype=_dt.bool_)
    return _jnp().imag(t) == 0


def iscomplex(x):
    """True where the imaginary part is nonzero (nowhere for real dtypes).

    >>> import ember.numpy as jnp
    >>> jnp.iscomplex(jnp.array([1.0, 2.0]))
    tensor([False, False])
    """
    return ~isreal(x)


def isposinf(x, /, out=None):
    """True at +inf.

    >>> import ember.numpy as jnp
    >>> jnp.isposinf(jnp.array([1.0, jnp.inf, -jnp.inf]))
    tensor([False, True, False])
    """
    t = _a(x)
    return t == _np.inf if t.dtype.is_inexact else _jnp().zeros(t.shape, dtype=_dt.bool_)


def isneginf(x, /, out=None):
    """True at -inf.

    >>> import ember.numpy as jnp
    >>> jnp.isneginf(jnp.array([1.0, jnp.inf, -jnp.inf]))
    tensor([False, False, True])
    """
    t = _a(x)
    return t == -_np.inf if t.dtype.is_inexact else _jnp().zeros(t.shape, dtype=_dt.bool_)


def iterable(y):
    """Whether ``iter(y)`` works.

    >>> import ember.numpy as jnp
    >>> jnp.iterable([1, 2]), jnp.iterable(2)
    (True, False)
    """
    try:
        iter(y)
    except TypeError:
        return False
    return True


def broadcast_shapes(*shapes):
    """The shape the given shapes broadcast to.

    >>> import ember.numpy as jnp
    >>> jnp.broadcast_shapes((2, 1), (3,))
    (2, 3)
    """
    try:
        return tuple(_np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s)
                                            for s in shapes]))
    except ValueError:
        raise ValueError(f"broadcast_shapes: shapes {list(shapes)} don't broadcast "
                         f"together") from None


def array_repr(arr, max_line_width=None, precision=None, suppress_small=None):
    """NumPy's ``array_repr`` of the data.

    >>> import ember.numpy as jnp
    >>> jnp.array_repr(jnp.array([1, 2]))
    'array([1, 2], dtype=int32)'
    """
    return _np.array_repr(_a(arr).numpy(), max_line_width, precision, suppress_small)


def array_str(a, max_line_width=None, precision=None, suppress_small=None):
    """NumPy's ``array_str`` of the data.

    >>> import ember.numpy as jnp
    >>> jnp.array_str(jnp.array([1, 2]))
    '[1 2]'
    """
    return _np.array_str(_a(a).numpy(), max_line_width, precision, suppress_small)
