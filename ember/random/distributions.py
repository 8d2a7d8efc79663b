"""``jax.random``'s samplers that are transforms of uniform or normal draws: ``exponential``,
``laplace``, ``logistic``, ``cauchy``, ``pareto``, ``rayleigh``, ``weibull_min``,
``triangular``, ``geometric``, ``rademacher``, ``maxwell``, ``double_sided_maxwell``,
``wald`` and ``multivariate_normal``. Each applies JAX's formula to the same uniform bits, so
a key gives JAX's samples up to the last bits of the elementary functions (NumPy's ``log1p``
or ``tan`` against XLA's). Samplers built on rejection loops (``gamma``, ``beta``,
``dirichlet``, ``poisson``, ``binomial``, ...) are in ``samplers.py``.

>>> ember.random.exponential(ember.random.key(0), (3,))
tensor([2.9501, 3.8434, 0.4039])
"""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.tensor import Tensor
from ..ops.elementwise import as_value, cast, where
from .keys import _as_float, _check_key, _float_dtype, _shape, bernoulli, normal, split, \
    uniform

__all__ = ["exponential", "laplace", "logistic", "cauchy", "pareto", "rayleigh",
           "weibull_min", "triangular", "geometric", "rademacher", "maxwell",
           "double_sided_maxwell", "wald", "multivariate_normal", "clone", "wrap_key_data"]


def _param_shape(op, shape, *params):
    """``shape``, or the broadcast shape of the parameters when it is None; a given shape
    must be one the parameters broadcast to."""
    pshape = np.broadcast_shapes(*[tuple(np.shape(as_value(p) if isinstance(p, Tensor) else p))
                                   for p in params])
    if shape is None:
        return tuple(pshape)
    shape = _shape(shape, op)
    try:
        ok = np.broadcast_shapes(shape, pshape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"random.{op}: the parameters' shape {tuple(pshape)} does not "
                         f"broadcast to shape {shape}")
    return shape


def exponential(key, shape=(), dtype=None):
    """Exponential samples of rate 1: ``-log1p(-u)``.

    >>> round(ember.random.exponential(ember.random.key(1), (10000,)).mean().item(), 1)
    1.0
    """
    _check_key(key, "exponential")
    d = _float_dtype(dtype, "exponential")
    return -(-uniform(key, shape, d)).log1p()


def laplace(key, shape=(), dtype=None):
    """Laplace samples of scale 1: ``sign(u) * log1p(-|u|)`` for ``u`` uniform in (-1, 1).

    >>> ember.random.laplace(ember.random.key(0), (2,)).shape
    ember.Size([2])
    """
    _check_key(key, "laplace")
    d = _float_dtype(dtype, "laplace")
    u = uniform(key, shape, d, -1.0 + float(np.finfo(d.np).epsneg), 1.0)
    return u.sign() * (-u.abs()).log1p()


