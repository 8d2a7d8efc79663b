"""Turning Python data, NumPy arrays and DLPack capsules into Tensors."""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from . import dtypes as _dt
from .tensor import Tensor, _contains_tensor, _infer_dtype, _to_array, _unwrap_nested  # noqa: F401
from .tensor import device as _device


def place(arr, device=None):
    """``arr`` (any backend's array) on ``device`` (None: the default device), copied across
    backends through the host when it lives elsewhere."""
    if device is None and type(arr) is np.ndarray and _backend.default_device().type == "cpu":
        return arr
    dst = _backend.get(device)
    src = _backend.backend_of(arr)
    if src is dst:
        return arr
    if not dst.computes:
        return dst.empty(arr.shape, arr.dtype)
    if not src.computes:
        raise RuntimeError(f"to(): a meta tensor of shape {tuple(arr.shape)} has no data to copy "
                           f"to {dst.name}; use module.to_empty(device='{dst.name}') or "
                           f"ember.empty_like(t, device='{dst.name}') and initialise it")
    return dst.from_host(src.to_host(arr))


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors).

    >>> ember.tensor([[1, 2], [3, 4]])
    tensor([[1, 2],
            [3, 4]])
    >>> ember.tensor([1.5, 2.0]).dtype, ember.tensor(True).dtype
    (ember.float32, ember.bool)
    >>> ember.tensor([1., 2.], dtype=ember.float64, requires_grad=True)
    tensor([1., 2.], dtype=ember.float64, requires_grad=True)
    """
    if device is None and isinstance(data, Tensor):
        device = data.device  # as torch.tensor(t): stays on t's device
    if isinstance(data, np.ndarray) and data.dtype == np.float64 and dtype is None:
        arr = data.copy()  # NumPy float64 stays float64, as torch.tensor(ndarray) does
    else:
        arr = _to_array(data, dtype, copy=True)
    if arr.dtype.kind in "fc" and dtype is None and not isinstance(data, (np.ndarray, Tensor)):
        arr = arr.astype((_dt.get_default_dtype() if arr.dtype.kind == "f" else
                          _dt.default_complex_dtype()).np, copy=False)
    t = Tensor._wrap(place(arr, device))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with ``data`` when it already is a suitable array.

    >>> a = np.array([1., 2.])
    >>> t = ember.as_tensor(a)
    >>> a[0] = 10.0                          # shared memory: the tensor sees the change
    >>> t
    tensor([10., 2.], dtype=ember.float64)
    """
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype) and \
            (device is None or data.device == _backend.device(device)):
        return data
    if isinstance(data, np.ndarray):
        return Tensor._wrap(place(_to_array(data, dtype, copy=False), device))
    return tensor(data, dtype=dtype, device=device)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (writes are seen by both).

    >>> a = np.zeros(3, dtype=np.float32)
    >>> t = ember.from_numpy(a)
    >>> t[1] = 5.0
    >>> a
    array([0., 5., 0.], dtype=float32)
    """
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(arr).__name__}")
    _dt.from_np(arr.dtype)
    return Tensor._wrap(arr)


def from_dlpack(ext) -> Tensor:
    """A tensor sharing memory with any object that implements the DLPack protocol.

    >>> ember.from_dlpack(np.arange(3.0))
    tensor([0., 1., 2.], dtype=ember.float64)
    """
    return Tensor._wrap(np.from_dlpack(ext))


_dt._constructor[0] = tensor
