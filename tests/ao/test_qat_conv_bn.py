"""QAT for fused Conv+BN(+ReLU) (ember.ao.nn.intrinsic.qat.ConvBn2d/ConvBnReLU2d) against
torch.ao.nn.intrinsic.qat: the BatchNorm folded into the fake-quantized weight during
training, running statistics, gradients, frozen statistics, then convert to an int8 conv."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.ao import quantization as Q

torch = pytest.importorskip("torch")
tq = torch.ao.quantization
rng = np.random.default_rng(23)


def _pair(relu, bias):
    tconv = torch.nn.Conv2d(3, 6, 3, padding=1, bias=bias)
    tbn = torch.nn.BatchNorm2d(6)
    with torch.no_grad():
        tbn.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, 6).astype(np.float32)))
        tbn.bias.copy_(torch.tensor(rng.normal(0, 0.2, 6).astype(np.float32)))
        tbn.running_mean.copy_(torch.tensor(rng.normal(0, 0.3, 6).astype(np.float32)))
        tbn.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, 6).astype(np.float32)))
    econv = nn.Conv2d(3, 6, 3, padding=1, bias=bias)
    ebn = nn.BatchNorm2d(6)
    econv.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tconv.state_dict().items()})
    ebn.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tbn.state_dict().items()})
    if relu:
        tf = torch.ao.nn.intrinsic.ConvBnReLU2d(tconv, tbn, torch.nn.ReLU())
        ef = ember.ao.nn.intrinsic.ConvBnReLU2d(econv, ebn, nn.ReLU())
        tcls, ecls = torch.ao.nn.intrinsic.qat.ConvBnReLU2d, ember.ao.nn.intrinsic.qat.ConvBnReLU2d
    else:
        tf = torch.ao.nn.intrinsic.ConvBn2d(tconv, tbn)
        ef = ember.ao.nn.intrinsic.ConvBn2d(econv, ebn)
        tcls, ecls = torch.ao.nn.intrinsic.qat.ConvBn2d, ember.ao.nn.intrinsic.qat.ConvBn2d
    # torch's x86 QAT qconfig fake-quantizes weights with its fused kernel, whose per-channel
    # scale is max(-min / 128, max / 127) during training (its observer's, at convert, is
    # max|w| / 127.5); ember's FakeQuantize is torch's unfused one: compare the layers with it
    tf.qconfig = tq.QConfig(activation=tq.default_fake_quant,
                            weight=tq.default_per_channel_weight_fake_quant)
    tm = tcls.from_float(tf)
    em = ecls.from_float(ef, Q.get_default_qat_qconfig("x86"))
    return tm, em


@pytest.mark.parametrize("relu,bias", [(False, False), (True, True)])
def test_qat_conv_bn_matches_torch_values_stats_and_grads(relu, bias):
    tm, em = _pair(relu, bias)
    tm.train(), em.train()
    for step in range(3):
        if step == 2:  # frozen statistics: running ones, no updates
            tm.freeze_bn_stats(), em.freeze_bn_stats()
        x = (rng.standard_normal((4, 3, 7, 7)) * (1 + step)).astype(np.float32)
        g = rng.standard_normal((4, 6, 7, 7)).astype(np.float32)
        tx, ex = torch.tensor(x), ember.tensor(x)
        ty, ey = tm(tx), em(ex)
        # the weight scales agree to ~1e-10 (the moving averages round differently), which
        # can move a weight sitting on a rounding boundary by one code: one channel's
        # outputs then differ by about one quantization step; the rest agree to 1e-4
        d = np.abs(ey.detach().numpy() - ty.detach().numpy())
        assert d.max() < 1e-2 and (d > 1e-4).mean() < 0.2, (step, d.max())
        (ty * torch.tensor(g)).sum().backward()
        (ey * ember.tensor(g)).sum().backward()
        # straight-through gradients: zero where fake_quant clips. A channel's largest
        # weight sits at x / scale = 127.5 exactly, on the clipping boundary, where the
        # two implementations' last-bit differences decide; compare off the boundary
        ws = (em.weight * em._scale_factor().reshape(-1, 1, 1, 1)).detach().numpy()
        on_edge = np.abs(ws / em.weight_fake_quant.scale.numpy().reshape(-1, 1, 1, 1)) > 127.4
        tw, ew = tm.weight.grad.numpy(), em.weight.grad.numpy()
        np.testing.assert_allclose(ew[~on_edge], tw[~on_edge], rtol=2e-2, atol=2e-2)
        same = np.all(np.isclose(ew, tw, rtol=2e-2, atol=2e-2).reshape(6, -1), axis=1)
        np.testing.assert_allclose(em.bn.weight.grad.numpy()[same],
                                   tm.bn.weight.grad.numpy()[same], rtol=2e-2, atol=2e-2)
        np.testing.assert_allclose(em.bn.bias.grad.numpy(), tm.bn.bias.grad.numpy(),
                                   rtol=1e-4, atol=1e-4)
        assert same.sum() >= 4
        for p in (tm.weight, tm.bn.weight, tm.bn.bias, em.weight, em.bn.weight, em.bn.bias):
            p.grad = None
        np.testing.assert_allclose(em.bn.running_mean.numpy(), tm.bn.running_mean.numpy(),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(em.bn.running_var.numpy(), tm.bn.running_var.numpy(),
                                   rtol=1e-5, atol=1e-6)
    assert em.freeze_bn and not em.bn.training
    em.train()  # stays frozen, as torch's
    assert not em.bn.training
    em.update_bn_stats()
    assert em.bn.training
    tm.eval(), em.eval()
    x = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-4)


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 7 * 7, 10))


def test_fuse_modules_qat_prepare_qat_train_convert():
    ember.manual_seed(0)
    model = _cnn()
    fused = Q.fuse_modules_qat(model, [["0", "1", "2"]])
    assert type(fused[0]) is ember.ao.nn.intrinsic.ConvBnReLU2d
    fused.qconfig = Q.get_default_qat_qconfig("x86")
    qat = Q.prepare_qat(fused)
    assert type(qat[0]) is ember.ao.nn.intrinsic.qat.ConvBnReLU2d
    x = ember.tensor(rng.standard_normal((64, 1, 14, 14)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, 64))
    opt = ember.optim.SGD(qat.parameters(), lr=0.05)
    losses = []
    for step in range(12):
        if step == 8:
            qat.apply(ember.ao.nn.intrinsic.qat.freeze_bn_stats)
        loss = nn.functional.cross_entropy(qat(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert losses[-1] < losses[0]
    qat.eval()
    want = qat(x).detach().numpy()
    q = Q.convert(qat)
    assert type(q[0]) is ember.ao.nn.intrinsic.quantized.ConvReLU2d
    assert q[0].weight.dtype is ember.int8 and q[0].bias is not None
    got = q(x).numpy()
    np.testing.assert_array_equal(ember.jit(q)(x).numpy(), got)  # jit = eager
    # the int8 model computes what QAT simulated: the same argmax almost everywhere
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.9
    assert np.abs(got - want).max() < 0.25 * np.abs(want).max()
    # the folded float conv (BatchNorm's running statistics) is what was quantized, on the
    # grid QAT trained (values beyond the trained range clip, as in training)
    w, b = qat[0].folded_weight_bias()
    sc = q[0].weight_scale.numpy().reshape(-1, 1, 1, 1)
    codes = np.clip(np.rint(w.numpy() / sc), -128, 127)
    assert np.abs(q[0].weight.numpy().astype(np.int64) - codes).max() <= 1
    np.testing.assert_allclose(q[0].bias.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_fuse_modules_qat_errors_and_eval_fuse_still_folds():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match="fuse_modules_qat: cannot fuse .*Linear, BatchNorm1d"):
        Q.fuse_modules_qat(model, ["0", "1"])
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()
    assert type(Q.fuse_modules(m, ["0", "1"])[0]) is nn.Conv2d
