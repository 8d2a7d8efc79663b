"""A replayed, compiled backward for a repeating eager tape.

A training loop records the same tape every step: the same primitives with the same params
and shapes, wired the same way, ending in the same leaves (the parameters). Walking it costs
Python per node (the reverse topological walk, a per-rule plan lookup, a Tensor per
cotangent, a dict entry per edge, an add per shared input) on top of the rules' kernels. Here
the first-order backward of such a tape is staged once, as a whole, with ``jit``'s tracer:
the walk of ``core.autograd.walk`` replayed on tracers (each node's VJP rule, the cotangents
summed into each input in the walk's order), optimised (folding, CSE, DCE) and compiled to one
straight-line NumPy plan. Later backwards with the same structure run that plan on the step's
saved values, and the plan hands each leaf its gradient (``core.autograd``'s ``finish_leaf``)
where the walk would: right after the step that gives the leaf its last contribution, in the
order the walk finishes the leaves (an effectful ``tape_leaf_finished`` line of the plan). So
leaf hooks, post-accumulate hooks and grad sinks see what they see under the walk, when they
see it: DistributedDataParallel's buckets start their all-reduces while the plan computes the
rest of the backward. The plan calls the kernels the walk calls, in its order, so the gradients
are the same bits.

The key of a tape (``_key``) names, per node in walk order: the primitive, its params, its
input shapes/dtypes (and non-tensor inputs by value), whether the output is saved, which
inputs need a gradient and where each edge leads (a node's position in the order, or a leaf's
position among the leaves). Staging and compiling a tape costs about as much as 30 of its
replays save (a GRU seq2seq step's tape: ~47 ms to compile, 1.6 ms saved per replay, CPU), so
a key is compiled when it is likely to repeat that often: at its second sighting when it
repeats back to back (a training loop), at its third when it has come back twice within
``_PERIOD`` backwards (a loop with a few backwards per step: a GAN's two, a model trained
beside a reference), else at its ``_AMORTIZE``-th (tapes that vary from step to step, like a
seq2seq loop over sentences of different lengths, where each shape returns only now and then:
compiling every key at its second sighting made that loop slower than the walk). One-off
graphs never pay for staging. At most ``_MAX_PLANS`` compiled plans are kept; a new one
replaces the least recently replayed. Anything else goes to the walk: non-leaf hooks
(``register_hook`` on an intermediate, ``retain_grad``), ``create_graph``, ``autograd.grad``
/ ``backward(inputs=)``, several roots, anomaly mode or any other VJP executor, nodes of
eager-only primitives (``checkpoint``'s block, custom ``Function``s), nodes recorded under
``saved_tensors_hooks``, saved values freed or modified in place (the walk raises the error),
non-CPU arrays, or a rule that can't be staged.

``core.autograd`` does not import this module: ``ember`` installs ``replay`` with
``core.autograd.set_backward_replayer`` on import.
"""
from __future__ import annotations

import numpy as np

from ..core import autograd as _ag
from ..core.errors import ConcretizationError
from ..core.primitive import Primitive, bind, registry as _primitive_registry
from ..core.tensor import Tensor
from . import vjp_plans as _vjp_plans
from .staging.codegen import compile_plan
from .staging.ir import Lit
from .staging.passes import _hashable_params, optimize
from .staging.tracing import trace_to_graph

# key -> [plan, finishing leaf positions, copy flags, last use] or _NOT_STAGEABLE
_plans: dict = {}
_MAX_PLANS = 64
_enabled = [True]
# hash(key) -> (sightings, when last seen, returns within _PERIOD in a row) of a key not
# compiled yet (a hash: counting needs no copy of a key; a collision only moves a compile
# earlier); ``_keyed`` counts the backwards keyed and not replayed ("when")
_sightings: dict = {}
_MAX_SIGHTINGS = 4096
_keyed = [0]
_PERIOD = 4
_AMORTIZE = 24
_clock = [0]  # replays (a plan's last use)
# after _BACKOFF backwards in a row keyed and not replayed (a graph that changes every step,
# or tapes that return too seldom to be compiled yet), only one backward in _BACKOFF is keyed
# until one is replayed: keying costs a few microseconds per node
_BACKOFF = 16
_misses = [0]
_skip = [0]
# backward passes run by a compiled plan / compiled tapes (tests and profiling read them)
stats = {"replayed": 0, "compiled": 0}

