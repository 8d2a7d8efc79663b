"""The gamma family: ``Gamma``, ``Chi2``, ``Beta``, ``Dirichlet``, ``StudentT``.

Their ``rsample`` uses implicit reparameterization (as PyTorch's): a standard gamma draw ``x``
with concentration ``a`` gets the gradient ``dx/da = -(dF/da)(x; a) / f(x; a)`` (``F`` the
gamma CDF, ``f`` its density); Beta and Dirichlet normalise gamma draws and StudentT divides a
normal draw by a chi-square one, so their gradients follow by the chain rule. The draws come
from NumPy's generator behind ``ember.manual_seed`` and need SciPy for ``dF/da``; they run
eagerly (not inside ``jit``/``vmap``/``grad`` traces)."""
from __future__ import annotations

import math

import numpy as np

from . import Distribution, _tensorize
from . import constraints
from .utils import as_value, require, numpy_rng, eager_array, check_support
from ..core.creation import as_tensor as _as_tensor
from ..ops import elementwise as _ew, reduce as _red, shape as _sh, special as _sp
from ..random import generator as _rnd

__all__ = ["Gamma", "Chi2", "Beta", "Dirichlet", "StudentT", "InverseGamma"]


def _standard_gamma_grad(x, a):
    """``dx/da`` at standard gamma draws ``x`` (float64 arrays), by the implicit function
    theorem on ``F(x; a) = u``; ``dF/da`` by a central difference of SciPy's ``gammainc``."""
    from scipy.special import gammainc, gammaln
    h = 1e-5 * np.maximum(a, 1e-3)
    dfda = (gammainc(a + h, x) - gammainc(a - h, x)) / (2 * h)
    logpdf = (a - 1) * np.log(x) - x - gammaln(a)
    pdf = np.exp(logpdf)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(pdf > 0, -dfda / pdf, 0.0)
    return g


def _standard_gamma(conc, shape, who):
    """Standard gamma draws of ``shape`` with concentration ``conc`` (broadcast); when
    ``conc`` requires grad the draw carries the implicit-reparameterization gradient."""
    a = np.broadcast_to(eager_array(conc, who).astype(np.float64), shape)
    x = numpy_rng().standard_gamma(a)
    tiny = float(np.finfo(conc.dtype.np).tiny)
    x = np.maximum(x, tiny)
    out = _as_tensor(x.astype(conc.dtype.np))
    if conc.requires_grad:
        g = _as_tensor(_standard_gamma_grad(x, a).astype(conc.dtype.np))
        cb = _sh.expand(conc, tuple(shape)) if tuple(conc.shape) != tuple(shape) else conc
        out = out + (cb - cb.detach()) * g
    return out


