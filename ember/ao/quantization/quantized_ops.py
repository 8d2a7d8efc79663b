"""Integer inference ops: ``qlinear`` and ``qconv2d`` as primitives, and jit-able
quantize/dequantize for the quantized modules.

The primitives take PyTorch's (fbgemm's) operands: quint8 activations (``uint8`` with one
scale and zero point), qint8 weights (``int8``, one scale and zero point per output channel
or one for the tensor), a float bias, and the output's scale and zero point; they return the
output requantized to those, as ``torch.ao.nn.quantized.Linear`` / ``Conv2d`` do:

    acc[n, c]  = sum_k (x[n, k] - x_zp) * (w[c, k] - w_zp[c])            exactly, in integers
    y[n, c]    = clamp(round_half_even((acc + bias[c] / (x_scale * w_scale[c]))
                                       * (x_scale * w_scale[c] / scale)) + zero_point)

in float32 (fbgemm's order with a float bias). ``relu=True`` (LinearReLU, ConvReLU2d) clamps
at the zero point from below. The products run on float32 BLAS, exactly
(:func:`kernels.int_matmul`). Their scales and zero points are operands (tensors), not
params, so a quantized module's buffers are read at each call of a jitted function.

The integer ops have no derivative: differentiating through them raises an error that points
to quantization-aware training (fake quantization) instead.
"""
from __future__ import annotations

import numpy as np

from ...core import dtypes as _dt
from ...core.primitive import Aval, Primitive, bind
from ...backend import namespace
from ...core.tensor import Tensor
from ...ops.elementwise import as_value, moveaxis_to_front
from ...ops.indexing import stack
from ...transforms.jvp import JVPTracer
from ...transforms.reverse import VJPTracer
from .kernels import int_matmul, int_matmul_f32

__all__ = ["qlinear", "qconv2d", "qlinear_float", "qconv2d_float", "quantize_tensor",
           "dequantize_tensor"]

_OUT = {"quint8": ("uint8", 0, 255), "qint8": ("int8", -128, 127),
        "uint8": ("uint8", 0, 255), "int8": ("int8", -128, 127)}
_F32 = np.float32


# --------------------------------------------------------------------------------------
# the shared integer kernel pieces (NumPy level)
# --------------------------------------------------------------------------------------

def _arr(v):
    """An operand as an array of its own backend (NumPy for Python numbers)."""
    return v if hasattr(v, "astype") else np.asarray(v)


def _centered(q, zp, axis=None):
    """``q - zp`` as float32 (exact: |values| < 2**24), zp per slice along ``axis``. A
    float32 ``q`` (the integer codes already as floats: a cached weight) is not copied when
    the zero point is 0, and never written to."""
    qf = q if q.dtype == _F32 else q.astype(_F32)
    z = _arr(zp).astype(_F32)
    if z.ndim and axis is not None:
        shape = [1] * q.ndim
        shape[axis] = -1
        z = z.reshape(shape)
    if not z.any():
        return qf
    if qf is q:
        return qf - z
    qf -= z
    return qf


def _span(qmin, qmax, zp):
    """The largest |q - zp| for q in [qmin, qmax]."""
    zp = np.asarray(zp)
    return int(max(np.max(np.abs(qmin - zp)), np.max(np.abs(qmax - zp))))


def _requantize_centred(acc, x_scale, w_scale, bias, scale, zero_point, out_dtype, relu,
                        ch_shape):
    """int32 (or exact float32) accumulators -> the output's integer codes minus its zero
    point, as float32 (fbgemm's float-bias order, in float32). Clamping ``q - zp`` to
    ``[qmin - zp, qmax - zp]`` is clamping ``q`` to ``[qmin, qmax]``: integers, exactly."""
    _, qmin, qmax = _OUT[out_dtype]
    xw = _F32(x_scale) * _arr(w_scale).astype(_F32)
    if xw.ndim:  # per channel (a per-tensor 0-d scale broadcasts as it is, on any device)
        xw = xw.reshape(ch_shape)
    v = acc if acc.dtype == _F32 else acc.astype(_F32)  # (float32 acc: a fresh array)
    if bias is not None:
        v += (bias.astype(_F32).reshape(ch_shape) / xw)
    v *= xw / _F32(scale)
    np.rint(v, out=v)
    zp = int(zero_point)
    np.clip(v, (max(qmin, zp) if relu else qmin) - zp, qmax - zp, out=v)
    return v


