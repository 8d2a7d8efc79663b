"""The strict test device (``device="strict"``, alias ``"cpu:strict"``).

Its arrays are NumPy arrays behind a distinct type, :class:`StrictArray`, that refuses to
mix with plain NumPy arrays: a ufunc or NumPy function given a StrictArray and a plain
ndarray raises :class:`DeviceMixError`. Its namespace creates only StrictArrays. So any
code that reaches past its inputs' namespace (a module-level ``np.zeros``, an ``np.asarray``
that drops to a plain array, a preallocated NumPy buffer) fails on this device instead of
silently computing on the CPU; and because the arithmetic is NumPy's own, results are the
CPU backend's bits. Python and NumPy scalars mix freely, as they do with any device.
"""
from __future__ import annotations

import numpy as np

from .base import Backend, register
from .numpy_backend import make_namespace


class DeviceMixError(TypeError):
    """A strict array met a plain NumPy array in one operation."""


class StrictArray(np.ndarray):
    """A NumPy array of the strict device (see the module docstring)."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        args = [_plain(x, ufunc.__name__) for x in inputs]
        if out is not None:
            kwargs["out"] = tuple(_plain(o, ufunc.__name__) for o in out)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _strict(result)

    def __array_function__(self, func, types, args, kwargs):
        for t in types:
            if not issubclass(t, StrictArray) and _has_plain(args, kwargs):
                raise DeviceMixError(f"{func.__name__}: a strict-device array met a {t.__name__}"
                                     f" (a CPU array); move it with .to('strict') first")
        return _strict(func(*_plain_tree(args, func.__name__),
                            **_plain_tree(kwargs, func.__name__)))

    def __getitem__(self, idx):  # an int index gives a 0-d strict array, not a NumPy scalar
        r = np.ndarray.__getitem__(self, idx)
        return r if type(r) is StrictArray else _strict(r)

    def __reduce__(self):  # pickles (e.g. to a DataLoader worker) as a strict array again
        return (_rebuild, (np.asarray(self.view(np.ndarray)),))


def _has_plain(args, kwargs):
    """Whether a NumPy function's arguments hold a plain (non-0-d) ndarray."""
    try:
        _plain_tree(args, ""), _plain_tree(kwargs, "")
    except DeviceMixError:
        return True
    return False


def _rebuild(a):
    return a.view(StrictArray)


def _plain(x, what):
    t = type(x)
    if t is StrictArray:
        return x.view(np.ndarray)
    if isinstance(x, np.ndarray) and x.ndim:  # a 0-d array mixes, as a scalar (PyTorch's
        # CPU scalar tensors mix with any device)
        raise DeviceMixError(f"{what}: a strict-device array met a plain NumPy array of shape "
                             f"{x.shape} (a CPU array); move it with .to('strict') first")
    return x


def _plain_tree(x, what):
    if isinstance(x, np.ndarray):
        return _plain(x, what)
    if type(x) in (list, tuple):
        return type(x)(_plain_tree(v, what) for v in x)
    if type(x) is dict:
        return {k: _plain_tree(v, what) for k, v in x.items()}
    return x


def _strict(x):
    t = type(x)
    if t is np.ndarray:
        return x.view(StrictArray)
    if isinstance(x, np.generic):  # NumPy turns 0-d results into scalars: keep the device
        return np.asarray(x).view(StrictArray)
    if t is tuple or t is list:
        return t(_strict(v) for v in x)
    if isinstance(x, tuple):  # NumPy's named results (linalg.qr, svd, eigh, slogdet)
        return t(*(_strict(v) for v in x))
    return x


def _creating(fn):
    """A NumPy function whose array results become strict arrays."""
    def wrapped(*args, **kwargs):
        return _strict(fn(*args, **kwargs))
    wrapped.__name__ = getattr(fn, "__name__", "function")
    wrapped.__wrapped__ = fn
    return wrapped


def _make_strict_namespace():
    from .kernels import erf
    ns = make_namespace("ember.backend.strict.xp", erf=erf,
                        as_strided=np.lib.stride_tricks.as_strided)
    for k, v in list(vars(ns).items()):
        # ufuncs dispatch through StrictArray.__array_ufunc__ already; classes (dtypes,
        # ndarray) and submodules stay as they are; every other function gets its results
        # made strict (creation functions: zeros, arange, asarray, ...)
        if callable(v) and not isinstance(v, (type, np.ufunc)) and not k.startswith("_"):
            setattr(ns, k, _creating(v))
    ns.asarray = ns.asanyarray = _creating(np.asarray)
    ns.ndarray = np.ndarray
    return ns


class StrictBackend(Backend):
    name = "strict"
    xp = _make_strict_namespace()
    array_types = (StrictArray,)

    def from_host(self, a):
        return np.array(a).view(StrictArray)

    def to_host(self, a):
        return np.array(a.view(np.ndarray))


backend = register(StrictBackend())
