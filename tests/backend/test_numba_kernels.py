"""The numba LSTM step kernels (backend/numba_kernels.py) against the NumPy paths they stand
in for: the forward within a few ulps (its own exp), the backward bit for bit, eager equal to
jit with the kernels on, and the NumPy path kept for float64 and when switched off."""
import numpy as np
import pytest

import ember
from ember.backend import accel
from ember.ops import nn_ops
from tests.ops.test_lstm_wavefront import rnn_eager_equals_jit

pytest.importorskip("numba")


@pytest.fixture
def kernels_on():
    prev = accel.set_enabled(True)
    yield accel.kernels()
    accel.set_enabled(prev)


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
    for k in (kernels_on.lstm_step_fwd, kernels_on.lstm_step_bwd, kernels_on.add_rows):
        assert len(k.signatures) >= 1
    before = {k: len(k.signatures) for k in (kernels_on.lstm_step_fwd,
                                             kernels_on.lstm_step_bwd)}
    ember.manual_seed(0)
    m = ember.nn.LSTM(3, 4, num_layers=2)
    m(ember.randn(5, 2, 3))[0].sum().backward()  # no new specialisation: nothing compiled
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
