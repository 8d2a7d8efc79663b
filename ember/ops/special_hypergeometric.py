"""Confluent and Gauss hypergeometric functions for ``jax.scipy.special``: ``hyp1f1``
(Kummer's M(a, b, x)) and ``hyp2f1`` over real arguments.

The kernel is float64 NumPy, rounded once to the input's dtype:
- x < 0 goes through Kummer's transformation M(a, b, x) = e^x M(b - a, b, -x) (DLMF 13.2.39),
  unless a is a non-positive integer (then the series is a polynomial and is summed as is),
  so that the series below runs on y = |x| with at most finitely many sign changes.
- M(a, b, y) for y <= 2000: the power series sum (a)_k / (b)_k y^k / k! (DLMF 13.2.2), summed
  with a running power-of-two scale so that terms beyond float64's range do not overflow;
  Kummer's e^x joins it through an exact split e^x = 2^m e^r (no log-space rounding).
- y > 2000: the leading asymptotic series of DLMF 13.7.2 (the other one is below e^-2000).
- b a non-positive integer: inf (a pole), except when a is a non-positive integer above b, where
  the series stops before the pole (as SciPy); x = +-inf and NaN give NaN (as SciPy).

2F1(a, b; c; x), x <= 1: x < 0 by Pfaff's transformation to w = x / (x - 1) in (0, 1)
(DLMF 15.8.1); the Gauss series (DLMF 15.2.1) for w <= 0.9; above, the transformation to
1 - w (DLMF 15.8.4) unless c - a - b is within 1e-3 of an integer (its Gamma factors' poles),
where the series runs on (up to 1e5 terms); x = 1 Gauss's sum (DLMF 15.4.20); polynomials
(a or b a non-positive integer) summed as they are at any x; c a pole: inf (as SciPy).

Derivatives: dM/dx = a / b M(a + 1, b + 1, x) (DLMF 13.3.15), d 2F1/dx = a b / c
2F1(a+1, b+1; c+1; x) (DLMF 15.5.1); in the parameters a float64 central difference (about 8
digits), as ``betainc``'s.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.primitive import Primitive, bind
from .elementwise import _same_shape_rule, elementwise_batch
from .special import _LGAMMA
from .special_integrals import _rounded, abx_rules

__all__: list[str] = []

_SCALE = 2.0 ** 600


def _is_nonpos_int(v):
    return (v <= 0) & (v == np.floor(v))


def _lgamma_sign(v):
    """(log|Gamma(v)|, sign Gamma(v)) for v not a non-positive integer."""
    lg = _LGAMMA(v).astype(np.float64)
    sign = np.where((v > 0) | (np.floor(-v) % 2 == 1), 1.0, -1.0)
    return lg, sign


_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # hi: 32 bits


def _times_exp(v, n2, shift):
    """v * 2^n2 * e^shift without overflow or rounding in the exponent: e^shift =
    2^m e^r with r = shift - m log 2 taken in two parts (Cody and Waite), then one ldexp."""
    m = np.round(shift / math.log(2))
    r = (shift - m * _LN2_HI) - m * _LN2_LO
    return np.ldexp(v * np.exp(r), (n2 + m).astype(np.int64))


def _m_series(a, b, y, n_max=6000):
    """The power series M(a, b, y), y >= 0, as (v, n): M = v 2^n (a running scale keeps
    terms beyond float64's range)."""
    term = np.ones_like(y)
    total = np.ones_like(y)
    n2 = np.zeros(y.shape, np.int64)
    done = np.zeros(y.shape, bool)
    for k in range(n_max):
        term = np.where(done, 0.0, term * (a + k) / (b + k) * y / (k + 1))
        total = total + term
        big = np.abs(total) > _SCALE
        if big.any():
            term = np.where(big, term / _SCALE, term)
            total = np.where(big, total / _SCALE, total)
            n2 = n2 + np.where(big, 600, 0)
        # stop once past the largest term (k > y and k > -a) and the term is below rounding
        done = done | ((np.abs(term) <= 1e-17 * np.abs(total)) & (k + 1 > y) & (k + 1 > -a)) \
            | (term == 0)
        if done.all():
            break
    return total, n2


def _m_asymptotic(a, b, y):
    """M(a, b, y) e^-y for y > 2000: Gamma(b)/Gamma(a) y^(a-b) sum (1-a)_s (b-a)_s /
    (s! y^s), cut at its smallest term (DLMF 13.7.2); a not a non-positive integer."""
    term = np.ones_like(y)
    total = np.ones_like(y)
    for s in range(60):
        nxt = term * (1 - a + s) * (b - a + s) / ((s + 1) * y)
        use = np.abs(nxt) < np.abs(term)
        term = np.where(use, nxt, 0.0)
        total = total + term
    lb, sb = _lgamma_sign(b)
    la, sa = _lgamma_sign(a)
    return sb * sa * total * np.exp(lb - la + (a - b) * np.log(y))


def _hyp1f1_64(a, b, x):
    a, b, x = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (a, b, x)))
    out = np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(x)
        a_poly = _is_nonpos_int(a)
        pole = _is_nonpos_int(b) & ~(a_poly & (a > b))
        out[ok & pole] = np.inf
        w = ok & ~pole
        trivial = w & ((a == 0) | (x == 0))
        out[trivial] = 1.0
        w = w & ~trivial
        if w.any():
            aw, bw, xw = a[w], b[w], x[w]
            kummer = (xw < 0) & ~a_poly[w]
            alpha = np.where(kummer, bw - aw, aw)
            y = np.where(kummer, -xw, xw)
            shift = np.where(kummer, xw, 0.0)  # the e^x of the transformation
            res = np.empty_like(y)
            asym = (y > 2000) & ~_is_nonpos_int(alpha)
            ser = ~asym
            if ser.any():
                v, n2 = _m_series(alpha[ser], bw[ser], y[ser])
                res[ser] = _times_exp(v, n2, shift[ser])
            if asym.any():  # e^y e^shift: 1 after Kummer's transformation, else e^y
                ya = y[asym]
                res[asym] = _times_exp(_m_asymptotic(alpha[asym], bw[asym], ya),
                                       np.zeros(ya.shape, np.int64),
                                       np.where(kummer[asym], 0.0, ya))
            out[w] = res
    return out


