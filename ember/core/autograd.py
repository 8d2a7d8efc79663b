"""Eager autograd: PyTorch's dynamic graph, built from the primitive table's VJP rules.

When a primitive runs eagerly and grad mode is on and an input requires grad, one
:class:`Node` is recorded: the primitive, its params, its inputs (kept for the VJP rule),
their version numbers, and the output data. ``backward`` walks the nodes reachable from
the root in reverse topological order, calls each primitive's ``vjp`` rule, and accumulates
into the leaves' ``.grad``. With ``create_graph=True`` the rules run with grad mode on, so
the backward pass is itself recorded (higher-order gradients).
"""
from __future__ import annotations

import functools

import numpy as np

from . import dtypes as _dt
from . import state as _state
from .creation import tensor
from .errors import ConcretizationError, TransformBackwardError, op_error
from .state import grad_off_threads as _grad_off, tls as _tls
from .. import backend as _backend
from . import dtypes as _dt
from .tensor import Aval, Tensor


class _GradModeView:
    """``_GradMode.enabled``: this thread's grad mode (read-only; for code written before grad
    mode became per-thread state; new code calls ``is_grad_enabled()``)."""

    @property
    def enabled(self):
        return not _grad_off[0] or _tls.grad_enabled


_GradMode = _GradModeView()


def is_grad_enabled() -> bool:
    """Whether this thread records the autograd tape (a new thread starts with it on).

    >>> ember.is_grad_enabled()
    True
    >>> with ember.no_grad():
    ...     ember.is_grad_enabled()
    False
    """
    return not _grad_off[0] or _tls.grad_enabled


