"""The fused batch-norm primitive (ember/ops/norm.py): values and gradients against its
composed reference and PyTorch, running statistics, the inputs it serves and the ones it
leaves to the composed form, and an in-place ReLU on its output."""
import numpy as np
import pytest

import ember
from ember.ops import norm

F = ember.nn.functional
torch = pytest.importorskip("torch")


def _data(shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    c = shape[1]
    return x, (rng.random(c) + 0.5).astype(dtype), rng.standard_normal(c).astype(dtype), \
        rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 7), (2, 5, 4, 6), (2, 2, 3, 2, 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_matches_torch_values_gradients_and_running_stats(shape, affine):
    x, w, b, ct = _data(shape)
    xe = ember.tensor(x, requires_grad=True)
    we, be = (ember.tensor(w, requires_grad=True), ember.tensor(b, requires_grad=True)) \
        if affine else (None, None)
    rm, rv = ember.zeros(shape[1]), ember.ones(shape[1])
    out = F.batch_norm(xe, rm, rv, we, be, training=True, momentum=0.2, eps=1e-3)
    out.backward(ember.tensor(ct))
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) \
        if affine else (None, None)
    rmt, rvt = torch.zeros(shape[1]), torch.ones(shape[1])
    ot = torch.nn.functional.batch_norm(xt, rmt, rvt, wt, bt, training=True, momentum=0.2,
                                        eps=1e-3)
    ot.backward(torch.tensor(ct))
    tol = dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out.detach().numpy(), ot.detach().numpy(), **tol)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), **tol)
    np.testing.assert_allclose(rm.numpy(), rmt.numpy(), **tol)
    np.testing.assert_allclose(rv.numpy(), rvt.numpy(), **tol)
    if affine:
        np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), **tol)
        np.testing.assert_allclose(be.grad.numpy(), bt.grad.numpy(), **tol)


def test_kernels_equal_the_reference_in_float64():
    x, w, b, ct = _data((3, 4, 5, 2), np.float64)
    args = [ember.tensor(v) for v in (x, w, b)]
    got = norm.batch_norm_train_p.impl(x, w, b, eps=1e-5)
    ref = norm._bn_ref(*args, eps=1e-5)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-12, atol=1e-12)
    out, vjp_fn = ember.vjp(lambda *a: norm._bn_ref(*a, eps=1e-5)[0], *args)
    want = vjp_fn(ember.tensor(ct))
    got = norm.batch_norm_train_bwd_p.impl(ct, x, w, got[1], got[2], eps=1e-5)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-10, atol=1e-12)


def test_eager_and_jit_same_bits_and_the_primitive_is_used():
    x, w, b, ct = _data((4, 3, 5, 5))

    def loss(x, w, b):
        return (F.batch_norm(x, None, None, w, b, training=True) * ember.tensor(ct)).sum()

    args = [ember.tensor(v) for v in (x, w, b)]
    eager = ember.grad(loss, argnums=(0, 1, 2))(*args)
    jitted = ember.jit(ember.grad(loss, argnums=(0, 1, 2)))(*args)
    for e, j in zip(eager, jitted):
        np.testing.assert_array_equal(e.numpy(), j.numpy())
    xe = args[0].clone().requires_grad_()
    assert "batch_norm_train" in str(F.batch_norm(xe, None, None, training=True).grad_fn).lower()


def test_inplace_relu_on_the_output_keeps_the_backward_valid():
    """The rule reads the statistics, not the output: ResNet's BatchNorm -> ReLU(inplace)."""
    x, w, b, ct = _data((4, 3, 6, 6))
    bn = ember.nn.BatchNorm2d(3)
    xe = ember.tensor(x, requires_grad=True)
    y = ember.nn.functional.relu(bn(xe), inplace=True)
    y.backward(ember.tensor(ct))
    tbn = torch.nn.BatchNorm2d(3)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.relu(tbn(xt), inplace=True).backward(torch.tensor(ct))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_an_inplace_change_of_the_input_is_still_caught():
    xe = ember.tensor(_data((4, 3, 2))[0], requires_grad=True)
    x2 = xe * 1
    y = F.batch_norm(x2, None, None, training=True)
    x2.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def _check_against_reference(f, f_ref, xs, ws):
    """Second order, vmap and JVP of ``f`` (through a fused primitive) equal those of
    ``f_ref`` (its reference written out)."""
    h = ember.grad(lambda v: ember.grad(f)(v, ws).sum())(xs)
    h_ref = ember.grad(lambda v: ember.grad(f_ref)(v, ws).sum())(xs)
    np.testing.assert_allclose(h.numpy(), h_ref.numpy(), rtol=1e-8, atol=1e-10)
    batched = ember.vmap(lambda v: f(v, ws))(ember.stack([xs, xs * 2]))
    np.testing.assert_allclose(batched.numpy(), [f(xs, ws).item(), f(xs * 2, ws).item()],
                               rtol=1e-10)
    _, t = ember.jvp(lambda v: f(v, ws), (xs,), (ember.ones_like(xs),))
    _, t_ref = ember.jvp(lambda v: f_ref(v, ws), (xs,), (ember.ones_like(xs),))
    np.testing.assert_allclose(t.numpy(), t_ref.numpy(), rtol=1e-8, atol=1e-10)


