"""Graph passes: constant folding, common-subexpression elimination, dead-code elimination,
local simplifications, and the in-place targets of a plan."""
from __future__ import annotations

import numpy as np

from ...core.tensor import Tensor
from ...ops.conv import (_disjoint, argmax_scatter_p, conv_input_grad_p, input_grad_fuses,
                         unwindows_p)
from ...ops.einsum import einsum_p
from ...ops.indexing import getitem_basic_p
from ...ops.elementwise import add_p, gt_p, mul_p
from ...ops.linalg import matmul_p
from ...ops.reduce import sum_p
from ...ops.shape import reshape_p, transpose_p
from .ir import Eqn, Graph, Lit, Var


def _hashable_params(params):
    try:
        key = tuple(sorted(params.items()))
        hash(key)
        return key
    except TypeError:
        return None


def fold_constants(g: Graph, live=()) -> Graph:
    """Evaluate equations whose inputs are all constants (once, at compile time).
    ``live``: ids of tensors that may change between calls (module buffers)."""
    env = {}
    eqns = []
    for e in g.eqns:
        ins = [env.get(id(i), i) for i in e.ins]
        if all(isinstance(i, Lit) for i in ins) and e.prim.foldable and \
                not any(_is_live(i.val, live) for i in ins):
            vals = [i.val._data if isinstance(i.val, Tensor) else i.val for i in ins]
            r = e.prim.impl(*vals, **e.params)
            rs = r if e.prim.multiple_results else [r]
            for o, v in zip(e.outs, rs):
                env[id(o)] = Lit(np.asanyarray(v))  # keeps a backend array type
            continue
        eqns.append(Eqn(e.prim, ins, e.params, e.outs))
    outs = [env.get(id(o), o) for o in g.outs]
    return Graph(g.invars, eqns, outs)


def _is_live(v, live):
    """A constant tensor whose value may change between calls: a parameter (requires grad) or
    a module buffer read during the trace (``live``: their ids). Its uses stay in the graph
    and read it at each call; it is never folded or compared by value."""
    return isinstance(v, Tensor) and (v.requires_grad or id(v) in live)


def _operand_key(x, live):
    if isinstance(x, Lit):
        v = x.val
        if _is_live(v, live):
            return ("lit-id", id(v))
        a = v._data if isinstance(v, Tensor) else np.asarray(v)
        if a.size <= 16:  # small constants compare by value
            return ("lit", a.dtype.str, a.shape, a.tobytes())
        return ("lit-id", id(x.val))
    return id(x)


def cse(g: Graph, live=()) -> Graph:
    seen = {}
    env = {}
    eqns = []
    for e in g.eqns:
        ins = [env.get(id(i), i) for i in e.ins]
        pk = None if e.prim.effectful else _hashable_params(e.params)
        key = None if pk is None else (e.prim.name, tuple(_operand_key(i, live) for i in ins), pk)
        if key is not None and key in seen:
            for o, prev in zip(e.outs, seen[key].outs):
                env[id(o)] = prev
            continue
        ne = Eqn(e.prim, ins, e.params, e.outs)
        if key is not None:
            seen[key] = ne
        eqns.append(ne)
    return Graph(g.invars, eqns, [env.get(id(o), o) for o in g.outs])


def dce(g: Graph) -> Graph:
    live = {id(o) for o in g.outs}
    kept = []
    for e in reversed(g.eqns):
        if e.prim.effectful or any(id(o) in live for o in e.outs):
            kept.append(e)
            live.update(id(i) for i in e.ins)
    kept.reverse()
    return Graph(g.invars, kept, g.outs)


def compose_transposes(g: Graph) -> Graph:
    """``transpose(transpose(x))`` becomes one transpose of ``x``, or ``x`` itself (the
    backward of ``x @ w.T`` transposes twice, and small graphs pay for every call)."""
    made = {}  # id(result of a transpose) -> (its input, perm)
    env = {}
    eqns = []
    for e in g.eqns:
        ins = [env.get(id(i), i) for i in e.ins]
        if e.prim is transpose_p and id(ins[0]) in made:
            x, inner = made[id(ins[0])]
            perm = tuple(inner[i] for i in e.params["perm"])
            if perm == tuple(range(len(perm))):
                env[id(e.outs[0])] = x
                continue
            e = Eqn(transpose_p, [x], {"perm": perm}, e.outs)
        else:
            e = Eqn(e.prim, ins, e.params, e.outs)
        if e.prim is transpose_p:
            made[id(e.outs[0])] = (e.ins[0], tuple(e.params["perm"]))
        eqns.append(e)
    return Graph(g.invars, eqns, [env.get(id(o), o) for o in g.outs])


