"""Affine int8 quantization as functions on ordinary tensors (PyTorch's functional names).

``quantize_per_tensor`` / ``quantize_per_channel`` return plain integer tensors (the
integer representation, what PyTorch's ``q.int_repr()`` gives), ``dequantize`` maps them
back, and ``fake_quantize_per_tensor_affine`` / ``fake_quantize_per_channel_affine`` round
trip in float with PyTorch's straight-through gradient: 1 where the rounded value lies inside
``[quant_min, quant_max]``, 0 outside. Rounding is half to even, as PyTorch's
``nearbyint``; the float arithmetic is float32 in PyTorch's order (fake quantization rounds
``x * (1 / scale)`` and adds the zero point; ``quantize_*`` round ``x * (1 / scale) +
zero_point`` as one fused multiply-add), so results match it bit for bit.

The fake quantization is a composition of existing primitives — the quantized value is
computed on the detached input, and the gradient flows through ``(x - x.detach()) * mask``,
which is exactly zero — so every transform (``grad``, ``vmap``, ``jit``) handles it.
"""
from __future__ import annotations

import numpy as np

from ...core import dtypes as _dt
from ...core.tensor import Tensor
from ...ops.elementwise import as_value

__all__ = ["quantize_per_tensor", "quantize_per_channel", "dequantize",
           "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine"]

_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int32": (-2 ** 31, 2 ** 31 - 1),
           "qint8": (-128, 127), "quint8": (0, 255), "qint32": (-2 ** 31, 2 ** 31 - 1)}


def _qdtype(dtype, op):
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", str(dtype))
    name = name.replace("torch.", "").replace("ember.", "")
    if name not in _RANGES:
        raise TypeError(f"{op}: dtype must be int8/qint8, uint8/quint8 or int32/qint32, got "
                        f"{dtype!r}")
    storage = {"qint8": "int8", "quint8": "uint8", "qint32": "int32"}.get(name, name)
    return _dt.as_dtype(storage), _RANGES[name]


def _check_float(x, op):
    x = as_value(x)
    if not x.dtype.is_floating_point:
        raise TypeError(f"{op}: input must be a floating tensor, got {x.dtype} of shape "
                        f"{tuple(x.shape)}")
    return x


def _check_range(qmin, qmax, zero_point, op):
    if not qmin <= qmax:
        raise ValueError(f"{op}: quant_min ({qmin}) must be <= quant_max ({qmax})")
    zp = np.asarray(zero_point)
    if zp.size and (zp.min() < qmin or zp.max() > qmax):
        raise ValueError(f"{op}: zero_point {zp.tolist()} must lie within [quant_min, "
                         f"quant_max] = [{qmin}, {qmax}]")


def _channel_params(x, scale, zero_point, axis, op):
    """scale and zero_point as float32 arrays shaped to broadcast along ``axis``."""
    s = np.asarray(scale.detach().numpy() if isinstance(scale, Tensor) else scale, np.float64)
    z = np.asarray(zero_point.detach().numpy() if isinstance(zero_point, Tensor)
                   else zero_point)
    if axis is None:
        if s.size != 1 or z.size != 1:
            raise ValueError(f"{op}: per-tensor quantization takes one scale and zero_point, "
                             f"got shapes {s.shape} and {z.shape}")
        return s.reshape(()).astype(np.float32), z.reshape(()).astype(np.int64)
    ax = axis % x.ndim if x.ndim else 0
    c = x.shape[ax]
    if s.shape != (c,) or z.shape != (c,):
        raise ValueError(f"{op}: per-channel scale and zero_point need shape ({c},) (dim "
                         f"{axis} of the input {tuple(x.shape)}), got {s.shape} and {z.shape}")
    shape = [1] * x.ndim
    shape[ax] = c
    return s.astype(np.float32).reshape(shape), z.astype(np.int64).reshape(shape)


def _rounded(x, s, z):
    """``nearbyint(x * (1 / scale)) + zero_point`` in float32, on the detached input (the
    order of PyTorch's fake quantization; its quantize_per_tensor adds the zero point before
    rounding, see ``_quantize``)."""
    inv = (np.float32(1.0) / s).astype(np.float32)
    xd = x.detach()
    return (xd * Tensor._wrap(np.asarray(inv))).round() + Tensor._wrap(np.asarray(z, np.float32))


