"""Runs of elementwise equations over one large shape, run piece by piece in a jit plan.

An optimizer's update of a large parameter is a chain of elementwise ufuncs over arrays of
the parameter's shape (Adam: ~12 of them). Run one after another over whole arrays, each
pass streams all its operands through memory (text-lstm's 25000x100 embedding: 10 MB per
array), and each intermediate is a full array of its own. :func:`find_runs` finds such chains
in a graph: consecutive elementwise-ufunc equations whose non-scalar operands and results all
have one shape of at least ``MIN_SIZE`` entries (scalar equations among them, such as Adam's
bias corrections, run once before the loop). A :class:`Run` executes a chain ``PIECE``
entries at a time: every equation on entries ``s:e`` before the next piece, intermediates
that nothing after the chain reads in one piece-sized scratch array each, so a piece's
passes stay in cache; results read later go into full arrays (into the buffer the plan's
in-place analysis picked for them, as the straight-line plan would: a donated optimizer
state, a dead gradient).

With numba (backend/accel.py), a run of float32 arithmetic that NumPy rounds exactly (add,
subtract, multiply, divide, sqrt, negative, square, absolute: an SGD or Adam update) is one
call of a compiled interpreter instead (numba_kernels.ew_run): every step on a block of
2048 entries before the next block, no ufunc call per step and piece, and each independent
sub-chain (a parameter's update, when one chain updates two) over all entries before the
next. (Chains below MIN_SIZE stay straight-line calls: compiled, mnist-mlp's 0.8 MB
update made its step 5% slower.) NumPy's floating-point error handling: under
``np.errstate`` that raises (or calls or logs), the ufuncs run; otherwise the compiled run
emits no RuntimeWarning (as PyTorch and JAX do not).

Same bits: an elementwise ufunc computes each entry from the same entries of its operands
whatever slice it runs on (the pieces start at multiples of ``PIECE``, a multiple of every
SIMD width, so even the vector and tail loops cover the same entries), and every entry's
equations run in the graph's order. The pieces need C-contiguous NumPy arrays: with another
layout or array type the run's equations run whole, one after another.
"""
from __future__ import annotations

import numpy as np

from ...backend import accel, pool, threads
from ...core.tensor import Tensor
from .ir import Lit, Var

PIECE = 1 << 18  # entries per piece (1 MiB of float32), as the eager optimizers (optim/inplace.py)
MIN_SIZE = 1 << 19  # chains over fewer entries run whole, as straight-line calls
EW_SLOTS = 12  # arrays a compiled run may read and write (numba_kernels.EW_SLOTS)

# ufuncs whose float32 result NumPy rounds once, correctly (IEEE): a compiled loop repeating
# them gives NumPy's bits (numba_kernels.ew_run's operations, by name)
_EXACT = {np.add: "add", np.subtract: "sub", np.multiply: "mul", np.divide: "div",
          np.true_divide: "div", np.sqrt: "sqrt", np.negative: "neg", np.square: "square",
          np.absolute: "abs"}
_F32 = np.dtype(np.float32)


def _exact(e):
    """Whether ``e`` is float32 arithmetic the compiled run takes: one of _EXACT on float32
    operands (or Python numbers) into a float32 result."""
    if _EXACT.get(e.prim.impl) is None or e.outs[0].aval.dtype.np != _F32:
        return False
    for x in e.ins:
        if isinstance(x, Lit):
            v = _lit(x)
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) or
                    (np.ndim(v) == 0 and np.asarray(v).dtype == _F32)):
                return False
        elif x.aval.dtype.np != _F32:
            return False
    return True


def _scalar_operand(x):
    return x.aval.shape == () and (not isinstance(x, Lit) or np.ndim(_lit(x)) == 0)


def _lit(x):
    return x.val._data if isinstance(x.val, Tensor) else x.val


