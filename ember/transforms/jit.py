"""jit: trace a function with abstract values into a small typed graph, optimise it, and run
it through generated straight-line Python that calls each primitive's backend kernel.

Staging, printing (``make_graph``), dead-code and common-subexpression elimination, constant
folding, a cache keyed by pytree structure, shapes, dtypes and static arguments (plus the
modes of the modules read, see ``effects.py``), retrace counting and explanations,
``disable_jit``/``debug``. A repeat call runs a generated guard and the plan. Under other
transforms (grad, vmap, jvp) the graph is evaluated equation by equation through ``bind``, so
those transforms see the primitives; for eager inputs that require grad the tape records one
node whose backward is a compiled graph (``jit_grad.py``).
"""
from __future__ import annotations

import inspect
import itertools
import logging
import os

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Trace, Tracer, bind, new_main, transforms_active
from ..core.tensor import Tensor
from ..core import autograd as _ag
from ..tree import flatten_with_key, tree_flatten, tree_unflatten, unflattener
from ..ops.elementwise import as_value
from .effects import Effects, eager_keys

log = logging.getLogger("ember.jit")


class config:
    """Switches read by ``jit``: ``explain_retraces`` (print why a function is traced
    again; also the environment variable ``EMBER_EXPLAIN_RETRACES=1``) and ``disable_jit``
    (set by the ``disable_jit`` context manager).

    >>> ember.config.disable_jit
    False
    """
    explain_retraces = bool(os.environ.get("EMBER_EXPLAIN_RETRACES"))
    disable_jit = False


class disable_jit:
    """Context manager: jitted functions run eagerly (print and pdb work).

    >>> @ember.jit
    ... def f(x):
    ...     print("running with", type(x).__name__)   # under jit this prints once, at tracing
    ...     return x * 2
    >>> with ember.disable_jit():
    ...     f(ember.tensor([1.]))
    running with Tensor
    tensor([2.])
    """

    def __enter__(self):
        self.prev = config.disable_jit
        config.disable_jit = True

    def __exit__(self, *exc):
        config.disable_jit = self.prev
        return False


# ---- the graph IR ----------------------------------------------------------------------

class Var:
    __slots__ = ("aval", "id")
    _ids = itertools.count()

    def __init__(self, aval):
        self.aval = aval
        self.id = next(Var._ids)


class Lit:
    """A constant: a NumPy scalar/array or a concrete Tensor captured by the function."""
    __slots__ = ("val", "aval")

    def __init__(self, val):
        self.val = val
        a = val._data if isinstance(val, Tensor) else np.asarray(val)
        self.aval = Aval(a.shape, _dt.from_np(a.dtype))


class Eqn:
    __slots__ = ("prim", "ins", "params", "outs")

    def __init__(self, prim, ins, params, outs):
        self.prim, self.ins, self.params, self.outs = prim, ins, params, outs


class Graph:
    """Inputs, equations, outputs. ``str(graph)`` prints it readably."""

    def __init__(self, invars, eqns, outs):
        self.invars, self.eqns, self.outs = invars, eqns, outs

    def __str__(self):
        names = {}

        def nm(v):
            if isinstance(v, Lit):
                a = v.val._data if isinstance(v.val, Tensor) else np.asarray(v.val)
                return (repr(a.item()) if a.size == 1 and a.ndim == 0 else
                        f"const:{v.aval.str_short()}")
            if id(v) not in names:
                i = len(names)
                names[id(v)] = "".join(chr(97 + d) for d in _digits(i))
            return names[id(v)]
        lines = ["{ lambda " + ", ".join(f"{nm(v)}:{v.aval.str_short()}" for v in self.invars)
                 + " ."]
        for e in self.eqns:
            outs = " ".join(f"{nm(o)}:{o.aval.str_short()}" for o in e.outs)
            ps = " ".join(f"{k}={_fmt_param(p)}" for k, p in e.params.items())
            lines.append(f"    {outs} = {e.prim.name}" + (f"[{ps}]" if ps else "") + " " +
                         " ".join(nm(i) for i in e.ins))
        lines.append("  in (" + ", ".join(nm(o) for o in self.outs) + ") }")
        return "\n".join(lines)

    __repr__ = __str__


def _digits(i):
    d = []
    while True:
        d.append(i % 26)
        i = i // 26 - 1
        if i < 0:
            return reversed(d)


def _fmt_param(p):
    return p.name if isinstance(p, _dt.DType) else repr(p)