# primitives whose rules run user code or eager-only machinery: always walked
_WALKED = frozenset({"custom_vjp_call", "custom_jvp_call", "checkpoint_block"})
# non-tensor inputs a key can hold by value (anything else: walk)
_SCALARS = (int, float, bool, complex, str, type(None), tuple, np.generic)


class _Mark:
    def __init__(self, meaning):
        self.meaning = meaning

    def __repr__(self):
        return f"<{self.meaning}>"


# the tape's node class (``saved_tensors_hooks`` records a subclass that packs the saved values
# while it is active, and rebinds ``core.autograd.Node`` meanwhile: its nodes are walked)
_NODE = _ag.Node

_NOT_STAGEABLE = _Mark("not stageable: walk the tape")


def _finished_inline(e, names, const):
    return f"_emit({e.params['index']}, {names[0]})"


def _finished_impl(g, index):
    raise RuntimeError("internal error: tape_leaf_finished runs only inside a replayed "
                       "backward's plan (it hands the gradient to the plan's _emit)")


# A leaf's gradient is final: the plan hands it over (``_emit(index, g)``) at this point, so
# the leaf's hooks, accumulation and post-accumulate hooks (DistributedDataParallel launching
# a bucket's all-reduce) run while the rest of the plan computes, as under the walk. Staged at
# the end of the walk's step that finishes the leaf; effectful, so jit's passes never move,
# merge or drop it, and every equation of that step (the other inputs' cotangents of the same
# rule, which may read the leaf's value) comes before it, as in the walk.
_finished_p = Primitive("tape_leaf_finished", _finished_impl, shape=lambda g, index: [],
                        multiple_results=True, foldable=False, differentiable=False,
                        emit_inline=_finished_inline)  # no result: a plan line of its own
_finished_p.effectful = True
# a marker of these plans, not an operation a user binds: out of ``ember.primitives`` (the
# operations, each with all of its rules)
del _primitive_registry[_finished_p.name]


def set_enabled(flag: bool) -> bool:
    """Turn the replayed backward on or off (off: every backward walks the tape); returns
    the previous setting. Tests compare the two; the gradients are the same bits."""
    prev = _enabled[0]
    _enabled[0] = bool(flag)
    return prev


def clear():
    """Forget every compiled tape and every sighting."""
    _plans.clear()
    _sightings.clear()
    _misses[0] = _skip[0] = 0


def _key(order, root_cts):
    """``(key, saved arrays, leaves, aliases)`` for the tape ``order`` (nodes in walk order,
    root first), or None when it must be walked. ``aliases``: None, or for each saved value
    the position of its array's first occurrence (``saved`` then holds each array once)."""
    index = {}
    i = 0
    for node in order:
        index[id(node)] = i
        i += 1
    leaf_pos = {}
    leaves = []
    saved = [c._data for c in root_cts if c is not None]
    key = [tuple(None if c is None else (type(c._data), c._data.shape, c._data.dtype.char)
                 for c in root_cts)]
    ndarray = np.ndarray
    for node in order:
        args = node.args
        if args is None or node.hooks or type(node) is not _NODE:
            return None
        prim = node.prim
        if prim.name in _WALKED:
            return None
        params = node.params
        if params:
            pk = _hashable_params(params)
            if pk is None:
                return None
        else:
            pk = ()
        sig = []
        for a, v in zip(args, node.versions):
            if isinstance(a, Tensor):
                d = a._data
                if v is not None and (a._ver or a._version)[0] != v:
                    return None  # modified in place: the walk names it
                if type(d) is ndarray and type(a) is Tensor:
                    sig.append((d.shape, d.dtype.char))
                elif isinstance(d, (ndarray, np.generic)):  # a NumPy scalar, a subclass
                    sig.append((type(a), type(d), d.shape, d.dtype.char))
                else:  # another backend's array
                    return None
                saved.append(d)
            elif isinstance(a, _SCALARS):
                try:
                    hash(a)
                except TypeError:
                    return None
                sig.append((type(a), a))
            else:
                return None
        out = node.out
        if out is not None:
            ov = node.out_version
            if ov is not None and ov[0][0] != ov[1]:
                return None
            if node.n_out == 1:
                saved.append(out)
            else:
                saved.extend(out)
        edges = []
        for p in node.parents:
            if p is None:
                edges.append(None)
            elif p[0] is None:
                k = id(p[2])
                j = leaf_pos.get(k)
                if j is None:
                    j = leaf_pos[k] = len(leaves)
                    leaves.append(p[2])
                edges.append(-1 - j)
            else:
                edges.append((index[id(p[0])], p[1]))
        key.append((prim, pk, node.n_out, out is not None, tuple(sig), tuple(edges)))
    first = {}
    alias = [first.setdefault(id(d), i) for i, d in enumerate(saved)]
    if len(first) == len(saved):
        return tuple(key), saved, leaves, None
    # an array saved twice (relu's output, saved again as the next pool's input): the plan
    # takes it once, so its passes see one value (mask_before_scatter)
    alias = tuple(alias)
    key.append(alias)
    return tuple(key), [d for i, d in enumerate(saved) if alias[i] == i], leaves, alias


