"""``TransformedDistribution``: a base distribution pushed through transforms; ``log_prob`` by
the change of variables (inverse each transform, subtract its log-det)."""
from __future__ import annotations

from . import Distribution
from .independent import Independent, _sum_rightmost
from .transforms import Transform, ComposeTransform
from .utils import as_value

__all__ = ["TransformedDistribution"]


class TransformedDistribution(Distribution):
    """``Y = t_n(...t_1(X))`` for ``X ~ base_distribution`` and ``transforms`` ``[t_1..t_n]``.

    >>> from ember.distributions import Normal, TransformedDistribution
    >>> from ember.distributions.transforms import ExpTransform
    >>> d = TransformedDistribution(Normal(0.0, 1.0), [ExpTransform()])   # a log-normal
    >>> d.log_prob(ember.tensor(1.0))
    tensor(-0.9189)
    """

    arg_constraints = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        transforms = list(transforms)
        for t in transforms:
            if not isinstance(t, Transform):
                raise ValueError(f"TransformedDistribution: transforms must be Transform "
                                 f"instances, got {type(t).__name__}")
        self.transforms = transforms
        chain = ComposeTransform(transforms)
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        extra = chain.domain.event_dim - len(base_distribution.event_shape)
        if extra > 0:
            base_distribution = Independent(base_distribution, extra)
        self.base_dist = base_distribution
        change = chain.codomain.event_dim - chain.domain.event_dim
        event_dim = max(chain.codomain.event_dim, len(base_distribution.event_shape) + change)
        out_shape = tuple(chain.forward_shape(shape))
        cut = len(out_shape) - event_dim
        super().__init__(out_shape[:cut], out_shape[cut:], validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def support(self):
        return self.transforms[-1].codomain if self.transforms else \
            getattr(self.base_dist, "support", None)

    def sample(self, sample_shape=()):
        x = self.base_dist.sample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def rsample(self, sample_shape=()):
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value):
        y = as_value(value)
        event_dim = len(self.event_shape)
        lp = 0.0
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            lp = lp - _sum_rightmost(t.log_abs_det_jacobian(x, y),
                                     event_dim - t.domain.event_dim)
            y = x
        return lp + _sum_rightmost(self.base_dist.log_prob(y),
                                   event_dim - len(self.base_dist.event_shape))

    def _monotone_sign(self):
        s = 1
        for t in self.transforms:
            s = s * t.sign
        return s

    def cdf(self, value):
        v = as_value(value)
        for t in reversed(self.transforms):
            v = t.inv(v)
        c = self.base_dist.cdf(v)
        s = self._monotone_sign()
        return c if (isinstance(s, int) and s == 1) else \
            (1 - c if isinstance(s, int) else s * (c - 0.5) + 0.5)

    def icdf(self, value):
        v = as_value(value)
        s = self._monotone_sign()
        if not isinstance(s, int):
            v = s * (v - 0.5) + 0.5
        elif s == -1:
            v = 1 - v
        x = self.base_dist.icdf(v)
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return f"TransformedDistribution({self.base_dist!r}, {self.transforms!r})"
