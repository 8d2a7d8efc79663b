"""matmul of a batch of rows by a matrix is ONE product when the rows are one block of memory
in some order of the leading axes (a batch-first sequence seen time-first, as nn.LSTM's input
projection), not a loop of small ones; the result is then a view in the caller's order, or,
when it is wider than the rows, C-ordered from a copy of the rows in that order."""
import numpy as np
import pytest

import ember
from ember.ops.linalg import _matmul_impl, _mm_impl


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [1, 16, 100])
def test_a_layers_product_with_a_large_transposed_weight_runs_weight_side(monkeypatch, dtype,
                                                                          rows):
    # x @ w.T (nn.Linear's weight, (out, in) C-ordered) with few rows and a large weight: as
    # (w @ x.T).T, copied back to a C-ordered result; the direct product's values (NumPy 1.26's
    # OpenBLAS rounds its float64 sums differently), and the same bits eagerly and in a jit
    # plan (which calls the kernel for such products, not np.matmul)
    import ember.ops.linalg as L
    calls = []
    matmul = L.U.matmul
    monkeypatch.setattr(L.U, "matmul", lambda a, b, **kw: calls.append(
        (a.shape, a.flags.c_contiguous)) or matmul(a, b, **kw))
    rng = np.random.default_rng(1)
    w = rng.standard_normal((256, 784)).astype(dtype)
    x = rng.standard_normal((rows, 784)).astype(dtype)
    got = _matmul_impl(x, w.T)
    assert calls == [((256, 784), True)]  # the weight's rows are the result's rows
    assert got.flags.c_contiguous and got.shape == (rows, 256)
    np.testing.assert_allclose(got, np.matmul(x, w.T), rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-10)
    lin = ember.nn.Linear(784, 256, dtype=ember.float32 if dtype == np.float32 else
                          ember.float64)
    xt = ember.tensor(x)
    eager = lin(xt)
    jitted = ember.jit(lambda v: lin(v))(xt)
    assert eager.is_contiguous() and jitted.is_contiguous()
    np.testing.assert_array_equal(eager.detach().numpy(), jitted.detach().numpy())
    w2 = lin.weight.detach().numpy()
    np.testing.assert_array_equal(eager.detach().numpy(),
                                  _matmul_impl(x, w2.T) + lin.bias.detach().numpy())


def test_small_weights_many_rows_or_a_c_ordered_weight_run_directly(monkeypatch):
    import ember.ops.linalg as L
    calls = []
    matmul = L.U.matmul
    monkeypatch.setattr(L.U, "matmul", lambda a, b, **kw: calls.append(a.shape) or
                        matmul(a, b, **kw))
    rng = np.random.default_rng(2)
    f = np.float32
    for x, y in [(rng.standard_normal((100, 128)).astype(f),  # a small weight
                  rng.standard_normal((64, 128)).astype(f).T),
                 (rng.standard_normal((600, 784)).astype(f),  # many rows
                  rng.standard_normal((256, 784)).astype(f).T),
                 (rng.standard_normal((100, 784)).astype(f),  # a C-ordered weight
                  rng.standard_normal((784, 256)).astype(f))]:
        calls.clear()
        assert np.array_equal(_matmul_impl(x, y), np.matmul(x, y))
        assert calls == [x.shape]
    calls.clear()  # the convolution's products (_mm_impl): never weight-side
    x, y = (rng.standard_normal((100, 784)).astype(f),
            rng.standard_normal((256, 784)).astype(f).T)
    assert np.array_equal(_mm_impl(x, y), np.matmul(x, y)) and calls == [x.shape]
