"""``einsum`` as one primitive (NumPy's einsum with a cached contraction path), and
``tensordot`` composed from it.

The equation is normalised to explicit form with one letter per dim (``...`` expanded), so the
rules are equation rewrites: the VJP for operand k contracts the cotangent with the other
operands into operand k's letters; the JVP sums one einsum per operand; batching adds a letter.
"""
from __future__ import annotations

import string

import numpy as np

from ..backend import namespace
from ..core import dtypes as _dt
from ..core.primitive import Primitive, bind
from ..core.tensor import Aval
from ..core.state import autocast_threads as _ac
from . import autocast_policy as _autocast
from .elementwise import as_value, moveaxis_to_front, promote
from .registry_helpers import export
from ..core.exceptions import OpError

__all__: list[str] = []

_LETTERS = string.ascii_letters


_normalised: dict = {}  # (equation, shapes) -> its explicit form (a layer calls einsum per step)


def _normalise(equation, shapes):
    """Explicit 'ab,bc->ac' form with ellipses replaced by fresh letters (remembered)."""
    key = (equation, tuple(shapes))
    r = _normalised.get(key)
    if r is None:
        r = _normalise_new(equation, shapes)
        if len(_normalised) >= 4096:
            _normalised.clear()
        _normalised[key] = r
    return r


def _normalise_new(equation, shapes):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->")
    else:
        lhs, rhs = eq, None
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise OpError(f"einsum: the equation {equation!r} names {len(ins)} operands but "
                         f"{len(shapes)} were given")
    used = set(c for c in eq if c.isalpha())
    free = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for sub, shp in zip(ins, shapes):
        if "..." in sub:
            n_ell = max(n_ell, len(shp) - (len(sub) - 3))
    ell = "".join(free[:n_ell])
    out_ins = []
    for k, (sub, shp) in enumerate(zip(ins, shapes)):
        if any(not (c.isalpha() or c == ".") for c in sub):
            raise OpError(f"einsum: invalid subscript {sub!r} in {equation!r} (letters and "
                             f"'...' only)")
        if "..." in sub:
            m = len(shp) - (len(sub) - 3)
            sub = sub.replace("...", ell[n_ell - m:] if m else "")
        if len(sub) != len(shp):
            raise OpError(f"einsum: operand {k} has {len(shp)} dims (shape {tuple(shp)}) but "
                             f"its subscript {sub!r} names {len(sub)}")
        out_ins.append(sub)
    if rhs is None:
        counts = {}
        for sub in out_ins:
            for c in sub:
                counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        rhs = rhs.replace("...", ell)
    _sizes(out_ins, rhs, shapes, equation)
    if len(set(rhs)) != len(rhs):
        raise OpError(f"einsum: output subscript {rhs!r} repeats a letter")
    return ",".join(out_ins) + "->" + rhs


def _sizes(ins, rhs, shapes, equation):
    """{subscript letter: its size} over the operands (size-1 dims broadcast); a clash of
    sizes or an output letter no input names is an error."""
    sizes = {}
    for sub, shp in zip(ins, shapes):
        for c, n in zip(sub, shp):
            m = sizes.get(c, 1)
            if m != 1 and n not in (1, m):
                raise OpError(f"einsum: subscript {c!r} has size {m} in one operand and {n} "
                              f"in another (shapes {[tuple(x) for x in shapes]}, equation "
                              f"{equation!r})")
            if n != 1 or c not in sizes:
                sizes[c] = n
    for c in rhs:
        if c not in sizes:
            raise OpError(f"einsum: output subscript {c!r} does not appear in the inputs of "
                          f"{equation!r}")
    return sizes


def _split(eq):
    lhs, rhs = eq.split("->")
    return lhs.split(","), rhs


_paths: dict = {}

# equation -> kernel(*operands) returning the result, or None to fall back to np.einsum: an
# op family's products that are one BLAS call when its operands are laid out as it makes them
# (ember/ops/conv.py registers the convolution's three equations)
gemm_kernels: dict = {}


