"""Continuous one-dimensional distributions: ``Exponential``, ``Laplace``, ``LogNormal``,
``Cauchy``, ``Gumbel``, ``HalfNormal`` (PyTorch's parameters, moments and formulas), all with
a reparameterized ``rsample``."""
from __future__ import annotations

import math

from . import Distribution, Normal, _tensorize
from . import constraints
from .utils import as_value, require, tiny, check_support
from ..ops import elementwise as _ew
from ..random import generator as _rnd

__all__ = ["Exponential", "Laplace", "LogNormal", "Cauchy", "Gumbel", "HalfNormal", "HalfCauchy",
           "Pareto", "Weibull"]

_EULER = 0.57721566490153286061


def _uniform_open(shape, dtype):
    """Uniform draws in the open interval (0, 1)."""
    u = _rnd.rand(*shape, dtype=dtype)
    return _ew.clamp(u, tiny(dtype), 1.0 - float(__import__("numpy").finfo(dtype.np).eps))


class Exponential(Distribution):
    """The exponential distribution with ``rate`` (mean ``1 / rate``).

    >>> d = ember.distributions.Exponential(ember.tensor([2.0]))
    >>> d.log_prob(ember.tensor([1.0])), d.mean, d.entropy()
    (tensor([-1.3069]), tensor([0.5000]), tensor([0.3069]))
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = _tensorize(rate)
        super().__init__(tuple(self.rate.shape), (), validate_args)
        require(self, "rate", constraints.positive, self.rate)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return _ew.full_like_traced(self.rate, 0.0)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        u = _rnd.rand(*self._extended_shape(sample_shape), dtype=self.rate.dtype)
        return -_ew.log1p(-u) / self.rate

    def log_prob(self, value):
        v = as_value(value, self.rate)
        check_support(self, v)
        return _ew.log(self.rate) - self.rate * v

    def cdf(self, value):
        return 1 - _ew.exp(-self.rate * as_value(value, self.rate))

    def icdf(self, value):
        return -_ew.log1p(-as_value(value, self.rate)) / self.rate

    def entropy(self):
        return 1.0 - _ew.log(self.rate)


class Laplace(Distribution):
    """The Laplace (double exponential) distribution with ``loc`` and ``scale``.

    >>> d = ember.distributions.Laplace(0.0, 1.0)
    >>> d.log_prob(ember.tensor(1.0)), d.variance, d.cdf(ember.tensor(0.0))
    (tensor(-1.6931), tensor(2.), tensor(0.5000))
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _tensorize(loc, scale)
        super().__init__(tuple(self.loc.shape), (), validate_args)
        require(self, "scale", constraints.positive, self.scale)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    def rsample(self, sample_shape=()):
        dt = self.loc.dtype
        eps = float(__import__("numpy").finfo(dt.np).eps)
        u = _rnd.rand(*self._extended_shape(sample_shape), dtype=dt) * 2 - 1
        u = _ew.clamp(u, -1 + eps, 1.0)
        return self.loc - self.scale * _ew.sign(u) * _ew.log1p(-_ew.abs(u))

    def log_prob(self, value):
        v = as_value(value, self.loc)
        return -_ew.log(2 * self.scale) - _ew.abs(v - self.loc) / self.scale

    def cdf(self, value):
        d = as_value(value, self.loc) - self.loc
        return 0.5 - 0.5 * _ew.sign(d) * _ew.expm1(-_ew.abs(d) / self.scale)

    def icdf(self, value):
        t = as_value(value, self.loc) - 0.5
        return self.loc - self.scale * _ew.sign(t) * _ew.log1p(-2 * _ew.abs(t))

    def entropy(self):
        return 1 + _ew.log(2 * self.scale)