def replay(root, cts, retain_graph, finish_leaf):
    """Run the backward of the tape ending in ``root`` (a node; ``cts`` maps ``(id(root),
    output index)`` to its cotangents) through a compiled plan, which calls
    ``finish_leaf(leaf, grad)`` for each leaf in the order the walk finishes the leaves, at
    the point of the plan where the walk would (right after the step that gives the leaf its
    last contribution). Returns True, or None: walk the tape instead (nothing has been
    changed then)."""
    if not _enabled[0] or _ag._vjp_executor[0] is not _vjp_plans.run:
        return None
    if _skip[0]:  # tapes have not been repeating: key only one backward in _BACKOFF
        _skip[0] -= 1
        return None
    rid = id(root)
    root_cts = [cts.get((rid, i)) for i in range(root.n_out)]
    if len(cts) != sum(c is not None for c in root_cts):
        return None
    order = _ag.toposort([root])
    k = _key(order, root_cts)
    if k is None:
        return None
    key, saved, leaves, alias = k
    entry = _plans.get(key)
    if entry is None:
        h = hash(key)
        _keyed[0] += 1
        n, when, returns = _sightings.get(h, (0, 0, 0))
        if n:
            gap = _keyed[0] - when
            returns = returns + 1 if gap <= _PERIOD else 0
            if gap == 1 or returns >= 2 or n + 1 >= _AMORTIZE:
                n = -1
        if n >= 0:
            if len(_sightings) >= _MAX_SIGHTINGS:
                _sightings.clear()
            _sightings[h] = (n + 1, _keyed[0], returns)
            _misses[0] += 1
            if _misses[0] >= _BACKOFF:
                _skip[0] = _BACKOFF - 1
            return None
        _sightings.pop(h, None)
        entry = _compile(order, root_cts, len(leaves), alias)
        stats["compiled"] += 1
        if len(_plans) >= _MAX_PLANS:  # the least recently replayed plan goes
            del _plans[min(_plans, key=_last_use)]
        _plans[key] = entry
    _misses[0] = 0
    if entry is _NOT_STAGEABLE:
        return None
    plan, finished, copies, _ = entry
    _clock[0] += 1
    entry[3] = _clock[0]
    stats["replayed"] += 1
    if not retain_graph:
        for node in order:
            node.args = None
            node.out = None
    del order
    wrap = Tensor._wrap
    done = [leaves[j] for j in finished]

    def emit(k, r):
        finish_leaf(done[k], wrap(np.array(r) if copies[k] else r))
    plan(saved, emit)  # the plan empties ``saved``: each value dies after its last use
    return True


def _last_use(key):
    entry = _plans[key]
    return entry[3] if type(entry) is list else -1  # (unstageable marks go first)


