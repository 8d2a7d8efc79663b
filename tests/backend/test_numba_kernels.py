"""The numba kernels (backend/numba_kernels.py) against the NumPy paths they stand in for:
the LSTM's and GRU's forward within a few ulps (its own exp), their backward bit for bit, the
embedding gradient bit for bit, the few-channel convolution within float32 rounding of
float64 (its own sums, the same bits however split), the 2x2 max pool and its gradient bit
for bit (split or not), the full-grid input gradient's blocks with the eager pair's bits;
eager equal to jit with the kernels on, and the NumPy path kept for float64 and when switched
off."""
import numpy as np
import pytest

import ember
from ember.backend import accel
from ember.ops import nn_ops
from tests.ops.test_lstm_wavefront import rnn_eager_equals_jit

pytest.importorskip("numba")


def _with(flag, fn, *args, **kw):
    prev = accel.set_enabled(flag)
    try:
        return fn(*args, **kw)
    finally:
        accel.set_enabled(prev)


def _lstm_inputs(T=9, n=5, H=6, dtype=np.float32, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    xw = (rng.standard_normal((T, n, 4 * H)) * scale).astype(dtype)
    w = (rng.standard_normal((H, 4 * H)) * 0.4).astype(dtype)
    h0, c0 = (rng.standard_normal((n, H)).astype(dtype) for _ in range(2))
    return xw, w, h0, c0


def test_exp_within_two_ulps_over_float32s_range(kernels_on):
    x = np.concatenate([np.linspace(-87, 87, 200001), [-1e-30, 0.0, 1e-30]]).astype(np.float32)
    p, e = np.empty_like(x), np.empty(x.shape, np.int32)
    kernels_on._exp_into(x, p, e)
    got = p.astype(np.float64) * e.view(np.float32)
    ref = np.exp(x.astype(np.float64))
    assert np.max(np.abs(got - ref) / ref) < 2.4e-7  # 2 ulps of float32


_EXP_LOOP = []  # (made once and kept: numba's proxies of a collected function stay behind)


def _exp_loop(K):
    """A loop of K._exp over an array, compiled as the kernels that inline it (their
    contraction into fused multiply-adds)."""
    if not _EXP_LOOP:
        import numba
        exp = K._exp

        @numba.njit(**{k: v for k, v in K._FWD_OPTS.items() if k != "cache"})
        def run(x, out):
            for i in range(x.shape[0]):
                out[i] = exp(x[i])
        _EXP_LOOP.append(run)
    return _EXP_LOOP[0]


def test_exp_inlined_is_the_exp_of_the_parts_bit_for_bit(kernels_on):
    """_exp (k by a floor, 2**k from its bits: the LSTM forward's) is _exp_parts' p * 2**k."""
    x = np.concatenate([np.linspace(-100, 100, 400001), [-1e30, -87.5, 87.5, 88.8, 1e30,
                                                         -0.0, 0.0, np.inf, -np.inf]])
    x = x.astype(np.float32)
    run = _exp_loop(kernels_on)
    got = np.empty_like(x)
    run(x, got)
    p, e = np.empty_like(x), np.empty(x.shape, np.int32)
    kernels_on._exp_into(x, p, e)
    np.testing.assert_array_equal(got.view(np.int32), (p * e.view(np.float32)).view(np.int32))
    nan = np.full(3, np.nan, np.float32)
    run(nan, got[:3])
    assert np.isnan(got[:3]).all()


@pytest.mark.parametrize("reverse", [False, True])
def test_forward_close_to_the_numpy_path(kernels_on, reverse):
    args = _lstm_inputs(scale=3.0)
    fast = _with(True, nn_ops._lstm_seq_impl, *args, reverse)
    ref = _with(False, nn_ops._lstm_seq_impl, *args, reverse)
    for a, b, name in zip(fast, ref, ("hs", "cs", "acts")):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=name)


def test_forward_saturates_and_propagates_nan(kernels_on):
    xw, w, h0, c0 = _lstm_inputs(T=2, n=3, H=4)
    xw[0, 0] = 1e6       # every gate of example 0 saturated at 1 (sigmoid) / 1 (tanh)
    xw[0, 1] = -np.inf   # example 1: gates 0, cell gate -1
    xw[0, 2, 5] = np.nan  # example 2: its forget gate NaN, and with it its cell state
    with np.errstate(all="raise"):  # no overflow or invalid-value warning from the kernel
        hs, cs, acts = _with(True, nn_ops._lstm_seq_impl, xw, w, h0, c0, False)
    H = 4
    np.testing.assert_array_equal(acts[0, 0, :4 * H], np.ones(4 * H, np.float32))
    np.testing.assert_array_equal(acts[0, 1, :2 * H], np.zeros(2 * H, np.float32))
    np.testing.assert_array_equal(acts[0, 1, 2 * H:3 * H], -np.ones(H, np.float32))
    assert np.isnan(acts[0, 2, 5]) and np.isnan(cs[0, 2, 1]) and np.isnan(hs[0, 2, 1])
    assert np.isfinite(cs[0, :2]).all() and np.isfinite(cs[0, 2, [0, 2, 3]]).all()


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("ct_c", [False, True])
def test_backward_same_bits_as_the_numpy_path(kernels_on, reverse, ct_c):
    xw, w, h0, c0 = _lstm_inputs(T=11, n=4, H=5, seed=1)
    outs = _with(True, nn_ops._lstm_seq_impl, xw, w, h0, c0, reverse)
    rng = np.random.default_rng(2)
    ct_h, ct_cs = (rng.standard_normal(outs[0].shape).astype(np.float32) for _ in range(2))
    args = (ct_h, ct_cs if ct_c else ct_h, *outs, xw, w, h0, c0)
    kw = dict(reverse=reverse, groups=1, ct_c=ct_c)
    fast = _with(True, nn_ops._lstm_seq_bwd_impl, *args, **kw)
    ref = _with(False, nn_ops._lstm_seq_bwd_impl, *args, **kw)
    for a, b in zip(fast, ref):
        np.testing.assert_array_equal(a, b)
    # a non-contiguous cotangent takes the NumPy loop: still the same bits
    wide = np.zeros(ct_h.shape[:2] + (2 * ct_h.shape[2],), np.float32)
    wide[..., ::2] = ct_h
    again = _with(True, nn_ops._lstm_seq_bwd_impl, wide[..., ::2], *args[1:], **kw)
    for a, b in zip(again, ref):
        np.testing.assert_array_equal(a, b)