class set_grad_enabled:
    """Context manager / function that sets this thread's grad mode
    (as ``torch.set_grad_enabled``).

    >>> x = ember.tensor([1.], requires_grad=True)
    >>> with ember.set_grad_enabled(False):
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self, mode: bool):
        self.prev = _state.set_grad(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.set_grad(self.prev)
        return False


class _GradModeCtx:
    mode = True

    def __enter__(self):
        self.prev = _state.set_grad(self.mode)
        return self

    def __exit__(self, *exc):
        _state.set_grad(self.prev)
        return False

    def __call__(self, fn):  # also a decorator
        @functools.wraps(fn)
        def wrapper(*a, **k):
            with type(self)():
                return fn(*a, **k)
        return wrapper


class no_grad(_GradModeCtx):
    """Disable gradient recording in this thread (context manager or decorator).

    >>> w = ember.tensor([1., 2.], requires_grad=True)
    >>> with ember.no_grad():
    ...     w -= 0.1 * ember.ones(2)          # an in-place update that is not recorded
    >>> w.requires_grad, (w * 2).requires_grad
    (True, True)
    >>> @ember.no_grad()
    ... def predict(x):
    ...     return x * w
    >>> predict(ember.ones(2)).requires_grad
    False
    """
    mode = False


class inference_mode(_GradModeCtx):
    """PyTorch's ``inference_mode``: gradient recording off (``inference_mode(False)``: left
    on), as a context manager or decorator. ember does not mark the tensors made inside as
    inference tensors: they behave as tensors made under ``no_grad``.

    >>> w = ember.tensor([1., 2.], requires_grad=True)
    >>> with ember.inference_mode():
    ...     y = w * 2
    >>> y.requires_grad, ember.is_inference_mode_enabled()
    (False, False)
    """

    def __init__(self, mode=True):
        self.mode = not mode
        self._on = bool(mode)

    def __enter__(self):
        _INFERENCE.append(self._on)
        return super().__enter__()

    def __exit__(self, *exc):
        _INFERENCE.pop()
        return super().__exit__(*exc)

    def __call__(self, fn):
        on = self._on

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with inference_mode(on):
                return fn(*a, **k)
        return wrapper


_INFERENCE = []


def is_inference_mode_enabled():
    """Whether code runs inside ``inference_mode()`` (in any thread's innermost use).

    >>> with ember.inference_mode():
    ...     ember.is_inference_mode_enabled()
    True
    """
    return bool(_INFERENCE and _INFERENCE[-1])


class enable_grad(_GradModeCtx):
    """Enable gradient recording in this thread (context manager or decorator).

    >>> x = ember.tensor([1.], requires_grad=True)
    >>> with ember.no_grad():
    ...     with ember.enable_grad():
    ...         y = x * 2
    >>> y.requires_grad
    True
    """
    mode = True




class Node:
    """One recorded primitive application (what PyTorch calls a grad_fn).

    >>> y = ember.tensor([1., 2.], requires_grad=True).exp()
    >>> y.grad_fn
    <ExpBackward>
    """

    __slots__ = ("prim", "params", "args", "parents", "versions", "out", "hooks", "__weakref__",
                 "n_out", "out_version", "needed")

    def __init__(self, prim, params, args, out, n_out):
        self.prim = prim
        self.params = params
        self.args = args
        # output array(s), kept only for rules that use the result (exp, tanh, ...)
        self.out = out if prim.vjp_needs_out else None
        self.out_version = None  # (version list, value) of the output tensor, set by the caller
        self.n_out = n_out
        parents = []
        versions = []
        reads = prim.vjp_reads
        if reads is None:  # the rule may read every input
            for a in args:
                if isinstance(a, Tensor):
                    versions.append((a._ver or a._version)[0])
                    if a.requires_grad:
                        # a leaf is kept (its .grad is written); of a computed input only its
                        # node and output index, so the tape does not keep every activation
                        # alive until the end of backward (node.args lets go of it once its
                        # rule has run)
                        parents.append((a._node, a._oidx, None) if a._node is not None else
                                       (None, 0, a))
                        continue
                else:
                    versions.append(None)
                parents.append(None)
        else:  # keep only the inputs whose values the rule reads
            if type(reads) is not tuple:
                reads = reads(tuple([isinstance(a, Tensor) and a.requires_grad for a in args]))
            kept = None
            i = -1
            for a in args:
                i += 1
                if isinstance(a, Tensor):
                    if i in reads:
                        versions.append((a._ver or a._version)[0])
                    else:  # its value is not used: changing it in place is harmless
                        versions.append(None)
                        d = a._data
                        # small arrays stay (a stand-in would save little and cost time)
                        if type(d) is np.ndarray and d.nbytes >= 65536 and type(a) is Tensor:
                            if kept is None:
                                kept = list(args)
                            kept[i] = _standin(d)
                    if a.requires_grad:
                        parents.append((a._node, a._oidx, None) if a._node is not None else
                                       (None, 0, a))
                        continue
                else:
                    versions.append(None)
                parents.append(None)
            if kept is not None:
                self.args = tuple(kept)
        self.parents = parents
        self.needed = tuple([p is not None for p in parents])
        self.versions = versions
        self.hooks = None

    @property
    def name(self):
        return self.prim.name.capitalize()

    def __repr__(self):
        return f"<{self.name}Backward>"

    @property
    def next_functions(self):
        return tuple((p[0], p[1]) if p is not None else (None, 0) for p in (self.parents or ()))


_STANDINS: dict = {}


def _standin(d):
    """A tensor with the shape and dtype of the NumPy array ``d`` and no storage (zero strides;
    read-only): what the tape keeps of an input whose value the VJP rule does not read."""
    key = (d.shape, d.dtype)
    t = _STANDINS.get(key)
    if t is None:
        if len(_STANDINS) >= 4096:
            _STANDINS.clear()
        t = _STANDINS[key] = Tensor._wrap(np.broadcast_to(np.zeros((), d.dtype), d.shape))
    return t


def _node_needed(args):
    for a in args:
        if isinstance(a, Tensor) and a.requires_grad:
            return True
    return False


_new = object.__new__


def eval_apply(prim, args, params):
    """Run a primitive eagerly on NumPy data; record a tape node when needed."""
    try:
        out = prim.impl(*[a._data if isinstance(a, Tensor) else a for a in args], **params)
    except ConcretizationError:
        raise
    except Exception as e:  # meta data, mixed devices, or a backend error to explain
        out = _impl_failed(prim, args, params, e)
    if prim.multiple_results:
        return _wrap_multi(prim, args, params, out)
    t = _new(Tensor)
    t._data = out
    if (not _grad_off[0] or _tls.grad_enabled) and prim.differentiable and \
            _node_needed(args) and (out.dtype.kind in "fc" or _dt.is_bf16_np(out.dtype)):
        t._node = node = Node(prim, params, args, out, 1)
        t.requires_grad = True
        if prim.view and isinstance(args[0], Tensor):
            t._ver = args[0]._version
        ver = t._version
        node.out_version = (ver, ver[0])
    elif prim.view and isinstance(args[0], Tensor):
        t._ver = args[0]._version
    return t


def _impl_failed(prim, args, params, exc):
    """An impl raised: run the shape rule for meta inputs (they have no data), name both
    devices when inputs live on different ones, else re-raise naming the op and shapes."""
    devices = []
    for a in args:
        if isinstance(a, Tensor) or hasattr(a, "__array_namespace__") or \
                isinstance(a, _backend.MetaArray):
            arr = a._data if isinstance(a, Tensor) else a
            d = _backend.device_of(arr)
            if d.type == "cpu" and not arr.shape:
                continue  # a CPU scalar mixes with any device (as in PyTorch)
            if d not in devices:
                devices.append(d)
    if len(devices) > 1:
        raise RuntimeError(
            f"{prim.name}: expected all tensors to be on the same device, but found at least "
            f"two devices, {devices[0]} and {devices[1]}! Move them to one device with "
            f".to(device) first.") from None
    if devices and devices[0].type == "meta" and isinstance(exc, _backend.meta.MetaCompute):
        avals = [Aval(a.shape, a.dtype) if isinstance(a, Tensor) else
                 Aval(getattr(a, "shape", ()), _dt.from_np(_np_dtype(a))) for a in args]
        out = prim.abstract_eval(avals, params)
        if prim.multiple_results:
            return tuple(_backend.MetaArray(o.shape, o.dtype.np) for o in out)
        return _backend.MetaArray(out.shape, out.dtype.np)
    raise op_error(prim, args, params, exc) from exc


def _np_dtype(a):
    d = getattr(a, "dtype", None)
    return d if d is not None else np.asarray(a).dtype


def _wrap_multi(prim, args, params, out):
    outs = [Tensor._wrap(o) for o in out]
    if (not _grad_off[0] or _tls.grad_enabled) and prim.differentiable and _node_needed(args):
        reads = prim.vjp_reads_outs  # watch only those outputs for in-place changes
        node = Node(prim, params, args, out, len(outs))
        ver = [0]
        node.out_version = (ver, 0)
        for i, t in enumerate(outs):
            t._ver = ver if reads is None or i in reads else [0]
            if t._data.dtype.kind in "fc" or _dt.is_bf16_np(t._data.dtype):
                t._node, t._oidx, t.requires_grad = node, i, True
    return outs


# --------------------------------------------------------------------------------------
# backward
# --------------------------------------------------------------------------------------

def toposort(roots, leaf_refs=None):
    """The nodes reachable from ``roots``, children before parents (reverse topological).

    A node is anything with ``parents``: a list holding, per input, ``None`` (no gradient
    wanted) or ``(parent node, output index, tensor)``, where a parent node of ``None`` marks
    a leaf (the tensor itself). With ``leaf_refs`` (a dict), the edges into each leaf are
    counted there (by ``id`` of the leaf tensor), so the walk knows when a leaf is done."""
    order, seen = [], set()
    for root in roots:
        if root is None or id(root) in seen:
            continue
        stack = [(root, iter(root.parents))]
        seen.add(id(root))
        while stack:
            node, it = stack[-1]
            for p in it:
                if p is None:
                    continue
                parent = p[0]
                if parent is None:
                    if leaf_refs is not None:
                        k = id(p[2])
                        leaf_refs[k] = leaf_refs.get(k, 0) + 1
                elif id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((parent, iter(parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def walk(roots, cts, leaf_cts, run_vjp, add, finish_leaf=None, capture=None):
    """The reverse-mode engine, shared by the eager tape (``run_backward``) and the ``vjp``
    transform (``transforms/reverse.py``).

    ``cts`` maps ``(id(node), output index)`` to the cotangent flowing into that output and
    ``leaf_cts`` maps ``id(leaf)`` to ``(leaf, cotangent)``; both are filled in place. Each
    node (see ``toposort``) is visited once, after every node that uses its outputs: the
    hooks of its outputs (``node.hooks``: output index -> list of ``hook(grad)``) run, then
    ``run_vjp(node, output cotangents)`` returns one cotangent (or ``None``) per input,
    summed with ``add`` into the parents. ``finish_leaf(leaf, ct)`` is called as soon as a
    leaf's last edge has been walked (not at the end of the pass), then the leaf is dropped
    from ``leaf_cts``; leaves not finished by the walk (roots that are leaves) stay there.
    ``capture`` maps ``(id(node), output index)`` to a callback that receives the final
    cotangent of that output (``autograd.grad`` with respect to non-leaf tensors)."""
    refs = {} if finish_leaf is not None else None
    for node in toposort(roots, refs):
        nid = id(node)
        if node.n_out == 1 and not node.hooks and capture is None:
            g = cts.pop((nid, 0), None)  # the common case, without the bookkeeping
            outs_ct = None if g is None else (g,)
        else:
            outs_ct = [cts.pop((nid, i), None) for i in range(node.n_out)]
            for i, g in enumerate(outs_ct):
                if node.hooks and g is not None:
                    hooks = node.hooks.get(i, ())
                    # retain_grad's hook sees the final gradient: it runs last (as PyTorch)
                    flip = _is_complex(g)  # hooks see PyTorch's convention (below)
                    if flip:
                        g = g.conj()
                    for h in sorted(hooks, key=lambda h: getattr(h, "_retain", False)):
                        r = h(g)
                        if r is not None:
                            g = r
                    if flip:
                        g = g.conj()
                    outs_ct[i] = g
                if capture is not None and g is not None:
                    cb = capture.get((nid, i))
                    if cb is not None:
                        cb(g)
            if all(g is None for g in outs_ct):
                outs_ct = None
        if outs_ct is not None:
            for p, g in zip(node.parents, run_vjp(node, outs_ct)):
                if p is None or g is None:
                    continue
                parent = p[0]
                if parent is None:
                    k = id(p[2])
                    prev = leaf_cts.get(k)
                    leaf_cts[k] = (p[2], g if prev is None else add(prev[1], g))
                else:
                    key = (id(parent), p[1])
                    cts[key] = add(cts.get(key), g)
        if refs:
            for p in node.parents:
                if p is not None and p[0] is None:
                    k = id(p[2])
                    left = refs[k] - 1
                    if left:
                        refs[k] = left
                        continue
                    del refs[k]
                    done = leaf_cts.pop(k, None)
                    if done is not None:
                        finish_leaf(*done)


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _add_arrays(a, b):
    """Accumulate two cotangents outside create_graph: one NumPy add, no dispatch."""
    if a is None:
        return b
    if b is None:
        return a
    if a._data.shape == b._data.shape and a._data.dtype == b._data.dtype:
        try:
            return Tensor._wrap(a._data + b._data)
        except _backend.meta.MetaCompute:  # no data: the add's shape rule, through bind
            pass
    return a + b


def _freed_error(node):
    return RuntimeError(
        f"backward: trying to go through the graph a second time (at {node.name}Backward), "
        f"but its saved values were freed after the first backward(). Pass "
        f"retain_graph=True to the first backward() (or to ember.autograd.grad) if you need to "
        f"backward twice.")


def _check_versions(node):
    for a, v in zip(node.args, node.versions):
        if v is not None and a._version[0] != v:  # noqa: SIM102
            raise RuntimeError(
                f"backward: a tensor of shape {tuple(a.shape)} ({a.dtype}) that "
                f"{node.name}Backward needs was modified by an in-place operation after it "
                f"was used (its version is {a._version[0]}, expected {v}). Use an "
                f"out-of-place op (x = x + y instead of x += y) or .clone() the tensor first.")


def saved_output(node, i, create_graph):
    """Output ``i`` of a node, as its VJP rule sees it (checked against in-place changes)."""
    if node.out is None:
        return None
    if node.out_version is not None:
        ver, v = node.out_version
        if ver[0] != v:
            raise RuntimeError(
                f"backward: the output of {node.name}Backward, which its gradient needs, was "
                f"modified by an in-place operation. Use an out-of-place op or .clone() it "
                f"before modifying it.")
    data = node.out[i] if node.n_out > 1 else node.out
    t = Tensor._wrap(data)
    if create_graph:
        t._node, t._oidx, t.requires_grad = node, i, True
    return t


def zeros_for_output(node, i):
    """Zeros shaped as output ``i`` of a node (a cotangent that never arrived)."""
    avals = [Aval(a.shape, a.dtype) if isinstance(a, Tensor) else
             Aval(np.shape(a), _dt.from_np(np.asarray(a).dtype)) for a in node.args]
    aval = node.prim.abstract_eval(avals, node.params)[i]
    xp = _backend.namespace(*[a._data for a in node.args if isinstance(a, Tensor)])
    return Tensor._wrap(xp.zeros(aval.shape, aval.dtype.np))


# The executor of first-order VJP rules. None: run each rule op by op; ``ember`` installs
# the staged-plan cache of ``transforms/vjp_plans.py`` (see ``set_vjp_executor``).
_vjp_executor = [None]


def set_vjp_executor(fn):
    """Install ``fn(prim, params, args, ct, out, needed)`` to run the VJP rules of the
    first-order eager backward (``create_graph=False``); it must return what
    ``prim.vjp(ct, out, *args, **params)`` returns (``needed[i]``: whether the cotangent of
    ``args[i]`` is wanted). ``None`` runs the rules directly. Returns the previous one.

    >>> seen = []
    >>> def logged(prim, params, args, ct, out, needed):
    ...     seen.append(prim.name)
    ...     return prim.vjp(ct, out, *args, **params)
    >>> previous = ember.autograd.set_vjp_executor(logged)
    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> (x * 3.0).sum().backward()
    >>> _ = ember.autograd.set_vjp_executor(previous)
    >>> sorted(set(seen)), x.grad
    (['mul', 'sum'], tensor([3., 3.]))
    """
    prev = _vjp_executor[0]
    _vjp_executor[0] = fn
    return prev


# The replayer of whole first-order backward passes. None: always walk the tape; ``ember``
# installs the compiled-tape cache of ``transforms/tape_plans.py`` (see
# ``set_backward_replayer``).
_backward_replayer = [None]


def set_backward_replayer(fn):
    """Install ``fn(root_node, cts, retain_graph, finish_leaf)`` to run a first-order
    ``backward()`` of one root in place of the walk. It returns None to have the tape walked
    (having done nothing), or True once it has handed every leaf's gradient to
    ``finish_leaf(leaf, gradient)`` in the order the walk finishes the leaves, each as soon
    as it is computed (the leaf's hooks, accumulation and post-accumulate hooks run there, as
    under the walk: DistributedDataParallel's buckets start their all-reduces mid-backward).
    ``None`` turns it off. Returns the previous one.

    >>> calls = []
    >>> def walk_it(root, cts, retain_graph, finish_leaf):
    ...     calls.append(root.prim.name)
    ...     return None                      # None: the tape is walked as usual
    >>> previous = ember.autograd.set_backward_replayer(walk_it)
    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> (x * 3.0).sum().backward()
    >>> _ = ember.autograd.set_backward_replayer(previous)
    >>> calls, x.grad
    (['sum'], tensor([3., 3.]))
    """
    prev = _backward_replayer[0]
    _backward_replayer[0] = fn
    return prev


def _vjp_runner(create_graph, retain_graph):
    """``run_vjp`` for ``walk`` over eager tape nodes."""
    executor = None if create_graph else _vjp_executor[0]

    def run_vjp(node, outs_ct):
        args = node.args
        if args is None:
            raise _freed_error(node)
        for a, v in zip(args, node.versions):
            if v is not None and (a._ver or a._version)[0] != v:
                _check_versions(node)  # raises, naming the tensor
        prim = node.prim
        if node.n_out == 1:
            ct_arg = outs_ct[0]
            out_val = None if node.out is None else saved_output(node, 0, create_graph)
        else:
            ct_arg = tuple(outs_ct) if getattr(prim, "vjp_accepts_none", False) else \
                tuple(g if g is not None else zeros_for_output(node, i)
                      for i, g in enumerate(outs_ct))
            out_val = tuple(saved_output(node, i, create_graph) for i in range(node.n_out))
        if executor is None:
            in_cts = prim.vjp(ct_arg, out_val, *args, **node.params)
        else:
            in_cts = executor(prim, node.params, args, ct_arg, out_val, node.needed)
        if not retain_graph:
            node.args = None
            node.out = None
        return in_cts
    return run_vjp


# --------------------------------------------------------------------------------------
# end-of-backward callbacks
# --------------------------------------------------------------------------------------

def queue_callback(callback):
    """Run ``callback()`` when the backward pass running in this thread ends (after every
    leaf's ``.grad`` is written), as PyTorch's
    ``Variable._execution_engine.queue_callback``. Call it during backward (from a hook);
    callbacks run in the order queued, and a callback may queue another.

    >>> w = ember.tensor([1., 2.], requires_grad=True)
    >>> done = []
    >>> _ = w.register_hook(lambda g: ember.autograd.queue_callback(
    ...     lambda: done.append(w.grad.tolist())))
    >>> (w * w).sum().backward()
    >>> done                                  # ran after .grad was written
    [[2.0, 4.0]]
    """
    passes = _tls.backward_callbacks
    if not passes:
        raise RuntimeError("queue_callback: no backward pass is running in this thread; "
                           "queue the callback from a hook while backward() runs")
    passes[-1].append(callback)


def _run_callbacks(queued):
    i = 0
    while i < len(queued):  # a callback may queue more
        queued[i]()
        i += 1


def run_backward(roots, root_cts, inputs=None, retain_graph=False, create_graph=False,
                 allow_unused=False, accumulate=True):
    """The engine behind ``Tensor.backward`` and ``ember.autograd.grad``."""
    add = _add if create_graph else _add_arrays
    given = set()  # arrays already handed out as a .grad (shared cotangents get copied)
    cts: dict = {}        # (id(node), oidx) -> cotangent
    leaf_cts: dict = {}   # id(leaf tensor) -> (leaf, cotangent)
    input_ids = capture = None
    results = [None] * len(inputs) if inputs is not None else None
    if inputs is not None:
        input_ids = {id(t): i for i, t in enumerate(inputs)}
        # a non-leaf input: capture the cotangent flowing into its (node, oidx)
        capture = {}
        for i, t in enumerate(inputs):
            if t._node is not None:
                capture[(id(t._node), t._oidx)] = _collector(results, i)
    root_nodes = []
    for r, ct in zip(roots, root_cts):
        ct = _torch_convention(ct)
        if r._node is None:
            if r.requires_grad:
                prev = leaf_cts.get(id(r))
                leaf_cts[id(r)] = (r, _add(prev[1] if prev else None, ct))
            continue
        key = (id(r._node), r._oidx)
        cts[key] = _add(cts.get(key), ct)
        root_nodes.append(r._node)

    def finish_leaf(leaf, g):
        if g._data.dtype.kind == "c":
            g = g.conj()  # PyTorch's convention (_torch_convention)
        if leaf._hooks:
            for h in leaf._hooks:
                r = h(g)
                if r is not None:
                    g = r
        if not create_graph and g.requires_grad:
            g = g.detach()
        if inputs is not None:
            k = input_ids.get(id(leaf))
            if k is not None:
                results[k] = _add(results[k], g)
            return
        if accumulate and leaf.requires_grad:
            _accumulate(leaf, g, create_graph, given)
            if leaf._post_acc_hooks:
                for h in list(leaf._post_acc_hooks):
                    h(leaf)

    callbacks = []
    _tls.backward_callbacks.append(callbacks)
    # the rules run in the dtypes autocast chose in the forward pass, not cast again
    autocast = _state.set_autocast(None) if _state.autocast_threads[0] else None
    try:
        grad_was = _state.set_grad(create_graph)
        try:
            replayed = None
            if _backward_replayer[0] is not None and inputs is None and not create_graph and \
                    accumulate and len(root_nodes) == 1 and not leaf_cts:
                replayed = _backward_replayer[0](root_nodes[0], cts, retain_graph, finish_leaf)
            if replayed is None:
                walk(root_nodes, cts, leaf_cts, _vjp_runner(create_graph, retain_graph), add,
                     finish_leaf, capture)
            for leaf, g in list(leaf_cts.values()):  # leaves that are roots themselves
                finish_leaf(leaf, g)
        finally:
            _state.set_grad(grad_was)
        if callbacks:
            _run_callbacks(callbacks)  # still inside the pass: a callback may queue another
    finally:
        _tls.backward_callbacks.pop()
        if autocast is not None:
            _state.set_autocast(autocast)
    if inputs is not None:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                t = inputs[i]
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used to compute "
                    f"the outputs, so it has no gradient. Pass allow_unused=True to get None "
                    f"for it, or check that it takes part in the computation.")
        return results
    return None


def _collector(results, i):
    def collect(g):
        results[i] = _add(results[i], _torch_convention(g))
    return collect


def _is_complex(g):
    return getattr(getattr(g, "_data", None), "dtype", None) is not None and \
        g._data.dtype.kind == "c"


def _torch_convention(g):
    """A complex cotangent of the rules (JAX's convention: for a real loss L of z = x + iy,
    ``dL/dx - i dL/dy``) as PyTorch's gradient (its conjugate, ``dL/dx + i dL/dy``); the
    same map turns a PyTorch-style seed (``backward(gradient=)``) into a cotangent. Real
    values pass unchanged."""
    return g.conj() if g is not None and _is_complex(g) else g


# A leaf's grad sink, ``sink(leaf, g) -> bool`` (first-order backward only): when set and it
# returns True, it has accumulated ``g`` (the leaf's shape and dtype) into storage it owns and
# left ``leaf.grad`` a view of it (DistributedDataParallel's flat buckets). The class default
# lives here, next to its one reader.
Tensor._grad_sink = None


def _accumulate(leaf, g, create_graph, given):
    """Add ``g`` into ``leaf.grad`` (PyTorch's AccumulateGrad)."""
    d, ld = g._data, leaf._data
    if d.shape != ld.shape:
        raise RuntimeError(f"internal error: gradient of shape {tuple(g.shape)} for a "
                           f"leaf of shape {tuple(leaf.shape)}")
    if d.dtype != ld.dtype:
        g = g.to(leaf.dtype)
        d = g._data
    sink = leaf._grad_sink
    if sink is not None and not create_graph and sink(leaf, g):
        # the leaf's gradient lives in storage the sink owns (DistributedDataParallel's flat
        # buckets): it added g there and left leaf.grad a view of it
        return
    prev = leaf.grad
    if prev is None:
        if not create_graph and type(d) is not _backend.MetaArray:
            lf = ld.flags
            order = "C" if lf.c_contiguous else "F" if lf.f_contiguous else "K"
            if d.base is not None and not _backend.pool.owns(d) or id(d) in given or (
                    order == "C" and not d.flags.c_contiguous) or (
                    order == "F" and not d.flags.f_contiguous):
                # the grad gets its own storage, laid out as the leaf (as PyTorch's
                # layout contract): a weight's gradient often arrives transposed,
                # and the optimizer would stream it against C-ordered state
                g = Tensor._wrap(_backend.namespace(d).array(d, order=order))
        given.add(id(g._data))
        leaf.grad = g
    elif not create_graph and type(prev._data) is np.ndarray and type(d) is np.ndarray and \
            prev._data.shape == d.shape and prev._data.dtype == d.dtype:
        leaf.grad = Tensor._wrap(prev._data + d)  # what `prev + g` computes, without dispatch
    else:
        leaf.grad = prev + g


def _ones_like(t):
    d = t._data
    if type(d) is np.ndarray:  # the common case: one C call less than np.ones
        one = np.empty(d.shape, d.dtype)
        one.fill(1)
        return Tensor._wrap(one)
    return Tensor._wrap(_backend.namespace(d).ones(d.shape, d.dtype))


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Compute gradients of ``tensors`` w.r.t. the graph leaves (``torch.autograd.backward``).

    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> ember.autograd.backward([(x * x).sum()])
    >>> x.grad
    tensor([2., 4.])
    """
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    cts = []
    for t, g in zip(tensors, grad_tensors):
        trace = getattr(t, "_trace", None)  # a tracer (core.primitive.Tracer)
        if trace is not None:
            main = trace.main
            raise TransformBackwardError(
                f"backward: called on a value traced by {getattr(main, 'origin', None) or main.trace_type.__name__}; "
                f"the eager tape does not run inside transforms. Inside jit/vmap/grad, "
                f"compute gradients functionally (ember.grad or ember.value_and_grad of the "
                f"loss, and ember.optim.functional for the update; torch.func-style "
                f"functional_call for a module), or jit only the model (model = "
                f"ember.jit(model)) and call loss.backward() and optimizer.step() outside.")
        if not t.requires_grad:
            raise RuntimeError(
                f"backward: the tensor (shape {tuple(t.shape)}) does not require grad and has no "
                f"grad_fn. Create the inputs with requires_grad=True (or call "
                f".requires_grad_()) and make sure the computation ran outside no_grad().")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for scalar outputs, but the "
                    f"output has shape {tuple(t.shape)}. Reduce it first (e.g. loss.sum() or "
                    f"loss.mean()) or pass gradient=<tensor of that shape>.")
            cts.append(_ones_like(t))
            continue
        if not isinstance(g, Tensor):
            g = tensor(g, dtype=t.dtype)
        if tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"backward: gradient has shape {tuple(g.shape)} but the output has "
                               f"shape {tuple(t.shape)}; they must match")
        cts.append(g)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        res = run_backward(tensors, cts, inputs=inputs, retain_graph=retain_graph,
                           create_graph=create_graph, allow_unused=True)
        for t, g in zip(inputs, res):
            if g is not None:
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(tensors, cts, retain_graph=retain_graph, create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned (not accumulated), as
    ``torch.autograd.grad``.

    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> y = (x ** 3).sum()
    >>> (g,) = ember.autograd.grad(y, [x], create_graph=True)
    >>> g, x.grad is None                    # returned, not accumulated
    (tensor([ 3., 12.], grad_fn=<...>), True)
    >>> ember.autograd.grad(g.sum(), [x])    # create_graph=True: differentiate again
    (tensor([ 6., 12.]),)
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    cts = []
    for o, g in zip(outputs, grad_outputs):
        if not o.requires_grad:
            raise RuntimeError(f"autograd.grad: output of shape {tuple(o.shape)} does not "
                               f"require grad (no input with requires_grad=True reached it)")
        if g is None:
            if o.numel() != 1:
                raise RuntimeError(f"autograd.grad: grad can be implicitly created only for "
                                   f"scalar outputs, got shape {tuple(o.shape)}; pass "
                                   f"grad_outputs")
            g = _ones_like(o)
        cts.append(g)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} (shape {tuple(t.shape)}) does not "
                               f"require grad")
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(outputs, cts, inputs=inputs, retain_graph=retain_graph,
                       create_graph=create_graph, allow_unused=allow_unused)
    return tuple(res)
