"""Errors that name the operation, and the helpers that format them."""
from __future__ import annotations

import numpy as np

from .tensor import Tensor


class ConcretizationError(TypeError):
    """A traced value was used where a concrete one is needed (an ``if``, ``.item()``...)."""


class EscapedTracerError(RuntimeError):
    """A traced value was used after its transform finished."""


def describe(x):
    """``(shape) dtype`` of a tensor or array, or the repr of anything else."""
    if isinstance(x, Tensor):
        return f"{tuple(x.shape)} {x.dtype.name}"
    if isinstance(x, np.ndarray):
        return f"{x.shape} {x.dtype}"
    return repr(x)


def op_error(prim, args, params, exc):
    """Wrap a backend failure into an error naming the op, its input shapes and params."""
    kind = type(exc) if isinstance(exc, (ValueError, IndexError, TypeError)) else RuntimeError
    shapes = ", ".join(describe(a) for a in args)
    ps = ", ".join(f"{k}={v!r}" for k, v in params.items())
    msg = f"{prim.name}: failed for inputs ({shapes})" + (f" with {ps}" if ps else "")
    return kind(f"{msg}: {exc}")
