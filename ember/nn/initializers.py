"""``jax.nn.initializers`` (``ember.nn.initializers``): each maker returns
``init(key, shape, dtype=None)``, drawing with ``ember.random``'s keys, which are JAX's
Threefry keys, so the same key gives JAX's numbers (up to the last bit for the QR-based
``orthogonal``). The default dtype is float32 (float64 in 64-bit mode).

>>> from ember.nn import initializers
>>> initializers.glorot_normal()(ember.random.key(0), (3, 2)).shape
ember.Size([3, 2])
"""
from __future__ import annotations

import math

import numpy as np

from .. import numpy as jnp
from .. import random

__all__ = ["Initializer", "constant", "zeros", "ones", "uniform", "normal", "truncated_normal",
           "variance_scaling", "glorot_normal", "glorot_uniform", "xavier_normal",
           "xavier_uniform", "he_normal", "he_uniform", "kaiming_normal", "kaiming_uniform",
           "lecun_normal", "lecun_uniform", "orthogonal", "delta_orthogonal"]

_TRUNC_STD = 0.87962566103423978  # the stddev of a standard normal truncated to (-2, 2)


class Initializer:
    """The type of an initializer: ``init(key, shape, dtype=None) -> array``."""

    def __call__(self, key, shape, dtype=None):  # pragma: no cover - a protocol
        raise NotImplementedError


def _dtype(dtype):
    return dtype if dtype is not None else jnp.asarray(0.0).dtype


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def zeros(key, shape, dtype=None):
    """An array of zeros (the key is not used).

    >>> ember.nn.initializers.zeros(ember.random.key(0), (2,))
    tensor([0., 0.])
    """
    return jnp.zeros(_shape(shape), _dtype(dtype))


def ones(key, shape, dtype=None):
    """An array of ones (the key is not used).

    >>> ember.nn.initializers.ones(ember.random.key(0), (2,))
    tensor([1., 1.])
    """
    return jnp.ones(_shape(shape), _dtype(dtype))


def constant(value, dtype=None):
    """An initializer filling with ``value``.

    >>> ember.nn.initializers.constant(-7)(ember.random.key(0), (2,))
    tensor([-7., -7.])
    """
    def init(key, shape, dtype=dtype):
        return jnp.full(_shape(shape), value, _dtype(dtype))
    return init


def uniform(scale=1e-2, dtype=None):
    """Uniform on [0, scale).

    >>> float(ember.nn.initializers.uniform(1.0)(ember.random.key(0), (100,)).max()) < 1
    True
    """
    def init(key, shape, dtype=dtype):
        d = _dtype(dtype)
        return random.uniform(key, _shape(shape), d) * jnp.asarray(scale, d)
    return init


def normal(stddev=1e-2, dtype=None):
    """Normal with mean 0 and standard deviation ``stddev``.

    >>> ember.nn.initializers.normal(0.1)(ember.random.key(0), (3, 2)).shape
    ember.Size([3, 2])
    """
    def init(key, shape, dtype=dtype):
        d = _dtype(dtype)
        return random.normal(key, _shape(shape), d) * jnp.asarray(stddev, d)
    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """``stddev`` times a standard normal truncated to (lower, upper).

    >>> float(abs(ember.nn.initializers.truncated_normal(1.0)(ember.random.key(0), (99,))).max()) <= 2
    True
    """
    def init(key, shape, dtype=dtype):
        d = _dtype(dtype)
        return random.truncated_normal(key, lower, upper, _shape(shape), d) * \
            jnp.asarray(stddev, d)
    return init


def _axes(axis, n):
    return {a % n for a in ((axis,) if isinstance(axis, int) else axis)}


