"""``jax.random``'s samplers built on rejection loops and what derives from them: ``gamma``,
``loggamma``, ``beta``, ``dirichlet``, ``chisquare``, ``f``, ``t``, ``generalized_normal``,
``ball``, ``poisson``, ``binomial``, ``multinomial``; and ``orthogonal`` and ``lognormal``
(transforms of normal draws).

The loops are primitives (``ember/ops/random_samplers.py``) that replay JAX's draws for the
same key, so a key gives JAX's samples (up to the last bits of ``log``/``pow``). ``gamma``,
``loggamma``, ``beta`` and ``dirichlet`` are differentiable in their concentrations by
implicit reparameterisation, as in JAX: ``grad`` of a sample is ``-dCDF/da / pdf`` at it.

>>> ember.random.gamma(ember.random.key(0), 2.0, (3,))     # jax.random.gamma's values
tensor([1.5898, 1.7599, 1.1290])
"""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import bind
from ..core.tensor import Tensor
from ..ops.elementwise import as_value, cast, exp, maximum, sqrt, where
from ..ops.random_samplers import random_binomial_p, random_gamma_p, random_poisson_p
from .keys import _as_float, _check_key, _float_dtype, _shape, normal, split
from .distributions import _param_shape, exponential, rademacher

__all__ = ["gamma", "loggamma", "beta", "dirichlet", "chisquare", "f", "t",
           "generalized_normal", "ball", "poisson", "binomial", "multinomial", "orthogonal",
           "lognormal"]


def _param(v, d, shape):
    p = _as_float(v, d)
    return p if tuple(p.shape) == tuple(shape) else p.broadcast_to(shape)


def _gamma(op, key, a, shape, dtype, log_space):
    k = _check_key(key, op)
    d = _float_dtype(dtype, op)
    shape = _param_shape(op, shape, a)
    return bind(random_gamma_p, k, _param(a, d, shape), log_space=log_space)


def gamma(key, a, shape=None, dtype=None):
    """Gamma(a) samples of unit scale (Marsaglia and Tsang's method; divide by a rate for
    Gamma(a, rate)). Differentiable in ``a``.

    >>> x = ember.random.gamma(ember.random.key(1), 3.0, (20000,))
    >>> round(x.mean().item(), 1)
    3.0
    """
    return _gamma("gamma", key, a, shape, dtype, False)


def loggamma(key, a, shape=None, dtype=None):
    """The log of Gamma(a) samples, drawn in log space so that tiny ``a`` keeps its
    precision (``exp(loggamma(...))`` is ``gamma(...)`` for the same key).

    >>> k = ember.random.key(0)
    >>> bool(ember.allclose(ember.random.loggamma(k, 2.0, (3,)).exp(), ember.random.gamma(k, 2.0, (3,))))
    True
    """
    return _gamma("loggamma", key, a, shape, dtype, True)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) samples: ``G_a / (G_a + G_b)`` from two log-gamma draws.

    >>> x = ember.random.beta(ember.random.key(0), 2.0, 6.0, (20000,))
    >>> round(x.mean().item(), 2)
    0.25
    """
    _check_key(key, "beta")
    d = _float_dtype(dtype, "beta")
    shape = _param_shape("beta", shape, a, b)
    ks = split(key)
    la = loggamma(ks[0], _param(a, d, shape), shape, d)
    lb = loggamma(ks[1], _param(b, d, shape), shape, d)
    m = maximum(la, lb)
    ga, gb = exp(la - m), exp(lb - m)
    return ga / (ga + gb)


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) samples over the last axis of ``alpha``; ``shape`` is the batch shape
    (the result is ``shape + alpha.shape[-1:]``).

    >>> x = ember.random.dirichlet(ember.random.key(0), ember.tensor([1., 2., 3.]), (2,))
    >>> x.shape, bool(ember.allclose(x.sum(-1), ember.ones(2)))
    (ember.Size([2, 3]), True)
    """
    from ..ops.nn_ops import softmax
    _check_key(key, "dirichlet")
    d = _float_dtype(dtype, "dirichlet")
    al = _as_float(alpha, d)
    if al.ndim < 1:
        raise ValueError("random.dirichlet: alpha needs at least one axis (the categories), "
                         "got a scalar; pass e.g. jnp.full(k, alpha)")
    batch = tuple(al.shape[:-1])
    shape = batch if shape is None else _param_shape("dirichlet", shape, al[..., 0])
    lg = loggamma(key, _param(al, d, shape + tuple(al.shape[-1:])), None, d)
    return softmax(lg, -1)


