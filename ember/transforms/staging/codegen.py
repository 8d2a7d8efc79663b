"""Code generation: a Graph becomes straight-line Python that calls each primitive's kernel
(``compile_plan``), or is evaluated equation by equation through ``bind`` (``eval_graph``)."""
from __future__ import annotations

import inspect
import math

import numpy as np

from ...backend import pool
from ...core.primitive import bind
from ...core.tensor import Tensor
from ...ops.linalg import matmul_p
from .ir import Graph, Lit
from .passes import _inplace_targets, _is_elementwise_ufunc
from .pieces import find_runs, gather_chains


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


_DEL_MIN_BYTES = 1 << 16  # smaller intermediates stay until the plan returns (no del line)
# smaller results are made fresh, not written into a reused buffer: NumPy's allocation of a
# small array costs less than the out= call's layout check (linreg's step: 8 such lines)
_INPLACE_MIN_BYTES = 1 << 10


def _nbytes(aval):
    return aval.size * aval.dtype.itemsize


def _probe(x):
    """A stand-in of operand ``x`` for finding a ufunc's result dtype: a one-element array
    of its dtype and rank, or the literal itself (a Python scalar stays weak)."""
    if isinstance(x, Lit):
        v = x.val._data if isinstance(x.val, Tensor) else x.val
        if isinstance(v, np.ndarray) and v.ndim:
            return np.zeros((1,) * v.ndim, v.dtype)
        return v
    return np.zeros((1,) * len(x.aval.shape), x.aval.dtype.np)


def _pooled_out(e):
    """Whether equation ``e``'s result may be written into a pooled buffer (``out=``, see
    backend/pool.py): a ufunc or a product whose result is large and has the dtype NumPy
    would give it (checked on one-element stand-ins at compile time)."""
    o = e.outs[0].aval
    if not pool.config.enabled or _nbytes(o) < pool.MIN_BYTES or not o.shape:
        return False
    if not any(not isinstance(x, Lit) for x in e.ins):
        return False
    try:
        with np.errstate(all="ignore"):
            got = np.asarray(e.prim.impl(*[_probe(x) for x in e.ins]) if e.prim is not matmul_p
                             else np.matmul(*[_probe(x) for x in e.ins]))
    except Exception:  # (a kernel that wants more than stand-ins: no pooled result)
        return False
    return got.dtype == o.dtype.np and not got.dtype.hasobject


def _scalar_const(e, x, const):
    """The constant name of a scalar operand ``x`` of a NumPy ufunc equation ``e`` as a 0-d
    array, or None: NumPy converts a scalar operand anew at each call, which cost ~0.2 us (a
    NumPy scalar) to ~0.4 us (a Python float) of a ~0.8 us call on small arrays (linreg's
    step has three). A NumPy scalar keeps its dtype (a 0-d array takes part in type
    resolution as the scalar does); a Python int or float becomes the result's floating dtype
    when every other operand has that dtype (it would be converted to it: the same value).
    CPU plans only (another backend's ufuncs may not take a NumPy array beside theirs)."""
    if not isinstance(x, Lit) or not isinstance(e.prim.impl, np.ufunc) or len(e.outs) != 1:
        return None
    if isinstance(x.val, np.generic):
        return const(np.asarray(x.val))
    if type(x.val) not in (int, float):
        return None
    dt = e.outs[0].aval.dtype.np
    if dt.kind != "f" or any(not isinstance(y, Lit) and y.aval.dtype.np != dt for y in e.ins) \
            or all(isinstance(y, Lit) for y in e.ins):
        return None
    try:
        with np.errstate(over="ignore"):
            v = np.asarray(x.val, dt)
        if math.isfinite(x.val) and not np.isfinite(v):
            return None  # (the call's own conversion says what it says about the overflow)
    except OverflowError:
        return None
    return const(v)