def _requantize(acc, x_scale, w_scale, bias, scale, zero_point, out_dtype, relu, ch_shape):
    """int32 accumulators -> the output's integers (fbgemm's float-bias order, float32)."""
    v = _requantize_centred(acc, x_scale, w_scale, bias, scale, zero_point, out_dtype, relu,
                            ch_shape)
    v += _F32(zero_point)
    return v.astype(_OUT[out_dtype][0])


def _requantize_float(acc, x_scale, w_scale, bias, scale, zero_point, relu, ch_shape):
    """The accumulators -> the dequantized quint8 output, ``(q - zero_point) * scale`` in
    float32 (``dequantize_tensor``'s numbers: ``q - zero_point`` is exact)."""
    v = _requantize_centred(acc, x_scale, w_scale, bias, scale, zero_point, "quint8", relu,
                            ch_shape)
    v *= _F32(scale)
    return v


_NEAR_HALF = _F32(0.5 - 2.0 ** -10)


def _quantize_codes(x, x_scale, x_zp, qmin, qmax):
    """The codes :func:`quantize_tensor` gives ``x``, as a float32 array, minus the zero
    point (exact): the centred operand of the integer product.

    ``quantize_tensor`` rounds ``x * (1 / scale) + zero_point`` once, in float64 (then to
    float32 and half to even); that costs ten float32 passes. Computed in float32 the sum
    is off by at most 2**-15 where it is not clipped (|sum| < 512), which changes the
    rounded integer only when the sum lies within that of a half-integer: those few
    elements (|sum - rint(sum)| > 0.5 - 2**-10) are recomputed in float64. Same codes."""
    inv = _F32(1.0) / _F32(x_scale)  # float32 reciprocal, as the kernel
    xf = x if x.dtype == _F32 else x.astype(_F32)
    v = xf * inv
    v += _F32(x_zp)
    q = np.rint(v)
    with np.errstate(invalid="ignore"):  # (inf - inf: an infinity is clipped, never near)
        v -= q  # the distance from the nearest integer (exact)
    np.abs(v, out=v)
    near = np.flatnonzero(v > _NEAR_HALF)
    if near.size:
        xs = xf.reshape(-1)[near].astype(np.float64)
        q.reshape(-1)[near] = np.rint((xs * np.float64(inv) + np.float64(x_zp)).astype(_F32))
    np.clip(q, qmin, qmax, out=q)
    zp = _F32(x_zp)
    if zp:
        q -= zp
    return q


def _check_qparams(op, x_scale, scale, w_scale):
    for name, s in (("input scale", x_scale), ("output scale", scale), ("weight scale",
                                                                          w_scale)):
        s = np.asarray(s)
        if s.size and (not np.all(np.isfinite(s)) or np.any(s <= 0)):
            raise ValueError(f"{op}: the {name} must be positive and finite, got "
                             f"{s.ravel()[:8].tolist()}")


def _qlinear_impl(x, w, bias, x_scale, x_zp, w_scale, w_zp, scale, zero_point, *,
                  out_dtype="quint8", relu=False):
    _check_qparams("qlinear", x_scale, scale, w_scale)
    xi = np.iinfo(x.dtype)
    xc = _centered(x, x_zp)
    wc = _centered(w, w_zp, 0)
    acc = int_matmul(xc, wc.T, a_bound=_span(xi.min, xi.max, x_zp),
                     b_bound=_span(-128, 127, w_zp))
    return _requantize(acc, x_scale, w_scale, bias, scale, zero_point, out_dtype, relu, (-1,))


