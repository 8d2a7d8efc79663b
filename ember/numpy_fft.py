"""``jax.numpy.fft``'s names (and the Array API's ``fft`` extension), reached as
``ember.numpy.fft``: the same three transform primitives as ``ember.fft``
(``ember/ops/fft.py``) under NumPy's argument names (``a``, ``n``/``s``, ``axis``/``axes``,
``norm``). Real inputs of ``fft`` are made complex; transforms are differentiable under
``grad``, ``jvp``, ``vmap`` and ``jit``.

>>> import ember.numpy as jnp
>>> jnp.fft.fft(jnp.asarray([1.0, 2.0, 0.0, -1.0]))
tensor([2.+0.j, 1.-3.j, 0.+0.j, 1.+3.j])
"""
from __future__ import annotations

from .ops import fft as _f

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _jnp():
    from . import numpy as jnp
    return jnp


def _arr(a):
    return _jnp().asarray(a)


def _n(n):
    return None if n is None else (n,)


def fft(a, n=None, axis=-1, norm=None):
    """The one-dimensional discrete Fourier transform along ``axis``."""
    return _f.c2c(_arr(a), _n(n), (axis,), norm, False, "fft.fft")


def ifft(a, n=None, axis=-1, norm=None):
    """The inverse of :func:`fft`."""
    return _f.c2c(_arr(a), _n(n), (axis,), norm, True, "fft.ifft")


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """The two-dimensional transform over ``axes``."""
    return _f.c2c(_arr(a), s, axes, norm, False, "fft.fft2")


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of :func:`fft2`."""
    return _f.c2c(_arr(a), s, axes, norm, True, "fft.ifft2")


def fftn(a, s=None, axes=None, norm=None):
    """The N-dimensional transform over ``axes`` (all, or the last ``len(s)``)."""
    return _f.c2c(_arr(a), s, axes, norm, False, "fft.fftn")


def ifftn(a, s=None, axes=None, norm=None):
    """The inverse of :func:`fftn`."""
    return _f.c2c(_arr(a), s, axes, norm, True, "fft.ifftn")


def rfft(a, n=None, axis=-1, norm=None):
    """The transform of a real signal: its ``n//2 + 1`` non-negative frequencies."""
    return _f.r2c(_arr(a), _n(n), (axis,), norm, "fft.rfft")


def irfft(a, n=None, axis=-1, norm=None):
    """The inverse of :func:`rfft` (a real signal of length ``n``, default ``2*(m-1)``)."""
    return _f.c2r(_arr(a), _n(n), (axis,), norm, "fft.irfft")


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """The two-dimensional real-signal transform."""
    return _f.r2c(_arr(a), s, axes, norm, "fft.rfft2")


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of :func:`rfft2`."""
    return _f.c2r(_arr(a), s, axes, norm, "fft.irfft2")


def rfftn(a, s=None, axes=None, norm=None):
    """The N-dimensional real-signal transform."""
    return _f.r2c(_arr(a), s, axes, norm, "fft.rfftn")


def irfftn(a, s=None, axes=None, norm=None):
    """The inverse of :func:`rfftn`."""
    return _f.c2r(_arr(a), s, axes, norm, "fft.irfftn")


def hfft(a, n=None, axis=-1, norm=None):
    """The real spectrum of a Hermitian-symmetric signal given by its first half."""
    return _f.hermitian_fft(_arr(a), n, axis, norm, "fft.hfft")


def ihfft(a, n=None, axis=-1, norm=None):
    """The inverse of :func:`hfft`."""
    return _f.hermitian_ifft(_arr(a), n, axis, norm, "fft.ihfft")


def fftfreq(n, /, d=1.0, *, dtype=None, device=None):
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``:
    ``[0, 1, ..., n/2-1, -n/2, ..., -1] / (d*n)`` (n even).

    >>> import ember.numpy as jnp
    >>> jnp.fft.fftfreq(4, d=0.5)
    tensor([ 0.0000,  0.5000, -1.0000, -0.5000])
    """
    return _jnp().asarray(_f.fftfreq_values(n, d, "fftfreq"), dtype=dtype, device=device)


def rfftfreq(n, /, d=1.0, *, dtype=None, device=None):
    """The non-negative sample frequencies of an ``n``-point real transform:
    ``[0, 1, ..., n//2] / (d*n)``.

    >>> import ember.numpy as jnp
    >>> jnp.fft.rfftfreq(5)
    tensor([0.0000, 0.2000, 0.4000])
    """
    return _jnp().asarray(_f.rfftfreq_values(n, d, "rfftfreq"), dtype=dtype, device=device)


def fftshift(x, /, *, axes=None):
    """``x`` with the zero frequency moved to the centre (along ``axes``, all by default).

    >>> import ember.numpy as jnp
    >>> jnp.fft.fftshift(jnp.fft.fftfreq(4))
    tensor([-0.5000, -0.2500, 0.0000, 0.2500])
    """
    return _f.shift(_arr(x), axes, 1)


def ifftshift(x, /, *, axes=None):
    """The inverse of :func:`fftshift` (they differ for odd lengths).

    >>> import ember.numpy as jnp
    >>> jnp.fft.ifftshift(jnp.fft.fftshift(jnp.arange(5)))
    tensor([0, 1, 2, 3, 4], dtype=ember.int32)
    """
    return _f.shift(_arr(x), axes, -1)

