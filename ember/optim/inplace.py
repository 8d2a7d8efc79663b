"""The eager optimizers' arithmetic: the update rules of ``update_rules`` evaluated with NumPy
ufuncs that write into the buffer a rule names (``into=``: the optimizer state, or one
scratch array), instead of a temporary per operation. Same operations in the same order as
``update_rules.Functional``, so the same bits (tests/optim/test_inplace.py checks this);
~2.5x faster on large tensors, where temporaries cost more than the arithmetic.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace


def scalar_sqrt(x):
    """``sqrt`` for NumPy arrays and Python numbers: a Python float stays a Python float (a
    NumPy float64 scalar would promote float32 arrays to float64 under NumPy 2's rules)."""
    return math.sqrt(x) if isinstance(x, (int, float)) else np.sqrt(x)


class InPlace:
    """``update_rules``' arithmetic on NumPy arrays, in place where the rule says ``into``.
    The gradient is never written; a buffer made on the first step is a copy."""

    @staticmethod
    def neg(x):
        return np.negative(x)

    @staticmethod
    def mul(x, y, into=None):
        return np.multiply(x, y, out=into)

    @staticmethod
    def add(x, y, into=None):
        return np.add(x, y, out=into)

    @staticmethod
    def div(x, y, into=None):
        return np.divide(x, y, out=into)

    @staticmethod
    def sqrt(x, into=None):
        if into is None:
            return scalar_sqrt(x)
        return np.sqrt(x, out=into)

    @staticmethod
    def maximum(x, y, into=None):
        return np.maximum(x, y, out=into)

    @staticmethod
    def copy(x):
        return namespace(x).array(x, copy=True)

    @staticmethod
    def first(t, g, other):
        return g if t == 1 else other


IN_PLACE = InPlace()