def _compile(order, root_cts, n_leaves, alias=None):
    """Stage the walk of ``order`` on tracers: ``(plan, finishing leaf positions, copy
    flags)``, or ``_NOT_STAGEABLE``. ``alias`` (see ``_key``): the plan takes each array
    once."""
    index = {id(n): i for i, n in enumerate(order)}
    steps = []
    for i, node in enumerate(order):
        t_pos = [j for j, a in enumerate(node.args) if isinstance(a, Tensor)]
        edges = []
        for p in node.parents:
            if p is None:
                edges.append(None)
            elif p[0] is None:
                edges.append(("leaf", id(p[2])))
            else:
                edges.append((index[id(p[0])], p[1]))
        zeros = None
        if node.n_out > 1 and not getattr(node.prim, "vjp_accepts_none", False):
            zeros = [_ag.zeros_for_output(node, o) for o in range(node.n_out)]
        steps.append((node.prim, node.params, node.n_out, node.out is not None, list(node.args),
                      t_pos, edges, zeros))
    # a leaf is finished when the walk has passed its last edge (core.autograd.walk's refs)
    leaf_ids, refs = [], {}
    for s in steps:
        for e in s[6]:
            if e is not None and e[0] == "leaf":
                if e[1] not in refs:
                    leaf_ids.append(e[1])
                refs[e[1]] = refs.get(e[1], 0) + 1
    pos = {lid: j for j, lid in enumerate(leaf_ids)}
    finish_at = {}
    for s_i, s in enumerate(steps):
        for e in s[6]:
            if e is not None and e[0] == "leaf":
                refs[e[1]] -= 1
                if not refs[e[1]]:
                    finish_at.setdefault(s_i, []).append(pos[e[1]])
    has_root = [c is not None for c in root_cts]
    finished = []
    flat = [c for c in root_cts if c is not None]
    for node in order:
        flat += [a for a in node.args if isinstance(a, Tensor)]
        if node.out is not None:
            flat += [Tensor._wrap(node.out)] if node.n_out == 1 else \
                [Tensor._wrap(o) for o in node.out]

    def backward(ins):
        it = iter(ins)
        cts = {}
        for o, h in enumerate(has_root):
            if h:
                cts[(0, o)] = next(it)
        leaf_cts = {}
        results = []
        finished.clear()
        for i, (prim, params, n_out, has_out, args, t_pos, edges, zeros) in enumerate(steps):
            a = list(args)
            for j in t_pos:
                a[j] = next(it)
            out = None
            if has_out:
                out = next(it) if n_out == 1 else tuple(next(it) for _ in range(n_out))
            outs_ct = [cts.pop((i, o), None) for o in range(n_out)]
            if any(g is not None for g in outs_ct):
                if n_out == 1:
                    ct = outs_ct[0]
                elif zeros is None:
                    ct = tuple(outs_ct)
                else:
                    ct = tuple(g if g is not None else zeros[o] for o, g in enumerate(outs_ct))
                in_cts = prim.vjp(ct, out, *a, **params)
                for e, g in zip(edges, in_cts):
                    if e is None or g is None:
                        continue
                    if e[0] == "leaf":
                        prev = leaf_cts.get(e[1])
                        leaf_cts[e[1]] = g if prev is None else _add(prev, g)
                    else:
                        cts[e] = _add(cts.get(e), g)
            for j in finish_at.get(i, ()):
                g = leaf_cts.pop(leaf_ids[j], None)
                if g is not None:
                    finished.append(j)
                    bind(_finished_p, g, index=len(results))
                    results.append(g)
        return results
    walk = backward
    if alias is not None:  # one input per distinct array, handed to every place it fills
        slot = {i: j for j, i in enumerate(i for i, a in enumerate(alias) if a == i)}
        flat = [t for i, t in enumerate(flat) if alias[i] == i]

        def walk(ins):
            return backward([ins[slot[a]] for a in alias])
    try:
        graph, _ = trace_to_graph(walk, flat, name="eager_backward")
    except ConcretizationError:  # a rule needs concrete values: keep walking
        return _NOT_STAGEABLE
    graph = optimize(graph)
    invars = {id(v) for v in graph.invars}
    copies = []
    seen = set()
    for o in graph.outs:
        # a constant or an input (a saved value) must not become a .grad as it is; nor may one
        # array become two leaves' grads
        copies.append(isinstance(o, Lit) or id(o) in invars or id(o) in seen)
        seen.add(id(o))
    plan = compile_plan(graph, header=_list_header)
    return [plan, tuple(finished), tuple(copies), 0]


def _add(a, b):
    """The walk's accumulation (``core.autograd._add_arrays``) on tracers."""
    if a is None:
        return b
    return a + b


def _list_header(names):
    """The plan's first lines: ``plan(_ins, _emit)`` takes its inputs as one list that it
    empties on entry, so each saved value dies after its last use in the plan (the plan deletes
    its large intermediates and inputs after their last use; arguments passed one by one would
    stay alive in the caller until the plan returns), and ``_emit``, the callback its
    ``tape_leaf_finished`` lines hand the leaves' gradients to."""
    if names.strip():
        return f"def plan(_ins, _emit):\n    {names}, = _ins\n    _ins.clear()\n"
    return "def plan(_ins, _emit):\n"
