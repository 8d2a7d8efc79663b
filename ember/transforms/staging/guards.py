"""The jit cache's keys and guards: call signatures, the generated guard of a repeat call,
and the explanations of a retrace (which argument changed, and how)."""
from __future__ import annotations

import numpy as np

from ...backend import device_of
from ...core import dtypes as _dt
from ...core.primitive import Tracer
from ...core.tensor import Tensor
from ...tree import tree_flatten, tree_unflatten
from ..argnames import argument_leaf_names, positional_names  # noqa: F401


def _signature(leaves, static_vals):
    sig = []
    for x in leaves:
        if isinstance(x, Tensor) and not isinstance(x, Tracer):
            d = x._data
            # a plan is compiled for one device: its constants live there
            sig.append(("T", d.shape, d.dtype) if type(d) is np.ndarray else
                       ("T", d.shape, d.dtype, device_of(d).type))
        elif isinstance(x, Tensor):  # a tracer: its abstract value, built once
            a = x.aval
            sig.append(("T", tuple(a.shape), a.dtype.np))
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
    for i, (a, b) in enumerate(zip(osig, nsig) if len(osig) == len(nsig) else ()):
        if a != b:
            name = arg_names[i] if i < len(arg_names) else f"leaf {i}"
            fa, fb = _describe_leaf(a), _describe_leaf(b)
            msgs.append(f"{name}: {fa} -> {fb}")
    od, nd = dict(ostat), dict(nstat)
    for k in sorted(set(od) | set(nd), key=str):
        if od.get(k, _UNSET) != nd.get(k, _UNSET):
            fa = repr(od[k]) if k in od else "(not given)"
            fb = repr(nd[k]) if k in nd else "(not given)"
            msgs.append(f"static {static_name(k)}: {fa} -> {fb}")
    return "; ".join(msgs) or "a new signature"


def _describe_leaf(sig):
    if sig[0] == "S":
        return repr(sig[2])
    return f"{sig[2].name}{list(sig[1])}" + (f" on {sig[3]}" if len(sig) > 3 else "")


_UNSET = object()


def _changed_names(old, new, arg_names, static_name=str):
    """The names of the arguments (leaves and static arguments) that differ between two
    signatures; the structure when the number of leaves differs."""
    (osig, ostat), (nsig, nstat) = old, new
    if len(osig) != len(nsig):
        return ["the argument structure"]
    names = [arg_names[i] if i < len(arg_names) else f"leaf {i}"
             for i, (a, b) in enumerate(zip(osig, nsig)) if a != b]
    od, nd = dict(ostat), dict(nstat)
    names += [f"static {static_name(k)}" for k in sorted(set(od) | set(nd), key=str)
              if od.get(k, _UNSET) != nd.get(k, _UNSET)]
    return names


def _sig_distance(a, b):
    (asig, astat), (bsig, bstat) = a, b
    if len(asig) != len(bsig):
        return (1 << 20) + (astat != bstat)
    return sum(x != y for x, y in zip(asig, bsig)) + (astat != bstat)


def _make_guard(args, kwargs, scalars=None):
    """Straight-line Python that checks a call has exactly the structure, leaf types, shapes,
    dtypes and constant leaf values of (args, kwargs), and no tensor requiring grad, and then
    returns the arrays the plan takes, or None. The repeat call of a jitted function runs
    this instead of flattening, building a signature and looking it up; anything it doesn't
    cover (registered pytree types, namedtuples, ...) gets no guard. ``scalars``: the leaf
    indices of Python numbers traced as 0-d arrays (any value of their type passes)."""
    glb, lines, arrays = {}, [], []
    count = [0]  # leaves seen, in flattening order

    def const(v):
        name = f"k{len(glb)}"
        glb[name] = v
        return name

    def walk(expr, x, depth):
        t = type(x)
        v = f"a{depth}_{len(lines)}"
        lines.append(f"    {v} = {expr}")
        if isinstance(x, Tensor):
            count[0] += 1
            if isinstance(x, Tracer):
                return False
            d = x._data
            lines.append(f"    if {v}.__class__ is not {const(t)} or {v}.requires_grad: "
                         f"return None")
            lines.append(f"    {v} = {v}._data")
            lines.append(f"    if {v}.__class__ is not {const(type(d))} or {v}.shape != "
                         f"{const(d.shape)} or {v}.dtype != {const(d.dtype)}: return None")
            arrays.append(v)
            return True
        if t is np.ndarray:
            count[0] += 1
            canon = _dt.canonical_np(x.dtype)
            if canon != x.dtype:  # float64 data traced as float32 (64-bit mode off)
                lines.append(f"    if {v}.__class__ is not {const(t)} or {v}.shape != "
                             f"{const(x.shape)}: return None")
                lines.append(f"    if {v}.dtype != {const(canon)}:")
                lines.append(f"        if {v}.dtype != {const(x.dtype)}: return None")
                lines.append(f"        {v} = {v}.astype({const(canon)})")
            else:
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
        if t is type(None):  # not a leaf
            lines.append(f"    if {v} is not None: return None")
            return True
        if t in (int, float, bool, str):
            count[0] += 1
            if scalars and count[0] - 1 in scalars and t in (int, float):
                arr = _scalars_as_arrays([x], (0,))[0]
                lines.append(f"    if {v}.__class__ is not {const(t)}: return None")
                if arr.dtype == np.int32:  # a value beyond int32: the full lookup decides
                    lines.append(f"    if not -2147483648 <= {v} < 2147483648: return None")
                lines.append(f"    {v} = {const(np.asarray)}({v}, {const(arr.dtype)})")
                arrays.append(v)
                return True
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



def _scalars_as_arrays(leaves, idx):
    """``leaves`` with the Python ints/floats at ``idx`` as 0-d arrays, so jit traces them:
    int32 (int64 beyond its range) and float32, JAX's 32-bit types (int64 and float64 in
    64-bit mode); a 0-d tensor promotes like a Python number against tensors with dims."""
    out = list(leaves)
    wide = _dt._x64[0]
    for i in idx:
        v = out[i]
        if type(v) is int:
            out[i] = np.asarray(v, np.int32 if -2**31 <= v < 2**31 and not wide else np.int64)
        elif type(v) is float:
            out[i] = np.asarray(v, np.float64 if wide else np.float32)
    return out


def _canonical_leaves(leaves):
    """``leaves`` with NumPy arrays of float64/complex128 as float32/complex64 (JAX's
    canonicalization while 64-bit mode is off: ``core.dtypes.canonical_np``); the same list
    when there are none."""
    to32 = _dt._TO_32
    for x in leaves:
        if type(x) is np.ndarray and x.dtype in to32 and not _dt._x64[0]:
            return [_dt.canonical_value(y) if type(y) is np.ndarray else y for y in leaves]
    return leaves


def _array_positions(leaves, kinds=(Tensor, np.ndarray)):
    """Which leaves are traced (tensors and NumPy arrays; eval_shape adds avals)."""
    return [i for i, x in enumerate(leaves) if isinstance(x, kinds)]


def _with_leaves(td, leaves, pos, ins):
    """The tree ``td`` of ``leaves`` with those at ``pos`` replaced by ``ins``."""
    vals = list(leaves)
    for p, v in zip(pos, ins):
        vals[p] = v
    return tree_unflatten(td, vals)

