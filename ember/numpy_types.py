"""``jax.numpy``'s type names, dtype helpers, print options and NumPy-format files,
re-exported by ``ember.numpy``. The abstract scalar classes (``generic``, ``floating``, ...)
are NumPy's, as in JAX; the concrete names are ember dtypes (which compare equal to NumPy's
and are constructors: ``jnp.double(3)`` is a 0-d float64 tensor)."""
from __future__ import annotations

import numpy as _np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .numpy_base import arr as _a, jnp as _jnp

__all__ = ["dtype", "int_", "uint", "float_", "complex_", "double", "single", "cdouble",
           "csingle", "bfloat16", "generic", "number", "integer", "signedinteger",
           "unsignedinteger", "inexact", "floating", "complexfloating", "character",
           "flexible", "object_", "issubdtype", "promote_types", "printoptions",
           "get_printoptions", "set_printoptions", "save", "savez", "load", "ComplexWarning",
           "fromfile", "fromiter"]

int_, uint, float_, complex_ = _dt.int64, _dt.uint64, _dt.float64, _dt.complex128
double, single, cdouble, csingle = _dt.float64, _dt.float32, _dt.complex128, _dt.complex64
bfloat16 = _dt.bfloat16
generic, number, integer = _np.generic, _np.number, _np.integer
signedinteger, unsignedinteger, inexact = _np.signedinteger, _np.unsignedinteger, _np.inexact
floating, complexfloating = _np.floating, _np.complexfloating
character, flexible, object_ = _np.character, _np.flexible, _np.object_
ComplexWarning = _np.exceptions.ComplexWarning


def printoptions(*args, **kwargs):
    """NumPy's print options for a ``with`` block (``np.printoptions``, as JAX's).

    >>> import ember.numpy as jnp
    >>> with jnp.printoptions(precision=2):
    ...     jnp.get_printoptions()["precision"]
    2
    """
    return _np.printoptions(*args, **kwargs)


def get_printoptions():
    """NumPy's current print options (``np.get_printoptions``, as JAX's).

    >>> import ember.numpy as jnp
    >>> "precision" in jnp.get_printoptions()
    True
    """
    return _np.get_printoptions()


def set_printoptions(*args, **kwargs):
    """Set NumPy's print options (``np.set_printoptions``, as JAX's; ember's tensor printing
    follows ``ember.set_printoptions``, PyTorch's).

    >>> import ember.numpy as jnp
    >>> old = jnp.get_printoptions(); jnp.set_printoptions(precision=3)
    >>> jnp.get_printoptions()["precision"]
    3
    >>> jnp.set_printoptions(**old)
    """
    _np.set_printoptions(*args, **kwargs)


def dtype(obj, align=False, copy=False):
    """The ember dtype named by ``obj`` (a name, a NumPy/ember dtype or scalar type, or an
    array's dtype).

    >>> import ember.numpy as jnp
    >>> jnp.dtype("float32"), jnp.dtype(jnp.ones(2))
    (ember.float32, ember.float32)
    """
    if isinstance(obj, Tensor) or isinstance(obj, _np.ndarray):
        return _dt.as_dtype(obj.dtype)
    if obj is float:
        return _dt.float64
    if obj is int:
        return _dt.int64
    if obj is complex:
        return _dt.complex128
    if obj is bool:
        return _dt.bool_
    return _dt.as_dtype(obj)


def _np_type(x):
    """A NumPy dtype or abstract scalar class for ``x``; bfloat16 as the floating class."""
    if isinstance(x, type) and issubclass(x, _np.generic):
        return x
    if isinstance(x, Tensor):
        x = x.dtype
    if isinstance(x, _dt.DType):
        if x is _dt.bfloat16:
            return "bfloat16"
        return x.np
    if isinstance(x, str) and x == "bfloat16":
        return "bfloat16"
    return _np.dtype(x)


def issubdtype(arg1, arg2):
    """Whether dtype ``arg1`` is of the kind ``arg2`` (a dtype or an abstract class such as
    ``jnp.floating``); bfloat16 counts as floating, as in JAX.

    >>> import ember.numpy as jnp
    >>> jnp.issubdtype(jnp.float32, jnp.floating), jnp.issubdtype(jnp.int32, jnp.inexact)
    (True, False)
    """
    a, b = _np_type(arg1), _np_type(arg2)
    if a == "bfloat16" or b == "bfloat16":
        if a == b:
            return True
        if a == "bfloat16":
            return isinstance(b, type) and b in (_np.floating, _np.inexact, _np.number,
                                                 _np.generic)
        return False
    return bool(_np.issubdtype(a, b))


def promote_types(a, b):
    """The dtype two dtypes promote to (ember's promotion table).

    >>> import ember.numpy as jnp
    >>> jnp.promote_types(jnp.int32, jnp.float32)
    ember.float32
    """
    return _dt.promote_types(dtype(a), dtype(b))


def save(file, arr, allow_pickle=True):
    """``arr``'s data saved in NumPy's ``.npy`` format (``np.save``).

    >>> import io, ember.numpy as jnp
    >>> f = io.BytesIO(); jnp.save(f, jnp.array([1., 2.])); _ = f.seek(0); jnp.load(f)
    tensor([1., 2.])
    """
    _np.save(file, _a(arr).numpy(), allow_pickle=allow_pickle)


def savez(file, *args, allow_pickle=True, **kwds):
    """Several arrays saved in NumPy's ``.npz`` format (``np.savez``).

    >>> import io, ember.numpy as jnp
    >>> f = io.BytesIO(); jnp.savez(f, w=jnp.ones(2)); _ = f.seek(0); jnp.load(f)["w"]
    array([1., 1.], dtype=float32)
    """
    _np.savez(file, *[_a(x).numpy() for x in args],
              **{k: _a(v).numpy() for k, v in kwds.items()})


def load(file, *args, **kwargs):
    """An array loaded with ``np.load`` (an ``.npy`` file's data as a tensor; an ``.npz``
    archive comes back as NumPy's lazy mapping of arrays, as in JAX).

    >>> import io, ember.numpy as jnp
    >>> f = io.BytesIO(); jnp.save(f, jnp.arange(3)); _ = f.seek(0); jnp.load(f).shape
    ember.Size([3])
    """
    out = _np.load(file, *args, **kwargs)
    if isinstance(out, _np.ndarray) and out.dtype != object:
        return _jnp().asarray(out)
    return out


def fromfile(*args, **kwargs):
    """Not provided, as in JAX (reading a file is not a pure array operation): use
    ``jnp.asarray(np.fromfile(...))``.

    >>> import ember.numpy as jnp
    >>> jnp.fromfile("x.bin")
    Traceback (most recent call last):
    ...
    NotImplementedError: fromfile: ...
    """
    raise NotImplementedError("fromfile: not provided (as in JAX): reading a file is not a "
                              "pure array operation; use jnp.asarray(np.fromfile(...))")


def fromiter(*args, **kwargs):
    """Not provided, as in JAX (an iterator's length is unknown until consumed): use
    ``jnp.asarray(np.fromiter(...))``.

    >>> import ember.numpy as jnp
    >>> jnp.fromiter(iter([1, 2]), int)
    Traceback (most recent call last):
    ...
    NotImplementedError: fromiter: ...
    """
    raise NotImplementedError("fromiter: not provided (as in JAX): an iterator's length is "
                              "unknown until consumed; use jnp.asarray(np.fromiter(...))")
