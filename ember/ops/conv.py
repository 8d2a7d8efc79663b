"""Convolution and pooling, for any number of spatial dims (1-D and 2-D are exported).

Two linear primitives carry all the rules:

* ``windows``: the sliding windows of the trailing spatial dims as a strided view
  ``(..., *out_spatial, *kernel)`` (im2col without a copy);
* ``unwindows``: its transpose, which adds each window back into place (col2im).

Convolution is ``einsum(windows(pad(x)), w)``, computed as one GEMM over the windows
copied channel-kernel-major (see "the convolution's three products"); its transpose
(``conv_transpose``) is ``unwindows(einsum(x, w))`` cropped; max/avg pooling reduce over the
window dims. Gradients, JVPs, batching and higher orders follow from the primitives'
rules.
"""
from __future__ import annotations

import functools
import math
import os
import weakref

import numpy as np

from ..backend import accel, namespace, threads
from ..backend import ufuncs as U
from ..core.primitive import Aval, Primitive, Tracer, bind
from ..core.tensor import Tensor
from ..core.state import autocast_threads as _ac
from . import autocast_policy as _autocast
from . import winograd
from .elementwise import as_value, moveaxis_to_front, batch_all_front
from ._util import check_same_dtype, host_on_device_of, layer_input_fix
from .einsum import _einsum_impl, einsum, gemm_kernels
from .linalg import _inverse, _mm_impl
from .registry_helpers import export
from .slicing import _pad_impl, pad_p
from ..core.exceptions import OpError

__all__: list[str] = []


def _out_len(n, k, s, d):
    return (n - d * (k - 1) - 1) // s + 1


# ---- the second core: a kernel's work split by batch --------------------------------------
# The convolution's window copy, its products and col2im, and the max pool's forward and
# backward split their batch into two halves that run on two threads (backend/threads.py;
# NumPy releases the GIL in its loops and BLAS calls) when the array a kernel works through
# has _SPLIT_MIN_BYTES or more (each half's NumPy calls must be large: the GIL serialises the
# Python between them). Decided from shapes alone, so eager, jit and every machine compute
# the same bits; only the weight gradient's product changes its order of sums when split
# (two half-batch products added). None: never split; "auto" (the default): see below. The
# environment variable EMBER_CONV_SPLIT_MIN_BYTES sets it at import ("auto", "off" or a
# byte count).

def _split_setting(default):
    v = os.environ.get("EMBER_CONV_SPLIT_MIN_BYTES")
    if v is None or v.strip() == "" or v.strip().lower() == "auto":
        return default
    if v.strip().lower() in ("off", "none", "no"):
        return None
    try:
        return int(v)
    except ValueError:
        raise ValueError(f"EMBER_CONV_SPLIT_MIN_BYTES must be 'auto', 'off' or a byte count, "
                         f"got {v!r}") from None


_SPLIT_MIN_BYTES = _split_setting("auto")

# "auto" (the default): two kernels split from _OWN_SPLIT_MIN_BYTES (_own_parts): the
# row-shifted forward and weight gradient (whose thin products two BLAS threads share badly,
# beside single-threaded shifts and adds), when they have _SHIFT_SPLIT_MIN_BLOCKS blocks or
# more, and the max pool's forward; the others (BLAS products that two BLAS threads already
# share, the window copy, col2im, the pool's scatter, whose 2x2 kernel needs the whole batch)
# not at all. The compiled step, the two settings alternating in one process, median ms:
# LeNet at batch 128 17.4 -> 15.4 (eager 18.8 -> 16.9; per line, conv1's weight gradient 4.4
# -> 2.8, its forward 3.0 -> 2.0), mnist-cnn 14.6 -> 13.9; LeNet at batches 8 and 32 split
# nothing; ResNet-18 and VGG-11 the same within the noise. (Splitting every kernel from 1 MB
# made mnist-cnn 13.7 -> 18.2 and ResNet-18 179 -> 204: the products on one BLAS thread
# each, the 2x2 pool's scatter on its general path.) A byte count splits every kernel from
# that size, "off" none.
_OWN_SPLIT_MIN_BYTES = 4 << 20


def _batch_parts(n, nbytes):
    """Row ranges of a batch of ``n`` for a kernel working through ``nbytes``: two halves
    when the split is on and the work is large enough, else one range."""
    if _SPLIT_MIN_BYTES in (None, "auto") or nbytes < _SPLIT_MIN_BYTES or n < 2:
        return [(0, n)]
    return threads.halves(n, 1)


def _own_parts(n, nbytes, auto_min_bytes=None):
    """_batch_parts for the kernels that split by default (see _SPLIT_MIN_BYTES), from
    ``auto_min_bytes`` (_OWN_SPLIT_MIN_BYTES if None) when the setting is "auto"."""
    if _SPLIT_MIN_BYTES != "auto":
        return _batch_parts(n, nbytes)
    least = _OWN_SPLIT_MIN_BYTES if auto_min_bytes is None else auto_min_bytes
    return [(0, n)] if nbytes < least or n < 2 else threads.halves(n, 1)


def _run_parts(fn, parts):
    if len(parts) == 1:
        return [fn(*parts[0])]
    return threads.run_parts(fn, parts)


def _windows_impl(x, kernel, stride, dilation, copy=False):
    """The windows of ``x`` (..., C, *S) as (..., C, *out, *K): a strided view, or with
    ``copy`` the same values in a new array laid out channel-kernel-major, (C, *K, ..., *out)
    in memory. Convolution asks for the copy: its forward product and its weight gradient
    both read that layout as a plain (C*K, N*out) matrix (a free reshape), where the strided
    view would be gathered anew by each (and slowly: K-long rows)."""
    nsp = len(kernel)
    lead, sp = x.shape[:-nsp], x.shape[-nsp:]
    out = tuple(_out_len(n, k, s, d) for n, k, s, d in zip(sp, kernel, stride, dilation))
    st = x.strides
    sp_st = st[-nsp:]
    strides = st[:-nsp] + tuple(a * s for a, s in zip(sp_st, stride)) + \
        tuple(a * d for a, d in zip(sp_st, dilation))
    view = namespace(x).as_strided(x, lead + out + tuple(kernel), strides, writeable=False)
    if not copy or not lead:
        return view
    n = len(lead)
    perm, inv = _copy_orders(n, nsp)
    src = view.transpose(perm)
    parts = _batch_parts(lead[0], src.nbytes) if n >= 2 else [(0, lead[0])]
    if len(parts) == 1 and _phased(x, kernel, stride, dilation, out):
        dst = np.empty(src.shape, x.dtype)
        _windows_phased(x, kernel, stride, out, dst, 0, lead[0])
        return dst.transpose(inv)
    if len(parts) == 1:
        if _gathers(x, out):
            return _windows_gather(x, kernel, stride, dilation, out).transpose(inv)
        if _two_stage(x, kernel, stride, dilation, out):
            return _windows_two_stage(x, kernel, out).transpose(inv)
        return src.copy().transpose(inv)
    dst = namespace(x).empty(src.shape, x.dtype)
    at = (slice(None),) * (1 + nsp)  # the batch axis of the copy: after C and the kernel
    phased = _phased(x, kernel, stride, dilation, out)

    def part(a, b):
        if phased:
            _windows_phased(x, kernel, stride, out, dst, a, b)
        else:
            dst[at + (slice(a, b),)] = src[at + (slice(a, b),)]
    _run_parts(part, parts)
    return dst.transpose(inv)


# The windows of a strided 2-D convolution with long output rows (ResNet's stem: 7x7 stride
# 2, 32-float rows) are copied from the input's stride phases (each phase plane, x[..., a::sy,
# b::sx], copied once), where every kernel offset's windows are a block of contiguous runs,
# instead of runs read with a stride (the stem's at batch 16 0.93 -> 0.67 ms; ResNet-18's
# compiled step, alternating, fastest of 60: 96.0 -> 94.7 and 95.4 -> 94.8 ms; with short rows
# the per-plane copies cost more: 8-float rows 0.35 -> 0.62). The same values.
_PHASED_MIN_OW = 16


def _phased(x, kernel, stride, dilation, out):
    return type(x) is np.ndarray and x.ndim == 4 and len(kernel) == 2 and \
        tuple(stride) != (1, 1) and tuple(dilation) == (1, 1) and out[1] >= _PHASED_MIN_OW


