"""The tiled 2x2 max pool's backward (ember/ops/conv.py, _scatter_2x2): the gradient from
each window's decisions (left >= right in a row, then top row >= bottom row), piece by piece
over contiguous arrays in the input's memory order. It must send each window's gradient to
its first maximum in window order, as the general path (_scatter_rows, one equality mask per
kernel offset) and PyTorch do."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import conv as C

# the NumPy paths (with numba installed, a small float32 pool takes a compiled kernel:
# tests/backend/test_numba_kernels.py)
pytestmark = pytest.mark.usefixtures("numpy_paths")


def _channel_major(a):
    return np.ascontiguousarray(np.swapaxes(a, 0, 1)).swapaxes(0, 1)


def _general(ct, x, out):
    z = np.empty_like(x)
    C._scatter_rows(z, ct, x, out, (2, 2), (2, 2), (1, 1), True, True)
    return z


@pytest.mark.parametrize("shape", [(7, 3, 6, 10), (1, 1, 2, 2), (1, 4, 8, 8), (5, 4, 6),
                                   (4, 6), (64, 8, 28, 28)])
@pytest.mark.parametrize("layout", ["c", "channel-major"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("piece", [64, 1 << 19])  # one window row per piece; few pieces
def test_2x2_backward_matches_the_general_path(monkeypatch, shape, layout, dtype, piece):
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, shape).astype(dtype)  # ties in most windows, signed zeros
    x[..., 0, 0] = -0.0
    if layout == "channel-major":
        if x.ndim < 4:
            pytest.skip("no channel axis")
        x = _channel_major(x)
    out = C._pool_max_impl(x, (2, 2), (2, 2), (1, 1))
    ct = rng.standard_normal(out.shape).astype(dtype)
    monkeypatch.setattr(C, "_PIECE_2X2_BYTES", piece)
    monkeypatch.setattr(C, "_SCATTER_2X2_MIN_BYTES", 0)
    got = C._scatter_2x2(ct, x, out)
    assert got is not None
    assert got.strides == x.strides  # laid out as the input
    np.testing.assert_array_equal(got, _general(ct, x, out))
    # the whole primitive takes the path and agrees
    np.testing.assert_array_equal(
        C._argmax_scatter_impl(ct, x, out, (2, 2), (2, 2), (1, 1)), got)


def test_2x2_backward_falls_back_for_nan_windows_and_other_layouts(monkeypatch):
    monkeypatch.setattr(C, "_SCATTER_2X2_MIN_BYTES", 0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 6, 6)).astype(np.float32)
    x[0, 1, 2, 3] = np.nan
    out = C._pool_max_impl(x, (2, 2), (2, 2), (1, 1))
    ct = rng.standard_normal(out.shape).astype(np.float32)
    assert C._scatter_2x2(ct, x, out) is None  # NaN: the general path (no gradient there)
    z = C._argmax_scatter_impl(ct, x, out, (2, 2), (2, 2), (1, 1))
    assert not z[0, 1, 2:4, 2:4].any()
    np.testing.assert_array_equal(z[1:], _general(ct[1:], x[1:], out[1:]))
    wide = rng.standard_normal((3, 2, 6, 9)).astype(np.float32)
    xs = wide[..., :6]  # rows not contiguous with each other
    outs = C._pool_max_impl(xs, (2, 2), (2, 2), (1, 1))
    assert C._scatter_2x2(ct, xs, outs) is None
    np.testing.assert_array_equal(C._argmax_scatter_impl(ct, xs, outs, (2, 2), (2, 2), (1, 1)),
                                  _general(ct, np.ascontiguousarray(xs), outs))


@pytest.mark.parametrize("min_bytes", [0, 1 << 60])  # this path; the general one
def test_max_pool2d_gradient_with_ties_matches_torch_eager_and_jit(monkeypatch, min_bytes):
    monkeypatch.setattr(C, "_SCATTER_2X2_MIN_BYTES", min_bytes)
    rng = np.random.default_rng(2)
    x = rng.integers(-1, 2, (5, 3, 8, 12)).astype(np.float32)  # ties in most windows
    w = rng.standard_normal((5, 3, 4, 6)).astype(np.float32)  # weights the pooled entries

    def f(x):
        return (F.max_pool2d(x, 2) * ember.tensor(w)).sum()
    g = ember.grad(f)(ember.tensor(x)).numpy()
    np.testing.assert_array_equal(ember.jit(ember.grad(f))(ember.tensor(x)).numpy(), g)
    xe = ember.tensor(x, requires_grad=True)
    f(xe).backward()
    np.testing.assert_array_equal(xe.grad.numpy(), g)
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    (torch.nn.functional.max_pool2d(tx, 2) * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(g, tx.grad.numpy())


def test_2x2_backward_takes_the_path_from_its_size_on(monkeypatch):
    taken = []
    real = C._scatter_2x2
    monkeypatch.setattr(C, "_scatter_2x2", lambda *a: taken.append(1) or real(*a))
    for shape in ((32, 6, 28, 28), (64, 32, 28, 28)):  # LeNet's pool1 at b32; mnist-cnn's
        x = np.ones(shape, np.float32)
        out = C._pool_max_impl(x, (2, 2), (2, 2), (1, 1))
        C._argmax_scatter_impl(out, x, out, (2, 2), (2, 2), (1, 1))
    assert taken == [1]
