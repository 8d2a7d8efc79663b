"""ember.autograd.forward_ad: dual tensors, parity with torch.autograd.forward_ad."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.autograd.forward_ad as fwAD
from ember.core import primitive as _primitive

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5)).astype(np.float32)
T = RNG.standard_normal((4, 5)).astype(np.float32)


def _ember(f, x=X, t=T):
    with fwAD.dual_level():
        d = fwAD.make_dual(ember.tensor(x), ember.tensor(t))
        p, tan = fwAD.unpack_dual(f(ember, d))
        return p.detach().numpy(), tan.detach().numpy()


def _torch(torch, f, x=X, t=T):
    import torch.autograd.forward_ad as tF
    with tF.dual_level():
        d = tF.make_dual(torch.tensor(x), torch.tensor(t))
        p, tan = tF.unpack_dual(f(torch, d))
        return p.detach().numpy(), tan.detach().numpy()


FUNCS = {
    "sin_exp": lambda L, d: d.sin() * d.exp(),
    "matmul": lambda L, d: d @ d.T,
    "softmax": lambda L, d: L.nn.functional.softmax(d, dim=-1),
    "pow_sum": lambda L, d: (d ** 2).sum(1),
    "tanh_mean": lambda L, d: d.tanh().mean(),
    "reshape_transpose": lambda L, d: d.reshape(5, 4).t() * 3.0,
    "getitem": lambda L, d: d[1:3, ::2].exp(),
    "max_dim": lambda L, d: d.max(dim=1).values,
    "inplace": lambda L, d: (d * 2).add_(d).mul_(d),
    "gelu_logsumexp": lambda L, d: L.logsumexp(L.nn.functional.gelu(d), dim=0),
    "cat_stack": lambda L, d: L.cat([d, d.cos()], 0).sum(0),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    f = FUNCS[name]
    p, t = _ember(f)
    tp, tt = _torch(torch, f)
    np.testing.assert_allclose(p, tp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t, tt, rtol=1e-4, atol=1e-5)


def test_matches_ember_jvp():
    f = FUNCS["gelu_logsumexp"]
    p, t = _ember(f)
    jp, jt = ember.jvp(lambda d: f(ember, d), (ember.tensor(X),), (ember.tensor(T),))
    np.testing.assert_allclose(p, jp.numpy(), rtol=1e-6)
    np.testing.assert_allclose(t, jt.numpy(), rtol=1e-5, atol=1e-6)


def test_nn_modules_match_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3),
                             torch.nn.LayerNorm(3), torch.nn.Tanh())
    em = ember.nn.Sequential(ember.nn.Linear(5, 8), ember.nn.ReLU(), ember.nn.Linear(8, 3),
                             ember.nn.LayerNorm(3), ember.nn.Tanh())
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    p, t = _ember(lambda L, d: em(d))
    tp, tt = _torch(torch, lambda L, d: tm(d))
    np.testing.assert_allclose(p, tp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t, tt, rtol=1e-4, atol=1e-5)


def test_tangent_of_parameters_like_the_tutorial():
    # the forward-AD tutorial's pattern: a module's parameters made dual, called functionally
    model = ember.nn.Linear(5, 3)
    x = ember.tensor(X)
    params = {name: p.detach() for name, p in model.named_parameters()}
    tangents = {name: ember.ones_like(p) for name, p in params.items()}
    with fwAD.dual_level():
        dual = {n: fwAD.make_dual(p, tangents[n]) for n, p in params.items()}
        out = ember.func.functional_call(model, dual, (x,))
        jvp_out = fwAD.unpack_dual(out).tangent
    expected = x.sum(1, keepdim=True) + 1.0  # d/dW (xW^T + b) . ones
    np.testing.assert_allclose(jvp_out.numpy(), np.broadcast_to(expected.numpy(), (4, 3)),
                               rtol=1e-5)


def test_jitted_call_propagates_tangents():
    f = ember.jit(lambda a, b: (a.sin() * b, a.sum()))
    b = ember.tensor([2., 3.])
    with fwAD.dual_level():
        d = fwAD.make_dual(ember.tensor([1., 2.]), ember.tensor([1., 1.]))
        y, s = f(d, b)
        ty, ts = fwAD.unpack_dual(y).tangent, fwAD.unpack_dual(s).tangent
    np.testing.assert_allclose(ty.numpy(), np.cos([1., 2.]) * [2., 3.], rtol=1e-6)
    assert ts.item() == 2.0


def test_unpack_and_levels():
    x = ember.tensor([1., 2.])
    assert fwAD.unpack_dual(x) == (x, None)
    with fwAD.dual_level() as lvl:
        assert lvl == 0
        d = fwAD.make_dual(x, ember.tensor([3., 4.], dtype=ember.float64))
        u = fwAD.unpack_dual(d)
        assert isinstance(u, tuple) and u.primal.tolist() == [1., 2.]
        assert u.tangent.dtype == ember.float32 and u.tangent.tolist() == [3., 4.]
        assert fwAD.unpack_dual(u.primal).tangent is None  # the primal view has none
        assert fwAD.unpack_dual(x).tangent is None          # nor has the original
        # an op on non-dual tensors gets no tangent
        assert fwAD.unpack_dual(x * 2).tangent is None
        # integer results carry no tangent
        assert fwAD.unpack_dual(d.argmax()).tangent is None
        with pytest.raises(RuntimeError, match="nested"):
            fwAD.enter_dual_level()
        with pytest.raises(ValueError, match="shape"):
            fwAD.make_dual(x, ember.ones(3))
        with pytest.raises(ValueError, match="floating"):
            fwAD.make_dual(ember.arange(2), ember.arange(2))
    assert fwAD.unpack_dual(d).tangent is None  # dropped with the level
    with pytest.raises(RuntimeError, match="dual_level"):
        fwAD.make_dual(x, x)
    assert _primitive.eval_apply is _primitive._base_eval_apply


def test_primal_view_shares_data_and_backward_through_tangent():
    x = ember.tensor([1., 2.], requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, ember.tensor([1., 1.]))
        y = (d ** 3).sum()
        p, t = fwAD.unpack_dual(y)
        t.backward()  # d/dx sum(3 x^2 * 1) = 6x
    np.testing.assert_allclose(x.grad.numpy(), [6., 12.])


class _Exp(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        result = ember.exp(x)
        ctx.result = result
        return result

    @staticmethod
    def jvp(ctx, g):
        return g * ctx.result


class _WrongJvp(_Exp):
    @staticmethod
    def jvp(ctx, g):
        return g * 2.0


class _NoJvp(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_custom_function_jvp_and_gradcheck():
    x = ember.tensor(X.astype(np.float64))
    with fwAD.dual_level():
        y = _Exp.apply(fwAD.make_dual(x, ember.tensor(T.astype(np.float64))))
        t = fwAD.unpack_dual(y).tangent
        np.testing.assert_allclose(t.numpy(), T * np.exp(X.astype(np.float64)), rtol=1e-12)
        np.testing.assert_allclose(y.detach().numpy(), np.exp(X.astype(np.float64)))
        with pytest.raises(RuntimeError, match="jvp"):
            _NoJvp.apply(fwAD.make_dual(x, x))
        # without dual inputs the Function runs as usual
        assert fwAD.unpack_dual(_NoJvp.apply(x)).tangent is None
    p = ember.tensor([[0.3, -0.2], [1.1, 0.5]], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(_Exp.apply, (p,), check_forward_ad=True,
                                    check_backward_ad=False)
    with pytest.raises(ember.autograd.GradcheckError, match="forward-mode"):
        ember.autograd.gradcheck(_WrongJvp.apply, (p,), check_forward_ad=True,
                                 check_backward_ad=False)
    # forward mode through primitives, checked against finite differences
    assert ember.autograd.gradcheck(lambda a: (a.sin() * a).sum(0), (p,),
                                    check_forward_ad=True)
