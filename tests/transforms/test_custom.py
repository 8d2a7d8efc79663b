"""custom_vjp, custom_jvp and checkpoint under every transform and the eager tape."""
import gc

import numpy as np
import pytest

import ember
from ember import grad, jit, vmap, jvp
from ember.core.autograd import Node


@ember.custom_vjp
def clip_gradient(x, c):
    return x * 1.0


def _fwd(x, c):
    return x * 1.0, c


def _bwd(c, g):
    return (g.clamp(-c, c), None)


clip_gradient.defvjp(_fwd, _bwd)
W = ember.tensor([1.0, -3.0, 0.2])


def test_custom_vjp_everywhere():
    f = lambda x: (clip_gradient(x, 0.5) * W).sum()  # noqa: E731
    x = ember.tensor([1.0, 2.0, 3.0])
    want = [0.5, -0.5, 0.2]
    np.testing.assert_allclose(grad(f)(x).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(jit(grad(f))(x).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(vmap(grad(f))(ember.stack([x, 2 * x])).numpy(), [want, want],
                               rtol=1e-6)
    xt = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    f(xt).backward()
    np.testing.assert_allclose(xt.grad.numpy(), want, rtol=1e-6)
    with pytest.raises(TypeError, match="forward-mode autodiff .jvp. to a custom_vjp"):
        jvp(f, (x,), (x,))


@ember.custom_jvp
def softplus(x):
    return (1 + x.exp()).log()


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * ember.sigmoid(x)


def test_custom_jvp_forward_and_transposed_reverse():
    x = ember.tensor([-1.0, 0.5, 2.0], dtype=ember.float64)
    s = ember.sigmoid(x).numpy()
    _, t = jvp(softplus, (x,), (ember.ones(3, dtype=ember.float64),))
    np.testing.assert_allclose(t.numpy(), s)
    f = lambda x: softplus(x).sum()  # noqa: E731
    np.testing.assert_allclose(grad(f)(x).numpy(), s)
    np.testing.assert_allclose(jit(grad(f))(x).numpy(), s)
    np.testing.assert_allclose(vmap(grad(f))(ember.stack([x, x])).numpy(), [s, s])
    xt = x.detach().requires_grad_()
    f(xt).backward()
    np.testing.assert_allclose(xt.grad.numpy(), s)


def _chain(x):
    for _ in range(40):
        x = (x * 1.01).sin()
    return x.sum()


def test_checkpoint_recomputes_instead_of_storing():
    x = ember.randn(16, dtype=ember.float64)
    g = grad(_chain)(x).numpy()
    np.testing.assert_allclose(grad(ember.checkpoint(_chain))(x).numpy(), g, rtol=1e-12)
    np.testing.assert_allclose(jit(grad(ember.checkpoint(_chain)))(x).numpy(), g, rtol=1e-12)
    h = ember.hessian(lambda v: ember.checkpoint(_chain)(v))(x[:3]).numpy()
    np.testing.assert_allclose(h, ember.hessian(_chain)(x[:3]).numpy(), rtol=1e-10)

    def live_nodes(f):
        xt = x.detach().requires_grad_()
        gc.collect()
        before = sum(1 for o in gc.get_objects() if type(o) is Node)  # leftovers
        out = f(xt)
        gc.collect()
        n = sum(1 for o in gc.get_objects() if type(o) is Node) - before
        out.backward()
        return n, xt.grad.numpy()
    n_plain, g1 = live_nodes(_chain)
    n_ckpt, g2 = live_nodes(ember.checkpoint(_chain))
    np.testing.assert_allclose(g2, g, rtol=1e-12)
    assert n_plain >= 80 and n_ckpt <= 2  # the checkpointed forward keeps one node


def test_checkpoint_closure_over_traced_and_grad_requiring_values():
    # JAX closure conversion: a closed-over tracer of grad/jit/vmap, or an eager parameter,
    # becomes an input of the checkpointed call and gets its gradient
    w, x = ember.randn(3, 3), ember.randn(2, 3)
    ref = grad(lambda w: (x @ w).tanh().sum())(w).numpy()

    def f(w):
        return ember.checkpoint(lambda v: (v @ w).tanh())(x).sum()
    np.testing.assert_allclose(grad(f)(w).numpy(), ref, rtol=1e-6)
    np.testing.assert_allclose(jit(grad(f))(w).numpy(), ref, rtol=1e-6)
    per = ember.vmap(grad(f))(ember.stack([w, 2 * w])).numpy()
    np.testing.assert_allclose(per[0], ref, rtol=1e-6)
    lin = ember.nn.Linear(3, 3)
    xt = x.detach().requires_grad_()
    ember.checkpoint(lambda v: lin(v).tanh())(xt).sum().backward()
    g = lin.weight.grad.numpy().copy()
    lin.weight.grad = None
    lin(xt).tanh().sum().backward()
    np.testing.assert_allclose(g, lin.weight.grad.numpy(), rtol=1e-6)


def test_checkpoint_recomputation_sees_the_forward_random_draws():
    d = ember.nn.Dropout(0.5)

    def f(x):
        y = ember.checkpoint(lambda v: d(v) * 2)(x)
        return y.sum(), y
    (_, y), g = ember.value_and_grad(f, has_aux=True)(ember.ones(200))
    np.testing.assert_array_equal(y.numpy() != 0, g.numpy() != 0)
    assert 0 < (g.numpy() != 0).sum() < 200
    xt = ember.ones(200, requires_grad=True)
    y = ember.checkpoint(lambda v: d(v) * 2)(xt)
    y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy() != 0, xt.grad.numpy() != 0)
    g1, g2 = (jit(grad(lambda v: f(v)[0]))(ember.ones(200)) for _ in range(2))
    assert (g1.numpy() != g2.numpy()).any()  # a new draw per call, as eager


def test_checkpoint_static_argnums():
    f = ember.checkpoint(lambda x, n: x ** n, static_argnums=(1,))
    np.testing.assert_allclose(grad(lambda x: f(x, 3).sum())(ember.tensor([2.0])).numpy(), [12.0])
