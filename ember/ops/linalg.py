"""Linear algebra: matmul (the one BLAS primitive) and what composes from it
(mm, bmm, mv, dot, outer); einsum and tensordot live in einsum.py."""
from __future__ import annotations

from ..backend import pool as _pool, ufuncs as U
from ..core.primitive import Aval, Primitive, Tracer, bind, eager_mode
from ..core.state import autocast_threads as _ac
from ..core.tensor import Tensor
from . import autocast_policy as _autocast
from ._util import check_same_dtype, transposed_matrix
from .elementwise import _binary_args, moveaxis_to_front
from .registry_helpers import export, method
from .sparse import SparseTensor, sparse_matmul
from ..core.exceptions import OpError

__all__: list[str] = []

_nd = _pool._nd


def _mm_shape(x, y):
    xs, ys = tuple(x.shape), tuple(y.shape)
    if len(xs) < 2 or len(ys) < 2:
        raise OpError(f"matmul: internal primitive needs >= 2-d operands, got {xs} and {ys}")
    if xs[-1] != ys[-2]:
        raise OpError(
            f"matmul: shapes {xs} and {ys} don't line up: {xs[-1]} != {ys[-2]} (dim -1 of the "
            f"first vs dim -2 of the second)")
    from ._util import broadcast_shapes
    batch = broadcast_shapes(xs[:-2], ys[:-2], op="matmul (batch dims)")
    return Aval(batch + (xs[-2], ys[-1]), x.dtype)


def _mT(a):
    return a.transpose(-1, -2)


def _mm_impl(x, y):
    if x.dtype.char in "eE":  # float16/bfloat16: float32 BLAS, rounded once (see _lowp_mm)
        return _lowp_mm(x, y)
    if x.shape[-1] == 1 and x.ndim >= 2 and y.ndim >= 2 and x.dtype == y.dtype:
        # an outer product (per-example weight gradients under vmap): one multiply per
        # element either way, but NumPy's matmul with an inner size of 1 runs ~10x slower
        return U.multiply(x, y)
    if x.ndim > 2 and y.ndim == 2:
        # (..., n, k) @ (k, m) as ONE (.. n, k) @ (k, m) product, not a loop of small ones
        # (each a BLAS call that wakes its threads): also when the rows are one block of
        # memory in another order of the leading axes (a batch-first sequence seen
        # time-first), the result then a view in the same order
        perm = None if x.flags.c_contiguous else _rows_order(x)
        if perm is not None and y.shape[-1] > x.shape[-1]:
            # ... unless the result is wider than x: then x's rows are copied into its
            # order and the result is C-ordered, cheaper than its consumers reading a larger
            # view across the batch (text-lstm's time-major projections, 26 MB: the copy of
            # the 5 MB embedding takes ~0.3 ms, copying the view of the result ~5)
            x, perm = x.copy(order="C"), None
        if x.flags.c_contiguous or perm is not None:
            xc = x if perm is None else x.transpose(perm)
            rows = 1
            for n in xc.shape[:-1]:
                rows *= n
            out = _mm2(xc.reshape(rows, x.shape[-1]), y).reshape(xc.shape[:-1] + y.shape[-1:])
            return out if perm is None else out.transpose(_inverse(perm))
    if x.ndim == 2 and y.ndim == 2:
        return _mm2(x, y)
    return U.matmul(x, y)


def _rows(a):
    """The product of all but the last dim (reshape's -1, which an empty array can't infer)."""
    r = 1
    for n in a.shape[:-1]:
        r *= n
    return r


# A layer's forward product x @ w.T (nn.Linear's weight (out, in), C-ordered) with few rows
# and a large weight runs as (w @ x.T).T, and OpenBLAS runs it faster with the weight's rows
# as the result's rows, (out, rows), even counting the copy back to a C-ordered (rows, out)
# result. Each entry is the same sum over the inner dim: with NumPy 2's OpenBLAS the same
# bits as x @ w.T in every case tried, float32 and float64; NumPy 1.26's gave other float64
# bits for 100 rows (its float32 the same). Eager and jit both take this path (the same
# layouts reach the kernel: the weight's transposed view), so they agree either way. 2 threads, us: (100, 784) @ (784, 256) 260 -> 239 + 10; (64, 3136) @
# (3136, 128) 385 -> 363 + 5; VGG-11's (16, 4096) @ (4096, 4096) 8850 -> 5920 + 20; smaller
# weights (LeNet's, (100, 256) @ (256, 128)) gained nothing after the copy.
_T_MAX_ROWS, _T_MIN_WEIGHT = 512, 1 << 17


