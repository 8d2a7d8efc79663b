"""Max pooling's forward (ember/ops/conv.py, _pool_max_rows) reduces one spatial axis at a
time; the passes before the last keep the input's memory layout (a convolution's output is
channel-major: (C, N, H, W) in memory), the last writes C order. The result is the same
values, C-contiguous, whatever the input's layout."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import conv as C


def _channel_major(a):
    """``a`` (N, C, ...) with (C, N, ...) memory, as a convolution returns it."""
    return np.ascontiguousarray(np.swapaxes(a, 0, 1)).swapaxes(0, 1)


@pytest.mark.parametrize("shape,kernel,stride,dilation", [
    ((5, 3, 12, 12), (2, 2), (2, 2), (1, 1)),    # LeNet / mnist-cnn's tiled 2x2
    ((5, 3, 13, 11), (3, 3), (2, 2), (1, 1)),    # overlapping windows
    ((4, 2, 12, 10), (2, 3), (2, 1), (2, 1)),    # dilation, unequal kernel
    ((4, 2, 9, 10), (1, 3), (1, 2), (1, 1)),     # one axis reduced
    ((3, 2, 6, 7, 8), (2, 2, 2), (2, 2, 2), (1, 1, 1)),  # 3-D
    ((3, 2, 15), (3,), (2,), (1,)),              # 1-D
])
def test_pool_max_is_c_ordered_and_layout_independent(shape, kernel, stride, dilation):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(np.float32)
    a[0, 0, ...] = 0.0  # ties
    got_c = C._pool_max_impl(a, kernel, stride, dilation)
    got_k = C._pool_max_impl(_channel_major(a), kernel, stride, dilation)
    assert got_c.flags.c_contiguous and got_k.flags.c_contiguous
    np.testing.assert_array_equal(got_c.view(np.uint32), got_k.view(np.uint32))
    view = C._windows_impl(a, kernel, stride, dilation)
    want = view.max(axis=tuple(range(-len(kernel), 0)))
    np.testing.assert_array_equal(got_c, want)


def test_max_pool2d_after_a_convolution_matches_torch_eager_and_jit():
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((6, 3, 14, 14)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((5, 3, 3, 3)).astype(np.float32))

    def f(x, w):
        return F.max_pool2d(F.relu(F.conv2d(x, w)), 2)
    y = f(x, w)
    np.testing.assert_array_equal(ember.jit(f)(x, w).numpy(), y.numpy())
    g = ember.grad(lambda x, w: (f(x, w) ** 2).sum(), argnums=(0, 1))
    for a, b in zip(g(x, w), ember.jit(g)(x, w)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x.numpy())
    tw = torch.tensor(w.numpy())
    ty = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(tx, tw)), 2)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,size", [((4, 6, 2, 2), 1), ((3, 5, 7, 7), (1, 1)),
                                        ((3, 5, 6), 1)])
def test_global_average_pool_is_one_weighted_sum(shape, size):
    """adaptive_avg_pool to one position (ResNet's head): one einsum against the positions'
    weights; the mean's values (float64 reference) from a channel-major input, its
    gradient the same bits eagerly and in a plan, the graph one two-operand einsum."""
    rng = np.random.default_rng(1)
    a = _channel_major(rng.standard_normal(shape).astype(np.float32))
    pool = F.adaptive_avg_pool2d if len(shape) == 4 else F.adaptive_avg_pool1d
    nsp = len(shape) - 2
    got = pool(ember.tensor(a), size).numpy()
    want = a.astype(np.float64).mean(axis=tuple(range(2, 2 + nsp)), keepdims=True)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    ct = ember.tensor(rng.standard_normal(want.shape).astype(np.float32))

    def f(x):
        return (pool(x, size) * ct).sum()
    eager = ember.grad(f)(ember.tensor(a)).numpy()
    np.testing.assert_array_equal(ember.jit(ember.grad(f))(ember.tensor(a)).numpy(), eager)
    np.testing.assert_allclose(eager, np.broadcast_to(ct.numpy() / np.prod(shape[2:]), shape),
                               rtol=1e-6)
    assert str(ember.make_jaxpr(lambda x: pool(x, size))(ember.tensor(a))).count("einsum") == 1
