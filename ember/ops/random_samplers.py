"""Primitives behind ``jax.random``'s rejection samplers: ``random_gamma`` (Marsaglia and
Tsang, with its implicit-reparameterisation derivative ``random_gamma_grad``),
``random_poisson`` (Knuth's product of uniforms below rate 10, Hormann's transformed
rejection above) and ``random_binomial`` (inversion by geometric jumps where n*p <= 10,
Hormann's BTRS above).

Each kernel is NumPy over raw uint32 key words and draws exactly what ``jax.random`` draws
for the same key: the same Threefry splits, the same uniform and normal scalars, the same
loop structure (a rejected element draws again from its own split key). So samples equal
JAX's up to the last bits of the elementary functions (NumPy's ``log``/``pow``/``lgamma``
against XLA's), which can flip an accept/reject decision only for a draw within an ulp of
the bound.

Key layout. ``random_gamma`` gives every element its own key, ``split(key, n)[i]`` for the
i-th of the n elements of the parameter array (JAX's ``random_gamma`` primitive does the
same), so a batch of keys ``(*B, 2)`` with parameters ``(*B, *S)`` is ``vmap`` over the
keys. ``random_poisson`` and ``random_binomial`` draw whole-shape uniforms per loop round
from ``split(key)`` and loop until every element of the shape has its sample; a batch of
keys runs that loop per key, as JAX's batched ``while_loop`` does.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from ..core.exceptions import OpError
from .prng_ops import _threefry_impl, _unit_impl, _erfinv_impl
from .special import _digamma64

__all__: list[str] = []


# ---- raw Threefry on arrays of keys -------------------------------------------------------

def _split_np(keys, n):
    """``split(k, n)`` for every key of ``keys`` (M, 2): (M, n, 2)."""
    m = keys.shape[0]
    k1 = np.repeat(keys[:, 0:1], n, 1)
    k2 = np.repeat(keys[:, 1:2], n, 1)
    lo = np.broadcast_to(np.arange(n, dtype=np.uint32), (m, n))
    b1, b2 = _threefry_impl(k1, k2, np.zeros((m, n), np.uint32), lo)
    return np.stack([b1, b2], -1)


def _bits_np(keys, size, width):
    """``bits(k, (size,))`` of ``width`` 32 or 64 for every key (M, 2): (M, size)."""
    m = keys.shape[0]
    idx = np.arange(size, dtype=np.uint64)
    hi = np.broadcast_to((idx >> np.uint64(32)).astype(np.uint32), (m, size))
    lo = np.broadcast_to(idx.astype(np.uint32), (m, size))
    b1, b2 = _threefry_impl(keys[:, 0:1], keys[:, 1:2], hi, lo)
    if width == 64:
        return (b1.astype(np.uint64) << np.uint64(32)) | b2.astype(np.uint64)
    return b1 ^ b2


def _uniform_np(keys, dtype, size=None):
    """``uniform(k, shape, dtype)`` per key: (M,) for a scalar draw, (M, size) otherwise."""
    npd = np.dtype(dtype)
    width = 64 if npd.itemsize == 8 else 32
    b = _bits_np(keys, 1 if size is None else size, width)
    dt = _dt.from_np(npd)
    u = _unit_impl(b if npd.itemsize >= 4 else b.astype({2: np.uint16, 1: np.uint8}[
        npd.itemsize]), dt)
    return u[:, 0] if size is None else u


def _normal_np(keys, dtype):
    """``normal(k, (), dtype)`` per key (the inverse-CDF of a uniform in (-1, 1))."""
    npd = np.dtype(dtype)
    lo = np.nextafter(npd.type(-1.0), npd.type(0.0))
    u = _uniform_np(keys, npd)
    u = np.maximum(lo, u * (npd.type(1.0) - lo) + lo)
    return _erfinv_impl(u) * npd.type(math.sqrt(2))


# ---- gamma ---------------------------------------------------------------------------------

def _gamma_one(keys, alpha, log_space):
    """One Marsaglia-Tsang sample per (key, alpha): the loop of JAX's per-element sampler,
    run for all elements at once with a mask of the ones still drawing."""
    t = alpha.dtype.type
    boost = alpha >= t(1)
    al = np.where(boost, alpha, alpha + t(1))
    d = al - t(1.0 / 3.0)
    c = t(1.0 / 3.0) / np.sqrt(d)
    ks = _split_np(keys, 2)
    key, sub = ks[:, 0].copy(), ks[:, 1]
    m = alpha.shape[0]
    X = np.zeros(m, alpha.dtype)
    V = np.ones(m, alpha.dtype)
    U = np.full(m, 2, alpha.dtype)
    act = np.ones(m, bool)
    while True:
        a_idx = np.flatnonzero(act)
        Xa, Va, Ua, da = X[a_idx], V[a_idx], U[a_idx], d[a_idx]
        go = (Ua >= t(1) - t(0.0331) * (Xa * Xa)) & \
             (np.log(Ua) >= Xa * t(0.5) + da * ((t(1) - Va) + np.log(Va)))
        act[a_idx[~go]] = False
        a_idx = a_idx[go]
        if a_idx.size == 0:
            break
        k3 = _split_np(key[a_idx], 3)
        key[a_idx] = k3[:, 0]
        kx, ku = k3[:, 1].copy(), k3[:, 2]
        ca = c[a_idx]
        x = np.zeros(a_idx.size, alpha.dtype)
        v = np.full(a_idx.size, -1, alpha.dtype)
        inner = np.ones(a_idx.size, bool)
        while inner.any():  # draw normals until 1 + c x > 0
            i_idx = np.flatnonzero(inner)
            k2 = _split_np(kx[i_idx], 2)
            kx[i_idx] = k2[:, 0]
            x[i_idx] = _normal_np(k2[:, 1], alpha.dtype)
            v[i_idx] = t(1) + x[i_idx] * ca[i_idx]
            inner = v <= 0
        X[a_idx] = x * x
        V[a_idx] = (v * v) * v
        U[a_idx] = _uniform_np(ku, alpha.dtype)
    u = _uniform_np(sub, alpha.dtype)
    if log_space:
        ls = np.log1p(-u)  # minus an exponential sample: log(1 - u)
        lb = np.where(boost | (ls == 0), t(0), ls * (t(1) / alpha))
        return (np.log(d) + np.log(V)) + lb
    return (d * V) * np.where(boost, t(1), (t(1) - u) ** (t(1) / alpha))


def _gamma_impl(key, a, log_space):
    key = np.asarray(key, np.uint32)
    a = np.asarray(a)
    calc = a.dtype if a.dtype.itemsize >= 4 else np.dtype(np.float32)
    nb = key.ndim - 1
    n = math.prod(a.shape[nb:])
    keys = _split_np(key.reshape(-1, 2), n).reshape(-1, 2)
    if keys.shape[0] == 0:
        return np.empty(a.shape, a.dtype)
    with np.errstate(all="ignore"):
        out = _gamma_one(keys, a.reshape(-1).astype(calc), log_space)
    return out.reshape(a.shape).astype(a.dtype, copy=False)


def _gamma_shape(key, a, log_space):
    nb = len(key.shape) - 1
    if tuple(key.shape[:-1]) != tuple(a.shape[:nb]):
        raise OpError(f"random_gamma: a batch of keys {tuple(key.shape)} needs parameters "
                      f"with that batch shape in front, got {tuple(a.shape)}")
    return Aval(a.shape, a.dtype)


def _gamma_jvp(p, t, out, log_space):
    return t[1] * bind(random_gamma_grad_p, p[1], out, log_space=log_space)


def _gamma_vjp(ct, out, key, a, log_space):
    return None, ct * bind(random_gamma_grad_p, a, out, log_space=log_space)


def _front(x, d, size):
    from .elementwise import moveaxis_to_front
    if d is None:
        return x.broadcast_to((size,) + tuple(x.shape))
    return moveaxis_to_front(x, d)


def _batch_size(args, dims):
    return next(a.shape[d] for a, d in zip(args, dims) if d is not None)


def _gamma_batch(args, dims, log_space):
    size = _batch_size(args, dims)
    k, a = (_front(x, d, size) for x, d in zip(args, dims))
    return bind(random_gamma_p, k, a, log_space=log_space), 0


random_gamma_p = Primitive("random_gamma", _gamma_impl, shape=_gamma_shape, jvp=_gamma_jvp,
                           vjp=_gamma_vjp, batch=_gamma_batch, vjp_needs_out=True,
                           foldable=False)


# d sample / d alpha by implicit differentiation of the CDF: dx/da = -(dP/da)(a, x) / p(x; a).
# P's series (x <= 1 or x <= a) and Q's continued fraction (elsewhere) are carried with their
# derivatives in a; both share the factor x^a e^-x / Gamma(a) with the density, which cancels,
# so the result needs no exp and neither under- nor overflows. Float64 throughout.

def _dsample_series(a, x, lx):
    term = 1.0 / a
    dterm = -term / a
    s, ds = term.copy(), dterm.copy()
    n = a.copy()
    for _ in range(5000):
        n = n + 1
        r = x / n
        dterm = dterm * r - term * r / n
        term = term * r
        s += term
        ds += dterm
        if (np.abs(term) <= np.abs(s) * 1e-17).all() and \
                (np.abs(dterm) <= (np.abs(ds) + np.abs(s)) * 1e-16).all():
            break
    # P = pre * s with d log(pre)/da = log x - psi(a); dx/da = -x * (s (log x - psi) + ds)
    return -x * (s * (lx - _digamma64(a)) + ds)


def _dsample_cf(a, x, lx):
    tiny = 1e-300
    b = x + 1 - a
    db = -np.ones_like(a)
    c = np.full(a.shape, 1 / tiny)
    dc = np.zeros_like(a)
    d = 1 / b
    dd = -db / (b * b)
    h, dh = d.copy(), dd.copy()
    for i in range(1, 5000):
        an, dan = -i * (i - a), float(i)
        b = b + 2
        dn = an * d + b
        ddn = dan * d + an * dd + db
        small = np.abs(dn) < tiny
        dn, ddn = np.where(small, tiny, dn), np.where(small, 0.0, ddn)
        cn = b + an / c
        dcn = db + (dan * c - an * dc) / (c * c)
        small = np.abs(cn) < tiny
        c, dc = np.where(small, tiny, cn), np.where(small, 0.0, dcn)
        d = 1 / dn
        dd = -ddn / (dn * dn)
        delta = d * c
        ddelta = dd * c + d * dc
        dh = dh * delta + h * ddelta
        h = h * delta
        # converged: h no longer moves, nor dh on the scale of the result h log x + dh
        if (np.abs(delta - 1) <= 4e-16).all() and \
                (np.abs(h * ddelta) <= 1e-16 * (np.abs(dh) + np.abs(h))).all():
            break
    # Q = pre * h; dP/da = -dQ/da; dx/da = x * (h (log x - psi) + dh)
    return x * (h * (lx - _digamma64(a)) + dh)


def gamma_dsample_da(a, sample, log_space=False):
    """d sample / d a of a Gamma(a) sample (of its log when ``log_space``), float64."""
    a = np.asarray(a, np.float64)
    s = np.asarray(sample, np.float64)
    a, s = np.broadcast_arrays(a, s)
    with np.errstate(all="ignore"):
        if log_space:
            lx, x = s, np.exp(s)
        else:
            x = s
            lx = np.log(s)
        out = np.full(a.shape, np.nan)
        ok = (a > 0) & np.isfinite(a) & (x > 0) & np.isfinite(x)
        cf = ok & (x > 1) & (x > a)
        ser = ok & ~cf
        if ser.any():
            out[ser] = _dsample_series(a[ser], x[ser], lx[ser])
        if cf.any():
            out[cf] = _dsample_cf(a[cf], x[cf], lx[cf])
        if not log_space:
            out[(a > 0) & (x == 0)] = 0.0
        if log_space:
            out = out / np.where(ok, x, 1.0)
            # x underflowed: d log x / da from the series' leading terms in log space
            under = (a > 0) & np.isfinite(a) & np.isfinite(lx) & (x == 0)
            if under.any():
                au = a[under]
                out[under] = -(au * (lx[under] - _digamma64(au)) - 1.0) / (au * au)
    return out


def _gamma_grad_impl(a, sample, log_space):
    return gamma_dsample_da(a, sample, log_space).astype(
        np.result_type(a.dtype, sample.dtype), copy=False)


def _gamma_grad_batch(args, dims, log_space):
    size = _batch_size(args, dims)
    a, s = (_front(x, d, size) for x, d in zip(args, dims))
    return bind(random_gamma_grad_p, a, s, log_space=log_space), 0


random_gamma_grad_p = Primitive(
    "random_gamma_grad", _gamma_grad_impl, shape=lambda a, s, log_space: Aval(s.shape, s.dtype),
    differentiable=False, vjp=lambda ct, out, a, s, log_space: (None, None),
    jvp=lambda p, t, out, log_space: out * 0, batch=_gamma_grad_batch)


# ---- whole-shape loops: Poisson and binomial --------------------------------------------

def _per_key(impl):
    """Run ``impl(key (2,), *params)`` for every key of a batch ``(*B, 2)`` (params
    ``(*B, *S)``)."""
    def run(key, *params, **kw):
        key = np.asarray(key, np.uint32)
        nb = key.ndim - 1
        if nb == 0:
            with np.errstate(all="ignore"):
                return impl(key, *params, **kw)
        bshape = key.shape[:-1]
        flat = key.reshape(-1, 2)
        ps = [np.broadcast_to(p, bshape + p.shape[nb:]).reshape((-1,) + p.shape[nb:])
              for p in params]
        with np.errstate(all="ignore"):
            outs = [impl(flat[i], *(p[i] for p in ps), **kw) for i in range(flat.shape[0])]
        dt = np.dtype(kw["dtype"].np) if "dtype" in kw else params[0].dtype
        if not outs:
            return np.empty(bshape + params[0].shape[nb:], dt)
        return np.stack(outs).reshape(bshape + outs[0].shape)
    return run


def _uniform_at(key, idx, npd):
    """``uniform(key, shape, npd).ravel()[idx]`` without drawing the rest: element i's bits
    are the hash of its flat index i."""
    npd = np.dtype(npd)
    hi = (idx.astype(np.uint64) >> np.uint64(32)).astype(np.uint32)
    lo = idx.astype(np.uint32)
    b1, b2 = _threefry_impl(key[0], key[1], hi, lo)
    if npd.itemsize == 8:
        b = (b1.astype(np.uint64) << np.uint64(32)) | b2.astype(np.uint64)
    else:
        b = b1 ^ b2
    return _unit_impl(b, _dt.from_np(npd))


def _split1(key, n):
    return _split_np(key.reshape(1, 2), n)[0]


def _lgamma32(x):
    from .special import _gammaln_impl
    return _gammaln_impl(x)


def _rejection_loop(key, real, todo, step, k_out):
    """JAX's whole-shape rejection loop: each round draws from ``split(key, 3)``'s subkeys and
    every element that accepts takes the round's candidate (a later acceptance replaces an
    earlier one), until every element has accepted once. Only the elements whose result is
    read (``real``) and the placeholders not yet accepted are computed; the others' draws
    cannot change anything. ``step(k1, k2, idx) -> (accept, candidate)`` over flat indices."""
    accepted = np.zeros(k_out.shape, bool)
    kk = key.copy()
    real_idx = np.flatnonzero(real)
    pending = np.flatnonzero(todo & ~real)
    while True:
        idx = np.concatenate([real_idx, pending[~accepted[pending]]]) if pending.size \
            else real_idx
        if accepted.all() or idx.size == 0:
            break
        ks = _split1(kk, 3)
        kk = ks[0]
        acc, cand = step(ks[1], ks[2], idx)
        k_out[idx[acc]] = cand[acc]
        accepted[idx[acc]] = True
    return k_out


def _poisson_one(key, lam, dtype):
    f = np.float32
    shape = lam.shape
    lam = lam.astype(f).ravel()
    knuth = np.isnan(lam) | (lam < 10)
    # Knuth: count uniforms until their product falls below e^-lam; an element whose product
    # is below stays there, so only the others draw
    lk = np.where(knuth, lam, f(0))
    k = np.zeros(lam.shape, np.int64)
    logp = np.zeros(lam.shape, f)
    act = np.flatnonzero(logp > -lk)
    kk = key.copy()
    while act.size:
        ks = _split1(kk, 2)
        kk, sub = ks[0], ks[1]
        k[act] += 1
        logp[act] = logp[act] + np.log(_uniform_at(sub, act, f))
        act = act[logp[act] > -lk[act]]
    knuth_k = k - 1
    # transformed rejection (Hormann)
    lr = np.where(knuth, f(1e5), lam)
    log_lam = np.log(lr)
    b = f(0.931) + f(2.53) * np.sqrt(lr)
    a = f(-0.059) + f(0.02483) * b
    inv_alpha = f(1.1239) + f(1.1328) / (b - f(3.4))
    v_r = f(0.9277) - f(3.6224) / (b - f(2))

    def step(k1, k2, i):
        u = _uniform_at(k1, i, f) - f(0.5)
        v = _uniform_at(k2, i, f)
        us = f(0.5) - np.abs(u)
        kr = np.floor((f(2) * a[i] / us + b[i]) * u + lr[i] + f(0.43))
        sv = np.log(v * inv_alpha[i] / (a[i] / (us * us) + b[i]))
        tt = -lr[i] + kr * log_lam[i] - _lgamma32(kr + f(1))
        acc = ((us >= f(0.07)) & (v <= v_r[i])) | \
            (~((kr < 0) | ((us < f(0.013)) & (v > us))) & (sv <= tt))
        return acc, kr

    k_out = _rejection_loop(key, ~knuth, np.ones(lam.shape, bool), step,
                            np.full(lam.shape, -1, f))
    out = np.where(knuth, knuth_k, k_out.astype(np.int64))
    return np.where(lam == 0, 0, out).astype(dtype.np).reshape(shape)


random_poisson_p = Primitive(
    "random_poisson", _per_key(_poisson_one),
    shape=lambda key, lam, dtype: Aval(lam.shape, dtype), differentiable=False,
    vjp=lambda ct, out, key, lam, dtype: (None, None),
    jvp=lambda p, t, out, dtype: out * 0, foldable=False)


_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983,
                  0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                  0.0118967099458917, 0.0104112652619720, 0.00925546218271273,
                  0.00833056343336287)  # log k! - Stirling's formula, k = 0..9


def _stirling_tail(k):
    """log k! minus Stirling's approximation: tabulated for k <= 9; above, JAX evaluates its
    series at k clamped to 9 (so the bound is looser there), reproduced for the same draws."""
    t = k.dtype.type
    table = np.asarray(_STIRLING_TAIL, k.dtype)
    kc = np.clip(k, t(0), t(9))
    kp1sq = (kc + t(1)) * (kc + t(1))
    approx = (t(1.0 / 12) - (t(1.0 / 360) - t(1.0 / 1260) / kp1sq) / kp1sq) / (kc + t(1))
    idx = np.nan_to_num(np.floor(kc)).astype(np.int32)
    return np.where(k <= t(9), table[idx], approx)


def _binomial_one(key, count, prob, dtype):
    fd = prob.dtype
    t = fd.type
    shape = prob.shape
    count, prob = count.ravel(), prob.ravel()
    p_lt_half = prob < t(0.5)
    q = np.where(p_lt_half, prob, t(1) - prob)
    bad_count = np.isnan(count) | (count < 0)
    inf_count = np.isinf(count)
    q_nan = np.isnan(q)
    q_neg = q < 0
    q = np.where(q_nan | q_neg, t(0.01), q)
    inversion = bad_count | (count * q <= t(10))
    count = np.floor(count)
    # inversion: count geometric jumps until their sum passes n (a passed sum only grows)
    ci = np.where(inversion, count, t(0))
    l1q = np.log1p(-q)
    num = np.zeros(prob.shape, fd)
    gsum = np.zeros(prob.shape, fd)
    act = np.flatnonzero(gsum <= ci)
    kk = key.copy()
    while act.size:
        ks = _split1(kk, 2)
        sub, kk = ks[0], ks[1]
        num[act] += t(1)
        gsum[act] = gsum[act] + np.ceil(np.log(_uniform_at(sub, act, fd)) / l1q[act])
        act = act[gsum[act] <= ci[act]]
    inv_k = num - t(1)
    # BTRS
    n = np.where(inversion, t(1e4), count)
    pb = np.where(inversion, t(0.5), q)
    sd = np.sqrt(n * pb * (t(1) - pb))
    b = t(1.15) + t(2.53) * sd
    a = t(-0.0873) + t(0.0248) * b + t(0.01) * pb
    c = n * pb + t(0.5)
    v_r = t(0.92) - t(4.2) / b
    r = pb / (t(1) - pb)
    alpha = (t(2.83) + t(5.1) / b) * sd
    m = np.floor((n + t(1)) * pb)
    tail_m = _stirling_tail(m) + _stirling_tail(n - m)

    def step(k1, k2, i):
        u = _uniform_at(k1, i, fd) - t(0.5)
        v = _uniform_at(k2, i, fd)
        us = t(0.5) - np.abs(u)
        ni, mi, ri = n[i], m[i], r[i]
        acc1 = (us >= t(0.07)) & (v <= v_r[i])
        k = np.floor((t(2) * a[i] / us + b[i]) * u + c[i])
        rej = (k < 0) | (k > ni)
        lv = np.log(v * alpha[i] / (a[i] / (us * us) + b[i]))
        ub = ((mi + t(0.5)) * np.log((mi + t(1)) / (ri * (ni - mi + t(1))))
              + (ni + t(1)) * np.log((ni - mi + t(1)) / (ni - k + t(1)))
              + (k + t(0.5)) * np.log(ri * (ni - k + t(1)) / (k + t(1)))
              + tail_m[i] - _stirling_tail(k) - _stirling_tail(ni - k))
        return acc1 | (~rej & (lv <= ub)), k

    k_out = _rejection_loop(key, ~inversion, np.ones(prob.shape, bool), step,
                            np.full(prob.shape, -1, fd))
    out = np.where(inversion, inv_k, k_out).astype(dtype.np)
    invalid = q_neg | q_nan | bad_count
    out = np.where(invalid, np.nan, out)
    out = np.where(inf_count & ~invalid, np.inf, out)
    out = np.where(p_lt_half | bad_count | q_nan | inf_count, out,
                   count.astype(dtype.np) - out)
    return out.astype(dtype.np).reshape(shape)


random_binomial_p = Primitive(
    "random_binomial", _per_key(_binomial_one),
    shape=lambda key, n, p, dtype: Aval(p.shape, dtype), differentiable=False,
    vjp=lambda ct, out, key, n, p, dtype: (None, None, None),
    jvp=lambda p, t, out, dtype: out * 0, foldable=False)


def _loop_batch(prim):
    def rule(args, dims, **params):
        size = _batch_size(args, dims)
        return bind(prim, *(_front(x, d, size) for x, d in zip(args, dims)), **params), 0
    return rule


random_poisson_p.batch = _loop_batch(random_poisson_p)
random_binomial_p.batch = _loop_batch(random_binomial_p)
