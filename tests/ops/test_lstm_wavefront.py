"""lstm2_seq: two stacked LSTM layers as one primitive, run as a wavefront on two threads above
a size (layer 2 one block of steps behind layer 1; the backward the other way round). The
blocks are fixed by the shapes, so the wavefront, the one-thread schedule, eager and jit all
give the same bits; the values equal two lstm_sequence layers (the reference). No test here
depends on how the threads are scheduled: each run is compared bit for bit with another."""
import numpy as np
import pytest

import ember
from ember.backend import threads
from ember.ops import nn_ops


def _args(rng, T, n, H, dtype, E=7):
    """x, wih1T, b1, whh1T, wih2T, b2, whh2T, h01, c01, h02, c02."""
    return [rng.standard_normal(s).astype(dtype) * 0.5 for s in
            [(T, n, E), (E, 4 * H), (4 * H,), (H, 4 * H), (H, 4 * H), (4 * H,), (H, 4 * H),
             (n, H), (n, H), (n, H), (n, H)]]


def _kernels(args, cts, flags):
    out = nn_ops._lstm2_seq_impl(*args)
    return out + nn_ops._lstm2_seq_bwd_impl(*cts, *out, *args, **flags)


@pytest.mark.parametrize("T", [1, 8, 19])
@pytest.mark.parametrize("flags", [dict(), dict(ct_h1=False, ct_c1=False, ct_c2=False)])
def test_wavefront_on_two_threads_has_the_bits_of_one_thread(monkeypatch, T, flags):
    rng = np.random.default_rng(T)
    n, H = 6, 5
    args = _args(rng, T, n, H, np.float32)
    cts = [rng.standard_normal((T, n, H)).astype(np.float32) for _ in range(4)]
    monkeypatch.setattr(nn_ops, "_WAVE_MIN_NH", None)
    one = _kernels(args, cts, flags)
    monkeypatch.setattr(nn_ops, "_WAVE_MIN_NH", 1)
    assert nn_ops._wave_on(n, H)
    monkeypatch.setattr(threads, "cores", 2)  # the threaded schedule even on one core
    for _ in range(3):
        for a, b in zip(one, _kernels(args, cts, flags)):
            np.testing.assert_array_equal(a, b)


def test_x_cotangent_comes_in_xs_layout():
    # a time-first view of batch-major rows (batch_first, an embedding's output) gets its
    # cotangent batch-major too, with the values (here the bits) of a time-major one
    rng = np.random.default_rng(4)
    T, n, H = 9, 5, 4
    args = _args(rng, T, n, H, np.float32)
    cts = [rng.standard_normal((T, n, H)).astype(np.float32) for _ in range(4)]
    batch_major = np.ascontiguousarray(args[0].transpose(1, 0, 2)).transpose(1, 0, 2)
    dx_c = _kernels(args, cts, {})[6]
    dx_b = _kernels([batch_major] + args[1:], cts, {})[6]
    assert dx_c.flags.c_contiguous and dx_b.transpose(1, 0, 2).flags.c_contiguous
    np.testing.assert_array_equal(dx_b, dx_c)


def test_blocks_are_fixed_by_the_sequence_length_only():
    assert nn_ops._wave_blocks(19) == [(0, 8), (8, 16), (16, 19)]
    assert nn_ops._wave_blocks(3) == [(0, 3)]


def _pair_loss(x, wi1, b1, w1, wi2, b2, w2, h0, c0, ct):
    (hs1, cs1), (hs2, cs2) = ember.lstm2_sequence(x, wi1, b1, w1, wi2, b2, w2, h0, c0)
    return (hs2 * ct).sum() + cs1[-1].sum() + (hs1[-1] * 3).sum() + (cs2 * cs2).sum()


def _two_layers_loss(x, wi1, b1, w1, wi2, b2, w2, h0, c0, ct):
    hs1, cs1 = ember.lstm_sequence(x @ wi1 + b1, w1, h0[0], c0[0])
    hs2, cs2 = ember.lstm_sequence(hs1 @ wi2 + b2, w2, h0[1], c0[1])
    return (hs2 * ct).sum() + cs1[-1].sum() + (hs1[-1] * 3).sum() + (cs2 * cs2).sum()


@pytest.mark.parametrize("wave", [None, 1])
def test_values_and_gradients_equal_two_lstm_sequence_layers(monkeypatch, wave):
    monkeypatch.setattr(nn_ops, "_WAVE_MIN_NH", wave)
    rng = np.random.default_rng(0)
    T, n, H = 19, 4, 3
    a = _args(rng, T, n, H, np.float64)
    args = [ember.tensor(v) for v in a[:7]] + [ember.tensor(np.stack([a[7], a[9]])),
                                               ember.tensor(np.stack([a[8], a[10]])),
                                               ember.tensor(rng.standard_normal((T, n, H)))]
    np.testing.assert_allclose(_pair_loss(*args).item(), _two_layers_loss(*args).item(),
                               rtol=1e-12)
    got = ember.grad(_pair_loss, argnums=tuple(range(9)))(*args)
    want = ember.grad(_two_layers_loss, argnums=tuple(range(9)))(*args)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-10, atol=1e-12)