def _qlinear_float_impl(x, w, bias, x_scale, x_zp, w_scale, w_zp, scale, zero_point, *,
                        relu=False):
    """float in, float out: ``dequantize(qlinear(quantize(x)))`` (quint8 activations) in
    float32 passes, with the same numbers as the three steps apart."""
    _check_qparams("qlinear", x_scale, scale, w_scale)
    xc = _quantize_codes(x, x_scale, x_zp, 0, 255)
    wc = _centered(w, w_zp, 0)
    acc = int_matmul_f32(xc, wc.T, a_bound=_span(0, 255, x_zp),
                         b_bound=_span(-128, 127, w_zp))
    return _requantize_float(acc, x_scale, w_scale, bias, scale, zero_point, relu, (-1,))


def _windows(x, kh, kw, stride, dilation, out_hw):
    """(N, C, H, W) padded -> (N, C*kh*kw, Ho*Wo) patches (kernel-major per channel)."""
    n, c = x.shape[:2]
    ho, wo = out_hw
    sh, sw = stride
    dh, dw = dilation
    cols = namespace(x).empty((n, c, kh, kw, ho, wo), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                                 j * dw:j * dw + sw * (wo - 1) + 1:sw]
    return cols.reshape(n, c * kh * kw, ho * wo)


def _conv_out_hw(h, w, k, stride, padding, dilation):
    return tuple((size + 2 * p - d * (kk - 1) - 1) // s + 1
                 for size, kk, s, p, d in zip((h, w), k, stride, padding, dilation))


