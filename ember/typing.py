"""``jax.typing``'s annotations: ``ArrayLike`` (what the JAX-facing functions accept as an
array: tensors, NumPy arrays and scalars, Python numbers) and ``DTypeLike`` (what they accept
as a dtype).

>>> import ember.typing
>>> def scale(x: ember.typing.ArrayLike, dtype: ember.typing.DTypeLike = None): ...
"""
from __future__ import annotations

from typing import Union

import numpy as np

from .core.dtypes import DType
from .core.tensor import Tensor

__all__ = ["ArrayLike", "DTypeLike"]

ArrayLike = Union[Tensor, np.ndarray, np.bool_, np.number, bool, int, float, complex]
DTypeLike = Union[str, type, np.dtype, DType]
