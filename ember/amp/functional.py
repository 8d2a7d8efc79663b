"""Mixed precision for functional (jitted) training steps, with JAX's jmp names: a ``Policy``
of three dtypes (parameters, compute, output) that casts pytrees, loss scales that are
pytrees (so they pass through ``jit`` as state), and ``all_finite``. Nothing here branches in
Python on a traced value: the dynamic loss scale adjusts itself with ``where``.

A jitted step with a float16 compute policy and a dynamic loss scale::

    policy = ember.amp.get_policy("params=float32,compute=float16,output=float32")

    @ember.jit
    def step(params, opt_state, loss_scale, x, y):
        def loss_fn(p):
            out = model_fn(policy.cast_to_compute(p), policy.cast_to_compute(x))
            return loss_scale.scale(loss(policy.cast_to_output(out), y))
        grads = loss_scale.unscale(policy.cast_to_param(ember.grad(loss_fn)(params)))
        finite = ember.amp.all_finite(grads)
        loss_scale = loss_scale.adjust(finite)
        updates, new_state = opt.update(grads, opt_state, params)
        new_params = ember.optim.functional.apply_updates(params, updates)
        params, opt_state = ember.amp.select_tree(finite, (new_params, new_state),
                                                  (params, opt_state))
        return params, opt_state, loss_scale
"""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.tensor import Tensor
from .. import numpy as _jnp
from ..tree import register_pytree_node, tree_leaves, tree_map

__all__ = ["Policy", "get_policy", "DynamicLossScale", "StaticLossScale", "NoOpLossScale",
           "all_finite", "select_tree", "cast_to_full", "cast_to_half", "half_dtype"]


def _is_float(x):
    return isinstance(x, Tensor) and x.dtype.is_floating_point


def _cast_tree(tree, dtype):
    return tree_map(lambda x: x.to(dtype) if _is_float(x) and x.dtype is not dtype else x,
                    tree)


def half_dtype():
    """The half precision dtype of this platform (float16 on CPU, as jmp off TPU).

    >>> ember.amp.half_dtype()
    ember.float16
    """
    return _dt.float16


def cast_to_full(tree):
    """Every floating tensor of ``tree`` as float32 (others unchanged).

    >>> ember.amp.cast_to_full({"w": ember.ones(2, dtype=ember.bfloat16), "n": ember.tensor(3)})
    {'w': tensor([1., 1.]), 'n': tensor(3)}
    """
    return _cast_tree(tree, _dt.float32)


def cast_to_half(tree):
    """Every floating tensor of ``tree`` as ``half_dtype()``.

    >>> ember.amp.cast_to_half([ember.ones(2)])[0].dtype
    ember.float16
    """
    return _cast_tree(tree, half_dtype())


class Policy:
    """Which dtype parameters are kept in, computations run in and outputs are returned in,
    as ``jmp.Policy``. The casts apply to the floating tensors of a pytree and leave the
    others (integer labels, Python numbers) alone.

    >>> p = ember.amp.Policy(ember.float32, ember.bfloat16, ember.float32)
    >>> params = {"w": ember.ones(2, 2), "step": ember.tensor(0)}
    >>> {k: v.dtype for k, v in p.cast_to_compute(params).items()}
    {'w': ember.bfloat16, 'step': ember.int64}
    >>> p
    Policy(param_dtype=ember.float32, compute_dtype=ember.bfloat16, output_dtype=ember.float32)
    """

    __slots__ = ("param_dtype", "compute_dtype", "output_dtype")

    def __init__(self, param_dtype, compute_dtype, output_dtype):
        self.param_dtype = _policy_dtype(param_dtype, "param_dtype")
        self.compute_dtype = _policy_dtype(compute_dtype, "compute_dtype")
        self.output_dtype = _policy_dtype(output_dtype, "output_dtype")

    def cast_to_param(self, x):
        return _cast_tree(x, self.param_dtype)

    def cast_to_compute(self, x):
        return _cast_tree(x, self.compute_dtype)

    def cast_to_output(self, x):
        return _cast_tree(x, self.output_dtype)

    def with_output_dtype(self, output_dtype):
        return Policy(self.param_dtype, self.compute_dtype, output_dtype)

    def __eq__(self, other):
        return isinstance(other, Policy) and (self.param_dtype, self.compute_dtype,
                                              self.output_dtype) == (
            other.param_dtype, other.compute_dtype, other.output_dtype)

    def __hash__(self):
        return hash((self.param_dtype, self.compute_dtype, self.output_dtype))

    def __repr__(self):
        return (f"Policy(param_dtype={self.param_dtype!r}, compute_dtype="
                f"{self.compute_dtype!r}, output_dtype={self.output_dtype!r})")