# ---- staging ---------------------------------------------------------------------------

class StageTracer(Tracer):
    __slots__ = ("gvar",)

    def __init__(self, trace, var):
        self._trace = trace
        self.gvar = var

    @property
    def aval(self):
        return self.gvar.aval


class _Builder:
    def __init__(self):
        self.eqns = []
        self.consts = {}  # id(value) -> Lit
        self.effects = Effects()

    def lit(self, val):
        k = id(val)
        if k not in self.consts:
            self.consts[k] = Lit(val)
        return self.consts[k]


class StageTrace(Trace):
    def pure(self, val):
        if isinstance(val, Tracer):
            raise TypeError("jit: a value from an outer transform was captured by a jitted "
                            "function; pass it as an argument instead")
        b = self.main.global_data
        return StageTracer(self, b.lit(val))

    lift = pure

    def process_primitive(self, prim, tracers, params):
        ins = [t.gvar for t in tracers]
        avals = [v.aval for v in ins]
        out_avals = prim.abstract_eval(avals, params)
        if prim.multiple_results:
            outs = [Var(a) for a in out_avals]
        else:
            outs = [Var(out_avals)]
        self.main.global_data.eqns.append(Eqn(prim, ins, params, outs))
        tr = [StageTracer(self, o) for o in outs]
        return tr if prim.multiple_results else tr[0]


def _abstract(x):
    if isinstance(x, Aval):
        return x
    if isinstance(x, Tensor):
        return Aval(tuple(x.shape), x.dtype)
    a = np.asarray(x)
    return Aval(a.shape, _dt.from_np(a.dtype))


def trace_to_graph(fun, args, name="fun", effects=False, user_fun=None):
    """Stage ``fun(*args)`` (args: flat list of values) into a Graph; returns (graph, out_def),
    or (graph, out_def, Effects) with ``effects``: then the graph also takes one key per
    stateful generator drawn from (after the arguments) and also returns the new values of
    the buffers updated (after the outputs)."""
    with new_main(StageTrace, global_data=_Builder(), dynamic=True) as main:
        main.origin, main.fun = f"jit({name})", user_fun
        trace = StageTrace(main)
        invars = [Var(_abstract(a)) for a in args]
        ins = [StageTracer(trace, v) for v in invars]
        with _ag.no_grad():
            out = fun(ins)
        o_leaves, o_def = tree_flatten(out)
        outs = []
        for o in o_leaves:
            if isinstance(o, StageTracer) and o._trace.main is main:
                outs.append(o.gvar)
            elif isinstance(o, Tensor) and not isinstance(o, Tracer):
                outs.append(main.global_data.lit(o))
            else:
                raise TypeError(f"jit({name}): outputs must be tensors (or pytrees of tensors), "
                                f"got {type(o).__name__}")
        fx = main.global_data.effects
        if not effects:
            if fx.gens:
                raise ValueError(f"{name}: the function draws from the stateful random "
                                 f"generator (dropout, ember.rand, ...), which this transform "
                                 f"can't thread through; pass explicit ember.random keys")
            return Graph(invars, main.global_data.eqns, outs), o_def
        for _, v in fx.updates:
            outs.append(v.gvar if isinstance(v, StageTracer) else main.global_data.lit(v))
    return Graph(invars + fx.key_vars, main.global_data.eqns, outs), o_def, fx


# ---- passes ----------------------------------------------------------------------------

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
        if all(isinstance(i, Lit) for i in ins) and e.prim.name not in _NO_FOLD and \
                not any(_is_live(i.val, live) for i in ins):
            vals = [i.val._data if isinstance(i.val, Tensor) else i.val for i in ins]
            r = e.prim.impl(*vals, **e.params)
            rs = r if e.prim.multiple_results else [r]
            for o, v in zip(e.outs, rs):
                env[id(o)] = Lit(np.asarray(v))
            continue
        eqns.append(Eqn(e.prim, ins, e.params, e.outs))
    outs = [env.get(id(o), o) for o in g.outs]
    return Graph(g.invars, eqns, outs)


_NO_FOLD = {"threefry2x32", "random_bits"}  # large outputs: keep them lazy


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
        pk = _hashable_params(e.params)
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
        if any(id(o) in live for o in e.outs):
            kept.append(e)
            live.update(id(i) for i in e.ins)
    kept.reverse()
    return Graph(g.invars, kept, g.outs)


