"""Shared helpers: build one distribution in ember and torch from the same NumPy parameters
and compare values and gradients."""
import numpy as np
import torch

import ember


def np_(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np_(a), np_(b), rtol=tol, atol=tol)


def make(ecls, tcls, params, grad=True, **kw):
    """(ember dist, torch dist, ember params, torch params) from NumPy ``params`` (a dict)."""
    ep = {k: ember.tensor(v, requires_grad=grad and np.asarray(v).dtype.kind == "f")
          for k, v in params.items()}
    tp = {k: torch.tensor(v, requires_grad=grad and np.asarray(v).dtype.kind == "f")
          for k, v in params.items()}
    return ecls(**ep, **kw), tcls(**tp, **kw), ep, tp


def check_grads(ep, tp, tol=1e-4):
    for k in ep:
        if tp[k].grad is not None:
            assert ep[k].grad is not None, k
            close(ep[k].grad, tp[k].grad, tol)


def compare(ecls, tcls, params, value, props=("mean", "variance"), methods=("log_prob",),
            entropy=True, tol=1e-5, grad_tol=1e-4, **kw):
    e, t, ep, tp = make(ecls, tcls, params, **kw)
    ev, tv = ember.tensor(value), torch.tensor(value)
    for p in props:
        close(getattr(e, p), getattr(t, p), tol)
    for m in methods:
        close(getattr(e, m)(ev), getattr(t, m)(tv), tol)
    if entropy:
        close(e.entropy(), t.entropy(), tol)
    assert tuple(e.batch_shape) == tuple(t.batch_shape)
    assert tuple(e.event_shape) == tuple(t.event_shape)
    # gradients of log_prob (+ entropy) w.r.t. the parameters
    le = e.log_prob(ev).sum() + (e.entropy().sum() if entropy else 0)
    lt = t.log_prob(tv).sum() + (t.entropy().sum() if entropy else 0)
    le.backward()
    lt.backward()
    check_grads(ep, tp, grad_tol)
    return e, t