def _fake_quantize(x, scale, zero_point, quant_min, quant_max, axis, op):
    x = _check_float(x, op)
    qmin, qmax = int(quant_min), int(quant_max)
    s, z = _channel_params(x, scale, zero_point, axis, op)
    _check_range(qmin, qmax, z, op)
    if np.any(s <= 0) or not np.all(np.isfinite(s)):
        raise ValueError(f"{op}: scale must be positive and finite, got {s.ravel().tolist()}")
    r = _rounded(x, s, z)
    inside = (r >= qmin) & (r <= qmax)
    zt = Tensor._wrap(np.asarray(z, np.float32))
    q = (r.clamp(qmin, qmax) - zt) * Tensor._wrap(np.asarray(s))
    q = q.to(x.dtype)
    # straight through: the value is q exactly ((x - x) is 0), the gradient the mask
    return q + (x - x.detach()) * inside.to(x.dtype)


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max):
    """Quantize and dequantize with one ``scale``/``zero_point``, as
    ``torch.fake_quantize_per_tensor_affine``: the gradient passes through where the rounded
    value is within ``[quant_min, quant_max]`` and is 0 outside.

    >>> x = ember.tensor([-1.0, 0.04, 0.06, 0.5, 2.0], requires_grad=True)
    >>> y = ember.fake_quantize_per_tensor_affine(x, 0.1, 0, -10, 10)
    >>> y
    tensor([-1.0000, 0.0000, 0.1000, 0.5000, 1.0000], grad_fn=<AddBackward>)
    >>> y.sum().backward(); x.grad
    tensor([1., 1., 1., 1., 0.])
    """
    return _fake_quantize(input, scale, zero_point, quant_min, quant_max, None,
                          "fake_quantize_per_tensor_affine")


def fake_quantize_per_channel_affine(input, scale, zero_point, axis, quant_min, quant_max):
    """Fake quantization with one ``scale``/``zero_point`` per slice along ``axis``, as
    ``torch.fake_quantize_per_channel_affine`` (same straight-through gradient).

    >>> w = ember.tensor([[0.26, -0.26], [2.6, -2.6]])
    >>> ember.fake_quantize_per_channel_affine(w, ember.tensor([0.1, 1.0]), ember.tensor([0, 0]),
    ...                                        0, -128, 127)
    tensor([[ 0.3000, -0.3000],
            [ 3.0000, -3.0000]])
    """
    return _fake_quantize(input, scale, zero_point, quant_min, quant_max, int(axis),
                          "fake_quantize_per_channel_affine")


def _quantize(x, scale, zero_point, dtype, axis, op):
    x = _check_float(x, op)
    storage, (qmin, qmax) = _qdtype(dtype, op)
    s, z = _channel_params(x, scale, zero_point, axis, op)
    _check_range(qmin, qmax, z, op)
    inv = (np.float32(1.0) / s).astype(np.float32)
    a = x.detach().numpy().astype(np.float32)
    # x * inv + zero_point with one rounding (PyTorch's kernel uses a fused multiply-add):
    # the product of two float32 values is exact in float64, then one rounding to float32
    v = (a.astype(np.float64) * inv.astype(np.float64) + z).astype(np.float32)
    q = np.clip(np.rint(v), qmin, qmax)
    return Tensor._wrap(q.astype(storage.np))


def quantize_per_tensor(input, scale, zero_point, dtype="qint8"):
    """The integer representation of ``input`` quantized with one scale and zero point
    (``clamp(nearbyint(x / scale + zero_point))``), as an ordinary int8/uint8/int32 tensor —
    what ``torch.quantize_per_tensor(...).int_repr()`` holds.

    >>> ember.quantize_per_tensor(ember.tensor([-1.0, 0.25, 0.35, 100.0]), 0.1, 0, "qint8")
    tensor([-10, 2, 4, 127], dtype=ember.int8)
    """
    return _quantize(input, scale, zero_point, dtype, None, "quantize_per_tensor")


def quantize_per_channel(input, scales, zero_points, axis, dtype="qint8"):
    """Per-channel quantization along ``axis`` (one scale and zero point per slice).

    >>> ember.quantize_per_channel(ember.tensor([[1.0, -1.0], [1.0, -1.0]]),
    ...                            ember.tensor([0.1, 0.5]), ember.tensor([0, 10]), 0, "quint8")
    tensor([[10, 0],
            [12, 8]], dtype=ember.uint8)
    """
    return _quantize(input, scales, zero_points, dtype, int(axis), "quantize_per_channel")


def dequantize(input, scale, zero_point, axis=None):
    """``(q - zero_point) * scale`` in float32 for an integer tensor from ``quantize_*``
    (``axis``: the channel dim of per-channel parameters).

    >>> q = ember.quantize_per_tensor(ember.tensor([0.25, -0.2]), 0.1, 3, "quint8")
    >>> ember.ao.quantization.dequantize(q, 0.1, 3)
    tensor([ 0.3000, -0.2000])
    """
    q = as_value(input)
    if q.dtype.is_floating_point:
        raise TypeError(f"dequantize: expects the integer tensor quantize_per_tensor/"
                        f"quantize_per_channel return, got {q.dtype}")
    s, z = _channel_params(q, scale, zero_point, axis, "dequantize")
    return (q.to(_dt.float32) - Tensor._wrap(np.asarray(z, np.float32))) * \
        Tensor._wrap(np.asarray(s))

