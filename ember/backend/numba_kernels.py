"""Compiled kernels for the optional numba accelerator (``pip install ember[fast]``).

Imported only through :func:`ember.backend.accel.kernels`, which checks that numba is
installed and not switched off (``EMBER_NUMBA=0``). Every kernel here has a NumPy twin in the
op that calls it; the op picks one from the array type and dtype alone, so eager and jit
compute the same bits on a given install.

The kernels are compiled on first use and cached on disk (numba's ``cache=True``), release
the GIL (the LSTM wavefront runs two of them on two threads) and use numba's NumPy error
model (a float division by zero gives inf, as in NumPy, instead of raising; it also lets
LLVM vectorise the divisions). No fast-math flags but contraction (fused multiply-adds) in
the forward kernels, whose bits are their own anyway, and reassociation in the convolution's
weight gradient (see there): IEEE semantics, NaN propagates, and in the other kernels each
addition and multiplication is rounded on its own, so a kernel that repeats a NumPy path's
operations in its order repeats its bits.

- ``lstm_step_fwd``: one LSTM time step after its recurrent product, fused: the gates'
  sigmoid and tanh through one float32 exp of its own (a degree-7 polynomial after the
  usual range reduction, within 2 ulps of exp; vectorised, unlike a call to libm's
  expf), the cell state and the output. Its bits differ from the NumPy path's by a few ulps
  (NumPy's exp and tanh are other approximations).
- ``lstm_step_bwd``: one backward step but its product with the recurrent weight (the
  gates' derivatives from the saved activations, the cell state's cotangent), the same
  roundings in the same order as the NumPy path, so the same bits.
- ``gru_step_fwd`` and ``gru_step_bwd``: the same for a GRU step (its forward's bits its own,
  its backward's the NumPy path's).
- ``add_rows``: an embedding's gradient (rows of the cotangent added into a table of zeros
  at their indices, in index order): ``np.add.at``'s bits.
- ``conv_fwd_lags`` and ``conv_w_grad_lags``: a few-channel 2-D stride-1 convolution's
  forward and weight gradient (LeNet's first) straight from the input's planes, without the
  window copies and thin GEMMs of the NumPy path; their bits are their own (fused
  multiply-adds; the weight gradient's sums reassociated to vectorise).
- ``add_offsets``: col2im of a block of a windows gradient on the full grid (LeNet's conv2
  input gradient in plans), NumPy's offset-by-offset additions in their order: their bits.
- ``pool2x2_fwd``: a tiled 2x2 max pool in one pass, the NumPy path's maxima in its order.
- ``pool2x2_bwd``: a tiled 2x2 max pool's gradient (LeNet's, mnist-cnn's), one vectorised
  pass of bit-masked selections instead of NumPy's dozen passes over de-interleaved copies.
- ``pool_scatter``: an overlapping max pool's gradient (ResNet's 3x3 stride-2 pool), the
  NumPy phases path's first hits and additions per plane in one pass: its bits. It reads
  the unpadded input of a padded pool and writes its unpadded gradient.
- ``pool_fwd``: a padded 2-D max pool from the unpadded input, the NumPy path's values.
- ``bn_fwd`` and ``bn_bwd``: batch normalisation with the batch statistics (float64 sums, their
  bits their own).
- ``ew_run``: a chain of elementwise float32 arithmetic (add, subtract, multiply, divide,
  sqrt, negative, square, absolute: each correctly rounded, so NumPy's bits) over blocks of
  its arrays' entries that stay in the L1 cache, every step of the chain on a block before
  the next block (a jit plan's ``pieces.Run``: an optimizer's update), one call instead of a
  ufunc call and a pass over memory per step.
- ``wino_in``, ``wino_out``, ``wino_ct`` and ``wino_in_adj``: Winograd F(2x2, 3x3)'s
  transforms of a 3x3 convolution's input, output and cotangent, and the input transform's
  transpose (ops/winograd.py), its NumPy twins' additions in their order: their bits;
  ``wino4_*`` the same for F(4x4, 3x3).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit
from numba.core import types
from numba.extending import intrinsic

_OPTS = dict(nogil=True, cache=True, error_model="numpy")
# the LSTM forward's bits are its own anyway: its multiplies and adds may fuse (FMA), which
# makes its exp 1.6x faster (28 -> 18 us over 32768 values) and no less precise
_FWD_OPTS = dict(_OPTS, fastmath={"contract"})
_f = np.float32
_LOG2E = _f(1.4426950408889634)
_LN2_HI = _f(0.693359375)  # ln 2 = _LN2_HI + _LN2_LO, _LN2_HI exact in 9 bits
_LN2_LO = _f(-2.12194440e-4)
_LO, _HI = _f(-87.0), _f(87.0)  # exp stays a normal float32 over [_LO, _HI]


@njit(inline="always", **_FWD_OPTS)
def _clamped(x):
    v = _LO if x < _LO else x
    return _HI if v > _HI else v


@njit(inline="always", **_FWD_OPTS)
def _exp_p(x, v, k):
    """p of exp(x) = p * 2**k for ``v`` = x clamped to [_LO, _HI] and k = round(v / ln 2)
    (NaN stays NaN; above _HI p is inf, so that a sigmoid or tanh from it saturates
    exactly)."""
    r = (v - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln(2) / 2
    p = _f(1.0 / 5040)
    p = p * r + _f(1.0 / 720)
    p = p * r + _f(1.0 / 120)
    p = p * r + _f(1.0 / 24)
    p = p * r + _f(1.0 / 6)
    p = p * r + _f(0.5)
    p = p * r + _f(1.0)
    p = p * r + _f(1.0)
    return np.float32(np.inf) if x > _HI else p  # exp(x) = inf: 1 / (1 + exp(x)) = 0


@njit(inline="always", **_FWD_OPTS)
def _exp_parts(x):
    """exp(x) = p * 2**k (_exp_p): returns p and the bits of the float32 2**k."""
    v = _clamped(x)
    t = v * _LOG2E + _f(0.5)
    k = _f(np.int32(t))      # truncation ...
    k = k - _f(k > t)        # ... to floor: k = round(v / ln 2)
    return _exp_p(x, v, k), (np.int32(k) + np.int32(127)) << np.int32(23)


@intrinsic
def _float_bits(typingctx, v):
    """The float32 whose bits are the int32 ``v``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@njit(inline="always", **_FWD_OPTS)
def _exp(x):
    """exp(x) = p * 2**k of _exp_parts, as one value: k by a floor (one rounding instruction
    where _exp_parts truncates and corrects: the same k) and 2**k from its bits. Inlined in
    a loop it vectorises with the loop's other work, without _exp_into's scratch arrays."""
    v = _clamped(x)
    k = np.floor(v * _LOG2E + _f(0.5))
    return _exp_p(x, v, k) * _float_bits((np.int32(k) + np.int32(127)) << np.int32(23))


@njit(**_FWD_OPTS)
def _exp_into(v, p, e):
    """exp(v[j]) = p[j] * e[j] (e's int32 bits read as float32): one vectorised loop."""
    for j in range(v.shape[0]):
        pj, ej = _exp_parts(v[j])
        p[j] = pj
        e[j] = ej


@njit(**_FWD_OPTS)
def lstm_step_fwd(gates, xt, scale, numer, scaled, c, act, cn, hn):
    """One step for rows of (n, 4H) ``gates`` = h @ W (W scaled if ``scaled``): pre-
    activations s = gates + xt (times ``scale`` unless ``scaled``), act[:, :4H] = numer /
    (1 + exp(s)) with the cell gate's third less one (i, f, g, o), cn = f c + i g,
    act[:, 4H:] = tanh(cn) = 2 / (1 + exp(-2 cn)) - 1, hn = o tanh(cn). Each exp is _exp
    inlined in its loop: one pass per row's gates (with _exp_into's scratch arrays the step
    took 26.4 us at batch 64, H 128; now 21.6, the same bits)."""
    n, h4 = gates.shape
    H = h4 // 4
    for r in range(n):
        g, x, a = gates[r], xt[r], act[r]
        if scaled:
            for j in range(h4):
                a[j] = numer[j] / (_f(1.0) + _exp(g[j] + x[j]))
        else:
            for j in range(h4):
                a[j] = numer[j] / (_f(1.0) + _exp((g[j] + x[j]) * scale[j]))
        cr, cnr, hnr = c[r], cn[r], hn[r]
        ai, af, ag, ao, atc = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:h4], a[h4:]
        for j in range(H):  # (separate loops over separate slices: each one vectorises)
            ag[j] -= _f(1.0)
        for j in range(H):
            cc = af[j] * cr[j] + ai[j] * ag[j]
            cnr[j] = cc
            tc = _f(2.0) / (_f(1.0) + _exp(_f(-2.0) * cc)) - _f(1.0)
            atc[j] = tc
            hnr[j] = ao[j] * tc


