"""The graph IR of staged functions: variables, literals, equations, graphs, and printing."""
from __future__ import annotations

import itertools

import numpy as np

from ...core import dtypes as _dt
from ...core.primitive import Aval
from ...core.tensor import Tensor


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

