"""Special functions with their own math: log-gamma and the polygamma family (digamma is
polygamma of order 0). Each derivative is the next member of the family, so every order of
derivative is available. The rest of ``ember.scipy.special`` composes from existing ops.

Kernels (NumPy only): ``gammaln`` runs ``math.lgamma`` per element (exact to the last bit of
the C library); ``polygamma(n, x)`` shifts x up to >= 20 with the recurrence
psi_n(x) = psi_n(x + 1) - (-1)^n n! / x^(n+1) (digamma: psi(x) = psi(x + 1) - 1/x), then sums
the asymptotic series with Bernoulli numbers up to B12 (relative error < 1e-14 there); a
negative argument of digamma uses the reflection psi(1 - x) - psi(x) = pi cot(pi x).
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from ..core import dtypes as _dt
from ..core.primitive import Primitive, bind
from .elementwise import _same_shape_rule, as_value, cast, elementwise_batch
from ..core.exceptions import OpError

__all__: list[str] = []

_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730)  # B2, B4, ..., B12
_SHIFT_TO = 20.0
_LGAMMA = np.frompyfunc(math.lgamma, 1, 1)


def _gammaln_impl(x):
    with np.errstate(all="ignore"):
        out = namespace(x).empty(x.shape, x.dtype)
        finite = np.isfinite(x) & ~((x <= 0) & (x == np.floor(x)))
        out[...] = np.inf
        out[np.isnan(x)] = np.nan
        if finite.any():
            out[finite] = _LGAMMA(x[finite].astype(np.float64)).astype(np.float64)
    return out


def _digamma64(x):
    xp = namespace(x)
    x = xp.array(x, np.float64)
    out = xp.full(x.shape, np.nan)
    poles = (x <= 0) & (x == np.floor(x))
    refl = (x < 0) & ~poles
    xr = np.where(refl, 1 - x, x)  # reflect negative arguments to positive ones
    acc = xp.zeros(x.shape)
    z = np.where(poles | np.isnan(xr), _SHIFT_TO, xr)
    while True:
        small = z < _SHIFT_TO
        if not small.any():
            break
        acc -= np.where(small, 1 / np.where(small, z, 1), 0)
        z = np.where(small, z + 1, z)
    inv2 = 1 / (z * z)
    series = np.log(z) - 0.5 / z
    p = inv2
    for k, b in enumerate(_BERNOULLI, start=1):
        series -= b / (2 * k) * p
        p = p * inv2
    val = series + acc
    val = np.where(refl, val - np.pi / np.tan(np.pi * x), val)
    out = np.where(poles | np.isnan(x), out, val)
    return out


def _polygamma64(n, x):
    """psi_n(x) for n >= 1."""
    xp = namespace(x)
    x = xp.array(x, np.float64)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
    fact = math.factorial(n)
    poles = (x <= 0) & (x == np.floor(x))
    z = np.where(poles | np.isnan(x), _SHIFT_TO, x)
    acc = xp.zeros(x.shape)
    while True:
        small = z < _SHIFT_TO
        if not small.any():
            break
        acc += np.where(small, 1 / np.where(small, z, 1) ** (n + 1), 0)
        z = np.where(small, z + 1, z)
    # asymptotic series: (n-1)!/z^n + n!/(2 z^(n+1)) + sum B2k (2k+n-1)!/((2k)! z^(2k+n))
    series = math.factorial(n - 1) / z ** n + fact / (2 * z ** (n + 1))
    for k, b in enumerate(_BERNOULLI, start=1):
        series += b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) / z ** (2 * k + n)
    val = sign * (series + fact * acc)
    out = np.where(poles, np.inf if n % 2 else np.nan, val)
    return np.where(np.isnan(x), np.nan, out)


def _polygamma_impl(x, n):
    with np.errstate(all="ignore"):
        r = _digamma64(x) if n == 0 else _polygamma64(n, x)
    return r.astype(x.dtype, copy=False)


def _float(x):
    x = as_value(x)
    return x if x.dtype.is_floating_point else cast(x, _dt.get_default_dtype())


polygamma_p = Primitive(
    "polygamma", _polygamma_impl, shape=_same_shape_rule,
    vjp=lambda ct, out, x, n: (ct * bind(polygamma_p, x, n=n + 1),),
    jvp=lambda p, t, out, n: t[0] * bind(polygamma_p, p[0], n=n + 1))
polygamma_p.batch = elementwise_batch(polygamma_p)

gammaln_p = Primitive(
    "gammaln", _gammaln_impl, shape=_same_shape_rule,
    vjp=lambda ct, out, x: (ct * bind(polygamma_p, x, n=0),),
    jvp=lambda p, t, out: t[0] * bind(polygamma_p, p[0], n=0))
gammaln_p.batch = elementwise_batch(gammaln_p)


def lgamma(input):
    """log |Gamma(x)| elementwise (``torch.lgamma``, ``scipy.special.gammaln``).

    >>> ember.lgamma(ember.tensor([1., 5.]))                 # log(0!), log(4!)
    tensor([0.0000, 3.1781])
    """
    return bind(gammaln_p, _float(input))


def digamma(input):
    """psi(x) = d/dx log Gamma(x) elementwise.

    >>> ember.digamma(ember.tensor([1.]))                    # minus Euler's constant
    tensor([-0.5772])
    """
    return bind(polygamma_p, _float(input), n=0)


def polygamma(n, input):
    """The n-th derivative of digamma (``torch.polygamma(n, x)``).

    >>> ember.polygamma(1, ember.tensor([1.]))               # pi^2 / 6
    tensor([1.6449])
    """
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise OpError(f"polygamma: the order n must be a non-negative integer, got {n!r}")
    return bind(polygamma_p, _float(input), n=int(n))


def mvlgamma(input, p):
    """The multivariate log-gamma of dimension p.

    >>> ember.mvlgamma(ember.tensor([2.5]), 2)
    tensor([0.8570])
    """
    x = _float(input)
    r = (p * (p - 1) / 4) * math.log(math.pi)
    for j in range(p):
        r = r + lgamma(x - j / 2)
    return r


for _f in (lgamma, digamma, polygamma, mvlgamma):
    __all__.append(_f.__name__)
from .registry_helpers import method  # noqa: E402
method(lgamma)
method(digamma)
method(lambda self, n: polygamma(n, self), "polygamma")


# ---- erfc and erfcx: their own kernels (no cancellation of 1 - erf for large x) ----------

def _erfc_deriv(x, out):
    from .elementwise import exp
    return (-2 / math.sqrt(math.pi)) * exp(-x * x)


def _erfcx_deriv(x, out):
    return 2.0 * x * out - 2 / math.sqrt(math.pi)


def _log_ndtr_impl(x):
    """log of the standard normal CDF in float64: below -1 through erfcx (no underflow of
    the CDF), above as log1p of minus the upper tail."""
    from ..backend import kernels
    a = x.astype(np.float64)
    out = namespace(a).empty_like(a)
    low = a < -1.0
    r2 = 1.0 / math.sqrt(2.0)
    al = a[low]
    out[low] = np.log(kernels.erfcx(-al * r2)) - 0.5 * al * al - math.log(2.0)
    out[~low] = np.log1p(-0.5 * kernels.erfc(a[~low] * r2))
    return out.astype(x.dtype, copy=False)


def _log_ndtr_deriv(x, out):
    # pdf / cdf = sqrt(2 / pi) / erfcx(-x / sqrt 2): no cancellation in either tail
    return math.sqrt(2.0 / math.pi) / erfcx_p.op(x * (-1.0 / math.sqrt(2.0)))


def _make_erfc():
    from ..backend import kernels
    from .elementwise import _unary
    return (_unary("erfc", kernels.erfc, _erfc_deriv, export_name="_erfc_prim"),
            _unary("erfcx", kernels.erfcx, _erfcx_deriv, needs_out=True,
                   export_name="_erfcx_prim"),
            _unary("log_ndtr", _log_ndtr_impl, _log_ndtr_deriv, export_name="_log_ndtr_prim"))


erfc_p, erfcx_p, log_ndtr_p = _make_erfc()


def log_ndtr(input):
    """log of the standard normal CDF, finite far into the left tail, elementwise."""
    return log_ndtr_p.op(input)


def erfc(input):
    """``1 - erf(x)``, accurate where erf is near 1 (large x), elementwise."""
    return erfc_p.op(input)


def erfcx(input):
    """``exp(x**2) * erfc(x)``, finite and accurate for large positive x, elementwise."""
    return erfcx_p.op(input)


# ---- the regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 - P --------------
#
# igamma(a, x) = P(a, x) = gamma(a, x) / Gamma(a) and igammac(a, x) = Q(a, x), computed in
# float64 by the series sum_n x^n / (a (a+1) ... (a+n)) where x < a + 1 and by Legendre's
# continued fraction for Q elsewhere (each converges fast there), times x^a e^-x / Gamma(a).
# Derivatives: dP/dx = x^(a-1) e^-x / Gamma(a); dP/da by a float64 central difference of P
# (relative step 1e-5: about 8 correct digits, PyTorch has no derivative in a at all).

def _igamma64(a, x, upper):
    a = np.asarray(a, np.float64)
    x = np.asarray(x, np.float64)
    a, x = np.broadcast_arrays(a, x)
    out = np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = (a > 0) & (x >= 0) & np.isfinite(a)
        zero_x = ok & (x == 0)
        inf_x = ok & np.isinf(x)
        out[zero_x] = 1.0 if upper else 0.0
        out[inf_x] = 0.0 if upper else 1.0
        a0 = (a == 0) & (x > 0)  # P(0, x) = 1 (the limit, as SciPy and PyTorch)
        out[a0] = 0.0 if upper else 1.0
        work = ok & (x > 0) & np.isfinite(x)
        if work.any():
            aw, xw = a[work], x[work]
            logpre = aw * np.log(xw) - xw - _LGAMMA(aw).astype(np.float64)
            ser = xw < aw + 1
            res = np.empty(aw.shape)
            if ser.any():  # P by its series
                s_a, s_x = aw[ser], xw[ser]
                term = 1.0 / s_a
                total = term.copy()
                n = s_a.copy()
                for _ in range(1000):
                    n += 1
                    term *= s_x / n
                    total += term
                    if (np.abs(term) <= np.abs(total) * 1e-17).all():
                        break
                p = total * np.exp(logpre[ser])
                res[ser] = 1 - p if upper else p
            cf = ~ser
            if cf.any():  # Q by the continued fraction (modified Lentz)
                c_a, c_x = aw[cf], xw[cf]
                tiny = 1e-300
                b = c_x + 1 - c_a
                c = np.full(b.shape, 1 / tiny)
                d = 1 / b
                h = d.copy()
                for i in range(1, 1000):
                    an = -i * (i - c_a)
                    b = b + 2
                    d = an * d + b
                    d = np.where(np.abs(d) < tiny, tiny, d)
                    c = b + an / c
                    c = np.where(np.abs(c) < tiny, tiny, c)
                    d = 1 / d
                    delta = d * c
                    h = h * delta
                    if (np.abs(delta - 1) <= 1e-16).all():
                        break
                q = np.exp(logpre[cf]) * h
                res[cf] = q if upper else 1 - q
            out[work] = res
    return out


def _igamma_impl(a, x, upper):
    dt = np.result_type(a.dtype, x.dtype)
    host = (np.asarray(v).view(np.ndarray) for v in (a, x))
    return namespace(a, x).asarray(_igamma64(*host, upper).astype(dt, copy=False))


def _igamma_dx(a, x):
    """dP/dx = x^(a-1) e^-x / Gamma(a), composed of differentiable ops."""
    from .elementwise import exp
    import ember
    return exp(ember.xlogy(a - 1, x) - x - lgamma(a))


def _igamma_da(a, x, upper):
    """dP/da (dQ/da when ``upper``) by a float64 central difference."""
    import ember
    a64, x64 = cast(a, _dt.float64), cast(x, _dt.float64)
    h = 1e-5 * ember.maximum(ember.ones_like(a64), a64.abs())
    lo = ember.maximum(a64 - h, a64 * 0.5)  # stays positive
    hi = a64 + h
    d = (bind(igamma_p, hi, x64, upper=upper) - bind(igamma_p, lo, x64, upper=upper)) / (hi - lo)
    return cast(d, a.dtype)


def _igamma_vjp(ct, out, a, x, upper, needed=None):
    # ``needed`` (transforms' backward passes): d/da costs two more float64 evaluations, so
    # it is skipped when ``a`` takes no cotangent
    sign = -1.0 if upper else 1.0
    ga = None if needed is not None and not needed[0] else ct * _igamma_da(a, x, upper)
    gx = None if needed is not None and not needed[1] else ct * (sign * _igamma_dx(a, x))
    return ga, gx


def _igamma_jvp(p, t, out, upper):
    a, x = p
    sign = -1.0 if upper else 1.0
    return t[0] * _igamma_da(a, x, upper) + t[1] * (sign * _igamma_dx(a, x))


igamma_p = Primitive("igamma", _igamma_impl, shape=lambda a, x, upper: a,
                     vjp=_igamma_vjp, jvp=_igamma_jvp)
igamma_p.batch = elementwise_batch(igamma_p)
igamma_p.vjp_takes_needed = True


def _igamma_args(op, input, other):
    import ember
    a, x = as_value(input), as_value(other)
    if a.dtype.is_complex or x.dtype.is_complex:
        raise TypeError(f"{op}: expected real inputs, got {a.dtype} and {x.dtype}")
    dt = ember.result_type(a, x)
    dt = dt if dt.is_floating_point else _dt.get_default_dtype()
    a, x = cast(a, dt), cast(x, dt)
    return ember.broadcast_tensors(a, x)


def igamma(input, other):
    """The regularized lower incomplete gamma function ``P(a, x)`` of ``a = input`` and
    ``x = other`` (as ``torch.igamma`` / ``torch.special.gammainc`` /
    ``jax.scipy.special.gammainc``); differentiable in both.

    >>> ember.igamma(ember.tensor([1., 2.]), ember.tensor([1., 1.]))  # 1 - e^-1, 1 - 2/e
    tensor([0.6321, 0.2642])
    """
    a, x = _igamma_args("igamma", input, other)
    return bind(igamma_p, a, x, upper=False)


def igammac(input, other):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``, computed
    without cancellation (as ``torch.igammac`` / ``torch.special.gammaincc``)."""
    a, x = _igamma_args("igammac", input, other)
    return bind(igamma_p, a, x, upper=True)


