"""Optax's API on ember (``import ember.optax as optax``): gradient transformations as
``(init, update)`` pairs over pytrees of tensors, composed with ``chain``; the common
optimizers, learning-rate schedules and losses with Optax's names, arguments and formulas, so
a JAX training loop written against Optax runs with its imports changed. Everything is made of
ember ops, so a whole step can be jitted; states are NamedTuples (pytrees).

>>> import ember.optax as optax
>>> opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))
>>> params = {"w": ember.ones(3)}
>>> state = opt.init(params)
>>> grads = {"w": ember.full((3,), 10.0)}
>>> updates, state = opt.update(grads, state, params)
>>> optax.apply_updates(params, updates)["w"]
tensor([0.9900, 0.9900, 0.9900])
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

from . import numpy as jnp
from .nn import functional as F
from .tree import tree_leaves, tree_map

__all__ = ["GradientTransformation", "EmptyState", "ScaleByAdamState", "TraceState",
           "ScaleByRmsState", "ScaleByScheduleState", "identity", "chain", "scale",
           "scale_by_learning_rate", "scale_by_schedule", "scale_by_adam", "scale_by_rms",
           "trace", "add_decayed_weights", "clip", "clip_by_global_norm", "global_norm",
           "sgd", "adam", "adamw", "rmsprop", "apply_updates", "constant_schedule",
           "linear_schedule", "exponential_decay", "cosine_decay_schedule",
           "warmup_cosine_decay_schedule", "piecewise_constant_schedule", "join_schedules",
           "softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels", "l2_loss",
           "squared_error", "sigmoid_binary_cross_entropy"]


class GradientTransformation(NamedTuple):
    """``init(params) -> state``; ``update(updates, state, params=None) -> (updates, state)``."""
    init: Callable
    update: Callable


class EmptyState(NamedTuple):
    """The state of a transformation that keeps none."""


class ScaleByAdamState(NamedTuple):
    count: Any
    mu: Any
    nu: Any


class TraceState(NamedTuple):
    trace: Any


class ScaleByRmsState(NamedTuple):
    nu: Any


class ScaleByScheduleState(NamedTuple):
    count: Any


def _count0():
    return jnp.zeros([], jnp.int32)


def _next(count):
    return count + 1


def _zeros_like(params):
    return tree_map(jnp.zeros_like, params)


def identity():
    """Passes the updates through."""
    return GradientTransformation(lambda params: EmptyState(),
                                  lambda updates, state, params=None: (updates, state))


def chain(*transforms):
    """Applies ``transforms`` in order; the state is the tuple of their states."""
    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params=None):
        if len(state) != len(transforms):
            raise ValueError(f"chain: the state has {len(state)} parts for "
                             f"{len(transforms)} transformations; init it with this chain")
        new = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params)
            new.append(s)
        return updates, tuple(new)
    return GradientTransformation(init, update)


def scale(step_size):
    """Multiplies the updates by ``step_size``."""
    return GradientTransformation(
        lambda params: EmptyState(),
        lambda updates, state, params=None: (tree_map(lambda g: g * step_size, updates),
                                             state))


def scale_by_schedule(step_size_fn):
    """Multiplies the updates by ``step_size_fn(count)`` (count = updates so far)."""
    def update(updates, state, params=None):
        s = step_size_fn(state.count)
        return tree_map(lambda g: g * s, updates), ScaleByScheduleState(_next(state.count))
    return GradientTransformation(lambda params: ScaleByScheduleState(_count0()), update)


def scale_by_learning_rate(learning_rate, *, flip_sign=True):
    """Multiplies by ``-learning_rate`` (a number or a schedule of the step count)."""
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)


def scale_by_adam(b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, *, nesterov=False):
    """Adam's preconditioning: bias-corrected first moment over the root of the second."""
    def init(params):
        return ScaleByAdamState(_count0(), _zeros_like(params), _zeros_like(params))

    def update(updates, state, params=None):
        mu = tree_map(lambda g, m: (1 - b1) * g + b1 * m, updates, state.mu)
        nu = tree_map(lambda g, v: (1 - b2) * (g * g) + b2 * v, updates, state.nu)
        count = _next(state.count)
        c1 = 1 - b1 ** count.astype(jnp.float32)
        c2 = 1 - b2 ** count.astype(jnp.float32)
        if nesterov:
            c1n = 1 - b1 ** (count + 1).astype(jnp.float32)
            mu_hat = tree_map(lambda m, g: b1 * m / c1n + (1 - b1) * g / c1, mu, updates)
        else:
            mu_hat = tree_map(lambda m: m / c1, mu)
        nu_hat = tree_map(lambda v: v / c2, nu)
        out = tree_map(lambda m, v: m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        return out, ScaleByAdamState(count, mu, nu)
    return GradientTransformation(init, update)


def scale_by_rms(decay=0.9, eps=1e-8, initial_scale=0.0):
    """RMSprop's preconditioning: the updates over the root of a moving mean of squares."""
    def init(params):
        return ScaleByRmsState(tree_map(lambda p: jnp.full_like(p, initial_scale), params))

    def update(updates, state, params=None):
        nu = tree_map(lambda g, v: (1 - decay) * (g * g) + decay * v, updates, state.nu)
        return tree_map(lambda g, v: g / (jnp.sqrt(v) + eps), updates, nu), ScaleByRmsState(nu)
    return GradientTransformation(init, update)


def trace(decay, nesterov=False):
    """Momentum: ``t = g + decay * t`` (Nesterov: ``g + decay * t_new``)."""
    def init(params):
        return TraceState(_zeros_like(params))

    def update(updates, state, params=None):
        t = tree_map(lambda g, tr: g + decay * tr, updates, state.trace)
        out = tree_map(lambda g, tr: g + decay * tr, updates, t) if nesterov else t
        return out, TraceState(t)
    return GradientTransformation(init, update)


def add_decayed_weights(weight_decay=0.0, mask=None):
    """Adds ``weight_decay * params`` to the updates (decoupled weight decay)."""
    if mask is not None:
        raise ValueError("add_decayed_weights: mask is not supported by ember.optax; "
                         "apply the decay to a sub-tree with chain/partition instead")

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("add_decayed_weights: needs params; call "
                             "update(grads, state, params)")
        return tree_map(lambda g, p: g + weight_decay * p, updates, params), state
    return GradientTransformation(lambda params: EmptyState(), update)


def clip(max_delta):
    """Clips every update element to [-max_delta, max_delta]."""
    return GradientTransformation(
        lambda params: EmptyState(),
        lambda updates, state, params=None: (
            tree_map(lambda g: jnp.clip(g, -max_delta, max_delta), updates), state))


def global_norm(updates):
    """The L2 norm of all leaves together."""
    return jnp.sqrt(sum(jnp.sum(g * g) for g in tree_leaves(updates)))


def clip_by_global_norm(max_norm):
    """Scales the updates down so that their global norm is at most ``max_norm``."""
    def update(updates, state, params=None):
        n = global_norm(updates)
        trigger = n < max_norm
        return tree_map(lambda g: jnp.where(trigger, g, (g / n) * max_norm), updates), state
    return GradientTransformation(lambda params: EmptyState(), update)


def sgd(learning_rate, momentum=None, nesterov=False):
    """Stochastic gradient descent, with optional (Nesterov) momentum."""
    parts = [] if momentum is None else [trace(momentum, nesterov)]
    return chain(*parts, scale_by_learning_rate(learning_rate))


def adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, *, nesterov=False):
    """Adam."""
    return chain(scale_by_adam(b1, b2, eps, eps_root, nesterov=nesterov),
                 scale_by_learning_rate(learning_rate))


