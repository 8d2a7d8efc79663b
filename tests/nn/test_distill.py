"""kl_div parity with PyTorch, the distillation loss and the Teacher wrapper."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch_with_its_mean_warning(reduction, log_target):
    rng = np.random.default_rng(0)
    inp = np.log(rng.dirichlet(np.ones(5), size=3)).astype(np.float32)
    tgt = rng.dirichlet(np.ones(5), size=3).astype(np.float32)
    tgt[0, 1] = 0.0  # a zero target probability
    tgt = np.log(tgt + 1e-12) if log_target else tgt
    with warnings.catch_warnings(record=True) as got_w:
        warnings.simplefilter("always")
        got = ember.nn.functional.kl_div(ember.tensor(inp), ember.tensor(tgt),
                                         reduction=reduction, log_target=log_target)
    with warnings.catch_warnings(record=True) as want_w:
        warnings.simplefilter("always")
        want = torch.nn.functional.kl_div(torch.tensor(inp), torch.tensor(tgt),
                                          reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert len(got_w) == len(want_w) == (1 if reduction == "mean" else 0)


def test_distillation_loss_matches_the_formula_in_torch_and_detaches_the_teacher():
    rng = np.random.default_rng(1)
    s, t = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal((6, 4)).astype(
        np.float32)
    y = rng.integers(0, 4, 6)
    es, et = ember.tensor(s, requires_grad=True), ember.tensor(t, requires_grad=True)
    loss = ember.nn.functional.distillation_loss(es, et, ember.tensor(y), T=3.0, alpha=0.7)
    ts = torch.tensor(s, requires_grad=True)
    F = torch.nn.functional
    want = 0.7 * 9.0 * F.kl_div(F.log_softmax(ts / 3.0, -1), F.log_softmax(torch.tensor(t) / 3.0,
                                                                          -1),
                                reduction="batchmean", log_target=True) + \
        0.3 * F.cross_entropy(ts, torch.tensor(y))
    np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-5)
    loss.backward()
    want.backward()
    np.testing.assert_allclose(es.grad.numpy(), ts.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert et.grad is None
    with pytest.raises(ValueError, match="temperature T must be > 0"):
        ember.nn.functional.distillation_loss(es, et, T=0)


def test_teacher_stays_frozen_and_in_eval_mode():
    net = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.Dropout(0.9))
    teacher = ember.nn.Teacher(net)
    both = ember.nn.ModuleDict({"teacher": teacher, "student": ember.nn.Linear(4, 4)})
    both.train()
    assert not teacher.training and not net[1].training and both["student"].training
    x = ember.ones(3, 4)
    out = teacher(x)
    np.testing.assert_array_equal(out.numpy(), teacher(x).numpy())  # no dropout: eval mode
    assert not out.requires_grad and all(not p.requires_grad for p in net.parameters())
