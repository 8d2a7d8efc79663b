"""vmap of a shared matrix times a batched operand (jnp.dot(w, x) with x vmapped, JAX's
MLP tutorial): one product over the whole batch, and a weight gradient that never forms the
per-example outer products; values and gradients as the loop's."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp
from ember import grad, jit, vmap

RS = np.random.RandomState(0)
W = RS.randn(6, 5).astype(np.float32)
XS = RS.randn(4, 5).astype(np.float32)
XM = RS.randn(4, 5, 3).astype(np.float32)


def _sizes(graph):
    return [int(np.prod(o.aval.shape)) for e in graph.eqns for o in e.outs]


@pytest.mark.parametrize("xs", [XS, XM], ids=["vectors", "matrices"])
def test_shared_matrix_times_batch_matches_loop(xs):
    w = jnp.asarray(W)
    got = vmap(lambda x: jnp.dot(w, x))(jnp.asarray(xs)).numpy()
    want = np.stack([W @ x for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # the batch at another axis of x
    got1 = vmap(lambda x: jnp.dot(w, x), in_axes=1)(jnp.asarray(np.moveaxis(xs, 0, 1)))
    np.testing.assert_allclose(got1.numpy(), want, rtol=1e-5, atol=1e-5)


def test_weight_gradient_sums_inside_one_product():
    def loss(w, xs):
        return (vmap(lambda x: jnp.tanh(jnp.dot(w, x)))(xs) ** 2).sum()
    w, xs = jnp.asarray(W), jnp.asarray(XS)
    g = grad(loss)(w, xs).numpy()
    want = sum(np.outer(2 * np.tanh(W @ x) * (1 - np.tanh(W @ x) ** 2), x) for x in XS)
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(jit(grad(loss))(w, xs).numpy(), g, rtol=1e-5, atol=1e-6)
    # no (batch, 6, 5) intermediate: the largest value is the weight's size
    graph = ember.make_jaxpr(grad(loss))(w, xs)
    assert max(_sizes(graph)) <= W.size


def test_matches_jax_mlp_gradient():
    jax = pytest.importorskip("jax")

    def make(np_mod, vm, gr):
        def loss(w, xs):
            return np_mod.mean(vm(lambda x: np_mod.maximum(0, np_mod.dot(w, x)))(xs))
        return gr(loss)
    ours = make(jnp, vmap, grad)(jnp.asarray(W), jnp.asarray(XS)).numpy()
    theirs = make(jax.numpy, jax.vmap, jax.grad)(W, XS)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5, atol=1e-6)
