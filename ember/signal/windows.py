"""Window functions as ``torch.signal.windows`` (SciPy's definitions): ``hann``,
``hamming``, ``blackman``, ``nuttall``, ``general_cosine``, ``general_hamming``,
``bartlett``, ``cosine``, ``exponential``, ``gaussian``, ``kaiser``.

Each takes the length ``M`` and ``sym`` (True: symmetric, for filter design; False:
periodic, for spectral analysis — the symmetric window of ``M + 1`` points without its last)
and the usual ``dtype``/``device``/``requires_grad``/``layout`` keywords.

>>> ember.signal.windows.hann(5)
tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
>>> ember.signal.windows.hann(4, sym=False)
tensor([0.0000, 0.5000, 1.0000, 0.5000])
"""
from __future__ import annotations

import numpy as np

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]


def _made(name, M, sym, fn, dtype, device, requires_grad, layout):
    import ember
    if not isinstance(M, (int, np.integer)) or isinstance(M, bool) or M < 0:
        raise ValueError(f"signal.windows.{name}: M must be a non-negative integer, got {M!r}")
    from ..core.dtypes import as_dtype
    dt = ember.get_default_dtype() if dtype is None else as_dtype(dtype)
    if not dt.is_floating_point:
        raise ValueError(f"signal.windows.{name}: dtype must be floating point, got {dt}")
    if M == 0:
        w = np.zeros(0)
    elif M == 1:
        w = np.ones(1)
    else:
        n = M if sym else M + 1
        w = fn(np.arange(n, dtype=np.float64), n)
        w = w if sym else w[:-1]
    out = ember.tensor(w, dtype=dt, device=device)
    return out.requires_grad_(True) if requires_grad else out


def _cosines(name, M, a, sym, dtype, device, requires_grad):
    a = [float(v) for v in a]
    return _made(name, M, sym, lambda n, N: sum(
        (-1) ** k * c * np.cos(2 * np.pi * k * n / (N - 1)) for k, c in enumerate(a)),
        dtype, device, requires_grad, None)


def general_cosine(M, *, a, sym=True, dtype=None, layout=None, device=None,
                   requires_grad=False):
    """``sum_k (-1)^k a[k] cos(2 pi k n / (M - 1))``."""
    return _cosines("general_cosine", M, a, sym, dtype, device, requires_grad)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=None, device=None,
                    requires_grad=False):
    """``alpha - (1 - alpha) cos(2 pi n / (M - 1))``."""
    return _cosines("general_hamming", M, [alpha, 1.0 - alpha], sym, dtype, device,
                    requires_grad)


def hann(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The Hann window, ``0.5 - 0.5 cos(2 pi n / (M - 1))``."""
    return _cosines("hann", M, [0.5, 0.5], sym, dtype, device, requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The Hamming window, ``0.54 - 0.46 cos(2 pi n / (M - 1))``."""
    return _cosines("hamming", M, [0.54, 0.46], sym, dtype, device, requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The Blackman window (coefficients 0.42, 0.5, 0.08)."""
    return _cosines("blackman", M, [0.42, 0.5, 0.08], sym, dtype, device, requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The minimum 4-term Blackman-Harris window of Nuttall."""
    return _cosines("nuttall", M, [0.3635819, 0.4891775, 0.1365995, 0.0106411], sym, dtype,
                    device, requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The triangular window with zero ends, ``1 - |2n / (M - 1) - 1|``."""
    return _made("bartlett", M, sym, lambda n, N: 1 - np.abs(2 * n / (N - 1) - 1), dtype,
                 device, requires_grad, layout)


def cosine(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The cosine (sine) window, ``sin(pi (n + 0.5) / M)``."""
    return _made("cosine", M, sym, lambda n, N: np.sin(np.pi * (n + 0.5) / N), dtype, device,
                 requires_grad, layout)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=None, device=None,
             requires_grad=False):
    """``exp(-((n - (M - 1) / 2) / std)^2 / 2)``."""
    if std <= 0:
        raise ValueError(f"signal.windows.gaussian: std must be positive, got {std}")
    return _made("gaussian", M, sym, lambda n, N: np.exp(-0.5 * ((n - (N - 1) / 2) / std) ** 2),
                 dtype, device, requires_grad, layout)


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=None, device=None,
                requires_grad=False):
    """``exp(-|n - center| / tau)``, centred at ``(M - 1) / 2`` by default (``center`` only
    for a periodic window, as SciPy and PyTorch)."""
    if tau <= 0:
        raise ValueError(f"signal.windows.exponential: tau must be positive, got {tau}")
    if sym and center is not None:
        raise ValueError("signal.windows.exponential: center is for periodic windows only "
                         "(sym=False)")
    if center is None:
        return _made("exponential", M, sym, lambda n, N: np.exp(-np.abs(n - (N - 1) / 2) / tau),
                     dtype, device, requires_grad, layout)
    return _made("exponential", M, True, lambda n, N: np.exp(-np.abs(n - center) / tau), dtype,
                 device, requires_grad, layout)


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=None, device=None,
           requires_grad=False):
    """``I0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) / I0(beta)``."""
    if beta < 0:
        raise ValueError(f"signal.windows.kaiser: beta must be non-negative, got {beta}")
    return _made("kaiser", M, sym, lambda n, N: np.i0(beta * np.sqrt(np.clip(
        1 - (2 * n / (N - 1) - 1) ** 2, 0, None))) / np.i0(beta), dtype, device,
        requires_grad, layout)