def test_second_order_vmap_and_jvp_come_from_the_reference():
    x, w, b, ct = _data((3, 2, 4), np.float64)

    def f(x, w):
        return (F.batch_norm(x, None, None, w, None, training=True) ** 2).sum()

    def f_ref(x, w):
        return (norm._bn_ref(x, w, w * 0, eps=1e-5)[0] ** 2).sum()

    _check_against_reference(f, f_ref, ember.tensor(x), ember.tensor(w))


def test_other_dtypes_take_the_composed_form():
    x = ember.tensor(_data((4, 3, 2))[0]).to(ember.bfloat16).requires_grad_()
    out = F.batch_norm(x, None, None, training=True)
    assert out.dtype == ember.bfloat16
    assert "batch_norm_train" not in str(out.grad_fn).lower()
    ref = torch.nn.functional.batch_norm(torch.tensor(_data((4, 3, 2))[0]).bfloat16(), None,
                                         None, training=True)
    np.testing.assert_allclose(out.float().detach().numpy(), ref.float().numpy(), atol=0.05)


def test_backward_sums_in_the_inputs_layout_whatever_the_cotangents():
    """The eager tape and a jit plan may hand the cotangent over C-ordered or channel-major:
    the kernel's bits don't depend on which."""
    x, w, b, ct = _data((8, 16, 6, 6))
    xcm = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)  # channel-major
    _, mean, var = norm.batch_norm_train_p.impl(xcm, w, b, eps=1e-5)
    ccm = np.ascontiguousarray(ct.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    a = norm.batch_norm_train_bwd_p.impl(ct, xcm, w, mean, var, eps=1e-5)
    c = norm.batch_norm_train_bwd_p.impl(ccm, xcm, w, mean, var, eps=1e-5)
    for u, v in zip(a, c):
        np.testing.assert_array_equal(u, v)


def test_conv_bn_relu_block_eager_tape_equals_jit_bit_for_bit():
    rng = np.random.default_rng(1)
    ember.manual_seed(0)
    block = ember.nn.Sequential(ember.nn.Conv2d(3, 8, 3, padding=1, bias=False),
                                ember.nn.BatchNorm2d(8), ember.nn.ReLU(inplace=True),
                                ember.nn.Conv2d(8, 8, 3, padding=1, bias=False),
                                ember.nn.BatchNorm2d(8), ember.nn.ReLU(inplace=True))
    x = ember.tensor(rng.standard_normal((4, 3, 6, 6)).astype(np.float32))
    params = {k: v.detach() for k, v in block.named_parameters()}
    from ember.func import functional_call

    def loss(p):
        return (functional_call(block, p, (x,)) ** 2).mean()

    jitted = ember.jit(ember.grad(loss))(params)
    block.zero_grad()
    (block(x) ** 2).mean().backward()
    for k, v in block.named_parameters():
        np.testing.assert_array_equal(v.grad.numpy(), jitted[k].numpy(), err_msg=k)


# ---- layer norm ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,ns", [((4, 7, 10), (10,)), ((3, 5, 4, 6), (4, 6)),
                                      ((6, 8), (8,)), ((5,), (5,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, ns, affine):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    w, b = rng.standard_normal(ns).astype(np.float32), rng.standard_normal(ns).astype(np.float32)
    ct = rng.standard_normal(shape).astype(np.float32)
    xe = ember.tensor(x, requires_grad=True)
    we, be = (ember.tensor(w, requires_grad=True), ember.tensor(b, requires_grad=True)) \
        if affine else (None, None)
    F.layer_norm(xe, ns, we, be, eps=1e-4).backward(ember.tensor(ct))
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) \
        if affine else (None, None)
    ot = torch.nn.functional.layer_norm(xt, ns, wt, bt, eps=1e-4)
    ot.backward(torch.tensor(ct))
    out = F.layer_norm(ember.tensor(x), ns, None if we is None else we.detach(),
                       None if be is None else be.detach(), eps=1e-4)
    np.testing.assert_allclose(out.numpy(), ot.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    if affine:
        np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(be.grad.numpy(), bt.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_kernels_equal_the_reference_in_float64(affine):
    rng = np.random.default_rng(3)
    x, ct = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 4, 5))
    w, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    args = [ember.tensor(v) for v in (x, w, b)]
    kw = dict(k=2, eps=1e-5, affine=affine)
    got = norm.layer_norm_p.impl(x, w, b, **kw)
    for g, r in zip(got, norm._ln_ref(*args, **kw)):
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-12, atol=1e-12)
    _, vjp_fn = ember.vjp(lambda *a: norm._ln_ref(*a, **kw)[0], *args)
    want = vjp_fn(ember.tensor(ct))
    mine = norm.layer_norm_bwd_p.impl(ct, x, w, got[1], got[2], **kw)
    for g, r in zip(mine, want):  # (without the affine map: zero weight and bias gradients)
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-10, atol=1e-12)