__all__ += ["igamma", "igammac"]
method(igamma)
method(igammac)


# ---- torch.special's Bessel family, Airy's Ai, Hurwitz's zeta, the orthogonal polynomials -
#
# The kernels are float64 NumPy in ``backend/special_math.py`` (their methods are described
# there); each primitive runs its kernel on a float64 copy and rounds once to the input's
# dtype. Derivatives: the Bessel functions' own recurrences (J0' = -J1, J1' = J0 - J1/x,
# the same for Y; I0' = I1, I1' = I0 - I1/x; K0' = -K1, K1' = -K0 - K1/x; the scaled forms
# by the product rule; Ai' its own kernel, Ai'' = x Ai), each written with these
# primitives, so every order exists. PyTorch gives these none but i0e, i1, i1e (and zeta in
# q); ember gives them all, since they cost one more kernel call. The polynomials (in x; n is
# an integer degree) and zeta's second derivative in x have none: their rules raise, saying
# so.

def _host64(a):
    return np.asarray(a).view(np.ndarray).astype(np.float64)


def _kernel_impl(fn):
    def impl(*arrays):
        r = fn(*(_host64(a) for a in arrays))
        dt = np.result_type(*(a.dtype for a in arrays))
        return namespace(*arrays).asarray(np.asarray(r).astype(dt, copy=False))
    impl.__name__ = getattr(fn, "__name__", "kernel")
    return impl