class Gamma(Distribution):
    """The gamma distribution with shape ``concentration`` and inverse scale ``rate``.

    >>> d = ember.distributions.Gamma(ember.tensor(2.0), ember.tensor(3.0))
    >>> d.log_prob(ember.tensor(1.0)), d.mean, d.variance
    (tensor(-0.8028), tensor(0.6667), tensor(0.2222))
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = _tensorize(concentration, rate)
        super().__init__(tuple(self.rate.shape), (), validate_args)
        require(self, "concentration", constraints.positive, self.concentration)
        require(self, "rate", constraints.positive, self.rate)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return _ew.clamp((self.concentration - 1) / self.rate, 0.0, None)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        x = _standard_gamma(self.concentration, self._extended_shape(sample_shape),
                            type(self).__name__)
        x = x / self.rate
        tiny = float(np.finfo(self.rate.dtype.np).tiny)
        return _ew.clamp(x, tiny, None)

    def log_prob(self, value):
        v = as_value(value, self.rate)
        check_support(self, v)
        a, r = self.concentration, self.rate
        return a.xlogy(r) + (a - 1).xlogy(v) - r * v - _sp.lgamma(a)

    def entropy(self):
        a = self.concentration
        return a - _ew.log(self.rate) + _sp.lgamma(a) + (1.0 - a) * _sp.digamma(a)


class Chi2(Gamma):
    """The chi-square distribution with ``df`` degrees of freedom (``Gamma(df / 2, 1 / 2)``).

    >>> d = ember.distributions.Chi2(ember.tensor(4.0))
    >>> d.mean, d.variance
    (tensor(4.), tensor(8.))
    """

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df,) = _tensorize(df)
        super().__init__(0.5 * df, _ew.full_like_traced(df, 0.5), validate_args)

    @property
    def df(self):
        return self.concentration * 2


class Dirichlet(Distribution):
    """The Dirichlet distribution on the simplex with ``concentration`` ``(..., K)``.

    >>> d = ember.distributions.Dirichlet(ember.tensor([1.0, 2.0, 3.0]))
    >>> d.mean
    tensor([0.1667, 0.3333, 0.5000])
    >>> d.log_prob(ember.tensor([0.2, 0.3, 0.5]))
    tensor(1.5041)
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        (c,) = _tensorize(concentration)
        if c.ndim < 1:
            raise ValueError("Dirichlet: concentration must be at least one-dimensional "
                             f"(the event is its last dim), got shape {tuple(c.shape)}")
        self.concentration = c
        super().__init__(tuple(c.shape[:-1]), tuple(c.shape[-1:]), validate_args)
        require(self, "concentration", constraints.positive, c)

    @property
    def mean(self):
        c = self.concentration
        return c / _red.sum(c, -1, keepdim=True)

    @property
    def mode(self):
        c = self.concentration
        cm1 = _ew.clamp(c - 1, 0.0, None)
        return cm1 / _red.sum(cm1, -1, keepdim=True)

    @property
    def variance(self):
        c = self.concentration
        c0 = _red.sum(c, -1, keepdim=True)
        return c * (c0 - c) / (c0.pow(2) * (c0 + 1))

    def rsample(self, sample_shape=()):
        g = _standard_gamma(self.concentration, self._extended_shape(sample_shape),
                            "Dirichlet")
        x = g / _red.sum(g, -1, keepdim=True)
        eps = float(np.finfo(x.dtype.np).eps)
        tiny = float(np.finfo(x.dtype.np).tiny)
        return _ew.clamp(x, tiny, 1 - eps)

    def log_prob(self, value):
        v = as_value(value, self.concentration)
        check_support(self, v)
        c = self.concentration
        return (_red.sum((c - 1).xlogy(v), -1) + _sp.lgamma(_red.sum(c, -1)) -
                _red.sum(_sp.lgamma(c), -1))

    def entropy(self):
        c = self.concentration
        k = c.shape[-1]
        c0 = _red.sum(c, -1)
        return (_red.sum(_sp.lgamma(c), -1) - _sp.lgamma(c0) - (k - c0) * _sp.digamma(c0) -
                _red.sum((c - 1.0) * _sp.digamma(c), -1))