def _natural_dtype(e):
    """Whether NumPy's own result dtype for ``e`` (found on one-element stand-ins) is the
    equation's: then writing into a buffer of that dtype (``out=``) changes nothing."""
    probes = []
    for x in e.ins:
        if isinstance(x, Lit):
            probes.append(_lit(x))
        else:
            probes.append(np.zeros((1,) * len(x.aval.shape), x.aval.dtype.np))
    try:
        with np.errstate(all="ignore"):
            got = np.asarray(e.prim.impl(*probes))
    except Exception:  # (a kernel that wants more than stand-ins: not in a run)
        return False
    return got.dtype == e.outs[0].aval.dtype.np and not got.dtype.hasobject


def _kind(e, ufunc):
    """'big' (an elementwise ufunc over one large shape, scalars beside), 'small' (any pure
    one-result equation of scalars only, run once before the pieces), or None."""
    o = e.outs[0].aval if e.outs else None
    if o is not None and o.shape == () and not e.prim.multiple_results and \
            not e.prim.effectful:
        # (not only ufuncs: Adam's bias corrections are cast to the parameters' dtype, and
        # one such cast between two parameters' updates split text-lstm's embedding update
        # into three runs, with two 10 MB intermediates through memory: 3.65 -> 2.95 ms)
        return "small" if all(_scalar_operand(x) for x in e.ins) else None
    if not ufunc(e):
        return None
    if o.size < MIN_SIZE or o.dtype.np.hasobject:
        return None
    for x in e.ins:
        if not (_scalar_operand(x) or (isinstance(x, Var) and x.aval.shape == o.shape)):
            return None
    if not any(isinstance(x, Var) and x.aval.shape == o.shape for x in e.ins):
        return None
    return "big" if _natural_dtype(e) else None


def gather_chains(g, ufunc):
    """``g`` with each large elementwise equation that is the last reader of a large
    elementwise result of its shape moved up to right after the equation making it (and
    after those moved there before it), when all its operands are made by then, so that
    :func:`find_runs` takes them into one chain: an optimizer's update ``u`` and its
    application ``p + u``, which the graph has apart (every parameter's update first, then
    every application), run piece by piece together, and ``u`` is never a whole array
    (VGG-11's 392 MiB classifier weight: two of its seven passes over memory saved). The
    graph is pure, so moving an equation up past others that don't make its operands changes
    no value; the moved result lives longer by as much as the operand it reads last dies
    sooner. Returns the graph and its equations' kinds (see _kind), for find_runs."""
    eqns = g.eqns
    kinds = [_kind(e, ufunc) for e in eqns]
    if sum(k == "big" for k in kinds) < 2:
        return g, kinds
    made = {}  # Var -> the equation making it
    last_use = {}
    for k, e in enumerate(eqns):
        for o in e.outs:
            made[id(o)] = k
        for x in e.ins:
            if isinstance(x, Var):
                last_use[id(x)] = k
    attach, slot = {}, {}  # slot: the unmoved equation after which one is emitted
    for k, e in enumerate(eqns):
        slot[k] = k
        if kinds[k] != "big":
            continue
        defs = [made[id(x)] for x in e.ins if isinstance(x, Var) and id(x) in made]
        if not defs:
            continue
        s = max(slot[d] for d in defs)  # every operand is made by then (or in that group)
        if s >= k - 1 or kinds[s] != "big" or \
                eqns[s].outs[0].aval.shape != e.outs[0].aval.shape:
            continue
        if any(slot[made[id(x)]] == s and last_use[id(x)] == k
               for x in e.ins if isinstance(x, Var) and id(x) in made):
            attach.setdefault(s, []).append(k)
            slot[k] = s
    moved = {k for k, s in slot.items() if s != k}
    if not moved:
        return g, kinds
    order = []
    for k in range(len(eqns)):
        if k not in moved:
            order.append(k)
            order.extend(attach.get(k, ()))
    return type(g)(g.invars, [eqns[k] for k in order], g.outs), [kinds[k] for k in order]


