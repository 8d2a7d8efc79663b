"""PyTorch's memory formats: ``ember.contiguous_format``, ``ember.channels_last``
(NHWC order in memory for a 4-D NCHW tensor), ``ember.channels_last_3d`` (NDHWC for 5-D)
and ``ember.preserve_format`` (keep the input's layout).

A tensor's shape and values never depend on its memory format; the format shows in
``stride()`` and ``is_contiguous(memory_format=...)``, and ember's kernels take any layout.
The helpers here lay out a NumPy array in a format; traced values (inside ``jit``/``grad``)
have no layout and are left as they are.

>>> x = ember.zeros(2, 3, 4, 5).to(memory_format=ember.channels_last)
>>> x.stride(), x.is_contiguous(), x.is_contiguous(memory_format=ember.channels_last)
((60, 1, 15, 3), False, True)
"""
from __future__ import annotations

import numpy as np


class memory_format:
    """The type of ``ember.contiguous_format``, ``channels_last``, ``channels_last_3d`` and
    ``preserve_format`` (as ``torch.memory_format``)."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"ember.{self._name}"

    def __reduce__(self):  # pickled by name: the same object after loading
        return self._name


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

# the order of the dims in memory, outermost first
_ORDER = {channels_last: (0, 2, 3, 1), channels_last_3d: (0, 2, 3, 4, 1)}
_NAMES = {"channels_last": "(N, C, H, W)", "channels_last_3d": "(N, C, D, H, W)"}


def rank(fmt, op):
    """The rank of the tensors the format ``fmt`` lays out (0: any); refuses what is not a
    memory format."""
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{op}: memory_format must be one of ember.contiguous_format, "
                        f"ember.channels_last, ember.channels_last_3d, ember.preserve_format; "
                        f"got {fmt!r}")
    return len(_ORDER.get(fmt, ()))


def check(fmt, ndim, op):
    """Refuse what is not a memory format, and a channels-last format for the wrong rank."""
    if fmt is None or not rank(fmt, op):
        return
    order = _ORDER[fmt]
    if order is not None and ndim != len(order):
        raise RuntimeError(f"{op}: memory_format={fmt!r} needs a {len(order)}-D tensor "
                           f"{_NAMES[fmt._name]}, got a {ndim}-D one; use it on "
                           f"{len(order)}-D tensors only (Module.to applies it to those)")


def is_laid_out(a, fmt) -> bool:
    """Whether the array ``a`` is dense in the format ``fmt`` (dims of size 1 don't count)."""
    if not isinstance(a, np.ndarray):
        return True
    if fmt is None or fmt is preserve_format or fmt is contiguous_format:
        return bool(a.flags.c_contiguous) if fmt is not preserve_format else True
    order = _ORDER[fmt]
    return a.ndim == len(order) and bool(a.transpose(order).flags.c_contiguous)


def laid_out(a, fmt):
    """``a`` itself when it is already in the format ``fmt``, else a copy laid out so."""
    if not isinstance(a, np.ndarray) or fmt is None or fmt is preserve_format:
        return a
    if fmt is contiguous_format:
        return a if a.flags.c_contiguous else np.ascontiguousarray(a)
    order = _ORDER[fmt]
    inverse = tuple(np.argsort(order))
    # exactly the channels-last strides, also along dims of size 1, as PyTorch sets them
    strides = [0] * a.ndim
    step = a.itemsize
    for d in reversed(order):
        strides[d] = step
        step *= a.shape[d]
    if a.strides == tuple(strides):
        return a
    out = np.empty(tuple(a.shape[d] for d in order), a.dtype).transpose(inverse)
    out[...] = a
    return out


def like(out, x, fmt):
    """A fresh array ``out`` (C-ordered) made with the layout that ``fmt`` asks for, given the
    tensor data ``x`` it is made like: ``preserve_format`` (the default of ``*_like``) keeps a
    channels-last input's layout, as PyTorch keeps a dense input's strides."""
    if fmt is None or fmt is preserve_format:
        if not isinstance(x, np.ndarray) or x.flags.c_contiguous:
            return out
        fmt = next((f for f, o in _ORDER.items() if x.ndim == len(o) and is_laid_out(x, f)),
                   None)
        if fmt is None:
            return out
    return laid_out(out, fmt)