def _use_counts(g: Graph) -> dict:
    """id(value) -> how many equation inputs read it; a graph output counts 2 more, so no
    rewrite takes an output's producer away."""
    uses = {}
    for e in g.eqns:
        for i in e.ins:
            uses[id(i)] = uses.get(id(i), 0) + 1
    for o in g.outs:
        uses[id(o)] = uses.get(id(o), 0) + 2
    return uses


def simplify(g: Graph, live=()) -> Graph:
    """Local rewrites that save a kernel call each (exact in floating point):
    ``(c * x) + (c * x)`` -> ``(2c) * x`` (what CSE leaves of the derivative of ``x * x``) and
    ``reshape(sum(x, keepdim=True))`` to the keepdim=False shape -> ``sum(x)``."""
    uses = _use_counts(g)
    made, env, eqns = {}, {}, []
    for e in g.eqns:
        ins = [env.get(id(i), i) for i in e.ins]
        p = made.get(id(ins[0])) if ins and isinstance(ins[0], Var) else None
        n_here = sum(1 for i in ins if i is ins[0])
        if p is not None and uses[id(ins[0])] == n_here:  # used by this equation only
            k, pe = p
            if e.prim is add_p and ins[0] is ins[1] and pe.prim is mul_p and \
                    isinstance(pe.ins[0], Lit) and not _is_live(pe.ins[0].val, live) and \
                    isinstance(pe.ins[1], Var):
                c = pe.ins[0].val
                c = c._data if isinstance(c, Tensor) else np.asarray(c)
                eqns[k] = None
                e = Eqn(mul_p, [Lit(c * c.dtype.type(2)), pe.ins[1]], {}, e.outs)
            elif e.prim is reshape_p and pe.prim is sum_p and pe.params["keepdim"] and \
                    tuple(e.params["shape"]) == tuple(
                        d for i, d in enumerate(pe.outs[0].aval.shape)
                        if i not in _canon_dims(pe.params["dims"], len(pe.ins[0].aval.shape))):
                eqns[k] = None
                e = Eqn(sum_p, pe.ins, {**pe.params, "keepdim": False}, e.outs)
            else:
                e = Eqn(e.prim, ins, e.params, e.outs)
        else:
            e = Eqn(e.prim, ins, e.params, e.outs)
        if len(e.outs) == 1:
            made[id(e.outs[0])] = (len(eqns), e)
        eqns.append(e)
    return Graph(g.invars, [e for e in eqns if e is not None],
                 [env.get(id(o), o) for o in g.outs])


def _canon_dims(dims, ndim):
    return {d % ndim for d in dims} if ndim else set()


def mask_before_scatter(g: Graph) -> Graph:
    """``argmax_scatter(ct, x, out) * (x > 0)`` -> ``argmax_scatter(ct * (out > 0), x, out)``
    for disjoint max-pool windows: the backward of relu followed by max pooling masks the
    pooled cotangent (a quarter of the entries for 2x2 windows) instead of the input-sized
    gradient, two passes over the large array fewer. Exact: a window's entry that gets its
    gradient equals ``out`` (so the masks agree there); every other entry is ``0 * ct``
    either way, the same signed zero."""
    uses = _use_counts(g)
    made = {}
    for e in g.eqns:
        for o in e.outs:
            made[id(o)] = e
    eqns, changed = [], False
    for e in g.eqns:
        if e.prim is mul_p and len(e.ins) == 2:
            a, b = e.ins
            sc, gt = made.get(id(a)), made.get(id(b))
            if sc is None or gt is None or sc.prim is not argmax_scatter_p:
                sc, gt = gt, sc
            if sc is not None and gt is not None and sc.prim is argmax_scatter_p and \
                    gt.prim is gt_p and uses.get(id(sc.outs[0])) == 1 and \
                    gt.ins[0] is sc.ins[1] and isinstance(gt.ins[1], Lit) and \
                    np.asarray(gt.ins[1].val._data if isinstance(gt.ins[1].val, Tensor) else
                               gt.ins[1].val).ndim == 0 and \
                    float(gt.ins[1].val._data if isinstance(gt.ins[1].val, Tensor) else
                          gt.ins[1].val) == 0.0 and \
                    e.outs[0].aval.dtype == sc.outs[0].aval.dtype and \
                    _disjoint(sc.params["kernel"], sc.params["stride"],
                              sc.params["dilation"]):
                ct, x, out = sc.ins
                m = Var(type(out.aval)(out.aval.shape, gt.outs[0].aval.dtype))
                cm = Var(ct.aval)
                k = eqns.index(sc)
                eqns[k:k + 1] = [Eqn(gt_p, [out, gt.ins[1]], {}, [m]),
                                 Eqn(mul_p, [ct, m], {}, [cm]),
                                 Eqn(argmax_scatter_p, [cm, x, out], sc.params, e.outs)]
                changed = True
                continue
        eqns.append(e)
    return Graph(g.invars, eqns, g.outs) if changed else g


