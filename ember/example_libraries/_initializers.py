"""The few ``jax.nn.initializers`` that stax's layers use by default: ``zeros``, ``ones``,
``normal(stddev)`` and ``glorot_normal(in_axis, out_axis)`` (variance scaling over the mean
of the fans, truncated normal). Each initializer is ``init(key, shape, dtype)``; with the same
key they draw JAX's numbers (ember's keys are JAX's Threefry)."""
from __future__ import annotations

import math

from .. import numpy as jnp
from .. import random
from ..numpy import _float_default

__all__ = ["zeros", "ones", "normal", "glorot_normal", "variance_scaling"]


def zeros(key, shape, dtype=None):
    """An array of zeros (``key`` is not used).

    >>> from ember.example_libraries import stax
    >>> stax.zeros(ember.random.key(0), (2,))
    tensor([0., 0.])
    """
    return jnp.zeros(tuple(shape), dtype or _float_default())


def ones(key, shape, dtype=None):
    """An array of ones (``key`` is not used).

    >>> from ember.example_libraries import stax
    >>> stax.ones(ember.random.key(0), (2,))
    tensor([1., 1.])
    """
    return jnp.ones(tuple(shape), dtype or _float_default())


def normal(stddev=1e-2, dtype=None):
    """An initializer drawing from N(0, stddev**2).

    >>> from ember.example_libraries import stax
    >>> stax.normal(0.1)(ember.random.key(0), (3, 2)).shape
    ember.Size([3, 2])
    """
    def init(key, shape, dtype=dtype):
        d = dtype or _float_default()
        return random.normal(key, tuple(shape), d) * jnp.asarray(stddev, d)
    return init


def _fans(shape, in_axis, out_axis):
    if len(shape) < 2:
        raise ValueError(f"variance_scaling: needs a shape of at least 2 dims to find the fan "
                         f"in and fan out, got {tuple(shape)}")
    n = len(shape)
    ins = {a % n for a in ((in_axis,) if isinstance(in_axis, int) else in_axis)}
    outs = {a % n for a in ((out_axis,) if isinstance(out_axis, int) else out_axis)}
    receptive = math.prod(d for i, d in enumerate(shape) if i not in ins | outs)
    return (math.prod(shape[i] for i in ins) * receptive,
            math.prod(shape[i] for i in outs) * receptive)


# stddev of a standard normal truncated to (-2, 2): dividing by it gives the wanted variance
_TRUNC_STD = 0.87962566103423978


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, dtype=None):
    """An initializer with variance ``scale / n``, ``n`` the fan in, fan out or their mean
    (``mode`` 'fan_in' / 'fan_out' / 'fan_avg'), drawn from ``distribution``
    'truncated_normal', 'normal' or 'uniform'.

    >>> from ember.example_libraries._initializers import variance_scaling
    >>> w = variance_scaling(2.0, "fan_in", "normal")(ember.random.key(0), (400, 300))
    >>> round(float(w.std()) * 20, 1)  # sqrt(2 / 400) = 1 / 14.1
    1.4
    """
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"variance_scaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', "
                         f"got {mode!r}")
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise ValueError(f"variance_scaling: distribution must be 'truncated_normal', "
                         f"'normal' or 'uniform', got {distribution!r}")

    def init(key, shape, dtype=dtype):
        d = dtype or _float_default()
        shape = tuple(shape)
        fan_in, fan_out = _fans(shape, in_axis, out_axis)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / n
        if distribution == "truncated_normal":
            std = math.sqrt(variance) / _TRUNC_STD
            return random.truncated_normal(key, -2.0, 2.0, shape, d) * jnp.asarray(std, d)
        if distribution == "normal":
            return random.normal(key, shape, d) * jnp.asarray(math.sqrt(variance), d)
        lim = math.sqrt(3 * variance)
        return random.uniform(key, shape, d, -lim, lim)
    return init


def glorot_normal(in_axis=-2, out_axis=-1, dtype=None):
    """Glorot (Xavier) normal: truncated normal of variance 2 / (fan_in + fan_out).

    >>> from ember.example_libraries import stax
    >>> stax.glorot_normal()(ember.random.key(0), (784, 10)).shape
    ember.Size([784, 10])
    """
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, dtype)