def _qconv2d_acc(xc, xb, w, w_zp, stride, padding, dilation, groups):
    """The exact accumulators (N, C_out, Ho*Wo) of the centred input ``xc`` (float32, values
    within ``xb``) and the int8 (or float32-coded) weight."""
    n, c, h, wd = xc.shape
    cout, cin_g, kh, kw = w.shape
    ho, wo = _conv_out_hw(h, wd, (kh, kw), stride, padding, dilation)
    ph, pw = padding
    if ph or pw:  # the zero point subtracted: padding with 0 is padding with x_zp
        xc = np.pad(xc, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    wc = _centered(w, w_zp, 0).reshape(cout, cin_g * kh * kw)
    wb = _span(-128, 127, w_zp)
    cout_g = cout // groups
    outs = []
    for g in range(groups):
        cols = _windows(xc[:, g * cin_g:(g + 1) * cin_g], kh, kw, stride, dilation, (ho, wo))
        outs.append(int_matmul_f32(wc[g * cout_g:(g + 1) * cout_g], cols, a_bound=wb,
                                   b_bound=xb))
    return (outs[0] if groups == 1 else np.concatenate(outs, axis=1)), (ho, wo)


def _qconv2d_impl(x, w, bias, x_scale, x_zp, w_scale, w_zp, scale, zero_point, *,
                  stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                  out_dtype="quint8", relu=False):
    _check_qparams("qconv2d", x_scale, scale, w_scale)
    xi = np.iinfo(x.dtype)
    acc, (ho, wo) = _qconv2d_acc(_centered(x, x_zp), _span(xi.min, xi.max, x_zp), w, w_zp,
                                 stride, padding, dilation, groups)
    y = _requantize(acc, x_scale, w_scale, bias, scale, zero_point, out_dtype, relu, (-1, 1))
    return y.reshape(x.shape[0], w.shape[0], ho, wo)


def _qconv2d_float_impl(x, w, bias, x_scale, x_zp, w_scale, w_zp, scale, zero_point, *,
                        stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                        relu=False):
    """float in, float out: ``dequantize(qconv2d(quantize(x)))`` in float32 passes (the
    same numbers as the three steps apart)."""
    _check_qparams("qconv2d", x_scale, scale, w_scale)
    xc = _quantize_codes(x, x_scale, x_zp, 0, 255)
    acc, (ho, wo) = _qconv2d_acc(xc, _span(0, 255, x_zp), w, w_zp, stride, padding,
                                 dilation, groups)
    v = _requantize_float(acc, x_scale, w_scale, bias, scale, zero_point, relu, (-1, 1))
    return v.reshape(x.shape[0], w.shape[0], ho, wo)


# --------------------------------------------------------------------------------------
# the primitives: shape rules, (absent) derivatives, batching
# --------------------------------------------------------------------------------------

def _no_derivative_error(name):
    return TypeError(
        f"{name}: quantized integer ops have no derivative (their inputs and outputs are "
        f"integers). To train a model for int8, use quantization-aware training "
        f"(ember.ao.quantization.prepare_qat: fake quantization with a straight-through "
        f"gradient), then convert; or differentiate the float model.")


def _no_derivative(name):
    def rule(*args, **params):
        raise _no_derivative_error(name)
    return rule


def _refuse_differentiation(op, operands):
    """An operand being differentiated (it requires grad, or grad/jvp traces it): say now,
    rather than give zero gradients (an integer output passes no cotangent back)."""
    from ...core.autograd import is_grad_enabled
    for t in operands:
        if isinstance(t, (VJPTracer, JVPTracer)) or (
                getattr(t, "requires_grad", False) and is_grad_enabled()):
            raise _no_derivative_error(op)


def _loop_batch(prim, args, dims, params):
    """vmap by a loop over the batch (the integer ops' rare batched-weight case)."""
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    outs = []
    for i in range(size):
        outs.append(bind(prim, *[a if d is None else moveaxis_to_front(a, d)[i]
                                 for a, d in zip(args, dims)], **params))
    return stack(outs, 0), 0


def _qlinear_shape(x, w, bias, *qparams, out_dtype="quint8", relu=False):
    return Aval(tuple(x.shape[:-1]) + (w.shape[0],), _dt.as_dtype(_OUT[out_dtype][0]))


def _qlinear_batch(args, dims, **params):
    if all(d is None for d in dims[1:]):  # the usual case: a batch of inputs
        return bind(qlinear_p, moveaxis_to_front(args[0], dims[0]), *args[1:], **params), 0
    return _loop_batch(qlinear_p, args, dims, params)


qlinear_p = Primitive(
    "qlinear", _qlinear_impl, shape=_qlinear_shape,
    vjp=_no_derivative("qlinear"), jvp=_no_derivative("qlinear"), batch=_qlinear_batch,
    allocating=True,
    doc="int8 linear layer requantized to an output scale/zero point (see qlinear)")


def _qconv2d_shape(x, w, bias, *qparams, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                   groups=1, out_dtype="quint8", relu=False):
    ho, wo = _conv_out_hw(x.shape[2], x.shape[3], w.shape[2:], stride, padding, dilation)
    return Aval((x.shape[0], w.shape[0], ho, wo), _dt.as_dtype(_OUT[out_dtype][0]))


def _qconv2d_batch(args, dims, **params):
    if all(d is None for d in dims[1:]):  # fold the vmapped dim into the batch
        x = moveaxis_to_front(args[0], dims[0])
        b, n = x.shape[0], x.shape[1]
        y = bind(qconv2d_p, x.reshape((b * n,) + tuple(x.shape[2:])), *args[1:], **params)
        return y.reshape((b, n) + tuple(y.shape[1:])), 0
    return _loop_batch(qconv2d_p, args, dims, params)


qconv2d_p = Primitive(
    "qconv2d", _qconv2d_impl, shape=_qconv2d_shape,
    vjp=_no_derivative("qconv2d"), jvp=_no_derivative("qconv2d"), batch=_qconv2d_batch,
    allocating=True,
    doc="int8 2-d convolution requantized to an output scale/zero point (see qconv2d)")


def _qlinear_float_shape(x, w, bias, *qparams, relu=False):
    return Aval(tuple(x.shape[:-1]) + (w.shape[0],), _dt.float32)


def _qlinear_float_batch(args, dims, **params):
    if all(d is None for d in dims[1:]):
        return bind(qlinear_float_p, moveaxis_to_front(args[0], dims[0]), *args[1:],
                    **params), 0
    return _loop_batch(qlinear_float_p, args, dims, params)


qlinear_float_p = Primitive(
    "qlinear_float", _qlinear_float_impl, shape=_qlinear_float_shape,
    vjp=_no_derivative("qlinear"), jvp=_no_derivative("qlinear"), batch=_qlinear_float_batch,
    allocating=True,
    doc="a quantized Linear layer on float values: quantize the input, int8 product, "
        "requantize, dequantize (see quantized_linear_float)")


def _qconv2d_float_shape(x, w, bias, *qparams, stride=(1, 1), padding=(0, 0),
                         dilation=(1, 1), groups=1, relu=False):
    ho, wo = _conv_out_hw(x.shape[2], x.shape[3], w.shape[2:], stride, padding, dilation)
    return Aval((x.shape[0], w.shape[0], ho, wo), _dt.float32)


def _qconv2d_float_batch(args, dims, **params):
    if all(d is None for d in dims[1:]):
        x = moveaxis_to_front(args[0], dims[0])
        b, n = x.shape[0], x.shape[1]
        y = bind(qconv2d_float_p, x.reshape((b * n,) + tuple(x.shape[2:])), *args[1:],
                 **params)
        return y.reshape((b, n) + tuple(y.shape[1:])), 0
    return _loop_batch(qconv2d_float_p, args, dims, params)


qconv2d_float_p = Primitive(
    "qconv2d_float", _qconv2d_float_impl, shape=_qconv2d_float_shape,
    vjp=_no_derivative("qconv2d"), jvp=_no_derivative("qconv2d"),
    batch=_qconv2d_float_batch, allocating=True,
    doc="a quantized Conv2d layer on float values: quantize the input, int8 convolution, "
        "requantize, dequantize (see quantized_conv2d_float)")


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------

def _scalar_operand(v, dtype, op, name):
    if isinstance(v, Tensor):
        if v.numel() != 1:
            raise ValueError(f"{op}: {name} must be one value, got shape {tuple(v.shape)}")
        return v.reshape(())
    return Tensor._wrap(np.asarray(v, dtype))


def _channel_operand(v, dtype, n, op, name):
    t = v if isinstance(v, Tensor) else Tensor._wrap(np.asarray(v, dtype))
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] not in (1, n)):
        raise ValueError(f"{op}: {name} must be one value or one per output channel ({n},), "
                         f"got shape {tuple(t.shape)}")
    return t.reshape(()) if t.ndim == 1 and t.shape[0] == 1 and n != 1 else t


