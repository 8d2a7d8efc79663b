"""ember.lax: jax.lax's control-flow names over ember's primitives."""
import numpy as np
import pytest

import ember
from ember import lax


def test_names_are_embers_primitives():
    assert lax.scan is ember.scan and lax.cond is ember.cond
    assert lax.fori_loop is ember.fori_loop and lax.while_loop is ember.while_loop
    assert lax.stop_gradient is ember.stop_gradient


def test_map_equals_a_loop_and_composes():
    xs = ember.randn(4, 3)

    def f(x):
        return {"s": ember.sin(x).sum(), "x2": x * 2}
    got = lax.map(f, xs)
    for i in range(4):
        want = f(xs[i])
        np.testing.assert_allclose(got["s"][i].numpy(), want["s"].numpy(), rtol=1e-6)
        np.testing.assert_allclose(got["x2"][i].numpy(), want["x2"].numpy())
    g = ember.grad(lambda v: lax.map(lambda x: (x * v).sum(), xs).sum())(ember.ones(3))
    # four O(1) float32 values summed in another order: a sum near zero differs by an ulp
    # of the summands, not of the sum (atol)
    np.testing.assert_allclose(g.numpy(), xs.numpy().sum(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ember.jit(lambda a: lax.map(ember.exp, a))(xs).numpy(),
                               np.exp(xs.numpy()), rtol=1e-6)


def test_select_and_dot():
    p = ember.tensor([True, False, True])
    np.testing.assert_array_equal(lax.select(p, ember.ones(3), ember.zeros(3)).numpy(),
                                  [1, 0, 1])
    with pytest.raises(ValueError, match="lax.select: pred"):
        lax.select(p, ember.ones(3), ember.zeros(1))
    a, b = ember.randn(2, 3), ember.randn(3, 4)
    np.testing.assert_allclose(lax.dot(a, b).numpy(), a.numpy() @ b.numpy(), rtol=1e-6)
