"""Anomaly detection (PyTorch's ``set_detect_anomaly`` / ``detect_anomaly``): while on, each
VJP rule of the eager backward is checked, and the first one that returns NaN raises a
RuntimeError naming the operation (``Function 'DivBackward' returned nan values in its 0th
output.``). It wraps the first-order backward's VJP executor (the hook of
``set_vjp_executor``), so it costs nothing while off; a ``create_graph=True`` backward is not
checked."""
from __future__ import annotations

import numpy as np

from ..core import autograd as _ag
from ..core.tensor import Tensor

__all__ = ["set_detect_anomaly", "detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

_state = {"on": False, "check_nan": True, "prev": None}


def _checked(prim, params, args, ct, out, needed):
    prev = _state["prev"]
    grads = prev(prim, params, args, ct, out, needed) if prev is not None else \
        prim.vjp(ct, out, *args, **params)
    if _state["check_nan"]:
        gs = grads if isinstance(grads, (tuple, list)) else (grads,)
        for i, g in enumerate(gs):
            if isinstance(g, Tensor) and g.dtype.is_floating_point and \
                    np.isnan(np.asarray(g.detach().numpy())).any():
                raise RuntimeError(f"Function '{prim.name}Backward' returned nan values in its "
                                   f"{i}th output (anomaly detection is on; the forward "
                                   f"{prim.name} had inputs of shapes "
                                   f"{[tuple(a.shape) for a in args if isinstance(a, Tensor)]})")
    return grads


def _set(mode, check_nan=True):
    mode = bool(mode)
    if mode and not _state["on"]:
        _state["prev"] = _ag.set_vjp_executor(_checked)
    elif not mode and _state["on"]:
        _ag.set_vjp_executor(_state["prev"])
        _state["prev"] = None
    _state["on"], _state["check_nan"] = mode, bool(check_nan)


def is_anomaly_enabled():
    """Whether anomaly detection is on.

    >>> ember.autograd.is_anomaly_enabled()
    False
    """
    return _state["on"]


def is_anomaly_check_nan_enabled():
    """Whether anomaly detection checks the gradients for NaN.

    >>> ember.autograd.is_anomaly_check_nan_enabled()
    True
    """
    return _state["check_nan"]


class set_detect_anomaly:
    """Turn anomaly detection on or off, for good or as a context manager (restoring the
    previous setting on exit).

    >>> x = ember.tensor([0.], requires_grad=True)
    >>> with ember.autograd.set_detect_anomaly(True):
    ...     (x.sqrt() * 0.0).sum().backward()
    Traceback (most recent call last):
    ...
    RuntimeError: Function 'sqrtBackward' returned nan values in its 0th output ...
    >>> ember.autograd.is_anomaly_enabled()
    False
    """

    def __init__(self, mode, check_nan=True):
        self.prev = (_state["on"], _state["check_nan"])
        _set(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self.prev)
        return False


class detect_anomaly(set_detect_anomaly):
    """A context manager (or decorator) that turns anomaly detection on inside.

    >>> with ember.autograd.detect_anomaly():
    ...     ember.autograd.is_anomaly_enabled()
    True
    """

    def __init__(self, check_nan=True):
        self.prev = (_state["on"], _state["check_nan"])
        self.check_nan = check_nan

    def __enter__(self):
        _set(True, self.check_nan)
        return self

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with detect_anomaly(self.check_nan):
                return fn(*a, **k)
        return wrapper
