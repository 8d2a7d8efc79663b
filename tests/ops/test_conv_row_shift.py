"""A 2-D stride-1 convolution's forward and weight gradient as row-shifted products
(ember/ops/conv.py, _fwd_row_shift, _w_grad_row_shift): the input laid out as planes at full
row width, its kx-shifts as C*KW rows (each one run), the kernel rows as shifts of the flat
position; block by block of samples. Their order of sums is fixed by the shapes (eager ==
jit bit for bit); compared with float64 and torch. The NumPy paths: with numba installed,
float32 takes the compiled kernels instead (tests/backend/test_numba_kernels.py)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import threads
from ember.ops import conv as C

pytestmark = pytest.mark.usefixtures("numpy_paths")


def _planes(x, tail):
    n, c, h, wd = x.shape
    p = np.zeros((c, n * h * wd + tail), x.dtype)
    p[:, :n * h * wd] = x.transpose(1, 0, 2, 3).reshape(c, -1)
    return p


def _expected(x, w, nb):
    """The forward's sums written out: per block of nb samples, Z = W' @ B over the full
    rows, then Z[0] shifted-added with Z[1], Z[2], ... in order; cropped."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    r, reach = h * wd, (kh - 1) * wd
    xp = _planes(x, reach + kw - 1)
    wz = np.ascontiguousarray(w.transpose(2, 0, 1, 3)).reshape(kh * o, c * kw)
    y = np.empty((o, n * r), x.dtype)
    for s in range(0, n, nb):
        m = (min(n, s + nb) - s) * r
        b = np.stack([xp[ci, s * r + j:s * r + j + m + reach] for ci in range(c)
                      for j in range(kw)])
        z = (wz @ b).reshape(kh, o, m + reach)
        acc = z[0, :, :m] + z[1, :, wd:wd + m] if kh > 1 else z[0, :, :m].copy()
        for t in range(2, kh):
            acc = acc + z[t, :, t * wd:t * wd + m]
        y[:, s * r:s * r + m] = acc
    return y.reshape(o, n, h, wd)[:, :, :oh, :ow].transpose(1, 0, 2, 3)


def _expected_w_grad(x, ct, nb):
    """The weight gradient's sums written out: per block of nb samples, D (the cotangent
    on the full grid, its kh shifts; rows padded with zeros to a multiple of 8) @ B^T
    (B's rows padded alike), the blocks' products added in order."""
    n, c, h, wd = x.shape
    o, oh, ow = ct.shape[1:]
    kh, kw = h - oh + 1, wd - ow + 1
    r, pad = h * wd, (kh - 1) * wd
    xp = _planes(x, kw - 1)
    p = np.zeros((o, pad + n * r), x.dtype)
    p[:, pad:].reshape(o, n, h, wd)[:, :, :oh, :ow] = ct.transpose(1, 0, 2, 3)
    rb, rd = c * kw + (-c * kw) % 8, o * kh + (-o * kh) % 8
    acc = None
    for s in range(0, n, nb):
        m = (min(n, s + nb) - s) * r
        b = np.zeros((rb, m), x.dtype)
        b[:c * kw] = [xp[ci, s * r + j:s * r + j + m] for ci in range(c) for j in range(kw)]
        d = np.zeros((rd, m), x.dtype)
        d[:o * kh] = [p[oi, pad + s * r - t * wd:pad + s * r - t * wd + m] for oi in range(o)
                      for t in range(kh)]
        prod = d @ b.T
        acc = prod if acc is None else acc + prod
    return acc[:o * kh, :c * kw].reshape(o, kh, c, kw).transpose(0, 2, 1, 3)


SHAPES = [
    ((7, 3, 12, 12), (6, 3, 5, 5)),   # LeNet's conv1 shape class; 7 = 3 + 3 + 1
    ((1, 3, 9, 8), (4, 3, 3, 2)),     # batch 1, unequal kernel
    ((5, 2, 7, 7), (5, 2, 1, 3)),     # one kernel row
    ((4, 1, 6, 5), (8, 1, 4, 1)),     # one kernel column, 8 output channels
]


def _three_per_block(monkeypatch, xs, ws, rows):
    monkeypatch.setattr(C, "_SHIFT_BLOCK_BYTES", 3 * rows * xs[2] * xs[3] * 4)