def _no_derivative(what, why="PyTorch defines none either"):
    def rule(*args, **params):
        raise OpError(f"{what} has no derivative ({why}); detach its input "
                      f"(x.detach()) if no gradient needs to flow through it")
    return rule


def _special_unary(name, fn, deriv=None, needs_out=False):
    from .elementwise import _unary
    p = _unary(name, _kernel_impl(fn), deriv, needs_out=needs_out,
               export_name="_" + name + "_prim")
    if deriv is None:
        p.vjp = _no_derivative(f"special.{name}")
        p.jvp = _no_derivative(f"special.{name}")
    return p


def _safe_x(x):
    """x with its zeros replaced by 1 (for a rule's 1/x) and the zero mask."""
    from .elementwise import where, full_like_traced
    zero = x == 0
    return where(zero, full_like_traced(x, 1), x), zero


def _d_j1(x, out):
    from .elementwise import where, full_like_traced
    xs, zero = _safe_x(x)
    return where(zero, full_like_traced(x, 0.5), bessel_j0_p.op(x) - out / xs)


def _d_y1(x, out):
    return bessel_y0_p.op(x) - out / x


def _d_i1(x, out):
    from .elementwise import where, full_like_traced
    xs, zero = _safe_x(x)
    return where(zero, full_like_traced(x, 0.5), modified_bessel_i0_p.op(x) - out / xs)


