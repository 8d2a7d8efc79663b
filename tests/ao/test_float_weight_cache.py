"""Quantized layers on float inputs run as one op (qlinear_float / qconv2d_float) with a
cached float32 copy of the int8 weight: the same numbers as quantize -> integer op ->
dequantize, the cache follows the weight buffer, and the state_dict stays int8."""
import copy

import numpy as np
import pytest

import ember
from ember import nn
from ember.ao.quantization import qconv2d, qlinear, quantize_dynamic
from ember.ao.quantization.quantized_ops import (dequantize_tensor, qconv2d_float,
                                                 qlinear_float, quantize_tensor)
from ember.ao.quantization.weight_cache import float_weight, release_float_weights

rng = np.random.default_rng(3)


def _three_steps(op, x, w, b, sx, zx, ws, wz, so, zo, *conv, relu=False):
    xq = quantize_tensor(x, sx, zx, 0, 255, "quint8")
    yq = op(xq, w, b, sx, zx, ws, wz, so, zo, *conv, relu=relu)
    return dequantize_tensor(yq, so, zo).numpy()


def _weights(shape, per_channel, affine):
    w = ember.tensor(rng.integers(-128, 128, shape).astype(np.int8))
    n = shape[0]
    if per_channel:
        ws = ember.tensor(rng.uniform(0.002, 0.02, n).astype(np.float32))
        wz = ember.tensor(rng.integers(-5, 6, n) if affine else np.zeros(n, np.int64))
    else:
        ws, wz = 0.01, (3 if affine else 0)
    return w, ws, wz


@pytest.mark.parametrize("k,per_channel,affine,relu", [
    (784, True, False, False), (300, False, False, True), (64, True, True, False),
    (2000, True, False, True)])
def test_qlinear_float_equals_quantize_qlinear_dequantize(k, per_channel, affine, relu):
    x = ember.tensor(rng.normal(0, 1.5, (33, k)).astype(np.float32))
    w, ws, wz = _weights((17, k), per_channel, affine)
    b = ember.tensor(rng.normal(0, 0.5, 17).astype(np.float32))
    args = (w, b, 0.03, 117, ws, wz, 0.2, 64)
    want = _three_steps(qlinear, x, *args, relu=relu)
    got = qlinear_float(x, *args, relu=relu).numpy()
    np.testing.assert_array_equal(got, want)
    cached = qlinear_float(x, *args, relu=relu, weight_codes=w.float()).numpy()
    np.testing.assert_array_equal(cached, want)


@pytest.mark.parametrize("groups,stride,padding,dilation,relu,affine", [
    (1, 1, 1, 1, False, False), (2, 2, 0, 1, True, False), (1, 1, 2, 2, False, True)])
