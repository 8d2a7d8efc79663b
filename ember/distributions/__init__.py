"""``ember.distributions`` (PyTorch's ``torch.distributions``): distributions with
``sample``/``rsample``/``log_prob``/``entropy``/``mean``/``variance`` (``cdf``/``icdf`` where
they exist), ``constraints``, and ``kl_divergence`` extended by ``register_kl``. The base
class and the first four families live here; the others in submodules re-exported below.
Everything is composed from ember ops, so ``log_prob``/``entropy``/``rsample`` differentiate
(and trace under ``grad``/``jit``/``vmap``)."""
from __future__ import annotations

import math

import numpy as np

from ..core.tensor import Tensor, Size
from ..core.creation import as_tensor as _as_tensor
from .. import ops as _ops  # noqa: F401
from ..ops import elementwise as _ew, reduce as _red, shape as _sh, indexing as _ix
from ..ops import nn_ops as _nn, prng_ops as _prng
from ..random import generator as _rnd
from .. import torch_ops as _to

__all__ = ["Distribution", "Normal", "Bernoulli", "Categorical", "Uniform", "kl_divergence"]


def _tensorize(*values):
    ts = [v if isinstance(v, Tensor) else _as_tensor(float(v)) for v in values]
    if len(ts) > 1:
        shape = tuple(np.broadcast_shapes(*[tuple(t.shape) for t in ts]))
        ts = [_sh.expand(t, shape) if tuple(t.shape) != shape else t for t in ts]
    return ts


def _size(sample_shape):
    if isinstance(sample_shape, int):
        return (sample_shape,)
    return tuple(sample_shape)


class Distribution:
    """The base class: ``batch_shape``, ``event_shape``, ``sample``/``rsample``/``log_prob``/
    ``entropy``; ``validate_args`` (True by default, as PyTorch's) checks the parameters'
    constraints when they are concrete (not inside a ``jit``/``vmap`` trace)."""

    has_rsample = False
    has_enumerate_support = False
    _validate_default = True

    @staticmethod
    def set_default_validate_args(value):
        """Turn parameter/support validation on or off for distributions created afterwards
        without an explicit ``validate_args`` (as PyTorch's).

        >>> ember.distributions.Distribution.set_default_validate_args(False)
        >>> ember.distributions.Normal(0.0, -1.0).scale        # not checked now
        tensor(-1.)
        >>> ember.distributions.Distribution.set_default_validate_args(True)
        """
        if value not in (True, False):
            raise ValueError(f"Distribution.set_default_validate_args: expected True or False, "
                             f"got {value!r}")
        Distribution._validate_default = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        self._validate = bool(validate_args) if validate_args is not None else \
            Distribution._validate_default

    def _check(self, cond_fn, *params):
        """Whether to raise: validation is on, the parameters are concrete and fail."""
        from ..core.primitive import Tracer
        if not self._validate or any(isinstance(p, Tracer) for p in params):
            return False
        ok = _red.all(cond_fn())
        return not isinstance(ok, Tracer) and not bool(ok)

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return _size(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape)

    @property
    def stddev(self):
        return _ew.sqrt(self.variance)

    def sample(self, sample_shape=()):
        from ..core.autograd import no_grad
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sample "
                                  f"(rsample); use sample()")

    def sample_n(self, n):
        return self.sample((n,))

    def perplexity(self):
        """``exp(entropy())``."""
        return _ew.exp(self.entropy())

    def __repr__(self):
        return f"{type(self).__name__}(batch_shape={tuple(self.batch_shape)})"


