"""``torch.autograd.Function`` on ember: a class with static ``forward(ctx, *args)`` and
``backward(ctx, *grad_outputs)`` (or the newer ``forward(*args)`` plus
``setup_context(ctx, inputs, output)``), called as ``MyFn.apply(*args)``.

Each ``apply`` binds one ``custom_vjp_call`` primitive (the one under ``ember.custom_vjp``), so
the function is a unit to every consumer: the eager tape (``.backward()``), ``grad``/``vjp``,
``vmap`` (the forward and backward are vmapped) and ``jit`` (traced, as long as ``forward``/
``backward`` compose ember ops rather than leaving for NumPy). Forward mode through the
``jvp`` transform is refused, as for ``custom_vjp``; with dual tensors
(``autograd.forward_ad``) a static ``jvp(ctx, *grad_inputs)`` gives the output tangents. The backward pass re-runs ``forward`` once to rebuild the
context (the primitive keeps no Python state between the two passes), so ``forward`` should
be free of side effects.
"""
from __future__ import annotations

import functools

from ..core.tensor import Tensor
from ..core.primitive import Tracer, bind
from ..tree import tree_flatten, tree_unflatten
from . import forward_ad as _forward_ad

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` handed to ``forward``/``setup_context`` and ``backward``: keep tensors with
    ``save_for_backward`` (read back as ``saved_tensors``) and anything else as attributes.

    >>> ctx = ember.autograd.FunctionCtx((True,))
    >>> ctx.save_for_backward(ember.ones(1))
    >>> ctx.saved_tensors, ctx.needs_input_grad
    ((tensor([1.]),), (True,))
    """

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors = ()
        self.materialize_grads = True
        self.non_differentiable = ()

    def save_for_backward(self, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: argument {i} is a "
                                f"{type(t).__name__}; only tensors (or None) can be saved, "
                                f"keep other values as ctx attributes")
        self.saved_tensors = tuple(tensors)

    def save_for_forward(self, *tensors):
        self.saved_tensors_forward = tuple(tensors)

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable = tuple(tensors)

    def mark_dirty(self, *tensors):
        """Accepted for compatibility: ember's forward runs on fresh values."""

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


def once_differentiable(fn):
    """PyTorch's decorator for a ``backward`` that is not itself differentiable; ember's
    custom backward is first-order only anyway, so it returns ``fn`` unchanged.

    >>> from ember.autograd.function import once_differentiable
    >>> once_differentiable(abs) is abs
    True
    """
    return fn


_DYN = object()


def _custom_vjp_prim():
    from ..transforms.custom import custom_vjp_call_p
    return custom_vjp_call_p


class Function:
    """Subclass with static ``forward`` and ``backward`` and call ``.apply``; ``backward``
    returns one gradient per ``forward`` input (None for non-tensors or no gradient).

    >>> class Exp(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = x.exp()
    ...         ctx.save_for_backward(y)
    ...         return y
    ...     @staticmethod
    ...     def backward(ctx, grad_out):
    ...         (y,) = ctx.saved_tensors
    ...         return grad_out * y
    >>> x = ember.tensor([0., 1.], requires_grad=True)
    >>> Exp.apply(x).sum().backward()
    >>> x.grad
    tensor([1.0000, 2.7183])
    >>> ember.grad(lambda v: Exp.apply(v).sum())(ember.tensor([0.]))
    tensor([1.])
    """

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__}: call the class's apply "
                           f"({type(self).__name__}.apply(...)), not an instance")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("autograd.Function: subclasses must define a static "
                                  "forward(ctx, *args) (or forward(*args) with setup_context)")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("autograd.Function: subclasses must define a static "
                                  "backward(ctx, *grad_outputs)")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("autograd.Function: define a static jvp(ctx, *grad_inputs) "
                                  "for forward-mode AD (autograd.forward_ad)")

    @classmethod
    def _run_forward(cls, args, needs):
        ctx = FunctionCtx(needs)
        if cls.setup_context is not Function.setup_context:
            out = cls.forward(*args)
            cls.setup_context(ctx, tuple(args), out)
        else:
            out = cls.forward(ctx, *args)
        return out, ctx

    @classmethod
    def apply(cls, *args, **kwargs):
        if kwargs:
            raise TypeError(f"{cls.__name__}.apply: keyword arguments are not supported (as in "
                            f"PyTorch); pass {sorted(kwargs)} positionally")
        if _forward_ad._current[0] is not None:  # forward-mode AD: the class's jvp
            out = _forward_ad.function_apply(cls, args, Function)
            if out is not None:
                return out
        if cls.backward is Function.backward and cls.vjp is Function.vjp and \
                cls.jvp is Function.jvp:
            raise NotImplementedError(f"{cls.__name__}: define a static backward(ctx, "
                                      f"*grad_outputs)")
        tensors = [a for a in args if isinstance(a, Tensor)]
        statics = [_DYN if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and (a.requires_grad or isinstance(a, Tracer))
                      for a in args)
        state = {}

        def rebuild(leaves):
            it = iter(leaves)
            return [next(it) if s is _DYN else s for s in statics]

        def flat(*leaves):
            out, _ = cls._run_forward(rebuild(leaves), needs)
            ol, od = tree_flatten(out)
            for o in ol:
                if not isinstance(o, Tensor):
                    raise TypeError(f"{cls.__name__}.forward returned a "
                                    f"{type(o).__name__}; return tensors (or a tuple of them)")
            state["out_def"] = od
            return ol

        def fwd(*leaves):  # reverse mode's forward (custom_vjp's fwd): the ctx is the residual
            out, ctx = cls._run_forward(rebuild(leaves), needs)
            state["out_def"] = tree_flatten(out)[1]
            return out, ctx

        def bwd(ctx, cts):
            outs = list(cts)
            grads = cls.backward(ctx, *outs)
            grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
            while len(grads) > len(args) and grads[-1] is None:
                grads = grads[:-1]
            if len(grads) != len(args):
                raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect "
                                   f"number of gradients (expected {len(args)}, got "
                                   f"{len(grads)})")
            res = []
            for a, g in zip(args, grads):
                if not isinstance(a, Tensor):
                    continue
                if g is not None and not isinstance(g, Tensor):
                    raise TypeError(f"function {cls.__name__}Backward returned a "
                                    f"{type(g).__name__} as a gradient; return tensors or None")
                if g is not None and tuple(g.shape) != tuple(a.shape):
                    raise RuntimeError(f"function {cls.__name__}Backward returned an invalid "
                                       f"gradient: got shape {tuple(g.shape)}, expected "
                                       f"{tuple(a.shape)}")
                res.append(g)
            return res

        wrapped = _FlatCall(flat, state)
        out = bind(_custom_vjp_prim(), *tensors, flat=wrapped, fwd=fwd, bwd=bwd)
        return tree_unflatten(state["out_def"], list(out))


class _FlatCall:
    """The primitive's ``flat`` parameter: runs ``forward`` on tensors, returns flat values."""

    def __init__(self, fn, state):
        self.fn, self.state = fn, state
        functools.update_wrapper(self, fn)

    def __call__(self, *leaves):
        from ..ops.elementwise import as_value
        return [as_value(o) for o in self.fn(*leaves)]
