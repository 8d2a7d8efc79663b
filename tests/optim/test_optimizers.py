"""Optimizers against PyTorch (20-step trajectories), the functional optimizers against the
stateful ones (eager and jitted), state_dict round trips and errors."""
import numpy as np
import pytest

import ember
from ember import nn

torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
]


def _models():
    ember.manual_seed(0)
    em = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em.state_dict().items()})
    return em, tm


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_trajectory_matches_torch(name, kw):
    em, tm = _models()
    eo = getattr(ember.optim, name)(em.parameters(), **kw)
    to = getattr(torch.optim, name)(tm.parameters(), **kw)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.standard_normal((5, 4)).astype(np.float32)
        for m, o, lib in ((em, eo, ember), (tm, to, torch)):
            o.zero_grad()
            (m(lib.tensor(x)) ** 2).mean().backward()
            o.step()
    for (k, e), t in zip(em.state_dict().items(), tm.state_dict().values()):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


FUNCTIONAL = [("SGD", "sgd", dict(lr=0.1, momentum=0.9), dict(momentum=0.9)),
              ("Adam", "adam", dict(lr=0.01), {}),
              ("AdamW", "adamw", dict(lr=0.01, weight_decay=0.1), dict(weight_decay=0.1)),
              ("RMSprop", "rmsprop", dict(lr=0.01, centered=True), dict(centered=True)),
              ("Adagrad", "adagrad", dict(lr=0.1), {})]


@pytest.mark.parametrize("cls,fn,kw,fkw", FUNCTIONAL, ids=[c[1] for c in FUNCTIONAL])
def test_functional_equals_stateful_eager_and_jitted(cls, fn, kw, fkw):
    em, _ = _models()
    opt = getattr(ember.optim, cls)(em.parameters(), **kw)
    params = {k: ember.tensor(v.detach().numpy()) for k, v in em.named_parameters()}
    fopt = getattr(ember.optim.functional, fn)(kw["lr"], **fkw)
    state = fopt.init(params)
    rng = np.random.default_rng(2)
    from ember.func import functional_call

    def loss(p, x):
        return (functional_call(em, p, (x,)) ** 2).mean()

    def step(p, s, x):
        g = ember.grad(loss)(p, x)
        u, s = fopt.update(g, s, p)
        return ember.optim.functional.apply_updates(p, u), s
    jstep = ember.jit(step)
    jparams, jstate = dict(params), state
    for _ in range(10):
        x = ember.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        opt.zero_grad()
        (em(x) ** 2).mean().backward()
        opt.step()
        params, state = step(params, state, x)
        jparams, jstate = jstep(jparams, jstate, x)
    for k, p in em.named_parameters():  # the same rule, the same bits, in all three
        np.testing.assert_array_equal(params[k].numpy(), p.detach().numpy())
        np.testing.assert_array_equal(jparams[k].numpy(), params[k].numpy())


def test_state_dict_round_trip_continues_identically():
    em, _ = _models()
    opt = ember.optim.Adam(em.parameters(), lr=0.01)
    x = ember.randn(5, 4)
    for _ in range(3):
        opt.zero_grad()
        em(x).sum().backward()
        opt.step()
    sd = opt.state_dict()
    em2, _ = _models()
    em2.load_state_dict(em.state_dict())
    opt2 = ember.optim.Adam(em2.parameters(), lr=0.01)
    opt2.load_state_dict(sd)
    for m, o in ((em, opt), (em2, opt2)):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    for a, b in zip(em.parameters(), em2.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_errors():
    p = [nn.Parameter(ember.zeros(2))]
    with pytest.raises(ValueError, match="Adam: Invalid learning rate: -1"):
        ember.optim.Adam(p, lr=-1)
    with pytest.raises(ValueError, match=r"Adam: Invalid beta parameter at index 0: 1.0"):
        ember.optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty parameter list"):
        ember.optim.SGD([], lr=0.1)


def test_clip_grad_matches_torch():
    em, tm = _models()
    x = np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32)
    (em(ember.tensor(x)) * 10).sum().backward()
    (tm(torch.tensor(x)) * 10).sum().backward()
    for norm_type in (2.0, 1.0, float("inf")):
        en = nn.utils.clip_grad_norm_(em.parameters(), 0.5, norm_type)
        tn = torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5, norm_type)
        assert en.item() == pytest.approx(tn.item(), rel=1e-5)
        for e, t in zip(em.parameters(), tm.parameters()):
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-8)
    nn.utils.clip_grad_value_(em.parameters(), 0.01)
    torch.nn.utils.clip_grad_value_(tm.parameters(), 0.01)
    for e, t in zip(em.parameters(), tm.parameters()):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-8)
