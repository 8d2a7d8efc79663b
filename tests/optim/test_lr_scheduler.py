"""Learning-rate schedules against PyTorch's, step by step."""
import numpy as np
import pytest

import ember
from ember import nn

torch = pytest.importorskip("torch")

SCHEDS = [
    ("StepLR", lambda m, o: m.StepLR(o, step_size=4, gamma=0.5)),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 20], gamma=0.3)),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("LinearLR", lambda m, o: m.LinearLR(o, start_factor=0.2, total_iters=6)),
    ("LambdaLR", lambda m, o: m.LambdaLR(o, lambda e: 1.0 / (1 + e))),
    ("OneCycleLR", lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=31)),
    ("OneCycleLR3", lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=31, three_phase=True,
                                              anneal_strategy="linear")),
    ("SequentialLR", lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=4), m.ExponentialLR(o, gamma=0.9)],
        milestones=[5])),
]


@pytest.mark.parametrize("name,make", SCHEDS, ids=[s[0] for s in SCHEDS])
def test_schedule_matches_torch(name, make):
    ep = nn.Parameter(ember.zeros(2))
    tp = torch.nn.Parameter(torch.zeros(2))
    eo = ember.optim.SGD([ep], lr=0.1, momentum=0.9)
    to = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    es, ts = make(ember.optim.lr_scheduler, eo), make(torch.optim.lr_scheduler, to)
    for _ in range(30):
        np.testing.assert_allclose(es.get_last_lr(), ts.get_last_lr(), rtol=1e-6, atol=1e-12)
        assert eo.param_groups[0]["momentum"] == pytest.approx(to.param_groups[0]["momentum"])
        eo.step()
        to.step()
        es.step()
        ts.step()


def test_reduce_on_plateau_matches_torch():
    ep, tp = nn.Parameter(ember.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    eo, to = ember.optim.SGD([ep], lr=1.0), torch.optim.SGD([tp], lr=1.0)
    kw = dict(mode="min", factor=0.5, patience=2, cooldown=1, min_lr=0.01)
    es = ember.optim.lr_scheduler.ReduceLROnPlateau(eo, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kw)
    for metric in [5, 4, 4, 4, 4, 4, 3.9, 3.9999, 4, 4, 4, 4, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1]:
        es.step(metric)
        ts.step(metric)
        assert eo.param_groups[0]["lr"] == pytest.approx(to.param_groups[0]["lr"])
