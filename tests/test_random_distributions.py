"""jax.random's samplers built from uniform/normal draws (exponential, laplace, ...,
multivariate_normal): JAX's samples for the same key (against JAX when installed), sample
moments, and the same draws under jit and vmap."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp

R = ember.random
CASES = [("exponential", ()), ("laplace", ()), ("logistic", ()), ("cauchy", ()),
         ("pareto", (2.5,)), ("rayleigh", (1.5,)), ("weibull_min", (1.5, 2.0)),
         ("triangular", (0.0, 1.0, 3.0)), ("geometric", (0.3,)), ("rademacher", ()),
         ("maxwell", ()), ("double_sided_maxwell", (0.5, 2.0)), ("wald", (1.5,))]


@pytest.mark.parametrize("name,args", CASES)
def test_samples_match_jax(name, args):
    jax = pytest.importorskip("jax")
    ours = getattr(R, name)(R.key(7), *args, shape=(1000,))
    theirs = getattr(jax.random, name)(jax.random.key(7), *args, shape=(1000,))
    assert ours.dtype.name == str(theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", ["cholesky", "eigh", "svd"])
def test_multivariate_normal_matches_jax(method):
    cov = np.array([[2., .5], [.5, 1.]], np.float32)
    mean = np.array([1., -1.], np.float32)
    x = R.multivariate_normal(R.key(3), mean, cov, (20000,), method=method).numpy()
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.1)
    np.testing.assert_allclose(x.mean(0), mean, atol=0.04)
    jax = pytest.importorskip("jax")
    ref = jax.random.multivariate_normal(jax.random.key(3), mean, cov, (20000,), method=method)
    np.testing.assert_allclose(x, np.asarray(ref), rtol=1e-4, atol=1e-5)


def test_moments():
    k = R.key(0)
    n = (20000,)
    assert abs(float(R.exponential(k, n).mean()) - 1) < 0.03
    assert abs(float(R.laplace(k, n).var()) - 2) < 0.1
    assert abs(float(R.logistic(k, n).var()) - np.pi ** 2 / 3) < 0.15
    assert abs(float(R.rayleigh(k, 2.0, n).mean()) - 2 * np.sqrt(np.pi / 2)) < 0.05
    assert abs(float(R.geometric(k, 0.25, n).float().mean()) - 4) < 0.1
    assert abs(float(R.triangular(k, 0., 1., 3., n).mean()) - 4 / 3) < 0.03
    assert abs(float(R.wald(k, 1.5, n).mean()) - 1.5) < 0.05
    assert set(R.rademacher(k, (100,)).tolist()) == {-1, 1}
    assert float(R.pareto(k, 3.0, n).min()) >= 1.0


def test_shapes_dtypes_and_transforms():
    k = R.key(1)
    assert R.exponential(k, (2, 3), dtype=ember.float64).dtype == ember.float64
    assert tuple(R.pareto(k, jnp.ones((2, 3))).shape) == (2, 3)  # the parameter's shape
    assert R.geometric(k, 0.5, (3,), dtype=jnp.int16).dtype == ember.int16
    assert tuple(R.double_sided_maxwell(k, jnp.zeros(2), 1.0, (3,)).shape) == (3, 2)
    eager = R.laplace(k, (5,))
    np.testing.assert_array_equal(ember.jit(lambda kk: R.laplace(kk, (5,)))(k).numpy(),
                                  eager.numpy())
    keys = R.split(k, 3)
    batched = ember.vmap(lambda kk: R.exponential(kk, (4,)))(keys)
    np.testing.assert_array_equal(batched[1].numpy(), R.exponential(keys[1], (4,)).numpy())
    with pytest.raises(ValueError, match="does not broadcast to shape"):
        R.pareto(k, jnp.ones(3), (2,))
    with pytest.raises(ValueError, match="method must be"):
        R.multivariate_normal(k, jnp.zeros(2), jnp.eye(2), method="qr")
    with pytest.raises(TypeError, match="random.exponential: expected a key"):
        R.exponential(jnp.ones(2), (2,))
    assert (R.wrap_key_data(R.key_data(k)) == k).all() and (R.clone(k) == k).all()