def _check_order(kernel, written_out, eq, a, b, atol):
    """The kernel gives the bits of its sums written out (both on one BLAS thread) and the
    float64 einsum to rounding."""
    with threads.blas_single_thread():
        got, want = kernel(), written_out()
    np.testing.assert_array_equal(got, want)
    ref = np.einsum(eq, a.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=atol)


@pytest.mark.parametrize("xs,ws", SHAPES)
def test_row_shifted_forward_sums_in_its_order(monkeypatch, xs, ws):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    c, o, (kh, kw) = xs[1], ws[0], ws[2:]
    _three_per_block(monkeypatch, xs, ws, c * kw + kh * o)
    view = C._windows_impl(x, (kh, kw), (1, 1), (1, 1))
    assert C._row_shift_ok(view)
    _check_order(lambda: C._fwd_row_shift(view, w, [(0, xs[0])]), lambda: _expected(x, w, 3),
                 "nchwkl,ockl->nohw", view, w, atol=1e-5)


@pytest.mark.parametrize("xs,ws", SHAPES)
def test_row_shifted_weight_gradient_sums_in_its_order(monkeypatch, xs, ws):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(xs).astype(np.float32)
    c, o, (kh, kw) = xs[1], ws[0], ws[2:]
    view = C._windows_impl(x, (kh, kw), (1, 1), (1, 1))
    ct = rng.standard_normal((xs[0], o) + view.shape[2:4]).astype(np.float32)
    rb, rd = c * kw + (-c * kw) % 8, o * kh + (-o * kh) % 8
    _three_per_block(monkeypatch, xs, ws, rb + rd)
    _check_order(lambda: C._w_grad_row_shift(ct, view, [(0, xs[0])]),
                 lambda: _expected_w_grad(x, ct, 3), "nohw,nchwkl->ockl", ct, view, atol=1e-4)


def test_which_weight_gradients_take_the_row_shift():
    """Where its two matrices (KH*O and C*KW rows) are smaller than the window matrix and
    the cotangent (C*KH*KW and O rows)."""
    def takes(n, c, o, k):
        view = C._windows_impl(np.zeros((n, c, 12, 12), np.float32), (k, k), (1, 1), (1, 1))
        return C._w_grad_shifts(np.zeros((n, o, 12 - k + 1, 12 - k + 1), np.float32), view)
    assert takes(2, 3, 6, 5)        # LeNet's conv1
    assert not takes(2, 3, 64, 3)   # VGG's first convolution
    assert not takes(2, 1, 32, 3)   # mnist-cnn's first


def test_which_window_views_take_the_row_shift():
    x = np.zeros((2, 3, 13, 12), np.float32)
    assert C._row_shift_ok(C._windows_impl(x, (3, 3), (1, 1), (1, 1)))
    # stride == dilation along the rows: a stride-1 view of every other row
    assert C._row_shift_ok(C._windows_impl(x, (3, 3), (2, 1), (2, 1)))
    assert not C._row_shift_ok(C._windows_impl(x, (3, 3), (2, 2), (1, 1)))
    assert not C._row_shift_ok(C._windows_impl(x, (3, 3), (1, 1), (1, 2)))
    assert not C._row_shift_ok(C._windows_impl(x.astype(np.int32), (3, 3), (1, 1), (1, 1)))
    assert not C._row_shift_ok(C._windows_impl(x[..., ::2], (3, 3), (1, 1), (1, 1)))


@pytest.fixture
def blocked(monkeypatch):
    """Every convolution takes the blocked products, one sample per block."""
    monkeypatch.setattr(C, "_BLOCK_MIN_BYTES", 0)
    monkeypatch.setattr(C, "_BLOCK_MAX_ROWS", 10 ** 9)
    monkeypatch.setattr(C, "_BLOCK_BYTES", 1)
    monkeypatch.setattr(C, "_SHIFT_BLOCK_BYTES", 1)
    return monkeypatch


