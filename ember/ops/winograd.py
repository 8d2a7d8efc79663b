"""Winograd F(2x2, 3x3) and F(4x4, 3x3): a 3x3 stride-1 convolution's forward and both
gradients with 2.25x (4x) fewer multiplications than its window matrix's products (Lavin &
Gray, 2015). Below, F(2x2, 3x3); F(4x4, 3x3) is the same with 6x6 tiles at stride 4, each
giving a 4x4 tile of the output through 36 planes (see ``tile`` for which shapes take it).

The input, padded on the fly (its planes copied into a zero-bordered scratch plane in the
kernel; the gradient comes back without the padding), is cut into 4x4 tiles at stride 2,
each giving one 2x2 tile of the output; each tile d becomes V = B^T d B, each 3x3 kernel g becomes U = G g G^T, both 4x4, and the
output tile is A^T (sum over channels of U * V) A. The sum over channels is, for each of
the 16 entries of the 4x4, one product (O, C) @ (C, tiles): 16 GEMMs with C-long sums where
the window matrix's product has 9C-long ones, and a transformed input 4x (not 9x) the
input's size. The gradients are the transposes: the cotangent's 2x2 tiles become A g A^T,
the input's gradient is B (U^T @ that) B^T added back over the overlapping tiles, and the
weight's is G^T (that @ V^T) G.

The transforms' coefficients are 0, +-1 and +-1/2 (exact), and a float32 result stays
within a few ulps of the direct sums' (relative error 5e-7 to 8e-7 of the output's largest
entry against PyTorch for ResNet's and VGG's layers). The transforms are numba kernels
(backend/numba_kernels.py) with NumPy twins that make the same additions in the same order,
so both give the same bits; the products are NumPy's (BLAS). The 16 values of a tile go to
16 planes of one flat buffer whose planes start 64 bytes off a multiple of 4 KiB: with
planes a power of two apart, the 16 stores per tile fell into one cache set and the input
transform ran 10x slower.
"""
from __future__ import annotations

import functools

import numpy as np

from ..backend import accel, namespace, threads
from ..backend import ufuncs as U

_G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]])
# (G kron G): the 16 entries of U = G g G^T from the 9 of g, as one (16, 9) matrix (the
# weight gradient's G^T dU G is its transpose's product)
_GG = np.einsum("ik,jl->ijkl", _G, _G).reshape(16, 9)
# F(4x4, 3x3)'s G (6 x 3), and its 36 entries of U from the 9 of g
_G4 = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])
_GG4 = np.einsum("ik,jl->ijkl", _G4, _G4).reshape(36, 9)
_GGS = {2: _GG, 4: _GG4}  # by the output tile's side

# where it pays (decided from shapes, so eager and jit take the same path): float32, both
# channel counts from _MIN_CHANNELS, and _MIN_TILES output tiles (N * OH * OW / 4) or more.
# Fewer tiles leave the 16 products too thin for the transformed weight's 16/9 of the
# weight's size: ResNet-18's (16, 512, 2, 2) layer (16 tiles), forward, 1.7 ms + 1.3 for
# the weight's transform against 2.2 through the window matrix.
_MIN_CHANNELS = 16
_MIN_TILES = 64
# the transforms split their samples in two (two threads) from this many bytes of planes
_SPLIT_MIN_BYTES = 1 << 20

# F(4x4, 3x3) (6x6 input tiles at stride 4, 36 planes: 4x fewer multiplications than the
# window matrix's products, 1.78x fewer than F(2x2, 3x3)'s) where the output's sides are
# multiples of 4 and there are _TILE4_MIN_TILES 4x4 output tiles or more. Its transforms'
# coefficients (1/6, 1/24, 4, 5, 8) round: a float32 result within about 1e-5 of the output's
# largest entry (F(2x2): 1e-6). The 36 products alone against the 16, 2 threads, ms, forward /
# weight gradient, batch 16: 64 channels at 16x16 1.03 -> 0.50 / 1.03 -> 0.61; 128 at 8x8
# 0.72 -> 0.47 / 0.82 -> 0.55; with 16 tiles (256 at 4x4) the thin products and the larger
# transformed weight lost (ResNet-18's compiled step 106 -> 129 ms, alternating). The whole
# compiled step, alternating in one process, median: ResNet-18 106.7 -> 101.0 ms, VGG-11
# 472 -> 431 ms.
_TILE4_MIN_TILES = 64


