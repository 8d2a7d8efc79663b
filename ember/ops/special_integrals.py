"""Special functions defined by integrals, for ``jax.scipy.special``: the exponential
integrals ``expi`` (Ei), ``expn`` (E_n, ``exp1`` = E_1), Spence's function (the dilogarithm)
and the regularized incomplete beta function ``betainc``.

Kernels are float64 NumPy, rounded once to the input's dtype:
- E_n(x): for x <= 1 its power series (the n-th term carries log x and psi(n)); above, the
  continued fraction e^-x / (x + n - 1 n / (x + n + 2 - 2 (n + 1) / ...)) by Lentz's method.
- Ei(x): for 0 < x <= 40 the series gamma + log x + sum x^k / (k k!) (positive terms, no
  cancellation); above, the asymptotic series e^x / x sum k! / x^k cut at its smallest term;
  for x < 0, -E_1(-x).
- spence(x) = Li2(1 - x): Li2(y) for -1 <= y <= 1/2 by its series in u = -log(1 - y) with
  Bernoulli numbers (|u| <= log 2: 22 terms reach 1e-17), other y mapped there by
  Li2(y) = pi^2/6 - log y log(1 - y) - Li2(1 - y) and Li2(y) = -pi^2/6 - log^2(-y)/2 - Li2(1/y).
- betainc(a, b, x): the continued fraction of I_x(a, b) (Lentz), on I_{1-x}(b, a) when x is
  past the mean (a + 1) / (a + b + 2), where the fraction converges fast.
- Owen's T(h, a): its defining integral by 64-point Gauss-Legendre for |a| <= 1, cut where
  the integrand is below e^-40; for |a| > 1 Owen's reflection to T(a h, 1/a), in normal tails.
- the Faddeeva function w(z) (complex): for |z| < 8 in the upper half-plane the trapezoid
  rule of (i/pi) int e^(-t^2) / (z - t) dt with its pole correction, on a grid shifted away
  from Re z; beyond, Laplace's continued fraction; on the real axis e^(-x^2) + 2i/sqrt(pi) D(x);
  below it, 2 e^(-z^2) - w(-z).
- the Fresnel integrals S, C, the sine and cosine integrals Si, Ci and Dawson's integral:
  power series at small x, complex continued fractions of erfc / E1 (Fresnel, Si/Ci) and an
  asymptotic series (Dawson) above; the DLMF formulas are named at each kernel.

Derivatives: Ei' = e^x / x; E_n' = -E_{n-1} (E_0' = -e^-x (x + 1) / x^2); spence'(x) =
log x / (1 - x); S' = sin(pi x^2 / 2), C' = cos(pi x^2 / 2); Si' = sin x / x,
Ci' = cos x / x; D' = 1 - 2 x D; dT/dh = -phi(h) erf(a h / sqrt 2) / 2,
dT/da = e^(-h^2 (1 + a^2) / 2) / (2 pi (1 + a^2)); w' = -2 z w + 2i / sqrt(pi);
d betainc / dx = x^(a-1) (1-x)^(b-1) / B(a, b). JAX's betainc has no derivative in a or b;
ember's is a float64 central difference (about 8 digits), as igamma's in a.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..backend import namespace
from ..core.primitive import Primitive, bind
from .elementwise import _same_shape_rule, elementwise_batch
from .special import _digamma64, _LGAMMA

__all__: list[str] = []

_EULER = 0.57721566490153286061
_TINY = 1e-300


def _bernoulli_numbers(n):
    """B_0..B_n (B_1 = -1/2) as exact fractions (Akiyama-Tanigawa)."""
    out = []
    a = [Fraction(0)] * (n + 1)
    for m in range(n + 1):
        a[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        out.append(a[0])
    if n >= 1:
        out[1] = -out[1]  # the algorithm gives B_1 = +1/2
    return out


_B = [float(b) for b in _bernoulli_numbers(24)]


# ---- E_n and Ei -------------------------------------------------------------------------

def _expn64(n, x):
    n, x = np.broadcast_arrays(np.asarray(n, np.float64), np.asarray(x, np.float64))
    out = np.full(n.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = (n >= 0) & (n == np.floor(n)) & (x >= 0) & ~np.isnan(x)
        zero = ok & (x == 0)
        out[zero] = np.where(n[zero] <= 1, np.inf, 1.0 / (n[zero] - 1))
        out[ok & np.isinf(x)] = 0.0
        n0 = ok & (n == 0) & (x > 0) & np.isfinite(x)
        out[n0] = np.exp(-x[n0]) / x[n0]
        work = ok & (n > 0) & (x > 0) & np.isfinite(x)
        ser = work & (x <= 1)
        if ser.any():
            nn, xx = n[ser], x[ser]
            # the k = n-1 term: (-x)^(n-1) / (n-1)! (psi(n) - log x)
            lead = (-xx) ** (nn - 1) / np.exp(_LGAMMA(nn).astype(np.float64)) * \
                (_digamma64(nn) - np.log(xx))
            total = np.where(nn == 1, 0.0, 1.0 / (nn - 1))  # the k = 0 term
            fact = np.ones_like(xx)  # (-x)^k / k!
            for k in range(1, 60):
                fact = fact * (-xx) / k
                skip = (k == nn - 1)
                total = total - np.where(skip, 0.0, fact / np.where(skip, 1.0, k - nn + 1))
            out[ser] = total + lead
        cf = work & (x > 1)
        if cf.any():
            nn, xx = n[cf], x[cf]
            b = xx + nn
            c = np.full(b.shape, 1 / _TINY)
            d = 1 / b
            h = d.copy()
            for i in range(1, 1000):
                an = -i * (nn - 1 + i)
                b = b + 2
                d = 1 / np.where(np.abs(an * d + b) < _TINY, _TINY, an * d + b)
                c = b + an / c
                c = np.where(np.abs(c) < _TINY, _TINY, c)
                delta = c * d
                h = h * delta
                if (np.abs(delta - 1) <= 4e-16).all():
                    break
            out[cf] = h * np.exp(-xx)
    return out


def _expi64(x):
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        out[x == 0] = -np.inf
        out[x == np.inf] = np.inf
        out[x == -np.inf] = 0.0
        neg = (x < 0) & np.isfinite(x)
        out[neg] = -_expn64(1.0, -x[neg])
        ser = (x > 0) & (x <= 40)
        if ser.any():
            xx = x[ser]
            term = np.ones_like(xx)
            total = np.zeros_like(xx)
            for k in range(1, 200):
                term = term * xx / k
                total = total + term / k
                if (term / k <= 1e-17 * total).all():
                    break
            out[ser] = _EULER + np.log(xx) + total
        big = (x > 40) & np.isfinite(x)
        if big.any():
            xx = x[big]
            term = np.ones_like(xx)
            total = np.ones_like(xx)
            for k in range(1, 60):  # terms k!/x^k shrink while k < x (x > 40: to 1e-17)
                term = term * k / xx
                total = total + term
            out[big] = np.exp(xx) / xx * total
    return out


# ---- Li2 and spence -------------------------------------------------------------------------

def _li2_core(y):
    """Li2(y) for -1 <= y <= 1/2: sum B_k u^(k+1) / (k+1)!, u = -log(1 - y)."""
    u = -np.log1p(-y)
    total = np.zeros_like(u)
    p = u.copy()  # u^(k+1) / (k+1)!
    for k, b in enumerate(_B):
        if b != 0.0:
            total = total + b * p
        p = p * u / (k + 2)
    return total


def _li2(y):
    out = np.empty_like(y)
    a = (y >= -1) & (y <= 0.5)
    out[a] = _li2_core(y[a])
    hi = y > 0.5  # y in (1/2, 1]
    yh = y[hi]
    with np.errstate(divide="ignore", invalid="ignore"):
        prod = np.where(yh == 1, 0.0, np.log(yh) * np.log1p(-yh))
    out[hi] = math.pi ** 2 / 6 - prod - _li2_core(1 - yh)
    lo = y < -1
    yl = y[lo]
    out[lo] = -math.pi ** 2 / 6 - 0.5 * np.log(-yl) ** 2 - _li2_core(1 / yl)
    return out


def _spence64(x):
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    ok = (x >= 0) & np.isfinite(x)
    with np.errstate(all="ignore"):
        out[ok] = _li2(1 - x[ok])
    out[x == np.inf] = -np.inf
    return out


# ---- betainc --------------------------------------------------------------------------------

def _betacf(a, b, x):
    """The continued fraction of I_x(a, b) without its prefactor (Lentz)."""
    qab, qap, qam = a + b, a + 1, a - 1
    c = np.ones_like(x)
    d = 1 - qab * x / qap
    d = 1 / np.where(np.abs(d) < _TINY, _TINY, d)
    h = d.copy()
    for m in range(1, 3000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / np.where(np.abs(d) < _TINY, _TINY, d)
        c = 1 + aa / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        h = h * d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / np.where(np.abs(d) < _TINY, _TINY, d)
        c = 1 + aa / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        delta = d * c
        h = h * delta
        if (np.abs(delta - 1) <= 4e-16).all():
            break
    return h


def _betainc64(a, b, x):
    a, b, x = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (a, b, x)))
    out = np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = (a > 0) & (b > 0) & (x >= 0) & (x <= 1)
        out[ok & (x == 0)] = 0.0
        out[ok & (x == 1)] = 1.0
        w = ok & (x > 0) & (x < 1)
        if w.any():
            aw, bw, xw = a[w], b[w], x[w]
            lbeta = (_LGAMMA(aw).astype(np.float64) + _LGAMMA(bw).astype(np.float64)
                     - _LGAMMA(aw + bw).astype(np.float64))
            front = np.exp(aw * np.log(xw) + bw * np.log1p(-xw) - lbeta)
            flip = xw > (aw + 1) / (aw + bw + 2)
            res = np.empty_like(xw)
            s = ~flip
            res[s] = front[s] * _betacf(aw[s], bw[s], xw[s]) / aw[s]
            res[flip] = 1 - front[flip] * _betacf(bw[flip], aw[flip], 1 - xw[flip]) / bw[flip]
            out[w] = res
    return out


# ---- Fresnel integrals, sine and cosine integrals, Dawson's integral ------------------------

def _cf_lentz(b0, terms, n_max=5000, tol=1e-15):
    """b0 + a1 / (b1 + a2 / (b2 + ...)) by Lentz's method; ``terms(k)`` gives (a_k, b_k)
    (arrays, complex allowed) and the loop stops when every entry has converged."""
    f = np.where(b0 == 0, _TINY, b0)
    c, d = f.copy(), np.zeros_like(f)
    for k in range(1, n_max):
        a, b = terms(k)
        d = b + a * d
        d = 1 / np.where(d == 0, _TINY, d)
        c = b + a / c
        c = np.where(c == 0, _TINY, c)
        delta = c * d
        f = f * delta
        if (np.abs(delta - 1) <= tol).all():
            break
    return f


def _odd(kernel, x, at_inf):
    """An odd function from its kernel on 0 < x < inf (NaN stays NaN, +-0 stays +-0)."""
    x = np.asarray(x, np.float64)
    out = np.where(np.isnan(x), np.nan, np.copysign(0.0, x))
    ax = np.abs(x)
    fin = np.isfinite(x) & (ax > 0)
    if fin.any():
        out[fin] = np.sign(x[fin]) * kernel(ax[fin])
    out[np.isinf(x)] = np.sign(x[np.isinf(x)]) * at_inf
    return out


def _square_mod4(t):
    """t^2 mod 4 without the rounding of t^2 (Dekker's exact product p + e = t * t)."""
    p = t * t
    hi = t * 134217729.0  # 2^27 + 1: Veltkamp's split t = th + tl
    th = hi - (hi - t)
    tl = t - th
    e = ((th * th - p) + 2 * th * tl) + tl * tl
    return (p % 4.0 + e) % 4.0


def _fresnel_pos(x):
    """(S(x), C(x)) for 0 < x < inf. DLMF 7.2.7-8 with 7.6.4/7.6.6: for x < 1.5 the power
    series; above, C + iS = (1 + i)/2 (1 - erfc z), z = (1 - i) sqrt(pi) x / 2, with
    sqrt(pi) e^(z^2) erfc z = 1 / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))) (DLMF 7.9.2),
    and e^(-z^2) = e^(i pi x^2 / 2)."""
    s_out, c_out = np.empty_like(x), np.empty_like(x)
    small = x < 1.5
    if small.any():
        t = x[small]
        u = (math.pi / 2) * t * t  # S = sum (-1)^n u^(2n+1) t / ((2n+1)! (4n+3)), C likewise
        term = t.copy()  # u^k t / k!
        ss, cc = np.zeros_like(t), np.zeros_like(t)
        for k in range(60):
            if k % 2 == 0:
                cc = cc + (-1) ** (k // 2) * term / (2 * k + 1)
            else:
                ss = ss + (-1) ** (k // 2) * term / (2 * k + 1)
            term = term * u / (k + 1)
        s_out[small], c_out[small] = ss, cc
    big = ~small
    if big.any():
        t = x[big]
        huge = t > 1e16  # the oscillating part, about 1 / (pi x), is below rounding
        t = np.where(huge, 1.0, t)
        z = (1 - 1j) * (math.sqrt(math.pi) / 2) * t
        cf = 1 / _cf_lentz(z, lambda k: (np.full(z.shape, k / 2), z))
        phase = np.exp(1j * (math.pi / 2) * _square_mod4(t))
        val = (1 + 1j) / 2 * (1 - phase * cf / math.sqrt(math.pi))
        s_out[big] = np.where(huge, 0.5, val.imag)
        c_out[big] = np.where(huge, 0.5, val.real)
    return s_out, c_out


def _fresnel_s64(x):
    return _odd(lambda t: _fresnel_pos(t)[0], x, 0.5)


def _fresnel_c64(x):
    return _odd(lambda t: _fresnel_pos(t)[1], x, 0.5)


def _sici_pos(x):
    """(Si(x), Ci(x)) for 0 < x < inf. For x <= 4 the series of DLMF 6.6.5-6; above,
    E1(ix) = -Ci(x) + i (Si(x) - pi/2) (DLMF 6.5.5-6, 6.2.4) with
    e^z E1(z) = 1 / (z + 1 - 1 / (z + 3 - 4 / (z + 5 - ...))) (the even part of DLMF 6.9.1),
    and e^(-ix) taken from cos and sin."""
    si, ci = np.empty_like(x), np.empty_like(x)
    small = x <= 4
    if small.any():
        t = x[small]
        term = t.copy()  # (-1)^k-free t^(k+1) / (k+1)!
        s_sum, c_sum = np.zeros_like(t), np.zeros_like(t)
        for k in range(60):  # term = t^(k+1) / (k+1)!
            n = k + 1
            sign = (-1) ** (k // 2)
            if n % 2 == 1:
                s_sum = s_sum + sign * term / n
            else:
                c_sum = c_sum - (-1) ** ((n // 2) - 1) * term / n
            term = term * t / (n + 1)
        si[small] = s_sum
        ci[small] = _EULER + np.log(t) + c_sum
    big = ~small
    if big.any():
        t = x[big]
        z = 1j * t
        e1 = np.exp(-z) / _cf_lentz(z + 1, lambda k: (np.full(z.shape, -float(k * k)),
                                                     z + 2 * k + 1))
        ci[big] = -e1.real
        si[big] = math.pi / 2 + e1.imag
    return si, ci


def _si64(x):
    return _odd(lambda t: _sici_pos(t)[0], x, math.pi / 2)


def _ci64(x):
    """Ci(|x|) (-inf at 0, 0 at +inf, NaN at -inf): for x < 0 the real part of the complex
    Ci(x) = Ci(-x) + i pi, which is what SciPy's and JAX's real sici give."""
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, np.nan)
    ax = np.abs(x)
    fin = (ax > 0) & np.isfinite(x)
    if fin.any():
        out[fin] = _sici_pos(ax[fin])[1]
    out[x == 0] = -np.inf
    out[x == np.inf] = 0.0
    return out


def _dawsn_pos(x):
    """Dawson's integral D(x) = e^(-x^2) int_0^x e^(t^2) dt (DLMF 7.2.5), 0 < x < inf: for
    x <= 6 e^(-x^2) sum x^(2n+1) / (n! (2n+1)) (all terms positive); above, the asymptotic
    series 1/(2x) sum (2n-1)!! / (2x^2)^n (DLMF 7.12.1), whose smallest term is below
    e^(-x^2) < 1e-15 relative."""
    out = np.empty_like(x)
    small = x <= 6
    if small.any():
        t = x[small]
        t2 = t * t
        term = t.copy()  # t^(2n+1) / n!
        total = np.zeros_like(t)
        for n in range(160):
            total = total + term / (2 * n + 1)
            term = term * t2 / (n + 1)
            if (term / (2 * n + 3) <= 1e-17 * total).all():
                break
        out[small] = np.exp(-t2) * total
    big = ~small
    if big.any():
        t = x[big]
        v = 1 / (2 * t * t)
        term = np.ones_like(t)
        total = np.ones_like(t)
        for n in range(1, 40):
            nxt = term * (2 * n - 1) * v
            use = nxt < term  # stop at the smallest term
            term = np.where(use, nxt, 0.0)
            total = total + term
        out[big] = total / (2 * t)
    return out


def _dawsn64(x):
    return _odd(_dawsn_pos, x, 0.0)


# ---- Owen's T --------------------------------------------------------------------------------

_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)


def _owens_t_small_a(h, a):
    """T(h, a) for h >= 0, 0 < a <= 1: the defining integral (Owen 1956)
    1/(2 pi) int_0^a e^(-h^2 (1 + x^2) / 2) / (1 + x^2) dx by 64-point Gauss-Legendre, cut at
    x = 9 / h, past which the integrand is below e^-40 of its value at 0."""
    u = np.minimum(a, 9.0 / np.maximum(h, 1e-300))
    x = 0.5 * u[..., None] * (_GL_X + 1)  # nodes on [0, u]
    q = 0.5 * h[..., None] ** 2
    f = np.exp(-q * (1 + x * x)) / (1 + x * x)
    return 0.5 * u * (f * _GL_W).sum(-1) / (2 * math.pi)


def _owens_t64(h, a):
    h, a = np.broadcast_arrays(np.asarray(h, np.float64), np.asarray(a, np.float64))
    out = np.full(h.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = ~np.isnan(h) & ~np.isnan(a)
        sgn = np.sign(a)  # T is odd in a and even in h
        hh, aa = np.abs(h), np.abs(a)
        out[ok & (aa == 0)] = 0.0
        out[ok & (aa > 0) & np.isinf(hh)] = 0.0
        w = ok & (aa > 0) & np.isfinite(hh)
        lo = w & (aa <= 1)
        if lo.any():
            out[lo] = _owens_t_small_a(hh[lo], aa[lo])
        hi = w & (aa > 1)
        if hi.any():  # T(h, a) = Q1/2 + Q2/2 - Q1 Q2 - T(a h, 1/a), Q = the normal tails at
            # h and a h (Owen 1956, eq. 2.3, written with tails so nothing cancels)
            h1, a1 = hh[hi], aa[hi]
            ah = np.where(np.isinf(a1), np.inf, a1 * h1)
            q1 = 0.5 * _erfc(h1 / math.sqrt(2))
            fin = np.isfinite(ah)
            q2 = np.where(fin, 0.5 * _erfc(np.where(fin, ah, 0.0) / math.sqrt(2)), 0.0)
            rest = np.zeros_like(h1)
            rest[fin] = _owens_t_small_a(ah[fin], 1 / a1[fin])
            out[hi] = 0.5 * q1 + 0.5 * q2 - q1 * q2 - rest
        out = np.where(ok, sgn * out, np.nan)
    return out


def _erfc(x):
    from ..backend.kernels import erfc
    return np.asarray(erfc(np.asarray(x, np.float64)), np.float64)


# ---- the Faddeeva function w(z) = e^(-z^2) erfc(-iz) -----------------------------------------

_WOFZ_H = 0.5  # trapezoid step: e^-(pi/h)^2 ~ 1e-17 aliasing
_WOFZ_N = np.arange(14, dtype=np.float64)  # nodes up to 6.75: e^-(n h)^2 below 1e-19


def _wofz_trapezoid(z):
    """w(z), Im z >= 0, |z| < 8: the trapezoid rule for w(z) = (i/pi) int e^(-t^2) / (z - t) dt
    on nodes t = n h, or t = (n + 1/2) h when Re z is nearer an integer multiple of h (the
    rule's correction term has poles at its nodes), plus that correction, the residue sum
    2 e^(-z^2) / (1 -+ e^(-2 pi i z / h)) (Matta and Reichel's construction)."""
    h = _WOFZ_H
    frac = np.abs(z.real / h - np.round(z.real / h))
    shifted = frac < 0.25
    t = np.where(shifted[..., None], (_WOFZ_N + 0.5) * h, _WOFZ_N * h)  # t >= 0, paired +-t
    zz = z[..., None]
    terms = 2 * zz * np.exp(-t * t) / (zz * zz - t * t)
    terms = np.where((~shifted[..., None]) & (_WOFZ_N == 0), 0.0, terms)  # t = 0 once: 1/z
    total = terms.sum(-1) + np.where(shifted, 0.0, 1 / np.where(shifted, 1.0, z))
    trap = 1j * h / math.pi * total
    e = np.exp(-2j * math.pi * z / h)
    corr = 2 * np.exp(-z * z) / np.where(shifted, 1 + e, 1 - e)
    corr = np.where(z.imag < 6.0, corr, 0.0)  # beyond, below e^-75 of w
    return trap + corr


def _wofz_upper(z):
    """w(z) for Im z >= 0."""
    out = np.empty_like(z)
    big = np.abs(z) >= 8
    if big.any():  # Laplace's continued fraction (DLMF 7.9.3): w = i / (sqrt(pi) f),
        # f = z - (1/2) / (z - 1 / (z - (3/2) / (z - ...)))
        zb = z[big]
        f = _cf_lentz(zb, lambda k: (np.full(zb.shape, -k / 2, np.complex128), zb))
        out[big] = 1j / (math.sqrt(math.pi) * f)
    small = ~big
    if small.any():
        out[small] = _wofz_trapezoid(z[small])
    real = z.imag == 0  # on the real axis: e^(-x^2) + 2i / sqrt(pi) D(x), both parts exact
    if real.any():
        x = z.real[real]
        out[real] = np.exp(-x * x) + 2j / math.sqrt(math.pi) * _dawsn64(x)
    return out


def _wofz128(z):
    z = np.asarray(z).astype(np.complex128)
    out = np.full(z.shape, complex(np.nan, np.nan))
    with np.errstate(all="ignore"):
        ok = np.isfinite(z.real) & np.isfinite(z.imag)
        up = ok & (z.imag >= 0)
        if up.any():
            out[up] = _wofz_upper(z[up])
        lo = ok & (z.imag < 0)  # w(z) = 2 e^(-z^2) - w(-z) (DLMF 7.4.3)
        if lo.any():
            zl = z[lo]
            out[lo] = 2 * np.exp(-zl * zl) - _wofz_upper(-zl)
        # |z| -> inf in the upper half-plane (and on the real axis): w -> 0
        inf_up = ~ok & ~np.isnan(z.real) & ~np.isnan(z.imag) & (z.imag >= 0)
        out[inf_up] = 0.0
    return out


# ---- primitives -----------------------------------------------------------------------------

def _host64(a):
    return np.asarray(a).view(np.ndarray).astype(np.float64)


def _rounded(fn):
    def impl(*arrays):
        dt = np.result_type(*(a.dtype for a in arrays))
        r = fn(*(_host64(a) for a in arrays))
        return namespace(*arrays).asarray(np.asarray(r).astype(dt, copy=False))
    return impl


def _exp(x):
    from .elementwise import exp
    return exp(x)


def _d_expi(x, out):
    return _exp(x) / x


def _d_spence(x, out):
    from .elementwise import where, full_like_traced, log
    one = x == 1
    xs = where(one, full_like_traced(x, 2.0), x)
    return where(one, full_like_traced(x, -1.0), log(xs) / (1 - xs))


def _half_pi_x2(x):
    """pi/2 x^2 with x^2 reduced mod 4 first (one period of sin and cos), so that
    sin / cos are exact zeros and ones where x^2 is an even / odd integer, as JAX's."""
    from .elementwise import floor
    t = x * x
    return (math.pi / 2) * (t - 4 * floor(t / 4))


def _d_fresnel_s(x, out):
    from .elementwise import sin
    return sin(_half_pi_x2(x))


def _d_fresnel_c(x, out):
    from .elementwise import cos
    return cos(_half_pi_x2(x))


def _d_si(x, out):  # sin x / x, 1 at 0
    from .elementwise import where, full_like_traced, sin
    zero = x == 0
    xs = where(zero, full_like_traced(x, 1.0), x)
    return where(zero, full_like_traced(x, 1.0), sin(xs) / xs)


def _d_ci(x, out):
    from .elementwise import cos
    return cos(x) / x


def _d_dawsn(x, out):
    return 1 - 2 * x * out


def _make_unary():
    from .elementwise import _unary
    return (_unary("expi", _rounded(_expi64), _d_expi, export_name="_expi_prim"),
            _unary("spence", _rounded(_spence64), _d_spence, export_name="_spence_prim"),
            _unary("fresnel_s", _rounded(_fresnel_s64), _d_fresnel_s,
                   export_name="_fresnel_s_prim"),
            _unary("fresnel_c", _rounded(_fresnel_c64), _d_fresnel_c,
                   export_name="_fresnel_c_prim"),
            _unary("sinint", _rounded(_si64), _d_si, export_name="_si_prim"),
            _unary("cosint", _rounded(_ci64), _d_ci, export_name="_ci_prim"),
            _unary("dawsn", _rounded(_dawsn64), _d_dawsn, export_name="_dawsn_prim",
                   needs_out=True))


expi_p, spence_p, fresnel_s_p, fresnel_c_p, si_p, ci_p, dawsn_p = _make_unary()


def _d_expn(n, x):
    from .elementwise import where, full_like_traced
    n0 = n == 0
    prev = bind(expn_p, where(n0, full_like_traced(n, 1.0), n - 1), x)
    e0 = -_exp(-x) * (x + 1) / (x * x)
    return where(n0, e0, -prev)


expn_p = Primitive(
    "expn", _rounded(_expn64), shape=lambda n, x: _same_shape_rule(x),
    vjp=lambda ct, out, n, x: (None, ct * _d_expn(n, x)),
    jvp=lambda p, t, out: t[1] * _d_expn(p[0], p[1]))
expn_p.batch = elementwise_batch(expn_p)


def _betainc_dx(a, b, x):
    from .elementwise import exp, log, log1p
    from .special import lgamma
    return exp((a - 1) * log(x) + (b - 1) * log1p(-x) - lgamma(a) - lgamma(b) + lgamma(a + b))


def _betainc_dab(a, b, x, which):
    """d betainc / d a (which 0) or d b (which 1): a float64 central difference."""
    from .elementwise import cast, maximum
    from ..core import dtypes as _dt
    a64, b64, x64 = (cast(v, _dt.float64) for v in (a, b, x))
    p = (a64, b64)[which]
    h = 1e-5 * maximum(p * 0 + 1, p.abs())
    lo, hi = maximum(p - h, p * 0.5), p + h
    args_hi = [a64, b64]
    args_lo = [a64, b64]
    args_hi[which], args_lo[which] = hi, lo
    d = (bind(betainc_p, *args_hi, x64) - bind(betainc_p, *args_lo, x64)) / (hi - lo)
    return cast(d, a.dtype)


def abx_rules(dab, dx):
    """The VJP and JVP rules of an elementwise f(a, b, x) from its partial derivatives:
    ``dab(a, b, x, 0 or 1)`` in a or b, ``dx(a, b, x)`` in x."""
    def vjp(ct, out, a, b, x):
        return ct * dab(a, b, x, 0), ct * dab(a, b, x, 1), ct * dx(a, b, x)

    def jvp(p, t, out):
        a, b, x = p
        return t[0] * dab(a, b, x, 0) + t[1] * dab(a, b, x, 1) + t[2] * dx(a, b, x)
    return vjp, jvp


_betainc_vjp, _betainc_jvp = abx_rules(_betainc_dab, _betainc_dx)
betainc_p = Primitive("betainc", _rounded(_betainc64), shape=lambda a, b, x: _same_shape_rule(x),
                      vjp=_betainc_vjp, jvp=_betainc_jvp)
betainc_p.batch = elementwise_batch(betainc_p)


def _owens_t_vjp(ct, out, h, a):
    """dT/dh = -phi(h) erf(a h / sqrt 2) / 2, dT/da = e^(-h^2 (1 + a^2) / 2) / (2 pi (1 + a^2))."""
    from .elementwise import erf
    dh = -_exp(-0.5 * h * h) * (1 / math.sqrt(2 * math.pi)) * erf(a * h * (1 / math.sqrt(2))) / 2
    aa = 1 + a * a
    da = _exp(-0.5 * h * h * aa) / (2 * math.pi * aa)
    return dh, da


owens_t_p = Primitive(
    "owens_t", _rounded(_owens_t64), shape=lambda h, a: _same_shape_rule(h),
    vjp=lambda ct, out, h, a: tuple(ct * d for d in _owens_t_vjp(ct, out, h, a)),
    jvp=lambda p, t, out: (lambda d: t[0] * d[0] + t[1] * d[1])(_owens_t_vjp(None, out, *p)))
owens_t_p.batch = elementwise_batch(owens_t_p)


def _wofz_impl(z):
    from ..core import dtypes as _dt
    dt = _dt.complex_of(_dt.from_np(z.dtype))
    r = _wofz128(np.asarray(z).view(np.ndarray))
    return namespace(z).asarray(r.astype(dt.np, copy=False))


def _d_wofz(z, out):
    """w'(z) = -2 z w(z) + 2i / sqrt(pi) (DLMF 7.10.2), complex."""
    from .elementwise import cast
    zc = cast(z, out.dtype) if not z.dtype.is_complex else z
    return -2 * zc * out + complex(0, 2 / math.sqrt(math.pi))


def _wofz_vjp(ct, out, z):
    from .elementwise import real_p
    g = ct * _d_wofz(z, out)  # holomorphic: JAX's convention, no conjugate
    return (g if z.dtype.is_complex else bind(real_p, g),)


def _wofz_jvp(p, t, out):
    from .elementwise import cast
    tz = t[0] if t[0].dtype.is_complex else cast(t[0], out.dtype)
    return tz * _d_wofz(p[0], out)


def _wofz_shape(z):
    from ..core import dtypes as _dt
    from ..core.primitive import Aval
    return Aval(z.shape, _dt.complex_of(z.dtype))


wofz_p = Primitive("wofz", _wofz_impl, shape=_wofz_shape, vjp=_wofz_vjp, jvp=_wofz_jvp,
                   vjp_needs_out=True)
wofz_p.batch = elementwise_batch(wofz_p)


def bernoulli_numbers(n):
    """B_0, ..., B_n as floats (B_1 = -1/2)."""
    return [float(b) for b in _bernoulli_numbers(n)]