def _counted(monkeypatch, kernels, *names):
    """The kernels ``names`` wrapped to record each call's name: the list they append to."""
    calls = []
    for name in names:
        f = getattr(kernels, name)
        monkeypatch.setattr(kernels, name,
                            lambda *a, _f=f, _n=name: (calls.append(_n), _f(*a))[1])
    return calls


@pytest.mark.parametrize("n,H", [(4, 5), (2, 1), (1, 3), (3, 16)])
@pytest.mark.parametrize("reverse", [False, True])
def test_compiled_loops_have_the_per_step_calls_bits(kernels_on, monkeypatch, n, H, reverse):
    """The recurrences' loops compiled with NumPy's sgemm give the bits of the per-step
    kernel and np.matmul calls; rows or columns of one (a vector's product: np.matmul takes
    another BLAS routine) keep the per-step calls."""
    if accel.sgemm() is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS ember finds")
    calls = _counted(monkeypatch, kernels_on, "lstm_seq_fwd", "lstm_seq_bwd")
    xw, w, h0, c0 = _lstm_inputs(T=7, n=n, H=H, seed=3)
    rng = np.random.default_rng(4)
    ct_h, ct_c = (rng.standard_normal((7, n, H)).astype(np.float32) for _ in range(2))

    def both():
        outs = nn_ops._lstm_seq_impl(xw, w, h0, c0, reverse)
        return outs + nn_ops._lstm_seq_bwd_impl(ct_h, ct_c, *outs, xw, w, h0, c0,
                                                reverse=reverse, groups=1, ct_c=True)
    got = both()
    # (the forward's product has 4H columns, the backward's H)
    assert calls == ["lstm_seq_fwd"] * (n >= 2) + ["lstm_seq_bwd"] * (n >= 2 and H >= 2)
    monkeypatch.setattr(nn_ops, "_loop_gemm", lambda *a: None)
    for a, b in zip(got, both()):
        np.testing.assert_array_equal(a, b)


def test_batch_major_cotangents_take_the_compiled_loops(kernels_on, monkeypatch):
    """The cotangent of a batch_first output reaches the backward as a time-major view of
    batch-major memory: the backward copies it time-major and runs its compiled loop (it
    fell back to the NumPy path), with the bits of a C-ordered cotangent."""
    if accel.sgemm() is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS ember finds")
    calls = _counted(monkeypatch, kernels_on, "lstm_seq_bwd", "gru_step_bwd")
    rng = np.random.default_rng(6)
    xw, w, h0, c0 = _lstm_inputs(T=7, n=4, H=5, seed=6)
    outs = nn_ops._lstm_seq_impl(xw, w, h0, c0, False)
    ct = rng.standard_normal((4, 7, 5)).astype(np.float32)  # (batch, time, H)
    kw = dict(reverse=False, groups=1, ct_c=False)
    got = nn_ops._lstm_seq_bwd_impl(ct.transpose(1, 0, 2), None, *outs, xw, w, h0, c0, **kw)
    assert calls == ["lstm_seq_bwd"]
    want = nn_ops._lstm_seq_bwd_impl(np.ascontiguousarray(ct.transpose(1, 0, 2)), None,
                                     *outs, xw, w, h0, c0, **kw)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    gargs = _gru_inputs()
    hs = nn_ops._gru_seq_impl(*gargs, False)
    T, n, H = hs[0].shape
    ct = rng.standard_normal((n, T, H)).astype(np.float32).transpose(1, 0, 2)
    calls.clear()
    got = nn_ops._gru_seq_bwd_impl(ct, *hs, *gargs, reverse=False, groups=1)
    assert calls and set(calls) == {"gru_step_bwd"}
    want = nn_ops._gru_seq_bwd_impl(np.ascontiguousarray(ct), *hs, *gargs, reverse=False,
                                    groups=1)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_float64_keeps_the_numpy_path(kernels_on):
    args = _lstm_inputs(dtype=np.float64)
    fast = _with(True, nn_ops._lstm_seq_impl, *args, False)
    ref = _with(False, nn_ops._lstm_seq_impl, *args, False)
    for a, b in zip(fast, ref):
        np.testing.assert_array_equal(a, b)


def test_non_contiguous_inputs_give_the_contiguous_inputs_bits(kernels_on):
    xw, w, h0, c0 = _lstm_inputs()
    ref = _with(True, nn_ops._lstm_seq_impl, xw, w, h0, c0, False)
    xw_f = np.asfortranarray(xw)
    c0_ro = c0.copy()
    c0_ro.flags.writeable = False
    got = _with(True, nn_ops._lstm_seq_impl, xw_f, w, h0[:, :], c0_ro, False)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("nl", [1, 2])
def test_nn_rnn_eager_equals_jit_with_the_kernels(kernels_on, nl):
    ember.manual_seed(0)
    m = ember.nn.LSTM(6, 8, num_layers=nl)
    x = ember.randn(7, 3, 6)
    fast = rnn_eager_equals_jit(m, x)
    m.zero_grad()
    ref = _with(False, rnn_eager_equals_jit, m, x)
    for a, b in zip(fast, ref):  # the forward's own exp: close, not equal
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("neg", [False, True])
def test_embedding_gradient_same_bits_as_add_at(kernels_on, neg):
    from ember.ops.indexing import _add_rows
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 50, 400)
    idx[:40] = 7  # a frequent index (the NumPy path's reduction branch)
    if neg:
        idx[::3] -= 50
    g = rng.standard_normal((400, 2, 3)).astype(np.float32)
    g[5] = -0.0
    ref = np.zeros((50, 2, 3), np.float32)
    np.add.at(ref, idx, g)
    got = _with(True, _add_rows, g, idx, (50, 2, 3))
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))
    assert np.array_equal(_with(False, _add_rows, g, idx, (50, 2, 3)), got)
    with pytest.raises(IndexError, match="index 50 is out of bounds"):
        _with(True, _add_rows, g, np.where(idx == 7, 50, idx), (50, 2, 3))