def tile(n, c, o, out):
    """The output tile's side, 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)), of a convolution that
    fits: decided from the shapes alone."""
    oh, ow = out
    return 4 if oh % 4 == 0 and ow % 4 == 0 and n * oh * ow >= 16 * _TILE4_MIN_TILES else 2


def _planes_of(m):
    return (m + 2) ** 2


def _prefix(m):
    return "wino" if m == 2 else "wino4"


def fits(n, c, o, out, dtype):
    """Whether a 3x3 stride-1 undilated convolution of ``n`` samples, ``c`` -> ``o``
    channels and output size ``out`` (OH, OW) goes through Winograd."""
    oh, ow = out
    return np.dtype(dtype) == np.float32 and c >= _MIN_CHANNELS and o >= _MIN_CHANNELS and \
        oh % 2 == 0 and ow % 2 == 0 and n * oh * ow >= 4 * _MIN_TILES


def _planes(rows, tiles, like, P=16):
    """A flat buffer of ``P`` planes of (rows, tiles), on ``like``'s device and of its dtype,
    and the planes' stride (entries)."""
    s = rows * tiles + 16  # (64 bytes of float32 beyond a multiple of 4 KiB for round sizes)
    return namespace(like).empty(P * s, like.dtype), s


def _plane(buf, s, k, rows, tiles):
    return buf[k * s:k * s + rows * tiles].reshape(rows, tiles)


def _parts(n, nbytes):
    return threads.halves(n, 1) if nbytes >= _SPLIT_MIN_BYTES else [(0, n)]


_N, _T = 111, 112  # CBLAS's no-transpose and transpose


def _op(x, s, k, rows, ld, trans):
    """Operand k of the products: the (rows, ld) matrix k * ``s`` entries into ``x``'s
    memory, transposed with ``trans`` (_T)."""
    mat = _plane(x.reshape(-1), s, k, rows, ld)
    return mat.T if trans == _T else mat


