"""The eager optimizers' in-place SGD and Adam are the update rules, bit for bit."""
import numpy as np
import pytest

from ember.optim import update_rules as R
from ember.optim.inplace import adam_, scalar_sqrt, sgd_

SGD = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True,
                                                        weight_decay=0.01),
       dict(lr=0.1, momentum=0.5, dampening=0.1, maximize=True)]
ADAM = [dict(lr=1e-3), dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True),
        dict(lr=0.01, weight_decay=0.1, decoupled=True), dict(lr=0.01, amsgrad=True,
                                                               maximize=True, decoupled=True,
                                                               weight_decay=0.05)]


def _grads(shape, n=6):
    rng = np.random.default_rng(0)
    p = rng.standard_normal(shape).astype(np.float32)
    return p, [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


@pytest.mark.parametrize("hp", SGD)
def test_sgd_in_place_is_the_rule(hp):
    p0, gs = _grads((7, 5))
    p, st = p0.copy(), {}
    q, s = p0.copy(), {"momentum_buffer": 0.0}
    for t, g in enumerate(gs, 1):
        g_before = g.copy()
        sgd_(p, g, st, **hp)
        np.testing.assert_array_equal(g, g_before)  # the gradient is left alone
        first = t == 1
        delta, s = R.sgd(q, g, s, t, first=lambda g0, other: np.array(g0, copy=True)
                         if first else other, **hp)
        q += np.asarray(delta, np.float32)
        np.testing.assert_array_equal(p, q)
        if hp.get("momentum"):
            np.testing.assert_array_equal(st["momentum_buffer"], s["momentum_buffer"])
    assert p.dtype == np.float32


@pytest.mark.parametrize("hp", ADAM)
def test_adam_in_place_is_the_rule(hp):
    p0, gs = _grads((300,))
    names = R.STATE["adam"](hp)
    p, st = p0.copy(), {n: np.zeros_like(p0) for n in names}
    q, s = p0.copy(), {n: np.zeros_like(p0) for n in names}
    for t, g in enumerate(gs, 1):
        adam_(p, g, st, t, **hp)
        delta, s = R.adam(q, g, s, t, sqrt=scalar_sqrt, maximum=np.maximum, **hp)
        assert delta.dtype == np.float32  # no promotion to float64 on the rule path either
        q += delta
        np.testing.assert_array_equal(p, q)
        for n in names:
            np.testing.assert_array_equal(st[n], s[n])
