"""``jax.example_libraries.optimizers`` on ember: first-order optimizers as pure functions.

Each optimizer factory (``sgd(step_size)``, ``momentum(step_size, mass)``, ``adam(...)``, ...)
returns a triple ``(init_fun, update_fun, get_params)``:

- ``opt_state = init_fun(params)``: ``params`` any pytree of arrays;
- ``opt_state = update_fun(step, grads, opt_state)``: ``step`` the iteration number (an int,
  traced under ``jit``), ``grads`` a pytree of the same structure as ``params``;
- ``params = get_params(opt_state)``.

``opt_state`` is an :class:`OptimizerState`, itself a pytree (its leaves are the arrays of
every parameter's state), so it passes through ``jit``, ``lax.fori_loop`` and
``tree_map``. ``unpack_optimizer_state`` turns it into a pytree of :class:`JoinPoint` (one per
parameter, holding that parameter's state) that can be pickled; ``pack_optimizer_state``
reverses it. A ``step_size`` is a number or a schedule ``step -> size``
(``exponential_decay``, ``inverse_time_decay``, ``polynomial_decay``, ``piecewise_constant``).

Write a new optimizer for one array with the :func:`optimizer` decorator: the decorated
factory returns ``(init, update, get_params)`` for a single array and gets the pytree
handling.

>>> from ember.example_libraries import optimizers
>>> opt_init, opt_update, get_params = optimizers.sgd(0.1)
>>> state = opt_init({"w": ember.numpy.ones(2)})
>>> state = opt_update(0, {"w": ember.numpy.array([1., -1.])}, state)
>>> get_params(state)["w"]
tensor([0.9000, 1.1000])
"""
from __future__ import annotations

import functools
from collections import namedtuple
from typing import Any, Callable, NamedTuple

from .. import numpy as jnp
from ..tree import (register_pytree_node, tree_flatten, tree_leaves, tree_map,
                    tree_unflatten)

__all__ = [
    "OptimizerState", "Optimizer", "JoinPoint", "optimizer", "sgd", "momentum", "nesterov",
    "adagrad", "rmsprop", "rmsprop_momentum", "adam", "adamax", "sm3", "constant",
    "exponential_decay", "inverse_time_decay", "polynomial_decay", "piecewise_constant",
    "make_schedule", "l2_norm", "clip_grads", "unpack_optimizer_state", "pack_optimizer_state",
]

Schedule = Callable[[Any], Any]

OptimizerState = namedtuple("OptimizerState", ["packed_state", "tree_def", "subtree_defs"])
OptimizerState.__doc__ = """The state of a pytree optimizer: ``packed_state`` holds, per
parameter leaf, the list of leaves of its state; ``tree_def`` is the parameters' structure,
``subtree_defs`` each parameter's state structure. A pytree whose leaves are the state's
arrays."""
register_pytree_node(
    OptimizerState,
    lambda s: ((s.packed_state,), (s.tree_def, s.subtree_defs)),
    lambda aux, children: OptimizerState(children[0], aux[0], aux[1]))


class Optimizer(NamedTuple):
    """``(init_fn, update_fn, params_fn)``: what an optimizer factory returns."""
    init_fn: Callable
    update_fn: Callable
    params_fn: Callable


