"""float16 and bfloat16 differentiate and train like float32, and their products (matmul,
linear, bmm, einsum, conv) accumulate in float32 and round once to the operand dtype, as
PyTorch's CPU kernels do."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

LOW = [("bfloat16", 2.0 ** -7), ("float16", 2.0 ** -10)]


def _pair(name):
    return getattr(ember, name), getattr(torch, name)


def _rounded(a, name):
    """float32 data rounded to the low-precision dtype, as float32 (both libraries agree)."""
    return ember.tensor(a).to(getattr(ember, name)).float().numpy()


def _close(e, t, eps, scale=1.0):
    """Within two units in the last place of the low-precision result."""
    tv = t.detach().float().numpy()
    np.testing.assert_allclose(e.detach().float().numpy(), tv, rtol=2 * eps, atol=2 * eps * scale)


@pytest.mark.parametrize("name,eps", LOW)
def test_cast_keeps_requires_grad_and_grad_flows(name, eps):
    edt, _ = _pair(name)
    x = ember.randn(3, requires_grad=True)
    y = x.to(edt)
    assert y.requires_grad and y.dtype == edt and y.grad_fn is not None
    (y * 2).sum().backward()
    assert x.grad.dtype == ember.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    leaf = ember.ones(2, dtype=edt, requires_grad=True)
    (leaf * leaf).sum().backward()
    assert leaf.grad.dtype == edt
    np.testing.assert_array_equal(leaf.grad.float().numpy(), [2.0, 2.0])


@pytest.mark.parametrize("name,eps", LOW)
def test_low_precision_matmul_dtype_and_values(name, eps):
    edt, tdt = _pair(name)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((37, 200), np.float32), rng.standard_normal((200, 19), np.float32)
    ea, eb = ember.tensor(a).to(edt), ember.tensor(b).to(edt)
    out = ea @ eb
    ref = torch.tensor(a).to(tdt) @ torch.tensor(b).to(tdt)
    assert out.dtype == edt and str(ref.dtype) == f"torch.{name}"
    # accumulated in float32, rounded once: exactly the rounded float32 product
    exact = _rounded(a, name) @ _rounded(b, name)
    np.testing.assert_array_equal(out.numpy(), exact.astype(edt.np))
    _close(out, ref, eps, scale=np.abs(exact).max())
    # 3-d @ 2-d, bmm, 1-d operands
    c = rng.standard_normal((4, 5, 200), np.float32)
    ec = ember.tensor(c).to(edt)
    assert (ec @ eb).dtype == edt
    np.testing.assert_array_equal((ec @ eb).numpy(),
                                  (_rounded(c, name) @ _rounded(b, name)).astype(edt.np))
    bb = rng.standard_normal((4, 200, 3), np.float32)
    out = ember.bmm(ec, ember.tensor(bb).to(edt))
    _close(out, torch.bmm(torch.tensor(c).to(tdt), torch.tensor(bb).to(tdt)), eps, scale=20)
    assert (ember.tensor(a[0]).to(edt) @ eb).dtype == edt


@pytest.mark.parametrize("name,eps", LOW)
def test_low_precision_products_under_jit_give_eager_bits(name, eps):
    edt, _ = _pair(name)
    a = ember.randn(8, 16).to(edt)
    b = ember.randn(16, 4).to(edt)
    f = ember.jit(lambda x, y: ember.einsum("ij,jk->ik", x, y) + x @ y)
    assert f(a, b).dtype == edt
    np.testing.assert_array_equal(f(a, b).numpy(), (ember.einsum("ij,jk->ik", a, b) + a @ b).numpy())
    assert ember.make_graph(lambda x, y: x @ y)(a, b).outs[0].aval.dtype == edt


@pytest.mark.parametrize("name,eps", LOW)
def test_low_precision_linear_conv_einsum_values_and_grads_match_torch(name, eps):
    edt, tdt = _pair(name)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3, 9, 9), np.float32)
    w = rng.standard_normal((4, 3, 3, 3), np.float32) * 0.3
    bias = rng.standard_normal(4).astype(np.float32)
    ex, ew, eb = (ember.tensor(v).to(edt).requires_grad_(True) for v in (x, w, bias))
    tx, tw, tb = (torch.tensor(v).to(tdt).requires_grad_(True) for v in (x, w, bias))
    eo = ember.nn.functional.conv2d(ex, ew, eb, padding=1)
    to = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
    assert eo.dtype == edt
    _close(eo, to, eps, scale=8)
    g = rng.standard_normal(to.shape).astype(np.float32)
    eo.backward(ember.tensor(g).to(edt))
    to.backward(torch.tensor(g).to(tdt))
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        assert e.grad.dtype == edt
        _close(e.grad, t.grad, eps, scale=np.abs(t.grad.float().numpy()).max())

    lx = rng.standard_normal((5, 12), np.float32)
    lw = rng.standard_normal((7, 12), np.float32)
    elx, elw = ember.tensor(lx).to(edt).requires_grad_(True), ember.tensor(lw).to(edt).requires_grad_(True)
    tlx, tlw = torch.tensor(lx).to(tdt).requires_grad_(True), torch.tensor(lw).to(tdt).requires_grad_(True)
    eo, to = ember.nn.functional.linear(elx, elw), torch.nn.functional.linear(tlx, tlw)
    assert eo.dtype == edt
    _close(eo, to, eps, scale=4)
    eo.sum().backward()
    to.sum().backward()
    assert elw.grad.dtype == edt
    _close(elw.grad, tlw.grad, eps, scale=4)
    _close(elx.grad, tlx.grad, eps, scale=4)

    eo = ember.einsum("bij,bjk->bik", ember.tensor(x[:, 0]).to(edt), ember.tensor(x[:, 1]).to(edt))
    to = torch.einsum("bij,bjk->bik", torch.tensor(x[:, 0]).to(tdt), torch.tensor(x[:, 1]).to(tdt))
    assert eo.dtype == edt
    _close(eo, to, eps, scale=10)


@pytest.mark.parametrize("name,eps", LOW)
def test_low_precision_mlp_trains_like_torch(name, eps):
    edt, tdt = _pair(name)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((32, 8), np.float32)
    Y = rng.integers(0, 4, 32)
    ember.manual_seed(0)
    em = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.ReLU(), ember.nn.Linear(16, 4))
    tm = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em.state_dict().items()})
    em.to(edt)
    tm.to(tdt)
    w0 = em[0].weight.detach().float().numpy().copy()
    eopt = ember.optim.SGD(em.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    for _ in range(10):
        el = ember.nn.functional.cross_entropy(em(ember.tensor(X).to(edt)), ember.tensor(Y))
        eopt.zero_grad()
        el.backward()
        eopt.step()
        tl = torch.nn.functional.cross_entropy(tm(torch.tensor(X).to(tdt)), torch.tensor(Y))
        topt.zero_grad()
        tl.backward()
        topt.step()
    assert em[0].weight.grad is not None and em[0].weight.grad.dtype == edt
    assert em[0].weight.dtype == edt
    assert not np.array_equal(em[0].weight.detach().float().numpy(), w0)
    assert el.dtype == edt
    # ten steps of rounding differences stay within a few units in the last place
    assert abs(float(el) - tl.item()) < 16 * eps * abs(tl.item()) + 1e-2
    np.testing.assert_allclose(em[0].weight.detach().float().numpy(), tm[0].weight.detach().float().numpy(),
                               atol=16 * eps)


def test_module_to_float32_after_bfloat16_and_printing():
    m = ember.nn.Linear(3, 2).to(ember.bfloat16)
    assert m.weight.dtype == ember.bfloat16 and m.weight.requires_grad
    m.to(ember.float32)
    assert m.weight.dtype == ember.float32 and m.bias.dtype == ember.float32
    s = repr(ember.tensor([1.5, -2.0]).to(ember.bfloat16))
    assert s == "tensor([ 1.5000, -2.0000], dtype=ember.bfloat16)"  # as PyTorch: aligned


@pytest.fixture
def torch_one_thread():
    """PyTorch's multi-threaded full reductions round each thread's partial sum to the output
    dtype; with one thread its half sum is the float32 sum rounded once."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("name,eps", LOW)
