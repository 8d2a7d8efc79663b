"""kl_divergence via the register_kl registry vs torch.distributions.kl_divergence."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributions as td

import ember
import ember.distributions as ed
from ._parity import close, make, check_grads

rng = np.random.default_rng(3)


def _pos(*s):
    return rng.uniform(0.5, 2.5, s).astype(np.float32)


def _real(*s):
    return rng.standard_normal(s).astype(np.float32)


def _prob(*s):
    return rng.uniform(0.1, 0.9, s).astype(np.float32)


PAIRS = [
    ("Normal", lambda: {"loc": _real(4), "scale": _pos(4)}, {}),
    ("Exponential", lambda: {"rate": _pos(4)}, {}),
    ("Laplace", lambda: {"loc": _real(4), "scale": _pos(4)}, {}),
    ("LogNormal", lambda: {"loc": _real(4), "scale": _pos(4)}, {}),
    ("HalfNormal", lambda: {"scale": _pos(4)}, {}),
    ("Cauchy", lambda: {"loc": _real(4), "scale": _pos(4)}, {}),
    ("Gumbel", lambda: {"loc": _real(4), "scale": _pos(4)}, {}),
    ("Geometric", lambda: {"probs": _prob(4)}, {}),
    ("Poisson", lambda: {"rate": _pos(4)}, {}),
    ("Binomial", lambda: {"probs": _prob(4)}, {"total_count": 5}),
    ("Bernoulli", lambda: {"probs": _prob(4)}, {}),
    ("Categorical", lambda: {"logits": _real(3, 5)}, {}),
    ("OneHotCategorical", lambda: {"logits": _real(3, 5)}, {}),
]


@pytest.mark.parametrize("name,gen,kw", PAIRS, ids=[p[0] for p in PAIRS])
def test_kl_parity(name, gen, kw):
    ecls, tcls = getattr(ed, name), getattr(td, name)
    e1, t1, ep1, tp1 = make(ecls, tcls, gen(), **kw)
    e2, t2, ep2, tp2 = make(ecls, tcls, gen(), **kw)
    ke, kt = ed.kl_divergence(e1, e2), td.kl_divergence(t1, t2)
    close(ke, kt, 1e-4)
    ke.sum().backward()
    kt.sum().backward()
    check_grads(ep1, tp1, 1e-3)
    check_grads(ep2, tp2, 1e-3)


def test_kl_independent():
    a = [_real(3, 4), _pos(3, 4), _real(3, 4), _pos(3, 4)]
    e = ed.kl_divergence(ed.Independent(ed.Normal(ember.tensor(a[0]), ember.tensor(a[1])), 1),
                         ed.Independent(ed.Normal(ember.tensor(a[2]), ember.tensor(a[3])), 1))
    t = td.kl_divergence(td.Independent(td.Normal(torch.tensor(a[0]), torch.tensor(a[1])), 1),
                         td.Independent(td.Normal(torch.tensor(a[2]), torch.tensor(a[3])), 1))
    close(e, t)
    assert tuple(e.shape) == (3,)


def test_kl_unregistered_pair_and_registry():
    with pytest.raises(NotImplementedError, match=r"\(Normal, Exponential\).*register_kl"):
        ed.kl_divergence(ed.Normal(0.0, 1.0), ed.Exponential(1.0))

    class MyNormal(ed.Normal):
        pass

    # a subclass falls back to its parent's formula until it registers its own
    close(ed.kl_divergence(MyNormal(0.0, 1.0), MyNormal(1.0, 2.0)),
          ed.kl_divergence(ed.Normal(0.0, 1.0), ed.Normal(1.0, 2.0)))

    @ed.register_kl(MyNormal, ed.Normal)
    def _kl(p, q):
        return ember.tensor(7.0)

    assert float(ed.kl_divergence(MyNormal(0.0, 1.0), ed.Normal(1.0, 2.0))) == 7.0
    assert float(ed.kl_divergence(MyNormal(0.0, 1.0), MyNormal(1.0, 2.0))) == 7.0
    with pytest.raises(TypeError, match="register_kl"):
        ed.register_kl(int, ed.Normal)


def test_kl_binomial_total_counts():
    p = ed.Binomial(ember.tensor([6.0, 5.0]), probs=ember.tensor([0.3, 0.3]))
    q = ed.Binomial(ember.tensor([5.0, 5.0]), probs=ember.tensor([0.4, 0.4]))
    k = ed.kl_divergence(p, q).numpy()
    assert np.isinf(k[0]) and np.isfinite(k[1])
    with pytest.raises(NotImplementedError, match="total_count"):
        ed.kl_divergence(q, p)
