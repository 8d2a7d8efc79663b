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