def _module_run(nl, wave, monkeypatch, **kw):
    monkeypatch.setattr(nn_ops, "_WAVE_MIN_NH", wave)
    ember.manual_seed(0)
    m = ember.nn.LSTM(8, 16, num_layers=nl, **kw)
    x = ember.tensor(np.random.default_rng(3).standard_normal((19, 6, 8)).astype(np.float32))
    if kw.get("batch_first"):
        x = x.transpose(0, 1)
    return rnn_eager_equals_jit(m, x)


def rnn_eager_equals_jit(m, x):
    """Loss and gradients of a recurrent module (nn.LSTM, nn.GRU) on ``x``: the eager tape's,
    checked bit for bit against a jitted value_and_grad's."""
    params = dict(m.named_parameters())

    def loss(p):
        out, state = ember.func.functional_call(m, p, (x,))
        h, *c = state if isinstance(state, tuple) else (state,)  # LSTM: (h, c); GRU: h
        return (out * out).mean() + h.sum() + sum(v.mean() for v in c)
    eager = loss(params)
    eager.backward()
    val, grads = ember.jit(ember.value_and_grad(loss))(
        {k: v.detach() for k, v in params.items()})
    np.testing.assert_array_equal(val.numpy(), eager.detach().numpy())
    for k, p in params.items():
        np.testing.assert_array_equal(grads[k].numpy(), p.grad.numpy(), err_msg=k)
    return [eager.detach().numpy()] + [p.grad.numpy() for p in params.values()]


@pytest.mark.parametrize("nl,kw", [(2, {}), (3, {"bias": False, "batch_first": True})])
def test_nn_lstm_eager_jit_threads_or_not_same_bits(monkeypatch, nl, kw):
    """nn.LSTM's layer pairs run as lstm2_seq (a third layer as lstm_seq): the eager tape and
    a jitted gradient agree bit for bit, with the wavefront on two threads and without."""
    monkeypatch.setattr(threads, "cores", 2)
    on = _module_run(nl, 1, monkeypatch, **kw)
    off = _module_run(nl, None, monkeypatch, **kw)
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a, b)


def test_nn_lstm_pairs_layers_only_where_the_primitive_applies():
    m = ember.nn.LSTM(4, 5, num_layers=3)
    x, z = ember.zeros(3, 2, 4), ember.zeros(3, 2, 5)
    assert list(m._wave_pairs(1, False, x, z, z)) == [0]
    assert list(ember.nn.LSTM(4, 5, num_layers=4)._wave_pairs(1, False, x, z, z)) == [0, 2]
    assert not m._wave_pairs(2, False, x, z, z)  # bidirectional
    assert not m._wave_pairs(1, True, x, z, z)  # autocast's lower precision
    d = ember.nn.LSTM(4, 5, num_layers=2, dropout=0.5)
    assert not d._wave_pairs(1, False, x, z, z)  # dropout between the layers while training
    d.eval()
    assert list(d._wave_pairs(1, False, x, z, z)) == [0]
    x64 = ember.zeros(3, 2, 4, dtype=ember.float64)
    assert not m._wave_pairs(1, False, x64, z, z)
    assert not ember.nn.LSTM(4, 5)._wave_pairs(1, False, x, z, z)


def test_an_error_in_either_stage_is_raised_after_both_stop(monkeypatch):
    monkeypatch.setattr(threads, "cores", 2)
    done = []

    def ok(a, b):
        done.append((a, b))

    def bad(a, b):
        if a == 8:
            raise ValueError("stage failed at 8")
    blocks = nn_ops._wave_blocks(30)
    for first, second in ((bad, ok), (ok, bad)):
        done.clear()
        with pytest.raises(ValueError, match="stage failed at 8"):
            threads.wavefront(first, second, blocks, True)
        assert all(b in blocks for b in done)
    # the one-thread schedule: first then second for each block, then the tail
    order = []
    threads.wavefront(lambda a, b: order.append(("1", a)), lambda a, b: order.append(("2", a)),
                      blocks[:2], False, first_tail=lambda: order.append("tail"))
    assert order == [("1", 0), ("2", 0), ("1", 8), ("2", 8), "tail"]


