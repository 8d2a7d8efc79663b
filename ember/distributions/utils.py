"""Helpers shared by the distributions: parameter checks with torch-like messages, broadcast
of parameters, clamped probabilities, and eager NumPy draws from ember's global generator."""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from ..core.creation import as_tensor as _as_tensor
from ..ops import elementwise as _ew
from ..random import generator as _rnd


def as_value(value, like=None):
    """``value`` as a tensor (a Python number becomes one of ``like``'s dtype)."""
    if isinstance(value, Tensor):
        return value
    t = _as_tensor(value)
    if like is not None and not t.dtype.is_floating_point and like.dtype.is_floating_point:
        t = t.to(like.dtype)
    elif like is not None and t.dtype.is_floating_point and t.dtype != like.dtype and \
            like.dtype.is_floating_point:
        t = t.to(like.dtype)
    return t


def require(dist, name, constraint, value):
    """Raise ValueError when validation is on and ``value`` violates ``constraint``."""
    if dist._check(lambda: constraint.check(value), value):
        raise ValueError(f"{type(dist).__name__}: expected parameter {name} (Tensor of shape "
                         f"{tuple(value.shape)}) to satisfy the constraint {constraint!r}, "
                         f"but found invalid values:\n{value}")


def check_support(dist, value):
    """With validation on, raise ValueError when ``value`` is outside ``dist.support``."""
    sup = getattr(dist, "support", None)
    if sup is None or not dist._validate:
        return
    from ..core.primitive import Tracer
    from ..ops import reduce as _red
    if isinstance(value, Tracer):
        return
    ok = _red.all(sup.check(value))
    if not isinstance(ok, Tracer) and not bool(ok):
        raise ValueError(f"{type(dist).__name__}.log_prob: the value (shape "
                         f"{tuple(value.shape)}) must be within the support {sup!r}; got "
                         f"{value}")


def clamp_probs(p):
    eps = float(np.finfo(p.dtype.np).eps)
    return _ew.clamp(p, eps, 1 - eps)


def tiny(dtype):
    return float(np.finfo(dtype.np).tiny)


def numpy_rng():
    """The NumPy generator behind ``ember.manual_seed`` (for draws with no ember kernel:
    Poisson, binomial, gamma); eager only."""
    return _rnd._gen(None)


def eager_array(t, who):
    """``t``'s NumPy value for an eager draw; a clear error under a trace."""
    from ..core.primitive import Tracer
    if isinstance(t, Tracer):
        raise TypeError(f"{who}.sample: draws from NumPy's generator, so it cannot run inside "
                        f"jit/vmap/grad traces; sample outside the transform and pass the "
                        f"sample in")
    return t.detach().numpy()
