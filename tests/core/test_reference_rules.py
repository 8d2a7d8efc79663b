"""Primitive(reference=): a fused primitive's missing rules, and the cases its own rules
decline with NotImplemented, come from its reference definition under each transform."""
import numpy as np
import pytest

import ember
from ember.core.primitive import Aval, Primitive, bind


def _softplus_sq_ref(x, scale):
    return (ember.log1p(ember.exp(x)) * scale) ** 2


calls = {"vjp": 0, "batch": 0}


def _fast_vjp(ct, out, x, scale):
    calls["vjp"] += 1
    if isinstance(ct, ember.Tensor) and ct.requires_grad:
        return NotImplemented  # a case the fast rule leaves to the reference
    s = 1 / (1 + ember.exp(-x))
    return (ct * 2 * ember.log1p(ember.exp(x)) * scale * scale * s,)


def _fast_batch(args, dims, scale):
    calls["batch"] += 1
    return NotImplemented


_prim = []


def f(x):
    return bind(_prim[0], x, scale=1.5)


@pytest.fixture(autouse=True, scope="module")
def _fused():
    """Registered only while these tests run (the rule matrix checks the registry)."""
    _prim.append(Primitive(
        "test_fused_softplus_sq", lambda x, scale: (np.log1p(np.exp(x)) * scale) ** 2,
        shape=lambda x, scale: Aval(x.shape, x.dtype), vjp=_fast_vjp, batch=_fast_batch,
        reference=_softplus_sq_ref))
    yield
    del ember.primitives["test_fused_softplus_sq"]
    _prim.clear()


def _x():
    return ember.tensor(np.linspace(-2.0, 2.0, 6).reshape(2, 3))


def test_derived_jvp_equals_reference_jvp():
    x, t = _x(), ember.ones(2, 3, dtype=ember.float64)
    out, tan = ember.jvp(f, (x,), (t,))
    ref_out, ref_tan = ember.jvp(lambda v: _softplus_sq_ref(v, 1.5), (x,), (t,))
    np.testing.assert_allclose(out.numpy(), ref_out.numpy(), rtol=1e-14)
    np.testing.assert_allclose(tan.numpy(), ref_tan.numpy(), rtol=1e-14)


def test_own_rule_first_order_reference_second_order():
    x = _x()
    before = calls["vjp"]
    g = ember.grad(lambda v: f(v).sum())(x)
    assert calls["vjp"] > before
    ref = ember.grad(lambda v: _softplus_sq_ref(v, 1.5).sum())(x)
    np.testing.assert_allclose(g.numpy(), ref.numpy(), rtol=1e-12)
    # eager second order: the fast rule declines (create_graph), the reference's VJP runs
    xe = _x().requires_grad_()
    (gx,) = ember.autograd.grad(f(xe).sum(), xe, create_graph=True)
    (ggx,) = ember.autograd.grad(gx.sum(), xe)
    h = ember.grad(lambda v: ember.grad(lambda u: _softplus_sq_ref(u, 1.5).sum())(v).sum())(x)
    np.testing.assert_allclose(ggx.numpy(), h.numpy(), rtol=1e-12)


def test_declined_batch_rule_runs_the_reference_under_vmap():
    x = ember.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3))
    before = calls["batch"]
    out = ember.vmap(f, in_axes=1)(x)
    assert calls["batch"] == before + 1
    assert tuple(out.shape) == (3, 4)
    np.testing.assert_allclose(out.numpy(), _softplus_sq_ref(x, 1.5).numpy().T, rtol=1e-14)


def test_jit_of_derived_rules_matches_eager():
    x = _x()
    g = ember.jit(ember.grad(lambda v: ember.jvp(f, (v,), (v,))[1].sum()))(x)
    ref = ember.grad(lambda v: ember.jvp(lambda u: _softplus_sq_ref(u, 1.5), (v,), (v,))[1]
                     .sum())(x)
    np.testing.assert_allclose(g.numpy(), ref.numpy(), rtol=1e-12)