def _policy_dtype(d, what):
    try:
        d = _dt.as_dtype(d)
    except TypeError as e:
        raise TypeError(f"Policy: {what} must be a floating dtype, got {d!r}") from e
    if not d.is_floating_point:
        raise TypeError(f"Policy: {what} must be a floating dtype (float16, bfloat16, float32, "
                        f"float64), got {d}")
    return d


_POLICY_NAMES = {
    "f16": "float16", "float16": "float16", "half": "float16", "h": "float16",
    "bf16": "bfloat16", "bfloat16": "bfloat16",
    "f32": "float32", "float32": "float32", "full": "float32", "single": "float32",
    "f": "float32",
    "f64": "float64", "float64": "float64", "double": "float64",
}
_POLICY_KEYS = {"p": 0, "params": 0, "param": 0, "c": 1, "compute": 1, "o": 2, "output": 2}


def get_policy(policy_name):
    """A ``Policy`` from jmp's string form: ``"params=float32,compute=bfloat16,output=float32"``
    (short keys ``p``/``c``/``o`` and names ``f32``/``bf16``/``f16``/``full``/``half`` work
    too), or one dtype name for all three. As jmp, an unnamed part defaults to the one before
it (params to float32, compute to params, output to compute).

    >>> ember.amp.get_policy("params=float32,compute=bfloat16,output=float32").compute_dtype
    ember.bfloat16
    >>> ember.amp.get_policy("p=f32,c=f16,o=f32").compute_dtype, ember.amp.get_policy("half").param_dtype
    (ember.float16, ember.float16)
    """
    if isinstance(policy_name, Policy):
        return policy_name
    if not isinstance(policy_name, str):
        raise TypeError(f"get_policy: expected a string such as "
                        f"'params=float32,compute=bfloat16,output=float32', got "
                        f"{type(policy_name).__name__}")
    s = policy_name.strip().lower()

    def name(v):
        v = v.strip()
        if v not in _POLICY_NAMES:
            raise ValueError(f"get_policy: unknown dtype {v!r} in {policy_name!r}; use one of "
                             f"{sorted(set(_POLICY_NAMES))}")
        return _POLICY_NAMES[v]
    if "=" not in s:
        d = name(s)
        return Policy(d, d, d)
    dts = [None] * 3
    for part in s.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(f"get_policy: {part!r} in {policy_name!r} is not key=dtype")
        k, v = part.split("=", 1)
        k = k.strip()
        if k not in _POLICY_KEYS:
            raise ValueError(f"get_policy: unknown key {k!r} in {policy_name!r}; use params/p, "
                             f"compute/c, output/o")
        dts[_POLICY_KEYS[k]] = name(v)
    # as jmp: params default to float32, compute to the params' dtype, output to compute's
    dts[0] = dts[0] or "float32"
    dts[1] = dts[1] or dts[0]
    dts[2] = dts[2] or dts[1]
    return Policy(*dts)


# ---- loss scales ------------------------------------------------------------------------

def _scalar(v, dtype):
    if isinstance(v, Tensor):
        return v if v.dtype is dtype else v.to(dtype)
    return Tensor._wrap(np.asarray(v, dtype.np))


def _times(tree, s):
    return tree_map(lambda x: x * s.to(x.dtype) if _is_float(x) else x, tree)


class NoOpLossScale:
    """No loss scaling (the float32 or bfloat16 case), with the loss-scale interface.

    >>> ls = ember.amp.NoOpLossScale()
    >>> ls.scale(ember.tensor(2.)), ls.adjust(ember.tensor(False)) is ls, ls.loss_scale
    (tensor(2.), True, 1)
    """

    @property
    def loss_scale(self):
        return 1

    def scale(self, tree):
        return tree

    def unscale(self, tree):
        return tree

    def adjust(self, grads_finite):
        return self


class StaticLossScale:
    """A fixed loss scale.

    >>> ls = ember.amp.StaticLossScale(128.0)
    >>> ls.scale(ember.tensor(0.5)), ls.unscale(ember.tensor(64.))
    (tensor(64.), tensor(0.5000))
    """

    def __init__(self, loss_scale):
        self.loss_scale = _scalar(loss_scale, _dt.float32)

    def scale(self, tree):
        return _times(tree, self.loss_scale)

    def unscale(self, tree):
        return _times(tree, 1.0 / self.loss_scale)

    def adjust(self, grads_finite):
        return self

    def __repr__(self):
        return f"StaticLossScale(loss_scale={self.loss_scale!r})"


