"""The convolution's blocked products (ember/ops/conv.py, _conv_blocked): for a few-rowed,
large window matrix the windows stay a strided view of the padded input, and the forward
product and the weight gradient gather them block by block of samples into one reused
buffer, one GEMM per block. The forward's columns are the same dot products as one GEMM
over the whole matrix; the weight gradient sums the blocks' products in block order (another
order of sums: compared with float64 and torch). Eager and jit run the same kernels: the
same bits."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import conv as C


@pytest.fixture
def blocks(monkeypatch):
    """Every convolution blocked, 3 samples per block for the shapes below (so batches of
    7 end in a short block); records the gathers."""
    seen = []
    real = C._cols_blocks

    def spy(cols, *a):
        seen.append(cols.shape)
        return real(cols, *a)
    monkeypatch.setattr(C, "_BLOCK_MIN_BYTES", 0)
    monkeypatch.setattr(C, "_BLOCK_MAX_ROWS", 10 ** 9)
    monkeypatch.setattr(C, "_cols_blocks", spy)
    return monkeypatch, seen


def _per_sample_bytes(x_shape, w_shape, kw):
    nsp = len(w_shape) - 2
    st = kw.get("stride", 1)
    pad = kw.get("padding", 0)
    dil = kw.get("dilation", 1)
    outs = [(n + 2 * pad - dil * (k - 1) - 1) // st + 1 for n, k in
            zip(x_shape[2:], w_shape[2:])]
    return x_shape[1] * int(np.prod(w_shape[2:])) * int(np.prod(outs)) * 4, nsp


CASES = [  # x shape, w shape, keywords
    ((7, 3, 12, 12), (5, 3, 5, 5), {}),                             # 7 = 3 + 3 + 1
    ((1, 3, 12, 12), (4, 3, 3, 3), {"padding": 1}),                 # batch 1
    ((7, 4, 11, 11), (6, 2, 3, 3), {"groups": 2, "padding": 1}),    # groups
    ((7, 2, 13, 13), (4, 2, 3, 3), {"stride": 2, "dilation": 2}),
    ((7, 3, 20), (5, 3, 4), {"stride": 3, "padding": 2}),           # conv1d
    ((7, 2, 6, 7, 5), (3, 2, 2, 3, 2), {"padding": 1}),             # conv3d
]


def _conv(x, w, kw):
    return {3: F.conv1d, 4: F.conv2d, 5: ember.nn.functional.conv3d}[x.ndim](x, w, **kw)


def _grads(x, w, ct, kw):
    xe = ember.tensor(x, requires_grad=True)
    we = ember.tensor(w, requires_grad=True)
    y = _conv(xe, we, kw)
    (y * ember.tensor(ct)).sum().backward()
    return y.detach().numpy(), xe.grad.numpy(), we.grad.numpy()


@pytest.mark.parametrize("xs,ws,kw", CASES)
def test_blocked_convolution_matches_float64_torch_and_the_gathered_matrix(blocks, xs, ws,
                                                                           kw):
    mp, seen = blocks
    per, _ = _per_sample_bytes(xs, ws, kw)
    groups = kw.get("groups", 1)
    mp.setattr(C, "_BLOCK_BYTES", 3 * per // groups)  # 3 samples per block
    assert C._block_len(xs[0], per // groups) == min(3, xs[0])
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    y0 = _conv(ember.tensor(x), ember.tensor(w), kw).numpy()
    ct = rng.standard_normal(y0.shape).astype(np.float32)
    seen.clear()
    y, gx, gw = _grads(x, w, ct, kw)
    # the forward and the weight gradient gathered block by block; a 2-D stride-1
    # convolution's forward takes the row-shifted products instead (no window matrix), and
    # so does its weight gradient where those have fewer rows (_w_grad_shifts)
    shifted = len(xs) == 4 and groups == 1 and kw.get("stride", 1) == 1 and \
        kw.get("dilation", 1) == 1
    (o, c, kh, kwd) = ws if shifted else (0,) * 4
    w_shifted = shifted and kh * o + c * kwd < c * kh * kwd + o
    assert len(seen) == (0 if w_shifted else 1 if shifted else 2)
    mp.setattr(C, "_BLOCK_MIN_BYTES", 1 << 60)  # the gathered whole matrix
    seen.clear()
    y1, gx1, gw1 = _grads(x, w, ct, kw)
    assert not seen
    ref = _grads(x.astype(np.float64), w.astype(np.float64), ct.astype(np.float64), kw)
    for got, one, r in zip((y, gx, gw), (y1, gx1, gw1), ref):
        np.testing.assert_allclose(got, r, rtol=1e-4, atol=1e-4)
        # two float32 orders of sums of up to 448 products (each within ~3e-5 of float64
        # here): the row-shifted weight gradient and the whole matrix's
        np.testing.assert_allclose(got, one, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(gx, gx1)  # the input gradient does not use the windows
    torch = pytest.importorskip("torch")
    tf = {3: torch.nn.functional.conv1d, 4: torch.nn.functional.conv2d,
          5: torch.nn.functional.conv3d}[len(xs)]
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    yt = tf(xt, wt, **kw)
    (yt * torch.tensor(ct)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("o", [4, 16])  # weight gradient row-shifted; gathered
def test_blocked_convolution_eager_and_jit_give_the_same_bits(blocks, o):
    mp, seen = blocks
    mp.setattr(C, "_BLOCK_BYTES", 3 * 3 * 25 * 64 * 4)  # 3 samples of (7, 3, 12, 12) * 5x5
    mp.setattr(C, "_SHIFT_BLOCK_BYTES", 3 * 48 * 144 * 4)
    shifted = []
    real = C._w_grad_row_shift
    mp.setattr(C, "_w_grad_row_shift", lambda *a: shifted.append(1) or real(*a))
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((7, 3, 12, 12)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((o, 3, 5, 5)).astype(np.float32))
    b = ember.tensor(rng.standard_normal(o).astype(np.float32))

    def loss(x, w, b):
        return (F.relu(F.conv2d(x, w, b)) ** 2).sum()
    g = ember.grad(loss, argnums=(0, 1, 2))
    eager = g(x, w, b)
    seen.clear()
    shifted.clear()
    jitted = ember.jit(g)(x, w, b)
    assert (shifted, seen) == (([1], []) if o == 4 else ([], [seen[0]]))  # the plan ran
    # the same kernels
    for a, j in zip(eager, jitted):
        np.testing.assert_array_equal(a.numpy(), j.numpy())
    np.testing.assert_array_equal(ember.jit(F.conv2d)(x, w, b).numpy(),
                                  F.conv2d(x, w, b).numpy())


def test_the_weight_gradient_sums_the_blocks_in_order(blocks):
    """Bit for bit: the blocks' products (O, C*K) added one after another."""
    mp, _ = blocks
    mp.setattr(C, "_w_grad_shifts", lambda ct, cols: False)  # the gathered blocks
    rng = np.random.default_rng(2)
    x = rng.standard_normal((7, 3, 12, 12)).astype(np.float32)
    ct = rng.standard_normal((7, 4, 8, 8)).astype(np.float32)
    mp.setattr(C, "_BLOCK_BYTES", 3 * 3 * 25 * 64 * 4)
    view = C._windows_impl(x, (5, 5), (1, 1), (1, 1))
    got = C._conv_w_grad_kernel(2, False)(ct, view)
    cols = np.ascontiguousarray(view.transpose(1, 4, 5, 0, 2, 3)).reshape(75, 7, 64)
    # 4 output channels (not a multiple of 8): (C*K, 8) products of the window blocks and
    # the cotangent rows padded with zero rows to 8, summed, cropped, transposed
    ct8 = np.zeros((8, 7 * 64), np.float32)
    ct8[:4] = np.ascontiguousarray(ct.transpose(1, 0, 2, 3)).reshape(4, -1)
    want = None
    for a in (0, 3, 6):
        e = min(7, a + 3)
        p = cols[:, a:e].reshape(75, -1) @ ct8[:, a * 64:e * 64].T
        want = p if want is None else want + p
    np.testing.assert_array_equal(got, want[:, :4].T.reshape(4, 3, 5, 5))
    # 8 output channels: (O, C*K) products of the cotangent rows and the window blocks
    ct_8 = rng.standard_normal((7, 8, 8, 8)).astype(np.float32)
    got8 = C._conv_w_grad_kernel(2, False)(ct_8, view)
    ct2 = np.ascontiguousarray(ct_8.transpose(1, 0, 2, 3))
    want = None
    for a in (0, 3, 6):
        e = min(7, a + 3)
        p = ct2[:, a:e].reshape(8, -1) @ cols[:, a:e].reshape(75, -1).T
        want = p if want is None else want + p
    np.testing.assert_array_equal(got8, want.reshape(8, 3, 5, 5))
    # the forward of a strided convolution: each block's columns of one product
    w = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    x2 = rng.standard_normal((7, 3, 19, 19)).astype(np.float32)
    view2 = C._windows_impl(x2, (5, 5), (2, 2), (1, 1))  # (7, 3, 8, 8, 5, 5)
    assert not C._row_shift_ok(view2)
    y = C._conv_fwd_kernel(2, False)(view2, w)
    cols_m = np.ascontiguousarray(view2.transpose(1, 4, 5, 0, 2, 3)).reshape(75, -1)
    want_y = np.concatenate([w.reshape(4, 75) @ cols_m[:, a * 64:min(7, a + 3) * 64]
                             for a in (0, 3, 6)], axis=1)
    np.testing.assert_array_equal(y, want_y.reshape(4, 7, 8, 8).transpose(1, 0, 2, 3))