class Beta(Distribution):
    """The beta distribution on [0, 1] with ``concentration1`` (alpha) and
    ``concentration0`` (beta).

    >>> d = ember.distributions.Beta(ember.tensor(2.0), ember.tensor(3.0))
    >>> d.log_prob(ember.tensor(0.5)), d.mean
    (tensor(0.4055), tensor(0.4000))
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = _tensorize(concentration1, concentration0)
        super().__init__(tuple(self.concentration1.shape), (), validate_args)
        require(self, "concentration1", constraints.positive, self.concentration1)
        require(self, "concentration0", constraints.positive, self.concentration0)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return (self.concentration1 - 1) / (self.concentration1 + self.concentration0 - 2)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        t = a + b
        return a * b / (t.pow(2) * (t + 1))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        g1 = _standard_gamma(self.concentration1, shape, "Beta")
        g0 = _standard_gamma(self.concentration0, shape, "Beta")
        x = g1 / (g1 + g0)
        eps = float(np.finfo(x.dtype.np).eps)
        tiny = float(np.finfo(x.dtype.np).tiny)
        return _ew.clamp(x, tiny, 1 - eps)

    def log_prob(self, value):
        v = as_value(value, self.concentration1)
        check_support(self, v)
        a, b = self.concentration1, self.concentration0
        return ((a - 1).xlogy(v) + (b - 1).xlogy(1 - v) + _sp.lgamma(a + b) -
                _sp.lgamma(a) - _sp.lgamma(b))

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        t = a + b
        lbeta = _sp.lgamma(a) + _sp.lgamma(b) - _sp.lgamma(t)
        return (lbeta - (a - 1) * _sp.digamma(a) - (b - 1) * _sp.digamma(b) +
                (t - 2) * _sp.digamma(t))


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, ``loc`` and ``scale``.

    >>> d = ember.distributions.StudentT(ember.tensor(3.0))
    >>> d.log_prob(ember.tensor(0.0)), d.variance
    (tensor(-1.0009), tensor(3.))
    """

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = _tensorize(df, loc, scale)
        super().__init__(tuple(self.df.shape), (), validate_args)
        require(self, "df", constraints.positive, self.df)
        require(self, "scale", constraints.positive, self.scale)
        self._chi2 = Chi2(self.df, validate_args=False)

    @property
    def mean(self):
        nan = _ew.full_like_traced(self.loc, math.nan)
        return _ew.where(self.df > 1, self.loc, nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        big = self.scale.pow(2) * df / (df - 2)
        inf = _ew.full_like_traced(big, math.inf)
        nan = _ew.full_like_traced(big, math.nan)
        return _ew.where(df > 2, big, _ew.where(df > 1, inf, nan))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        z = _rnd.randn(*shape, dtype=self.loc.dtype)
        c = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * z * _ew.rsqrt(c / self.df)

    def log_prob(self, value):
        v = as_value(value, self.loc)
        y = (v - self.loc) / self.scale
        df = self.df
        z = (_ew.log(self.scale) + 0.5 * _ew.log(df) + 0.5 * math.log(math.pi) +
             _sp.lgamma(0.5 * df) - _sp.lgamma(0.5 * (df + 1.0)))
        return -0.5 * (df + 1.0) * _ew.log1p(y * y / df) - z

    def entropy(self):
        df = self.df
        lbeta = _sp.lgamma(0.5 * df) + math.lgamma(0.5) - _sp.lgamma(0.5 * (df + 1))
        return (_ew.log(self.scale) + 0.5 * (df + 1) *
                (_sp.digamma(0.5 * (df + 1)) - _sp.digamma(0.5 * df)) +
                0.5 * _ew.log(df) + lbeta)


class InverseGamma(Distribution):
    """``1 / X`` for ``X ~ Gamma(concentration, rate)``.

    >>> d = ember.distributions.InverseGamma(ember.tensor(3.0), ember.tensor(2.0))
    >>> d.mean, d.mode
    (tensor(1.), tensor(0.5000))
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.base_dist = Gamma(concentration, rate, validate_args=validate_args)
        self.concentration, self.rate = self.base_dist.concentration, self.base_dist.rate
        super().__init__(tuple(self.rate.shape), (), validate_args)

    @property
    def mean(self):
        a = self.concentration
        m = self.rate / (a - 1)
        return _ew.where(a > 1, m, _ew.full_like_traced(m, math.inf))

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        a = self.concentration
        v = self.rate.pow(2) / ((a - 1).pow(2) * (a - 2))
        return _ew.where(a > 2, v, _ew.full_like_traced(v, math.inf))

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).reciprocal()

    def log_prob(self, value):
        v = as_value(value, self.rate)
        check_support(self, v)
        return self.base_dist.log_prob(v.reciprocal()) - 2 * _ew.log(v)

    def entropy(self):
        a = self.concentration
        return a + _ew.log(self.rate) + _sp.lgamma(a) - (1 + a) * _sp.digamma(a)