def test_embedding_gradient_reads_a_strided_cotangent_in_index_order(kernels_on):
    from ember.ops.indexing import _add_rows
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 30, (6, 9))  # batch-first tokens
    g = rng.standard_normal((9, 6, 5)).astype(np.float32).transpose(1, 0, 2)  # time-major
    ref = np.zeros((30, 5), np.float32)
    np.add.at(ref, idx, g)
    np.testing.assert_array_equal(_with(True, _add_rows, g, idx, (30, 5)), ref)


def test_warm_loads_every_kernel_for_the_types_the_ops_pass(kernels_on):
    assert accel.warm() is kernels_on
    ks = (kernels_on.lstm_step_fwd, kernels_on.lstm_step_bwd, kernels_on.add_rows,
          kernels_on.gru_step_fwd, kernels_on.gru_step_bwd, kernels_on.conv_fwd_lags,
          kernels_on.conv_w_grad_lags, kernels_on.bn_fwd, kernels_on.bn_bwd,
          kernels_on.pool_scatter, kernels_on.wino_in, kernels_on.wino_out,
          kernels_on.wino_ct, kernels_on.wino_in_adj) + \
        ((kernels_on.lstm_seq_fwd, kernels_on.lstm_seq_bwd) if accel.sgemm() else ())
    for k in ks:
        assert len(k.signatures) >= 1
    before = {k: len(k.signatures) for k in ks}
    ember.manual_seed(0)
    m = ember.nn.LSTM(3, 4, num_layers=2)
    m(ember.randn(5, 2, 3))[0].sum().backward()  # no new specialisation: nothing compiled
    conv = ember.nn.Conv2d(3, 6, 5)
    conv(ember.randn(2, 3, 12, 12)).sum().backward()
    bn = ember.nn.Sequential(ember.nn.Conv2d(3, 4, 3), ember.nn.BatchNorm2d(4))
    (bn(ember.randn(2, 3, 8, 8)) ** 2).sum().backward()  # channel-major and C-ordered
    # ResNet's pattern: an overlapping max pool's gradient, Winograd on C-ordered inputs
    # and on a channel-major one (a window-matrix convolution's output)
    wino = ember.nn.Sequential(ember.nn.Conv2d(16, 16, 3, padding=1),
                               ember.nn.Conv2d(16, 16, 3, padding=1))
    x = ember.randn(16, 2, 32, 32).transpose(0, 1).requires_grad_()
    (wino(ember.nn.functional.max_pool2d(x, 3, 2, 1)) ** 2).sum().backward()
    x = ember.randn(16, 2, 16, 16).transpose(0, 1).requires_grad_()
    (wino(x) ** 2).sum().backward()  # (a cotangent that is not a broadcast)
    assert {k: len(k.signatures) for k in before} == before


def _gru_inputs(T=9, n=5, H=6, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    xw = (rng.standard_normal((T, n, 3 * H)) * 2).astype(dtype)
    w = (rng.standard_normal((H, 3 * H)) * 0.4).astype(dtype)
    b = rng.standard_normal(3 * H).astype(dtype)
    h0 = rng.standard_normal((n, H)).astype(dtype)
    return xw, w, b, h0


@pytest.mark.parametrize("reverse", [False, True])
def test_gru_forward_close_and_backward_same_bits(kernels_on, reverse):
    args = _gru_inputs()
    fast = _with(True, nn_ops._gru_seq_impl, *args, reverse)
    ref = _with(False, nn_ops._gru_seq_impl, *args, reverse)
    for a, b, name in zip(fast, ref, ("hs", "acts")):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=name)
    ct = np.random.default_rng(5).standard_normal(fast[0].shape).astype(np.float32)
    kw = dict(reverse=reverse, groups=1)
    got = _with(True, nn_ops._gru_seq_bwd_impl, ct, *fast, *args, **kw)
    want = _with(False, nn_ops._gru_seq_bwd_impl, ct, *fast, *args, **kw)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_gru_float64_keeps_the_numpy_path(kernels_on):
    args = _gru_inputs(dtype=np.float64)
    for a, b in zip(_with(True, nn_ops._gru_seq_impl, *args, False),
                    _with(False, nn_ops._gru_seq_impl, *args, False)):
        np.testing.assert_array_equal(a, b)


def test_nn_gru_eager_equals_jit_with_the_kernels(kernels_on):
    ember.manual_seed(0)
    rnn_eager_equals_jit(ember.nn.GRU(4, 5, num_layers=2, batch_first=True),
                         ember.randn(3, 7, 4))


# ---- a few-channel 2-D stride-1 convolution's forward and weight gradient -----------------

def _conv_case(n, c, o, h, w, kh, kw, seed=0, dtype=np.float32):
    from ember.ops import conv as C
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = (rng.standard_normal((o, c, kh, kw)) / 4).astype(dtype)
    view = C._windows_impl(x, (kh, kw), (1, 1), (1, 1))
    ct = rng.standard_normal((n, o, h - kh + 1, w - kw + 1)).astype(dtype)
    x64 = view.astype(np.float64)
    return view, wt, ct, (np.einsum("nchwkl,ockl->nohw", x64, wt.astype(np.float64)),
                          np.einsum("nohw,nchwkl->ockl", ct.astype(np.float64), x64))


@pytest.fixture
def lag_calls(kernels_on, monkeypatch):
    """Counts the calls of the two convolution kernels."""
    seen = []
    for name in ("conv_fwd_lags", "conv_w_grad_lags"):
        f = getattr(kernels_on, name)
        monkeypatch.setattr(kernels_on, name,
                            lambda *a, _f=f, _n=name: (seen.append(_n), _f(*a))[1])
    return seen


