"""The update math of every optimizer, written once over "array-like" values: the stateful
optimizers call these rules on NumPy arrays (in place on the parameter storage afterwards),
the functional ones (``ember.optim.functional``) on ember tensors, so both run under ``jit``
and give the same numbers. ``sqrt`` and ``maximum`` come from the caller's array library.

Every rule takes the parameter ``p``, its gradient ``g``, its state (a dict of arrays), the
1-based step ``t`` and the hyper-parameters, and returns the update to add to ``p`` (``p +
update`` equals PyTorch's in-place step bit for bit, except AdamW's decay) and the new state.
PyTorch's formulas, including where weight decay and bias corrections enter.
"""
from __future__ import annotations


def sgd(p, g, s, t, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
        maximize=False, first=None, **_):
    """``first(g, other)``: ``g`` on the first step, else ``other`` (with dampening, the
    momentum buffer starts as ``g``); the buffer starts at zero."""
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        buf = s["momentum_buffer"]
        if dampening:  # the buffer starts as g, not as (1 - dampening) g
            buf = first(g, momentum * buf + (1 - dampening) * g)
        else:  # from the zero buffer the first step gives g itself
            buf = momentum * buf + g
        s = dict(s, momentum_buffer=buf)
        g = g + momentum * buf if nesterov else buf
    return -lr * g, s


def adam(p, g, s, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         maximize=False, decoupled=False, sqrt=None, maximum=None, **_):
    """Adam (``decoupled=False``) and AdamW (``decoupled=True``: p *= 1 - lr * wd)."""
    b1, b2 = betas
    if maximize:
        g = -g
    decay = None
    if weight_decay:
        if decoupled:
            decay = -(lr * weight_decay) * p
        else:
            g = g + weight_decay * p
    m = b1 * s["exp_avg"] + (1 - b1) * g
    v = b2 * s["exp_avg_sq"] + (1 - b2) * (g * g)
    s = dict(s, exp_avg=m, exp_avg_sq=v)
    bc1 = 1 - b1 ** t
    bc2_sqrt = sqrt(1 - b2 ** t)
    if amsgrad:
        vmax = maximum(s["max_exp_avg_sq"], v)
        s["max_exp_avg_sq"] = vmax
        denom = sqrt(vmax) / bc2_sqrt + eps
    else:
        denom = sqrt(v) / bc2_sqrt + eps
    step = -(lr / bc1) * (m / denom)
    return (step if decay is None else decay + step), s


def rmsprop(p, g, s, t, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, maximize=False, sqrt=None, **_):
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * p
    sa = alpha * s["square_avg"] + (1 - alpha) * (g * g)
    s = dict(s, square_avg=sa)
    if centered:
        ga = alpha * s["grad_avg"] + (1 - alpha) * g
        s["grad_avg"] = ga
        avg = sqrt(sa - ga * ga) + eps
    else:
        avg = sqrt(sa) + eps
    if momentum:
        buf = momentum * s["momentum_buffer"] + g / avg
        s["momentum_buffer"] = buf
        return -lr * buf, s
    return -lr * (g / avg), s


def adagrad(p, g, s, t, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False,
            sqrt=None, **_):
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    acc = s["sum"] + g * g
    return -clr * (g / (sqrt(acc) + eps)), dict(s, sum=acc)


# the state each rule keeps per parameter, as (name, initial value as a multiple of ones or a
# hyper-parameter name)
STATE = {
    "sgd": lambda hp: ["momentum_buffer"] if hp.get("momentum") else [],
    "adam": lambda hp: ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if hp.get("amsgrad")
                                                    else []),
    "rmsprop": lambda hp: ["square_avg"] + (["momentum_buffer"] if hp.get("momentum") else [])
    + (["grad_avg"] if hp.get("centered") else []),
    "adagrad": lambda hp: ["sum"],
}
RULES = {"sgd": sgd, "adam": adam, "rmsprop": rmsprop, "adagrad": adagrad}
