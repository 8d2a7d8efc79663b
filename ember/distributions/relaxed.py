"""Continuous relaxations of discrete draws (Concrete / Gumbel-softmax):
``RelaxedBernoulli``, ``RelaxedOneHotCategorical`` and their logit-space bases
``LogitRelaxedBernoulli``, ``ExpRelaxedCategorical``; all with ``rsample``."""
from __future__ import annotations

import math

from . import Distribution, Bernoulli, Categorical, _tensorize
from .discrete import OneHotCategorical
from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import SigmoidTransform, ExpTransform
from .utils import as_value, clamp_probs, require
from ..ops import elementwise as _ew, reduce as _red, special as _sp
from ..random import generator as _rnd

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli", "ExpRelaxedCategorical",
           "RelaxedOneHotCategorical", "OneHotCategoricalStraightThrough"]


def _temperature(t, like):
    (t,) = _tensorize(t)
    return t.to(like.dtype) if t.dtype != like.dtype else t


class LogitRelaxedBernoulli(Distribution):
    """The logit of a ``RelaxedBernoulli`` draw (the distribution over the reals)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._bern = Bernoulli(probs=probs, logits=logits, validate_args=validate_args)
        src = self._bern._p if self._bern._p is not None else self._bern._lg
        self.temperature = _temperature(temperature, src)
        super().__init__(tuple(src.shape), (), validate_args)
        require(self, "temperature", constraints.positive, self.temperature)

    @property
    def probs(self):
        return self._bern.probs

    @property
    def logits(self):
        return self._bern.logits

    def rsample(self, sample_shape=()):
        p = clamp_probs(self.probs)
        u = clamp_probs(_rnd.rand(*self._extended_shape(sample_shape), dtype=p.dtype))
        return (_ew.log(u) - _ew.log1p(-u) + _ew.log(p) - _ew.log1p(-p)) / self.temperature

    def log_prob(self, value):
        v = as_value(value, self.logits)
        diff = self.logits - v * self.temperature
        return _ew.log(self.temperature) + diff - 2 * _ew.log1p(_ew.exp(diff))


class RelaxedBernoulli(TransformedDistribution):
    """A relaxed Bernoulli on (0, 1) at ``temperature`` (``sigmoid`` of a
    ``LogitRelaxedBernoulli``); low temperatures approach 0/1 draws.

    >>> d = ember.distributions.RelaxedBernoulli(ember.tensor(0.5), probs=ember.tensor(0.3))
    >>> d.log_prob(ember.tensor(0.2))
    tensor(-0.2528)
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits, validate_args)
        super().__init__(base, [SigmoidTransform()], validate_args)

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def probs(self):
        return self.base_dist.probs

    @property
    def logits(self):
        return self.base_dist.logits


class ExpRelaxedCategorical(Distribution):
    """The log of a ``RelaxedOneHotCategorical`` draw (a point of log-simplex)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        self.temperature = _temperature(temperature, self._categorical.logits)
        super().__init__(tuple(self._categorical.batch_shape),
                         (self._categorical._num_events,), validate_args)
        require(self, "temperature", constraints.positive, self.temperature)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    def rsample(self, sample_shape=()):
        lg = self.logits
        u = clamp_probs(_rnd.rand(*self._extended_shape(sample_shape), dtype=lg.dtype))
        gumbels = -_ew.log(-_ew.log(u))
        scores = (lg + gumbels) / self.temperature
        return scores - _red.logsumexp(scores, -1, keepdim=True)

    def log_prob(self, value):
        k = self._categorical._num_events
        v = as_value(value, self.logits)
        log_scale = math.lgamma(k) + (k - 1) * _ew.log(self.temperature)
        score = self.logits - v * self.temperature
        score = _red.sum(score - _red.logsumexp(score, -1, keepdim=True), -1)
        return score + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    """The Gumbel-softmax (Concrete) relaxation of a one-hot categorical at ``temperature``.

    >>> d = ember.distributions.RelaxedOneHotCategorical(
    ...     ember.tensor(0.5), probs=ember.tensor([0.2, 0.3, 0.5]))
    >>> d.log_prob(ember.tensor([0.1, 0.2, 0.7]))
    tensor(0.2764)
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args)
        super().__init__(base, [ExpTransform()], validate_args)

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def probs(self):
        return self.base_dist.probs

    @property
    def logits(self):
        return self.base_dist.logits


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """A ``OneHotCategorical`` whose ``rsample`` is the one-hot draw with the straight-through
    gradient of ``probs`` (the draw's value, ``probs``' gradient).

    >>> p = ember.tensor([0.2, 0.8], requires_grad=True)
    >>> s = ember.distributions.OneHotCategoricalStraightThrough(probs=p).rsample()
    >>> (s * ember.tensor([1.0, 2.0])).sum().backward()
    >>> p.grad                  # through the normalised probs
    tensor([-0.8000, 0.2000])
    """

    has_rsample = True

    def rsample(self, sample_shape=()):
        s = self.sample(sample_shape)
        p = self.probs
        return s + (p - p.detach())