def _d_i0e(x, out):
    from .elementwise import sign
    return i1e_p.op(x) - sign(x) * out


def _d_i1e(x, out):
    from .elementwise import where, full_like_traced, sign
    xs, zero = _safe_x(x)
    return where(zero, full_like_traced(x, 0.5), i0e_p.op(x) - out * (sign(x) + 1.0 / xs))


def _d_sj0(x, out):
    from .elementwise import where, cos, full_like_traced
    xs, zero = _safe_x(x)
    return where(zero, full_like_traced(x, 0.0), (cos(xs) - out) / xs)


def _make_bessel():
    from ..backend import special_math as M
    ps = {}
    ps["bessel_j0"] = _special_unary("bessel_j0", M.bessel_j0,
                                     lambda x, out: -ps["bessel_j1"].op(x))
    ps["bessel_j1"] = _special_unary("bessel_j1", M.bessel_j1, _d_j1, needs_out=True)
    ps["bessel_y0"] = _special_unary("bessel_y0", M.bessel_y0,
                                     lambda x, out: -ps["bessel_y1"].op(x))
    ps["bessel_y1"] = _special_unary("bessel_y1", M.bessel_y1, _d_y1, needs_out=True)
    ps["modified_bessel_i0"] = _special_unary(
        "modified_bessel_i0", M.i0, lambda x, out: ps["modified_bessel_i1"].op(x))
    ps["modified_bessel_i1"] = _special_unary("modified_bessel_i1", M.i1, _d_i1,
                                              needs_out=True)
    ps["modified_bessel_k0"] = _special_unary(
        "modified_bessel_k0", M.k0, lambda x, out: -ps["modified_bessel_k1"].op(x))
    ps["modified_bessel_k1"] = _special_unary(
        "modified_bessel_k1", M.k1,
        lambda x, out: -ps["modified_bessel_k0"].op(x) - out / x, needs_out=True)
    ps["scaled_modified_bessel_k0"] = _special_unary(
        "scaled_modified_bessel_k0", M.k0e,
        lambda x, out: out - ps["scaled_modified_bessel_k1"].op(x), needs_out=True)
    ps["scaled_modified_bessel_k1"] = _special_unary(
        "scaled_modified_bessel_k1", M.k1e,
        lambda x, out: out * (1.0 - 1.0 / x) - ps["scaled_modified_bessel_k0"].op(x),
        needs_out=True)
    ps["i0e"] = _special_unary("i0e", M.i0e, _d_i0e, needs_out=True)
    ps["i1e"] = _special_unary("i1e", M.i1e, _d_i1e, needs_out=True)
    ps["spherical_bessel_j0"] = _special_unary("spherical_bessel_j0", M.spherical_j0,
                                               _d_sj0, needs_out=True)
    # Ai'' = x Ai: the pair closes every order
    ps["airy_ai"] = _special_unary("airy_ai", M.airy_ai,
                                   lambda x, out: ps["airy_ai_prime"].op(x))
    ps["airy_ai_prime"] = _special_unary("airy_ai_prime", M.airy_ai_prime,
                                         lambda x, out: x * ps["airy_ai"].op(x))
    return ps


