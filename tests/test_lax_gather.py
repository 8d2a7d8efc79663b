"""ember.lax.gather/scatter/scatter_add with JAX's dimension numbers against jax.lax: the forms
jnp indexing produces (read off jax's own jaxprs), out-of-bounds modes, gradients, vmap, jit."""
import numpy as np
import pytest

import ember
from ember import lax

jax = pytest.importorskip("jax")
jlax = jax.lax
jnp = jax.numpy

rng = np.random.default_rng(3)
X = rng.standard_normal((5, 4, 3)).astype(np.float32)


def _dn(L, kind, *a):
    return getattr(L, kind)(*a)


# (name, dimension-number fields, indices, slice_sizes)
GATHERS = [
    ("rows", ((1, 2), (0,), (0,)), np.array([[4], [0], [2]], np.int32), (1, 4, 3)),
    ("points", ((1,), (0, 1), (0, 1)), np.array([[1, 2], [4, 0], [0, 3]], np.int32), (1, 1, 3)),
    ("windows", ((0, 1, 2), (), (0, 2)), np.array([3, 1], np.int32), (2, 4, 2)),
    ("batched_idx", ((2,), (0, 1), (1, 0)), np.array([[[1, 2]], [[3, 4]]], np.int32), (1, 1, 3)),
    ("out_of_bounds", ((1, 2), (0,), (0,)), np.array([[7], [-1], [1]], np.int32), (1, 4, 3)),
]


@pytest.mark.parametrize("mode", [None, "clip", "fill"])
@pytest.mark.parametrize("name,fields,idx,sizes", GATHERS, ids=[g[0] for g in GATHERS])
def test_gather_matches_jax(name, fields, idx, sizes, mode):
    f = lambda L, x: L.gather(x, idx, L.GatherDimensionNumbers(*fields), sizes,  # noqa: E731
                              mode=mode)
    ours = f(lax, ember.tensor(X))
    theirs = np.asarray(f(jlax, jnp.asarray(X)))
    np.testing.assert_array_equal(ours.numpy(), theirs)
    ct = rng.standard_normal(theirs.shape).astype(np.float32)
    g = ember.vjp(lambda v: f(lax, v), ember.tensor(X))[1](ember.tensor(ct))[0]
    jg = jax.vjp(lambda v: f(jlax, v), jnp.asarray(X))[1](jnp.asarray(ct))[0]
    if name == "out_of_bounds" and mode is None:
        # jax clamps the starts forward but its transpose drops the out-of-bounds windows
        # (the scatters' default mode); ember's gradient follows the clamped forward, as
        # mode="clip" (which jax agrees with)
        jg = jax.vjp(lambda v: jlax.gather(v, idx, jlax.GatherDimensionNumbers(*fields), sizes,
                                           mode="clip"), jnp.asarray(X))[1](jnp.asarray(ct))[0]
    np.testing.assert_allclose(g.numpy(), np.asarray(jg), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ember.jit(lambda v: f(lax, v))(ember.tensor(X)).numpy(),
                                  ours.numpy())
    vm = ember.vmap(lambda v: f(lax, v))(ember.tensor(np.stack([X, -X])))
    np.testing.assert_array_equal(vm.numpy()[1], f(lax, ember.tensor(-X)).numpy())


SCATTERS = [
    ("rows", ((1, 2), (0,), (0,)), np.array([[4], [0], [4]], np.int32), (3, 4, 3)),
    ("points", ((1,), (0, 1), (0, 1)), np.array([[1, 2], [4, 0], [1, 2]], np.int32), (3, 3)),
    ("out_of_bounds", ((1, 2), (0,), (0,)), np.array([[7], [-1], [1]], np.int32), (3, 4, 3)),
]


@pytest.mark.parametrize("op", ["scatter_add", "scatter_sub", "scatter"])
@pytest.mark.parametrize("mode", [None, "clip"])
@pytest.mark.parametrize("name,fields,idx,ushape", SCATTERS, ids=[s[0] for s in SCATTERS])
def test_scatter_matches_jax(name, fields, idx, ushape, mode, op):
    if op == "scatter" and name != "out_of_bounds":
        idx = idx.copy()
        idx[-1] = idx[0] - 1 if idx[0, 0] > 0 else idx[0] + 1  # (repeated indices: unspecified)
    u = rng.standard_normal(ushape).astype(np.float32)
    f = lambda L, x, v: getattr(L, op)(x, idx, v, L.ScatterDimensionNumbers(*fields),  # noqa
                                       mode=mode)
    ours = f(lax, ember.tensor(X), ember.tensor(u))
    theirs = np.asarray(f(jlax, jnp.asarray(X), jnp.asarray(u)))
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6, atol=1e-6)
    ct = rng.standard_normal(theirs.shape).astype(np.float32)
    g = ember.vjp(lambda a, b: f(lax, a, b), ember.tensor(X), ember.tensor(u))[1](
        ember.tensor(ct))
    jg = jax.vjp(lambda a, b: f(jlax, a, b), jnp.asarray(X), jnp.asarray(u))[1](jnp.asarray(ct))
    for a, b in zip(g, jg):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6)
    np.testing.assert_allclose(
        ember.jit(lambda a, b: f(lax, a, b))(ember.tensor(X), ember.tensor(u)).numpy(),
        ours.numpy(), rtol=1e-6)


def test_gather_fill_value_and_errors():
    dn = lax.GatherDimensionNumbers((1,), (0,), (0,))
    x = ember.arange(6).reshape(3, 2)
    got = lax.gather(x, ember.tensor([[5]]), dn, (1, 2), mode="fill", fill_value=-7)
    np.testing.assert_array_equal(got.numpy(), [[-7, -7]])
    want = jlax.gather(np.arange(6).reshape(3, 2).astype(np.int32), np.array([[5]]),
                       jlax.GatherDimensionNumbers((1,), (0,), (0,)), (1, 2), mode="fill")
    assert lax.gather(x.to(ember.int32), ember.tensor([[5]]), dn, (1, 2), mode="fill").tolist() \
        == np.asarray(want).tolist()
    with pytest.raises(TypeError, match="lax.gather: collapsed_slice_dims"):
        lax.gather(x, ember.tensor([[0]]), dn, (2, 2))
    with pytest.raises(TypeError, match="lax.gather: start_indices must be integers"):
        lax.gather(x, ember.tensor([[0.]]), dn, (1, 2))
    with pytest.raises(NotImplementedError, match="operand_batching_dims"):
        lax.gather(x, ember.tensor([[0]]), lax.GatherDimensionNumbers((1,), (), (0,), (0,), (0,)),
                   (1, 2))
