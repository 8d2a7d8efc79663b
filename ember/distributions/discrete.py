"""Discrete distributions: ``Geometric``, ``Poisson``, ``Binomial``, ``OneHotCategorical``
(PyTorch's parameters and formulas). Their ``sample`` is not differentiable (no rsample)."""
from __future__ import annotations

import math

import numpy as np

from . import Distribution, Bernoulli, Categorical, _tensorize, _size
from . import constraints
from .utils import as_value, require, numpy_rng, eager_array, tiny, check_support
from ..core.tensor import Tensor
from ..core.creation import as_tensor as _as_tensor
from ..ops import elementwise as _ew, reduce as _red, shape as _sh, nn_ops as _nn, special as _sp
from ..random import generator as _rnd

__all__ = ["Geometric", "Poisson", "Binomial", "OneHotCategorical", "NegativeBinomial",
           "Multinomial"]


def _softplus(x):
    return _ew.maximum(x, _ew.full_like_traced(x, 0.0)) + _ew.log1p(_ew.exp(-_ew.abs(x)))


class Geometric(Distribution):
    """The number of failures before the first success of Bernoulli(``probs``) trials
    (support 0, 1, 2, ...), given ``probs`` in (0, 1] or ``logits``.

    >>> d = ember.distributions.Geometric(probs=ember.tensor(0.25))
    >>> d.log_prob(ember.tensor(2.0)), d.mean, d.variance
    (tensor(-1.9617), tensor(3.), tensor(12.))
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._bern = Bernoulli(probs=probs, logits=logits, validate_args=validate_args)
        p = self._bern._p
        super().__init__(tuple(self._bern.batch_shape), (), validate_args)
        if p is not None and self._check(lambda: (p > 0) & (p <= 1), p):
            raise ValueError(f"Geometric: expected parameter probs (Tensor of shape "
                             f"{tuple(p.shape)}) to satisfy the constraint 0 < probs <= 1, "
                             f"but found invalid values:\n{p}")

    @property
    def probs(self):
        return self._bern.probs

    @property
    def logits(self):
        return self._bern.logits

    @property
    def mean(self):
        return self.probs.reciprocal() - 1

    @property
    def mode(self):
        return _ew.full_like_traced(self.probs, 0.0)

    @property
    def variance(self):
        p = self.probs
        return (p.reciprocal() - 1) / p

    def sample(self, sample_shape=()):
        p = self.probs.detach()
        u = _rnd.rand(*self._extended_shape(sample_shape), dtype=p.dtype)
        u = _ew.clamp(u, tiny(p.dtype), None)
        return _ew.floor(_ew.log(u) / _ew.log1p(-p))

    def log_prob(self, value):
        v = as_value(value, self.probs)
        check_support(self, v)
        p = self.probs
        # k * log(1 - p) + log p, with 0 * log(0) = 0 at p == 1, k == 0
        pz = _ew.where((p == 1) & (v == 0), _ew.full_like_traced(p, 0.0), p)
        return v * _ew.log1p(-pz) + _ew.log(p)

    def entropy(self):
        lg, p = self.logits, self.probs
        return (_softplus(lg) - p * lg) / p


class Poisson(Distribution):
    """Counts with mean ``rate``.

    >>> d = ember.distributions.Poisson(ember.tensor(2.0))
    >>> d.log_prob(ember.tensor(3.0)), d.variance
    (tensor(-1.7123), tensor(2.))
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = _tensorize(rate)
        super().__init__(tuple(self.rate.shape), (), validate_args)
        require(self, "rate", constraints.nonnegative, self.rate)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return _ew.floor(self.rate)

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        r = eager_array(self.rate, "Poisson")
        shape = self._extended_shape(sample_shape)
        out = numpy_rng().poisson(np.broadcast_to(r, shape)).astype(r.dtype)
        return _as_tensor(out)

    def log_prob(self, value):
        v = as_value(value, self.rate)
        check_support(self, v)
        return v.xlogy(self.rate) - self.rate - _sp.lgamma(v + 1)


