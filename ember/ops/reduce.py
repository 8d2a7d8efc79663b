"""Reductions over dims: sum, mean, prod, max/min (values, indices), arg*, var/std,
logsumexp, cumulative ops, any/all, norm."""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from ..backend import ufuncs as U

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from ._util import canon_dims
from .elementwise import as_value, cast, moveaxis_to_front, stop_gradient_p
from .registry_helpers import export, method
from ..core.exceptions import OpError

__all__: list[str] = []


def _reduced_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _expand_back(g, shape, dims, keepdim):
    """Broadcast a reduced cotangent back to the input shape."""
    if not keepdim:
        g = g.reshape(_reduced_shape(shape, dims, True))
    return g.expand(shape)


def _batch_dims(dims, bd):
    """Shift reduction dims for a batch dim moved to the front."""
    return tuple(d + 1 for d in dims)


def _reduce_batch(prim):
    def rule(args, dims_, dims, keepdim, **params):
        x = moveaxis_to_front(args[0], dims_[0])
        return bind(prim, x, dims=_batch_dims(dims, 0), keepdim=keepdim, **params), 0
    return rule


# ---- sum ----------------------------------------------------------------------------

def _canonical(x):
    """``x`` C-ordered for a floating-point sum: NumPy adds in memory order (pairwise along
    a contiguous axis), so a sum's bits would follow the layout, and the eager tape and a jit
    plan may hand the same values over in different layouts (a convolution's cotangent
    C-ordered in one, channel-major in the other: VGG-11's last conv bias gradient differed
    by an ulp). Summed in C order (a copy when laid out otherwise), they agree."""
    if x.ndim > 1 and not x.flags.c_contiguous and x.dtype.kind in "fc":
        return namespace(x).ascontiguousarray(x)
    return x


def _row_sums(x, dims, keepdim, dtype):
    """The sum over ``dims`` of a float array ``x`` laid out otherwise than C-ordered, with
    the bits of the C-ordered sum and without copying ``x``, when the dims take in a block of
    trailing axes that is contiguous in ``x``'s memory and something more (a conv bias's
    gradient over (N, H, W) of a channel-major cotangent); None otherwise. NumPy sums a
    C-ordered array over such dims as the pairwise sums of the contiguous rows of the
    trailing block, added one after another into the result in C order of the other reduced
    axes; here the rows are summed where they lie (a view of ``x``), into a C-ordered array,
    whose sum over the other dims NumPy then makes in that order (mnist-cnn's bias gradient
    over (64, 32, 28, 28) channel-major: 0.94 -> 0.59 ms; tests/ops/test_reduce_layout.py
    checks the bits against the C-ordered copy's). Rows of at most 8192 entries (NumPy's
    buffer): NumPy 1.26 sums a longer C-ordered row in chunks, whose sums differ."""
    nd = x.ndim
    k = 0
    while k < nd and nd - 1 - k in dims:
        k += 1
    if k == 0 or k == nd or x.dtype.kind not in "fc":
        return None
    st, sh = x.strides, x.shape
    rows_len = math.prod(sh[nd - k:])
    if rows_len > 8192 or rows_len > np.getbufsize():
        return None  # (NumPy 1.26 sums a longer C-ordered row in buffer-sized chunks)
    if st[-1] != x.itemsize or [st[i] for i in range(nd - k, nd - 1)] != \
            [st[i + 1] * sh[i + 1] for i in range(nd - k, nd - 1)]:
        return None  # the trailing block's rows are not contiguous runs
    lead = sh[:nd - k]
    xp = namespace(x)
    z = xp.empty(lead, x.dtype if dtype is None else dtype)
    rows = xp.as_strided(x, lead + (rows_len,), st[:nd - k] + (x.itemsize,), writeable=False)
    U.add.reduce(rows, axis=-1, dtype=z.dtype, out=z)
    rest = tuple(d for d in dims if d < nd - k)
    r = U.add.reduce(z, axis=rest) if rest else z
    return r.reshape(_reduced_shape(sh, dims, True)) if keepdim else r


