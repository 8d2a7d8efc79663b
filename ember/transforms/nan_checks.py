"""JAX's ``jax_debug_nans`` / ``jax_debug_infs``: stop at the operation that makes a NaN (an
inf).

While a flag is on, an eager layer (``core.primitive.add_eager_layer``) checks the floating
results of every primitive that runs eagerly and raises ``FloatingPointError`` naming it;
a call layer checks the outputs of every ``jit``-compiled call and, on a NaN, says so and runs
the function again with jit disabled (JAX's "de-optimized version"), so the eager check
stops at the operation that produced it. Checks cost a pass over each result; with both
flags off nothing is wrapped. Set them with ``ember.config.update("jax_debug_nans", True)``
or the ``ember.debug_nans(True)`` context (``debug_infs`` alike).
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..core import primitive as _p
from ..core.tensor import Tensor

_flags = {"nans": False, "infs": False}


def enabled(kind):
    """Whether the check for ``kind`` ('nans' or 'infs') is on."""
    return _flags[kind]


def set_enabled(kind, on):
    """Turn the check for ``kind`` ('nans' or 'infs') on or off."""
    before = any(_flags.values())
    _flags[kind] = bool(on)
    after = any(_flags.values())
    if after and not before:
        _p.add_eager_layer(_eager_layer)
        _p.add_call_layer(_jit_layer, kinds=("compiled",))
    elif before and not after:
        _p.remove_eager_layer(_eager_layer)
        _p.remove_call_layer(_jit_layer)


@contextlib.contextmanager
def checking(kind, on):
    """A block with the check for ``kind`` on (or off), the previous setting restored."""
    before = _flags[kind]
    set_enabled(kind, on)
    try:
        yield
    finally:
        set_enabled(kind, before)


def _bad(a):
    """'nan' or 'inf' when the array holds one that a flag looks for, else None."""
    if not isinstance(a, (np.ndarray, np.generic)) or a.dtype.kind not in "fc":
        return None
    if _flags["nans"] and np.isnan(a).any():
        return "nan"
    if _flags["infs"] and np.isinf(a).any():
        return "inf"
    return None


def _eager_layer(inner):
    def apply(prim, args, params):
        out = inner(prim, args, params)
        for o in (out if isinstance(out, (list, tuple)) else (out,)):
            if isinstance(o, Tensor):
                kind = _bad(o._data)
                if kind is not None:
                    raise FloatingPointError(f"invalid value ({kind}) encountered in "
                                             f"{prim.name}")
        return out
    return apply


def _jit_layer(orig, name_of):
    def call(self, *args, **kwargs):
        out = orig(self, *args, **kwargs)
        if _p.transforms_active():
            return out  # traced results carry no values; the outer call is checked
        from ..tree import tree_leaves
        kind = next((k for k in (_bad(x._data) for x in tree_leaves(out)
                                 if isinstance(x, Tensor) and not isinstance(x, _p.Tracer))
                     if k is not None), None)
        if kind is None:
            return out
        print(f"Invalid {kind} value encountered in the output of {name_of(self)}. "
              f"Calling the de-optimized version.")
        from .staging.jitted import disable_jit
        with disable_jit():
            orig(self, *args, **kwargs)  # the eager layer raises at the operation
        raise FloatingPointError(
            f"invalid value ({kind}) in the output of {name_of(self)}, but no operation made "
            f"it when run without jit (did an input hold it?)")
    return call
