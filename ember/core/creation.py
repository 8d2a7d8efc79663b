"""Turning Python data, NumPy arrays and DLPack capsules into Tensors."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .tensor import Tensor, _contains_tensor, _infer_dtype, _to_array, _unwrap_nested  # noqa: F401
from .tensor import device as _device


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors)."""
    if device is not None:
        _device(device)
    if isinstance(data, np.ndarray) and data.dtype == np.float64 and dtype is None:
        arr = data.copy()  # NumPy float64 stays float64, as torch.tensor(ndarray) does
    else:
        arr = _to_array(data, dtype, copy=True)
    if arr.dtype.kind == "f" and dtype is None and not isinstance(data, (np.ndarray, Tensor)):
        arr = arr.astype(_dt.get_default_dtype().np, copy=False)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with ``data`` when it already is a suitable array."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    if isinstance(data, np.ndarray):
        return Tensor._wrap(_to_array(data, dtype, copy=False))
    return tensor(data, dtype=dtype, device=device)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (writes are seen by both)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(arr).__name__}")
    _dt.from_np(arr.dtype)
    return Tensor._wrap(arr)


def from_dlpack(ext) -> Tensor:
    """A tensor sharing memory with any object that implements the DLPack protocol."""
    return Tensor._wrap(np.from_dlpack(ext))