def _einsum_impl(*ops, eq):
    dt = ops[0].dtype
    if dt.char in "eE":  # float16/bfloat16: accumulate in float32 (NumPy has no bfloat16
        # einsum, and its float16 loops are slow), round once to the operands' dtype
        return _einsum_impl(*[o.astype(np.float32) for o in ops], eq=eq).astype(dt)
    xp = namespace(*ops)
    k = gemm_kernels.get(eq)
    if k is not None and ops[0].dtype == ops[1].dtype:
        r = k(*ops)
        if r is not None:
            return r
    if len(ops) <= 2:
        return xp.einsum(eq, *ops, optimize=len(ops) == 2)
    key = (eq,) + tuple(o.shape for o in ops)
    path = _paths.get(key)
    if path is None:
        path = _paths[key] = xp.einsum_path(eq, *ops, optimize="greedy")[0]
    return xp.einsum(eq, *ops, optimize=path)


def _einsum_vjp(ct, out, *ops, eq, needed=None):
    ins, rhs = _split(eq)
    sizes = {}
    for sub, o in zip(ins, ops):
        for c, n in zip(sub, o.shape):
            if n != 1:
                sizes[c] = n
    grads = []
    for k, sub in enumerate(ins):
        if needed is not None and not needed[k]:  # a constant operand there (see _mm_vjp)
            grads.append(None)
            continue
        others = [(s, o) for j, (s, o) in enumerate(zip(ins, ops)) if j != k]
        present = set(rhs).union(*[set(s) for s, _ in others]) if others else set(rhs)
        used = set(eq)
        fresh = iter(c for c in _LETTERS if c not in used)
        # a letter repeated within operand k (a diagonal) gets fresh letters tied by eye()
        target, extra = [], []
        for c in sub:
            if c in target or c in [t for t, _ in extra]:
                z = next(fresh)
                extra.append((c, z))
                target.append(z)
            else:
                target.append(c)
        present |= {c for c, _ in extra}
        shape_k = tuple(ops[k].shape)
        keep = "".join(t for i, (t, c) in enumerate(zip(target, sub))
                       if t != c or (c in present and sizes.get(c, 1) == shape_k[i]))
        terms = [rhs] + [s for s, _ in others] + [c + z for c, z in extra]
        from .creation_ops import eye
        operands = [ct] + [o for _, o in others] + [
            eye(sizes.get(c, 1), dtype=ct.dtype) for c, _ in extra]
        g = bind(einsum_p, *operands, eq=",".join(terms) + "->" + keep)
        if len(keep) != len(target):
            # letters summed within operand k alone, or broadcast (size 1) in it
            inter = tuple(n if t in keep else 1 for t, n in zip(target, shape_k))
            g = g.reshape(inter).expand(shape_k)
        grads.append(g)
    return tuple(grads)


def _einsum_jvp(p, t, out, eq):
    res = None
    for k, tk in enumerate(t):
        if tk is None:
            continue
        ops = list(p)
        ops[k] = tk
        term = bind(einsum_p, *ops, eq=eq)
        res = term if res is None else res + term
    return res


def _einsum_batch(args, dims, eq):
    ins, rhs = _split(eq)
    b = next(c for c in _LETTERS if c not in eq)
    new_ins, ops = [], []
    for sub, a, d in zip(ins, args, dims):
        if d is None:
            new_ins.append(sub)
            ops.append(a)
        else:
            new_ins.append(b + sub)
            ops.append(moveaxis_to_front(a, d))
    return bind(einsum_p, *ops, eq=",".join(new_ins) + "->" + b + rhs), 0


def _einsum_shape(*avals, eq):
    """The output's shape and dtype from the explicit equation, without running a product
    (staging used to run the impl on zero-strided dummies: seconds of arithmetic for a large
    convolution's einsum, since BLAS cannot take such operands)."""
    ins, rhs = _split(eq)
    if len(ins) != len(avals):
        raise OpError(f"einsum: the equation {eq!r} names {len(ins)} operands but "
                      f"{len(avals)} were given")
    for k, (sub, a) in enumerate(zip(ins, avals)):
        if len(sub) != len(a.shape):
            raise OpError(f"einsum: operand {k} has {len(a.shape)} dims (shape "
                          f"{tuple(a.shape)}) but its subscript {sub!r} names {len(sub)}")
    sizes = _sizes(ins, rhs, [a.shape for a in avals], eq)
    dt = avals[0].dtype
    if any(a.dtype is not dt for a in avals):
        dt = _dt.from_np(np.result_type(*[a.dtype.np for a in avals]))
    return Aval(tuple(sizes[c] for c in rhs), dt)


