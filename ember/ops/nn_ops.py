"""Softmax-family ops used by losses: log_softmax (a primitive, numerically stable),
softmax, and one_hot."""
from __future__ import annotations

import os
import threading

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, Tracer, bind, derived_rule
from ..core.tensor import Tensor
from ..backend import accel, namespace, threads
from ._util import canon_dim, host_on_device_of, transposed_matrix
from .elementwise import as_value, cast, moveaxis_to_front
from .registry_helpers import export, method
from ..core.exceptions import OpError

__all__: list[str] = []


def _log_softmax_impl(x, dim):
    # (the ufuncs' reduce, not np.max/np.sum: their Python wrappers cost more than the work
    # on a row of a few classes; the same reductions, the same bits)
    if x.ndim == 0:  # a 0-d reduce gives a NumPy scalar, which can't be written in place
        return _log_softmax_impl(x.reshape(1), 0).reshape(())
    m = np.maximum.reduce(x, axis=dim, keepdims=True) if x.size else x
    z = x - m
    s = np.add.reduce(np.exp(z), axis=dim, keepdims=True)
    z -= np.log(s, out=s)
    return z


def _ls_vjp(ct, out, x, dim):
    return (ct - out.exp() * ct.sum(dim=dim, keepdim=True),)


def _ls_jvp(p, t, out, dim):
    return t[0] - (out.exp() * t[0]).sum(dim=dim, keepdim=True)


log_softmax_p = Primitive("log_softmax", _log_softmax_impl, allocating=True,
                          shape=lambda x, dim: Aval(x.shape, x.dtype), vjp=_ls_vjp, jvp=_ls_jvp,
                          vjp_needs_out=True)
log_softmax_p.batch = lambda args, dims, dim: (
    bind(log_softmax_p, moveaxis_to_front(args[0], dims[0]), dim=dim + 1), 0)


