"""The CPU backend: NumPy arrays, NumPy's namespace plus the kernels NumPy lacks (erf)."""
from __future__ import annotations

import types

import numpy as np

from . import pool
from .base import Backend, register
from .kernels import erf


def make_namespace(name, base=np, **extra):
    """A module-like namespace holding NumPy's names (attribute lookups as fast as on the
    ``numpy`` module) plus ``extra`` kernels."""
    ns = types.ModuleType(name)
    ns.__dict__.update({k: v for k, v in vars(base).items() if not k.startswith("__")})
    ns.__dict__.update(extra)
    ns.__getattr__ = lambda attr: getattr(base, attr)  # NumPy's lazily loaded names
    return ns


class NumPyBackend(Backend):
    name = "cpu"
    # large arrays the kernels make come from the caching pool (pool.py: no page faults anew
    # each step, the process's allocator left as it is)
    xp = make_namespace("ember.backend.numpy_backend.xp", erf=erf,
                        as_strided=np.lib.stride_tricks.as_strided, empty=pool.empty,
                        zeros=pool.zeros, empty_like=pool.empty_like,
                        zeros_like=pool.zeros_like, ascontiguousarray=pool.ascontiguousarray)
    array_types = (np.ndarray,)

    def from_host(self, a):
        return np.array(a)

    def to_host(self, a):
        return a


backend = register(NumPyBackend())