_BESSEL = _make_bessel()
bessel_j0_p, bessel_j1_p = _BESSEL["bessel_j0"], _BESSEL["bessel_j1"]
modified_bessel_i0_p, i0e_p, i1e_p = (_BESSEL["modified_bessel_i0"], _BESSEL["i0e"],
                                      _BESSEL["i1e"])
bessel_y0_p = _BESSEL["bessel_y0"]


def bessel_fn(name):
    """The public function of the Bessel-family primitive ``name`` (``"bessel_j0"``,
    ``"i1e"``, ...): casts an integer input to the default float dtype, then binds."""
    return _BESSEL[name].op


# Hurwitz's zeta: a binary primitive; d/dq = -x zeta(x + 1, q), d/dx by a complex step of
# the same Euler-Maclaurin sum (exact to rounding), whose own derivative raises.

def _binary_shape(a, b):
    from ..core.primitive import Aval
    from ._util import broadcast_shapes
    return Aval(broadcast_shapes(tuple(a.shape), tuple(b.shape), op="special.zeta"),
                a.dtype)


def _zeta_dx_kernel(x, q):
    from ..backend import special_math as M
    return M.zeta_dx(x, q)


def _zeta_vjp(ct, out, x, q):
    return (ct * bind(zeta_dx_p, x, q), ct * (-x * bind(zeta_p, x + 1.0, q)))


