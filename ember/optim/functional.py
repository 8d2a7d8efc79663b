"""Pure optimizers for the functional style (Optax's shape): ``opt = adam(1e-3); state =
opt.init(params); updates, state = opt.update(grads, state, params); params =
apply_updates(params, updates)``. Params, grads and states are pytrees of tensors, so the whole
step can be ``jit``-compiled. The math is ``update_rules``, shared with the stateful
optimizers.
"""
from __future__ import annotations

from . import update_rules
from ..core import dtypes as _dt
from ..tree import tree_flatten, tree_unflatten

__all__ = ["GradientTransformation", "sgd", "adam", "adamw", "rmsprop", "adagrad",
           "apply_updates", "masked_update"]


class GradientTransformation:
    """``init(params) -> state`` and ``update(grads, state, params=None) -> (updates,
    state)``; ``state = {"step": 0-d tensor, "slots": {name: pytree like params}}``.

    >>> opt = ember.optim.functional.sgd(0.1)
    >>> params = {"w": ember.tensor([1., 2.])}
    >>> state = opt.init(params)
    >>> grads = ember.grad(lambda p: (p["w"] ** 2).sum())(params)
    >>> updates, state = opt.update(grads, state, params)
    >>> ember.optim.functional.apply_updates(params, updates)
    {'w': tensor([0.8000, 1.6000])}
    """

    def __init__(self, rule, **hp):
        self.rule, self.hp = rule, hp
        self.slots = update_rules.STATE[rule](hp)

    def init(self, params):
        from ..ops.creation_ops import zeros, full_like
        leaves, td = tree_flatten(params)
        slots = {}
        for name in self.slots:
            fill = self.hp.get("initial_accumulator_value", 0.0) if name == "sum" else 0.0
            # filled, not lazily zeroed (calloc's pages would fault in during the first
            # update, inside the first call of a jitted step): the state's memory is
            # written here, as the parameters' own was when they were made
            slots[name] = tree_unflatten(td, [full_like(p, fill) for p in leaves])
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
        arith = update_rules.Functional(sqrt, maximum,
                                        lambda t, g, other: where(t == 1, g, other))
        for i, (p, g) in enumerate(zip(p_leaves, g_leaves)):
            s = {n: slot_leaves[n][i] for n in self.slots}
            u, s = update_rules.RULES[self.rule](arith, p, g, s, t, **self.hp)
            ups.append(u.to(g.dtype) if u.dtype != g.dtype else u)
            for n in self.slots:
                new_slots[n].append(s[n])
        return tree_unflatten(td, ups), {
            "step": t, "slots": {n: tree_unflatten(td, v) for n, v in new_slots.items()}}


