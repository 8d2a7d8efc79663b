"""``Independent``: reinterpret some of a distribution's batch dims as event dims."""
from __future__ import annotations

from . import Distribution
from . import constraints
from ..ops import reduce as _red

__all__ = ["Independent"]


def _sum_rightmost(x, n):
    for _ in range(n):
        x = _red.sum(x, -1)
    return x


class Independent(Distribution):
    """``base_distribution`` with its ``reinterpreted_batch_ndims`` rightmost batch dims turned
    into event dims: ``log_prob`` and ``entropy`` sum over them.

    >>> base = ember.distributions.Normal(ember.zeros(3), ember.ones(3))
    >>> d = ember.distributions.Independent(base, 1)
    >>> d.batch_shape, d.event_shape
    (ember.Size([]), ember.Size([3]))
    >>> d.log_prob(ember.zeros(3))
    tensor(-2.7568)
    """

    arg_constraints = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        bs = tuple(base_distribution.batch_shape)
        if n < 0 or n > len(bs):
            raise ValueError(f"Independent: reinterpreted_batch_ndims must be in [0, "
                             f"{len(bs)}] (the base distribution's batch_shape is {bs}), "
                             f"got {reinterpreted_batch_ndims}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        cut = len(bs) - n
        super().__init__(bs[:cut], bs[cut:] + tuple(base_distribution.event_shape),
                         validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return False if self.reinterpreted_batch_ndims > 0 else \
            getattr(self.base_dist, "has_enumerate_support", False)

    @property
    def support(self):
        s = getattr(self.base_dist, "support", None)
        if s is None or self.reinterpreted_batch_ndims == 0:
            return s
        return constraints.independent(s, self.reinterpreted_batch_ndims)

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def cdf(self, value):
        raise NotImplementedError("Independent.cdf: not defined (as in PyTorch)")

    def __repr__(self):
        return (f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})")