def adamw(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, weight_decay=1e-4,
          mask=None, *, nesterov=False):
    """Adam with decoupled weight decay."""
    return chain(scale_by_adam(b1, b2, eps, eps_root, nesterov=nesterov),
                 add_decayed_weights(weight_decay, mask), scale_by_learning_rate(learning_rate))


def rmsprop(learning_rate, decay=0.9, eps=1e-8, initial_scale=0.0, momentum=None,
            nesterov=False):
    """RMSprop (Optax's form: eps outside the root)."""
    parts = [scale_by_rms(decay, eps, initial_scale), scale_by_learning_rate(learning_rate)]
    if momentum is not None:
        parts.append(trace(momentum, nesterov))
    return chain(*parts)


def apply_updates(params, updates):
    """``params + updates`` leafwise, in each parameter's dtype."""
    return tree_map(lambda p, u: (p + u).astype(p.dtype), params, updates)


# ---- schedules: functions of the step count -------------------------------------------

def constant_schedule(value):
    return lambda count: value


def linear_schedule(init_value, end_value, transition_steps, transition_begin=0):
    """From ``init_value`` to ``end_value`` over ``transition_steps`` after
    ``transition_begin``, then constant."""
    if transition_steps <= 0:
        return constant_schedule(init_value)

    def schedule(count):
        frac = jnp.clip(jnp.asarray(count - transition_begin, jnp.float32) / transition_steps,
                        0.0, 1.0)
        return init_value + (end_value - init_value) * frac
    return schedule


