"""quantize_dynamic and ember.ao.nn.quantized.dynamic against torch.ao.quantization's dynamic
quantization (fbgemm, x86) on the same float models.

Tolerance: the integer products are exact on both sides and the quantization parameters are
chosen identically (checked), so outputs agree to float32 rounding; the bound allowed is two
units of the activation scale on one input (``2 * x_scale * max|w|`` per output), the effect
of a rounding tie resolved differently."""
import warnings

import numpy as np
import pytest

import ember
from ember.ao.quantization import linear_dynamic, quantize_dynamic
from ember.ao.quantization.dynamic_ops import choose_qparams

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", module="torch.ao")  # torch.ao's deprecation notices


def _torch_qd(model, spec, dtype=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, spec, dtype=dtype or torch.qint8)


def _to_ember(tmodel, emodel):
    emodel.load_state_dict({k: ember.tensor(v.detach().numpy())
                            for k, v in tmodel.state_dict().items()})
    return emodel


def _mlp_pair(seed=0):
    torch.manual_seed(seed)
    t = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    e = ember.nn.Sequential(ember.nn.Linear(784, 128), ember.nn.ReLU(), ember.nn.Linear(128, 10))
    return t, _to_ember(t, e)


def test_choose_qparams_equals_torch():
    rng = np.random.default_rng(0)
    for i in range(300):
        x = (rng.standard_normal(50) * rng.random() * 10.0 ** rng.integers(-3, 3)
             + rng.standard_normal() * (i % 3)).astype(np.float32)
        for rr in (True, False):
            ts, tz = torch._choose_qparams_per_tensor(torch.tensor(x), rr)
            s, z = choose_qparams(x.min(), x.max(), rr)
            assert (np.float32(s), z) == (np.float32(ts), tz)
    assert choose_qparams(0.0, 0.0) == (0.1, 0)


def test_linear_matches_torch_dynamic_linear():
    t, e = _mlp_pair()
    tq = _torch_qd(t, {torch.nn.Linear})
    eq = quantize_dynamic(e, {ember.nn.Linear}, dtype=ember.qint8)
    assert type(eq[0]).__name__ == "Linear" and isinstance(eq[1], ember.nn.ReLU)
    for i in (0, 2):  # the same int8 weights and scales
        tw = tq[i].weight()
        np.testing.assert_array_equal(eq[i].weight.numpy(), tw.int_repr().numpy())
        assert np.float32(eq[i].scale.item()) == np.float32(tw.q_scale())
        assert tw.q_zero_point() == eq[i].zero_point.item() == 0
    rng = np.random.default_rng(1)
    for shift in (0.0, 0.5):  # a centred input and one with a nonzero zero point
        x = (rng.standard_normal((64, 784)) + shift).astype(np.float32)
        ref = tq(torch.tensor(x)).detach().numpy()
        got = eq(ember.tensor(x)).numpy()
        xs = choose_qparams(x.min(), x.max())[0]
        np.testing.assert_allclose(got, ref, rtol=0, atol=2 * xs * np.abs(e[0].weight.detach().numpy()).max()
                                   + 2 * np.abs(ref).max() * 1e-6)
        # and it is a quantized computation: close to, not equal to, the float model
        with ember.no_grad():
            f = e(ember.tensor(x)).numpy()
        assert 0 < np.abs(got - f).max() < 0.05 * np.abs(f).max()
    # 3-d input, no bias, float64 input (the output keeps the input dtype, as PyTorch)
    tl = torch.nn.Linear(20, 7, bias=False)
    el = _to_ember(tl, ember.nn.Linear(20, 7, bias=False))
    tql, eql = _torch_qd(torch.nn.Sequential(tl), {torch.nn.Linear})[0], quantize_dynamic(el)
    x3 = rng.standard_normal((2, 5, 20)).astype(np.float32)
    np.testing.assert_allclose(eql(ember.tensor(x3)).numpy(),
                               tql(torch.tensor(x3)).detach().numpy(), atol=1e-5)
    assert eql(ember.tensor(x3).double()).dtype == ember.float64