def _fuse_producers(g: Graph, fuse) -> Graph:
    """Each equation ``e`` for which ``fuse(e, made, uses)`` gives (equation, producers)
    replaced by that equation, the producers (equations whose single results only it read)
    dropped; ``made`` maps a result's id to its single-result equation, ``uses`` counts each
    value's readers."""
    uses = _use_counts(g)
    made = {id(e.outs[0]): e for e in g.eqns if len(e.outs) == 1}
    drop, eqns = set(), []
    for e in g.eqns:
        got = fuse(e, made, uses)
        if got is not None:
            e, producers = got
            drop.update(id(p) for p in producers)
        eqns.append(e)
    if not drop:
        return g
    return Graph(g.invars, [e for e in eqns if id(e) not in drop], g.outs)


def _input_grad_pair(e, made, uses):
    if e.prim is not unwindows_p:
        return None
    r = made.get(id(e.ins[0]))
    m = made.get(id(r.ins[0])) if r is not None and r.prim is reshape_p else r
    if m is not None and m.prim is einsum_p and len(m.ins) == 2 and \
            uses.get(id(e.ins[0])) == 1 and uses.get(id(m.outs[0])) == 1 and \
            input_grad_fuses(m.params.get("eq"), m.ins[0].aval, m.ins[1].aval, **e.params):
        return Eqn(conv_input_grad_p, list(m.ins),
                   {"eq": m.params["eq"], "cols_shape": tuple(e.ins[0].aval.shape),
                    **e.params}, e.outs), (r, m)
    return None


def fuse_input_grads(g: Graph) -> Graph:
    """``unwindows([reshape](einsum(ct, w)))`` of a convolution's input gradient ->
    ``conv_input_grad(ct, w)`` when the windows gradient (K times the input) has no other
    use and ``conv.input_grad_fuses`` (depthwise layers, and those whose windows gradient is
    channels-last): its kernels never write it whole (the same products and additions in the
    same order)."""
    return _fuse_producers(g, _input_grad_pair)


def _unit_slices(spec, ndim):
    """Whether a getitem_basic ``spec`` is one unit-step slice of each of ``ndim`` axes."""
    return len(spec) == ndim and all(
        isinstance(t, tuple) and len(t) == 4 and t[0] == "s" and t[3] == 1 and
        isinstance(t[1], int) and isinstance(t[2], int) for t in spec)


def _cropped_input_grad(e, made, uses):
    if e.prim is not getitem_basic_p:
        return None
    m = made.get(id(e.ins[0]))
    spec = e.params["spec"]
    if m is not None and m.prim is conv_input_grad_p and "crop" not in m.params and \
            uses.get(id(m.outs[0])) == 1 and _unit_slices(spec, len(m.outs[0].aval.shape)):
        return Eqn(conv_input_grad_p, list(m.ins),
                   {**m.params, "crop": tuple((t[1], t[2]) for t in spec)}, e.outs), (m,)
    return None


def crop_input_grads(g: Graph) -> Graph:
    """``conv_input_grad(...)[a:b, ...]`` (the transpose of the input's padding: unit-step
    slices of every axis) -> ``conv_input_grad(..., crop=((a, b), ...))`` when the padded
    gradient has no other use: a dense cropped copy laid out as the cotangent instead of a
    strided view of the padded gradient."""
    return _fuse_producers(g, _cropped_input_grad)


def optimize(g: Graph, live=()) -> Graph:
    g = cse(fold_constants(g, live), live)
    return crop_input_grads(fuse_input_grads(dce(mask_before_scatter(compose_transposes(
        simplify(g, live))))))



