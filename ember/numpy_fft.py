"""``jax.numpy.fft``'s real-valued helpers (and the Array API ``fft`` extension's): reached as
``ember.numpy.fft``. The transforms themselves (``fft``, ``rfft``, ...) produce complex
numbers, which ember does not have yet, so they are not offered; ``fftfreq``, ``rfftfreq``,
``fftshift`` and ``ifftshift`` are real and are here.
"""
from __future__ import annotations

import numpy as _np


def _jnp():
    from . import numpy as jnp
    return jnp


def fftfreq(n, /, d=1.0, *, dtype=None, device=None):
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``:
    ``[0, 1, ..., n/2-1, -n/2, ..., -1] / (d*n)`` (n even).

    >>> import ember.numpy as jnp
    >>> jnp.fft.fftfreq(4, d=0.5)
    tensor([0.0000, 0.5000, -1.0000, -0.5000])
    """
    jnp = _jnp()
    n = int(n)
    if n <= 0:
        raise ValueError(f"fftfreq: n must be a positive integer, got {n}")
    k = _np.concatenate([_np.arange(0, (n - 1) // 2 + 1), _np.arange(-(n // 2), 0)])
    return jnp.asarray(k / (d * n), dtype=dtype, device=device)


def rfftfreq(n, /, d=1.0, *, dtype=None, device=None):
    """The non-negative sample frequencies of an ``n``-point real transform:
    ``[0, 1, ..., n//2] / (d*n)``.

    >>> import ember.numpy as jnp
    >>> jnp.fft.rfftfreq(5)
    tensor([0.0000, 0.2000, 0.4000])
    """
    jnp = _jnp()
    n = int(n)
    if n <= 0:
        raise ValueError(f"rfftfreq: n must be a positive integer, got {n}")
    return jnp.asarray(_np.arange(0, n // 2 + 1) / (d * n), dtype=dtype, device=device)


def _shift(x, axes, sign):
    jnp = _jnp()
    x = jnp.asarray(x)
    if axes is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axes, int):
        axes = (axes,)
    if not axes or x.ndim == 0:
        return x
    return jnp.roll(x, tuple(sign * (x.shape[a] // 2) for a in axes), tuple(axes))


def fftshift(x, /, *, axes=None):
    """``x`` with the zero frequency moved to the centre (along ``axes``, all by default).

    >>> import ember.numpy as jnp
    >>> jnp.fft.fftshift(jnp.fft.fftfreq(4))
    tensor([-0.5000, -0.2500, 0.0000, 0.2500])
    """
    return _shift(x, axes, 1)


def ifftshift(x, /, *, axes=None):
    """The inverse of :func:`fftshift` (they differ for odd lengths).

    >>> import ember.numpy as jnp
    >>> jnp.fft.ifftshift(jnp.fft.fftshift(jnp.arange(5)))
    tensor([0, 1, 2, 3, 4])
    """
    return _shift(x, axes, -1)