@pytest.mark.parametrize("layers,bidirectional,batch_first", [(1, False, False), (2, True, True)])
def test_lstm_matches_torch_dynamic_lstm(layers, bidirectional, batch_first):
    torch.manual_seed(0)
    t = torch.nn.LSTM(12, 16, num_layers=layers, bidirectional=bidirectional,
                      batch_first=batch_first)
    e = _to_ember(t, ember.nn.LSTM(12, 16, num_layers=layers, bidirectional=bidirectional,
                                   batch_first=batch_first))
    # torch's quantize_dynamic swaps submodules only (a bare LSTM stays float): wrap it
    tq = _torch_qd(torch.nn.Sequential(t), {torch.nn.LSTM})[0]
    eq = quantize_dynamic(e, {ember.nn.LSTM})
    assert type(tq).__name__ == "LSTM" and tq.__module__.startswith("torch.ao")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 9, 12) if batch_first else (9, 4, 12)).astype(np.float32)
    h0 = rng.standard_normal((layers * (2 if bidirectional else 1), 4, 16)).astype(np.float32)
    c0 = rng.standard_normal(h0.shape).astype(np.float32)
    for hx in (None, (h0, c0)):
        to, (th, tc) = tq(torch.tensor(x), None if hx is None else tuple(map(torch.tensor, hx)))
        eo, (eh, ec) = eq(ember.tensor(x), None if hx is None else tuple(map(ember.tensor, hx)))
        # gates are bounded: a rounding tie on one input moves an output by a few 1e-3 at most
        for a, b in ((eo, to), (eh, th), (ec, tc)):
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=0, atol=2e-3)
        assert np.abs(eo.numpy() - to.detach().numpy()).mean() < 1e-5
    with ember.no_grad():
        fo = e(ember.tensor(x))[0].numpy()
    eo = eq(ember.tensor(x))[0].numpy()
    assert 0 < np.abs(eo - fo).max() < 0.05


def test_save_load_jit_and_size(tmp_path):
    t, e = _mlp_pair(3)
    eq = quantize_dynamic(e, {ember.nn.Linear}, dtype=ember.qint8)
    x = ember.tensor(np.random.default_rng(4).standard_normal((16, 784)).astype(np.float32))
    ember.save(eq.state_dict(), tmp_path / "q.safetensors")
    ember.save(e.state_dict(), tmp_path / "f.safetensors")
    fresh = quantize_dynamic(ember.nn.Sequential(ember.nn.Linear(784, 128), ember.nn.ReLU(),
                                                 ember.nn.Linear(128, 10)))
    fresh.load_state_dict(ember.load(tmp_path / "q.safetensors"))
    np.testing.assert_array_equal(fresh(x).numpy(), eq(x).numpy())
    ratio = (tmp_path / "f.safetensors").stat().st_size / (tmp_path / "q.safetensors").stat().st_size
    assert 3.5 < ratio < 4.1, ratio
    np.testing.assert_array_equal(ember.jit(eq)(x).numpy(), eq(x).numpy())
    lstm = quantize_dynamic(ember.nn.LSTM(6, 8, num_layers=2))
    xs = ember.randn(5, 3, 6)
    np.testing.assert_array_equal(ember.jit(lambda v: lstm(v)[0])(xs).numpy(), lstm(xs)[0].numpy())
    ember.save(lstm.state_dict(), tmp_path / "lstm.safetensors")
    lstm2 = quantize_dynamic(ember.nn.LSTM(6, 8, num_layers=2))
    lstm2.load_state_dict(ember.load(tmp_path / "lstm.safetensors"))
    np.testing.assert_array_equal(lstm2(xs)[0].numpy(), lstm(xs)[0].numpy())


def test_float16_weights_match_torch():
    t, e = _mlp_pair(5)
    tq = _torch_qd(t, {torch.nn.Linear}, torch.float16)
    eq = quantize_dynamic(e, {ember.nn.Linear}, dtype=ember.float16)
    assert eq[0].weight.dtype == ember.float16
    x = np.random.default_rng(6).standard_normal((8, 784)).astype(np.float32)
    np.testing.assert_allclose(eq(ember.tensor(x)).numpy(), tq(torch.tensor(x)).detach().numpy(),
                               atol=1e-5, rtol=1e-5)


def test_spec_by_name_inplace_and_errors():
    e = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    q = quantize_dynamic(e, {"2": ember.qint8})
    assert isinstance(q[0], ember.nn.Linear) and not isinstance(q[2], ember.nn.Linear)
    assert isinstance(e[2], ember.nn.Linear)  # a copy unless inplace
    assert quantize_dynamic(e, inplace=True) is e and not isinstance(e[0], ember.nn.Linear)
    with pytest.raises(ValueError, match="no dynamically quantized version of Conv2d"):
        quantize_dynamic(e, {ember.nn.Conv2d})
    with pytest.raises(ValueError, match="submodule '1' is a ReLU"):
        quantize_dynamic(ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.ReLU()), {"1"})
    with pytest.raises(ValueError, match="dtype must be ember.qint8"):
        quantize_dynamic(e, dtype=ember.bfloat16)
    w = ember.zeros(2, 4, dtype=ember.int8)
    with pytest.raises(ValueError, match="input of shape \\(3, 5\\) does not match"):
        linear_dynamic(ember.ones(3, 5), w, 0.1)
    with pytest.raises(TypeError, match="weight must be a 2-D int8 tensor"):
        linear_dynamic(ember.ones(3, 4), w.float(), 0.1)
    x = ember.ones(3, 4, requires_grad=True)
    with pytest.raises(TypeError, match="no derivative.*prepare_qat"):
        linear_dynamic(x, w, 0.1).sum().backward()
