"""JAX's small top-level utilities: ``named_scope``, ``named_call``,
``ensure_compile_time_eval``, the ``enable_x64``, ``debug_nans`` and ``debug_infs`` contexts
and ``typeof``.

>>> with ember.named_scope("layer1"):
...     y = ember.numpy.ones(2) * 3
>>> y
tensor([3., 3.])
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from .core import dtypes as _dt
from .core.primitive import compile_time_eval
from .core.tensor import Aval, Tensor

__all__ = ["named_scope", "named_call", "ensure_compile_time_eval", "enable_x64", "debug_nans",
           "debug_infs", "typeof", "ShapedArray"]


class named_scope(contextlib.ContextDecorator):
    """``jax.named_scope(name)``: a context manager (or function decorator) that names the
    operations inside it for profilers and staged-graph readers. ember's graphs and plans
    carry no scope names, so it only checks the name; values are unchanged.

    >>> @ember.named_scope("double")
    ... def double(x):
    ...     return x * 2
    >>> ember.jit(double)(ember.numpy.arange(3.))
    tensor([0., 2., 4.])
    """

    def __init__(self, name):
        if not isinstance(name, str):
            raise TypeError(f"named_scope: the name must be a string, got "
                            f"{type(name).__name__} {name!r}")
        self.name = name

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def named_call(fun, *, name=None):
    """``jax.named_call(fun, name=)``: ``fun`` with its operations under the name ``name``
    (default ``fun.__name__``) for profilers; in ember the same function (see
    ``named_scope``).

    >>> ember.named_call(lambda x: x + 1, name="inc")(ember.tensor(1.))
    tensor(2.)
    """
    if not callable(fun):
        raise TypeError(f"named_call: expected a function, got {type(fun).__name__}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"named_call: name must be a string, got {type(name).__name__}")

    @functools.wraps(fun)
    def named(*args, **kwargs):
        return fun(*args, **kwargs)
    return named


@contextlib.contextmanager
def ensure_compile_time_eval():
    """``jax.ensure_compile_time_eval()``: inside it, operations whose inputs are all concrete
    (constants, Python numbers, arrays made inside it) run at once, even inside ``jit``,
    so their results are ordinary tensors that Python control flow and printing can read.
    Operations on traced values are still staged.

    >>> @ember.jit
    ... def f(x):
    ...     with ember.ensure_compile_time_eval():
    ...         n = int(ember.numpy.arange(4).sum())  # concrete, so int() works
    ...     return x * n
    >>> f(ember.tensor(2.))
    tensor(12.)
    """
    with compile_time_eval():
        yield


class _X64State:
    """``jax.enable_x64``: ``with ember.enable_x64(True): ...`` runs the block in 64-bit mode
    (``False``: 32-bit mode) and restores the previous mode after it; ``enable_x64.value`` is
    the current mode. ember's mode is process-wide (``ember.config.update("jax_enable_x64",
    ...)``), where JAX's context is per thread.

    >>> with ember.enable_x64(True):
    ...     print(ember.numpy.arange(2.).dtype)
    ember.float64
    >>> ember.numpy.arange(2.).dtype
    ember.float32
    """

    @property
    def value(self):
        return _dt.x64_enabled()

    def __call__(self, new_val=True):
        return _x64_mode(bool(new_val))

    def __repr__(self):
        return f"enable_x64(value={self.value})"


@contextlib.contextmanager
def _x64_mode(on):
    before = _dt.x64_enabled()
    _dt.set_x64(on)
    try:
        yield
    finally:
        _dt.set_x64(before)


enable_x64 = _X64State()


class _CheckState:
    """``jax.debug_nans`` / ``jax.debug_infs``: ``with ember.debug_nans(True): ...`` raises
    ``FloatingPointError`` at the operation that produces a NaN (an inf) inside the block;
    ``False`` turns the check off there; ``.value`` is the current setting, which
    ``ember.config.update("jax_debug_nans", True)`` sets for the whole process.

    >>> with ember.debug_nans(True):
    ...     ember.numpy.log(ember.numpy.asarray(-1.0))
    Traceback (most recent call last):
    FloatingPointError: invalid value (nan) encountered in log
    """

    def __init__(self, kind):
        self.kind = kind

    @property
    def value(self):
        from .transforms import nan_checks
        return nan_checks.enabled(self.kind)

    def __call__(self, new_val=True):
        from .transforms import nan_checks
        return nan_checks.checking(self.kind, bool(new_val))

    def __repr__(self):
        return f"debug_{self.kind}(value={self.value})"


debug_nans = _CheckState("nans")
debug_infs = _CheckState("infs")


class ShapedArray(Aval):
    """The type ``typeof`` gives: a shape and a dtype, printed as JAX prints them
    (``float32[3,3]``); ``shape``, ``dtype``, ``ndim``, ``size`` as a tensor's."""

    __slots__ = ()

    def __str__(self):
        return f"{self.dtype.name}[{','.join(str(d) for d in self.shape)}]"

    def str_short(self):
        return str(self)

    def __repr__(self):
        return f"ShapedArray({self})"


def typeof(x):
    """``jax.typeof``: the type of ``x`` (a tensor, a traced value inside a transform, NumPy
    data or a Python number, canonicalized as a JAX-facing entry point does) as a
    ``ShapedArray`` (shape and dtype).

    >>> print(ember.typeof(ember.numpy.ones((3, 3))))
    float32[3,3]
    >>> ember.typeof(2.0)
    ShapedArray(float32[])
    """
    if isinstance(x, (Tensor, Aval)):
        return ShapedArray(tuple(x.shape), x.dtype)
    try:
        a = np.asarray(_dt.canonical_value(x))
        return ShapedArray(a.shape, _dt.from_np(a.dtype))
    except (TypeError, ValueError) as e:
        raise TypeError(f"typeof: {type(x).__name__} {x!r:.60} is not an array type (a tensor, "
                        f"NumPy data or a Python number): {e}") from None