def _products(ta, tb, m, n, kk, a, sa, lda, b, sb, ldb, c, sc, ldc, P=16):
    """The ``P`` (16 or 36) products C_k = op(A_k) @ op(B_k) (op: ``ta``/``tb`` _N or _T;
    each operand ``x`` from its array's start plus k * ``sx`` entries, rows of ``ldx``), the
    first and second half of the planes on two threads with BLAS at one thread each: faster
    than each product on two BLAS threads (ms, F(2x2), forward products / weight
    gradient's: (16, 64, 16, 16) -> 64 1.00 -> 0.91 / 1.21 -> 1.03; (16, 512, 4, 4) -> 512
    3.23 -> 3.31 / 6.74 -> 3.27; (16, 256, 16, 16) -> 256 15.5 -> 12.0 / 16.2 -> 11.8). With
    the kernels on (float32, NumPy's sgemm found, every size two or more) each half is
    numba_kernels.products_part, a GIL-free C part (threads.run_compiled) calling NumPy's
    sgemm with np.matmul's arguments for these views: np.matmul's bits; else np.matmul's
    calls from Python parts."""
    K = accel.kernels_for(a, b, c)
    blas = accel.sgemm() if K is not None else None
    if blas is not None and min(m, n, kk) >= 2:
        head = [*blas, ta, tb, m, n, kk, a.ctypes.data, sa, lda, b.ctypes.data, sb, ldb,
                c.ctypes.data, sc, ldc]
        blocks = np.array([head + [0, P // 2], head + [P // 2, P]], np.int64)
        if threads.run_compiled(K.products_part.address, blocks):
            return

    def half(i, j):
        for k in range(i, j):
            U.matmul(_op(a, sa, k, kk if ta == _T else m, lda, ta),
                     _op(b, sb, k, n if tb == _T else kk, ldb, tb),
                     out=_op(c, sc, k, m, ldc, _N))
    threads.run_parts(half, [(0, P // 2), (P // 2, P)])


# ---- the NumPy twins of the transforms (numba_kernels.wino_*: the same bits) ---------------

def _bt4(a, b, c, d):
    return a - c, b + c, c - b, b - d


def _at4(a, b, c, d):
    return (a + b) + c, (b - c) - d


def _a2(a, b):
    return a, a + b, a - b, -b


def _b4(a, b, c, d):
    return a, (b - c) + d, (b + c) - a, -d


def _tile_planes(buf, s, rows, n, th, tw, n0, n1, P=16):
    """The ``P`` planes as (rows, N, th, tw) views, samples n0..n1."""
    t = n * th * tw
    return [_plane(buf, s, k, rows, t).reshape(rows, n, th, tw)[:, n0:n1] for k in range(P)]


def _padded(a, py, px, th, tw, m=2):
    """``a`` (N, C, H, W) inside zeros (py rows, px columns each side), (N, C, m th + 2,
    m tw + 2)."""
    out = namespace(a).zeros(a.shape[:2] + (m * th + 2, m * tw + 2), a.dtype)
    out[:, :, py:py + a.shape[2], px:px + a.shape[3]] = a
    return out


# F(4x4, 3x3): numba_kernels' _bt6, _at6, _a6 and _b6, the same roundings in the same order
_F2, _F4, _F5, _F8 = (np.float32(v) for v in (2, 4, 5, 8))


def _bt6(d0, d1, d2, d3, d4, d5):
    return ((_F4 * d0 - _F5 * d2) + d4, (d3 + d4) - _F4 * (d1 + d2),
            (d4 - d3) + _F4 * (d1 - d2), (d4 - d2) + _F2 * (d3 - d1),
            (d4 - d2) - _F2 * (d3 - d1), (_F4 * d1 - _F5 * d3) + d5)


def _at6(m0, m1, m2, m3, m4, m5):
    a, b, c, d = m1 + m2, m1 - m2, m3 + m4, m3 - m4
    return (m0 + a) + c, b + _F2 * d, a + _F4 * c, (b + _F8 * d) + m5


def _a6(g0, g1, g2, g3):
    p, q, r, s = g0 + g2, g1 + g3, g0 + _F4 * g2, _F2 * g1 + _F8 * g3
    return g0, p + q, p - q, r + s, r - s, g3


def _b6(v0, v1, v2, v3, v4, v5):
    a, b, c, e = v1 + v2, v2 - v1, v3 + v4, v3 - v4
    return (_F4 * v0, (_F4 * b - _F2 * e) + _F4 * v5, (-_F5 * v0 - _F4 * a) - c,
            (_F2 * e - b) - _F5 * v5, (v0 + a) + c, v5)


# the transforms of each tile side: B^T, A^T, A and B applied to a column
_FNS = {2: (_bt4, _at4, _a2, _b4), 4: (_bt6, _at6, _a6, _b6)}


def _in_np(x, py, px, buf, s, th, tw, n0, n1, m=2):
    n, c = x.shape[:2]
    a, bt = m + 2, _FNS[m][0]
    dst = _tile_planes(buf, s, c, n, th, tw, n0, n1, a * a)
    xs = _padded(x[n0:n1], py, px, th, tw, m)
    rows = bt(*[xs[:, :, i:i + m * th:m] for i in range(a)])
    for i, r in enumerate(rows):
        for j, v in enumerate(bt(*[r[..., j:j + m * tw:m] for j in range(a)])):
            dst[a * i + j][...] = v.swapaxes(0, 1)


def _out_np(buf, s, y, th, tw, n0, n1, m=2):
    n, o = y.shape[:2]
    a, at = m + 2, _FNS[m][1]
    p = [q.swapaxes(0, 1) for q in _tile_planes(buf, s, o, n, th, tw, n0, n1, a * a)]
    cols = [at(*[p[a * i + j] for i in range(a)]) for j in range(a)]
    for r in range(m):
        for k, v in enumerate(at(*[cols[j][r] for j in range(a)])):
            y[n0:n1, :, r::m, k::m] = v


def _ct_np(g, buf, s, th, tw, n0, n1, m=2):
    n, o = g.shape[:2]
    a, am = m + 2, _FNS[m][2]
    dst = _tile_planes(buf, s, o, n, th, tw, n0, n1, a * a)
    gs = g[n0:n1]
    cols = [am(*[gs[:, :, i::m, b::m] for i in range(m)]) for b in range(m)]
    for i in range(a):
        for j, v in enumerate(am(*[cols[b][i] for b in range(m)])):
            dst[a * i + j][...] = v.swapaxes(0, 1)


def _in_adj_np(buf, s, z, py, px, th, tw, n0, n1, m=2):
    """B v B^T of every tile added on the padded grid: each entry's tiles in the compiled
    kernel's order (F(2x2): the offsets ascending; F(4x4): the tiles in row-major order,
    the offsets descending)."""
    n, c, h, w = z.shape
    a, b = m + 2, _FNS[m][3]
    v = [p.swapaxes(0, 1) for p in _tile_planes(buf, s, c, n, th, tw, n0, n1, a * a)]
    cols = [b(*[v[a * i + j] for i in range(a)]) for j in range(a)]
    tiles = [b(*[cols[j][i] for j in range(a)]) for i in range(a)]
    zs = namespace(z).zeros((n1 - n0, c, m * th + 2, m * tw + 2), z.dtype)
    order = range(a) if m == 2 else range(a - 1, -1, -1)
    for i in order:
        for j in order:
            dst = zs[:, :, i:i + m * th:m, j:j + m * tw:m]
            U.add(dst, tiles[i][j], out=dst)
    z[n0:n1] = zs[:, :, py:py + h, px:px + w]


_TWINS = {_prefix(m) + name: functools.partial(fn, m=m) for m in (2, 4)
          for name, fn in (("_in", _in_np), ("_out", _out_np), ("_ct", _ct_np),
                           ("_in_adj", _in_adj_np))}


def _kernel(name, *arrays):
    K = accel.kernels_for(*arrays)
    return _TWINS[name] if K is None else getattr(K, name)


# ---- the three products -------------------------------------------------------------------

def _gg(like, m=2):
    return namespace(like).asarray(_GGS[m], dtype=like.dtype)


def _weights(w, m=2):
    """U = G g G^T of every kernel as P (O, C) matrices, (P, O, C): one product."""
    o, c = w.shape[:2]
    return U.matmul(_gg(w, m), w.reshape(o * c, 9).T).reshape(-1, o, c)


def _native(name, arr, buf, s, th, tw, parts, pad, into):
    """Runs the transform ``name``'s parts as the compiled kernels' GIL-free C functions
    (numba_kernels.<name>_part through threads.run_compiled): True when it did (the
    kernels on, two parts, C-ordered float32 arrays), else False, nothing run. The same
    kernel, so the same bits, as the parts run from Python."""
    K = accel.kernels_for(arr, buf)
    if K is None or len(parts) < 2 or not arr.flags.c_contiguous:
        return False
    head = [arr.ctypes.data, *arr.shape, buf.ctypes.data, s] if into else \
        [buf.ctypes.data, s, arr.ctypes.data, *arr.shape]
    blocks = np.array([head + [th, tw, a, b, *(pad or (0, 0))] for a, b in parts], np.int64)
    return threads.run_compiled(getattr(K, name + "_part").address, blocks)


def _name_planes(name):
    return 36 if name.startswith("wino4") else 16


def _transform(name, src, rows, tiles, th, tw, *pad):
    buf, s = _planes(rows, tiles, src, _name_planes(name))
    _transform_into(name, src, buf, s, th, tw, *pad)
    return buf, s


def _transform_into(name, src, buf, s, th, tw, *pad):
    parts = _parts(src.shape[0], _name_planes(name) * s * src.itemsize)
    if not _native(name, src, buf, s, th, tw, parts, pad, True):
        fn = _kernel(name, src, buf)
        threads.run_parts(lambda a, b: fn(src, *pad, buf, s, th, tw, a, b), parts)


def _geometry(y_shape, m=2):
    n, _, oh, ow = y_shape
    th, tw = oh // m, ow // m
    return th, tw, n * th * tw


# the samples go through the transforms and products in blocks whose planes (input's and
# output's) take about this many bytes, so that a large batch of large images never holds
# more (ResNet's and VGG's layers at batch 16 and 64x64 inputs are one block: 50 MB at most)
_BLOCK_BYTES = 64 << 20


def _blocks(shape, c, o, itemsize, m=2):
    n, _, oh, ow = shape
    per_sample = _planes_of(m) * (oh // m) * (ow // m) * (c + o) * itemsize  # P planes
    nb = max(1, min(n, _BLOCK_BYTES // max(1, per_sample)))
    return [(a, min(n, a + nb)) for a in range(0, n, nb)]


def out_size(size, pad):
    """The output's spatial size of a 3x3 stride-1 convolution of a (H, W) input padded
    with ``pad`` = (py, px) zeros on each side."""
    return tuple(n + 2 * p - 2 for n, p in zip(size, pad))


def in_size(size, pad):
    """The input's spatial size for the output's ``size`` (out_size's inverse)."""
    return tuple(n + 2 - 2 * p for n, p in zip(size, pad))


def conv(x, w, pad):
    """(N, C, H, W), (O, C, 3, 3) -> (N, O, OH, OW): the 3x3 correlation of x padded with
    ``pad`` = (py, px) rows and columns of zeros on each side (no padded copy is made)."""
    return _conv(x, w, pad, False)


def conv_kept(x, w, pad):
    """conv and the transforms its gradients read again, for grads_kept: [y, U (P, O, C),
    V (P * S,): the input's P planes (16, or 36 for F(4x4)), each (C, tiles) and 16 zeros].
    For shapes that ``keeps``."""
    return _conv(x, w, pad, True)


def _conv(x, w, pad, keep):
    n, c = x.shape[:2]
    o = w.shape[0]
    out = out_size(x.shape[2:], pad)
    m = tile(n, c, o, out)
    u = _weights(w, m)
    y = namespace(x).empty((n, o) + out, x.dtype)
    for a, b in _blocks(y.shape, c, o, y.itemsize, m):
        v, sv = _conv_block(x[a:b], u, pad, y[a:b], m)
    if not keep:
        return y
    v.reshape(-1, sv)[:, sv - 16:] = 0  # (the planes' 64-byte gaps: defined values)
    return [y, u, v]


# The forward's transformed weight U and input V are kept for the backward (jit's reverse
# mode: conv_kept, grads_kept) when they take at most this many bytes together and the
# samples are one block: ResNet-18's 3x3 layers at batch 16 (26 MB of V's and 16 of U's
# over its ten layers, none of VGG-11's), where the backward made both again.
_KEEP_MAX_BYTES = 8 << 20


def keeps(x_shape, w_shape, pad, itemsize=4):
    """Whether conv_kept applies: U and V of at most _KEEP_MAX_BYTES, one block."""
    n, c = x_shape[:2]
    o = w_shape[0]
    out = (n, o) + out_size(x_shape[2:], pad)
    m = tile(n, c, o, out[2:])
    t = _geometry(out, m)[2]
    nbytes = (_planes_of(m) * o * c + kept_planes_len(c, t, m)) * itemsize
    return nbytes <= _KEEP_MAX_BYTES and len(_blocks(out, c, o, itemsize, m)) == 1


def kept_planes_len(c, t, m=2):
    return _planes_of(m) * (c * t + 16)  # as _planes lays them out


# The fused forward (_fused) takes the samples in chunks whose planes (input's and output's)
# take about this many bytes, each chunk's planes still in cache for the next stage, where
# the channels are few (c + o <= _FUSE_MAX_CHANNELS) and a chunk has _FUSE_MIN_TILES tiles or
# more. Alone, fused / not (ms, batch 16, c = o): 64 at 16x16 1.40 / 1.71, 128 at 8x8 1.25 /
# 1.32, 128 at 32x32 20.2 / 21.0; slower with more channels (256 at 16x16 17.3 / 16.4, 512 at
# 8x8 26.1 / 16.6) or fewer tiles (256 at 4x4, 32 a chunk: 1.57 / 1.49).
_CHUNK_BYTES = 1 << 20
_FUSE_MAX_CHANNELS = 256
_FUSE_MIN_TILES = 64
FUSE = True


def _fused(name, src, u, pad, dst, p1, s1, p2, s2, th, tw, m=2):
    """A forward (numba_kernels.wino_conv_part: ``src`` x, planes V then M, ``dst`` y) or an
    input gradient (wino_dx_part: ``src`` the cotangent, planes G then V, ``dst`` z) chunk by
    chunk, each thread half of the samples (wino4_*: F(4x4, 3x3)): True when it ran (the
    kernels on, NumPy's sgemm found, two threads, C-ordered float32 operands, shapes that
    pay), else False."""
    K = accel.kernels_for(src, u, dst)
    blas = accel.sgemm() if K is not None else None
    n, a, h, w = src.shape
    b = dst.shape[1]
    P = _planes_of(m)
    chunk = max(1, _CHUNK_BYTES // (4 * P * (a + b) * th * tw * src.itemsize))
    if not FUSE or blas is None or not all(v.flags.c_contiguous for v in (src, u, dst)) or \
            a + b > _FUSE_MAX_CHANNELS or chunk * th * tw < _FUSE_MIN_TILES or \
            len(_parts(n, P * (s1 + s2) * src.itemsize)) < 2:
        return False
    head = [src.ctypes.data, n, a, h, w, p1.ctypes.data, s1, p2.ctypes.data, s2,
            u.ctypes.data, dst.ctypes.data, b, th, tw]
    blocks = np.array([head + [n0, n1, *pad, chunk, *blas] for n0, n1 in threads.halves(n, 1)],
                      np.int64)
    name = name.replace("wino", _prefix(m), 1)
    return threads.run_compiled(getattr(K, name + "_part").address, blocks)


def _conv_block(x, u, pad, y, m=2):
    n, c = x.shape[:2]
    o = u.shape[1]
    P, pre = _planes_of(m), _prefix(m)
    th, tw, t = _geometry(y.shape, m)
    v, sv = _planes(c, t, x, P)
    mp, sm = _planes(o, t, x, P)
    if _fused("wino_conv", x, u, pad, y, v, sv, mp, sm, th, tw, m):
        return v, sv
    _transform_into(pre + "_in", x, v, sv, th, tw, *pad)
    _products(_N, _N, o, t, c, u, o * c, c, v, sv, t, mp, sm, t, P)
    parts = _parts(n, P * sm * y.itemsize)
    if not _native(pre + "_out", y, mp, sm, th, tw, parts, (), False):
        fn = _kernel(pre + "_out", mp, y)
        threads.run_parts(lambda a, b: fn(mp, sm, y, th, tw, a, b), parts)
    return v, sv


def _input_grad_block(ct, u, g, sg, pad, z, m=2):
    """The block's input gradient into ``z``, the cotangent's planes into ``g`` (which the
    weight gradient reads after)."""
    n, o = ct.shape[:2]
    c = u.shape[2]
    P, pre = _planes_of(m), _prefix(m)
    th, tw, t = _geometry(ct.shape, m)
    v, sv = _planes(c, t, ct, P)
    if _fused("wino_dx", ct, u, pad, z, g, sg, v, sv, th, tw, m):
        return
    _transform_into(pre + "_ct", ct, g, sg, th, tw)
    _products(_T, _N, c, t, o, u, o * c, c, g, sg, t, v, sv, t, P)
    parts = _parts(n, P * sv * z.itemsize)
    if not _native(pre + "_in_adj", z, v, sv, th, tw, parts, pad, False):
        fn = _kernel(pre + "_in_adj", v, z)
        threads.run_parts(lambda a, b: fn(v, sv, z, *pad, th, tw, a, b), parts)


def _weight_grad_block(ct, x, g, sg, pad, du, v=None, m=2):
    """The block's G-transformed weight gradient (P, O, C) into ``du`` (``v``: the block's
    input planes, kept by conv_kept)."""
    o, c = ct.shape[1], x.shape[1]
    P = _planes_of(m)
    th, tw, t = _geometry(ct.shape, m)
    v, sv = _transform(_prefix(m) + "_in", x, c, t, th, tw, *pad) if v is None else \
        (v, v.size // P)
    _products(_N, _T, o, c, t, g, sg, t, v, sv, t, du, o * c, c, P)


def _grads(ct, x, w, pad, want_dx, want_dw, u=None, v=None):
    n, o = ct.shape[:2]
    c = x.shape[1] if x is not None else w.shape[1]
    m = tile(n, c, o, ct.shape[2:])
    P = _planes_of(m)
    ns = namespace(ct)
    u = _weights(w, m) if want_dx and u is None else u
    z = ns.empty((n, c) + in_size(ct.shape[2:], pad), ct.dtype) if want_dx else None
    du = ns.empty((P, o, c), ct.dtype) if want_dw else None
    blocks = _blocks(ct.shape, c, o, ct.itemsize, m)
    tmp = ns.empty((P, o, c), ct.dtype) if want_dw and len(blocks) > 1 else None
    for i, (a, b) in enumerate(blocks):
        th, tw, t = _geometry(ct[a:b].shape, m)
        g, sg = _planes(o, t, ct, P)
        if want_dx:
            _input_grad_block(ct[a:b], u, g, sg, pad, z[a:b], m)
        else:
            _transform_into(_prefix(m) + "_ct", ct[a:b], g, sg, th, tw)
        if want_dw:  # the blocks' sums added in block order
            _weight_grad_block(ct[a:b], x[a:b], g, sg, pad, tmp if i else du, v, m)
            if i:
                U.add(du, tmp, out=du)
    # G^T dU G of every kernel as one product (O*C, P) @ (P, 9): the rows come out in the
    # weight's layout
    dw = U.matmul(du.reshape(P, o * c).T, _gg(ct, m)).reshape(o, c, 3, 3) if want_dw else None
    return z, dw


def input_grad(ct, w, pad):
    """(N, O, OH, OW), (O, C, 3, 3) -> the input's gradient (N, C, H, W) (inside the
    padding)."""
    return _grads(ct, None, w, pad, True, False)[0]


def weight_grad(ct, x, pad):
    """(N, O, OH, OW), (N, C, H, W) -> the weight's gradient (O, C, 3, 3): the sum of the
    sample blocks' (_blocks), in block order."""
    return _grads(ct, x, None, pad, False, True)[1]


def grads(ct, x, w, pad):
    """Both gradients, the cotangent transformed once: (input_grad, weight_grad)."""
    return _grads(ct, x, w, pad, True, True)


def grads_kept(ct, x, w, u, v, pad):
    """grads with conv_kept's U and V (the same values: the same bits)."""
    return _grads(ct, x, w, pad, True, True, u, v)
