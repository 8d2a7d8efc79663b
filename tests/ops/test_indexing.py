import numpy as np
import pytest

import ember


def test_setitem_basic_advanced_and_autograd():
    z = ember.zeros(3, 4)
    z[1] = 5
    z[:, 2] = ember.tensor([1.0, 2.0, 3.0])
    z[[0, 2], [0, 0]] = 7
    ref = np.zeros((3, 4), np.float32)
    ref[1] = 5
    ref[:, 2] = [1, 2, 3]
    ref[[0, 2], [0, 0]] = 7
    np.testing.assert_array_equal(z.numpy(), ref)
    a = ember.ones(3, requires_grad=True)
    b = a * 2
    b[0] = 10.0
    b.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 2.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        a[0] = 1.0


def test_views_share_storage_and_version():
    x = ember.arange(6.0).reshape(2, 3)
    row = x[1]
    row.add_(10)
    assert x.tolist() == [[0.0, 1.0, 2.0], [13.0, 14.0, 15.0]]


def test_index_errors_name_dim_index_and_size():
    x = ember.zeros(3, 4)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dim 0 with size 3"):
        x[5]
    with pytest.raises(IndexError, match="index 9 is out of bounds for dim 1 with size 4"):
        x[:, [1, 9]]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 4\).*\(2, 3\)"):
        ember.cat([ember.ones(2, 3), ember.ones(2, 4)])
    with pytest.raises(ValueError, match="stack: tensor 1 has shape"):
        ember.stack([ember.ones(2), ember.ones(3)])


def test_bool_mask_and_index_tensor_match_numpy():
    x = np.arange(24.0).reshape(4, 6)
    e = ember.tensor(x)
    m = x[:, 0] > 5
    np.testing.assert_array_equal(e[ember.tensor(m)].numpy(), x[m])
    np.testing.assert_array_equal(e[ember.tensor([3, 0])].numpy(), x[[3, 0]])
    np.testing.assert_array_equal(e[..., -1].numpy(), x[..., -1])


def test_argmax_max_with_indices_and_bool_reductions():
    x = ember.tensor([[1.0, 5.0, 5.0], [7.0, 0.0, -1.0]])
    assert x.argmax().item() == 3
    assert x.argmax(1).tolist() == [1, 0]
    v, i = x.max(dim=1)
    assert v.tolist() == [5.0, 7.0] and i.tolist() == [1, 0]
    assert x.min(1, keepdim=True).indices.tolist() == [[0], [2]]
    assert ember.tensor([True, False]).any().item() and not ember.tensor([True, False]).all().item()
    with pytest.raises(ValueError, match="empty tensor"):
        ember.zeros(0).amax()
    x = ember.tensor([2.0, 2.0, 1.0], requires_grad=True)
    x.amax().backward()  # ties share the gradient
    assert x.grad.tolist() == [0.5, 0.5, 0.0]


@pytest.mark.parametrize("f", [
    lambda a, i: (a[:, i] ** 2).sum(),
    lambda a, i: (a[[0, 2], :][:, i] ** 3).sum(),
    lambda a, i: (a[i[0] % 3, 1:] * a[1:, i].sum()).sum(),
    lambda a, i: a.max(dim=1).values.sum() + a[i % 3, i].sum(),
], ids=["column_gather", "chained", "mixed", "max_dim"])
def test_vmap_of_grad_with_batched_index_tensors_equals_loop(f):
    rng = np.random.default_rng(0)
    X = ember.tensor(rng.standard_normal((5, 3, 4)))
    idx = ember.tensor(rng.integers(0, 4, (5, 2)))
    out = ember.vmap(ember.grad(f))(X, idx).numpy()
    loop = np.stack([ember.grad(f)(ember.tensor(X.numpy()[j]), ember.tensor(idx.numpy()[j]))
                     .numpy() for j in range(5)])
    np.testing.assert_allclose(out, loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("vocab,shape,row", [(50, (7, 30), (4,)), (10, (300,), (3, 2)),
                                             (1000, (64, 200), (8,)), (65536, (4000,), (2,)),
                                             (70000, (4000,), (2,))])
def test_row_scatter_add_is_add_at_bit_for_bit(vocab, shape, row):
    # an embedding's gradient: rows picked by one index array, many repeats (padding);
    # tables of up to 2^16 rows sort the indices as uint16 (radix sort), larger ones as given
    from ember.ops.indexing import _index_add_impl
    rng = np.random.default_rng(1)
    idx = rng.integers(-vocab, vocab, shape)
    idx.reshape(-1)[::7] = 0
    ct = rng.standard_normal(shape + row).astype(np.float32)
    ct.reshape(-1)[::11] = -0.0  # a row seen once with -0.0 gets 0 + -0.0 = +0.0, as add.at
    want = np.zeros((vocab,) + row, np.float32)
    np.add.at(want, idx, ct)
    got = _index_add_impl(ct, idx, shape=(vocab,) + row, spec=(("a", 0),))
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))  # signed zeros too
    with pytest.raises(IndexError, match=f"index {vocab} is out of bounds"):
        bad = idx.copy()
        bad.reshape(-1)[3] = vocab
        _index_add_impl(ct, bad, shape=(vocab,) + row, spec=(("a", 0),))


def test_negative_slice_steps_follow_numpy_in_every_mode():
    """``x[::-1]`` as NumPy/jax.numpy (PyTorch refuses it; one Tensor serves both), with its
    gradient, JVP, vmap and jit."""
    a = np.arange(12.0).reshape(3, 4)
    x = ember.tensor(a, requires_grad=True)
    y = x[::-1, 3:0:-2]
    np.testing.assert_array_equal(y.detach().numpy(), a[::-1, 3:0:-2])
    w = np.arange(6.0).reshape(3, 2)
    (y * ember.tensor(w)).sum().backward()
    g = np.zeros_like(a)
    g[::-1, 3:0:-2] = w
    np.testing.assert_array_equal(x.grad.numpy(), g)
    xd = x.detach()
    np.testing.assert_array_equal(ember.jit(lambda t: t[::-2, ::-1])(xd).numpy(), a[::-2, ::-1])
    np.testing.assert_array_equal(ember.vmap(lambda t: t[::-1])(xd).numpy(), a[:, ::-1])
    _, t = ember.jvp(lambda t: t[::-1], (xd,), (ember.tensor(a * 2),))
    np.testing.assert_array_equal(t.numpy(), (a * 2)[::-1])
    z = ember.zeros(5)
    z[::-2] = ember.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(z.numpy(), [3.0, 0.0, 2.0, 0.0, 1.0])