def test_low_precision_sum_and_mean_accumulate_in_float32(name, eps, torch_one_thread):
    edt, tdt = _pair(name)
    # a long sum: rounding each partial sum to bfloat16 stalls (10000 ones summed to 256)
    ones = ember.ones(10000, dtype=edt)
    total = ones.sum().item()
    assert total == torch.ones(10000, dtype=tdt).sum().item() and abs(total - 1e4) <= eps * 1e4
    rng = np.random.default_rng(1)
    a = (rng.random((300, 200)) * 0.5).astype(np.float32)
    e, t = ember.tensor(a).to(edt), torch.tensor(a).to(tdt)
    for f in (lambda v: v.sum(), lambda v: v.sum(0), lambda v: v.sum(1, keepdim=True),
              lambda v: v.mean(), lambda v: v.mean(1), lambda v: v.mean((0, 1), keepdim=True)):
        got, ref = f(e), f(t)
        assert got.dtype == edt and got.shape == tuple(ref.shape)
        # float32 accumulation rounded once: the same bits as PyTorch (sums of at most 300
        # terms; NumPy's pairwise order vs PyTorch's can only differ past float32's precision)
        np.testing.assert_array_equal(got.float().numpy(), ref.float().numpy())
    exact = _rounded(a, name).astype(np.float64).sum()
    assert abs(e.sum().item() - exact) <= eps * exact
    # jit gives the eager bits; the gradient keeps the input dtype
    jf = ember.jit(lambda v: (v.sum(), v.mean(0)))
    js, jm = jf(e)
    assert js.dtype == edt and js.item() == e.sum().item()
    np.testing.assert_array_equal(jm.float().numpy(), e.mean(0).float().numpy())
    g = ember.grad(lambda v: v.mean().float())(e)
    assert g.dtype == edt