def test_qconv2d_float_equals_quantize_qconv2d_dequantize(groups, stride, padding, dilation,
                                                          relu, affine):
    x = ember.tensor(rng.normal(0, 1, (3, 4, 9, 8)).astype(np.float32))
    w, ws, wz = _weights((6, 4 // groups, 3, 3), True, affine)
    b = ember.tensor(rng.normal(0, 0.3, 6).astype(np.float32))
    args = (w, b, 0.02, 128, ws, wz, 0.1, 100)
    conv = (stride, padding, dilation, groups)
    want = _three_steps(qconv2d, x, *args, *conv, relu=relu)
    got = qconv2d_float(x, *args, *conv, relu=relu, weight_codes=w.float()).numpy()
    np.testing.assert_array_equal(got, want)


def test_weight_codes_must_match_the_weight():
    w = ember.zeros(3, 4, dtype=ember.int8)
    with pytest.raises(ValueError, match="weight_codes must be the weight's codes"):
        qlinear_float(ember.ones(2, 4), w, None, 0.1, 0, 0.1, 0, 0.1, 0,
                      weight_codes=ember.zeros(4, 3))
    with pytest.raises(TypeError, match="qlinear_float: input must be floating"):
        qlinear_float(ember.ones(2, 4, dtype=ember.uint8), w, None, 0.1, 0, 0.1, 0, 0.1, 0)


def _static_model():
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                      nn.Linear(4 * 36, 10))
    m.qconfig = ember.ao.quantization.get_default_qconfig("x86")
    ember.ao.quantization.prepare(m, inplace=True)
    with ember.no_grad():
        m(ember.randn(20, 1, 6, 6))
    return ember.ao.quantization.convert(m, inplace=True)


def test_converted_model_keeps_one_float_copy_and_follows_the_buffer():
    ember.manual_seed(0)
    qm = _static_model()
    x = ember.randn(5, 1, 6, 6)
    y0 = qm(x).numpy()
    lin = qm[3]
    f = float_weight(lin, "weight")
    assert f is float_weight(lin, "weight")            # made once, kept
    np.testing.assert_array_equal(f.numpy(), lin.weight.numpy().astype(np.float32))
    assert "_float_weights" not in str(sorted(qm.state_dict()))
    assert all(v.dtype is not ember.float32 or v.ndim < 2 for v in qm.state_dict().values())
    # load_state_dict writes in place (copy_): the next call sees the new weight
    other = _static_model()
    qm.load_state_dict(other.state_dict())
    np.testing.assert_array_equal(qm(x).numpy(), other(x).numpy())
    assert float_weight(lin, "weight") is not f
    # a new tensor assigned; an in-place op
    lin.weight = ember.zeros_like(lin.weight)
    assert not float_weight(lin, "weight").numpy().any()
    qm.load_state_dict(other.state_dict())
    qm[0].weight.mul_(0)
    assert not float_weight(qm[0], "weight").numpy().any()
    qm.load_state_dict(other.state_dict())
    # eager with and without the copy: the same numbers
    qm.load_state_dict(_static_model().state_dict())
    with_cache = qm(x).numpy()
    for m in (qm[0], qm[3]):
        m.cache_float_weight = False
    assert float_weight(lin, "weight") is None
    np.testing.assert_array_equal(qm(x).numpy(), with_cache)
    assert y0.shape == with_cache.shape


def test_copies_start_without_the_cache_and_release_frees_it():
    qm = _static_model()
    qm(ember.randn(2, 1, 6, 6))
    assert qm[3].__dict__["_float_weights"]
    assert not copy.deepcopy(qm)[3].__dict__.get("_float_weights")
    freed = release_float_weights(qm)
    assert freed == 4 * (qm[0].weight.numel() + qm[3].weight.numel())
    assert release_float_weights(qm) == 0


def test_jit_reads_the_buffer_not_the_cache():
    # a jitted quantized model follows later loads of its buffers, as eager does
    ember.manual_seed(1)
    qm, other = _static_model(), _static_model()
    x = ember.randn(4, 1, 6, 6)
    jm = ember.jit(qm)
    np.testing.assert_array_equal(jm(x).numpy(), qm(x).numpy())
    qm.load_state_dict(other.state_dict())
    np.testing.assert_array_equal(jm(x).numpy(), other(x).numpy())


def test_dynamic_linear_and_lstm_same_numbers_with_and_without_the_copy():
    ember.manual_seed(2)
    model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
    q = quantize_dynamic(model)
    lstm = quantize_dynamic(nn.LSTM(5, 7, num_layers=2))
    x, xs = ember.randn(6, 12), ember.randn(4, 3, 5)
    y, (ys, _) = q(x).numpy(), lstm(xs)
    assert float_weight(q[0], "weight") is float_weight(q[0], "weight")
    assert float_weight(lstm, "weight_hh_l1").dtype is ember.float32
    for m in (q[0], q[2], lstm):
        m.cache_float_weight = False
    np.testing.assert_array_equal(q(x).numpy(), y)
    np.testing.assert_array_equal(lstm(xs)[0].numpy(), ys.numpy())
    # a loaded state_dict reaches the next call
    q.cache_float_weight = True
    for m in (q[0], q[2]):
        m.cache_float_weight = True
    q2 = quantize_dynamic(nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3)))
    q.load_state_dict(q2.state_dict())
    np.testing.assert_array_equal(q(x).numpy(), q2(x).numpy())


def test_float32_quantization_gives_the_float64_codes_at_half_integers():
    # the fused ops round x / scale + zero_point in float32 and redo the elements near a
    # half-integer in float64: the codes of quantize_tensor, ties and their neighbours too
    from ember.ao.quantization.quantized_ops import _quantize_codes
    f32 = np.float32
    for scale, zp in ((0.0371, 117), (1e-4, 0), (0.5, 255), (0.013, 3)):
        s = f32(scale)
        x = ((rng.integers(-300, 600, 5000) + 0.5 - zp) * np.float64(s)).astype(f32)
        x = np.concatenate([x, np.nextafter(x, np.inf, dtype=f32),
                            np.nextafter(x, -np.inf, dtype=f32),
                            np.array([np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30], f32)])
        want = quantize_tensor(ember.tensor(x), s, zp, 0, 255, "quint8").numpy()
        got = _quantize_codes(x, s, zp, 0, 255) + f32(zp)
        np.testing.assert_array_equal(got, want.astype(f32))