def test_which_convolutions_are_blocked():
    """Decided from shapes only: few rows (memory-bound GEMMs) and a matrix beyond the
    caches. LeNet's conv1 at batch 32 and 128 and VGG's first convolution are blocked; LeNet's
    conv2 (150 rows), mnist-cnn's small matrix and VGG's 576-row convolutions are not."""
    def blocked(n, c, k, out):
        return C._conv_blocked(c * k * k, c * k * k * n * out * out * 4)
    assert blocked(32, 3, 5, 28) and blocked(128, 3, 5, 28)
    assert blocked(16, 3, 3, 64)
    assert not blocked(32, 6, 5, 10) and not blocked(128, 6, 5, 10)
    assert not blocked(64, 1, 3, 28)
    assert not blocked(16, 64, 3, 32)


def test_a_blocked_convolution_sees_its_input_modified_in_place(blocks):
    """The windows are a view of the input (no copy): modifying the input before backward
    is an error, as in PyTorch, not a silently wrong weight gradient."""
    x = ember.ones(4, 2, 6, 6)
    w = ember.ones(3, 2, 3, 3, requires_grad=True)
    y = F.conv2d(x, w)
    x.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace|in-place|version"):
        y.sum().backward()


def test_conv2d_at_lenet_shapes_takes_the_blocked_products(monkeypatch):
    seen, shifted = [], []
    real, real_shift, real_w = C._cols_blocks, C._fwd_row_shift, C._w_grad_row_shift
    monkeypatch.setattr(C, "_cols_blocks", lambda cols, *a: seen.append(1) or real(cols, *a))
    monkeypatch.setattr(C, "_fwd_row_shift",
                        lambda cols, *a: shifted.append("fwd") or real_shift(cols, *a))
    monkeypatch.setattr(C, "_w_grad_row_shift",
                        lambda *a: shifted.append("w") or real_w(*a))
    x = ember.zeros(32, 3, 32, 32)
    w = ember.zeros(6, 3, 5, 5, requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert not seen and shifted == ["fwd", "w"]  # both row-shifted: no window matrix
    seen.clear()
    shifted.clear()
    x2 = ember.zeros(32, 6, 14, 14)
    w2 = ember.zeros(16, 6, 5, 5, requires_grad=True)
    F.conv2d(x2, w2).sum().backward()
    assert not seen and not shifted
