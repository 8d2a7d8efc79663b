"""Convolution, pooling, embedding and dropout: the behaviours the generated rule checks in
test_rules.py don't cover (indices, padding_idx, randomness, errors)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F

torch = pytest.importorskip("torch")


def test_max_pool_return_indices_match_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 7)).astype(np.float32)
    out, idx = F.max_pool2d(ember.tensor(x), 3, 2, 1, return_indices=True)
    tout, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == ember.int64


def test_embedding_padding_idx_gets_no_gradient():
    w = ember.randn(5, 3, requires_grad=True)
    idx = ember.tensor([[0, 4, 4], [2, 4, 1]])
    F.embedding(idx, w, padding_idx=4).sum().backward()
    g = w.grad.numpy()
    np.testing.assert_array_equal(g[4], 0)
    np.testing.assert_array_equal(g[[0, 1, 2]], 1)
    np.testing.assert_array_equal(g[3], 0)


def test_dropout_scales_kept_values_and_is_seeded():
    x = ember.ones(200, 50, requires_grad=True)
    ember.manual_seed(0)
    y = F.dropout(x, 0.3)
    kept = y.detach().numpy() != 0
    assert 0.65 < kept.mean() < 0.75
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-6)
    ember.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, 0.3).detach().numpy(), y.detach().numpy())
    assert F.dropout(x, 0.3, training=False) is x


def test_conv_errors_name_the_problem():
    x = ember.randn(1, 3, 8, 8)
    with pytest.raises(ValueError, match=r"conv2d: input has 3 channels.*expects 4"):
        F.conv2d(x, ember.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: padding='same' needs stride 1"):
        F.conv2d(x, ember.randn(2, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D"):
        F.conv2d(ember.randn(8, 8), ember.randn(2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"smaller than the dilated kernel"):
        F.conv2d(ember.randn(1, 3, 2, 2), ember.randn(2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"max_pool2d: padding"):
        F.max_pool2d(x, 2, padding=2)


def test_conv2d_cifar_lenet_shapes_match_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    w1 = rng.standard_normal((6, 3, 5, 5)).astype(np.float32) * 0.1
    w2 = rng.standard_normal((16, 6, 5, 5)).astype(np.float32) * 0.1

    def net(m, x, w1, w2):
        f = m.nn.functional
        h = f.max_pool2d(f.relu(f.conv2d(x, w1)), 2)
        return f.max_pool2d(f.relu(f.conv2d(h, w2)), 2).flatten(1)
    e = net(ember, *map(ember.tensor, (x, w1, w2)))
    t = net(torch, *map(torch.tensor, (x, w1, w2)))
    assert tuple(e.shape) == (4, 400)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-4, atol=1e-4)


def test_gather_scatter_errors():
    x = ember.randn(3, 4)
    with pytest.raises(IndexError, match=r"gather: index 4 is out of bounds for dim 1"):
        ember.gather(x, 1, ember.tensor([[4]]))
    with pytest.raises(ValueError, match=r"gather: index has 1 dims but the input has 2"):
        ember.gather(x, 1, ember.tensor([0]))
    with pytest.raises(TypeError, match=r"masked_fill: mask must be a bool tensor"):
        x.masked_fill(ember.tensor([1, 0, 1, 0]), 0.0)
    with pytest.raises(ValueError, match=r"split: sections \[1, 2\] must"):
        x.split([1, 2], 1)
    with pytest.raises(ValueError, match=r"einsum: operand 1 has 2 dims"):
        ember.einsum("ij,j->i", x, x)


def _lstm_loss(x, w, h0, c0):
    hs, cs = ember.lstm_sequence(x, w, h0, c0)
    hr, _ = ember.lstm_sequence(x, w, h0, c0, reverse=True)
    return (hs * hs).sum() + cs[-1].sum() + (hr[0] * 2).sum()


@pytest.mark.parametrize("in_axes", [(0, None, 0, None), (0, 0, 0, 0)],
                         ids=["shared-weight", "per-example-weight"])
def test_lstm_sequence_per_example_gradients_equal_a_loop(in_axes):
    """vmap(grad) over the fused recurrence: with a shared weight the examples fold into the
    batch axis (one gradient per example from one loop), otherwise the ember-ops recurrence."""
    rng = np.random.default_rng(0)
    B = 3
    full = [rng.standard_normal(s) for s in [(4, 2, 8), (2, 8), (2, 2), (2, 2)]]
    args = [ember.tensor(rng.standard_normal((B,) + a.shape)) if ax == 0 else ember.tensor(a)
            for a, ax in zip(full, in_axes)]
    g = ember.vmap(ember.grad(_lstm_loss, argnums=(0, 1, 2, 3)), in_axes=in_axes)(*args)
    for b in range(B):
        one = [a[b] if ax == 0 else a for a, ax in zip(args, in_axes)]
        ref = ember.grad(_lstm_loss, argnums=(0, 1, 2, 3))(*one)
        for gb, r in zip(g, ref):
            np.testing.assert_allclose(gb[b].numpy(), r.numpy(), rtol=1e-10, atol=1e-12)
    # nested vmap: the merged examples form groups of groups
    nested = ember.vmap(ember.vmap(ember.grad(_lstm_loss, argnums=1), in_axes=(0, None, 0, None)),
                        in_axes=(0, None, 0, None))
    x2 = ember.tensor(rng.standard_normal((2, B, 4, 2, 8)))
    h2 = ember.tensor(rng.standard_normal((2, B, 2, 2)))
    gw = nested(x2, args[1] if in_axes[1] is None else args[1][0], h2, ember.tensor(full[3]))
    w = args[1] if in_axes[1] is None else args[1][0]
    for a in range(2):
        for b in range(B):
            ref = ember.grad(_lstm_loss, argnums=1)(x2[a, b], w, h2[a, b], ember.tensor(full[3]))
            np.testing.assert_allclose(gw[a, b].numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)


def test_lstm_sequence_errors_name_the_shapes():
    x = ember.zeros(3, 2, 8)
    with pytest.raises(ValueError, match=r"lstm_sequence: expected xw \(T, N, 4H\).*h0 \(2, 3\)"):
        ember.lstm_sequence(x, ember.zeros(2, 8), ember.zeros(2, 3), ember.zeros(2, 2))
    with pytest.raises(TypeError, match="share one dtype"):
        ember.lstm_sequence(x, ember.zeros(2, 8, dtype=ember.float64), ember.zeros(2, 2),
                            ember.zeros(2, 2))


def test_lstm_sequence_unused_cell_states_skip_their_zero_cotangent():
    """When the layer's cell states get no cotangent the fused backward reads none (no zeros
    array): the same bits as an explicit zero cotangent."""
    from ember.ops import nn_ops as K
    rng = np.random.default_rng(4)
    x, w, h, c = (rng.standard_normal(s).astype(np.float32) for s in [(5, 3, 8), (2, 8),
                                                                         (3, 2), (3, 2)])
    ct = rng.standard_normal((5, 3, 2)).astype(np.float32)
    for reverse in (False, True):
        hs, cs, acts = K._lstm_seq_impl(x, w, h, c, reverse)
        full = K._lstm_seq_bwd_impl(ct, np.zeros_like(ct), hs, cs, acts, x, w, h, c,
                                    reverse=reverse, groups=1)
        skip = K._lstm_seq_bwd_impl(ct, ct, hs, cs, acts, x, w, h, c, reverse=reverse,
                                    groups=1, ct_c=False)
        for a, b in zip(full, skip):
            np.testing.assert_array_equal(a, b)
    xs, ws, hs_, cs_ = (ember.tensor(a, requires_grad=True) for a in (x, w, h, c))
    (ember.lstm_sequence(xs, ws, hs_, cs_)[0] * ember.tensor(ct)).sum().backward()
    ref = [v.grad.numpy() for v in (xs, ws, hs_, cs_)]
    for v in (xs, ws, hs_, cs_):
        v.grad = None
    out = ember.lstm_sequence(xs, ws, hs_, cs_)
    ((out[0] * ember.tensor(ct)).sum() + (out[1] * 0).sum()).backward()
    for v, r in zip((xs, ws, hs_, cs_), ref):
        np.testing.assert_array_equal(v.grad.numpy(), r)


def _gru_loss(x, w, b, h0):
    hs = ember.gru_sequence(x, w, b, h0)
    hr = ember.gru_sequence(x, w, b, h0, reverse=True)
    return (hs * hs).sum() + hs[-1].sum() + (hr[0] * 2).sum()


@pytest.mark.parametrize("in_axes", [(0, None, None, 0), (0, 0, 0, 0)],
                         ids=["shared-weight", "per-example-weight"])
def test_gru_sequence_per_example_gradients_equal_a_loop(in_axes):
    """vmap(grad) over the fused GRU recurrence: a shared weight folds the examples into the
    batch axis (one weight and bias gradient per example from one backward loop), otherwise
    the ember-ops recurrence; nested vmap forms groups of groups."""
    rng = np.random.default_rng(2)
    B = 3
    full = [rng.standard_normal(s) for s in [(4, 2, 6), (2, 6), (6,), (2, 2)]]
    args = [ember.tensor(rng.standard_normal((B,) + a.shape)) if ax == 0 else ember.tensor(a)
            for a, ax in zip(full, in_axes)]
    argnums = (0, 1, 2, 3)
    g = ember.vmap(ember.grad(_gru_loss, argnums=argnums), in_axes=in_axes)(*args)
    for b in range(B):
        one = [a[b] if ax == 0 else a for a, ax in zip(args, in_axes)]
        ref = ember.grad(_gru_loss, argnums=argnums)(*one)
        for gb, r in zip(g, ref):
            np.testing.assert_allclose(gb[b].numpy(), r.numpy(), rtol=1e-10, atol=1e-12)
    if in_axes[1] is None:
        nested = ember.vmap(ember.vmap(ember.grad(_gru_loss, argnums=(1, 2)),
                                       in_axes=(0, None, None, 0)), in_axes=(0, None, None, 0))
        x2 = ember.tensor(rng.standard_normal((2, B, 4, 2, 6)))
        h2 = ember.tensor(rng.standard_normal((2, B, 2, 2)))
        gw, gb_ = nested(x2, args[1], args[2], h2)
        for a in range(2):
            for b in range(B):
                rw, rb = ember.grad(_gru_loss, argnums=(1, 2))(x2[a, b], args[1], args[2],
                                                               h2[a, b])
                np.testing.assert_allclose(gw[a, b].numpy(), rw.numpy(), rtol=1e-10, atol=1e-12)
                np.testing.assert_allclose(gb_[a, b].numpy(), rb.numpy(), rtol=1e-10,
                                           atol=1e-12)


def test_gru_sequence_fused_backward_equals_its_reference_and_eager_equals_jit():
    """The fused backward kernel equals the reference's derived VJP; jit runs the same kernels
    as eager (the same bits), float32 included."""
    from ember.ops import nn_ops as K
    rng = np.random.default_rng(5)
    for dt in (np.float64, np.float32):
        x, w, b, h = (rng.standard_normal(s).astype(dt) for s in [(6, 3, 9), (3, 9), (9,),
                                                                     (3, 3)])
        ct = rng.standard_normal((6, 3, 3)).astype(dt)
        for reverse in (False, True):
            hs, acts = K._gru_seq_impl(x, w, b, h, reverse)
            got = K._gru_seq_bwd_impl(ct, hs, acts, x, w, b, h, reverse=reverse, groups=1)
            want = K._gru_seq_bwd_ref(*(ember.tensor(a) for a in (ct, hs, acts, x, w, b, h)),
                                      reverse=reverse, groups=1)
            tol = 1e-12 if dt == np.float64 else 2e-5
            for g_, r_ in zip(got, want):
                assert g_.dtype == dt
                np.testing.assert_allclose(g_, r_.numpy(), rtol=tol, atol=tol)
        f = lambda x, w, b, h: ember.grad(_gru_loss, argnums=(0, 1, 2, 3))(x, w, b, h)  # noqa
        ts = [ember.tensor(a) for a in (x, w, b, h)]
        for e, j in zip(f(*ts), ember.jit(f)(*ts)):
            np.testing.assert_array_equal(e.numpy(), j.numpy())


def test_gru_sequence_errors_name_the_shapes():
    x = ember.zeros(3, 2, 6)
    with pytest.raises(ValueError, match=r"gru_sequence: expected xw \(T, N, 3H\).*h0 \(2, 3\)"):
        ember.gru_sequence(x, ember.zeros(2, 6), ember.zeros(6), ember.zeros(2, 3))
    with pytest.raises(TypeError, match="share one dtype"):
        ember.gru_sequence(x, ember.zeros(2, 6), ember.zeros(6, dtype=ember.float64),
                           ember.zeros(2, 2))
    with pytest.raises(ValueError, match="empty"):
        ember.gru_sequence(ember.zeros(0, 2, 6), ember.zeros(2, 6), ember.zeros(6),
                           ember.zeros(2, 2))


@pytest.mark.parametrize("shape,size", [((3, 4, 6, 6, 5, 5), (10, 10)),
                                        ((2, 1, 7, 9, 3, 2), (9, 10)),
                                        ((5, 4, 1, 1, 3, 3), (3, 3))])
def test_col2im_by_rows_is_the_offset_loop_bit_for_bit(shape, size):
    from ember.ops.conv import _unwindows_impl
    cols = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    oh, ow, kh, kw = shape[-4:]
    want = np.zeros(shape[:-4] + size, np.float32)
    for i in range(kh):
        for j in range(kw):
            want[..., i:i + oh, j:j + ow] += cols[..., i, j]
    got = _unwindows_impl(cols, size, (kh, kw), (1, 1), (1, 1))
    np.testing.assert_array_equal(got, want)



@pytest.mark.parametrize("c,n,o", [(4, 3, 8), (5, 2, 2), (3, 2, 12)])
def test_col2im_of_channel_major_windows_is_the_offset_loop_bit_for_bit(c, n, o, monkeypatch):
    # a convolution's windows gradient lies in (C, kh, kw, N, oh, ow) memory; narrow ones
    # (ow <= _ROWS_MAX_OW) take the padded-rows path, wider ones the per-offset adds
    from ember.ops import conv as C
    seen = []
    orig = C._unwindows_rows
    monkeypatch.setattr(C, "_unwindows_rows", lambda *a, **k: seen.append(1) or orig(*a, **k))
    mem = np.random.default_rng(1).standard_normal((c, 3, 3, n, o, o)).astype(np.float32)
    cols = mem.transpose(3, 0, 4, 5, 1, 2)
    want = np.zeros((n, c, o + 2, o + 2), np.float32)
    for i in range(3):
        for j in range(3):
            want[..., i:i + o, j:j + o] += cols[..., i, j]
    got = C._unwindows_impl(cols, (o + 2, o + 2), (3, 3), (1, 1), (1, 1))
    np.testing.assert_array_equal(got, want)
    assert bool(seen) == (o <= C._ROWS_MAX_OW)

def test_lstm_sequence_derived_rules_through_the_fused_backward():
    """Forward mode over per-example gradients with a shared weight runs the fused backward's
    reference with one weight copy per example (groups); eager second order hands the
    cotangent of the saved activations to the reference. Both equal a loop of plain rules."""
    rng = np.random.default_rng(1)
    B = 2
    x = ember.tensor(rng.standard_normal((B, 3, 2, 8)))
    w = ember.tensor(rng.standard_normal((2, 8)))
    h = ember.tensor(rng.standard_normal((B, 2, 2)))
    c = ember.tensor(rng.standard_normal((2, 2)))
    tw = ember.tensor(rng.standard_normal((2, 8)))
    per_example = ember.vmap(ember.grad(_lstm_loss, argnums=1), in_axes=(0, None, 0, None))
    _, tan = ember.jvp(lambda v: per_example(x, v, h, c), (w,), (tw,))
    for b in range(B):
        _, ref = ember.jvp(lambda v: ember.grad(_lstm_loss, argnums=1)(x[b], v, h[b], c),
                           (w,), (tw,))
        np.testing.assert_allclose(tan[b].numpy(), ref.numpy(), rtol=1e-9, atol=1e-11)
    we = w.detach().requires_grad_()
    (gw,) = ember.autograd.grad(_lstm_loss(x[0], we, h[0], c), we, create_graph=True)
    (hw,) = ember.autograd.grad((gw * tw).sum(), we)
    ref = ember.grad(lambda v: (ember.grad(_lstm_loss, argnums=1)(x[0], v, h[0], c) * tw)
                     .sum())(w)
    np.testing.assert_allclose(hw.numpy(), ref.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape,kernel,stride,dilation", [((4, 3, 9, 8), (3, 2), (1, 1), (1, 1)),
                                                          ((2, 5, 11), (3,), (2,), (2,)),
                                                          ((3, 2, 4, 7, 7), (2, 3), (2, 1),
                                                           (1, 2))])
def test_conv_windows_copy_is_the_view_laid_out_channel_kernel_major(shape, kernel, stride,
                                                                     dilation):
    """conv asks `windows` for a copy (one gather that its forward product and weight gradient
    share); its values are the strided view's, in (C, *K, lead..., *out) memory order."""
    from ember.ops.conv import _windows_impl
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    view = _windows_impl(x, kernel, stride, dilation)
    got = _windows_impl(x, kernel, stride, dilation, copy=True)
    np.testing.assert_array_equal(got, view)
    nsp, lead = len(kernel), len(shape) - len(kernel)
    perm = (lead - 1,) + tuple(range(lead + nsp, lead + 2 * nsp)) + tuple(range(lead - 1)) + \
        tuple(range(lead, lead + nsp))
    assert got.transpose(perm).flags.c_contiguous