def _sum_other(x, dims, dtype, keepdim):
    """A jit plan's float sum of an array not C-ordered: _row_sums, else the sum of the
    C-ordered copy."""
    r = _row_sums(x, dims, keepdim, dtype)
    return r if r is not None else U.add.reduce(_canonical(x), dims, dtype, None, keepdim)


def _sum_impl(x, dims, keepdim, dtype=None):
    if x.ndim > 1 and not x.flags.c_contiguous and (  # (float16: the float32 sum below)
            x.itemsize > 2 if dtype is None else dtype.np.kind in "fc"):
        r = _row_sums(x, dims, keepdim, None if dtype is None else dtype.np)
        if r is not None:
            return r
    x = _canonical(x)
    # add.reduce is what np.sum calls, minus its Python-level dispatch
    if dtype is None and x.itemsize == 2 and x.dtype.kind in "fV":
        # float16/bfloat16 accumulate in float32 and round once, as PyTorch (NumPy's half
        # loops round every partial sum: 10000 bfloat16 ones would sum to 256)
        with np.errstate(over="ignore"):  # beyond float16's range: inf, as PyTorch
            return U.add.reduce(x, axis=dims, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
    if dtype is None and x.dtype.kind in "iu":
        dtype = x.dtype  # NumPy would widen small integers to int64; the shape rule keeps them
        return U.add.reduce(x, axis=dims, keepdims=keepdim, dtype=dtype)
    return U.add.reduce(x, axis=dims, keepdims=keepdim, dtype=None if dtype is None else dtype.np)


def _emit_sum(e, ops, const):
    """jit plans call ``np.add.reduce`` directly (positional arguments: no keyword parsing);
    a float16/bfloat16 result calls the kernel (float32 accumulation)."""
    p = e.params
    if e.outs[0].aval.dtype.itemsize == 2:
        return None
    out_np = e.outs[0].aval.dtype.np
    dt = const(out_np) if p.get("dtype") is not None or out_np.kind in "iu" else "None"
    x = ops[0]
    call = f"{const(np.add.reduce)}({x}, {const(p['dims'])}, {dt}, None, {p['keepdim']})"
    if e.ins[0].aval.dtype.np.kind in "fc" and len(e.ins[0].aval.shape) > 1:
        return (f"({call} if {x}.flags.c_contiguous else {const(_sum_other)}({x}, "
                f"{const(p['dims'])}, {dt}, {p['keepdim']}))")
    return call


def _sum_shape(x, dims, keepdim, dtype=None):
    return Aval(_reduced_shape(x.shape, dims, keepdim), dtype or x.dtype)


sum_p = Primitive(
    "sum", _sum_impl, shape=_sum_shape, linear=True, allocating=True, emit_inline=_emit_sum,
    vjp=lambda ct, out, x, dims, keepdim, dtype=None: (
        cast(_expand_back(ct, tuple(x.shape), dims, keepdim), x.dtype),),
    jvp=lambda p, t, out, dims, keepdim, dtype=None: bind(sum_p, t[0], dims=dims,
                                                          keepdim=keepdim, dtype=dtype))
sum_p.batch = _reduce_batch(sum_p)
sum_p.vjp_reads = ()  # the rule reads x's shape and dtype only


def sum(input, dim=None, keepdim=False, dtype=None):
    """Sum over ``dim`` (all dims by default). Integer and bool inputs sum as int64;
    float16/bfloat16 inputs accumulate in float32 and round the result once, as PyTorch.

    >>> ember.sum(ember.tensor([[1., 5.], [3., 2.]]))
    tensor(11.)
    >>> ember.sum(ember.tensor([[1., 5.], [3., 2.]]), dim=0)
    tensor([4., 7.])
    >>> ember.tensor([[1., 5.], [3., 2.]]).sum(dim=1, keepdim=True)
    tensor([[6.],
            [5.]])
    """
    x = as_value(input)
    dims = canon_dims(dim, x.ndim, "sum")
    if dtype is None and not x.dtype.is_inexact:
        dtype = _dt.int64
    elif dtype is not None:
        dtype = _dt.as_dtype(dtype)
        x = cast(x, dtype)
    if dtype is x.dtype:
        dtype = None
    return bind(sum_p, x, dims=dims, keepdim=bool(keepdim), dtype=dtype)


def mean(input, dim=None, keepdim=False, dtype=None):
    """Arithmetic mean over ``dim`` (floating inputs only, as PyTorch; float16/bfloat16 sum
    and divide in float32 and round once).

    >>> ember.mean(ember.tensor([[1., 5.], [3., 2.]]), dim=1)
    tensor([3.0000, 2.5000])
    """
    x = as_value(input)
    if dtype is not None:
        x = cast(x, dtype)
    if not x.dtype.is_inexact:
        raise TypeError(f"mean: input dtype {x.dtype} is not floating point; pass "
                        f"dtype=ember.float32 or convert with .float()")
    dims = canon_dims(dim, x.ndim, "mean")
    n = 1
    for d in dims:
        n *= x.shape[d]
    if x.dtype.itemsize == 2:  # float16/bfloat16: sum and divide in float32, round once
        s = bind(sum_p, x, dims=dims, keepdim=bool(keepdim), dtype=_dt.float32)
        return cast(s / n if n != 1 else s, x.dtype)
    s = bind(sum_p, x, dims=dims, keepdim=bool(keepdim), dtype=None)
    return s / n if n != 1 else s


for _f in (sum, mean):
    export(_f, __all__)
    method(_f)


# ---- max / min ------------------------------------------------------------------------

def _amax_vjp_rule(ct, out, x, dims, keepdim):
    # the gradient is shared evenly among the tied maxima (PyTorch's amax/amin)
    o = out if keepdim else out.reshape(_reduced_shape(tuple(x.shape), dims, True))
    g = ct if keepdim else ct.reshape(_reduced_shape(tuple(x.shape), dims, True))
    mask = cast(x == o, x.dtype)
    count = bind(sum_p, mask, dims=dims, keepdim=True, dtype=None)
    return (mask * (g / count),)


def _amax_jvp_rule(p, t, out, dims, keepdim):
    x = p[0]
    o = out if keepdim else out.reshape(_reduced_shape(tuple(x.shape), dims, True))
    mask = cast(x == o, x.dtype)
    num = bind(sum_p, mask * t[0], dims=dims, keepdim=keepdim, dtype=None)
    return num / bind(sum_p, mask, dims=dims, keepdim=keepdim, dtype=None)


def _def_extreme(name, fn):
    p = Primitive(name, lambda x, dims, keepdim: fn(x, axis=dims, keepdims=keepdim),
                  shape=lambda x, dims, keepdim: Aval(_reduced_shape(x.shape, dims, keepdim),
                                                      x.dtype),
                  vjp=_amax_vjp_rule, jvp=_amax_jvp_rule, vjp_needs_out=True, allocating=True)
    p.batch = _reduce_batch(p)
    return p


amax_p = _def_extreme("amax", U.maximum.reduce)
amin_p = _def_extreme("amin", U.minimum.reduce)


def _no_complex(x, op):
    if x.dtype.is_complex:
        from .elementwise import raise_complex
        raise_complex(op, x)


def _extreme(prim, op, input, dim, keepdim):
    x = as_value(input)
    _no_complex(x, op)
    dims = canon_dims(dim, x.ndim, op)
    if x.numel() == 0 and (0 in [x.shape[d] for d in dims] or not dims):
        raise OpError(f"{op}: the reduction has no identity, so an empty tensor (shape "
                         f"{tuple(x.shape)}) can't be reduced over dim {dim}")
    return bind(prim, x, dims=dims, keepdim=bool(keepdim))


def amax(input, dim=None, keepdim=False):
    """Largest value over ``dim`` (ties share the gradient evenly).

    >>> ember.amax(ember.tensor([[1., 5.], [3., 2.]]), dim=0)
    tensor([3., 5.])
    """
    return _extreme(amax_p, "amax", input, dim, keepdim)


def amin(input, dim=None, keepdim=False):
    """Smallest value over ``dim`` (ties share the gradient evenly).

    >>> ember.amin(ember.tensor([[1., 5.], [3., 2.]]), dim=1)
    tensor([1., 2.])
    """
    return _extreme(amin_p, "amin", input, dim, keepdim)


def _argext(fn, name):
    p = Primitive(name, lambda x, dim, keepdim: _arg_impl(fn, x, dim, keepdim),
                  shape=lambda x, dim, keepdim: Aval(
                      _reduced_shape(x.shape, (range(x.ndim) if dim is None else (dim,)),
                                     keepdim) if dim is not None or keepdim else (), _dt.int64),
                  differentiable=False, vjp=lambda ct, out, x, dim, keepdim: (None,),
                  jvp=lambda p, t, out, dim, keepdim: out * 0)

    def batch(args, dims, dim, keepdim):
        x = moveaxis_to_front(args[0], dims[0])
        if dim is None:
            x = x.reshape((x.shape[0], -1))
            r = bind(p, x, dim=1, keepdim=False)
            if keepdim:
                r = r.reshape((x.shape[0],) + (1,) * (args[0].ndim - 1))
            return r, 0
        return bind(p, x, dim=dim + 1, keepdim=keepdim), 0
    p.batch = batch
    return p


def _arg_impl(method, x, dim, keepdim):
    if dim is None:
        r = getattr(x.reshape(-1), method)().astype(np.int64)
        return r.reshape((1,) * x.ndim) if keepdim else namespace(x).asarray(r)
    return getattr(x, method)(axis=dim, keepdims=keepdim).astype(np.int64)


argmax_p = _argext("argmax", "argmax")
argmin_p = _argext("argmin", "argmin")


def argmax(input, dim=None, keepdim=False):
    """Index of the (first) largest value, over all elements or along ``dim``.

    >>> ember.argmax(ember.tensor([[1., 5.], [3., 2.]]))
    tensor(1)
    >>> ember.argmax(ember.tensor([[1., 5.], [3., 2.]]), dim=1)
    tensor([1, 0])
    """
    x = as_value(input)
    _no_complex(x, "argmax")
    if x.ndim == 0 and dim is not None:  # dim 0 / -1 names the 0-d tensor itself
        canon_dims(dim, 0, "argmax")
        return bind(argmax_p, x.reshape(1), dim=0, keepdim=False).reshape(())
    d = None if dim is None else canon_dims(dim, x.ndim, "argmax")[0]
    return bind(argmax_p, x, dim=d, keepdim=bool(keepdim))


def argmin(input, dim=None, keepdim=False):
    """Index of the (first) smallest value, over all elements or along ``dim``.

    >>> ember.argmin(ember.tensor([[1., 5.], [3., 2.]]), dim=0)
    tensor([0, 1])
    """
    x = as_value(input)
    _no_complex(x, "argmin")
    if x.ndim == 0 and dim is not None:  # dim 0 / -1 names the 0-d tensor itself
        canon_dims(dim, 0, "argmin")
        return bind(argmin_p, x.reshape(1), dim=0, keepdim=False).reshape(())
    d = None if dim is None else canon_dims(dim, x.ndim, "argmin")[0]
    return bind(argmin_p, x, dim=d, keepdim=bool(keepdim))


class _ValuesIndices(tuple):
    """(values, indices), as PyTorch's ``torch.return_types.max``."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


def _max_min(prim_ext, prim_arg, binary, name):
    def f(input, dim=None, keepdim=False):
        from ..core.tensor import Tensor
        if isinstance(dim, Tensor):  # max(a, b) is the elementwise maximum
            return binary(input, dim)
        if dim is None:
            return _extreme(prim_ext, name, input, None, False)
        x = as_value(input)
        _no_complex(x, name)
        if x.ndim == 0:  # dim 0 / -1 names the 0-d tensor itself
            canon_dims(dim, 0, name)
            return f(x.reshape(1), 0, False)
        idx = bind(prim_arg, x, dim=canon_dims(dim, x.ndim, name)[0], keepdim=True)
        from .indexing_helpers import take_along
        vals = take_along(x, idx, canon_dims(dim, x.ndim, name)[0])
        if not keepdim:
            vals, idx = vals.squeeze(dim), idx.squeeze(dim)
        return _ValuesIndices(vals, idx)
    f.__name__ = name
    example = {"max": "(tensor(5.), tensor([5., 3.]), tensor([1, 0]))",
               "min": "(tensor(1.), tensor([1., 2.]), tensor([0, 1]))"}[name]
    f.__doc__ = (f"``{name}(x)`` over all elements; ``{name}(x, dim)`` returns (values, "
                 f"indices); ``{name}(x, other)`` is elementwise.\n\n"
                 f">>> x = ember.tensor([[1., 5.], [3., 2.]])\n"
                 f">>> ember.{name}(x), ember.{name}(x, dim=1).values, "
                 f"ember.{name}(x, dim=1).indices\n"
                 f"{example}\n")
    return f


from .elementwise import maximum as _maximum, minimum as _minimum  # noqa: E402

max = _max_min(amax_p, argmax_p, _maximum, "max")
min = _max_min(amin_p, argmin_p, _minimum, "min")


# ---- composites ---------------------------------------------------------------------

def var(input, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance over ``dim`` with Bessel's ``correction`` (default 1, as PyTorch).

    >>> ember.var(ember.tensor([1., 2., 3., 4.]))
    tensor(1.6667)
    >>> ember.var(ember.tensor([1., 2., 3., 4.]), correction=0)
    tensor(1.2500)
    """
    x = as_value(input)
    if isinstance(dim, (bool, np.bool_)):  # var(x, unbiased): PyTorch's other overload
        dim, unbiased = None, bool(dim)
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    dims = canon_dims(dim, x.ndim, "var")
    n = 1
    for d in dims:
        n *= x.shape[d]
    mu = mean(x, dims, keepdim=True)
    d = x - mu
    if x.dtype.is_complex:  # |x - mean|^2: a real variance, as PyTorch and NumPy
        from .elementwise import real, imag
        sq = real(d) * real(d) + imag(d) * imag(d)
    else:
        sq = d * d
    return sum(sq, dims, keepdim=keepdim) / max_(n - correction, 0)


def std(input, dim=None, unbiased=None, keepdim=False, correction=None):
    """Standard deviation over ``dim``; its gradient is 0 where it is 0 (a constant slice, an
    axis of length 1 with ``correction=0``, a 0-d value), as PyTorch's, not NaN.

    >>> ember.std(ember.tensor([1., 2., 3., 4.]))
    tensor(1.2910)
    """
    return root_zero_grad(var(input, dim, unbiased, keepdim, correction), 2)


def root_zero_grad(v, p):
    """``v ** (1/p)`` for v >= 0 whose derivative at v == 0 is 0 instead of inf * 0 = NaN
    (PyTorch's convention for std and norms: a subgradient). The root runs on a value made
    safe first, so no NaN comes back from the unselected branch at any order either. A
    NaN ``v`` stays NaN."""
    from .elementwise import ones_like_v, sqrt, where, zeros_like_v
    zero = v == 0
    safe = where(zero, ones_like_v(v), v)
    r = sqrt(safe) if p == 2 else safe ** (1.0 / p)
    return where(zero, zeros_like_v(v), r)


def max_(a, b):  # the builtin max is shadowed in this module by ember's max
    return a if a > b else b


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(x))) over ``dim``, computed stably.

    >>> ember.logsumexp(ember.tensor([0., 0.]), dim=0)
    tensor(0.6931)
    >>> ember.logsumexp(ember.tensor([1000., 1000.]), dim=0)
    tensor(1000.6932)
    >>> ember.logsumexp(ember.tensor([-float("inf"), -float("inf")]), dim=0)
    tensor(-inf)
    """
    x = as_value(input)
    if not x.dtype.is_inexact:  # integers and bools give the default float dtype, as torch
        x = cast(x, _dt.get_default_dtype())
    dims = canon_dims(dim, x.ndim, "logsumexp")
    if x.numel() == 0:
        r = sum(x.exp(), dims, keepdim=True).log()
        return r if keepdim else r.reshape(_reduced_shape(tuple(x.shape), dims, False))
    from .elementwise import isinf, where, full_like_traced, real
    # complex x: shifted by the largest real part
    m = bind(stop_gradient_p, amax(real(x) if x.dtype.is_complex else x, dims, keepdim=True))
    # an infinite maximum shifts by 0: all -inf gives -inf (not -inf - -inf = NaN), as torch
    m = where(isinf(m), full_like_traced(m, 0), m)
    if x.dtype.is_complex:
        m = cast(m, x.dtype)
    r = sum((x - m).exp(), dims, keepdim=True).log() + m
    return r if keepdim else r.reshape(_reduced_shape(tuple(x.shape), dims, False))


cumsum_p = Primitive("cumsum", lambda x, dim: x.cumsum(axis=dim, dtype=x.dtype),
                     allocating=True, shape=lambda x, dim: Aval(x.shape, x.dtype), linear=True,
                     vjp=lambda ct, out, x, dim: (_rev(bind(cumsum_p, _rev(ct, dim), dim=dim),
                                                       dim),),
                     jvp=lambda p, t, out, dim: bind(cumsum_p, t[0], dim=dim))
cumsum_p.batch = lambda args, dims, dim: (
    bind(cumsum_p, moveaxis_to_front(args[0], dims[0]), dim=dim + 1), 0)


def _rev(x, dim):
    from .slicing import flip
    return flip(x, dim)


def _int64_or(input, dtype):
    """The input in ``dtype``, or (as PyTorch's sum-like ops) bool/integers as int64."""
    x = as_value(input)
    if dtype is not None:
        return cast(x, dtype)
    return cast(x, _dt.int64) if not x.dtype.is_inexact else x


def _scan(prim, input, dim, dtype, op):
    x = _int64_or(input, dtype)
    d = canon_dims(dim, x.ndim, op)
    return bind(prim, x, dim=d[0]) if d else x.clone()


def cumsum(input, dim, dtype=None):
    """Running sum along ``dim``.

    >>> ember.cumsum(ember.tensor([1, 2, 3]), dim=0)
    tensor([1, 3, 6])
    """
    return _scan(cumsum_p, input, dim, dtype, "cumsum")


cumprod_p = Primitive("cumprod", lambda x, dim: x.cumprod(axis=dim, dtype=x.dtype),
                      shape=lambda x, dim: Aval(x.shape, x.dtype))
cumprod_p.batch = lambda args, dims, dim: (
    bind(cumprod_p, moveaxis_to_front(args[0], dims[0]), dim=dim + 1), 0)


def _cumprod_parts(xm):
    """For x with the scanned dim last: L_i = prod_{j<i} x_j and M_ik = prod_{i<j<=k} x_j
    (zero for k < i). d out_k / d x_i = L_i M_ik, built from products only (no division),
    so zeros in x are handled exactly."""
    from .creation_ops import arange
    from .elementwise import where
    n = xm.shape[-1]
    i = arange(n).reshape(n, 1)
    j = arange(n).reshape(1, n)
    ones = xm[..., :1] * 0 + 1
    excl = bind(cumprod_p, cat_last(ones, xm[..., :n - 1]), dim=xm.ndim - 1)
    rows = where(j > i, xm.unsqueeze(-2), 1.0)                        # (..., i, j)
    m = where(j >= i, bind(cumprod_p, rows, dim=rows.ndim - 1), 0.0)  # (..., i, k)
    return excl, m


def _cumprod_vjp(ct, out, x, dim):
    from .shape import movedim
    if x.numel() == 0:
        return (ct,)
    excl, m = _cumprod_parts(movedim(x, dim, -1))
    g = excl * (m * movedim(ct, dim, -1).unsqueeze(-2)).sum(-1)
    return (movedim(g, -1, dim),)


def _cumprod_jvp(p, t, out, dim):
    from .shape import movedim
    if p[0].numel() == 0:
        return t[0]
    excl, m = _cumprod_parts(movedim(p[0], dim, -1))
    jt = ((excl * movedim(t[0], dim, -1)).unsqueeze(-1) * m).sum(-2)
    return movedim(jt, -1, dim)


def cat_last(a, b):
    from .indexing import cat
    return cat([a, b], -1)


cumprod_p.vjp = _cumprod_vjp
cumprod_p.jvp = _cumprod_jvp


def cumprod(input, dim, dtype=None):
    """Running product along ``dim`` (gradients are exact where the input has zeros).

    >>> ember.cumprod(ember.tensor([1., 2., 3.]), dim=0)
    tensor([1., 2., 6.])
    """
    return _scan(cumprod_p, input, dim, dtype, "cumprod")


prod_p = Primitive("prod", lambda x, dims, keepdim: x.prod(axis=dims, keepdims=keepdim,
                                                            dtype=x.dtype),
                   allocating=True,
                   shape=lambda x, dims, keepdim: Aval(_reduced_shape(x.shape, dims, keepdim),
                                                       x.dtype))
prod_p.batch = _reduce_batch(prod_p)


def _others_product(x, dims):
    """prod over ``dims`` of every element but the one at each position (exact with zeros):
    the exclusive products from the left times those from the right, along the flattened
    ``dims``."""
    from .shape import permute
    rest = [d for d in range(x.ndim) if d not in dims]
    xp = permute(x, tuple(rest) + tuple(dims))
    lead = tuple(xp.shape)[:len(rest)]
    flat = xp.reshape(lead + (-1,))
    n = flat.shape[-1]
    ones = flat[..., :1] * 0 + 1
    left = bind(cumprod_p, cat_last(ones, flat[..., :n - 1]), dim=flat.ndim - 1)
    rflat = flat.flip(-1)
    right = bind(cumprod_p, cat_last(ones, rflat[..., :n - 1]), dim=flat.ndim - 1).flip(-1)
    others = (left * right).reshape(tuple(xp.shape))
    inv = [0] * x.ndim
    for k, d in enumerate(tuple(rest) + tuple(dims)):
        inv[d] = k
    return permute(others, tuple(inv))


def _prod_vjp(ct, out, x, dims, keepdim):
    if x.numel() == 0:
        return (x * 0,)
    return (_expand_back(ct, tuple(x.shape), dims, keepdim) * _others_product(x, dims),)


prod_p.vjp = _prod_vjp
prod_p.jvp = lambda p, t, out, dims, keepdim: bind(
    sum_p, _others_product(p[0], dims) * t[0], dims=dims, keepdim=keepdim, dtype=None) \
    if p[0].numel() else out * 0


def prod(input, dim=None, keepdim=False, dtype=None):
    """Product over ``dim`` (all elements by default); gradients are exact with zeros.

    >>> ember.prod(ember.tensor([[1., 5.], [3., 2.]]))
    tensor(30.)
    >>> ember.prod(ember.tensor([[1., 5.], [3., 2.]]), dim=1)
    tensor([5., 6.])
    """
    x = _int64_or(input, dtype)
    if dim is None:
        return bind(prod_p, x, dims=tuple(range(x.ndim)), keepdim=False)
    return bind(prod_p, x, dims=canon_dims(dim, x.ndim, "prod")[:1], keepdim=bool(keepdim))


def any(input, dim=None, keepdim=False):
    """True where any element (along ``dim``, or of the whole tensor) is nonzero.

    >>> ember.any(ember.tensor([0, 0, 2]))
    tensor(True)
    >>> ember.any(ember.tensor([[True, False], [False, False]]), dim=1)
    tensor([ True, False])
    """
    x = cast(as_value(input), _dt.bool_)
    return amax(cast(x, _dt.uint8), dim, keepdim) > 0 if x.numel() else \
        cast(sum(cast(x, _dt.int64), dim, keepdim) > 0, _dt.bool_)


def all(input, dim=None, keepdim=False):
    """True where every element (along ``dim``, or of the whole tensor) is nonzero.

    >>> ember.all(ember.tensor([1, 1, 2]))
    tensor(True)
    >>> ember.all(ember.tensor([[True, False], [True, True]]), dim=1)
    tensor([False, True])
    """
    x = cast(as_value(input), _dt.bool_)
    return amin(cast(x, _dt.uint8), dim, keepdim) > 0 if x.numel() else \
        cast(sum(cast(x == False, _dt.int64), dim, keepdim) == 0, _dt.bool_)  # noqa: E712


def norm(input, p="fro", dim=None, keepdim=False):
    """Vector p-norm over ``dim`` (all elements by default): p = 2/'fro', 1, inf, -inf, 0 (the
    count of nonzeros) or any other number; p='nuc' is the nuclear norm of the matrices
    over ``dim`` (the last two by default: a 2-d input).

    >>> ember.norm(ember.tensor([3., 4.]))
    tensor(5.)
    >>> ember.norm(ember.tensor([3., -4.]), p=1)
    tensor(7.)
    """
    if p == "nuc":
        return _nuclear(as_value(input), dim, keepdim)
    x = as_value(input).abs()
    if p in ("fro", 2, 2.0):
        return root_zero_grad(sum(x * x, dim, keepdim), 2)
    if p in (1, 1.0):
        return sum(x, dim, keepdim)
    if p == float("inf"):
        return amax(x, dim, keepdim)
    if p == float("-inf"):
        return amin(x, dim, keepdim)
    if isinstance(p, (int, float)) and p > 0:
        return root_zero_grad(sum(x ** p, dim, keepdim), p)
    if isinstance(p, (int, float)) and p == 0:  # the number of nonzero entries
        return sum(cast(x != 0, x.dtype), dim, keepdim)
    if isinstance(p, (int, float)) and p < 0:
        return sum(x ** float(p), dim, keepdim) ** (1.0 / p)
    raise OpError(f"norm: unsupported p={p!r}; use 'fro', 'nuc', a number or +-inf")


def _nuclear(x, dim, keepdim):
    """The sum of the singular values of the matrices over the two ``dim``."""
    from .linalg_decomp import svdvals
    from .shape import movedim
    if dim is None:
        if x.ndim != 2:
            raise OpError(f"norm: p='nuc' without dim needs a 2-d input, got shape "
                          f"{tuple(x.shape)}; pass dim=(-2, -1)")
        dim = (0, 1)
    d = [canon_dims(k, x.ndim, "norm")[0] for k in dim]
    if len(d) != 2 or d[0] == d[1]:
        raise OpError(f"norm: p='nuc' needs two different dims, got {dim}")
    r = sum(svdvals(movedim(x, tuple(d), (-2, -1))), -1)
    if keepdim:
        for k in sorted(d):
            r = r.unsqueeze(k)
    return r


for _f in (amax, amin, argmax, argmin, max, min, var, std, logsumexp, cumsum, cumprod, prod,
           any, all, norm):
    export(_f, __all__)
    method(_f)
