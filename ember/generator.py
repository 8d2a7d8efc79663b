"""The PyTorch-style global generator: ``manual_seed``, ``rand``, ``randn``, ``randint``,
``normal``, ``randperm``, ``Tensor.uniform_/normal_`` and dropout masks.

Eagerly it draws from NumPy's PCG64 generator seeded by ``manual_seed`` (fast, stateful).
Inside a jitted function (and in its eager debug run) a draw is keyed instead: the call takes
a fresh Threefry key from the generator and each draw folds in its index (see
``transforms/effects.py``), so every call of the plan gets new numbers and seeds reproduce.
Functional code that must give the same numbers eagerly, under ``jit`` and under ``vmap``
uses the explicit keys of ``ember.random`` instead.
"""
from __future__ import annotations

import numpy as np

from .core import dtypes as _dt
from .core.tensor import Tensor


class Generator:
    """A seeded source of random numbers (as ``torch.Generator``)."""

    def __init__(self, device="cpu"):
        self._seed = 0
        self._rng = np.random.default_rng(0)

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(s):
    """Seed the global generator (and return it)."""
    return default_generator.manual_seed(s)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def _gen(generator):
    return (generator or default_generator)._rng


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def _mk(a, dtype, requires_grad):
    t = Tensor._wrap(np.asarray(a).astype(_dt.as_dtype(dtype).np, copy=False))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _key(generator, op):
    """The key of this draw inside a jit trace (or its debug run); None for an eager draw."""
    from .transforms.effects import next_key
    return next_key(generator, op)


def _keyed(t, requires_grad):
    return t.requires_grad_(True) if requires_grad else t


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples in [0, 1)."""
    k = _key(generator, "rand")
    if k is not None:
        from . import random
        return _keyed(random.uniform(k, _shape(size), dtype), requires_grad)
    return _mk(_gen(generator).random(_shape(size)), dtype, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples."""
    k = _key(generator, "randn")
    if k is not None:
        from . import random
        return _keyed(random.normal(k, _shape(size), dtype), requires_grad)
    return _mk(_gen(generator).standard_normal(_shape(size)), dtype, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None,
            requires_grad=False):
    """Integers in [low, high)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    k = _key(generator, "randint")
    if k is not None:
        from . import random
        return random.randint(k, tuple(size), low, high, dtype or _dt.int64)
    return _mk(_gen(generator).integers(low, high, tuple(size)), dtype or _dt.int64, False)


def normal(mean, std, size=None, generator=None, dtype=None):
    """Normal samples with the given mean and std (floats or tensors, broadcast)."""
    k = _key(generator, "normal")
    if k is not None:
        from . import random
        shape = tuple(size) if size is not None else np.broadcast_shapes(
            tuple(getattr(mean, "shape", ())), tuple(getattr(std, "shape", ())))
        return random.normal(k, shape, dtype) * std + mean
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    shape = tuple(size) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    return _mk(_gen(generator).normal(m, s, shape), dtype, False)


def rand_like(x, dtype=None):
    return rand(tuple(x.shape), dtype=dtype or x.dtype)


def randn_like(x, dtype=None):
    return randn(tuple(x.shape), dtype=dtype or x.dtype)


def randint_like(x, low, high=None, dtype=None):
    return randint(low, high, tuple(x.shape), dtype=dtype or x.dtype)


def randperm(n, dtype=None, generator=None):
    k = _key(generator, "randperm")
    if k is not None:
        from . import random
        return random.permutation(k, int(n)).to(dtype or _dt.int64)
    return _mk(_gen(generator).permutation(int(n)), dtype or _dt.int64, False)


def _global_uniform(shape, a, b, dtype, generator=None, op="uniform_"):
    k = _key(generator, op)
    if k is not None:
        from . import random
        return random.uniform(k, shape, dtype, a, b)
    return _mk(_gen(generator).uniform(a, b, shape), dtype, False)


def _global_normal(shape, mean, std, dtype, generator=None):
    k = _key(generator, "normal_")
    if k is not None:
        from . import random
        return random.normal(k, shape, dtype) * std + mean
    return _mk(_gen(generator).normal(mean, std, shape), dtype, False)
