"""``jax.scipy.special``'s names: ``logsumexp`` (with ``b`` and ``return_sign``), ``expit``,
``logit``, ``erf``, ``erfc``, ``erfinv``, ``gammaln``, ``digamma``, ``polygamma``, ``betaln``,
``gammainc``, ``gammaincc``,
``xlogy``, ``xlog1py``, ``softmax``, ``log_softmax``; all differentiable at every order.
``gammaln`` and the polygamma family are primitives (``ember/ops/special.py``); the rest
compose from ember's ops. ``erfc`` is ``1 - erf``: for x > 4 its relative precision drops
(absolute error stays at rounding level). Also the exponential integrals (``expi``, ``exp1``,
``expn``), ``spence``, ``betainc``, ``fresnel``, ``sici``, ``dawsn``, ``owens_t`` and
``wofz`` (in ``ember/ops/special_integrals.py``), ``hyp1f1`` and ``hyp2f1``
(``ember/ops/special_hypergeometric.py``), ``bessel_jn``
(``ember/ops/special_bessel_jn.py``), ``sph_harm_y`` (``ember/ops/special_sph_harm.py``),
the gamma family (``gamma``, ``gammasgn``, ``loggamma``, ``beta``, ``poch``, ``comb``,
``factorial``, ``bernoulli``), ``rel_entr``, ``kl_div``, ``boxcox``, ``boxcox1p``, and
``ember.special``'s ``i0``, ``i0e``, ``i1``, ``i1e``, ``ndtr``, ``ndtri``, ``log_ndtr``,
``erfcx``, ``entr``, ``zeta``, ``multigammaln`` under JAX's signatures.

>>> ember.scipy.special.expi(ember.tensor([1.0]))
tensor([1.8951])
"""
from __future__ import annotations

import numpy as np

from ..ops import special as _s


def _a(x):
    from .. import numpy as jnp
    return jnp.asarray(x)


def _e():
    import ember
    return ember


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


def _fa(x):
    return _s._float(_a(x))


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(sum(b * exp(a))) over ``axis``, computed stably; ``return_sign`` gives
    (log|sum|, sign) so that negative sums (from negative ``b``) are representable."""
    E = _e()
    x = _fa(a)
    if b is not None:
        bb = _a(b)
        x, bb = E.broadcast_tensors(x, bb.to(x.dtype))
    dims = _axes(axis, x.ndim)
    m = E.amax(x, dims, keepdim=True).detach()
    m = E.where(E.isfinite(m), m, E.zeros_like(m))
    t = (x - m).exp()
    if b is not None:
        t = t * bb
    s = t.sum(dims, keepdim=True)
    if return_sign:
        sign = E.sign(s).detach()
        out = (s * sign).log() + m
    else:
        out = s.log() + m
    if not keepdims:
        shape = tuple(n for i, n in enumerate(out.shape) if i not in dims)
        out = out.reshape(shape)
        if return_sign:
            sign = sign.reshape(shape)
    return (out, sign) if return_sign else out


def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) over ``axis`` (all axes when None, as SciPy)."""
    v = _fa(x)
    return (v - logsumexp(v, axis, keepdims=True)).exp()


def log_softmax(x, axis=None):
    v = _fa(x)
    return v - logsumexp(v, axis, keepdims=True)


def expit(x):
    return _e().sigmoid(_fa(x))


def logit(x):
    v = _fa(x)
    return v.log() - (-v).log1p()


def erf(x):
    return _e().erf(_fa(x))


def erfc(x):
    return 1 - _e().erf(_fa(x))


def erfinv(x):
    return _e().erfinv(_fa(x))


def gammaln(x):
    return _s.lgamma(_a(x))


def digamma(x):
    return _s.digamma(_a(x))


def polygamma(n, x):
    return _s.polygamma(int(n), _a(x))


def betaln(a, b):
    return gammaln(a) + gammaln(b) - gammaln(_fa(a) + _fa(b))


def gammainc(a, x):
    """The regularized lower incomplete gamma function P(a, x) (differentiable in both)."""
    return _s.igamma(_a(a), _a(x))