def _hyp1f1_dab(a, b, x, which):
    """d hyp1f1 / d a (which 0) or d b (which 1): a float64 central difference."""
    from .elementwise import cast, maximum
    from ..core import dtypes as _dt
    a64, b64, x64 = (cast(v, _dt.float64) for v in (a, b, x))
    p = (a64, b64)[which]
    h = 1e-5 * maximum(p * 0 + 1, p.abs())
    args_hi, args_lo = [a64, b64], [a64, b64]
    args_hi[which], args_lo[which] = p + h, p - h
    d = (bind(hyp1f1_p, *args_hi, x64) - bind(hyp1f1_p, *args_lo, x64)) / (2 * h)
    return cast(d, a.dtype)


def _hyp1f1_dx(a, b, x):
    return a / b * bind(hyp1f1_p, a + 1, b + 1, x)


_hyp1f1_vjp, _hyp1f1_jvp = abx_rules(_hyp1f1_dab, _hyp1f1_dx)
hyp1f1_p = Primitive("hyp1f1", _rounded(_hyp1f1_64), shape=lambda a, b, x: _same_shape_rule(x),
                     vjp=_hyp1f1_vjp, jvp=_hyp1f1_jvp)
hyp1f1_p.batch = elementwise_batch(hyp1f1_p)


# ---- 2F1 -------------------------------------------------------------------------------------

def _f_series(a, b, c, w, n_max):
    """The Gauss series sum (a)_k (b)_k / ((c)_k k!) w^k, |w| < 1 or terminating."""
    term = np.ones_like(w)
    total = np.ones_like(w)
    done = np.zeros(w.shape, bool)
    for k in range(n_max):
        term = np.where(done, 0.0, term * (a + k) * (b + k) / ((c + k) * (k + 1)) * w)
        total = total + term
        done = done | (term == 0) | ((np.abs(term) <= 1e-17 * np.abs(total))
                                     & (k + 1 > -a) & (k + 1 > -b) & (k + 1 > -c))
        if done.all():
            break
    return total


def _rgamma(v):
    """1 / Gamma(v), 0 at the poles."""
    lg, sg = _lgamma_sign(np.where(_is_nonpos_int(v), 1.0, v))
    return np.where(_is_nonpos_int(v), 0.0, sg * np.exp(-lg))