def find_runs(g, inplace, ufunc, kinds=None):
    """{first equation's index: Run} for the chains of ``g`` worth running piece by piece
    (two or more large equations); ``inplace`` is the plan's in-place analysis (equation ->
    input position or dead buffer), ``ufunc(e)`` tells an elementwise-ufunc equation;
    ``kinds``: the equations' kinds when gather_chains found them already."""
    if kinds is None:
        kinds = [_kind(e, ufunc) for e in g.eqns]
    last_use = {}
    for k, e in enumerate(g.eqns):
        for x in e.ins:
            if isinstance(x, Var):
                last_use[id(x)] = k
    outs = {id(o) for o in g.outs if isinstance(o, Var)}
    runs = {}
    k, n = 0, len(g.eqns)
    while k < n:
        if kinds[k] != "big":
            k += 1
            continue
        shape = g.eqns[k].outs[0].aval.shape
        end, j = k + 1, k + 1  # end: one past the run's last large equation
        while j < n and (kinds[j] == "small" or (
                kinds[j] == "big" and g.eqns[j].outs[0].aval.shape == shape)):
            j += 1
            if kinds[j - 1] == "big":
                end = j
        idx = list(range(k, end))
        if sum(kinds[i] == "big" for i in idx) >= 2:
            runs[k] = Run(g, idx, kinds, inplace, last_use, outs, shape)
            k = end
        else:
            k += 1
    return runs