def gammaincc(a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return _s.igammac(_a(a), _a(x))


def _safe_where_zero(x, y, fn):
    E = _e()
    xv, yv = _fa(x), _fa(y)
    xv, yv = E.broadcast_tensors(xv, yv.to(xv.dtype))
    zero = xv == 0
    safe_y = E.where(zero, E.ones_like(yv), yv)
    return E.where(zero, E.zeros_like(xv), xv * fn(safe_y))


def xlogy(x, y):
    """x * log(y), 0 where x == 0 (also its gradient there)."""
    return _safe_where_zero(x, y, lambda v: v.log())


def xlog1py(x, y):
    """x * log1p(y), 0 where x == 0."""
    return _safe_where_zero(x, y, lambda v: v.log1p())


# ---- more of jax.scipy.special: the Bessel and error-function family shared with
# ember.special, the gamma family composed from gammaln, exponential integrals, Spence's
# function and betainc (primitives in ops/special_integrals.py), entropies, Box-Cox ----------

def _sp():
    from .. import special as S
    return S


def _floats(*xs):
    """The arguments as tensors of one floating dtype, broadcast together."""
    E = _e()
    ts = [_fa(x) for x in xs]
    dt = E.result_type(*ts)
    return E.broadcast_tensors(*[t.to(dt) for t in ts])


def i0(x):
    """The modified Bessel function I0."""
    return _sp().i0(_fa(x))


def i0e(x):
    """``exp(-|x|) * I0(x)``."""
    return _sp().i0e(_fa(x))


def i1(x):
    """The modified Bessel function I1."""
    return _sp().i1(_fa(x))


def i1e(x):
    """``exp(-|x|) * I1(x)``."""
    return _sp().i1e(_fa(x))


def ndtr(x):
    """The standard normal CDF."""
    return _sp().ndtr(_fa(x))


def ndtri(p):
    """The standard normal quantile (the inverse of ``ndtr``)."""
    return _sp().ndtri(_fa(p))


def log_ndtr(x, series_order=3):
    """log of the standard normal CDF, finite far into the left tail (``series_order`` is
    accepted for JAX's signature; ember's kernel is accurate without an asymptotic series)."""
    if not isinstance(series_order, int) or not 0 <= series_order <= 30:
        raise ValueError(f"log_ndtr: series_order must be an int in [0, 30], got "
                         f"{series_order!r}")
    return _sp().log_ndtr(_fa(x))


def erfcx(x):
    """The scaled complementary error function ``exp(x**2) * erfc(x)``."""
    return _sp().erfcx(_fa(x))


def entr(x):
    """``-x log x``: 0 at 0 and -inf below."""
    return _sp().entr(_fa(x))


def zeta(x, q=None):
    """Hurwitz's zeta function ``sum_k (k + q)^-x``; Riemann's (q = 1) when ``q`` is None
    (JAX raises there)."""
    xv = _fa(x)
    return _sp().zeta(xv, _e().ones_like(xv) if q is None else _fa(q))


def multigammaln(a, d):
    """The multivariate log-gamma function of dimension ``d``."""
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"multigammaln: d must be a positive int, got {d!r}")
    return _s.mvlgamma(_fa(a), int(d))


def gammasgn(x):
    """The sign of the gamma function: 1 for x > 0, +-1 at +-0, alternating between the poles
    below 0, NaN at the poles (negative integers) and NaN."""
    E = _e()
    v = _fa(x)
    odd = E.remainder(E.floor(v), 2.0) == 1  # floor(x) odd: Gamma < 0 on (-1, 0), (-3, -2), ...
    neg = E.where(odd, -E.ones_like(v), E.ones_like(v))
    pole = (v < 0) & (v == E.floor(v))
    zero = E.where(E.signbit(v), -E.ones_like(v), E.ones_like(v))
    out = E.where(v > 0, E.ones_like(v), E.where(v == 0, zero, neg))
    return E.where(pole | E.isnan(v), E.full_like(v, float("nan")), out).detach()


def gamma(x):
    """The gamma function: ``gammasgn(x) * exp(gammaln(x))`` (inf at 0, NaN at the negative
    poles)."""
    v = _fa(x)
    return gammasgn(v) * gammaln(v).exp()