def _fans(shape, in_axis, out_axis, batch_axis):
    if len(shape) <= 1:
        raise ValueError(f"variance_scaling: a shape of at least 2 dims is needed to find the "
                         f"fan in and fan out, got {shape}")
    n = len(shape)
    ins, outs, batch = _axes(in_axis, n), _axes(out_axis, n), _axes(batch_axis, n)
    receptive = math.prod(d for i, d in enumerate(shape) if i not in ins | outs | batch)
    return (math.prod(shape[i] for i in ins) * receptive,
            math.prod(shape[i] for i in outs) * receptive)


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(),
                     dtype=None):
    """Variance ``scale / n``, ``n`` the fan in, fan out, their mean or geometric mean
    (``mode`` 'fan_in', 'fan_out', 'fan_avg', 'fan_geo_avg'), from ``distribution``
    'truncated_normal' (truncated at 2 standard deviations, rescaled), 'normal' or 'uniform'.

    >>> w = ember.nn.initializers.variance_scaling(2.0, "fan_in", "normal")(ember.random.key(0), (400, 300))
    >>> round(float(w.std()) * 20, 1)  # sqrt(2 / 400) = 1 / 14.1
    1.4
    """
    if mode not in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        raise ValueError(f"variance_scaling: mode must be 'fan_in', 'fan_out', 'fan_avg' or "
                         f"'fan_geo_avg', got {mode!r}")
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise ValueError(f"variance_scaling: distribution must be 'truncated_normal', "
                         f"'normal' or 'uniform', got {distribution!r}")

    def init(key, shape, dtype=dtype):
        d = _dtype(dtype)
        shape = _shape(shape)
        fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
             "fan_geo_avg": (fan_in * fan_out) ** 0.5}[mode]
        variance = jnp.asarray(scale / n, d)
        if distribution == "truncated_normal":
            std = jnp.sqrt(variance) / jnp.asarray(_TRUNC_STD, d)
            return random.truncated_normal(key, -2, 2, shape, d) * std
        if distribution == "normal":
            return random.normal(key, shape, d) * jnp.sqrt(variance)
        return random.uniform(key, shape, d, -1) * jnp.sqrt(3 * variance)
    return init


def glorot_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Glorot (Xavier) normal: truncated normal of variance 2 / (fan_in + fan_out)."""
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


def glorot_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Glorot (Xavier) uniform: variance 2 / (fan_in + fan_out)."""
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """He (Kaiming) normal: truncated normal of variance 2 / fan_in."""
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


def he_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """He (Kaiming) uniform: variance 2 / fan_in."""
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """LeCun normal: truncated normal of variance 1 / fan_in."""
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


def lecun_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """LeCun uniform: variance 1 / fan_in."""
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


xavier_normal, xavier_uniform = glorot_normal, glorot_uniform
kaiming_normal, kaiming_uniform = he_normal, he_uniform


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """A (semi-)orthogonal matrix (the columns along ``column_axis``), times ``scale``: the
    Q of a QR decomposition of a normal draw, its columns' signs fixed by R's diagonal.

    >>> q = ember.nn.initializers.orthogonal()(ember.random.key(0), (3, 3))
    >>> bool(ember.numpy.allclose(q.T @ q, ember.numpy.eye(3), atol=1e-5))
    True
    """
    def init(key, shape, dtype=dtype):
        d = _dtype(dtype)
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(f"orthogonal: needs a shape of at least 2 dims, got {shape}")
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        mshape = (n_cols, n_rows) if n_rows < n_cols else (n_rows, n_cols)
        q, r = jnp.linalg.qr(random.normal(key, mshape, d))
        q = q * jnp.sign(jnp.diagonal(r))
        if n_rows < n_cols:
            q = q.T
        rest = tuple(s for i, s in enumerate(shape) if i != column_axis % len(shape))
        q = jnp.moveaxis(q.reshape(rest + (n_cols,)), -1, column_axis)
        return q * jnp.asarray(scale, d)
    return init


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """For a convolution kernel (3-5 dims, in <= out channels): zero but for an orthogonal
    (in, out) matrix at the spatial centre.

    >>> w = ember.nn.initializers.delta_orthogonal()(ember.random.key(0), (3, 3, 2, 2))
    >>> float(abs(w[0]).sum()), w.shape
    (0.0, ember.Size([3, 3, 2, 2]))
    """
    def init(key, shape, dtype=dtype):
        d = _dtype(dtype)
        shape = _shape(shape)
        if len(shape) not in (3, 4, 5):
            raise ValueError(f"delta_orthogonal: needs a 3-, 4- or 5-dim shape, got {shape}")
        if shape[-1] < shape[-2]:
            raise ValueError(f"delta_orthogonal: fan_in ({shape[-2]}) must be at most fan_out "
                             f"({shape[-1]})")
        ortho = orthogonal(scale, column_axis, d)(key, shape[-2:])
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return jnp.zeros(shape, d).at[centre].set(ortho)
    return init
