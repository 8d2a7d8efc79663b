"""ember.utils.checkpoint: torch.utils.checkpoint's semantics on the eager tape and under
transforms (values, gradients for inputs and closed-over parameters, random draws, double
backward), and parity with PyTorch's own checkpoint."""
import gc
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.core.autograd import Node
from ember.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential


def _model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 8),
                         nn.Tanh(), nn.Linear(8, 4))


def _grads(m, x, run):
    m.zero_grad()
    x = x.detach().requires_grad_()
    ember.manual_seed(1)
    y = run(m, x)
    (y ** 2).sum().backward()
    return y.detach().numpy(), x.grad.numpy(), [p.grad.numpy().copy() for p in m.parameters()]


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_same_values_and_gradients_as_without_checkpoint(use_reentrant):
    m, x = _model(), ember.randn(5, 8)
    y0, gx0, gp0 = _grads(m, x, lambda m, x: m(x))
    y1, gx1, gp1 = _grads(m, x, lambda m, x: checkpoint(m, x, use_reentrant=use_reentrant))
    np.testing.assert_array_equal(y1, y0)  # the dropout mask is the forward's in recompute
    np.testing.assert_array_equal(gx1, gx0)
    for a, b in zip(gp1, gp0):
        np.testing.assert_array_equal(a, b)


def test_parameters_get_gradients_when_no_input_requires_grad():
    m, x = _model(), ember.randn(5, 8)
    ember.manual_seed(1)
    y = checkpoint(m, x, use_reentrant=False)
    g = ember.autograd.grad(y.sum(), list(m.parameters()))  # autograd.grad works too
    ember.manual_seed(1)
    ref = ember.autograd.grad(m(x).sum(), list(m.parameters()))
    for a, b in zip(g, ref):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_reentrant_without_grad_inputs_warns_and_gives_no_graph_as_pytorch():
    m = _model()
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad"):
        y = checkpoint(m, ember.randn(2, 8), use_reentrant=True)
    assert not y.requires_grad


def test_intermediates_are_not_kept():
    def chain(x):
        for _ in range(40):
            x = (x * 1.01).sin()
        return x
    x = ember.randn(16, requires_grad=True)
    gc.collect()
    before = sum(1 for o in gc.get_objects() if type(o) is Node)  # other tests' leftovers
    out = checkpoint(chain, x, use_reentrant=False)
    gc.collect()
    assert sum(1 for o in gc.get_objects() if type(o) is Node) - before <= 2
    out.sum().backward()
    ref = ember.randn(16, requires_grad=True)
    with ember.no_grad():
        ref.copy_(x)
    chain(ref).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref.grad.numpy(), rtol=1e-6)


def test_kwargs_tuple_outputs_and_non_tensor_outputs():
    w = ember.randn(3, requires_grad=True)

    def block(a, b, *, scale):
        return a * w * scale, (b + 1).long(), "tag"
    a = ember.randn(3, requires_grad=True)
    y, idx, tag = checkpoint(block, a, ember.randn(3), scale=2.0, use_reentrant=False)
    assert tag == "tag" and idx.dtype == ember.int64 and not idx.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * w.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), 2 * a.detach().numpy(), rtol=1e-6)


def test_parameter_hooks_run_once():
    lin = nn.Linear(3, 3)
    calls = []
    lin.weight.register_hook(lambda g: calls.append(1))
    checkpoint(lin, ember.randn(2, 3, requires_grad=True), use_reentrant=False).sum().backward()
    assert calls == [1]


def test_double_backward():
    w = ember.randn(3, requires_grad=True)
    x = ember.randn(3, requires_grad=True)
    y = checkpoint(lambda t: (t ** 3 * w).sum(), x * 1.0, use_reentrant=False)
    g, = ember.autograd.grad(y, x, create_graph=True)
    h, = ember.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.detach().numpy() * w.detach().numpy(),
                               rtol=1e-5)


def test_recompute_with_other_shapes_raises():
    state = {"n": 3}

    def block(x):
        return x[: state["n"]] * 2
    x = ember.randn(5, requires_grad=True)
    y = checkpoint(block, x, use_reentrant=False)
    state["n"] = 2
    with pytest.raises(CheckpointError, match=r"checkpoint: recomputing .*float32\[2\].*"
                                              r"float32\[3\]"):
        y.sum().backward()


def test_no_grad_mode_runs_plainly_and_bad_options_raise():
    with ember.no_grad():
        assert not checkpoint(nn.Linear(2, 2), ember.randn(1, 2)).requires_grad
    with pytest.raises(ValueError, match="context_fn"):
        checkpoint(lambda x: x, ember.ones(1), context_fn=lambda: None)


def test_checkpoint_sequential_matches_the_plain_model():
    m, x = _model(), ember.randn(5, 8)
    _, gx0, gp0 = _grads(m, x, lambda m, x: m(x))
    _, gx1, gp1 = _grads(m, x, lambda m, x: checkpoint_sequential(m, 3, x,
                                                                   use_reentrant=False))
    np.testing.assert_array_equal(gx1, gx0)
    for a, b in zip(gp1, gp0):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="segments"):
        checkpoint_sequential(m, 0, x)


def test_under_transforms_it_is_remat():
    lin = nn.Linear(3, 3)
    params = dict(lin.named_parameters())
    x = ember.randn(2, 3)

    def loss(p, ckpt):
        f = lambda v: ember.func.functional_call(lin, p, (v,)).tanh()  # noqa: E731
        return (checkpoint(f, x, use_reentrant=False) if ckpt else f(x)).sum()
    g = ember.grad(loss)(params, True)
    ref = ember.grad(loss)(params, False)
    for k in g:
        np.testing.assert_allclose(g[k].detach().numpy(), ref[k].detach().numpy(), rtol=1e-6)
    gj = ember.jit(ember.grad(loss), static_argnums=1)(params, True)
    for k in g:
        np.testing.assert_allclose(gj[k].detach().numpy(), ref[k].detach().numpy(), rtol=1e-6)


def test_parity_with_pytorch_checkpoint():
    torch = pytest.importorskip("torch")
    import torch.utils.checkpoint as tcp
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal((3, 6)).astype(
        np.float32)
    x = rng.standard_normal((5, 4)).astype(np.float32)

    def run(lib, ck):
        a, b = lib.tensor(w1, requires_grad=True), lib.tensor(w2, requires_grad=True)
        xi = lib.tensor(x, requires_grad=True)
        block = lambda t: (t @ a.T).tanh() @ b.T  # noqa: E731
        y = ck(block, xi, use_reentrant=False)
        (y ** 2).sum().backward()
        return [t.detach().numpy() for t in (y, xi.grad, a.grad, b.grad)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e, t in zip(run(ember, checkpoint), run(torch, tcp.checkpoint)):
            np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)