@pytest.mark.parametrize("n,c,o,h,w,kh,kw", [
    (5, 3, 6, 12, 12, 5, 5),   # LeNet's conv1, smaller
    (3, 2, 5, 11, 9, 3, 3),    # an odd number of outputs, a kernel narrower than 5
    (4, 2, 3, 12, 14, 4, 7),   # wider than 5: two groups of shifts, the second partial
    (2, 3, 1, 9, 10, 2, 6),    # one output
    (1, 2, 2, 5, 5, 5, 5),     # one output position
])
def test_conv_kernels_match_float64_and_any_split_keeps_the_bits(lag_calls, monkeypatch, n,
                                                                  c, o, h, w, kh, kw):
    from ember.ops import conv as C
    view, wt, ct, (y64, g64) = _conv_case(n, c, o, h, w, kh, kw)
    got = []
    for least in (1 << 40, 0):  # one part; two (by samples, or by tasks for the gradient)
        monkeypatch.setattr(C, "_LAG_SPLIT_MIN_BYTES", least)
        got.append((C._fwd_row_shift(view, wt, None), C._w_grad_row_shift(ct, view, None)))
    (y1, g1), (y2, g2) = got
    assert lag_calls.count("conv_fwd_lags") == lag_calls.count("conv_w_grad_lags") == \
        1 + min(n, 2)
    assert y1.dtype == g1.dtype == np.float32
    assert y1.shape == y64.shape and g1.shape == g64.shape
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_allclose(y1, y64, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g1, g64, rtol=1e-5, atol=1e-4)


def test_conv_float64_keeps_the_numpy_path(lag_calls):
    from ember.ops import conv as C
    view, wt, ct, _ = _conv_case(3, 3, 6, 10, 10, 5, 5, dtype=np.float64)
    for fn, args in ((C._fwd_row_shift, (view, wt, [(0, 3)])),
                     (C._w_grad_row_shift, (ct, view, [(0, 3)]))):
        np.testing.assert_array_equal(_with(True, fn, *args), _with(False, fn, *args))
    assert lag_calls == []


def test_lenet_conv_eager_equals_jit_with_the_kernels(lag_calls):
    import ember.nn.functional as F
    rng = np.random.default_rng(7)
    x = ember.tensor(rng.standard_normal((4, 3, 32, 32)).astype(np.float32))
    w0 = ember.tensor((rng.standard_normal((6, 3, 5, 5)) / 8).astype(np.float32))
    ct = ember.tensor(rng.standard_normal((4, 6, 28, 28)).astype(np.float32))

    def loss(w):
        return (F.relu(F.conv2d(x, w)) * ct).sum()
    eager = ember.value_and_grad(loss)(w0)
    jitted = ember.jit(ember.value_and_grad(loss))(w0)
    assert "conv_fwd_lags" in lag_calls and "conv_w_grad_lags" in lag_calls
    for a, b in zip(eager, jitted):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    ref = _with(False, ember.value_and_grad(loss), w0)  # the NumPy path: other sums
    for a, b in zip(eager, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-4)


def test_which_convolutions_take_the_kernels(kernels_on):
    from ember.ops import conv as C
    f32 = np.float32
    one = ((1, 1), (1, 1), 1)
    assert C._lags_apply(3, 6, (5, 5), *one, f32)        # LeNet's conv1
    assert not C._lags_apply(6, 16, (5, 5), *one, f32)   # LeNet's conv2: the GEMMs win
    assert not C._lags_apply(1, 6, (5, 5), *one, f32)    # one channel: a cheap window copy
    assert not C._lags_apply(3, 6, (5, 5), *one, np.float64)
    assert not C._lags_apply(3, 6, (5, 5), (2, 2), (1, 1), 1, f32)
    assert not C._lags_apply(3, 6, (5, 5), (1, 1), (2, 2), 1, f32)
    assert not C._lags_apply(3, 6, (5, 5), (1, 1), (1, 1), 3, f32)
    assert not C._lags_apply(3, 6, (5,), (1,), (1,), 1, f32)
    assert not _with(False, C._lags_apply, 3, 6, (5, 5), *one, f32)


def _planes_per_call(monkeypatch, kernels, name, split=False):
    """Records how many planes each call of the pool kernel ``name`` got; ``split``: the
    pools split between two threads at any size."""
    from ember.ops import conv as C
    calls = []
    f = getattr(kernels, name)
    monkeypatch.setattr(kernels, name, lambda *a: (calls.append(len(a[0])), f(*a))[1])
    if split:  # two threads, each over its own planes
        monkeypatch.setattr(C, "_SCATTER_2X2_NB_SPLIT_BYTES", 0)
    return calls


@pytest.mark.parametrize("shape", [(7, 3, 6, 10), (1, 1, 2, 2), (5, 4, 6), (4, 6)])
@pytest.mark.parametrize("layout", ["c", "channel-major"])
@pytest.mark.parametrize("split", [False, True])
def test_2x2_pool_gradient_selects_as_the_numpy_paths(kernels_on, monkeypatch, shape, layout,
                                                      split):
    from ember.ops import conv as C
    calls = _planes_per_call(monkeypatch, kernels_on, "pool2x2_bwd", split)
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, shape).astype(np.float32)  # ties in most windows
    x[..., 0, 0] = np.nan  # a window whose maximum is NaN: no gradient
    if layout == "channel-major":
        if x.ndim < 4:
            pytest.skip("no channel axis")
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1)).swapaxes(0, 1)
    out = C._pool_max_impl(x, (2, 2), (2, 2), (1, 1))
    ct = rng.standard_normal(out.shape).astype(np.float32)
    ct.reshape(-1)[-1] = np.inf  # selected, never multiplied: no NaN
    ct.reshape(-1)[0] = -np.inf
    args = (ct, x, out, (2, 2), (2, 2), (1, 1))
    got = _with(True, C._argmax_scatter_impl, *args)
    planes = int(np.prod(shape[:-2]))
    assert sum(calls) == planes and len(calls) == (2 if split and planes > 1 else 1)
    want = _with(False, C._argmax_scatter_impl, *args)
    np.testing.assert_array_equal(got, want)
    assert got.strides == want.strides  # laid out as the input
    assert not np.isnan(got).any()
    assert not got[..., :2, :2].any()  # the NaN windows


def test_large_2x2_pools_split_between_threads(kernels_on, monkeypatch):
    from ember.ops import conv as C
    calls = _planes_per_call(monkeypatch, kernels_on, "pool2x2_bwd")
    x = np.random.default_rng(1).standard_normal((64, 6, 28, 28)).astype(np.float32)
    assert x.nbytes >= C._SCATTER_2X2_NB_SPLIT_BYTES
    out = C._pool_max_impl(x, (2, 2), (2, 2), (1, 1))
    ct = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    got = C._argmax_scatter_impl(ct, x, out, (2, 2), (2, 2), (1, 1))
    assert calls == [192, 192]
    want = _with(False, C._argmax_scatter_impl, ct, x, out, (2, 2), (2, 2), (1, 1))
    np.testing.assert_array_equal(got, want)


