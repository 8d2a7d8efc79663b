"""Structured control flow: ``cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan``.

Eagerly (no transform active) they run as plain Python, so the eager tape records what runs
and ``loss.backward()`` works through them. Under a transform (``jit``, ``vmap``, ``grad``,
``jvp``) each becomes one primitive that carries its sub-functions as staged graphs; values
the sub-functions capture from the enclosing transforms become extra operands. Their rules
transform the graphs:

* ``cond``: JVP and VJP are ``cond`` over the JVP/VJP graphs of the branches (the VJP
  recomputes the chosen branch); under ``vmap`` a batched predicate evaluates both branches
  and selects per example, as JAX does;
* ``scan``: JVP scans the JVP of the body; the VJP runs a forward scan that keeps each step's
  carry and a reverse scan of the body's VJP; ``vmap`` scans the vmapped body;
* ``while_loop``: JVP and ``vmap`` (a batched condition runs until every example is done,
  finished examples frozen); reverse mode is refused with a clear error (use ``scan`` or
  ``fori_loop`` with static bounds, which differentiate).
"""
from __future__ import annotations

import numpy as np

from .core.primitive import Aval, Primitive, bind, transforms_active
from .core.tensor import Tensor
from .ops.elementwise import as_jax_value, as_value, where, zeros_like_v
from .tree import tree_flatten, tree_map, tree_unflatten
from .transforms.effects import draw_keys, loop_keys
from .transforms.staging.codegen import compile_plan, eval_graph
from .transforms.staging.ir import Graph, Var
from .transforms.staging.capture import Closed, stage

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan"]


def _run(closed, args):
    """Evaluate a staged graph through bind (visible to transforms and the tape)."""
    return eval_graph(closed.graph, list(args))


def _eager():
    return not transforms_active()


def _aval(x):
    return Aval(tuple(x.shape), x.dtype)


def _zeros(aval):
    from .ops.creation_ops import zeros
    return zeros(aval.shape, dtype=aval.dtype)


def _is_float(x):
    return x.dtype.is_floating_point


# ---- cond / switch ---------------------------------------------------------------------

def _cond_impl(index, *args, branches):
    i = int(np.clip(int(index), 0, len(branches) - 1))
    return [np.asanyarray(r) for r in branches[i].plan(*args)]


def _cond_shape(index, *args, branches):
    return branches[0].out_avals


