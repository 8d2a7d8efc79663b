"""The update rules are written once; evaluated in place on NumPy storage (the eager
optimizers) and functionally on ember tensors (the jit-able optimizers) they give the same
bits, and the in-place evaluation updates the state where it lives and leaves the gradient
alone."""
import numpy as np
import pytest

import ember
from ember.optim import update_rules as R
from ember.optim.inplace import IN_PLACE

SGD = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True,
                                                        weight_decay=0.01),
       dict(lr=0.1, momentum=0.5, dampening=0.1, maximize=True)]
ADAM = [dict(lr=1e-3), dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True),
        dict(lr=0.01, weight_decay=0.1, decoupled=True), dict(lr=0.01, amsgrad=True,
                                                               maximize=True, decoupled=True,
                                                               weight_decay=0.05)]
FUNCTIONAL = R.Functional(ember.sqrt, ember.maximum,
                          lambda t, g, other: ember.where(t == 1, g, other))


def _grads(shape, n=6):
    rng = np.random.default_rng(0)
    p = rng.standard_normal(shape).astype(np.float32)
    return p, [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def _functional_step(rule, q, g, s, t, hp):
    """One step of the rule on ember tensors, traced by jit (as ember.optim.functional)."""
    def step(q, g, s, t):
        u, s = rule(FUNCTIONAL, q, g, s, t, **hp)
        return q + u, s
    return ember.jit(step)(q, g, s, t)


@pytest.mark.parametrize("rule,hps,shape", [(R.sgd, SGD, (7, 5)), (R.adam, ADAM, (300,))])
def test_in_place_and_functional_give_the_same_bits(rule, hps, shape):
    for hp in hps:
        p0, gs = _grads(shape)
        names = R.STATE[rule.__name__](hp)
        p = p0.copy()
        # the eager optimizers create SGD's momentum buffer on the first step, Adam's at zero
        st = {} if rule is R.sgd else {n: np.zeros_like(p0) for n in names}
        q = ember.tensor(p0)
        s = {n: ember.zeros(*shape) for n in names}
        for t, g in enumerate(gs, 1):
            g_before = g.copy()
            buffers = {k: v for k, v in st.items()}
            delta, new = rule(IN_PLACE, p, g, st, t, **hp)
            np.testing.assert_array_equal(g, g_before)  # the gradient is left alone
            for k, buf in buffers.items():  # the state is updated where it lives
                assert new[k] is buf
            st.update(new)
            assert delta.dtype == np.float32  # no promotion to float64
            p += delta
            q, s = _functional_step(rule, q, ember.tensor(g), s,
                                    ember.tensor(float(t), dtype=ember.float64), hp)
            np.testing.assert_array_equal(p, q.numpy())
            for n in names:
                np.testing.assert_array_equal(st[n], s[n].numpy())


# the stateful optimizers (their kept scratch buffer shared by parameters of different shapes
# and dtypes) against the functional ones under jit: the same bits, parameter by parameter
STATEFUL_VS_JIT = [
    ("SGD", "sgd", dict(lr=0.1, weight_decay=0.01), dict(weight_decay=0.01)),
    ("SGD", "sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     dict(momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", "sgd", dict(lr=0.1, momentum=0.5, dampening=0.3),
     dict(momentum=0.5, dampening=0.3)),
    ("Adam", "adam", dict(lr=0.01), {}),
    ("Adam", "adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1,
                          amsgrad=True), dict(b1=0.8, b2=0.95, eps=1e-6, weight_decay=0.1,
                                              amsgrad=True)),
    ("AdamW", "adamw", dict(lr=0.01, weight_decay=0.1), dict(weight_decay=0.1)),
]


@pytest.mark.parametrize("cls,fn,kw,fkw", STATEFUL_VS_JIT,
                         ids=[f"{c[1]}{i}" for i, c in enumerate(STATEFUL_VS_JIT)])
def test_stateful_with_kept_scratch_equals_jitted_functional(cls, fn, kw, fkw):
    rng = np.random.default_rng(3)
    # parameters large enough for the kept scratch (a float32 one grows it, a float64 one
    # has its own) and small ones (which allocate): views of one buffer per dtype
    shapes = [((100, 90), np.float32), ((7,), np.float32), ((90, 100), np.float64),
              ((50, 20, 10), np.float32), ((4, 5), np.float64)]
    init = {f"p{i}": rng.standard_normal(s).astype(d) for i, (s, d) in enumerate(shapes)}
    ps = {k: ember.nn.Parameter(ember.tensor(v.copy())) for k, v in init.items()}
    opt = getattr(ember.optim, cls)(list(ps.values()), **kw)
    fopt = getattr(ember.optim.functional, fn)(kw["lr"], **fkw)
    q = {k: ember.tensor(v.copy()) for k, v in init.items()}
    state = fopt.init(q)

    @ember.jit
    def jstep(q, s, g):
        u, s = fopt.update(g, s, q)
        return ember.optim.functional.apply_updates(q, u), s
    for step in range(5):
        grads = {k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in init.items()}
        for k, p in ps.items():
            p.grad = ember.tensor(grads[k].copy())
        opt.step()
        q, state = jstep(q, state, {k: ember.tensor(g) for k, g in grads.items()})
        for k, p in ps.items():
            np.testing.assert_array_equal(p.detach().numpy(), q[k].numpy(),
                                          err_msg=f"{cls} {kw} step {step + 1} {k}")
            np.testing.assert_array_equal(p.grad.numpy(), grads[k])  # the gradient is kept
    flat = dict(opt._arith._flat)
    assert len(flat) == 2  # float32 and float64
    opt.step()
    assert all(opt._arith._flat[k] is v for k, v in flat.items())  # no allocation per step