@njit(**_OPTS)
def lstm_step_bwd(ct_h, ct_c, has_ct_c, act, c_prev, d, dh, dc):
    """One backward step but its product with the recurrent weight, rows of (n, H), from the
    step's (n, 5H) activations i, f, g, o, tanh(c) and the cell state it started from:
    dh += ct_h; dc += ct_c (if ``has_ct_c``); dc += (1 - tanh(c)^2) o dh; the gates'
    derivatives into ``d`` (n, 4H): (1 - i) i g dc, (1 - f) f c_prev dc, (1 - g^2) i dc,
    (1 - o) o tanh(c) dh; then dc *= f (the cotangent of c_prev). Each product rounded in
    the order of the NumPy path (ops/nn_ops.py), so the bits are the same."""
    n, H = dh.shape
    one = _f(1.0)
    for r in range(n):  # (one loop per result over slices: each one vectorises)
        a, dr, dhr, dcr, cp, cth = act[r], d[r], dh[r], dc[r], c_prev[r], ct_h[r]
        ai, af, ag, ao, atc = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:4 * H], a[4 * H:]
        di, df, dg, do = dr[:H], dr[H:2 * H], dr[2 * H:3 * H], dr[3 * H:]
        for j in range(H):
            dhr[j] = dhr[j] + cth[j]
        if has_ct_c:
            ctc = ct_c[r]
            for j in range(H):
                dcr[j] = dcr[j] + ctc[j]
        for j in range(H):
            dcr[j] = dcr[j] + ((one - atc[j] * atc[j]) * ao[j]) * dhr[j]
        for j in range(H):
            di[j] = (((one - ai[j]) * ai[j]) * ag[j]) * dcr[j]
        for j in range(H):
            df[j] = (((one - af[j]) * af[j]) * cp[j]) * dcr[j]
        for j in range(H):
            dg[j] = ((one - ag[j] * ag[j]) * ai[j]) * dcr[j]
        for j in range(H):
            do[j] = (((one - ao[j]) * ao[j]) * atc[j]) * dhr[j]
        for j in range(H):
            dcr[j] = dcr[j] * af[j]


# ---- NumPy's own sgemm, called from compiled code (a loop of products without the GIL) ----

def _sgemm_call(bits):
    """An intrinsic calling cblas_sgemm at a run-time address (accel.sgemm: NumPy's
    OpenBLAS) for C = A @ B, all row-major float32 with the given leading dimensions, its
    integers ``bits`` wide."""
    @intrinsic
    def call(typingctx, addr, ta, tb, m, n, k, a, lda, b, ldb, c, ldc):
        def codegen(context, builder, signature, args):
            i32, iw, f32 = ir.IntType(32), ir.IntType(bits), ir.FloatType()
            vp = ir.IntType(8).as_pointer()
            fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, iw, iw, iw, f32, vp, iw, vp,
                                                   iw, f32, vp, iw])
            fn = builder.inttoptr(args[0], fnty.as_pointer())
            n_ = (lambda v: builder.trunc(v, iw)) if bits < 64 else (lambda v: v)
            p_ = lambda v: builder.inttoptr(v, vp)  # noqa: E731
            _, ta, tb, m, n, k, a, lda, b, ldb, c, ldc = args
            # CblasRowMajor; ta, tb: CblasNoTrans (111) or CblasTrans (112), as np.matmul
            # calls it for a C-ordered operand or the transposed view of one
            builder.call(fn, [i32(101), builder.trunc(ta, i32), builder.trunc(tb, i32), n_(m),
                              n_(n), n_(k), f32(1.0), p_(a), n_(lda), p_(b), n_(ldb), f32(0.0),
                              p_(c), n_(ldc)])
            return context.get_dummy_value()
        return types.void(addr, ta, tb, m, n, k, a, lda, b, ldb, c, ldc), codegen
    return call


_sgemm64, _sgemm32 = _sgemm_call(64), _sgemm_call(32)


@njit(inline="always", **_OPTS)
def _gemm(addr, wide, a, b, c):
    """c = a @ b through sgemm at ``addr``: 2-D float32 arrays with unit inner strides (the
    rows may be spaced wider)."""
    m, k = a.shape
    n = b.shape[1]
    lda, ldb, ldc = a.strides[0] // 4, b.strides[0] // 4, c.strides[0] // 4
    _sgemm(addr, wide, 111, 111, m, n, k, a.ctypes.data, lda, b.ctypes.data, ldb,
           c.ctypes.data, ldc)


@njit(inline="always", **_OPTS)
def _sgemm(addr, wide, ta, tb, m, n, k, a, lda, b, ldb, c, ldc):
    """cblas_sgemm at ``addr`` on raw addresses (row-major; ta, tb 111 or 112)."""
    if wide:
        _sgemm64(addr, ta, tb, m, n, k, a, lda, b, ldb, c, ldc)
    else:
        _sgemm32(addr, ta, tb, m, n, k, a, lda, b, ldb, c, ldc)


@njit(**_FWD_OPTS)
def lstm_seq_fwd(addr, wide, xw, ws, h0, c0, scale, numer, scaled, reverse, hs, cs, acts,
                 gates):
    """An LSTM layer's forward recurrence over all steps of ``xw`` (T, n, 4H): each step's
    product h @ ws by sgemm (accel.sgemm) into ``gates``, then lstm_step_fwd, with no
    return to Python between steps. nn_ops._lstm_seq_rows' loop: its bits."""
    T = xw.shape[0]
    h, c = h0, c0
    for s in range(T):
        t = T - 1 - s if reverse else s
        _gemm(addr, wide, h, ws, gates)
        lstm_step_fwd(gates, xw[t], scale, numer, scaled, c, acts[t], cs[t], hs[t])
        h, c = hs[t], cs[t]


@njit(**_OPTS)
def lstm_seq_bwd(addr, wide, ct_hs, ct_cs, has_ct_cs, acts, cs, c0, wt, reverse, dgates, dh,
                 dc):
    """An LSTM layer's backward recurrence (nn_ops._lstm_seq_bwd_rows' loop, its bits):
    each step lstm_step_bwd, then dh = dgates[t] @ wt by sgemm; ``ct_cs`` is read only with
    ``has_ct_cs``."""
    T = acts.shape[0]
    for s in range(T):
        t = s if reverse else T - 1 - s
        if reverse:
            c_prev = c0 if t == T - 1 else cs[t + 1]
        else:
            c_prev = c0 if t == 0 else cs[t - 1]
        lstm_step_bwd(ct_hs[t], ct_cs[t], has_ct_cs, acts[t], c_prev, dgates[t], dh, dc)
        _gemm(addr, wide, dgates[t], wt, dh)


@njit(**_OPTS)
def add_rows(z, idx, g):
    """z[idx[k]] += g[k] for k in order (z (n, m) zeros on entry, idx in [-n, n)): an
    embedding's gradient, each row's values added in index order, as ``np.add.at``, so the
    same bits; one pass instead of sorting and grouping."""
    n = z.shape[0]
    for k in range(idx.shape[0]):
        r = idx[k]
        if r < 0:
            r += n
        zr, gk = z[r], g[k]
        for j in range(zr.shape[0]):
            zr[j] += gk[j]