def _f_unit(a, b, c, w):
    """2F1(a, b; c; w) for 0 <= w < 1, c not a non-positive integer. Up to 0.9 the series;
    above, the transformation to 1 - w (DLMF 15.8.4) where c - a - b is at least 1e-3 from an
    integer (its Gamma factors have poles at integers), else the series run long."""
    out = np.empty_like(w)
    m = c - a - b
    near_int = np.abs(m - np.round(m)) < 1e-3
    direct = (w <= 0.9) | near_int
    if direct.any():
        out[direct] = _f_series(a[direct], b[direct], c[direct], w[direct], 100000)
    t = ~direct
    if t.any():
        a, b, c, m, u = a[t], b[t], c[t], m[t], 1 - w[t]
        lgc, sgc = _lgamma_sign(c)
        lgm, sgm = _lgamma_sign(m)
        lgn, sgn = _lgamma_sign(-m)
        first = sgc * sgm * np.exp(lgc + lgm) * _rgamma(c - a) * _rgamma(c - b) * \
            _f_series(a, b, 1 - m, u, 3000)
        second = sgc * sgn * np.exp(lgc + lgn) * _rgamma(a) * _rgamma(b) * u ** m * \
            _f_series(c - a, c - b, 1 + m, u, 3000)
        out[t] = first + second
    return out


def _hyp2f1_64(a, b, c, x):
    a, b, c, x = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (a, b, c, x)))
    out = np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & np.isfinite(x)
        pa, pb = _is_nonpos_int(a), _is_nonpos_int(b)
        # a polynomial (a or b = -n) that stops before c's pole, if c has one
        poly = (pa & ((a > c) | ~_is_nonpos_int(c))) | (pb & ((b > c) | ~_is_nonpos_int(c)))
        pole = _is_nonpos_int(c) & ~poly
        out[ok & pole] = np.inf
        w = ok & ~pole
        one = w & ((a == 0) | (b == 0) | (x == 0))
        out[one] = 1.0
        w = w & ~one
        pw = w & poly
        if pw.any():
            out[pw] = _f_series(a[pw], b[pw], c[pw], x[pw], 100000)
        w = w & ~poly
        at1 = w & (x == 1)  # Gauss's sum, DLMF 15.4.20; diverges unless c - a - b > 0
        if at1.any():
            a1, b1, c1 = a[at1], b[at1], c[at1]
            lgc, sgc = _lgamma_sign(c1)
            lgm, sgm = _lgamma_sign(np.where(c1 - a1 - b1 > 0, c1 - a1 - b1, 1.0))
            val = sgc * sgm * np.exp(lgc + lgm) * _rgamma(c1 - a1) * _rgamma(c1 - b1)
            out[at1] = np.where(c1 - a1 - b1 > 0, val, np.inf)
        inside = w & (x < 1)
        if inside.any():
            ai, bi, ci, xi = a[inside], b[inside], c[inside], x[inside]
            neg = xi < 0  # Pfaff: (1 - x)^-a 2F1(a, c - b; c; x / (x - 1)), DLMF 15.8.1
            wv = np.where(neg, xi / (xi - 1), xi)
            bb = np.where(neg, ci - bi, bi)
            pre = np.where(neg, (1 - xi) ** (-ai), 1.0)
            res = np.empty_like(xi)
            # with c - b a non-positive integer the transformed series is a polynomial
            pol = neg & _is_nonpos_int(bb)
            if pol.any():
                res[pol] = _f_series(ai[pol], bb[pol], ci[pol], wv[pol], 100000)
            rest = ~pol
            if rest.any():
                res[rest] = _f_unit(ai[rest], bb[rest], ci[rest], wv[rest])
            out[inside] = pre * res
    return out


def _hyp2f1_dparam(a, b, c, x, which):
    """d hyp2f1 / d (a, b, c)[which]: a float64 central difference."""
    from .elementwise import cast, maximum
    from ..core import dtypes as _dt
    args = [cast(v, _dt.float64) for v in (a, b, c, x)]
    p = args[which]
    h = 1e-5 * maximum(p * 0 + 1, p.abs())
    hi, lo = list(args), list(args)
    hi[which], lo[which] = p + h, p - h
    return cast((bind(hyp2f1_p, *hi) - bind(hyp2f1_p, *lo)) / (2 * h), a.dtype)


def _hyp2f1_dx(a, b, c, x):
    return a * b / c * bind(hyp2f1_p, a + 1, b + 1, c + 1, x)


def _hyp2f1_derivs(a, b, c, x):
    return [_hyp2f1_dparam(a, b, c, x, i) for i in range(3)] + [_hyp2f1_dx(a, b, c, x)]


hyp2f1_p = Primitive(
    "hyp2f1", _rounded(_hyp2f1_64), shape=lambda a, b, c, x: _same_shape_rule(x),
    vjp=lambda ct, out, *p: tuple(ct * d for d in _hyp2f1_derivs(*p)),
    jvp=lambda p, t, out: sum(ti * d for ti, d in zip(t, _hyp2f1_derivs(*p))))
hyp2f1_p.batch = elementwise_batch(hyp2f1_p)
