"""igamma/igammac (P and Q of the incomplete gamma function) against PyTorch and JAX."""
import numpy as np
import pytest

import ember

rng = np.random.default_rng(0)
A = np.concatenate([np.abs(rng.standard_normal(60)) * 5 + 0.01, [0.5, 1, 3, 100, 200, 0.01, 0]])
X = np.concatenate([np.abs(rng.standard_normal(60)) * 8, [0, 1e-5, 50, 90, 250, 1e-8, 1.0]])


def test_values_match_torch_and_scipy_names():
    torch = pytest.importorskip("torch")
    for name, alias in (("igamma", "gammainc"), ("igammac", "gammaincc")):
        e = getattr(ember, name)(ember.tensor(A), ember.tensor(X))
        t = getattr(torch, name)(torch.tensor(A), torch.tensor(X))
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(getattr(ember.special, alias)(ember.tensor(A),
                                                                    ember.tensor(X)).numpy(),
                                      e.numpy())
        np.testing.assert_array_equal(
            getattr(ember.scipy.special, alias)(ember.tensor(A), ember.tensor(X)).numpy(),
            e.numpy())
    x32 = ember.igamma(ember.tensor([1.0, 2.0], dtype=ember.float32), 1.0)
    assert x32.dtype == ember.float32
    np.testing.assert_allclose(x32.numpy(), [1 - np.exp(-1), 1 - 2 / np.e], rtol=1e-6)
    assert np.isnan(ember.igamma(ember.tensor([-1.0]), ember.tensor([1.0])).item())
    t = ember.tensor([2.0])
    t.igamma_(ember.tensor([1.0]))
    np.testing.assert_allclose(t.numpy(), [1 - 2 / np.e])


def test_gradients_in_x_and_a_match_jax():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp
    a, x = A[:30] + 0.2, X[:30] + 0.1
    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        ga, gx = jax.grad(lambda p, q: jax.scipy.special.gammainc(p, q).sum(),
                          argnums=(0, 1))(jnp.array(a), jnp.array(x))
        gqa = jax.grad(lambda p: jax.scipy.special.gammaincc(p, jnp.array(x)).sum())(
            jnp.array(a))
    finally:
        jax.config.update("jax_enable_x64", x64)
    ea, ex = ember.tensor(a).requires_grad_(), ember.tensor(x).requires_grad_()
    ember.igamma(ea, ex).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), np.asarray(gx), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ea.grad.numpy(), np.asarray(ga), rtol=1e-6, atol=1e-9)
    ea2 = ember.tensor(a).requires_grad_()
    ember.igammac(ea2, ember.tensor(x)).sum().backward()
    np.testing.assert_allclose(ea2.grad.numpy(), np.asarray(gqa), rtol=1e-6, atol=1e-9)


def test_grad_in_x_alone_skips_the_a_derivative(monkeypatch):
    # d/da costs two more float64 evaluations: not computed when a takes no cotangent
    import ember.ops.special as S
    a, x = ember.tensor([0.5, 2.0]), ember.tensor([0.3, 1.5])
    want = ember.grad(lambda x: ember.special.gammainc(a, x).sum())(x)

    def fail(*args):
        raise AssertionError("d/da computed")
    monkeypatch.setattr(S, "_igamma_da", fail)
    got = ember.grad(lambda x: ember.special.gammainc(a, x).sum())(x)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(AssertionError, match="d/da"):
        ember.grad(lambda a: ember.special.gammainc(a, x).sum())(a)