def _zeta_jvp(p, t, out):
    x, q = p
    return t[0] * bind(zeta_dx_p, x, q) + t[1] * (-x * bind(zeta_p, x + 1.0, q))


def _zeta_kernel(x, q):
    from ..backend import special_math as M
    return M.zeta(x, q)


zeta_p = Primitive("zeta", _kernel_impl(_zeta_kernel), shape=_binary_shape,
                   vjp=_zeta_vjp, jvp=_zeta_jvp)
zeta_p.batch = elementwise_batch(zeta_p)
zeta_dx_p = Primitive("zeta_dx", _kernel_impl(_zeta_dx_kernel), shape=_binary_shape,
                      vjp=_no_derivative("special.zeta's derivative in x",
                                         "its second derivative in x is not implemented"),
                      jvp=_no_derivative("special.zeta's derivative in x",
                                         "its second derivative in x is not implemented"))
zeta_dx_p.batch = elementwise_batch(zeta_dx_p)


def _binary_float_args(op, a, b):
    """Both operands as tensors of their promoted floating dtype (integers give the default
    float dtype, a Python number takes the other's dtype), broadcast together."""
    import ember
    from ..core.primitive import Tracer
    from ..core.tensor import Tensor

    def is_num(v):
        return isinstance(v, (int, float, np.integer, np.floating)) and \
            not isinstance(v, bool)

    if is_num(a) and is_num(b):
        a = ember.tensor(float(a))
    a = a if is_num(a) or isinstance(a, (Tensor, Tracer)) else ember.tensor(a)
    b = b if is_num(b) or isinstance(b, (Tensor, Tracer)) else ember.tensor(b)
    for v in (a, b):
        if not is_num(v) and v.dtype.is_complex:
            raise TypeError(f"special.{op}: expected real inputs, got {v.dtype}")
    dt = ember.result_type(a, b)
    dt = dt if dt.is_floating_point else _dt.get_default_dtype()
    a = ember.full_like(b, float(a), dtype=dt) if is_num(a) else cast(as_value(a), dt)
    b = ember.full_like(a, float(b), dtype=dt) if is_num(b) else cast(as_value(b), dt)
    return ember.broadcast_tensors(a, b)


def zeta(input, other):
    """Hurwitz's zeta function ``sum_{k >= 0} (k + q)^-x`` of ``x = input`` and
    ``q = other`` (as ``torch.special.zeta``); differentiable in both (PyTorch: in q only).

    >>> ember.special.zeta(ember.tensor([2., 4.]), ember.tensor([1., 1.]))  # pi^2/6, pi^4/90
    tensor([1.6449, 1.0823])
    """
    x, q = _binary_float_args("zeta", input, other)
    return bind(zeta_p, x, q)


# the orthogonal polynomials p_n(x): n is a tensor (or number) of degrees, truncated to
# integers as PyTorch does; no derivative (PyTorch has none)

def _poly_prim(name, fn):
    p = Primitive(name, _kernel_impl(fn), shape=_binary_shape,
                  vjp=_no_derivative(f"special.{name}"), jvp=_no_derivative(f"special.{name}"))
    p.batch = elementwise_batch(p)

    def op(input, n):
        x, nn = _binary_float_args(name, input, n)
        return bind(p, x, nn)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"``special.{name}(input, n)``: the polynomial of degree ``n`` (a tensor or "
                  f"a number, truncated to an integer; n < 0 gives 0) at ``input``, "
                  f"elementwise with broadcasting (as ``torch.special.{name}``). No "
                  f"derivative, as in PyTorch.")
    return op


def _make_polys():
    from ..backend import special_math as M
    table = {"chebyshev_polynomial_t": M.chebyshev_t, "chebyshev_polynomial_u": M.chebyshev_u,
             "chebyshev_polynomial_v": M.chebyshev_v, "chebyshev_polynomial_w": M.chebyshev_w,
             "hermite_polynomial_h": M.hermite_h, "hermite_polynomial_he": M.hermite_he,
             "laguerre_polynomial_l": M.laguerre_l, "legendre_polynomial_p": M.legendre_p}
    for k in "tuvw":
        table[f"shifted_chebyshev_polynomial_{k}"] = M.shifted(table[f"chebyshev_polynomial_{k}"])
    return {name: _poly_prim(name, fn) for name, fn in table.items()}


POLYNOMIALS = _make_polys()