def test_float64_2x2_pools_keep_the_numpy_path(kernels_on, monkeypatch):
    from ember.ops import conv as C
    calls = []
    monkeypatch.setattr(kernels_on, "pool2x2_bwd", lambda *a: calls.append(1))
    x = np.random.default_rng(1).standard_normal((4, 3, 8, 8))
    out = C._pool_max_impl(x, (2, 2), (2, 2), (1, 1))
    C._argmax_scatter_impl(np.ones_like(out), x, out, (2, 2), (2, 2), (1, 1))
    assert calls == []


def test_lenet_pools_eager_equals_jit_with_the_kernel(kernels_on):
    import ember.nn.functional as F
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.integers(-1, 2, (4, 6, 28, 28)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((4, 6, 14, 14)).astype(np.float32))

    def f(x):
        return (F.max_pool2d(F.relu(x), 2) * w).sum()
    eager = ember.grad(f)(x).numpy()
    np.testing.assert_array_equal(ember.jit(ember.grad(f))(x).numpy(), eager)
    np.testing.assert_array_equal(_with(False, ember.grad(f), x).numpy(), eager)


def test_padded_pool_eager_equals_jit_and_keeps_no_padded_copy(kernels_on):
    """ResNet's stem pool (3x3, stride 2, padding 1) after a ReLU: eager and jit give the
    same gradient bits, the NumPy paths the same values, and the plan pads nothing."""
    import ember.nn.functional as F
    rng = np.random.default_rng(6)
    x = ember.tensor(rng.standard_normal((2, 3, 12, 11)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))

    def f(x):
        return (F.max_pool2d(F.relu(x), 3, 2, 1) * w).sum()
    eager = ember.grad(f)(x).numpy()
    np.testing.assert_array_equal(ember.jit(ember.grad(f))(x).numpy(), eager)
    np.testing.assert_array_equal(_with(False, ember.grad(f), x).numpy(), eager)
    graph = str(ember.make_jaxpr(ember.grad(f))(x))
    assert "pool_max" in graph and "= pad[" not in graph


@pytest.mark.parametrize("shape,k,s", [
    ((16, 64, 34, 34), (3, 3), (2, 2)),   # ResNet's stem pool (padded): split in two
    ((3, 4, 9, 7), (3, 3), (2, 2)),       # odd sizes: the phases' rows differ in length
    ((2, 3, 11, 10), (3, 2), (2, 3)),     # unequal kernel and stride
    ((2, 3, 8, 8), (3, 3), (1, 1)),       # stride 1: one phase
    ((5, 9, 9), (3, 3), (2, 2)),          # unbatched (C, H, W)
])
@pytest.mark.parametrize("layout", ["c", "channel-major"])
def test_overlapping_pool_gradient_has_the_numpy_paths_bits(kernels_on, monkeypatch, shape, k,
                                                            s, layout):
    """Ties of zeros (ReLU'd inputs: the first window entry takes the gradient), a NaN
    window (no gradient), -0.0 cotangents: the same bits as the NumPy paths (kernels off),
    zeros' signs included, laid out as the input; each plane in one call's share."""
    from ember.ops import conv as C
    calls = []
    f = kernels_on.pool_scatter
    monkeypatch.setattr(kernels_on, "pool_scatter",
                        lambda *a: (calls.append(a[-2] - a[-3]), f(*a))[1])
    rng = np.random.default_rng(2)
    x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    if layout == "channel-major":
        if x.ndim < 4:
            pytest.skip("no channel axis")
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1)).swapaxes(0, 1)
    x[(0,) * (len(shape) - 2) + (1, 1)] = np.nan
    out = C._pool_max_impl(x, k, s, (1, 1))
    ct = rng.standard_normal(out.shape).astype(np.float32)
    ct[..., 0, :] = -0.0
    args = (ct, x, out, k, s, (1, 1))
    got = C._argmax_scatter_impl(*args)
    planes = int(np.prod(shape[:-2]))
    assert sum(calls) == planes
    assert len(calls) == (2 if x.nbytes >= C._SCATTER_SPLIT_BYTES else 1)
    want = _with(False, C._argmax_scatter_impl, *args)
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
    assert got.strides == x.strides  # laid out as the input


@pytest.mark.parametrize("shape,k,s,pads", [
    ((16, 64, 32, 32), (3, 3), (2, 2), ((1, 0), (1, 0))),  # ResNet's stem pool: split in two
    ((3, 4, 9, 7), (3, 3), (2, 2), ((1, 1), (1, 1))),       # odd sizes, both edges padded
    ((2, 3, 11, 10), (3, 2), (2, 3), ((1, 0), (0, 1))),     # unequal kernel, stride and pads
    ((2, 3, 8, 8), (5, 5), (1, 1), ((2, 2), (2, 2))),       # stride 1: one phase
    ((5, 9, 9), (3, 3), (2, 2), ((1, 1), (1, 1))),          # unbatched (C, H, W)
])
@pytest.mark.parametrize("layout", ["c", "channel-major"])
def test_padded_pools_have_the_numpy_paths_bits(kernels_on, monkeypatch, shape, k, s, pads,
                                                layout):
    """A pool that takes its padding as parameters (no padded copy): the forward by the
    kernel, which reads the unpadded planes, has the NumPy path's values (which pads with
    -inf; of tied zeros, either may give the maximum's sign), the gradient its bits (NaN
    windows, ties of zeros, -0.0 cotangents), laid out as the input."""
    from ember.ops import conv as C
    calls = []
    for name in ("pool_fwd", "pool_scatter"):
        f = getattr(kernels_on, name)
        monkeypatch.setattr(kernels_on, name,
                            lambda *a, _f=f, _n=name: (calls.append(_n), _f(*a))[1])
    rng = np.random.default_rng(3)
    x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    x[..., 0, :3] = [-0.0, 0.0, -0.0]
    if layout == "channel-major":
        if x.ndim < 4:
            pytest.skip("no channel axis")
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1)).swapaxes(0, 1)
    x[(0,) * (len(shape) - 2) + (3, 3)] = np.nan
    geo = (k, s, (1, 1), pads, -np.inf)
    out = C._pool_max_impl(x, *geo)
    want = _with(False, C._pool_max_impl, x, *geo)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, want)
    ct = rng.standard_normal(out.shape).astype(np.float32)
    ct[..., -1, :] = -0.0
    got = C._argmax_scatter_impl(ct, x, out, *geo)
    want = _with(False, C._argmax_scatter_impl, ct, x, out, *geo)
    assert got.shape == x.shape and got.strides == x.strides
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
    assert set(calls) == {"pool_fwd", "pool_scatter"}


