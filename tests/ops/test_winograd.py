"""3x3 stride-1 convolutions through Winograd F(2x2, 3x3) and F(4x4, 3x3) (ember/ops/winograd.py
and the winograd_* primitives of ember/ops/conv.py): the forward and both gradients within
float32 rounding of float64's direct sums, the compiled transforms with their NumPy twins'
bits (split between threads or not), eager == jit bit for bit, the higher derivatives and
vmap from the primitives' references, and which convolutions take it, with which tile."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import accel
from ember.ops import conv as C
from ember.ops import winograd as W

pytest.importorskip("numba")


def _with(flag, fn, *args):
    prev = accel.set_enabled(flag)
    try:
        return fn(*args)
    finally:
        accel.set_enabled(prev)


def _direct(xp, w):
    """The valid 3x3 correlation in float64 through the window view."""
    n, c, hp, wp = xp.shape
    win = np.lib.stride_tricks.sliding_window_view(xp.astype(np.float64), (3, 3), axis=(2, 3))
    return np.einsum("nchwkl,ockl->nohw", win, w.astype(np.float64))


def _direct_grads(xp, w, ct):
    ct64 = ct.astype(np.float64)
    win = np.lib.stride_tricks.sliding_window_view(xp.astype(np.float64), (3, 3), axis=(2, 3))
    dw = np.einsum("nohw,nchwkl->ockl", ct64, win)
    dx = np.zeros(xp.shape)
    oh, ow = ct.shape[2:]
    for i in range(3):
        for j in range(3):
            dx[:, :, i:i + oh, j:j + ow] += np.einsum("nohw,oc->nchw", ct64, w[:, :, i, j])
    return dx, dw


def _case(n, c, o, oh, ow, seed=0, pad=(0, 0)):
    """x (N, C, H, W) whose padding by ``pad`` gives (OH + 2, OW + 2), the weight, a
    cotangent, and x padded."""
    rng = np.random.default_rng(seed)
    (py, px) = pad
    x = rng.standard_normal((n, c, oh + 2 - 2 * py, ow + 2 - 2 * px)).astype(np.float32)
    w = (rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    ct = rng.standard_normal((n, o, oh, ow)).astype(np.float32)
    return x, w, ct, np.pad(x, ((0, 0), (0, 0), (py, py), (px, px)))


def _close(got, ref, rel):
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=0, atol=rel * np.abs(ref).max())


# (relative to the largest entry) F(2x2, 3x3)'s transforms are exact; F(4x4, 3x3)'s round
# (1/6, 1/24): about 1e-5 for these shapes
_TOL = {2: (2e-6, 5e-6), 4: (2.5e-5, 3e-5)}


@pytest.mark.parametrize("n,c,o,oh,ow,m", [(2, 3, 5, 2, 2, 2), (3, 16, 24, 6, 4, 2),
                                            (16, 64, 64, 16, 16, 4), (4, 32, 16, 2, 8, 2),
                                            (8, 16, 24, 8, 16, 4)])
@pytest.mark.parametrize("pad", [(0, 0), (1, 1), (1, 0)])
@pytest.mark.parametrize("flag", [True, False])
def test_matches_float64_direct_sums(n, c, o, oh, ow, m, pad, flag):
    assert W.tile(n, c, o, (oh, ow)) == m
    x, w, ct, xp = _case(n, c, o, oh, ow, pad=pad)
    y = _with(flag, W.conv, x, w, pad)
    dx = _with(flag, W.input_grad, ct, w, pad)
    dw = _with(flag, W.weight_grad, ct, x, pad)
    rdx, rdw = _direct_grads(xp, w, ct)
    (py, px), (h, wd) = pad, x.shape[2:]
    tol, tol_dw = _TOL[m]
    _close(y, _direct(xp, w), tol)
    _close(dx, rdx[:, :, py:py + h, px:px + wd], tol)
    _close(dw, rdw, tol_dw)
    assert y.shape == (n, o, oh, ow) and dx.shape == x.shape and dw.shape == w.shape


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("pad", [(0, 0), (1, 1)])
def test_compiled_transforms_have_the_numpy_twins_bits(kernels_on, monkeypatch, split, pad, m):
    # the split between two threads (samples in halves; C-ordered arrays as GIL-free C
    # parts on OpenBLAS's workers, where it has them) and a strided (channel-major) input
    # and cotangent (parts from Python) change no bit
    from ember.backend import threads
    monkeypatch.setattr(W, "_SPLIT_MIN_BYTES", 0 if split else 1 << 62)
    monkeypatch.setattr(W, "FUSE", False)  # (the stages one by one; fused: the test below)
    native = []
    real = threads.run_compiled
    monkeypatch.setattr(threads, "run_compiled", lambda *a: native.append(real(*a)) or native[-1])
    monkeypatch.setattr(W, "_TILE4_MIN_TILES", 1)
    x, w, ct, _ = _case(5, 16, 8, 4, 6 if m == 2 else 8, seed=1, pad=pad)
    assert W.tile(5, 16, 8, ct.shape[2:]) == m
    xs = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    cs = np.ascontiguousarray(ct.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    for fn, args, strided in ((W.conv, (x, w), (xs, w)), (W.input_grad, (ct, w), (cs, w)),
                              (W.weight_grad, (ct, x), (cs, xs))):
        ref = _with(False, fn, *args, pad)
        np.testing.assert_array_equal(_with(True, fn, *args, pad), ref)
        np.testing.assert_array_equal(_with(True, fn, *strided, pad), ref)
    # each transform of the C-ordered arrays: wino_in and wino_out, wino_ct and wino_in_adj,
    # wino_ct and wino_in; the strided ones' outputs (wino_out, wino_in_adj) too; and the
    # 16 products of each call (planes 0-7 and 8-15 on two threads, split or not), through
    # NumPy's sgemm with np.matmul's arguments
    assert len(native) == (8 if split else 0) + 6
    if split and threads.cores >= 2 and threads._workers() is not None:
        assert all(native)


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("pad", [(0, 0), (1, 1), (1, 0)])
def test_fused_chunks_have_the_bits_of_the_stages_one_by_one(kernels_on, monkeypatch, pad, m):
    # the forward and the input gradient chunk by chunk (each thread half of the samples,
    # every stage of a chunk before the next chunk's) against the whole planes stage by
    # stage; several chunks a thread, the last one short
    from ember.backend import threads
    monkeypatch.setattr(W, "_TILE4_MIN_TILES", 1)
    x, w, ct, _ = _case(7, 16, 24, 8, 6 if m == 2 else 8, seed=3, pad=pad)
    assert W.tile(7, 16, 24, ct.shape[2:]) == m
    ran = []
    real = threads.run_compiled
    k = kernels_on
    fused = {k.wino_conv_part.address, k.wino_dx_part.address, k.wino4_conv_part.address,
             k.wino4_dx_part.address}
    monkeypatch.setattr(threads, "run_compiled",
                        lambda addr, b: (ran.append(addr in fused) or True) and real(addr, b))
    monkeypatch.setattr(W, "_SPLIT_MIN_BYTES", 0)
    tiles = 12 if m == 2 else 4  # a sample's
    monkeypatch.setattr(W, "_FUSE_MIN_TILES", 2 * tiles)
    monkeypatch.setattr(W, "_CHUNK_BYTES", 2 * 4 * (m + 2) ** 2 * (16 + 24) * tiles * 4)
    calls = [(W.conv, x, w), (W.conv_kept, x, w), (W.input_grad, ct, w), (W.grads, ct, x, w),
             (W.grads_kept, ct, x, w, *W.conv_kept(x, w, pad)[1:])]
    for flag in (False, True):
        monkeypatch.setattr(W, "FUSE", flag)
        ran.clear()
        out = [fn(*args, pad) for fn, *args in calls]
        if flag:
            for a, b in zip(out, ref):
                for p, q in zip(a if isinstance(a, (list, tuple)) else [a],
                                b if isinstance(b, (list, tuple)) else [b]):
                    np.testing.assert_array_equal(p, q)
        else:
            ref = out
        assert any(ran) == (flag and threads.cores >= 2 and threads._workers() is not None)


def test_compiled_parts_run_only_where_they_can(kernels_on, monkeypatch):
    from ember.backend import threads
    blocks = np.zeros((2, 13), np.int64)  # (never run: each case declines first)
    addr = kernels_on.wino_in_part.address
    assert not threads.run_compiled(addr, blocks[:1])  # one part: the caller runs it
    monkeypatch.setattr(threads, "cores", 1)
    assert not threads.run_compiled(addr, blocks)
    monkeypatch.setattr(threads, "cores", 2)
    monkeypatch.setattr(threads, "_in_kernel_thread", lambda: True)
    assert not threads.run_compiled(addr, blocks)


def test_samples_in_blocks_bound_the_planes(kernels_on, monkeypatch):
    # a large batch goes through in blocks of samples (their planes about _BLOCK_BYTES);
    # the weight gradient adds the blocks' sums in order
    x, w, ct, xp = _case(7, 16, 24, 6, 4, seed=5, pad=(1, 1))
    whole = (W.conv(x, w, (1, 1)), *W.grads(ct, x, w, (1, 1)))
    monkeypatch.setattr(W, "_BLOCK_BYTES", 2 * 4 * 6 * 4 * (16 + 24) * 4)  # 2 samples
    assert W._blocks(ct.shape, 16, 24, 4) == [(0, 2), (2, 4), (4, 6), (6, 7)]
    blocked = (W.conv(x, w, (1, 1)), *W.grads(ct, x, w, (1, 1)))
    assert [a.shape for a in blocked] == [a.shape for a in whole]
    for a, b in zip(blocked, whole):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6 * np.abs(b).max())
    rdx, rdw = _direct_grads(xp, w, ct)
    _close(blocked[2], rdw, 5e-6)


@pytest.mark.parametrize("m", [2, 4])
def test_kept_transforms_are_the_references_and_give_the_same_bits(kernels_on, monkeypatch, m):
    """winograd_conv_kept's U and V equal its reference's bit for bit (the NumPy twin's
    additions); where they are not kept (over _KEEP_MAX_BYTES, or under vmap) the
    gradients are the same bits."""
    monkeypatch.setattr(W, "_TILE4_MIN_TILES", 64 if m == 2 else 1)
    x, w1, w2 = _net_args(1)
    assert W.tile(4, 16, 32, (8, 8)) == m
    y, u, v = W.conv_kept(x, w1, (1, 1))
    ref = C._wino_kept_ref(*(ember.tensor(a) for a in (x, w1)), (1, 1))
    np.testing.assert_array_equal(u, ref[1].numpy())
    np.testing.assert_array_equal(v, ref[2].numpy())
    np.testing.assert_array_equal(y, W.conv(x, w1, (1, 1)))
    g = ember.jit(ember.grad(_net_loss, argnums=(1, 2)))
    kept = g(*(ember.tensor(a) for a in (x, w1, w2)))
    calls = _count_calls(monkeypatch)
    monkeypatch.setattr(W, "_KEEP_MAX_BYTES", 0)
    plain = ember.jit(ember.grad(_net_loss, argnums=(1, 2)))(
        *(ember.tensor(a) for a in (x, w1, w2)))
    assert "grads_kept" not in calls and "grads" in calls
    for a, b in zip(kept, plain):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    monkeypatch.setattr(W, "_KEEP_MAX_BYTES", 8 << 20)
    calls.clear()
    xs = np.stack([x, x[::-1]])
    per = ember.vmap(ember.grad(_net_loss, argnums=1), in_dims=(0, None, None))(
        *(ember.tensor(a) for a in (xs, w1, w2)))
    assert "conv_kept" not in calls
    one = ember.grad(_net_loss, argnums=1)(*(ember.tensor(a) for a in (x[::-1], w1, w2)))
    tol = 1e-5 if m == 2 else 5e-5
    np.testing.assert_allclose(per[1].numpy(), one.numpy(), rtol=tol,
                               atol=tol * np.abs(one.numpy()).max())


def _net_loss(x, w1, w2):
    h = F.relu(F.conv2d(x, w1, padding=1))
    return (F.conv2d(h, w2, padding=1) ** 2).sum()


def _net_args(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 16, 8, 8)).astype(np.float32)
    w1 = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((16, 32, 3, 3)) * 0.1).astype(np.float32)
    return x, w1, w2


def _count_calls(monkeypatch):
    calls = []
    for name in ("conv", "input_grad", "weight_grad", "grads", "conv_kept", "grads_kept"):
        prim = getattr(C, f"winograd_{name}_p")
        fn = getattr(W, name)
        monkeypatch.setattr(prim, "impl", lambda *a, _fn=fn, _name=name, **k:
                            calls.append(_name) or _fn(*a, **k))
    return calls


@pytest.mark.parametrize("m", [2, 4])
def test_convolutions_that_fit_take_it_eager_equals_jit_and_backward(kernels_on, monkeypatch, m):
    monkeypatch.setattr(W, "_TILE4_MIN_TILES", 64 if m == 2 else 1)
    assert W.tile(4, 16, 32, (8, 8)) == m
    calls = _count_calls(monkeypatch)
    x, w1, w2 = (ember.tensor(a) for a in _net_args())
    g = ember.value_and_grad(_net_loss, argnums=(0, 1, 2))
    eager = g(x, w1, w2)
    # both gradients: one cotangent transform; the forward's transformed weights and inputs
    # kept for them (reverse mode's forward)
    assert calls == ["conv_kept", "conv_kept", "grads_kept", "grads_kept"]
    jitted = ember.jit(g)(x, w1, w2)
    for a, b in zip(ember.tree_util.tree_leaves(eager), ember.tree_util.tree_leaves(jitted)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    xt, w1t, w2t = (ember.tensor(np.asarray(a), requires_grad=True) for a in (x, w1, w2))
    calls.clear()
    _net_loss(xt, w1t, w2t).backward()  # the tape: the backward makes them again
    assert calls == ["conv", "conv", "grads", "grads"]
    for t, ref in zip((xt, w1t, w2t), eager[1]):
        np.testing.assert_array_equal(t.grad.numpy(), np.asarray(ref))
    # against the window-matrix path in float64
    ref = ember.grad(_net_loss, argnums=(0, 1, 2))(
        *(ember.tensor(np.asarray(a, np.float64)) for a in (x, w1, w2)))
    for a, b in zip(eager[1], ref):
        b = np.asarray(b)
        np.testing.assert_allclose(np.asarray(a), b, rtol=0,
                                   atol=(1e-5 if m == 2 else 5e-5) * np.abs(b).max())


def test_one_gradient_alone_has_the_bits_of_both(kernels_on, monkeypatch):
    x, w1, w2 = (ember.tensor(a) for a in _net_args(2))
    both = ember.grad(_net_loss, argnums=(0, 1, 2))(x, w1, w2)
    calls = _count_calls(monkeypatch)
    dw1 = ember.grad(_net_loss, argnums=1)(x, w1, w2)  # conv 1: the weight's gradient only,
    # conv 2: the input's only (the forward keeps U and V, not knowing; they go unread)
    assert calls == ["conv_kept", "conv_kept", "input_grad", "weight_grad"]
    np.testing.assert_array_equal(np.asarray(dw1), np.asarray(both[1]))
    dx = ember.jit(ember.grad(_net_loss, argnums=0))(x, w1, w2)
    np.testing.assert_array_equal(np.asarray(dx), np.asarray(both[0]))


def test_second_derivatives_jvp_and_vmap_through_the_reference(kernels_on):
    x, w1, w2 = _net_args(1)
    x64 = [np.asarray(a, np.float64) for a in (x, w1, w2)]

    def run(args):
        t = [ember.tensor(a) for a in args]
        hvp = ember.jvp(ember.grad(_net_loss, argnums=1), (t[0], t[1], t[2]),
                        (ember.zeros_like(t[0]), t[1], ember.zeros_like(t[2])))[1]
        per = ember.vmap(lambda xi: _net_loss(xi[None], t[1], t[2]))(t[0])
        return np.asarray(hvp), np.asarray(per)

    got, ref = run([x, w1, w2]), run(x64)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-5 * np.abs(b).max())


@pytest.mark.parametrize("shape,kw,takes", [
    ((4, 16, 8, 8), dict(padding=1), True),
    ((8, 16, 8, 8), dict(padding=0), True),                # 6x6 output
    ((4, 16, 9, 9), dict(padding=1), False),               # odd output
    ((4, 8, 8, 8), dict(padding=1), False),                # few channels
    ((1, 16, 4, 4), dict(padding=1), False),               # 4 tiles
    ((4, 16, 8, 8), dict(padding=1, stride=2), False),
    ((4, 16, 8, 8), dict(padding=2, dilation=2), False),
    ((4, 16, 8, 8), dict(padding=1, groups=2), False),
])
def test_which_convolutions_take_it(kernels_on, shape, kw, takes):
    o = 16
    w = ember.ones(o, shape[1] // kw.get("groups", 1), 3, 3)
    graph = ember.make_jaxpr(lambda x: F.conv2d(x, w, **kw))(ember.ones(*shape))
    assert ("winograd_conv" in str(graph)) == takes
    graph = ember.make_jaxpr(lambda x: F.conv2d(x, w.double(), **kw))(
        ember.ones(*shape, dtype=ember.float64))
    assert "winograd_conv" not in str(graph)
    prev = accel.set_enabled(False)
    try:
        assert "winograd_conv" not in str(ember.make_jaxpr(
            lambda x: F.conv2d(x, w, **kw))(ember.ones(*shape)))
    finally:
        accel.set_enabled(prev)


@pytest.mark.parametrize("n,c,o,out,m", [
    (16, 64, 64, (16, 16), 4), (16, 128, 128, (8, 8), 4), (8, 16, 24, (8, 16), 4),
    (16, 256, 256, (4, 4), 2), (16, 512, 512, (8, 8), 4),  # 16 tiles of 4x4; 64
    (16, 64, 64, (6, 6), 2),                                 # sides not multiples of 4
    (4, 64, 64, (8, 8), 2),                                  # 16 tiles of 4x4
])
def test_which_tile(n, c, o, out, m):
    assert W.tile(n, c, o, out) == m


def test_strict_device_takes_the_numpy_twins_with_the_cpus_bits(kernels_on):
    # the strict device's arrays refuse to mix with plain NumPy ones: every buffer and
    # constant comes from the inputs' namespace; the compiled kernels take NumPy arrays
    # only, so the twins run there, with the same bits
    x, w1, w2 = _net_args(3)
    res = {}
    for dev in ("cpu", "strict"):
        t = [ember.tensor(a).to(dev).requires_grad_() for a in (x, w1, w2)]
        _net_loss(*t).backward()
        res[dev] = [a.grad.cpu().numpy() for a in t]
    for a, b in zip(res["cpu"], res["strict"]):
        np.testing.assert_array_equal(a, b)
