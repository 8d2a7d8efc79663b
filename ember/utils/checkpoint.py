"""``torch.utils.checkpoint``: ``checkpoint(function, *args)`` keeps only the block's inputs
during the forward pass and recomputes its intermediates when the backward pass reaches it
(memory for compute), and ``checkpoint_sequential`` does it for the segments of a sequence
of modules.

Eagerly, the block runs once with the tape on; the tensors it reaches that require grad and
were not made inside it (its arguments and the parameters it uses through closures, e.g. a
module's weights) become the inputs of one tape node, and the block's own intermediates are
dropped. The node's backward re-runs the block (same random draws, same autocast state, same
grad mode) and differentiates it, so ``.backward()`` and ``ember.autograd.grad`` with respect
to the parameters both work. Under ``grad``/``vjp``/``vmap``/``jit`` it is ``ember.checkpoint``
(JAX's remat), which stages the block instead.

Both of PyTorch's variants (``use_reentrant=True/False``) compute the same gradients here; as
in PyTorch, ``use_reentrant=True`` with no argument that requires grad gives the block's
parameters no gradient (with PyTorch's warning).
"""
from __future__ import annotations

import warnings

from ..core import autograd as _ag
from ..core import state as _state
from ..core.primitive import Primitive, Tracer, bind, transforms_active
from ..core.tensor import Tensor
from ..random import generator as _rnd
from ..transforms.remat import checkpoint as _remat
from ..tree import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError"]


class CheckpointError(RuntimeError):
    """The recomputed block differs from the forward pass (other shapes or dtypes)."""


class _Block:
    """A checkpointed call: what its backward needs to run it again. Unhashable, so no
    table keyed by primitive params keeps it alive."""

    __hash__ = None

    def __init__(self, function, args, kwargs, grad_pos, captured, rng, autocast, outs):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.grad_pos = grad_pos      # positions of the arguments that require grad
        self.captured = captured      # other tensors the block reached that require grad
        self.rng, self.autocast = rng, autocast
        self.out_meta = [(tuple(o.shape), o.dtype) for o in outs]
        self.out_arrays = [o._data for o in outs]

    def rerun(self, detached):
        """The block's outputs, recomputed on ``detached`` copies of its grad arguments."""
        args = list(self.args)
        for i, d in zip(self.grad_pos, detached):
            args[i] = d
        gen = _rnd.default_generator
        saved = gen.get_state() if self.rng is not None else None
        if saved is not None:
            gen.set_state(self.rng)
        prev_ac = _state.set_autocast(self.autocast)
        try:
            with _ag.enable_grad():
                out = self.function(*args, **self.kwargs)
        finally:
            _state.set_autocast(prev_ac)
            if saved is not None:
                gen.set_state(saved)
        outs = [o for o in tree_flatten(out)[0] if isinstance(o, Tensor)]
        meta = [(tuple(o.shape), o.dtype) for o in outs]
        if meta != self.out_meta:
            raise CheckpointError(
                f"checkpoint: recomputing {_name(self.function)} gave outputs {_fmt(meta)}, "
                f"but the forward pass gave {_fmt(self.out_meta)}; the block must compute "
                f"the same shapes and dtypes each time it runs (no dependence on global state "
                f"that changes between the forward and the backward pass)")
        return outs


def _name(fn):
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _fmt(meta):
    return "[" + ", ".join(f"{d}{list(s)}" for s, d in meta) + "]"


def _impl(*arrays, block):
    return block.out_arrays


def _vjp(ct, out, *inputs, block):
    cts = ct if isinstance(ct, (tuple, list)) else (ct,)
    create_graph = _ag.is_grad_enabled()  # the walk runs rules with grad on only then
    n = len(block.grad_pos)
    # for a higher-order backward the recomputation hangs off the real arguments
    detached = list(inputs[:n]) if create_graph else \
        [block.args[i].detach().requires_grad_() for i in block.grad_pos]
    outs = block.rerun(detached)
    pairs = [(o, g) for o, g in zip(outs, cts) if o.requires_grad and g is not None]
    targets = detached + block.captured
    if not pairs:
        return [None] * len(inputs)
    # the captured leaves' hooks run once, when the outer pass accumulates into them
    hooks = [(t, t._hooks) for t in block.captured if t._hooks]
    for t, _ in hooks:
        t._hooks = None
    try:
        grads = _ag.grad([o for o, _ in pairs], targets,
                         grad_outputs=[g if isinstance(g, Tensor) else Tensor._wrap(g)
                                       for _, g in pairs],
                         retain_graph=True, create_graph=create_graph, allow_unused=True)
    finally:
        for t, h in hooks:
            t._hooks = h
    return list(grads)