def loggamma(x):
    """log Gamma(x) for real x: ``gammaln`` where x >= 0, NaN below (the real part of the
    complex logarithm is not taken)."""
    E = _e()
    v = _fa(x)
    return E.where(v < 0, E.full_like(v, float("nan")), gammaln(v))


def beta(a, b):
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``."""
    a, b = _floats(a, b)
    return gammasgn(a) * gammasgn(b) * gammasgn(a + b) * betaln(a, b).exp()


def factorial(n, exact=False):
    """``Gamma(n + 1)``, 0 for n < 0 (``exact=True`` is not supported, as in JAX)."""
    if exact:
        raise NotImplementedError("factorial: exact=True is not supported (as in JAX); use "
                                  "math.factorial for an exact integer")
    E = _e()
    v = _fa(n)
    safe = E.where(v < 0, E.zeros_like(v), v)
    return E.where(v < 0, E.zeros_like(v), gamma(safe + 1))


def comb(N, k, *, repetition=False):
    """The number of combinations N choose k (with ``repetition``: N + k - 1 choose k), as
    ``exp(gammaln)`` of floats; 0 where k < 0, k > N or N < 0."""
    E = _e()
    n, kk = _floats(N, k)
    if repetition:
        n = n + kk - 1
    bad = (kk < 0) | (kk > n) | (n < 0)
    one = E.ones_like(n)
    ns, ks = E.where(bad, one, n), E.where(bad, one, kk)
    val = (gammaln(ns + 1) - gammaln(ks + 1) - gammaln(ns - ks + 1)).exp()
    return E.where(bad, E.zeros_like(val), val)


def poch(z, m):
    """The rising factorial ``Gamma(z + m) / Gamma(z)``."""
    z, m = _floats(z, m)
    return gammasgn(z + m) * gammasgn(z) * (gammaln(z + m) - gammaln(z)).exp()


def bernoulli(n):
    """The Bernoulli numbers B_0, ..., B_n (B_1 = -1/2), in the default float dtype."""
    from ..ops.special_integrals import bernoulli_numbers
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"bernoulli: n must be a non-negative int, got {n!r}")
    from .. import numpy as jnp
    return jnp.asarray(np.asarray(bernoulli_numbers(int(n))))


def rel_entr(p, q):
    """``p log(p / q)`` where both are positive, 0 where p == 0 <= q, inf elsewhere."""
    E = _e()
    p, q = _floats(p, q)
    pos = (p > 0) & (q > 0)
    one = E.ones_like(p)
    ps, qs = E.where(pos, p, one), E.where(pos, q, one)
    val = ps * (ps / qs).log()
    inf = E.full_like(p, float("inf"))
    return E.where(pos, val, E.where((p == 0) & (q >= 0), E.zeros_like(p), inf))


def kl_div(p, q):
    """``p log(p / q) - p + q`` where both are positive, q where p == 0 <= q, inf elsewhere."""
    E = _e()
    p, q = _floats(p, q)
    pos = (p > 0) & (q > 0)
    one = E.ones_like(p)
    ps, qs = E.where(pos, p, one), E.where(pos, q, one)
    val = ps * (ps / qs).log() - ps + qs
    inf = E.full_like(p, float("inf"))
    return E.where(pos, val, E.where((p == 0) & (q >= 0), q, inf))


def _boxcox(lx, lmbda):
    E = _e()
    zero = lmbda == 0
    ls = E.where(zero, E.ones_like(lmbda), lmbda)
    return E.where(zero, lx, E.expm1(ls * lx) / ls)


def boxcox(x, lmbda):
    """The Box-Cox transform ``(x**lmbda - 1) / lmbda`` (``log x`` at lmbda = 0)."""
    x, lm = _floats(x, lmbda)
    return _boxcox(x.log(), lm)


def boxcox1p(x, lmbda):
    """The Box-Cox transform of ``1 + x`` (``log1p(x)`` at lmbda = 0)."""
    x, lm = _floats(x, lmbda)
    return _boxcox(x.log1p(), lm)


def expi(x):
    """The exponential integral Ei(x) (-inf at 0)."""
    from ..ops.special_integrals import expi_p
    return expi_p.op(_fa(x))


def expn(n, x):
    """The generalized exponential integral E_n(x) for integer n >= 0 and x >= 0
    (differentiable in x)."""
    from ..ops.special_integrals import expn_p
    from ..core.primitive import bind
    xv = _fa(x)
    nv = _a(n)
    if nv.dtype.is_floating_point:
        nv = nv.detach()
    nv, xv = _e().broadcast_tensors(nv.to(xv.dtype), xv)
    return bind(expn_p, nv, xv)


def exp1(x):
    """The exponential integral E_1(x)."""
    return expn(1, x)


def spence(x):
    """Spence's function ``integral_1^x log t / (1 - t) dt`` = Li2(1 - x), for x >= 0."""
    from ..ops.special_integrals import spence_p
    return spence_p.op(_fa(x))


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b); differentiable in x, and in a and
    b by a float64 central difference (JAX has no derivative in a or b)."""
    from ..ops.special_integrals import betainc_p
    from ..core.primitive import bind
    return bind(betainc_p, *_floats(a, b, x))


def fresnel(x):
    """The Fresnel integrals ``(S(x), C(x))``: the integrals from 0 to x of sin(pi t^2 / 2)
    and cos(pi t^2 / 2); odd, with limits 1/2 at infinity.

    >>> S, C = ember.scipy.special.fresnel(ember.tensor([1.0]))
    >>> S, C
    (tensor([0.4383]), tensor([0.7799]))
    """
    from ..ops.special_integrals import fresnel_c_p, fresnel_s_p
    xv = _fa(x)
    return fresnel_s_p.op(xv), fresnel_c_p.op(xv)


def sici(x):
    """The sine and cosine integrals ``(Si(x), Ci(x))``: Si is the integral of sin t / t from
    0 to x (odd); Ci(x) = gamma + log x + the integral of (cos t - 1) / t from 0 to x, -inf
    at 0, and for x < 0 the real part Ci(-x) of the complex value, as SciPy and JAX.

    >>> ember.scipy.special.sici(ember.tensor([2.0]))
    (tensor([1.6054]), tensor([0.4230]))
    """
    from ..ops.special_integrals import ci_p, si_p
    xv = _fa(x)
    return si_p.op(xv), ci_p.op(xv)


def dawsn(x):
    """Dawson's integral exp(-x^2) times the integral of exp(t^2) from 0 to x (odd).

    >>> ember.scipy.special.dawsn(ember.tensor([1.0]))
    tensor([0.5381])
    """
    from ..ops.special_integrals import dawsn_p
    return dawsn_p.op(_fa(x))


def hyp1f1(a, b, x):
    """Kummer's confluent hypergeometric function 1F1(a; b; x) = M(a, b, x), real arguments.
    Differentiable in x (a / b 1F1(a+1; b+1; x)) and in a and b (a float64 central
    difference). Where the series alternates over terms far larger than the result (a < 0
    not an integer and x >> |a|, or b - a < 0 and x << 0) some digits are lost (1e-10
    relative at |x| ~ 25).

    >>> ember.scipy.special.hyp1f1(0.5, 1.5, ember.tensor([-1.0, 2.0]))
    tensor([0.7468, 2.3645])
    """
    from ..ops.special_hypergeometric import hyp1f1_p
    from ..core.primitive import bind
    return bind(hyp1f1_p, *_floats(a, b, x))


def owens_t(h, a):
    """Owen's T function: the integral from 0 to a of exp(-h^2 (1 + x^2) / 2) / (1 + x^2)
    over 2 pi (the bivariate normal probability of a wedge); differentiable in h and a.

    >>> ember.scipy.special.owens_t(ember.tensor([0.0, 1.0]), 1.0)
    tensor([0.1250, 0.0667])
    """
    from ..ops.special_integrals import owens_t_p
    from ..core.primitive import bind
    return bind(owens_t_p, *_floats(h, a))


def bessel_jn(z, *, v, n_iter=50):
    """Bessel functions of the first kind J_0(z), ..., J_v(z) of real z, stacked on a new
    leading axis (shape ``(v + 1,) + z.shape``), as JAX's. Differentiable in z (J_n' =
    (J_(n-1) - J_(n+1)) / 2). ``n_iter`` is accepted for JAX's signature; ember picks the
    start of its backward recurrence from v and |z| itself (float64 throughout).

    >>> ember.scipy.special.bessel_jn(ember.tensor([1.0, 2.5]), v=2)
    tensor([[ 0.7652, -0.0484],
            [ 0.4401,  0.4971],
            [ 0.1149,  0.4461]])
    """
    from ..ops.special_bessel_jn import jn_p
    from ..core.primitive import bind
    import operator
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"bessel_jn: v must be an int (the highest order), got "
                        f"{type(v).__name__} {v!r}") from None
    if v < 0:
        raise ValueError(f"bessel_jn: v must be >= 0 (orders 0..v), got {v}")
    E = _e()
    zv = _fa(z)
    n = E.arange(v + 1, dtype=zv.dtype).reshape((v + 1,) + (1,) * zv.ndim)
    nb, zb = E.broadcast_tensors(n, zv.unsqueeze(0))
    return bind(jn_p, nb, zb)


def hyp2f1(a, b, c, x):
    """Gauss's hypergeometric function 2F1(a, b; c; x) for real arguments and x <= 1 (x > 1:
    NaN unless a or b is a non-positive integer, where it is a polynomial). Differentiable in
    x (a b / c 2F1(a+1, b+1; c+1; x)) and in a, b, c (a float64 central difference). Where
    c - a - b is within 1e-3 of an integer and x within 1e-4 of 1 (or x << -1e4) the series
    it falls back on is cut at 1e5 terms and loses digits.

    >>> ember.scipy.special.hyp2f1(1.0, 1.0, 2.0, ember.tensor([0.5, -1.0]))
    tensor([1.3863, 0.6931])
    """
    from ..ops.special_hypergeometric import hyp2f1_p
    from ..core.primitive import bind
    return bind(hyp2f1_p, *_floats(a, b, c, x))


def wofz(z):
    """The Faddeeva function w(z) = exp(-z^2) erfc(-iz), complex (complex64 from float32 or
    complex64, complex128 from float64 or complex128), for any complex z; differentiable
    (w' = -2 z w + 2i / sqrt(pi), holomorphic, JAX's convention).

    >>> ember.scipy.special.wofz(ember.tensor([1.0]))
    tensor([0.3679+0.6072j])
    """
    from ..ops.special_integrals import wofz_p
    from ..core.primitive import bind
    zv = _a(z)
    if not zv.dtype.is_complex:
        zv = _fa(zv)
    return bind(wofz_p, zv)


def sph_harm_y(n, m, theta, phi, diff_n=None, n_max=None):
    """Spherical harmonics Y_n^m(theta, phi) (theta the polar angle in [0, pi], phi the
    azimuth), orthonormal on the sphere with the Condon-Shortley phase, as SciPy's and JAX's;
    0 where |m| > n. ``n``, ``m``, ``theta``, ``phi`` broadcast together; the result is
    complex (complex64 from float32 angles). ``n_max`` clips n as JAX does; ``diff_n`` is
    not supported (as in JAX). Differentiable in theta and phi.

    >>> ember.scipy.special.sph_harm_y(ember.tensor([1]), ember.tensor([1]),
    ...                                ember.tensor([0.5]), ember.tensor([0.0]))
    tensor([-0.1656+0.j])
    """
    from ..ops.special_sph_harm import sph_harm_p
    from ..core.primitive import bind
    if diff_n is not None:
        raise NotImplementedError("sph_harm_y: diff_n (derivatives in theta) is not "
                                  "supported, as in JAX; leave it None")
    E = _e()
    th, ph = _floats(theta, phi)
    nv, mv = _a(n), _a(m)
    for name, v in (("n", nv), ("m", mv)):
        if v.dtype.is_floating_point or v.dtype.is_complex:
            raise TypeError(f"sph_harm_y: {name} must hold integers (degree n, order m), "
                            f"got {v.dtype}")
    if n_max is not None:
        nv = E.minimum(nv, E.tensor(int(n_max), dtype=nv.dtype))
    nv, mv, th, ph = E.broadcast_tensors(nv.to(th.dtype), mv.to(th.dtype), th, ph)
    return bind(sph_harm_p, nv.detach(), mv.detach(), th, ph)
