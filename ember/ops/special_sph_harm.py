"""Spherical harmonics Y_n^m(theta, phi) for ``jax.scipy.special.sph_harm_y``.

Kernel in float64 (complex128), rounded once to the complex type of the inputs' dtype:
the orthonormalised associated Legendre functions Q_n^m(cos theta) =
sqrt((2n+1)/(4 pi) (n-m)!/(n+m)!) P_n^m(cos theta) (Condon-Shortley phase in P_n^m), m >= 0,
by the recurrences (in the normalised form of DLMF 14.10.3 and 14.7.15)
  Q_0^0 = 1 / sqrt(4 pi),  Q_m^m = -sqrt((2m + 1) / (2m)) sin(theta) Q_(m-1)^(m-1),
  Q_(m+1)^m = sqrt(2m + 3) cos(theta) Q_m^m,
  Q_n^m = a_n^m (cos(theta) Q_(n-1)^m - Q_(n-2)^m / a_(n-1)^m),
          a_n^m = sqrt((4 n^2 - 1) / (n^2 - m^2)),
which never form the factorials; Y_n^m = Q_n^|m| e^(i m phi), and for m < 0
Y_n^m = (-1)^m conj(Y_n^|m|) (DLMF 14.30.6). |m| > n gives 0.

Derivatives (theta, phi real; JAX's convention for a real input with a complex output):
dY/dphi = i m Y; dY/dtheta = m cot(theta) Y + sqrt((n - m)(n + m + 1)) e^(-i phi) Y_n^(m+1).
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from ..core.primitive import Aval, Primitive, bind
from .elementwise import elementwise_batch

__all__: list[str] = []


def _sph64(n, m, theta, phi):
    n, m, theta, phi = np.broadcast_arrays(*(np.asarray(v, np.float64)
                                             for v in (n, m, theta, phi)))
    out = np.full(n.shape, complex(np.nan, np.nan))
    ok = (n >= 0) & (n == np.round(n)) & (m == np.round(m)) & np.isfinite(theta) \
        & np.isfinite(phi)
    am = np.abs(m)
    out[ok & (am > n)] = 0.0
    w = ok & (am <= n)
    if not w.any():
        return out
    nn, mm, th, ph = n[w].astype(np.int64), am[w].astype(np.int64), theta[w], phi[w]
    x, s = np.cos(th), np.abs(np.sin(th))
    q = np.full(x.shape, 1 / math.sqrt(4 * math.pi))
    for k in range(1, int(mm.max()) + 1):  # Q_k^k up to each element's m
        q = np.where(mm >= k, -math.sqrt((2 * k + 1) / (2 * k)) * s * q, q)
    val = np.where(nn == mm, q, 0.0)
    prev2, prev = q, np.sqrt(2 * mm + 3.0) * x * q  # Q_m^m, Q_(m+1)^m
    val = np.where(nn == mm + 1, prev, val)
    mf = mm.astype(np.float64)
    for k in range(2, int((nn - mm).max()) + 1):  # degree m + k
        d = mf + k
        a = np.sqrt((4 * d * d - 1) / (d * d - mf * mf))
        a1 = np.sqrt((4 * (d - 1) ** 2 - 1) / ((d - 1) ** 2 - mf * mf))
        cur = a * (x * prev - prev2 / a1)
        prev2, prev = prev, cur
        val = np.where(nn == mm + k, cur, val)
    y = val * np.exp(1j * mm * ph)
    neg = m[w] < 0
    y = np.where(neg, np.where(mm % 2 == 1, -1.0, 1.0) * np.conj(y), y)
    out[w] = y
    return out


def _impl(n, m, theta, phi):
    from ..core import dtypes as _dt
    dt = _dt.complex_of(_dt.from_np(theta.dtype))
    r = _sph64(*(np.asarray(v).view(np.ndarray) for v in (n, m, theta, phi)))
    return namespace(theta).asarray(r.astype(dt.np, copy=False))


def _derivs(n, m, theta, phi, out):
    """(dY/dtheta, dY/dphi), complex."""
    from .elementwise import cast, cos, sin, exp, where, full_like_traced, sqrt
    ct = out.dtype
    mc = cast(m, ct)
    d_phi = mc * complex(0, 1) * out
    up = bind(sph_harm_p, n, m + 1, theta, phi)
    sn = sin(theta)
    safe = where(sn == 0, full_like_traced(sn, 1.0), sn)
    cot = where(sn == 0, full_like_traced(sn, 0.0), cos(theta) / safe)
    coef = sqrt(where((n - m) * (n + m + 1) > 0, (n - m) * (n + m + 1),
                      full_like_traced(n, 0.0)))
    e = exp(cast(phi, ct) * complex(0, -1))
    d_theta = cast(m * cot, ct) * out + cast(coef, ct) * e * up
    return d_theta, d_phi


def _vjp(ct, out, n, m, theta, phi):
    from .elementwise import real_p
    dt, dp = _derivs(n, m, theta, phi, out)
    return None, None, bind(real_p, ct * dt), bind(real_p, ct * dp)


def _jvp(p, t, out):
    from .elementwise import cast
    n, m, theta, phi = p
    dt, dp = _derivs(n, m, theta, phi, out)
    return cast(t[2], out.dtype) * dt + cast(t[3], out.dtype) * dp


def _shape(n, m, theta, phi):
    from ..core import dtypes as _dt
    return Aval(theta.shape, _dt.complex_of(theta.dtype))


sph_harm_p = Primitive("sph_harm_y", _impl, shape=_shape, vjp=_vjp, jvp=_jvp,
                       vjp_needs_out=True)
sph_harm_p.batch = elementwise_batch(sph_harm_p)
