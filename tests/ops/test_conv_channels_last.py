"""A 2-D convolution's windows gradient with many channels and short output rows is formed
channels-last, memory (KH, KW, N, OH, OW, C) (ember/ops/conv.py,
_cols_grad_channels_last; with at least as many output channels as rows, one wide product,
memory (N, OH, OW, C, KH, KW)), and col2im adds it into a channels-last input gradient
(_unwindows_channels_last): the input gradient matches float64 and PyTorch for stride 1,
strides, dilation and padding, eagerly and in jit plans with the same bits; which layers
take it."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import conv as C

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n,c,o,s,k,stride,pad,dil", [
    (2, 32, 8, 8, 3, 1, 1, 1),      # ResNet's 3x3 at a small size
    (3, 40, 16, 7, 3, 2, 1, 1),     # a strided downsampling layer
    (2, 32, 4, 9, (2, 3), 1, 0, 1),  # unequal kernel, no padding
    (1, 48, 6, 12, 3, 1, 2, 2),     # dilated
    (2, 32, 5, 11, 5, (2, 1), 2, 1),  # unequal strides
    (2, 64, 64, 4, 3, 1, 1, 1),     # as many output channels as rows: one wide product
    (3, 32, 48, 6, 3, 2, 1, 1),     # wide, strided
    (1, 40, 24, 5, (2, 3), 1, 1, 2),  # wide, dilated, unequal kernel
])
def test_input_gradient_matches_torch_and_float64(n, c, o, s, k, stride, pad, dil):
    rng = np.random.default_rng(0)
    kk = k if isinstance(k, tuple) else (k, k)
    x = rng.standard_normal((n, c, s, s)).astype(np.float32)
    w = (rng.standard_normal((o, c) + kk) / np.sqrt(c * 9)).astype(np.float32)
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ye = F.conv2d(xe, we, stride=stride, padding=pad, dilation=dil)
    yt = torch.nn.functional.conv2d(xt, wt, stride=stride, padding=pad, dilation=dil)
    assert ye.shape[-1] <= C._CL_MAX_OW
    ct = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    ye.backward(ember.tensor(ct))
    yt.backward(torch.tensor(ct))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-4)
    x64, w64 = (torch.tensor(v.astype(np.float64), requires_grad=True) for v in (x, w))
    torch.nn.functional.conv2d(x64, w64, stride=stride, padding=pad, dilation=dil).backward(
        torch.tensor(ct.astype(np.float64)))
    err = np.abs(xe.grad.numpy() - x64.grad.numpy()).max() / np.abs(x64.grad.numpy()).max()
    assert err < 1e-6


@pytest.mark.parametrize("o,wide", [(16, False), (128, True)])
def test_eager_and_jit_same_bits(o, wide, monkeypatch):
    calls = []
    orig = C._cols_grad_wide
    monkeypatch.setattr(C, "_cols_grad_wide", lambda ct, w: calls.append(1) or orig(ct, w))
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((4, 32, 10, 10)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((o, 32, 3, 3)).astype(np.float32))
    ct = ember.tensor(rng.standard_normal((4, o, 5, 5)).astype(np.float32))

    def loss(x, w):
        return (F.conv2d(x, w, stride=2, padding=1) * ct).sum()
    eager = ember.grad(loss, argnums=(0, 1))(x, w)
    jitted = ember.jit(ember.grad(loss, argnums=(0, 1)))(x, w)
    for e, j in zip(eager, jitted):
        np.testing.assert_array_equal(e.numpy(), j.numpy())
    assert bool(calls) == wide  # 4*5*5 = 100 rows: wide from 100 output channels


def test_which_layers_take_it(monkeypatch):
    calls = []
    orig = C._cols_grad_channels_last
    monkeypatch.setattr(C, "_cols_grad_channels_last",
                        lambda ct, w, *a: calls.append(w.shape) or orig(ct, w, *a))
    rng = np.random.default_rng(2)

    def grad_x(n, c, s, stride=1, dtype=np.float32):
        x = ember.tensor(rng.standard_normal((n, c, s, s)).astype(dtype), requires_grad=True)
        w = ember.tensor(rng.standard_normal((8, c, 3, 3)).astype(dtype))
        F.conv2d(x, w, stride=stride, padding=1).sum().backward()
    grad_x(2, 32, 16)                 # 16 wide, 32 channels: yes
    grad_x(2, 32, 32, stride=2)       # strided to 16 wide: yes
    grad_x(2, 32, 8, dtype=np.float16)  # float16 (computed in float32): yes
    assert len(calls) == 3
    grad_x(2, 32, 17)                 # 17 wide: channel-major
    grad_x(2, 16, 8)                  # few channels (a thin product): channel-major
    assert len(calls) == 3


@pytest.mark.parametrize("stride,o", [(1, 8), (2, 8), (1, 320), (2, 96)])
@pytest.mark.usefixtures("numpy_paths")  # (with the kernels, (1, 320) takes Winograd)
def test_plans_fuse_it_with_the_same_bits(monkeypatch, stride, o):
    # jit's plan (and the replayed eager backward) runs the windows gradient and col2im as
    # one kernel, offset by offset, never writing the whole windows gradient; the walked
    # eager backward forms it: the same bits
    from ember.transforms import tape_plans
    tape_plans.clear()
    calls = []
    orig = C._input_grad_channels_last
    monkeypatch.setattr(C, "_input_grad_channels_last",
                        lambda *a: calls.append(a[0].shape) or orig(*a))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 32, 10, 10)).astype(np.float32)
    w = rng.standard_normal((o, 32, 3, 3)).astype(np.float32)
    ct = ember.tensor(rng.standard_normal((3, o, 10 // stride, 10 // stride)).astype(np.float32))
    assert C._wide_cols_grad(ct.numpy(), w) == (o > 8)  # 300 and 75 rows

    def loss(x, w):
        return (F.conv2d(x, w, stride=stride, padding=1) * ct).sum()
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    loss(xe, we).backward()
    assert calls == []  # the walk: the windows gradient, then col2im
    jitted = ember.jit(ember.grad(loss, argnums=(0, 1)))(ember.tensor(x), ember.tensor(w))
    assert len(calls) == 1
    np.testing.assert_array_equal(jitted[0].numpy(), xe.grad.numpy())
    np.testing.assert_array_equal(jitted[1].numpy(), we.grad.numpy())
    for _ in range(3):  # the repeating eager tape, replayed through a plan
        xe.grad = we.grad = None
        loss(xe, we).backward()
        np.testing.assert_array_equal(xe.grad.numpy(), jitted[0].numpy())
    assert len(calls) > 1
