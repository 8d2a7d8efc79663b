"""matmul of a batch of rows by a matrix is ONE product when the rows are one block of memory
in some order of the leading axes (a batch-first sequence seen time-first, as nn.LSTM's input
projection), not a loop of small ones; the result is then a view in the caller's order, or,
when it is wider than the rows, C-ordered from a copy of the rows in that order."""
import numpy as np
import pytest

import ember
from ember.ops.linalg import _mm_impl


def _data(out=8):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 7, 5)).astype(np.float32)  # (N, T, I), C-ordered
    w = rng.standard_normal((5, out)).astype(np.float32)
    return x, w


def test_time_first_view_is_one_product_of_the_batch_first_rows():
    x, w = _data(out=4)  # a result narrower than the rows: no copy of them
    xt = x.transpose(1, 0, 2)  # (T, N, I), not C-ordered
    got = _mm_impl(xt, w)
    assert got.shape == (7, 6, 4)
    assert got.transpose(1, 0, 2).flags.c_contiguous  # made in the rows' own order
    one = (x.reshape(-1, 5) @ w).reshape(6, 7, 4).transpose(1, 0, 2)
    assert np.array_equal(got, one)  # the same single product, bit for bit
    np.testing.assert_allclose(got, np.matmul(xt, w), rtol=1e-5, atol=1e-5)


def test_a_wider_result_is_c_ordered_from_the_rows_copied_time_first():
    x, w = _data(out=8)
    xt = x.transpose(1, 0, 2)
    got = _mm_impl(xt, w)
    assert got.shape == (7, 6, 8) and got.flags.c_contiguous
    one = (np.ascontiguousarray(xt).reshape(-1, 5) @ w).reshape(7, 6, 8)
    assert np.array_equal(got, one)  # one product of the copied rows
    np.testing.assert_allclose(got, np.matmul(xt, w), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda x: x[:, ::2],                                   # gaps between rows
    lambda x: np.broadcast_to(x[:1], x.shape),             # a zero stride
    lambda x: x.reshape(3, 2, 7, 5).transpose(2, 1, 0, 3),  # 4-d, reordered leading axes
    lambda x: x.transpose(0, 2, 1)[..., :4].transpose(0, 2, 1)[:, :4],  # strided last axis
])
def test_other_layouts_give_numpys_product(make):
    x, w = _data()
    v = make(x)
    w = w[:v.shape[-1]]
    np.testing.assert_allclose(_mm_impl(v, w), np.matmul(v, w), rtol=1e-5, atol=1e-5)


def test_eager_and_jit_give_the_same_bits_for_a_transposed_input():
    x, w = _data()
    f = lambda a, b: (a.transpose(0, 1) @ b).sum(-1)  # noqa: E731
    xe, we = ember.tensor(x), ember.tensor(w)
    eager = f(xe, we).numpy()
    jitted = ember.jit(f)(xe, we).numpy()
    assert np.array_equal(eager, jitted)
    gx, gw = ember.grad(lambda a, b: f(a, b).sum(), argnums=(0, 1))(xe, we)
    jgx, jgw = ember.jit(ember.grad(lambda a, b: f(a, b).sum(), argnums=(0, 1)))(xe, we)
    assert np.array_equal(gx.numpy(), jgx.numpy()) and np.array_equal(gw.numpy(), jgw.numpy())