@pytest.mark.parametrize("groups,stride,padding", [(1, 1, 0), (1, 2, 1), (3, 1, 2)])
def test_conv2d_is_one_gemm_over_the_windows_matrix_bit_for_bit(monkeypatch, groups, stride,
                                                                 padding):
    """The forward and both gradients are the GEMMs of the windows as a (C*K, N*out) matrix
    (one per group): w2 @ cols, ct2 @ cols^T and col2im(w2^T @ ct2), bit for bit; for stride 1
    (one group) the windows' gradient is formed on the padded input's full grid, (C*K,
    N*H*W), from the cotangent padded with zeros. Eager and jit give the same bits."""
    from ember.ops.conv import _windows_impl
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 6, 12, 12)).astype(np.float32)
    w = rng.standard_normal((9, 6 // groups, 5, 5)).astype(np.float32)
    kw = dict(stride=stride, padding=padding, groups=groups)
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    y = F.conv2d(xe, we, **kw)
    ct = rng.standard_normal(tuple(y.shape)).astype(np.float32)
    (y * ember.tensor(ct)).sum().backward()
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    view = _windows_impl(xp, (5, 5), (stride,) * 2, (1, 1))  # (N, C, oh, ow, 5, 5)
    n, _, oh, ow = view.shape[:4]
    g, ck = groups, (6 // groups) * 25
    cols = np.ascontiguousarray(view.transpose(1, 4, 5, 0, 2, 3)).reshape(g, ck, -1)
    w2 = w.reshape(g, 9 // g, ck)
    want = (w2 @ cols).reshape(9, n, oh, ow).transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(y.detach().numpy(), want)
    ct2 = np.ascontiguousarray(ct.transpose(1, 0, 2, 3)).reshape(g, 9 // g, -1)
    np.testing.assert_array_equal(we.grad.numpy(),
                                  (ct2 @ cols.transpose(0, 2, 1)).reshape(w.shape))
    full = stride == 1 and groups == 1
    height, width = xp.shape[-2:] if full else (oh, ow)
    ctw = np.zeros((9, n, height, width), np.float32)
    ctw[..., :oh, :ow] = ct.transpose(1, 0, 2, 3)
    gcols = (w2.transpose(0, 2, 1) @ ctw.reshape(g, 9 // g, -1)).reshape(
        6, 5, 5, n, height, width)[..., :oh, :ow]
    gx = np.zeros(xp.shape, np.float32)
    for i in range(5):
        for j in range(5):
            gx[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride] += \
                gcols[:, i, j].transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(xe.grad.numpy(), gx[:, :, p:p + 12, p:p + 12])
    if stride == 1 and groups == 1:  # col2im took whole runs of the full-grid gradient
        from ember.ops import conv as C
        seen = []
        orig = C._unwindows_full_grid
        monkeypatch.setattr(C, "_unwindows_full_grid", lambda *a: seen.append(1) or orig(*a))
        x2 = ember.tensor(x, requires_grad=True)
        F.conv2d(x2, we.detach(), **kw).sum().backward()
        assert seen
    jf = ember.jit(lambda a, b: F.conv2d(a, b, **kw))
    np.testing.assert_array_equal(jf(ember.tensor(x), ember.tensor(w)).numpy(),
                                  y.detach().numpy())
    jg = ember.jit(ember.grad(lambda a, b: (F.conv2d(a, b, **kw) * ember.tensor(ct)).sum(),
                              argnums=(0, 1)))
    gxj, gwj = jg(ember.tensor(x), ember.tensor(w))
    np.testing.assert_array_equal(gxj.numpy(), xe.grad.numpy())
    np.testing.assert_array_equal(gwj.numpy(), we.grad.numpy())


@pytest.mark.parametrize("kernel,stride,channel_major", [((2, 2), (2, 2), False),
                                                          ((2, 2), (2, 2), True),
                                                          ((3, 3), (2, 2), True),
                                                          ((3, 2), (1, 1), False)])
def test_max_pool_backward_in_cache_sized_pieces_keeps_the_bits(monkeypatch, kernel, stride,
                                                                 channel_major):
    """The max-pool backward runs over pieces of a lead axis (the outermost in memory) when
    the input is large; the pieces give the bits of one pass, ties (relu zeros) included, and
    the gradient of a tiled pool is laid out as the input."""
    from ember.ops import conv as C
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((5, 7, 12, 10)), 0).astype(np.float32)
    if channel_major:
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    out = C._pool_max_impl(x, kernel, stride, (1, 1))
    ct = rng.standard_normal(out.shape).astype(np.float32)
    whole = C._argmax_scatter_impl(ct, x, out, kernel, stride, (1, 1))
    monkeypatch.setattr(C, "_CHUNK_BYTES", 64)
    assert len(C._chunks(x, 2)[1]) > 1
    pieces = C._argmax_scatter_impl(ct, x, out, kernel, stride, (1, 1))
    np.testing.assert_array_equal(pieces, whole)
    # the reference: each window's gradient to its first maximum
    want = np.zeros(x.shape, np.float32)
    view = C._windows_impl(x, kernel, stride, (1, 1))
    first = view.reshape(view.shape[:4] + (-1,)).argmax(-1)
    for idx in np.ndindex(*out.shape):
        i, j = np.unravel_index(first[idx], kernel)
        want[idx[:2] + (idx[2] * stride[0] + i, idx[3] * stride[1] + j)] += ct[idx]
    if kernel == stride:  # disjoint windows: one term per entry
        np.testing.assert_array_equal(pieces, want)
    else:  # overlapping: the same terms, summed in another order
        np.testing.assert_allclose(pieces, want, rtol=1e-6, atol=1e-6)
    if channel_major and kernel == stride:
        assert pieces.strides[0] < pieces.strides[1]


@pytest.mark.parametrize("kernel,stride,dilation", [((2, 2), (2, 2), (1, 1)),
                                                    ((3, 3), (2, 2), (1, 1)),
                                                    ((3, 2), (1, 2), (2, 1)),
                                                    ((1, 3), (1, 1), (1, 1)),
                                                    ((1, 1), (2, 1), (1, 1))])
@pytest.mark.parametrize("channel_major", [False, True])
def test_max_pool_forward_axis_by_axis_equals_the_window_maximum(kernel, stride, dilation,
                                                                 channel_major):
    """The forward reduces one spatial axis at a time; it equals the maximum over each whole
    window (NaN propagates), whatever the input's layout, and comes out in C order (the
    flatten before a Linear layer then needs no copy)."""
    from ember.ops import conv as C
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 11, 9)).astype(np.float32)
    x[0, 1, 3, 4] = np.nan
    x[1, 2] = 0.0  # ties
    if channel_major:
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    got = C._pool_max_impl(x, kernel, stride, dilation)
    view = C._windows_impl(x, kernel, stride, dilation)
    want = view.reshape(view.shape[:4] + (-1,)).max(-1)
    np.testing.assert_array_equal(got, want)
    assert got.flags.c_contiguous and not np.shares_memory(got, x)
    x1 = rng.standard_normal((2, 3, 8)).astype(np.float32)  # one spatial axis
    got1 = C._pool_max_impl(x1, kernel[:1], stride[:1], dilation[:1])
    v1 = C._windows_impl(x1, kernel[:1], stride[:1], dilation[:1])
    np.testing.assert_array_equal(got1, v1.max(-1))
