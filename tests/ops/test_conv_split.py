"""The convolution's and the max pool's kernels split by batch on two threads
(ember/ops/conv.py, _SPLIT_MIN_BYTES; by default "auto": only the row-shifted products of
enough blocks and the max pool's forward, from _OWN_SPLIT_MIN_BYTES). The window copy,
col2im and the pools give the same
bits as one part; the products are BLAS calls over half the columns (OpenBLAS may then
round some entries differently) and the weight gradient two half-batch products added, so
those agree to rounding, and eager == jit bit for bit with the split on (same kernels)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import threads
from ember.ops import conv as C


@pytest.fixture
def parts_seen(monkeypatch):
    """Records how many parts each threaded run had (so that a test knows the split ran)."""
    seen = []
    real = threads.run_parts

    def spy(fn, parts):
        seen.append(len(parts))
        return real(fn, parts)
    monkeypatch.setattr(threads, "run_parts", spy)
    return seen


def _split(monkeypatch, on):
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", 1 if on else None)


CONVS = [  # x shape, w shape, conv2d keywords
    ((5, 3, 16, 16), (6, 3, 5, 5), {}),                      # full-grid input gradient
    ((4, 6, 12, 12), (8, 6, 3, 3), {"padding": 1}),          # compact layout
    ((3, 4, 11, 11), (6, 4, 3, 3), {"stride": 2}),
    ((4, 4, 10, 10), (6, 2, 3, 3), {"groups": 2}),           # grouped: not split
    ((3, 2, 9, 9), (4, 2, 3, 3), {"dilation": 2, "padding": 2}),
]


def _conv_grads(x, w, ct, kw):
    xe = ember.tensor(x, requires_grad=True)
    we = ember.tensor(w, requires_grad=True)
    y = F.conv2d(xe, we, **kw)
    (y * ember.tensor(ct)).sum().backward()
    return y.detach().numpy(), xe.grad.numpy(), we.grad.numpy()


@pytest.mark.parametrize("xs,ws,kw", CONVS)
def test_split_convolution_keeps_the_bits_of_one_part(monkeypatch, parts_seen, xs, ws, kw):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    ct = rng.standard_normal(F.conv2d(ember.tensor(x), ember.tensor(w), **kw).shape
                             ).astype(np.float32)
    _split(monkeypatch, False)
    y1, gx1, gw1 = _conv_grads(x, w, ct, kw)
    assert parts_seen == []
    _split(monkeypatch, True)
    y2, gx2, gw2 = _conv_grads(x, w, ct, kw)
    if kw.get("groups", 1) == 1:
        assert 2 in parts_seen  # the split ran
    ref = _conv_grads(x.astype(np.float64), w.astype(np.float64), ct.astype(np.float64), kw)
    for got, one, r in zip((y2, gx2, gw2), (y1, gx1, gw1), ref):
        np.testing.assert_allclose(got, r, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(got, one, rtol=1e-5, atol=1e-5)
    # the window copy alone: the same bits as one part
    xp = np.pad(x, ((0, 0), (0, 0)) + ((kw.get("padding", 0),) * 2,) * 2)
    args = (ws[2:], (kw.get("stride", 1),) * 2, (kw.get("dilation", 1),) * 2)
    _split(monkeypatch, False)
    one = C._windows_impl(xp, *args, copy=True)
    _split(monkeypatch, True)
    two = C._windows_impl(xp, *args, copy=True)
    np.testing.assert_array_equal(two, one)
    assert two.strides == one.strides


def test_split_col2im_keeps_the_bits_of_one_part(monkeypatch, parts_seen):
    """The input gradient of a 5x5 stride-1 convolution: the product on the input's full
    grid, then col2im by whole runs; col2im split by batch adds the same terms in the same
    order."""
    rng = np.random.default_rng(4)
    ct = rng.standard_normal((5, 6, 12, 12)).astype(np.float32)
    w = rng.standard_normal((6, 3, 5, 5)).astype(np.float32)
    g = C._conv_cols_grad_kernel(2, False, full=True)(ct, w)
    assert C._cols_matrix(g, 2, False, full=True).shape == (3 * 25, 5 * 16 * 16)  # (C*K,
    # N*H*W)
    assert C._cols_matrix(g, 2, False) is None  # (the products don't take it)
    _split(monkeypatch, False)
    one = C._unwindows_impl(g, (16, 16), (5, 5), (1, 1), (1, 1))
    _split(monkeypatch, True)
    two = C._unwindows_impl(g, (16, 16), (5, 5), (1, 1), (1, 1))
    assert 2 in parts_seen
    np.testing.assert_array_equal(two, one)


@pytest.mark.parametrize("shape,kernel,stride,padding", [
    ((5, 6, 28, 28), 2, 2, 0),   # tiled (LeNet's)
    ((3, 4, 9, 7), 3, 2, 1),     # overlapping windows, padded
    ((2, 3, 8, 8), 3, 1, 0),
])
def test_split_max_pool_keeps_the_bits_of_one_part(monkeypatch, parts_seen, shape, kernel,
                                                   stride, padding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    x[0, 0, :2, :2] = 1.5  # ties: the gradient goes to the first maximum either way

    def run():
        xe = ember.tensor(x, requires_grad=True)
        y = F.max_pool2d(xe, kernel, stride, padding)
        (y * ember.arange(float(y.numel())).reshape(y.shape)).sum().backward()
        return y.detach().numpy(), xe.grad.numpy()
    _split(monkeypatch, False)
    y1, g1 = run()
    _split(monkeypatch, True)
    y2, g2 = run()
    assert parts_seen.count(2) >= 2  # forward and backward
    np.testing.assert_array_equal(y2, y1)
    np.testing.assert_array_equal(g2, g1)


def test_the_split_follows_the_size_threshold(monkeypatch):
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", 1000)
    assert C._batch_parts(8, 999) == [(0, 8)]
    assert C._batch_parts(8, 1000) == [(0, 4), (4, 8)]
    assert C._batch_parts(7, 10 ** 6) == [(0, 4), (4, 7)]
    assert C._batch_parts(1, 10 ** 6) == [(0, 1)]
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", None)
    assert C._batch_parts(8, 10 ** 9) == [(0, 8)]


def test_auto_splits_only_the_kernels_of_own_passes(monkeypatch):
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", "auto")
    big = C._OWN_SPLIT_MIN_BYTES
    assert C._batch_parts(8, 10 ** 9) == [(0, 8)]  # BLAS products, col2im, scatters: whole
    assert C._own_parts(8, big - 1) == [(0, 8)]
    assert C._own_parts(8, big) == [(0, 4), (4, 8)]
    assert C._own_parts(1, big) == [(0, 1)]
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", None)  # off: nothing splits
    assert C._own_parts(8, 10 ** 9) == [(0, 8)]
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", 1000)  # a byte count: everything from it
    assert C._own_parts(8, 1000) == C._batch_parts(8, 1000) == [(0, 4), (4, 8)]


@pytest.mark.parametrize("n,split", [(128, True), (32, False)])
@pytest.mark.usefixtures("numpy_paths")  # (the compiled kernels split by _own_parts alone)
def test_auto_splits_row_shifted_convolutions_of_enough_blocks(monkeypatch, parts_seen, n,
                                                                 split):
    # LeNet's conv1 (3 -> 6 channels, 5x5) at batch 128: 6 blocks of samples, three per
    # thread, forward and weight gradient; at batch 32 two blocks (22 and 10 samples): whole
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", "auto")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, 3, 32, 32)).astype(np.float32)
    w = (rng.standard_normal((6, 3, 5, 5)) / 8).astype(np.float32)
    ct = rng.standard_normal((n, 6, 28, 28)).astype(np.float32)

    def loss(w):
        return (F.conv2d(ember.tensor(x), w) * ember.tensor(ct)).sum()
    eager = ember.grad(loss)(ember.tensor(w)).numpy()
    assert (2 in parts_seen) == split
    jitted = ember.jit(ember.grad(loss))(ember.tensor(w)).numpy()
    np.testing.assert_array_equal(jitted, eager)
    x64 = C._windows_impl(x.astype(np.float64), (5, 5), (1, 1), (1, 1))
    ref = np.einsum("nohw,nchwkl->ockl", ct.astype(np.float64), x64)
    np.testing.assert_allclose(eager, ref, rtol=1e-4, atol=1e-3)
    y = F.conv2d(ember.tensor(x), ember.tensor(w)).numpy()
    np.testing.assert_allclose(y, np.einsum("nchwkl,ockl->nohw", x64, w.astype(np.float64)),
                               rtol=1e-4, atol=1e-4)


def test_the_split_setting_reads_the_environment(monkeypatch):
    monkeypatch.delenv("EMBER_CONV_SPLIT_MIN_BYTES", raising=False)
    assert C._split_setting("auto") == "auto"  # (the module's default)
    monkeypatch.setenv("EMBER_CONV_SPLIT_MIN_BYTES", "auto")
    assert C._split_setting("auto") == "auto"
    monkeypatch.setenv("EMBER_CONV_SPLIT_MIN_BYTES", "off")
    assert C._split_setting(123) is None
    monkeypatch.setenv("EMBER_CONV_SPLIT_MIN_BYTES", "4096")
    assert C._split_setting(None) == 4096
    monkeypatch.delenv("EMBER_CONV_SPLIT_MIN_BYTES")
    assert C._split_setting(123) == 123
    monkeypatch.setenv("EMBER_CONV_SPLIT_MIN_BYTES", "lots")
    with pytest.raises(ValueError,
                       match="EMBER_CONV_SPLIT_MIN_BYTES must be 'auto', 'off' or a byte"):
        C._split_setting(None)


def _lenet_loss(p, x, y):
    h = F.max_pool2d(F.relu(F.conv2d(x, p["w1"], p["b1"])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p["w2"], p["b2"])), 2)
    return F.cross_entropy(h.flatten(1) @ p["w3"], y)


def test_lenet_step_eager_and_jit_agree_bit_for_bit_when_split(monkeypatch, parts_seen):
    _split(monkeypatch, True)
    rng = np.random.default_rng(2)
    shapes = {"w1": (6, 3, 5, 5), "b1": (6,), "w2": (16, 6, 5, 5), "b2": (16,),
              "w3": (400, 10)}
    p = {k: ember.tensor(rng.standard_normal(s).astype(np.float32) * 0.1)
         for k, s in shapes.items()}
    x = ember.tensor(rng.standard_normal((6, 3, 32, 32)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, 6))
    eager = ember.grad(_lenet_loss)(p, x, y)
    assert 2 in parts_seen
    jitted = ember.jit(ember.grad(_lenet_loss))
    for _ in range(2):  # the first call traces, the second runs the plan
        got = jitted(p, x, y)
        for k in shapes:
            np.testing.assert_array_equal(got[k].numpy(), eager[k].numpy())
    # and the eager tape (Tensor.backward) gives the same gradients
    q = {k: v.detach().requires_grad_() for k, v in p.items()}
    _lenet_loss(q, x, y).backward()
    for k in shapes:
        np.testing.assert_array_equal(q[k].grad.numpy(), eager[k].numpy())


@pytest.mark.usefixtures("numpy_paths")  # (the strict device has no compiled kernels)
def test_split_kernels_work_on_the_strict_device(monkeypatch, parts_seen):
    _split(monkeypatch, True)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 12, 12)).astype(np.float32)
    w = rng.standard_normal((5, 3, 5, 5)).astype(np.float32)
    xs = ember.tensor(x, device="strict", requires_grad=True)
    ws = ember.tensor(w, device="strict", requires_grad=True)
    F.max_pool2d(F.conv2d(xs, ws), 2).sum().backward()
    xc = ember.tensor(x, requires_grad=True)
    wc = ember.tensor(w, requires_grad=True)
    F.max_pool2d(F.conv2d(xc, wc), 2).sum().backward()
    assert 2 in parts_seen
    np.testing.assert_array_equal(xs.grad.cpu().numpy(), xc.grad.numpy())
    np.testing.assert_array_equal(ws.grad.cpu().numpy(), wc.grad.numpy())