def _operands(op, input, weight, bias, input_scale, input_zero_point, weight_scale,
              weight_zero_point, scale, zero_point, dtype, float_input=False):
    x, w = as_value(input), as_value(weight)
    if float_input:
        if not x.dtype.is_floating_point:
            raise TypeError(f"{op}: input must be floating (it is quantized with input_scale/"
                            f"input_zero_point here), got {x.dtype} of shape "
                            f"{tuple(x.shape)}; give integers to {op[:-6]} instead")
    elif x.dtype.name not in ("uint8", "int8"):
        raise TypeError(f"{op}: input must hold the uint8 (quint8) or int8 integers of a "
                        f"quantized activation, got {x.dtype} of shape {tuple(x.shape)}; "
                        f"quantize it first (ember.quantize_per_tensor(x, scale, zero_point, "
                        f"'quint8'))")
    if w.dtype.name != "int8":
        raise TypeError(f"{op}: weight must be int8 (qint8), got {w.dtype} of shape "
                        f"{tuple(w.shape)}")
    if dtype not in _OUT:
        raise ValueError(f"{op}: dtype must be 'quint8' or 'qint8', got {dtype!r}")
    n = w.shape[0]
    if bias is None:  # zeros on the weight's device (and traced with it under jit)
        b = (w[:, 0] if w.ndim == 2 else w[:, 0, 0, 0]).to(_dt.float32) * 0.0
    else:
        b = as_value(bias)
        if tuple(b.shape) != (n,) or not b.dtype.is_floating_point:
            raise ValueError(f"{op}: bias must be a float tensor of shape ({n},) (one per "
                             f"output channel), got {b.dtype} of shape {tuple(b.shape)}")
        if b.dtype is not _dt.float32:
            b = b.to(_dt.float32)
    return (x, w, b, _scalar_operand(input_scale, np.float64, op, "input_scale"),
            _scalar_operand(input_zero_point, np.int64, op, "input_zero_point"),
            _channel_operand(weight_scale, np.float64, n, op, "weight_scale"),
            _channel_operand(weight_zero_point, np.int64, n, op, "weight_zero_point"),
            _scalar_operand(scale, np.float64, op, "scale"),
            _scalar_operand(zero_point, np.int64, op, "zero_point"))


