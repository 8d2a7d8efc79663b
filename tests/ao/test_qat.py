"""Quantization-aware training: FakeQuantize against torch's, prepare_qat -> train ->
convert."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.ao import quantization as Q

torch = pytest.importorskip("torch")
tq = torch.ao.quantization
rng = np.random.default_rng(17)


@pytest.mark.parametrize("which", ["activation", "weight_per_channel", "weight_4bit"])
def test_fake_quantize_matches_torch_values_grads_and_qparams(which):
    if which == "activation":
        e = Q.FakeQuantize(quant_min=0, quant_max=255, reduce_range=True)
        t = tq.FakeQuantize(quant_min=0, quant_max=255, reduce_range=True)
        shape = (16, 20)
    else:
        kw = dict(quant_min=-8, quant_max=7) if which == "weight_4bit" else {}
        e = Q.default_per_channel_weight_fake_quant(**kw)
        t = tq.default_per_channel_weight_fake_quant(**kw)
        shape = (6, 5, 3)
    for i in range(4):
        x = (rng.standard_normal(shape) * (1 + i) + 0.2 * i).astype(np.float32)
        ex = ember.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        ey, ty = e(ex), t(tx)
        g = rng.standard_normal(shape).astype(np.float32)
        (ey * ember.tensor(g)).sum().backward()
        (ty * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(e.scale.numpy(), t.scale.numpy(), rtol=1e-6)
        np.testing.assert_array_equal(e.zero_point.numpy(), t.zero_point.numpy())
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-6,
                                   atol=1e-7)
        np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


def test_observer_and_fake_quant_switches():
    fq = Q.FakeQuantize(quant_min=0, quant_max=255)
    fq(ember.tensor([0.0, 1.0]))
    fq.disable_observer()
    fq(ember.tensor([0.0, 100.0]))
    assert float(fq.activation_post_process.max_val.item()) == 1.0
    fq.disable_fake_quant()
    x = ember.tensor([0.123456])
    assert fq(x) is x
    model = nn.Sequential(nn.Linear(2, 2))
    model.qconfig = Q.get_default_qat_qconfig("x86")
    qat = Q.prepare_qat(model)
    qat.apply(Q.disable_observer)
    assert all(int(m.observer_enabled.numpy()[0]) == 0 for m in qat.modules()
               if isinstance(m, Q.FakeQuantize))


def _data(n=512):
    x = rng.standard_normal((n, 16)).astype(np.float32)
    w = rng.standard_normal((16, 4)).astype(np.float32)
    y = np.argmax(np.tanh(x @ w) + 0.1 * x[:, :4], axis=1)
    return ember.tensor(x), ember.tensor(y)


def test_prepare_qat_trains_and_converts():
    ember.manual_seed(3)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    model = Q.fuse_modules(model.train(), [["0", "1"]])
    model.qconfig = Q.get_default_qat_qconfig("x86")
    qat = Q.prepare_qat(model)
    assert type(qat[0]).__name__ == "LinearReLU" and type(qat[2]).__name__ == "Linear"
    assert isinstance(qat[0].weight_fake_quant, Q.FakeQuantize)
    assert qat[0].weight is model[0][0].weight or qat[0].weight.shape == (32, 16)
    x, y = _data()
    opt = ember.optim.SGD(qat.parameters(), lr=0.2, momentum=0.9)
    losses = []
    for step in range(60):
        i = (step * 64) % 512
        opt.zero_grad()
        loss = nn.functional.cross_entropy(qat(x[i:i + 64]), y[i:i + 64])
        loss.backward()
        losses.append(float(loss.item()))
        assert qat[0].weight.grad is not None and float(qat[0].weight.grad.abs().sum()) > 0
        opt.step()
    assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:10])
    qat.eval().apply(Q.disable_observer)  # freeze the qparams (an eval forward still observes)
    q = Q.convert(qat)
    assert type(q[0]).__name__ == "LinearReLU" and q[0].weight.dtype == ember.int8
    # the int8 model computes what the fake-quantized model simulated, except that the
    # simulation clamps activations at their 7-bit range (reduce_range) and the int8 layers
    # at 8 bits, as in PyTorch: values beyond the calibrated range differ
    ref = qat(x).detach().numpy()
    out = q(x).numpy()
    fq = qat[2].activation_post_process
    top = (fq.quant_max - int(fq.zero_point.numpy()[0])) * float(fq.scale.numpy()[0])
    inside = ref < top - 1e-6
    assert inside.mean() > 0.75
    close = np.abs(out - ref) <= 2.01 * float(q[2].scale.item())
    assert close[inside].mean() > 0.9
    assert np.mean(np.argmax(out, 1) == np.argmax(ref, 1)) > 0.9


def test_qat_conv_and_4bit_weights():
    ember.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 6 * 6, 3))
    model = Q.fuse_modules(model, [["0", "1"]])
    wfq = Q.FakeQuantize.with_args(observer=Q.MovingAveragePerChannelMinMaxObserver,
                                   quant_min=-8, quant_max=7, dtype="qint8",
                                   qscheme=Q.per_channel_symmetric)
    model.qconfig = Q.QConfig(activation=Q.default_fake_quant, weight=wfq)
    qat = Q.prepare_qat(model)
    x = ember.randn(8, 1, 6, 6)
    opt = ember.optim.SGD(qat.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        qat(x).pow(2).mean().backward()
        opt.step()
    q = Q.convert(qat.eval().apply(Q.disable_observer))
    w = q[0].weight.numpy()
    assert type(q[0]).__name__ == "ConvReLU2d" and w.min() >= -8 and w.max() <= 7
    np.testing.assert_allclose(q(x).numpy(), qat(x).detach().numpy(),
                               atol=2.01 * float(q[3].scale.item()))


def test_prepare_qat_needs_training_mode():
    model = nn.Sequential(nn.Linear(2, 2)).eval()
    model.qconfig = Q.get_default_qat_qconfig("x86")
    with pytest.raises(ValueError, match=r"prepare_qat: the model is in eval mode.*model.train"):
        Q.prepare_qat(model)


def test_jit_of_a_qat_model_with_frozen_observers_equals_eager():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    model.qconfig = Q.get_default_qat_qconfig("x86")
    qat = Q.prepare_qat(model)
    x = ember.randn(4, 1, 6, 6)
    qat(x)
    with pytest.raises(TypeError, match="FakeQuantize under a transform.*disable_observer"):
        ember.jit(qat)(x)
    qat.apply(Q.disable_observer)
    np.testing.assert_array_equal(ember.jit(qat)(x).detach().numpy(), qat(x).detach().numpy())
    # and the gradients of a jitted loss equal the eager ones (straight through)
    loss = ember.jit(lambda v: qat(v).pow(2).sum())
    loss(x).backward()
    g = qat[3].weight.grad.numpy().copy()
    qat.zero_grad()
    qat(x).pow(2).sum().backward()
    np.testing.assert_allclose(g, qat[3].weight.grad.numpy(), rtol=1e-6)
    # the model as a jit argument (its buffers traced): the switches are still read
    np.testing.assert_array_equal(ember.jit(lambda m, v: m(v))(qat, x).detach().numpy(),
                                  qat(x).detach().numpy())