class Binomial(Distribution):
    """The number of successes in ``total_count`` Bernoulli(``probs``) trials.

    >>> d = ember.distributions.Binomial(10, probs=ember.tensor(0.5))
    >>> d.log_prob(ember.tensor(5.0)), d.mean, d.variance
    (tensor(-1.4020), tensor(5.), tensor(2.5000))
    """

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        self._bern = Bernoulli(probs=probs, logits=logits, validate_args=validate_args)
        param = self._bern._p if self._bern._p is not None else self._bern._lg
        tc = total_count if isinstance(total_count, Tensor) else \
            _as_tensor(np.asarray(total_count, dtype=param.dtype.np))
        tc = tc.to(param.dtype)
        tc, param = _tensorize(tc, param)
        if self._bern._p is not None:
            self._bern = Bernoulli(probs=param, validate_args=False)
        else:
            self._bern = Bernoulli(logits=param, validate_args=False)
        self.total_count = tc
        super().__init__(tuple(param.shape), (), validate_args)
        require(self, "total_count", constraints.nonnegative_integer, tc)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def probs(self):
        return self._bern.probs

    @property
    def logits(self):
        return self._bern.logits

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return _ew.minimum(_ew.floor((self.total_count + 1) * self.probs), self.total_count)

    @property
    def variance(self):
        p = self.probs
        return self.total_count * p * (1 - p)

    def sample(self, sample_shape=()):
        n = eager_array(self.total_count, "Binomial")
        p = eager_array(self.probs, "Binomial")
        shape = self._extended_shape(sample_shape)
        out = numpy_rng().binomial(np.broadcast_to(n, shape).astype(np.int64),
                                   np.broadcast_to(p, shape)).astype(p.dtype)
        return _as_tensor(out)

    def log_prob(self, value):
        v = as_value(value, self.total_count)
        check_support(self, v)
        n, lg = self.total_count, self.logits
        log_norm = n * _softplus(lg)
        # v * logits with 0 * (-inf) = 0 (probs 0 or 1 with no / all successes)
        vl = _ew.where(v == 0, _ew.full_like_traced(v * lg, 0.0), v * lg)
        return (_sp.lgamma(n + 1) - _sp.lgamma(v + 1) - _sp.lgamma(n - v + 1) + vl - log_norm)

    def enumerate_support(self, expand=True):
        n = eager_array(self.total_count, "Binomial.enumerate_support")
        if n.size and not (n == n.flat[0]).all():
            raise NotImplementedError("Binomial.enumerate_support: needs one total_count "
                                      f"for the whole batch, got {n}")
        k = int(n.flat[0]) if n.size else 0
        vals = _as_tensor(np.arange(k + 1, dtype=n.dtype).reshape(
            (-1,) + (1,) * len(self.batch_shape)))
        return _sh.expand(vals, (k + 1,) + tuple(self.batch_shape)) if expand else vals

    def entropy(self):
        vals = self.enumerate_support(expand=False)
        lp = self.log_prob(vals)
        return -_red.sum(_ew.exp(lp) * lp, 0)


