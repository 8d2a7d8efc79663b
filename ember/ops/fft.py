"""Discrete Fourier transforms: three primitives, ``fft`` (complex to complex, forward or
inverse, over any axes), ``rfft`` (real to complex, the last axis keeps ``n//2 + 1``
frequencies) and ``irfft`` (its inverse, complex to real), each with ``norm`` "backward"
(the forward transform unscaled, the inverse scaled by 1/n), "ortho" (1/sqrt(n) both ways) or
"forward" (1/n on the forward transform). The public names (``ember.fft``: PyTorch's,
``ember.numpy.fft``: NumPy/JAX's) fit lengths (``n``/``s``) with slices and zero padding before
the primitive, so the primitives see their natural lengths only.

Derivative rules (JAX's cotangent convention, see ``elementwise.py``: a cotangent ``c`` is the
real functional ``v -> Re(sum(c * v))``). The transform matrix F is symmetric, so ``fft``'s
transpose is the same ``fft`` (same direction, same norm). ``rfft`` of a real x is the first
``n//2 + 1`` rows of F: its transpose is the real part of the full ``fft`` of the zero-padded
cotangent. ``irfft`` reads each frequency k of its input twice (k and n-k) except k = 0 and,
for even n, k = n/2: its transpose is ``w * conj(rfft(ct))`` with ``w`` = 2 at the doubled
frequencies and 1 at the others, under the norm that scales the other way ("backward" <->
"forward"). Each primitive is (real-)linear, so its JVP is itself on the tangent. Batching
moves the batch dimension in front and shifts the axes.
"""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from .elementwise import as_value, cast, conj_p, real_p, moveaxis_to_front

__all__: list[str] = []  # the public names live in ember.fft and ember.numpy.fft

NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def check_norm(norm, op):
    """``norm`` as one of NORMS (None is "backward"), or a clear error naming ``op``."""
    if norm is None:
        return "backward"
    if norm not in NORMS:
        raise ValueError(f"{op}: norm must be 'backward', 'ortho' or 'forward' (or None), "
                         f"got {norm!r}")
    return norm


def _shift_axes(axes, by=1):
    return tuple(a + by for a in axes)


# ---- fft: complex -> complex -------------------------------------------------------------

def _fft_impl(x, axes, inverse, norm):
    f = np.fft.ifftn if inverse else np.fft.fftn
    return f(x, axes=axes, norm=norm).astype(x.dtype, copy=False)


fft_p = Primitive(
    "fft", _fft_impl, allocating=True,
    shape=lambda x, axes, inverse, norm: Aval(x.shape, x.dtype),
    vjp=lambda ct, out, x, axes, inverse, norm: (
        bind(fft_p, ct, axes=axes, inverse=inverse, norm=norm),),
    jvp=lambda p, t, out, axes, inverse, norm: bind(fft_p, t[0], axes=axes, inverse=inverse,
                                                    norm=norm),
    linear=True,
)
fft_p.batch = lambda args, dims, axes, inverse, norm: (
    bind(fft_p, moveaxis_to_front(args[0], dims[0]), axes=_shift_axes(axes),
         inverse=inverse, norm=norm), 0)


# ---- rfft: real -> complex (last axis n -> n//2 + 1) -------------------------------------

def _rfft_impl(x, axes, norm):
    return np.fft.rfftn(x, axes=axes, norm=norm).astype(_dt.complex_of(_dt.from_np(x.dtype)).np,
                                                          copy=False)


def _rfft_shape(x, axes, norm):
    shape = list(x.shape)
    shape[axes[-1]] = shape[axes[-1]] // 2 + 1
    return Aval(tuple(shape), _dt.complex_of(x.dtype))


def _zeros(shape, dtype):
    """Zeros of ``shape`` (a constant that works eagerly and under every transform)."""
    from ..core.creation import place
    from .elementwise import broadcast_in_dim_p
    return bind(broadcast_in_dim_p, place(np.zeros((), dtype.np)), shape=tuple(shape))


def _zero_extend(ct, axis, n):
    """``ct`` along ``axis`` zero-padded to length ``n``."""
    from .indexing import cat
    m = ct.shape[axis]
    if m == n:
        return ct
    shape = list(ct.shape)
    shape[axis] = n - m
    return cat([ct, _zeros(shape, ct.dtype)], axis)


def _rfft_vjp(ct, out, x, axes, norm):
    full = _zero_extend(ct, axes[-1], x.shape[axes[-1]])
    g = bind(fft_p, full, axes=axes, inverse=False, norm=norm)
    return (cast(bind(real_p, g), x.dtype),)