def _weight_side(x, y):
    """Whether x @ y runs as (y.T @ x.T).T (see above): y a transposed C-ordered matrix of
    _T_MIN_WEIGHT entries or more, x of at most _T_MAX_ROWS rows."""
    return x.shape[0] <= _T_MAX_ROWS and y.size >= _T_MIN_WEIGHT and transposed_matrix(y) \
        and x.dtype == y.dtype and x.dtype.char in "fd"


def _matmul_impl(x, y):
    """matmul's kernel: _mm_impl, and a layer's product with a large transposed weight
    weight-side (above). (The convolution's products call _mm_impl: its weight gradient's
    (O, N*out) @ (N*out, C*K) has a transposed right operand too, but weight-side its
    large result is copied back: ResNet-18's step 105 -> 145 ms.)"""
    if x.ndim == 2 and y.ndim == 2 and type(x) is _nd and type(y) is _nd and \
            _weight_side(x, y):
        t = _pool.empty((y.shape[1], x.shape[0]), x.dtype)
        U.matmul(y.T, x.T, out=t)
        out = _pool.empty(x.shape[:1] + y.shape[1:], x.dtype)
        out[...] = t.T
        return out
    return _mm_impl(x, y)


def _mm2(x, y):
    """A 2-d product, a large result into a pooled buffer (backend/pool.py: no page faults
    anew at each step; the same C-ordered result, the same BLAS call)."""
    n = x.shape[0] * y.shape[1] * x.itemsize
    if n >= _pool.MIN_BYTES and type(x) is _nd and type(y) is _nd and x.dtype == y.dtype \
            and _pool.config.enabled:
        return U.matmul(x, y, out=_pool._handout((x.shape[0], y.shape[1]), x.dtype,
                                                 x.shape[0] * y.shape[1], n))
    return U.matmul(x, y)


def _rows_order(x):
    """An order of x's leading axes in which x is C-contiguous (the last axis kept last),
    or None."""
    lead = sorted(range(x.ndim - 1), key=lambda a: -x.strides[a])
    if lead == list(range(x.ndim - 1)):
        return None
    perm = tuple(lead) + (x.ndim - 1,)
    return perm if x.transpose(perm).flags.c_contiguous else None


def _inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def _lowp_mm(x, y):
    """float16/bfloat16 products accumulate in float32 and round to the operand dtype, as
    PyTorch's CPU kernels: NumPy's own float16 loop is ~400x slower than float32 BLAS, and
    ml_dtypes' bfloat16 matmul returns float32."""
    return _mm_impl(x.astype("float32"), y.astype("float32")).astype(x.dtype)


def _mm_vjp(ct, out, x, y, needed=None):
    from .elementwise import unbroadcast
    # ``needed`` (from transforms' backward passes): skip the product of an operand that is
    # a constant there (a weight when differentiating w.r.t. the input, data for per-example
    # gradients; under vmap a wasted product is a large one)
    gx = None if needed is not None and not needed[0] else \
        unbroadcast(bind(matmul_p, ct, _mT(y)), tuple(x.shape))
    if needed is not None and not needed[1]:
        return gx, None
    if y.ndim == 2:  # a weight shared by every row: one product, no batch sum, computed as
        # (ct^T x)^T so that the gradient of a transposed weight (x @ w.T, as nn.Linear) comes
        # out C-ordered after the transpose's own VJP, with no copy
        k, m = y.shape
        x2 = x if x.ndim == 2 else x.reshape((_rows(x), k))
        c2 = ct if ct.ndim == 2 else ct.reshape((_rows(ct), m))
        gy = _mT(bind(matmul_p, _mT(c2), x2))
    else:
        gy = unbroadcast(bind(matmul_p, _mT(x), ct), tuple(y.shape))
    return gx, gy


def _mm_batch(args, dims):
    x, y = args
    dx, dy = dims
    if dx is not None and dy is not None:
        x, y = moveaxis_to_front(x, dx), moveaxis_to_front(y, dy)
        # align ranks: insert unit batch dims after the vmapped dim
        rx, ry = x.ndim, y.ndim
        if rx < ry:
            x = x.reshape((x.shape[0],) + (1,) * (ry - rx) + tuple(x.shape[1:]))
        elif ry < rx:
            y = y.reshape((y.shape[0],) + (1,) * (rx - ry) + tuple(y.shape[1:]))
        return bind(matmul_p, x, y), 0
    if dx is not None:
        x = moveaxis_to_front(x, dx)
        if x.ndim == 3 and y.ndim == 2:  # (B, n, k) @ (k, m): fold B into rows
            b, n, k = x.shape
            return bind(matmul_p, x.reshape((b * n, k)), y).reshape((b, n, y.shape[-1])), 0
        rx, ry = x.ndim - 1, y.ndim
        if ry > rx:
            x = x.reshape((x.shape[0],) + (1,) * (ry - rx) + tuple(x.shape[1:]))
        return bind(matmul_p, x, y), 0
    y = moveaxis_to_front(y, dy)
    if x.ndim == 2 and y.ndim == 3:
        # (n, k) @ (B, k, m), a shared matrix times a batch (a vmapped jnp.dot(w, x)): one
        # (n, k) @ (k, B*m) product with the batch dim in the middle of the result, not B
        # products broadcasting x, whose weight gradient would be B outer products summed
        b, k, m = y.shape
        y2 = y.transpose(1, 0, 2).reshape((k, b * m))
        return bind(matmul_p, x, y2).reshape((x.shape[0], b, m)), 1
    if y.ndim - 1 < x.ndim:  # keep the batch dim leftmost after broadcasting
        y = y.reshape((y.shape[0],) + (1,) * (x.ndim - (y.ndim - 1)) + tuple(y.shape[1:]))
    return bind(matmul_p, x, y), 0


