"""Pure optimizers for the functional style (Optax's shape): ``opt = adam(1e-3); state =
opt.init(params); updates, state = opt.update(grads, state, params); params =
apply_updates(params, updates)``. Params, grads and states are pytrees of tensors, so the whole
step can be ``jit``-compiled. The math is ``update_rules``, shared with the stateful
optimizers.
"""
from __future__ import annotations

from . import update_rules as R
from ..core import dtypes as _dt
from ..tree import tree_flatten, tree_unflatten

__all__ = ["GradientTransformation", "sgd", "adam", "adamw", "rmsprop", "adagrad",
           "apply_updates"]


class GradientTransformation:
    """``init(params) -> state`` and ``update(grads, state, params=None) -> (updates,
    state)``; ``state = {"step": 0-d tensor, "slots": {name: pytree like params}}``."""

    def __init__(self, rule, **hp):
        self.rule, self.hp = rule, hp
        self.slots = R.STATE[rule](hp)

    def init(self, params):
        from ..ops.creation_ops import zeros, full_like, zeros_like
        leaves, td = tree_flatten(params)
        slots = {}
        for name in self.slots:
            fill = self.hp.get("initial_accumulator_value", 0.0) if name == "sum" else 0.0
            slots[name] = tree_unflatten(td, [full_like(p, fill) if fill else zeros_like(p)
                                              for p in leaves])
        # the step count in float64: bias corrections like 1 - b**t then round as the stateful
        # optimizers' (and PyTorch's) Python floats do, so both give the same bits
        return {"step": zeros((), dtype=_dt.float64), "slots": slots}

    def update(self, grads, state, params=None):
        from ..ops.elementwise import sqrt, maximum, where
        g_leaves, td = tree_flatten(grads)
        if params is None:
            if self.hp.get("weight_decay"):
                raise ValueError("update: weight decay needs params; pass update(grads, "
                                 "state, params)")
            p_leaves = g_leaves
        else:
            p_leaves, ptd = tree_flatten(params)
            if ptd != td:
                raise ValueError(f"update: grads structure {td} doesn't match params {ptd}")
        t = state["step"] + 1
        slot_leaves = {n: tree_flatten(state["slots"][n])[0] for n in self.slots}
        ups, new_slots = [], {n: [] for n in self.slots}
        first = (lambda g, other: where(t == 1, g, other))
        for i, (p, g) in enumerate(zip(p_leaves, g_leaves)):
            s = {n: slot_leaves[n][i] for n in self.slots}
            u, s = R.RULES[self.rule](p, g, s, t, sqrt=sqrt, maximum=maximum, first=first,
                                      **self.hp)
            ups.append(u.to(g.dtype) if u.dtype != g.dtype else u)
            for n in self.slots:
                new_slots[n].append(s[n])
        return tree_unflatten(td, ups), {
            "step": t, "slots": {n: tree_unflatten(td, v) for n, v in new_slots.items()}}


def sgd(learning_rate, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    return GradientTransformation("sgd", lr=learning_rate, momentum=momentum,
                                  dampening=dampening, nesterov=nesterov,
                                  weight_decay=weight_decay)


def adam(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False):
    return GradientTransformation("adam", lr=learning_rate, betas=(b1, b2), eps=eps,
                                  weight_decay=weight_decay, amsgrad=amsgrad)


def adamw(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False):
    return GradientTransformation("adam", lr=learning_rate, betas=(b1, b2), eps=eps,
                                  weight_decay=weight_decay, amsgrad=amsgrad, decoupled=True)


def rmsprop(learning_rate=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False):
    return GradientTransformation("rmsprop", lr=learning_rate, alpha=alpha, eps=eps,
                                  weight_decay=weight_decay, momentum=momentum,
                                  centered=centered)


def adagrad(learning_rate=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10):
    return GradientTransformation("adagrad", lr=learning_rate, lr_decay=lr_decay,
                                  weight_decay=weight_decay,
                                  initial_accumulator_value=initial_accumulator_value, eps=eps)


def apply_updates(params, updates):
    """``params + updates``, leaf by leaf."""
    p, td = tree_flatten(params)
    u, _ = tree_flatten(updates)
    return tree_unflatten(td, [a + b for a, b in zip(p, u)])