class Run:
    """Equations ``idx`` of a graph run as one step of a plan: ``run(*ins) -> outs``, where
    ``ins`` are the values the chain reads from before it and ``outs`` those read after it."""

    def __init__(self, g, idx, kinds, inplace, last_use, graph_outs, shape):
        self.shape = tuple(shape)
        self.size = int(np.prod(shape))
        self.span = idx
        eqns = [g.eqns[i] for i in idx]
        made = {id(e.outs[0]) for e in eqns}
        end = idx[-1]
        self.ins = []  # external Vars, in first-use order
        seen = set()
        for e in eqns:
            for x in e.ins:
                if isinstance(x, Var) and id(x) not in made and id(x) not in seen:
                    seen.add(id(x))
                    self.ins.append(x)
        self.small = [e for e, i in zip(eqns, idx) if kinds[i] == "small"]
        big = [(e, i) for e, i in zip(eqns, idx) if kinds[i] == "big"]
        kept = {id(e.outs[0]) for e, _ in big
                if id(e.outs[0]) in graph_outs or last_use.get(id(e.outs[0]), -1) > end}
        self.outs = [e.outs[0] for e, _ in big if id(e.outs[0]) in kept]
        # scalars made here and read after the chain (a bias correction shared by the next
        # parameter's update) are results too
        self.small_outs = [e.outs[0] for e in self.small
                           if id(e.outs[0]) in graph_outs or last_use.get(id(e.outs[0]), -1) > end]
        # where each large result goes: ("in", j) an external input's buffer, ("full", j)
        # the j-th full array made here, ("tmp", j) the j-th piece-sized scratch array
        slot = {id(x): ("in", j) for j, x in enumerate(self.ins)}
        self.n_full, self.n_tmp = 0, 0
        self.full_dtypes, self.tmp_dtypes = [], []
        self.steps = []
        for e, i in big:
            o = e.outs[0]
            t = inplace.get(i)
            target = e.ins[t] if isinstance(t, int) else t
            where = slot.get(id(target)) if target is not None else None
            if where is not None and where[0] == "tmp" and id(o) in kept:
                where = None  # a result read later needs a full array
            if where is not None and (
                    (where[0] == "tmp" and self.tmp_dtypes[where[1]] != o.aval.dtype.np) or
                    (where[0] == "full" and self.full_dtypes[where[1]] != o.aval.dtype.np) or
                    (where[0] == "in" and self.ins[where[1]].aval.dtype != o.aval.dtype)):
                where = None
            if where is None:
                if id(o) in kept:
                    where = ("full", self.n_full)
                    self.n_full += 1
                    self.full_dtypes.append(o.aval.dtype.np)
                else:
                    where = ("tmp", self.n_tmp)
                    self.n_tmp += 1
                    self.tmp_dtypes.append(o.aval.dtype.np)
            slot[id(o)] = where
            ops = []
            for x in e.ins:
                if isinstance(x, Lit):
                    ops.append(("lit", _lit(x)))
                elif x.aval.shape == ():
                    ops.append(("scalar", id(x)))
                else:
                    ops.append(slot[id(x)])
            self.steps.append((e.prim.impl, ops, where))
        self.out_slots = [slot[id(o)] for o in self.outs]
        self._eqns = [e for e, _ in big]
        self.in_shapes = [tuple(x.aval.shape) for x in self.ins]
        self._ew = self._ew_steps() if all(_exact(e) for e in self._eqns) else None
        self._ew_code = None  # (its int32 table for ew_run, made at the first compiled call)

    def _ew_steps(self):
        """The chain for numba_kernels.ew_run: its steps (op, dst, a, b) over array slots
        (("in", j) or ("full", j), numbered in self._ew_slots), scratch rows ("tmp", j) and
        scalars (("scalar", id) or ("lit", v), numbered in self._ew_scalars); None when it
        has more arrays than ew_run's slots."""
        slots, scalars, steps = {}, [], []
        for f, ops, where in self.steps:
            refs = []
            for ref in [where] + ops:
                if ref[0] in ("scalar", "lit"):
                    scalars.append(ref)
                    refs.append(("s", len(scalars) - 1))
                elif ref[0] == "tmp":
                    refs.append(ref)
                else:
                    refs.append(("a", slots.setdefault(ref, len(slots))))
            steps.append((_EXACT[f], *refs, *([None] * (4 - len(refs)))))
        if len(slots) > EW_SLOTS:
            return None
        self._ew_slots, self._ew_scalars = list(slots), scalars
        # independent sub-chains (each parameter's update), one after another: steps are
        # joined when they touch one array, or one reads a scratch row that the other wrote
        # last (a row reused later holds a new value: no link)
        root = list(range(len(steps)))

        def find(i):
            while root[i] != i:
                i = root[i]
            return i
        first, writer = {}, {}
        for i, (_, dst, *ops) in enumerate(steps):
            for ref in [dst] + ops:
                if ref is not None and ref[0] == "a":
                    root[find(i)] = find(first.setdefault(ref, i))
            for ref in ops:  # (read before the step writes)
                if ref is not None and ref[0] == "tmp" and ref in writer:
                    root[find(i)] = find(writer[ref])
            if dst[0] == "tmp":
                writer[dst] = i
        lead = {}
        for i in range(len(steps)):
            lead.setdefault(find(i), i)  # a sub-chain's place: its first step's
        order = sorted(range(len(steps)), key=lambda i: (lead[find(i)], i))
        bounds = [k for k in range(len(order)) if k == 0 or
                  find(order[k]) != find(order[k - 1])] + [len(order)]
        self._ew_groups = np.array(bounds, np.int32)
        return [steps[i] for i in order]

    def _code(self, K):
        """The int32 table of ew_run's steps (see numba_kernels)."""
        if self._ew_code is None:
            def op(ref):
                if ref is None:
                    return 0
                kind, j = ref
                return j if kind == "a" else -1 - j if kind == "tmp" else K.EW_SCALAR + j
            self._ew_code = np.array([[K.EW_OPS[name]] + [op(r) for r in refs]
                                      for name, *refs in self._ew], np.int32)
        return self._ew_code

    def _compiled(self, args, env, big_in):
        """The chain as one compiled call (numba_kernels.ew_run; two, on two threads, from
        SPLIT_MIN_PIECES pieces' worth of entries), or None where it cannot run so: no
        kernels, operands not C-ordered writable float32 NumPy arrays, or an errstate that
        raises."""
        K = accel.kernels_for(*big_in)
        if K is None or not all(a.flags.c_contiguous and a.flags.writeable for a in big_in):
            return None
        if any(v not in ("ignore", "warn") for v in np.geterr().values()):
            return None
        full = [pool.empty(self.shape, _F32) for _ in self.full_dtypes]
        arrays = [(args if kind == "in" else full)[j].reshape(-1) for kind, j in self._ew_slots]
        scal = np.array([env[v] if kind == "scalar" else v for kind, v in self._ew_scalars],
                        _F32)
        k = threads.SPLIT_MIN_PIECES
        threads.run_ew(K, self._code(K), self._ew_groups, scal, self.n_tmp, arrays, self.size,
                       k is not None and self.size >= k * PIECE)
        res = [args[wj] if wk == "in" else full[wj] for wk, wj in self.out_slots]
        return tuple(res) + tuple(env[id(o)] for o in self.small_outs)

    def __call__(self, *args):
        env = {id(x): a for x, a in zip(self.ins, args)}
        for e in self.small:  # scalars: once, before the pieces
            ops = [_lit(x) if isinstance(x, Lit) else env[id(x)] for x in e.ins]
            env[id(e.outs[0])] = e.prim.impl(*ops, **e.params)
        big_in = [a for a, s in zip(args, self.in_shapes) if s == self.shape]
        if self._ew is not None:
            got = self._compiled(args, env, big_in)
            if got is not None:
                return got
        if not all(type(a) is np.ndarray and a.flags.c_contiguous for a in big_in):
            return self._whole(env)
        n, p = self.size, PIECE
        flat_in = [a.reshape(-1) if s == self.shape else None
                   for a, s in zip(args, self.in_shapes)]
        full = [pool.empty(self.shape, dt) for dt in self.full_dtypes]
        flat_full = [a.reshape(-1) for a in full]
        steps = [(f, [(k, v if k != "scalar" else env[v]) for k, v in ops], w)
                 for f, ops, w in self.steps]
        starts = range(0, n, p)
        k = threads.SPLIT_MIN_PIECES
        if k is not None and len(starts) >= k and threads.cores >= 2:
            # the second half of the pieces on a kernel thread
            half = (len(starts) + 1) // 2
            threads.run_parts(self._pieces, [(steps, flat_in, flat_full, starts[:half], n),
                                             (steps, flat_in, flat_full, starts[half:], n)])
        else:
            self._pieces(steps, flat_in, flat_full, starts, n)
        res = [args[wj] if wk == "in" else full[wj] for wk, wj in self.out_slots]
        return tuple(res) + tuple(env[id(o)] for o in self.small_outs)

    def _pieces(self, steps, flat_in, flat_full, starts, n):
        """The chain over the pieces beginning at ``starts``, with scratch of its own."""
        p = PIECE
        tmp = [pool.empty((min(p, n),), dt) for dt in self.tmp_dtypes]
        for s in starts:
            e = min(n, s + p)
            m = e - s
            for f, ops, (wk, wj) in steps:
                vals = []
                for k, v in ops:
                    if k == "in":
                        vals.append(flat_in[v][s:e])
                    elif k == "full":
                        vals.append(flat_full[v][s:e])
                    elif k == "tmp":
                        vals.append(tmp[v][:m])
                    else:  # a scalar or a literal
                        vals.append(v)
                out = flat_in[wj][s:e] if wk == "in" else \
                    flat_full[wj][s:e] if wk == "full" else tmp[wj][:m]
                f(*vals, out=out)

    def _whole(self, env):
        """The chain's equations one after another over whole arrays (another layout or
        array type than C-ordered NumPy)."""
        for e in self._eqns:
            ops = [_lit(x) if isinstance(x, Lit) else env[id(x)] for x in e.ins]
            env[id(e.outs[0])] = e.prim.impl(*ops)
        return tuple(env[id(o)] for o in self.outs + self.small_outs)
