"""Reverse mode as a transform (vjp, grad, jacrev, hessian) and its compositions."""
import numpy as np
import pytest

import ember
from ember import grad, hessian, jacfwd, jacrev, jvp, value_and_grad, vjp, vmap

from .test_jvp_vmap import FUNCS

rng = np.random.default_rng(1)


def T(*shape):
    return ember.tensor(rng.standard_normal(shape))


def fd_grad(f, x, eps=1e-6):
    x = x.numpy()
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(ember.tensor(x + e)).item() - f(ember.tensor(x - e)).item()) / (2 * eps)
    return g


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_grad_matches_finite_differences(name):
    f = lambda x: FUNCS[name](x).sum()  # noqa: E731
    x = T(3, 4)
    np.testing.assert_allclose(grad(f)(x).numpy(), fd_grad(f, x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_grad_agrees_with_eager_backward(name):
    f = lambda x: FUNCS[name](x).sum()  # noqa: E731
    x = T(3, 4)
    xe = x.detach().requires_grad_()
    f(xe).backward()
    np.testing.assert_allclose(grad(f)(x).numpy(), xe.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_vjp_and_jvp_are_transposes(name):
    f = FUNCS[name]
    x, v = T(3, 4), T(3, 4)
    out, fn = vjp(f, x)
    u = ember.tensor(rng.standard_normal(tuple(out.shape)))
    jv = jvp(f, (x,), (v,))[1]
    (jtu,) = fn(u)
    np.testing.assert_allclose((u * jv).sum().item(), (jtu * v).sum().item(), rtol=1e-10)


def test_per_example_gradients_equal_a_loop():
    W = T(3, 2)
    xs, ys = T(6, 3), T(6, 2)
    loss = lambda w, x, y: (((x @ w).tanh() - y) ** 2).sum()  # noqa: E731
    pe = vmap(grad(loss), in_axes=(None, 0, 0))(W, xs, ys)
    loop = np.stack([grad(loss)(W, ember.tensor(xs.numpy()[i]), ember.tensor(ys.numpy()[i]))
                     .numpy() for i in range(6)])
    np.testing.assert_allclose(pe.numpy(), loop, rtol=1e-12, atol=1e-14)


def test_higher_order():
    x = T(4)
    d2 = grad(lambda z: grad(lambda w: (w ** 3).sum())(z).sum())(x)
    np.testing.assert_allclose(d2.numpy(), 6 * x.numpy(), rtol=1e-12)
    H = hessian(lambda z: (z.sin() * z).sum())(x)
    xn = x.numpy()
    np.testing.assert_allclose(H.numpy(), np.diag(2 * np.cos(xn) - xn * np.sin(xn)), atol=1e-12)
    f = lambda z: (z.exp() * z.sum()).tanh()  # noqa: E731
    np.testing.assert_allclose(jacrev(f)(x).numpy(), jacfwd(f)(x).numpy(), rtol=1e-10)


def test_value_and_grad_argnums_has_aux():
    a, b = T(3), T(3)
    f = lambda x, y: ((x * y).sum(), x.sum())  # noqa: E731
    (val, aux), (ga, gb) = value_and_grad(f, argnums=(0, 1), has_aux=True)(a, b)
    np.testing.assert_allclose(val.item(), (a.numpy() * b.numpy()).sum())
    np.testing.assert_allclose(ga.numpy(), b.numpy())
    np.testing.assert_allclose(gb.numpy(), a.numpy())
    assert aux.item() == pytest.approx(a.numpy().sum())
    g = grad(lambda p: (p["w"] * p["b"]).sum())({"w": a, "b": b})
    np.testing.assert_allclose(g["w"].numpy(), b.numpy())


def test_grad_errors():
    with pytest.raises(TypeError, match="scalar"):
        grad(lambda x: x * 2)(T(3))
    with pytest.raises(ValueError, match="argnums"):
        grad(lambda x: x.sum(), argnums=2)(T(3))


def test_stop_gradient():
    x = T(3)
    g = grad(lambda z: (z * ember.stop_gradient(z)).sum())(x)
    np.testing.assert_allclose(g.numpy(), x.numpy())


def test_eager_backward_through_grad_transform():
    w = T(3).requires_grad_()
    x = T(3)
    g = grad(lambda z: ((z * w).sum()) ** 2)(x)  # 2 (z.w) w
    g.sum().backward()
    xn, wn = x.numpy(), w.detach().numpy()
    expected = 2 * xn * wn.sum() + 2 * (xn @ wn)  # d/dw of sum_i 2 (x.w) w_i
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12)


def test_parity_with_jax(request):
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64  # restored afterwards: other files compare in 32 bits
    request.addfinalizer(lambda: jax.config.update("jax_enable_x64", previous))
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x = T(4)
    fe = lambda z: (z.sin() * z.exp()).sum() / (1 + (z * z).sum())  # noqa: E731
    fj = lambda z: (jnp.sin(z) * jnp.exp(z)).sum() / (1 + (z * z).sum())  # noqa: E731
    np.testing.assert_allclose(grad(fe)(x).numpy(), np.asarray(jax.grad(fj)(x.numpy())),
                               rtol=1e-12)
    np.testing.assert_allclose(hessian(fe)(x).numpy(), np.asarray(jax.hessian(fj)(x.numpy())),
                               rtol=1e-10, atol=1e-12)
    xs = T(5, 4)
    np.testing.assert_allclose(vmap(grad(fe))(xs).numpy(),
                               np.asarray(jax.vmap(jax.grad(fj))(xs.numpy())), rtol=1e-12)


def test_jit_returns_constants_as_tensors():
    r = ember.jit(lambda x: 1)(ember.ones(2))
    assert isinstance(r, ember.Tensor) and r.item() == 1
    assert ember.jit(lambda: np.ones(2))().tolist() == [1.0, 1.0]
