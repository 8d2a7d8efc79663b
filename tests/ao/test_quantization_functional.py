"""Quantize/dequantize and fake quantization against PyTorch: the same integers, the same
float results bit for bit, and the same straight-through gradient, boundaries included."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _inputs(scale, zp, qmin, qmax, n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform((qmin - zp - 8) * scale, (qmax - zp + 8) * scale, n).astype(np.float32)
    # exact ties (k + 0.5) * scale and the range ends, where rounding and the mask decide
    k = np.arange(qmin - zp - 2, qmax - zp + 3, dtype=np.float32)
    ties = ((k + 0.5) * np.float32(scale)).astype(np.float32)
    ends = (np.array([qmin - zp, qmax - zp, qmin - zp - 0.5, qmax - zp + 0.5,
                      qmin - zp - 0.51, qmax - zp + 0.49], np.float32) * np.float32(scale))
    return np.concatenate([x, ties, ends.astype(np.float32)])


@pytest.mark.parametrize("scale,zp,qmin,qmax", [(0.1, 0, -128, 127), (0.05, 3, 0, 255),
                                                (0.25, -4, -8, 7)])
def test_fake_quantize_per_tensor_matches_torch(scale, zp, qmin, qmax):
    x = _inputs(scale, zp, qmin, qmax)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey = ember.fake_quantize_per_tensor_affine(ex, scale, zp, qmin, qmax)
    ty = torch.fake_quantize_per_tensor_affine(tx, scale, zp, qmin, qmax)
    np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
    g = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())
    assert 0 < np.count_nonzero(ex.grad.numpy() == 0) < x.size  # both sides of the range


def test_fake_quantize_per_channel_matches_torch_and_transforms():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((4, 3, 5)).astype(np.float32) * 3
    scale = np.array([0.02, 0.05, 0.1, 0.3], np.float32)
    zp = np.array([0, 2, -3, 5], np.int64)
    ew, tw = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    ey = ember.fake_quantize_per_channel_affine(ew, ember.tensor(scale), ember.tensor(zp), 0,
                                                -128, 127)
    ty = torch.fake_quantize_per_channel_affine(tw, torch.tensor(scale),
                                                torch.tensor(zp, dtype=torch.int32), 0, -128, 127)
    np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
    (ey * ey).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_array_equal(ew.grad.numpy(), tw.grad.numpy())
    # jit gives the eager bits; grad and vmap see the straight-through rule
    fq = ember.jit(lambda v: ember.fake_quantize_per_tensor_affine(v, 0.1, 0, -128, 127))
    v = ember.tensor(w[0])
    np.testing.assert_array_equal(
        fq(v).numpy(), ember.fake_quantize_per_tensor_affine(v, 0.1, 0, -128, 127).numpy())
    g = ember.grad(lambda v: ember.fake_quantize_per_tensor_affine(v, 0.1, 0, -8, 7).sum())(v)
    inside = (np.rint(w[0] * np.float32(10.0)) >= -8) & (np.rint(w[0] * np.float32(10.0)) <= 7)
    np.testing.assert_array_equal(g.numpy(), inside.astype(np.float32))
    per_row = ember.vmap(lambda r: ember.fake_quantize_per_tensor_affine(r, 0.1, 0, -8, 7))(v)
    np.testing.assert_array_equal(
        per_row.numpy(), ember.fake_quantize_per_tensor_affine(v, 0.1, 0, -8, 7).numpy())


@pytest.mark.parametrize("dtype,tdtype", [("qint8", "qint8"), ("quint8", "quint8")])
def test_quantize_dequantize_match_torch(dtype, tdtype):
    x = _inputs(0.07, 10 if dtype == "quint8" else -3, 0 if dtype == "quint8" else -128,
                255 if dtype == "quint8" else 127)
    zp = 10 if dtype == "quint8" else -3
    q = ember.quantize_per_tensor(ember.tensor(x), 0.07, zp, dtype)
    tq = torch.quantize_per_tensor(torch.tensor(x), 0.07, zp, getattr(torch, tdtype))
    np.testing.assert_array_equal(q.numpy(), tq.int_repr().numpy())
    assert q.dtype == (ember.uint8 if dtype == "quint8" else ember.int8)
    np.testing.assert_array_equal(ember.ao.quantization.dequantize(q, 0.07, zp).numpy(),
                                  tq.dequantize().numpy())
    w = np.random.default_rng(4).standard_normal((3, 6)).astype(np.float32)
    s, z = np.array([0.01, 0.02, 0.05], np.float32), np.array([0, 1, -1])
    qc = ember.quantize_per_channel(ember.tensor(w), ember.tensor(s), ember.tensor(z), 0,
                                    "qint8")
    tqc = torch.quantize_per_channel(torch.tensor(w), torch.tensor(s), torch.tensor(z), 0,
                                     torch.qint8)
    np.testing.assert_array_equal(qc.numpy(), tqc.int_repr().numpy())
    np.testing.assert_array_equal(
        ember.ao.quantization.dequantize(qc, ember.tensor(s), ember.tensor(z), axis=0).numpy(),
        tqc.dequantize().numpy())


def test_bad_input_errors():
    x = ember.ones(3)
    with pytest.raises(TypeError, match="fake_quantize_per_tensor_affine: input must be a "
                                        "floating tensor, got ember.int64"):
        ember.fake_quantize_per_tensor_affine(ember.tensor([1, 2]), 0.1, 0, -128, 127)
    with pytest.raises(ValueError, match="zero_point 200 must lie within"):
        ember.fake_quantize_per_tensor_affine(x, 0.1, 200, -128, 127)
    with pytest.raises(ValueError, match="scale must be positive"):
        ember.fake_quantize_per_tensor_affine(x, 0.0, 0, -128, 127)
    with pytest.raises(ValueError, match="per-channel scale and zero_point need shape \\(3,\\)"):
        ember.fake_quantize_per_channel_affine(x, ember.ones(2), ember.zeros(2), 0, -128, 127)
    with pytest.raises(TypeError, match="quantize_per_tensor: dtype must be"):
        ember.quantize_per_tensor(x, 0.1, 0, "float16")
    import ember.quantization as q
    assert q.quantize_per_tensor is ember.quantize_per_tensor
