"""x.at[idx].apply(func): func applied once per time an entry is indexed, JAX's
out-of-bounds modes, eager/jit/vmap alike; against JAX itself when it is installed."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp
from ember import grad, jit, vmap

X = np.arange(5.0, dtype=np.float32) + 0.5
CASES = [  # (index, mode)
    (np.array([0, 0, 2], np.int32), None),
    (np.array([7, 0, -1, 4], np.int32), None),
    (np.array([7, 0, -1], np.int32), "clip"),
    (np.array([7, -9], np.int32), "drop"),
    (3, None), (-1, None), (7, None), (7, "clip"),
    (slice(1, 4), None),
    (np.array([True, False, True, False, True]), None),
]


def _f(v):
    return v * 2 + 1


def _jax():
    return pytest.importorskip("jax")


def _idx(mod, i):
    return mod.asarray(i) if isinstance(i, np.ndarray) else i


@pytest.mark.parametrize("case", range(len(CASES)))
def test_apply_matches_jax(case):
    jax = _jax()
    i, mode = CASES[case]
    kw = {} if mode is None else {"mode": mode}
    want = np.asarray(jax.numpy.asarray(X).at[_idx(jax.numpy, i)].apply(_f, **kw))
    got = jnp.asarray(X).at[_idx(jnp, i)].apply(_f, **kw)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_apply_repeated_and_two_dims():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    i = (np.array([0, 0, 2, 0]), np.array([1, 1, 3, 1]))  # (0, 1) three times
    got = jnp.asarray(x).at[tuple(jnp.asarray(a) for a in i)].apply(_f).numpy()
    want = x.copy()
    want[0, 1] = _f(_f(_f(x[0, 1])))
    want[2, 3] = _f(x[2, 3])
    np.testing.assert_array_equal(got, want)
    jax = pytest.importorskip("jax")
    ref = jax.numpy.asarray(x).at[tuple(jax.numpy.asarray(a) for a in i)].apply(_f)
    np.testing.assert_allclose(got, np.asarray(ref))


def test_apply_under_jit_and_vmap_matches_eager():
    x = jnp.asarray(X)
    for i in (jnp.asarray([1, 1, 1, 3]), jnp.asarray([9, 2])):
        eager = x.at[i].apply(_f)
        np.testing.assert_array_equal(jit(lambda x, i: x.at[i].apply(_f))(x, i).numpy(),
                                      eager.numpy())
        # the index built inside jit is traced: the loop runs as many times as it needs
        np.testing.assert_array_equal(
            jit(lambda x: x.at[jnp.asarray(i.numpy())].apply(_f))(x).numpy(), eager.numpy())
    xs = jnp.ones((2, 3))
    ii = jnp.asarray([[1, 1], [0, 2]])
    got = vmap(lambda x, i: x.at[i].apply(_f))(xs, ii).numpy()
    np.testing.assert_array_equal(got, [[1, 7, 1], [3, 1, 3]])
    jax = pytest.importorskip("jax")
    ref = jax.vmap(lambda x, i: x.at[i].apply(_f))(jax.numpy.ones((2, 3)),
                                                     jax.numpy.asarray([[1, 1], [0, 2]]))
    np.testing.assert_array_equal(got, np.asarray(ref))


def test_apply_keeps_dtype_and_differentiates():
    assert jnp.arange(3).at[1].apply(lambda v: v * 2.5).tolist() == [0, 2, 2]
    assert jnp.arange(3).at[1].apply(lambda v: v * 2.5).dtype == ember.int32
    x = jnp.asarray(X)
    g = grad(lambda x: x.at[jnp.asarray([1, 1])].apply(jnp.sin).sum())(x).numpy()
    want = np.ones(5, np.float32)
    want[1] = np.cos(np.sin(X[1])) * np.cos(X[1])  # sin applied twice
    np.testing.assert_allclose(g, want, rtol=1e-6)


def test_apply_bad_arguments():
    x = jnp.arange(3.)
    with pytest.raises(TypeError, match="apply: func must be a function"):
        x.at[0].apply(2.0)
    with pytest.raises(ValueError, match="unknown mode 'wrap'"):
        x.at[0].apply(jnp.sin, mode="wrap")
