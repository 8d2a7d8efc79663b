"""``ember.special``: PyTorch's ``torch.special`` names, each composed from ember's ops (so they
differentiate and trace like any op). JAX's spellings (``axis=``) live in
``ember.scipy.special``."""
from __future__ import annotations

import math

from . import ops as _ops  # noqa: F401
from .ops import elementwise as _ew, reduce as _red, nn_ops as _nn
from .ops import special as _sp, prng_ops as _prng
from . import torch_ops as _to

__all__ = ["erf", "erfc", "erfcx", "erfinv", "expit", "logit", "xlogy", "xlog1py", "gammaln",
           "digamma", "psi", "polygamma", "multigammaln", "log1p", "expm1", "exp2", "logsumexp",
           "softmax", "log_softmax", "sinc", "round", "entr", "ndtr", "ndtri", "log_ndtr", "i0",
           "gammainc", "gammaincc"]

erf = _ew.erf
erfc = _to.erfc
erfinv = _prng.erfinv
logit = _to.logit
xlogy = _to.xlogy
gammaln = _sp.lgamma
digamma = psi = _sp.digamma
polygamma = _sp.polygamma
multigammaln = _sp.mvlgamma
gammainc, gammaincc = _sp.igamma, _sp.igammac  # P(a, x) and Q(a, x)
log1p, expm1, exp2 = _ew.log1p, _ew.expm1, _ew.exp2


def expit(input):
    """The logistic sigmoid ``1 / (1 + exp(-input))`` (as ``torch.special.expit``)."""
    return _ew.sigmoid(input)


def erfcx(input):
    """The scaled complementary error function ``exp(x**2) * erfc(x)`` (as
    ``torch.special.erfcx``): its own kernel, finite for large x; it overflows to inf only
    where the value exceeds the dtype (x below about -9.4 in float32)."""
    return _sp.erfcx(_to._t(input, "special.erfcx"))


def xlog1py(input, other):
    """``input * log1p(other)``, 0 where ``input == 0`` (as ``torch.special.xlog1py``)."""
    x, y = _to._t(input, "special.xlog1py"), _to._t(other, "special.xlog1py", "other")
    keep = (x == 0) & ~_ew.isnan(y)
    safe = _ew.where(keep, _to._zl(y), y)
    return _ew.where(keep, _to._zl(x * safe), x * _ew.log1p(safe))


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input), dim))`` (as ``torch.special.logsumexp``)."""
    return _red.logsumexp(input, dim, keepdim=keepdim)


def softmax(input, dim, *, dtype=None):
    """Softmax along ``dim`` (as ``torch.special.softmax``)."""
    x = input if dtype is None else input.to(dtype)
    return _nn.softmax(x, dim)


def log_softmax(input, dim, *, dtype=None):
    """Log-softmax along ``dim`` (as ``torch.special.log_softmax``)."""
    x = input if dtype is None else input.to(dtype)
    return _nn.log_softmax(x, dim)


def sinc(input):
    """The normalised sinc ``sin(pi x) / (pi x)``, 1 at 0 (as ``torch.special.sinc``)."""
    x = _to._t(input, "special.sinc")
    zero = x == 0
    px = _ew.where(zero, _to._ol(x), x) * math.pi
    return _ew.where(zero, _to._ol(px), _ew.sin(px) / px)


def round(input, *, decimals=0):
    """Round half to even (to ``decimals`` places), as ``torch.special.round``."""
    if decimals == 0:
        return _ew.round(input)
    scale = 10.0 ** decimals
    return _ew.round(input * scale) / scale


def entr(input):
    """Elementwise entropy ``-x * log(x)``: 0 at 0, ``-inf`` below (as
    ``torch.special.entr``)."""
    x = _to._t(input, "special.entr")
    pos = x > 0
    safe = _ew.where(pos, x, _to._ol(x))
    val = -safe * _ew.log(safe)
    return _ew.where(pos, val, _ew.where(x == 0, _to._zl(x),
                                         _ew.full_like_traced(x, -math.inf)))


def ndtr(input):
    """The standard normal CDF (as ``torch.special.ndtr``)."""
    return 0.5 * erfc(-_to._t(input, "special.ndtr") * (1.0 / math.sqrt(2.0)))


def ndtri(input):
    """The inverse of the standard normal CDF (as ``torch.special.ndtri``)."""
    return math.sqrt(2.0) * erfinv(2.0 * _to._t(input, "special.ndtri") - 1.0)


def log_ndtr(input):
    """``log(ndtr(input))`` (as ``torch.special.log_ndtr``), finite far into the left tail:
    its own kernel (below -1 ``log(erfcx(-x / sqrt 2)) - x**2 / 2 - log 2``, above
    ``log1p(-erfc(x / sqrt 2) / 2)``) and derivative ``sqrt(2 / pi) / erfcx(-x / sqrt 2)``."""
    return _sp.log_ndtr(_to._t(input, "special.log_ndtr"))


def i0(input):
    """The modified Bessel function of the first kind, order 0 (as ``torch.special.i0``):
    its power series summed to convergence for |x| <= 15 (float32 relative error below 1e-6),
    an asymptotic expansion above."""
    x = _ew.abs(_to._t(input, "special.i0"))
    small = x <= 15.0
    xs = _ew.where(small, x, _to._zl(x))
    q = xs * xs * 0.25
    term, total = _to._ol(x), _to._ol(x)
    for k in range(1, 60):
        term = term * q / float(k * k)
        total = total + term
    xl = _ew.where(small, _ew.full_like_traced(x, 20.0), x)
    inv = 1.0 / (8.0 * xl)
    series = 1.0 + inv * (1.0 + inv * (9.0 / 2.0 + inv * (225.0 / 6.0 + inv * (11025.0 / 24.0))))
    big = _ew.exp(xl) / _ew.sqrt(2.0 * math.pi * xl) * series
    return _ew.where(small, total, big)
