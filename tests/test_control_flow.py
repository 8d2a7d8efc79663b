"""cond / switch / scan / fori_loop / while_loop: eager Python, jit, vmap, grad, jvp and
their nestings agree; gradients match finite differences and JAX."""
import numpy as np
import pytest

import ember
from ember import jit, vmap, grad, jvp

rng = np.random.default_rng(0)


def _fd(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += eps
        lo[i] -= eps
        g[i] = (f(ember.tensor(hi)).item() - f(ember.tensor(lo)).item()) / (2 * eps)
    return g


def rnn_loss(w, xs):
    """A tiny RNN as a scan whose body captures ``w`` from the enclosing function."""
    def step(h, x):
        h = ember.tanh(h * w[0] + x * w[1])
        return h, h * w[2]
    h, ys = ember.scan(step, ember.zeros(2, dtype=ember.float64), xs)
    return (ys ** 2).sum() + h.sum()


def branchy(x):
    y = ember.cond(x.sum() > 0, lambda a: (a * a).sum(), lambda a: a.sin().sum(), x)
    return ember.switch(ember.tensor(1), [lambda a: a * 0, lambda a: a * 3, lambda a: a], y)


def loops(x):
    v = ember.fori_loop(0, 4, lambda i, v: v * x + i, ember.ones(3, dtype=ember.float64))
    _, c = ember.scan(lambda c, z: (c * z, c), ember.tensor(1.0, dtype=ember.float64), x,
                      reverse=True)
    return v.sum() + c.sum()


FUNCS = [("rnn_scan", lambda x: rnn_loss(x[:3], x[3:].reshape(3, 2)), (9,)),
         ("cond_switch", branchy, (4,)),
         ("fori_scan_reverse", loops, (3,))]


@pytest.mark.parametrize("name,f,shape", FUNCS, ids=[c[0] for c in FUNCS])
def test_eager_jit_vmap_grad_agree(name, f, shape):
    xs = [rng.standard_normal(shape) for _ in range(3)]
    if name == "cond_switch":
        xs[1] = -np.abs(xs[1])  # both branches get exercised
        xs[0] = np.abs(xs[0])
    for x in xs:
        t = ember.tensor(x)
        eager = f(t).item()
        assert jit(f)(t).item() == pytest.approx(eager, rel=1e-12)
        g_fd = _fd(f, x)
        np.testing.assert_allclose(grad(f)(t).numpy(), g_fd, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(jit(grad(f))(t).numpy(), g_fd, rtol=1e-5, atol=1e-7)
        # the PyTorch way: the eager tape through Python control flow
        tt = ember.tensor(x, requires_grad=True)
        f(tt).backward()
        np.testing.assert_allclose(tt.grad.numpy(), g_fd, rtol=1e-5, atol=1e-7)
        v = ember.tensor(rng.standard_normal(shape))
        _, tan = jvp(f, (t,), (v,))
        assert tan.item() == pytest.approx(float(g_fd @ v.numpy()), rel=1e-5, abs=1e-7)
    batch = ember.tensor(np.stack(xs))
    loop = np.array([f(ember.tensor(x)).item() for x in xs])
    np.testing.assert_allclose(vmap(f)(batch).numpy(), loop, rtol=1e-12)
    np.testing.assert_allclose(jit(vmap(f))(batch).numpy(), loop, rtol=1e-12)
    per_example = vmap(grad(f))(batch).numpy()
    np.testing.assert_allclose(per_example, np.stack([_fd(f, x) for x in xs]), rtol=1e-5,
                               atol=1e-7)


def test_second_order_through_scan():
    f = lambda x: ember.scan(lambda c, z: (c * z.sin(), c), ember.tensor(1.0, dtype=ember.float64), x)[0]  # noqa: E731,E501
    x = rng.standard_normal(3)
    h = ember.hessian(f)(ember.tensor(x)).numpy()
    fd = np.stack([_fd(lambda t, i=i: grad(f)(t)[i], x) for i in range(3)])
    np.testing.assert_allclose(h, fd, rtol=1e-4, atol=1e-6)


def test_scan_grad_matches_jax():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    w = rng.standard_normal(3)
    xs = rng.standard_normal((3, 2))

    def jloss(w, xs):
        def step(h, x):
            h = jnp.tanh(h * w[0] + x * w[1])
            return h, h * w[2]
        h, ys = jax.lax.scan(step, jnp.zeros(2), xs)
        return (ys ** 2).sum() + h.sum()
    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        jg = jax.grad(jloss)(w, xs)
    finally:  # restore, don't force off: other test modules in this worker rely on x64
        jax.config.update("jax_enable_x64", x64)
    eg = grad(rnn_loss)(ember.tensor(w), ember.tensor(xs))
    np.testing.assert_allclose(eg.numpy(), np.asarray(jg), rtol=1e-10)


def test_while_loop_forward_modes_and_clear_error_under_grad():
    f = lambda x: ember.while_loop(lambda v: v.sum() < 100, lambda v: v * 2, x)  # noqa: E731
    x = ember.tensor([1.0, 2.0])
    np.testing.assert_array_equal(jit(f)(x).numpy(), [64.0, 128.0])
    np.testing.assert_array_equal(vmap(f)(ember.tensor([[1.0, 2.0], [30.0, 40.0]])).numpy(),
                                  [[64.0, 128.0], [60.0, 80.0]])
    _, t = jvp(f, (x,), (ember.ones(2),))
    np.testing.assert_array_equal(t.numpy(), [64.0, 64.0])
    with pytest.raises(RuntimeError, match="while_loop: reverse-mode differentiation"):
        grad(lambda x: f(x).sum())(x)
    # traced bounds make fori_loop a while_loop
    g = jit(lambda n, x: ember.fori_loop(0, n, lambda i, v: v + i, x))
    assert g(ember.tensor(4), ember.tensor(0.0)).item() == 6.0


def test_cond_errors_and_traced_predicate_message():
    with pytest.raises(TypeError, match="cond: branch 1 returns"):
        jit(lambda x: ember.cond(x.sum() > 0, lambda a: a, lambda a: a.sum(), x))(ember.ones(2))
    with pytest.raises(TypeError, match="scan: the body changes the carry"):
        jit(lambda x: ember.scan(lambda c, z: (c.sum(), c), x, x))(ember.ones(2))


def test_eager_loops_give_arrays_for_python_carries_as_jax():
    import ember.numpy as jnp
    r = ember.lax.fori_loop(0, 3, lambda i, c: c + i, 0)
    assert isinstance(r, ember.Tensor) and r.item() == 3 and r.dtype == ember.int32
    seen = []
    ember.lax.fori_loop(0, 2, lambda i, c: seen.append(i) or c, 0.0)
    assert all(isinstance(i, ember.Tensor) and i.dtype == ember.int32 for i in seen)
    w = ember.lax.while_loop(lambda c: c < 3, lambda c: c + 1, 0)
    assert isinstance(w, ember.Tensor) and w.item() == 3
    xs = jnp.arange(5.0)
    assert ember.lax.fori_loop(0, 5, lambda i, c: c + xs[i], 0.0).item() == 10.0
