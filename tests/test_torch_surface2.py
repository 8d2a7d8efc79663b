"""autograd.Function, anomaly detection, torch.func names, ember.special, ember.testing."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")  # parity tests: skipped without torch

import ember
import ember.special as es


def _np(t):
    return t.detach().numpy()


def _make(lib):
    class ScaledTanh(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale, bias):
            y = (x * scale).tanh() + bias
            ctx.save_for_backward(x, y - bias)
            ctx.scale = scale
            return y

        @staticmethod
        def backward(ctx, g):
            x, t = ctx.saved_tensors
            gx = g * (1 - t * t) * ctx.scale if ctx.needs_input_grad[0] else None
            gb = g.sum(0) if ctx.needs_input_grad[2] else None
            return gx, None, gb
    return ScaledTanh


def test_function_matches_torch_eager():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    b = np.ones(3, np.float32)
    xe, be = ember.tensor(x, requires_grad=True), ember.tensor(b, requires_grad=True)
    xt, bt = torch.tensor(x, requires_grad=True), torch.tensor(b, requires_grad=True)
    ye = _make(ember).apply(xe, 2.0, be)
    yt = _make(torch).apply(xt, 2.0, bt)
    np.testing.assert_allclose(_np(ye), _np(yt), rtol=1e-6)
    (ye ** 2).sum().backward()
    (yt ** 2).sum().backward()
    np.testing.assert_allclose(_np(xe.grad), _np(xt.grad), rtol=1e-5)
    np.testing.assert_allclose(_np(be.grad), _np(bt.grad), rtol=1e-5)


def test_function_under_transforms():
    f = _make(ember)
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    b = ember.zeros(3)
    g = ember.grad(lambda v: f.apply(v, 0.5, b).sum())(ember.tensor(x))
    np.testing.assert_allclose(_np(g), 0.5 * (1 - np.tanh(0.5 * x) ** 2), rtol=1e-5)
    gj = ember.jit(ember.grad(lambda v: f.apply(v, 0.5, b).sum()))(ember.tensor(x))
    np.testing.assert_allclose(_np(gj), _np(g), rtol=1e-5)
    vm = ember.vmap(lambda row: f.apply(row, 0.5, b))(ember.tensor(x))
    np.testing.assert_allclose(_np(vm), np.tanh(0.5 * x), rtol=1e-5)


def test_function_new_style_and_multiple_outputs():
    class Split(ember.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2, x * 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.mark_non_differentiable()

        @staticmethod
        def backward(ctx, ga, gb):
            return ga * 2 + gb * 3

    x = ember.tensor([1.0, 2.0], requires_grad=True)
    a, b = Split.apply(x)
    (a.sum() + b.sum()).backward()
    np.testing.assert_allclose(_np(x.grad), [5.0, 5.0])


def test_function_errors():
    class Wrong(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x = ember.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Wrong.apply(x, x).sum().backward()
    with pytest.raises(TypeError, match="keyword"):
        Wrong.apply(x, y=x)


def test_detect_anomaly():
    x = ember.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned nan values"):
        with ember.autograd.detect_anomaly():
            (x.sqrt() * 0.0).sum().backward()
    assert not ember.autograd.is_anomaly_enabled()
    ember.autograd.set_detect_anomaly(True)
    try:
        y = ember.tensor([1.0, 2.0], requires_grad=True)
        (y * 2).sum().backward()  # no NaN: runs through
        np.testing.assert_allclose(_np(y.grad), [2.0, 2.0])
    finally:
        ember.autograd.set_detect_anomaly(False)
    assert not ember.autograd.is_anomaly_enabled()


def test_func_names():
    x = ember.tensor([1.0, 2.0])
    g, v = ember.func.grad_and_value(lambda a: (a ** 3).sum())(x)
    xt = torch.tensor([1.0, 2.0])
    gt, vt = torch.func.grad_and_value(lambda a: (a ** 3).sum())(xt)
    np.testing.assert_allclose(_np(g), gt.numpy())
    np.testing.assert_allclose(_np(v), vt.numpy())
    m = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = ember.func.vmap(lambda r, s: r * s, in_dims=(1, None))(ember.tensor(m), ember.tensor(2.0))
    outt = torch.func.vmap(lambda r, s: r * s, in_dims=(1, None))(torch.tensor(m), torch.tensor(2.0))
    np.testing.assert_allclose(_np(out), outt.numpy())
    j, aux = ember.func.jacrev(lambda a: (a.sin(), a.sum()), has_aux=True)(x)
    jt, auxt = torch.func.jacrev(lambda a: (a.sin(), a.sum()), has_aux=True)(xt)
    np.testing.assert_allclose(_np(j), jt.numpy(), rtol=1e-6)
    np.testing.assert_allclose(_np(aux), auxt.numpy())
    h = ember.func.hessian(lambda a: (a ** 3).sum())(x)
    np.testing.assert_allclose(_np(h), torch.func.hessian(lambda a: (a ** 3).sum())(xt).numpy())


UNARY = ["erf", "erfc", "erfinv", "expit", "logit", "ndtr", "ndtri", "log_ndtr", "sinc",
         "entr", "i0", "erfcx", "digamma", "gammaln", "log1p", "expm1", "exp2", "psi"]


@pytest.mark.parametrize("name", UNARY)
def test_special_unary(name):
    rng = np.random.default_rng(3)
    if name in ("erfinv",):
        a = rng.uniform(-0.95, 0.95, 20)
    elif name in ("logit", "ndtri", "entr"):
        a = rng.uniform(0.02, 0.98, 20)
    elif name in ("digamma", "gammaln", "psi"):
        a = rng.uniform(0.2, 6.0, 20)
    else:
        a = rng.uniform(-3.0, 3.0, 20)
    a = a.astype(np.float32)
    e = getattr(es, name)(ember.tensor(a, requires_grad=True))
    t = getattr(torch.special, name)(torch.tensor(a, requires_grad=True))
    assert str(_np(e).dtype) == str(t.detach().numpy().dtype)
    np.testing.assert_allclose(_np(e), t.detach().numpy(), rtol=2e-4, atol=1e-5)
    if name not in ("i0",):
        xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        getattr(es, name)(xe).sum().backward()
        getattr(torch.special, name)(xt).sum().backward()
        np.testing.assert_allclose(_np(xe.grad), xt.grad.numpy(), rtol=2e-3, atol=1e-4)


def test_special_binary_and_reductions():
    x = np.array([0.0, 1.0, 2.0, 0.0], np.float32)
    y = np.array([0.5, 3.0, -0.5, np.nan], np.float32)
    for n in ("xlogy", "xlog1py"):
        np.testing.assert_allclose(_np(getattr(es, n)(ember.tensor(x), ember.tensor(y))),
                                   getattr(torch.special, n)(torch.tensor(x), torch.tensor(y)).numpy(),
                                   rtol=1e-6)
    m = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    for n in ("logsumexp", "softmax", "log_softmax"):
        np.testing.assert_allclose(_np(getattr(es, n)(ember.tensor(m), 1)),
                                   getattr(torch.special, n)(torch.tensor(m), 1).numpy(), rtol=1e-5)
    z = np.array([0.0, 40.0, -1.0], np.float32)
    np.testing.assert_allclose(_np(es.i0(ember.tensor(z))), torch.special.i0(torch.tensor(z)).numpy(), rtol=1e-5)
    np.testing.assert_allclose(_np(es.round(ember.tensor([1.25, 2.5]), decimals=1)),
                               torch.special.round(torch.tensor([1.25, 2.5]), decimals=1).numpy())


def test_assert_close():
    ac = ember.testing.assert_close
    ac(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.000001]))
    ac([ember.ones(2), {"a": 1.0}], [ember.ones(2), {"a": 1.0}])
    ac(ember.tensor([float("nan")]), ember.tensor([float("nan")]), equal_nan=True)
    for bad, kw in [((ember.tensor([1.0]), ember.tensor([1.1])), {}),
                    ((ember.tensor([1.0]), ember.tensor([1.0], dtype=ember.float64)), {}),
                    ((ember.tensor([1]), ember.tensor([2])), {}),
                    ((ember.ones(2), ember.ones(3)), {}),
                    ((ember.tensor([float("nan")]), ember.tensor([float("nan")])), {})]:
        with pytest.raises(AssertionError):
            ac(*bad, **kw)
        a, b = bad
        with pytest.raises(AssertionError):  # torch agrees on each case
            torch.testing.assert_close(torch.tensor(_np(a)) if isinstance(a, ember.Tensor) else a,
                                       torch.tensor(_np(b)) if isinstance(b, ember.Tensor) else b)
    with pytest.raises(TypeError):
        ac(ember.tensor([1.0]), 1.0)
    with pytest.raises(TypeError):
        torch.testing.assert_close(torch.tensor([1.0]), 1.0)
    ac(ember.tensor([1.0]), ember.tensor([1.05]), rtol=0.1, atol=0.0)
    ac(ember.tensor([1.0]), ember.tensor([1.0], dtype=ember.float64), check_dtype=False)
    with pytest.raises(ValueError, match="rtol and atol"):
        ac(ember.ones(1), ember.ones(1), rtol=0.1)
    t = ember.testing.make_tensor(3, 4, dtype=ember.float32, low=-1, high=1)
    assert t.shape == (3, 4) and float(t.abs().max()) <= 1


def test_cuda_empty_cache():
    assert ember.cuda.empty_cache() is None


def test_device_type_flags_are_false_off_cpu_backends():
    t = ember.ones(2)
    assert t.is_cpu and not t.is_cuda and not t.is_xpu and not t.is_mps
