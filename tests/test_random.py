"""Explicit PRNG keys (ember.random): JAX parity, reproducibility across eager/jit/vmap,
independence of split streams, and distribution checks."""
import numpy as np
import pytest

import ember
from ember import random as er

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jr = jax.random


@pytest.mark.parametrize("seed", [0, 42, 2 ** 31 - 1])
def test_keys_split_fold_in_bits_match_jax_bit_for_bit(seed):
    k, jk = er.key(seed), jr.PRNGKey(seed)
    np.testing.assert_array_equal(k.numpy(), np.asarray(jk))
    np.testing.assert_array_equal(er.split(k, 3).numpy(), np.asarray(jr.split(jk, 3)))
    np.testing.assert_array_equal(er.fold_in(k, 123).numpy(), np.asarray(jr.fold_in(jk, 123)))
    np.testing.assert_array_equal(er.bits(k, (4, 5)).numpy(), np.asarray(jr.bits(jk, (4, 5))))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_uniform_matches_jax_bit_for_bit(dtype):
    k, jk = er.key(7), jr.PRNGKey(7)
    e = er.uniform(k, (200,), getattr(ember, dtype)).numpy().astype(np.float32)
    j = np.asarray(jr.uniform(jk, (200,), getattr(jnp, dtype))).astype(np.float32)
    np.testing.assert_array_equal(e, j)
    # a scaled range: XLA fuses the multiply-add, so the last bit may differ
    e = er.uniform(k, (200,), getattr(ember, dtype), -2.0, 3.0).numpy().astype(np.float32)
    j = np.asarray(jr.uniform(jk, (200,), getattr(jnp, dtype), -2.0, 3.0)).astype(np.float32)
    np.testing.assert_allclose(e, j, rtol=1e-2 if dtype != "float32" else 1e-6, atol=1e-6)


def test_integer_and_discrete_samplers_match_jax():
    k, jk = er.key(3), jr.PRNGKey(3)
    for lo, hi, dt in [(0, 10, "int32"), (-5, 1000, "int8"), (0, 256, "uint8")]:
        np.testing.assert_array_equal(
            er.randint(k, (50,), lo, hi, getattr(ember, dt)).numpy(),
            np.asarray(jr.randint(jk, (50,), lo, hi, getattr(jnp, dt))))
    np.testing.assert_array_equal(er.permutation(k, 20).numpy(),
                                  np.asarray(jr.permutation(jk, 20)))
    np.testing.assert_array_equal(er.bernoulli(k, 0.3, (40,)).numpy(),
                                  np.asarray(jr.bernoulli(jk, 0.3, (40,))))
    logits = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    np.testing.assert_array_equal(er.categorical(k, ember.tensor(logits)).numpy(),
                                  np.asarray(jr.categorical(jk, logits)))


def test_normal_and_truncated_normal_match_jax_to_rounding():
    k, jk = er.key(11), jr.PRNGKey(11)
    np.testing.assert_allclose(er.normal(k, (2000,)).numpy(),
                               np.asarray(jr.normal(jk, (2000,))), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(er.truncated_normal(k, -1.0, 2.0, (2000,)).numpy(),
                               np.asarray(jr.truncated_normal(jk, -1.0, 2.0, (2000,))),
                               rtol=1e-5, atol=1e-6)


def _draws(key):
    return (er.uniform(key, (4,)) + er.normal(key, (4,)) + er.randint(key, (4,), 0, 9)
            + er.bernoulli(er.fold_in(key, 1), 0.5, (4,)))


def test_same_key_same_numbers_eager_jit_vmap():
    key = er.key(5)
    eager = _draws(key).numpy()
    np.testing.assert_array_equal(ember.jit(_draws)(key).numpy(), eager)
    keys = er.split(key, 4)
    batched = ember.vmap(_draws)(keys).numpy()
    loop = np.stack([_draws(keys[i]).numpy() for i in range(4)])
    np.testing.assert_array_equal(batched, loop)
    np.testing.assert_array_equal(ember.jit(ember.vmap(_draws))(keys).numpy(), loop)


def test_vmap_with_shared_key_gives_the_same_sample_per_example():
    key = er.key(1)
    out = ember.vmap(lambda x: er.normal(key, (3,)) + x)(ember.zeros(4, 3)).numpy()
    np.testing.assert_array_equal(out, np.broadcast_to(er.normal(key, (3,)).numpy(), (4, 3)))


def test_split_streams_do_not_repeat():
    key = er.key(0)
    keys = er.split(key, 1000).numpy()
    assert len({tuple(k) for k in keys}) == 1000
    children = er.split(er.split(key)[0], 1000).numpy()
    assert not {tuple(k) for k in keys} & {tuple(k) for k in children}
    a = er.bits(er.split(key)[0], (10000,)).numpy()
    b = er.bits(er.split(key)[1], (10000,)).numpy()
    assert abs(np.corrcoef(a.astype(np.float64), b.astype(np.float64))[0, 1]) < 0.05
    assert len(np.unique(np.concatenate([a, b]))) > 19990


def test_distributions():
    k = er.key(123)
    u = er.uniform(k, (100000,)).numpy()
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    n = er.normal(k, (100000,), ember.float64).numpy()
    assert abs(n.mean()) < 0.01 and abs(n.std() - 1) < 0.01
    assert abs((np.abs(n) < 1).mean() - 0.6827) < 0.005
    t = er.truncated_normal(k, -1.0, 0.5, (20000,)).numpy()
    assert t.min() > -1 and t.max() < 0.5
    r = er.randint(k, (60000,), 0, 6).numpy()
    np.testing.assert_allclose(np.bincount(r) / 60000, 1 / 6, atol=0.01)
    c = er.categorical(k, ember.tensor([0.0, np.log(3.0)]), shape=(40000,)).numpy()
    assert abs(c.mean() - 0.75) < 0.01
    p = er.permutation(k, 50).numpy()
    assert sorted(p.tolist()) == list(range(50))
    g = er.gumbel(k, (100000,)).numpy()
    assert abs(g.mean() - 0.5772) < 0.02


def test_bad_keys_and_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match=r"random.uniform: expected a key"):
        er.uniform(ember.zeros(2), (3,))
    with pytest.raises(ValueError, match=r"batch of keys.*vmap"):
        er.normal(er.split(er.key(0), 3), (2,))
    with pytest.raises(TypeError, match=r"random.normal: dtype must be floating point"):
        er.normal(er.key(0), (2,), ember.int32)
    with pytest.raises(TypeError, match=r"random.key: seed must be an integer"):
        er.key(1.5)
