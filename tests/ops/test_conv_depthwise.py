"""Depthwise 2-D stride-1 convolutions (one input and one output channel per group) take
their own kernels in ember/ops/conv.py (_dw_fwd, _dw_cols_grad + _dw_unwindows, _dw_w_grad):
values and gradients against PyTorch, eager against jit bit for bit, the cases that keep the
per-group products (a channel multiplier, stride 2, dilation), and that the kernels run."""
import numpy as np
import pytest

import ember
from ember.ops import conv

F = ember.nn.functional
torch = pytest.importorskip("torch")


def _case(n, c, h, w, k, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((c, 1, k, k)).astype(np.float32)
    return x, wt, rng.standard_normal((c,)).astype(np.float32)


@pytest.mark.parametrize("n,c,h,w,k,pad", [(2, 4, 7, 9, 3, 1), (3, 6, 8, 8, 5, 2),
                                           (1, 3, 10, 6, 7, 3), (2, 5, 6, 6, 3, 0),
                                           (4, 2, 5, 5, 1, 0), (2, 3, 9, 4, (3, 1), (1, 0))])
def test_matches_torch(n, c, h, w, k, pad):
    rng = np.random.default_rng(1)
    kk = k if isinstance(k, tuple) else (k, k)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((c, 1) + kk).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    xe, we, be = (ember.tensor(v, requires_grad=True) for v in (x, wt, b))
    xt, wtt, bt = (torch.tensor(v, requires_grad=True) for v in (x, wt, b))
    oe = F.conv2d(xe, we, be, padding=pad, groups=c)
    ot = torch.nn.functional.conv2d(xt, wtt, bt, padding=pad, groups=c)
    ct = rng.standard_normal(tuple(ot.shape)).astype(np.float32)
    oe.backward(ember.tensor(ct))
    ot.backward(torch.tensor(ct))
    np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), rtol=1e-5, atol=1e-5)
    for e, t in ((xe, xt), (we, wtt), (be, bt)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_the_depthwise_kernels_run(monkeypatch):
    calls = []

    def spying(orig, name):
        def spy(*a):
            r = orig(*a)
            calls.append((name, r is not None))
            return r
        return spy
    for which, (fast, ok) in list(conv._DW.items()):
        monkeypatch.setitem(conv._DW, which, (spying(fast, fast.__name__), ok))
    monkeypatch.setattr(conv, "_dw_unwindows", spying(conv._dw_unwindows, "_dw_unwindows"))
    x, w, _ = _case(2, 4, 6, 6, 3)
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    F.conv2d(xe, we, padding=1, groups=4).sum().backward()
    assert sorted(set(calls)) == [("_dw_cols_grad", True), ("_dw_fwd", True),
                                  ("_dw_unwindows", True), ("_dw_w_grad", True)]


def test_eager_and_jit_same_bits():
    x, w, b = _case(3, 8, 9, 7, 3, seed=2)
    ct = ember.tensor(np.random.default_rng(3).standard_normal((3, 8, 9, 7)).astype(np.float32))

    def loss(x, w, b):
        return (F.conv2d(x, w, b, padding=1, groups=8) * ct).sum()

    args = [ember.tensor(v) for v in (x, w, b)]
    eager = ember.grad(loss, argnums=(0, 1, 2))(*args)
    jitted = ember.jit(ember.grad(loss, argnums=(0, 1, 2)))(*args)
    for e, j in zip(eager, jitted):
        np.testing.assert_array_equal(e.numpy(), j.numpy())
    xe, we, be = (a.clone().requires_grad_() for a in args)
    loss(xe, we, be).backward()
    for e, j in zip((xe.grad, we.grad, be.grad), jitted):
        np.testing.assert_array_equal(e.numpy(), j.numpy())


@pytest.mark.parametrize("mult,stride,dilation", [(2, 1, 1), (1, 2, 1), (1, 1, 2)])
def test_other_grouped_layers_keep_the_general_kernels(mult, stride, dilation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((3 * mult, 1, 3, 3)).astype(np.float32)
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    oe = F.conv2d(xe, we, padding=1, stride=stride, dilation=dilation, groups=3)
    ot = torch.nn.functional.conv2d(xt, wt, padding=1, stride=stride, dilation=dilation,
                                    groups=3)
    (oe ** 2).sum().backward()
    (ot ** 2).sum().backward()
    np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_vmap_per_example_gradients_and_second_order():
    x, w, _ = _case(4, 3, 5, 5, 3, seed=5)
    xs, ws = ember.tensor(x.astype(np.float64)), ember.tensor(w.astype(np.float64))

    def f(w, x):
        return (F.conv2d(x[None], w, padding=1, groups=3) ** 2).sum()

    per = ember.vmap(ember.grad(f), in_axes=(None, 0))(ws, xs)
    loop = np.stack([ember.grad(f)(ws, xs[i]).numpy() for i in range(4)])
    np.testing.assert_allclose(per.numpy(), loop, rtol=1e-10, atol=1e-12)
    wt = torch.tensor(w.astype(np.float64), requires_grad=True)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    (g,) = torch.autograd.grad((torch.nn.functional.conv2d(xt, wt, padding=1, groups=3) ** 2)
                               .sum(), xt, create_graph=True)
    (gw,) = torch.autograd.grad((g ** 2).sum(), wt)
    xe = ember.tensor(x.astype(np.float64), requires_grad=True)
    we = ember.tensor(w.astype(np.float64), requires_grad=True)
    (ge,) = ember.autograd.grad((F.conv2d(xe, we, padding=1, groups=3) ** 2).sum(), xe,
                                create_graph=True)
    (gwe,) = ember.autograd.grad((ge ** 2).sum(), we)
    np.testing.assert_allclose(gwe.numpy(), gw.numpy(), rtol=1e-9, atol=1e-9)


def _spy_fused(monkeypatch):
    calls = []
    orig = conv._dw_input_grad

    def spy(*a):
        calls.append(a[0].shape)
        return orig(*a)
    monkeypatch.setattr(conv, "_dw_input_grad", spy)
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plans_fuse_the_input_gradient_with_the_same_bits(monkeypatch, dtype):
    # jit's plan (and the replayed eager backward) computes the input gradient without
    # the windows gradient; the walked eager backward forms it: the same bits either way
    from ember.transforms import tape_plans
    tape_plans.clear()  # (earlier tests' backoff would skip keying the first repeats)
    calls = _spy_fused(monkeypatch)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 5, 7, 6)).astype(dtype)
    w = rng.standard_normal((5, 1, 3, 3)).astype(dtype)
    ct = ember.tensor(rng.standard_normal((3, 5, 7, 6)).astype(dtype))

    def loss(x, w):
        return (F.conv2d(x, w, padding=1, groups=5) * ct).sum()
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    loss(xe, we).backward()
    assert calls == []  # the walk
    jitted = ember.jit(ember.grad(loss, argnums=(0, 1)))(ember.tensor(x), ember.tensor(w))
    assert calls == [(3, 5, 1, 7, 6)]
    np.testing.assert_array_equal(jitted[0].numpy(), xe.grad.numpy())
    np.testing.assert_array_equal(jitted[1].numpy(), we.grad.numpy())
    for _ in range(3):  # a repeating eager tape is replayed through a plan
        xe.grad = we.grad = None
        loss(xe, we).backward()
        np.testing.assert_array_equal(xe.grad.numpy(), jitted[0].numpy())
    assert len(calls) > 1
    xt = torch.tensor(x, requires_grad=True)
    (torch.nn.functional.conv2d(xt, torch.tensor(w), padding=1, groups=5) *
     torch.tensor(ct.numpy())).sum().backward()
    np.testing.assert_allclose(jitted[0].numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_the_windows_gradient_kept_when_used_elsewhere(monkeypatch):
    # the pass fuses only a windows gradient that feeds col2im alone
    from ember.core.primitive import bind
    from ember.ops.einsum import einsum
    calls = _spy_fused(monkeypatch)
    rng = np.random.default_rng(7)
    ct = ember.tensor(rng.standard_normal((2, 3, 1, 4, 4)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((3, 1, 1, 3, 3)).astype(np.float32))

    def f(ct, w):
        cols = einsum("ngohw,gockl->ngchwkl", ct, w)
        flat = cols.reshape((2, 3, 4, 4, 3, 3))
        x = bind(conv.unwindows_p, flat, size=(6, 6), kernel=(3, 3), stride=(1, 1),
                 dilation=(1, 1))
        return x, cols.sum()
    eager = f(ct, w)
    jitted = ember.jit(f)(ct, w)
    assert calls == []
    for e, j in zip(eager, jitted):
        np.testing.assert_array_equal(e.numpy(), j.numpy())
    only = ember.jit(lambda ct, w: f(ct, w)[0])(ct, w)
    assert len(calls) == 1
    np.testing.assert_array_equal(only.numpy(), eager[0].numpy())


def test_depthwise_transposed_convolution_in_a_plan():
    # conv_transpose is unwindows(einsum(x, w)) itself: fused in plans, the same bits
    rng = np.random.default_rng(8)
    x = ember.tensor(rng.standard_normal((2, 4, 5, 5)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((4, 1, 3, 3)).astype(np.float32))

    def f(x, w):
        return F.conv_transpose2d(x, w, groups=4, padding=1)
    np.testing.assert_array_equal(ember.jit(f)(x, w).numpy(), f(x, w).numpy())
    ref = torch.nn.functional.conv_transpose2d(torch.tensor(x.numpy()), torch.tensor(w.numpy()),
                                               groups=4, padding=1)
    np.testing.assert_allclose(f(x, w).numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_the_fused_primitive_is_its_pair_under_the_transforms():
    # the primitive exists for plans, but binds anywhere: eagerly (fast kernel or the pair),
    # and its derivatives and batching come from its reference, the pair
    from ember.core.primitive import bind
    from ember.ops.einsum import einsum
    rng = np.random.default_rng(9)
    ct = ember.tensor(rng.standard_normal((2, 3, 1, 4, 5)))
    w = ember.tensor(rng.standard_normal((3, 1, 1, 3, 2)))
    params = dict(size=(6, 6), kernel=(3, 2), stride=(1, 1), dilation=(1, 1))

    def fused(ct, w):
        return bind(conv.conv_input_grad_p, ct, w, eq=conv._DW_COLS_EQ,
                    cols_shape=(2, 3, 4, 5, 3, 2), **params)

    def pair(ct, w):
        cols = einsum(conv._DW_COLS_EQ, ct, w).reshape((2, 3, 4, 5, 3, 2))
        return bind(conv.unwindows_p, cols, **params)
    np.testing.assert_array_equal(fused(ct, w).numpy(), pair(ct, w).numpy())
    loss = lambda f: lambda ct, w: (f(ct, w) ** 2).sum()  # noqa: E731
    for a, b in zip(ember.grad(loss(fused), argnums=(0, 1))(ct, w),
                    ember.grad(loss(pair), argnums=(0, 1))(ct, w)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    cts = ember.tensor(rng.standard_normal((4, 2, 3, 1, 4, 5)))
    np.testing.assert_allclose(ember.vmap(fused, in_axes=(0, None))(cts, w).numpy(),
                               np.stack([pair(c, w).numpy() for c in cts]), rtol=1e-12)