def exponential_decay(init_value, transition_steps, decay_rate, transition_begin=0,
                      staircase=False, end_value=None):
    """``init_value * decay_rate ** ((count - transition_begin) / transition_steps)``."""
    if transition_steps <= 0:
        return constant_schedule(init_value)

    def schedule(count):
        steps = jnp.maximum(jnp.asarray(count - transition_begin, jnp.float32), 0.0)
        p = steps / transition_steps
        if staircase:
            p = jnp.floor(p)
        v = init_value * decay_rate ** p
        if end_value is not None:
            v = jnp.maximum(v, end_value) if decay_rate < 1 else jnp.minimum(v, end_value)
        return v
    return schedule


def cosine_decay_schedule(init_value, decay_steps, alpha=0.0, exponent=1.0):
    """Half a cosine from ``init_value`` to ``alpha * init_value`` over ``decay_steps``."""
    if decay_steps <= 0:
        raise ValueError(f"cosine_decay_schedule: decay_steps must be positive, got "
                         f"{decay_steps}")

    def schedule(count):
        t = jnp.minimum(jnp.asarray(count, jnp.float32), decay_steps) / decay_steps
        cosine = 0.5 * (1 + jnp.cos(math.pi * t))
        return init_value * ((1 - alpha) * cosine ** exponent + alpha)
    return schedule


def join_schedules(schedules, boundaries):
    """``schedules[i]`` from ``boundaries[i-1]`` on, each fed the count since its start."""
    def schedule(count):
        out = schedules[0](count)
        for s, b in zip(schedules[1:], boundaries):
            out = jnp.where(count < b, out, s(count - b))
        return out
    return schedule


def warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay_steps,
                                 end_value=0.0, exponent=1.0):
    """A linear warm-up to ``peak_value``, then a cosine decay to ``end_value`` at
    ``decay_steps`` (counted from the start)."""
    alpha = 0.0 if peak_value == 0 else end_value / peak_value
    return join_schedules(
        [linear_schedule(init_value, peak_value, warmup_steps),
         cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent)],
        [warmup_steps])


def piecewise_constant_schedule(init_value, boundaries_and_scales=None):
    """``init_value`` times the product of the scales of the boundaries already passed."""
    items = sorted((boundaries_and_scales or {}).items())

    def schedule(count):
        v = jnp.asarray(init_value, jnp.float32)
        for b, s in items:
            v = jnp.where(count < b, v, v * s)
        return v
    return schedule


# ---- losses (per example: reduce them yourself, as Optax) ------------------------------

def softmax_cross_entropy(logits, labels):
    """``-sum(labels * log_softmax(logits), -1)``."""
    return -jnp.sum(labels * F.log_softmax(logits, -1), axis=-1)


def softmax_cross_entropy_with_integer_labels(logits, labels):
    """Cross-entropy with class indices: ``logsumexp(logits) - logits[label]``."""
    logp = F.log_softmax(logits, -1)
    return -jnp.take_along_axis(logp, labels[..., None].astype(jnp.int64), axis=-1)[..., 0]


def l2_loss(predictions, targets=None):
    """``0.5 * (predictions - targets) ** 2``."""
    d = predictions if targets is None else predictions - targets
    return 0.5 * d * d


def squared_error(predictions, targets=None):
    """``(predictions - targets) ** 2``."""
    d = predictions if targets is None else predictions - targets
    return d * d


def sigmoid_binary_cross_entropy(logits, labels):
    """``-labels * log(sigmoid(logits)) - (1 - labels) * log(1 - sigmoid(logits))``, stably."""
    return -labels * F.logsigmoid(logits) - (1 - labels) * F.logsigmoid(-logits)
