"""The max pool's gradient scatter (ops/conv.py, _argmax_scatter_impl): an infinite or NaN
cotangent reaches only each window's first maximum (zeros elsewhere, as PyTorch; multiplying
it by the miss masks gave NaN), for tiled, strided-overlapping and stride-1 windows and the
large 2x2 fast path's size; finite cotangents give the values of a selection."""
import numpy as np
import pytest

import ember
from ember.ops import conv

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape,k,s,p", [((2, 3, 6, 6), 2, 2, 0), ((2, 3, 6, 6), 3, 3, 0),
                                         ((2, 3, 7, 7), 3, 2, 1), ((2, 3, 6, 6), 3, 1, 1),
                                         ((4, 32, 64, 64), 2, 2, 0)])
def test_infinite_cotangents_match_torch(shape, k, s, p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe = ember.nn.functional.max_pool2d(xe, k, s, p)
    ot = torch.nn.functional.max_pool2d(xt, k, s, p)
    ct = rng.standard_normal(tuple(ot.shape)).astype(np.float32)
    ct[0, 0, 0, 0], ct[-1, -1, 1, 1] = np.inf, -np.inf
    oe.backward(ember.tensor(ct))
    ot.backward(torch.tensor(ct))
    a, b = xe.grad.numpy(), xt.grad.numpy()
    assert not np.isnan(a).any()
    np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
    fin = np.isfinite(a)
    np.testing.assert_allclose(a[fin], b[fin], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("k,s", [(3, 1), (3, 2), (2, 2)])
def test_finite_cotangents_equal_a_selection(k, s):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 9, 9)).astype(np.float32)
    out = conv._pool_max_impl(x, (k, k), (s, s), (1, 1))
    ct = rng.standard_normal(out.shape).astype(np.float32)
    got = conv._argmax_scatter_impl(ct, x, out, (k, k), (s, s), (1, 1))
    want = np.zeros_like(x)  # the first maximum of each window, in window order
    taken = np.zeros(out.shape, bool)
    for koff in np.ndindex(k, k):
        sl = tuple(slice(o, o + s * (n - 1) + 1, s) for o, n in zip(koff, out.shape[-2:]))
        hit = (x[(Ellipsis,) + sl] == out) & ~taken
        taken |= hit
        want[(Ellipsis,) + sl] += np.where(hit, ct, 0)
    np.testing.assert_array_equal(got, want)


def _rows(ct, x, out, k, s):
    z = np.zeros(x.shape, ct.dtype)
    conv._scatter_rows(z, ct, x, out, k, s, (1, 1), False, True)
    return z


@pytest.mark.parametrize("shape,k,s", [
    ((16, 64, 34, 34), (3, 3), (2, 2)),   # ResNet's stem pool (padded), several pieces
    ((3, 4, 9, 7), (3, 3), (2, 2)),       # odd sizes: the phases' rows differ in length
    ((2, 3, 11, 10), (3, 2), (2, 3)),     # unequal kernel and stride
    ((2, 3, 8, 8), (3, 3), (1, 1)),       # stride 1: one phase
    ((5, 9, 9), (3, 3), (2, 2)),          # unbatched (C, H, W)
])
@pytest.mark.parametrize("layout", ["C", "channel-major"])
def test_overlapping_pools_scatter_through_the_stride_phases_with_the_same_bits(
        monkeypatch, numpy_paths, shape, k, s, layout):
    """The phase path gives _scatter_rows' bits, signs of zeros included: ReLU'd inputs (ties
    of zeros: the first window entry takes the gradient), a NaN window, -0.0 cotangents."""
    monkeypatch.setattr(conv, "_PHASE_PIECE_BYTES", 64 << 10)  # several pieces
    rng = np.random.default_rng(2)
    x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    if layout == "channel-major" and len(shape) == 4:
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    x[(0,) * (len(shape) - 2) + (1, 1)] = np.nan
    out = conv._pool_max_impl(x, k, s, (1, 1))
    ct = rng.standard_normal(out.shape).astype(np.float32)
    ct[..., 0, :] = -0.0
    seen = []
    real = conv._scatter_phases
    monkeypatch.setattr(conv, "_scatter_phases", lambda *a: seen.append(1) or real(*a))
    got = conv._argmax_scatter_impl(ct, x, out, k, s, (1, 1))
    assert seen
    want = _rows(ct, x, out, k, s)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_tiled_or_disjoint_pools_keep_their_own_paths(monkeypatch):
    monkeypatch.setattr(conv, "_scatter_phases", None)  # (calling it would fail)
    x = np.random.default_rng(3).standard_normal((2, 3, 9, 9)).astype(np.float32)
    for k, s in (((2, 2), (2, 2)), ((3, 3), (3, 3))):
        out = conv._pool_max_impl(x, k, s, (1, 1))
        conv._argmax_scatter_impl(np.ones_like(out), x, out, k, s, (1, 1))
