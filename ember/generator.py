"""The PyTorch-style global generator: ``manual_seed``, ``rand``, ``randn``, ``randint``,
``normal``, ``randperm``, ``Tensor.uniform_/normal_`` and dropout masks.

It draws from NumPy's PCG64 generator seeded by ``manual_seed`` (fast, stateful, eager).
Functional code that must give the same numbers eagerly, under ``jit`` and under ``vmap``
uses the explicit keys of ``ember.random`` (Threefry) instead.
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


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples in [0, 1)."""
    return _mk(_gen(generator).random(_shape(size)), dtype, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples."""
    return _mk(_gen(generator).standard_normal(_shape(size)), dtype, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None,
            requires_grad=False):
    """Integers in [low, high)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    return _mk(_gen(generator).integers(low, high, tuple(size)), dtype or _dt.int64, False)


def normal(mean, std, size=None, generator=None, dtype=None):
    """Normal samples with the given mean and std (floats or tensors, broadcast)."""
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
    return _mk(_gen(generator).permutation(int(n)), dtype or _dt.int64, False)


def _global_uniform(shape, a, b, dtype, generator=None):
    return _mk(_gen(generator).uniform(a, b, shape), dtype, False)


def _global_normal(shape, mean, std, dtype, generator=None):
    return _mk(_gen(generator).normal(mean, std, shape), dtype, False)
