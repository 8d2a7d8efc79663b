"""Gamma, Chi2, Beta, Dirichlet, StudentT, MultivariateNormal vs torch: values, gradients of
log_prob, implicit-reparameterization gradients of rsample, sample statistics, KL."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")
import torch.distributions as td

import ember
import ember.distributions as ed
from ._parity import compare, close, np_, make, check_grads

rng = np.random.default_rng(4)


def _pos(*s, lo=0.5, hi=3.0):
    return rng.uniform(lo, hi, s).astype(np.float32)


def test_gamma():
    params = {"concentration": _pos(4, lo=0.3), "rate": _pos(4)}
    e, t = compare(ed.Gamma, td.Gamma, params, _pos(3, 4),
                   props=("mean", "variance", "mode"), tol=1e-4)
    ember.manual_seed(0)
    s = np_(e.sample((20000,)))
    np.testing.assert_allclose(s.mean(0), np_(t.mean), rtol=0.05)
    np.testing.assert_allclose(s.var(0), np_(t.variance), rtol=0.15)


def test_chi2():
    e, t = compare(ed.Chi2, td.Chi2, {"df": _pos(4, lo=1, hi=6)}, _pos(3, 4),
                   props=("mean", "variance", "df"), tol=1e-4)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 3.5, 40.0])
def test_gamma_rsample_gradient_matches_torch_implicit_gradient(alpha):
    """d sample / d concentration at ember's own draws equals torch's implicit gradient
    (torch._standard_gamma_grad) at the same draws."""
    a = ember.tensor(np.full(500, alpha, np.float32), requires_grad=True)
    ember.manual_seed(1)
    x = ed.Gamma(a, ember.tensor(1.0)).rsample()
    x.sum().backward()
    ref = torch._standard_gamma_grad(torch.tensor(np.full(500, alpha, np.float32)),
                                     torch.tensor(np_(x)))
    np.testing.assert_allclose(np_(a.grad), ref.numpy(), rtol=2e-3, atol=1e-5)


def test_gamma_rsample_gradient_is_unbiased():
    """E[d x / d params] = d E[x] / d params = (1 / rate, -conc / rate^2)."""
    c = ember.tensor([0.7, 2.5], requires_grad=True)
    r = ember.tensor([1.5, 0.5], requires_grad=True)
    ember.manual_seed(2)
    ed.Gamma(c, r).rsample((40000,)).mean(0).sum().backward()
    np.testing.assert_allclose(np_(c.grad), 1 / np.array([1.5, 0.5]), rtol=0.05)
    np.testing.assert_allclose(np_(r.grad), -np.array([0.7, 2.5]) / np.array([1.5, 0.5]) ** 2,
                               rtol=0.05)


def test_beta():
    params = {"concentration1": _pos(4), "concentration0": _pos(4)}
    e, t = compare(ed.Beta, td.Beta, params, rng.uniform(0.05, 0.95, (3, 4)).astype(np.float32),
                   props=("mean", "variance"), tol=1e-4)
    # E[x] = a / (a + b): the pathwise gradient averaged over draws matches the analytic one
    a = ember.tensor([2.0, 0.5], requires_grad=True)
    b = ember.tensor([3.0, 1.5], requires_grad=True)
    ember.manual_seed(3)
    s = ed.Beta(a, b).rsample((40000,))
    np.testing.assert_allclose(np_(s).mean(0), [0.4, 0.25], atol=0.01)
    s.mean(0).sum().backward()
    an, bn = np.array([2.0, 0.5]), np.array([3.0, 1.5])
    np.testing.assert_allclose(np_(a.grad), bn / (an + bn) ** 2, rtol=0.07)
    np.testing.assert_allclose(np_(b.grad), -an / (an + bn) ** 2, rtol=0.07)


def test_dirichlet():
    conc = _pos(2, 3)
    v = rng.dirichlet([1, 2, 3], (4, 2)).astype(np.float32)
    e, t = compare(ed.Dirichlet, td.Dirichlet, {"concentration": conc}, v,
                   props=("mean", "variance", "mode"), tol=1e-4)
    c = ember.tensor(conc, requires_grad=True)
    ember.manual_seed(4)
    s = ed.Dirichlet(c).rsample((30000,))
    assert tuple(s.shape) == (30000, 2, 3)
    np.testing.assert_allclose(np_(s).sum(-1), 1, rtol=1e-5)
    np.testing.assert_allclose(np_(s).mean(0), np_(t.mean), atol=0.01)
    # d E[x_0] / d c = (c0 - c_0) / c0^2 for the first coordinate, -c_0 / c0^2 for the others
    s[..., 0].mean(0).sum().backward()
    c0 = conc.sum(-1, keepdims=True)
    want = -conc[:, :1] / c0 ** 2 * np.ones_like(conc)
    want[:, 0] = (c0[:, 0] - conc[:, 0]) / c0[:, 0] ** 2
    np.testing.assert_allclose(np_(c.grad), want, rtol=0.1, atol=0.01)


def test_student_t():
    params = {"df": _pos(4, lo=2.5, hi=8), "loc": rng.standard_normal(4).astype(np.float32),
              "scale": _pos(4)}
    e, t = compare(ed.StudentT, td.StudentT, params,
                   rng.standard_normal((3, 4)).astype(np.float32),
                   props=("mean", "variance", "mode"), tol=1e-4)
    low = ed.StudentT(ember.tensor([0.5, 1.5, 3.0]))
    tlow = td.StudentT(torch.tensor([0.5, 1.5, 3.0]))
    close(low.mean, tlow.mean)
    close(low.variance, tlow.variance)
    ember.manual_seed(5)
    s = np_(ed.StudentT(ember.tensor(5.0), 1.0, 2.0).rsample((40000,)))
    np.testing.assert_allclose(np.median(s), 1.0, atol=0.05)
    np.testing.assert_allclose(s.var(), 4 * 5 / 3, rtol=0.1)
    df = ember.tensor(4.0, requires_grad=True)
    (ed.StudentT(df).rsample((10,)) ** 2).sum().backward()
    assert df.grad is not None and np.isfinite(np_(df.grad))


def test_invalid_gamma_family():
    with pytest.raises(ValueError, match="Gamma.*concentration.*GreaterThan"):
        ed.Gamma(ember.tensor([-1.0]), ember.tensor([1.0]))
    with pytest.raises(ValueError, match="Beta.*concentration0"):
        ed.Beta(1.0, 0.0)
    with pytest.raises(ValueError, match="Dirichlet.*concentration"):
        ed.Dirichlet(ember.tensor([1.0, -2.0]))
    with pytest.raises(ValueError, match="support"):
        ed.Beta(1.0, 2.0).log_prob(ember.tensor(1.5))


def _spd(*batch, k=3):
    a = rng.standard_normal(batch + (k, k)).astype(np.float32)
    return (a @ np.swapaxes(a, -1, -2) + k * np.eye(k, dtype=np.float32)).astype(np.float32)


@pytest.mark.parametrize("param", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal(param):
    loc = rng.standard_normal((2, 3)).astype(np.float32)
    m = _spd(2)
    if param == "scale_tril":
        m = np.linalg.cholesky(m).astype(np.float32)
    e, t = compare(ed.MultivariateNormal, td.MultivariateNormal, {"loc": loc, param: m},
                   rng.standard_normal((4, 2, 3)).astype(np.float32),
                   props=("mean", "variance", "covariance_matrix", "scale_tril",
                          "precision_matrix"), tol=1e-4, grad_tol=1e-3)
    ember.manual_seed(6)
    s = np_(e.rsample((30000,)))
    assert s.shape == (30000, 2, 3)
    np.testing.assert_allclose(s.mean(0), loc, atol=0.06)
    cov = np_(t.covariance_matrix)
    emp = np.einsum("nbi,nbj->bij", s - loc, s - loc) / len(s)
    np.testing.assert_allclose(emp, cov, rtol=0.1, atol=0.1)


def test_multivariate_normal_rsample_gradient_and_broadcast():
    loc = ember.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    L = ember.tensor(np.linalg.cholesky(_spd()).astype(np.float32), requires_grad=True)
    d = ed.MultivariateNormal(loc, scale_tril=L)
    ember.manual_seed(7)
    s = d.rsample((20000,))
    (s ** 2).sum(-1).mean().backward()  # E|x|^2 = |loc|^2 + tr(L L^T)
    np.testing.assert_allclose(np_(loc.grad), 2 * np_(loc), atol=0.06)
    np.testing.assert_allclose(np_(L.grad), 2 * np.tril(np_(L)), atol=0.15)
    # batch of locs sharing one covariance
    e = ed.MultivariateNormal(ember.zeros(5, 3), ember.tensor(_spd()))
    assert tuple(e.batch_shape) == (5,) and tuple(e.entropy().shape) == (5,)
    assert tuple(e.log_prob(ember.zeros(7, 5, 3)).shape) == (7, 5)
    with pytest.raises(ValueError, match="exactly one"):
        ed.MultivariateNormal(ember.zeros(3))
    with pytest.raises(ValueError, match="MultivariateNormal.*covariance_matrix"):
        ed.MultivariateNormal(ember.zeros(3), -ember.eye(3))
    with pytest.raises(ValueError, match="k, k"):
        ed.MultivariateNormal(ember.zeros(3), ember.eye(2))


KL = [
    ("Gamma", lambda: {"concentration": _pos(4), "rate": _pos(4)}),
    ("Beta", lambda: {"concentration1": _pos(4), "concentration0": _pos(4)}),
    ("Dirichlet", lambda: {"concentration": _pos(2, 3)}),
    ("MultivariateNormal", lambda: {"loc": rng.standard_normal((2, 3)).astype(np.float32),
                                    "covariance_matrix": _spd(2)}),
]


@pytest.mark.parametrize("name,gen", KL, ids=[k[0] for k in KL])
def test_kl(name, gen):
    ecls, tcls = getattr(ed, name), getattr(td, name)
    e1, t1, ep1, tp1 = make(ecls, tcls, gen())
    e2, t2, ep2, tp2 = make(ecls, tcls, gen())
    ke, kt = ed.kl_divergence(e1, e2), td.kl_divergence(t1, t2)
    close(ke, kt, 1e-4)
    ke.sum().backward()
    kt.sum().backward()
    check_grads(ep1, tp1, 1e-3)
    check_grads(ep2, tp2, 1e-3)


CROSS = [
    ("Pareto", lambda: {"scale": _pos(4, lo=0.5, hi=1.0), "alpha": _pos(4)},
     "Pareto", lambda: {"scale": _pos(4, lo=0.1, hi=0.4), "alpha": _pos(4)}),
    ("Exponential", lambda: {"rate": _pos(4)},
     "Gamma", lambda: {"concentration": _pos(4), "rate": _pos(4)}),
    ("Gamma", lambda: {"concentration": _pos(4), "rate": _pos(4)},
     "Exponential", lambda: {"rate": _pos(4)}),
]


@pytest.mark.parametrize("pn,pg,qn,qg", CROSS, ids=[f"{c[0]}-{c[2]}" for c in CROSS])
def test_kl_more_pairs(pn, pg, qn, qg):
    e1, t1, ep1, tp1 = make(getattr(ed, pn), getattr(td, pn), pg())
    e2, t2, ep2, tp2 = make(getattr(ed, qn), getattr(td, qn), qg())
    ke, kt = ed.kl_divergence(e1, e2), td.kl_divergence(t1, t2)
    close(ke, kt, 1e-4)
    ke.sum().backward()
    kt.sum().backward()
    check_grads(ep1, tp1, 1e-3)
    check_grads(ep2, tp2, 1e-3)


def test_kl_pareto_support_mismatch_is_inf():
    k = ed.kl_divergence(ed.Pareto(1.0, 2.0), ed.Pareto(2.0, 2.0))
    assert np.isinf(np_(k))
