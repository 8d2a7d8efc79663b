"""The eager optimizers' hot paths: SGD and Adam/AdamW written with in-place NumPy operations
(one scratch buffer, state updated where it lives). They are the same formulas as
``update_rules.sgd``/``update_rules.adam``, evaluated in the same order, so results are bit
for bit those of the rules applied to NumPy arrays (tests/optim/test_inplace.py checks this);
they are ~2.5x faster on large tensors, where the rules' temporaries cost more than the
arithmetic.

Scalars stay Python floats (NumPy treats them as weak), so float32 state is updated in float32
arithmetic, as PyTorch does.
"""
from __future__ import annotations

import math

import numpy as np


def sgd_(p, g, st, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
         maximize=False, **_):
    """One SGD step on the arrays ``p`` (updated) with gradient ``g`` (not modified) and state
    ``st`` (its ``momentum_buffer`` is created on the first step, then updated in place)."""
    if maximize:
        g = np.negative(g)
    if weight_decay:
        g = np.multiply(p, weight_decay) + g  # the rule's g + weight_decay * p
    d = g
    if momentum:
        buf = st.get("momentum_buffer")
        if buf is None:  # from the zero buffer, the first step gives g itself
            buf = st["momentum_buffer"] = np.array(g, copy=True)
        else:
            buf *= momentum
            if dampening:
                buf += np.multiply(g, 1 - dampening)
            else:
                buf += g
        d = np.multiply(buf, momentum) + g if nesterov else buf
    p += np.multiply(d, -lr)


def adam_(p, g, st, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
          maximize=False, decoupled=False, **_):
    """One Adam (AdamW with ``decoupled``) step at 1-based step ``t``; ``st`` holds
    ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq`` with ``amsgrad``), updated in place."""
    b1, b2 = betas
    if maximize:
        g = np.negative(g)
    decay = None
    if weight_decay:
        if decoupled:
            decay = np.multiply(p, -(lr * weight_decay))
        else:
            g = np.multiply(p, weight_decay) + g
    m, v = st["exp_avg"], st["exp_avg_sq"]
    tmp = np.multiply(g, 1 - b1)
    m *= b1
    m += tmp
    np.multiply(g, g, out=tmp)
    tmp *= 1 - b2
    v *= b2
    v += tmp
    bc1 = 1 - b1 ** t
    bc2_sqrt = math.sqrt(1 - b2 ** t)
    if amsgrad:
        vmax = st["max_exp_avg_sq"]
        np.maximum(vmax, v, out=vmax)
        np.sqrt(vmax, out=tmp)
    else:
        np.sqrt(v, out=tmp)
    tmp /= bc2_sqrt
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= -(lr / bc1)
    if decay is not None:
        decay += tmp
        tmp = decay
    p += tmp


def scalar_sqrt(x):
    """``sqrt`` for the rules on NumPy arrays: a Python float stays a Python float (a NumPy
    float64 scalar would promote float32 arrays to float64 under NumPy 2's rules)."""
    return math.sqrt(x) if isinstance(x, (int, float)) else np.sqrt(x)


INPLACE = {"sgd": sgd_, "adam": adam_}