def _checked(op, *args, float_input=False):
    ops = _operands(op, *args, float_input=float_input)
    _refuse_differentiation(op, ops)
    return ops


def _with_codes(op, ops, weight_codes):
    """``ops`` with the weight replaced by ``weight_codes``: a float32 tensor holding the
    same integers (a quantized module's cached copy), so the product skips the cast."""
    if weight_codes is None:
        return ops
    w = ops[1]
    if weight_codes.dtype is not _dt.float32 or tuple(weight_codes.shape) != tuple(w.shape):
        raise ValueError(f"{op}: weight_codes must be the weight's codes as float32 of shape "
                         f"{tuple(w.shape)}, got {weight_codes.dtype} of shape "
                         f"{tuple(weight_codes.shape)}")
    return (ops[0], weight_codes) + tuple(ops[2:])


def qlinear(input, weight, bias, input_scale, input_zero_point, weight_scale,
            weight_zero_point, scale, zero_point, *, relu=False, dtype="quint8"):
    """The int8 linear layer of ``torch.ao.nn.quantized.Linear``: ``input`` holds quint8
    integers (uint8, with ``input_scale``/``input_zero_point``), ``weight`` (out, in) int8
    with one scale/zero point per output row or one for all, ``bias`` float (or None); the
    result holds the integers of the output quantized with ``scale``/``zero_point``
    (``dtype`` 'quint8' -> uint8, 'qint8' -> int8). ``relu=True`` fuses a ReLU (LinearReLU).

    >>> x = ember.quantize_per_tensor(ember.tensor([[0.5, -1.0]]), 0.05, 128, "quint8")
    >>> w = ember.tensor([[100, -50], [20, 20]], dtype=ember.int8)    # scales 0.01, 0.02
    >>> q = ember.ao.quantization.qlinear(x, w, ember.tensor([0.0, 0.1]), 0.05, 128,
    ...                                   ember.tensor([0.01, 0.02]), ember.tensor([0, 0]),
    ...                                   0.02, 100)
    >>> q                       # [0.5 + 0.5, 0.2 - 0.4 + 0.1] / 0.02 + 100
    tensor([[150,  95]], dtype=ember.uint8)
    """
    ops = _checked("qlinear", input, weight, bias, input_scale, input_zero_point,
                    weight_scale, weight_zero_point, scale, zero_point, dtype)
    x, w = ops[0], ops[1]
    if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"qlinear: input {tuple(x.shape)} and weight {tuple(w.shape)} don't "
                         f"line up: the weight must be (out_features, in_features) with "
                         f"in_features == input.shape[-1]")
    return bind(qlinear_p, *ops, out_dtype=dtype, relu=bool(relu))


def _pair(v, name):
    t = (v, v) if isinstance(v, int) else tuple(int(i) for i in v)
    if len(t) != 2:
        raise ValueError(f"qconv2d: {name} must be an int or a pair, got {v!r}")
    return t


def _check_conv_shapes(op, x, w, stride, padding, dilation, groups):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{op}: expects input (N, C, H, W) and weight (C_out, C_in/groups,"
                         f" kH, kW), got {tuple(x.shape)} and {tuple(w.shape)}")
    if x.shape[1] != w.shape[1] * groups or w.shape[0] % groups:
        raise ValueError(f"{op}: input {tuple(x.shape)} has {x.shape[1]} channels but the "
                         f"weight {tuple(w.shape)} with groups={groups} expects "
                         f"{w.shape[1] * groups} (and C_out divisible by groups)")
    ho, wo = _conv_out_hw(x.shape[2], x.shape[3], w.shape[2:], stride, padding, dilation)
    if ho < 1 or wo < 1:
        raise ValueError(f"{op}: input {tuple(x.shape)} is smaller than the kernel "
                         f"{tuple(w.shape[2:])} (padding {padding}, dilation {dilation})")


