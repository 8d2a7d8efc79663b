"""Exponential, Laplace, LogNormal, Cauchy, Gumbel, HalfNormal, Independent vs torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributions as td

import ember
import ember.distributions as ed
from ._parity import compare, close, np_, make

rng = np.random.default_rng(1)
LOC = rng.standard_normal(4).astype(np.float32)
SCALE = rng.uniform(0.5, 2, 4).astype(np.float32)
POS = rng.uniform(0.2, 3, (3, 4)).astype(np.float32)
REAL = rng.standard_normal((3, 4)).astype(np.float32)
PROB = rng.uniform(0.05, 0.95, (3, 4)).astype(np.float32)

CASES = [
    ("Exponential", {"rate": SCALE}, POS, ("mean", "variance", "stddev", "mode")),
    ("Laplace", {"loc": LOC, "scale": SCALE}, REAL, ("mean", "variance", "stddev", "mode")),
    ("LogNormal", {"loc": LOC, "scale": SCALE}, POS, ("mean", "variance", "mode")),
    ("Cauchy", {"loc": LOC, "scale": SCALE}, REAL, ("mode",)),
    ("Gumbel", {"loc": LOC, "scale": SCALE}, REAL, ("mean", "variance", "stddev", "mode")),
    ("HalfNormal", {"scale": SCALE}, POS, ("mean", "variance", "mode")),
]


@pytest.mark.parametrize("name,params,value,props", CASES, ids=[c[0] for c in CASES])
def test_parity(name, params, value, props):
    e, t = compare(getattr(ed, name), getattr(td, name), params, value, props=props,
                   methods=("log_prob", "cdf"), tol=1e-4)
    close(e.icdf(ember.tensor(PROB)), t.icdf(torch.tensor(PROB)), 1e-4)


@pytest.mark.parametrize("name,params,value,props", CASES, ids=[c[0] for c in CASES])
def test_rsample_gradients_and_statistics(name, params, value, props):
    e, t, ep, tp = make(getattr(ed, name), getattr(td, name), params)
    assert e.has_rsample and t.has_rsample
    ember.manual_seed(0)
    s = e.rsample((20000,))
    assert tuple(s.shape) == (20000, 4)
    # the reparameterized sample's gradient: d E[s] / d params, compared through the
    # inverse CDF (s = icdf(u)) on the same uniforms in both libraries
    u = rng.uniform(0.05, 0.95, (50, 4)).astype(np.float32)
    e.icdf(ember.tensor(u)).sum().backward()
    t.icdf(torch.tensor(u)).sum().backward()
    for k in ep:
        close(ep[k].grad, tp[k].grad, 1e-3)
    # the rsample path carries gradients too
    for k in ep:
        ep[k].grad = None
    (e.rsample((10,)) ** 2).sum().backward()
    assert all(ep[k].grad is not None for k in ep)
    # sample statistics (Cauchy: the median; others: mean and variance)
    sn = np_(s)
    if name == "Cauchy":
        np.testing.assert_allclose(np.median(sn, 0), np_(t.loc), atol=0.1)
    elif name == "LogNormal":  # heavy-tailed: check log(s) ~ Normal(loc, scale)
        np.testing.assert_allclose(np.log(sn).mean(0), np_(t.loc), atol=0.05)
        np.testing.assert_allclose(np.log(sn).std(0), np_(t.scale), rtol=0.05)
    else:
        np.testing.assert_allclose(sn.mean(0), np_(t.mean), rtol=0.05, atol=0.05)
        np.testing.assert_allclose(sn.var(0), np_(t.variance), rtol=0.15, atol=0.05)
    assert not e.sample((2,)).requires_grad


def test_invalid_parameters_raise():
    with pytest.raises(ValueError, match="Exponential.*rate.*GreaterThan"):
        ed.Exponential(ember.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="Laplace.*scale"):
        ed.Laplace(0.0, 0.0)
    with pytest.raises(ValueError, match="LogNormal|Normal"):
        ed.LogNormal(0.0, -1.0)
    ed.Exponential(ember.tensor([-1.0]), validate_args=False)  # no check when disabled
    with pytest.raises(ValueError, match="support"):
        ed.Exponential(1.0).log_prob(ember.tensor(-1.0))


def test_halfnormal_outside_support_without_validation():
    d = ed.HalfNormal(1.0, validate_args=False)
    assert np_(d.log_prob(ember.tensor(-1.0))) == -np.inf


def test_independent():
    base_e = ed.Normal(ember.tensor(REAL, requires_grad=True), ember.tensor(POS))
    base_t = td.Normal(torch.tensor(REAL, requires_grad=True), torch.tensor(POS))
    e, t = ed.Independent(base_e, 1), td.Independent(base_t, 1)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    v = rng.standard_normal((2, 3, 4)).astype(np.float32)
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)))
    close(e.entropy(), t.entropy())
    close(e.mean, t.mean)
    close(e.variance, t.variance)
    e.log_prob(ember.tensor(v)).sum().backward()
    t.log_prob(torch.tensor(v)).sum().backward()
    close(base_e.loc.grad, base_t.loc.grad)
    assert e.has_rsample and tuple(e.rsample((5,)).shape) == (5, 3, 4)
    e2 = ed.Independent(base_e, 2)
    assert tuple(e2.batch_shape) == () and tuple(e2.event_shape) == (3, 4)
    close(e2.log_prob(ember.tensor(v)), td.Independent(base_t, 2).log_prob(torch.tensor(v)))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        ed.Independent(base_e, 3)


MORE = [
    ("HalfCauchy", {"scale": SCALE}, POS, ("mode",)),
    ("Pareto", {"scale": SCALE, "alpha": np.array([0.5, 1.5, 2.5, 4.0], np.float32)},
     POS + 2, ("mean", "variance", "mode")),
    ("Weibull", {"scale": SCALE, "concentration": np.array([0.8, 1.5, 2.5, 4.0], np.float32)},
     POS, ("mean", "variance", "mode")),
]


@pytest.mark.parametrize("name,params,value,props", MORE, ids=[c[0] for c in MORE])
def test_more_parity(name, params, value, props):
    e, t = compare(getattr(ed, name), getattr(td, name), params, value, props=props,
                   methods=("log_prob", "cdf"), tol=1e-4)
    close(e.icdf(ember.tensor(PROB)), t.icdf(torch.tensor(PROB)), 1e-4)
    ember.manual_seed(0)
    s = np_(e.rsample((20000,)))
    # the empirical CDF at the true quartiles
    for q in (0.25, 0.5, 0.75):
        qv = np_(t.icdf(torch.full((4,), q)))
        np.testing.assert_allclose((s <= qv).mean(0), q, atol=0.02)
    _, _, ep, tp = make(getattr(ed, name), getattr(td, name), params)
    u = rng.uniform(0.05, 0.95, (50, 4)).astype(np.float32)
    ed_, td_ = getattr(ed, name)(**ep), getattr(td, name)(**tp)
    ed_.icdf(ember.tensor(u)).sum().backward()
    td_.icdf(torch.tensor(u)).sum().backward()
    for k in ep:
        close(ep[k].grad, tp[k].grad, 1e-3)


def test_set_default_validate_args():
    try:
        ed.Distribution.set_default_validate_args(False)
        ed.Exponential(ember.tensor([-1.0]))            # not validated
        with pytest.raises(ValueError, match="Exponential"):
            ed.Exponential(ember.tensor([-1.0]), validate_args=True)
    finally:
        ed.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="Exponential"):
        ed.Exponential(ember.tensor([-1.0]))
    close(ed.Exponential(2.0).perplexity(), td.Exponential(2.0).perplexity())
