"""Dynamic quantization: ``linear_dynamic``, a float-in float-out linear layer whose weight is
int8 and whose input is quantized per call, as PyTorch's ``quantized::linear_dynamic``
(fbgemm, x86) that ``torch.ao.nn.quantized.dynamic.Linear`` and ``LSTM`` run:

1. the input's quantization parameters come from its range at run time
   (:func:`choose_qparams`: quint8 over ``[min(x, 0), max(x, 0)]``; ``reduce_range=True``,
   PyTorch's x86 default, uses 7 bits, ``[0, 127]``, so its int16 pair sums cannot saturate);
2. ``xq = clamp(round_half_even(x * (1 / x_scale)) + x_zp)`` in float32;
3. ``acc = (xq - x_zp) @ w.T`` exactly, in integers (``kernels.int_matmul``: float32 BLAS);
4. ``y = acc * (x_scale * w_scale) + bias`` in float32.

The weight's scale is one number (PyTorch's default, per tensor) or one per output row. The
primitive has no derivative (its weight is integers); the module workflows are in
``ember.ao.nn.quantized.dynamic`` and ``ember.ao.quantization.quantize_dynamic``.
"""
from __future__ import annotations

import numpy as np

from ...core import dtypes as _dt
from ...core.primitive import Aval, Primitive, bind
from ...core.tensor import Tensor
from ...ops.elementwise import as_value, moveaxis_to_front
from ...ops.indexing import stack
from .kernels import int_matmul_f32

__all__ = ["choose_qparams", "linear_dynamic"]

_F32 = np.float32
_SMALL_SCALE = float(_F32(6.1e-5))  # fbgemm's smallest scale for dynamic quantization


def choose_qparams(lo, hi, reduce_range=True):
    """The quint8 ``(scale, zero_point)`` PyTorch's dynamic ops pick for values in
    ``[lo, hi]`` (fbgemm's ChooseQuantizationParams, as ``torch._choose_qparams_per_tensor``):
    the range is widened to hold 0, ``scale = (hi - lo) / (qmax - qmin)`` (at least 6.1e-5,
    the range widened alike) and the zero point is the rounded one whose end has the smaller
    error. ``qmax`` is 127 with
    ``reduce_range`` (7 bits), else 255.

    >>> from ember.ao.quantization.dynamic_ops import choose_qparams
    >>> choose_qparams(-1.0, 3.0)
    (0.031496062..., 32)
    """
    qmin, qmax = 0, (127 if reduce_range else 255)
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = float(_F32((hi - lo) / (qmax - qmin)))
    if scale == 0.0 or not np.isfinite(1.0 / _F32(scale)):
        scale = 0.1
    if scale < _SMALL_SCALE:  # a tiny range: the smallest scale, the range widened to match
        grow = _F32(_SMALL_SCALE) / _F32(scale)
        if lo == 0.0:
            hi = float(_F32(_SMALL_SCALE) * (qmax - qmin))
        elif hi == 0.0:
            lo = float(-_F32(_SMALL_SCALE) * (qmax - qmin))
        else:
            lo, hi = float(_F32(lo) * grow), float(_F32(hi) * grow)
        scale = _SMALL_SCALE
    from_min, from_max = qmin - lo / scale, qmax - hi / scale
    err_min, err_max = abs(qmin) - abs(lo / scale), abs(qmax) - abs(hi / scale)
    zp = from_min if err_min < err_max else from_max
    zp = int(np.rint(min(max(zp, qmin), qmax)))
    return scale, zp


def _linear_dynamic_impl(x, w, w_scale, bias=None, *, reduce_range=True):
    xf = x if x.dtype == _F32 else x.astype(_F32)
    if xf.size:
        scale, zp = choose_qparams(xf.min(), xf.max(), reduce_range)
    else:
        scale, zp = 1.0, 0
    qmax = 127 if reduce_range else 255
    xs = _F32(scale)
    # quantized and centred in one float32 array: round(x / scale) + zp, clamped, minus zp
    xq = xf * (_F32(1.0) / xs)
    np.rint(xq, out=xq)
    np.clip(xq, -zp, qmax - zp, out=xq)
    wf = w if w.dtype == _F32 else w.astype(_F32)  # (float32: a module's cached codes)
    y = int_matmul_f32(xq, wf.T, a_bound=max(zp, qmax - zp), b_bound=128)
    ws = np.asarray(w_scale, _F32)
    y *= xs * ws
    if bias is not None:
        y += bias.astype(_F32)
    return y