def optimizer(opt_maker):
    """Decorate a factory of one-array optimizers ``(init, update, get_params)`` (state: any
    pytree per array) into a factory of pytree optimizers over :class:`OptimizerState`.

    >>> from ember.example_libraries.optimizers import optimizer
    >>> @optimizer
    ... def halve(step_size):
    ...     return (lambda x: x), (lambda i, g, x: x - step_size * g), (lambda x: x)
    >>> init, update, get = halve(0.5)
    >>> get(update(0, [ember.numpy.ones(1)], init([ember.numpy.ones(1)])))
    [tensor([0.5000])]
    """
    @functools.wraps(opt_maker)
    def tree_opt_maker(*args, **kwargs):
        init, update, get_params = opt_maker(*args, **kwargs)

        @functools.wraps(init)
        def tree_init(x0_tree):
            x0_flat, tree = tree_flatten(x0_tree)
            states = [tree_flatten(init(x0)) for x0 in x0_flat]
            packed = [leaves for leaves, _ in states]
            return OptimizerState(packed, tree, tuple(sd for _, sd in states))

        @functools.wraps(update)
        def tree_update(i, grad_tree, opt_state):
            packed, tree, subtrees = opt_state
            grad_flat, tree2 = tree_flatten(grad_tree)
            if tree2 != tree:
                raise TypeError(f"optimizer update: the gradient tree's structure does not "
                                f"match the parameter tree the optimizer was initialized with:"
                                f" gradients {tree2}, parameters {tree}; pass gradients of the "
                                f"same pytree as the params (e.g. grad(loss)(get_params(state)"
                                f", ...))")
            new = []
            for g, leaves, sd in zip(grad_flat, packed, subtrees):
                leaves2, sd2 = tree_flatten(update(i, g, tree_unflatten(sd, leaves)))
                if sd2 != sd:
                    raise TypeError(f"optimizer update: the per-parameter state changed "
                                    f"structure from {sd} to {sd2}; an update must return "
                                    f"a state of the structure init returned")
                new.append(leaves2)
            return OptimizerState(new, tree, subtrees)

        @functools.wraps(get_params)
        def tree_get_params(opt_state):
            packed, tree, subtrees = opt_state
            return tree_unflatten(tree, [get_params(tree_unflatten(sd, leaves))
                                         for leaves, sd in zip(packed, subtrees)])

        return Optimizer(tree_init, tree_update, tree_get_params)
    return tree_opt_maker


def _as(i, like):
    """The step ``i`` as a float of ``like``'s dtype (so bias corrections stay float32)."""
    return jnp.asarray(i, jnp.asarray(like).dtype)


# ---- optimizers ----------------------------------------------------------------------------


def _with_zeros(n):
    """An optimizer's init: the parameters and ``n`` zero slots of their shape (moments)."""
    return lambda x0: (x0,) + tuple(jnp.zeros_like(x0) for _ in range(n))


def _first(state):
    """An optimizer's get_params when the parameters are its state's first slot."""
    return state[0]