def qconv2d(input, weight, bias, input_scale, input_zero_point, weight_scale,
            weight_zero_point, scale, zero_point, stride=1, padding=0, dilation=1, groups=1,
            *, relu=False, dtype="quint8"):
    """The int8 convolution of ``torch.ao.nn.quantized.Conv2d`` (zero padding, which is the
    input's zero point in integers): ``input`` (N, C, H, W) quint8 integers, ``weight``
    (C_out, C_in/groups, kH, kW) int8 with per-output-channel or per-tensor scales; returns
    the integers of the output quantized with ``scale``/``zero_point``.

    >>> x = ember.full((1, 1, 3, 3), 138, dtype=ember.uint8)      # 1.0 at scale 0.1, zp 128
    >>> w = ember.ones(2, 1, 2, 2, dtype=ember.int8) * 10         # 0.1 at scale 0.01
    >>> ember.ao.quantization.qconv2d(x, w, None, 0.1, 128, ember.tensor([0.01, 0.02]),
    ...                               ember.tensor([0, 0]), 0.1, 0)[0, :, 0, 0]
    tensor([4, 8], dtype=ember.uint8)
    """
    ops = _checked("qconv2d", input, weight, bias, input_scale, input_zero_point,
                    weight_scale, weight_zero_point, scale, zero_point, dtype)
    x, w = ops[0], ops[1]
    stride, padding, dilation = (_pair(stride, "stride"), _pair(padding, "padding"),
                                 _pair(dilation, "dilation"))
    groups = int(groups)
    _check_conv_shapes("qconv2d", x, w, stride, padding, dilation, groups)
    return bind(qconv2d_p, *ops, stride=stride, padding=padding, dilation=dilation,
                groups=groups, out_dtype=dtype, relu=bool(relu))


def qlinear_float(input, weight, bias, input_scale, input_zero_point, weight_scale,
                  weight_zero_point, scale, zero_point, *, relu=False, weight_codes=None):
    """A quantized Linear layer on float values, as one op: ``input`` (float) is quantized
    to quint8 with ``input_scale``/``input_zero_point``, multiplied by the int8 ``weight``
    exactly, requantized to ``scale``/``zero_point`` and returned dequantized (float32):
    the numbers of ``dequantize_tensor(qlinear(quantize_tensor(input, ...), ...), scale,
    zero_point)`` in fewer passes. ``weight_codes``: optionally the weight's integers as a
    float32 tensor (kept by ``ember.ao.nn.quantized.Linear`` so that no call casts it).

    >>> from ember.ao.quantization.quantized_ops import qlinear_float
    >>> w = ember.tensor([[100, -50], [20, 20]], dtype=ember.int8)
    >>> qlinear_float(ember.tensor([[0.5, -1.0]]), w, ember.tensor([0.0, 0.1]), 0.05, 128,
    ...               ember.tensor([0.01, 0.02]), ember.tensor([0, 0]), 0.02, 100)
    tensor([[ 1.0000, -0.1000]])
    """
    ops = _checked("qlinear_float", input, weight, bias, input_scale, input_zero_point,
                   weight_scale, weight_zero_point, scale, zero_point, "quint8",
                   float_input=True)
    x, w = ops[0], ops[1]
    if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"qlinear_float: input {tuple(x.shape)} and weight {tuple(w.shape)} "
                         f"don't line up: the weight must be (out_features, in_features) "
                         f"with in_features == input.shape[-1]")
    return bind(qlinear_float_p, *_with_codes("qlinear_float", ops, weight_codes),
                relu=bool(relu))


