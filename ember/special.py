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
    ``modified_bessel_i0``'s primitive, whose derivative is ``i1``.

    >>> ember.special.i0(ember.tensor([0., 1.]))
    tensor([1.0000, 1.2661])
    """
    return _sp.bessel_fn("modified_bessel_i0")(_to._t(input, "special.i0"))


def _bessel(name, summary, example=None):
    prim_op = _sp.bessel_fn(name)

    def f(input):
        return prim_op(_to._t(input, "special." + name))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = summary + " (as ``torch.special." + name + "``), elementwise; float64 " \
        "kernels of ``ember/backend/special_math.py`` rounded once to the input's dtype." + \
        (("\n\n    >>> " + example[0] + "\n    " + example[1] + "\n") if example else "")
    return f


bessel_j0 = _bessel("bessel_j0", "The Bessel function of the first kind of order 0, J0; "
                    "derivative -J1", ("ember.special.bessel_j0(ember.tensor([0., 1.]))",
                                       "tensor([1.0000, 0.7652])"))
bessel_j1 = _bessel("bessel_j1", "The Bessel function of the first kind of order 1, J1; "
                    "derivative J0 - J1/x")
bessel_y0 = _bessel("bessel_y0", "The Bessel function of the second kind of order 0, Y0 "
                    "(-inf at 0, NaN below); derivative -Y1")
bessel_y1 = _bessel("bessel_y1", "The Bessel function of the second kind of order 1, Y1 "
                    "(-inf at 0, NaN below); derivative Y0 - Y1/x")
modified_bessel_i0 = _bessel("modified_bessel_i0", "The modified Bessel function of the "
                             "first kind of order 0, I0; derivative I1")
modified_bessel_i1 = _bessel("modified_bessel_i1", "The modified Bessel function of the "
                             "first kind of order 1, I1; derivative I0 - I1/x")
i1 = _bessel("modified_bessel_i1", "The modified Bessel function of the first kind of order "
             "1, I1 (``i1`` and ``modified_bessel_i1`` are one primitive)")
i1.__name__ = i1.__qualname__ = "i1"
modified_bessel_k0 = _bessel("modified_bessel_k0", "The modified Bessel function of the "
                             "second kind of order 0, K0 (inf at 0, NaN below); derivative "
                             "-K1")
modified_bessel_k1 = _bessel("modified_bessel_k1", "The modified Bessel function of the "
                             "second kind of order 1, K1; derivative -K0 - K1/x")
scaled_modified_bessel_k0 = _bessel("scaled_modified_bessel_k0", "``exp(x) * K0(x)``, "
                                    "finite for large x")
scaled_modified_bessel_k1 = _bessel("scaled_modified_bessel_k1", "``exp(x) * K1(x)``, "
                                    "finite for large x")
i0e = _bessel("i0e", "``exp(-|x|) * I0(x)``, finite for large |x|",
              ("ember.special.i0e(ember.tensor([0., 1.]))", "tensor([1.0000, 0.4658])"))
i1e = _bessel("i1e", "``exp(-|x|) * I1(x)``, finite for large |x|")
spherical_bessel_j0 = _bessel("spherical_bessel_j0", "The spherical Bessel function of the "
                              "first kind of order 0, ``sin(x) / x`` (1 at 0)")
airy_ai = _bessel("airy_ai", "Airy's function Ai; derivative Ai' (PyTorch has none)")
zeta = _sp.zeta
globals().update(_sp.POLYNOMIALS)

__all__ += ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
            "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
            "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "i0e", "i1", "i1e",
            "spherical_bessel_j0", "airy_ai", "zeta"] + sorted(_sp.POLYNOMIALS)
