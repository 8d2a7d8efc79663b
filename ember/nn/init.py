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


def _no_data(t):
    """A meta tensor has no storage: initialisers leave it alone (and draw nothing)."""
    return t.is_meta


def _fill(t, value):
    with no_grad():
        return t.copy_(value)


def uniform_(t, a=0.0, b=1.0, key=None):
    """Uniform in [a, b): from the global generator, or from ``key`` (ember.random).

    >>> w = ember.nn.init.uniform_(ember.empty(1000), -0.5, 0.5)
    >>> bool(w.min() >= -0.5) and bool(w.max() < 0.5)
    True
    >>> a = ember.nn.init.uniform_(ember.empty(3), key=ember.random.key(0))
    >>> b = ember.nn.init.uniform_(ember.empty(3), key=ember.random.key(0))
    >>> bool((a == b).all())                   # a key makes it reproducible
    True
    """
    if _no_data(t):
        return t
    if key is not None:
        from .. import random
        return _fill(t, random.uniform(key, tuple(t.shape), t.dtype, a, b))
    with no_grad():
        return t.uniform_(a, b)


def normal_(t, mean=0.0, std=1.0, key=None):
    """Fills ``t`` in place with samples of Normal(``mean``, ``std``) (from the global
    generator, or from ``key``); returns ``t``.

    >>> w = ember.nn.init.normal_(ember.empty(10000), mean=3.0, std=0.5)
    >>> round(w.mean().item(), 1), round(w.std().item(), 1)
    (3.0, 0.5)
    """
    if _no_data(t):
        return t
    if key is not None:
        from .. import random
        return _fill(t, random.normal(key, tuple(t.shape), t.dtype) * std + mean)
    with no_grad():
        return t.normal_(mean, std)


def trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0, key=None):
    """Normal(mean, std) truncated to [a, b].

    >>> w = ember.nn.init.trunc_normal_(ember.empty(1000), std=1.0, a=-0.5, b=0.5)
    >>> bool(w.abs().max() <= 0.5)
    True
    """
    if _no_data(t):
        return t
    from .. import random
    if key is None:
        from ..random.generator import default_generator
        key = random.key(int(default_generator._rng.integers(0, 2 ** 31)))
    z = random.truncated_normal(key, (a - mean) / std, (b - mean) / std, tuple(t.shape), t.dtype)
    return _fill(t, z * std + mean)


def constant_(t, val):
    """Fills ``t`` in place with ``val``; returns ``t``.

    >>> ember.nn.init.constant_(ember.empty(3), 0.25)
    tensor([0.2500, 0.2500, 0.2500])
    """
    if _no_data(t):
        return t
    with no_grad():
        return t.fill_(val)


def zeros_(t):
    """Fills ``t`` in place with zeros; returns ``t``.

    >>> ember.nn.init.zeros_(ember.empty(2, 2))
    tensor([[0., 0.],
            [0., 0.]])
    """
    return constant_(t, 0.0)


def ones_(t):
    """Fills ``t`` in place with ones; returns ``t``.

    >>> ember.nn.init.ones_(ember.empty(3))
    tensor([1., 1., 1.])
    """
    return constant_(t, 1.0)


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table): 1 for linear/sigmoid,
    5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu.

    >>> ember.nn.init.calculate_gain("relu")
    1.4142135623730951
    >>> ember.nn.init.calculate_gain("tanh")
    1.6666666666666667
    """
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
    """He initialisation: uniform in ``[-b, b]`` with ``b = gain * sqrt(3 / fan)``, ``fan``
    the fan-in (or fan-out with ``mode="fan_out"``); returns ``t``.

    >>> w = ember.nn.init.kaiming_uniform_(ember.empty(256, 600), nonlinearity="relu")
    >>> bound = (2 ** 0.5) * (3 / 600) ** 0.5                 # 0.1
    >>> bool(w.abs().max() <= bound), bool(w.abs().max() > 0.9 * bound)
    (True, True)
    """
    fan_in, fan_out = _fans(t)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(t, -bound, bound, key=key)


def kaiming_normal_(t, a=0, mode="fan_in", nonlinearity="leaky_relu", key=None):
    """He initialisation: Normal(0, ``gain / sqrt(fan)``); returns ``t``.

    >>> w = ember.nn.init.kaiming_normal_(ember.empty(512, 200), nonlinearity="relu")
    >>> round(w.std().item(), 2)                               # sqrt(2 / 200)
    0.1
    """
    fan_in, fan_out = _fans(t)
    fan = fan_in if mode == "fan_in" else fan_out
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), key=key)


def xavier_uniform_(t, gain=1.0, key=None):
    """Glorot initialisation: uniform in ``[-b, b]`` with
    ``b = gain * sqrt(6 / (fan_in + fan_out))``; returns ``t``.

    >>> w = ember.nn.init.xavier_uniform_(ember.empty(300, 300))
    >>> bool(w.abs().max() <= 0.1), bool(w.abs().max() > 0.09)
    (True, True)
    """
    fan_in, fan_out = _fans(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, key=key)


def xavier_normal_(t, gain=1.0, key=None):
    """Glorot initialisation: Normal(0, ``gain * sqrt(2 / (fan_in + fan_out))``); returns ``t``.

    >>> w = ember.nn.init.xavier_normal_(ember.empty(400, 400))
    >>> round(w.std().item(), 2)                               # sqrt(2 / 800)
    0.05
    """
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), key=key)


def orthogonal_(t, gain=1.0, key=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal sample.

    >>> w = ember.nn.init.orthogonal_(ember.empty(3, 3))
    >>> bool((w @ w.T - ember.eye(3)).abs().max() < 1e-5)
    True
    """
    import numpy as np
    from ..core.tensor import Tensor
    if t.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with >= 2 dims, got {tuple(t.shape)}")
    if _no_data(t):
        return t
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


