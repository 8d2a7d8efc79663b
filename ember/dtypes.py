"""``jax.dtypes``' names over ember's dtypes: ``canonicalize_dtype`` (JAX's 32-bit rule unless
64-bit mode), ``issubdtype``, ``result_type``, ``finfo``, ``iinfo``, ``bfloat16``,
``scalar_type_of``, ``itemsize_bits`` and ``TypePromotionError``. Not here: ``float0`` (ember
gives integer inputs no tangent) and the extended ``prng_key`` dtype (keys are uint32 arrays).

>>> ember.dtypes.canonicalize_dtype(np.float64)
dtype('float32')
"""
from __future__ import annotations

import numpy as np

from .core import dtypes as _dt
from .numpy import finfo, iinfo, result_type  # noqa: F401
from .numpy_types import bfloat16, issubdtype  # noqa: F401

__all__ = ["canonicalize_dtype", "issubdtype", "result_type", "finfo", "iinfo", "bfloat16",
           "scalar_type_of", "itemsize_bits", "TypePromotionError"]


class TypePromotionError(ValueError):
    """Raised where a dtype promotion is not allowed (``jax.dtypes.TypePromotionError``)."""


def canonicalize_dtype(dtype, allow_extended_dtype=False):
    """The NumPy dtype JAX computes ``dtype`` in: float64/int64/uint64/complex128 become their
    32-bit kinds unless 64-bit mode is on (``ember.config.update("jax_enable_x64", True)``).

    >>> ember.dtypes.canonicalize_dtype("int64"), ember.dtypes.canonicalize_dtype(ember.float16)
    (dtype('int32'), dtype('float16'))
    """
    return _dt.canonical_np(np.dtype(_dt.as_dtype(dtype).np))


def scalar_type_of(x):
    """The Python scalar type (bool, int, float or complex) of ``x``'s dtype.

    >>> ember.dtypes.scalar_type_of(ember.ones(2)), ember.dtypes.scalar_type_of(3)
    (<class 'float'>, <class 'int'>)
    """
    d = _dt.as_dtype(getattr(x, "dtype", None) or np.asarray(x).dtype)
    if d.is_complex:
        return complex
    if d.is_floating_point:
        return float
    return bool if d.name == "bool" else int


def itemsize_bits(dtype):
    """How many bits one element of ``dtype`` takes.

    >>> ember.dtypes.itemsize_bits(ember.bfloat16)
    16
    """
    return 8 * _dt.as_dtype(dtype).itemsize