def chisquare(key, df, shape=None, dtype=None):
    """Chi-squared samples with ``df`` degrees of freedom: ``2 * Gamma(df / 2)``.

    >>> round(ember.random.chisquare(ember.random.key(0), 4.0, (20000,)).mean().item(), 1)
    4.0
    """
    _check_key(key, "chisquare")
    d = _float_dtype(dtype, "chisquare")
    shape = _param_shape("chisquare", shape, df)
    half = _as_float(df, d) / 2
    return exp(loggamma(key, half, shape, d)) * 2


def f(key, dfnum, dfden, shape=None, dtype=None):
    """F-distribution samples: ``(chi2(dfnum) / dfnum) / (chi2(dfden) / dfden)``.

    >>> bool((ember.random.f(ember.random.key(0), 3.0, 5.0, (100,)) > 0).all())
    True
    """
    _check_key(key, "f")
    d = _float_dtype(dtype, "f")
    shape = _param_shape("f", shape, dfnum, dfden)
    n, m = _as_float(dfnum, d), _as_float(dfden, d)
    ks = split(key)
    num = chisquare(ks[1], n, shape, d) / n
    den = chisquare(ks[0], m, shape, d) / m
    return num / den


def t(key, df, shape=None, dtype=None):
    """Student's t samples: ``z * sqrt((df / 2) / Gamma(df / 2))``.

    >>> ember.random.t(ember.random.key(0), 5.0, (3,)).shape
    ember.Size([3])
    """
    _check_key(key, "t")
    d = _float_dtype(dtype, "t")
    shape = _param_shape("t", shape, df)
    ks = split(key)
    z = normal(ks[0], shape, d)
    half = _as_float(df, d) / 2
    g = gamma(ks[1], half, shape, d)
    return z * sqrt(half / g)


def generalized_normal(key, p, shape=(), dtype=None):
    """Samples of density proportional to ``exp(-|x|**p)``: a random sign times
    ``Gamma(1/p) ** (1/p)``.

    >>> ember.random.generalized_normal(ember.random.key(0), 2.0, (3,)).shape
    ember.Size([3])
    """
    _check_key(key, "generalized_normal")
    d = _float_dtype(dtype, "generalized_normal")
    shape = _shape(shape, "generalized_normal")
    ks = split(key)
    g = gamma(ks[0], 1 / p, shape, d)
    r = rademacher(ks[1], shape, d)
    return r * g ** (1 / p)


def ball(key, d, p=2, shape=(), dtype=None):
    """Points uniform in the unit Lp ball of dimension ``d`` (shape ``shape + (d,)``).

    >>> x = ember.random.ball(ember.random.key(0), 3, shape=(100,))
    >>> bool(((x * x).sum(-1) <= 1).all())
    True
    """
    _check_key(key, "ball")
    if not isinstance(d, (int, np.integer)) or d < 0:
        raise ValueError(f"random.ball: d must be a non-negative int, got {d!r}")
    dt = _float_dtype(dtype, "ball")
    shape = _shape(shape, "ball")
    ks = split(key)
    g = generalized_normal(ks[0], p, shape + (int(d),), dt)
    e = exponential(ks[1], shape, dt)
    return g / (((g.abs() ** p).sum(-1) + e) ** (1 / p))[..., None]


def poisson(key, lam, shape=None, dtype=None):
    """Poisson(lam) counts (int32, int64 in 64-bit mode, or ``dtype``): Knuth's method for
    ``lam < 10``, transformed rejection above; ``lam`` is taken in float32, as JAX does.

    >>> round(ember.random.poisson(ember.random.key(0), 3.0, (20000,)).float().mean().item(), 1)
    3.0
    """
    k = _check_key(key, "poisson")
    out = _dt.jax_int() if dtype is None else _dt.as_dtype(dtype)
    if not out.is_integer or out is _dt.bool_:
        raise TypeError(f"random.poisson: dtype must be an integer dtype, got {out}")
    lt = as_value(lam) if isinstance(lam, Tensor) else Tensor._wrap(np.asarray(lam))
    shape = tuple(lt.shape) if shape is None else _shape(shape, "poisson")
    _param_shape("poisson", shape, lt)
    lt = cast(lt, _dt.float32)
    if tuple(lt.shape) != shape:
        lt = lt.broadcast_to(shape)
    return bind(random_poisson_p, k, lt, dtype=out)