def sgd(learning_rate, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    """SGD as a pure ``GradientTransformation`` (the math of ``ember.optim.SGD``).

    >>> opt = ember.optim.functional.sgd(0.5, momentum=0.9)
    >>> params = ember.tensor([1.])
    >>> state = opt.init(params)
    >>> updates, state = opt.update(ember.tensor([1.]), state)
    >>> updates, state["slots"]["momentum_buffer"]
    (tensor([-0.5000]), tensor([1.]))
    """
    return GradientTransformation("sgd", lr=learning_rate, momentum=momentum,
                                  dampening=dampening, nesterov=nesterov,
                                  weight_decay=weight_decay)


def adam(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False):
    """Adam as a pure ``GradientTransformation`` (the math of ``ember.optim.Adam``; Optax's
    argument names ``b1``, ``b2``). The whole step can run under ``ember.jit``:

    >>> opt = ember.optim.functional.adam(0.1)
    >>> @ember.jit
    ... def step(params, state):
    ...     grads = ember.grad(lambda p: (p ** 2).sum())(params)
    ...     updates, state = opt.update(grads, state, params)
    ...     return ember.optim.functional.apply_updates(params, updates), state
    >>> params = ember.tensor([1., 2.])
    >>> params, state = step(params, opt.init(params))
    >>> params
    tensor([0.9000, 1.9000])
    """
    return GradientTransformation("adam", lr=learning_rate, betas=(b1, b2), eps=eps,
                                  weight_decay=weight_decay, amsgrad=amsgrad)


def adamw(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False):
    """AdamW (decoupled weight decay) as a pure ``GradientTransformation``.

    >>> opt = ember.optim.functional.adamw(0.1, weight_decay=0.5)
    >>> params = ember.tensor([1.])
    >>> updates, _ = opt.update(ember.zeros(1), opt.init(params), params)
    >>> updates                                  # -lr * weight_decay * p
    tensor([-0.0500])
    """
    return GradientTransformation("adam", lr=learning_rate, betas=(b1, b2), eps=eps,
                                  weight_decay=weight_decay, amsgrad=amsgrad, decoupled=True)


def rmsprop(learning_rate=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False):
    """RMSprop as a pure ``GradientTransformation`` (the math of ``ember.optim.RMSprop``).

    >>> opt = ember.optim.functional.rmsprop(0.01)
    >>> updates, _ = opt.update(ember.tensor([1.]), opt.init(ember.tensor([1.])))
    >>> updates
    tensor([-0.1000])
    """
    return GradientTransformation("rmsprop", lr=learning_rate, alpha=alpha, eps=eps,
                                  weight_decay=weight_decay, momentum=momentum,
                                  centered=centered)


def adagrad(learning_rate=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10):
    """Adagrad as a pure ``GradientTransformation`` (the math of ``ember.optim.Adagrad``).

    >>> opt = ember.optim.functional.adagrad(0.5)
    >>> updates, _ = opt.update(ember.tensor([2.]), opt.init(ember.tensor([1.])))
    >>> updates
    tensor([-0.5000])
    """
    return GradientTransformation("adagrad", lr=learning_rate, lr_decay=lr_decay,
                                  weight_decay=weight_decay,
                                  initial_accumulator_value=initial_accumulator_value, eps=eps)


def apply_updates(params, updates):
    """``params + updates``, leaf by leaf.

    >>> params = [ember.tensor(1.), ember.tensor(2.)]
    >>> ember.optim.functional.apply_updates(params, [ember.tensor(0.5), ember.tensor(-1.)])
    [tensor(1.5000), tensor(1.)]
    """
    p, td = tree_flatten(params)
    u, _ = tree_flatten(updates)
    return tree_unflatten(td, [a + b for a, b in zip(p, u)])


class MaskedUpdate:
    """``masked_update``'s transformation: ``inner`` restricted to the unpruned entries."""

    def __init__(self, inner, masks):
        self.inner, self.masks = inner, masks

    def init(self, params):
        return self.inner.init(params)

    def update(self, grads, state, params=None):
        from ..ops.elementwise import where
        from ..ops.creation_ops import zeros_like
        g, td = tree_flatten(grads)
        m, mtd = tree_flatten(self.masks)
        if td != mtd:
            raise ValueError(f"masked_update: the masks' structure {mtd} doesn't match the "
                             f"gradients' {td}")
        keep = [mk != 0 for mk in m]
        grads = tree_unflatten(td, [where(k, x, zeros_like(x)) for k, x in zip(keep, g)])
        updates, state = self.inner.update(grads, state, params)
        u, _ = tree_flatten(updates)
        return tree_unflatten(td, [where(k, x, zeros_like(x)) for k, x in zip(keep, u)]), state


def masked_update(inner, masks):
    """``inner`` (a ``GradientTransformation``) on a pruned params pytree, JAX style: the
    gradients and the updates of pruned entries (``masks`` 0, e.g. from
    ``ember.nn.utils.prune.magnitude_masks``) are zero, so weights set to zero stay exactly
    zero however long the (jitted) training runs, and the optimizer's moments there stay
    zero too.

    >>> params = {"w": ember.tensor([0., 2.])}
    >>> opt = ember.optim.functional.masked_update(ember.optim.functional.adam(0.1),
    ...                                            {"w": ember.tensor([0., 1.])})
    >>> grads = {"w": ember.tensor([1., 1.])}
    >>> updates, _ = opt.update(grads, opt.init(params), params)
    >>> ember.optim.functional.apply_updates(params, updates)
    {'w': tensor([0.0000, 1.9000])}
    """
    return MaskedUpdate(inner, masks)