def _emit_matmul(e, ops, const):
    """jit plans call ``np.matmul`` directly, except where the kernel flattens a batch of
    vectors times a matrix into one product."""
    x, y = (len(v.aval.shape) for v in e.ins)
    if x > 2 and y == 2 or e.ins[0].aval.dtype.np.char in "eE":  # low precision: the impl
        return None
    a, b = (v.aval for v in e.ins)
    if x == y == 2 and a.shape[0] <= _T_MAX_ROWS and b.size >= _T_MIN_WEIGHT:
        return None  # (the kernel: a layer's product with a transposed weight, _weight_side)
    return f"{const(U.matmul)}({ops[0]}, {ops[1]})"


matmul_p = Primitive(
    "matmul", _matmul_impl, shape=_mm_shape, vjp=_mm_vjp, allocating=True, emit_inline=_emit_matmul,
    jvp=lambda p, t, out: bind(matmul_p, t[0], p[1]) + bind(matmul_p, p[0], t[1]),
    batch=_mm_batch)
matmul_p.vjp_takes_needed = True


def matmul(input, other):
    """Matrix product with NumPy/PyTorch semantics for 1-d and batched operands. As in
    PyTorch, two tensors of different dtypes are an error (no implicit promotion).

    >>> ember.matmul(ember.tensor([[1., 2.]]), ember.tensor([[3.], [4.]]))
    tensor([[11.]])
    >>> ember.matmul(ember.ones(5, 2, 3), ember.ones(3, 4)).shape
    ember.Size([5, 2, 4])
    """
    if isinstance(input, SparseTensor) or isinstance(other, SparseTensor):
        return sparse_matmul(input, other)
    if _ac[0]:  # ember.autocast: on the lower-precision list
        input, other = _autocast.lower(input, other)
    return _matmul(input, other)


def _matmul(input, other):
    """``matmul`` without autocast (``mv`` and ``dot`` are not on PyTorch's autocast list)."""
    if isinstance(input, Tensor) and isinstance(other, Tensor):
        if type(input) is not Tensor or type(other) is not Tensor or \
                input._data.dtype is not other._data.dtype:
            check_same_dtype("matmul", input, other,
                             fix="convert one operand, e.g. a @ b.to(a.dtype)")
        x, y = input, other
    else:
        x, y = _binary_args(input, other)
    if x.ndim == 0 or y.ndim == 0:
        raise OpError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}; use * for scalars")
    xv, yv = x.ndim == 1, y.ndim == 1
    if xv:
        x = x.reshape((1,) + tuple(x.shape))
    if yv:
        y = y.reshape(tuple(y.shape) + (1,))
    if x.shape[-1] != y.shape[-2]:
        xs = (tuple(x.shape)[1:] if xv else tuple(x.shape))
        ys = (tuple(y.shape)[:-1] if yv else tuple(y.shape))
        raise OpError(
            f"matmul: shapes {xs} and {ys} don't line up: {x.shape[-1]} != {y.shape[-2]} "
            f"(dim -1 of the first vs dim {'-1' if yv else '-2'} of the second)")
    out = bind(matmul_p, x, y)
    if xv and yv:
        return out.reshape(())
    if xv:
        return out.squeeze(-2)
    if yv:
        return out.squeeze(-1)
    return out


# ---- the affine map of nn.Linear, fused for the eager tape -------------------------------
# ``x @ w.T + b`` is three primitives (transpose, matmul, add): three tape nodes, three VJP
# calls per layer, which dominate small eager models (a policy network stepped per action).
# Eagerly (no transform active) F.linear binds this one primitive instead. Its kernel and its
# VJP make the same NumPy calls on the same operands as the three primitives' do, so the
# values and gradients are the same bits either way; under transforms (jit, grad, vmap) F.linear
# keeps the three primitives, which graph passes and graph readers (pruning) know.

