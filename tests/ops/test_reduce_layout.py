"""Floating-point sums run in C order whatever the input's layout (ops/reduce.py, _canonical):
the eager tape and jit plans may hand the same values over in different layouts, and NumPy
adds in memory order, so a layout-dependent sum gave eager and jit different bits (VGG-11's
last convolution's bias gradient)."""
import numpy as np
import pytest

import ember


def _channel_major(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 1e3
    return np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


@pytest.mark.parametrize("dims", [(0, 2, 3), (0,), (2, 3), None])
def test_sum_bits_do_not_depend_on_the_layout(dims):
    x = _channel_major((16, 64, 9, 7))
    c = np.ascontiguousarray(x)
    a = ember.sum(ember.from_numpy(x), dims).numpy()
    b = ember.sum(ember.tensor(c), dims).numpy()
    np.testing.assert_array_equal(a, b)
    j = ember.jit(lambda t: ember.sum(t, dims))
    np.testing.assert_array_equal(j(ember.from_numpy(x)).numpy(), b)
    np.testing.assert_array_equal(j(ember.tensor(c)).numpy(), b)


def test_conv_bias_gradient_same_bits_eager_and_jit():
    """A convolution's cotangent reaches the bias's sum in whatever layout the ops before
    produced; both modes give one answer."""
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((8, 16, 6, 6)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((32, 16, 3, 3)).astype(np.float32))
    b = ember.tensor(rng.standard_normal(32).astype(np.float32))

    def loss(w, b):
        y = ember.nn.functional.conv2d(x, w, b, padding=1)
        return ember.nn.functional.max_pool2d(ember.relu(y), 2).square().sum()

    eager = ember.grad(loss, argnums=(0, 1))(w, b)
    jitted = ember.jit(ember.grad(loss, argnums=(0, 1)))(w, b)
    for e, j in zip(eager, jitted):
        np.testing.assert_array_equal(e.numpy(), j.numpy())
    we, be = w.clone().requires_grad_(), b.clone().requires_grad_()
    loss(we, be).backward()
    np.testing.assert_array_equal(be.grad.numpy(), jitted[1].numpy())
