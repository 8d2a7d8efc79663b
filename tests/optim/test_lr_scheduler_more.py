"""The schedulers added for real scripts (ConstantLR, PolynomialLR, MultiplicativeLR,
CosineAnnealingWarmRestarts, CyclicLR, ChainedScheduler): the lr (and cycled momentum) of every
step equals torch.optim.lr_scheduler's."""
import warnings

import pytest

import ember

torch = pytest.importorskip("torch")


def run(make, n=25, opt="SGD", epoch_of=None):
    """The largest difference in lr (and cycled momentum / beta1) over n steps."""
    tp, ep = torch.nn.Parameter(torch.zeros(1)), ember.nn.Parameter(ember.zeros(1))
    kw = dict(lr=0.1, momentum=0.9) if opt == "SGD" else dict(lr=0.1)
    to, eo = getattr(torch.optim, opt)([tp], **kw), getattr(ember.optim, opt)([ep], **kw)
    ts, es = make(torch.optim.lr_scheduler, to), make(ember.optim.lr_scheduler, eo)
    worst = 0.0
    for i in range(n):
        tg, eg = to.param_groups[0], eo.param_groups[0]
        worst = max(worst, abs(tg["lr"] - eg["lr"]))
        if opt == "SGD":
            worst = max(worst, abs(tg["momentum"] - eg["momentum"]))
        else:
            worst = max(worst, abs(tg["betas"][0] - eg["betas"][0]))
        to.step()
        eo.step()
        if epoch_of:
            ts.step(epoch_of(i))
            es.step(epoch_of(i))
        else:
            ts.step()
            es.step()
    return worst

CASES = {
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.3, total_iters=4),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=10, power=1.5),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01),
    "CosineAnnealingWarmRestarts_T1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4),
    "CyclicLR": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=5),
    "CyclicLR_triangular2": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                    mode="triangular2"),
    "CyclicLR_exp_range": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                  mode="exp_range", gamma=0.95),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=3), m.ExponentialLR(o, 0.9)]),
    "ChainedScheduler_linear_step": lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, 0.2, total_iters=5), m.StepLR(o, 4, 0.5)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_scheduler_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(CASES[name]) < 1e-15


def test_cyclic_lr_cycles_adam_beta1_and_warm_restarts_take_fractional_epochs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3), opt="Adam") < 1e-15
        assert run(lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
                   epoch_of=lambda i: (i + 1) * 0.37) < 1e-15


def test_bad_arguments():
    opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="T_0 must be a positive integer"):
        ember.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="cycle_momentum needs"):
        ember.optim.lr_scheduler.CyclicLR(
            ember.optim.Adagrad([ember.nn.Parameter(ember.zeros(1))]), 0.01, 0.1)
    with pytest.raises(ValueError, match="mode must be"):
        ember.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="sawtooth",
                                          cycle_momentum=False)
