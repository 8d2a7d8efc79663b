"""F.linear binds one fused primitive eagerly; it must give the same bits as the composed
``x @ w.T + b`` (transpose, matmul, add), in values and gradients, and jit must agree."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops.linalg import linear_p


def _composed(x, w, b):
    out = x @ w.mT
    return out if b is None else out + b


def _case(xshape, bias, dtype, transpose_x=False):
    rng = np.random.default_rng(0)
    xa = rng.standard_normal(xshape).astype(dtype)
    if transpose_x:  # a non-contiguous input (the matmul kernel then loops)
        xa = np.ascontiguousarray(np.swapaxes(xa, 0, 1)).swapaxes(0, 1)
    wa = rng.standard_normal((7, xshape[-1])).astype(dtype)
    ba = rng.standard_normal(7).astype(dtype) if bias else None
    return xa, wa, ba


@pytest.mark.parametrize("xshape,bias,transpose_x", [
    ((5, 3), True, False), ((5, 3), False, False), ((2, 4, 3), True, False),
    ((4, 2, 3), True, True), ((1, 3), True, False)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_linear_same_bits_as_composed(xshape, bias, transpose_x, dtype):
    xa, wa, ba = _case(xshape, bias, dtype, transpose_x)
    outs, grads = [], []
    for fused in (True, False):
        x = ember.tensor(xa, requires_grad=True)
        w = ember.tensor(wa, requires_grad=True)
        b = ember.tensor(ba, requires_grad=True) if bias else None
        y = F.linear(x, w, b) if fused else _composed(x, w, b)
        assert (y.grad_fn.prim is linear_p) == fused
        ct = ember.tensor(np.random.default_rng(1).standard_normal(y.shape).astype(dtype))
        for _ in range(3):  # the third backward runs the VJP as a compiled plan
            for t in (x, w, b):
                if t is not None:
                    t.grad = None
            y.backward(ct, retain_graph=True)
        outs.append(y.detach().numpy())
        grads.append([t.grad.numpy() for t in (x, w, b) if t is not None])
    np.testing.assert_array_equal(outs[0], outs[1])
    for g0, g1 in zip(*grads):
        assert g0.dtype == g1.dtype and g0.shape == g1.shape
        np.testing.assert_array_equal(g0, g1)


def test_fused_linear_matches_jit_and_torch_style_layer():
    layer = ember.nn.Linear(6, 4)
    x = ember.randn(8, 6)

    def loss(m, x):
        return (m(x) ** 2).sum()

    eager = loss(layer, x)
    eager.backward()
    g_eager = layer.weight.grad.numpy().copy()
    layer.zero_grad()
    step = ember.jit(lambda x: loss(layer, x))
    for _ in range(2):
        layer.zero_grad()
        out = step(x)
        out.backward()
    np.testing.assert_array_equal(out.detach().numpy(), eager.detach().numpy())
    np.testing.assert_array_equal(layer.weight.grad.numpy(), g_eager)


def test_fused_linear_under_transforms_keeps_matmul():
    w = ember.randn(3, 2)
    g = ember.func.grad(lambda w, x: F.linear(x, w).sum())(w, ember.ones(4, 2))
    np.testing.assert_allclose(g.numpy(), np.full((3, 2), 4.0))
    # vmap and double backward go through the composed form / the reference
    xs = ember.randn(5, 4, 2)
    ys = ember.vmap(lambda x: F.linear(x, w))(xs)
    np.testing.assert_allclose(ys.numpy(), xs.numpy() @ w.numpy().T, rtol=1e-6)
    x = ember.randn(4, 2, requires_grad=True)
    wr = w.clone().requires_grad_(True)
    y = F.linear(x, wr)
    (gx,) = ember.autograd.grad((y ** 2).sum(), x, create_graph=True)
    gx.sum().backward()
    ref_w = wr.detach().numpy()
    # d/dW of sum(2 (x W^T) W) = ...: compare with the composed form
    x2 = x.detach().clone().requires_grad_(True)
    wr2 = w.clone().requires_grad_(True)
    (gx2,) = ember.autograd.grad(((x2 @ wr2.mT) ** 2).sum(), x2, create_graph=True)
    gx2.sum().backward()
    np.testing.assert_allclose(wr.grad.numpy(), wr2.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-6)
    assert ref_w.shape == (3, 2)


def test_fused_linear_errors_name_the_shapes():
    with pytest.raises(Exception, match=r"\(4, 3\).*\(2, 5\)|don't line up"):
        F.linear(ember.ones(4, 3), ember.ones(5, 2))
