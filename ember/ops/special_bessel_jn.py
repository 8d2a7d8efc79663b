"""Bessel functions of the first kind of integer order, J_n(z) for real z, behind
``jax.scipy.special.bessel_jn`` (all orders 0..v at once).

The kernel is float64 NumPy, rounded once to the input's dtype. For |z| <= 1000 Miller's
backward recurrence J_(k-1) = (2k / z) J_k - J_(k+1) (DLMF 10.6.1) from an order N above
both n and |z| (N = max(n, |z|) + 30 + 4 sqrt(max), where the minimal solution has decayed
past rounding), normalised by 1 = J_0 + 2 (J_2 + J_4 + ...) (DLMF 10.12.4). Above, the
upward recurrence from J_0 and J_1 (``backend/special_math.py``'s kernels), stable while the
order stays below |z|. J_n(-z) = (-1)^n J_n(z) and J_-n = (-1)^n J_n (DLMF 10.4.1).

Derivative in z: J_n' = (J_(n-1) - J_(n+1)) / 2 (DLMF 10.6.2), so every order composes.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.primitive import Primitive, bind
from .elementwise import _same_shape_rule, elementwise_batch
from .special_integrals import _rounded

__all__: list[str] = []

_MILLER_MAX_Z = 1000.0


def _miller(n, z):
    """J_n(z) for integer n >= 0 and 0 < z <= 1000 (arrays of one shape)."""
    top = np.maximum(n, z)
    start = int(np.max(np.ceil(top + 30 + 4 * np.sqrt(top)))) // 2 * 2 + 2  # even
    nxt = np.zeros_like(z)  # J_(k+1), unnormalised
    cur = np.full(z.shape, 1e-300)  # J_k
    norm = np.zeros_like(z)
    picked = np.zeros_like(z)
    for k in range(start, 0, -1):
        if k % 2 == 0:
            norm = norm + 2 * cur
        picked = np.where(n == k, cur, picked)
        prev = (2 * k / z) * cur - nxt
        nxt, cur = cur, prev
        big = np.abs(cur) > 1e250  # rescale everything carried along
        if big.any():
            s = np.where(big, 1e-250, 1.0)
            nxt, cur, norm, picked = nxt * s, cur * s, norm * s, picked * s
    picked = np.where(n == 0, cur, picked)
    return picked / (norm + cur)


def _upward(n, z):
    """J_n(z) for integer n >= 0, z > 1000 (n <= z: the upward recurrence is stable)."""
    from ..backend.special_math import bessel_j0, bessel_j1
    j0, j1 = np.asarray(bessel_j0(z), np.float64), np.asarray(bessel_j1(z), np.float64)
    out = np.where(n == 0, j0, j1)
    prev, cur = j0, j1
    for k in range(1, int(np.max(n)) if n.size else 0):
        prev, cur = cur, (2 * k / z) * cur - prev
        out = np.where(n == k + 1, cur, out)
    return out


def _jn64(n, z):
    n, z = np.broadcast_arrays(np.asarray(n, np.float64), np.asarray(z, np.float64))
    out = np.full(n.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = (n == np.round(n)) & ~np.isnan(z)
        an, az = np.abs(n), np.abs(z)
        # J_n(-z) J_-n: a factor (-1)^n for each
        sign = np.where((an % 2 == 1) & ((z < 0) != (n < 0)), -1.0, 1.0)
        zero = ok & (z == 0)
        out[zero] = np.where(an[zero] == 0, 1.0, 0.0)
        out[ok & np.isinf(z)] = 0.0
        w = ok & (az > 0) & np.isfinite(z)
        mil = w & (az <= _MILLER_MAX_Z)
        if mil.any():
            out[mil] = _miller(an[mil], az[mil])
        up = w & (az > _MILLER_MAX_Z)
        if up.any():
            out[up] = _upward(an[up], az[up])
        out = np.where(ok & (az > 0), sign * out, out)
    return out


def _d_jn(n, z):
    return (bind(jn_p, n - 1, z) - bind(jn_p, n + 1, z)) / 2


jn_p = Primitive(
    "bessel_jn", _rounded(_jn64), shape=lambda n, z: _same_shape_rule(z),
    vjp=lambda ct, out, n, z: (None, ct * _d_jn(n, z)),
    jvp=lambda p, t, out: t[1] * _d_jn(p[0], p[1]))
jn_p.batch = elementwise_batch(jn_p)
