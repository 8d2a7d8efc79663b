"""ember.distributions vs torch.distributions: log_prob, entropy, moments, KL, gradients."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")  # parity tests: skipped without torch
import torch.distributions as td

import ember
import ember.distributions as ed


def _np(t):
    return t.detach().numpy()


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(_np(a), _np(b), rtol=tol, atol=tol)
    assert str(_np(a).dtype) == str(_np(b).dtype)


rng = np.random.default_rng(0)
LOC, SCALE = rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)


def test_normal():
    e = ed.Normal(ember.tensor(LOC, requires_grad=True), ember.tensor(SCALE, requires_grad=True))
    t = td.Normal(torch.tensor(LOC, requires_grad=True), torch.tensor(SCALE, requires_grad=True))
    v = rng.standard_normal((3, 4)).astype(np.float32)
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)))
    close(e.entropy(), t.entropy())
    close(e.mean, t.mean)
    close(e.variance, t.variance)
    close(e.stddev, t.stddev)
    close(e.cdf(ember.tensor(v)), t.cdf(torch.tensor(v)))
    p = rng.uniform(0.1, 0.9, 4).astype(np.float32)
    close(e.icdf(ember.tensor(p)), t.icdf(torch.tensor(p)), 1e-4)
    (e.log_prob(ember.tensor(v)).sum() + e.entropy().sum()).backward()
    (t.log_prob(torch.tensor(v)).sum() + t.entropy().sum()).backward()
    close(e.loc.grad, t.loc.grad)
    close(e.scale.grad, t.scale.grad)
    s = e.rsample((5000,))
    assert tuple(s.shape) == (5000, 4) and e.batch_shape == t.batch_shape
    np.testing.assert_allclose(_np(s).mean(0), LOC, atol=0.1)
    np.testing.assert_allclose(_np(s).std(0), SCALE, rtol=0.1)
    s.sum().backward()  # rsample is differentiable
    assert not e.sample((2,)).requires_grad


def test_uniform():
    e, t = ed.Uniform(ember.tensor([0.0, 1.0]), ember.tensor([2.0, 5.0])), td.Uniform(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 5.0]))
    v = np.array([1.0, 4.5], np.float32)
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)))
    close(e.entropy(), t.entropy())
    close(e.mean, t.mean)
    close(e.variance, t.variance)
    s = _np(e.sample((1000,)))
    assert (s >= [0, 1]).all() and (s < [2, 5]).all()


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_bernoulli(param):
    a = rng.uniform(0.1, 0.9, 5).astype(np.float32) if param == "probs" else \
        rng.standard_normal(5).astype(np.float32)
    e = ed.Bernoulli(**{param: ember.tensor(a, requires_grad=True)})
    t = td.Bernoulli(**{param: torch.tensor(a, requires_grad=True)})
    v = np.array([1, 0, 1, 1, 0], np.float32)
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)))
    close(e.entropy(), t.entropy())
    close(e.mean, t.mean)
    close(e.variance, t.variance)
    (e.log_prob(ember.tensor(v)).sum() + e.entropy().sum()).backward()
    (t.log_prob(torch.tensor(v)).sum() + t.entropy().sum()).backward()
    close(getattr(e, "_p" if param == "probs" else "_lg").grad, getattr(t, param).grad, 1e-4)
    s = e.sample((7,))
    assert tuple(s.shape) == (7, 5) and set(np.unique(_np(s))) <= {0.0, 1.0}


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_categorical(param):
    a = rng.uniform(0.1, 1.0, (3, 4)).astype(np.float32) if param == "probs" else \
        rng.standard_normal((3, 4)).astype(np.float32)
    e = ed.Categorical(**{param: ember.tensor(a, requires_grad=True)})
    t = td.Categorical(**{param: torch.tensor(a, requires_grad=True)})
    v = np.array([0, 3, 2])
    close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)))
    close(e.entropy(), t.entropy())
    close(e.probs, t.probs)
    close(e.logits, t.logits)
    vv = np.array([[0, 1, 2], [3, 3, 3]])
    close(e.log_prob(ember.tensor(vv)), t.log_prob(torch.tensor(vv)))
    s = e.sample((2000,))
    assert tuple(s.shape) == (2000, 3) and s.dtype == ember.int64
    freq = np.stack([(_np(s) == k).mean(0) for k in range(4)], -1)
    np.testing.assert_allclose(freq, _np(t.probs), atol=0.05)
    close(e.enumerate_support(), t.enumerate_support())


def test_categorical_grads():
    a = rng.standard_normal((2, 5)).astype(np.float32)
    le, lt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v = np.array([1, 4])
    (ed.Categorical(logits=le).log_prob(ember.tensor(v)).sum() + ed.Categorical(logits=le).entropy().sum()).backward()
    (td.Categorical(logits=lt).log_prob(torch.tensor(v)).sum() + td.Categorical(logits=lt).entropy().sum()).backward()
    close(le.grad, lt.grad)


def test_kl():
    pairs = [(ed.Normal(ember.tensor(LOC), ember.tensor(SCALE)), ed.Normal(ember.tensor(SCALE), ember.tensor(SCALE + 1)),
              td.Normal(torch.tensor(LOC), torch.tensor(SCALE)), td.Normal(torch.tensor(SCALE), torch.tensor(SCALE + 1))),
             (ed.Bernoulli(probs=ember.tensor([0.2, 0.7])), ed.Bernoulli(probs=ember.tensor([0.5, 0.4])),
              td.Bernoulli(probs=torch.tensor([0.2, 0.7])), td.Bernoulli(probs=torch.tensor([0.5, 0.4]))),
             (ed.Categorical(probs=ember.tensor([[0.2, 0.8, 0.0]])), ed.Categorical(probs=ember.tensor([[0.3, 0.3, 0.4]])),
              td.Categorical(probs=torch.tensor([[0.2, 0.8, 0.0]])), td.Categorical(probs=torch.tensor([[0.3, 0.3, 0.4]]))),
             (ed.Uniform(0.0, 1.0), ed.Uniform(-1.0, 2.0), td.Uniform(0.0, 1.0), td.Uniform(-1.0, 2.0))]
    for pe, qe, pt, qt in pairs:
        close(ed.kl_divergence(pe, qe), td.kl_divergence(pt, qt))
    with pytest.raises(NotImplementedError):
        ed.kl_divergence(pairs[0][0], pairs[1][0])
    with pytest.raises(ValueError, match="exactly one"):
        ed.Categorical()


def test_under_grad_and_jit():
    def nll(loc):
        return -ed.Normal(loc, ember.tensor(1.0)).log_prob(ember.tensor([0.5, 1.5])).sum()
    g = ember.grad(nll)(ember.tensor(0.0))
    np.testing.assert_allclose(_np(g), -2.0, rtol=1e-6)
    np.testing.assert_allclose(_np(ember.jit(nll)(ember.tensor(0.0))), _np(nll(ember.tensor(0.0))), rtol=1e-6)


def test_validation():
    # (importing torch._dynamo, as torch.compile does, turns torch's default validation off)
    prev = td.Distribution._validate_args
    td.Distribution.set_default_validate_args(True)
    try:
        _check_validation()
    finally:
        td.Distribution.set_default_validate_args(prev)


def _check_validation():
    for bad in (lambda m: m.Normal(0.0, -1.0), lambda m: m.Uniform(1.0, 0.0),
                lambda m: m.Bernoulli(probs=m_t(m)([1.5])),
                lambda m: m.Categorical(probs=m_t(m)([0.5, -0.1]))):
        with pytest.raises(ValueError):
            bad(ed)
        with pytest.raises(ValueError):
            bad(td)
    ed.Normal(0.0, -1.0, validate_args=False)  # off: no check


def m_t(m):
    return ember.tensor if m is ed else torch.tensor