def compose_transposes(g: Graph) -> Graph:
    """``transpose(transpose(x))`` becomes one transpose of ``x``, or ``x`` itself (the
    backward of ``x @ w.T`` transposes twice, and small graphs pay for every call)."""
    from ..ops.shape import transpose_p
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


def simplify(g: Graph, live=()) -> Graph:
    """Local rewrites that save a kernel call each (exact in floating point):
    ``(c * x) + (c * x)`` -> ``(2c) * x`` (what CSE leaves of the derivative of ``x * x``) and
    ``reshape(sum(x, keepdim=True))`` to the keepdim=False shape -> ``sum(x)``."""
    from ..ops.elementwise import add_p, mul_p
    from ..ops.reduce import sum_p
    from ..ops.shape import reshape_p
    uses = {}
    for e in g.eqns:
        for i in e.ins:
            uses[id(i)] = uses.get(id(i), 0) + 1
    for o in g.outs:
        uses[id(o)] = uses.get(id(o), 0) + 2  # never rewrite an output's producer away
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


def optimize(g: Graph, live=()) -> Graph:
    g = cse(fold_constants(g, live), live)
    return dce(compose_transposes(simplify(g, live)))


# ---- the plan: generated straight-line Python ------------------------------------------

# kernels whose result is always a new array (never a view of an input)
_ALLOCATING = {"matmul", "sum", "select", "log_softmax", "cat", "pad", "gather_nd",
               "index_add_nd", "unwindows", "copy", "cumsum", "amax", "amin", "prod"}


def _is_elementwise_ufunc(e):
    return isinstance(e.prim.impl, np.ufunc) and e.prim.impl.signature is None and \
        not e.params and not e.prim.multiple_results


def _inplace_targets(g: Graph, donated=()):
    """For each equation, an input whose buffer the result may overwrite (preallocated
    buffers, reused): the equation is an elementwise NumPy ufunc, and the input is a fresh
    buffer (made by a ufunc or matmul, or a donated argument) of the result's shape and dtype
    that neither it nor any view of it is read later, and that is not a graph output."""
    outs = {id(o) for o in g.outs}
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
        if _is_elementwise_ufunc(e) or e.prim.name in _ALLOCATING:
            for o in e.outs:
                roots[id(o)] = {id(o)}
                if (_is_elementwise_ufunc(e) or e.prim.name == "matmul") and o.aval.shape != ():
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
    targets = {}
    for k, e in enumerate(g.eqns):
        if not _is_elementwise_ufunc(e):
            continue
        o = e.outs[0].aval
        for pos, i in enumerate(e.ins):
            if isinstance(i, Var) and id(i) in fresh and id(i) not in pinned and \
                    last.get(id(i)) == k and i.aval.shape == o.shape and \
                    i.aval.dtype == o.dtype:
                targets[k] = pos
                fresh.discard(id(i))
                # the result now lives in i's buffer
                roots[id(e.outs[0])] = {id(i)}
                break
    return targets


_param_orders: dict = {}