rfft_p = Primitive(
    "rfft", _rfft_impl, allocating=True, shape=_rfft_shape, vjp=_rfft_vjp,
    jvp=lambda p, t, out, axes, norm: bind(rfft_p, t[0], axes=axes, norm=norm),
    linear=True,
)
rfft_p.batch = lambda args, dims, axes, norm: (
    bind(rfft_p, moveaxis_to_front(args[0], dims[0]), axes=_shift_axes(axes), norm=norm), 0)


# ---- irfft: complex -> real (last axis n//2 + 1 -> n) ------------------------------------

def _irfft_impl(x, axes, norm, n):
    s = [x.shape[a] for a in axes[:-1]] + [n]
    return np.fft.irfftn(x, s=s, axes=axes, norm=norm).astype(
        _dt.real_of(_dt.from_np(x.dtype)).np, copy=False)


def _irfft_shape(x, axes, norm, n):
    shape = list(x.shape)
    shape[axes[-1]] = n
    return Aval(tuple(shape), _dt.real_of(x.dtype))


def _irfft_weights(m, n, axis, ndim, dtype):
    """2 at the frequencies irfft reads twice (0 < k < n/2), 1 at k = 0 and k = n/2."""
    w = np.full(m, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[m - 1] = 1.0
    shape = [1] * ndim
    shape[axis] = m
    return w.reshape(shape).astype(dtype.np)


def _irfft_vjp(ct, out, x, axes, norm, n):
    g = bind(rfft_p, ct, axes=axes, norm=_DUAL[norm])
    w = _irfft_weights(x.shape[axes[-1]], n, axes[-1], len(x.shape), _dt.real_of(x.dtype))
    from ..core.creation import place
    return (bind(conj_p, g) * place(w),)


irfft_p = Primitive(
    "irfft", _irfft_impl, allocating=True, shape=_irfft_shape, vjp=_irfft_vjp,
    jvp=lambda p, t, out, axes, norm, n: bind(irfft_p, t[0], axes=axes, norm=norm, n=n),
    linear=True,
)
irfft_p.batch = lambda args, dims, axes, norm, n: (
    bind(irfft_p, moveaxis_to_front(args[0], dims[0]), axes=_shift_axes(axes), norm=norm,
         n=n), 0)


# ---- the shared front end of ember.fft and ember.numpy.fft -------------------------------

def _fit(x, axis, n, op):
    """``x`` cut or zero-padded along ``axis`` to length ``n``."""
    if n < 1:
        raise ValueError(f"{op}: the transform length must be at least 1, got {n}")
    m = x.shape[axis]
    if n == m:
        return x
    if n < m:
        from .slicing import narrow
        return narrow(x, axis, 0, n)
    return _zero_extend(x, axis, n)


def _axes_and_sizes(x, s, axes, op, default_axes):
    """Normalised (axes, sizes): NumPy's/PyTorch's pairing of ``s`` and ``axes``/``dim``."""
    nd = x.ndim
    if axes is None:
        if s is None:
            axes = default_axes if default_axes is not None else tuple(range(nd))
        else:
            axes = tuple(range(nd - len(s), nd))
    elif isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    axes = tuple(int(a) for a in axes)
    for a in axes:
        if not -nd <= a < nd:
            raise IndexError(f"{op}: axis/dim {a} is out of range for an input with {nd} "
                             f"dimension{'s' if nd != 1 else ''} (shape {tuple(x.shape)})")
    axes = tuple(a % nd for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axes {axes}")
    if s is not None:
        s = (s,) if isinstance(s, (int, np.integer)) else tuple(s)
        if len(s) != len(axes):
            raise ValueError(f"{op}: s={s} and axes/dim={axes} must have the same length")
        s = tuple(x.shape[a] if n in (None, -1) else int(n) for n, a in zip(s, axes))
    return axes, s


def _as_complex(x):
    d = x.dtype
    if d.is_complex:
        return x
    if not d.is_floating_point or d not in (_dt.float32, _dt.float64):
        x = cast(x, _dt.float64 if d is _dt.float64 else _dt.get_default_dtype())
    return cast(x, _dt.complex_of(x.dtype))


def _as_real(x, op):
    d = x.dtype
    if d.is_complex:
        raise TypeError(f"{op}: expects a real input, got {d}; use fft for complex inputs "
                        f"(or take .real first)")
    if d not in (_dt.float32, _dt.float64):
        x = cast(x, _dt.get_default_dtype())
    return x


def c2c(x, s, axes, norm, inverse, op, default_axes=None):
    """fftn/ifftn: the complex transform over ``axes`` with lengths ``s``."""
    x = as_value(x)
    norm = check_norm(norm, op)
    axes, s = _axes_and_sizes(x, s, axes, op, default_axes)
    x = _as_complex(x)
    if s is not None:
        for a, n in zip(axes, s):
            x = _fit(x, a, n, op)
    if not axes:
        return x
    for a in axes:
        if x.shape[a] == 0:
            raise ValueError(f"{op}: can't transform an empty axis {a} (shape "
                             f"{tuple(x.shape)})")
    return bind(fft_p, x, axes=axes, inverse=bool(inverse), norm=norm)


def r2c(x, s, axes, norm, op, default_axes=None):
    """rfftn: the real-input transform; the last of ``axes`` keeps n//2 + 1 frequencies."""
    x = as_value(x)
    norm = check_norm(norm, op)
    axes, s = _axes_and_sizes(x, s, axes, op, default_axes)
    x = _as_real(x, op)
    if not axes:
        raise ValueError(f"{op}: needs at least one axis to transform")
    if s is not None:
        for a, n in zip(axes, s):
            x = _fit(x, a, n, op)
    if x.shape[axes[-1]] < 1:
        raise ValueError(f"{op}: can't transform an empty axis (shape {tuple(x.shape)})")
    return bind(rfft_p, x, axes=axes, norm=norm)


def c2r(x, s, axes, norm, op, default_axes=None):
    """irfftn: the inverse of rfftn; the last axis has ``s[-1]`` (default 2*(m-1)) outputs."""
    x = as_value(x)
    norm = check_norm(norm, op)
    axes, s = _axes_and_sizes(x, s, axes, op, default_axes)
    if not axes:
        raise ValueError(f"{op}: needs at least one axis to transform")
    x = _as_complex(x)
    last = axes[-1]
    n = s[-1] if s is not None else 2 * (x.shape[last] - 1)
    if n < 1:
        raise ValueError(f"{op}: the output length along axis {last} would be {n}; an input "
                         f"of {x.shape[last]} frequencies needs n >= 1 (pass n/s)")
    if s is not None:
        for a, k in zip(axes[:-1], s[:-1]):
            x = _fit(x, a, k, op)
    x = _fit(x, last, n // 2 + 1, op)
    return bind(irfft_p, x, axes=axes, norm=norm, n=int(n))


def hermitian_fft(x, n, axis, norm, op):
    """hfft: the real spectrum of a Hermitian-symmetric signal given by its first half."""
    return hermitian_fftn(x, None if n is None else (n,), (axis,), norm, op)


def hermitian_ifft(x, n, axis, norm, op):
    """ihfft: the inverse of hfft (a real input; n//2 + 1 outputs)."""
    return hermitian_ifftn(x, None if n is None else (n,), (axis,), norm, op)


def hermitian_fftn(x, s, axes, norm, op):
    """hfftn: the real spectrum of a signal Hermitian-symmetric over ``axes``, given by the
    first half of its last axis (``s``: the output lengths)."""
    norm = check_norm(norm, op)
    x = _as_complex(as_value(x))
    return c2r(bind(conj_p, x), s, axes, _DUAL[norm], op)


def hermitian_ifftn(x, s, axes, norm, op):
    """ihfftn: the inverse of hfftn (a real input; the last axis halved)."""
    norm = check_norm(norm, op)
    return bind(conj_p, r2c(x, s, axes, _DUAL[norm], op))


def fftfreq_values(n, d, op):
    n = int(n)
    if n <= 0:
        raise ValueError(f"{op}: n must be a positive integer, got {n}")
    k = np.concatenate([np.arange(0, (n - 1) // 2 + 1), np.arange(-(n // 2), 0)])
    return k / (d * n)


def rfftfreq_values(n, d, op):
    n = int(n)
    if n <= 0:
        raise ValueError(f"{op}: n must be a positive integer, got {n}")
    return np.arange(0, n // 2 + 1) / (d * n)


def shift(x, axes, sign):
    """fftshift (sign 1) / ifftshift (sign -1) along ``axes`` (all when None)."""
    from .slicing import roll
    x = as_value(x)
    if axes is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    axes = tuple(axes)
    if not axes or x.ndim == 0:
        return x
    return roll(x, tuple(sign * (x.shape[a] // 2) for a in axes), axes)