def _windows_phased(x, kernel, stride, out, dst, a, b):
    """dst[:, :, :, a:b] (C, KH, KW, N, OH, OW) = the windows of samples a..b of x (N, C, H,
    W), from x's stride phases."""
    n, c, h, w = x.shape
    (kh, kw), (sy, sx), (oh, ow) = kernel, stride, out
    ph = np.empty((sy, sx, c, b - a, -(-h // sy), -(-w // sx)), x.dtype)
    for i in range(sy):
        for j in range(sx):
            src = x[a:b, :, i::sy, j::sx].transpose(1, 0, 2, 3)
            ph[i, j, :, :, :src.shape[2], :src.shape[3]] = src
    for i in range(kh):
        for j in range(kw):
            dst[:, i, j, a:b] = ph[i % sy, j % sx, :, :, i // sy:i // sy + oh,
                                   j // sx:j // sx + ow]


# The windows of a 2-D convolution with output rows of at most _GATHER_MAX_OW (ResNet's and
# VGG's 3x3 layers at 4x4 and 2x2, strided or not) are gathered with np.take of their
# positions in x's memory, a block of channels at a time (one index array of about
# _GATHER_INDEX_ENTRIES per shape and layout, for the first block; each next block takes
# from x's memory one block of channels further on; the _GATHER_CACHE latest kept) instead
# of copying runs of 2-4 floats, each a step of NumPy's copy loop: CPU, median, (16, 512,
# 2, 2) 3x3 1.10 -> 0.32 ms (one index for all channels; ~0.37 in blocks), (16, 256, 4, 4)
# 0.79 -> 0.64; from 8-float rows the copies win ((16, 128, 8, 8): 0.59 vs 1.43). The same
# values.
_GATHER_MAX_OW = 4
_GATHER_INDEX_ENTRIES = 1 << 15
_GATHER_CACHE = 16


def _gathers(x, out):
    return type(x) is np.ndarray and x.ndim == 4 and len(out) == 2 and \
        out[1] <= _GATHER_MAX_OW and min(x.strides) >= 0 and x.size > 0


@functools.lru_cache(maxsize=_GATHER_CACHE)
def _gather_index(shape, strides, kernel, stride, dilation, out):
    """(block, index): the positions (in elements) of the windows of the first ``block``
    channels of an array of ``shape`` and element ``strides``, in the copy's order
    (c, KH, KW, N, OH, OW), flat."""
    n, c = shape[:2]
    (kh, kw), (sy, sx), (dy, dx), (oh, ow) = kernel, stride, dilation, out
    sn, sc, sh, sw = strides
    block = max(1, min(c, _GATHER_INDEX_ENTRIES // (kh * kw * n * oh * ow)))
    ax = np.ix_(np.arange(block) * sc, np.arange(kh) * (dy * sh), np.arange(kw) * (dx * sw),
                np.arange(n) * sn, np.arange(oh) * (sy * sh), np.arange(ow) * (sx * sw))
    idx = np.zeros((block, kh, kw, n, oh, ow), np.intp)
    for a in ax:
        idx += a
    idx = idx.reshape(-1)
    idx.flags.writeable = False
    return block, idx


def _windows_gather(x, kernel, stride, dilation, out):
    e = x.itemsize
    st = tuple(s // e for s in x.strides)
    block, idx = _gather_index(x.shape, st, tuple(kernel), tuple(stride), tuple(dilation),
                               tuple(out))
    c = x.shape[1]
    span = sum((n - 1) * s for n, s in zip(x.shape, st)) + 1
    xp = namespace(x)
    flat = xp.as_strided(x, (span,), (e,), writeable=False)
    dst = xp.empty((c,) + tuple(kernel) + (x.shape[0],) + tuple(out), x.dtype)
    rows = dst.reshape(c, -1)
    for c0 in range(0, c, block):
        c1 = min(c, c0 + block)
        # (mode "wrap": every index is in range; "raise" would buffer the whole output)
        np.take(flat[c0 * st[1]:], idx[:(c1 - c0) * rows.shape[1]], out=rows[c0:c1].reshape(-1),
                mode="wrap")
    return dst


_TWO_STAGE_MAX_OW = 16  # output rows up to this long: the window copy in two stages


def _two_stage(x, kernel, stride, dilation, out):
    """Whether the windows copy of ``x`` (N, C, H, W) takes two stages (decided from shapes
    and the layout only): 2-D, stride 1, undilated, rows of ``x`` contiguous, and output rows
    short enough (OW <= _TWO_STAGE_MAX_OW) that copying them one by one is mostly NumPy's
    per-row overhead (LeNet's conv2: 10-float rows)."""
    e = x.itemsize
    return len(kernel) == 2 and x.ndim == 4 and stride == (1, 1) and dilation == (1, 1) and \
        kernel[1] > 1 and out[1] <= _TWO_STAGE_MAX_OW and x.strides[3] == e and \
        x.strides[2] == x.shape[3] * e


def _windows_two_stage(x, kernel, out):
    """The windows of ``x`` (N, C, H, W) copied channel-kernel-major, (C, kh, kw, N, OH, OW)
    in memory, in two stages: first each kernel column's shift of every input row, (C, kw,
    N, H, OW); then, since OH consecutive rows of one shift are one contiguous run of
    OH * OW, each window plane (c, i, j, n) as ONE copy of that run, instead of OH copies of
    OW-long rows (C*kh*kw*N runs instead of C*kh*kw*N*OH; LeNet's conv2 at batch 32, CPU:
    0.57 -> 0.40 ms). The same values."""
    n, c, h, _ = x.shape
    (kh, kw), (oh, ow) = kernel, out
    xp = namespace(x)
    sn, sc, sh, sw = x.strides
    shifted = xp.empty((c, kw, n, h, ow), x.dtype)
    shifted[...] = xp.as_strided(x, (c, kw, n, h, ow), (sc, sw, sn, sh, sw), writeable=False)
    t = shifted.strides
    dst = xp.empty((c, kh, kw, n, oh, ow), x.dtype)
    dst.reshape((c, kh, kw, n, oh * ow))[...] = xp.as_strided(
        shifted, (c, kh, kw, n, oh * ow), (t[0], t[3], t[1], t[2], x.itemsize),
        writeable=False)
    return dst


_orders: dict = {}


def _copy_orders(n, nsp):
    """The axes of the windows (n lead dims, nsp spatial) in the copy's memory order
    (channel, kernel, the other lead dims, output positions), and back."""
    r = _orders.get((n, nsp))
    if r is None:
        perm = (n - 1,) + tuple(range(n + nsp, n + 2 * nsp)) + tuple(range(n - 1)) + \
            tuple(range(n, n + nsp))
        r = _orders[(n, nsp)] = (perm, tuple(int(i) for i in np.argsort(perm)))
    return r


def _windows_shape(x, kernel, stride, dilation, copy=False):
    nsp = len(kernel)
    sp = x.shape[-nsp:]
    out = tuple(_out_len(n, k, s, d) for n, k, s, d in zip(sp, kernel, stride, dilation))
    return Aval(tuple(x.shape[:-nsp]) + out + tuple(kernel), x.dtype)


def _unwindows_impl(cols, size, kernel, stride, dilation):
    nsp = len(kernel)
    lead = cols.shape[:-2 * nsp]
    out = cols.shape[-2 * nsp:-nsp]
    xp = namespace(cols)
    if cols.ndim == 6 and stride == (1, 1) and dilation == (1, 1) and cols.base is not None:
        z = _dw_unwindows(cols, size, kernel)
        if z is not None:
            return z
    if nsp == 2 and len(lead) == 2 and (cols.transpose(4, 5, 0, 2, 3, 1).flags.c_contiguous or
                                        cols.transpose(0, 2, 3, 1, 4, 5).flags.c_contiguous):
        return _unwindows_channels_last(cols, size, stride, dilation)
    if nsp == 2 and len(lead) == 2 and stride == (1, 1) and cols.base is not None and \
            _zero_margins.get(id(cols.base)) is cols.base:
        m = _cols_matrix(cols, 2, False, full=True)
        if m is not None and m.shape[-1] == lead[0] * size[0] * size[1]:
            return _unwindows_full_grid(m, lead, size, kernel, dilation)
    if len(lead) == 2 and cols.transpose((1,) + tuple(range(2 + nsp, 2 + 2 * nsp)) + (0,) + tuple(
            range(2, 2 + nsp))).flags.c_contiguous:
        # windows laid out (C, *K, N, *out), as a convolution's product gives their gradient:
        # each kernel offset's slab is contiguous; add them into (C, N, *S) memory, returned
        # as the (N, C, *S) view (the same additions in the same order as below)
        if nsp == 2 and stride == (1, 1) and dilation == (1, 1) and kernel != (1, 1) and \
                out[1] <= _ROWS_MAX_OW:
            return _unwindows_rows(cols, size, kernel, channel_major=True)
        z = xp.zeros((lead[1], lead[0]) + tuple(size), cols.dtype).swapaxes(0, 1)
    elif nsp == 2 and stride == (1, 1) and dilation == (1, 1) and kernel != (1, 1):
        return _unwindows_rows(cols, size, kernel)
    else:
        z = xp.zeros(lead + tuple(size), cols.dtype)
    if all(k == s for k, s in zip(kernel, stride)) and all(d == 1 for d in dilation):
        # non-overlapping windows (pooling with stride == kernel): one strided copy
        view = _windows_impl(z, kernel, stride, dilation)
        view = xp.as_strided(z, view.shape, view.strides)
        view[...] = cols
        return z
    for koff in np.ndindex(*kernel):
        dst = tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                    for k, d, s, o in zip(koff, dilation, stride, out))
        z[(Ellipsis,) + dst] += cols[(Ellipsis,) + tuple(slice(None) for _ in out) + koff]
    return z


def _unwindows_full_grid(m, lead, size, kernel, dilation):
    """col2im of a windows gradient on the full grid (the (C*K, N*H*W) matrix ``m`` whose
    hidden entries, rows y >= OH and columns x >= OW of each sample, are zeros): each kernel
    offset adds ONE run per channel over all the samples, shifted by the offset, into (C,
    N*H*W) memory (a run's terms that would cross into the next sample, or past the last,
    are hidden zeros: left out), returned as the (N, C, H, W) view. The valid terms are
    added in the offset order of the general loop (the same bits; the hidden zeros add
    nothing)."""
    (n, c), (h, w), (kh, kw), (dh, dw) = lead, size, kernel, dilation
    hw = h * w
    g = m.reshape((c, kh, kw, n * hw))
    z = namespace(m).empty((c, n * hw), m.dtype)

    def part(a, b):  # samples a..b: their own columns of z
        zp = z[:, a * hw:b * hw]
        zp[...] = 0
        for i in range(kh):
            for j in range(kw):
                o = i * dh * w + j * dw
                dst = zp[:, o:]
                U.add(dst, g[:, i, j, a * hw:b * hw - o], out=dst)
    _run_parts(part, _batch_parts(n, m.nbytes))
    return z.reshape((c, n, h, w)).swapaxes(0, 1)


# the output width up to which col2im of channel-major windows (a convolution's input
# gradient) adds padded rows (_unwindows_rows) rather than each offset's window rows: CPU,
# (16, C, ow, ow) 3x3 windows gradients, ResNet-18's at 64x64 input: C=128 ow=8 2.70 ->
# 1.97 ms, 256/4 2.71 -> 1.35, 512/2 2.47 -> 1.62; at ow=16 (64 channels) 3.29 vs 3.02 and
# at 28 (32 channels) 2.93 vs 3.34, the padded copy costing as much as it saves
_ROWS_MAX_OW = 8


def _unwindows_rows(cols, size, kernel, channel_major=False):
    """col2im for 2-D stride-1 windows (a convolution's input gradient): each kernel offset's
    slab, padded with zeros to the output's row width, is added to the flattened output as
    one contiguous run (window rows are short: a row-by-row add is mostly loop overhead).
    The same additions in the same order as the general loop, so the same bits.
    ``channel_major``: the windows (N, C, ...) lie in (C, *K, N, *out) memory; the work runs
    in that order and the result is the (N, C, H, W) view of (C, N, H, W) memory."""
    (hh, ww), (kh, kw) = size, kernel
    lead, (oh, ow) = cols.shape[:-4], cols.shape[-4:-2]
    xp = namespace(cols)
    if channel_major:
        cols = cols.swapaxes(0, 1)
        lead = lead[::-1]
    slabs = xp.zeros((kh, kw) + lead + (oh, ww), cols.dtype)
    slabs[..., :ow] = xp.moveaxis(cols, (-2, -1), (0, 1))
    flat = xp.zeros(lead + (hh * ww + ww,), cols.dtype)  # a spare row for the last tail
    n = oh * ww
    for i in range(kh):
        for j in range(kw):
            o = i * ww + j
            flat[..., o:o + n] += slabs[i, j].reshape(lead + (n,))
    z = flat[..., :hh * ww].reshape(lead + (hh, ww))
    return z.swapaxes(0, 1) if channel_major else z


def _spatial_batch(prim):
    """Both primitives act on the trailing dims, so a batch dim just moves to the front."""
    def rule(args, dims, **params):
        return bind(prim, moveaxis_to_front(args[0], dims[0]), **params), 0
    return rule


windows_p = Primitive(
    "windows", _windows_impl, shape=_windows_shape, linear=True, view=True,
    vjp=lambda ct, out, x, kernel, stride, dilation, copy=False: (
        bind(unwindows_p, ct, size=tuple(x.shape[-len(kernel):]), kernel=kernel, stride=stride,
             dilation=dilation),),
    jvp=lambda p, t, out, **kw: bind(windows_p, t[0], **kw))

def _windows_of_size(ct, cols_shape, kernel, stride, dilation):
    """The windows of ``ct`` as many as ``cols_shape`` has: a transposed convolution's
    output_padding can leave room for one more window than the input had; it gets none."""
    w = bind(windows_p, ct, kernel=kernel, stride=stride, dilation=dilation)
    if tuple(w.shape) == tuple(cols_shape):
        return w
    nsp = len(kernel)
    spec = tuple(("s", 0, n, 1) for n in cols_shape[:-nsp]) + \
        tuple(("s", 0, k, 1) for k in cols_shape[-nsp:])
    from .indexing import getitem_basic_p
    return bind(getitem_basic_p, w, spec=spec)


unwindows_p = Primitive(
    "unwindows", _unwindows_impl, linear=True, allocating=True,
    shape=lambda c, size, kernel, stride, dilation: Aval(
        tuple(c.shape[:-2 * len(kernel)]) + tuple(size), c.dtype),
    vjp=lambda ct, out, c, size, kernel, stride, dilation: (
        _windows_of_size(ct, tuple(c.shape), kernel, stride, dilation),),
    jvp=lambda p, t, out, **kw: bind(unwindows_p, t[0], **kw))
windows_p.batch = _spatial_batch(windows_p)
windows_p.vjp_reads = ()  # the rule reads x's shape only
unwindows_p.batch = _spatial_batch(unwindows_p)


# ---- the convolution's three products as GEMMs ---------------------------------------------
# A convolution is einsum(windows, w) (so transforms and graph analyses see one einsum), and
# its VJP two more einsums. With the windows copied channel-kernel-major, (C, *K, N, *out) in
# memory, each is one BLAS product (per group) over free matrix views, registered as the
# einsum kernel of exactly these equations (einsum.gemm_kernels); NumPy's tensordot would
# first copy the windows into its own orientation. The cotangent is copied once into (O,
# N*out) rows (whatever its layout, so the product is the same call and gives the same bits
# eagerly and in plans); the windows' gradient comes out (C*K, N*out) C-ordered, the layout
# whose kernel-offset slabs col2im adds contiguously. Any other layout: None (np.einsum).

def _cols_matrix(cols, nsp, grouped, full=False):
    """The windows (N, [G,] C, *out, *K) laid out channel-kernel-major as a ([G,] C*K, N*P)
    matrix view: P = prod(out) for the compact layout (the windows copy); with ``full``, also
    the full grid of a 2-D windows gradient (memory (C, *K, N, H, W), the windows its first
    OH rows and OW columns, P = H * W: see _conv_cols_grad_kernel). None for other layouts."""
    lead = 3 if grouped else 2
    perm = tuple(range(1, lead)) + tuple(range(lead + nsp, lead + 2 * nsp)) + (0,) + \
        tuple(range(lead, lead + nsp))
    m = cols.transpose(perm)
    head = (cols.shape[1],) if grouped else ()
    n, outs = cols.shape[0], tuple(cols.shape[lead:lead + nsp])
    if m.flags.c_contiguous:
        return m.reshape(head + (-1, n * math.prod(outs)))
    if not full or nsp != 2 or grouped:
        return None
    e = cols.itemsize
    st = m.strides  # (C, kh, kw, N, OH, OW)
    w = st[4] // e
    hh = st[3] // (w * e) if w > 0 else 0  # the rows per sample
    L = n * hh * w
    k = math.prod(m.shape[1:3])
    if st[5] != e or st[4] % e or w < outs[1] or hh < outs[0] or st[3] != hh * w * e or \
            st[2] != L * e or st[1] != m.shape[2] * L * e or st[0] != k * L * e:
        return None
    return namespace(cols).as_strided(m, (m.shape[0] * k, L), (L * e, e), writeable=False)


def _ct_rows(ct, nsp, grouped, grid=None, pad=0):
    """The cotangent (N, [G,] O, *out) copied as ([G,] O, N*P) rows; with ``grid`` (H, W),
    each 2-D sample placed on that grid, zeros beyond its (OH, OW) (the full grid), and
    ``pad`` zero columns before the first sample."""
    lead = 3 if grouped else 2
    perm = tuple(range(1, lead)) + (0,) + tuple(range(lead, lead + nsp))
    t = ct.transpose(perm)
    xp = namespace(ct)
    if (grid is None or tuple(grid) == tuple(ct.shape[-2:])) and not pad:
        m = xp.ascontiguousarray(t)
        return m.reshape(m.shape[:lead - 1] + (-1,))
    shape = t.shape[:-2] + tuple(grid or ct.shape[-2:])
    rows = xp.zeros(shape[:lead - 1] + (pad + math.prod(shape[lead - 1:]),), ct.dtype)
    rows[..., pad:].reshape(shape)[..., :ct.shape[-2], :ct.shape[-1]] = t
    return rows


# buffers of windows gradients on the full grid whose hidden entries are zeros (the
# cols-gradient kernel makes them; col2im may then add whole runs, hidden entries included)
_zero_margins = weakref.WeakValueDictionary()


# ---- the fused blocked products ------------------------------------------------------------
# A convolution's windows reach its products as the strided view of the padded input. The
# forward product and the weight gradient gather them block by block of samples,
# channel-kernel-major ((G,) C, *K, nb, *out: a plain ((G,) C*K, nb*P) matrix) into one
# buffer reused across the blocks, and consume each block at once with one GEMM while it is
# still in cache; the whole window matrix (LeNet's conv1 at batch 128: 30 MB) is never
# written, nor kept for the backward (the view is). _conv_blocked says which convolutions
# take this path (``windows(copy=False)``); the others gather the whole matrix once
# (``copy=True``), which both products share. The block length nb depends on the shapes only (a block's matrix is about
# _BLOCK_BYTES, so it stays in the L2 cache), so eager, jit and every machine compute the
# same bits. The forward's columns are independent (each output is the same dot product
# whatever the block); the weight gradient is the sum of its blocks' products, added in
# block order (another order of sums than one product over the whole batch: tests compare
# it with float64).

_BLOCK_BYTES = 1 << 20  # a block's window matrix
_BLOCK_MAX_ROWS = 128  # the window matrix's rows (C*K per group) up to which blocks pay
_BLOCK_MIN_BYTES = 4 << 20  # the whole window matrix from which blocks pay


def _conv_blocked(rows, nbytes):
    """Whether a convolution whose window matrix has ``rows`` rows (C*K per group) and
    ``nbytes`` bytes in all takes the blocked products (decided from shapes only). They pay
    where the GEMMs are few-rowed, so bound by reading the matrix rather than by arithmetic,
    and the matrix is larger than the caches; they also keep no window matrix for the
    backward (LeNet at batch 128, peak RSS: eager 137 -> 94 MB, jit 106 -> 76 MB). Time (one
    thread, the allocator tuned as by ``ember bench``, a loaded machine, the two paths
    alternating in one process, 80 steps each, fastest / median): the compiled LeNet step at
    batch 32 9.14 / 12.1 -> 8.86 / 11.1 ms, eager 11.7 / 16.6 -> 11.3 / 15.7 ms; at batch 128
    par (jit 34.3 / 44.9 -> 34.5 / 45.4, eager 38.0 / 51.6 -> 40.5 / 51.3). With many rows
    (VGG's 64 -> 128 3x3 convolution, forward and both gradients: 132 -> 146 ms; LeNet's
    conv2, 150 rows, lost too) the products are bound by arithmetic and gathering the
    windows twice (forward and weight gradient) costs more than the cache saves; a small
    matrix stays in cache anyway."""
    return rows <= _BLOCK_MAX_ROWS and nbytes >= _BLOCK_MIN_BYTES


def _block_len(n, per_sample_bytes, budget=None):
    """Samples per block: a block's window matrix about ``budget`` bytes (_BLOCK_BYTES), at
    least one sample."""
    return max(1, min(n, (budget or _BLOCK_BYTES) // max(1, per_sample_bytes)))


def _cols_blocks(cols, nsp, grouped, a, b):
    """Yields (start, stop, matrix) for the blocks of samples a..b of the windows ``cols``
    (N, [G,] C, *out, *K), any layout: each block gathered channel-kernel-major into one
    buffer (reused: a matrix is valid until the next one is made) and given as the ([G,]
    C*K, nb*P) matrix view of it."""
    lead = 3 if grouped else 2
    h = lead - 2
    perm = tuple(range(1, lead)) + tuple(range(lead + nsp, lead + 2 * nsp)) + (0,) + \
        tuple(range(lead, lead + nsp))
    src = cols.transpose(perm)  # ([G,] C, *K, N, *out)
    head = src.shape[:h + 1 + nsp]
    outs = src.shape[h + 2 + nsp:]
    per = math.prod(head) * math.prod(outs)
    nb = _block_len(cols.shape[0], per * cols.itemsize)
    xp = namespace(cols)
    buf = xp.empty(per * min(nb, b - a), cols.dtype)
    mat_head = src.shape[:h] + (math.prod(src.shape[h:h + 1 + nsp]),)
    at = (slice(None),) * (h + 1 + nsp)
    two = not grouped and _row_shift_ok(cols)
    if two:  # see below
        c, oh, ow, kh, kw = cols.shape[1:]
        rows = xp.as_strided(cols, (c, kw, cols.shape[0], oh + kh - 1, ow),
                             (cols.strides[1], cols.strides[3], cols.strides[0],
                              cols.strides[2], cols.strides[3]), writeable=False)
        sbuf = xp.empty(c * kw * min(nb, b - a) * (oh + kh - 1) * ow, cols.dtype)
    for s in range(a, b, nb):
        e = min(b, s + nb)
        dst = buf[:per * (e - s)].reshape(head + (e - s,) + outs)
        if two:
            # a 2-D stride-1 view (LeNet's conv1): in two stages, as _windows_two_stage:
            # each kernel column's shift of every input row (OW-long runs), then each
            # window plane (c, ky, kx, n) as ONE run of OH*OW (the weight gradient's gather
            # at batch 32, CPU median: 0.96 -> 0.79 ms). The same values.
            k = e - s
            stage = sbuf[:c * kw * k * (oh + kh - 1) * ow].reshape(
                (c, kw, k, oh + kh - 1, ow))
            stage[...] = rows[:, :, s:e]
            t = stage.strides
            dst.reshape((c, kh, kw, k, oh * ow))[...] = xp.as_strided(
                stage, (c, kh, kw, k, oh * ow), (t[0], t[3], t[1], t[2], cols.itemsize),
                writeable=False)
        else:
            dst[...] = src[at + (slice(s, e),)]
        yield s, e, dst.reshape(mat_head + (-1,))


# ---- a 2-D stride-1 convolution's forward and weight gradient as row-shifted products ----
# The window matrix of a few-channel convolution (LeNet's conv1: 3 channels, 5x5, C*K = 75
# rows) is 25x the input; gathering it is most of the forward and of the weight gradient
# (their GEMMs, with O = 6 rows, are bound by reading it). Both are formed instead from the
# input laid out as planes X (C, N*H*W), every sample's rows at full width W (zeros after
# the last): the kx-shifts of X, B[(c, kx), j] = X[c, j + kx], are C*KW = 15 rows, each ONE
# contiguous run of the planes (no per-row copies), and a kernel row ky is a shift of the
# flat position j by ky*W.
# - Forward: Z = W' @ B with W'[(ky, o), (c, kx)] = w[o, c, ky, kx] (KH*O rows) holds every
#   kernel row's partial sums; the output at j is sum over ky of Z[ky] at j + ky*W: KH - 1
#   adds of shifted runs. Positions whose row or column runs past the output (y >= OH or
#   x >= OW: they mix rows or samples) are computed and cropped.
# - Weight gradient: with P the cotangent on the same full grid (zero at y >= OH, x >= OW),
#   D[(o, ky), j] = P[o, j - ky*W] (each row again one run; the zeros of the previous
#   sample's last rows are exactly what a shift into it should read), and
#   g[(o, ky), (c, kx)] = sum over j of D[(o, ky), j] * B[(c, kx), j]: one product per block,
#   with both matrices' rows padded with zero rows to a multiple of 8 (OpenBLAS's kernels
#   fill 8-wide panels: a (30, L) @ (L, 15) product took twice as long as (32, L) @ (L, 16)).
#   D has KH*O rows: it pays only where that and B's C*KW rows are fewer than the window
#   matrix's C*KH*KW and the cotangent's O (_w_grad_shifts: LeNet's conv1, 30 + 15 < 75 + 6;
#   not VGG's first, 3 -> 64 channels 3x3, whose weight gradient took 7.3 -> 10.9 ms).
# Block by block of samples (B, Z and D about _SHIFT_BLOCK_BYTES); the block length depends
# on the shapes only, so the order of sums (the C*KW products, then ky in order; the weight
# gradient's blocks added in order, with the split each half's, then first + second) is the
# same eagerly, in plans and on every machine: another order than one C*KH*KW product (tests
# compare with float64 and torch). LeNet's conv1 at batch 32 (wall, fastest of 40; the
# previous kernels: the forward's windows gathered per OW-long row, the weight gradient from
# the 75-row window matrix): weight gradient 1.52 -> 1.08 ms, forward 1.13 -> 0.76; the
# compiled LeNet step, the two alternating in one process, fastest of 12 rounds: batch 32
# 6.34 -> 5.37 ms, batch 128 41.1 -> 38.5 (a loaded machine).

# the block size: the compiled LeNet step alternating the sizes in one process, fastest /
# median of 12 rounds, batch 32: 1 MB 5.73 / 6.15 ms, 2 MB 5.24 / 5.73, 4 MB 4.73 / 5.44, 8 MB
# 4.94 / 5.40; batch 128: 20.5 / 21.9, 19.6 / 21.1, 18.4 / 19.7, 18.2 / 19.9
_SHIFT_BLOCK_BYTES = 4 << 20


def _shifts_pay(c, o, kh, kw):
    """Whether the row shifts of a c -> o channel (kh, kw) convolution (KH*O and C*KW rows)
    are fewer than the window matrix's and the cotangent's rows."""
    return kh * o + c * kw < c * kh * kw + o


def _w_grad_shifts(ct, cols):
    """Whether the weight gradient of the row-shift view ``cols`` takes the row-shifted
    product: its two matrices have fewer rows than the window matrix and the cotangent."""
    return _shifts_pay(cols.shape[1], ct.shape[1], cols.shape[4], cols.shape[5])


def _row_shift_ok(cols):
    """Whether the windows view ``cols`` (N, C, OH, OW, KH, KW) is a 2-D stride-1,
    undilated window view of a float32/float64 input (each output position's stride equals
    its kernel offset's), which the row-shifted products compute from."""
    if cols.ndim != 6 or cols.dtype.char not in "fd" or 0 in cols.strides:
        return False
    st = cols.strides
    return st[2] == st[4] and st[3] == st[5] == cols.itemsize


def _planes(cols, tail):
    """The input of the stride-1 windows view ``cols`` as planes (C, N*H*W + tail), the
    last ``tail`` columns zeros: each sample's H rows of W (H = OH + KH - 1, W = OW + KW -
    1) in a row of its channel."""
    n, c, oh, ow, kh, kw = cols.shape
    sn, sc, sh, sw = cols.strides[:4]
    h, wd = oh + kh - 1, ow + kw - 1
    xp = namespace(cols)
    x = xp.empty((c, n * h * wd + tail), cols.dtype)
    x[:, n * h * wd:] = 0
    x[:, :n * h * wd].reshape((c, n, h, wd))[...] = xp.as_strided(
        cols, (c, n, h, wd), (sc, sn, sh, sw), writeable=False)
    return x


def _shifts(x, j0, rows, m, step, out):
    """out[:rows*len(x), :m] = the runs x[i, j0 + r*step : ... + m], (i, r)-major: ONE copy
    (``step`` may be negative)."""
    e = x.itemsize
    src = namespace(x).as_strided(x[:, j0:], (x.shape[0], rows, m),
                                  (x.strides[0], step * e, e), writeable=False)
    out[:x.shape[0] * rows, :m].reshape((x.shape[0], rows, m))[...] = src


# the blocks from which the row-shifted products split: LeNet at batch 32 has two (22 and 10
# samples): split, the step took 4.58 -> 4.77 ms median, within the noise of a pair that
# split nothing (batch 8: 2.21 vs 2.29), and blocks balanced to 16 + 16 4.88 -> 4.83: no gain
_SHIFT_SPLIT_MIN_BLOCKS = 4


def _shift_blocks(n, per_sample, parts):
    """The block starts of n samples (each block about _SHIFT_BLOCK_BYTES), and the ranges
    of blocks the parts run: whole blocks, so the split does not move a sum."""
    nb = _block_len(n, per_sample, _SHIFT_BLOCK_BYTES)
    starts = range(0, n, nb)
    k = len(starts)
    return nb, starts, [(0, k)] if len(parts) == 1 or k < _SHIFT_SPLIT_MIN_BLOCKS else \
        [(0, k // 2), (k // 2, k)]


# ---- the same two with the optional compiled kernels ------------------------------------
# With numba (backend/accel.py) and float32 arrays, the forward and the weight gradient are
# formed straight from the planes by conv_fwd_lags / conv_w_grad_lags (numba_kernels.py):
# each output a sum of the plane's runs shifted by ky*W + kx, five shifts per pass, no shifted
# copies and no thin GEMMs. The forward computes each sample's first OH rows at full width
# (the columns x >= OW cropped); the weight gradient sums each sample's run of OH*W positions
# (the cotangent zero at x >= OW). Each output is owned by one sample range (forward) or
# one task (weight gradient), so the split between the two threads (the same as the NumPy
# path's) does not change a bit. LeNet's conv1 at batch 32 (wall, medians of 40, one process
# alternating, the planes included): forward 0.64 -> 0.46 ms, weight gradient 1.02 -> 0.48.

# the channels (C * O) up to which the kernels beat the NumPy paths (their cost grows with O
# * C per position, a GEMM's more slowly): (C, O) 5x5 at batch 32, forward and weight
# gradient, one process alternating, median ms, kernels vs the windows copy and its GEMMs:
# (3, 6) 32x32 0.93 vs 2.30, (3, 12) 1.51 vs 2.31, (3, 16) 2.92 vs 2.31, (6, 8) 14x14 0.64
# vs 0.55, (6, 16) 1.23 vs 0.62 (LeNet's conv2), (1, 6) 28x28 0.74 vs 0.75 (one channel: a
# cheap copy)
_LAG_MAX_CO = 36


def _lags_fit(c, o, kh, kw):
    """Whether a 2-D stride-1 undilated convolution of c -> o channels with a (kh, kw)
    kernel takes the compiled kernels when they are on (float32)."""
    return c >= 2 and c * o <= _LAG_MAX_CO and _shifts_pay(c, o, kh, kw)


def _lags_apply(c, o, kernel, stride, dilation, groups, dtype):
    """Whether a convolution takes the compiled kernels (so the windows view, no copy,
    whatever its batch): they are on, float32, one group, and _lags_fit."""
    return groups == 1 and len(kernel) == 2 and stride == (1, 1) and \
        dilation == (1, 1) and np.dtype(dtype) == np.float32 and \
        _lags_fit(c, o, *kernel) and accel.kernels() is not None


def _lag_planes(cols):
    """The input planes for the lag kernels: (C, N*H*W + tail), read up to the last
    sample's end plus the kernel width rounded up to a multiple of 5, less one."""
    kw = cols.shape[5]
    return _planes(cols, kw + (-kw) % 5 - 1)


# the input planes' size from which the lag kernels split between two threads (by the
# window view's size, 7.5 MB at batch 32, LeNet's conv1 had split from batch 18). The compiled
# LeNet step, the settings alternating in one process (100 steps each), median ms: split
# from 256 KB vs from 1 MB, batch 32 (393 KB of planes) 3.08 vs 3.33, batch 64 (786 KB)
# 4.66 vs 5.70; from 64 KB vs from 1 MB, batch 8 (98 KB) 1.72 vs 1.11, batch 16 (196 KB)
# 1.73 vs 1.65. (With older kernels batch 32 had been faster not split, 4.74 vs 5.27;
# batch 128, 1.5 MB, split 12.5 vs 14.4.)
_LAG_SPLIT_MIN_BYTES = 1 << 18


def _lag_parts(cols):
    """The sample ranges of the lag kernels' split (_own_parts by the input's planes)."""
    n, c, oh, ow, kh, kw = cols.shape
    return _own_parts(n, n * c * (oh + kh - 1) * (ow + kw - 1) * cols.itemsize,
                      _LAG_SPLIT_MIN_BYTES)


def _fwd_lags(K, cols, w, parts):
    n, c, oh, ow, kh, kw = cols.shape
    o = w.shape[0]
    h, wd = oh + kh - 1, ow + kw - 1
    r = h * wd
    x = _lag_planes(cols)
    w5 = np.zeros((o, c, kh, kw + (-kw) % 5), np.float32)
    w5[..., :kw] = w
    y = np.empty((o, n * r), np.float32)
    _run_parts(lambda a, b: K.conv_fwd_lags(x, w5, wd, r, oh * wd, a, b, y), parts)
    return y.reshape((o, n, h, wd))[:, :, :oh, :ow].transpose(1, 0, 2, 3)


def _w_grad_lags(K, ct, cols, parts):
    n, c, oh, ow, kh, kw = cols.shape
    o = ct.shape[1]
    h, wd = oh + kh - 1, ow + kw - 1
    x = _lag_planes(cols)
    p = _ct_rows(ct, 2, False, (h, wd))  # (O, N*H*W), zeros beyond (OH, OW)
    tasks = (o + 1) // 2 * c * kh * ((kw + 4) // 5)
    out = np.empty((o, c, kh, kw))
    _run_parts(lambda a, b: K.conv_w_grad_lags(p, x, wd, h * wd, oh * wd, kh, kw, a, b, out),
               [(0, tasks)] if len(parts) == 1 else threads.halves(tasks, 1))
    return out.astype(np.float32)


def _fwd_row_shift(cols, w, parts):
    K = accel.kernels_for(cols, w) if _lags_fit(w.shape[1], w.shape[0], *w.shape[2:]) \
        else None
    if K is not None:
        return _fwd_lags(K, cols, w, _lag_parts(cols))
    n, c, oh, ow, kh, kw = cols.shape
    o = w.shape[0]
    h, wd = oh + kh - 1, ow + kw - 1
    r = h * wd
    reach = (kh - 1) * wd  # the columns a block's product runs past its samples
    x = _planes(cols, reach + kw - 1)
    xp = namespace(cols)
    wz = xp.ascontiguousarray(w.transpose(2, 0, 1, 3)).reshape(kh * o, c * kw)
    y = xp.empty((o, n * r), w.dtype)
    nb, starts, ranges = _shift_blocks(n, (c * kw + kh * o) * r * cols.itemsize, parts)

    def blocks(i, j):
        span = min(nb, n) * r + reach
        bbuf = xp.empty((c * kw, span), cols.dtype)
        zbuf = xp.empty((kh * o, span), cols.dtype)
        for s in starts[i:j]:
            m = (min(n, s + nb) - s) * r
            _shifts(x, s * r, kw, m + reach, 1, bbuf)
            z = U.matmul(wz, bbuf[:, :m + reach], out=zbuf[:, :m + reach])
            z = z.reshape((kh, o, m + reach))
            yv = y[:, s * r:s * r + m]
            if kh == 1:
                yv[...] = z[0, :, :m]
                continue
            U.add(z[0, :, :m], z[1, :, wd:wd + m], out=yv)
            for t in range(2, kh):
                U.add(yv, z[t, :, t * wd:t * wd + m], out=yv)
    _run_parts(blocks, ranges)
    return y.reshape((o, n, h, wd))[:, :, :oh, :ow].transpose(1, 0, 2, 3)


def _w_grad_row_shift(ct, cols, parts):
    K = accel.kernels_for(ct, cols) if _lags_fit(cols.shape[1], ct.shape[1],
                                                 *cols.shape[4:]) else None
    if K is not None:
        return _w_grad_lags(K, ct, cols, _lag_parts(cols))
    n, c, oh, ow, kh, kw = cols.shape
    o = ct.shape[1]
    h, wd = oh + kh - 1, ow + kw - 1
    r = h * wd
    pad = (kh - 1) * wd
    x = _planes(cols, kw - 1)
    xp = namespace(cols)
    p = _ct_rows(ct, 2, False, (h, wd), pad)  # (O, pad + N*H*W)
    rb, rd = c * kw + (-c * kw) % 8, kh * o + (-kh * o) % 8
    nb, starts, ranges = _shift_blocks(n, (rb + rd) * r * cols.itemsize, parts)

    def blocks(i, j):
        bbuf = xp.empty((rb, min(nb, n) * r), cols.dtype)
        dbuf = xp.empty((rd, min(nb, n) * r), cols.dtype)
        bbuf[c * kw:] = 0  # the padding rows
        dbuf[kh * o:] = 0
        acc = tmp = None
        for s in starts[i:j]:
            m = (min(n, s + nb) - s) * r
            _shifts(x, s * r, kw, m, 1, bbuf)
            _shifts(p, pad + s * r, kh, m, -wd, dbuf)
            if acc is None:
                acc = U.matmul(dbuf[:, :m], bbuf[:, :m].T)
            else:
                tmp = U.matmul(dbuf[:, :m], bbuf[:, :m].T, out=tmp)
                U.add(acc, tmp, out=acc)
        return acc
    got = _run_parts(blocks, ranges)
    g = got[0] if len(got) == 1 else U.add(got[0], got[1], out=got[0])
    # rows (o, ky), columns (c, kx) -> (O, C, KH, KW)
    return xp.ascontiguousarray(g[:o * kh, :c * kw].reshape((o, kh, c, kw)).transpose(0, 2, 1, 3))


def _conv_fwd_kernel(nsp, grouped):
    def run(cols, w):  # (N, [G,] C, *out, *K), ([G,] O, C, *K) -> (N, [G,] O, *out)
        m = _cols_matrix(cols, nsp, grouped)
        head = w.shape[:1] if grouped else ()
        w2 = w.reshape(head + (w.shape[len(head)], -1))
        n = cols.shape[0]
        if m is None and 0 in cols.strides:  # (broadcast zeros: a shape evaluation)
            return None
        parts = [(0, n)] if grouped or cols.dtype.char not in "fd" else \
            _batch_parts(n, cols.nbytes)
        lead = 3 if grouped else 2
        outs = tuple(cols.shape[lead:lead + nsp])
        if m is None and not grouped and _row_shift_ok(cols):
            return _fwd_row_shift(cols, w, _own_parts(n, cols.nbytes))
        if m is None:  # the windows view: gathered and multiplied block by block
            q = math.prod(outs)
            y = namespace(w2).empty(head + (w2.shape[-2], n * q), w2.dtype)

            def blocks(a, b):
                for s, e, mb in _cols_blocks(cols, nsp, grouped, a, b):
                    U.matmul(w2, mb, out=y[..., s * q:e * q])
            _run_parts(blocks, parts)
        elif len(parts) == 1:
            y = _mm_impl(w2, m)
        else:  # each half of the batch is a block of columns of the product
            q = m.shape[-1] // n
            y = namespace(m).empty((w2.shape[0], m.shape[-1]), m.dtype)

            def part(a, b):
                U.matmul(w2, m[:, a * q:b * q], out=y[:, a * q:b * q])
            _run_parts(part, parts)
        y = y.reshape(y.shape[:-1] + (cols.shape[0],) + outs)
        return y.transpose((lead - 1,) + tuple(range(lead - 1)) + tuple(range(lead,
                                                                             lead + nsp)))
    return run


# The windows gradient of a 2-D convolution with many channels and short output rows (ResNet's
# and VGG's 3x3 layers at 16x16 and below, every strided one) is formed kernel-offset-major
# and channels-last, memory (KH, KW, N, OH, OW, C): one product per offset, (N*OH*OW, O) @ (O,
# C). Col2im then adds each offset's slab into a channels-last (N, H, W, C) gradient, whose
# windows of one output row are ONE run of OW*C values (stride 1; C-long runs when strided),
# where the channel-major layout gives runs of OW: the per-run overhead was most of col2im
# (CPU, one thread, product + col2im: (16, 64, 16, 16) 3x3 6.5 -> 4.3 ms, (16, 256, 4, 4) 4.8
# -> 3.7, (16, 64, 8, 8) -> 128 stride 2 2.9 -> 1.9). Wide rows keep the channel-major layout
# ((16, 64, 32, 32): 22.7 vs 28.3 ms), as do few channels (thin products: LeNet's 6).
_CL_MIN_C = 32
_CL_MAX_OW = 16


def _channels_last_ok(ct, w):
    """Whether the windows gradient of the 2-D cotangent ``ct`` (N, O, OH, OW) and weight
    ``w`` (O, C, KH, KW) is formed channels-last: arrays or avals (shapes and dtypes only)."""
    ct_dt, w_dt = np.dtype(ct.dtype), np.dtype(w.dtype)
    grad_bytes = math.prod(ct.shape) * ct_dt.itemsize * math.prod(w.shape[1:]) // w.shape[0]
    return len(ct.shape) == 4 and w.shape[1] >= _CL_MIN_C and ct.shape[-1] <= _CL_MAX_OW and \
        ct_dt.char in "fd" and w_dt == ct_dt and len(_batch_parts(ct.shape[0], grad_bytes)) == 1


def _offset_weights(w):
    """The weight (O, C, KH, KW) as one (O, C) matrix per kernel offset, (KH*KW, O, C)."""
    o, c, kh, kw = w.shape
    return namespace(w).ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(kh * kw, o, c)


def _offset_slab(z, i, j, oh, ow, stride, dilation):
    """The entries of the channels-last gradient ``z`` (N, H, W, C) that kernel offset (i, j)
    of the (OH, OW) windows reaches."""
    (sy, sx), (dy, dx) = stride, dilation
    return z[:, i * dy:i * dy + sy * (oh - 1) + 1:sy, j * dx:j * dx + sx * (ow - 1) + 1:sx]


# Where the weight has at least as many output channels as the cotangent has rows (N*OH*OW:
# ResNet's 3x3 layers at 4x4 and 2x2, its strided ones), the windows gradient is ONE product
# with the weight as it lies, (N*OH*OW, O) @ (O, C*KH*KW), memory (N, OH, OW, C, KH, KW),
# instead of one product per offset with the weight first copied offset-major (KH*KW, O, C):
# that strided copy of the whole weight cost more than the products (CPU, product + col2im,
# (16, 512, 2, 2) 3x3 4.4 -> 2.5 ms, (16, 256, 4, 4) 2.9 -> 2.5, (16, 256, 2, 2) stride 2
# 0.72 -> 0.41; with more rows than channels the col2im's C-long strided runs cost more than
# the copy saves: (16, 128, 8, 8) 3.0 vs 3.1, (16, 64, 16, 16) 3.7 vs 4.5). Another
# partition of the products than per offset (other bits); the windows gradient and the
# fused input gradient (_input_grad_channels_last) both take it, so eager and jit agree.
def _wide_cols_grad(ct, w):
    return ct.shape[0] * ct.shape[2] * ct.shape[3] <= w.shape[0]


def _cols_grad_wide(ct, w):
    """(N, O, OH, OW), (O, C, KH, KW) -> the product (N*OH*OW, C*KH*KW), one row per output
    position: the windows gradient in (N, OH, OW, C, KH, KW) memory."""
    o, c, kh, kw = w.shape
    return U.matmul(_ct_rows(ct, 2, False).T, w.reshape(o, c * kh * kw))


# A strided (or dilated) convolution's channels-last windows gradient with more rows than
# output channels is ONE product with the weight copied offset-major by columns, (N*OH*OW, O)
# @ (O, KH*KW*C), each offset's block of the result C-long runs (col2im's strided slabs add
# C-long runs in any case), instead of one product per offset: ResNet-18's (16, 64, 16, 16)
# -> 128 stride 2, product + col2im, fastest of 40: 1.43 -> 1.23 ms, the same bits (each
# entry's sum over O is the same product's). Stride 1 keeps the products per offset, whose
# slabs add runs of OW*C while a (N*OH*OW, C) block is in cache ((16, 64, 16, 16) 3x3 2.93
# vs 3.03).


def _cols_grad_channels_last(ct, w, strided=False):
    """(N, O, OH, OW), (O, C, KH, KW) -> the windows gradient (N, C, OH, OW, KH, KW) as a
    view of (N, OH, OW, C, KH, KW) memory where the product is wide (_wide_cols_grad), else
    of (N, OH, OW, KH, KW, C) memory for a ``strided`` (or dilated) convolution and of (KH,
    KW, N, OH, OW, C) memory for the others."""
    n, o, oh, ow = ct.shape
    _, c, kh, kw = w.shape
    if _wide_cols_grad(ct, w):
        return _cols_grad_wide(ct, w).reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 1, 2, 4, 5)
    rows = _ct_rows(ct, 2, False).T
    if strided:  # (see above)
        wk = namespace(w).ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(o, kh * kw * c)
        g = U.matmul(rows, wk)
        return g.reshape(n, oh, ow, kh, kw, c).transpose(0, 5, 1, 2, 3, 4)
    g = U.matmul(rows, _offset_weights(w))  # (K, N*OH*OW, C): one product per offset
    return g.reshape(kh, kw, n, oh, ow, c).transpose(2, 5, 3, 4, 0, 1)


def _unwindows_channels_last(cols, size, stride, dilation):
    """col2im of a windows gradient in (KH, KW, N, OH, OW, C), (N, OH, OW, KH, KW, C) or (N,
    OH, OW, C, KH, KW) memory: each offset's slab added into (N, H, W, C) memory, in offset
    order (the general loop's additions), returned as the (N, C, H, W) view."""
    n, c, oh, ow, kh, kw = cols.shape
    mem = cols.transpose(4, 5, 0, 2, 3, 1)
    z = namespace(cols).zeros((n,) + tuple(size) + (c,), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            dst = _offset_slab(z, i, j, oh, ow, stride, dilation)
            U.add(dst, mem[i, j], out=dst)
    return z.transpose(0, 3, 1, 2)


def _conv_cols_grad_kernel(nsp, grouped, full=False, strided=False):
    def run(ct, w):  # (N, [G,] O, *out), ([G,] O, C, *K) -> (N, [G,] C, *out, *K)
        lead = 3 if grouped else 2
        head = w.shape[:1] if grouped else ()
        h = len(head)
        if nsp == 2 and not grouped and _channels_last_ok(ct, w):
            return _cols_grad_channels_last(ct, w, strided)
        w2 = w.reshape(head + (w.shape[h], -1))
        kernel, out = tuple(w.shape[lead:]), tuple(ct.shape[lead:])
        # (full) stride-1 windows of an undilated kernel span the input's grid, OH + kh - 1
        # rows of OW + kw - 1: the gradient formed on that full grid (zeros hidden) lets
        # col2im add ONE run per channel and kernel offset over all the samples. It costs
        # (H*W) / (OH*OW) more product, which pays from 5x5 kernels on (LeNet's conv2,
        # product + col2im: rows at full width 1.57 -> 1.07 ms, a 3x3 on 28x28 lost 2.0 ->
        # 2.5; then the full grid, wall, fastest of 40, two runs each: batch 32 0.71 -> 0.57
        # ms, batch 128 2.67-2.86 -> 2.31-2.43)
        grid = (out[0] + kernel[0] - 1, out[1] + kernel[1] - 1) \
            if full and kernel[0] * kernel[1] > 9 else None
        n = ct.shape[0]
        ck = w2.shape[-1]
        parts = [(0, n)] if grouped or ct.dtype.char not in "fd" else \
            _batch_parts(n, ct.nbytes * ck // w2.shape[-2])  # (the gradient's bytes)
        if grid is not None and ct.dtype.char in "fd":  # block by block (see _FULL_BLOCK_BYTES)
            g = namespace(ct).empty((ck, n * math.prod(grid)), ct.dtype)

            def block(p, a, b, _):
                U.matmul(w2.T, p[:, a:b], out=g[:, a:b])
            _full_grid_blocks(ct, ck, grid, block)
        elif len(parts) == 1:
            g = _mm_impl(w2.swapaxes(-1, -2), _ct_rows(ct, nsp, grouped, grid))
        else:  # each half of the batch is a block of columns of the product
            q = math.prod(grid or out)
            g = namespace(ct).empty((ck, n * q), ct.dtype)
            wt = w2.swapaxes(-1, -2)

            def part(a, b):
                U.matmul(wt, _ct_rows(ct[a:b], nsp, grouped, grid), out=g[:, a * q:b * q])
            _run_parts(part, parts)
        cshape = head + (w.shape[lead - 1],) + kernel + (ct.shape[0],)
        if grid is None:
            g = g.reshape(cshape + out)
        else:
            root = g.base if isinstance(g.base, type(g)) else g  # (g may be a view, of a
            # pooled product's array: the views below have that array for base)
            _zero_margins[id(root)] = root
            g = g.reshape(cshape + grid)[..., :out[0], :out[1]]
        perm = (h + 1 + nsp,) + tuple(range(h + 1)) + \
            tuple(range(h + 2 + nsp, h + 2 + 2 * nsp)) + tuple(range(h + 1, h + 1 + nsp))
        return g.transpose(perm)
    return run


# The weight gradient from the windows copy (C*K, N*P) and the cotangent's rows (O, N*P) is
# formed as (C*K, O) = windows @ rows^T, then transposed, when C*K > O and the sum over N*P
# is long against the result (N*P >= _W_GRAD_WINDOWS_FIRST * C*K, so the transposing copy
# is small): OpenBLAS's two threads share that orientation better (ms, (O, C*K, N*P), CPU,
# fastest of 7: LeNet's conv2 (16, 150, 12800) 0.95 -> 0.51, at batch 32 (16, 150, 3200)
# 0.24 -> 0.13; ResNet-18's stem (64, 147, 16384) 2.57 -> 2.30; with C*K < O it lost:
# mnist-cnn's (32, 9, 50176) 0.79 -> 0.91). Another order of sums; eager and jit both take it.
_W_GRAD_WINDOWS_FIRST = 4


def _w_grad_windows_first(ck, o, np_):
    """Whether a weight gradient of C*K = ``ck`` rows, O = ``o`` outputs and a sum over
    ``np_`` positions is formed windows-first (see _W_GRAD_WINDOWS_FIRST)."""
    return _W_GRAD_WINDOWS_FIRST is not None and ck > o and np_ >= _W_GRAD_WINDOWS_FIRST * ck


def _conv_w_grad_kernel(nsp, grouped):
    def run(ct, cols):  # (N, [G,] O, *out), (N, [G,] C, *out, *K) -> ([G,] O, C, *K)
        m = _cols_matrix(cols, nsp, grouped)
        if m is None and not grouped and _row_shift_ok(cols) and _w_grad_shifts(ct, cols):
            return _w_grad_row_shift(ct, cols, _own_parts(cols.shape[0], cols.nbytes))
        if m is None:
            return _w_grad_blocked(ct, cols, nsp, grouped)
        lead = 3 if grouped else 2
        n = cols.shape[0]
        parts = [(0, n)] if grouped or cols.dtype.char not in "fd" else \
            _batch_parts(n, cols.nbytes)
        if len(parts) == 1:
            ctr = _ct_rows(ct, nsp, grouped)
            if not grouped and _w_grad_windows_first(m.shape[0], ctr.shape[0], m.shape[1]):
                gw = namespace(m).ascontiguousarray(_mm_impl(m, ctr.T).T)
            else:
                gw = _mm_impl(ctr, m.swapaxes(-1, -2))  # (O, C*K)
        else:  # the sum over the batch as two half-batch products, added (first + second)
            q = m.shape[-1] // n

            def part(a, b):
                return U.matmul(_ct_rows(ct[a:b], nsp, grouped),
                                m[:, a * q:b * q].swapaxes(-1, -2))
            first, second = _run_parts(part, parts)
            gw = U.add(first, second, out=first)
        return gw.reshape(gw.shape[:-1] + (cols.shape[lead - 1],) + cols.shape[lead + nsp:])
    return run


# A blocked weight gradient with few output channels (O not a multiple of 8, O below this:
# LeNet's conv1, O = 6) is formed as (C*K, O8) = windows block @ cotangent rows padded with
# zero rows to O8 (the next multiple of 8), then cropped and transposed: OpenBLAS's kernels
# fill their 8-wide panels (CPU ms, one thread, the products of LeNet's conv1 weight gradient:
# batch 8 0.46 -> 0.40, 32 1.88 -> 1.83, 128 10.1 -> 9.2). Another order of sums than (O,
# C*K) = cotangent @ windows block^T; eager and jit both take it (the same bits).
_W_GRAD_PAD_BELOW = 32


def _w_grad_blocked(ct, cols, nsp, grouped):
    """The weight gradient from the windows view: the sum of the blocks' products, in block
    order (with the split on, each half's sum, then first + second)."""
    if 0 in cols.strides:  # (broadcast zeros: a shape evaluation; np.einsum)
        return None
    lead = 3 if grouped else 2
    n = cols.shape[0]
    parts = [(0, n)] if grouped or cols.dtype.char not in "fd" else \
        _batch_parts(n, cols.nbytes)
    ctr = _ct_rows(ct, nsp, grouped)
    q = ctr.shape[-1] // n
    o = ctr.shape[-2]
    padded = not grouped and o % 8 and o < _W_GRAD_PAD_BELOW
    if padded:  # see _W_GRAD_PAD_BELOW
        p8 = namespace(ctr).zeros((o + (-o) % 8, ctr.shape[-1]), ctr.dtype)
        p8[:o] = ctr
        ctr = p8

    def part(a, b):
        acc = tmp = None
        for s, e, mb in _cols_blocks(cols, nsp, grouped, a, b):
            if padded:  # (C*K, O8): the window block times the padded cotangent's rows
                x, y = mb, ctr[..., s * q:e * q].swapaxes(-1, -2)
            else:
                x, y = ctr[..., s * q:e * q], mb.swapaxes(-1, -2)
            if acc is None:
                acc = U.matmul(x, y)
            else:
                tmp = U.matmul(x, y, out=tmp)
                U.add(acc, tmp, out=acc)
        return acc
    got = _run_parts(part, parts)
    gw = got[0] if len(got) == 1 else U.add(got[0], got[1], out=got[0])
    if padded:
        gw = gw[:, :o].T
    return gw.reshape(gw.shape[:-1] + (cols.shape[lead - 1],) + cols.shape[lead + nsp:])


def _letters(n):
    return "".join("hwd"[i] for i in range(n)), "".join("klm"[i] for i in range(n))


def _conv_letters(nsp, stride, dilation, groups):
    """The einsum letters of a convolution's spatial and kernel dims. A 2-D stride-1,
    undilated convolution is spelled with its own letters, so that its windows' gradient
    (whose kernel sees only the cotangent and the weight) may be formed on the full grid
    that col2im adds by whole runs (one group), or by the depthwise kernels below."""
    if nsp == 2 and not (stride == (1, 1) and dilation == (1, 1)):
        return "pq", "kl"
    return _letters(nsp)


# ---- depthwise 2-D stride-1 convolutions ---------------------------------------------------
# One input and one output channel per group (MobileNet's, EfficientNet's, ConvNeXt's 3x3 to
# 7x7 depthwise layers): as per-group GEMMs these are G products of a 1 x K row, each
# gathering its own windows, and col2im then adds K strided slabs of OW-long rows (a
# (16, 96, 16, 16) 3x3 layer, forward and both gradients, one thread: 8.7 ms where PyTorch
# takes 0.9). Instead each channel's padded input is one row of N*Hp*Wp values (the
# channel-major copy of the input) and an output row y[p] = sum_k w_k x[p + off_k], off_k =
# ky*Wp + kx, is K scaled adds of shifted whole rows: positions p past a row's OW (or a
# sample's OH) are computed and cropped, never read. The windows gradient is the product
# w_k * cotangent written once on each channel's padded grid (zeros outside the windows, see
# _dw_grids), which col2im adds as K shifted whole rows; the weight gradient is K dot
# products of the cotangent (zero-padded to the same grid) with the shifted input rows.
# ((16, 96, 16, 16) 3x3 forward and both gradients: 8.7 -> 5.1 ms.) The forward's adds run
# block by block of channels and positions (_dw_blocks: the block stays in the L2 cache
# through the K offsets; (16, 144, 32, 32) and (16, 32, 64, 64) 3x3 forwards, one thread,
# 12-14 -> 7-8 ms). Stride 2 keeps the per-group products: gathering the input's four
# phases (17-float rows at 32x32) cost more than the shifted adds saved. The sums run in
# kernel-offset order, fixed by the shapes: eager and jit give the same bits (another order
# than the per-group GEMMs: tests compare with torch). The convolution reaches these kernels
# with its windows as a view (_conv never copies them for a depthwise stride-1 layer).

def _dw_view_ok(cols):
    """Whether ``cols`` (N, G, 1, OH, OW, KH, KW) is the stride-1 undilated windows view of a
    float32/float64 input with contiguous rows."""
    if cols.ndim != 7 or cols.shape[2] != 1 or cols.dtype.char not in "fd" or \
            0 in cols.strides:
        return False
    st = cols.strides
    return st[3] == st[5] and st[4] == st[6] == cols.itemsize


def _dw_rows(cols):
    """The padded input under the windows view ``cols``, as (G, N*Hp*Wp) C-ordered rows."""
    n, g, _, oh, ow, kh, kw = cols.shape
    st = cols.strides
    xp = namespace(cols)
    src = xp.as_strided(cols, (g, n, oh + kh - 1, ow + kw - 1), (st[1], st[0], st[3], st[4]),
                        writeable=False)
    return xp.ascontiguousarray(src).reshape(g, -1)


def _dw_offsets(kh, kw, wp):
    return [(i * kw + j, i * wp + j) for i in range(kh) for j in range(kw)]


_DW_BLOCK = 1 << 16  # values (channels x positions) per block of the shifted adds


def _dw_blocks(g, span):
    """(channel range, position range) blocks of a (g, span) array, about _DW_BLOCK values
    each (from the shapes only; every output's sum runs in offset order whatever the
    blocks, so they don't change its bits)."""
    pb = min(span, _DW_BLOCK)
    cb = max(1, _DW_BLOCK // max(1, pb))
    return [(a, min(g, a + cb), p, min(span, p + pb)) for a in range(0, g, cb)
            for p in range(0, span, pb)]


def _dw_fwd(cols, w):  # (N, G, 1, OH, OW, KH, KW), (G, 1, 1, KH, KW) -> (N, G, 1, OH, OW)
    n, g, _, oh, ow, kh, kw = cols.shape
    hp, wp = oh + kh - 1, ow + kw - 1
    x = _dw_rows(cols)
    L = x.shape[1]
    span = L - (kh - 1) * wp - (kw - 1)  # every valid output position lies below
    xp = namespace(cols)
    y = xp.empty((g, L), cols.dtype)
    y[:, span:] = 0
    wk = w.reshape(g, kh * kw)
    offs = _dw_offsets(kh, kw, wp)
    blocks = _dw_blocks(g, span)
    tmp = xp.empty(max((b - a) * (q - p) for a, b, p, q in blocks), cols.dtype)
    for a, b, p, q in blocks:  # each block through all K offsets while it is in cache
        acc = y[a:b, p:q]
        t = tmp[:(b - a) * (q - p)].reshape(b - a, q - p)
        for k, off in offs:
            if k == 0:
                U.multiply(x[a:b, p + off:q + off], wk[a:b, :1], out=acc)
            else:
                U.multiply(x[a:b, p + off:q + off], wk[a:b, k:k + 1], out=t)
                U.add(acc, t, out=acc)
    out = y.reshape(g, n, hp, wp)[:, :, :oh, :ow]
    return out.transpose(1, 0, 2, 3)[:, :, None]


def _dw_ct_grid(ct, hp, wp):
    """The cotangent (N, G, 1, OH, OW) on each channel's padded grid, zeros elsewhere, as
    (G, N*Hp*Wp) rows."""
    n, g, _, oh, ow = ct.shape
    c = namespace(ct).zeros((g, n, hp, wp), ct.dtype)
    c[:, :, :oh, :ow] = ct[:, :, 0].transpose(1, 0, 2, 3)
    return c.reshape(g, -1)


def _dw_cols_grad(ct, w):  # (N, G, 1, OH, OW), (G, 1, 1, KH, KW) -> (N, G, 1, OH, OW, KH, KW)
    n, g, _, oh, ow = ct.shape
    kh, kw = w.shape[-2:]
    hp, wp = oh + kh - 1, ow + kw - 1
    c = _dw_ct_grid(ct, hp, wp)
    buf = namespace(ct).empty((g, kh * kw, n * hp * wp), ct.dtype)
    U.multiply(w.reshape(g, kh * kw, 1), c[:, None], out=buf)
    _dw_grids[id(buf)] = buf  # (its layout: see _dw_unwindows)
    v = buf.reshape(g, kh, kw, n, hp, wp)[:, :, :, :, :oh, :ow]
    return v.transpose(3, 0, 4, 5, 1, 2)[:, :, None]


# windows gradients of _dw_cols_grad: (G, K, N*Hp*Wp) buffers, each kernel offset's values on
# the whole padded grid of every channel (zeros outside the windows)
_dw_grids = weakref.WeakValueDictionary()


def _dw_unwindows(cols, size, kernel):
    """col2im of a depthwise windows gradient in its grid layout, or None: each kernel
    offset's row added to the channel's row shifted by the offset, K contiguous adds (the
    same additions in the same order as the general loop)."""
    buf = cols.base
    if buf is None or _dw_grids.get(id(buf)) is not buf:
        return None
    n, c, oh, ow, kh, kw = cols.shape
    hp, wp = size
    L = n * hp * wp
    e = cols.itemsize
    if buf.shape != (c, kh * kw, L) or cols.strides != (hp * wp * e, kh * kw * L * e, wp * e, e,
                                                         kw * L * e, L * e):
        return None
    z = namespace(buf).zeros((c, L), buf.dtype)
    for k, off in _dw_offsets(kh, kw, wp):
        U.add(z[:, off:], buf[:, k, :L - off], out=z[:, off:])
    return z.reshape(c, n, hp, wp).transpose(1, 0, 2, 3)


def _dw_w_grad(ct, cols):  # (N, G, 1, OH, OW), (N, G, 1, OH, OW, KH, KW) -> (G, 1, 1, KH, KW)
    n, g, _, oh, ow, kh, kw = cols.shape
    hp, wp = oh + kh - 1, ow + kw - 1
    x = _dw_rows(cols)
    xp = namespace(cols)
    c = _dw_ct_grid(ct, hp, wp)
    L = x.shape[1]
    dw = xp.empty((g, kh * kw), ct.dtype)
    for k, off in _dw_offsets(kh, kw, wp):
        dw[:, k] = xp.einsum("gp,gp->g", c[:, :L - off], x[:, off:])
    return dw.reshape(g, 1, 1, kh, kw)


def _depthwise_or(kernel, which):
    """The grouped stride-1 2-D kernel ``kernel``, or the depthwise kernel of ``_DW[which]``
    where that applies (one input and one output channel per group, the windows the input's
    view)."""
    def run(a, b):
        fast, ok = _DW[which]
        return fast(a, b) if ok(a, b) else kernel(a, b)
    return run


def _one_per_group(w, dt):  # w (G, O/G, C/G, ...) of dtype dt
    return tuple(w.shape[1:3]) == (1, 1) and w.dtype == dt


def _dw_cols_ok(ct, w):
    """Whether _dw_cols_grad takes the cotangent ``ct`` (N, G, 1, OH, OW) and weight ``w``:
    arrays or avals (shapes and dtypes only)."""
    return len(ct.shape) == 5 and ct.shape[2] == 1 and np.dtype(ct.dtype).char in "fd" and \
        _one_per_group(w, ct.dtype)


_DW = {  # which -> (fast kernel, when it applies)
    "fwd": (_dw_fwd, lambda cols, w: _dw_view_ok(cols) and _one_per_group(w, cols.dtype)),
    "cols": (_dw_cols_grad, _dw_cols_ok),
    "w": (_dw_w_grad, lambda ct, cols: _dw_view_ok(cols) and ct.shape[2] == 1 and
          ct.dtype == cols.dtype),
}


for _nsp in (1, 2, 3):
    for _grp in (False, True):
        for _sp in ((_letters(_nsp)[0], "pq") if _nsp == 2 else (_letters(_nsp)[0],)):
            _kk = _letters(_nsp)[1]
            _x, _w, _y = ((f"ngc{_sp}{_kk}", f"goc{_kk}", f"ngo{_sp}") if _grp else
                          (f"nc{_sp}{_kk}", f"oc{_kk}", f"no{_sp}"))
            _dw = _grp and _nsp == 2 and _sp == "hw"  # stride 1, undilated
            _kf, _kc, _kg = (_conv_fwd_kernel(_nsp, _grp), _conv_cols_grad_kernel(
                _nsp, _grp, full=_nsp == 2 and not _grp and _sp == "hw", strided=_sp == "pq"),
                _conv_w_grad_kernel(_nsp, _grp))
            gemm_kernels[f"{_x},{_w}->{_y}"] = _depthwise_or(_kf, "fwd") if _dw else _kf
            gemm_kernels[f"{_y},{_w}->{_x}"] = _depthwise_or(_kc, "cols") if _dw else _kc
            gemm_kernels[f"{_y},{_x}->{_w}"] = _depthwise_or(_kg, "w") if _dw else _kg


# ---- a convolution's input gradient in one kernel (plans) ---------------------------------
# Eagerly, a convolution's input gradient is two primitives: the windows gradient (an einsum
# of the cotangent and the weight) and col2im (unwindows). The windows gradient is K times
# the input's size ((16, 144, 32, 32) depthwise 3x3: 96 MB written and read back). jit's
# plans (and the replayed eager backward, transforms/tape_plans.py) replace that pair by
# ``conv_input_grad`` when the windows gradient has no other use
# (transforms/staging/passes.fuse_input_grads): for a depthwise layer the products w_k *
# cotangent are formed block by block and added where col2im adds them; for a layer whose
# windows gradient is channels-last, each kernel offset's product goes into one reused
# buffer and is added while in cache (VGG-11's input gradients, one thread: 212 -> 197 ms;
# ResNet-18's step 221-248 -> 211-219 ms). The same products and additions in the same order,
# so the bits of the pair (``input_grad_fuses`` says which layers; the others keep the pair).

def _dw_input_grad(ct, w):  # (N, G, 1, OH, OW), (G, 1, 1, KH, KW) -> (N, G, Hp, Wp)
    n, g, _, oh, ow = ct.shape
    kh, kw = w.shape[-2:]
    hp, wp = oh + kh - 1, ow + kw - 1
    c = _dw_ct_grid(ct, hp, wp)
    L = c.shape[1]
    xp = namespace(ct)
    z = xp.zeros((g, L), ct.dtype)
    wk = w.reshape(g, kh * kw)
    offs = _dw_offsets(kh, kw, wp)
    blocks = _dw_blocks(g, L)
    tmp = xp.empty(max((b - a) * (q - p) for a, b, p, q in blocks), ct.dtype)
    for a, b, p, q in blocks:
        for k, off in offs:
            lo = max(p, off)
            if lo >= q:
                continue
            t = tmp[:(b - a) * (q - lo)].reshape(b - a, q - lo)
            U.multiply(c[a:b, lo - off:q - off], wk[a:b, k:k + 1], out=t)
            zb = z[a:b, lo:q]
            U.add(zb, t, out=zb)
    return z.reshape(g, n, hp, wp).transpose(1, 0, 2, 3)


def _input_grad_channels_last(ct, w, size, stride, dilation):
    """The channels-last windows gradient and its col2im (_cols_grad_channels_last,
    _unwindows_channels_last) one kernel offset at a time: each offset's product into one
    reused (N*OH*OW, C) buffer, added into the gradient while it is in cache (a wide or
    strided layer's one product is the pair itself); the same products and additions in
    the same order."""
    strided = stride != (1, 1) or dilation != (1, 1)
    if _wide_cols_grad(ct, w) or strided:  # one product, then col2im
        return _unwindows_channels_last(_cols_grad_channels_last(ct, w, strided), size,
                                        stride, dilation)
    n, _, oh, ow = ct.shape
    _, c, kh, kw = w.shape
    xp = namespace(ct)
    wk = _offset_weights(w)
    a = _ct_rows(ct, 2, False).T
    buf = xp.empty((n * oh * ow, c), ct.dtype)
    z = xp.zeros((n,) + tuple(size) + (c,), ct.dtype)
    for i in range(kh):
        for j in range(kw):
            U.matmul(a, wk[i * kw + j], out=buf)
            dst = _offset_slab(z, i, j, oh, ow, stride, dilation)
            U.add(dst, buf.reshape(n, oh, ow, c), out=dst)
    return z.transpose(0, 3, 1, 2)


# A windows gradient on the full grid (_conv_cols_grad_kernel: LeNet's conv2, a 5x5 stride-1
# kernel on few channels, NCHW) is formed block by block of samples, each block's product
# (the weight against those columns of the cotangent's grid) about _FULL_BLOCK_BYTES, the
# blocks split between two threads: OpenBLAS's bits depend on the columns and threads of a
# call, and this decomposition, fixed by the shapes, is the one both of the pair's forms use.
# Eagerly the blocks fill the whole gradient, which col2im then adds; in plans
# (conv_input_grad) each block goes into one reused buffer and its kernel offsets are added
# into the input gradient while it is in cache: the same products, and the pair's additions
# in its order (the terms the pair adds across a sample boundary are hidden zeros of the
# grid: they add nothing to a sum that starts at +0, which never becomes -0, so leaving out
# those that cross a block boundary keeps the bits). The adds need the compiled kernel
# (numba_kernels.add_offsets: NumPy's 25 small adds a block lose to the pair), hence plans fuse
# only with the kernels on and float32. LeNet's conv2 input gradient alone, the fused form vs
# the pair, alternating, medians of two runs: batch 8 0.42-0.50 -> 0.24-0.25 ms, batch 32
# 0.99-1.04 -> 0.75-0.83, batch 128 3.9-4.7 -> 2.3-2.8; LeNet's compiled step, alternating
# (a loaded machine): batch 8 1.80 -> 1.70, 32 5.06 -> 4.69, 128 14.9 -> 11.5. (The eager
# pair's product in blocks against one threaded GEMM, separate runs: batch 8 one block, 32
# 0.54 -> 0.51-0.66 ms, 128 3.06 -> 2.19-2.61.)
_FULL_BLOCK_BYTES = 2 << 20  # (alone, batch 32 / 128, medians: 1 MB 0.67 / 1.81 ms, 2 MB
# 0.49 / 1.66, 4 MB 0.50 / 1.70, one block 0.49 / 2.15)


def _full_grid_blocks(ct, ck, grid, block, scratch=False):
    """``block(p, a, b, buf)`` for each block of samples of the cotangent ``ct`` (N, O, OH,
    OW), p its rows on the full ``grid`` (O, N*H*W), columns a..b the block's, the blocks
    split between two threads; ``ck`` rows a product; with ``scratch``, ``buf`` is room for
    one block's product, one per thread (else None)."""
    n, hw = ct.shape[0], grid[0] * grid[1]
    p = _ct_rows(ct, 2, False, grid)
    nb = _block_len(n, ck * hw * ct.itemsize, _FULL_BLOCK_BYTES)
    starts = range(0, n, nb)
    k = len(starts)

    def blocks(i0, i1):
        buf = namespace(ct).empty(ck * nb * hw, ct.dtype) if scratch else None
        for s in starts[i0:i1]:
            block(p, s * hw, min(n, s + nb) * hw, buf)
    _run_parts(blocks, [(0, k)] if k < _SHIFT_SPLIT_MIN_BLOCKS else [(0, k // 2), (k // 2, k)])


def _full_grid_fuses(ct, w, size, kernel, stride, dilation):
    """Whether the dense windows gradient of ``ct`` and ``w`` (arrays or avals), when not
    channels-last, is formed on the full grid (_conv_cols_grad_kernel) and fuses with its
    col2im in blocks: float32 with the compiled kernels on (NumPy's 25 small adds a block
    lose to the pair)."""
    return stride == (1, 1) and dilation == (1, 1) and len(kernel) == 2 and \
        kernel[0] * kernel[1] > 9 and len(ct.shape) == 4 and \
        tuple(size) == (ct.shape[2] + kernel[0] - 1, ct.shape[3] + kernel[1] - 1) and \
        np.dtype(ct.dtype) == np.float32 == np.dtype(w.dtype) and accel.kernels() is not None


def _input_grad_full_blocks(K, ct, w, size):
    n = ct.shape[0]
    o, c, kh, kw = w.shape
    hw = size[0] * size[1]
    ck = c * kh * kw
    wt = w.reshape(o, ck).T
    z = namespace(ct).empty((c, n * hw), ct.dtype)
    offs = np.array([i * size[1] + j for i in range(kh) for j in range(kw)], np.int64)

    def block(p, a, b, buf):
        g = U.matmul(wt, p[:, a:b], out=buf[:ck * (b - a)].reshape(ck, b - a))
        K.add_offsets(g.reshape(c, kh * kw, b - a), offs, a, b, z)
    _full_grid_blocks(ct, ck, size, block, scratch=True)
    return z.reshape(c, n, size[0], size[1]).swapaxes(0, 1)


def input_grad_fuses(eq, ct, w, size, kernel, stride, dilation):
    """Whether the windows gradient ``eq`` of ``ct`` and ``w`` (arrays or avals) and its
    col2im have a kernel of their own (the plans' pass fuses only those)."""
    if eq == _DW_COLS_EQ:
        return stride == (1, 1) and dilation == (1, 1) and _dw_cols_ok(ct, w) and \
            tuple(size) == (ct.shape[3] + kernel[0] - 1, ct.shape[4] + kernel[1] - 1)
    return eq in _DENSE_COLS_EQS and (_channels_last_ok(ct, w) or (
        eq == _DENSE_COLS_EQS[0] and _full_grid_fuses(ct, w, size, kernel, stride, dilation)))


def _input_grad_impl(ct, w, *, eq, cols_shape, size, kernel, stride, dilation, crop=None):
    if crop is not None:  # (the padding's crop, from passes.crop_input_grads: see below)
        z = _input_grad_impl(ct, w, eq=eq, cols_shape=cols_shape, size=size, kernel=kernel,
                             stride=stride, dilation=dilation)
        v = z[tuple(slice(a, b) for a, b in crop)]
        perm = _memory_order(ct) if v.ndim == ct.ndim > 2 else None
        if perm is None:
            return namespace(z).ascontiguousarray(v)
        return namespace(z).ascontiguousarray(v.transpose(perm)).transpose(_inverse(perm))
    # (input_grad_fuses' cases, each tested once; the kernels off since the plan was made:
    # the pair)
    if eq == _DW_COLS_EQ:
        if input_grad_fuses(eq, ct, w, size, kernel, stride, dilation):
            return _dw_input_grad(ct, w)
    elif eq in _DENSE_COLS_EQS:
        if _channels_last_ok(ct, w):
            return _input_grad_channels_last(ct, w, size, stride, dilation)
        K = accel.kernels_for(ct, w) if eq == _DENSE_COLS_EQS[0] and \
            _full_grid_fuses(ct, w, size, kernel, stride, dilation) else None
        if K is not None:
            return _input_grad_full_blocks(K, ct, w, size)
    cols = _einsum_impl(ct, w, eq=eq).reshape(cols_shape)
    return _unwindows_impl(cols, size, kernel, stride, dilation)


def _input_grad_ref(ct, w, *, eq, cols_shape, size, kernel, stride, dilation, crop=None):
    cols = einsum(eq, ct, w).reshape(cols_shape)
    z = bind(unwindows_p, cols, size=size, kernel=kernel, stride=stride, dilation=dilation)
    return z if crop is None else z[tuple(slice(a, b) for a, b in crop)]


def _input_grad_shape(ct, w, eq, cols_shape, size, kernel, stride, dilation, crop=None):
    if crop is not None:
        return Aval(tuple(b - a for a, b in crop), ct.dtype)
    return Aval(tuple(cols_shape[:-2 * len(kernel)]) + tuple(size), ct.dtype)


# Plans crop a convolution's padded input gradient inside conv_input_grad (the ``crop``: (start,
# stop) per axis; transforms/staging/passes.crop_input_grads) into a dense copy laid out as the
# cotangent (the layout of the layer's other arrays, so that the next elementwise pass runs
# over whole runs), instead of through the pad's transpose, a strided view whose next pass
# ran along rows of OW values: ResNet-18's 512-channel 2x2 layers, the ReLU gradient after
# each, 0.26 -> 0.015 ms (32768 values), the copy 0.09 ms.


_DW_COLS_EQ = "ngohw,gockl->ngchwkl"  # the depthwise windows gradient's equation
_DENSE_COLS_EQS = ("nohw,ockl->nchwkl", "nopq,ockl->ncpqkl")  # a 2-D convolution's (strided)
conv_input_grad_p = Primitive(
    "conv_input_grad", _input_grad_impl, allocating=True, reference=_input_grad_ref,
    shape=_input_grad_shape)


# ---- 3x3 stride-1 convolutions through Winograd F(2x2, 3x3) or F(4x4, 3x3) ------------------
# A 3x3 stride-1 undilated convolution of one group, zero-padded by 0 or 1 on each side, whose
# shapes pay (winograd.fits, with the compiled kernels on) is one primitive,
# ``winograd_conv(input, weight, pad=(py, px))``, whose VJP is one more (both gradients,
# ``winograd_grads``) or, when only one is needed, ``winograd_input_grad`` (cotangent,
# weight) or ``winograd_weight_grad`` (cotangent, input): ops/winograd.py computes each with
# 2.25x fewer multiplications than the window matrix's products, no window matrix and no
# padded copy of the input (the tape keeps the input itself). Eagerly and in plans the same
# kernels run, so the same bits; their references (the padding, windows and einsums of
# every other convolution) give the higher derivatives, JVPs and batching rules. The
# compiled ResNet-18 step at batch 16 (64x64 inputs) and VGG-11's: see the README.
_W3 = dict(kernel=(3, 3), stride=(1, 1), dilation=(1, 1))


def _wino_padded(x, pad):
    return _pad_spatial(x, tuple((p, p) for p in pad), 0)


def _wino_ref(x, w, pad):
    return einsum("nchwkl,ockl->nohw", bind(windows_p, _wino_padded(x, pad), **_W3), w)


def _wino_vjp(ct, out, x, w, pad, needed=None, residuals=None):
    dx, dw = needed or (True, True)
    if dx and dw:  # (the cotangent's transform made once)
        if residuals is not None:  # the forward's U and V (_wino_forward)
            return tuple(bind(winograd_grads_kept_p, ct, x, w, *residuals, pad=pad))
        return tuple(bind(winograd_grads_p, ct, x, w, pad=pad))
    return (bind(winograd_input_grad_p, ct, w, pad=pad) if dx else None,
            bind(winograd_weight_grad_p, ct, x, pad=pad) if dw else None)


def _wino_forward(primals, pad):
    """Reverse mode's forward (jit's, or on arrays): winograd_conv_kept, whose U and V the
    VJP's winograd_grads_kept reads instead of making them again, where winograd.keeps
    (ResNet-18's compiled step, alternating in one process: median 112.7 -> 111.5 ms,
    fastest 109.1 -> 106.9); under other transforms (vmap, a second derivative) the plain
    primitive. (The eager tape records winograd_conv itself: its backward makes them
    again, and its peak memory stays below PyTorch's.)"""
    x, w = primals
    if all(not isinstance(v, Tracer) or v.staged for v in primals) and \
            winograd.keeps(tuple(x.shape), tuple(w.shape), pad, x.dtype.itemsize):
        y, u, v = bind(winograd_conv_kept_p, x, w, pad=pad)
        return y, (u, v)
    return bind(winograd_conv_p, x, w, pad=pad), None


def _wino_kept_shape(x, w, pad):
    o, c = w.shape[:2]
    y = winograd_conv_p.shape_rule(x, w, pad)
    m = winograd.tile(x.shape[0], c, o, y.shape[2:])
    t = winograd._geometry(y.shape, m)[2]
    return [y, Aval((winograd._planes_of(m), o, c), x.dtype),
            Aval((winograd.kept_planes_len(c, t, m),), x.dtype)]


def _wino_kept_ref(x, w, pad):
    """winograd_conv_kept by definition: the convolution, U = G g G^T of every kernel and
    the input's planes V = B^T d B of every tile in the impl's layout (the additions of
    winograd's NumPy twin in its order), for its tile size."""
    from .indexing import cat, stack
    o, c = w.shape[:2]
    n, _, h, wd = x.shape
    (py, px), (oh, ow) = pad, winograd.out_size(x.shape[2:], pad)
    m = winograd.tile(n, c, o, (oh, ow))
    P, a, bt = winograd._planes_of(m), m + 2, winograd._FNS[m][0]
    th, tw = oh // m, ow // m
    u = (as_value(winograd._GGS[m].astype(np.float32)) @ w.reshape((o * c, 9)).mT).reshape(
        (P, o, c))
    xs = _pad_spatial(x, ((py, m * th + 2 - h - py), (px, m * tw + 2 - wd - px)), 0)
    planes = [v.transpose(0, 1).reshape((c, -1))
              for r in bt(*[xs[:, :, i:i + m * th:m] for i in range(a)])
              for v in bt(*[r[..., j:j + m * tw:m] for j in range(a)])]
    gaps = as_value(np.zeros((P, 16), np.float32))
    v = cat([stack(planes).reshape((P, -1)), gaps], 1).reshape((-1,))
    return [_wino_ref(x, w, pad), u, v]


def _wino_input_grad_ref(ct, w, pad):
    (h, wd), (py, px) = winograd.in_size(ct.shape[2:], pad), pad
    z = bind(unwindows_p, einsum("nohw,ockl->nchwkl", ct, w),
             size=(h + 2 * py, wd + 2 * px), **_W3)
    return z[:, :, py:py + h, px:px + wd] if py or px else z


def _wino_weight_grad_ref(ct, x, pad):
    return einsum("nohw,nchwkl->ockl", ct, bind(windows_p, _wino_padded(x, pad), **_W3))


winograd_conv_p = Primitive(
    "winograd_conv", winograd.conv, allocating=True, reference=_wino_ref, vjp=_wino_vjp,
    shape=lambda x, w, pad: Aval((x.shape[0], w.shape[0]) + winograd.out_size(x.shape[2:],
                                                                               pad), x.dtype))
winograd_conv_p.vjp_takes_needed = True
winograd_conv_p.vjp_forward = _wino_forward
winograd_conv_kept_p = Primitive(
    "winograd_conv_kept", winograd.conv_kept, allocating=True, multiple_results=True,
    reference=_wino_kept_ref, shape=_wino_kept_shape)
winograd_grads_kept_p = Primitive(
    "winograd_grads_kept", winograd.grads_kept, allocating=True, multiple_results=True,
    reference=lambda ct, x, w, u, v, pad: (_wino_input_grad_ref(ct, w, pad),
                                           _wino_weight_grad_ref(ct, x, pad)),
    shape=lambda ct, x, w, u, v, pad: (Aval(x.shape, ct.dtype), Aval(w.shape, ct.dtype)))
winograd_input_grad_p = Primitive(
    "winograd_input_grad", winograd.input_grad, allocating=True,
    reference=_wino_input_grad_ref,
    shape=lambda ct, w, pad: Aval((ct.shape[0], w.shape[1]) + winograd.in_size(ct.shape[2:],
                                                                               pad), ct.dtype))
winograd_weight_grad_p = Primitive(
    "winograd_weight_grad", winograd.weight_grad, allocating=True,
    reference=_wino_weight_grad_ref,
    shape=lambda ct, x, pad: Aval((ct.shape[1], x.shape[1], 3, 3), ct.dtype))
winograd_grads_p = Primitive(
    "winograd_grads", winograd.grads, allocating=True, multiple_results=True,
    reference=lambda ct, x, w, pad: (_wino_input_grad_ref(ct, w, pad),
                                     _wino_weight_grad_ref(ct, x, pad)),
    shape=lambda ct, x, w, pad: (Aval(x.shape, ct.dtype), Aval(w.shape, ct.dtype)))


def _winograd_pad(x, w, kernel, stride, dilation, groups, pads):
    """(py, px) when the 2-D convolution takes winograd_conv (its zero padding, 0 or 1 on
    both sides of each axis), else None."""
    if len(kernel) != 2 or tuple(kernel) != (3, 3) or stride != (1, 1) or \
            dilation != (1, 1) or groups != 1 or \
            any(p0 != p1 or p0 not in (0, 1) for p0, p1 in pads):
        return None
    pad = (pads[0][0], pads[1][0])
    outs = winograd.out_size(x.shape[2:], pad)
    if np.dtype(w.dtype) == np.dtype(x.dtype) and min(outs) > 0 and \
            winograd.fits(x.shape[0], x.shape[1], w.shape[0], outs, x.dtype) and \
            accel.kernels() is not None:
        return pad
    return None


# ---- max pooling: the window maximum and its (first) position --------------------------------
# These loop over the kernel offsets with strided slices (one np.maximum per offset), which is
# far faster than reducing a 6-D strided window view. The position is the first maximum in
# window order, as PyTorch picks it, so ties send the whole gradient to one entry.

def _offset_slices(kernel, stride, dilation, out):
    for koff in np.ndindex(*kernel):
        yield tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                    for k, d, s, o in zip(koff, dilation, stride, out))


def _pool_out(x_shape, kernel, stride, dilation):
    nsp = len(kernel)
    return tuple(_out_len(n, k, s, d) for n, k, s, d in
                 zip(x_shape[-nsp:], kernel, stride, dilation))


_CHUNK_BYTES = 1 << 17  # the input bytes one piece of the max-pool backward reads


def _chunks(x, nsp, piece=None, whole_below=16):
    """(axis, [slice, ...]): a lead axis of ``x`` cut into pieces of about ``piece`` bytes
    (_CHUNK_BYTES), so that the kernel-offset passes over one piece (each reads or writes a
    strided part of every cache line) stay in cache; the outermost lead axis in memory. One
    piece when the input is small enough to stay in cache anyway (below ``whole_below``
    pieces' worth)."""
    piece = piece or _CHUNK_BYTES
    lead = x.ndim - nsp
    axes = [a for a in range(lead) if x.shape[a] > 1]
    if x.nbytes <= whole_below * piece or not axes:
        return None, [slice(None)]
    ax = max(axes, key=lambda a: abs(x.strides[a]))
    n = x.shape[ax]
    step = max(1, n * piece // x.nbytes)
    return ax, [slice(a, min(n, a + step)) for a in range(0, n, step)]


def _piece(v, ax, sl):
    return v if ax is None else v[(slice(None),) * ax + (sl,)]


# A padded max pool (ResNet's 3x3 stride-2 pool, padding 1) takes its padding as parameters
# (``pads``: (before, after) per spatial axis; ``fill``: -inf, or the integer dtype's least
# value) rather than from a pad before it: the compiled kernels read the unpadded input and
# write an unpadded gradient, so neither the padded copy nor the gradient's crop (a strided
# view that made the next elementwise pass slow) exists. ResNet-18's compiled step, CPU,
# the lines of its plan from the stem's ReLU on: pad 0.42 + pool 0.92 + scatter 1.21 + the
# ReLU gradient over the crop 0.88 + the stem's batch-norm gradient 0.90 = 4.33 ms -> pool
# 0.84 + scatter 1.58 + ReLU gradient 0.43 + batch-norm gradient 0.36 = 3.21 ms. The NumPy
# paths pad a copy and crop its gradient (the values of the pad before).

def _spatial_pads(x, pads):
    return ((0, 0),) * (x.ndim - len(pads)) + tuple(tuple(p) for p in pads)


def _unpad(z, x, pads):
    """The entries of ``z`` (the gradient of ``x`` padded by ``pads``) inside ``x``, laid
    out as a fresh C-ordered array."""
    full = _spatial_pads(x, pads)
    return namespace(z).ascontiguousarray(z[tuple(slice(lo, lo + n) for n, (lo, _) in
                                                  zip(x.shape, full))])


def _pool_max_impl(x, kernel, stride, dilation, pads=None, fill=None):
    """The window maximum, one spatial axis at a time (the maximum over a box is the maximum
    over its rows of the maximum along each row): k - 1 passes per axis, the first over
    whole rows (contiguous inner loops) and each next over the already reduced array,
    instead of prod(k) - 1 strided passes over the input. The same values (NaN propagates
    either way); only the sign of a zero maximum may come from another tied entry."""
    nsp = len(kernel)
    if pads is not None:
        K = accel.kernels_for(x) if nsp == 2 and dilation == (1, 1) else None
        r = None if K is None else _pool_padded_compiled(K, x, kernel, stride, pads)
        if r is not None:
            return r
        x = _pad_impl(x, _spatial_pads(x, pads), fill)
    if kernel == (2, 2) == stride and dilation == (1, 1) and \
            x.shape[-2] % 2 == 0 == x.shape[-1] % 2:
        K = accel.kernels_for(x)
        r = None if K is None else _pool_2x2_compiled(K, x)
        if r is not None:
            return r
    if x.ndim > nsp and x.shape[0] > 1:
        parts = _own_parts(x.shape[0], x.nbytes)
        if len(parts) > 1:  # each half of the batch into its own rows of the result
            res = namespace(x).empty(x.shape[:-nsp] + _pool_out(x.shape, kernel, stride,
                                                                dilation), x.dtype)

            def part(a, b):
                res[a:b] = _pool_max_rows(x[a:b], kernel, stride, dilation)
            _run_parts(part, parts)
            return res
    return _pool_max_rows(x, kernel, stride, dilation)


def _pool_2x2_compiled(K, x):
    """A tiled 2x2 max pool by the compiled kernel (numba_kernels.pool2x2_fwd), read in the
    input's memory order, the result in C order (as the NumPy path's); None when the input's
    layout is not a permutation of C order with whole rows. Alone, medians, channel-major
    inputs: (32, 6, 28, 28) 0.102 -> 0.061 ms, (128, 6, 28, 28) 0.379 -> 0.242 (split),
    (32, 16, 10, 10) 0.058 -> 0.032, (64, 32, 28, 28) 0.82 -> 0.43; the compiled step,
    alternating: LeNet batch 32 3.55 -> 3.47 ms, mnist-cnn 10.1 -> 9.7."""
    perm = _memory_order(x)
    if perm is None:
        return None
    h, w = x.shape[-2:]
    lead = x.shape[:-2]
    out = namespace(x).empty(lead + (h // 2, w // 2), x.dtype)
    x3 = x.transpose(perm).reshape(-1, h, w)
    idx = np.arange(x3.shape[0]).reshape(lead).transpose(perm[:-2]).reshape(-1)
    o3 = out.reshape(-1, h // 2, w // 2)
    parts = _own_parts(x3.shape[0], x.nbytes, _SCATTER_2X2_NB_SPLIT_BYTES)
    _run_parts(lambda a, b: K.pool2x2_fwd(x3[a:b], idx[a:b], o3), parts)
    return out


def _pool_padded_compiled(K, x, kernel, stride, pads):
    """A padded 2-D max pool by the compiled kernel (numba_kernels.pool_fwd), read in the
    input's memory order, the result in C order; None when the input's layout is not a
    permutation of C order with whole rows."""
    perm = _memory_order(x)
    if perm is None:
        return None
    lead = x.shape[:-2]
    outs = _pool_out(_padded_shape(x.shape[-2:], pads), kernel, stride, (1, 1))
    out = namespace(x).empty(lead + outs, x.dtype)
    x3 = x.transpose(perm).reshape((-1,) + x.shape[-2:])
    idx = np.arange(x3.shape[0]).reshape(lead).transpose(perm[:-2]).reshape(-1)
    o3 = out.reshape((-1,) + outs)
    (ty, _), (tx, _) = pads
    parts = _own_parts(x3.shape[0], x.nbytes, _SCATTER_SPLIT_BYTES)
    _run_parts(lambda a, b: K.pool_fwd(x3, *kernel, *stride, ty, tx, idx, a, b, o3), parts)
    return out


def _pool_max_rows(x, kernel, stride, dilation):
    nsp = len(kernel)
    outs = _pool_out(x.shape, kernel, stride, dilation)
    r, fresh = x, False
    last = max((a for a in range(nsp) if kernel[a] > 1), default=-1)
    for a in range(nsp):  # the outermost spatial axis first: its rows are the longest
        ax = x.ndim - nsp + a
        k, s, d, o = kernel[a], stride[a], dilation[a], outs[a]
        lead = (slice(None),) * ax
        views = [r[lead + (slice(j * d, j * d + s * (o - 1) + 1, s),)] for j in range(k)]
        if k == 1:
            r = views[0]
            continue
        # the last pass writes C order, as the result; the earlier ones keep the input's
        # layout (a convolution's output is channel-major), so that they run along whole
        # rows of both operands instead of converting the layout element by element
        # (mnist-cnn's 2x2 pool: 2.3 -> 1.8 ms CPU; the same values)
        red = np.maximum(views[0], views[1], order="C" if a == last else "K")
        for v in views[2:]:
            np.maximum(red, v, out=red)
        r, fresh = red, True
    if not fresh or not r.flags.c_contiguous:  # (a window of one entry along some axis)
        r = r.copy()  # (C order)
    return r


def _first_hit_masks(views, out, bufs=None):
    """For each of ``views`` (a window's entries at each kernel offset, in window order,
    shaped as ``out``): the mask of windows whose first maximum sits there. ``bufs``: two
    boolean arrays of ``out``'s shape to compute in (reused across pieces); a mask is valid
    until the next one is made."""
    if bufs is None:
        bufs = (namespace(out).empty(out.shape, bool), namespace(out).empty(out.shape, bool))
    hit, taken = bufs
    for i, v in enumerate(views):
        if i == 0:
            yield np.equal(v, out, out=taken)
            continue
        np.equal(v, out, out=hit)
        np.greater(hit, taken, out=hit)  # hit and not taken
        if i + 1 < len(views):
            taken |= hit
        yield hit


def _first_hits(x, out, kernel, stride, dilation, bufs=None):
    """For each kernel offset: (slices, mask of windows whose first maximum sits there)."""
    offsets = list(_offset_slices(kernel, stride, dilation, out.shape[-len(kernel):]))
    return zip(offsets, _first_hit_masks([x[(Ellipsis,) + sl] for sl in offsets], out,
                                         bufs))


def _argmax_gather_impl(t, x, out, kernel, stride, dilation, pads=None, fill=None):
    if pads is not None:
        t = _pad_impl(t, _spatial_pads(t, pads), 0)
        x = _pad_impl(x, _spatial_pads(x, pads), fill)
    res = namespace(t).zeros(out.shape, t.dtype)
    for sl, hit in _first_hits(x, out, kernel, stride, dilation):
        np.copyto(res, t[(Ellipsis,) + sl], where=hit)
    return res


def _argmax_scatter_impl(ct, x, out, kernel, stride, dilation, pads=None, fill=None):
    if pads is None:
        return _scatter(ct, x, out, kernel, stride, dilation)
    if len(kernel) == 2 and x.ndim > 2 and dilation == (1, 1) and \
            not _disjoint(kernel, stride, dilation) and _finite(ct):
        K = accel.kernels_for(ct, x, out)
        z = None if K is None else _scatter_compiled(K, ct, x, out, kernel, stride, pads)
        if z is not None:
            return z
    xp = _pad_impl(x, _spatial_pads(x, pads), fill)
    return _unpad(_scatter(ct, xp, out, kernel, stride, dilation), x, pads)


def _disjoint(kernel, stride, dilation):
    """Whether the windows don't overlap (each owns its input entries)."""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


def _finite(ct):
    """Whether every entry of the cotangent is finite (its sum is finite only if every entry
    is: one pass, no mask; a finite cotangent whose sum overflows counts as not finite)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(U.add.reduce(ct, axis=None)))


def _scatter(ct, x, out, kernel, stride, dilation):
    # windows that don't overlap own their input entries: write, don't accumulate
    disjoint = _disjoint(kernel, stride, dilation)
    nsp = len(kernel)
    tiled = all(d == 1 and s == k and o * s == n for k, s, d, o, n in
                zip(kernel, stride, dilation, out.shape[-nsp:], x.shape[-nsp:]))
    # windows that tile the input write every entry once: no zero fill needed; the gradient
    # is laid out as the input (a convolution's output is channel-major in memory, and so
    # its cotangent comes to the weight gradient's product with no transposing copy)
    parts = _batch_parts(x.shape[0], x.nbytes) if x.ndim > nsp else [(0, 1)]
    if tiled and kernel == (2, 2):  # (selections: any cotangent)
        K = accel.kernels_for(ct, x, out)
        z = None if K is None else _scatter_2x2_compiled(K, ct, x, out)
        if z is not None:
            return z
    # the kernels multiply the cotangent by hit masks; an infinite or NaN cotangent times a
    # miss would be NaN where PyTorch (and a selection) gives 0: such a cotangent selects
    # (a finite one whose sum overflows too, the same values more slowly)
    finite = _finite(ct)
    if len(parts) == 1 and tiled and kernel == (2, 2) and x.nbytes >= _SCATTER_2X2_MIN_BYTES \
            and finite:
        z = _scatter_2x2(ct, x, out)
        if z is not None:
            return z
    xp = namespace(ct)
    if not disjoint and finite and nsp == 2 and x.ndim > 2 and dilation == (1, 1):
        K = accel.kernels_for(ct, x, out)
        z = None if K is None else _scatter_compiled(K, ct, x, out, kernel, stride)
        if z is not None:
            return z
    if len(parts) == 1 and not disjoint and finite and nsp == 2 and x.ndim > 2 and \
            dilation == (1, 1) and x.dtype.kind == "f" and ct.dtype.kind == "f":
        return _scatter_phases(ct, x, out, kernel, stride)
    z = xp.empty_like(x, dtype=ct.dtype) if tiled else xp.zeros(x.shape, ct.dtype)
    if len(parts) == 1:
        _scatter_rows(z, ct, x, out, kernel, stride, dilation, disjoint, finite)
    else:  # each half of the batch into its own rows of the gradient
        _run_parts(lambda a, b: _scatter_rows(z[a:b], ct[a:b], x[a:b], out[a:b], kernel,
                                              stride, dilation, disjoint, finite), parts)
    return z


def _memory_order(a):
    """The permutation of ``a``'s leading axes (the last two kept last) that makes it
    C-contiguous, or None."""
    lead = sorted(range(a.ndim - 2), key=lambda i: -a.strides[i])
    perm = tuple(lead) + (a.ndim - 2, a.ndim - 1)
    return perm if a.transpose(perm).flags.c_contiguous else None


_PIECE_2X2_BYTES = 1 << 19  # the input bytes one piece of the 2x2 pool backward reads
# the input size from which it pays (CPU, interleaved, medians: (128, 6, 28, 28) 4.3 -> 2.8 ms
# and (64, 32, 28, 28) 9.0 -> 5.9 ms; at (32, 6, 28, 28) 0.69 vs 0.80 and (32, 16, 10, 10)
# 0.35 vs 0.37 the general path's passes over an input in cache are as fast or faster)
_SCATTER_2X2_MIN_BYTES = 1 << 21


# With the kernels on, a tiled 2x2 pool's gradient is one vectorised pass of bit-masked
# selections (numba_kernels.pool2x2_bwd) at every size, against the NumPy paths below (medians,
# 8 different random inputs in turn: a kernel with branches timed on one input repeated had
# looked 4x faster than it was, the branch predictor having learnt the input): (8, 6, 28, 28)
# 0.130 -> 0.064 ms, (32, 16, 10, 10) 0.185 -> 0.108, (32, 6, 28, 28) 0.336 -> 0.187,
# (128, 6, 28, 28) 1.28 -> 0.52 (split), (16, 64, 32, 32) 2.19 -> 0.82 (split). From this
# input size the pass splits between two threads by planes (each owns its outputs): (64, 6,
# 28, 28) 0.347 -> 0.318, (128, 6, 28, 28) 0.676 -> 0.521; at (32, 6, 28, 28) 0.187 vs 0.225.
_SCATTER_2X2_NB_SPLIT_BYTES = 1 << 20


def _scatter_2x2_compiled(K, ct, x, out):
    """The tiled 2x2 pool's gradient by the compiled kernel (numba_kernels.pool2x2_bwd), laid
    out as ``x``; None when ``x``'s layout is not a permutation of C order with whole rows."""
    perm = _memory_order(x)
    if perm is None:
        return None
    xm = x.transpose(perm)
    z = namespace(x).empty(xm.shape, x.dtype)
    h, w = xm.shape[-2:]
    om, cm = (np.ascontiguousarray(a.transpose(perm)).reshape(-1, h // 2, w // 2)
              for a in (out, ct))
    x3, z3, c3 = xm.reshape(-1, h, w), z.reshape(-1, h, w).view(np.int32), cm.view(np.int32)
    parts = _own_parts(x3.shape[0], x.nbytes, _SCATTER_2X2_NB_SPLIT_BYTES)
    _run_parts(lambda a, b: K.pool2x2_bwd(x3[a:b], om[a:b], c3[a:b], z3[a:b]), parts)
    return z.transpose(_inverse(perm))


# With the kernels on, an overlapping pool's gradient (finite cotangent) is one compiled pass
# per plane (numba_kernels.pool_scatter: _scatter_phases' phases, first hits and additions in
# its order, its bits), split between two threads by planes from this input size. One thread,
# fastest of 7: (16, 64, 34, 34) 3x3 stride 2 (ResNet-18's pool, padded) 3.4 -> 1.6 ms, (8,
# 256, 18, 18) 2.1 -> 1.1, (16, 192, 34, 34) 3x3 stride 1 21 -> 12.
_SCATTER_SPLIT_BYTES = 1 << 20


def _scatter_compiled(K, ct, x, out, kernel, stride, pads=((0, 0), (0, 0))):
    """The overlapping pool's gradient by the compiled kernel, laid out as ``x`` (taken
    padded by ``pads`` with -inf; the padding's share dropped); None when ``x``'s layout is
    not a permutation of C order with whole rows."""
    perm = _memory_order(x)
    if perm is None:
        return None
    xm = x.transpose(perm)
    z = namespace(x).empty(xm.shape, x.dtype)
    (h, w), (oh, ow) = x.shape[-2:], out.shape[-2:]
    (ty, by), (tx, bx) = pads
    om, cm = (np.ascontiguousarray(a.transpose(perm)).reshape(-1, oh, ow) for a in (out, ct))
    x3, z3 = xm.reshape(-1, h, w), z.reshape(-1, h, w)
    parts = _own_parts(x3.shape[0], x.nbytes, _SCATTER_SPLIT_BYTES)
    _run_parts(lambda a, b: K.pool_scatter(x3, om, cm, *kernel, *stride, ty, tx, h + ty + by,
                                           w + tx + bx, a, b, z3), parts)
    return z.transpose(_inverse(perm))


def _scatter_2x2(ct, x, out):
    """The max pool's gradient for tiled 2x2 windows (stride 2: LeNet's and mnist-cnn's
    pools) from each window's decisions instead of one equality mask per kernel offset: in
    each row of a window the left entry wins a tie (left >= right), and the top row wins if
    its maximum is >= the bottom row's: the first maximum in window order, as PyTorch and
    the general path pick it. The passes run over contiguous arrays in ``x``'s memory order
    (a piece of about _PIECE_2X2_BYTES of the input at a time, so that the temporaries stay
    in the L2 cache), the row pairs de-interleaved by two strided copies first: NumPy's
    maximum/compare on every-other-element views is several times slower than on contiguous
    ones (mnist-cnn's pool backward at batch 64, CPU, interleaved A/B on a loaded machine,
    median: 12.0 -> 7.0 ms). The same values as the general path (which serves a split
    batch); a zero gradient entry may differ in sign. None (take the general path) when
    ``x``'s layout is not a permutation of C order with whole rows, the dtypes differ, or
    a window's maximum is NaN (the general path sends no gradient there)."""
    if ct.dtype != x.dtype or x.dtype.kind != "f":
        return None
    perm = _memory_order(x)
    if perm is None or np.isnan(out).any():
        return None
    xp = namespace(x)
    xm = x.transpose(perm)
    wo = xm.shape[-1] // 2
    m = xm.size // (4 * wo)  # window rows
    flat = xm.reshape(-1)
    cq = xp.ascontiguousarray(ct.transpose(perm)).reshape(m, wo)
    z = xp.empty(xm.shape, x.dtype)
    zf = z.reshape(-1)
    step = max(1, _PIECE_2X2_BYTES // (4 * wo * x.itemsize))
    k = min(m, step)
    left, right = xp.empty((k, 2, wo), x.dtype), xp.empty((k, 2, wo), x.dtype)
    lwin, twin = xp.empty((k, 2, wo), bool), xp.empty((k, wo), bool)
    for a in range(0, m, step):
        b = min(m, a + step)
        n, lo, hi = b - a, a * 4 * wo, b * 4 * wo
        L, R, LW, TW = left[:n], right[:n], lwin[:n], twin[:n]
        L.reshape(-1)[...] = flat[lo:hi:2]  # (window row, top/bottom, column)
        R.reshape(-1)[...] = flat[lo + 1:hi:2]
        np.greater_equal(L, R, out=LW)  # the left entry wins its row of the window
        np.maximum(L, R, out=L)
        np.greater_equal(L[:, 0], L[:, 1], out=TW)  # the top row wins the window
        c = cq[a:b]
        np.multiply(c, TW, out=R[:, 0])  # R: the gradient of each row's maximum
        np.subtract(c, R[:, 0], out=R[:, 1])
        np.multiply(R, LW, out=L)  # L: the left entries' gradient
        zf[lo:hi:2] = L.reshape(-1)
        np.subtract(R, L, out=R)
        zf[lo + 1:hi:2] = R.reshape(-1)
    return z.transpose(_inverse(perm))


# The gradient of a 2-D max pool with overlapping windows (ResNet's 3x3 stride-2 stem pool):
# the input cut into its stride phases (x[py::sy, px::sx], each on a grid of ceil(H/sy) x
# ceil(W/sx)), so that every kernel offset's entries are ONE contiguous run of a phase
# (shifted by (ky // sy, kx // sx) grid rows and columns) instead of a 2-D every-other-element
# view: the passes (equal, first-hit masks, products, adds) run over flat runs. The windows
# sit on the same grid (the cotangent 0 and the maximum NaN beyond the output, so that those
# positions hit nothing; a valid window never reads past its phase's rows). The same first
# hits and the same additions in offset order: the bits of _scatter_rows. Piece by piece of
# the outermost lead axis (about _PHASE_PIECE_BYTES of input: cache-sized). CPU, fastest of
# 11, (16, 64, 34, 34) 3x3 stride 2: 7.56 -> 4.57 ms; (8, 256, 18, 18) 4.31 -> 2.78; (16, 64,
# 66, 66) 27.7 -> 15.6; (16, 192, 34, 34) 3x3 stride 1 46.6 -> 26.9.
_PHASE_PIECE_BYTES = 1 << 20


def _scatter_phases(ct, x, out, kernel, stride):
    z = namespace(ct).empty(x.shape, ct.dtype)
    ax, pieces = _chunks(x, 2, _PHASE_PIECE_BYTES, whole_below=1)
    for p in pieces:
        _scatter_phases_piece(_piece(z, ax, p), _piece(ct, ax, p), _piece(x, ax, p),
                              _piece(out, ax, p), kernel, stride)
    return z


def _scatter_phases_piece(z, ct, x, out, kernel, stride):
    (kh, kw), (sy, sx) = kernel, stride
    (h, w), (oh, ow), lead = x.shape[-2:], out.shape[-2:], x.shape[:-2]
    hq, wq = -(-h // sy), -(-w // sx)  # the phase grid
    m = math.prod(lead) * hq * wq
    tail = ((kh - 1) // sy) * wq + (kw - 1) // sx  # the furthest shift of a run
    xp = namespace(ct)
    grid = lead + (hq, wq)
    xs = xp.zeros((sy, sx, m + tail), x.dtype)
    for py in range(sy):
        for px in range(sx):
            src = x[..., py::sy, px::sx]
            xs[py, px, :m].reshape(grid)[..., :src.shape[-2], :src.shape[-1]] = src
    o = xp.full(m, np.nan, x.dtype)
    o.reshape(grid)[..., :oh, :ow] = out
    c = xp.zeros(m, ct.dtype)
    c.reshape(grid)[..., :oh, :ow] = ct
    zs = xp.zeros((sy, sx, m + tail), ct.dtype)
    tmp = xp.empty(m, ct.dtype)
    runs = [(iy % sy, ix % sx, (iy // sy) * wq + ix // sx) for iy in range(kh)
            for ix in range(kw)]  # each kernel offset's phase and shift, in window order
    hits = _first_hit_masks([xs[py, px, f:f + m] for py, px, f in runs], o)
    for (py, px, f), hit in zip(runs, hits):
        dst = zs[py, px, f:f + m]
        U.add(dst, np.multiply(hit, c, out=tmp), out=dst)
    for py in range(sy):
        for px in range(sx):
            dst = z[..., py::sy, px::sx]
            dst[...] = zs[py, px, :m].reshape(grid)[..., :dst.shape[-2], :dst.shape[-1]]


def _scatter_rows(z, ct, x, out, kernel, stride, dilation, disjoint, finite):
    xp = namespace(ct)
    ax, pieces = _chunks(x, len(kernel))
    # each offset's share is the (``finite``) cotangent times its hit mask, into a reused
    # buffer (with overlapping windows np.where's fresh array made the scatter 2x slower:
    # GoogLeNet's 3x3 stride-1 pool over (16, 192, 34, 34), one thread, 92 -> 44 ms)
    bufs = tmp = None
    for p in pieces:
        zs, cs, outs = _piece(z, ax, p), _piece(ct, ax, p), _piece(out, ax, p)
        if bufs is None or bufs[0].shape != outs.shape:  # (the last piece may be shorter)
            bufs = (xp.empty(outs.shape, bool), xp.empty(outs.shape, bool))
            tmp = None if disjoint else xp.empty(outs.shape, ct.dtype)
        for sl, hit in _first_hits(_piece(x, ax, p), outs, kernel, stride, dilation, bufs):
            dst = zs[(Ellipsis,) + sl]
            if disjoint and finite:  # windows that own their entries: written, not added
                np.multiply(hit, cs, out=dst)
            elif disjoint:
                dst[...] = np.where(hit, cs, 0)
            else:
                dst += np.multiply(hit, cs, out=tmp) if finite else np.where(hit, cs, 0)


def _padded_shape(shape, pads):
    if pads is None:
        return tuple(shape)
    nsp = len(pads)
    return tuple(shape[:-nsp]) + tuple(n + lo + hi for n, (lo, hi) in zip(shape[-nsp:], pads))


def _pool_batch(prim):
    def rule(args, dims, **params):
        return bind(prim, *batch_all_front(args, dims), **params), 0
    return rule


pool_max_p = Primitive(
    "pool_max", _pool_max_impl, vjp_needs_out=True,
    shape=lambda x, kernel, stride, dilation, pads=None, fill=None: Aval(
        tuple(x.shape[:-len(kernel)]) + _pool_out(_padded_shape(x.shape, pads), kernel, stride,
                                                  dilation), x.dtype),
    vjp=lambda ct, out, x, **kw: (bind(argmax_scatter_p, ct, x, out, **kw),),
    jvp=lambda p, t, out, **kw: bind(argmax_gather_p, t[0], p[0], out, **kw))
pool_max_p.batch = _pool_batch(pool_max_p)

argmax_gather_p = Primitive(
    "pool_argmax_gather", _argmax_gather_impl, linear=True,
    shape=lambda t, x, out, **kw: Aval(out.shape, t.dtype),
    vjp=lambda ct, o, t, x, out, **kw: (bind(argmax_scatter_p, ct, x, out, **kw), None, None),
    jvp=lambda p, t, o, **kw: bind(argmax_gather_p, t[0], p[1], p[2], **kw))
argmax_gather_p.batch = _pool_batch(argmax_gather_p)

argmax_scatter_p = Primitive(
    "pool_argmax_scatter", _argmax_scatter_impl, linear=True,
    shape=lambda ct, x, out, **kw: Aval(x.shape, ct.dtype),
    vjp=lambda c, o, ct, x, out, **kw: (bind(argmax_gather_p, c, x, out, **kw), None, None),
    jvp=lambda p, t, o, **kw: bind(argmax_scatter_p, t[0], p[1], p[2], **kw))
argmax_scatter_p.batch = _pool_batch(argmax_scatter_p)


# ---- argument handling --------------------------------------------------------------------

def _tuple(v, n, name, op):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise OpError(f"{op}: {name} must be an int or a tuple of {n}, got {v}")
    return v


def _check_input(x, nsp, op, what="input"):
    if x.ndim not in (nsp + 1, nsp + 2):
        raise OpError(f"{op}: expected a {nsp + 2}-D (batched) or {nsp + 1}-D (unbatched) "
                         f"{what}, got shape {tuple(x.shape)}")


def _pad_spatial(x, pads, value):
    if all(p == (0, 0) for p in pads):
        return x
    full = ((0, 0),) * (x.ndim - len(pads)) + tuple(pads)
    return bind(pad_p, x, pads=full, value=value)


# ---- convolution ---------------------------------------------------------------------------

def _check_dtypes(op, x, w, bias):
    """No promotion between the input, the weight and the bias (PyTorch's rule)."""
    if x.dtype != w.dtype:
        check_same_dtype(op, x, w, ("input", "weight"),
                         fix=layer_input_fix(x, w))
    if bias is not None and as_value(bias).dtype != w.dtype:
        check_same_dtype(op, as_value(bias), w, ("bias", "weight"))


def _conv_windows(nsp, x, w, pads, kernel, stride, dilation, g, op):
    """The convolution of ``x`` (N, C, *S) with ``w`` as einsum(windows(pad(x)), w)."""
    c, o = x.shape[1], w.shape[0]
    xp = _pad_spatial(x, pads, 0)
    for n, k, d in zip(xp.shape[2:], kernel, dilation):
        if n < d * (k - 1) + 1:
            raise OpError(f"{op}: the (padded) input {tuple(xp.shape)} is smaller than the "
                             f"dilated kernel {kernel} (dilation {dilation})")
    outs = [_out_len(n, k, s, d) for n, k, s, d in zip(xp.shape[2:], kernel, stride, dilation)]
    rows = (c // g) * math.prod(kernel)
    # the window matrix gathered once (copy) or block by block inside the products (a view)
    copy = not _conv_blocked(rows, g * rows * xp.shape[0] * math.prod(outs) *
                             xp.dtype.itemsize) and not _lags_apply(c, o, kernel, stride,
                                                                    dilation, g, xp.dtype)
    if g > 1 and c == g and o == g and nsp == 2 and stride == (1, 1) and dilation == (1, 1):
        copy = False  # depthwise: its kernels read the windows view (see _dw_fwd)
    cols = bind(windows_p, xp, kernel=kernel, stride=stride, dilation=dilation, copy=copy)
    sp, kk = _conv_letters(nsp, stride, dilation, g)
    if g == 1:
        out = einsum(f"nc{sp}{kk},oc{kk}->no{sp}", cols, w)
    else:
        cols = cols.reshape((cols.shape[0], g, c // g) + tuple(cols.shape[2:]))
        wg = w.reshape((g, o // g) + tuple(w.shape[1:]))
        out = einsum(f"ngc{sp}{kk},goc{kk}->ngo{sp}", cols, wg)
        out = out.reshape((out.shape[0], o) + tuple(out.shape[3:]))
    return out


def _conv(nsp, input, weight, bias, stride, padding, dilation, groups, op):
    x, w = as_value(input), as_value(weight)
    if _ac[0]:  # ember.autocast: convolutions are on the lower-precision list
        x, w, bias = _autocast.lower(x, w, bias)
    _check_dtypes(op, x, w, bias)
    _check_input(x, nsp, op)
    unbatched = x.ndim == nsp + 1
    if unbatched:
        x = x.unsqueeze(0)
    if w.ndim != nsp + 2:
        raise OpError(f"{op}: weight must be {nsp + 2}-D (out_channels, in_channels/groups, "
                         f"*kernel), got shape {tuple(w.shape)}")
    stride = _tuple(stride, nsp, "stride", op)
    dilation = _tuple(dilation, nsp, "dilation", op)
    kernel = tuple(w.shape[2:])
    c, o, g = x.shape[1], w.shape[0], int(groups)
    if g < 1 or c % g or o % g:
        raise OpError(f"{op}: groups={g} must divide both in_channels {c} and out_channels "
                         f"{o}")
    if w.shape[1] * g != c:
        raise OpError(f"{op}: input has {c} channels (shape {tuple(x.shape)}) but the weight "
                         f"{tuple(w.shape)} expects {w.shape[1] * g} (= weight.shape[1] * "
                         f"groups); check in_channels")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nsp
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise OpError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            tot = [d * (k - 1) for d, k in zip(dilation, kernel)]
            pads = tuple((t // 2, t - t // 2) for t in tot)
        else:
            raise OpError(f"{op}: padding must be 'valid', 'same', an int or a tuple, got "
                             f"{padding!r}")
    else:
        pads = tuple((p, p) for p in _tuple(padding, nsp, "padding", op))
    wpad = _winograd_pad(x, w, kernel, stride, dilation, g, pads) if nsp == 2 else None
    out = bind(winograd_conv_p, x, w, pad=wpad) if wpad is not None else \
        _conv_windows(nsp, x, w, pads, kernel, stride, dilation, g, op)
    if bias is not None:
        out = out + as_value(bias).reshape((o,) + (1,) * nsp)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation over (N, C, L), as ``torch.nn.functional.conv1d``.

    >>> ember.nn.functional.conv1d(ember.tensor([[[1., 2., 3., 4.]]]), ember.tensor([[[1., -1.]]]))
    tensor([[[-1., -1., -1.]]])
    """
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation over (N, C, H, W), as ``torch.nn.functional.conv2d``.

    >>> ember.nn.functional.conv2d(ember.ones(1, 1, 3, 3), ember.ones(1, 1, 2, 2))
    tensor([[[[4., 4.],
              [4., 4.]]]])
    >>> x, w = ember.ones(8, 3, 32, 32), ember.ones(16, 3, 3, 3)
    >>> ember.nn.functional.conv2d(x, w, stride=2, padding=1).shape
    ember.Size([8, 16, 16, 16])
    """
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, "conv2d")


def _conv_transpose(nsp, input, weight, bias, stride, padding, output_padding, groups,
                    dilation, op):
    x, w = as_value(input), as_value(weight)
    if _ac[0]:  # ember.autocast: convolutions are on the lower-precision list
        x, w, bias = _autocast.lower(x, w, bias)
    _check_dtypes(op, x, w, bias)
    _check_input(x, nsp, op)
    unbatched = x.ndim == nsp + 1
    if unbatched:
        x = x.unsqueeze(0)
    stride = _tuple(stride, nsp, "stride", op)
    dilation = _tuple(dilation, nsp, "dilation", op)
    padding = _tuple(padding, nsp, "padding", op)
    opad = _tuple(output_padding, nsp, "output_padding", op)
    g = int(groups)
    c = x.shape[1]
    if w.ndim != nsp + 2 or w.shape[0] != c or c % g:
        raise OpError(f"{op}: weight must be (in_channels={c}, out_channels/groups, *kernel) "
                         f"with in_channels divisible by groups={g}; got weight shape "
                         f"{tuple(w.shape)} for input {tuple(x.shape)}")
    for p, s, d in zip(opad, stride, dilation):
        if p >= max(s, d):
            raise OpError(f"{op}: output_padding {opad} must be smaller than stride {stride} "
                             f"or dilation {dilation}")
    kernel = tuple(w.shape[2:])
    o = w.shape[1] * g
    sp, kk = _letters(nsp)
    if g == 1:
        cols = einsum(f"nc{sp},co{kk}->no{sp}{kk}", x, w)
    else:
        xg = x.reshape((x.shape[0], g, c // g) + tuple(x.shape[2:]))
        wg = w.reshape((g, c // g) + tuple(w.shape[1:]))
        cols = einsum(f"ngc{sp},gco{kk}->ngo{sp}{kk}", xg, wg)
        cols = cols.reshape((cols.shape[0], o) + tuple(cols.shape[3:]))
    full = tuple((n - 1) * s + d * (k - 1) + 1 + p for n, s, d, k, p in
                 zip(x.shape[2:], stride, dilation, kernel, opad))
    out = bind(unwindows_p, cols, size=full, kernel=kernel, stride=stride, dilation=dilation)
    if any(padding):
        sizes = [f - 2 * p for f, p in zip(full, padding)]
        if any(s <= 0 for s in sizes):
            raise OpError(f"{op}: padding {padding} leaves no output for input "
                             f"{tuple(x.shape)} and kernel {kernel}")
        idx = (slice(None), slice(None)) + tuple(slice(p, p + s) for p, s in
                                                 zip(padding, sizes))
        out = out[idx]
    if bias is not None:
        out = out + as_value(bias).reshape((o,) + (1,) * nsp)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transpose (input gradient) of conv1d, as ``torch.nn.functional.conv_transpose1d``.

    >>> x, w = ember.tensor([[[1., 2.]]]), ember.tensor([[[1., 10.]]])
    >>> ember.nn.functional.conv_transpose1d(x, w, stride=2)
    tensor([[[ 1., 10.,  2., 20.]]])
    """
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transpose (input gradient) of conv2d, as ``torch.nn.functional.conv_transpose2d``.

    >>> x, w = ember.ones(1, 4, 5, 5), ember.ones(4, 2, 2, 2)
    >>> ember.nn.functional.conv_transpose2d(x, w, stride=2).shape
    ember.Size([1, 2, 10, 10])
    """
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, "conv_transpose2d")


# ---- pooling ---------------------------------------------------------------------------

def _pool_geometry(x, nsp, kernel_size, stride, padding, dilation, ceil_mode, op):
    _check_input(x, nsp, op)
    kernel = _tuple(kernel_size, nsp, "kernel_size", op)
    stride = kernel if stride is None or stride == () or stride == [] else \
        _tuple(stride, nsp, "stride", op)
    padding = _tuple(padding, nsp, "padding", op)
    dilation = _tuple(dilation, nsp, "dilation", op)
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise OpError(f"{op}: padding {padding} must be at most half the kernel size "
                             f"{kernel}")
    pads, outs = [], []
    for n, k, s, p, d in zip(x.shape[-nsp:], kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        if span < 0:
            raise OpError(f"{op}: input {tuple(x.shape)} with padding {padding} is smaller "
                             f"than the kernel {kernel} (dilation {dilation})")
        if ceil_mode:
            out = -(-span // s) + 1
            if (out - 1) * s >= n + p:  # the last window must start inside the input
                out -= 1
        else:
            out = span // s + 1
        outs.append(out)
        pads.append((p, max((out - 1) * s + d * (k - 1) + 1 - n - p, 0)))
    return kernel, stride, padding, dilation, tuple(pads), tuple(outs)


def _max_pool(nsp, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              op):
    x = as_value(input)
    kernel, stride, padding, dilation, pads, outs = _pool_geometry(
        x, nsp, kernel_size, stride, padding, dilation, ceil_mode, op)
    fill = -np.inf if x.dtype.is_floating_point else np.iinfo(x.dtype.np).min
    padded = {} if all(p == (0, 0) for p in pads) else dict(pads=pads, fill=fill)
    out = bind(pool_max_p, x, kernel=kernel, stride=stride, dilation=dilation, **padded)
    if not return_indices:
        return out
    xp = _pad_spatial(x, pads, fill)
    from .reduce import argmax
    cols = bind(windows_p, xp, kernel=kernel, stride=stride, dilation=dilation)
    flat = cols.reshape(tuple(cols.shape[:-nsp]) + (-1,))
    k = argmax(flat, -1)._data
    sizes = x.shape[-nsp:]
    xp = namespace(k)
    pos = xp.unravel_index(k, kernel)
    lin = xp.zeros(k.shape, np.int64)
    for i in range(nsp):
        start = xp.arange(outs[i]) * stride[i] - padding[i]
        start = start.reshape((-1,) + (1,) * (nsp - 1 - i))
        lin = lin * sizes[i] + start + pos[i] * dilation[i]
    return out, Tensor._wrap(lin)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of (N, C, L), as ``torch.nn.functional.max_pool1d``.

    >>> ember.nn.functional.max_pool1d(ember.tensor([[[1., 5., 2., 0.]]]), 2)
    tensor([[[5., 2.]]])
    """
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of (N, C, H, W), as ``torch.nn.functional.max_pool2d``.
    Where several entries of a window tie for the max, the gradient is shared evenly (PyTorch
    gives it to one of them).

    >>> ember.nn.functional.max_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, "max_pool2d")


def _avg_pool(nsp, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, op):
    x = as_value(input)
    kernel, stride, padding, dilation, pads, outs = _pool_geometry(
        x, nsp, kernel_size, stride, padding, 1, ceil_mode, op)
    xp = _pad_spatial(x, pads, 0)
    cols = bind(windows_p, xp, kernel=kernel, stride=stride, dilation=dilation)
    wdims = tuple(range(cols.ndim - nsp, cols.ndim))
    total = cols.sum(wdims)
    if divisor_override:
        return total / divisor_override
    # the divisor counts the window's cells inside the input (plus the explicit padding when
    # count_include_pad), never the extra cells ceil_mode adds on the right
    ones = np.ones((), x.dtype.np)
    for n, (lo, hi), p in zip(x.shape[-nsp:], pads, padding):
        j = np.arange(n + lo + hi) - lo  # input coordinate of each padded cell
        m = (j >= -p) & (j < n + p) if count_include_pad else (j >= 0) & (j < n)
        ones = np.multiply.outer(ones, m.astype(x.dtype.np))
    cnt = _windows_impl(ones, kernel, stride, dilation).sum(axis=tuple(range(nsp, 2 * nsp)))
    return total / Tensor._wrap(host_on_device_of(cnt.astype(x.dtype.np), x))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over sliding windows of (N, C, L), as ``torch.nn.functional.avg_pool1d``.

    >>> ember.nn.functional.avg_pool1d(ember.tensor([[[1., 5., 2., 0.]]]), 2)
    tensor([[[3., 1.]]])
    """
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     None, "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of (N, C, H, W), as ``torch.nn.functional.avg_pool2d``.

    >>> ember.nn.functional.avg_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool2d")


def _adaptive_matrix(n, m, dtype):
    """(m, n) averaging matrix: row i averages [floor(i n / m), ceil((i + 1) n / m))."""
    a = np.zeros((m, n), dtype)
    for i in range(m):
        lo, hi = (i * n) // m, -(-((i + 1) * n) // m)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def _adaptive_avg(nsp, input, output_size, op):
    x = as_value(input)
    _check_input(x, nsp, op)
    sizes = x.shape[-nsp:]
    outs = (output_size,) * nsp if isinstance(output_size, (int, np.integer)) else \
        tuple(output_size)
    outs = tuple(n if o is None else int(o) for o, n in zip(outs, sizes))
    if len(outs) != nsp or any(o <= 0 for o in outs):
        raise OpError(f"{op}: output_size must be {nsp} positive sizes, got {output_size}")
    sp = "hw"[:nsp]
    if all(o == 1 for o in outs):  # global pooling: one weighted sum over the positions
        # (ResNet-18's (16, 512, 2, 2), channel-major: 0.12 -> 0.04 ms; its gradient 0.16 ->
        # 0.08, C-ordered where the matrices' einsum laid it out with the rows outermost)
        wv = Tensor._wrap(host_on_device_of(np.full(sizes, 1 / math.prod(sizes),
                                                    x.dtype.np), x))
        out = einsum(f"...{sp},{sp}->...", x, wv)
        return out.reshape(tuple(out.shape) + (1,) * nsp)
    mats = [Tensor._wrap(host_on_device_of(_adaptive_matrix(n, o, x.dtype.np), x))
            for n, o in zip(sizes, outs)]
    eq = f"...{sp}," + ",".join(f"{u}{s}" for u, s in zip("ij", sp)) + f"->...{'ij'[:nsp]}"
    return einsum(eq, x, *mats)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of ``(N, C, L)`` to ``output_size`` positions.

    >>> ember.nn.functional.adaptive_avg_pool1d(ember.tensor([[[1., 2., 6.]]]), 1)
    tensor([[[3.]]])
    """
    return _adaptive_avg(1, input, output_size, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    >>> ember.nn.functional.adaptive_avg_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    return _adaptive_avg(2, input, output_size, "adaptive_avg_pool2d")


def _adaptive_max(nsp, input, output_size, op):
    x = as_value(input)
    _check_input(x, nsp, op)
    sizes = x.shape[-nsp:]
    outs = (output_size,) * nsp if isinstance(output_size, (int, np.integer)) else \
        tuple(output_size)
    outs = tuple(n if o is None else int(o) for o, n in zip(outs, sizes))
    if all(n % o == 0 for n, o in zip(sizes, outs)):
        k = tuple(n // o for n, o in zip(sizes, outs))
        return _max_pool(nsp, x, k, k, 0, 1, False, False, op)
    # windows of varying size: one max per output cell (a declared loop over the cells)
    from .reduce import amax
    from .indexing import stack
    cells = []
    for idx in np.ndindex(*outs):
        sl = tuple(slice((i * n) // o, -(-((i + 1) * n) // o)) for i, n, o in
                   zip(idx, sizes, outs))
        cells.append(amax(x[(Ellipsis,) + sl], tuple(range(x.ndim - nsp, x.ndim))))
    return stack(cells, -1).reshape(tuple(x.shape[:-nsp]) + outs)


def adaptive_max_indices(nsp, input, output_size, op):
    """(values, indices) of adaptive max pooling: each index is the flat position of the
    (first) maximum within the input's spatial dims, as PyTorch's ``return_indices=True``.
    The indices are found on concrete values; the values are gathered at them, so the
    gradient flows to the maxima."""
    from .indexing import gather
    from ..core.tensor import Tensor
    x = as_value(input)
    _check_input(x, nsp, op)
    sizes = tuple(x.shape[-nsp:])
    outs = (output_size,) * nsp if isinstance(output_size, (int, np.integer)) else \
        tuple(output_size)
    outs = tuple(n if o is None else int(o) for o, n in zip(outs, sizes))
    a = np.asarray(x.detach().numpy())
    lead = a.shape[:-nsp]
    idx = np.zeros(lead + outs, np.int64)
    for cell in np.ndindex(*outs):
        lo = [(i * n) // o for i, n, o in zip(cell, sizes, outs)]
        hi = [-(-((i + 1) * n) // o) for i, n, o in zip(cell, sizes, outs)]
        win = a[(Ellipsis,) + tuple(slice(l, h) for l, h in zip(lo, hi))]
        if win.size == 0:
            continue
        k = np.argmax(win.reshape(lead + (-1,)), -1)  # the first maximum (or NaN)
        local = np.unravel_index(k, tuple(h - l for l, h in zip(lo, hi)))
        idx[(Ellipsis,) + cell] = np.ravel_multi_index(
            tuple(c + l for c, l in zip(local, lo)), sizes)
    it = Tensor._wrap(idx)
    vals = gather(x.reshape(lead + (-1,)), -1, it.reshape(lead + (-1,)))
    return vals.reshape(lead + outs), it


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of ``(N, C, H, W)`` to ``output_size``; with ``return_indices`` also the
    flat (h * W + w) positions of the maxima.

    >>> ember.nn.functional.adaptive_max_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 1)
    tensor([[[[15.]]]])
    """
    if return_indices:
        return adaptive_max_indices(2, input, output_size, "adaptive_max_pool2d")
    return _adaptive_max(2, input, output_size, "adaptive_max_pool2d")


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of ``(N, C, L)`` to ``output_size`` positions; with ``return_indices``
    also the positions of the maxima.

    >>> ember.nn.functional.adaptive_max_pool1d(ember.tensor([[[1., 5., 2., 0.]]]), 2)
    tensor([[[5., 2.]]])
    """
    if return_indices:
        return adaptive_max_indices(1, input, output_size, "adaptive_max_pool1d")
    return _adaptive_max(1, input, output_size, "adaptive_max_pool1d")


for _f in (conv1d, conv2d, conv_transpose1d, conv_transpose2d, max_pool1d, max_pool2d,
           avg_pool1d, avg_pool2d, adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,
           adaptive_max_pool2d):
    export(_f, __all__)

for _n in ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"):
    _autocast.register(_n, globals()[_n])