def _linear_impl(x, w, b=None):
    out = _matmul_impl(x, _mT(w))
    return out if b is None else U.add(out, b)


def _linear_shape(x, w, b=None):
    return Aval(tuple(x.shape[:-1]) + (w.shape[0],), x.dtype)


def _linear_ref(x, w, b=None):
    out = bind(matmul_p, x, _mT(w))
    return out if b is None else out + b


def _linear_vjp(ct, out, x, w, b=None):
    gx = bind(matmul_p, ct, w)
    n, k = w.shape
    x2 = x if x.ndim == 2 else x.reshape((_rows(x), k))
    c2 = ct if ct.ndim == 2 else ct.reshape((_rows(ct), n))
    gw = bind(matmul_p, _mT(c2), x2)
    if b is None:
        return gx, gw
    from .elementwise import unbroadcast
    return gx, gw, unbroadcast(ct, tuple(b.shape))


linear_p = Primitive("linear", _linear_impl, shape=_linear_shape, vjp=_linear_vjp,
                     allocating=True, reference=_linear_ref)


def _dense(t):  # a concrete dense tensor (a Parameter too; not a tracer or a sparse tensor)
    return isinstance(t, Tensor) and not isinstance(t, (Tracer, SparseTensor))


def linear_eager(x, w, b):
    """``x @ w.T + b`` as one primitive when the fused form applies (concrete tensors of one
    dtype, ``x`` at least 2-d with matching features, ``w`` 2-d, ``b`` None or 1-d), else
    None (the caller composes it from matmul and add)."""
    if not (eager_mode() and _dense(x) and _dense(w)):
        return None
    xd, wd = x._data, w._data
    if xd.ndim < 2 or wd.ndim != 2 or xd.shape[-1] != wd.shape[1] or xd.dtype is not wd.dtype \
            or xd.dtype.char in "eE":
        return None
    if b is None:
        return bind(linear_p, x, w)
    if not _dense(b) or b._data.ndim != 1 or b._data.shape[0] != wd.shape[0] or \
            b._data.dtype is not wd.dtype:
        return None
    return bind(linear_p, x, w, b)


def mm(input, mat2):
    """The matrix product of two 2-D tensors.

    >>> ember.mm(ember.tensor([[1., 2.], [3., 4.]]), ember.eye(2))
    tensor([[1., 2.],
            [3., 4.]])
    """
    if input.ndim != 2 or mat2.ndim != 2:
        raise OpError(f"mm: expects 2-d tensors, got shapes {tuple(input.shape)} and "
                         f"{tuple(mat2.shape)}")
    return matmul(input, mat2)


def bmm(input, mat2):
    """A batch of matrix products: ``(b, n, k) @ (b, k, m)``.

    >>> ember.bmm(ember.ones(5, 2, 3), ember.ones(5, 3, 4)).shape
    ember.Size([5, 2, 4])
    """
    if input.ndim != 3 or mat2.ndim != 3:
        raise OpError(f"bmm: expects 3-d tensors, got shapes {tuple(input.shape)} and "
                         f"{tuple(mat2.shape)}")
    if input.shape[0] != mat2.shape[0]:
        raise OpError(f"bmm: batch sizes differ: {input.shape[0]} vs {mat2.shape[0]}")
    return matmul(input, mat2)


def mv(input, vec):
    """The product of a matrix and a vector.

    >>> ember.mv(ember.tensor([[1., 2.], [3., 4.]]), ember.tensor([1., 1.]))
    tensor([3., 7.])
    """
    return _matmul(input, vec)


def dot(input, other):
    """The dot product of two 1-D tensors.

    >>> ember.dot(ember.tensor([1., 2.]), ember.tensor([3., 4.]))
    tensor(11.)
    """
    if input.ndim != 1 or other.ndim != 1:
        raise OpError(f"dot: expects 1-d tensors, got shapes {tuple(input.shape)} and "
                         f"{tuple(other.shape)}")
    return _matmul(input, other)


def outer(input, vec2):
    """The outer product of two 1-D tensors.

    >>> ember.outer(ember.tensor([1., 2.]), ember.tensor([1., 10., 100.]))
    tensor([[  1.,  10., 100.],
            [  2.,  20., 200.]])
    """
    return _matmul(input.reshape((-1, 1)), vec2.reshape((1, -1)))


ger = outer


for _f in (matmul, mm, bmm, mv, dot, outer):
    export(_f, __all__)
    method(_f)

for _name in ("matmul", "mm", "bmm"):
    _autocast.register(_name, matmul)
