"""(being written by the random helper) temporary minimal global generator."""
import numpy as np
from .core import dtypes as _dt
from .core.tensor import Tensor

_rng = [np.random.default_rng(0)]
_seed = [0]


class Generator:
    pass


default_generator = None


def manual_seed(s):
    _seed[0] = int(s)
    _rng[0] = np.random.default_rng(int(s))


seed = manual_seed


def initial_seed():
    return _seed[0]


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _mk(a, dtype, requires_grad):
    t = Tensor._wrap(a.astype(_dt.as_dtype(dtype).np))
    if requires_grad:
        t.requires_grad_(True)
    return t


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    return _mk(_rng[0].random(_shape(size)), dtype, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    return _mk(_rng[0].standard_normal(_shape(size)), dtype, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None):
    if high is None:
        low, high = 0, low
    return _mk(_rng[0].integers(low, high, tuple(size)), dtype or _dt.int64, False)


def normal(mean, std, size=(), generator=None):
    return _mk(_rng[0].normal(mean, std, tuple(size)), None, False)


def rand_like(x, dtype=None):
    return rand(tuple(x.shape), dtype=dtype or x.dtype)


def randn_like(x, dtype=None):
    return randn(tuple(x.shape), dtype=dtype or x.dtype)


def randint_like(x, low, high=None, dtype=None):
    return randint(low, high, tuple(x.shape), dtype=dtype or x.dtype)


def randperm(n, dtype=None, generator=None):
    return _mk(_rng[0].permutation(n), dtype or _dt.int64, False)