def _linear_dynamic_shape(x, w, w_scale, bias=None, *, reduce_range=True):
    return Aval(tuple(x.shape[:-1]) + (w.shape[0],), _dt.float32)


def _no_derivative(*args, **params):
    raise TypeError(
        "linear_dynamic: a dynamically quantized layer has no derivative (its weight is int8 "
        "and its input is rounded at run time). Differentiate the float model, or train "
        "for int8 with quantization-aware training (ember.ao.quantization.prepare_qat).")


def _linear_dynamic_batch(args, dims, **params):
    # the input's quantization parameters are per call: under vmap, per example
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    outs = [bind(linear_dynamic_p, *[a if d is None else moveaxis_to_front(a, d)[i]
                                     for a, d in zip(args, dims)], **params)
            for i in range(size)]
    return stack(outs, 0), 0


linear_dynamic_p = Primitive(
    "linear_dynamic", _linear_dynamic_impl, shape=_linear_dynamic_shape,
    vjp=_no_derivative, jvp=_no_derivative, batch=_linear_dynamic_batch, allocating=True,
    doc="linear layer with an int8 weight and its input quantized per call (see "
        "linear_dynamic)")


def linear_dynamic(input, weight, weight_scale, bias=None, reduce_range=True, *,
                   weight_codes=None):
    """``input @ weight.T * scales + bias`` with ``weight`` int8 and ``input`` quantized to
    quint8 at run time from its own range, as PyTorch's dynamic quantized Linear (float32
    in, float32 out; see the module docstring for the arithmetic).

    ``weight_scale``: one float (per tensor) or one per output row; ``weight``'s zero point
    is 0 (symmetric). ``reduce_range``: 7-bit activations, PyTorch's default on x86.
    ``weight_codes``: optionally the weight's integers as a float32 tensor (kept by the
    dynamic quantized modules so that no call casts the weight).

    >>> from ember.ao.quantization import linear_dynamic
    >>> w = ember.tensor([[127, -64], [0, 32]], dtype=ember.int8)
    >>> linear_dynamic(ember.tensor([[1.0, 2.0]]), w, 0.01, ember.tensor([0.5, 0.0]))
    tensor([[0.5000, 0.6400]])
    """
    x = x_in = as_value(input)
    w = as_value(weight)
    if w.dtype is not _dt.int8 or w.ndim != 2:
        raise TypeError(f"linear_dynamic: weight must be a 2-D int8 tensor (the quantized "
                        f"weight), got {w.dtype} of shape {tuple(w.shape)}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"linear_dynamic: input must be floating (it is quantized at run "
                        f"time), got {x.dtype} of shape {tuple(x.shape)}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear_dynamic: input of shape {tuple(x.shape)} does not match the "
                         f"weight {tuple(w.shape)}: the last dim must be {w.shape[1]}")
    s = weight_scale if isinstance(weight_scale, Tensor) else \
        Tensor._wrap(np.asarray(weight_scale, _F32))
    if s.numel() not in (1, w.shape[0]):
        raise ValueError(f"linear_dynamic: weight_scale needs 1 or {w.shape[0]} values (one "
                         f"per output row), got shape {tuple(s.shape)}")
    if s.dtype is not _dt.float32:
        s = s.to(_dt.float32)
    if x.dtype is not _dt.float32:
        x = x.to(_dt.float32)
    b = None
    if bias is not None:
        b = as_value(bias)
        if tuple(b.shape) != (w.shape[0],):
            raise ValueError(f"linear_dynamic: bias of shape {tuple(b.shape)} must have shape "
                             f"({w.shape[0]},)")
        if b.dtype is not _dt.float32:
            b = b.to(_dt.float32)
    if weight_codes is not None:
        if weight_codes.dtype is not _dt.float32 or tuple(weight_codes.shape) != tuple(w.shape):
            raise ValueError(f"linear_dynamic: weight_codes must be the weight's codes as "
                             f"float32 of shape {tuple(w.shape)}, got {weight_codes.dtype} of "
                             f"shape {tuple(weight_codes.shape)}")
        w = weight_codes
    ops = (x, w, s) if b is None else (x, w, s, b)  # (no bias: no operand)
    out = bind(linear_dynamic_p, *ops, reduce_range=bool(reduce_range))
    return out if x_in.dtype is _dt.float32 else out.to(x_in.dtype)  # as PyTorch: Y.to(x.dtype)
