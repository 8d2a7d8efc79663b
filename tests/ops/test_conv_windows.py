"""The convolution's windows copy (ember/ops/conv.py, _windows_impl with copy=True): for 2-D
stride-1 undilated windows with short output rows it copies in two stages
(_windows_two_stage: each kernel column's shift of the input rows, then each window plane
as one run). The same values and layout as the one-stage copy; convolutions through it
match float64 and PyTorch, eagerly and in jit plans alike."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import conv as C


def _one_stage(x, kernel):
    view = C._windows_impl(x, kernel, (1, 1), (1, 1))
    perm, inv = C._copy_orders(2, 2)
    return view.transpose(perm).copy().transpose(inv)


@pytest.mark.parametrize("shape,kernel", [
    ((32, 6, 14, 14), (5, 5)),   # LeNet's conv2
    ((1, 3, 7, 9), (3, 2)),      # batch 1, unequal kernel
    ((5, 2, 6, 17), (1, 3)),     # one kernel row
    ((3, 4, 12, 12), (2, 5)),
])
def test_the_two_stage_copy_gives_the_one_stage_windows(shape, kernel):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    out = (shape[2] - kernel[0] + 1, shape[3] - kernel[1] + 1)
    assert C._two_stage(x, kernel, (1, 1), (1, 1), out)
    got = C._windows_impl(x, kernel, (1, 1), (1, 1), copy=True)
    want = _one_stage(x, kernel)
    assert got.shape == want.shape and got.strides == want.strides
    np.testing.assert_array_equal(got, want)


def test_which_window_copies_take_two_stages():
    x = np.zeros((4, 3, 14, 14), np.float32)
    assert C._two_stage(x, (5, 5), (1, 1), (1, 1), (10, 10))
    assert not C._two_stage(x, (5, 5), (2, 2), (1, 1), (5, 5))      # strided
    assert not C._two_stage(x, (3, 3), (1, 1), (2, 2), (10, 10))    # dilated
    assert not C._two_stage(x, (5, 1), (1, 1), (1, 1), (10, 14))    # one kernel column
    big = np.zeros((4, 3, 30, 30), np.float32)
    assert not C._two_stage(big, (3, 3), (1, 1), (1, 1), (28, 28))  # long rows: one stage
    assert not C._two_stage(np.zeros((4, 3, 14, 16), np.float32)[..., :14], (5, 5), (1, 1),
                            (1, 1), (10, 10))                       # rows not contiguous


@pytest.mark.parametrize("kw", [{}, {"padding": 2}, {"bias": True}])
def test_conv2d_through_the_two_stage_copy_matches_float64_torch_and_jit(kw):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32) if kw.get("bias") else None
    pad = kw.get("padding", 0)

    def f(x, w, b):
        return (F.relu(F.conv2d(x, w, b, padding=pad)) ** 2).sum()
    args = [ember.tensor(x), ember.tensor(w), None if b is None else ember.tensor(b)]
    argn = (0, 1) if b is None else (0, 1, 2)
    g = ember.grad(f, argnums=argn)
    eager = g(*args)
    jitted = ember.jit(g)(*args)
    for a, j in zip(eager, jitted):
        np.testing.assert_array_equal(a.numpy(), j.numpy())
    ref = ember.grad(f, argnums=argn)(ember.tensor(x.astype(np.float64)),
                                       ember.tensor(w.astype(np.float64)),
                                       None if b is None else ember.tensor(b.astype(np.float64)))
    for a, r in zip(eager, ref):
        np.testing.assert_allclose(a.numpy(), r.numpy(), rtol=1e-4, atol=1e-3)
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    (torch.relu(torch.nn.functional.conv2d(tx, tw, tb, padding=pad)) ** 2).sum().backward()
    for a, t in zip(eager, [tx, tw, tb][:len(argn)]):
        np.testing.assert_allclose(a.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_which_weight_gradients_are_formed_windows_first():
    assert C._w_grad_windows_first(150, 16, 3200)        # LeNet's conv2 at batch 32
    assert C._w_grad_windows_first(147, 64, 16384)       # ResNet-18's stem
    assert not C._w_grad_windows_first(9, 32, 50176)     # C*K below O (mnist-cnn's conv)
    assert not C._w_grad_windows_first(4608, 512, 64)    # a short sum: a large transpose


@pytest.mark.parametrize("first", [True, False])
def test_windows_first_weight_gradient_matches_float64_and_jit(monkeypatch, first):
    """LeNet's conv2 (a windows copy of 150 rows, 16 outputs): the weight gradient formed as
    (C*K, O) and transposed, or as (O, C*K): each within float32 rounding of float64, eager
    and jit the same bits."""
    seen = []
    monkeypatch.setattr(C, "_w_grad_windows_first",
                        lambda *a: seen.append(a) or first)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)

    def f(w, x):
        return (F.relu(F.conv2d(x, w)) ** 2).sum()
    eager = ember.grad(f)(ember.tensor(w), ember.tensor(x)).numpy()
    assert seen == [(150, 16, 3200)]
    jitted = ember.jit(ember.grad(f))(ember.tensor(w), ember.tensor(x)).numpy()
    np.testing.assert_array_equal(eager, jitted)
    assert eager.flags.c_contiguous
    ref = ember.grad(f)(ember.tensor(w.astype(np.float64)),
                        ember.tensor(x.astype(np.float64))).numpy()
    np.testing.assert_allclose(eager, ref, rtol=2e-5, atol=2e-5 * np.abs(ref).max())


def _laid_out(shape, layout, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    if layout == "channel-major":
        return np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    if layout == "F":
        return np.asfortranarray(x)
    if layout == "sliced":
        return np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (0, 0), (0, 3))))[..., :-3]
    return x


@pytest.mark.parametrize("index_entries", [1 << 15, 40])  # one block, blocks of channels
@pytest.mark.parametrize("layout", ["C", "channel-major", "F", "sliced"])
@pytest.mark.parametrize("size,kernel,stride,dilation", [
    (4, 3, 1, 1), (6, 3, 2, 1), (6, 3, 1, 1), (5, 2, 1, 2), (3, 1, 1, 1), (9, 3, 3, 1)])
def test_short_output_rows_are_gathered_with_the_copys_values_and_layout(
        layout, size, kernel, stride, dilation, index_entries, monkeypatch):
    """Output rows of at most _GATHER_MAX_OW: np.take of the windows' positions, a block of
    channels at a time, the same values in the same memory order as the copy the longer
    rows take."""
    from ember.ops import conv as C
    monkeypatch.setattr(C, "_GATHER_INDEX_ENTRIES", index_entries)
    C._gather_index.cache_clear()
    x = _laid_out((3, 5, size + 1, size), layout, np.random.default_rng(size))
    k, s, d = (kernel,) * 2, (stride,) * 2, (dilation,) * 2
    out = tuple((n - d[0] * (kernel - 1) - 1) // stride + 1 for n in x.shape[2:])
    assert C._gathers(x, out)
    got = C._windows_impl(x, k, s, d, copy=True)
    monkeypatch.setattr(C, "_GATHER_MAX_OW", 0)
    want = C._windows_impl(x, k, s, d, copy=True)
    np.testing.assert_array_equal(got, C._windows_impl(x, k, s, d))  # the strided view
    np.testing.assert_array_equal(got, want)
    assert got.strides == want.strides


def test_gathered_windows_give_the_convolutions_bits_eager_and_jit(monkeypatch):
    from ember.ops import conv as C
    rng = np.random.default_rng(3)
    x = ember.tensor(rng.standard_normal((4, 16, 4, 4)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((8, 16, 3, 3)).astype(np.float32))

    def loss(x, w):
        return ember.nn.functional.conv2d(x, w, padding=1).square().sum()
    runs = []
    for max_ow in (C._GATHER_MAX_OW, 0):
        monkeypatch.setattr(C, "_GATHER_MAX_OW", max_ow)
        g = ember.grad(loss, argnums=(0, 1))
        runs.append([a.numpy() for a in g(x, w) + ember.jit(g)(x, w)])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(runs[0][:2], runs[0][2:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("shape,kernel,stride", [
    ((16, 3, 70, 70), (7, 7), (2, 2)),   # ResNet's stem, padded
    ((3, 2, 37, 53), (3, 4), (2, 3)),    # odd sizes, unequal strides
])
def test_strided_windows_from_the_stride_phases_have_the_copys_values_and_layout(
        monkeypatch, shape, kernel, stride, split):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    monkeypatch.setattr(C, "_SPLIT_MIN_BYTES", 0 if split else 1 << 62)
    view = C._windows_impl(x, kernel, stride, (1, 1))
    assert C._phased(x, kernel, stride, (1, 1), view.shape[2:4])
    got = C._windows_impl(x, kernel, stride, (1, 1), copy=True)
    perm, inv = C._copy_orders(2, 2)
    want = view.transpose(perm).copy().transpose(inv)
    assert got.shape == want.shape and got.strides == want.strides
    np.testing.assert_array_equal(got, want)
    assert not C._phased(x, kernel, (1, 1), (1, 1), view.shape[2:4])
    assert not C._phased(x[..., :20], kernel, stride, (1, 1), (8, 7))  # short rows