def test_layer_norm_bits_dont_depend_on_layout_eager_or_jit():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 5, 16)).astype(np.float32)
    w = rng.standard_normal(16).astype(np.float32)
    xt = ember.tensor(np.ascontiguousarray(x.transpose(1, 0, 2))).transpose(0, 1)  # a view
    a = F.layer_norm(ember.tensor(x), (16,), ember.tensor(w)).numpy()
    np.testing.assert_array_equal(F.layer_norm(xt, (16,), ember.tensor(w)).numpy(), a)

    def loss(x, w):
        return (F.layer_norm(x, (16,), w) ** 3).sum()

    ge = ember.grad(loss, argnums=(0, 1))(ember.tensor(x), ember.tensor(w))
    gj = ember.jit(ember.grad(loss, argnums=(0, 1)))(ember.tensor(x), ember.tensor(w))
    for e, j in zip(ge, gj):
        np.testing.assert_array_equal(e.numpy(), j.numpy())


def test_layer_norm_second_order_vmap_jvp_from_the_reference():
    rng = np.random.default_rng(5)
    xs, ws = ember.tensor(rng.standard_normal((3, 4))), ember.tensor(rng.standard_normal(4))

    def f(x, w):
        return (F.layer_norm(x, (4,), w) ** 3).sum()

    def f_ref(x, w):
        return (norm._ln_ref(x, w, w * 0, k=1, eps=1e-5, affine=True)[0] ** 3).sum()

    _check_against_reference(f, f_ref, xs, ws)


@pytest.mark.parametrize("shape,groups", [((4, 6, 5, 3), 3), ((2, 8, 7), 8), ((3, 4, 2, 2, 2), 1)])
def test_group_norm_through_the_layer_norm_kernel_matches_torch(shape, groups):
    rng = np.random.default_rng(6)
    x = (rng.standard_normal(shape) * 2 - 1).astype(np.float32)
    c = shape[1]
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    ct = rng.standard_normal(shape).astype(np.float32)
    xe, we, be = (ember.tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.group_norm(xe, groups, we, be)
    out.backward(ember.tensor(ct))
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    ot = torch.nn.functional.group_norm(xt, groups, wt, bt)
    ot.backward(torch.tensor(ct))
    np.testing.assert_allclose(out.detach().numpy(), ot.detach().numpy(), rtol=1e-5, atol=1e-5)
    for e, t in ((xe, xt), (we, wt), (be, bt)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (3, 2, 7), (2, 2, 3, 2, 2)])
def test_instance_norm_through_the_layer_norm_kernel_matches_torch(shape):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    c = shape[1]
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    ct = rng.standard_normal(shape).astype(np.float32)
    xe, we, be = (ember.tensor(v, requires_grad=True) for v in (x, w, b))
    F.instance_norm(xe, weight=we, bias=be).backward(ember.tensor(ct))
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    torch.nn.functional.instance_norm(xt, weight=wt, bias=bt).backward(torch.tensor(ct))
    for e, t in ((xe, xt), (we, wt), (be, bt)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(F.instance_norm(ember.tensor(x)).numpy(),
                               torch.nn.functional.instance_norm(torch.tensor(x)).numpy(),
                               rtol=1e-5, atol=1e-5)