class OneHotCategorical(Distribution):
    """A one-hot vector of length ``K`` whose hot index is ``Categorical(probs or logits)``;
    ``event_shape`` is ``(K,)``.

    >>> d = ember.distributions.OneHotCategorical(probs=ember.tensor([0.5, 0.25, 0.25]))
    >>> d.log_prob(ember.tensor([0., 1., 0.])), d.mean
    (tensor(-1.3863), tensor([0.5000, 0.2500, 0.2500]))
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        super().__init__(tuple(self._categorical.batch_shape),
                         (self._categorical._num_events,), validate_args)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        p = self.probs
        return _nn.one_hot(_red.argmax(p, -1), p.shape[-1]).to(p.dtype)

    @property
    def variance(self):
        p = self.probs
        return p * (1 - p)

    def sample(self, sample_shape=()):
        idx = self._categorical.sample(sample_shape)
        return _nn.one_hot(idx, self._categorical._num_events).to(self.probs.dtype)

    def log_prob(self, value):
        v = as_value(value, self.probs)
        check_support(self, v)
        return self._categorical.log_prob(_red.argmax(v, -1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        k = self._categorical._num_events
        vals = _as_tensor(np.eye(k, dtype=self.probs.dtype.np).reshape(
            (k,) + (1,) * len(self.batch_shape) + (k,)))
        return _sh.expand(vals, (k,) + tuple(self.batch_shape) + (k,)) if expand else vals


class NegativeBinomial(Distribution):
    """The number of successes (probability ``probs``) before ``total_count`` failures.

    >>> d = ember.distributions.NegativeBinomial(3.0, probs=ember.tensor(0.5))
    >>> d.log_prob(ember.tensor(2.0)), d.mean, d.variance
    (tensor(-1.6740), tensor(3.), tensor(6.))
    """

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        bern = Bernoulli(probs=probs, logits=logits, validate_args=validate_args)
        param = bern._p if bern._p is not None else bern._lg
        tc = total_count if isinstance(total_count, Tensor) else \
            _as_tensor(np.asarray(total_count, dtype=param.dtype.np))
        tc, param = _tensorize(tc.to(param.dtype), param)
        self._bern = Bernoulli(probs=param, validate_args=False) if bern._p is not None \
            else Bernoulli(logits=param, validate_args=False)
        self.total_count = tc
        super().__init__(tuple(param.shape), (), validate_args)
        require(self, "total_count", constraints.greater_than_eq(0), tc)
        if bern._p is not None:
            require(self, "probs", constraints.half_open_interval(0.0, 1.0), param)

    @property
    def probs(self):
        return self._bern.probs

    @property
    def logits(self):
        return self._bern.logits

    @property
    def mean(self):
        return self.total_count * _ew.exp(self.logits)

    @property
    def mode(self):
        return _ew.clamp(_ew.floor((self.total_count - 1) * _ew.exp(self.logits)), 0.0, None)

    @property
    def variance(self):
        return self.mean / _ew.sigmoid(-self.logits)

    def sample(self, sample_shape=()):
        n = eager_array(self.total_count, "NegativeBinomial")
        p = eager_array(self.probs, "NegativeBinomial")
        shape = self._extended_shape(sample_shape)
        # NumPy counts failures before n successes: swap the roles of success and failure
        out = numpy_rng().negative_binomial(np.broadcast_to(n, shape).astype(np.float64),
                                            1.0 - np.broadcast_to(p, shape).astype(np.float64))
        return _as_tensor(out.astype(p.dtype))

    def log_prob(self, value):
        v = as_value(value, self.total_count)
        check_support(self, v)
        n, lg = self.total_count, self.logits
        log_unnorm = -n * _softplus(lg) + v * (lg - _softplus(lg))
        log_norm = -_sp.lgamma(n + v) + _sp.lgamma(1.0 + v) + _sp.lgamma(n)
        log_norm = _ew.where(n + v == 0, _ew.full_like_traced(log_norm, 0.0), log_norm)
        return log_unnorm - log_norm


class Multinomial(Distribution):
    """Counts of ``total_count`` draws among ``K`` categories with ``probs`` (or ``logits``);
    ``event_shape`` is ``(K,)``.

    >>> d = ember.distributions.Multinomial(4, probs=ember.tensor([0.5, 0.25, 0.25]))
    >>> d.log_prob(ember.tensor([2., 1., 1.])), d.mean
    (tensor(-1.6740), tensor([2., 1., 1.]))
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, (int, np.integer)) or total_count < 0:
            raise ValueError("Multinomial: total_count must be a non-negative Python int "
                             f"(inhomogeneous counts are not supported), got {total_count!r}")
        self.total_count = int(total_count)
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        super().__init__(tuple(self._categorical.batch_shape),
                         (self._categorical._num_events,), validate_args)

    @property
    def support(self):
        return constraints.independent(constraints.integer_interval(0, self.total_count), 1)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        p = self.probs
        return self.total_count * p * (1 - p)

    def sample(self, sample_shape=()):
        ss = _size(sample_shape)
        k = self._categorical._num_events
        idx = self._categorical.sample((self.total_count,) + ss)   # (n,) + ss + batch
        counts = _red.sum(_nn.one_hot(idx, k), 0)
        return counts.to(self.probs.dtype)

    def log_prob(self, value):
        v = as_value(value, self.probs)
        check_support(self, v)
        lg = self.logits
        lo = float(np.finfo(lg.dtype.np).min)
        lg = _ew.clamp(lg, lo, None)  # 0 * log(0) = 0
        vl = _ew.where(v == 0, _ew.full_like_traced(v * lg, 0.0), v * lg)
        return (_sp.lgamma(_red.sum(v, -1) + 1) - _red.sum(_sp.lgamma(v + 1), -1) +
                _red.sum(vl, -1))
