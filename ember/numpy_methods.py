"""Tensor methods called with NumPy's keywords follow ``jax.numpy``.

The Tensor's methods keep PyTorch's meaning (``x.max(dim=0)`` is a (values, indices) pair,
``x.std()`` is the unbiased estimate, ``x.repeat(2)`` tiles). A JAX program spells the same
calls with NumPy's keywords (``x.sum(axis=0)``, ``x.max(axis=-1, keepdims=True)``,
``x.std(axis=0, ddof=1)``), which PyTorch's methods don't take or take as mere aliases; a
method called with ``axis=``, ``keepdims=`` or ``ddof=`` runs the ``ember.numpy`` function of
its name, so it means what it means in JAX:

>>> x = ember.numpy.arange(6.).reshape(2, 3)
>>> x.max(axis=0)
tensor([3., 4., 5.])
>>> x.max(dim=0).values
tensor([3., 4., 5.])
>>> x.std(axis=1)
tensor([0.8165, 0.8165])
"""
from __future__ import annotations

import functools

from .core.tensor import Tensor

NUMPY_KEYWORDS = frozenset({"axis", "keepdims", "ddof"})
METHODS = ("sum", "mean", "prod", "max", "min", "argmax", "argmin", "std", "var", "any",
           "all", "cumsum", "cumprod", "sort", "argsort", "squeeze", "take", "repeat")


def _dispatching(name, torch_method, numpy_fn):
    @functools.wraps(torch_method)
    def method(self, *args, **kwargs):
        if kwargs and not NUMPY_KEYWORDS.isdisjoint(kwargs):
            return numpy_fn(self, *args, **kwargs)
        return torch_method(self, *args, **kwargs)
    method._numpy_dispatch = True
    return method


def install(namespace):
    """Make each method in ``METHODS`` run ``namespace``'s function (``ember.numpy``) when it
    is called with NumPy's keywords."""
    for name in METHODS:
        current = Tensor.__dict__.get(name)
        if current is None or getattr(current, "_numpy_dispatch", False):
            continue
        setattr(Tensor, name, _dispatching(name, current, namespace[name]))