@pytest.mark.parametrize("xs,ws,kw", [
    ((5, 3, 12, 12), (6, 3, 5, 5), {}),
    ((3, 4, 9, 9), (7, 4, 3, 3), {"padding": 1}),
    ((1, 2, 8, 10), (3, 2, 3, 4), {"padding": (2, 1)}),
    ((4, 3, 13, 13), (5, 3, 3, 3), {"stride": (2, 1), "dilation": (2, 1)}),
    ((4, 4, 10, 10), (6, 2, 3, 3), {"groups": 2}),       # grouped: the gathered blocks
    ((3, 2, 11, 11), (4, 2, 3, 3), {"stride": 2, "padding": 1}),  # strided: gathered
])
def test_blocked_convolutions_match_float64_and_torch_eager_and_jit(blocked, xs, ws, kw):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)

    def f(x, w, b):
        return F.conv2d(x, w, b, **kw)
    y = f(ember.tensor(x), ember.tensor(w), ember.tensor(b)).numpy()
    yj = ember.jit(f)(ember.tensor(x), ember.tensor(w), ember.tensor(b)).numpy()
    np.testing.assert_array_equal(y, yj)
    y64 = f(ember.tensor(x.astype(np.float64)), ember.tensor(w.astype(np.float64)),
            ember.tensor(b.astype(np.float64))).numpy()
    np.testing.assert_allclose(y, y64, rtol=1e-4, atol=1e-4)
    ct = rng.standard_normal(y.shape).astype(np.float32)
    g = ember.grad(lambda x, w: (f(x, w, ember.tensor(b)) * ember.tensor(ct)).sum(),
                   argnums=(0, 1))
    ge = g(ember.tensor(x), ember.tensor(w))
    gj = ember.jit(g)(ember.tensor(x), ember.tensor(w))
    for a, j in zip(ge, gj):
        np.testing.assert_array_equal(a.numpy(), j.numpy())
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, torch.tensor(b), **kw)
    (yt * torch.tensor(ct)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ge[0].numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ge[1].numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_the_split_runs_whole_blocks_and_keeps_the_bits(monkeypatch):
    monkeypatch.setattr(C, "_SHIFT_BLOCK_BYTES", 1)  # one sample per block
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 10, 10)).astype(np.float32)
    w = rng.standard_normal((6, 3, 5, 5)).astype(np.float32)
    view = C._windows_impl(x, (5, 5), (1, 1), (1, 1))
    with threads.blas_single_thread():
        one = C._fwd_row_shift(view, w, [(0, 5)])
        two = C._fwd_row_shift(view, w, [(0, 3), (3, 5)])
        ct = rng.standard_normal(one.shape).astype(np.float32)
        g_one = C._w_grad_row_shift(ct, view, [(0, 5)])
        g_two = C._w_grad_row_shift(ct, view, [(0, 3), (3, 5)])
    np.testing.assert_array_equal(one, two)
    # the weight gradient: each half's blocks added in order, then first + second
    want = _expected_w_grad(x[:2], ct[:2], 1) + _expected_w_grad(x[2:], ct[2:], 1)
    np.testing.assert_array_equal(g_two, want)
    np.testing.assert_allclose(g_one, g_two, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("xs,kernel,stride", [
    ((7, 3, 12, 12), (5, 5), (1, 1)),
    ((1, 2, 9, 8), (3, 2), (1, 1)),
    ((4, 2, 6, 7), (3, 1), (1, 1)),
    ((5, 3, 13, 12), (3, 3), (2, 1)),   # with dilation (2, 1): a stride-1 view of rows
])
@pytest.mark.parametrize("start", [0, 2])  # the whole batch; the second half of a split
def test_the_blocked_gather_of_a_stride_1_view_gives_the_window_matrix(monkeypatch, xs,
                                                                       kernel, stride,
                                                                       start):
    """_cols_blocks gathers a 2-D stride-1 view in two stages (row shifts, then one run per
    window plane); the blocks are the channel-kernel-major window matrix all the same."""
    start = min(start, xs[0] - 1)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(xs).astype(np.float32)
    view = C._windows_impl(x, kernel, stride, stride)
    assert C._row_shift_ok(view)
    per = xs[1] * kernel[0] * kernel[1] * view.shape[2] * view.shape[3] * 4
    monkeypatch.setattr(C, "_BLOCK_BYTES", 2 * per)  # 2 samples per block
    full = np.ascontiguousarray(view.transpose(1, 4, 5, 0, 2, 3))  # (C, KH, KW, N, OH, OW)
    full = full.reshape(full.shape[0] * kernel[0] * kernel[1], xs[0], -1)
    blocks = [(s, e, m.copy()) for s, e, m in C._cols_blocks(view, 2, False, start, xs[0])]
    assert [(s, e) for s, e, _ in blocks] == [(s, min(xs[0], s + 2)) for s in
                                             range(start, xs[0], 2)]
    for s, e, m in blocks:
        np.testing.assert_array_equal(m, full[:, s:e].reshape(full.shape[0], -1))
