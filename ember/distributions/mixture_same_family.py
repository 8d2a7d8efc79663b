"""``MixtureSameFamily``: a Categorical choice among ``K`` components of one family."""
from __future__ import annotations

from . import Distribution, Categorical
from .utils import as_value
from ..ops import elementwise as _ew, reduce as _red, shape as _sh, indexing as _ix
from ..ops import nn_ops as _nn

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """A mixture whose weights are ``mixture_distribution`` (a ``Categorical`` over the
    rightmost batch dim of ``component_distribution``).

    >>> from ember.distributions import Categorical, Normal, MixtureSameFamily
    >>> mix = Categorical(probs=ember.tensor([0.5, 0.5]))
    >>> d = MixtureSameFamily(mix, Normal(ember.tensor([-1.0, 1.0]), ember.tensor([1.0, 1.0])))
    >>> d.log_prob(ember.tensor(0.0)), d.mean, d.variance
    (tensor(-1.4189), tensor(0.), tensor(2.))
    """

    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("MixtureSameFamily: mixture_distribution must be a Categorical, "
                             f"got {type(mixture_distribution).__name__}")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("MixtureSameFamily: component_distribution must be a "
                             f"Distribution, got {type(component_distribution).__name__}")
        cb = tuple(component_distribution.batch_shape)
        mb = tuple(mixture_distribution.batch_shape)
        k = mixture_distribution._num_events
        if not cb or cb[-1] != k:
            raise ValueError(f"MixtureSameFamily: the component distribution's rightmost "
                             f"batch dim must equal the number of mixture components ({k}); "
                             f"its batch_shape is {cb}")
        try:
            import numpy as np
            np.broadcast_shapes(mb, cb[:-1])
        except ValueError:
            raise ValueError(f"MixtureSameFamily: the mixture's batch_shape {mb} does not "
                             f"broadcast with the components' {cb[:-1]}") from None
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cb[:-1], tuple(component_distribution.event_shape), validate_args)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @property
    def support(self):
        return getattr(self._component_distribution, "support", None)

    def _pad_probs(self):
        p = self._mixture_distribution.probs
        for _ in range(self._event_ndims):
            p = _sh.unsqueeze(p, -1)
        return p

    @property
    def mean(self):
        p = self._pad_probs()
        return _red.sum(p * self._component_distribution.mean, -1 - self._event_ndims)

    @property
    def variance(self):
        p = self._pad_probs()
        dim = -1 - self._event_ndims
        comp_mean = self._component_distribution.mean
        m = _red.sum(p * comp_mean, dim)
        within = _red.sum(p * self._component_distribution.variance, dim)
        between = _red.sum(p * (comp_mean - _sh.unsqueeze(m, dim)) ** 2, dim)
        return within + between

    def cdf(self, value):
        v = _sh.unsqueeze(as_value(value), -1 - self._event_ndims)
        return _red.sum(self._component_distribution.cdf(v) * self._mixture_distribution.probs,
                        -1)

    def log_prob(self, value):
        v = _sh.unsqueeze(as_value(value), -1 - self._event_ndims)
        lp = self._component_distribution.log_prob(v)
        lw = _nn.log_softmax(self._mixture_distribution.logits, -1)
        return _red.logsumexp(lp + lw, -1)

    def sample(self, sample_shape=()):
        from ..core.autograd import no_grad
        with no_grad():
            ss = tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)
            idx = self._mixture_distribution.sample(ss)          # ss + mix batch
            comps = self._component_distribution.sample(ss)      # ss + batch + (K,) + event
            batch = tuple(self.batch_shape)
            idx = _sh.expand(idx, ss + batch) if tuple(idx.shape) != ss + batch else idx
            ev = tuple(self.event_shape)
            idx = _sh.reshape(idx, ss + batch + (1,) + (1,) * len(ev))
            idx = _sh.expand(idx, ss + batch + (1,) + ev)
            out = _ix.gather(comps, len(ss) + len(batch), idx)
            return _sh.squeeze(out, len(ss) + len(batch))