def _cond_jvp(primals, tangents, out, branches):
    index, args = primals[0], list(primals[1:])
    ts = [t if t is not None else zeros_like_v(a) for a, t in zip(args, tangents[1:])]
    n = len(args)
    from .transforms.jvp import jvp

    def mk(br):
        def f(*z):
            p, t = z[:n], z[n:]
            o, to = jvp(lambda *a: _run(br, a), tuple(p), tuple(t))
            return list(o) + list(to)
        return stage(f, args + ts, "cond_jvp")
    new = _with_consts([mk(br) for br in branches])
    res = bind(cond_p, index, *args, *ts, *new[1], branches=new[0])
    return res[len(res) // 2:]


def _with_consts(closed_list):
    """Branches may capture different values: give every branch every capture, in one order."""
    consts, order = [], {}
    for c in closed_list:
        for v in c.consts:
            if id(v) not in order:
                order[id(v)] = len(consts)
                consts.append(v)
    fixed = []
    for c in closed_list:
        n_in = len(c.graph.invars) - len(c.consts)
        ins = c.graph.invars[:n_in]
        by_id = {id(v): var for v, var in zip(c.consts, c.graph.invars[n_in:])}
        extra = [by_id.get(id(v)) or Var(_aval(v)) for v in consts]
        g = Graph(ins + extra, c.graph.eqns, c.graph.outs)
        cc = Closed.__new__(Closed)
        cc.graph, cc.consts, cc.out_def, cc.out_avals = g, consts, c.out_def, c.out_avals
        cc.plan = compile_plan(g)
        fixed.append(cc)
    return tuple(fixed), consts


def _cts(ct):
    """A multi-output primitive with a single output is handed a bare cotangent."""
    return ct if isinstance(ct, (tuple, list)) else (ct,)


def _cond_vjp(ct, out, index, *args, branches):
    ct = _cts(ct)
    cts = [c if c is not None else _zeros(a) for c, a in zip(ct, branches[0].out_avals)]
    from .transforms.reverse import vjp
    n = len(args)

    def mk(br):
        def f(*z):
            a, c = z[:n], z[n:]
            _, pull = vjp(lambda *x: _run(br, x), *a)
            g = pull(list(c))
            return [gi if gi is not None else zeros_like_v(ai) for gi, ai in zip(g, a)]
        return stage(f, list(args) + cts, "cond_vjp")
    new, consts = _with_consts([mk(br) for br in branches])
    res = bind(cond_p, index, *args, *cts, *consts, branches=new)
    return (None,) + tuple(r if _is_float(a) else None for r, a in zip(res, args))


def _cond_batch(args, dims, branches):
    from .transforms.batching import vmap
    index, rest = args[0], args[1:]
    rdims = dims[1:]
    if dims[0] is not None:  # batched predicate: both branches, then select per example
        outs = [vmap(lambda *a, br=br: _run(br, a), in_axes=tuple(rdims),
                     axis_size=index.shape[dims[0]])(*rest) for br in branches]
        from .ops.elementwise import moveaxis_to_front
        idx = moveaxis_to_front(index, dims[0])
        res = []
        for k in range(len(outs[0])):
            r = outs[-1][k]
            for i in range(len(outs) - 2, -1, -1):
                o = outs[i][k]
                sel = (idx <= i).reshape(tuple(idx.shape) + (1,) * (o.ndim - 1))
                r = where(sel, o, r)
            res.append(r)
        return res, [0] * len(res)
    size = next(a.shape[d] for a, d in zip(rest, rdims) if d is not None)
    new, consts = _with_consts([
        stage(lambda *a, br=br: vmap(lambda *x: _run(br, x), in_axes=tuple(rdims),
                                      axis_size=size)(*a), list(rest), "cond_vmap")
        for br in branches])
    return bind(cond_p, index, *rest, *consts, branches=new), [0] * len(new[0].out_avals)


cond_p = Primitive("cond", _cond_impl, shape=_cond_shape, multiple_results=True,
                   jvp=_cond_jvp, vjp=_cond_vjp, batch=_cond_batch)


def switch(index, branches, *operands):
    """``branches[index](*operands)`` (index clamped to the valid range).

    >>> branches = [lambda x: x + 1, lambda x: x * 10, lambda x: -x]
    >>> ember.switch(1, branches, ember.tensor([2.]))
    tensor([20.])
    >>> pick = ember.jit(lambda i, x: ember.switch(i, branches, x))
    >>> pick(ember.tensor(5), ember.tensor([2.]))            # the index is clamped to 2
    tensor([-2.])
    """
    if _eager():
        i = int(np.clip(int(as_value(index).item()) if isinstance(index, Tensor) else int(index),
                        0, len(branches) - 1))
        return branches[i](*operands)
    leaves, in_def = tree_flatten(operands)
    leaves = [as_value(x) for x in leaves]
    closed = [stage(lambda *a, f=f: f(*tree_unflatten(in_def, list(a))), leaves,
                     f"cond({getattr(f, '__name__', 'branch')})") for f in branches]
    sig = [(o.shape, o.dtype) for o in closed[0].out_avals]
    for k, c in enumerate(closed[1:], 1):
        if c.out_def != closed[0].out_def or [(o.shape, o.dtype) for o in c.out_avals] != sig:
            raise TypeError(f"cond: branch {k} returns {c.out_def} with "
                            f"{[(o.shape, o.dtype.name) for o in c.out_avals]}, but branch 0 "
                            f"returns {closed[0].out_def} with "
                            f"{[(s, d.name) for s, d in sig]}; branches must return the same "
                            f"structure, shapes and dtypes")
    new, consts = _with_consts(closed)
    idx = as_value(index)
    from .ops.elementwise import cast
    from .core import dtypes as _dt
    idx = cast(idx, _dt.int32)
    out = bind(cond_p, idx, *leaves, *consts, branches=new)
    return tree_unflatten(closed[0].out_def, out)


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)`` (``jax.lax.cond``).
    Both branches must return the same structure, shapes and dtypes.

    >>> f = ember.jit(lambda x: ember.cond(x.sum() > 0, lambda v: v * 2, lambda v: v - 1, x))
    >>> f(ember.tensor([1., 2.])), f(ember.tensor([-1., -2.]))
    (tensor([2., 4.]), tensor([-2., -3.]))
    """
    if _eager():
        p = pred.item() if isinstance(pred, Tensor) else pred
        return true_fun(*operands) if p else false_fun(*operands)
    p = as_value(pred)
    if p.ndim != 0:
        raise TypeError(f"cond: the predicate must be a scalar, got shape {tuple(p.shape)}; "
                        f"use ember.where for elementwise selection")
    from .ops.elementwise import cast
    from .core import dtypes as _dt
    return switch(cast(p != 0, _dt.int32), [false_fun, true_fun], *operands)


# ---- scan --------------------------------------------------------------------------------
# operands: consts..., carry..., xs..., captured...; the body graph takes
# (consts..., carry..., x slices..., captured...) and returns (carry..., y...)

def _scan_parts(args, body, n_consts, n_carry):
    n_cap = len(body.consts)
    end = len(args) - n_cap
    return (list(args[:n_consts]), list(args[n_consts:n_consts + n_carry]),
            list(args[n_consts + n_carry:end]), list(args[end:]))


def _scan_impl(*args, body, n_consts, n_carry, length, reverse):
    consts, carry, xs, cap = _scan_parts(args, body, n_consts, n_carry)
    ys = []
    steps = range(length - 1, -1, -1) if reverse else range(length)
    for i in steps:
        out = body.plan(*consts, *carry, *[x[i] for x in xs], *cap)
        carry = [np.asanyarray(o) for o in out[:n_carry]]
        ys.append([np.asanyarray(o) for o in out[n_carry:]])
    if reverse:
        ys.reverse()
    n_y = len(body.out_avals) - n_carry
    stacked = [np.stack([y[k] for y in ys]) if ys else
               np.zeros((0,) + tuple(body.out_avals[n_carry + k].shape),
                        body.out_avals[n_carry + k].dtype.np) for k in range(n_y)]
    return carry + stacked


def _scan_shape(*args, body, n_consts, n_carry, length, reverse):
    av = body.out_avals
    return list(av[:n_carry]) + [Aval((length,) + tuple(a.shape), a.dtype)
                                 for a in av[n_carry:]]


def _slice0(x):
    return Aval(tuple(x.shape)[1:], x.dtype)


def _body_fn(body, n_consts):
    """The body as a function of (consts + captured, carry, x): captured values join the
    constants, so derived scans need no special case for them."""
    def call(c, ca, x):
        c = list(c)
        return _run(body, c[:n_consts] + list(ca) + list(x) + c[n_consts:])
    return call


def _scan_bind(new, consts, carry, xs, length, reverse):
    return bind(scan_p, *consts, *carry, *xs, *new.consts, body=new, n_consts=len(consts),
                n_carry=len(carry), length=length, reverse=reverse)


def _scan_jvp(primals, tangents, out, body, n_consts, n_carry, length, reverse):
    from .transforms.jvp import jvp
    ts = [t if t is not None else zeros_like_v(p) for p, t in zip(primals, tangents)]
    c, ca, x, cap = _scan_parts(primals, body, n_consts, n_carry)
    tc, tca, tx, tcap = _scan_parts(ts, body, n_consts, n_carry)
    c, tc = c + cap, tc + tcap
    call = _body_fn(body, n_consts)
    nc, nca, nx = len(c), len(ca), len(x)

    def f(*z):
        c_, tc_ = z[:nc], z[nc:2 * nc]
        ca_, tca_ = z[2 * nc:2 * nc + nca], z[2 * nc + nca:2 * nc + 2 * nca]
        x_, tx_ = z[2 * nc + 2 * nca:2 * nc + 2 * nca + nx], z[2 * nc + 2 * nca + nx:]
        o, to = jvp(lambda *a: call(a[:nc], a[nc:nc + nca], a[nc + nca:]),
                    tuple(c_) + tuple(ca_) + tuple(x_), tuple(tc_) + tuple(tca_) + tuple(tx_))
        return list(o[:n_carry]) + list(to[:n_carry]) + list(o[n_carry:]) + list(to[n_carry:])
    new = stage(f, c + tc + ca + tca + [_slice0(a) for a in x + tx], "scan_jvp")
    res = _scan_bind(new, c + tc, ca + tca, x + tx, length, reverse)
    n_y = (len(res) - 2 * nca) // 2
    return res[nca:2 * nca] + res[2 * nca + n_y:]


def _scan_vjp(ct, out, *args, body, n_consts, n_carry, length, reverse):
    ct = _cts(ct)
    from .transforms.reverse import vjp
    c, ca, x, cap = _scan_parts(args, body, n_consts, n_carry)
    c = c + cap
    call = _body_fn(body, n_consts)
    av = _scan_shape(*args, body=body, n_consts=n_consts, n_carry=n_carry, length=length,
                     reverse=reverse)
    cts = [g if g is not None else _zeros(a) for g, a in zip(ct, av)]
    ct_carry, ct_ys = cts[:n_carry], cts[n_carry:]
    nc, nca, nx = len(c), len(ca), len(x)

    # 1. the forward scan again, also emitting the carry that enters each step
    def fwd(*z):
        o = call(z[:nc], z[nc:nc + nca], z[nc + nca:])
        return list(o[:n_carry]) + list(z[nc:nc + nca])
    fw = stage(fwd, c + ca + [_slice0(a) for a in x], "scan_fwd")
    carries_in = _scan_bind(fw, c, ca, x, length, reverse)[nca:]

    # 2. a reverse scan of the body's VJP; the constants' cotangents accumulate in the carry
    def bwd(*z):
        c_ = z[:nc]
        g_c, g_k = z[nc:nc + nca], z[nc + nca:nc + nca + nc]
        rest = z[nc + nca + nc:]
        ca_i, x_i, gy = rest[:nca], rest[nca:nca + nx], rest[nca + nx:]
        _, pull = vjp(lambda *a: call(a[:nc], a[nc:nc + nca], a[nc + nca:]),
                      *c_, *ca_i, *x_i)
        g = pull(list(g_c) + list(gy))
        g = [gi if gi is not None else zeros_like_v(ai)
             for gi, ai in zip(g, list(c_) + list(ca_i) + list(x_i))]
        return list(g[nc:nc + nca]) + [a + b for a, b in zip(g_k, g[:nc])] + list(g[nc + nca:])
    zero_k = [zeros_like_v(a) for a in c]
    seq = carries_in + x + ct_ys
    bw = stage(bwd, c + ct_carry + zero_k + [_slice0(a) for a in seq], "scan_vjp")
    res = _scan_bind(bw, c, ct_carry + zero_k, seq, length, not reverse)
    g_init, g_consts, g_xs = res[:nca], res[nca:nca + nc], res[nca + nc:]
    n0 = n_consts
    grads = list(g_consts[:n0]) + list(g_init) + list(g_xs) + list(g_consts[n0:])
    return tuple(g if _is_float(a) else None for g, a in zip(grads, args))


def _scan_batch(args, dims, body, n_consts, n_carry, length, reverse):
    from .transforms.batching import vmap
    from .ops.elementwise import moveaxis_to_front
    from .ops.shape import movedim
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    c, ca, x, cap = _scan_parts(args, body, n_consts, n_carry)
    dc, dca, dx, dcap = _scan_parts(dims, body, n_consts, n_carry)
    c, dc = c + cap, dc + dcap
    call = _body_fn(body, n_consts)
    # every carry becomes batched at 0; batched xs keep the scanned axis first, batch second
    ca = [moveaxis_to_front(a, d) if d is not None else
          a.reshape((1,) + tuple(a.shape)).expand((size,) + tuple(a.shape))
          for a, d in zip(ca, dca)]
    xs, dxs = [], []
    for a, d in zip(x, dx):
        xs.append(a if d is None or d == 1 else movedim(a, d, 1))
        dxs.append(None if d is None else 0)
    nc, nca = len(c), len(ca)
    in_axes = tuple(dc) + (0,) * nca + tuple(dxs)
    nb = stage(lambda *z: vmap(lambda *a: call(a[:nc], a[nc:nc + nca], a[nc + nca:]),
                                in_axes=in_axes, axis_size=size)(*z),
                c + ca + [_slice0(a) for a in xs], "scan_vmap")
    res = _scan_bind(nb, c, ca, xs, length, reverse)
    return res, [0] * n_carry + [1] * (len(res) - n_carry)


scan_p = Primitive("scan", _scan_impl, shape=_scan_shape, multiple_results=True,
                   jvp=_scan_jvp, vjp=_scan_vjp, batch=_scan_batch)


def scan(f, init, xs=None, length=None, reverse=False):
    """``jax.lax.scan``: ``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns
    the final carry and the stacked ys.

    >>> def cumulative(carry, x):
    ...     carry = carry + x
    ...     return carry, carry
    >>> ember.scan(cumulative, ember.tensor(0.), ember.tensor([1., 2., 3.]))
    (tensor(6.), tensor([1., 3., 6.]))
    """
    x_leaves, x_def = tree_flatten(xs)
    x_leaves = [as_value(a) for a in x_leaves]
    lengths = {a.shape[0] for a in x_leaves if a.ndim}
    if any(a.ndim == 0 for a in x_leaves):
        raise ValueError("scan: every leaf of xs needs a leading axis to scan over")
    if length is None:
        if not lengths:
            raise ValueError("scan: give xs or length")
        length = lengths.pop()
    if lengths and lengths != {length}:
        raise ValueError(f"scan: xs leaves have leading sizes {sorted(lengths | {length})}; "
                         f"they must all equal the scan length {length}")
    if _eager():
        carry, ys = init, []
        steps = range(length - 1, -1, -1) if reverse else range(length)
        with loop_keys(length) as keys:  # a debug run: the staged scan's keys
            for i in steps:
                keys.at(i)
                x = tree_unflatten(x_def, [a[i] for a in x_leaves])
                carry, y = f(carry, x)
                ys.append(y)
        if reverse:
            ys.reverse()
        if not ys:
            return carry, None
        from .ops.indexing import stack
        y_leaves = [tree_flatten(y)[0] for y in ys]
        y_def = tree_flatten(ys[0])[1]
        return carry, tree_unflatten(y_def, [stack([yl[k] for yl in y_leaves])
                                             for k in range(len(y_leaves[0]))])
    c_leaves, c_def = tree_flatten(init)
    c_leaves = [as_value(a) for a in c_leaves]
    n_c = len(c_leaves)
    y_def_box = []

    def body(*z):
        carry = tree_unflatten(c_def, list(z[:n_c]))
        x = tree_unflatten(x_def, list(z[n_c:]))
        new_c, y = f(carry, x)
        nl, nd = tree_flatten(new_c)
        if nd != c_def:
            raise TypeError(f"scan: the body returned a carry of structure {nd}, but the "
                            f"initial carry has structure {c_def}")
        yl, yd = tree_flatten(y)
        y_def_box.append(yd)
        return list(nl) + list(yl)
    closed = stage(body, c_leaves + [_slice0(a) for a in x_leaves], "scan")
    for a, o in zip(c_leaves, closed.out_avals[:n_c]):
        if tuple(a.shape) != tuple(o.shape) or a.dtype != o.dtype:
            raise TypeError(f"scan: the body changes the carry from {tuple(a.shape)} "
                            f"{a.dtype} to {tuple(o.shape)} {o.dtype}; the carry's shapes and "
                            f"dtypes must stay fixed")
    keys = []
    if closed.key_gens:  # one key per step and generator, sliced like xs
        op = f"scan ({', '.join(closed.key_ops)} inside)"
        keys = [draw_keys(g, op, (length,)) for g in closed.key_gens]
    res = bind(scan_p, *c_leaves, *x_leaves, *keys, *closed.consts, body=closed, n_consts=0,
               n_carry=n_c, length=length, reverse=bool(reverse))
    return tree_unflatten(c_def, res[:n_c]), tree_unflatten(y_def_box[-1], res[n_c:])


# ---- while_loop / fori_loop ------------------------------------------------------------------

def _while_impl(*args, cond_g, body_g, n_carry):
    carry = list(args[:n_carry])
    cc, bc = args[n_carry:n_carry + len(cond_g.consts)], args[n_carry + len(cond_g.consts):]
    while bool(cond_g.plan(*carry, *cc)[0]):
        carry = [np.asanyarray(o) for o in body_g.plan(*carry, *bc)]
    return carry


def _while_shape(*args, cond_g, body_g, n_carry):
    return [_aval(a) for a in args[:n_carry]]


def _while_jvp(primals, tangents, out, cond_g, body_g, n_carry):
    from .transforms.jvp import jvp
    carry = list(primals[:n_carry])
    nc_c = len(cond_g.consts)
    cc, bc = list(primals[n_carry:n_carry + nc_c]), list(primals[n_carry + nc_c:])
    tb = [t if t is not None else zeros_like_v(p)
          for p, t in zip(bc, tangents[n_carry + nc_c:])]
    tcarry = [t if t is not None else zeros_like_v(p) for p, t in zip(carry, tangents)]
    n = len(carry)
    # the staged graphs take the carry only; the loop's constants (and their tangents) are
    # closure values, so they become the graphs' captured consts that the impl passes on
    new_cond = stage(lambda *z: _run(cond_g, list(z[:n]) + cc), carry + tcarry,
                     "while_cond_jvp")

    def body(*z):
        p, t = z[:n], z[n:2 * n]
        o, to = jvp(lambda *a: _run(body_g, a), tuple(p) + tuple(bc), tuple(t) + tuple(tb))
        return list(o) + list(to)
    new_body = stage(body, carry + tcarry, "while_body_jvp")
    res = bind(while_p, *carry, *tcarry, *new_cond.consts, *new_body.consts,
               cond_g=new_cond, body_g=new_body, n_carry=2 * n)
    return res[n:]


def _while_vjp(ct, out, *args, cond_g, body_g, n_carry):
    raise RuntimeError("while_loop: reverse-mode differentiation (grad/vjp/backward) of a loop "
                       "whose trip count depends on traced values is not supported. Use "
                       "ember.fori_loop with Python-int bounds or ember.scan, which "
                       "differentiate.")


def _while_batch(args, dims, cond_g, body_g, n_carry):
    from .transforms.batching import vmap
    from .ops.elementwise import moveaxis_to_front
    from .ops.reduce import any as _any
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    carry = [moveaxis_to_front(a, d) if d is not None else
             a.reshape((1,) + tuple(a.shape)).expand((size,) + tuple(a.shape))
             for a, d in zip(args[:n_carry], dims[:n_carry])]
    nc_c = len(cond_g.consts)
    cc, bc = list(args[n_carry:n_carry + nc_c]), list(args[n_carry + nc_c:])
    dcc, dbc = dims[n_carry:n_carry + nc_c], dims[n_carry + nc_c:]
    n = len(carry)

    def preds(z, consts):
        return vmap(lambda *a: _run(cond_g, a)[0], in_axes=(0,) * n + tuple(dcc),
                    axis_size=size)(*z, *consts)
    # the staged graphs take the carry only; the loop's constants are closure values, so
    # they become the graphs' captured consts that the impl passes on
    new_cond = stage(lambda *z: _any(preds(z, cc)), carry, "while_cond_vmap")

    def body(*cur):
        p = preds(cur, cc)
        nxt = vmap(lambda *a: _run(body_g, a), in_axes=(0,) * n + tuple(dbc),
                   axis_size=size)(*cur, *bc)
        return [where(p.reshape((size,) + (1,) * (a.ndim - 1)), b, a)
                for a, b in zip(cur, nxt)]
    new_body = stage(body, carry, "while_body_vmap")
    res = bind(while_p, *carry, *new_cond.consts, *new_body.consts, cond_g=new_cond,
               body_g=new_body, n_carry=n)
    return res, [0] * n


while_p = Primitive("while_loop", _while_impl, shape=_while_shape, multiple_results=True,
                    jvp=_while_jvp, vjp=_while_vjp, batch=_while_batch)


def while_loop(cond_fun, body_fun, init_val):
    """``jax.lax.while_loop``: repeat ``val = body_fun(val)`` while ``cond_fun(val)``.
    Forward-mode differentiable and batchable; reverse mode raises (see fori_loop/scan).

    >>> ember.while_loop(lambda v: v < 100, lambda v: v * 2, ember.tensor(3))
    tensor(192)
    """
    if _eager():
        val = tree_map(as_jax_value, init_val)  # Python numbers come back as arrays, as JAX's
        while bool(as_value(cond_fun(val)).item()):
            val = body_fun(val)
        return val
    leaves, td = tree_flatten(init_val)
    leaves = [as_value(a) for a in leaves]
    cg = stage(lambda *z: [cond_fun(tree_unflatten(td, list(z)))], leaves, "while_cond")
    if len(cg.out_avals) != 1 or cg.out_avals[0].shape != () or \
            not cg.out_avals[0].dtype.is_bool:
        raise TypeError(f"while_loop: cond_fun must return a scalar bool, got "
                        f"{[(a.shape, a.dtype.name) for a in cg.out_avals]}")
    bg = stage(lambda *z: body_fun(tree_unflatten(td, list(z))), leaves, "while_body")
    if bg.out_def != td or [(_aval(a).shape, _aval(a).dtype) for a in leaves] != \
            [(o.shape, o.dtype) for o in bg.out_avals]:
        raise TypeError(f"while_loop: body_fun must return the structure, shapes and dtypes "
                        f"of init_val ({[(tuple(a.shape), a.dtype.name) for a in leaves]}), got "
                        f"{[(o.shape, o.dtype.name) for o in bg.out_avals]}")
    res = bind(while_p, *leaves, *cg.consts, *bg.consts, cond_g=cg, body_g=bg,
               n_carry=len(leaves))
    return tree_unflatten(td, res)


def fori_loop(lower, upper, body_fun, init_val):
    """``jax.lax.fori_loop``: ``val = body_fun(i, val)`` for i in [lower, upper). With Python
    int bounds it is a ``scan`` (differentiable); with traced bounds a ``while_loop``.

    >>> ember.fori_loop(0, 5, lambda i, total: total + i, ember.tensor(0))
    tensor(10)
    """
    concrete = isinstance(lower, (int, np.integer)) and isinstance(upper, (int, np.integer))
    if _eager() and concrete:
        # as JAX's: the carry's Python numbers / NumPy leaves are arrays, ``i`` a 0-d integer
        # tensor (int32 unless 64-bit mode), so the body sees what it would see under jit
        from .core import dtypes as _dt
        val = tree_map(as_jax_value, init_val)
        idt = _dt.jax_int().np
        with loop_keys(max(int(upper) - int(lower), 0)) as keys:
            for k, i in enumerate(range(int(lower), int(upper))):
                keys.at(k)
                val = body_fun(Tensor._wrap(np.array(i, idt)), val)
        return val
    if concrete:
        from .ops.creation_ops import arange
        from .core import dtypes as _dt
        idx = arange(int(lower), int(upper), dtype=_dt.int32)
        if int(upper) <= int(lower):
            return init_val
        val, _ = scan(lambda v, i: (body_fun(i, v), None), init_val, idx)
        return val
    from .core import dtypes as _dt
    from .ops.elementwise import cast
    lo = cast(as_value(lower), _dt.int32)
    hi = cast(as_value(upper), _dt.int32)
    _, val = while_loop(lambda s: s[0] < hi, lambda s: (s[0] + 1, body_fun(s[0], s[1])),
                        (lo, init_val))
    return val


# ---- x.at[idx].apply(func): needs a loop when indices repeat -------------------------------

def _at_apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None):
    """``x.at[idx].apply(func)``: ``func`` (an elementwise function) applied to the entries
    at ``idx``, once per time an entry is indexed (``x.at[[0, 0]].apply(f)`` gives
    ``f(f(x[0]))`` there), as JAX's; out-of-bounds indices are dropped (``mode='clip'``
    clamps them). The result keeps ``x``'s dtype. Unlike JAX's, it is differentiable when
    the indices are concrete.

    >>> x = ember.numpy.arange(5.)
    >>> x.at[ember.numpy.array([0, 0, 2])].apply(lambda v: v * 2 + 1)
    tensor([3., 1., 5., 3., 4.])
    """
    from .core import dtypes as _dt
    from .core.primitive import Tracer, eager_context
    from .ops.creation_ops import zeros
    from .ops.indexing import _At, _mode_of, _SCATTER_MODES
    if not callable(func):
        raise TypeError(f"x.at[...].apply: func must be a function applied to the indexed "
                        f"entries, got {type(func).__name__}")
    _mode_of(mode, _SCATTER_MODES, "apply")  # checks the mode
    x = as_value(self._x)
    idx = self._idx
    parts = idx if isinstance(idx, tuple) else (idx,)

    def counts():  # how many times each entry is indexed (dropped indices: none)
        return _At(zeros(tuple(x.shape), dtype=_dt.int32), idx).add(1, mode=mode)

    def once(cur, cpos, i):
        at = _At(cur, idx)
        g = at.get(mode="clip")  # an index the update drops reads a clamped entry, unused
        new = func(g)
        if cpos is not None:  # entries indexed more than i times only
            new = where(cpos > i, new, g)
        return at.set(new, mode=mode)

    if not any(isinstance(p, Tracer) for p in parts):  # concrete: count them now
        with eager_context():
            cnt = counts()
            reps = int(cnt._data.max()) if cnt.numel() else 0
            cpos = _At(cnt, idx).get(mode="clip") if reps > 1 else None
        cur = x
        for i in range(reps):
            cur = once(cur, cpos if i else None, i)
        return cur
    cnt = counts()
    cpos = _At(cnt, idx).get(mode="clip")
    return fori_loop(0, cnt.max(), lambda i, cur: once(cur, cpos, i), x)


def _install_at_apply():
    from .ops.indexing import _At
    _At.apply = _at_apply


_install_at_apply()
