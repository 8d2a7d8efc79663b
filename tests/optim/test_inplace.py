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
