"""Module.register_full_backward_hook / register_full_backward_pre_hook (PyTorch's former
torchies hooks tutorial and many debugging scripts), compared with PyTorch's calls."""
import warnings

import pytest

import ember

torch = pytest.importorskip("torch")


def _script(m):
    nn = m.nn
    m.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    seen = []

    def full(module, gin, gout):
        seen.append((type(module).__name__, [None if g is None else tuple(g.shape) for g in gin],
                     [tuple(g.shape) for g in gout]))
    hs = [net[2].register_full_backward_hook(full),
          net[0].register_full_backward_pre_hook(lambda mod, go: seen.append(("pre",
                                                                              tuple(go[0].shape)))),
          net[0].register_full_backward_hook(full)]
    x = m.ones(5, 3, requires_grad=True)
    net(x).sum().backward()
    for h in hs:
        h.remove()
    net(x).sum().backward()                               # removed: nothing more recorded
    h = net[1].register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 0,))
    x.grad = None
    net(x).sum().backward()
    zeroed = float(x.grad.abs().sum())
    h.remove()
    h = net[2].register_full_backward_pre_hook(lambda mod, gout: (gout[0] * 2,))
    x.grad = None
    net(x).sum().backward()
    g2 = x.grad.clone()
    h.remove()
    x.grad = None
    net(x).sum().backward()
    doubled = bool(m.allclose(g2, 2 * x.grad))
    bil = nn.Bilinear(2, 3, 4)
    bil.register_full_backward_hook(full)
    bil(m.ones(5, 2, requires_grad=True), m.ones(5, 3)).sum().backward()
    return seen, zeroed, doubled


def test_backward_hooks_as_pytorch():
    assert _script(ember) == _script(torch)


def test_no_input_needs_grad_runs_with_the_outputs_and_warns():
    seen = []
    lin = ember.nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gin, gout: seen.append(gin))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        lin(ember.ones(2, 3)).sum().backward()
    assert seen == [(None,)] and any("full backward hook" in str(x.message) for x in w)
    assert lin.weight.grad is not None


def test_no_hook_no_change_and_no_grad_mode():
    lin = ember.nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda *a: None)
    with ember.no_grad():
        y = lin(ember.ones(1, 3, requires_grad=True))
    assert not y.requires_grad
