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


def _layouts(shape, rng):
    """The same values C-ordered and in other memory orders: channel-major, F-ordered,
    channels-last, and a view whose rows are contiguous runs inside a larger array."""
    x = rng.standard_normal(shape).astype(np.float32) * 1e3
    nd = len(shape)
    out = {"C": x}
    for name, order in (("channel-major", (1, 0) + tuple(range(2, nd))),
                        ("F", tuple(range(nd))[::-1]),
                        ("channels-last", (0,) + tuple(range(2, nd)) + (1,))):
        inv = np.argsort(order)
        out[name] = np.ascontiguousarray(x.transpose(order)).transpose(inv)
    big = np.zeros(shape[:-1] + (shape[-1] + 3,), np.float32)
    big[..., 1:1 + shape[-1]] = x
    out["padded rows"] = big[..., 1:1 + shape[-1]]
    return out


@pytest.mark.parametrize("shape", [(16, 64, 9, 7), (4, 3, 1, 1), (2, 3, 100, 100),
                                   (3, 2, 2, 4096), (3, 2, 2, 5000), (3, 2, 1, 10000),
                                   (5, 4, 6)])
@pytest.mark.parametrize("dims", [(0, 2, 3), (0, 1, 3), (1, 2, 3), (0, 3), (2, 3), (3,),
                                  (0, 1, 2, 3), (0, 2), (0,)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_of_rows_in_place_gives_the_c_ordered_bits(shape, dims, keepdim):
    """The rows of a trailing block of summed axes are summed where they lie (no copy of a
    channel-major cotangent) with the C-ordered sum's bits, eager and jit."""
    from ember.ops import reduce as R
    dims = tuple(d for d in dims if d < len(shape))
    rng = np.random.default_rng(len(shape) + sum(dims))
    arrays = _layouts(shape, rng)
    want = R._sum_impl(arrays["C"], dims, keepdim)
    j = ember.jit(lambda t: ember.sum(t, dims, keepdim=keepdim))
    for name, a in arrays.items():
        got = R._sum_impl(a, dims, keepdim)
        np.testing.assert_array_equal(got, want, err_msg=name)
        assert got.shape == want.shape
        np.testing.assert_array_equal(j(ember.from_numpy(a)).numpy(), want, err_msg=name)
    f64 = ember.float64
    np.testing.assert_array_equal(R._sum_impl(arrays["channel-major"], dims, keepdim, f64),
                                  R._sum_impl(arrays["C"], dims, keepdim, f64))


def test_a_channel_major_bias_gradient_is_summed_without_a_copy(monkeypatch):
    from ember.ops import reduce as R
    x = _channel_major((8, 32, 12, 12))
    copies = []
    canonical = R._canonical
    monkeypatch.setattr(R, "_canonical", lambda a: copies.append(a.shape) or canonical(a))
    got = ember.jit(lambda t: ember.sum(t, (0, 2, 3)))(ember.from_numpy(x)).numpy()
    assert copies == []
    np.testing.assert_array_equal(got, np.add.reduce(np.ascontiguousarray(x), (0, 2, 3)))
    ember.sum(ember.from_numpy(x), (0, 1)).numpy()  # no trailing block: the C-ordered copy
    assert copies == [x.shape]