def _positional_params(impl, n_ops, params):
    """The names of ``params`` in the order ``impl`` takes them right after its ``n_ops``
    operands, when it can take all of them positionally; else None."""
    key = (impl, n_ops, tuple(params))
    if key in _param_orders:
        return _param_orders[key]
    order = None
    try:
        ps = list(inspect.signature(impl).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature
        ps = None
    if ps is not None and len(ps) >= n_ops + len(params) and all(
            p.kind is p.POSITIONAL_OR_KEYWORD for p in ps[:n_ops + len(params)]):
        names = [p.name for p in ps[n_ops:n_ops + len(params)]]
        if set(names) == set(params):
            order = names
    _param_orders[key] = order
    return order


def _inline_transpose(e, ops, const):
    perm = tuple(e.params["perm"])
    return f"{ops[0]}.T" if perm == (1, 0) else f"{ops[0]}.transpose({const(perm)})"


def _inline_matmul(e, ops, const):
    x, y = (len(v.aval.shape) for v in e.ins)
    if x > 2 and y == 2:
        return None  # the kernel flattens the batch into one product
    return f"_np_matmul({ops[0]}, {ops[1]})"


def _inline_sum(e, ops, const):
    p = e.params
    dt = "None" if p.get("dtype") is None else const(p["dtype"].np)
    return f"_np_add_reduce({ops[0]}, {const(p['dims'])}, {dt}, None, {p['keepdim']})"


# primitives whose plan line calls NumPy directly (the kernels are thin wrappers of these;
# operands are arrays or NumPy scalars, both of which have these methods)
_INLINE = {
    "transpose": _inline_transpose,
    "reshape": lambda e, ops, const: f"{ops[0]}.reshape({const(tuple(e.params['shape']))})",
    "matmul": _inline_matmul,
    "sum": _inline_sum,
}
_INLINE_GLOBALS = {"_np_matmul": np.matmul, "_np_add_reduce": np.add.reduce}


def compile_plan(g: Graph, donated=()):
    names = {}
    glb = {}
    lines = []

    def const(v):
        k = f"c{len(glb)}"
        glb[k] = v
        return k

    def nm(v):
        if isinstance(v, Lit):  # a tensor constant is read at each call (updated in place)
            return f"{const(v.val)}._data" if isinstance(v.val, Tensor) else const(v.val)
        if id(v) not in names:
            names[id(v)] = f"v{len(names)}"
        return names[id(v)]
    args = ", ".join(nm(v) for v in g.invars)
    inplace = _inplace_targets(g, donated)
    glb.update(_INLINE_GLOBALS)
    for i, e in enumerate(g.eqns):
        glb[f"f{i}"] = e.prim.impl
        glb[f"p{i}"] = e.params
        operands = ", ".join(nm(x) for x in e.ins)
        inline = _INLINE.get(e.prim.name)
        expr = None if inline is None or i in inplace else inline(e, [nm(x) for x in e.ins],
                                                                   const)
        if expr is not None:  # a method or ufunc call in place of the kernel's wrapper
            call = expr
        elif i in inplace:
            call = f"f{i}({operands}, out={nm(e.ins[inplace[i]])})"
        elif not e.params:
            call = f"f{i}({operands})"
        else:
            order = _positional_params(e.prim.impl, len(e.ins), e.params)
            if order is None:
                call = f"f{i}({operands}, **p{i})"
            else:  # params as positional constants: no keyword dict to unpack per call
                call = f"f{i}({', '.join([operands] + [const(e.params[k]) for k in order])})"
        if e.prim.multiple_results:
            lines.append(f"    {', '.join(nm(o) for o in e.outs)}, = {call}")
        else:
            lines.append(f"    {nm(e.outs[0])} = {call}")
    ret = ", ".join(nm(o) for o in g.outs)
    src = f"def plan({args}):\n" + "\n".join(lines) + f"\n    return ({ret}{',' if g.outs else ''})\n"
    exec(compile(src, "<ember.jit plan>", "exec"), glb)
    plan = glb["plan"]
    plan.source = src
    return plan


def eval_graph(g: Graph, args):
    """Evaluate a graph through bind (seen by active transforms and the eager tape)."""
    env = {}
    for v, a in zip(g.invars, args):
        env[id(v)] = a

    def read(x):
        if isinstance(x, Lit):
            v = x.val
            return Tensor._wrap(v) if isinstance(v, np.ndarray) else v
        return env[id(x)]
    for e in g.eqns:
        r = bind(e.prim, *[read(i) for i in e.ins], **e.params)
        rs = r if e.prim.multiple_results else [r]
        for o, v in zip(e.outs, rs):
            env[id(o)] = v
    return [read(o) for o in g.outs]


# ---- the user-facing wrapper -----------------------------------------------------------

def _signature(leaves, static_vals):
    sig = []
    for x in leaves:
        if type(x) is Tensor:
            d = x._data
            sig.append(("T", d.shape, d.dtype))
        elif isinstance(x, Tensor):
            sig.append(("T", tuple(x.shape), x.dtype.np))
        elif isinstance(x, np.ndarray):
            sig.append(("A", x.shape, x.dtype))
        else:
            sig.append(("S", type(x), x))
    return tuple(sig), static_vals


def _describe_change(old, new, arg_names, static_name=str):
    """What differs between two signatures, naming the arguments (``arg_names``: one name
    per leaf; ``static_name``: a static argument's position or keyword -> its name)."""
    (osig, ostat), (nsig, nstat) = old, new
    msgs = []
    if len(osig) != len(nsig):
        msgs.append(f"the argument structure changed ({len(osig)} -> {len(nsig)} leaves)")
    for i, (a, b) in enumerate(zip(osig, nsig)):
        if a != b:
            name = arg_names[i] if i < len(arg_names) else f"leaf {i}"
            fa = f"{a[2].name}{list(a[1])}" if a[0] != "S" else repr(a[2])
            fb = f"{b[2].name}{list(b[1])}" if b[0] != "S" else repr(b[2])
            msgs.append(f"{name}: {fa} -> {fb}")
    od, nd = dict(ostat), dict(nstat)
    for k in sorted(set(od) | set(nd), key=str):
        if od.get(k, _UNSET) != nd.get(k, _UNSET):
            fa = repr(od[k]) if k in od else "(not given)"
            fb = repr(nd[k]) if k in nd else "(not given)"
            msgs.append(f"static {static_name(k)}: {fa} -> {fb}")
    return "; ".join(msgs) or "a new signature"


_UNSET = object()


def _sig_distance(a, b):
    (asig, astat), (bsig, bstat) = a, b
    if len(asig) != len(bsig):
        return (1 << 20) + (astat != bstat)
    return sum(x != y for x, y in zip(asig, bsig)) + (astat != bstat)


def _make_guard(args, kwargs):
    """Straight-line Python that checks a call has exactly the structure, leaf types, shapes,
    dtypes and constant leaf values of (args, kwargs), and no tensor requiring grad, and then
    returns the arrays the plan takes, or None. The repeat call of a jitted function runs
    this instead of flattening, building a signature and looking it up; anything it doesn't
    cover (registered pytree types, namedtuples, ...) gets no guard."""
    glb, lines, arrays = {}, [], []

    def const(v):
        name = f"k{len(glb)}"
        glb[name] = v
        return name

    def walk(expr, x, depth):
        t = type(x)
        v = f"a{depth}_{len(lines)}"
        lines.append(f"    {v} = {expr}")
        if isinstance(x, Tensor):
            if isinstance(x, Tracer):
                return False
            d = x._data
            lines.append(f"    if {v}.__class__ is not {const(t)} or {v}.requires_grad: "
                         f"return None")
            lines.append(f"    {v} = {v}._data")
            lines.append(f"    if {v}.shape != {const(d.shape)} or {v}.dtype != "
                         f"{const(d.dtype)}: return None")
            arrays.append(v)
            return True
        if t is np.ndarray:
            lines.append(f"    if {v}.__class__ is not {const(t)} or {v}.shape != "
                         f"{const(x.shape)} or {v}.dtype != {const(x.dtype)}: return None")
            arrays.append(v)
            return True
        if t is tuple or t is list or t is dict:
            lines.append(f"    if {v}.__class__ is not {const(t)} or len({v}) != {len(x)}: "
                         f"return None")
            if t is dict:
                keys = tree_flatten(x)[1].aux  # pytree order
                return all(walk(f"{v}[{const(k)}]", x[k], depth + 1) for k in keys)
            return all(walk(f"{v}[{i}]", c, depth + 1) for i, c in enumerate(x))
        if t in (int, float, bool, str, type(None)):
            lines.append(f"    if {v}.__class__ is not {const(t)} or {v} != {const(x)}: "
                         f"return None")
            return True
        return False  # another pytree node or leaf kind: no guard
    if not walk("args", tuple(args), 0) or not walk("kwargs", dict(kwargs), 0):
        return None
    src = ("def guard(args, kwargs):\n    try:\n" +
           "\n".join("    " + ln for ln in lines) +
           "\n    except (KeyError, IndexError, TypeError):\n        return None\n" +
           f"    return [{', '.join(arrays)}]\n")
    exec(compile(src, "<ember.jit guard>", "exec"), glb)
    return glb["guard"]


def _positional_names(fun):
    try:
        ps = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def argument_leaf_names(fun, args, kwargs=None, positions=None):
    """A readable name per leaf of ``(args, kwargs)`` as passed to ``fun``: ``params['w']``,
    ``x``, ``args[3]`` (no parameter name), ``scale`` (a keyword). ``positions``: each
    arg's index in the call (when some were left out, e.g. static arguments)."""
    from ..tree import SequenceKey, keystr, tree_flatten_with_path
    names = _positional_names(fun)
    positions = list(range(len(args))) if positions is None else positions
    out = []
    for path, _ in tree_flatten_with_path((list(args), dict(kwargs or {})))[0]:
        if path[0] == SequenceKey(0):
            i = positions[path[1].idx]
            head = names[i] if i < len(names) else f"args[{i}]"
        else:
            head = str(path[1].key)
        out.append(head + keystr(path[2:]))
    return out


def _array_positions(leaves, kinds=(Tensor, np.ndarray)):
    """Which leaves are traced (tensors and NumPy arrays; eval_shape adds avals)."""
    return [i for i, x in enumerate(leaves) if isinstance(x, kinds)]


def _with_leaves(td, leaves, pos, ins):
    """The tree ``td`` of ``leaves`` with those at ``pos`` replaced by ``ins``."""
    vals = list(leaves)
    for p, v in zip(pos, ins):
        vals[p] = v
    return tree_unflatten(td, vals)


class Lowered:
    """``jit(f).lower(*args)``: the optimised graph traced for one argument signature."""

    def __init__(self, jitted, entry, key):
        self._jitted, self._key = jitted, key
        self.graph, self.plan = entry[0], entry[1]

    def as_text(self):
        return str(self.graph)

    def compile(self):
        return Compiled(self)


class Compiled:
    """``jit(f).lower(*args).compile()``: callable on arguments of that signature only."""

    def __init__(self, lowered):
        self._lowered = lowered

    def as_text(self):
        """The generated plan (Python source)."""
        return self._lowered.plan.source

    def __call__(self, *args, **kwargs):
        j = self._lowered._jitted
        dyn, dkw, _, _, key = j._key(args, kwargs)
        if key != self._lowered._key:
            why = _describe_change(self._lowered._key[1], key[1], j._leaf_names(dyn, dkw),
                                   j._static_name)
            raise TypeError(f"jit({j.__name__}): this compiled function was lowered for other "
                            f"arguments: {why}; call the jitted function (it retraces) or "
                            f"lower again")
        return j(*args, **kwargs)


class Jitted:
    def __init__(self, fun, static_argnums=(), static_argnames=(), debug=False,
                 donate_argnums=()):
        self.fun = fun
        self.donate_argnums = ((donate_argnums,) if isinstance(donate_argnums, int)
                               else tuple(donate_argnums))
        self.static_argnums = ((static_argnums,) if isinstance(static_argnums, int)
                               else tuple(static_argnums))
        self.static_argnames = ((static_argnames,) if isinstance(static_argnames, str)
                                else tuple(static_argnames))
        self.debug = debug
        self.cache = {}
        self.grad_plans = {}
        self.trace_count = 0
        self._fast = None  # (guard, plan, output builder, graph) of the last plain call
        self._guards = {}  # id(graph) -> that tuple, or False where no guard can be made
        self.__name__ = getattr(fun, "__name__", type(fun).__name__)
        self.__doc__ = getattr(fun, "__doc__", None)
        self.__wrapped__ = fun

    def _split(self, args, kwargs):
        if not self.static_argnums and not self.static_argnames:
            return list(args), kwargs, ()
        dyn = [a for i, a in enumerate(args) if i not in self.static_argnums]
        stat = tuple((i, args[i]) for i in self.static_argnums if i < len(args))
        dkw = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        skw = tuple(sorted((k, v) for k, v in kwargs.items() if k in self.static_argnames))
        try:
            hash((stat, skw))
        except TypeError as e:
            raise TypeError(f"jit({self.__name__}): static arguments must be hashable: {e}") \
                from None
        return dyn, dkw, stat + skw

    def _rebuild(self, args, dyn_vals, kwargs_dyn_vals, stat):
        a = list(args)
        it = iter(dyn_vals)
        for i in range(len(a)):
            if i not in self.static_argnums:
                a[i] = next(it)
        kw = dict(kwargs_dyn_vals)
        kw.update({k: v for k, v in stat if isinstance(k, str)})
        return a, kw

    def lower(self, *args, **kwargs):
        """Trace and optimise for these arguments (JAX's ahead-of-time API): a ``Lowered``
        with ``as_text()`` (the graph) and ``compile()``."""
        return Lowered(self, self._lookup(args, kwargs)[0], self._key(args, kwargs)[-1])

    def _key(self, args, kwargs):
        """(dynamic args, dynamic kwargs, static values, leaves, cache key) of a call."""
        dyn, dkw, stat = self._split(args, kwargs)
        leaves, skey = flatten_with_key((dyn, dkw))
        return dyn, dkw, stat, leaves, (skey, _signature(leaves, stat))

    def _lookup(self, args, kwargs):
        dyn, dkw, stat, leaves, key = self._key(args, kwargs)
        entries = self.cache.get(key)
        if entries is not None:
            for entry in entries:  # more than one when modules were traced in other modes
                if entry[4] is None or entry[4].modes_hold():
                    return entry, leaves
        td = tree_flatten((dyn, dkw))[1]
        return self._compile(args, kwargs, dyn, dkw, stat, leaves, td, key, entries), leaves

    def _compile(self, args, kwargs, dyn, dkw, stat, leaves, td, key, stale):
        sig = key[1]
        if self.trace_count and config.explain_retraces:
            if stale:
                why = stale[-1][4].describe_modes()
            else:  # against the cached signature closest to this call
                near = min((k[1] for k in self.cache), key=lambda s: _sig_distance(s, sig))
                why = _describe_change(near, sig, self._leaf_names(dyn, dkw),
                                       self._static_name)
            log.warning("jit(%s): retracing (trace #%d) because %s", self.__name__,
                        self.trace_count + 1, why)
        tensor_pos = _array_positions(leaves)

        def flat_fun(ins):
            d, k = _with_leaves(td, leaves, tensor_pos, ins)
            a, kw = self._rebuild(args, d, k, stat)
            return self.fun(*a, **kw)
        graph, out_def, fx = trace_to_graph(flat_fun, [leaves[i] for i in tensor_pos],
                                            self.__name__, effects=True,
                                            user_fun=self.fun)
        graph = optimize(graph, fx.live)
        donated = self._donated_leaves(args, tensor_pos)
        plan = compile_plan(graph, donated)
        self.trace_count += 1
        entry = (graph, plan, out_def, tensor_pos, fx.finish() or None)
        self.cache.setdefault(key, []).append(entry)
        return entry

    def _leaf_names(self, dyn, dkw):
        positions = [i for i in range(len(dyn) + len(self.static_argnums))
                     if i not in self.static_argnums][:len(dyn)]
        return argument_leaf_names(self.fun, dyn, dkw, positions)

    def _static_name(self, k):
        if isinstance(k, str):
            return k
        names = _positional_names(self.fun)
        return names[k] if k < len(names) else f"argument {k}"

    def _donated_leaves(self, args, tensor_pos):
        """Indices (among the graph inputs) of the leaves of ``donate_argnums`` arguments."""
        if not self.donate_argnums:
            return set()
        donated, k = set(), 0
        for i, a in enumerate(args):
            if i in self.static_argnums:
                continue
            n = len(tree_flatten(a)[0])
            if i in self.donate_argnums:
                donated.update(range(k, k + n))
            k += n
        return {j for j, p in enumerate(tensor_pos) if p in donated}

    def __call__(self, *args, **kwargs):
        if self.debug or config.disable_jit:
            with eager_keys():  # stateful draws use the keys the plan would: bit-identical
                return self.fun(*args, **kwargs)
        fast = self._fast
        if fast is not None and not transforms_active():
            arrays = fast[0](args, kwargs)
            if arrays is not None and not (fast[3] and _graph_consts_need_grad(fast[3])):
                wrap = Tensor._wrap
                return fast[2]([wrap(np.asarray(o)) for o in fast[1](*arrays)])
        (graph, plan, out_def, pos, fx), leaves = self._lookup(args, kwargs)
        ins = [leaves[i] for i in pos]
        if fx is not None:
            ins += fx.keys(f"jit({self.__name__})")
        if transforms_active():  # under another transform: it sees every primitive
            if fx is not None:
                fx.note_live()
            outs = eval_graph(graph, ins)
        elif _ag.is_grad_enabled() and (any([isinstance(x, Tensor) and x.requires_grad
                                             for x in ins]) or _graph_consts_need_grad(graph)):
            # the eager tape records one node whose backward is a compiled graph
            from .jit_grad import GradPlan, call_with_tape
            gp = self.grad_plans.get(id(graph))
            if gp is None:
                gp = self.grad_plans[id(graph)] = GradPlan(graph, fx.live if fx else ())
            outs = call_with_tape(gp, [as_value(x) for x in ins])
        else:
            wrap = Tensor._wrap
            build = unflattener(out_def)
            outs = [wrap(np.asarray(o)) for o in plan(
                *[x._data if isinstance(x, Tensor) else x for x in ins])]
            if fx is None:
                if not self.static_argnums and not self.static_argnames:
                    fast = self._guards.get(id(graph))
                    if fast is None:  # one guard per cache entry, made on its first plain call
                        guard = _make_guard(args, kwargs)
                        fast = self._guards[id(graph)] = False if guard is None else (
                            guard, plan, build, graph if _tensor_consts_of(graph) else None)
                    self._fast = fast or None
                return build(outs)
        if fx is not None:
            outs = fx.write_back(outs)
        return tree_unflatten(out_def, outs)


_tensor_consts: dict = {}


def _tensor_consts_of(g):
    consts = _tensor_consts.get(id(g))
    if consts is None:  # the graph's tensor constants, found once per graph
        consts = _tensor_consts[id(g)] = (g, [i.val for e in g.eqns for i in e.ins
                                              if isinstance(i, Lit) and
                                              isinstance(i.val, Tensor)])
    return consts[1]


def _graph_consts_need_grad(g):
    if not _ag.is_grad_enabled():
        return False
    return any(t.requires_grad for t in _tensor_consts_of(g))


def jit(fun=None, *, static_argnums=(), static_argnames=(), debug=False, donate_argnums=()):
    """Compile ``fun`` (``jax.jit`` semantics; also usable as a decorator).

    ``donate_argnums``: the buffers of these arguments may be reused for the results (as in
    JAX); don't use the donated tensors after the call, their contents are overwritten.

    >>> @ember.jit
    ... def affine(x, w, b):
    ...     return x @ w + b
    >>> affine(ember.ones(2, 3), ember.ones(3, 4), ember.zeros(4))
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
    >>> from functools import partial
    >>> @partial(ember.jit, static_argnums=1)
    ... def power(x, n):
    ...     for _ in range(n - 1):                  # a Python loop over a static value
    ...         x = x * x
    ...     return x
    >>> power(ember.tensor([2.]), 3)
    tensor([16.])
    """
    if fun is None:
        return lambda f: jit(f, static_argnums=static_argnums, static_argnames=static_argnames,
                             debug=debug, donate_argnums=donate_argnums)
    return Jitted(fun, static_argnums, static_argnames, debug, donate_argnums)


def make_graph(fun, static_argnums=()):
    """``make_graph(f)(*args)`` returns the optimised staged graph of ``f`` (printable).

    >>> print(ember.make_graph(lambda x: (x * 2).sin())(ember.ones(3)))
    { lambda a:float32[3] .
        b:float32[3] = mul a 2.0
        c:float32[3] = sin b
      in (c) }
    """
    j = fun if isinstance(fun, Jitted) else Jitted(fun, static_argnums)

    def mk(*args, **kwargs):
        return j.lower(*args, **kwargs).graph
    return mk


class ShapeDtypeStruct(Aval):
    """A shape and dtype standing for a tensor (``eval_shape``'s inputs and outputs).

    >>> ember.ShapeDtypeStruct((2, 3), ember.float32)
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ()

    def __init__(self, shape, dtype):
        super().__init__(tuple(int(d) for d in shape), dtype)

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


def eval_shape(fun, *args, **kwargs):
    """The shapes and dtypes of ``fun(*args, **kwargs)`` as a pytree of ``ShapeDtypeStruct``,
    found by tracing: nothing is computed and no state (random generator, module buffers) is
    touched. Arguments may be tensors, NumPy arrays or ``ShapeDtypeStruct``s.

    >>> x = ember.ShapeDtypeStruct((32, 784), ember.float32)
    >>> ember.eval_shape(ember.nn.Linear(784, 10), x)
    ShapeDtypeStruct(shape=(32, 10), dtype=float32)
    """
    leaves, td = tree_flatten((args, kwargs))
    pos = _array_positions(leaves, (Tensor, np.ndarray, Aval))
    avals = [_abstract(leaves[i]) for i in pos]  # a ShapeDtypeStruct is an Aval

    def flat_fun(ins):
        a, kw = _with_leaves(td, leaves, pos, ins)
        return fun(*a, **kw)
    name = getattr(fun, "__name__", type(fun).__name__)
    # (effects=True: draws are staged with a key input, buffer updates recorded, none applied)
    graph, out_def, fx = trace_to_graph(flat_fun, avals, f"eval_shape({name})", effects=True)
    outs = graph.outs[:len(graph.outs) - len(fx.updates)]
    return tree_unflatten(out_def, [ShapeDtypeStruct(o.aval.shape, o.aval.dtype) for o in outs])


def block_until_ready(x):
    """Return ``x``. NumPy computes synchronously, so every ember value is ready when an
    operation returns; this exists so that code written for JAX's asynchronous dispatch runs
    unchanged.

    >>> x = ember.ones(2)
    >>> ember.block_until_ready(x) is x
    True
    """
    return x
