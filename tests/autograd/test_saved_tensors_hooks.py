"""ember.autograd.graph.saved_tensors_hooks / save_on_cpu / disable_saved_tensors_hooks."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import graph
from ember.core import autograd as core_autograd


def test_pack_runs_when_saved_unpack_when_used():
    log = []

    def pack(t):
        log.append(("pack", tuple(t.shape)))
        return t.detach().numpy().copy()

    def unpack(a):
        log.append("unpack")
        return ember.from_numpy(a)

    x = ember.tensor([1., 2., 3.], requires_grad=True)
    w = ember.tensor([4., 5., 6.], requires_grad=True)
    with graph.saved_tensors_hooks(pack, unpack):
        y = (x * w).sum()
    assert log and all(e[0] == "pack" for e in log)  # nothing unpacked before backward
    n_packed = len(log)
    y.backward()
    assert log.count("unpack") == n_packed
    np.testing.assert_allclose(x.grad.numpy(), [4., 5., 6.])
    np.testing.assert_allclose(w.grad.numpy(), [1., 2., 3.])
    assert core_autograd.Node is graph._BaseNode  # the tape is back to plain nodes


def test_unpacked_values_are_what_backward_uses():
    x = ember.tensor([1., 2.], requires_grad=True)
    y = ember.tensor([3., 4.], requires_grad=True)
    with graph.saved_tensors_hooks(lambda t: t.detach() * 10, lambda t: t):
        z = (x * y).sum()
    z.backward()
    # d/dx = y, but the saved y came back multiplied by 10
    np.testing.assert_allclose(x.grad.numpy(), [30., 40.])
    np.testing.assert_allclose(y.grad.numpy(), [10., 20.])


def test_packed_handle_replaces_the_tensor():
    store = {}

    def pack(t):
        key = len(store)
        store[key] = t.detach().clone()
        return key

    x = ember.tensor([0.5, 1.5], requires_grad=True)
    with graph.saved_tensors_hooks(pack, lambda k: store[k]):
        y = x.exp().sin().sum()
    node = y._node
    while node is not None:  # the tape keeps only the handles
        assert not any(isinstance(a, ember.Tensor) and a is x for a in node.args or ())
        node = node.parents[0][0] if node.parents and node.parents[0] else None
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(np.exp([0.5, 1.5])) * np.exp([0.5, 1.5]),
                               rtol=1e-6)


def test_save_on_cpu_matches_plain_and_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 6)).astype(np.float32)
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    em = ember.nn.Sequential(ember.nn.Linear(6, 5), ember.nn.Tanh(), ember.nn.Linear(5, 2))
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    with torch.autograd.graph.save_on_cpu():
        tm(torch.tensor(xs)).pow(2).mean().backward()
    with graph.save_on_cpu(pin_memory=False):
        em(ember.tensor(xs)).pow(2).mean().backward()
    for (n, p), (_, q) in zip(em.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=n)


def test_nesting_retain_graph_and_disable():
    seen = []
    x = ember.tensor([2.], requires_grad=True)
    with graph.saved_tensors_hooks(lambda t: seen.append("outer") or t, lambda t: t):
        with graph.saved_tensors_hooks(lambda t: seen.append("inner") or t, lambda t: t):
            y = x * x
        z = y * x
    assert "inner" in seen and "outer" in seen and seen.index("inner") < seen.index("outer")
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad.item() == 24.0  # 2 * 3x^2
    with graph.disable_saved_tensors_hooks("hooks are off in this block"):
        with pytest.raises(RuntimeError, match="hooks are off in this block"):
            with graph.save_on_cpu():
                pass
    with graph.save_on_cpu():
        with pytest.raises(RuntimeError, match="not here"):
            with graph.disable_saved_tensors_hooks("not here"):
                pass
    with pytest.raises(TypeError, match="callable"):
        graph.saved_tensors_hooks(1, 2)


def test_unpack_must_return_a_tensor():
    x = ember.tensor([1., 2.], requires_grad=True)
    with graph.saved_tensors_hooks(lambda t: t, lambda t: "oops"):
        y = (x * x).sum()
    with pytest.raises(TypeError, match="unpack_hook must return a tensor"):
        y.backward()