class DynamicLossScale:
    """A loss scale that halves (``/ factor``, not below ``min_loss_scale``) when the
    gradients were not finite and doubles (``* factor``) after ``period`` finite steps in a
    row, as ``jmp.DynamicLossScale``. A pytree (children ``loss_scale`` and ``counter``), so it
    is state a jitted step takes and returns; ``adjust`` has no Python branch on its input.

    >>> ls = ember.amp.DynamicLossScale(ember.tensor(2.0 ** 15), period=2)
    >>> ls = ls.adjust(ember.tensor(True)); ls.loss_scale, ls.counter
    (tensor(32768.), tensor(1, dtype=ember.int32))
    >>> ls = ls.adjust(ember.tensor(True)); ls.loss_scale
    tensor(65536.)
    >>> ls.adjust(ember.tensor(False)).loss_scale
    tensor(32768.)
    """

    def __init__(self, loss_scale, counter=None, period=2000, factor=2,
                 min_loss_scale=None):
        self.loss_scale = _scalar(loss_scale, _dt.float32)
        self.counter = _scalar(0 if counter is None else counter, _dt.int32)
        self.period = int(period)
        self.factor = factor
        self.min_loss_scale = _scalar(1.0 if min_loss_scale is None else min_loss_scale,
                                      _dt.float32)
        if self.period < 1:
            raise ValueError(f"DynamicLossScale: period must be >= 1, got {period}")

    def scale(self, tree):
        return _times(tree, self.loss_scale)

    def unscale(self, tree):
        return _times(tree, 1.0 / self.loss_scale)

    def adjust(self, grads_finite):
        """The next loss scale after a step whose gradients were (or were not) finite."""
        finite = grads_finite
        if not isinstance(finite, Tensor):
            finite = Tensor._wrap(np.asarray(bool(finite)))
        if not finite.dtype.is_bool:
            raise TypeError(f"DynamicLossScale.adjust: grads_finite must be a bool scalar "
                            f"(ember.amp.all_finite(grads)), got {finite.dtype}")
        grow = _jnp.where(self.counter == self.period - 1, self.loss_scale * self.factor,
                          self.loss_scale)
        shrink = _jnp.maximum(self.min_loss_scale, self.loss_scale / self.factor)
        loss_scale = _jnp.where(finite, grow, shrink)
        counter = _jnp.where(finite, (self.counter + 1) % self.period,
                             _jnp.zeros_like(self.counter))
        return DynamicLossScale(loss_scale, counter, self.period, self.factor,
                                self.min_loss_scale)

    def __repr__(self):
        return (f"DynamicLossScale(loss_scale={self.loss_scale!r}, counter={self.counter!r}, "
                f"period={self.period}, factor={self.factor})")


register_pytree_node(
    DynamicLossScale,
    lambda s: ((s.loss_scale, s.counter), (s.period, s.factor, s.min_loss_scale)),
    lambda aux, ch: DynamicLossScale(ch[0], ch[1], aux[0], aux[1], aux[2]))
register_pytree_node(StaticLossScale, lambda s: ((s.loss_scale,), None),
                     lambda aux, ch: StaticLossScale(ch[0]))
register_pytree_node(NoOpLossScale, lambda s: ((), None), lambda aux, ch: NoOpLossScale())


def all_finite(tree):
    """A bool scalar tensor: whether every floating tensor in ``tree`` is free of inf/NaN
    (traceable: no Python branch on the values).

    >>> ember.amp.all_finite({"a": ember.ones(2), "b": ember.tensor([1., float("inf")])})
    tensor(False)
    >>> ember.amp.all_finite([ember.ones(3)])
    tensor(True)
    """
    leaves = [x for x in tree_leaves(tree) if _is_float(x)]
    if not leaves:
        return Tensor._wrap(np.asarray(True))
    flags = [_jnp.isfinite(x).all() for x in leaves]
    return _jnp.stack(flags).all() if len(flags) > 1 else flags[0]


def select_tree(pred, a, b):
    """``a`` where the bool scalar ``pred`` is true, else ``b`` (two pytrees of one
    structure), leaf by leaf with ``where``: a step skipped without a Python branch.

    >>> ember.amp.select_tree(ember.tensor(False), (ember.ones(2),), (ember.zeros(2),))
    (tensor([0., 0.]),)
    """
    return tree_map(lambda x, y: _jnp.where(pred, x, y), a, b)