class Normal(Distribution):
    """The normal distribution with mean ``loc`` and standard deviation ``scale``.

    >>> d = ember.distributions.Normal(ember.tensor([0.]), ember.tensor([2.]))
    >>> d.log_prob(ember.tensor([0.])), d.entropy()
    (tensor([-1.6121]), tensor([2.1121]))
    """

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _tensorize(loc, scale)
        super().__init__(tuple(self.loc.shape), (), validate_args)
        if self._check(lambda: self.scale > 0, self.scale):
            raise ValueError(f"Normal: scale must be positive, got {self.scale}")

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale * self.scale

    def rsample(self, sample_shape=()):
        eps = _rnd.randn(*self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        v = value if isinstance(value, Tensor) else _as_tensor(float(value))
        var = self.scale * self.scale
        return -((v - self.loc) ** 2) / (2 * var) - _ew.log(self.scale) - \
            math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        return 0.5 * (1 + _ew.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value):
        return self.loc + self.scale * _prng.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + _ew.log(self.scale)


class Uniform(Distribution):
    """The uniform distribution on ``[low, high)``.

    >>> d = ember.distributions.Uniform(0.0, 4.0)
    >>> d.log_prob(ember.tensor(1.0)), d.entropy(), d.mean
    (tensor(-1.3863), tensor(1.3863), tensor(2.))
    """

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = _tensorize(low, high)
        super().__init__(tuple(self.low.shape), (), validate_args)
        if self._check(lambda: self.low < self.high, self.low, self.high):
            raise ValueError(f"Uniform: low must be less than high, got low={self.low}, "
                             f"high={self.high}")

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        u = _rnd.rand(*self._extended_shape(sample_shape), dtype=self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        v = value if isinstance(value, Tensor) else _as_tensor(float(value))
        inside = (v >= self.low) & (v < self.high)
        lp = -_ew.log(self.high - self.low)
        return _ew.where(inside, lp, _ew.full_like_traced(lp, -math.inf))

    def cdf(self, value):
        return _ew.clamp((value - self.low) / (self.high - self.low), 0.0, 1.0)

    def entropy(self):
        return _ew.log(self.high - self.low)


def _probs_logits(probs, logits, name, binary):
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: pass exactly one of probs or logits")
    if probs is not None:
        p = probs if isinstance(probs, Tensor) else _as_tensor(probs)
        if not p.dtype.is_floating_point:
            p = p.float()
        return p, None
    lg = logits if isinstance(logits, Tensor) else _as_tensor(logits)
    if not lg.dtype.is_floating_point:
        lg = lg.float()
    return None, lg


class Bernoulli(Distribution):
    """0/1 outcomes with probability ``probs`` (or ``logits``) of a 1.

    >>> d = ember.distributions.Bernoulli(probs=ember.tensor([0.25]))
    >>> d.log_prob(ember.tensor([1.])), d.mean
    (tensor([-1.3863]), tensor([0.2500]))
    """

    def __init__(self, probs=None, logits=None, validate_args=None):
        p, lg = _probs_logits(probs, logits, "Bernoulli", True)
        self._p, self._lg = p, lg
        shape = tuple((p if p is not None else lg).shape)
        super().__init__(shape, (), validate_args)
        if p is not None and self._check(lambda: (p >= 0) & (p <= 1), p):
            raise ValueError(f"Bernoulli: probs must be in [0, 1], got {p}")

    @property
    def probs(self):
        return self._p if self._p is not None else _ew.sigmoid(self._lg)

    @property
    def logits(self):
        if self._lg is not None:
            return self._lg
        eps = float(np.finfo(self._p.dtype.np).eps)
        p = _ew.clamp(self._p, eps, 1 - eps)
        return _ew.log(p) - _ew.log1p(-p)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        p = self.probs
        return p * (1 - p)

    def sample(self, sample_shape=()):
        p = self.probs.detach()
        shape = self._extended_shape(sample_shape)
        return _to.bernoulli(_sh.expand(p, shape) if tuple(p.shape) != shape else p)

    def log_prob(self, value):
        lg = self.logits
        v = value if isinstance(value, Tensor) else _as_tensor(float(value))
        v = v.to(lg.dtype)
        # v * lg - softplus(lg), written stably
        return v * lg - (_ew.maximum(lg, _ew.full_like_traced(lg, 0.0)) +
                         _ew.log1p(_ew.exp(-_ew.abs(lg))))

    def entropy(self):
        lg, p = self.logits, self.probs
        return (_ew.maximum(lg, _ew.full_like_traced(lg, 0.0)) +
                _ew.log1p(_ew.exp(-_ew.abs(lg)))) - p * lg


class Categorical(Distribution):
    """One of ``K`` categories with probabilities ``probs`` (or unnormalised ``logits``)
    along the last dimension.

    >>> d = ember.distributions.Categorical(probs=ember.tensor([0.5, 0.25, 0.25]))
    >>> d.log_prob(ember.tensor(1)), d.entropy()
    (tensor(-1.3863), tensor(1.0397))
    """

    def __init__(self, probs=None, logits=None, validate_args=None):
        p, lg = _probs_logits(probs, logits, "Categorical", False)
        src = p if p is not None else lg
        if src.ndim < 1:
            raise ValueError("Categorical: probs/logits must have at least one dimension")
        if p is not None:
            self._p, self._lg = p / _red.sum(p, -1, keepdim=True), None
        else:
            self._p, self._lg = None, lg - _red.logsumexp(lg, -1, keepdim=True)
        self._num_events = src.shape[-1]
        super().__init__(tuple(src.shape[:-1]), (), validate_args)
        if p is not None and self._check(lambda: p >= 0, p):
            raise ValueError(f"Categorical: probs must be non-negative, got {p}")

    @property
    def probs(self):
        return self._p if self._p is not None else _nn.softmax(self._lg, -1)

    @property
    def logits(self):
        if self._lg is not None:
            return self._lg
        eps = float(np.finfo(self._p.dtype.np).eps)
        return _ew.log(_ew.clamp(self._p, eps, 1.0))

    @property
    def param_shape(self):
        return Size(tuple(self.batch_shape) + (self._num_events,))

    @property
    def mean(self):
        return _ew.full_like_traced(self.probs[..., 0], math.nan)

    def sample(self, sample_shape=()):
        ss = _size(sample_shape)
        n = int(np.prod(ss)) if ss else 1
        p2 = _sh.reshape(self.probs.detach(), (-1, self._num_events))
        draws = _to.multinomial(p2, n, replacement=True)  # (batch, n)
        out = _sh.reshape(_sh.transpose(draws, 0, 1), ss + tuple(self.batch_shape))
        return out

    def log_prob(self, value):
        v = value if isinstance(value, Tensor) else _as_tensor(value)
        lg = self.logits
        shape = tuple(np.broadcast_shapes(tuple(v.shape), tuple(self.batch_shape)))
        v = _sh.expand(v, shape) if tuple(v.shape) != shape else v
        lgb = _sh.expand(lg, shape + (self._num_events,)) \
            if tuple(lg.shape[:-1]) != shape else lg
        return _sh.squeeze(_ix.gather(lgb, -1, _sh.unsqueeze(v.long(), -1)), -1)

    def entropy(self):
        lg = self.logits
        lo = float(np.finfo(lg.dtype.np).min)
        return -_red.sum(_ew.clamp(lg, lo, None) * self.probs, -1)

    def enumerate_support(self, expand=True):
        from ..ops.creation_ops import arange
        vals = arange(self._num_events)
        vals = _sh.reshape(vals, (-1,) + (1,) * len(self.batch_shape))
        return _sh.expand(vals, (self._num_events,) + tuple(self.batch_shape)) if expand else vals


# the submodules below import the classes above from this package
from .constraints import Constraint  # noqa: E402,F401
from . import constraints  # noqa: E402,F401
from .independent import Independent  # noqa: E402
from .univariate import (Exponential, Laplace, LogNormal, Cauchy, Gumbel,  # noqa: E402
                         HalfNormal, HalfCauchy, Pareto, Weibull)
from .discrete import (Geometric, Poisson, Binomial, OneHotCategorical,  # noqa: E402
                       NegativeBinomial, Multinomial)
from .multivariate_normal import MultivariateNormal  # noqa: E402
from .gamma import Gamma, Chi2, Beta, Dirichlet, StudentT, InverseGamma  # noqa: E402
from . import transforms  # noqa: E402,F401
from .transforms import *  # noqa: E402,F401,F403  (torch.distributions re-exports them)
from .transformed_distribution import TransformedDistribution  # noqa: E402
from .mixture_same_family import MixtureSameFamily  # noqa: E402
from .relaxed import (LogitRelaxedBernoulli, RelaxedBernoulli,  # noqa: E402
                      ExpRelaxedCategorical, RelaxedOneHotCategorical,
                      OneHotCategoricalStraightThrough)
from .kl import kl_divergence, register_kl  # noqa: E402
from . import kl  # noqa: E402,F401  (torch.distributions.kl's import path)

__all__ += ["Independent", "Exponential", "Laplace", "LogNormal", "Cauchy", "Gumbel",
            "HalfNormal", "Geometric", "Poisson", "Binomial", "OneHotCategorical",
            "MultivariateNormal", "Gamma", "Chi2", "Beta", "Dirichlet", "StudentT",
            "TransformedDistribution", "MixtureSameFamily", "LogitRelaxedBernoulli",
            "RelaxedBernoulli", "ExpRelaxedCategorical", "RelaxedOneHotCategorical",
            "HalfCauchy", "Pareto", "Weibull", "NegativeBinomial", "Multinomial",
            "InverseGamma", "OneHotCategoricalStraightThrough",
            "register_kl", "constraints", "transforms", "Constraint"] + transforms.__all__