def _inexact(v):
    x = as_value(v) if isinstance(v, Tensor) else Tensor._wrap(
        np.asarray(v, _dt.canonical_np(np.asarray(v).dtype)))
    return x if x.dtype.is_floating_point else cast(x, _dt.get_default_dtype())


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(n, p) counts as floats (``dtype``, default float): inversion by geometric
    jumps where ``n * min(p, 1 - p) <= 10``, Hormann's BTRS above.

    >>> x = ember.random.binomial(ember.random.key(0), 20.0, 0.3, (20000,))
    >>> round(x.mean().item(), 1)
    6.0
    """
    k = _check_key(key, "binomial")
    d = _float_dtype(dtype, "binomial")
    pt = _inexact(p)
    nt = cast(as_value(n) if isinstance(n, Tensor) else Tensor._wrap(np.asarray(n)), pt.dtype)
    shape = _param_shape("binomial", shape, nt, pt)
    return bind(random_binomial_p, k, _param(nt, pt.dtype, shape), _param(pt, pt.dtype, shape),
                dtype=d)


def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1):
    """Counts of ``n`` draws over the categories on the last axis of ``p``: one binomial per
    category of the trials left, with ``split(key, k)``'s keys in turn.

    >>> x = ember.random.multinomial(ember.random.key(0), 10.0, ember.tensor([0.2, 0.3, 0.5]))
    >>> x.sum().item()
    10.0
    """
    from .. import numpy as jnp
    _check_key(key, "multinomial")
    pt, nt = _inexact(p), _inexact(n)
    ct = _dt.promote_types(pt.dtype, nt.dtype)
    pt, nt = cast(pt, ct), cast(nt, ct)
    if pt.ndim < 1:
        raise ValueError("random.multinomial: p needs a last axis of categories, got a scalar")
    shape = tuple(pt.shape) if shape is None else _shape(shape, "multinomial")
    nt = nt.broadcast_to(shape[:-1])
    pt = pt.broadcast_to(shape)
    pm = jnp.moveaxis(pt, -1, 0)
    remaining = jnp.flip(jnp.cumsum(jnp.flip(pm, 0), 0), 0)
    ratios = pm / where(remaining == 0, Tensor._wrap(np.ones((), ct.np)), remaining)
    keys = split(key, pm.shape[0])
    left, counts = nt, []
    for i in range(pm.shape[0]):
        c = binomial(keys[i], left, ratios[i].clip(0, 1), dtype=ct)
        left = left - c
        counts.append(c)
    out = jnp.stack(counts, -1)
    return out if dtype is None else cast(out, _dt.as_dtype(dtype))


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """A uniformly random orthogonal ``n x n`` matrix (``n x m`` with orthonormal rows or
    columns when ``m`` is given): the QR of a normal matrix with R's diagonal made positive.

    >>> q = ember.random.orthogonal(ember.random.key(0), 3)
    >>> bool(ember.allclose(q @ q.T, ember.eye(3), atol=1e-5))
    True
    """
    from .. import numpy as jnp
    _check_key(key, "orthogonal")
    d = _float_dtype(dtype, "orthogonal")
    mm = n if m is None else m
    for name, v in (("n", n), ("m", mm)):
        if not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"random.orthogonal: {name} must be a non-negative int, got {v!r}")
    shape = _shape(shape, "orthogonal")
    z = normal(key, shape + (max(n, mm), min(n, mm)), d)
    q, r = jnp.linalg.qr(z)
    sign = jnp.sign(jnp.diagonal(r, axis1=-2, axis2=-1))
    x = q * sign[..., None, :]
    return jnp.swapaxes(x, -1, -2) if n < mm else x


def lognormal(key, sigma=1.0, shape=None, dtype=None):
    """Samples of ``exp(sigma * z)``, ``z`` standard normal.

    >>> bool((ember.random.lognormal(ember.random.key(0), 0.5, (100,)) > 0).all())
    True
    """
    _check_key(key, "lognormal")
    d = _float_dtype(dtype, "lognormal")
    shape = _param_shape("lognormal", shape, sigma)
    return exp(normal(key, shape, d) * _as_float(sigma, d))