def _eager_only(*_, **__):
    raise TypeError("checkpoint_block: the eager tape's node of utils.checkpoint cannot be "
                    "transformed; call checkpoint inside the transformed function (it then "
                    "stages the block as ember.checkpoint)")


_block_p = Primitive("checkpoint_block", _impl, multiple_results=True, vjp=_vjp,
                     jvp=_eager_only, batch=_eager_only)
_block_p.vjp_accepts_none = True  # outputs without a cotangent are skipped, not zero-filled


def _frontier(outs, own):
    """Tensors that require grad, reached from ``outs`` through the tape, where the walk
    stops: leaves (parameters, the block's detached arguments in ``own``), in first-reached
    order. A non-leaf tensor made before the block is walked through to its leaves."""
    found, seen_nodes, seen = [], set(), set()
    stack = [o._node for o in outs if o._node is not None]
    stack += [o for o in outs if o._node is None and o.requires_grad]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            if id(item) not in seen:
                seen.add(id(item))
                if id(item) not in own:
                    found.append(item)
            continue
        if id(item) in seen_nodes:
            continue
        seen_nodes.add(id(item))
        for p in item.parents or ():
            if p is None:
                continue
            node, _, t = p
            stack.append(node if node is not None else t)
    return found


def checkpoint(function, *args, use_reentrant=None, context_fn=None,
               determinism_check="default", debug=False, preserve_rng_state=True, **kwargs):
    """Run ``function(*args, **kwargs)`` keeping only its inputs for the backward pass, which
    recomputes it (``torch.utils.checkpoint.checkpoint``).

    >>> lin = ember.nn.Linear(4, 4)
    >>> x = ember.randn(2, 4, requires_grad=True)
    >>> y = ember.utils.checkpoint.checkpoint(lambda t: lin(t).relu(), x, use_reentrant=False)
    >>> y.sum().backward()
    >>> lin.weight.grad.shape
    ember.Size([4, 4])
    """
    if context_fn is not None:
        raise ValueError("checkpoint: context_fn (selective activation checkpointing) is not "
                         "supported by ember; leave it unset to recompute the whole block")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"checkpoint: determinism_check must be 'default' or 'none', got "
                         f"{determinism_check!r}")
    leaves = tree_flatten((args, kwargs))[0]
    if transforms_active() or any(isinstance(a, Tracer) for a in leaves):
        return _remat(lambda *a: function(*a, **kwargs))(*args)
    if not _ag.is_grad_enabled():
        return function(*args, **kwargs)
    grad_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if use_reentrant and not grad_pos:
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)
        with _ag.no_grad():
            return function(*args, **kwargs)
    rng = _rnd.default_generator.get_state() if preserve_rng_state else None
    detached = [args[i].detach().requires_grad_() for i in grad_pos]
    run_args = list(args)
    for i, d in zip(grad_pos, detached):
        run_args[i] = d
    out = function(*run_args, **kwargs)
    out_leaves, out_def = tree_flatten(out)
    outs = [o for o in out_leaves if isinstance(o, Tensor)]
    captured = _frontier(outs, {id(d) for d in detached})
    if not grad_pos and not captured:
        return out
    block = _Block(function, args, kwargs, grad_pos, captured, rng, _state.autocast_dtype(),
                   outs)
    new = iter(bind(_block_p, *[args[i] for i in grad_pos], *captured, block=block))
    fresh = [next(new) if isinstance(o, Tensor) else o for o in out_leaves]
    for o, f in zip(out_leaves, fresh):  # outputs the block made without grad stay so
        if isinstance(o, Tensor) and not o.requires_grad and f.requires_grad:
            f.requires_grad = False
            f._node = None
    return tree_unflatten(out_def, fresh)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (an ``nn.Sequential`` or a list of modules) in ``segments`` chunks,
    each checkpointed except the last (``torch.utils.checkpoint.checkpoint_sequential``)."""
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if not 0 < segments <= max(len(fns), 1):
        raise ValueError(f"checkpoint_sequential: segments must be between 1 and the number "
                         f"of functions ({len(fns)}), got {segments}")
    size = len(fns) // segments

    def run(lo, hi):
        def forward(x):
            for f in fns[lo:hi + 1]:
                x = f(x)
            return x
        return forward
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(fns) - 1)(input)