def compile_plan(g: Graph, donated=(), backend=None, header=None):
    """Python source for ``g``, compiled: one line per equation calling the primitive's impl.
    ``backend``: the backend of the arrays the plan will run on, when not the CPU; the
    graph's NumPy constants are moved there once, here. ``header``: a function of the
    parameter list (``"v0, v1"``) giving the function's first lines in place of
    ``def plan(v0, v1):``."""
    names = {}
    glb = {"__name__": "ember.jit_plan"}  # (warnings filters see plans as ember's code)
    lines = []

    def const(v):
        k = f"c{len(glb)}"
        if backend is not None and type(v) is np.ndarray and v.ndim:
            v = backend.from_host(v)
        glb[k] = v
        return k

    last = {}  # a variable's name -> the last line that names it
    big = set()  # names of arrays worth freeing early

    def nm(v):
        if isinstance(v, Lit):  # a tensor constant is read at each call (updated in place)
            return f"{const(v.val)}._data" if isinstance(v.val, Tensor) else const(v.val)
        n = names.get(id(v))
        if n is None:
            n = names[id(v)] = f"v{len(names)}"
            if _nbytes(v.aval) >= _DEL_MIN_BYTES:
                big.add(n)
        last[n] = len(lines)
        return n
    args = ", ".join(nm(v) for v in g.invars)
    kinds = None
    if backend is None:
        g, kinds = gather_chains(g, _is_elementwise_ufunc)
    inplace = {i: t for i, t in _inplace_targets(g, donated).items()
               if _nbytes(g.eqns[i].outs[0].aval) >= _INPLACE_MIN_BYTES}
    # chains of elementwise equations over one large shape (an optimizer's update of a large
    # parameter): one line each, run piece by piece (pieces.py)
    runs = find_runs(g, inplace, _is_elementwise_ufunc, kinds) if backend is None else {}
    # a run's results read only inside it are piece-sized scratch, never whole arrays: no
    # later equation may take one of them as its dead ``out=`` buffer
    hidden = set()
    for r in runs.values():
        shown = {id(o) for o in r.outs + r.small_outs}
        hidden.update(i for i in (id(g.eqns[k].outs[0]) for k in r.span) if i not in shown)
    if hidden:
        inplace = {i: t for i, t in inplace.items() if isinstance(t, int) or id(t) not in hidden}
    skip = set()
    for i, e in enumerate(g.eqns):
        if i in skip:
            continue
        run = runs.get(i)
        if run is not None:
            skip.update(range(i, i + len(run.span)))
            outs = run.outs + run.small_outs
            call = f"{const(run)}({', '.join(nm(x) for x in run.ins)})"
            lines.append(f"    {', '.join(nm(o) for o in outs)}, = {call}" if outs else
                         f"    {call}")
            continue
        glb[f"f{i}"] = e.prim.impl
        glb[f"p{i}"] = e.params
        names_in = [(backend is None and _scalar_const(e, x, const)) or nm(x) for x in e.ins]
        operands = ", ".join(names_in)
        inline = e.prim.emit_inline  # a primitive's own plan expression (see Primitive)
        expr = None if inline is None or i in inplace else inline(e, names_in, const)
        pooled = backend is None and i not in inplace and not e.prim.multiple_results and (
            _is_elementwise_ufunc(e) if expr is None else e.prim is matmul_p) and \
            _pooled_out(e)
        if pooled:  # the result into a pooled buffer (a block reused once its arrays die,
            # no page faults anew each call; backend/pool.py) laid out as the kernel would
            # lay it out (the order of later sums over it, and so the bits, stay eager's): a
            # ufunc's result in its operands' memory order, a product's C-ordered
            o = e.outs[0].aval
            dt = o.dtype.np
            count = int(np.prod(o.shape))
            head = f"{const(tuple(o.shape))}, {const(dt)}, {count}, {count * dt.itemsize}"
            plain = expr if expr is not None else f"f{i}({operands})"
            if expr is not None:  # a product: C-ordered
                first = next(nm(x) for x in e.ins if not isinstance(x, Lit))
                call = f"{plain[:-1]}, out={const(pool._handout)}({head}) if " \
                       f"type({first}) is {const(np.ndarray)} else None)"
            else:
                full = list(dict.fromkeys(nm(x) for x in e.ins if not isinstance(x, Lit) and
                                          x.aval.shape == o.shape))
                first = next(nm(x) for x in e.ins if not isinstance(x, Lit))
                got = f"{const(pool.out_like)}({head}{''.join(', ' + v for v in full)})"
                if not full:
                    got = f"{got} if type({first}) is {const(np.ndarray)} else None"
                call = f"{plain[:-1]}, out={got})"  # (out=None: the ufunc makes it)
        elif expr is not None:  # a method or ufunc call in place of the kernel's wrapper
            call = expr
        elif i in inplace:  # an input's buffer, or a dead buffer, when the result has the
            # layout it would have had (C order: the buffer and every operand of the result's
            # shape C-ordered); another layout would change the order of later sums over it,
            # and with it the bits eager computes
            t = inplace[i]
            b = nm(e.ins[t]) if isinstance(t, int) else nm(t)
            full = dict.fromkeys(nm(x) for x in e.ins if not isinstance(x, Lit) and
                                 x.aval.shape == e.outs[0].aval.shape)
            cond = " and ".join(f"{v}.flags.c_contiguous" for v in dict.fromkeys([b, *full]))
            # (or one other memory order shared by all: a convolution's channel-major result)
            same = f"{const(pool.same_layout)}({', '.join(dict.fromkeys([b, *full]))})"
            call = f"f{i}({operands}, out={b}) if {cond} or {same} else f{i}({operands})"
        elif not e.params:
            call = f"f{i}({operands})"
        else:
            order = _positional_params(e.prim.impl, len(e.ins), e.params)
            if order is None:
                call = f"f{i}({operands}, **p{i})" if e.ins else f"f{i}(**p{i})"
            else:  # params as positional constants: no keyword dict to unpack per call
                pos = ([operands] if e.ins else []) + [const(e.params[k]) for k in order]
                call = f"f{i}({', '.join(pos)})"
        if e.prim.multiple_results and not e.outs:  # an effect with no results
            lines.append(f"    {call}")
        elif e.prim.multiple_results:
            lines.append(f"    {', '.join(nm(o) for o in e.outs)}, = {call}")
        else:
            lines.append(f"    {nm(e.outs[0])} = {call}")
    ret = ", ".join(nm(o) for o in g.outs)
    # each large variable is deleted after the line that names it last (its use, or its
    # definition when unused), so that an intermediate's memory is freed, or reused by the next
    # allocation, as soon as it is dead, as eager execution frees it; without this every
    # intermediate of the plan stayed alive until it returned
    dels = {}
    kept = {names[id(o)] for o in g.outs if not isinstance(o, Lit)}
    for n, k in last.items():
        if k < len(lines) and n in big and n not in kept:
            dels.setdefault(k, []).append(n)
    body = []
    for k, line in enumerate(lines):
        body.append(line)
        if k in dels:
            body.append(f"    del {', '.join(dels[k])}")
    src = (f"def plan({args}):\n" if header is None else header(args)) + "\n".join(body) + \
        f"\n    return ({ret}{',' if g.outs else ''})\n"
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