def test_an_error_in_layer_1s_backward_does_not_leave_the_other_tail_waiting(monkeypatch):
    # layer 2's tail waits for layer 1's last block before x's weight gradient: an error in
    # layer 1 releases it, and the error is raised (checked on a thread with a deadline, so
    # that a hang fails the test instead of stalling the suite)
    import threading
    monkeypatch.setattr(nn_ops, "_WAVE_MIN_NH", 1)
    monkeypatch.setattr(threads, "cores", 2)
    rng = np.random.default_rng(2)
    T, n, H = 19, 6, 5
    args = _args(rng, T, n, H, np.float32)
    cts = [rng.standard_normal((T, n, H)).astype(np.float32) for _ in range(4)]
    out = nn_ops._lstm2_seq_impl(*args)
    real = nn_ops._lstm_seq_bwd_rows

    def rows(ct, ccs, hs, *rest):
        if hs.base is out[0] or hs is out[0]:  # layer 1's (its states hs1)
            raise ValueError("layer 1 failed")
        return real(ct, ccs, hs, *rest)
    monkeypatch.setattr(nn_ops, "_lstm_seq_bwd_rows", rows)
    raised = []

    def run():
        try:
            nn_ops._lstm2_seq_bwd_impl(*cts, *out, *args)
        except ValueError as e:
            raised.append(str(e))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive() and raised == ["layer 1 failed"]


def test_switch_from_the_environment(monkeypatch):
    monkeypatch.setenv("EMBER_LSTM_WAVE_MIN_NH", "off")
    assert nn_ops._wave_min_from_env(4096) is None
    monkeypatch.setenv("EMBER_LSTM_WAVE_MIN_NH", "2048")
    assert nn_ops._wave_min_from_env(4096) == 2048
    monkeypatch.delenv("EMBER_LSTM_WAVE_MIN_NH")
    assert nn_ops._wave_min_from_env(4096) == 4096
    monkeypatch.setenv("EMBER_LSTM_WAVE_MIN_NH", "many")
    with pytest.raises(ValueError, match="EMBER_LSTM_WAVE_MIN_NH='many'"):
        nn_ops._wave_min_from_env(4096)


def test_errors_name_the_shapes():
    z = ember.zeros
    with pytest.raises(ValueError, match=r"lstm2_sequence: expected x \(T, N, E\).*"
                                         r"wih1_t \(5, 8\).*h0 \(2, 3, 2\)"):
        ember.lstm2_sequence(z(4, 3, 6), z(5, 8), z(8), z(2, 8), z(2, 8), z(8), z(2, 8),
                             z(2, 3, 2), z(2, 3, 2))
    with pytest.raises(ValueError, match=r"lstm2_sequence: expected .* c0 \(2, 3, 3\)"):
        ember.lstm2_sequence(z(4, 3, 6), z(6, 8), z(8), z(2, 8), z(2, 8), z(8), z(2, 8),
                             z(2, 3, 2), z(2, 3, 3))
    with pytest.raises(TypeError, match="lstm2_sequence: .* one dtype"):
        ember.lstm2_sequence(z(4, 3, 6), z(6, 8), z(8), z(2, 8, dtype=ember.float64),
                             z(2, 8), z(8), z(2, 8), z(2, 3, 2), z(2, 3, 2))


def test_same_bits_when_blas_itself_has_two_threads(monkeypatch):
    """OpenBLAS's products can round differently on two threads than on one (at text-lstm's
    sizes they do): the kernels hold BLAS to one thread in both schedules."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(1)
    T, n, H = 17, 64, 128
    args = _args(rng, T, n, H, np.float32)
    cts = [rng.standard_normal((T, n, H)).astype(np.float32) for _ in range(4)]
    monkeypatch.setattr(threads, "cores", 2)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        monkeypatch.setattr(nn_ops, "_WAVE_MIN_NH", None)
        one = _kernels(args, cts, {})
        monkeypatch.setattr(nn_ops, "_WAVE_MIN_NH", 1)
        for a, b in zip(one, _kernels(args, cts, {})):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_scaling_after_the_product_has_the_bits_of_scaled_operands(dtype, reverse):
    """A layer's recurrence scales each step's pre-activations after the product,
    (h W + x) s (lstm_seq, layer 1 of lstm2_seq); layer 2 of lstm2_seq gets W s and x s made
    beforehand. The gate scales are powers of two, so both give the same bits, and with
    them lstm2_seq's layers the bits of lstm_seq's kernel."""
    rng = np.random.default_rng(11)
    T, n, H = 9, 5, 3
    # magnitudes over many binades (saturated gates, tiny and large states)
    xw = (rng.standard_normal((T, n, 4 * H)) * np.exp2(rng.integers(-12, 5, (T, n, 4 * H)))
          ).astype(dtype)
    w = (rng.standard_normal((H, 4 * H)) * 0.7).astype(dtype)
    h0, c0 = (rng.standard_normal((n, H)).astype(dtype) for _ in range(2))
    scale, numer = nn_ops._lstm_scales(np, 4 * H, dtype)

    def run(x, ws, scaled):
        out = [np.empty((T, n, H), dtype), np.empty((T, n, H), dtype),
               np.empty((T, n, 5 * H), dtype)]
        nn_ops._lstm_seq_rows(x, ws, h0, c0, reverse, *out, scale, numer, 0, n, scaled=scaled)
        return out
    after = run(xw, w, False)
    before = run(xw * scale, w * scale, True)
    for a, b in zip(after, before):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(after, nn_ops._lstm_seq_impl(xw, w, h0, c0, reverse)):
        np.testing.assert_array_equal(a, b)