def eye_(t):
    """Fills a 2-d tensor with the identity matrix (ones on the diagonal; rectangular too).

    >>> ember.nn.init.eye_(ember.empty(2, 3))
    tensor([[1., 0., 0.],
            [0., 1., 0.]])
    """
    import numpy as np
    from ..core.tensor import Tensor
    if t.ndim != 2:
        raise ValueError(f"eye_: only 2-d tensors are supported, got shape {tuple(t.shape)}")
    if _no_data(t):
        return t
    return _fill(t, Tensor._wrap(np.eye(*t.shape, dtype=t.dtype.np)))


def dirac_(t, groups=1):
    """Fills a 3-, 4- or 5-d convolution weight with the Dirac delta, so the convolution
    copies its input channels (per group, as PyTorch's).

    >>> w = ember.nn.init.dirac_(ember.empty(2, 2, 3, 3))
    >>> x = ember.randn(1, 2, 5, 5)
    >>> bool((ember.nn.functional.conv2d(x, w, padding=1) == x).all())
    True
    """
    import numpy as np
    from ..core.tensor import Tensor
    if t.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only 3-, 4- and 5-d tensors are supported, got shape "
                         f"{tuple(t.shape)}")
    if t.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({t.shape[0]}) must be divisible by groups ({groups})")
    if _no_data(t):
        return t
    w = np.zeros(tuple(t.shape), t.dtype.np)
    out_per = t.shape[0] // groups
    centre = tuple(s // 2 for s in t.shape[2:])
    for g in range(groups):
        for d in range(min(out_per, t.shape[1])):
            w[(g * out_per + d, d) + centre] = 1
    return _fill(t, Tensor._wrap(w))


def sparse_(t, sparsity, std=0.01, generator=None):
    """A 2-d tensor with normal(0, ``std``) entries of which a ``sparsity`` fraction in each
    column is zero (as PyTorch's).

    >>> w = ember.nn.init.sparse_(ember.empty(10, 4), sparsity=0.3)
    >>> [int((w[:, j] == 0).sum()) for j in range(4)]
    [3, 3, 3, 3]
    """
    import math as _m
    import numpy as np
    from ..core.tensor import Tensor
    from ..random.generator import _gen
    if t.ndim != 2:
        raise ValueError(f"sparse_: only 2-d tensors are supported, got shape {tuple(t.shape)}")
    if _no_data(t):
        return t
    rows, cols = t.shape
    zeros = int(_m.ceil(sparsity * rows))
    rng = _gen(generator)
    w = rng.normal(0.0, std, (rows, cols))
    for c in range(cols):
        w[rng.permutation(rows)[:zeros], c] = 0
    return _fill(t, Tensor._wrap(w.astype(t.dtype.np)))


def _deprecated(name, fn):
    def old(*args, **kwargs):
        import warnings
        warnings.warn(f"nn.init.{name} is now deprecated in favor of nn.init.{name}_.",
                      FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)
    old.__name__ = name
    old.__doc__ = (f"Deprecated spelling of ``{name}_`` (as PyTorch, with its warning).\n\n"
                   f"    >>> import warnings; warnings.simplefilter('ignore', FutureWarning)\n"
                   f"    >>> ember.nn.init.{name}(ember.empty(2, 2)).shape\n"
                   f"    ember.Size([2, 2])\n    ")
    return old


for _name in ("uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
              "kaiming_normal", "orthogonal"):
    globals()[_name] = _deprecated(_name, globals()[_name + "_"])
constant = _deprecated("constant", lambda t, val=0.0: constant_(t, val))
constant.__doc__ = constant.__doc__.replace("(ember.empty(2, 2))", "(ember.empty(2, 2), 0.5)")
del _name