def test_overlapping_pools_with_infinite_cotangents_or_float64_keep_the_numpy_path(
        kernels_on, monkeypatch):
    from ember.ops import conv as C
    monkeypatch.setattr(kernels_on, "pool_scatter", lambda *a: pytest.fail("kernel used"))
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 7)).astype(np.float32)
    out = C._pool_max_impl(x, (3, 3), (2, 2), (1, 1))
    ct = np.ones_like(out)
    ct[0, 0, 0, 0] = np.inf  # (selected, never added to a miss's zero)
    got = C._argmax_scatter_impl(ct, x, out, (3, 3), (2, 2), (1, 1))
    assert np.isinf(got).sum() == 1 and not np.isnan(got).any()
    C._argmax_scatter_impl(np.ones(out.shape), x.astype(np.float64), out.astype(np.float64),
                           (3, 3), (2, 2), (1, 1))
    out = C._pool_max_impl(x, (3, 3), (2, 2), (2, 2))  # dilated
    C._argmax_scatter_impl(np.ones_like(out), x, out, (3, 3), (2, 2), (2, 2))


def test_resnet_stem_pool_eager_equals_jit_with_the_kernel(kernels_on):
    import ember.nn.functional as F
    rng = np.random.default_rng(3)
    x = ember.tensor(np.maximum(rng.standard_normal((2, 4, 12, 12)), 0).astype(np.float32))
    w = ember.tensor(rng.standard_normal((2, 4, 6, 6)).astype(np.float32))

    def f(x):
        return (F.max_pool2d(x, 3, 2, 1) * w).sum()
    eager = ember.grad(f)(x).numpy()
    np.testing.assert_array_equal(ember.jit(ember.grad(f))(x).numpy(), eager)
    np.testing.assert_array_equal(_with(False, ember.grad(f), x).numpy(), eager)


# ---- a full-grid windows gradient and its col2im, fused in blocks (LeNet's conv2) ----------

def _full_grid_pair(ct, w, size, kernel):
    from ember.ops import conv as C
    eq = "nohw,ockl->nchwkl"
    cols = C._einsum_impl(ct, w, eq=eq).reshape(
        (ct.shape[0], w.shape[1]) + ct.shape[2:] + tuple(kernel))
    return C._unwindows_impl(cols, size, kernel, (1, 1), (1, 1))


@pytest.mark.parametrize("n,c,o,h,k", [(1, 6, 16, 14, 5), (3, 6, 16, 14, 5),
                                       (29, 6, 16, 14, 5),  # blocks split, a short last one
                                       (5, 3, 4, 9, 7), (6, 2, 3, 12, 4)])
def test_full_grid_input_gradient_in_blocks_has_the_pairs_bits(kernels_on, monkeypatch, n, c,
                                                               o, h, k):
    from ember.ops import conv as C
    calls = []
    f = kernels_on.add_offsets
    monkeypatch.setattr(kernels_on, "add_offsets", lambda *a: (calls.append(a[2:4]), f(*a))[1])
    monkeypatch.setattr(C, "_FULL_BLOCK_BYTES", 3 * c * k * k * h * h * 4)  # 3 samples a block
    rng = np.random.default_rng(n)
    ct = rng.standard_normal((n, o, h - k + 1, h - k + 1)).astype(np.float32)
    ct[0, 0, 0, 0] = -0.0
    w = rng.standard_normal((o, c, k, k)).astype(np.float32)
    size, kernel, one = (h, h), (k, k), (1, 1)
    assert C.input_grad_fuses("nohw,ockl->nchwkl", ct, w, size, kernel, one, one)
    got = C._input_grad_impl(ct, w, eq="nohw,ockl->nchwkl", cols_shape=None, size=size,
                             kernel=kernel, stride=one, dilation=one)
    assert len(calls) == -(-n // 3)
    want = _full_grid_pair(ct, w, size, kernel)
    assert got.tobytes() == np.ascontiguousarray(want).tobytes()
    assert got.strides == want.strides
    ref = _full_grid_pair(ct.astype(np.float64), w.astype(np.float64), size, kernel)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_full_grid_fusion_needs_the_kernels_and_float32(kernels_on):
    from ember.ops import conv as C
    ct, w, one = np.zeros((2, 16, 10, 10), np.float32), np.zeros((16, 6, 5, 5), np.float32), \
        (1, 1)
    args = ("nohw,ockl->nchwkl", ct, w, (14, 14), (5, 5), one, one)
    assert C.input_grad_fuses(*args)
    assert not _with(False, C.input_grad_fuses, *args)
    assert not C.input_grad_fuses(args[0], ct.astype(np.float64), w.astype(np.float64),
                                  *args[3:])
    assert not C.input_grad_fuses(args[0], ct[:, :, :6, :6], w[..., :3, :3], (8, 8), (3, 3),
                                  one, one)  # a 3x3 kernel: no full grid


def test_lenet_conv2_input_gradient_fused_in_plans_with_eagers_bits(kernels_on, monkeypatch):
    import ember.nn.functional as F
    from ember.ops import conv as C
    from ember.transforms import tape_plans
    tape_plans.clear()
    calls = []
    f = C._input_grad_full_blocks
    monkeypatch.setattr(C, "_input_grad_full_blocks", lambda *a: (calls.append(1), f(*a))[1])
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    ct = ember.tensor(rng.standard_normal((9, 16, 10, 10)).astype(np.float32))

    def loss(x, w):
        return (F.conv2d(x, w) * ct).sum()
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    loss(xe, we).backward()
    assert calls == []  # the eager walk forms the windows gradient, then col2im
    jitted = ember.jit(ember.grad(loss, argnums=(0, 1)))(ember.tensor(x), ember.tensor(w))
    assert calls == [1]
    np.testing.assert_array_equal(jitted[0].numpy(), xe.grad.numpy())
    np.testing.assert_array_equal(jitted[1].numpy(), we.grad.numpy())
    for _ in range(3):  # the repeating eager tape is replayed through a plan
        xe.grad = we.grad = None
        loss(xe, we).backward()
        np.testing.assert_array_equal(xe.grad.numpy(), jitted[0].numpy())
    assert len(calls) > 1


@pytest.mark.parametrize("shape", [(7, 3, 6, 10), (1, 1, 2, 4), (5, 4, 6), (4, 6)])
@pytest.mark.parametrize("layout", ["c", "channel-major"])
@pytest.mark.parametrize("split", [False, True])
def test_2x2_pool_forward_has_the_numpy_paths_bits(kernels_on, monkeypatch, shape, layout,
                                                   split):
    from ember.ops import conv as C
    calls = _planes_per_call(monkeypatch, kernels_on, "pool2x2_fwd", split)
    rng = np.random.default_rng(4)
    x = rng.integers(-2, 3, shape).astype(np.float32)
    x[..., 0, :2] = [np.nan, 1.0]  # NaN propagates
    x[..., 1, 2:4] = [-0.0, 0.0]   # which zero wins: the NumPy path's choice
    x[..., 0, 2:4] = [0.0, -0.0]
    if layout == "channel-major":
        if x.ndim < 4:
            pytest.skip("no channel axis")
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1)).swapaxes(0, 1)
    got = C._pool_max_impl(x, (2, 2), (2, 2), (1, 1))
    planes = int(np.prod(shape[:-2]))
    assert sum(calls) == planes and len(calls) == (2 if split and planes > 1 else 1)
    want = _with(False, C._pool_max_impl, x, (2, 2), (2, 2), (1, 1))
    assert got.flags.c_contiguous and got.shape == want.shape
    assert got.tobytes() == want.tobytes()
    assert np.isnan(got[..., 0, 0]).all()