@optimizer
def sgd(step_size):
    """Stochastic gradient descent: ``x - step_size(i) * g``.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.sgd(0.5)
    >>> get(update(0, ember.numpy.array(2.), init(ember.numpy.array(1.))))
    tensor(0.)
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0

    def update(i, g, x):
        return x - step_size(i) * g

    return init, update, lambda x: x


@optimizer
def momentum(step_size, mass):
    """Heavy-ball momentum: ``v = mass * v + g; x = x - step_size(i) * v``.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.momentum(0.1, mass=0.9)
    >>> s = init(ember.numpy.array(1.))
    >>> s = update(1, ember.numpy.array(1.), update(0, ember.numpy.array(1.), s))
    >>> get(s)  # 1 - 0.1 * 1 - 0.1 * 1.9
    tensor(0.7100)
    """
    step_size = make_schedule(step_size)

    init = _with_zeros(1)

    def update(i, g, state):
        x, v = state
        v = mass * v + g
        return x - step_size(i) * v, v

    return init, update, _first


@optimizer
def nesterov(step_size, mass):
    """Nesterov momentum: ``v = mass * v + g; x = x - step_size(i) * (mass * v + g)``.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.nesterov(0.1, mass=0.9)
    >>> get(update(0, ember.numpy.array(1.), init(ember.numpy.array(1.))))
    tensor(0.8100)
    """
    step_size = make_schedule(step_size)

    init = _with_zeros(1)

    def update(i, g, state):
        x, v = state
        v = mass * v + g
        return x - step_size(i) * (mass * v + g), v

    return init, update, _first


@optimizer
def adagrad(step_size, momentum=0.9):
    """Adagrad with momentum: the gradient scaled by 1 / sqrt(sum of squared gradients)
    (0 where that sum is 0), averaged with weight ``momentum``.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.adagrad(1.0, momentum=0.0)
    >>> get(update(0, ember.numpy.array(3.), init(ember.numpy.array(1.))))
    tensor(0.)
    """
    step_size = make_schedule(step_size)

    init = _with_zeros(2)

    def update(i, g, state):
        x, g_sq, m = state
        g_sq = g_sq + jnp.square(g)
        scaled = jnp.where(g_sq > 0, g / jnp.sqrt(jnp.where(g_sq > 0, g_sq, 1)), 0)
        m = (1. - momentum) * scaled + momentum * m
        return x - step_size(i) * m, g_sq, m

    return init, update, _first


@optimizer
def rmsprop(step_size, gamma=0.9, eps=1e-8):
    """RMSProp: ``a = gamma * a + (1 - gamma) * g**2; x = x - step_size(i) * g / sqrt(a + eps)``.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.rmsprop(0.1, gamma=0.0, eps=0.0)
    >>> get(update(0, ember.numpy.array(2.), init(ember.numpy.array(1.))))
    tensor(0.9000)
    """
    step_size = make_schedule(step_size)

    init = _with_zeros(1)

    def update(i, g, state):
        x, avg_sq = state
        avg_sq = avg_sq * gamma + jnp.square(g) * (1. - gamma)
        return x - step_size(i) * g / jnp.sqrt(avg_sq + eps), avg_sq

    return init, update, _first


@optimizer
def rmsprop_momentum(step_size, gamma=0.9, eps=1e-8, momentum=0.9):
    """RMSProp with momentum on the scaled step:
    ``m = momentum * m + step_size(i) * g / sqrt(a + eps); x = x - m``.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.rmsprop_momentum(0.1, gamma=0.0, eps=0.0)
    >>> get(update(0, ember.numpy.array(2.), init(ember.numpy.array(1.))))
    tensor(0.9000)
    """
    step_size = make_schedule(step_size)

    init = _with_zeros(2)

    def update(i, g, state):
        x, avg_sq, mom = state
        avg_sq = avg_sq * gamma + jnp.square(g) * (1. - gamma)
        mom = momentum * mom + step_size(i) * g / jnp.sqrt(avg_sq + eps)
        return x - mom, avg_sq, mom

    return init, update, _first


@optimizer
def adam(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma and Ba): bias-corrected first and second moment estimates,
    ``x - step_size(i) * m_hat / (sqrt(v_hat) + eps)``.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.adam(0.1)
    >>> get(update(0, ember.numpy.array(5.), init(ember.numpy.array(1.))))
    tensor(0.9000)
    """
    step_size = make_schedule(step_size)

    init = _with_zeros(2)

    def update(i, g, state):
        x, m, v = state
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * jnp.square(g) + b2 * v
        t = _as(i, m) + 1
        m_hat = m / (1 - jnp.asarray(b1, m.dtype) ** t)
        v_hat = v / (1 - jnp.asarray(b2, m.dtype) ** t)
        return x - step_size(i) * m_hat / (jnp.sqrt(v_hat) + eps), m, v

    return init, update, _first


