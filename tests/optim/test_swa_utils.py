"""ember.optim.swa_utils against torch.optim.swa_utils: SWA and EMA averages, SWALR after
another schedule, update_bn's recomputed statistics, BatchNorm's momentum=None."""
import numpy as np
import pytest

import ember
from ember.optim.swa_utils import (AveragedModel, SWALR, get_ema_avg_fn, get_ema_multi_avg_fn,
                                   update_bn)


def _run(lib, swa_utils, state=None):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    if state is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    swa = swa_utils.AveragedModel(model)
    ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
    ema_fn = swa_utils.AveragedModel(model, avg_fn=swa_utils.get_ema_avg_fn(0.8),
                                     use_buffers=True)
    sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    swa_sched = swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy="cos")
    rng = np.random.default_rng(1)
    data = [(lib.tensor(rng.standard_normal((16, 4)).astype(np.float32)),
             lib.tensor(rng.standard_normal((16, 1)).astype(np.float32))) for _ in range(4)]
    lrs = []
    for epoch in range(7):
        for x, y in data:
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            opt.step()
            ema.update_parameters(model)
            ema_fn.update_parameters(model)
        if epoch >= 3:
            swa.update_parameters(model)
            swa_sched.step()
        else:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    swa_utils.update_bn([(x, y) for x, y in data], swa)
    sd = {f"{name}.{k}": v.detach().numpy().copy() for name, m in
          (("swa", swa), ("ema", ema), ("ema_fn", ema_fn)) for k, v in m.state_dict().items()}
    return lrs, sd


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    import torch.optim.swa_utils as tsu
    torch.manual_seed(0)
    init = {k: v.detach().numpy().copy() for k, v in torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
        torch.nn.Linear(8, 1)).state_dict().items()}
    t_lrs, t_sd = _run(torch, tsu, init)
    e_lrs, e_sd = _run(ember, ember.optim.swa_utils, init)
    np.testing.assert_allclose(e_lrs, t_lrs, rtol=1e-12)
    assert sorted(e_sd) == sorted(t_sd)
    for k in t_sd:
        np.testing.assert_allclose(e_sd[k], t_sd[k], rtol=2e-5, atol=2e-6, err_msg=k)


def test_averages_without_torch():
    m = ember.nn.Linear(2, 1)
    avg = AveragedModel(m)
    values = []
    for v in (1.0, 2.0, 6.0):
        with ember.no_grad():
            m.weight.fill_(v)
        avg.update_parameters(m)
        values.append(v)
    np.testing.assert_allclose(avg.module.weight.detach().numpy(), np.mean(values), rtol=1e-6)
    assert int(avg.n_averaged) == 3
    ema = AveragedModel(m, avg_fn=get_ema_avg_fn(0.5))
    ema.update_parameters(m)
    with ember.no_grad():
        m.weight.fill_(2.0)
    ema.update_parameters(m)
    np.testing.assert_allclose(ema.module.weight.detach().numpy(), 4.0, rtol=1e-6)
    with pytest.raises(ValueError, match="avg_fn or multi_avg_fn"):
        AveragedModel(m, avg_fn=get_ema_avg_fn(), multi_avg_fn=get_ema_multi_avg_fn())
    with pytest.raises(ValueError, match="anneal_strategy"):
        SWALR(ember.optim.SGD(m.parameters(), lr=0.1), swa_lr=0.01, anneal_strategy="exp")


def test_update_bn_gives_the_plain_average_and_restores_state():
    bn = ember.nn.BatchNorm1d(3, momentum=0.3)
    model = ember.nn.Sequential(bn).eval()
    rng = np.random.default_rng(0)
    batches = [ember.tensor(rng.standard_normal((8, 3)).astype(np.float32)) for _ in range(3)]
    update_bn(batches, model)
    mean = np.mean([b.numpy().mean(0) for b in batches], axis=0)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    assert bn.momentum == 0.3 and not model.training and int(bn.num_batches_tracked) == 3


def test_batchnorm_momentum_none_is_a_cumulative_average_in_eager_and_jit():
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((6, 4)).astype(np.float32) for _ in range(3)]
    for jit in (False, True):
        bn = ember.nn.BatchNorm1d(4, momentum=None)
        f = ember.jit(lambda v: bn(v)) if jit else bn
        for x in xs:
            f(ember.tensor(x))
        np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], 0),
                                   rtol=1e-5, atol=1e-6)
