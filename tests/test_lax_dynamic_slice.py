"""lax.dynamic_slice / dynamic_slice_in_dim / dynamic_index_in_dim: traced starts under jit,
grad, vmap; JAX's start clamping."""
import numpy as np
import pytest

import ember


def test_traced_start_under_jit_is_clamped_like_jax():
    x = np.arange(40.0, dtype=np.float32).reshape(10, 4)
    f = ember.jit(lambda x, i: ember.lax.dynamic_slice_in_dim(x, i * 3, 3))
    for i in range(5):
        s = min(i * 3, 7)
        np.testing.assert_array_equal(f(x, ember.tensor(i)).numpy(), x[s:s + 3])
    assert f.trace_count == 1
    # a negative start counts from the end (JAX's allow_negative_indices=True), then clamps
    np.testing.assert_array_equal(ember.lax.dynamic_slice(x, (ember.tensor(-2), 1), (2, 3)).numpy(),
                                  x[8:10, 1:4])
    np.testing.assert_array_equal(ember.lax.dynamic_slice(x, (ember.tensor(-12), 1), (2, 3)).numpy(),
                                  x[0:2, 1:4])


def test_grad_vmap_and_index():
    x = ember.arange(12.0).reshape(6, 2)
    g = ember.grad(lambda x: ember.lax.dynamic_slice_in_dim(x, ember.tensor(4), 2).sum())(x)
    np.testing.assert_array_equal(g.numpy()[:, 0], [0, 0, 0, 0, 1, 1])
    out = ember.vmap(lambda i: ember.lax.dynamic_slice_in_dim(x, i, 2))(ember.tensor([0, 3]))
    np.testing.assert_array_equal(out.numpy(), np.stack([x.numpy()[0:2], x.numpy()[3:5]]))
    row = ember.lax.dynamic_index_in_dim(x, ember.tensor(2), keepdims=False)
    np.testing.assert_array_equal(row.numpy(), [4.0, 5.0])
    assert tuple(ember.lax.dynamic_index_in_dim(x, 1, axis=1).shape) == (6, 1)


def test_fori_loop_over_batches_as_in_jaxs_vae_example():
    data = ember.arange(20.0).reshape(10, 2)

    def body(i, acc):
        return acc + ember.lax.dynamic_slice_in_dim(data, i * 2, 2).sum()
    total = ember.jit(lambda: ember.lax.fori_loop(0, 5, body, ember.tensor(0.0)))()
    assert float(total) == float(data.sum())


def test_bad_sizes_say_so():
    with pytest.raises(ValueError, match="slice size"):
        ember.lax.dynamic_slice(ember.ones(3), (0,), (4,))
    with pytest.raises(ValueError, match="one start"):
        ember.lax.dynamic_slice(ember.ones((3, 2)), (0,), (1,))
