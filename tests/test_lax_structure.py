"""ember.lax's shape/structure operations against jax.lax: values, gradients (through
jax.vjp with the same cotangent), vmap and jit."""
import numpy as np
import pytest

import ember
from ember import lax

jax = pytest.importorskip("jax")
jlax = jax.lax
jnp = jax.numpy

rng = np.random.default_rng(1)
X = rng.standard_normal((2, 3, 4)).astype(np.float32)

# name, a function of (lax module, x)
CASES = [
    ("broadcast", lambda L, x: L.broadcast(x, (2,))),
    ("broadcast_in_dim", lambda L, x: L.broadcast_in_dim(x[:, 0, :1], (5, 2, 3, 1), (1, 3))),
    ("broadcast_in_dim_expand", lambda L, x: L.broadcast_in_dim(x[:, :1], (2, 6, 4), (0, 1, 2))),
    ("reshape", lambda L, x: L.reshape(x, (4, 6))),
    ("reshape_dimensions", lambda L, x: L.reshape(x, (4, 6), dimensions=(2, 0, 1))),
    ("squeeze", lambda L, x: L.squeeze(x[:, :1], (1,))),
    ("expand_dims", lambda L, x: L.expand_dims(x, (0, 3))),
    ("transpose", lambda L, x: L.transpose(x, (2, 0, 1))),
    ("rev", lambda L, x: L.rev(x, (0, 2))),
    ("slice", lambda L, x: L.slice(x, (0, 1, 0), (2, 3, 4), (1, 1, 2))),
    ("slice_in_dim", lambda L, x: L.slice_in_dim(x, 1, None, 2, axis=2)),
    ("slice_in_dim_negative", lambda L, x: L.slice_in_dim(x, -2, -1, axis=1)),
    ("index_in_dim", lambda L, x: L.index_in_dim(x, -1, axis=1, keepdims=False)),
    ("index_in_dim_keep", lambda L, x: L.index_in_dim(x, 1, axis=2)),
    ("concatenate", lambda L, x: L.concatenate([x, x[:, :1] * 2], 1)),
    ("pad", lambda L, x: L.pad(x, np.float32(0.5), [(1, 2, 0), (0, 0, 1), (-1, 2, 2)])),
    ("pad_crop", lambda L, x: L.pad(x, np.float32(-1), [(-1, 0, 0), (1, -2, 0), (2, -3, 1)])),
    ("collapse", lambda L, x: L.collapse(x, 1)),
    ("collapse_stop", lambda L, x: L.collapse(x, 0, 2)),
    ("full_like", lambda L, x: x * L.full_like(x, 3.0)),
    ("convert", lambda L, x: L.convert_element_type(x, np.float64 if L is lax else jnp.float32)),
]


@pytest.mark.parametrize("name,f", CASES, ids=[c[0] for c in CASES])
def test_values_grads_vmap_jit_match_jax(name, f):
    ours = f(lax, ember.tensor(X))
    theirs = np.asarray(f(jlax, jnp.asarray(X)))
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6)
    assert tuple(ours.shape) == theirs.shape
    ct = rng.standard_normal(theirs.shape).astype(np.float32)
    g = ember.vjp(lambda x: f(lax, x), ember.tensor(X))[1](ember.tensor(ct).to(ours.dtype))[0]
    jg = jax.vjp(lambda x: f(jlax, x), jnp.asarray(X))[1](jnp.asarray(ct).astype(theirs.dtype))[0]
    np.testing.assert_allclose(g.numpy(), np.asarray(jg), rtol=1e-6)
    np.testing.assert_array_equal(ember.jit(lambda x: f(lax, x))(ember.tensor(X)).numpy(),
                                  ours.numpy())
    xs = np.stack([X, 2 * X])
    vm = ember.vmap(lambda x: f(lax, x))(ember.tensor(xs))
    np.testing.assert_allclose(vm.numpy(), np.stack([ours.numpy(), f(lax, ember.tensor(
        2 * X)).numpy()]), rtol=1e-6)


def test_pad_value_is_differentiable_and_interior_only():
    x = np.arange(4, dtype=np.float32)
    cfg = [(2, -1, 3)]
    got = ember.grad(lambda v, p: lax.pad(v, p, cfg).sum(), argnums=(0, 1))(
        ember.tensor(x), ember.tensor(np.float32(0)))
    want = jax.grad(lambda v, p: jlax.pad(v, p, cfg).sum(), argnums=(0, 1))(x, np.float32(0))
    np.testing.assert_array_equal(got[0].numpy(), np.asarray(want[0]))
    assert got[1].item() == float(want[1])
    np.testing.assert_array_equal(lax.pad(ember.tensor(x), 9., cfg).numpy(),
                                  np.asarray(jlax.pad(x, np.float32(9), cfg)))


def test_iota_full_and_converts():
    np.testing.assert_array_equal(lax.iota(ember.int32, 5).numpy(),
                                  np.asarray(jlax.iota(jnp.int32, 5)))
    for d in (0, 1, 2):
        np.testing.assert_array_equal(lax.broadcasted_iota(np.int32, (2, 3, 4), d).numpy(),
                                      np.asarray(jlax.broadcasted_iota(jnp.int32, (2, 3, 4), d)))
    f = lax.full((2, 3), 1.5)
    assert f.dtype == ember.float32 and f.shape == (2, 3)
    assert lax.full((2,), 4, np.int8).dtype == ember.int8
    # a traced fill value
    g = ember.grad(lambda v: lax.full((2, 3), v).sum())(ember.tensor(1.0))
    assert g.item() == 6.0
    assert lax.zeros_like_array(ember.ones(2, dtype=ember.int16)).dtype == ember.int16
    x = np.array([1.7, -1.7, 2.5], np.float32)
    np.testing.assert_array_equal(lax.convert_element_type(ember.tensor(x), np.int32).numpy(),
                                  np.asarray(jlax.convert_element_type(x, jnp.int32)))
    g = ember.grad(lambda v: lax.convert_element_type(v, np.float64).sum())(ember.tensor(x))
    assert g.dtype == ember.float32


def test_errors_name_the_op_and_shapes():
    x = ember.ones(2, 3)
    with pytest.raises(TypeError, match=r"lax.broadcast_in_dim: operand \(2, 3\) cannot go to "
                                        r"shape \(4, 3\)"):
        lax.broadcast_in_dim(x, (4, 3), (0, 1))
    with pytest.raises(TypeError, match=r"lax.reshape: operand \(2, 3\).*\(4, 2\).*no -1"):
        lax.reshape(x, (4, 2))
    with pytest.raises(ValueError, match=r"lax.squeeze: dims \[1\] of shape \(2, 3\)"):
        lax.squeeze(x, (1,))
    with pytest.raises(TypeError, match=r"lax.slice: dim 1.*limit \(4\) <= 3"):
        lax.slice(x, (0, 0), (2, 4))
    with pytest.raises(TypeError, match="lax.concatenate: operands must have the same dtype"):
        lax.concatenate([x, ember.ones(2, 3, dtype=ember.int32)], 0)
    with pytest.raises(TypeError, match=r"lax.concatenate: shapes .* differ outside dimension 0"):
        lax.concatenate([x, ember.ones(2, 2)], 0)
    with pytest.raises(TypeError, match="lax.pad: padding_value must be a scalar"):
        lax.pad(x, ember.ones(1), [(0, 0, 0)] * 2)
    with pytest.raises(ValueError, match="lax.transpose: permutation"):
        lax.transpose(x, (0, 0))
