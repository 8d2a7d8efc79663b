"""Batch and layer normalisation as fused primitives: one forward, one backward each.

``batch_norm_train(x, weight, bias, eps) -> (out, mean, var)`` normalises ``x`` (N, C, ...)
per channel with the batch statistics and applies the per-channel affine map; ``mean`` and
``var`` (biased) are the statistics, (C,) each, which ``nn.functional.batch_norm`` folds into
the running ones. Composed from ember ops (mean, var, subtract, rsqrt, multiply, add) the
forward makes about nine passes over the activation and its derived backward about twenty;
the kernels here make five and seven (the sums of squares and of the cotangent times the
centred input as one ``einsum`` each, no squared temporaries):

    forward   d = x - mean;  var = <d, d> / n;  a = weight / sqrt(var + eps)
              out = d a + bias
    backward  with s = sum(ct), q = <ct, d> (per channel), r = 1 / sqrt(var + eps):
              dx = a ct - d (a r^2 q / n) - a s / n;  dweight = r q;  dbias = s

The composed definition (``_bn_ref``) is the primitive's reference, so its JVP, batching
and second-order derivatives are the composed ones; ``batch_norm_train_bwd``'s reference is
the reference's VJP. Eager and jit call the same kernels (the same bits); the results
differ from the composed form's in the last bits (another order of sums).
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import accel, namespace, threads
from ..backend import ufuncs as U
from ..core.primitive import Aval, Primitive, bind, derived_rule

__all__: list[str] = []


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _chan(v, ndim):  # a (C,) vector as (1, C, 1, ...) for broadcasting against (N, C, ...)
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _einsum_eq(ndim):
    """'nc...,nc...->c': the per-channel sum of a product of two (N, C, ...) arrays."""
    letters = "abdefghijk"[:ndim - 1]
    s = letters[0] + "c" + letters[1:]
    return f"{s},{s}->c"


def _stats_vjp(bwd):
    """The fast VJP of a fused normalisation (outputs: the result and two statistics): the
    backward primitive ``bwd`` from the result's cotangent; a cotangent for a statistic
    (second order) goes to the reference."""
    def vjp(ct, out, x, w, b, **params):
        ct_out, ct_a, ct_b = ct
        if ct_a is not None or ct_b is not None:
            return NotImplemented  # -> the reference's VJP
        if ct_out is None:
            return None, None, None
        return tuple(bind(bwd[0], ct_out, x, w, out[1], out[2], **params))
    return vjp


def _fused_pair(name, impl, shape, ref, bwd_impl, bwd_shape):
    """A fused normalisation primitive and its backward primitive, whose reference is the
    VJP of ``ref`` (the statistics recomputed from the input; the bias doesn't enter it)."""
    bwd = []
    fwd = Primitive(name, impl, multiple_results=True, vjp_needs_out=True, shape=shape,
                    vjp=_stats_vjp(bwd), reference=ref)
    fwd.vjp_accepts_none = True  # the statistics get cotangents only when used
    fwd.vjp_reads_outs = (1, 2)  # the statistics, not the result (an in-place ReLU may follow)

    def bwd_ref(ct, x, w, s1, s2, **params):
        return list(derived_rule("vjp", fwd, [ct, None, None], None, x, w, w * 0, **params))
    bwd.append(Primitive(name + "_bwd", bwd_impl, multiple_results=True, shape=bwd_shape,
                         reference=bwd_ref))
    return fwd, bwd[0]


def _channel_runs(x):
    """``x`` (N, C, ...) as a C-ordered (N, C, M) array and False, or as a C-ordered (C, 1,
    N*M) array and True (a convolution's channel-major output as it lies: each channel one
    run); None for other layouts."""
    if x.flags.c_contiguous:
        return x.reshape(x.shape[:2] + (math.prod(x.shape[2:]),)), False
    v = x.swapaxes(0, 1)
    if v.flags.c_contiguous:
        return v.reshape(v.shape[0], 1, -1), True
    return None


def _empty_runs(x, cm):
    """A new array of x's shape and dtype laid out as _channel_runs gives ``cm``, and that
    (N, C, M) or (C, 1, N*M) C-ordered array."""
    m = math.prod(x.shape[2:])
    n, c = x.shape[:2]
    a3 = np.empty((c, 1, n * m) if cm else (n, c, m), x.dtype)
    a = a3.reshape((c, n) + x.shape[2:]).swapaxes(0, 1) if cm else a3.reshape(x.shape)
    return a, a3


def _bn_kernels(x, *others):
    """(the compiled kernels, x's runs, cm) from _channel_runs when x and ``others`` are
    float32 NumPy arrays, the kernels are on and x is laid out as _channel_runs takes it,
    its C-ordered runs 4 or longer; else None."""
    K = accel.kernels_for(x, *others)
    runs = None if K is None or x.ndim < 2 or x.size == 0 else _channel_runs(x)
    if runs is None or (not runs[1] and runs[0].shape[2] < 4):  # (C-ordered runs that short:
        return None  # NumPy's passes along C win, BatchNorm1d's (256, 512) 0.11 vs 0.64 ms)
    return (K,) + runs


# From this many bytes of input, the compiled kernels take the channels in two halves on two
# threads (numba_kernels.bn_fwd_part/bn_bwd_part through threads.run_compiled; each
# channel's sums as on one thread: the same bits)
_SPLIT_MIN_BYTES = 1 << 18


def _eps(eps):
    return np.full(1, eps, np.float32)


def _bn_split(K, name, runs, cm, arrays, args):
    """K.<name>(*args, 0, C), the channels split in halves on two threads (``arrays``: the
    kernel's arrays in the part's block order, the first one of the runs' shape) from
    _SPLIT_MIN_BYTES."""
    C = runs.shape[0] if cm else runs.shape[1]
    if runs.nbytes >= _SPLIT_MIN_BYTES and C >= 2 and all(
            a.dtype == np.float32 and a.flags.c_contiguous for a in arrays):
        ptr = [a.ctypes.data for a in arrays]
        head = [ptr[0], *runs.shape, int(cm)] + ptr[1:] + [C]
        blocks = np.array([head + [a, b] for a, b in threads.halves(C, 1)], np.int64)
        if threads.run_compiled(getattr(K, name + "_part").address, blocks):
            return
    getattr(K, name)(*args, 0, C)


# The batch statistics and both passes in compiled kernels where they apply (_bn_kernels):
# per-channel sums in float64, reassociated (they vectorise), the elementwise passes fused;
# alone, (16, 64, 16, 16): forward 0.28 -> 0.08 ms. Their bits differ from the NumPy path's
# by float32 roundings (the sums' order and precision); eager and jit take the same path.
def _bn_impl(x, w, b, eps):
    kx = _bn_kernels(x, w, b)
    if kx is not None:
        K, x3, cm = kx
        out, o3 = _empty_runs(x, cm)  # (x's layout)
        mean, var = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
        _bn_split(K, "bn_fwd", x3, cm, [x3, w, b, _eps(eps), o3, mean, var],
                  (x3, cm, w, b, np.float32(eps), o3, mean, var))
        return [out, mean, var]
    xp = namespace(x)
    axes = _axes(x)
    n = x.size // x.shape[1]
    mean = U.add.reduce(x, axis=axes)
    mean /= n
    d = U.subtract(x, _chan(mean, x.ndim))
    var = xp.einsum(_einsum_eq(x.ndim), d, d)
    var /= n
    a = U.add(var, eps)
    np.sqrt(a, out=a)
    np.divide(w, a, out=a)
    d *= _chan(a, x.ndim)
    d += _chan(b, x.ndim)
    return [d, mean, var]


def _bn_shape(x, w, b, eps):
    c = (x.shape[1],)
    return [Aval(tuple(x.shape), x.dtype), Aval(c, x.dtype), Aval(c, x.dtype)]


def _bn_ref(x, w, b, eps):
    """batch_norm_train by definition, in ember ops."""
    axes = _axes(x)
    mean = x.mean(axes)
    d = x - _chan(mean, x.ndim)
    var = (d * d).mean(axes)
    out = d * _chan((var + eps).rsqrt() * w, x.ndim) + _chan(b, x.ndim)
    return [out, mean, var]


def _bn_bwd_impl(ct, x, w, mean, var, eps):
    kx = _bn_kernels(x, w, ct)
    if kx is not None:  # (the cotangent in x's layout: eager and jit run the same loops)
        K, x3, cm = kx
        got = _channel_runs(ct)
        if got is not None and got[1] == cm:
            c3 = got[0]
        else:  # the cotangent in x's layout
            c, c3 = _empty_runs(x, cm)
            c[...] = ct
        dx, d3 = _empty_runs(x, cm)
        dw, db = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
        _bn_split(K, "bn_bwd", x3, cm, [c3, x3, w, mean, var, _eps(eps), d3, dw, db],
                  (c3, x3, cm, w, mean, var, np.float32(eps), d3, dw, db))
        return [dx, dw, db]
    xp = namespace(x)
    if ct.strides != x.strides:  # the sums' order follows the memory layout, and the eager
        # tape and a jit plan may hand the cotangent over in different ones (a convolution's
        # input gradient is channel-major, an elementwise op's output C-ordered): summed
        # in the input's layout (the same in both), eager and jit get the same bits
        c = xp.empty_like(x)
        c[...] = ct
        ct = c
    axes = _axes(x)
    n = x.size // x.shape[1]
    d = U.subtract(x, _chan(mean, x.ndim))
    s = U.add.reduce(ct, axis=axes)
    q = xp.einsum(_einsum_eq(x.ndim), ct, d)
    r = U.add(var, eps)
    np.sqrt(r, out=r)
    np.divide(1, r, out=r)
    a = w * r
    k1 = a * r * r * q / n
    k0 = a * s / n
    dx = U.multiply(ct, _chan(a, x.ndim))
    d *= _chan(k1, x.ndim)
    dx -= d
    dx -= _chan(k0, x.ndim)
    return [dx, (r * q).astype(x.dtype, copy=False), s]


batch_norm_train_p, batch_norm_train_bwd_p = _fused_pair(
    "batch_norm_train", _bn_impl, _bn_shape, _bn_ref, _bn_bwd_impl,
    lambda ct, x, w, mean, var, eps: _bn_shape(x, w, None, eps))


def batch_norm_train(x, weight, bias, eps):
    """(out, mean, biased var) of batch normalisation with the batch statistics: ``x`` (N, C,
    ...) a float32/float64 value, ``weight`` and ``bias`` (C,) values of its dtype, or both
    None (no affine map)."""
    if weight is None:
        from .creation_ops import ones, zeros
        weight, bias = ones(x.shape[1], dtype=x.dtype), zeros(x.shape[1], dtype=x.dtype)
    out, mean, var = bind(batch_norm_train_p, x, weight, bias, eps=float(eps))
    return out, mean, var


# ---- layer normalisation ---------------------------------------------------------------------
#
# layer_norm(x, weight, bias, k, eps) -> (out, mean, rstd) normalises over the trailing k dims
# (M values per row, R rows) and applies the elementwise affine map of those dims (none for
# GroupNorm's and InstanceNorm's rows, which are then 4 passes cheaper); mean and
# rstd are (R, 1). The rows are the (R, M) C-ordered view of x (a copy when x is laid out
# otherwise), so the sums run in one order whatever the layout: eager and jit get the same
# bits. Forward: 6 passes; backward 11 (the normalised input recomputed from x, mean and
# rstd, not kept), where the composed form's derived backward makes about twenty.
#
#   backward  g = ct w;  dx = rstd (g - mean(g) - xhat mean(g xhat));
#             dweight = sum over rows of ct xhat;  dbias = sum over rows of ct

def _rows(x, k):
    return x.reshape(-1, math.prod(x.shape[x.ndim - k:]))


def _ln_impl(x, w, b, k, eps, affine):
    xp = namespace(x)
    x2 = _rows(x, k)
    m = x2.shape[1]
    mean = U.add.reduce(x2, axis=1, keepdims=True)
    mean /= m
    d = U.subtract(x2, mean)
    r = xp.einsum("rm,rm->r", d, d).reshape(-1, 1)
    r /= m
    r += eps
    np.sqrt(r, out=r)
    np.divide(1, r, out=r)
    d *= r
    if affine:
        d *= w.reshape(-1)
        d += b.reshape(-1)
    return [d.reshape(x.shape), mean, r]


def _ln_shape(x, w, b, k, eps, affine):
    rows = math.prod(x.shape[:x.ndim - k])
    return [Aval(tuple(x.shape), x.dtype), Aval((rows, 1), x.dtype), Aval((rows, 1), x.dtype)]


def _ln_ref(x, w, b, k, eps, affine):
    """layer_norm by definition, in ember ops."""
    x2 = _rows(x, k)
    mean = x2.mean(1, keepdim=True)
    d = x2 - mean
    r = ((d * d).mean(1, keepdim=True) + eps).rsqrt()
    out = d * r * w.reshape(-1) + b.reshape(-1) if affine else d * r
    return [out.reshape(tuple(x.shape)), mean, r]


def _ln_bwd_impl(ct, x, w, mean, r, k, eps, affine):
    xp = namespace(x)
    x2, c2 = _rows(x, k), _rows(ct, k)
    m = x2.shape[1]
    xhat = U.subtract(x2, mean)
    xhat *= r
    if affine:
        db = U.add.reduce(c2, axis=0)
        dw = xp.einsum("rm,rm->m", c2, xhat)
        g = U.multiply(c2, w.reshape(-1))
    else:  # (weight and bias are placeholders: no gradient reaches them)
        dw = db = xp.zeros(m, x.dtype)
        g = xp.array(c2)
    sg = U.add.reduce(g, axis=1, keepdims=True)
    sg /= m
    sgx = xp.einsum("rm,rm->r", g, xhat).reshape(-1, 1)
    sgx /= m
    xhat *= sgx
    g -= xhat
    g -= sg
    g *= r
    return [g.reshape(x.shape), dw.reshape(w.shape), db.reshape(w.shape)]


layer_norm_p, layer_norm_bwd_p = _fused_pair(
    "layer_norm", _ln_impl, _ln_shape, _ln_ref, _ln_bwd_impl,
    lambda ct, x, w, mean, r, k, eps, affine: [Aval(tuple(x.shape), x.dtype)] + [
        Aval(tuple(w.shape), x.dtype)] * 2)


def layer_norm(x, weight, bias, k, eps):
    """(out, mean, rstd) of layer normalisation over the trailing ``k`` dims of ``x`` (a
    float32/float64 value) with ``weight`` and ``bias`` of those dims' shape and x's dtype,
    or both None (no affine map: no passes for it); mean and rstd are (rows, 1)."""
    affine = weight is not None
    if not affine:  # (placeholders: the primitive's arguments are arrays)
        from .creation_ops import ones
        weight = bias = ones(math.prod(x.shape[x.ndim - k:]), dtype=x.dtype)
    out, mean, r = bind(layer_norm_p, x, weight, bias, k=int(k), eps=float(eps),
                        affine=affine)
    return out, mean, r