@optimizer
def adamax(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """AdaMax (Adam with the infinity norm): ``u = max(b2 * u, |g|)``,
    ``x - step_size(i) / (1 - b1**(i+1)) * m / (u + eps)``.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.adamax(0.1)
    >>> get(update(0, ember.numpy.array(5.), init(ember.numpy.array(1.))))
    tensor(0.9000)
    """
    step_size = make_schedule(step_size)

    init = _with_zeros(2)

    def update(i, g, state):
        x, m, u = state
        m = (1 - b1) * g + b1 * m
        u = jnp.maximum(b2 * u, jnp.abs(g))
        t = _as(i, m) + 1
        return x - (step_size(i) / (1 - jnp.asarray(b1, m.dtype) ** t)) * m / (u + eps), m, u

    return init, update, _first


@optimizer
def sm3(step_size, momentum=0.9):
    """SM3 (Anil et al., memory-efficient adaptive optimization): one accumulator vector
    per dim of a parameter instead of one per entry; the entry's accumulator is the minimum
    over its dims' accumulators plus ``g**2``; momentum on the scaled gradient.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.sm3(1.0, momentum=0.0)
    >>> get(update(0, ember.numpy.array([3., -2.]), init(ember.numpy.zeros(2))))
    tensor([-1.,  1.])
    """
    step_size = make_schedule(step_size)

    def init(x0):
        x0 = jnp.asarray(x0)
        shape = tuple(x0.shape) or (1,)
        return x0, jnp.zeros_like(x0), [jnp.zeros(n, x0.dtype) for n in shape]

    def update(i, g, state):
        x, m, vs = state
        g1 = jnp.atleast_1d(g)
        nd = g1.ndim
        # each dim's accumulator broadcast along that dim; the entry's is their minimum
        acc = None
        for d, v in enumerate(vs):
            vd = jnp.reshape(v, tuple(-1 if k == d else 1 for k in range(nd)))
            acc = vd if acc is None else jnp.minimum(acc, vd)
        acc = acc + jnp.square(g1)
        scaled = jnp.where(acc > 0, g1 / jnp.sqrt(jnp.where(acc > 0, acc, 1)), 0)
        m1 = (1. - momentum) * scaled + momentum * jnp.atleast_1d(m)
        x = x - step_size(i) * jnp.reshape(m1, x.shape)
        vs = [jnp.max(acc, axis=tuple(k for k in range(nd) if k != d)) if nd > 1 else acc
              for d in range(nd)]
        return x, jnp.reshape(m1, m.shape), vs

    return init, update, _first


# ---- schedules -----------------------------------------------------------------------------

def constant(step_size) -> Schedule:
    """The schedule ``i -> step_size``.

    >>> from ember.example_libraries import optimizers
    >>> optimizers.constant(0.1)(100)
    0.1
    """
    def schedule(i):
        return step_size
    return schedule


def exponential_decay(step_size, decay_steps, decay_rate):
    """``step_size * decay_rate ** (i / decay_steps)``.

    >>> from ember.example_libraries import optimizers
    >>> optimizers.exponential_decay(1.0, 10, 0.5)(20)
    0.25
    """
    def schedule(i):
        return step_size * decay_rate ** (i / decay_steps)
    return schedule


def inverse_time_decay(step_size, decay_steps, decay_rate, staircase=False):
    """``step_size / (1 + decay_rate * i / decay_steps)`` (with ``floor(i / decay_steps)``
    when ``staircase``).

    >>> from ember.example_libraries import optimizers
    >>> float(optimizers.inverse_time_decay(1.0, 10, 1.0, staircase=True)(15))
    0.5
    """
    def schedule(i):
        k = jnp.floor(_as(i, 0.) / decay_steps) if staircase else i / decay_steps
        return step_size / (1 + decay_rate * k)
    return schedule


def polynomial_decay(step_size, decay_steps, final_step_size, power=1.0):
    """From ``step_size`` to ``final_step_size`` over ``decay_steps`` steps as
    ``(1 - i / decay_steps) ** power``, then constant.

    >>> from ember.example_libraries import optimizers
    >>> float(optimizers.polynomial_decay(1.0, 10, 0.0)(5)), float(optimizers.polynomial_decay(1.0, 10, 0.0)(50))
    (0.5, 0.0)
    """
    def schedule(i):
        n = jnp.minimum(i, decay_steps)
        mult = (1 - n / decay_steps) ** power
        return mult * (step_size - final_step_size) + final_step_size
    return schedule


def piecewise_constant(boundaries, values):
    """``values[k]`` for steps after ``k`` of the ``boundaries`` (``len(values)`` must be
    ``len(boundaries) + 1``).

    >>> from ember.example_libraries import optimizers
    >>> s = optimizers.piecewise_constant([10, 20], [1.0, 0.5, 0.25])
    >>> float(s(5)), float(s(15)), float(s(25))
    (1.0, 0.5, 0.25)
    """
    boundaries = jnp.array(boundaries)
    values = jnp.array(values)
    if boundaries.ndim != 1 or values.ndim != 1:
        raise ValueError(f"piecewise_constant: boundaries and values must be 1-D, got shapes "
                         f"{tuple(boundaries.shape)} and {tuple(values.shape)}")
    if values.shape[0] != boundaries.shape[0] + 1:
        raise ValueError(f"piecewise_constant: needs one more value than boundaries, got "
                         f"{values.shape[0]} values and {boundaries.shape[0]} boundaries")

    def schedule(i):
        return values[jnp.sum(i > boundaries)]
    return schedule


def make_schedule(scalar_or_schedule) -> Schedule:
    """A callable is a schedule already; a number becomes ``constant(number)``.

    >>> from ember.example_libraries import optimizers
    >>> optimizers.make_schedule(0.3)(7)
    0.3
    """
    if callable(scalar_or_schedule):
        return scalar_or_schedule
    if isinstance(scalar_or_schedule, (int, float)) or (
            hasattr(scalar_or_schedule, "shape") and len(scalar_or_schedule.shape) == 0):
        return constant(scalar_or_schedule)
    raise TypeError(f"make_schedule: step_size must be a number or a callable i -> number, "
                    f"got {type(scalar_or_schedule).__name__}")


# ---- utilities -----------------------------------------------------------------------------

def l2_norm(tree):
    """The L2 norm of all the leaves of ``tree`` taken as one vector.

    >>> from ember.example_libraries import optimizers
    >>> optimizers.l2_norm([ember.numpy.array([3.]), {"b": ember.numpy.array([4.])}])
    tensor(5.)
    """
    leaves = tree_leaves(tree)
    total = None
    for x in leaves:
        s = jnp.sum(jnp.square(jnp.abs(x)) if jnp.iscomplexobj(x) else jnp.square(x))
        total = s if total is None else total + s
    return jnp.sqrt(total if total is not None else jnp.asarray(0.))


def clip_grads(grad_tree, max_norm):
    """``grad_tree`` scaled down to an L2 norm of ``max_norm`` when its norm is larger.

    >>> from ember.example_libraries import optimizers
    >>> optimizers.clip_grads([ember.numpy.array([3., 4.])], 1.0)
    [tensor([0.6000, 0.8000])]
    """
    norm = l2_norm(grad_tree)

    def clip(g):
        return jnp.where(norm < max_norm, g, g * (max_norm / norm))
    return tree_map(clip, grad_tree)


class JoinPoint:
    """Marks where a parameter's state subtree joins the parameters' tree (a leaf in
    ``unpack_optimizer_state``'s output); ``subtree`` is that state."""

    def __init__(self, subtree):
        self.subtree = subtree

    def __iter__(self):
        yield self.subtree

    def __repr__(self):
        return f"JoinPoint({self.subtree!r})"


def unpack_optimizer_state(opt_state):
    """The state as a pytree of the parameters' structure whose leaves are
    :class:`JoinPoint` s holding each parameter's state (plain containers: picklable).

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.momentum(0.1, 0.9)
    >>> marked = optimizers.unpack_optimizer_state(init({"w": ember.numpy.ones(2)}))
    >>> marked["w"].subtree
    (tensor([1., 1.]), tensor([0., 0.]))
    """
    packed, tree, subtrees = opt_state
    marked = [JoinPoint(tree_unflatten(sd, leaves)) for leaves, sd in zip(packed, subtrees)]
    return tree_unflatten(tree, marked)


def pack_optimizer_state(marked_pytree):
    """The inverse of :func:`unpack_optimizer_state`.

    >>> from ember.example_libraries import optimizers
    >>> init, update, get = optimizers.adam(0.1)
    >>> s = init([ember.numpy.ones(2)])
    >>> s2 = optimizers.pack_optimizer_state(optimizers.unpack_optimizer_state(s))
    >>> s2.tree_def == s.tree_def and s2.subtree_defs == s.subtree_defs
    True
    """
    joins, tree = tree_flatten(marked_pytree, is_leaf=lambda x: isinstance(x, JoinPoint))
    if not all(isinstance(j, JoinPoint) for j in joins):
        bad = next(type(j).__name__ for j in joins if not isinstance(j, JoinPoint))
        raise TypeError(f"pack_optimizer_state: every leaf must be a JoinPoint (as "
                        f"unpack_optimizer_state makes), found a {bad}")
    flat = [tree_flatten(j.subtree) for j in joins]
    return OptimizerState([leaves for leaves, _ in flat], tree, tuple(sd for _, sd in flat))
