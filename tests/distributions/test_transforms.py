"""transforms, TransformedDistribution, MixtureSameFamily, Relaxed* vs torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributions as td
import torch.distributions.transforms as tt

import ember
import ember.distributions as ed
import ember.distributions.transforms as et
from ._parity import close, np_

rng = np.random.default_rng(5)
X = rng.standard_normal((3, 4)).astype(np.float32)
POS = rng.uniform(0.2, 3, (3, 4)).astype(np.float32)
SCALE = rng.uniform(0.5, 2, 4).astype(np.float32) * np.array([1, -1, 1, -1], np.float32)


def _pair(name, *args):
    conv = [(ember.tensor(a), torch.tensor(a)) if isinstance(a, np.ndarray) else (a, a)
            for a in args]
    return getattr(et, name)(*[c[0] for c in conv]), getattr(tt, name)(*[c[1] for c in conv])


TRANSFORMS = [
    ("ExpTransform", (), X),
    ("SigmoidTransform", (), X),
    ("TanhTransform", (), X),
    ("SoftplusTransform", (), X),
    ("AffineTransform", (1.5, -2.0), X),
    ("AffineTransform", (np.float32(0.5) + X[0], SCALE), X),
    ("PowerTransform", (2.5,), POS),
]


@pytest.mark.parametrize("name,args,x", TRANSFORMS,
                         ids=[f"{t[0]}{i}" for i, t in enumerate(TRANSFORMS)])
def test_transform_parity(name, args, x):
    e, t = _pair(name, *args)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey, ty = e(ex), t(tx)
    close(ey, ty, 1e-5)
    close(e.inv(ey), t.inv(ty), 1e-4)
    le, lt = e.log_abs_det_jacobian(ex, ey), t.log_abs_det_jacobian(tx, ty)
    close(le, lt, 1e-4)
    (ey.sum() + le.sum()).backward()
    (ty.sum() + lt.sum()).backward()
    close(ex.grad, tx.grad, 1e-4)
    assert e.bijective == t.bijective
    # the inverse transform's log-det is the negative at the swapped arguments
    close(e.inv.log_abs_det_jacobian(ey, ex), -le, 1e-5)


def test_softmax_and_compose():
    e, t = et.SoftmaxTransform(), tt.SoftmaxTransform()
    close(e(ember.tensor(X)), t(torch.tensor(X)))
    close(e.inv(e(ember.tensor(X))), t.inv(t(torch.tensor(X))))
    assert e.codomain.event_dim == 1 and not e.bijective
    parts_e = [et.AffineTransform(0.5, 2.0), et.TanhTransform(), et.AffineTransform(1.0, 3.0)]
    parts_t = [tt.AffineTransform(0.5, 2.0), tt.TanhTransform(), tt.AffineTransform(1.0, 3.0)]
    ce, ct = et.ComposeTransform(parts_e), tt.ComposeTransform(parts_t)
    ye, yt = ce(ember.tensor(X)), ct(torch.tensor(X))
    close(ye, yt)
    close(ce.inv(ye), ct.inv(yt), 1e-4)
    close(ce.log_abs_det_jacobian(ember.tensor(X), ye),
          ct.log_abs_det_jacobian(torch.tensor(X), yt), 1e-4)
    assert ce.sign == 1
    # event_dim 1 affine: the log-det sums over the last dim
    ae, at = et.AffineTransform(0.0, ember.tensor(SCALE), event_dim=1), \
        tt.AffineTransform(0.0, torch.tensor(SCALE), event_dim=1)
    close(ae.log_abs_det_jacobian(ember.tensor(X), ae(ember.tensor(X))),
          at.log_abs_det_jacobian(torch.tensor(X), at(torch.tensor(X))))
    ie = et.IndependentTransform(et.ExpTransform(), 1)
    close(ie.log_abs_det_jacobian(ember.tensor(X), ie(ember.tensor(X))),
          torch.tensor(X).sum(-1))


def test_transformed_distribution_squashed_normal():
    """The tanh-squashed Gaussian of SAC: log_prob, its gradients, rsample."""
    loc, scale = X[0], POS[0]
    el, es = ember.tensor(loc, requires_grad=True), ember.tensor(scale, requires_grad=True)
    tl, ts = torch.tensor(loc, requires_grad=True), torch.tensor(scale, requires_grad=True)
    e = ed.TransformedDistribution(ed.Normal(el, es),
                                   [et.TanhTransform(), et.AffineTransform(1.0, 2.0)])
    t = td.TransformedDistribution(td.Normal(tl, ts),
                                   [tt.TanhTransform(), tt.AffineTransform(1.0, 2.0)])
    v = np.tanh(X) * 2 * 0.9 + 1
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)), 1e-4)
    e.log_prob(ember.tensor(v)).sum().backward()
    t.log_prob(torch.tensor(v)).sum().backward()
    close(el.grad, tl.grad, 1e-4)
    close(es.grad, ts.grad, 1e-4)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    assert e.has_rsample
    ember.manual_seed(0)
    s = e.rsample((1000,))
    assert tuple(s.shape) == (1000, 4) and (np_(s) >= -1).all() and (np_(s) <= 3).all()
    el.grad = None
    s.sum().backward()
    assert el.grad is not None
    p = rng.uniform(0.1, 0.9, 4).astype(np.float32)
    close(e.cdf(ember.tensor(v[0])), t.cdf(torch.tensor(v[0])), 1e-4)
    close(e.icdf(ember.tensor(p)), t.icdf(torch.tensor(p)), 1e-4)


def test_transformed_distribution_matches_lognormal_and_event_dims():
    e = ed.TransformedDistribution(ed.Normal(ember.tensor(X), ember.tensor(POS)),
                                   et.ExpTransform())
    close(e.log_prob(ember.tensor(POS)), ed.LogNormal(ember.tensor(X),
                                                      ember.tensor(POS)).log_prob(ember.tensor(POS)))
    # a transform with event_dim 1 reinterprets the base's batch dim as an event dim
    e1 = ed.TransformedDistribution(ed.Normal(ember.tensor(X), ember.tensor(POS)),
                                    [et.AffineTransform(0.0, ember.tensor(SCALE), event_dim=1)])
    t1 = td.TransformedDistribution(td.Normal(torch.tensor(X), torch.tensor(POS)),
                                    [tt.AffineTransform(0.0, torch.tensor(SCALE), event_dim=1)])
    assert e1.batch_shape == t1.batch_shape and e1.event_shape == t1.event_shape
    close(e1.log_prob(ember.tensor(X)), t1.log_prob(torch.tensor(X)), 1e-5)
    with pytest.raises(ValueError, match="Transform"):
        ed.TransformedDistribution(ed.Normal(0.0, 1.0), [lambda x: x])


@pytest.mark.parametrize("comp", ["Normal", "MVN"])
def test_mixture_same_family(comp):
    w = rng.uniform(0.2, 1, (2, 3)).astype(np.float32)
    loc = rng.standard_normal((2, 3)).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, (2, 3)).astype(np.float32)
    ew = ember.tensor(w, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    el, tl = ember.tensor(loc, requires_grad=True), torch.tensor(loc, requires_grad=True)
    if comp == "Normal":
        ec, tc = ed.Normal(el, ember.tensor(scale)), td.Normal(tl, torch.tensor(scale))
        v = rng.standard_normal((5, 2)).astype(np.float32)
    else:
        locs = loc[..., None] * np.ones(2, np.float32)
        el = ember.tensor(locs, requires_grad=True)
        tl = torch.tensor(locs, requires_grad=True)
        cov = np.eye(2, dtype=np.float32) * scale[..., None, None]
        ec = ed.MultivariateNormal(el, ember.tensor(cov))
        tc = td.MultivariateNormal(tl, torch.tensor(cov))
        v = rng.standard_normal((5, 2, 2)).astype(np.float32)
    e = ed.MixtureSameFamily(ed.Categorical(probs=ew), ec)
    t = td.MixtureSameFamily(td.Categorical(probs=tw), tc)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)), 1e-5)
    close(e.mean, t.mean)
    close(e.variance, t.variance, 1e-5)
    e.log_prob(ember.tensor(v)).sum().backward()
    t.log_prob(torch.tensor(v)).sum().backward()
    close(ew.grad, tw.grad, 1e-4)
    close(el.grad, tl.grad, 1e-4)
    if comp == "Normal":
        close(e.cdf(ember.tensor(v)), t.cdf(torch.tensor(v)), 1e-5)
    ember.manual_seed(0)
    s = np_(e.sample((20000,)))
    assert s.shape == (20000,) + tuple(t.batch_shape) + tuple(t.event_shape)
    np.testing.assert_allclose(s.mean(0), np_(t.mean), atol=0.05)
    np.testing.assert_allclose(s.var(0), np_(t.variance), rtol=0.08)
    with pytest.raises(ValueError, match="number of mixture components"):
        ed.MixtureSameFamily(ed.Categorical(probs=ember.ones(4)), ed.Normal(ember.zeros(3), 1.0))


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_relaxed(param):
    p = rng.uniform(0.1, 0.9, 4).astype(np.float32)
    val = p if param == "probs" else np.log(p / (1 - p))
    temp = np.float32(0.7)
    ep, tp = ember.tensor(val, requires_grad=True), torch.tensor(val, requires_grad=True)
    e = ed.RelaxedBernoulli(ember.tensor(temp), **{param: ep})
    t = td.RelaxedBernoulli(torch.tensor(temp), **{param: tp})
    v = rng.uniform(0.05, 0.95, (3, 4)).astype(np.float32)
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)), 1e-4)
    e.log_prob(ember.tensor(v)).sum().backward()
    t.log_prob(torch.tensor(v)).sum().backward()
    close(ep.grad, tp.grad, 1e-4)
    ember.manual_seed(0)
    s = e.rsample((20000,))
    sn = np_(s)
    assert ((sn > 0) & (sn < 1)).all()
    # P(X > 1/2) of the relaxation equals the Bernoulli probability
    np.testing.assert_allclose((sn > 0.5).mean(0), p, atol=0.02)
    ep.grad = None
    s.sum().backward()
    assert ep.grad is not None

    k = rng.uniform(0.1, 1, (2, 3)).astype(np.float32)
    kv = k / k.sum(-1, keepdims=True) if param == "probs" else np.log(k)
    ek, tk = ember.tensor(kv, requires_grad=True), torch.tensor(kv, requires_grad=True)
    e = ed.RelaxedOneHotCategorical(ember.tensor(temp), **{param: ek})
    t = td.RelaxedOneHotCategorical(torch.tensor(temp), **{param: tk})
    v = rng.dirichlet([1, 1, 1], (4, 2)).astype(np.float32)
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)), 1e-3)
    e.log_prob(ember.tensor(v)).sum().backward()
    t.log_prob(torch.tensor(v)).sum().backward()
    close(ek.grad, tk.grad, 1e-3)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    s = np_(e.rsample((20000,)))
    np.testing.assert_allclose(s.sum(-1), 1, rtol=1e-5)
    probs = k / k.sum(-1, keepdims=True)
    np.testing.assert_allclose(np.eye(3)[s.argmax(-1)].mean(0), probs, atol=0.02)


def test_inverse_gamma_and_straight_through():
    a = np.array([1.5, 2.5, 4.0], np.float32)
    b = np.array([0.5, 1.0, 2.0], np.float32)
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    e, t = ed.InverseGamma(ea, eb), td.InverseGamma(ta, tb)
    v = np.array([0.3, 1.0, 2.5], np.float32)
    for p in ("mean", "mode", "variance"):
        close(getattr(e, p), getattr(t, p), 1e-5)
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)), 1e-5)
    close(e.entropy(), t.entropy(), 1e-5)
    (e.log_prob(ember.tensor(v)).sum() + e.entropy().sum()).backward()
    (t.log_prob(torch.tensor(v)).sum() + t.entropy().sum()).backward()
    close(ea.grad, ta.grad, 1e-4)
    close(eb.grad, tb.grad, 1e-4)
    ember.manual_seed(0)
    s = np_(e.rsample((20000,)))
    np.testing.assert_allclose((1 / s).mean(0), a / b, rtol=0.05)
    assert ed.AffineTransform is et.AffineTransform  # re-exported as torch does
    p = ember.tensor([0.2, 0.3, 0.5], requires_grad=True)
    d = ed.OneHotCategoricalStraightThrough(probs=p)
    r = d.rsample((4,))
    assert (np_(r).sum(-1) == 1).all()
    (r * ember.tensor([1.0, 2.0, 3.0])).sum().backward()
    tp = torch.tensor([0.2, 0.3, 0.5], requires_grad=True)
    (td.OneHotCategoricalStraightThrough(probs=tp).rsample((4,)) *
     torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    close(p.grad, tp.grad, 1e-5)   # the gradient of the normalised probs, as torch