def qconv2d_float(input, weight, bias, input_scale, input_zero_point, weight_scale,
                  weight_zero_point, scale, zero_point, stride=1, padding=0, dilation=1,
                  groups=1, *, relu=False, weight_codes=None):
    """A quantized Conv2d layer on float values, as one op (see :func:`qlinear_float`): the
    numbers of ``dequantize_tensor(qconv2d(quantize_tensor(input, ...), ...), scale,
    zero_point)``.

    >>> from ember.ao.quantization.quantized_ops import qconv2d_float
    >>> w = ember.ones(2, 1, 2, 2, dtype=ember.int8) * 10         # 0.1 at scale 0.01
    >>> qconv2d_float(ember.ones(1, 1, 3, 3), w, None, 0.1, 128, ember.tensor([0.01, 0.02]),
    ...               ember.tensor([0, 0]), 0.1, 0)[0, :, 0, 0]
    tensor([0.4000, 0.8000])
    """
    ops = _checked("qconv2d_float", input, weight, bias, input_scale, input_zero_point,
                   weight_scale, weight_zero_point, scale, zero_point, "quint8",
                   float_input=True)
    x, w = ops[0], ops[1]
    stride, padding, dilation = (_pair(stride, "stride"), _pair(padding, "padding"),
                                 _pair(dilation, "dilation"))
    groups = int(groups)
    _check_conv_shapes("qconv2d_float", x, w, stride, padding, dilation, groups)
    return bind(qconv2d_float_p, *_with_codes("qconv2d_float", ops, weight_codes),
                stride=stride, padding=padding, dilation=dilation, groups=groups,
                relu=bool(relu))


# --------------------------------------------------------------------------------------
# quantize / dequantize written with ember ops (jit- and vmap-able; the functional layer's
# quantize_per_tensor reads its input as NumPy). Same arithmetic, so the same integers.
# --------------------------------------------------------------------------------------

def _along(t, axis, ndim):
    if axis is None or t.ndim == 0:
        return t
    shape = [1] * ndim
    shape[axis] = -1
    return t.reshape(shape)


def quantize_tensor(x, scale, zero_point, quant_min, quant_max, dtype="quint8", axis=None):
    """``clamp(round_half_even(x * (1 / scale) + zero_point))`` as integers (one rounding
    of the multiply-add, as PyTorch's kernel), with ember ops so that it traces under jit;
    ``scale``/``zero_point`` tensors (per channel along ``axis``) or numbers.

    >>> from ember.ao.quantization.quantized_ops import quantize_tensor
    >>> quantize_tensor(ember.tensor([-1.0, 0.25, 0.35, 100.0]), 0.1, 0, -128, 127, "qint8")
    tensor([-10,   2,   4, 127], dtype=ember.int8)
    """
    x = as_value(x)
    storage = _dt.as_dtype(_OUT[dtype][0])
    s = as_value(scale).to(_dt.float32)
    z = as_value(zero_point).to(_dt.float64)
    inv = (1.0 / s).to(_dt.float64)  # float32 reciprocal, as the kernel
    s_inv, zz = _along(inv, axis, x.ndim), _along(z, axis, x.ndim)
    v = (x.to(_dt.float32).to(_dt.float64) * s_inv + zz).to(_dt.float32)
    return v.round().clamp(quant_min, quant_max).to(storage)


def dequantize_tensor(q, scale, zero_point, axis=None):
    """``(q - zero_point) * scale`` as float32 (ember ops: traces under jit).

    >>> from ember.ao.quantization.quantized_ops import dequantize_tensor
    >>> dequantize_tensor(ember.tensor([130, 126], dtype=ember.uint8), 0.5, 128)
    tensor([ 1., -1.])
    """
    q = as_value(q)
    if axis is None:  # PyTorch: float32 arithmetic per tensor, float64 per channel
        s, z = as_value(scale).to(_dt.float32), as_value(zero_point).to(_dt.float32)
        return (q.to(_dt.float32) - z) * s
    s = _along(as_value(scale).to(_dt.float64), axis, q.ndim)
    z = _along(as_value(zero_point).to(_dt.float64), axis, q.ndim)
    return ((q.to(_dt.float64) - z) * s).to(_dt.float32)