def log_softmax(input, dim, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably (max subtracted first).

    >>> ember.log_softmax(ember.tensor([0., 0.]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    x = as_value(input)
    if dtype is not None:
        x = cast(x, dtype)
    if not x.dtype.is_floating_point:
        x = cast(x, _dt.get_default_dtype())
    return bind(log_softmax_p, x, dim=canon_dim(dim, x.ndim, "log_softmax"))


def softmax(input, dim, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed stably.

    >>> ember.softmax(ember.tensor([[0., 0.], [0., 1.]]), dim=1)
    tensor([[0.5000, 0.5000],
            [0.2689, 0.7311]])
    """
    return log_softmax(input, dim, dtype).exp()


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of size ``num_classes``.

    >>> ember.nn.functional.one_hot(ember.tensor([0, 2]), num_classes=3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    t = as_value(tensor)
    if not t.dtype.is_integer:
        raise TypeError(f"one_hot: expects an integer tensor of class indices, got {t.dtype}")
    if num_classes < 0:
        num_classes = int(t.max().item()) + 1 if hasattr(t, "max") else int(t._data.max()) + 1
    from .creation_ops import arange
    return cast(t.unsqueeze(-1) == arange(num_classes), _dt.int64)


for _f in (log_softmax, softmax):
    export(_f, __all__)
    method(_f)
export(one_hot, __all__)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` at the integer ``input``; the row ``padding_idx`` gets no gradient.
    ``max_norm`` renormalises the rows used in place first (``norm_type``-norm), and
    ``scale_grad_by_freq`` divides each row's gradient by its count in ``input``, as PyTorch.
    ``sparse=True`` is accepted but the gradient of ``weight`` is dense (the same values as
    PyTorch's sparse one).

    >>> ember.nn.functional.embedding(ember.tensor([1, 0]), ember.tensor([[0., 0.], [1., 2.]]))
    tensor([[1., 2.],
            [0., 0.]])
    """
    from .indexing import check_index, gather_nd_p, getitem
    idx = as_value(input)
    w = as_value(weight)
    if not idx.dtype.is_integer:
        raise TypeError(f"embedding: input must hold integer indices, got {idx.dtype}")
    if w.ndim != 2:
        raise OpError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {tuple(w.shape)}")
    key = check_index(idx, w.shape[0], "embedding", f"weight {tuple(w.shape)}")
    if max_norm is not None:
        embedding_renorm_(w, idx, max_norm, norm_type)
    if not isinstance(key, Tracer) and not isinstance(w, Tracer) and \
            type(key._data) is type(w._data):
        out = bind(gather_nd_p, w, key, spec=(("a", 0),))  # (checked: no second range check)
    else:  # traced, or a CPU index into another device's table
        out = getitem(w, key)
    if scale_grad_by_freq:  # each row's gradient divided by its count in this batch
        ids = np.asarray(idx.numpy()).reshape(-1) % w.shape[0]
        counts = np.bincount(ids, minlength=w.shape[0])
        inv = (1.0 / counts[ids]).astype(w.dtype.np).reshape(tuple(idx.shape) + (1,))
        out = out.detach() + (out - out.detach()) * Tensor._wrap(inv)
    if padding_idx is not None:
        from .elementwise import where
        p = padding_idx % w.shape[0]
        out = where((idx == p).unsqueeze(-1), out.detach(), out)
    return out


def embedding_renorm_(weight, indices, max_norm, norm_type=2.0):
    """Rescale, in place and outside autograd, the rows of ``weight`` that ``indices`` name
    whose ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm`` (PyTorch's
    ``embedding_renorm_``: scale max_norm / (norm + 1e-7))."""
    from ..core.autograd import no_grad
    from ..core.tensor import Tensor
    ids = np.unique(np.asarray(as_value(indices).numpy()).reshape(-1) % weight.shape[0])
    if ids.size == 0:
        return weight
    rows = np.asarray(weight.detach().numpy())[ids].astype(np.float64)
    p = float(norm_type)
    norms = np.linalg.norm(rows, ord=p, axis=1) if p not in (0.0,) else \
        (rows != 0).sum(1).astype(np.float64)
    over = norms > max_norm
    if not over.any():
        return weight
    scale = np.ones((weight.shape[0], 1), weight.dtype.np)
    scale[ids[over], 0] = (max_norm / (norms[over] + 1e-7)).astype(weight.dtype.np)
    with no_grad():
        weight.mul_(Tensor._wrap(scale))
    return weight


export(embedding, __all__)


# ---- the LSTM cell: one primitive per time step ----------------------------------------------

def _lstm_cell_acts(gates):
    """The activated gates i, f, g, o of a cell, (..., 4H), as lstm_seq computes them (one
    exp over all four gates: sigmoid(x) = 1 / (1 + exp(-x)), tanh(x) = 2 / (1 + exp(-2x)) - 1)."""
    h4 = gates.shape[-1]
    scale, numer = _lstm_scales(namespace(gates), h4, gates.dtype)
    a = gates * scale
    with np.errstate(over="ignore"):  # exp(-x) = inf for very negative x: sigmoid(x) = 0
        np.exp(a, out=a)
    a += 1
    np.divide(numer, a, out=a)
    a[..., h4 // 2:3 * h4 // 4] -= 1
    return a


def _lstm_cell_impl(gates, c):
    H = gates.shape[-1] // 4
    a = _lstm_cell_acts(gates)
    c2 = a[..., H:2 * H] * c
    c2 += a[..., :H] * a[..., 2 * H:3 * H]
    return [a[..., 3 * H:] * np.tanh(c2), c2]


def _lstm_parts(gates):
    h4 = gates.shape[-1] // 4
    from .elementwise import sigmoid, tanh
    return (sigmoid(gates[..., :h4]), sigmoid(gates[..., h4:2 * h4]),
            tanh(gates[..., 2 * h4:3 * h4]), sigmoid(gates[..., 3 * h4:]))


def _lstm_cell_vjp(ct, out, gates, c):
    from .elementwise import zeros_like_v
    ct_h, ct_c = ct if isinstance(ct, (tuple, list)) else (ct, None)
    c2 = out[1]
    ct_h = ct_h if ct_h is not None else zeros_like_v(c2)
    ct_c = ct_c if ct_c is not None else zeros_like_v(c2)
    return tuple(bind(lstm_cell_bwd_p, ct_h, ct_c, gates, c, c2))


# lstm_cell_bwd(ct_h, ct_c, gates, c, c2) -> d gates, d c: the cell's VJP as one NumPy kernel
# (the activations recomputed from the gates); its reference, the same formulas in ember ops,
# gives its own derivatives (second order) and its batching with batched... any argument.

def _lstm_cell_bwd_ref(ct_h, ct_c, gates, c, c2):
    from .indexing import cat
    i, f, g, o = _lstm_parts(gates)
    tc = c2.tanh()
    dc = ct_h * o * (1 - tc * tc) + ct_c
    dgates = cat([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                  ct_h * tc * o * (1 - o)], -1)
    return [dgates, dc * f]


def _lstm_cell_bwd_impl(ct_h, ct_c, gates, c, c2):
    H = gates.shape[-1] // 4
    a = _lstm_cell_acts(gates)
    i, f, g, o = (a[..., k * H:(k + 1) * H] for k in range(4))
    tc = np.tanh(c2)
    dc = tc * tc                                   # dc = ct_h o (1 - tanh(c2)^2) + ct_c
    np.subtract(1, dc, out=dc)
    dc *= o
    dc *= ct_h
    dc += ct_c
    d = np.subtract(1, a)                          # s (1 - s) for the sigmoid gates ...
    d *= a
    d[..., :H] *= g                                # ... times their partners
    d[..., :H] *= dc
    d[..., H:2 * H] *= c
    d[..., H:2 * H] *= dc
    d[..., 3 * H:] *= tc
    d[..., 3 * H:] *= ct_h
    dg = d[..., 2 * H:3 * H]                       # (1 - g^2) i dc for the cell gate
    np.multiply(g, g, out=dg)
    np.subtract(1, dg, out=dg)
    dg *= i
    dg *= dc
    dc *= f
    return [d, dc]


def _lstm_cell_bwd_batch(args, dims):
    from .elementwise import batch_all_front
    return bind(lstm_cell_bwd_p, *batch_all_front(args, dims)), [0, 0]


lstm_cell_bwd_p = Primitive(
    "lstm_cell_bwd", _lstm_cell_bwd_impl, multiple_results=True,
    shape=lambda ct_h, ct_c, gates, c, c2: [Aval(gates.shape, gates.dtype),
                                            Aval(c.shape, c.dtype)],
    batch=_lstm_cell_bwd_batch, reference=_lstm_cell_bwd_ref)


def _lstm_cell_jvp(p, t, out, **_):
    from .elementwise import zeros_like_v
    gates, c = p
    tg = t[0] if t[0] is not None else zeros_like_v(gates)
    tcp = t[1] if t[1] is not None else zeros_like_v(c)
    i, f, g, o = _lstm_parts(gates)
    h4 = gates.shape[-1] // 4
    di = i * (1 - i) * tg[..., :h4]
    df = f * (1 - f) * tg[..., h4:2 * h4]
    dg = (1 - g * g) * tg[..., 2 * h4:3 * h4]
    do = o * (1 - o) * tg[..., 3 * h4:]
    c2 = out[1]
    tc = c2.tanh()
    dc = df * c + f * tcp + di * g + i * dg
    return [do * tc + o * (1 - tc * tc) * dc, dc]


def _lstm_cell_batch(args, dims):
    from .elementwise import batch_all_front
    return bind(lstm_cell_p, *batch_all_front(args, dims)), [0, 0]


lstm_cell_p = Primitive(
    "lstm_cell", _lstm_cell_impl, multiple_results=True, vjp_needs_out=True,
    shape=lambda gates, c: [Aval(c.shape, c.dtype), Aval(c.shape, c.dtype)],
    vjp=_lstm_cell_vjp, jvp=_lstm_cell_jvp, batch=_lstm_cell_batch)


def lstm_cell(gates, c):
    """One LSTM step from pre-activation ``gates`` (..., 4H) in PyTorch's order (input,
    forget, cell, output) and the cell state ``c`` (..., H): returns (h, c_new)."""
    g, cc = as_value(gates), as_value(c)
    if g.shape[-1] != 4 * cc.shape[-1] or tuple(g.shape[:-1]) != tuple(cc.shape[:-1]):
        raise OpError(f"lstm_cell: gates {tuple(g.shape)} must be (..., 4H) for a cell "
                         f"state (..., H) = {tuple(cc.shape)}")
    h, c2 = bind(lstm_cell_p, g, cc)
    return h, c2


export(lstm_cell, __all__)


# ---- a whole LSTM layer's recurrence: one fused primitive forward, one backward ------------
#
# lstm_seq(xw, whhT, h0, c0) runs the recurrence over T steps, where xw (T, N, 4H) holds the
# input projections (biases included) and whhT (H, 4H) is the recurrent weight, transposed.
# Outputs: the hidden states hs (T, N, H), the cell states cs (T, N, H) and `acts`
# (T, N, 5H): the activated gates i, f, g, o and tanh(c) of every step, which the backward
# reads; the layer exposes hs and cs only.
#
# The recurrence is written once, in ember ops (_lstm_seq_ref): the primitive's reference
# definition. Its impl is a NumPy loop over preallocated buffers computing the same thing,
# and its first-order VJP is a second fused primitive, lstm_seq_bwd (the backward recurrence,
# one (N, 4H) x (4H, H) product per step and the recurrent weight's gradient as ONE product
# over all steps). Everything else comes from the reference through Primitive(reference=):
# the JVP, the second-order VJP (a cotangent for `acts`), vmap over per-example recurrent
# weights; lstm_seq_bwd's own reference is the derived VJP of lstm_seq's.

def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _lstm_seq_ref(xw, whhT, h0, c0, reverse):
    """The LSTM recurrence in ember ops, the definition of lstm_seq. ``whhT`` (H, 4H), or
    (G, H, 4H): one recurrent weight per group of N/G examples (lstm_seq_bwd's reference
    uses that for per-example weight gradients)."""
    from .elementwise import sigmoid, tanh
    from .indexing import cat, stack
    H = whhT.shape[-2]
    xs = xw.unbind(0)
    hs, cs, acts = [None] * len(xs), [None] * len(xs), [None] * len(xs)
    h, c = h0, c0
    for t in _steps(len(xs), reverse):
        if whhT.ndim == 3:
            hw = (h.reshape((whhT.shape[0], -1, H)) @ whhT).reshape(tuple(xs[t].shape))
        else:
            hw = h @ whhT
        gates = xs[t] + hw
        i, f, o = (sigmoid(gates[..., k * H:(k + 1) * H]) for k in (0, 1, 3))
        g = tanh(gates[..., 2 * H:3 * H])
        c = f * c + i * g
        tc = tanh(c)
        h = o * tc
        hs[t], cs[t], acts[t] = h, c, cat([i, f, g, o, tc], -1)
    return [stack(hs), stack(cs), stack(acts)]


# The kernels split the batch into two halves of at least _SPLIT_ROWS rows each (when H is
# large enough that a step's NumPy calls outweigh their Python overhead) and run the halves'
# recurrences on two threads (backend/threads.py); the split depends on the shapes only, so
# eager, jit and every machine compute the same bits. Off by default (_SPLIT_MIN_H = None):
# on the 2-core development machine the split text-lstm step was ~20% slower than one thread
# (365 vs 295 ms, 8 alternating pairs, quiet machine); tests/backend/test_threads.py keeps
# the split path correct for when a machine with spare cores makes it pay.
_SPLIT_ROWS = 16
_SPLIT_MIN_H = None


def _row_parts(n, H):
    if _SPLIT_MIN_H is None or H < _SPLIT_MIN_H:
        return [(0, n)]
    return threads.halves(n, _SPLIT_ROWS)


def _lstm_seq_impl(xw, whhT, h0, c0, reverse):
    T, n, h4 = xw.shape
    H = h4 // 4
    xp = namespace(xw)
    dt = np.result_type(xw.dtype, whhT.dtype, h0.dtype, c0.dtype)
    hs = xp.empty((T, n, H), dt)
    cs = xp.empty((T, n, H), dt)
    acts = xp.empty((T, n, 5 * H), dt)
    scale, numer = _lstm_scales(xp, h4, dt)
    ws = _c_copy(xp, whhT)  # (one layout, eager or jit: one order of sums)
    parts = _row_parts(n, H)
    if len(parts) == 1:  # one part: no thread pool (a cell stepped eagerly calls this per step)
        _lstm_seq_rows(xw, ws, h0, c0, reverse, hs, cs, acts, scale, numer, 0, n)
    else:
        threads.run_parts(_lstm_seq_rows, [(xw, ws, h0, c0, reverse, hs, cs, acts, scale,
                                            numer, a, b) for a, b in parts])
    return [hs, cs, acts]


_SCALES = {}


def _lstm_scales(xp, h4, dt):
    """sigmoid(x) = 1 / (1 + exp(-x)); tanh(x) = 2 / (1 + exp(-2x)) - 1: the per-column
    scales (-1, or -2 for the cell gate) and numerators, made once per width and dtype (read
    only). The scales are powers of two, so scaling the weight and the inputs is exact:
    h (s W) + s x = s (h W + x)."""
    key = (xp, h4, np.dtype(dt).str)
    got = _SCALES.get(key)
    if got is None:
        H = h4 // 4
        scale = xp.full(h4, -1, dt)
        scale[2 * H:3 * H] = -2
        numer = xp.ones(h4, dt)
        numer[2 * H:3 * H] = 2
        got = _SCALES[key] = (scale, numer)
    return got


_FWD_CHUNK = 8  # (GRU) steps whose scaled inputs are formed in one call


def _kernel_steps(v):
    """A cotangent (T, n, K) as the compiled backward loops read it, every step's rows
    C-ordered: a time-major copy of one whose rows are not (the cotangent of a batch_first
    output comes batch-major: the loops fell back to NumPy, 15% slower for a 2-layer LSTM's
    backward; each copy is exact). None stays None."""
    return v if _kernel_ready(v) else np.array(v, order="C")


def _kernel_arg(v):
    """``v`` as a kernel takes it: C-ordered and writable (a copy otherwise: exact), so that
    each kernel compiles for one array type."""
    return v if v.flags.c_contiguous and v.flags.writeable else np.array(v, order="C")


def _kernel_ready(v):
    """Whether every step's rows of ``v`` (T, n, K) or ``v`` (n, K) itself reach a kernel as
    C-ordered writable blocks (None: nothing to pass)."""
    if v is None:
        return True
    rows = v[0] if v.ndim == 3 else v
    return rows.flags.c_contiguous and v.flags.writeable


# The recurrences' loops run compiled, each step's product by NumPy's own sgemm
# (accel.sgemm; numba_kernels.lstm_seq_fwd / lstm_seq_bwd), when its rows and columns are two
# or more (np.matmul's sgemm call; a vector's product takes another BLAS routine) and the
# weight's rows are contiguous: no return to Python between steps. text-lstm's two layers
# (lstm2_seq, 200 steps, batch 64, H 128), in one process: forward 42.8 -> 41.7 ms,
# backward 69.7 -> 66.9.
def _loop_gemm(w, out):
    """(address, ilp64) of the sgemm for a compiled recurrence whose steps multiply by
    ``w`` into ``out`` (rows of the step's result), or None: the per-step NumPy calls."""
    ok = type(w) is np.ndarray and w.dtype == np.float32 and w.strides[1] == 4 and \
        w.strides[0] >= 4 * w.shape[1] and out.shape[0] >= 2 and out.shape[1] >= 2
    return accel.sgemm() if ok else None


def _lstm_seq_rows(xw, ws, h0, c0, reverse, hs, cs, acts, scale, numer, a, b,
                   scaled=False):
    """The forward recurrence for the examples a:b (rows of every step), into hs, cs, acts.
    ``scaled`` False: ``ws`` is the recurrent weight and each step's pre-activations are
    scaled after the product, (h W + x) s; True: ``ws`` is the weight times ``scale`` and
    ``xw`` the input projections times ``scale`` (lstm2_seq's layer 2 makes them so), h (W s)
    + x s. The scales are powers of two, so both give the same bits (every rounding of the
    product's sums and of the addition is scaled exactly); the first reads each step's
    inputs once, straight from ``xw`` (no pass writing scaled copies), and the second needs
    no pass at all."""
    T, _, h4 = xw.shape
    H = h4 // 4
    xp = namespace(xw)
    gates = xp.empty((b - a, h4), hs.dtype)
    K = accel.kernels_for(hs)
    if K is not None:  # the step after its product as one compiled kernel
        xw, h, c = (_kernel_arg(v) for v in (xw, h0[a:b], c0[a:b]))
        xw, hs, cs, acts = xw[:, a:b], hs[:, a:b], cs[:, a:b], acts[:, a:b]
        blas = _loop_gemm(ws, gates)
        if blas is not None:  # the whole loop compiled, its products by NumPy's sgemm
            K.lstm_seq_fwd(*blas, xw, ws, h, c, scale, numer, scaled, reverse, hs, cs, acts,
                           gates)
            return
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            np.matmul(h, ws, out=gates)
            K.lstm_step_fwd(gates, xw[t], scale, numer, scaled, c, acts[t], cs[t], hs[t])
            h, c = hs[t], cs[t]
        return
    tmp = xp.empty((b - a, H), hs.dtype)
    xw, hs, cs, acts = xw[:, a:b], hs[:, a:b], cs[:, a:b], acts[:, a:b]
    h, c = h0[a:b], c0[a:b]
    with np.errstate(over="ignore"):  # exp(-x) = inf for very negative x: sigmoid(x) = 0
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            np.matmul(h, ws, out=gates)
            gates += xw[t]
            if not scaled:
                gates *= scale
            np.exp(gates, out=gates)
            gates += 1
            a_t = acts[t]
            np.divide(numer, gates, out=a_t[:, :h4])
            i, f, g, o, tc = (a_t[:, k * H:(k + 1) * H] for k in range(5))
            g -= 1
            c_new, h_new = cs[t], hs[t]
            np.multiply(f, c, out=c_new)
            np.multiply(i, g, out=tmp)
            c_new += tmp
            np.tanh(c_new, out=tc)
            np.multiply(o, tc, out=h_new)
            h, c = h_new, c_new


def _lstm_seq_shape(xw, whhT, h0, c0, reverse):
    T, n, h4 = xw.shape
    dt = h0.dtype
    return [Aval((T, n, h4 // 4), dt), Aval((T, n, h4 // 4), dt), Aval((T, n, 5 * h4 // 4), dt)]


def _lstm_seq_vjp(ct, out, xw, whhT, h0, c0, reverse):
    from .elementwise import zeros_like_v
    ct_hs, ct_cs, ct_acts = ct
    if ct_acts is not None:  # a derivative of the backward itself (second order)
        return NotImplemented  # -> the reference's VJP
    hs, cs, acts = out
    ct_hs = ct_hs if ct_hs is not None else zeros_like_v(hs)
    ct_c = ct_cs is not None  # else (the cell states unused: the common case) no zeros
    return tuple(bind(lstm_seq_bwd_p, ct_hs, ct_cs if ct_c else ct_hs, hs, cs, acts, xw, whhT,
                      h0, c0, reverse=reverse, groups=1, ct_c=ct_c))


def _merge_batch(args, dims):
    """Fold the vmapped axis into the batch axis N of every argument: sequences (T, N, ...)
    and states (N, ...) become (T, B*N, ...) and (B*N, ...)."""
    from .elementwise import batch_all_front
    out = []
    for a in batch_all_front(args, dims):
        if a.ndim == 4:  # (B, T, N, K) -> (T, B*N, K)
            a = a.transpose(0, 1).reshape((a.shape[1], -1, a.shape[3]))
        else:  # (B, N, K) -> (B*N, K)
            a = a.reshape((-1, a.shape[2]))
        out.append(a)
    return out, next(a.shape[d] for a, d in zip(args, dims) if d is not None)


def _split_batch(x, b, seq):
    if seq:  # (T, B*N, K) -> (T, B, N, K), batched at 1
        return x.reshape((x.shape[0], b, -1, x.shape[2])), 1
    return x.reshape((b, -1, x.shape[1])), 0


def _lstm_seq_batch(args, dims, reverse):
    if dims[1] is not None:  # per-example recurrent weights
        return NotImplemented  # -> the reference under vmap
    w = args[1]
    rest, b = _merge_batch([a for k, a in enumerate(args) if k != 1],
                           [d for k, d in enumerate(dims) if k != 1])
    outs = bind(lstm_seq_p, rest[0], w, rest[1], rest[2], reverse=reverse)
    outs = [_split_batch(o, b, True) for o in outs]
    return [o for o, _ in outs], [d for _, d in outs]


lstm_seq_p = Primitive(
    "lstm_seq", _lstm_seq_impl, multiple_results=True, vjp_needs_out=True,
    shape=_lstm_seq_shape, vjp=_lstm_seq_vjp, batch=_lstm_seq_batch, reference=_lstm_seq_ref)
lstm_seq_p.vjp_accepts_none = True  # `acts` has a cotangent only in second order: no zeros


# lstm_seq_bwd(ct_hs, ct_cs, hs, cs, acts, xw, whhT, h0, c0) -> d xw (= d gates), d whhT,
# d h0, d c0. The impl reads the saved states and activations; the reference recomputes them
# from xw (which the impl does not read). `groups` > 1: vmap merged that many examples into
# N, and the weight's gradient is one per example, (groups, H, 4H). `ct_c` False: the cell
# states have no cotangent (the layer's cs unused) and ct_cs is a placeholder, not read.

def _lstm_seq_bwd_impl(ct_hs, ct_cs, hs, cs, acts, xw, whhT, h0, c0, *, reverse, groups,
                       ct_c=True):
    T, n, H = hs.shape
    dt = hs.dtype
    xp = namespace(hs)
    dgates = xp.empty((T, n, 4 * H), dt)
    dh = xp.zeros((n, H), dt)
    dc = xp.zeros((n, H), dt)
    ct_cs = ct_cs if ct_c else None
    parts = _row_parts(n, H)
    wT = _c_copy(xp, whhT.T)
    if len(parts) == 1:
        _lstm_seq_bwd_rows(ct_hs, ct_cs, hs, cs, acts, wT, c0, reverse, dgates, dh, dc, 0, n)
    else:
        threads.run_parts(_lstm_seq_bwd_rows,
                          [(ct_hs, ct_cs, hs, cs, acts, wT, c0, reverse, dgates, dh, dc, a, b)
                           for a, b in parts])
    # the state entering each step: [h0, hs[0], ..., hs[T-2]] (mirrored if reverse)
    first = h0.reshape((1,) + h0.shape)
    h_prev = first if T == 1 else \
        np.concatenate([hs[1:], first] if reverse else [first, hs[:-1]])
    if groups == 1:
        dw = _grad_like(whhT, h_prev.reshape(-1, H), dgates.reshape(-1, 4 * H))
    else:  # one gradient per example
        hp = h_prev.reshape(T, groups, -1, H).transpose(1, 3, 0, 2).reshape(groups, H, -1)
        dg_ = dgates.reshape(T, groups, -1, 4 * H).transpose(1, 0, 2, 3).reshape(
            groups, -1, 4 * H)
        dw = hp @ dg_
    return [dgates, dw.astype(dt, copy=False), dh, dc]


_BWD_CHUNK = 8  # steps whose step-local factors are computed together (cache-sized)


def _lstm_seq_bwd_rows(ct_hs, ct_cs, hs, cs, acts, wT, c0, reverse, dgates, dh, dc, a, b):
    """The backward recurrence for the examples a:b: their rows of dgates, dh, dc, with
    ``wT`` the recurrent weight W (4H, H) C-ordered (_c_copy of whhT.T, made once by the
    caller: a copy per call was 0.15 ms, 50 of them in text-lstm's backward).

    The factors of each gate's derivative that don't depend on the incoming dh/dc (as
    (1 - s) s x for a sigmoid gate s times its partner x, and o (1 - tanh(c)^2)) are computed
    for a chunk of _BWD_CHUNK steps at once, into dgates and a scratch buffer, so the
    sequential part of a step is 8 NumPy calls; the products are formed in the same order
    as step by step, so the bits are those of a per-step loop. With numba (backend/accel.py)
    each step's factors and elementwise part are one compiled kernel, the same roundings in
    the same order."""
    T, _, H = hs.shape
    ct_hs, cs, acts, dgates = (v[:, a:b] for v in (ct_hs, cs, acts, dgates))
    if ct_cs is not None:
        ct_cs = ct_cs[:, a:b]
    dh, dc, c0 = dh[a:b], dc[a:b], c0[a:b]
    K = accel.kernels_for(hs)
    if K is not None:
        ct_hs, ct_cs = _kernel_steps(ct_hs), _kernel_steps(ct_cs)
    if K is not None and all(_kernel_ready(v) for v in (ct_hs, ct_cs, cs, acts, dgates, dh,
                                                          dc)):
        c0 = _kernel_arg(c0)
        blas = _loop_gemm(wT, dh)
        if blas is not None:  # the whole loop compiled, its products by NumPy's sgemm
            K.lstm_seq_bwd(*blas, ct_hs, ct_hs if ct_cs is None else ct_cs, ct_cs is not None,
                           acts, cs, c0, wT, reverse, dgates, dh, dc)
            return
        for t in (range(T - 1, -1, -1) if not reverse else range(T)):
            c_prev = (c0 if t == 0 else cs[t - 1]) if not reverse else \
                (c0 if t == T - 1 else cs[t + 1])
            K.lstm_step_bwd(ct_hs[t], ct_hs[t] if ct_cs is None else ct_cs[t],
                            ct_cs is not None, acts[t], c_prev, dgates[t], dh, dc)
            np.matmul(dgates[t], wT, out=dh)
        return
    L = min(_BWD_CHUNK, T)
    xp = namespace(hs)
    m = b - a
    tmp = xp.empty((m, H), hs.dtype)
    q = xp.empty((L, m, H), hs.dtype)
    for k_hi in range(T, 0, -L):  # chunks of the processing order, last first
        k_lo = max(0, k_hi - L)
        ta, tb = (T - k_hi, T - k_lo) if reverse else (k_lo, k_hi)
        A, D, Q = acts[ta:tb], dgates[ta:tb], q[:tb - ta]
        i, f, g, o, tc = (A[..., j * H:(j + 1) * H] for j in range(5))
        di, df, dg, do = (D[..., j * H:(j + 1) * H] for j in range(4))
        np.subtract(1, A[..., :4 * H], out=D)          # (1 - s) s for the sigmoid gates
        D *= A[..., :4 * H]
        di *= g                                        # ... times their partners
        do *= tc
        if not reverse:
            if ta == 0:
                df[0] *= c0
                df[1:] *= cs[:tb - 1]
            else:
                df *= cs[ta - 1:tb - 1]
        elif tb == T:
            df[-1] *= c0
            df[:-1] *= cs[ta + 1:]
        else:
            df *= cs[ta + 1:tb + 1]
        np.multiply(g, g, out=dg)                      # (1 - g^2) i for the cell gate
        np.subtract(1, dg, out=dg)
        dg *= i
        np.multiply(tc, tc, out=Q)                     # (1 - tanh(c)^2) o
        np.subtract(1, Q, out=Q)
        Q *= o
        steps = range(tb - 1, ta - 1, -1) if not reverse else range(ta, tb)
        for t in steps:
            dh += ct_hs[t]
            if ct_cs is not None:
                dc += ct_cs[t]
            np.multiply(Q[t - ta], dh, out=tmp)        # dc += dh o (1 - tanh(c)^2)
            dc += tmp
            d4 = dgates[t].reshape(m, 4, H)
            d4[:, 3] *= dh                             # d output gate
            np.multiply(d4[:, :3], dc[:, None], out=d4[:, :3])  # d input, forget, cell
            dc *= acts[t, :, H:2 * H]                  # times f: into the previous step
            np.matmul(dgates[t], wT, out=dh)


def _lstm_seq_bwd_shape(ct_hs, ct_cs, hs, cs, acts, xw, whhT, h0, c0, *, reverse, groups,
                        ct_c=True):
    T, n, H = hs.shape
    w = tuple(whhT.shape) if groups == 1 else (groups,) + tuple(whhT.shape)
    return [Aval((T, n, 4 * H), hs.dtype), Aval(w, hs.dtype), Aval((n, H), hs.dtype),
            Aval((n, H), hs.dtype)]


def _lstm_seq_bwd_ref(ct_hs, ct_cs, hs, cs, acts, xw, whhT, h0, c0, *, reverse, groups,
                      ct_c=True):
    """lstm_seq_bwd by definition: the VJP of lstm_seq's reference at (xw, whhT, h0, c0);
    with groups > 1, taken for one copy of the weight per group of examples."""
    w = whhT if groups == 1 else whhT.expand((groups,) + tuple(whhT.shape))
    return list(derived_rule("vjp", lstm_seq_p, [ct_hs, ct_cs if ct_c else None, None], None,
                             xw, w, h0, c0, reverse=reverse))


def _lstm_seq_bwd_batch(args, dims, reverse, groups, ct_c=True):
    iw = 6  # whhT
    if dims[iw] is not None:  # per-example recurrent weights
        return NotImplemented  # -> the reference under vmap
    w = args[iw]
    rest, b = _merge_batch([a for k, a in enumerate(args) if k != iw],
                           [d for k, d in enumerate(dims) if k != iw])
    rest.insert(iw, w)
    dg, dw, dh, dc = bind(lstm_seq_bwd_p, *rest, reverse=reverse, groups=groups * b,
                          ct_c=ct_c)
    dw = dw.reshape((b,) + tuple(w.shape)) if groups == 1 else \
        dw.reshape((b, groups) + tuple(w.shape))
    (dg, ddg), (dh, ddh), (dc, ddc) = (_split_batch(dg, b, True), _split_batch(dh, b, False),
                                       _split_batch(dc, b, False))
    return [dg, dw, dh, dc], [ddg, 0, ddh, ddc]


lstm_seq_bwd_p = Primitive(
    "lstm_seq_bwd", _lstm_seq_bwd_impl, multiple_results=True, shape=_lstm_seq_bwd_shape,
    batch=_lstm_seq_bwd_batch, reference=_lstm_seq_bwd_ref)


def _check_sequence(op, names, xw, *others):
    """A fused recurrence's common conditions: a non-empty sequence, one dtype for all."""
    if xw.shape[0] == 0:
        raise OpError(f"{op}: the sequence is empty (T = 0)")
    dts = {v.dtype for v in (xw, *others)}
    if len(dts) != 1:
        raise TypeError(f"{op}: {names} must share one dtype, got "
                        f"{sorted(d.name for d in dts)}")


def lstm_sequence(xw, whh_t, h0, c0, reverse=False):
    """An LSTM layer's recurrence over a whole sequence: ``xw`` (T, N, 4H) are the input
    projections with biases, ``whh_t`` (H, 4H) the transposed recurrent weight, ``h0``/``c0``
    (N, H) the initial states; gates in PyTorch's order (input, forget, cell, output).
    Returns the hidden and cell states of every step, (T, N, H) each; ``reverse`` runs the
    sequence from its last step to its first."""
    xw, w, h0, c0 = (as_value(v) for v in (xw, whh_t, h0, c0))
    if xw.ndim != 3 or w.ndim != 2 or xw.shape[2] != w.shape[1] or w.shape[1] != 4 * w.shape[0] \
            or tuple(h0.shape) != (xw.shape[1], w.shape[0]) or tuple(c0.shape) != tuple(h0.shape):
        raise OpError(
            f"lstm_sequence: expected xw (T, N, 4H), whh_t (H, 4H), h0 and c0 (N, H); got xw "
            f"{tuple(xw.shape)}, whh_t {tuple(w.shape)}, h0 {tuple(h0.shape)}, c0 "
            f"{tuple(c0.shape)}")
    _check_sequence("lstm_sequence", "xw, whh_t, h0, c0", xw, w, h0, c0)
    hs, cs, _ = bind(lstm_seq_p, xw, w, h0, c0, reverse=bool(reverse))
    return hs, cs


export(lstm_sequence, __all__)


# ---- two stacked LSTM layers as one primitive: the wavefront on two threads -----------------
#
# lstm2_seq(x, wih1T, b1, whh1T, wih2T, b2, whh2T, h01, c01, h02, c02) runs two layers from
# the first one's input x (T, N, E): each layer's input projections are formed inside, one
# GEMM per block of _WAVE_BLOCK steps (x[block] @ wih1T + b1, hs1[block] @ wih2T + b2), each
# recurrence is lstm_seq's. Outputs: each layer's hs, cs and acts, as lstm_seq's. With the
# switch on (N * H >= _WAVE_MIN_NH and two cores) layer 2 runs block k on a kernel thread
# while layer 1 runs block k+1 (the wavefront, backend/threads.py): layer 1's projections
# are made by its own thread a block at a time, in cache (no (T, N, 4H) array of them, no
# separate pass adding the bias); its VJP lstm2_seq_bwd is the reverse wavefront: layer 2's
# backward runs block k (from the last) while layer 1's backward runs block k+1, whose
# input cotangents dgates2[block] @ wih2T^T + ct_hs1[block] layer 2 has just made
# available; x's, wih1T's and b1's cotangents are whole-sequence products after it.
# The blocks are fixed by the shapes and every block runs the same kernels in either
# schedule (each layer's recurrence over a block is lstm_seq's kernel with the previous
# block's last state), so the bits are the same with the switch on or off, eager or jit;
# they may differ from two lstm_seq calls (the projections there are one GEMM over all
# steps). The reference (JVP, second order, vmap over weights) is the projection and two
# lstm_seq binds.
_WAVE_BLOCK = 8  # steps per block: one handoff and one projection GEMM per block


def _wave_min_from_env(default):
    v = os.environ.get("EMBER_LSTM_WAVE_MIN_NH", "").strip().lower()
    if not v:
        return default
    if v in ("off", "none", "never"):
        return None
    try:
        return int(v)
    except ValueError:
        raise ValueError(f"EMBER_LSTM_WAVE_MIN_NH={v!r}: expected an integer (batch x hidden "
                         f"size from which two LSTM layers run as a wavefront on two threads) "
                         f"or 'off'") from None


# The wavefront on two threads when batch * hidden >= _WAVE_MIN_NH (None: never); a module
# constant, set from the environment variable EMBER_LSTM_WAVE_MIN_NH ('off' or an integer).
# Default 8192 (text-lstm's 64 x 128 and up): on a quiet 2-core machine the forward of two
# layers as a wavefront took 116-124 ms fastest / 148-152 median vs 155-163 / 164-173 on one
# thread (session 10, benchmarks/lstm_wavefront.py); with half that work per step (32 rows)
# two threads splitting a batch were 20% slower, the GIL serialising the per-call Python.
# Re-measure with `python benchmarks/lstm_wavefront.py --rounds 10` on a quiet machine.
_WAVE_MIN_NH = _wave_min_from_env(8192)


def _wave_blocks(T):
    return [(a, min(T, a + _WAVE_BLOCK)) for a in range(0, T, _WAVE_BLOCK)]


def _wave_on(n, H):
    return _WAVE_MIN_NH is not None and n * H >= _WAVE_MIN_NH


def _grad_like(w, a, b):
    """The product a^T @ b, a gradient of the weight ``w``, in ``w``'s layout: for a transposed
    view (nn.LSTM and nn.GRU pass theirs as ``weight.mT``) the transpose of a C-ordered
    b^T @ a, so that the parameter's own gradient comes out C-ordered (a transposed one made
    each of the optimizer's element-wise passes over it ~30x slower: 0.15 against 0.005 ms
    for a (512, 128) add)."""
    return (b.T @ a).T if transposed_matrix(w) else a.T @ b


def _dx_like(x, dg, w):
    """dg (T, n, 4H) @ w (4H, E): the cotangent of a sequence ``x`` (T, n, E) in ``x``'s
    layout. A time-first view of batch-major rows (nn.LSTM's batch_first input, an
    embedding's output) gets batch-major rows, one product per example (its steps' rows of
    dg are evenly spaced): the gradient of the embedding before it then reads them in place
    (a transposing copy of text-lstm's 5 MB cotangent made it 1.55 ms against 0.74)."""
    T, n, h4 = dg.shape
    if not (n > 1 and x.transpose(1, 0, 2).flags.c_contiguous):
        return np.matmul(dg.reshape(-1, h4), w).reshape(T, n, -1)
    out = namespace(dg).empty((n, T, w.shape[1]), dg.dtype)
    for i in range(n):
        np.matmul(dg[:, i], w, out=out[i])
    return out.transpose(1, 0, 2)


def _c_copy(xp, a, dtype=None):
    """``a`` as a fresh C-ordered array (of ``dtype``, default a's): one memory layout (and
    with it one BLAS call, one order of sums) whether the caller passed a view (eager:
    ``w.mT``) or a copy (jit)."""
    out = xp.empty(a.shape, a.dtype if dtype is None else dtype)
    out[...] = a
    return out


# Layer 2's projections of every _WAVE_A_SHARE-th block are made by layer 1's thread, the
# others by layer 2's: the two threads' work balanced (layer 1's thread also projects x).
# text-lstm's forward (200 steps, batch 64, H 128, E 100), alternating in one process,
# median ms: every 3rd block 50.3, 4th 48.4, 6th 47.0, 8th 46.2, 12th 46.0, none 46.8
_WAVE_A_SHARE = 12


def _lstm2_seq_impl(x, wih1T, b1, whh1T, wih2T, b2, whh2T, h01, c01, h02, c02):
    T, n, E = x.shape
    h4 = whh1T.shape[1]
    H = h4 // 4
    xp = namespace(x)
    dt = x.dtype
    outs = [xp.empty(s, dt) for s in ((T, n, H), (T, n, H), (T, n, 5 * H)) * 2]
    hs1, cs1, a1, hs2, cs2, a2 = outs
    scale, numer = _lstm_scales(xp, h4, dt)
    # both layers' projections and recurrent weights times the gates' scales (powers of
    # two: the same bits as scaling each step's pre-activations after its product)
    # (C-ordered copies, whether the weights came as views or not: the step products with a
    # transposed view of the recurrent weight made text-lstm's forward 51.5 ms against 45.5)
    ws1, ws2, wi1, wi2 = (_c_copy(xp, w) for w in (whh1T, whh2T, wih1T, wih2T))
    for w in (ws1, ws2, wi1, wi2):
        w *= scale
    b1s, b2s = b1 * scale, b2 * scale
    L = min(_WAVE_BLOCK, T)
    xw1 = xp.empty((L, n, h4), dt)  # one block's projections of layer 1 (its thread's)
    xb = None if x.flags.c_contiguous else xp.empty((L, n, E), dt)
    xw2 = xp.empty((T, n, h4), dt)

    def project(src, w, bias, dst):  # (m, n, K) @ (K, 4H) + bias into dst (m, n, 4H)
        np.matmul(src.reshape(-1, src.shape[-1]), w, out=dst.reshape(-1, h4))
        dst += bias

    def by_layer1(a):
        return a // _WAVE_BLOCK % _WAVE_A_SHARE == _WAVE_A_SHARE - 1

    def layer1(a, b):
        src = x[a:b]
        if xb is not None:  # (a time-first view of batch-first rows: this block's copied)
            src = xb[:b - a]
            src[...] = x[a:b]
        project(src, wi1, b1s, xw1[:b - a])
        h, c = (h01, c01) if a == 0 else (hs1[a - 1], cs1[a - 1])
        _lstm_seq_rows(xw1[:b - a], ws1, h, c, False, hs1[a:b], cs1[a:b], a1[a:b], scale,
                       numer, 0, n, scaled=True)
        if by_layer1(a):
            project(hs1[a:b], wi2, b2s, xw2[a:b])

    def layer2(a, b):
        if not by_layer1(a):
            project(hs1[a:b], wi2, b2s, xw2[a:b])
        h, c = (h02, c02) if a == 0 else (hs2[a - 1], cs2[a - 1])
        _lstm_seq_rows(xw2[a:b], ws2, h, c, False, hs2[a:b], cs2[a:b], a2[a:b], scale, numer,
                       0, n, scaled=True)

    threads.wavefront(layer1, layer2, _wave_blocks(T), _wave_on(n, H))
    return outs


def _lstm2_seq_ref(x, wih1T, b1, whh1T, wih2T, b2, whh2T, h01, c01, h02, c02):
    """lstm2_seq by definition: the projections per block and two lstm_seq binds."""
    from .indexing import cat
    T, n = x.shape[:2]
    h4 = whh1T.shape[1]

    def project(src, w, bias):
        K = src.shape[-1]
        return cat([(src[a:b].reshape((-1, K)) @ w).reshape((b - a, n, h4))
                    for a, b in _wave_blocks(T)], 0) + bias
    hs1, cs1, a1 = bind(lstm_seq_p, project(x, wih1T, b1), whh1T, h01, c01, reverse=False)
    xw2 = project(hs1, wih2T, b2)
    hs2, cs2, a2 = bind(lstm_seq_p, xw2, whh2T, h02, c02, reverse=False)
    return [hs1, cs1, a1, hs2, cs2, a2]


def _lstm2_seq_shape(x, wih1T, b1, whh1T, wih2T, b2, whh2T, h01, c01, h02, c02):
    T, n = x.shape[:2]
    H, dt = whh1T.shape[0], x.dtype
    return [Aval(s, dt) for s in ((T, n, H), (T, n, H), (T, n, 5 * H)) * 2]


def _lstm2_seq_vjp(ct, out, *primals):
    from .elementwise import zeros_like_v
    c_hs1, c_cs1, c_a1, c_hs2, c_cs2, c_a2 = ct
    if c_a1 is not None or c_a2 is not None:  # second order
        return NotImplemented  # -> the reference's VJP
    c_hs2 = c_hs2 if c_hs2 is not None else zeros_like_v(out[3])
    flags = dict(ct_h1=c_hs1 is not None, ct_c1=c_cs1 is not None, ct_c2=c_cs2 is not None)
    # a cotangent not given (None) is not read: its place holds c_hs2
    cts = [v if v is not None else c_hs2 for v in (c_hs1, c_cs1, c_hs2, c_cs2)]
    return tuple(bind(lstm2_seq_bwd_p, *cts, *out, *primals, **flags))


def _lstm2_seq_batch(args, dims):
    if any(d is not None for d in dims[1:7]):  # per-example weights or biases
        return NotImplemented  # -> the reference under vmap
    w = args[1:7]
    rest, b = _merge_batch([args[0]] + list(args[7:]), [dims[0]] + list(dims[7:]))
    outs = bind(lstm2_seq_p, rest[0], *w, *rest[1:])
    outs = [_split_batch(o, b, True) for o in outs]
    return [o for o, _ in outs], [d for _, d in outs]


lstm2_seq_p = Primitive(
    "lstm2_seq", _lstm2_seq_impl, multiple_results=True, vjp_needs_out=True, foldable=False,
    shape=_lstm2_seq_shape, vjp=_lstm2_seq_vjp, batch=_lstm2_seq_batch, reference=_lstm2_seq_ref)
lstm2_seq_p.vjp_accepts_none = True


# lstm2_seq_bwd(ct_hs1, ct_cs1, ct_hs2, ct_cs2, hs1, cs1, acts1, hs2, cs2, acts2, x, wih1T,
# b1, whh1T, wih2T, b2, whh2T, h01, c01, h02, c02) -> the cotangents of lstm2_seq's eleven
# inputs. The
# flags ct_h1, ct_c1, ct_c2 False: that cotangent was not given (its place holds another
# array, not read). No batching rule of its own: vmap runs its reference (the derived VJP of
# lstm2_seq's reference, i.e. lstm_seq_bwd twice).

def _w_grad(hs, h0, dg, like):
    """The recurrent weight's gradient h_prev^T dg over all steps of a forward recurrence,
    h_prev = [h0, hs[0], ..., hs[T-2]]: one product over steps 1.. (hs[:-1] as it is, no
    copy of the states) plus step 0's; laid out as ``like`` (_grad_like)."""
    H, h4 = hs.shape[-1], dg.shape[-1]
    w = _grad_like(like, h0, dg[0])
    if hs.shape[0] > 1:
        w = _grad_like(like, hs[:-1].reshape(-1, H), dg[1:].reshape(-1, h4)) + w
    return w


def _lstm2_seq_bwd_impl(ct_hs1, ct_cs1, ct_hs2, ct_cs2, hs1, cs1, a1, hs2, cs2, a2, x, wih1T,
                        b1, whh1T, wih2T, b2, whh2T, h01, c01, h02, c02, *, ct_h1=True,
                        ct_c1=True, ct_c2=True):
    T, n, H = hs1.shape
    h4 = 4 * H
    dt = hs1.dtype
    xp = namespace(hs1)
    dg1, dg2 = xp.empty((T, n, h4), dt), xp.empty((T, n, h4), dt)
    dh1, dc1, dh2, dc2 = (xp.zeros((n, H), dt) for _ in range(4))
    # W (4H, H) C-ordered: OpenBLAS's product with the transposed view of W^T was slower
    # ((64, 512) @ (512, 128), one thread: 111 -> 88 us a step)
    w1, w2 = _c_copy(xp, whh1T.T), _c_copy(xp, whh2T.T)
    wi2 = _c_copy(xp, wih2T.T)  # (4H, H)
    ccs1, ccs2 = (ct_cs1 if ct_c1 else None), (ct_cs2 if ct_c2 else None)
    ct1 = xp.empty((min(_WAVE_BLOCK, T), n, H), dt)
    grads = {}

    def layer2(a, b):
        c = c02 if a == 0 else cs2[a - 1]
        _lstm_seq_bwd_rows(ct_hs2[a:b], None if ccs2 is None else ccs2[a:b], hs2[a:b],
                           cs2[a:b], a2[a:b], w2, c, False, dg2[a:b], dh2, dc2, 0, n)

    E = x.shape[-1]
    g1, g2 = dg1.reshape(-1, h4), dg2.reshape(-1, h4)
    layer1_done = threading.Event()  # (set by layer 1's last block, or by its error)

    def layer1(a, b):
        try:
            d = ct1[:b - a]
            np.matmul(dg2[a:b].reshape(-1, h4), wi2, out=d.reshape(-1, H))
            if ct_h1:
                d += ct_hs1[a:b]
            c = c01 if a == 0 else cs1[a - 1]
            _lstm_seq_bwd_rows(d, None if ccs1 is None else ccs1[a:b], hs1[a:b], cs1[a:b],
                               a1[a:b], w1, c, False, dg1[a:b], dh1, dc1, 0, n)
        except BaseException:
            layer1_done.set()
            raise
        if a == 0:
            layer1_done.set()

    # The products over all steps after the recurrences, each on one thread: layer 2's
    # weights' and wih1T's on layer 2's (which finishes its recurrence first), layer 1's
    # recurrent weight's and x's on layer 1's. Before, x's and wih1T's ran after both threads
    # had finished, each on two BLAS threads (OpenBLAS at ~80% on two for these (12800, 512)
    # @ (512, 100) shapes): text-lstm's backward, alternating, median 91.0 -> 88.2 ms.
    def layer2_tail():
        grads["w2"] = _w_grad(hs2, h02, dg2, whh2T)
        grads["wi2"] = _grad_like(wih2T, hs1.reshape(-1, H), g2)
        grads["b2"] = g2.sum(0)
        layer1_done.wait()
        grads["wi1"] = _grad_like(wih1T, x.reshape(-1, E), g1)  # (x's rows copied if a view)
        grads["b1"] = g1.sum(0)

    def layer1_tail():
        grads["w1"] = _w_grad(hs1, h01, dg1, whh1T)
        grads["x"] = _dx_like(x, dg1, _c_copy(xp, wih1T.T))

    threads.wavefront(layer2, layer1, _wave_blocks(T)[::-1], _wave_on(n, H),
                      first_tail=layer2_tail, second_tail=layer1_tail)
    return [grads[k] for k in ("x", "wi1", "b1", "w1", "wi2", "b2", "w2")] + [dh1, dc1, dh2,
                                                                            dc2]


def _lstm2_seq_bwd_shape(ct_hs1, ct_cs1, ct_hs2, ct_cs2, hs1, cs1, a1, hs2, cs2, a2, x, wih1T,
                         b1, whh1T, wih2T, b2, whh2T, h01, c01, h02, c02, **_):
    T, n, H = hs1.shape
    E = x.shape[-1]
    dt = hs1.dtype
    return [Aval(s, dt) for s in ((T, n, E), (E, 4 * H), (4 * H,), (H, 4 * H), (H, 4 * H),
                                  (4 * H,), (H, 4 * H),
                                  (n, H), (n, H), (n, H), (n, H))]


def _lstm2_seq_bwd_ref(ct_hs1, ct_cs1, ct_hs2, ct_cs2, hs1, cs1, a1, hs2, cs2, a2, *primals,
                       ct_h1=True, ct_c1=True, ct_c2=True):
    """lstm2_seq_bwd by definition: the VJP of lstm2_seq's reference."""
    cts = [ct_hs1 if ct_h1 else None, ct_cs1 if ct_c1 else None, None, ct_hs2,
           ct_cs2 if ct_c2 else None, None]
    return list(derived_rule("vjp", lstm2_seq_p, cts, None, *primals))


lstm2_seq_bwd_p = Primitive(
    "lstm2_seq_bwd", _lstm2_seq_bwd_impl, multiple_results=True, foldable=False,
    shape=_lstm2_seq_bwd_shape, reference=_lstm2_seq_bwd_ref)


def lstm2_sequence(x, wih1_t, b1, whh1_t, wih2_t, b2, whh2_t, h0, c0):
    """Two stacked LSTM layers over a whole sequence, as one primitive: ``x`` (T, N, E) is
    layer 1's input, ``wih1_t`` (E, 4H) its transposed input weight, ``b1`` (4H,) both of
    its biases, ``whh1_t`` (H, 4H) its transposed recurrent weight; layer 2's input
    projections are ``hs1 @ wih2_t + b2`` (``wih2_t`` (H, 4H), ``b2`` (4H,)), ``whh2_t``
    (H, 4H) its recurrent weight; ``h0``/``c0`` (2, N, H) the initial states of the two
    layers. Returns ``(hs1, cs1), (hs2, cs2)``, each (T, N, H). Above a size
    (``EMBER_LSTM_WAVE_MIN_NH``) layer 2 runs on a second thread one block of steps behind
    layer 1, and its backward the other way round; same bits either way."""
    names = ("x", "wih1_t", "b1", "whh1_t", "wih2_t", "b2", "whh2_t", "h0", "c0")
    vals = [as_value(v) for v in (x, wih1_t, b1, whh1_t, wih2_t, b2, whh2_t, h0, c0)]
    x, wi1, b1, w1, wi2, b2, w2, h0, c0 = vals
    H = w1.shape[0] if w1.ndim == 2 else 0
    T, n, E = tuple(x.shape) if x.ndim == 3 else (0, -1, -1)
    if H < 1 or x.ndim != 3 or tuple(wi1.shape) != (E, 4 * H) or \
            any(tuple(v.shape) != (H, 4 * H) for v in (w1, wi2, w2)) or \
            any(tuple(v.shape) != (4 * H,) for v in (b1, b2)) or \
            any(tuple(v.shape) != (2, n, H) for v in (h0, c0)):
        raise OpError(
            "lstm2_sequence: expected x (T, N, E), wih1_t (E, 4H), b1 and b2 (4H,), whh1_t, "
            "wih2_t, whh2_t (H, 4H), h0 and c0 (2, N, H); got " + ", ".join(
                f"{k} {tuple(v.shape)}" for k, v in zip(names, vals)))
    _check_sequence("lstm2_sequence", ", ".join(names), *vals)
    hs1, cs1, _, hs2, cs2, _ = bind(lstm2_seq_p, x, wi1, b1, w1, wi2, b2, w2, h0[0], c0[0],
                                    h0[1], c0[1])
    return (hs1, cs1), (hs2, cs2)


export(lstm2_sequence, __all__)


# ---- a whole GRU layer's recurrence: one fused primitive forward, one backward --------------
#
# gru_seq(xw, whhT, bhh, h0) runs PyTorch's GRU recurrence over T steps: xw (T, N, 3H) holds
# the input projections with b_ih (gates reset, update, new), whhT (H, 3H) is the recurrent
# weight transposed and bhh (3H,) its bias:
#   r, z = sigmoid(x_rz + h W_rz + b_rz);  hn = h W_n + b_n;  n = tanh(x_n + r hn)
#   h' = n + z (h - n)                           (= (1 - z) n + z h)
# Outputs: hs (T, N, H) and `acts` (T, N, 4H) = r, z, n, hn of every step, which the backward
# reads. As lstm_seq: the recurrence is written once in ember ops (_gru_seq_ref, the reference
# every derived rule comes from), the impl is a NumPy loop over preallocated buffers, the
# first-order VJP a second fused primitive (gru_seq_bwd) whose recurrent weight and bias
# gradients are one product / one sum over all steps after its loop.

def _gru_seq_ref(xw, whhT, bhh, h0, reverse):
    """The GRU recurrence in ember ops, the definition of gru_seq. ``whhT`` (H, 3H) and
    ``bhh`` (3H,), or (G, H, 3H) and (G, 3H): one recurrent weight and bias per group of N/G
    examples (gru_seq_bwd's reference uses that for per-example gradients)."""
    from .elementwise import sigmoid, tanh
    from .indexing import cat, stack
    H = whhT.shape[-2]
    xs = xw.unbind(0)
    hs, acts = [None] * len(xs), [None] * len(xs)
    h = h0
    for t in _steps(len(xs), reverse):
        if whhT.ndim == 3:
            G = whhT.shape[0]
            gh = ((h.reshape((G, -1, H)) @ whhT) + bhh.reshape((G, 1, 3 * H))).reshape(
                tuple(xs[t].shape))
        else:
            gh = h @ whhT + bhh
        rz = sigmoid(xs[t][..., :2 * H] + gh[..., :2 * H])
        r, z = rz[..., :H], rz[..., H:]
        hn = gh[..., 2 * H:]
        n = tanh(xs[t][..., 2 * H:] + r * hn)
        h = n + z * (h - n)
        hs[t], acts[t] = h, cat([r, z, n, hn], -1)
    return [stack(hs), stack(acts)]


def _gru_seq_impl(xw, whhT, bhh, h0, reverse):
    T, n, h3 = xw.shape
    H = h3 // 3
    xp = namespace(xw)
    dt = np.result_type(xw.dtype, whhT.dtype, bhh.dtype, h0.dtype)
    hs = xp.empty((T, n, H), dt)
    acts = xp.empty((T, n, 4 * H), dt)
    # sigmoid(a) = 1 / (1 + exp(-a)): the reset/update columns of the weight are negated (exact)
    ws = _c_copy(xp, whhT, dt)  # (the step products with a transposed view: 10% slower)
    np.negative(ws[:, :2 * H], out=ws[:, :2 * H])
    nb = (-bhh[:2 * H]).astype(dt, copy=False)
    bn = bhh[2 * H:].astype(dt, copy=False)
    gh = xp.empty((n, h3), dt)
    K = accel.kernels_for(hs)
    if K is not None:  # the step after its product as one compiled kernel
        xw, h = _kernel_arg(xw), _kernel_arg(h0.astype(dt, copy=False))
        nb, bn = _kernel_arg(nb), _kernel_arg(bn)
        v, p, e = np.empty(2 * H, dt), np.empty(2 * H, dt), np.empty(2 * H, np.int32)
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            np.matmul(h, ws, out=gh)
            K.gru_step_fwd(gh, xw[t], nb, bn, h, acts[t], hs[t], v, p, e)
            h = hs[t]
        return [hs, acts]
    L = min(_FWD_CHUNK, T)
    xs = xp.empty((L, n, 2 * H), dt)
    h = h0
    with np.errstate(over="ignore"):  # exp(-a) = inf for very negative a: sigmoid(a) = 0
        for k_lo in range(0, T, L):  # chunks of the processing order
            k_hi = min(T, k_lo + L)
            ta, tb = (T - k_hi, T - k_lo) if reverse else (k_lo, k_hi)
            np.subtract(nb, xw[ta:tb, :, :2 * H], out=xs[:tb - ta])  # -(x_rz + b_rz)
            for t in (range(tb - 1, ta - 1, -1) if reverse else range(ta, tb)):
                np.matmul(h, ws, out=gh)
                a_t = acts[t]
                rz, r, z, nn, hn = (a_t[:, :2 * H], a_t[:, :H], a_t[:, H:2 * H],
                                    a_t[:, 2 * H:3 * H], a_t[:, 3 * H:])
                np.add(gh[:, :2 * H], xs[t - ta], out=rz)
                np.exp(rz, out=rz)
                rz += 1
                np.divide(1, rz, out=rz)
                np.add(gh[:, 2 * H:], bn, out=hn)
                np.multiply(r, hn, out=nn)
                nn += xw[t, :, 2 * H:]
                np.tanh(nn, out=nn)
                h_new = hs[t]
                np.subtract(h, nn, out=h_new)
                h_new *= z
                h_new += nn
                h = h_new
    return [hs, acts]


def _gru_seq_shape(xw, whhT, bhh, h0, reverse):
    T, n, h3 = xw.shape
    dt = h0.dtype
    return [Aval((T, n, h3 // 3), dt), Aval((T, n, 4 * h3 // 3), dt)]


def _gru_seq_vjp(ct, out, xw, whhT, bhh, h0, reverse):
    from .elementwise import zeros_like_v
    ct_hs, ct_acts = ct
    if ct_acts is not None:  # a derivative of the backward itself (second order)
        return NotImplemented  # -> the reference's VJP
    hs, acts = out
    ct_hs = ct_hs if ct_hs is not None else zeros_like_v(hs)
    return tuple(bind(gru_seq_bwd_p, ct_hs, hs, acts, xw, whhT, bhh, h0, reverse=reverse,
                      groups=1))


def _gru_seq_batch(args, dims, reverse):
    if dims[1] is not None or dims[2] is not None:  # per-example recurrent weights
        return NotImplemented  # -> the reference under vmap
    rest, b = _merge_batch([args[0], args[3]], [dims[0], dims[3]])
    outs = bind(gru_seq_p, rest[0], args[1], args[2], rest[1], reverse=reverse)
    outs = [_split_batch(o, b, True) for o in outs]
    return [o for o, _ in outs], [d for _, d in outs]


gru_seq_p = Primitive(
    "gru_seq", _gru_seq_impl, multiple_results=True, vjp_needs_out=True,
    shape=_gru_seq_shape, vjp=_gru_seq_vjp, batch=_gru_seq_batch, reference=_gru_seq_ref)
gru_seq_p.vjp_accepts_none = True  # `acts` has a cotangent only in second order: no zeros


# gru_seq_bwd(ct_hs, hs, acts, xw, whhT, bhh, h0) -> d xw, d whhT, d bhh, d h0. The impl reads
# the saved states and activations; the reference recomputes them from xw. `groups` > 1: vmap
# merged that many examples into N; the weight and bias gradients are one per example.

def _gru_seq_bwd_impl(ct_hs, hs, acts, xw, whhT, bhh, h0, *, reverse, groups):
    T, n, H = hs.shape
    dt = hs.dtype
    xp = namespace(hs)
    dxw = xp.empty((T, n, 3 * H), dt)
    dghn = xp.empty((T, n, H), dt)  # d(hn) = d(n's pre-activation) * r: hn's own gradient
    dh = xp.zeros((n, H), dt)
    first = h0.reshape((1,) + h0.shape)
    h_prev = first if T == 1 else \
        np.concatenate([hs[1:], first] if reverse else [first, hs[:-1]])
    _gru_seq_bwd_rows(ct_hs, h_prev, acts, whhT, reverse, dxw, dghn, dh)
    hp = h_prev.reshape(-1, H)
    drz = dxw.reshape(-1, 3 * H)[:, :2 * H]
    dn = dghn.reshape(-1, H)
    if groups == 1:
        dw = np.concatenate([drz.T @ hp, dn.T @ hp]).T if transposed_matrix(whhT) else \
            np.concatenate([hp.T @ drz, hp.T @ dn], axis=1)  # (as _grad_like)
        db = np.concatenate([np.add.reduce(drz, axis=0), np.add.reduce(dn, axis=0)])
    else:  # one gradient per example
        dg = np.concatenate([drz, dn], axis=1).reshape(T, groups, -1, 3 * H).transpose(
            1, 0, 2, 3).reshape(groups, -1, 3 * H)
        hpg = h_prev.reshape(T, groups, -1, H).transpose(1, 3, 0, 2).reshape(groups, H, -1)
        dw = hpg @ dg
        db = np.add.reduce(dg, axis=1)
    return [dxw, dw.astype(dt, copy=False), db.astype(dt, copy=False), dh]


def _gru_seq_bwd_rows(ct_hs, h_prev, acts, whhT, reverse, dxw, dghn, dh):
    """The backward recurrence: dxw = (d r, d z, d n) pre-activations, dghn = d hn, and the
    carried dh (d h0 at the end). The factors of each gate's derivative that don't depend on
    the incoming dh are computed for a chunk of _BWD_CHUNK steps at once:
      d n = dh (1 - z)(1 - n^2),  d z = dh (h - n) z (1 - z),  d r = d n hn r (1 - r)."""
    T, n, H = h_prev.shape
    xp = namespace(h_prev)
    dt = h_prev.dtype
    tmp = xp.empty((n, H), dt)
    # C-ordered, as in _lstm_seq_bwd_rows
    wrz, wn = (_c_copy(xp, w.T) for w in (whhT[:, :2 * H], whhT[:, 2 * H:]))
    K = accel.kernels_for(h_prev)
    if K is not None:
        ct_hs = _kernel_steps(ct_hs)
    if K is not None and all(_kernel_ready(v) for v in (ct_hs, h_prev, acts, dh)):
        # each step's factors and elementwise part in one compiled kernel: the same
        # operations in the same order as below, so the same bits
        for t in (range(T - 1, -1, -1) if not reverse else range(T)):
            K.gru_step_bwd(ct_hs[t], acts[t], h_prev[t], dh, dxw[t], dghn[t], tmp)
            _gru_step_products(dxw[t], dghn[t], wrz, wn, dh, tmp)
        return
    L = min(_BWD_CHUNK, T)
    F = xp.empty((L, n, 3 * H), dt)  # the factors of d r, d z, d n
    zc = xp.empty((L, n, H), dt)
    for k_hi in range(T, 0, -L):  # chunks of the processing order, last first
        k_lo = max(0, k_hi - L)
        ta, tb = (T - k_hi, T - k_lo) if reverse else (k_lo, k_hi)
        A, Fc, Z = acts[ta:tb], F[:tb - ta], zc[:tb - ta]
        r, z, nn, hn = (A[..., j * H:(j + 1) * H] for j in range(4))
        fr, fz, fn = (Fc[..., j * H:(j + 1) * H] for j in range(3))
        np.subtract(1, z, out=Z)
        np.multiply(nn, nn, out=fn)                    # (1 - z)(1 - n^2)
        np.subtract(1, fn, out=fn)
        fn *= Z
        np.subtract(h_prev[ta:tb], nn, out=fz)         # (h - n) z (1 - z)
        fz *= z
        fz *= Z
        np.subtract(1, r, out=fr)                      # (1 - r) r hn (1 - z)(1 - n^2)
        fr *= r
        fr *= hn
        fr *= fn
        for t in (range(tb - 1, ta - 1, -1) if not reverse else range(ta, tb)):
            dh += ct_hs[t]
            np.multiply(Fc[t - ta].reshape(n, 3, H), dh[:, None], out=dxw[t].reshape(n, 3, H))
            np.multiply(dxw[t, :, 2 * H:], acts[t, :, :H], out=dghn[t])
            np.multiply(dh, acts[t, :, H:2 * H], out=tmp)  # dh z: straight into h
            _gru_step_products(dxw[t], dghn[t], wrz, wn, dh, tmp)


def _gru_step_products(dxw_t, dghn_t, wrz, wn, dh, tmp):
    """A GRU backward step's products: dh = d(r, z) wrz + tmp + d(hn) wn, where ``tmp``
    holds dh z on entry (used as scratch)."""
    H = dh.shape[-1]
    np.matmul(dxw_t[:, :2 * H], wrz, out=dh)
    dh += tmp
    np.matmul(dghn_t, wn, out=tmp)
    dh += tmp


def _gru_seq_bwd_shape(ct_hs, hs, acts, xw, whhT, bhh, h0, *, reverse, groups):
    T, n, H = hs.shape
    g = () if groups == 1 else (groups,)
    return [Aval((T, n, 3 * H), hs.dtype), Aval(g + tuple(whhT.shape), hs.dtype),
            Aval(g + tuple(bhh.shape), hs.dtype), Aval((n, H), hs.dtype)]


def _gru_seq_bwd_ref(ct_hs, hs, acts, xw, whhT, bhh, h0, *, reverse, groups):
    """gru_seq_bwd by definition: the VJP of gru_seq's reference at (xw, whhT, bhh, h0); with
    groups > 1, taken for one copy of the weight and bias per group of examples."""
    w, b = (whhT, bhh) if groups == 1 else (
        whhT.expand((groups,) + tuple(whhT.shape)), bhh.expand((groups,) + tuple(bhh.shape)))
    return list(derived_rule("vjp", gru_seq_p, [ct_hs, None], None, xw, w, b, h0,
                             reverse=reverse))


def _gru_seq_bwd_batch(args, dims, reverse, groups):
    if dims[4] is not None or dims[5] is not None:  # per-example recurrent weights
        return NotImplemented  # -> the reference under vmap
    w, bias = args[4], args[5]
    keep = (0, 1, 2, 3, 6)
    rest, b = _merge_batch([args[k] for k in keep], [dims[k] for k in keep])
    dx, dw, db, dh = bind(gru_seq_bwd_p, *rest[:4], w, bias, rest[4], reverse=reverse,
                          groups=groups * b)
    lead = (b,) if groups == 1 else (b, groups)
    dw, db = dw.reshape(lead + tuple(w.shape)), db.reshape(lead + tuple(bias.shape))
    (dx, ddx), (dh, ddh) = _split_batch(dx, b, True), _split_batch(dh, b, False)
    return [dx, dw, db, dh], [ddx, 0, 0, ddh]


gru_seq_bwd_p = Primitive(
    "gru_seq_bwd", _gru_seq_bwd_impl, multiple_results=True, shape=_gru_seq_bwd_shape,
    batch=_gru_seq_bwd_batch, reference=_gru_seq_bwd_ref)


def gru_sequence(xw, whh_t, bhh, h0, reverse=False):
    """A GRU layer's recurrence over a whole sequence (PyTorch's GRU): ``xw`` (T, N, 3H) are
    the input projections with ``b_ih``, ``whh_t`` (H, 3H) the transposed recurrent weight,
    ``bhh`` (3H,) its bias, ``h0`` (N, H) the initial state; gates in PyTorch's order (reset,
    update, new). Returns the hidden states of every step, (T, N, H); ``reverse`` runs the
    sequence from its last step to its first."""
    xw, w, b, h0 = (as_value(v) for v in (xw, whh_t, bhh, h0))
    if xw.ndim != 3 or w.ndim != 2 or xw.shape[2] != w.shape[1] or w.shape[1] != 3 * w.shape[0] \
            or tuple(b.shape) != (w.shape[1],) or tuple(h0.shape) != (xw.shape[1], w.shape[0]):
        raise OpError(
            f"gru_sequence: expected xw (T, N, 3H), whh_t (H, 3H), bhh (3H,) and h0 (N, H); "
            f"got xw {tuple(xw.shape)}, whh_t {tuple(w.shape)}, bhh {tuple(b.shape)}, h0 "
            f"{tuple(h0.shape)}")
    _check_sequence("gru_sequence", "xw, whh_t, bhh, h0", xw, w, b, h0)
    hs, _ = bind(gru_seq_p, xw, w, b, h0, reverse=bool(reverse))
    return hs


export(gru_sequence, __all__)


# ---- the negative log-likelihood loss: one primitive -------------------------------------
#
# nll_loss(logp (M, C), target (M,) [, weight (C,)]; ignore_index, reduction): the picked
# log-probabilities -w[t_i] * logp[i, t_i] (0 where t_i == ignore_index), summed, averaged by
# the weights of the counted rows ("mean") or returned per row ("none"). Linear in logp: the
# JVP is the primitive on the tangent, the VJP scatters the per-row coefficients to (i, t_i).
# Class weights get no gradient (as in PyTorch). Batching comes from the reference.

def _nll_check(target, c, ignore_index):
    """Targets outside 0..C-1 (other than ignore_index) are an error, eagerly and in plans."""
    if target.size:
        bad = (target < 0) | (target >= c)
        if ignore_index < 0 or ignore_index >= c:
            bad &= target != ignore_index
        if bad.any():
            cls = int(target[bad][0])
            raise IndexError(f"nll_loss: target holds class {cls} but the input has {c} "
                             f"classes (valid: 0..{c - 1}, or ignore_index={ignore_index})")


def _nll_impl(logp, target, *weight, ignore_index, reduction):
    m, c = logp.shape
    # the common case first: every target a class (two reductions; no mask passes)
    inside = not target.size or (target.min() >= 0 and target.max() < c)
    if inside and not 0 <= ignore_index < c:
        ignored, counted_all = None, True
    else:
        _nll_check(target, c, ignore_index)
        ignored = target == ignore_index
        counted_all = not ignored.any()
    safe = target if counted_all else np.where(ignored, 0, target)
    picked = logp[namespace(logp).arange(m), safe]
    if counted_all and not weight:  # the common case: every row counts with weight 1
        loss, total = -picked, None
    else:
        w = (~ignored).astype(logp.dtype) if ignored is not None else \
            namespace(logp).ones(m, logp.dtype)
        if weight:
            w = w * weight[0][safe]
        loss, total = -picked * w, w
    if reduction == "none":
        return loss
    s = np.add.reduce(loss, axis=0)
    if reduction == "sum":
        return s
    return s / (logp.dtype.type(m) if total is None else np.add.reduce(total, axis=0))


def _nll_shape(logp, target, *weight, ignore_index, reduction):
    return Aval((logp.shape[0],) if reduction == "none" else (), logp.dtype)


def _nll_weights(target, weight, ignore_index, dtype):
    """(the safe targets, each row's weight): ignored rows get class 0 and weight 0."""
    from .elementwise import where
    from .indexing import getitem
    counted = target != ignore_index
    safe = where(counted, target, 0)
    w = cast(counted, dtype)
    if weight:
        w = w * getitem(weight[0], safe)
    return safe, w


def _nll_vjp(ct, out, logp, target, *weight, ignore_index, reduction):
    from .indexing import index_add_nd_p
    safe, w = _nll_weights(target, weight, ignore_index, logp.dtype)
    rows = Tensor._wrap(host_on_device_of(np.arange(logp.shape[0], dtype=np.int64), logp))
    if reduction == "mean":  # every row ignored (total 0): a zero gradient, as PyTorch
        from .elementwise import where, full_like_traced
        total = w.sum()
        ct = ct / where(total == 0, full_like_traced(total, 1), total)
    coeff = -(ct * w)
    g = bind(index_add_nd_p, coeff, rows, safe, shape=tuple(logp.shape),
             spec=(("a", 0), ("a", 1)))
    return (g, None) + (None,) * len(weight)


def _nll_jvp(primals, tangents, out, ignore_index, reduction):
    return bind(nll_loss_p, tangents[0], *primals[1:], ignore_index=ignore_index,
                reduction=reduction)


def _nll_ref(logp, target, *weight, ignore_index, reduction):
    """nll_loss in ember ops (the batching rule runs it under vmap)."""
    from .indexing import gather
    safe, w = _nll_weights(target, weight, ignore_index, logp.dtype)
    loss = -gather(logp, 1, safe.unsqueeze(1)).squeeze(1) * w
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / w.sum()


nll_loss_p = Primitive("nll_loss", _nll_impl, shape=_nll_shape, vjp=_nll_vjp, jvp=_nll_jvp,
                       reference=_nll_ref)


def nll_loss_rows(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """The nll_loss primitive on rows: ``logp`` (M, C) log-probabilities, ``target`` (M,)
    integer classes, ``weight`` (C,) or None; ``ember.nn.functional.nll_loss`` checks and
    reshapes its arguments into this form."""
    args = (logp, target) if weight is None else (logp, target, weight)
    return bind(nll_loss_p, *args, ignore_index=int(ignore_index), reduction=reduction)
