"""The composition matrix: for a set of functions covering the op families, every nesting of
jit / vmap / grad / jvp agrees with the eager result (and with each other)."""
import numpy as np
import pytest

import ember
from ember import jit, vmap, grad, jvp, jacfwd, jacrev, hessian
import ember.nn.functional as F

rng = np.random.default_rng(7)
K = ember.tensor(rng.standard_normal((2, 1, 3, 3)))


def elementwise(x):
    return (x.sin() * x.exp() + ember.sigmoid(x) * 2 - x.abs() ** 1.5).sum()


def reductions(x):
    m = x.reshape(3, 4)
    return m.logsumexp(1).sum() + m.max(0).values.sum() + m.var() + m.norm()


def matmul(x):
    m = x.reshape(3, 4)
    return (m @ m.T).tanh().sum() + ember.einsum("ij,ij->", m, m)


def conv(x):
    img = x.reshape(1, 1, 3, 4)
    y = F.conv2d(F.pad(img, (1, 1, 1, 1)), K, padding=1)
    return F.max_pool2d(y, 2).sum() + F.avg_pool2d(y, 2).pow(2).sum()


def indexing(x):
    m = x.reshape(3, 4)
    return (m[1:, ::2] * m[[0, 2], 1:3]).sum() + ember.gather(
        m, 1, ember.tensor([[3, 0], [1, 1], [2, 0]])).prod() + m.flip(0).cumsum(1)[-1].sum()


def control(x):
    m = x.reshape(3, 4)
    c, ys = ember.scan(lambda c, r: (c * r.cos() + r, c.sum()), ember.zeros(4, dtype=x.dtype), m)
    return ember.cond(c.sum() > 0, lambda a: a.sum() * 2, lambda a: a.exp().sum(), c) + ys.sum()


FUNCS = [elementwise, reductions, matmul, conv, indexing, control]


def _x():
    return ember.tensor(rng.standard_normal(12))


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_forward_compositions(f):
    x = _x()
    xs = ember.stack([_x() for _ in range(3)])
    ref = f(x).item()
    assert jit(f)(x).item() == ref
    loop = np.array([f(xs[i]).item() for i in range(3)])
    for g in (vmap(f), jit(vmap(f)), vmap(jit(f))):
        np.testing.assert_allclose(g(xs).numpy(), loop, rtol=1e-12)


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_gradient_compositions(f):
    x = _x()
    xs = ember.stack([_x() for _ in range(3)])
    ref = grad(f)(x).numpy()
    xt = x.detach().requires_grad_()
    f(xt).backward()
    np.testing.assert_allclose(xt.grad.numpy(), ref, rtol=1e-10, atol=1e-12)
    for g in (jit(grad(f)), grad(jit(f))):
        np.testing.assert_allclose(g(x).numpy(), ref, rtol=1e-10, atol=1e-12)
    loop = np.stack([grad(f)(xs[i]).numpy() for i in range(3)])
    for g in (vmap(grad(f)), jit(vmap(grad(f))), vmap(jit(grad(f)))):
        np.testing.assert_allclose(g(xs).numpy(), loop, rtol=1e-10, atol=1e-12)
    v = _x()
    _, t = jvp(f, (x,), (v,))
    assert t.item() == pytest.approx(float(ref @ v.numpy()), rel=1e-9, abs=1e-12)
    _, t2 = jit(lambda a, b: jvp(f, (a,), (b,)))(x, v)
    assert t2.item() == pytest.approx(t.item(), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("f", [elementwise, matmul, indexing], ids=lambda f: f.__name__)
def test_second_order_compositions(f):
    x = _x()
    h = hessian(f)(x).numpy()
    np.testing.assert_allclose(jacfwd(jacrev(f))(x).numpy(), h, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(jacrev(jacfwd(f))(x).numpy(), h, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(jit(hessian(f))(x).numpy(), h, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(grad(lambda y: grad(f)(y).sum())(x).numpy(), h.sum(0),
                               rtol=1e-9, atol=1e-10)
