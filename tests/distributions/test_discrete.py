"""Geometric, Poisson, Binomial, OneHotCategorical vs torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributions as td

import ember
import ember.distributions as ed
from ._parity import compare, close, np_, make

rng = np.random.default_rng(2)
PROB = rng.uniform(0.1, 0.9, 4).astype(np.float32)
LOGIT = rng.standard_normal(4).astype(np.float32)
COUNTS = rng.integers(0, 6, (3, 4)).astype(np.float32)


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_geometric(param):
    params = {param: PROB if param == "probs" else LOGIT}
    e, t = compare(ed.Geometric, td.Geometric, params, COUNTS,
                   props=("mean", "variance", "mode"), tol=1e-4)
    ember.manual_seed(0)
    s = np_(e.sample((20000,)))
    assert (s >= 0).all() and (s == np.floor(s)).all()
    np.testing.assert_allclose(s.mean(0), np_(t.mean), rtol=0.06, atol=0.05)


def test_geometric_probs_one():
    e, t = ed.Geometric(probs=ember.tensor([1.0])), td.Geometric(probs=torch.tensor([1.0]))
    close(e.log_prob(ember.tensor([0.0])), t.log_prob(torch.tensor([0.0])))
    with pytest.raises(ValueError, match="Geometric.*probs"):
        ed.Geometric(probs=ember.tensor([0.0]))


def test_poisson():
    rate = rng.uniform(0.5, 5, 4).astype(np.float32)
    e, t = compare(ed.Poisson, td.Poisson, {"rate": rate}, COUNTS,
                   props=("mean", "variance", "mode"), entropy=False, tol=1e-4)
    ember.manual_seed(0)
    s = e.sample((20000,))
    assert s.dtype == ember.float32 and tuple(s.shape) == (20000, 4)
    np.testing.assert_allclose(np_(s).mean(0), rate, rtol=0.05)
    np.testing.assert_allclose(np_(s).var(0), rate, rtol=0.1)
    ember.manual_seed(3)
    a = np_(e.sample((5,)))
    ember.manual_seed(3)
    np.testing.assert_array_equal(a, np_(e.sample((5,))))  # reproducible under manual_seed
    with pytest.raises(ValueError, match="Poisson.*rate"):
        ed.Poisson(ember.tensor([-1.0]))
    with pytest.raises(ValueError, match="support"):
        e.log_prob(ember.tensor([0.5, 1.0, 2.0, 3.0]))


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_binomial(param):
    params = {param: PROB if param == "probs" else LOGIT}
    e, t = compare(ed.Binomial, td.Binomial, params, COUNTS,
                   props=("mean", "variance", "mode"), tol=1e-4, total_count=6)
    ember.manual_seed(0)
    s = np_(e.sample((20000,)))
    assert s.min() >= 0 and s.max() <= 6
    np.testing.assert_allclose(s.mean(0), np_(t.mean), rtol=0.05)
    close(e.enumerate_support(), t.enumerate_support())


def test_binomial_tensor_total_count():
    n = np.array([3.0, 5.0, 7.0, 9.0], np.float32)
    e = ed.Binomial(ember.tensor(n), probs=ember.tensor(PROB))
    t = td.Binomial(torch.tensor(n), probs=torch.tensor(PROB))
    v = np.minimum(COUNTS, n)
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)), 1e-4)
    close(e.mean, t.mean)
    with pytest.raises(ValueError, match="support"):
        e.log_prob(ember.tensor(COUNTS))
    with pytest.raises(ValueError, match="Binomial.*total_count"):
        ed.Binomial(ember.tensor([2.5]), probs=ember.tensor([0.5]))


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_one_hot_categorical(param):
    raw = rng.uniform(0.1, 1, (3, 5)).astype(np.float32)
    params = {param: raw if param == "probs" else np.log(raw)}
    value = np.eye(5, dtype=np.float32)[rng.integers(0, 5, (2, 3))]
    e, t = compare(ed.OneHotCategorical, td.OneHotCategorical, params, value,
                   props=("mean", "variance", "mode"), tol=1e-5)
    close(e.enumerate_support(), t.enumerate_support())
    ember.manual_seed(0)
    s = np_(e.sample((4000,)))
    assert s.shape == (4000, 3, 5) and (s.sum(-1) == 1).all()
    np.testing.assert_allclose(s.mean(0), np_(t.probs), atol=0.04)


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_negative_binomial(param):
    params = {param: PROB if param == "probs" else LOGIT}
    n = np.array([1.0, 2.5, 4.0, 7.0], np.float32)
    ep = {k: ember.tensor(v, requires_grad=True) for k, v in params.items()}
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    en, tn = ember.tensor(n, requires_grad=True), torch.tensor(n, requires_grad=True)
    e, t = ed.NegativeBinomial(en, **ep), td.NegativeBinomial(tn, **tp)
    for p in ("mean", "variance", "mode"):
        close(getattr(e, p), getattr(t, p), 1e-4)
    close(e.log_prob(ember.tensor(COUNTS)), t.log_prob(torch.tensor(COUNTS)), 1e-4)
    e.log_prob(ember.tensor(COUNTS)).sum().backward()
    t.log_prob(torch.tensor(COUNTS)).sum().backward()
    close(en.grad, tn.grad, 1e-4)
    for k in ep:
        close(ep[k].grad, tp[k].grad, 1e-4)
    ember.manual_seed(0)
    s = np_(e.sample((30000,)))
    np.testing.assert_allclose(s.mean(0), np_(t.mean), rtol=0.06, atol=0.05)
    np.testing.assert_allclose(s.var(0), np_(t.variance), rtol=0.15, atol=0.1)


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_multinomial(param):
    r = np.random.default_rng(11)  # its own stream: the module's depends on the tests run before
    raw = r.uniform(0.1, 1, (2, 4)).astype(np.float32)
    params = {param: raw if param == "probs" else np.log(raw)}
    v = np.stack([r.multinomial(6, [0.25] * 4, 3) for _ in range(2)], 1).astype(np.float32)
    e, t = compare(ed.Multinomial, td.Multinomial, params, v, props=("mean", "variance"),
                   entropy=False, tol=1e-4, total_count=6)
    ember.manual_seed(0)
    s = np_(e.sample((5000,)))
    assert s.shape == (5000, 2, 4) and (s.sum(-1) == 6).all()
    # the sample mean's standard error is at most sqrt(6 / 4 / 5000) = 0.017: 4 of them
    np.testing.assert_allclose(s.mean(0), np_(t.mean), rtol=0, atol=0.07)
    with pytest.raises(ValueError, match="Multinomial.*total_count"):
        ed.Multinomial(2.5, probs=ember.tensor([0.5, 0.5]))