def logistic(key, shape=(), dtype=None):
    """Logistic samples: ``log(u) - log1p(-u)``.

    >>> ember.random.logistic(ember.random.key(0), (2,)).shape
    ember.Size([2])
    """
    _check_key(key, "logistic")
    d = _float_dtype(dtype, "logistic")
    u = uniform(key, shape, d, float(np.finfo(d.np).tiny), 1.0)
    return u.log() - (-u).log1p()


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy samples: ``tan(pi * (u - 1/2))``.

    >>> ember.random.cauchy(ember.random.key(0), (2,)).shape
    ember.Size([2])
    """
    _check_key(key, "cauchy")
    d = _float_dtype(dtype, "cauchy")
    u = uniform(key, shape, d, float(np.finfo(d.np).eps), 1.0)
    return (_as_float(np.pi, d) * (u - _as_float(0.5, d))).tan()


def pareto(key, b, shape=None, dtype=None):
    """Pareto samples of shape ``b``: ``exp(e / b)``, ``e`` exponential.

    >>> bool((ember.random.pareto(ember.random.key(0), 3.0, (100,)) >= 1).all())
    True
    """
    _check_key(key, "pareto")
    d = _float_dtype(dtype, "pareto")
    shape = _param_shape("pareto", shape, b)
    return (exponential(key, shape, d) / _as_float(b, d)).exp()


def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh samples: ``scale * sqrt(-2 log u)``.

    >>> ember.random.rayleigh(ember.random.key(0), 2.0, (3,)).shape
    ember.Size([3])
    """
    _check_key(key, "rayleigh")
    d = _float_dtype(dtype, "rayleigh")
    shape = _param_shape("rayleigh", shape, scale)
    u = uniform(key, shape, d)
    return _as_float(scale, d) * (u.log() * _as_float(-2.0, d)).sqrt()


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull samples: ``(-log1p(-u)) ** (1 / concentration) * scale``.

    >>> ember.random.weibull_min(ember.random.key(0), 1.0, 2.0, (3,)).shape
    ember.Size([3])
    """
    _check_key(key, "weibull_min")
    d = _float_dtype(dtype, "weibull_min")
    u = uniform(key, shape, d)
    c = _as_float(concentration, d)
    return (-(-u).log1p()) ** (1.0 / c) * _as_float(scale, d)


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular samples on [left, right] peaking at ``mode`` (the inverse CDF).

    >>> x = ember.random.triangular(ember.random.key(0), 0.0, 1.0, 3.0, (1000,))
    >>> bool(x.min() >= 0) and bool(x.max() <= 3)
    True
    """
    _check_key(key, "triangular")
    d = _float_dtype(dtype, "triangular")
    shape = _param_shape("triangular", shape, left, mode, right)
    lo, m, hi = (_as_float(v, d) for v in (left, mode, right))
    fc = (m - lo) / (hi - lo)
    u = uniform(key, shape, d)
    out1 = lo + (u * (hi - lo) * (m - lo)).sqrt()
    out2 = hi - ((1 - u) * (hi - lo) * (hi - m)).sqrt()
    return where(u < fc, out1, out2)


def geometric(key, p, shape=None, dtype=None):
    """The number of Bernoulli(p) trials up to the first success (1, 2, ...): an integer
    tensor (int32 unless 64-bit mode, or ``dtype``).

    >>> bool((ember.random.geometric(ember.random.key(0), 0.5, (100,)) >= 1).all())
    True
    """
    _check_key(key, "geometric")
    shape = _param_shape("geometric", shape, p)
    pt = as_value(p) if isinstance(p, Tensor) else Tensor._wrap(
        np.asarray(p, _dt.canonical_np(np.asarray(p, float).dtype)))
    if not pt.dtype.is_floating_point:
        pt = cast(pt, _dt.float32)
    u = uniform(key, shape, pt.dtype)
    u = where(u == 0, Tensor._wrap(np.ones((), pt.dtype.np)), u)
    g = (u.log() / (-pt).log1p()).floor() + 1
    out = _dt.jax_int() if dtype is None else _dt.as_dtype(dtype)
    if not out.is_integer:
        raise TypeError(f"random.geometric: dtype must be an integer dtype, got {out}")
    return cast(g, out)


def rademacher(key, shape=(), dtype=None):
    """-1 or +1 with equal probability (integers: int32 unless 64-bit mode, or ``dtype``).

    >>> ember.random.rademacher(ember.random.key(0), (4,)).abs().tolist()
    [1, 1, 1, 1]
    """
    _check_key(key, "rademacher")
    out = _dt.jax_int() if dtype is None else _dt.as_dtype(dtype)
    b = cast(bernoulli(key, 0.5, _shape(shape, "rademacher")), out)
    return cast(2 * b - 1, out)


