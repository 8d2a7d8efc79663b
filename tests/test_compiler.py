"""ember.compile (torch.compile's twin on jit): modules wrapped as PyTorch wraps them, the
eager run's bits, and an eager fallback with a warning where one graph can't be traced."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F


def _net(seed=0, p=0.0):
    # (dropout under jit draws from jit's keyed stream, not the eager generator's: as with
    # torch.compile, its masks differ from the eager run's)
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Dropout(p), nn.ReLU(), nn.BatchNorm1d(8),
                         nn.Linear(8, 2))


def _train(model, params, steps=4):
    x, y = ember.randn(16, 3, generator=ember.Generator().manual_seed(1)), \
        ember.tensor([0, 1] * 8)
    opt = ember.optim.SGD(params, lr=0.1, momentum=0.9)
    losses = []
    for step in range(steps):
        ember.manual_seed(100 + step)  # the same dropout masks in both runs
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_compiled_module_trains_with_the_eager_bits():
    eager, base = _net(), _net()
    fast = ember.compile(base)
    assert isinstance(fast, ember.compiler.OptimizedModule) and fast._orig_mod is base
    assert _train(fast, fast.parameters()) == _train(eager, eager.parameters())
    for (k, a), b in zip(eager.state_dict().items(), fast.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    fast.eval()
    assert not base.training and not base[3].training
    drop = ember.compile(_net(p=0.5))
    assert not np.array_equal(drop(ember.ones(4, 3)).detach().numpy(),
                              drop(ember.ones(4, 3)).detach().numpy())  # a new mask per call
    np.testing.assert_array_equal(fast(ember.ones(2, 3)).detach().numpy(),
                                  eager.eval()(ember.ones(2, 3)).detach().numpy())


def test_a_forward_that_reads_device_metadata_compiles():
    # nanoGPT's GPT.forward: device = idx.device; pos = arange(t, device=device)
    class Pos(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(8, 3)

        def forward(self, idx):
            assert idx.is_cpu and not idx.is_meta
            pos = ember.arange(0, idx.size(1), dtype=ember.long, device=idx.device)
            return self.emb(idx) + self.emb(pos)

    m = Pos()
    fast = ember.compile(m, fullgraph=True)  # raises instead of falling back if it can't trace
    idx = ember.tensor([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(fast(idx).detach().numpy(), m(idx).detach().numpy())


def test_compiled_backward_sums_cotangents_in_the_eager_order():
    # x feeds a residual add and a layer norm (whose backward has two parts): the compiled
    # backward used to differentiate the graph after CSE and add the three cotangents of x in
    # another order than the eager tape (1e-6 apart; nanoGPT's weights drifted)
    ember.manual_seed(0)
    x0, g, w = ember.randn(2, 16, 8), ember.randn(2, 16, 8), ember.randn(8)

    def f(x):
        return ((x + F.layer_norm(x, (8,), w, None, 1e-5)) * g).sum()
    xe = x0.clone().requires_grad_()
    f(xe).backward()
    xc = x0.clone().requires_grad_()
    ember.compile(f, fullgraph=True)(xc).backward()
    np.testing.assert_array_equal(xc.grad.numpy(), xe.grad.numpy())
    np.testing.assert_array_equal(ember.grad(ember.jit(f))(x0).numpy(), xe.grad.numpy())


def test_optimized_module_keys_and_attributes_as_pytorch():
    torch = pytest.importorskip("torch")
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    em = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert list(ember.compile(em).state_dict()) == list(torch.compile(tm).state_dict())
    fast = ember.compile(nn.Linear(3, 4))
    assert fast.in_features == 3 and fast.weight is fast._orig_mod.weight
    other = nn.Linear(3, 4)
    fast.load_state_dict({"_orig_mod." + k: v for k, v in other.state_dict().items()})
    np.testing.assert_array_equal(fast.weight.detach().numpy(), other.weight.detach().numpy())


def test_functions_and_decorator_forms():
    @ember.compile
    def f(x):
        return (x * 2).sum()

    @ember.compile(mode="max-autotune", dynamic=True)
    def g(x):
        return x.relu()
    assert f(ember.ones(3)).item() == 6.0
    assert g(ember.tensor([-1., 2.])).tolist() == [0., 2.]
    assert ember.compile(f, disable=True) is f
    assert ember.compile(lambda x: x + 1, backend="eager")(ember.ones(1)).item() == 2.0


def test_graph_breaks_fall_back_to_eager_with_one_warning():
    def branchy(x):
        return x * 2 if x.sum() > 0 else x

    c = ember.compile(branchy)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert c(ember.ones(2)).tolist() == [2., 2.]
        assert c(-ember.ones(2)).tolist() == [-1., -1.]
    assert len(w) == 1 and "can't be traced as one graph" in str(w[0].message)
    with pytest.raises(ember.core.errors.ConcretizationError):
        ember.compile(branchy, fullgraph=True)(ember.ones(2))


def test_a_whole_training_step_with_backward_inside_runs_eagerly():
    eager, base = _net(), _net()
    opt = ember.optim.SGD(base.parameters(), lr=0.1, momentum=0.9)
    x, y = ember.randn(16, 3, generator=ember.Generator().manual_seed(1)), \
        ember.tensor([0, 1] * 8)

    @ember.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(base(x), y)
        loss.backward()
        opt.step()
        return loss

    losses = []
    with pytest.warns(RuntimeWarning, match="backward: called on a value traced by jit"):
        for s in range(4):
            ember.manual_seed(100 + s)
            losses.append(step(x, y).item())
    assert losses == _train(eager, eager.parameters())


def test_module_compile_in_place_and_reset():
    net = nn.Linear(2, 1)
    ref = net(ember.ones(3, 2)).detach().numpy()
    net.compile()
    assert list(net.state_dict()) == ["weight", "bias"]
    np.testing.assert_array_equal(net(ember.ones(3, 2)).detach().numpy(), ref)
    assert net.forward.jitted.trace_count == 1
    ember.compiler.reset()
    net(ember.ones(3, 2))
    assert net.forward.jitted.trace_count == 1  # traced afresh after the reset


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown backend 'tvm'"):
        ember.compile(lambda x: x, backend="tvm")
    with pytest.raises(NotImplementedError, match="custom backend"):
        ember.compile(lambda x: x, backend=lambda gm, inputs: gm)
    with pytest.raises(TypeError, match="expected a module or a callable"):
        ember.compile(3)
