"""Parameter initialisers (in place, under no_grad), with PyTorch's formulas."""
from __future__ import annotations

import math

from ..core.autograd import no_grad


def _fans(t):
    if t.ndim < 2:
        raise ValueError(f"init: fan in/out needs a tensor with >= 2 dims, got shape "
                         f"{tuple(t.shape)}")
    rf = 1
    for s in t.shape[2:]:
        rf *= s
    return t.shape[1] * rf, t.shape[0] * rf


def _fill(t, value):
    with no_grad():
        return t.copy_(value)


def uniform_(t, a=0.0, b=1.0, key=None):
    """Uniform in [a, b): from the global generator, or from ``key`` (ember.random)."""
    if key is not None:
        from .. import random
        return _fill(t, random.uniform(key, tuple(t.shape), t.dtype, a, b))
    with no_grad():
        return t.uniform_(a, b)


def normal_(t, mean=0.0, std=1.0, key=None):
    if key is not None:
        from .. import random
        return _fill(t, random.normal(key, tuple(t.shape), t.dtype) * std + mean)
    with no_grad():
        return t.normal_(mean, std)


def trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0, key=None):
    """Normal(mean, std) truncated to [a, b]."""
    from .. import random
    if key is None:
        from ..generator import default_generator
        key = random.key(int(default_generator._rng.integers(0, 2 ** 31)))
    z = random.truncated_normal(key, (a - mean) / std, (b - mean) / std, tuple(t.shape), t.dtype)
    return _fill(t, z * std + mean)


def constant_(t, val):
    with no_grad():
        return t.fill_(val)


def zeros_(t):
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def calculate_gain(nonlinearity, param=None):
    if nonlinearity in ("linear", "sigmoid", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def kaiming_uniform_(t, a=0, mode="fan_in", nonlinearity="leaky_relu", key=None):
    fan_in, fan_out = _fans(t)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(t, -bound, bound, key=key)


def kaiming_normal_(t, a=0, mode="fan_in", nonlinearity="leaky_relu", key=None):
    fan_in, fan_out = _fans(t)
    fan = fan_in if mode == "fan_in" else fan_out
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), key=key)


def xavier_uniform_(t, gain=1.0, key=None):
    fan_in, fan_out = _fans(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, key=key)


def xavier_normal_(t, gain=1.0, key=None):
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), key=key)


def orthogonal_(t, gain=1.0, key=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal sample."""
    import numpy as np
    from ..core.tensor import Tensor
    if t.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with >= 2 dims, got {tuple(t.shape)}")
    rows = t.shape[0]
    cols = t.numel() // rows
    flat = Tensor._wrap(np.zeros((rows, cols), np.float64))
    normal_(flat, key=key)
    a = flat.numpy()
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(t, Tensor._wrap((gain * q).reshape(tuple(t.shape)).astype(t.dtype.np)))