# an einsum of two or more operands is a product (a convolution's forward among them), never
# a view of an operand, as a one-operand einsum (a transpose, a diagonal) may be: so jit plans
# may write a convolution's bias add and relu into its output
einsum_p = Primitive("einsum", _einsum_impl, shape=_einsum_shape, vjp=_einsum_vjp,
                     jvp=_einsum_jvp, batch=_einsum_batch, allocating=lambda n: n >= 2)
einsum_p.vjp_takes_needed = True


def einsum(equation, *operands):
    """Einstein summation, as ``torch.einsum``/``np.einsum`` (``...`` and implicit output
    supported; operands may also be passed as one list).

    >>> ember.einsum('ij,jk->ik', ember.ones(2, 3), ember.ones(3, 4)).shape
    ember.Size([2, 4])
    >>> ember.einsum('ii->', ember.tensor([[1., 2.], [3., 4.]]))
    tensor(5.)
    >>> ember.einsum('bi,bi->b', ember.tensor([[1., 2.], [3., 4.]]), ember.ones(2, 2))
    tensor([3., 7.])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = [as_value(o) for o in operands]
    if _ac[0]:  # ember.autocast: PyTorch's einsum runs as bmm, on the lower-precision list
        ops = _autocast.lower(*ops)
    ops, _ = promote(*ops)
    eq = _normalise(equation, [tuple(o.shape) for o in ops])
    return bind(einsum_p, *ops, eq=eq)


def tensordot(a, b, dims=2):
    """Contract the last ``dims`` dims of ``a`` with the first of ``b``, or the explicit
    lists ``dims = ([dims of a], [dims of b])``.

    >>> ember.tensordot(ember.ones(2, 3, 4), ember.ones(3, 4, 5), dims=2).shape
    ember.Size([2, 5])
    >>> ember.tensordot(ember.ones(2, 3), ember.ones(3, 2), dims=([1], [0]))
    tensor([[3., 3.],
            [3., 3.]])
    """
    a, b = as_value(a), as_value(b)
    if isinstance(dims, (int, np.integer)):
        da, db = list(range(a.ndim - int(dims), a.ndim)), list(range(int(dims)))
    else:
        da, db = ([dims[0]] if isinstance(dims[0], int) else list(dims[0]),
                  [dims[1]] if isinstance(dims[1], int) else list(dims[1]))
    if len(da) != len(db):
        raise OpError(f"tensordot: dims lists {da} and {db} must have the same length")
    da = [d % max(a.ndim, 1) for d in da]
    db = [d % max(b.ndim, 1) for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j] and 1 in (a.shape[i], b.shape[j]):
            # a size-1 dim broadcasts (as PyTorch): the other side is summed over first
            if a.shape[i] == 1:
                b = b.sum(j, keepdim=True)
            else:
                a = a.sum(i, keepdim=True)
        if a.shape[i] != b.shape[j]:
            raise OpError(f"tensordot: dim {i} of a (size {a.shape[i]}, shape "
                             f"{tuple(a.shape)}) doesn't match dim {j} of b (size "
                             f"{b.shape[j]}, shape {tuple(b.shape)})")
    la = _LETTERS[:a.ndim]
    lb = list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for i, j in zip(da, db):
        lb[j] = la[i]
    lb = "".join(lb)
    out = "".join(c for i, c in enumerate(la) if i not in da) + \
        "".join(c for j, c in enumerate(lb) if j not in db)
    return einsum(f"{la},{lb}->{out}", a, b)


export(einsum, __all__)
export(tensordot, __all__)
_autocast.register("einsum (as bmm)", einsum)
