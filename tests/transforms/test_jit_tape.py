"""jit on tensors that require grad: one tape node, a compiled backward, eager's gradients."""
import gc

import numpy as np

import ember
from ember import nn
from ember.core.autograd import Node


def _model_and_data():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    return model, ember.randn(6, 4), ember.tensor([0, 1, 2, 1, 0, 2])


def test_jit_loss_backward_matches_eager_with_closure_parameters():
    model, x, y = _model_and_data()
    loss = lambda x, y: nn.functional.cross_entropy(model(x), y)  # noqa: E731
    loss(x, y).backward()
    want = [p.grad.numpy().copy() for p in model.parameters()]
    jl = ember.jit(loss)
    for _ in range(3):  # first call compiles, later ones run the cached plans
        model.zero_grad()
        out = jl(x, y)
        assert out.grad_fn is not None and "Jit_call" in repr(out.grad_fn)
        out.backward()
        for p, g in zip(model.parameters(), want):
            np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-6, atol=1e-7)
    assert jl.trace_count == 1


def test_jit_with_parameters_as_arguments_records_one_node():
    w = ember.randn(4, 3, requires_grad=True)
    x = ember.randn(5, 4, requires_grad=True)
    f = ember.jit(lambda w, x: ((x @ w).tanh() ** 2).sum())
    f(w, x).backward()
    gw, gx = w.grad.numpy().copy(), x.grad.numpy().copy()
    w.grad = x.grad = None
    ((x @ w).tanh() ** 2).sum().backward()
    np.testing.assert_allclose(gw, w.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(gx, x.grad.numpy(), rtol=1e-5)
    gc.collect()
    before = sum(1 for o in gc.get_objects() if type(o) is Node)
    out = f(w, x)
    gc.collect()
    assert sum(1 for o in gc.get_objects() if type(o) is Node) - before == 1
    del out


def test_higher_order_through_a_jitted_node():
    x = ember.tensor([0.3, -1.2, 2.0], dtype=ember.float64, requires_grad=True)
    f = ember.jit(lambda x: (x.sin() * x).sum())
    (g,) = ember.autograd.grad(f(x), x, create_graph=True)
    (h,) = ember.autograd.grad(g.sum(), x)
    xv = x.detach().numpy()
    np.testing.assert_allclose(g.detach().numpy(), np.cos(xv) * xv + np.sin(xv), rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), 2 * np.cos(xv) - xv * np.sin(xv), rtol=1e-12)


def test_compiled_backward_computes_only_the_cotangents_the_tape_needs():
    # a compiled conv module on a data batch: the batch's cotangent (a transposed
    # convolution, as costly as the weight gradient) is not computed; with x requiring grad
    # it is, and every gradient equals eager's
    ember.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3)
    for x_grad in (False, True):
        fast = ember.compile(conv)
        x = ember.randn(2, 3, 8, 8, requires_grad=x_grad)
        conv.zero_grad()
        (conv(x) ** 2).sum().backward()
        want = [p.grad.numpy().copy() for p in conv.parameters()]
        want_x = x.grad.numpy().copy() if x_grad else None
        for _ in range(2):
            conv.zero_grad()
            x.grad = None
            out = fast(x)
            plan = out.grad_fn.params["plan"].grad_plan()
            (out ** 2).sum().backward()
            for p, g in zip(conv.parameters(), want):
                np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-5, atol=1e-6)
            if x_grad:
                np.testing.assert_allclose(x.grad.numpy(), want_x, rtol=1e-5, atol=1e-6)
            else:
                assert x.grad is None
        partial = [k for k in plan._derived if isinstance(k, tuple) and k[0] == "bwd"]
        assert partial == ([] if x_grad else [("bwd", (1, 2))]), partial


def test_backward_through_a_jitted_linear_function_that_keeps_no_residuals():
    # a linear function's compiled forward has its outputs only: the tape's node holds one
    for f in (lambda v: (v * 2).sum(), lambda v: v, lambda v: v * 3):
        x = ember.tensor([1., 2.], requires_grad=True)
        (ember.jit(f)(x) ** 2).sum().backward()
        x2 = ember.tensor([1., 2.], requires_grad=True)
        (f(x2) ** 2).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy())