@njit(**_FWD_OPTS)
def gru_step_fwd(gh, xt, nb, bn, h, act, hn_out, v, p, e):
    """One GRU step (PyTorch's formulation) after its recurrent product, rows of (n, 3H)
    ``gh`` = h @ W (the reset and update columns of W negated): r, z = 1 / (1 + exp(gh_rz +
    (nb - x_rz))) with nb = -b_rz, hn = gh_n + bn, n = tanh(r hn + x_n) = 2 / (1 + exp(-2 u))
    - 1, h' = (h - n) z + n into ``hn_out``; ``act`` (n, 4H) gets r, z, n, hn. ``v``, ``p``
    (float32) and ``e`` (int32), each 2H long, are scratch. Its bits are its own (its exp,
    fused multiply-adds)."""
    n, h3 = gh.shape
    H = h3 // 3
    ef = e.view(np.float32)
    for r in range(n):
        g, x, a, hr, out = gh[r], xt[r], act[r], h[r], hn_out[r]
        arz, az, an, ahn = a[:2 * H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        ar = a[:H]
        for j in range(2 * H):
            v[j] = g[j] + (nb[j] - x[j])
        _exp_into(v, p, e)
        for j in range(2 * H):
            arz[j] = _f(1.0) / (_f(1.0) + p[j] * ef[j])
        for j in range(H):
            ahn[j] = g[2 * H + j] + bn[j]
        for j in range(H):
            v[j] = _f(-2.0) * (ar[j] * ahn[j] + x[2 * H + j])
        _exp_into(v[:H], p[:H], e[:H])
        for j in range(H):
            an[j] = _f(2.0) / (_f(1.0) + p[j] * ef[j]) - _f(1.0)
        for j in range(H):
            out[j] = (hr[j] - an[j]) * az[j] + an[j]


@njit(**_OPTS)
def gru_step_bwd(ct_h, act, h_prev, dh, dxw, dghn, tmp):
    """One GRU backward step but its two products, rows of (n, H), from the step's (n, 4H)
    activations r, z, n, hn and the state it started from: dh += ct_h; the pre-activations'
    gradients into ``dxw`` (n, 3H): (1 - r) r hn (1 - n^2)(1 - z) dh, (h - n) z (1 - z) dh,
    (1 - n^2)(1 - z) dh; ``dghn`` = d n r (hn's gradient); ``tmp`` = dh z (the part of dh
    that flows straight into h). The NumPy path's roundings in its order: the same bits."""
    n, H = dh.shape
    one = _f(1.0)
    for r in range(n):  # (one loop per result over slices: each one vectorises)
        a, hp, dhr, cth, d, dg, t = act[r], h_prev[r], dh[r], ct_h[r], dxw[r], dghn[r], tmp[r]
        ar, az, an, ahn = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        dr, dz, dn = d[:H], d[H:2 * H], d[2 * H:]
        for j in range(H):
            dhr[j] = dhr[j] + cth[j]
        for j in range(H):  # d n = (1 - n^2)(1 - z) dh
            dn[j] = ((one - an[j] * an[j]) * (one - az[j])) * dhr[j]
        for j in range(H):  # d z = (h - n) z (1 - z) dh
            dz[j] = (((hp[j] - an[j]) * az[j]) * (one - az[j])) * dhr[j]
        for j in range(H):  # d r = (1 - r) r hn (1 - n^2)(1 - z) dh
            dr[j] = ((((one - ar[j]) * ar[j]) * ahn[j]) *
                     ((one - an[j] * an[j]) * (one - az[j]))) * dhr[j]
        for j in range(H):
            dg[j] = dn[j] * ar[j]
        for j in range(H):
            t[j] = dhr[j] * az[j]


# The convolution kernels sum long runs of products, which vectorise only when their additions
# may be reassociated (LLVM then keeps several vector accumulators): their bits are their own.
_SUM_OPTS = dict(_OPTS, fastmath={"reassoc", "contract"})


@njit(**_SUM_OPTS)
def _lag_dots(p, q, x, acc):
    """acc[k] += sum_j p[j] * x[j + k] and acc[5 + k] += sum_j q[j] * x[j + k], k < 5 (the
    run summed in float32, then added to acc's float64)."""
    a0 = a1 = a2 = a3 = a4 = _f(0.0)
    b0 = b1 = b2 = b3 = b4 = _f(0.0)
    for j in range(p.shape[0]):  # (from 0: an index that may be negative does not vectorise)
        pv, qv = p[j], q[j]
        x0, x1, x2, x3, x4 = x[j], x[j + 1], x[j + 2], x[j + 3], x[j + 4]
        a0 += pv * x0
        a1 += pv * x1
        a2 += pv * x2
        a3 += pv * x3
        a4 += pv * x4
        b0 += qv * x0
        b1 += qv * x1
        b2 += qv * x2
        b3 += qv * x3
        b4 += qv * x4
    acc[0] += a0
    acc[1] += a1
    acc[2] += a2
    acc[3] += a3
    acc[4] += a4
    acc[5] += b0
    acc[6] += b1
    acc[7] += b2
    acc[8] += b3
    acc[9] += b4


@njit(inline="always", **_OPTS)
def _lag_task(t, ng, kh, C):
    """The weight gradient's task t: its first output o, channel c, kernel row ky and first
    kernel column kx (a group of 5)."""
    return 2 * (t // (ng * kh * C)), (t // (ng * kh)) % C, (t // ng) % kh, 5 * (t % ng)


@njit(**_SUM_OPTS)
def conv_w_grad_lags(p, x, wd, r, m, kh, kw, t0, t1, out):
    """A 2-D stride-1 convolution's weight gradient from its cotangent and input as planes:
    out[o, c, ky, kx] = sum over samples s and j < m of p[o, s*r + j] * x[c, s*r + j + ky*wd
    + kx], p (O, N*r) and x (C, N*r + tail) float32 (see conv._w_grad_lags), ``out`` float64
    (each sample's run summed in float32 first). Computes the tasks t0..t1 of (output pair,
    channel, ky, group of 5 kx), each of which owns its outputs: a split of the tasks between
    threads gives the same bits."""
    O, C = p.shape[0], x.shape[0]
    n = p.shape[1] // r
    ng = (kw + 4) // 5
    acc = np.zeros((t1 - t0, 10))
    for s in range(n):  # (samples outermost: a sample's runs stay in the L1 cache over the
        a = s * r      # tasks; each output's sum is the same, sample by sample)
        for t in range(t0, t1):
            o, c, ky, kx = _lag_task(t, ng, kh, C)
            at = a + ky * wd + kx
            _lag_dots(p[o, a:a + m], p[min(o + 1, O - 1), a:a + m], x[c, at:at + m + 4],
                      acc[t - t0])
    for t in range(t0, t1):
        o, c, ky, kx = _lag_task(t, ng, kh, C)
        for k in range(min(5, kw - kx)):
            out[o, c, ky, kx + k] = acc[t - t0, k]
            if o + 1 < O:
                out[o + 1, c, ky, kx + k] = acc[t - t0, 5 + k]


@njit(inline="always", **_FWD_OPTS)
def _lag_rows(x, w5, wd, a, m, o, o1, y):
    """Output rows o and o1 (o1 == o: row o alone) of sample a // r (conv_fwd_lags)."""
    C, kh, kw5 = w5.shape[1:]
    y0, y1 = y[o, a:a + m], y[o1, a:a + m]
    first = True
    for c in range(C):
        for ky in range(kh):
            for g in range(0, kw5, 5):
                at = a + ky * wd + g
                xr = x[c, at:at + m + 4]
                u0, u1, u2 = w5[o, c, ky, g], w5[o, c, ky, g + 1], w5[o, c, ky, g + 2]
                u3, u4 = w5[o, c, ky, g + 3], w5[o, c, ky, g + 4]
                v0, v1, v2 = w5[o1, c, ky, g], w5[o1, c, ky, g + 1], w5[o1, c, ky, g + 2]
                v3, v4 = w5[o1, c, ky, g + 3], w5[o1, c, ky, g + 4]
                if o1 == o:
                    if first:
                        for i in range(m):
                            y0[i] = ((u0 * xr[i] + u1 * xr[i + 1]) +
                                     (u2 * xr[i + 2] + u3 * xr[i + 3])) + u4 * xr[i + 4]
                    else:
                        for i in range(m):
                            y0[i] += ((u0 * xr[i] + u1 * xr[i + 1]) +
                                      (u2 * xr[i + 2] + u3 * xr[i + 3])) + u4 * xr[i + 4]
                elif first:
                    for i in range(m):
                        x0, x1, x2, x3, x4 = xr[i], xr[i + 1], xr[i + 2], xr[i + 3], xr[i + 4]
                        y0[i] = ((u0 * x0 + u1 * x1) + (u2 * x2 + u3 * x3)) + u4 * x4
                        y1[i] = ((v0 * x0 + v1 * x1) + (v2 * x2 + v3 * x3)) + v4 * x4
                else:
                    for i in range(m):
                        x0, x1, x2, x3, x4 = xr[i], xr[i + 1], xr[i + 2], xr[i + 3], xr[i + 4]
                        y0[i] += ((u0 * x0 + u1 * x1) + (u2 * x2 + u3 * x3)) + u4 * x4
                        y1[i] += ((v0 * x0 + v1 * x1) + (v2 * x2 + v3 * x3)) + v4 * x4
                first = False


@njit(**_FWD_OPTS)
def conv_fwd_lags(x, w5, wd, r, m, s0, s1, y):
    """A 2-D stride-1 convolution's forward on planes: y[o, s*r + j] = sum over c, ky, kx of
    w5[o, c, ky, kx] * x[c, s*r + j + ky*wd + kx] for the samples s0..s1 and j < m, x (C, N*r
    + tail) and y (O, N*r) float32, w5 (O, C, KH, KW5) the weight with zero columns up to a
    multiple of 5. Each output's sum in a fixed order (5 products as a tree, then added in
    (c, ky, kx) order; multiply-adds fused): the same bits however the samples are split.
    The outputs go in pairs (the last one alone when O is odd): each pass over a shifted
    input run feeds two output rows (LeNet's conv1 at batch 128, one thread: 1.82 -> 1.24
    ms against one row a pass; three rows a pass 1.36), the same bits."""
    O = w5.shape[0]
    for s in range(s0, s1):
        for o in range(0, O, 2):
            _lag_rows(x, w5, wd, s * r, m, o, min(o + 1, O - 1), y)


@njit(inline="always", **_OPTS)
def _maximum(a, b):
    """np.maximum's choice: a if a >= b or a is NaN, else b (NaN propagates)."""
    return a if (a >= b) | (a != a) else b


@njit(**_OPTS)
def pool2x2_fwd(x, idx, out):
    """A tiled 2x2 max pool (stride 2): out[idx[m]] from x[m], x (M, 2*OH, 2*OW) and out (M,
    OH, OW) float32, ``idx`` the output plane of each input plane (the input may lie in
    another order of its lead axes than the C-ordered output). Each window's maximum as
    the NumPy path takes it, the rows first (max(max(a, c), max(b, d)) with np.maximum's
    choice): its bits, NaN and zeros' signs included."""
    for m in range(x.shape[0]):
        xm, om = x[m], out[idx[m]]
        for i in range(om.shape[0]):
            r0, r1, orow = xm[2 * i], xm[2 * i + 1], om[i]
            for j in range(om.shape[1]):
                orow[j] = _maximum(_maximum(r0[2 * j], r1[2 * j]),
                                   _maximum(r0[2 * j + 1], r1[2 * j + 1]))


@njit(**_OPTS)
def pool2x2_bwd(x, out, ct, z):
    """The gradient of a tiled 2x2 max pool (stride 2) into ``z``, every entry written: each
    window's cotangent to its first maximum in window order (the entry equal to the pooled
    ``out``), zeros elsewhere; a window whose maximum is NaN sends nothing (as the NumPy
    paths). x (M, 2*OH, 2*OW) and out (M, OH, OW) float32; ct (M, OH, OW) and z (M, 2*OH,
    2*OW) the int32 views of the float32 cotangent and gradient: an entry is the cotangent's
    bits ANDed with its hit mask, a selection without branches (LLVM vectorises it; with
    float selects it did not) that passes an infinite or NaN cotangent as it is and gives
    +0.0 elsewhere: the NumPy paths' values (a zero's sign aside)."""
    for m in range(out.shape[0]):
        xm, om, cm, zm = x[m], out[m], ct[m], z[m]
        for i in range(out.shape[1]):
            r0, r1, z0, z1, orow, crow = xm[2 * i], xm[2 * i + 1], zm[2 * i], \
                zm[2 * i + 1], om[i], cm[i]
            for j in range(out.shape[2]):
                o, c = orow[j], crow[j]
                h0 = r0[2 * j] == o
                h1 = (r0[2 * j + 1] == o) > h0  # (a hit, and no earlier one)
                h01 = h0 | h1
                h2 = (r1[2 * j] == o) > h01
                h3 = (r1[2 * j + 1] == o) > (h01 | h2)
                z0[2 * j] = c & -np.int32(h0)
                z0[2 * j + 1] = c & -np.int32(h1)
                z1[2 * j] = c & -np.int32(h2)
                z1[2 * j + 1] = c & -np.int32(h3)


@njit(inline="always", **_OPTS)
def _row_phases(pr, sx, tx, ph, base, into):
    """A plane's row ``pr`` and its ``sx`` stride phases (rows of ``ph`` from ``base``), the
    plane padded with ``tx`` columns to its left: column c lies in phase (c + tx) % sx at
    (c + tx) // sx. ``into``: copied into the phases, else back from them."""
    W = pr.shape[0]
    if sx == 2:  # (a constant stride: the copies vectorise)
        a = ph[tx % 2, base + tx // 2:]         # the even columns
        b = ph[1 - tx % 2, base + (tx + 1) // 2:]  # the odd ones
        h = W // 2
        if into:
            for t in range(h):
                a[t] = pr[2 * t]
                b[t] = pr[2 * t + 1]
        else:
            for t in range(h):
                pr[2 * t] = a[t]
                pr[2 * t + 1] = b[t]
        if W % 2 and into:
            a[h] = pr[W - 1]
        elif W % 2:
            pr[W - 1] = a[h]
        return
    for r in range(sx):
        d = ph[(r + tx) % sx, base + (r + tx) // sx:]
        if into:
            for t in range((W - r + sx - 1) // sx):
                d[t] = pr[sx * t + r]
        else:
            for t in range((W - r + sx - 1) // sx):
                pr[sx * t + r] = d[t]


@njit(**_OPTS)
def _phases(plane, sy, sx, ty, tx, wq, ph, into):
    """The stride phases of the plane padded with -inf (``ty`` rows above, ``tx`` columns to
    the left): ``into`` ph[py * sx + px, i * wq + j] = padded[py + i * sy, px + j * sx] (-inf
    in the padding), else the inverse copy of the entries inside ``plane`` back into it."""
    if into:
        ph[:, :] = _f(-np.inf)
    for y in range(plane.shape[0]):
        py, i = (y + ty) % sy, (y + ty) // sy
        _row_phases(plane[y], sx, tx, ph[py * sx:(py + 1) * sx], i * wq, into)


@njit(**_OPTS)
def pool_fwd(x, kh, kw, sy, sx, ty, tx, idx, p0, p1, out):
    """A 2-D max pool (kernel (kh, kw), stride (sy, sx), undilated) of planes p0..p1 of x (P,
    H, W) padded with -inf (``ty`` rows above, ``tx`` columns to the left; the windows beyond
    the other edges too) into out[idx[p]] (OH, OW), float32: each window's rows' maxima first,
    then their maximum along the row, each with np.maximum's choice (conv._pool_max_rows'
    order, the padding's -inf, which never wins, skipped: its values; of tied zeros, either
    may give the sign)."""
    H, W = x.shape[1:]
    OH, OW = out.shape[1:]
    red = np.empty(W, np.float32)
    for p in range(p0, p1):
        xp, op = x[p], out[idx[p]]
        for i in range(OH):
            y0 = i * sy - ty
            r0, r1 = max(0, y0), min(H, y0 + kh)
            orow = op[i]
            if r1 <= r0:  # (a window of padding only)
                orow[:] = _f(-np.inf)
                continue
            for q in range(W):  # (not red[:] = ...: numba would copy the source first)
                red[q] = xp[r0, q]
            for y in range(r0 + 1, r1):
                for q in range(W):
                    red[q] = _maximum(red[q], xp[y, q])
            for j in range(OW):
                x0 = j * sx - tx
                c0, c1 = max(0, x0), min(W, x0 + kw)
                m = _f(-np.inf) if c1 <= c0 else red[c0]
                for q in range(c0 + 1, c1):
                    m = _maximum(m, red[q])
                orow[j] = m


@njit(**_OPTS)
def pool_scatter(x, out, ct, kh, kw, sy, sx, ty, tx, hp, wp, p0, p1, z):
    """The gradient of a 2-D max pool with overlapping windows (kernel (kh, kw), stride (sy,
    sx), undilated; ResNet's 3x3 stride-2 pool) into ``z``, planes p0..p1: each window's
    cotangent added to its first maximum in window order (the entry equal to the pooled
    ``out``; a NaN maximum sends nothing), zeros elsewhere. x and z (P, H, W), out and ct (P,
    OH, OW) float32, the cotangent finite; x taken padded with -inf to hp x wp (``ty`` rows
    above, ``tx`` columns to the left), the padding's share dropped. conv._scatter_phases in
    one pass per plane: the padded plane cut into its stride phases (every kernel offset's
    entries one contiguous run), the windows' first hits and the additions offset by offset
    in window order: its bits."""
    OH, OW = out.shape[1:]
    hq, wq = -(-hp // sy), -(-wp // sx)
    m = hq * wq
    nk = kh * kw
    ph, fk = np.empty(nk, np.int64), np.empty(nk, np.int64)
    for k in range(nk):  # each kernel offset's phase and shift along the grid
        ph[k] = (k // kw % sy) * sx + k % kw % sx
        fk[k] = (k // kw // sy) * wq + k % kw // sx
    width = m + ((kh - 1) // sy) * wq + (kw - 1) // sx
    xs, zs = np.zeros((sy * sx, width), np.float32), np.empty((sy * sx, width), np.float32)
    o, c = np.full(m, np.nan, np.float32), np.zeros(m, np.float32)
    taken = np.empty(m, np.int32)  # (not bool: the loop below vectorises)
    for p in range(p0, p1):
        _phases(x[p], sy, sx, ty, tx, wq, xs, True)
        op, cp = out[p], ct[p]
        for i in range(OH):  # (beyond the output: a NaN maximum, a zero cotangent)
            for j in range(OW):
                o[i * wq + j] = op[i, j]
                c[i * wq + j] = cp[i, j]
        zs[:, :] = 0.0
        taken[:] = 0
        for k in range(nk):
            xr = xs[ph[k], fk[k]:fk[k] + m]
            zr = zs[ph[k], fk[k]:fk[k] + m]
            for q in range(m):
                hit = (xr[q] == o[q]) & (taken[q] == 0)
                taken[q] |= np.int32(hit)
                zr[q] += c[q] if hit else _f(0.0)
        _phases(z[p], sy, sx, ty, tx, wq, zs, False)


@njit(**_OPTS)
def add_offsets(g, offs, a, b, z):
    """z[c, a:b] = the sum over k, in order, of g[c, k] shifted right by offs[k]: z[c, a +
    offs[k] + t] += g[c, k, t] for t < b - a - offs[k], from zeros (col2im of one block of a
    windows gradient on the full grid, conv._input_grad_full_blocks). g (C, K, b - a), z (C,
    L) float32. Each addition rounded on its own, in the order of NumPy's offset-by-offset
    adds: their bits."""
    for c in range(g.shape[0]):
        zc = z[c, a:b]
        for t in range(b - a):
            zc[t] = _f(0.0)
        for k in range(g.shape[1]):
            off = offs[k]
            gk = g[c, k]
            zo = zc[off:]
            for t in range(b - a - off):
                zo[t] += gk[t]


# Batch normalisation's per-channel sums (float64 accumulators, reassociated so that they
# vectorise) and its elementwise passes, over C-ordered (N, C, M) arrays, or (C, 1, N*M) ones
# with ``cm`` (a convolution's channel-major output as it lies: each channel one run). Their
# bits are their own (ops/norm.py).
@njit(inline="always", **_SUM_OPTS)
def _row(a, n, c, cm):
    return a[c, n] if cm else a[n, c]


@njit(**_SUM_OPTS)
def bn_fwd(x, cm, w, b, eps, out, mean, var, c0, c1):
    """out = (x - mean) * w / sqrt(var + eps) + b per channel c0..c1, with the biased batch
    mean and variance (two passes: the variance sums squares of deviations) written to mean,
    var."""
    N = x.shape[1] if cm else x.shape[0]
    M = x.shape[2]
    inv = 1.0 / (N * M)
    for c in range(c0, c1):
        s = 0.0
        for n in range(N):
            xr = _row(x, n, c, cm)
            for m in range(M):
                s += xr[m]
        mu = np.float32(s * inv)
        q = 0.0
        for n in range(N):
            xr = _row(x, n, c, cm)
            for m in range(M):
                d = np.float64(xr[m] - mu)
                q += d * d
        v = np.float32(q * inv)
        mean[c], var[c] = mu, v
        a = w[c] / np.sqrt(v + eps)
        bc = b[c]
        for n in range(N):
            xr, orow = _row(x, n, c, cm), _row(out, n, c, cm)
            for m in range(M):
                orow[m] = (xr[m] - mu) * a + bc


@njit(**_SUM_OPTS)
def bn_bwd(ct, x, cm, w, mean, var, eps, dx, dw, db, c0, c1):
    """Batch normalisation's backward for the batch statistics, channels c0..c1: dx, and per
    channel dw = sum(ct * (x - mean)) / sqrt(var + eps), db = sum(ct); ct, x, dx in one
    layout."""
    N = x.shape[1] if cm else x.shape[0]
    M = x.shape[2]
    inv = np.float32(1.0 / (N * M))
    for c in range(c0, c1):
        mu = mean[c]
        s = 0.0
        q = 0.0
        for n in range(N):
            cr, xr = _row(ct, n, c, cm), _row(x, n, c, cm)
            for m in range(M):
                g = cr[m]
                s += g
                q += np.float64(g) * np.float64(xr[m] - mu)
        s32, q32 = np.float32(s), np.float32(q)
        r = np.float32(1.0) / np.sqrt(var[c] + eps)
        a = w[c] * r
        k1 = a * r * r * q32 * inv
        k0 = a * s32 * inv
        dw[c], db[c] = r * q32, s32
        for n in range(N):
            cr, xr, dr = _row(ct, n, c, cm), _row(x, n, c, cm), _row(dx, n, c, cm)
            for m in range(M):
                dr[m] = cr[m] * a - (xr[m] - mu) * k1 - k0


# Winograd F(2x2, 3x3) transforms (ops/winograd.py): each 4x4 tile (stride 2) of a padded
# input becomes 16 values, one per plane of a flat buffer (plane k at k*S, entry c*T + t for
# channel c of tile t); the planes' products give the output's 2x2 tiles. Every kernel
# works on samples n0..n1 and repeats its NumPy twin's additions in their order (the same
# bits).
@njit(inline="always", **_OPTS)
def _bt4(a, b, c, d):  # B^T (4 x 4) applied to a column of 4
    return a - c, b + c, c - b, b - d


@njit(inline="always", **_OPTS)
def _at4(a, b, c, d):  # A^T (2 x 4)
    return (a + b) + c, (b - c) - d


@njit(inline="always", **_OPTS)
def _a2(a, b):  # A (4 x 2), the transpose of A^T
    return a, a + b, a - b, -b


@njit(inline="always", **_OPTS)
def _b4(a, b, c, d):  # B (4 x 4), the transpose of B^T
    return a, (b - c) + d, (b + c) - a, -d


@njit(inline="always", **_OPTS)
def _put4(buf, o, S, v):  # a tile row's 4 values into 4 consecutive planes
    buf[o] = v[0]
    buf[o + S] = v[1]
    buf[o + 2 * S] = v[2]
    buf[o + 3 * S] = v[3]


@njit(inline="always", **_OPTS)
def _plane_order(q, C, n0, n1, tiles):
    """The q-th (sample, channel) plane of a transform's samples n0..n1: channel by channel
    (samples inner) when a sample's plane has fewer than 16 tiles, so that the 16 planes'
    rows (C, tiles) are written (or read) in order, not 4-16 bytes at a time per sample
    (256 channels at 4x4: the input transform 0.54 -> 0.25 ms); sample by sample else."""
    if tiles < 16:
        m = n1 - n0
        return n0 + q % m, q // m
    return n0 + q // C, q % C


@njit(**_OPTS)
def wino_in(x, py, px, buf, S, th, tw, n0, n1):
    """The input transform B^T d B of every 4x4 tile of x (N, C, H, W) padded with py rows
    and px columns of zeros on each side to (2th+2, 2tw+2): each plane copied into a
    zero-bordered scratch plane first (in cache), so that no padded copy is made."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    T = x.shape[0] * th * tw
    scr = np.zeros((2 * th + 2, 2 * tw + 2), buf.dtype)
    for q in range(C * (n1 - n0)):
        n, c = _plane_order(q, C, n0, n1, th * tw)
        for i in range(H):
            for j in range(W):
                scr[py + i, px + j] = x[n, c, i, j]
        for ty in range(th):
            r0, r1, r2, r3 = scr[2 * ty], scr[2 * ty + 1], scr[2 * ty + 2], scr[2 * ty + 3]
            base = c * T + (n * th + ty) * tw
            for tx in range(tw):
                u = 2 * tx
                a0, b0, c0, d0 = _bt4(r0[u], r1[u], r2[u], r3[u])
                a1, b1, c1, d1 = _bt4(r0[u + 1], r1[u + 1], r2[u + 1], r3[u + 1])
                a2, b2, c2, d2 = _bt4(r0[u + 2], r1[u + 2], r2[u + 2], r3[u + 2])
                a3, b3, c3, d3 = _bt4(r0[u + 3], r1[u + 3], r2[u + 3], r3[u + 3])
                i = base + tx
                for k, row in enumerate(((a0, a1, a2, a3), (b0, b1, b2, b3),
                                         (c0, c1, c2, c3), (d0, d1, d2, d3))):
                    _put4(buf, 4 * k * S + i, S, _bt4(row[0], row[1], row[2], row[3]))


@njit(**_OPTS)
def wino_out(buf, S, y, th, tw, n0, n1):
    """The output transform A^T m A of every tile's 16 products into y (N, O, 2th, 2tw)."""
    O = y.shape[1]
    T = y.shape[0] * th * tw
    for q in range(O * (n1 - n0)):
        n, o = _plane_order(q, O, n0, n1, th * tw)
        for ty in range(th):
            ya, yb = y[n, o, 2 * ty], y[n, o, 2 * ty + 1]
            base = o * T + (n * th + ty) * tw
            for tx in range(tw):
                i = base + tx
                s00, s10 = _at4(buf[i], buf[i + 4 * S], buf[i + 8 * S], buf[i + 12 * S])
                s01, s11 = _at4(buf[i + S], buf[i + 5 * S], buf[i + 9 * S],
                                buf[i + 13 * S])
                s02, s12 = _at4(buf[i + 2 * S], buf[i + 6 * S], buf[i + 10 * S],
                                buf[i + 14 * S])
                s03, s13 = _at4(buf[i + 3 * S], buf[i + 7 * S], buf[i + 11 * S],
                                buf[i + 15 * S])
                ya[2 * tx], ya[2 * tx + 1] = _at4(s00, s01, s02, s03)
                yb[2 * tx], yb[2 * tx + 1] = _at4(s10, s11, s12, s13)


@njit(**_OPTS)
def wino_ct(g, buf, S, th, tw, n0, n1):
    """The output transform's transpose A g A^T of every 2x2 tile of g (N, O, 2th, 2tw)."""
    O = g.shape[1]
    T = g.shape[0] * th * tw
    for q in range(O * (n1 - n0)):
        n, o = _plane_order(q, O, n0, n1, th * tw)
        for ty in range(th):
            ga, gb = g[n, o, 2 * ty], g[n, o, 2 * ty + 1]
            base = o * T + (n * th + ty) * tw
            for tx in range(tw):
                a0, b0, c0, d0 = _a2(ga[2 * tx], gb[2 * tx])
                a1, b1, c1, d1 = _a2(ga[2 * tx + 1], gb[2 * tx + 1])
                i = base + tx
                for k, row in enumerate(((a0, a1), (b0, b1), (c0, c1), (d0, d1))):
                    _put4(buf, 4 * k * S + i, S, _a2(row[0], row[1]))


@njit(**_OPTS)
def wino_in_adj(buf, S, z, py, px, th, tw, n0, n1):
    """The input transform's transpose B v B^T of every tile, the overlapping 4x4 tiles
    added on the padded grid (2th+2, 2tw+2): each entry the sum of its (up to four) tiles'
    values in the order of their offsets (i, j) in the tile, from zero; z (N, C, H, W) gets
    the entries inside the padding (py rows, px columns on each side)."""
    C, H, W = z.shape[1], z.shape[2], z.shape[3]
    T = z.shape[0] * th * tw
    d = np.empty((2, tw, 16), buf.dtype)  # tile rows ty - 1 and ty, alternating
    for q in range(C * (n1 - n0)):
        n, c = _plane_order(q, C, n0, n1, th * tw)
        for ty in range(th + 1):
            cur = d[ty % 2]
            if ty < th:
                base = c * T + (n * th + ty) * tw
                for tx in range(tw):
                    i = base + tx
                    a0, b0, c0, d0 = _b4(buf[i], buf[i + 4 * S], buf[i + 8 * S],
                                         buf[i + 12 * S])
                    a1, b1, c1, d1 = _b4(buf[i + S], buf[i + 5 * S], buf[i + 9 * S],
                                         buf[i + 13 * S])
                    a2, b2, c2, d2 = _b4(buf[i + 2 * S], buf[i + 6 * S],
                                         buf[i + 10 * S], buf[i + 14 * S])
                    a3, b3, c3, d3 = _b4(buf[i + 3 * S], buf[i + 7 * S],
                                         buf[i + 11 * S], buf[i + 15 * S])
                    t = cur[tx]
                    for r, row in enumerate(((a0, a1, a2, a3), (b0, b1, b2, b3),
                                             (c0, c1, c2, c3), (d0, d1, d2, d3))):
                        t[4 * r], t[4 * r + 1], t[4 * r + 2], t[4 * r + 3] = _b4(
                            row[0], row[1], row[2], row[3])
            prev = d[(ty + 1) % 2]
            for p in range(2):
                row = 2 * ty + p - py
                if row < 0 or row >= H:
                    continue
                zr = z[n, c, row]
                for tx in range(tw + 1):
                    for q in range(2):
                        col = 2 * tx + q - px
                        if col < 0 or col >= W:
                            continue
                        s = np.float32(0.0)
                        if ty < th:
                            if tx < tw:
                                s += cur[tx, 4 * p + q]
                            if tx > 0:
                                s += cur[tx - 1, 4 * p + q + 2]
                        if ty > 0:
                            if tx < tw:
                                s += prev[tx, 4 * (p + 2) + q]
                            if tx > 0:
                                s += prev[tx - 1, 4 * (p + 2) + q + 2]
                        zr[col] = s


# Winograd F(4x4, 3x3) (ops/winograd.py's second tile size): each 6x6 tile (stride 4) of a
# padded plane gives a 4x4 tile of the output through 36 planes; the same layout and order of
# stages as F(2x2, 3x3) above, the coefficients as float32 constants (each product and sum
# rounded on its own: the NumPy twins' bits).
_F2, _F4, _F5, _F8 = _f(2.0), _f(4.0), _f(5.0), _f(8.0)


@njit(inline="always", **_OPTS)
def _bt6(d0, d1, d2, d3, d4, d5):  # B^T (6 x 6) applied to a column of 6
    return ((_F4 * d0 - _F5 * d2) + d4, (d3 + d4) - _F4 * (d1 + d2),
            (d4 - d3) + _F4 * (d1 - d2), (d4 - d2) + _F2 * (d3 - d1),
            (d4 - d2) - _F2 * (d3 - d1), (_F4 * d1 - _F5 * d3) + d5)


@njit(inline="always", **_OPTS)
def _at6(m0, m1, m2, m3, m4, m5):  # A^T (4 x 6)
    a, b, c, d = m1 + m2, m1 - m2, m3 + m4, m3 - m4
    return (m0 + a) + c, b + _F2 * d, a + _F4 * c, (b + _F8 * d) + m5


@njit(inline="always", **_OPTS)
def _a6(g0, g1, g2, g3):  # A (6 x 4), the transpose of A^T
    p, q, r, s = g0 + g2, g1 + g3, g0 + _F4 * g2, _F2 * g1 + _F8 * g3
    return g0, p + q, p - q, r + s, r - s, g3


@njit(inline="always", **_OPTS)
def _b6(v0, v1, v2, v3, v4, v5):  # B (6 x 6), the transpose of B^T
    a, b, c, e = v1 + v2, v2 - v1, v3 + v4, v3 - v4
    return (_F4 * v0, (_F4 * b - _F2 * e) + _F4 * v5, (-_F5 * v0 - _F4 * a) - c,
            (_F2 * e - b) - _F5 * v5, (v0 + a) + c, v5)


@njit(**_OPTS)
def wino4_in(x, py, px, buf, S, th, tw, n0, n1):
    """wino_in for 6x6 tiles at stride 4: B^T d B into 36 planes."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    T = x.shape[0] * th * tw
    scr = np.zeros((4 * th + 2, 4 * tw + 2), buf.dtype)
    t = np.empty((6, 6), buf.dtype)
    for q in range(C * (n1 - n0)):
        n, c = _plane_order(q, C, n0, n1, th * tw)
        for i in range(H):
            for j in range(W):
                scr[py + i, px + j] = x[n, c, i, j]
        for ty in range(th):
            r = 4 * ty
            base = c * T + (n * th + ty) * tw
            for tx in range(tw):
                u = 4 * tx
                for j in range(6):
                    t[0, j], t[1, j], t[2, j], t[3, j], t[4, j], t[5, j] = _bt6(
                        scr[r, u + j], scr[r + 1, u + j], scr[r + 2, u + j],
                        scr[r + 3, u + j], scr[r + 4, u + j], scr[r + 5, u + j])
                o = base + tx
                for i in range(6):
                    v = _bt6(t[i, 0], t[i, 1], t[i, 2], t[i, 3], t[i, 4], t[i, 5])
                    for k in range(6):
                        buf[(6 * i + k) * S + o] = v[k]


@njit(**_OPTS)
def wino4_out(buf, S, y, th, tw, n0, n1):
    """wino_out for 4x4 output tiles: A^T m A of every tile's 36 products."""
    O = y.shape[1]
    T = y.shape[0] * th * tw
    s = np.empty((4, 6), buf.dtype)
    for q in range(O * (n1 - n0)):
        n, o = _plane_order(q, O, n0, n1, th * tw)
        for ty in range(th):
            base = o * T + (n * th + ty) * tw
            for tx in range(tw):
                i = base + tx
                for j in range(6):
                    s[0, j], s[1, j], s[2, j], s[3, j] = _at6(
                        buf[i + j * S], buf[i + (6 + j) * S], buf[i + (12 + j) * S],
                        buf[i + (18 + j) * S], buf[i + (24 + j) * S], buf[i + (30 + j) * S])
                for r in range(4):
                    v = _at6(s[r, 0], s[r, 1], s[r, 2], s[r, 3], s[r, 4], s[r, 5])
                    yr = y[n, o, 4 * ty + r]
                    for k in range(4):
                        yr[4 * tx + k] = v[k]


@njit(**_OPTS)
def wino4_ct(g, buf, S, th, tw, n0, n1):
    """wino_ct for 4x4 cotangent tiles: A g A^T into 36 planes."""
    O = g.shape[1]
    T = g.shape[0] * th * tw
    t = np.empty((6, 4), buf.dtype)
    for q in range(O * (n1 - n0)):
        n, o = _plane_order(q, O, n0, n1, th * tw)
        for ty in range(th):
            r = 4 * ty
            base = o * T + (n * th + ty) * tw
            for tx in range(tw):
                u = 4 * tx
                for b in range(4):
                    t[0, b], t[1, b], t[2, b], t[3, b], t[4, b], t[5, b] = _a6(
                        g[n, o, r, u + b], g[n, o, r + 1, u + b], g[n, o, r + 2, u + b],
                        g[n, o, r + 3, u + b])
                i = base + tx
                for a in range(6):
                    v = _a6(t[a, 0], t[a, 1], t[a, 2], t[a, 3])
                    for k in range(6):
                        buf[(6 * a + k) * S + i] = v[k]


@njit(**_OPTS)
def wino4_in_adj(buf, S, z, py, px, th, tw, n0, n1):
    """wino_in_adj for 6x6 tiles at stride 4: B v B^T of every tile added on the padded grid
    (4th+2, 4tw+2) tile by tile in row-major order, from zero (the NumPy twin adds the
    tiles' offsets in descending order: the same order for every entry); z gets the entries
    inside the padding."""
    C, H, W = z.shape[1], z.shape[2], z.shape[3]
    T = z.shape[0] * th * tw
    scr = np.empty((4 * th + 2, 4 * tw + 2), buf.dtype)
    t = np.empty((6, 6), buf.dtype)
    for q in range(C * (n1 - n0)):
        n, c = _plane_order(q, C, n0, n1, th * tw)
        scr[:, :] = 0.0
        for ty in range(th):
            base = c * T + (n * th + ty) * tw
            for tx in range(tw):
                i = base + tx
                for j in range(6):
                    t[0, j], t[1, j], t[2, j], t[3, j], t[4, j], t[5, j] = _b6(
                        buf[i + j * S], buf[i + (6 + j) * S], buf[i + (12 + j) * S],
                        buf[i + (18 + j) * S], buf[i + (24 + j) * S], buf[i + (30 + j) * S])
                for a in range(6):
                    v = _b6(t[a, 0], t[a, 1], t[a, 2], t[a, 3], t[a, 4], t[a, 5])
                    sr = scr[4 * ty + a]
                    for k in range(6):
                        sr[4 * tx + k] += v[k]
        for r in range(H):
            for col in range(W):
                z[n, c, r, col] = scr[py + r, px + col]


# ---- GIL-free parts: the Winograd transforms as C functions for OpenBLAS's workers --------
# threads.run_compiled hands each part's block of int64 arguments to one of these on
# OpenBLAS's worker threads (gotoblas_pthread), the first on the calling thread: no Python
# runs in the parallel region, so the GIL never passes between the two threads (a handoff of
# two no-op parts took 1.4 us, against 26 us as Python callbacks). Arrays come as their
# addresses and shapes, C-ordered float32. "Into planes" blocks (wino_in, wino_ct): [array,
# N, C, H, W, planes, S, th, tw, n0, n1, py, px]; "from planes" blocks (wino_out,
# wino_in_adj): [planes, S, array, N, C, H, W, th, tw, n0, n1, py, px].

@intrinsic
def _as_ptr(typingctx, v):
    """The address ``v`` (an integer) as a pointer."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())
    return types.voidptr(v), codegen


@njit(inline="always", **_OPTS)
def _block_arrays(arg, into, P=16):
    """(block, the 4-D array, the ``P`` planes) of an argument block (see above)."""
    a = carray(arg, (13,), np.int64)
    i, j = (0, 5) if into else (2, 0)
    arr = carray(_as_ptr(a[i]), (a[i + 1], a[i + 2], a[i + 3], a[i + 4]), np.float32)
    planes = carray(_as_ptr(a[j]), (P * a[j + 1],), np.float32)
    return a, arr, planes


_PART = types.void(types.voidptr)


@cfunc(_PART, cache=True)
def wino_in_part(arg):
    a, x, buf = _block_arrays(arg, True)
    wino_in(x, a[11], a[12], buf, a[6], a[7], a[8], a[9], a[10])


@cfunc(_PART, cache=True)
def wino_ct_part(arg):
    a, g, buf = _block_arrays(arg, True)
    wino_ct(g, buf, a[6], a[7], a[8], a[9], a[10])


@cfunc(_PART, cache=True)
def wino_out_part(arg):
    a, y, buf = _block_arrays(arg, False)
    wino_out(buf, a[1], y, a[7], a[8], a[9], a[10])


@cfunc(_PART, cache=True)
def wino_in_adj_part(arg):
    a, z, buf = _block_arrays(arg, False)
    wino_in_adj(buf, a[1], z, a[11], a[12], a[7], a[8], a[9], a[10])


@njit(inline="always", **_OPTS)
def _conv_chunks(arg, m):
    """wino_conv_part's body for output tiles of side ``m`` (2 or 4; P = (m + 2)^2 planes)."""
    a = carray(arg, (21,), np.int64)
    P = (m + 2) ** 2
    x = carray(_as_ptr(a[0]), (a[1], a[2], a[3], a[4]), np.float32)
    v = carray(_as_ptr(a[5]), (P * a[6],), np.float32)
    mp = carray(_as_ptr(a[7]), (P * a[8],), np.float32)
    th, tw = a[12], a[13]
    y = carray(_as_ptr(a[10]), (a[1], a[11], m * th, m * tw), np.float32)
    c, o, t, per = a[2], a[11], a[1] * th * tw, th * tw
    for n0 in range(a[14], a[15], a[18]):
        n1 = min(a[15], n0 + a[18])
        if m == 2:
            wino_in(x, a[16], a[17], v, a[6], th, tw, n0, n1)
        else:
            wino4_in(x, a[16], a[17], v, a[6], th, tw, n0, n1)
        for k in range(P):  # the chunk's columns n0*per.. of plane k (rows t apart)
            _sgemm(a[19], a[20], 111, 111, o, (n1 - n0) * per, c, a[9] + 4 * k * o * c, c,
                   a[5] + 4 * (k * a[6] + n0 * per), t, a[7] + 4 * (k * a[8] + n0 * per), t)
        if m == 2:
            wino_out(mp, a[8], y, th, tw, n0, n1)
        else:
            wino4_out(mp, a[8], y, th, tw, n0, n1)


@njit(inline="always", **_OPTS)
def _dx_chunks(arg, m):
    """wino_dx_part's body for cotangent tiles of side ``m`` (2 or 4)."""
    a = carray(arg, (21,), np.int64)
    P = (m + 2) ** 2
    g = carray(_as_ptr(a[0]), (a[1], a[2], a[3], a[4]), np.float32)
    gp = carray(_as_ptr(a[5]), (P * a[6],), np.float32)
    vp = carray(_as_ptr(a[7]), (P * a[8],), np.float32)
    th, tw, py, px = a[12], a[13], a[16], a[17]
    z = carray(_as_ptr(a[10]), (a[1], a[11], m * th + 2 - 2 * py, m * tw + 2 - 2 * px),
               np.float32)
    o, c, t, per = a[2], a[11], a[1] * th * tw, th * tw
    for n0 in range(a[14], a[15], a[18]):
        n1 = min(a[15], n0 + a[18])
        if m == 2:
            wino_ct(g, gp, a[6], th, tw, n0, n1)
        else:
            wino4_ct(g, gp, a[6], th, tw, n0, n1)
        for k in range(P):
            _sgemm(a[19], a[20], 112, 111, c, (n1 - n0) * per, o, a[9] + 4 * k * o * c, c,
                   a[5] + 4 * (k * a[6] + n0 * per), t, a[7] + 4 * (k * a[8] + n0 * per), t)
        if m == 2:
            wino_in_adj(vp, a[8], z, py, px, th, tw, n0, n1)
        else:
            wino4_in_adj(vp, a[8], z, py, px, th, tw, n0, n1)


@cfunc(_PART, cache=True)
def wino_conv_part(arg):
    """A whole Winograd convolution of samples n0..n1 (winograd._conv_block), a chunk of
    samples at a time: the chunk's input transform into its columns of the planes V, its 16
    products U_k @ V_k by sgemm into its columns of M, its output transform from M, so that
    each chunk's planes are still in cache when the next stage reads them. Block: [x, N, C,
    H, W, V, SV, M, SM, U, y, O, th, tw, n0, n1, py, px, chunk, sgemm, wide]."""
    _conv_chunks(arg, 2)


@cfunc(_PART, cache=True)
def wino_dx_part(arg):
    """The input gradient of a Winograd convolution for samples n0..n1, chunk by chunk as
    wino_conv_part: the cotangent's transform into its columns of the planes G (which the
    weight gradient reads after), the 16 products U_k^T @ G_k into its columns of V, the
    adjoint input transform into z. Block: [ct, N, O, OH, OW, G, SG, V, SV, U, z, C, th, tw,
    n0, n1, py, px, chunk, sgemm, wide]."""
    _dx_chunks(arg, 2)


@cfunc(_PART, cache=True)
def wino4_in_part(arg):
    a, x, buf = _block_arrays(arg, True, 36)
    wino4_in(x, a[11], a[12], buf, a[6], a[7], a[8], a[9], a[10])


@cfunc(_PART, cache=True)
def wino4_ct_part(arg):
    a, g, buf = _block_arrays(arg, True, 36)
    wino4_ct(g, buf, a[6], a[7], a[8], a[9], a[10])


@cfunc(_PART, cache=True)
def wino4_out_part(arg):
    a, y, buf = _block_arrays(arg, False, 36)
    wino4_out(buf, a[1], y, a[7], a[8], a[9], a[10])


@cfunc(_PART, cache=True)
def wino4_in_adj_part(arg):
    a, z, buf = _block_arrays(arg, False, 36)
    wino4_in_adj(buf, a[1], z, a[11], a[12], a[7], a[8], a[9], a[10])


@cfunc(_PART, cache=True)
def wino4_conv_part(arg):
    """wino_conv_part for F(4x4, 3x3): 36 planes, 4x4 output tiles."""
    _conv_chunks(arg, 4)


@cfunc(_PART, cache=True)
def wino4_dx_part(arg):
    """wino_dx_part for F(4x4, 3x3): 36 planes, 4x4 cotangent tiles."""
    _dx_chunks(arg, 4)


@njit(inline="always", **_OPTS)
def _runs3(a, i):
    """The C-ordered float32 (d0, d1, d2) array at a[i] with shape a[1:4] (batch norm's)."""
    return carray(_as_ptr(a[i]), (a[1], a[2], a[3]), np.float32)


@njit(inline="always", **_OPTS)
def _vec(a, i, n):
    return carray(_as_ptr(a[i]), (n,), np.float32)


@cfunc(_PART, cache=True)
def bn_fwd_part(arg):
    """bn_fwd on channels c0..c1 (norm._bn_split). Block: [x, d0, d1, d2, cm, w, b, eps,
    out, mean, var, C, c0, c1], eps a one-entry float32 array."""
    a = carray(arg, (14,), np.int64)
    C = a[11]
    bn_fwd(_runs3(a, 0), a[4] != 0, _vec(a, 5, C), _vec(a, 6, C), _vec(a, 7, 1)[0],
           _runs3(a, 8), _vec(a, 9, C), _vec(a, 10, C), a[12], a[13])


@cfunc(_PART, cache=True)
def bn_bwd_part(arg):
    """bn_bwd on channels c0..c1. Block: [ct, d0, d1, d2, cm, x, w, mean, var, eps, dx, dw,
    db, C, c0, c1]."""
    a = carray(arg, (16,), np.int64)
    C = a[13]
    bn_bwd(_runs3(a, 0), _runs3(a, 5), a[4] != 0, _vec(a, 6, C), _vec(a, 7, C),
           _vec(a, 8, C), _vec(a, 9, 1)[0], _runs3(a, 10), _vec(a, 11, C), _vec(a, 12, C),
           a[14], a[15])


@cfunc(_PART, cache=True)
def products_part(arg):
    """Products k0..k1 of Winograd's 16 (winograd._products): C_k = op(A_k) @ op(B_k)
    by sgemm, each operand at its base address plus k times its stride (entries). Block:
    [sgemm, wide, ta, tb, m, n, kk, A, sA, lda, B, sB, ldb, C, sC, ldc, k0, k1]."""
    a = carray(arg, (18,), np.int64)
    for k in range(a[16], a[17]):
        _sgemm(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7] + 4 * k * a[8], a[9],
               a[10] + 4 * k * a[11], a[12], a[13] + 4 * k * a[14], a[15])


# ---- chains of elementwise arithmetic (pieces.Run): a small interpreter over L1 blocks ----
#
# A chain is a table of steps (op, dst, a, b): an operand >= 0 is an array slot (its entries
# at the block's offset), -1 - k is scratch row k (a block's worth, tmp[k]), and EW_SCALAR + k
# is the scalar scal[k]. Each step is one loop over the block; a loop reading the array it
# writes is given that array twice (one pointer to LLVM: with two it checks them for overlap
# at run time and, finding them equal, runs its scalar loop: 5-6x slower).

EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_SQRT, EW_NEG, EW_SQUARE, EW_ABS = range(8)
EW_OPS = {"add": EW_ADD, "sub": EW_SUB, "mul": EW_MUL, "div": EW_DIV, "sqrt": EW_SQRT,
          "neg": EW_NEG, "square": EW_SQUARE, "abs": EW_ABS}
EW_SCALAR = 1 << 20
EW_BLOCK = 2048  # entries per block: a dozen scratch rows and operands stay in L1
EW_SLOTS = 12  # array slots of ew_run (pieces.EW_SLOTS)


@njit(inline="always", **_OPTS)
def _ew_vv(op, d, a, b, m):
    if op == EW_ADD:
        for j in range(m):
            d[j] = a[j] + b[j]
    elif op == EW_SUB:
        for j in range(m):
            d[j] = a[j] - b[j]
    elif op == EW_MUL:
        for j in range(m):
            d[j] = a[j] * b[j]
    else:
        for j in range(m):
            d[j] = a[j] / b[j]


@njit(inline="always", **_OPTS)
def _ew_vs(op, d, a, s, m):
    if op == EW_ADD:
        for j in range(m):
            d[j] = a[j] + s
    elif op == EW_SUB:
        for j in range(m):
            d[j] = a[j] - s
    elif op == EW_MUL:
        for j in range(m):
            d[j] = a[j] * s
    else:
        for j in range(m):
            d[j] = a[j] / s


@njit(inline="always", **_OPTS)
def _ew_sv(op, d, s, b, m):
    if op == EW_ADD:
        for j in range(m):
            d[j] = s + b[j]
    elif op == EW_SUB:
        for j in range(m):
            d[j] = s - b[j]
    elif op == EW_MUL:
        for j in range(m):
            d[j] = s * b[j]
    else:
        for j in range(m):
            d[j] = s / b[j]


@njit(inline="always", **_OPTS)
def _ew_u(op, d, a, m):
    if op == EW_SQRT:
        for j in range(m):
            d[j] = np.sqrt(a[j])
    elif op == EW_NEG:
        for j in range(m):
            d[j] = -a[j]
    elif op == EW_SQUARE:
        for j in range(m):
            d[j] = a[j] * a[j]
    else:
        for j in range(m):
            d[j] = abs(a[j])


@njit(inline="always", **_OPTS)
def _ew_at(v, addrs, s, tbase, B):
    """The address of operand ``v``'s entries for the block starting at entry ``s``."""
    return addrs[v] + 4 * s if v >= 0 else tbase + 4 * B * (-1 - v)


@njit(inline="always", **_OPTS)
def _ew_vec(addr, m):
    """The m float32 entries at ``addr``."""
    return carray(_as_ptr(addr), (m,), np.float32)


@njit(inline="always", **_OPTS)
def _ew_rows(code, q0, q1, addrs, scal, tbase, B, start, stop):
    """Rows q0:q1 of the chain ``code`` on entries start:stop, block by block (ew_run)."""
    for s in range(start, stop, B):
        m = min(B, stop - s)
        for q in range(q0, q1):
            op, dv, av, bv = code[q, 0], code[q, 1], code[q, 2], code[q, 3]
            da = _ew_at(dv, addrs, s, tbase, B)
            d = _ew_vec(da, m)
            if av >= EW_SCALAR:  # a scalar, then an array
                ba = _ew_at(bv, addrs, s, tbase, B)
                if ba == da:
                    _ew_sv(op, d, scal[av - EW_SCALAR], d, m)
                else:
                    _ew_sv(op, d, scal[av - EW_SCALAR], _ew_vec(ba, m), m)
                continue
            aa = _ew_at(av, addrs, s, tbase, B)
            if op >= EW_SQRT:
                if aa == da:
                    _ew_u(op, d, d, m)
                else:
                    _ew_u(op, d, _ew_vec(aa, m), m)
            elif bv >= EW_SCALAR:
                if aa == da:
                    _ew_vs(op, d, d, scal[bv - EW_SCALAR], m)
                else:
                    _ew_vs(op, d, _ew_vec(aa, m), scal[bv - EW_SCALAR], m)
            else:
                ba = _ew_at(bv, addrs, s, tbase, B)
                if aa == da and ba == da:
                    _ew_vv(op, d, d, d, m)
                elif aa == da:
                    _ew_vv(op, d, d, _ew_vec(ba, m), m)
                elif ba == da:
                    _ew_vv(op, d, _ew_vec(aa, m), d, m)
                else:
                    _ew_vv(op, d, _ew_vec(aa, m), _ew_vec(ba, m), m)


@njit(**_OPTS)
def ew_run(code, groups, scal, tmp, start, stop, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10,
           a11):
    """The chain ``code`` (int32 rows op, dst, a, b; see above) on entries start:stop of the
    flat float32 arrays a0..a11 (unused slots: any array), block by block, with scratch rows
    ``tmp`` (k, EW_BLOCK). ``groups``: the rows of independent sub-chains (no array in
    common: each parameter's update when one chain updates two), rows groups[i]:groups[i+1],
    run one after another over all the entries (interleaved, two parameters' six arrays
    streamed at once ran 1.7x slower). Every entry's steps in the chain's order, each
    rounded as NumPy's ufunc rounds it: NumPy's bits."""
    addrs = np.empty(EW_SLOTS, np.int64)
    for k, a in enumerate((a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11)):
        addrs[k] = a.ctypes.data
    B = tmp.shape[1]
    tbase = tmp.ctypes.data
    for gi in range(groups.shape[0] - 1):
        _ew_rows(code, groups[gi], groups[gi + 1], addrs, scal, tbase, B, start, stop)


def warm(sgemm=None):
    """Run each kernel once on tiny arrays of the types the ops pass (C-ordered float32,
    int32 scratch, int64 indices), so that numba's runtime and every kernel's code are loaded
    (compiled, the first time on a machine) before the first real call; the compiled LSTM
    loops too when ``sgemm`` (accel.sgemm) is given."""
    f, n, h = np.float32, 1, 2
    z2 = lambda *s: np.zeros(s, f)  # noqa: E731
    if sgemm is not None:
        g, one = z2(2, 4 * h), np.ones(4 * h, f)
        lstm_seq_fwd(*sgemm, z2(1, 2, 4 * h), z2(h, 4 * h), z2(2, h), z2(2, h), one, one,
                     False, False, z2(1, 2, h), z2(1, 2, h), z2(1, 2, 5 * h), g)
        lstm_seq_bwd(*sgemm, z2(1, 2, h), z2(1, 2, h), False, z2(1, 2, 5 * h), z2(1, 2, h),
                     z2(2, h), z2(4 * h, h), False, g.reshape(1, 2, 4 * h), z2(2, h), z2(2, h))
    act = z2(n, 5 * h)
    lstm_step_fwd(z2(n, 4 * h), z2(n, 4 * h), np.ones(4 * h, f), np.ones(4 * h, f), False,
                  z2(n, h), act, z2(n, h), z2(n, h))
    lstm_step_bwd(z2(n, h), z2(n, h), True, act, z2(n, h), z2(n, 4 * h), z2(n, h), z2(n, h))
    add_rows(z2(3, h), np.zeros(2, np.int64), z2(2, h))
    act = z2(n, 4 * h)
    gru_step_fwd(z2(n, 3 * h), z2(n, 3 * h), z2(2 * h), z2(h), z2(n, h), act, z2(n, h),
                 z2(2 * h), z2(2 * h), np.zeros(2 * h, np.int32))
    gru_step_bwd(z2(n, h), act, z2(n, h), z2(n, h), z2(n, 3 * h), z2(n, h), z2(n, h))
    conv_w_grad_lags(z2(2, 4), z2(1, 8), 2, 2, 2, 1, 1, 0, 1, np.zeros((2, 1, 1, 1)))
    conv_fwd_lags(z2(1, 8), z2(2, 1, 1, 5), 2, 2, 2, 0, 2, z2(2, 4))
    i4 = lambda *s: np.zeros(s, np.int32)  # noqa: E731
    pool2x2_bwd(z2(1, 2, 2), z2(1, 1, 1), i4(1, 1, 1), i4(1, 2, 2))
    pool2x2_fwd(z2(1, 2, 2), np.zeros(1, np.int64), z2(1, 1, 1))
    pool_scatter(z2(1, 3, 3), z2(1, 1, 1), z2(1, 1, 1), 2, 2, 1, 1, 0, 0, 3, 3, 0, 1,
                 z2(1, 3, 3))
    pool_fwd(z2(1, 3, 3), 2, 2, 1, 1, 0, 0, np.zeros(1, np.int64), 0, 1, z2(1, 2, 2))
    add_offsets(z2(1, 2, 3), np.zeros(2, np.int64), 0, 3, z2(1, 3))
    e = z2(4)
    ew_run(np.array([[EW_MUL, 0, 0, EW_SCALAR]], np.int32), np.array([0, 1], np.int32),
           np.ones(1, f), z2(1, EW_BLOCK), 0, 4, *([e] * EW_SLOTS))
    S = 5
    wino_in(z2(1, 1, 2, 2), 1, 1, z2(16 * S), S, 1, 1, 0, 1)
    S = 20  # a channel-major input, (C, N, H, W) in memory (a convolution's output, eager)
    wino_in(z2(2, 2, 2, 2).transpose(1, 0, 2, 3), 1, 1, z2(16 * S), S, 1, 1, 0, 2)
    wino_out(z2(16 * S), S, z2(1, 1, 2, 2), 1, 1, 0, 1)
    wino_ct(z2(1, 1, 2, 2), z2(16 * S), S, 1, 1, 0, 1)
    wino_in_adj(z2(16 * S), S, z2(1, 1, 2, 2), 1, 1, 1, 1, 0, 1)
    S = 5
    wino4_in(z2(1, 1, 4, 4), 1, 1, z2(36 * S), S, 1, 1, 0, 1)
    wino4_out(z2(36 * S), S, z2(1, 1, 4, 4), 1, 1, 0, 1)
    wino4_ct(z2(1, 1, 4, 4), z2(36 * S), S, 1, 1, 0, 1)
    wino4_in_adj(z2(36 * S), S, z2(1, 1, 4, 4), 1, 1, 1, 1, 0, 1)
    for cm in (False, True):
        x = z2(2, 2, 2)
        bn_fwd(x, cm, np.ones(2, f), z2(2), f(1e-5), z2(2, 2, 2), z2(2), z2(2), 0, 2)
        bn_bwd(x, x, cm, np.ones(2, f), z2(2), np.ones(2, f), f(1e-5), z2(2, 2, 2), z2(2),
               z2(2), 0, 2)
