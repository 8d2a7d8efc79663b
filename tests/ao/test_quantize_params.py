"""quantize_params / dequantize_params: weight-only int8/int4 for a functional params pytree
(JAX-style code), eagerly and inside jit."""
import numpy as np
import pytest

import ember
from ember.ao.quantization import QuantizedArray, dequantize_params, quantize_params


def _mlp_params(seed=0):
    rng = np.random.default_rng(seed)

    def t(*s, k=1.0):
        return ember.tensor((rng.standard_normal(s) * k).astype(np.float32))
    return {"fc1": {"weight": t(128, 64, k=64 ** -0.5), "bias": t(128, k=0.1)},
            "fc2": {"weight": t(10, 128, k=128 ** -0.5), "bias": t(10, k=0.1)}}


def mlp(p, x):
    h = ember.nn.functional.linear(x, p["fc1"]["weight"], p["fc1"]["bias"]).relu()
    return ember.nn.functional.linear(h, p["fc2"]["weight"], p["fc2"]["bias"])


def _x(n=256, seed=1):
    return ember.tensor(np.random.default_rng(seed).standard_normal((n, 64)).astype(np.float32))


@pytest.mark.parametrize("bits,tol,agree", [(8, 0.02, 0.98), (4, 0.25, 0.8)])
def test_mlp_logits_close_to_float(bits, tol, agree):
    p, x = _mlp_params(), _x()
    qp = quantize_params(p, bits=bits)
    assert isinstance(qp["fc1"]["weight"], QuantizedArray)
    assert qp["fc1"]["bias"] is p["fc1"]["bias"]  # 1-d leaves pass through
    ref, got = mlp(p, x).numpy(), mlp(dequantize_params(qp), x).numpy()
    rel = np.abs(got - ref).max() / np.abs(ref).max()
    assert rel < tol, rel
    assert (got.argmax(1) == ref.argmax(1)).mean() >= agree
    # the stored bytes: 4x smaller weights for int8 (plus one float32 scale per row), 8x for int4
    w = p["fc1"]["weight"]
    q = qp["fc1"]["weight"]
    assert q.codes.nbytes == w.nbytes // (4 if bits == 8 else 8)
    assert q.nbytes == q.codes.nbytes + 128 * 4


@pytest.mark.parametrize("bits", [8, 4])
def test_codes_and_scales_are_symmetric_per_channel(bits):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((6, 9)).astype(np.float32)  # odd last dim: a padded nibble
    w[3] = 0.0                                           # an all-zero row: scale 1, codes 0
    q = quantize_params(ember.tensor(w), bits=bits)
    qmax = 2 ** (bits - 1) - 1
    amax = np.abs(w).max(1, keepdims=True)
    scale = np.where(amax > 0, amax / np.float32(qmax), 1).astype(np.float32)
    np.testing.assert_array_equal(q.scale.numpy(), scale)
    codes = np.clip(np.rint(w / scale), -qmax, qmax)
    deq = q.dequantize().numpy()
    np.testing.assert_array_equal(deq, (codes * scale).astype(np.float32))
    assert np.all(np.abs(deq - w) <= scale / 2 + 1e-7)
    if bits == 8:
        np.testing.assert_array_equal(q.codes.numpy(), codes.astype(np.int8))
    else:
        assert q.codes.dtype == ember.uint8 and tuple(q.codes.shape) == (6, 5)


def test_axis_choices_and_dtype():
    rng = np.random.default_rng(3)
    k = ember.tensor(rng.standard_normal((8, 3)).astype(np.float32))  # a JAX (in, out) kernel
    q = quantize_params({"kernel": k}, axis=-1)["kernel"]
    assert q.axis == 1 and tuple(q.scale.shape) == (1, 3)
    np.testing.assert_allclose(q.scale.numpy()[0], np.abs(k.numpy()).max(0) / 127, rtol=1e-6)
    qt = quantize_params(k, axis=None)
    assert qt.axis is None and qt.scale.numel() == 1
    qb = quantize_params(k.to(ember.bfloat16))
    assert qb.dequantize().dtype == ember.bfloat16
    conv = quantize_params(ember.randn(4, 2, 3, 3))
    assert tuple(conv.scale.shape) == (4, 1, 1, 1)
    only_fc2 = quantize_params(_mlp_params(), predicate=lambda path, v: "fc2" in
                               ember.tree.keystr(path) and v.ndim == 2)
    assert not isinstance(only_fc2["fc1"]["weight"], QuantizedArray)
    assert isinstance(only_fc2["fc2"]["weight"], QuantizedArray)


def test_inside_jit_equals_eager():
    p, x = _mlp_params(), _x(32)
    for bits in (8, 4):
        qp = quantize_params(p, bits=bits)
        jq = ember.jit(lambda p: quantize_params(p, bits=bits))(p)
        for a, b in zip(ember.tree.tree_leaves(qp), ember.tree.tree_leaves(jq)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        f = ember.jit(lambda qp, x: mlp(dequantize_params(qp), x))
        np.testing.assert_array_equal(f(qp, x).numpy(), mlp(dequantize_params(qp), x).numpy())
        # gradients with respect to the input flow through the dequantized weights
        g = ember.grad(lambda x: mlp(dequantize_params(qp), x).sum())(x)
        assert g.shape == x.shape and np.isfinite(g.numpy()).all()


def test_bad_input():
    with pytest.raises(ValueError, match="quantize_params: bits must be 8 or 4"):
        quantize_params(ember.randn(3, 3), bits=2)
    with pytest.raises(ValueError, match="axis 2 is out of range.*shape \\(3, 3\\)"):
        quantize_params(ember.randn(3, 3), axis=2)
    with pytest.raises(TypeError, match="not floating; exclude it with predicate"):
        quantize_params({"idx": ember.tensor([[1, 2]])}, predicate=lambda path, v: True)
