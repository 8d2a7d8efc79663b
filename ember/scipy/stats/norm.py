"""The normal distribution N(loc, scale**2) as ``jax.scipy.stats.norm``: ``logpdf``, ``pdf``,
``cdf``, ``logcdf``, ``sf``, ``logsf``, ``ppf``; arguments broadcast, results are
differentiable in every argument (``cdf`` and its kin through ``erf``/``erfc``, ``ppf``
through ``erfinv``)."""
from __future__ import annotations

import math

from ... import numpy as jnp
from .. import special as _sp

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT2 = math.sqrt(2.0)


def _std(x, loc, scale):
    return (_float(x) - loc) / scale


def _float(x):
    x = jnp.asarray(x)
    return x if jnp.isdtype(x.dtype, ("real floating", "complex floating")) else \
        x.astype(jnp.result_type(float))


def logpdf(x, loc=0, scale=1):
    """log of the normal density at ``x``.

    >>> import ember.scipy.stats.norm as norm
    >>> round(float(norm.logpdf(0.0)), 6)  # -log(sqrt(2 pi))
    -0.918939
    """
    z = _std(x, loc, scale)
    return -0.5 * z * z - _LOG_SQRT_2PI - jnp.log(jnp.asarray(scale, z.dtype))


def pdf(x, loc=0, scale=1):
    """The normal density at ``x``.

    >>> import ember.scipy.stats.norm as norm
    >>> round(float(norm.pdf(1.0, 1.0, 2.0)), 6)
    0.199471
    """
    return jnp.exp(logpdf(x, loc, scale))


def _log_ndtr(z):
    """log Phi(z) in float64 (then cast back): 1 - erf loses the relative precision of the
    lower tail, so below z = -6 the asymptotic series of Mills' ratio is used (relative
    error of its first omitted term below 5e-6 there)."""
    d = z.dtype
    z = z.astype(jnp.float64)
    far = z < -6
    zf = jnp.where(far, z, -6.0)
    u = 1 / (zf * zf)
    series = u * (-1 + u * (3 + u * (-15 + u * (105 - 945 * u))))
    tail = -0.5 / u - jnp.log(-zf) - _LOG_SQRT_2PI + jnp.log1p(series)
    zn = jnp.where(far, 0.0, z)
    return jnp.where(far, tail, jnp.log(0.5 * _sp.erfc(-zn / _SQRT2))).astype(d)


def cdf(x, loc=0, scale=1):
    """P(X <= x).

    >>> import ember.scipy.stats.norm as norm
    >>> float(norm.cdf(0.0))
    0.5
    """
    return jnp.exp(_log_ndtr(_std(x, loc, scale)))


def logcdf(x, loc=0, scale=1):
    """log P(X <= x), finite far into the lower tail where ``cdf`` underflows.

    >>> import ember.scipy.stats.norm as norm
    >>> round(float(norm.logcdf(-40.0)), 2)
    -804.61
    """
    return _log_ndtr(_std(x, loc, scale))


def sf(x, loc=0, scale=1):
    """P(X > x) = cdf of the reflected value (no cancellation in the upper tail).

    >>> import ember.scipy.stats.norm as norm
    >>> float(norm.sf(0.0))
    0.5
    """
    return jnp.exp(_log_ndtr(-_std(x, loc, scale)))


def logsf(x, loc=0, scale=1):
    """log P(X > x).

    >>> import ember.scipy.stats.norm as norm
    >>> round(float(norm.logsf(40.0)), 2)
    -804.61
    """
    return _log_ndtr(-_std(x, loc, scale))


def ppf(q, loc=0, scale=1):
    """The quantile function: the x with cdf(x) = q.

    >>> import ember.scipy.stats.norm as norm
    >>> round(float(norm.ppf(0.975)), 4)
    1.96
    """
    q = _float(q)
    return loc + scale * _SQRT2 * _sp.erfinv(2 * q - 1)
