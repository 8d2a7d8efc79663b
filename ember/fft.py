"""``torch.fft``'s names over ember's three transform primitives (``ember/ops/fft.py``):
``fft``/``ifft``/``fft2``/``ifft2``/``fftn``/``ifftn`` (complex), ``rfft``/``irfft``/
``rfft2``/``irfft2``/``rfftn``/``irfftn`` (real signals), ``hfft``/``ihfft`` (Hermitian
signals), ``fftfreq``/``rfftfreq`` and ``fftshift``/``ifftshift``. Arguments as PyTorch's:
``n`` or ``s`` (lengths: cut or zero-padded), ``dim``, ``norm`` ("backward" by default,
"ortho", "forward"). Real inputs of ``fft`` are made complex (float32 -> complex64, float64 ->
complex128); integer inputs are made floats first. Every transform is differentiable (eager,
``grad``, ``jvp``, ``vmap`` and ``jit``).

>>> x = ember.tensor([1.0, 2.0, 0.0, -1.0])
>>> ember.fft.fft(x)
tensor([2.+0.j, 1.-3.j, 0.+0.j, 1.+3.j])
>>> ember.fft.irfft(ember.fft.rfft(x), n=4)
tensor([ 1.,  2.,  0., -1.])
"""
from __future__ import annotations

from .ops import fft as _f

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _n(n):
    return None if n is None else (n,)


def fft(input, n=None, dim=-1, norm=None):
    """The one-dimensional discrete Fourier transform along ``dim`` (``n``: the length, cut
    or zero-padded).

    >>> ember.fft.fft(ember.tensor([1.0, 0.0, 0.0, 0.0]))
    tensor([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    return _f.c2c(input, _n(n), (dim,), norm, False, "fft.fft")


def ifft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`fft` (scaled by 1/n with the default norm).

    >>> ember.fft.ifft(ember.fft.fft(ember.tensor([1.0, 2.0, 3.0])))
    tensor([1.+0.j, 2.+0.j, 3.+0.j])
    """
    return _f.c2c(input, _n(n), (dim,), norm, True, "fft.ifft")


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional transform over ``dim`` (the last two by default)."""
    return _f.c2c(input, s, dim, norm, False, "fft.fft2")


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """The inverse of :func:`fft2`."""
    return _f.c2c(input, s, dim, norm, True, "fft.ifft2")


def fftn(input, s=None, dim=None, norm=None):
    """The N-dimensional transform over ``dim`` (all dims, or the last ``len(s)``)."""
    return _f.c2c(input, s, dim, norm, False, "fft.fftn")


def ifftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`fftn`."""
    return _f.c2c(input, s, dim, norm, True, "fft.ifftn")


def rfft(input, n=None, dim=-1, norm=None):
    """The transform of a real signal: the ``n//2 + 1`` non-negative frequencies.

    >>> ember.fft.rfft(ember.tensor([1.0, 2.0, 0.0, -1.0]))
    tensor([2.+0.j, 1.-3.j, 0.+0.j])
    """
    return _f.r2c(input, _n(n), (dim,), norm, "fft.rfft")


def irfft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`rfft`: a real signal of length ``n`` (default ``2*(m-1)`` for
    ``m`` frequencies)."""
    return _f.c2r(input, _n(n), (dim,), norm, "fft.irfft")


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional real-signal transform (the last of ``dim`` is halved)."""
    return _f.r2c(input, s, dim, norm, "fft.rfft2")


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    """The inverse of :func:`rfft2`."""
    return _f.c2r(input, s, dim, norm, "fft.irfft2")


def rfftn(input, s=None, dim=None, norm=None):
    """The N-dimensional real-signal transform (the last of ``dim`` is halved)."""
    return _f.r2c(input, s, dim, norm, "fft.rfftn")


def irfftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`rfftn`."""
    return _f.c2r(input, s, dim, norm, "fft.irfftn")


def hfft(input, n=None, dim=-1, norm=None):
    """The transform of a Hermitian-symmetric signal given by its first half: a real
    spectrum of length ``n`` (default ``2*(m-1)``)."""
    return _f.hermitian_fft(input, n, dim, norm, "fft.hfft")


def ihfft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`hfft`: a real signal to the first ``n//2 + 1`` values of its
    Hermitian spectrum."""
    return _f.hermitian_ifft(input, n, dim, norm, "fft.ihfft")


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional :func:`hfftn`."""
    return _f.hermitian_fftn(input, s, dim, norm, "fft.hfft2")


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional :func:`ihfftn`."""
    return _f.hermitian_ifftn(input, s, dim, norm, "fft.ihfft2")


def hfftn(input, s=None, dim=None, norm=None):
    """The N-dimensional transform of a Hermitian-symmetric signal given by the first half of
    its last dim in ``dim``: a real result (that dim ``2*(m-1)`` long by default)."""
    return _f.hermitian_fftn(input, s, dim, norm, "fft.hfftn")


def ihfftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`hfftn`: a real signal to the half spectrum (the last of ``dim``
    halved)."""
    return _f.hermitian_ifftn(input, s, dim, norm, "fft.ihfftn")


def _freqs(values, dtype, device, requires_grad):
    from .core.creation import tensor
    from .core import dtypes as _dt
    d = _dt.get_default_dtype() if dtype is None else dtype
    return tensor(values, dtype=d, device=device, requires_grad=requires_grad)


def fftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False):
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``.

    >>> ember.fft.fftfreq(4)
    tensor([ 0.0000,  0.2500, -0.5000, -0.2500])
    """
    return _freqs(_f.fftfreq_values(n, d, "fft.fftfreq"), dtype, device, requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False):
    """The non-negative sample frequencies of an ``n``-point real transform.

    >>> ember.fft.rfftfreq(4)
    tensor([0.0000, 0.2500, 0.5000])
    """
    return _freqs(_f.rfftfreq_values(n, d, "fft.rfftfreq"), dtype, device, requires_grad)


def fftshift(input, dim=None):
    """The zero frequency moved to the centre along ``dim`` (all dims by default).

    >>> ember.fft.fftshift(ember.fft.fftfreq(4))
    tensor([-0.5000, -0.2500, 0.0000, 0.2500])
    """
    return _f.shift(input, dim, 1)


def ifftshift(input, dim=None):
    """The inverse of :func:`fftshift`."""
    return _f.shift(input, dim, -1)