class LogNormal(Distribution):
    """``exp(X)`` for ``X ~ Normal(loc, scale)``.

    >>> d = ember.distributions.LogNormal(0.0, 1.0)
    >>> d.log_prob(ember.tensor(1.0)), d.mean
    (tensor(-0.9189), tensor(1.6487))
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.base_dist = Normal(loc, scale, validate_args=validate_args)
        self.loc, self.scale = self.base_dist.loc, self.base_dist.scale
        super().__init__(tuple(self.loc.shape), (), validate_args)

    @property
    def mean(self):
        return _ew.exp(self.loc + self.scale.pow(2) / 2)

    @property
    def mode(self):
        return _ew.exp(self.loc - self.scale.pow(2))

    @property
    def variance(self):
        s2 = self.scale.pow(2)
        return _ew.expm1(s2) * _ew.exp(2 * self.loc + s2)

    def rsample(self, sample_shape=()):
        return _ew.exp(self.base_dist.rsample(sample_shape))

    def log_prob(self, value):
        v = as_value(value, self.loc)
        check_support(self, v)
        lv = _ew.log(v)
        return self.base_dist.log_prob(lv) - lv

    def cdf(self, value):
        return self.base_dist.cdf(_ew.log(as_value(value, self.loc)))

    def icdf(self, value):
        return _ew.exp(self.base_dist.icdf(as_value(value, self.loc)))

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class Cauchy(Distribution):
    """The Cauchy (Lorentz) distribution with median ``loc`` and half-width ``scale``; its mean
    is undefined (NaN) and its variance infinite, as PyTorch reports.

    >>> d = ember.distributions.Cauchy(0.0, 1.0)
    >>> d.log_prob(ember.tensor(0.0)), d.cdf(ember.tensor(1.0))
    (tensor(-1.1447), tensor(0.7500))
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _tensorize(loc, scale)
        super().__init__(tuple(self.loc.shape), (), validate_args)
        require(self, "scale", constraints.positive, self.scale)

    @property
    def mean(self):
        return _ew.full_like_traced(self.loc, math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return _ew.full_like_traced(self.loc, math.inf)

    def rsample(self, sample_shape=()):
        u = _uniform_open(self._extended_shape(sample_shape), self.loc.dtype)
        return self.loc + self.scale * _ew.tan(math.pi * (u - 0.5))

    def log_prob(self, value):
        z = (as_value(value, self.loc) - self.loc) / self.scale
        return -math.log(math.pi) - _ew.log(self.scale) - _ew.log1p(z * z)

    def cdf(self, value):
        z = (as_value(value, self.loc) - self.loc) / self.scale
        return _ew.atan(z) / math.pi + 0.5

    def icdf(self, value):
        return _ew.tan(math.pi * (as_value(value, self.loc) - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + _ew.log(self.scale)


class Gumbel(Distribution):
    """The Gumbel (type-I extreme value) distribution with ``loc`` and ``scale``.

    >>> d = ember.distributions.Gumbel(0.0, 1.0)
    >>> d.log_prob(ember.tensor(0.0)), d.mean
    (tensor(-1.), tensor(0.5772))
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _tensorize(loc, scale)
        super().__init__(tuple(self.loc.shape), (), validate_args)
        require(self, "scale", constraints.positive, self.scale)

    @property
    def mean(self):
        return self.loc + self.scale * _EULER

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return (math.pi ** 2 / 6) * self.scale.pow(2)

    def rsample(self, sample_shape=()):
        u = _uniform_open(self._extended_shape(sample_shape), self.loc.dtype)
        return self.loc - self.scale * _ew.log(-_ew.log(u))

    def log_prob(self, value):
        z = (as_value(value, self.loc) - self.loc) / self.scale
        return -(z + _ew.exp(-z)) - _ew.log(self.scale)

    def cdf(self, value):
        z = (as_value(value, self.loc) - self.loc) / self.scale
        return _ew.exp(-_ew.exp(-z))

    def icdf(self, value):
        return self.loc - self.scale * _ew.log(-_ew.log(as_value(value, self.loc)))

    def entropy(self):
        return _ew.log(self.scale) + (1 + _EULER)


class HalfNormal(Distribution):
    """``|X|`` for ``X ~ Normal(0, scale)``.

    >>> d = ember.distributions.HalfNormal(1.0)
    >>> d.log_prob(ember.tensor(0.5)), d.mean
    (tensor(-0.3508), tensor(0.7979))
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        (self.scale,) = _tensorize(scale)
        self.base_dist = Normal(_ew.full_like_traced(self.scale, 0.0), self.scale,
                                validate_args=validate_args)
        super().__init__(tuple(self.scale.shape), (), validate_args)

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self):
        return _ew.full_like_traced(self.scale, 0.0)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)

    def rsample(self, sample_shape=()):
        return _ew.abs(self.base_dist.rsample(sample_shape))

    def log_prob(self, value):
        v = as_value(value, self.scale)
        check_support(self, v)
        lp = self.base_dist.log_prob(v) + math.log(2)
        return _ew.where(v >= 0, lp, _ew.full_like_traced(lp, -math.inf))

    def cdf(self, value):
        return 2 * self.base_dist.cdf(as_value(value, self.scale)) - 1

    def icdf(self, value):
        return self.base_dist.icdf((as_value(value, self.scale) + 1) / 2)

    def entropy(self):
        return 0.5 * math.log(math.pi / 2) + _ew.log(self.scale) + 0.5


class HalfCauchy(Distribution):
    """``|X|`` for ``X ~ Cauchy(0, scale)``; mean and variance are infinite.

    >>> d = ember.distributions.HalfCauchy(1.0)
    >>> d.log_prob(ember.tensor(1.0)), d.cdf(ember.tensor(1.0))
    (tensor(-1.1447), tensor(0.5000))
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        (self.scale,) = _tensorize(scale)
        super().__init__(tuple(self.scale.shape), (), validate_args)
        require(self, "scale", constraints.positive, self.scale)
        self.base_dist = Cauchy(_ew.full_like_traced(self.scale, 0.0), self.scale,
                                validate_args=False)

    @property
    def mean(self):
        return _ew.full_like_traced(self.scale, math.inf)

    @property
    def mode(self):
        return _ew.full_like_traced(self.scale, 0.0)

    @property
    def variance(self):
        return _ew.full_like_traced(self.scale, math.inf)

    def rsample(self, sample_shape=()):
        return _ew.abs(self.base_dist.rsample(sample_shape))

    def log_prob(self, value):
        v = as_value(value, self.scale)
        check_support(self, v)
        lp = self.base_dist.log_prob(v) + math.log(2)
        return _ew.where(v >= 0, lp, _ew.full_like_traced(lp, -math.inf))

    def cdf(self, value):
        return 2 * self.base_dist.cdf(as_value(value, self.scale)) - 1

    def icdf(self, value):
        return self.base_dist.icdf((as_value(value, self.scale) + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class Pareto(Distribution):
    """The Pareto (type I) distribution with minimum ``scale`` and tail index ``alpha``.

    >>> d = ember.distributions.Pareto(1.0, 3.0)
    >>> d.log_prob(ember.tensor(2.0)), d.mean
    (tensor(-1.6740), tensor(1.5000))
    """

    arg_constraints = {"scale": constraints.positive, "alpha": constraints.positive}
    has_rsample = True

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = _tensorize(scale, alpha)
        super().__init__(tuple(self.scale.shape), (), validate_args)
        require(self, "scale", constraints.positive, self.scale)
        require(self, "alpha", constraints.positive, self.alpha)

    @property
    def support(self):
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self):
        a = _ew.clamp(self.alpha, 1.0, None)
        return a * self.scale / (a - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        a = _ew.clamp(self.alpha, 2.0, None)
        return self.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))

    def rsample(self, sample_shape=()):
        u = _rnd.rand(*self._extended_shape(sample_shape), dtype=self.scale.dtype)
        return self.scale * _ew.exp(-_ew.log1p(-u) / self.alpha)

    def log_prob(self, value):
        v = as_value(value, self.scale)
        check_support(self, v)
        return _ew.log(self.alpha) + self.alpha * _ew.log(self.scale) - \
            (self.alpha + 1) * _ew.log(v)

    def cdf(self, value):
        return 1 - (self.scale / as_value(value, self.scale)).pow(self.alpha)

    def icdf(self, value):
        return self.scale * _ew.exp(-_ew.log1p(-as_value(value, self.scale)) / self.alpha)

    def entropy(self):
        return _ew.log(self.scale / self.alpha) + self.alpha.reciprocal() + 1


class Weibull(Distribution):
    """The Weibull distribution with ``scale`` and shape ``concentration``.

    >>> d = ember.distributions.Weibull(1.0, 2.0)
    >>> d.log_prob(ember.tensor(1.0)), d.mean
    (tensor(-0.3069), tensor(0.8862))
    """

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = _tensorize(scale, concentration)
        super().__init__(tuple(self.scale.shape), (), validate_args)
        require(self, "scale", constraints.positive, self.scale)
        require(self, "concentration", constraints.positive, self.concentration)

    @property
    def mean(self):
        from ..ops import special as _sp
        return self.scale * _ew.exp(_sp.lgamma(1 + self.concentration.reciprocal()))

    @property
    def mode(self):
        k = self.concentration
        return self.scale * ((k - 1) / k).pow(k.reciprocal())

    @property
    def variance(self):
        from ..ops import special as _sp
        r = self.concentration.reciprocal()
        g1 = _ew.exp(_sp.lgamma(1 + r))
        return self.scale.pow(2) * (_ew.exp(_sp.lgamma(1 + 2 * r)) - g1 * g1)

    def rsample(self, sample_shape=()):
        u = _rnd.rand(*self._extended_shape(sample_shape), dtype=self.scale.dtype)
        return self.scale * (-_ew.log1p(-u)).pow(self.concentration.reciprocal())

    def log_prob(self, value):
        v = as_value(value, self.scale)
        check_support(self, v)
        k, lam = self.concentration, self.scale
        z = v / lam
        return _ew.log(k / lam) + (k - 1) * _ew.log(z) - z.pow(k)

    def cdf(self, value):
        return 1 - _ew.exp(-(as_value(value, self.scale) / self.scale).pow(self.concentration))

    def icdf(self, value):
        p = as_value(value, self.scale)
        return self.scale * (-_ew.log1p(-p)).pow(self.concentration.reciprocal())

    def entropy(self):
        k = self.concentration
        return _EULER * (1 - k.reciprocal()) + _ew.log(self.scale / k) + 1
