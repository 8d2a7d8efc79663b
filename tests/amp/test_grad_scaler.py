"""ember.amp.GradScaler against torch.amp.GradScaler("cpu"): the same scale sequence and the
same skipped steps for the same gradient stream, its errors, and a float16 model whose
gradients underflow without it."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F

torch = pytest.importorskip("torch")


def _stream(n=14, inf_at=(3, 9), nan_at=(11,)):
    rng = np.random.default_rng(0)
    cs = []
    for i in range(1, n + 1):
        c = rng.standard_normal(4).astype(np.float32)
        if i in inf_at:
            c[1] = np.inf
        if i in nan_at:
            c[2] = np.nan
        cs.append(c)
    return cs


def test_scale_sequence_and_skipped_steps_match_torch():
    cs = _stream()
    kw = dict(init_scale=2.0 ** 4, growth_factor=2.0, backoff_factor=0.5, growth_interval=4)
    p0 = np.ones(4, np.float32)

    ep = ember.tensor(p0, requires_grad=True)
    eopt = ember.optim.SGD([ep], lr=0.01)
    es = ember.amp.GradScaler("cpu", **kw)
    e_scales, e_stepped, e_params = [], [], []
    for c in cs:
        eopt.zero_grad()
        es.scale((ep * ember.tensor(c)).sum()).backward()
        e_stepped.append(es.step(eopt))
        es.update()
        e_scales.append(es.get_scale())
        e_params.append(ep.detach().numpy().copy())

    tp = torch.tensor(p0, requires_grad=True)
    topt = torch.optim.SGD([tp], lr=0.01)
    ts = torch.amp.GradScaler("cpu", **kw)
    t_scales, t_stepped, t_params = [], [], []
    for c in cs:
        topt.zero_grad()
        before = tp.detach().clone()
        ts.scale((tp * torch.tensor(c)).sum()).backward()
        ts.step(topt)
        ts.update()
        t_scales.append(ts.get_scale())
        t_stepped.append(not torch.equal(before, tp.detach()))
        t_params.append(tp.detach().numpy().copy())

    assert e_scales == t_scales
    assert e_stepped == t_stepped
    assert e_stepped.count(False) == 3  # the inf at steps 3 and 9 and the NaN at 11
    np.testing.assert_array_equal(np.array(e_params), np.array(t_params))
    assert es.state_dict() == {k: v for k, v in ts.state_dict().items()}


def test_unscale_then_clip_and_state_dict_roundtrip():
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.SGD([p], lr=1.0)
    s = ember.amp.GradScaler("cpu", init_scale=8.0)
    s.scale((p * 3.0).sum()).backward()
    np.testing.assert_array_equal(p.grad.numpy(), [24.0, 24.0])
    s.unscale_(opt)
    np.testing.assert_array_equal(p.grad.numpy(), [3.0, 3.0])
    with pytest.raises(RuntimeError, match="unscale_: already called on this optimizer"):
        s.unscale_(opt)
    assert s.step(opt) is True
    np.testing.assert_array_equal(p.detach().numpy(), [-2.0, -1.0])
    with pytest.raises(RuntimeError, match="step: already called since the last update"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="unscale_: called after step"):
        s.unscale_(opt)
    s.update()
    sd = s.state_dict()
    s2 = ember.amp.GradScaler("cpu")
    s2.load_state_dict(sd)
    assert s2.state_dict() == sd and s2.get_scale() == 8.0
    s.update(new_scale=2.0)
    assert s.get_scale() == 2.0


def test_defaults_and_bad_input():
    s = ember.amp.GradScaler()
    t = torch.amp.GradScaler("cpu")
    assert (s.get_scale(), s.get_growth_factor(), s.get_backoff_factor(),
            s.get_growth_interval()) == (t.get_scale(), t.get_growth_factor(),
                                         t.get_backoff_factor(), t.get_growth_interval())
    with pytest.raises(TypeError, match="GradScaler.scale: expected a floating-point loss, "
                                        "got a ember.int64"):
        s.scale(ember.tensor([1, 2]).sum())
    with pytest.raises(RuntimeError, match="no inf checks were recorded"):
        s.update()
    with pytest.raises(ValueError, match="device_type='tpu9' is not a device type"):
        ember.amp.GradScaler("tpu9")
    # an absent accelerator: disabled with a warning, as PyTorch on a CPU-only machine
    for make in (lambda: ember.amp.GradScaler("cuda"), lambda: ember.cuda.amp.GradScaler()):
        with pytest.warns(UserWarning, match="the scaler is disabled"):
            gpu = make()
        assert not gpu.is_enabled() and gpu.get_scale() == 1.0
        model = ember.nn.Linear(2, 1)
        opt = ember.optim.SGD(model.parameters(), lr=0.1)
        loss = model(ember.ones(3, 2)).sum()
        assert gpu.scale(loss) is loss
        loss.backward()
        before = model.weight.detach().clone()
        gpu.unscale_(opt)
        gpu.step(opt)
        gpu.update()
        assert not ember.equal(model.weight, before)
    assert ember.cpu.amp.GradScaler(init_scale=8.0).get_scale() == 8.0
    off = ember.amp.GradScaler(enabled=False)
    x = ember.ones(2)
    assert off.scale(x) is x and off.get_scale() == 1.0 and off.state_dict() == {}


def _f16_model_and_data():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.Tanh(), ember.nn.Linear(16, 1))
    rng = np.random.default_rng(3)
    x = ember.tensor(rng.standard_normal((32, 8)).astype(np.float32))
    y = ember.tensor(rng.standard_normal((32, 1)).astype(np.float32))
    return model, x, y


TINY = 1e-7  # a loss weight so small that float16 gradients underflow to zero


def test_float16_underflow_trains_with_the_scaler():
    # without the scaler: the float16 backward flushes the first layer's gradient to zero
    model, x, y = _f16_model_and_data()
    with ember.autocast("cpu", dtype=ember.float16):
        loss = F.mse_loss(model(x), y) * TINY
    loss.backward()
    assert model[0].weight.grad.dtype == ember.float32
    assert not np.any(model[0].weight.grad.numpy())

    # the float32 reference gradient
    ref, _, _ = _f16_model_and_data()
    (F.mse_loss(ref(x), y) * TINY).backward()
    g32 = ref[0].weight.grad.numpy()
    assert np.any(g32)

    # with the scaler the float16 run gets the float32 gradient (to float16 accuracy)
    model, x, y = _f16_model_and_data()
    opt = ember.optim.SGD(model.parameters(), lr=1e5)
    scaler = ember.amp.GradScaler("cpu")
    losses = []
    for i in range(30):
        opt.zero_grad()
        with ember.autocast("cpu", dtype=ember.float16):
            loss = F.mse_loss(model(x), y) * TINY
        scaler.scale(loss).backward()
        if i == 0:
            scaler.unscale_(opt)
            np.testing.assert_allclose(model[0].weight.grad.numpy(), g32,
                                       atol=2e-3 * np.abs(g32).max())
        assert scaler.step(opt)
        scaler.update()
        losses.append(loss.item() / TINY)
    assert losses[-1] < 0.8 * losses[0]