def test_other_pools_keep_the_numpy_path(kernels_on, monkeypatch):
    from ember.ops import conv as C
    monkeypatch.setattr(kernels_on, "pool2x2_fwd", lambda *a: pytest.fail("kernel used"))
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 6)).astype(np.float32)
    C._pool_max_impl(x, (2, 2), (2, 2), (1, 1))                      # an odd height
    C._pool_max_impl(x[..., :6, :], (3, 3), (3, 3), (1, 1))          # 3x3
    C._pool_max_impl(x[..., :6, :], (2, 2), (1, 1), (1, 1))          # overlapping
    C._pool_max_impl(x[..., :6, :].astype(np.float64), (2, 2), (2, 2), (1, 1))


# ---- batch normalisation with the batch statistics (ops/norm.py) ---------------------------

def _bn_case(shape, layout, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    if layout == "channel-major":  # a convolution's output as it lies: memory (C, N, ...)
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1)).swapaxes(0, 1)
    w, b = (rng.standard_normal(shape[1]).astype(np.float32) for _ in range(2))
    ct = rng.standard_normal(shape).astype(np.float32)
    return x, w, b, ct


def _bn_float64(x, w, b, ct, eps):
    x, w, b, ct = (np.asarray(v, np.float64) for v in (x, w, b, ct))
    axes = (0,) + tuple(range(2, x.ndim))
    sh = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axes), x.var(axes)
    r = 1 / np.sqrt(var + eps)
    xh = (x - mean.reshape(sh)) * r.reshape(sh)
    out = xh * w.reshape(sh) + b.reshape(sh)
    dw, db = (ct * xh).sum(axes), ct.sum(axes)
    n = x.size // x.shape[1]
    dx = w.reshape(sh) * r.reshape(sh) * (ct - db.reshape(sh) / n - xh * dw.reshape(sh) / n)
    return out, mean, var, dx, dw, db


@pytest.mark.parametrize("shape", [(16, 8, 6, 6), (3, 5), (2, 4, 7), (1, 3, 4, 4), (5, 1, 3),
                                   (4, 6, 2, 2)])
@pytest.mark.parametrize("layout", ["C", "channel-major"])
def test_batch_norm_kernels_match_float64(kernels_on, shape, layout):
    from ember.ops import norm
    x, w, b, ct = _bn_case(shape, layout)
    short = x.flags.c_contiguous and np.prod(shape[2:], dtype=int) < 4  # (NumPy's path)
    kx = norm._bn_kernels(x, w, b)
    assert (kx is None) if short else (kx[0] is kernels_on)
    out, mean, var = norm._bn_impl(x, w, b, 1e-5)
    dx, dw, db = norm._bn_bwd_impl(ct, x, w, mean, var, 1e-5)
    assert out.strides == x.strides or x.shape[1] == 1 or x.shape[0] == 1  # x's layout
    want = _bn_float64(x, w, b, ct, 1e-5)
    for got, ref in zip((out, mean, var, dx, dw, db), want):
        np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-5 * max(1, np.abs(ref).max()))


@pytest.mark.parametrize("layout", ["c", "channel-major"])
def test_batch_norm_channels_split_between_threads_keep_the_bits(kernels_on, monkeypatch,
                                                                 layout):
    from ember.backend import threads
    from ember.ops import norm
    x, w, b, ct = _bn_case((6, 7, 5, 4), layout)
    assert x.flags.c_contiguous == (layout == "c")
    ran = []
    real = threads.run_compiled
    monkeypatch.setattr(threads, "run_compiled", lambda *a: ran.append(real(*a)) or ran[-1])
    res = {}
    for split in (False, True):
        monkeypatch.setattr(norm, "_SPLIT_MIN_BYTES", 0 if split else 1 << 62)
        out, mean, var = norm._bn_impl(x, w, b, 1e-5)
        res[split] = (out, mean, var, *norm._bn_bwd_impl(ct, x, w, mean, var, 1e-5))
    assert len(ran) == 2 and (all(ran) or threads._workers() is None or threads.cores < 2)
    for a, c in zip(res[False], res[True]):
        np.testing.assert_array_equal(a, c)