def _is_elementwise_ufunc(e):
    """The equation calls an elementwise ufunc with no parameters: it can take ``out=``."""
    return e.prim.elementwise_ufunc and not e.params and not e.prim.multiple_results


_OWN_BUFFER = (matmul_p,)  # primitives whose (single) result is always a new array of its own


def _inplace_targets(g: Graph, donated=()):
    """For each equation, where its result may be written (preallocated buffers, reused): an
    input's position, or a Var whose buffer is dead by then. The equation is an elementwise
    NumPy ufunc, and the buffer is fresh (made by an allocating kernel, or a donated
    argument), of the result's shape and dtype, not a graph output, and neither it nor any
    view of it is read later: first an input that dies here, else (``out=`` a dead buffer, so
    that an optimizer's temporaries such as Adam's sqrt(v) take no fresh allocation) a buffer
    an earlier ufunc equation or product (or the caller, donating) made and whose values are
    all read."""
    roots = {}  # var -> ids of the fresh buffers it may share memory with
    fresh = {id(g.invars[j]) for j in donated if g.invars[j].aval.shape != ()}
    for v in g.invars:
        roots[id(v)] = {id(v)}
    last = {}
    for k, e in enumerate(g.eqns):
        for i in e.ins:
            if isinstance(i, Var):
                for r in roots.get(id(i), ()):
                    last[r] = k
        if e.prim.allocates(len(e.ins)):
            for o in e.outs:
                roots[id(o)] = {id(o)}
                if o.aval.shape != ():
                    fresh.add(id(o))
        else:  # a view, or a kernel that may return its input: results alias the inputs
            shared = set()
            for i in e.ins:
                if isinstance(i, Var):
                    shared |= roots.get(id(i), set())
            for o in e.outs:
                roots[id(o)] = set(shared)
    pinned = set()
    for o in g.outs:
        pinned |= roots.get(id(o), set())
    # physical buffers: a root id -> the buffer holding it (in-place results join their
    # target's buffer); per buffer its root ids and a var that is the whole buffer (a
    # ufunc's result or a donated argument: an array of its own shape that out= can take)
    phys = {}
    members = {}
    holder = {}
    for j in donated:
        v = g.invars[j]
        if id(v) in fresh:
            phys[id(v)] = id(v)
            members[id(v)] = [id(v)]
            holder[id(v)] = v
    dead = {}  # (shape, dtype) -> buffers whose every value has been read, oldest first
    targets = {}
    for k, e in enumerate(g.eqns):
        if not _is_elementwise_ufunc(e):
            if e.prim in _OWN_BUFFER and len(e.outs) == 1 and id(e.outs[0]) in fresh:
                # a product's result is a fresh array of its own: once all read, a later
                # ufunc may write into it (SGD's lr * momentum into the dead weight gradient)
                buf = id(e.outs[0])
                phys[buf], members[buf], holder[buf] = buf, [buf], e.outs[0]
                if buf not in pinned:
                    dead.setdefault((e.outs[0].aval.shape, e.outs[0].aval.dtype), []).append(buf)
            continue
        o = e.outs[0].aval
        buf = None
        for pos, i in enumerate(e.ins):
            if isinstance(i, Var) and id(i) in fresh and id(i) not in pinned and \
                    last.get(id(i)) == k and i.aval.shape == o.shape and \
                    i.aval.dtype == o.dtype:
                targets[k] = pos
                fresh.discard(id(i))
                # the result now lives in i's buffer
                roots[id(e.outs[0])] = {id(i)}
                buf = phys.get(id(i))
                break
        if k not in targets and o.shape != () and id(e.outs[0]) in fresh:
            for b in dead.get((o.shape, o.dtype), ()):
                if all(last.get(r, -1) < k and r not in pinned for r in members[b]):
                    dead[(o.shape, o.dtype)].remove(b)
                    targets[k] = holder[b]
                    buf = b
                    break
        if buf is None and id(e.outs[0]) in fresh:  # a buffer of its own, made here
            buf = id(e.outs[0])
            members[buf] = []
            holder[buf] = e.outs[0]
        if buf is not None:
            phys[id(e.outs[0])] = buf
            members[buf].append(id(e.outs[0]))
            if o.shape != () and all(r not in pinned for r in members[buf]):
                lst = dead.setdefault((o.shape, o.dtype), [])
                if buf not in lst:
                    lst.append(buf)
    return targets
