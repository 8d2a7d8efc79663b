"""Errors that name the operation, and the helpers that format them."""
from __future__ import annotations

import numpy as np

from .tensor import Tensor
from .exceptions import OpError  # noqa: F401  (re-exported: ember.OpError)


class ConcretizationError(TypeError):
    """A traced value was used where a concrete one is needed (an ``if``, ``.item()``...)."""


class EscapedTracerError(RuntimeError):
    """A traced value was used after its transform finished."""


class TransformBackwardError(RuntimeError):
    """``backward()`` was called on a value that a transform (jit, vmap, grad) traces."""


def describe(x):
    """``(shape) dtype`` of a tensor or array, or the repr of anything else."""
    if isinstance(x, Tensor):
        return f"{tuple(x.shape)} {x.dtype.name}"
    if isinstance(x, np.ndarray):
        return f"{x.shape} {x.dtype}"
    return repr(x)


def user_op_error(exc):
    """Mark ``exc`` as already naming the user's operation (e.g. ``embedding`` for a check
    that a helper primitive runs for it): the wrappers of eager calls and of jit plans then
    raise it unchanged, so both modes give one message."""
    exc.names_user_op = True
    return exc


def op_error(prim, args, params, exc):
    """Wrap a backend failure into an error naming the op, its input shapes and params.

    Operands that don't broadcast give the primitive's shape-rule error, the message jit
    raises while staging the same call (one mistake, one message in both modes); an error
    the impl raised that already names the op passes through."""
    # IndexError/TypeError keep their class, as do errors that are already both a
    # RuntimeError and a ValueError (OpError, LinAlgError); the rest become OpError
    kind = type(exc) if isinstance(exc, (IndexError, TypeError)) or (
        isinstance(exc, RuntimeError) and isinstance(exc, ValueError)) else OpError
    if getattr(exc, "names_user_op", False):
        return exc
    if str(exc).startswith(f"{prim.name}: "):
        # already names the op: keep it (a plain ValueError becomes an OpError, as PyTorch's
        # RuntimeError)
        if isinstance(exc, ValueError) and not isinstance(exc, OpError):
            return OpError(str(exc))
        return exc
    if isinstance(exc, ValueError) and "broadcast" in str(exc) and prim.shape_rule is not None:
        try:  # tensors carry shape and dtype, as the rule's avals do
            prim.shape_rule(*[a if isinstance(a, Tensor) else np.asarray(a) for a in args],
                            **params)
        except ValueError as shape_exc:
            return shape_exc
        except Exception:  # the rule itself can't judge these inputs: the generic message
            pass
    shapes = ", ".join(describe(a) for a in args)
    ps = ", ".join(f"{k}={v!r}" for k, v in params.items())
    msg = f"{prim.name}: failed for inputs ({shapes})" + (f" with {ps}" if ps else "")
    return kind(f"{msg}: {exc}")