def test_batch_norm_cotangent_layout_does_not_change_the_bits(kernels_on):
    from ember.ops import norm
    x, w, b, ct = _bn_case((6, 8, 5, 5), "channel-major")
    _, mean, var = norm._bn_impl(x, w, b, 1e-5)
    a = norm._bn_bwd_impl(ct, x, w, mean, var, 1e-5)
    ct_cm = np.ascontiguousarray(np.swapaxes(ct, 0, 1)).swapaxes(0, 1)
    for p, q in zip(a, norm._bn_bwd_impl(ct_cm, x, w, mean, var, 1e-5)):
        np.testing.assert_array_equal(p, q)


def test_batch_norm_float64_and_odd_layouts_keep_the_numpy_path(kernels_on):
    from ember.ops import norm
    x, w, b, _ = _bn_case((4, 3, 5, 5), "C")
    assert norm._bn_kernels(x.astype(np.float64), w.astype(np.float64),
                            b.astype(np.float64)) is None
    assert norm._bn_kernels(x[:, :, ::2], w, b) is None  # neither layout
    assert _with(False, norm._bn_kernels, x, w, b) is None


def test_resnet_block_eager_equals_jit_with_the_batch_norm_kernels(kernels_on):
    ember.manual_seed(0)
    m = ember.nn.Sequential(ember.nn.Conv2d(3, 8, 3, padding=1), ember.nn.BatchNorm2d(8),
                            ember.nn.ReLU(), ember.nn.Conv2d(8, 8, 3, padding=1),
                            ember.nn.BatchNorm2d(8))
    x = ember.randn(4, 3, 10, 10)
    params = {k: v.detach() for k, v in m.named_parameters()}

    def loss(p):
        return (ember.func.functional_call(m, p, (x,)) ** 2).sum()
    eager = ember.grad(loss)(params)
    jitted = ember.jit(ember.grad(loss))(params)
    for k in params:
        np.testing.assert_array_equal(eager[k].numpy(), jitted[k].numpy())
    m.zero_grad()
    (m(x) ** 2).sum().backward()
    for k, p in m.named_parameters():
        np.testing.assert_array_equal(p.grad.numpy(), eager[k].numpy())


# ---- ew_run: chains of float32 arithmetic, NumPy's bits ------------------------------------

def _special_f32(n, seed):
    """Random float32s with NaNs, infinities, signed zeros, subnormals and huge values."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4, n)).astype(np.float32)
    odd = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-42, 3e38, -3e38],
                   np.float32)
    x[rng.integers(0, n, 60)] = odd[rng.integers(0, len(odd), 60)]
    return x


_EW_UFUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
              "sqrt": np.sqrt, "neg": np.negative, "square": np.square, "abs": np.absolute}


@pytest.mark.parametrize("name", sorted(_EW_UFUNCS))
@pytest.mark.parametrize("form", ["new", "into_a", "into_b", "into_both", "scalar_b",
                                  "scalar_a"])
def test_ew_run_step_gives_numpys_bits(kernels_on, name, form):
    K = kernels_on
    f, unary = _EW_UFUNCS[name], name in ("sqrt", "neg", "square", "abs")
    if unary and form not in ("new", "into_a"):
        pytest.skip("one operand")
    n = 3 * K.EW_BLOCK + 77  # a short last block
    a, b, d = _special_f32(n, 1), _special_f32(n, 2), np.zeros(n, np.float32)
    s = np.float32(-0.37)
    arrays = {"new": (a, b, d), "into_a": (a, b, a), "into_b": (a, b, b),
              "into_both": (a, a, a), "scalar_b": (a, None, d), "scalar_a": (None, b, d)}[form]
    x, y, out = (v.copy() if v is not None else None for v in arrays)
    if form == "into_both":
        y = x
    if form == "into_a":
        out = x
    if form == "into_b":
        out = y
    with np.errstate(all="ignore"):
        want = f(*((a,) if unary else (a, a) if form == "into_both" else
                   (a if x is not None else s, b if y is not None else s)))
    arrs = []
    for v in (out, x, y):  # each distinct array once, in a slot of its own
        if v is not None and all(v is not u for u in arrs):
            arrs.append(v)

    def slot(v):
        return K.EW_SCALAR if v is None else next(k for k, u in enumerate(arrs) if u is v)
    code = [K.EW_OPS[name], slot(out), slot(x), 0 if unary else slot(y)]
    K.ew_run(np.array([code], np.int32), np.array([0, 1], np.int32), np.array([s]),
             np.empty((1, K.EW_BLOCK), np.float32), 0, n,
             *(arrs + arrs[:1] * (K.EW_SLOTS - len(arrs))))
    np.testing.assert_array_equal(out.view(np.int32), want.view(np.int32))


def test_ew_run_chain_with_scratch_and_groups(kernels_on):
    # two SGD-with-momentum updates (independent groups, one after the other) and a scratch
    # row, on a range that starts and ends inside blocks: the ufuncs' bits, entries outside
    # the range untouched
    K = kernels_on
    n = 5 * K.EW_BLOCK + 3
    p1, b1, g1, p2, b2, g2 = (_special_f32(n, k) for k in range(6))
    orig = [v.copy() for v in (p1, b1, g1, p2, b2, g2)]
    m, lr = np.float32(0.9), np.float32(-0.01)
    S = K.EW_SCALAR

    def sgd(p, b, g):
        return [[K.EW_MUL, b, b, S], [K.EW_ADD, b, b, g], [K.EW_MUL, -1, b, S + 1],
                [K.EW_ADD, p, p, -1]]
    code = np.array(sgd(0, 1, 2) + sgd(3, 4, 5), np.int32)
    lo, hi = 1000, n - 5
    K.ew_run(code, np.array([0, 4, 8], np.int32), np.array([m, lr]),
             np.empty((1, K.EW_BLOCK), np.float32), lo, hi, p1, b1, g1, p2, b2, g2,
             *([p1] * (K.EW_SLOTS - 6)))
    with np.errstate(all="ignore"):
        for p, b, g, (p0, b0, g0) in ((p1, b1, g1, orig[:3]), (p2, b2, g2, orig[3:])):
            wb = b0 * m + g0
            wp = p0 + wb * lr
            for got, want, was in ((p, wp, p0), (b, wb, b0), (g, g0, g0)):
                np.testing.assert_array_equal(got[lo:hi].view(np.int32),
                                              want[lo:hi].view(np.int32))
                np.testing.assert_array_equal(got[:lo], was[:lo])
                np.testing.assert_array_equal(got[hi:], was[hi:])