def maxwell(key, shape=(), dtype=None):
    """Maxwell samples: the norm of three standard normals.

    >>> ember.random.maxwell(ember.random.key(0), (2,)).shape
    ember.Size([2])
    """
    _check_key(key, "maxwell")
    d = _float_dtype(dtype, "maxwell")
    z = normal(key, _shape(shape, "maxwell") + (3,), d)
    return (z * z).sum(-1).sqrt()


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Maxwell samples of random sign, times ``scale``, plus ``loc``.

    >>> ember.random.double_sided_maxwell(ember.random.key(0), 0.0, 1.0, (3,)).shape
    ember.Size([3])
    """
    _check_key(key, "double_sided_maxwell")
    d = _float_dtype(dtype, "double_sided_maxwell")
    pshape = tuple(np.broadcast_shapes(np.shape(as_value(loc) if isinstance(loc, Tensor) else loc),
                                       np.shape(as_value(scale) if isinstance(scale, Tensor)
                                                else scale)))
    shape = _shape(shape, "double_sided_maxwell")
    shape = (shape or pshape) + pshape
    k1, k2 = split(key)
    m = maxwell(k1, shape, d)
    sign = cast(rademacher(k2, shape), d)
    return sign * m * _as_float(scale, d) + _as_float(loc, d)


def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian) samples of mean ``mean`` (Michael, Schucany and Haas).

    >>> bool((ember.random.wald(ember.random.key(0), 1.0, (100,)) > 0).all())
    True
    """
    _check_key(key, "wald")
    d = _float_dtype(dtype, "wald")
    shape = _param_shape("wald", shape, mean)
    k1, k2 = split(key)
    mu = _as_float(mean, d).broadcast_to(shape)
    v = normal(k1, shape, d)
    z = uniform(k2, shape, d)
    y = v * v
    mu2 = mu * mu
    x = mu + mu2 * y / 2 - mu / 2 * (4 * mu * y + mu2 * (y * y)).sqrt()
    return where(z <= mu / (mu + x), x, mu2 / x)


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Samples of N(mean, cov): ``mean + factor @ z`` with ``factor`` from the Cholesky
    (default), eigen ('eigh') or singular value ('svd') decomposition of ``cov``.

    >>> ember.random.multivariate_normal(ember.random.key(0), ember.zeros(2), ember.eye(2), (5,)).shape
    ember.Size([5, 2])
    """
    from .. import numpy as jnp
    _check_key(key, "multivariate_normal")
    if method not in ("cholesky", "eigh", "svd"):
        raise ValueError(f"random.multivariate_normal: method must be 'cholesky', 'eigh' or "
                         f"'svd', got {method!r}")
    d = _float_dtype(dtype, "multivariate_normal")
    mu, c = jnp.asarray(mean), jnp.asarray(cov)
    if mu.ndim < 1 or c.ndim < 2:
        raise ValueError(f"random.multivariate_normal: mean needs >= 1 dim and cov >= 2, got "
                         f"shapes {tuple(mu.shape)} and {tuple(c.shape)}")
    n = mu.shape[-1]
    if tuple(c.shape[-2:]) != (n, n):
        raise ValueError(f"random.multivariate_normal: cov must be (..., {n}, {n}) for a mean "
                         f"of {n} entries, got {tuple(c.shape)}")
    batch = tuple(np.broadcast_shapes(tuple(mu.shape[:-1]), tuple(c.shape[:-2])))
    shape = batch if shape is None else _shape(shape, "multivariate_normal")
    if method == "svd":
        u, s, _ = jnp.linalg.svd(c)
        factor = u * jnp.sqrt(s[..., None, :])
    elif method == "eigh":
        w, v = jnp.linalg.eigh(c)
        factor = v * jnp.sqrt(w[..., None, :])
    else:
        factor = jnp.linalg.cholesky(c)
    z = normal(key, shape + (n,), d)
    return mu + jnp.einsum("...ij,...j->...i", factor, z)


def clone(key):
    """The key itself (JAX's ``clone`` copies a key for its reuse checker; ember's keys are
    plain arrays).

    >>> ember.random.clone(ember.random.key(0)).shape
    ember.Size([2])
    """
    return _check_key(key, "clone")


def wrap_key_data(key_bits_array, *, impl=None):
    """A key from its raw data (``key_data``'s inverse): ember's keys are that uint32 data.

    >>> k = ember.random.key(0)
    >>> bool((ember.random.wrap_key_data(ember.random.key_data(k)) == k).all())
    True
    """
    if impl not in (None, "threefry2x32"):
        raise ValueError(f"random.wrap_key_data: ember's keys are Threefry-2x32; got impl "
                         f"{impl!r}")
    k = as_value(key_bits_array)
    if k.dtype is not _dt.uint32:
        k = cast(k, _dt.uint32)
    return _check_key(k, "wrap_key_data")
