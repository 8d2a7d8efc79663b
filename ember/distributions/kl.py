"""``kl_divergence(p, q)`` and the ``register_kl`` registry (PyTorch's
``torch.distributions.kl``): a formula is registered for a pair of distribution types and the
most specific registered pair (by the two types' MROs) answers."""
from __future__ import annotations

import math

from . import Normal, Bernoulli, Categorical, Uniform
from .independent import Independent, _sum_rightmost
from .univariate import (Exponential, Laplace, LogNormal, Cauchy, Gumbel, HalfNormal,
                         Pareto)
from .discrete import Geometric, Poisson, Binomial, OneHotCategorical
from .multivariate_normal import MultivariateNormal, _tri_solve_vec, _half_log_det
from .gamma import Gamma, Beta, Dirichlet
from ..ops import elementwise as _ew, reduce as _red, special as _sp

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY = {}
_KL_MEMO = {}


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as ``KL(p || q)`` for ``p`` of ``type_p`` and ``q``
    of ``type_q`` (subclasses included; the most specific registration wins).

    >>> from ember.distributions import register_kl, kl_divergence, Normal
    >>> class MyNormal(Normal): pass
    >>> @register_kl(MyNormal, MyNormal)
    ... def _kl_mine(p, q):
    ...     return ember.tensor(42.0)
    >>> kl_divergence(MyNormal(0., 1.), MyNormal(0., 1.))
    tensor(42.)
    """
    from . import Distribution
    for t in (type_p, type_q):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"register_kl: expected Distribution subclasses, got {t!r}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        _KL_MEMO.clear()
        return fn
    return decorator


def _dispatch(tp, tq):
    best, best_key = None, None
    mp, mq = tp.__mro__, tq.__mro__
    for (a, b), fn in _KL_REGISTRY.items():
        if a in mp and b in mq:
            key = (mp.index(a) + mq.index(b), mp.index(a))
            if best_key is None or key < best_key:
                best, best_key = fn, key
    return best


def kl_divergence(p, q):
    """``KL(p || q)``, batched over the distributions' batch shape, as
    ``torch.distributions.kl_divergence``; pairs are added with ``register_kl``.

    >>> p = ember.distributions.Normal(0.0, 1.0)
    >>> q = ember.distributions.Normal(1.0, 2.0)
    >>> ember.distributions.kl_divergence(p, q)
    tensor(0.4431)
    """
    key = (type(p), type(q))
    fn = _KL_MEMO.get(key)
    if fn is None:
        fn = _dispatch(*key)
        if fn is None:
            pairs = sorted(f"({a.__name__}, {b.__name__})" for a, b in _KL_REGISTRY)
            raise NotImplementedError(
                f"kl_divergence: no formula registered for ({type(p).__name__}, "
                f"{type(q).__name__}); register one with @register_kl. Registered pairs: "
                f"{', '.join(pairs)}")
        _KL_MEMO[key] = fn
    return fn(p, q)


def _inf_where(cond, x):
    return _ew.where(cond, _ew.full_like_traced(x, math.inf), x)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - _ew.log(var_ratio))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = _ew.where(p.probs == 0, _ew.full_like_traced(t, 0.0), t)
    return _red.sum(t, -1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    pp = p.probs
    t1 = pp * (_ew.softplus(-q.logits) - _ew.softplus(-p.logits))
    t2 = (1 - pp) * (_ew.softplus(q.logits) - _ew.softplus(p.logits))
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    res = _ew.log((q.high - q.low) / (p.high - p.low))
    return _inf_where((q.low > p.low) | (q.high < p.high), res)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(
            f"kl_divergence: Independent distributions with different "
            f"reinterpreted_batch_ndims ({p.reinterpreted_batch_ndims} and "
            f"{q.reinterpreted_batch_ndims}) are not supported")
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - 1 - _ew.log(ratio)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs = _ew.abs(p.loc - q.loc)
    return -_ew.log(scale_ratio) + loc_abs / q.scale + \
        scale_ratio * _ew.exp(-loc_abs / p.scale) - 1


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    t1 = ((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log()
    t2 = (4 * p.scale * q.scale).log()
    return t1 - t2


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    ct1 = p.scale / q.scale
    ct2 = q.loc / q.scale
    ct3 = p.loc / q.scale
    t1 = -_ew.log(ct1) - ct2 + ct3
    t2 = ct1 * 0.57721566490153286061
    t3 = _ew.exp(ct2 + _sp.lgamma(1 + ct1) - ct3)
    return t1 + t2 + t3 - (1 + 0.57721566490153286061)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    return -p.entropy() - _ew.log1p(-q.probs) / p.probs - q.logits


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (_ew.log(p.rate) - _ew.log(q.rate)) - (p.rate - q.rate)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    from ..core.primitive import Tracer
    if not any(isinstance(t, Tracer) for t in (p.total_count, q.total_count)) and \
            bool(_red.any(p.total_count < q.total_count)):
        raise NotImplementedError("kl_divergence: Binomial(p) vs Binomial(q) with p's "
                                  "total_count below q's has no formula here (as in PyTorch); "
                                  f"got {p.total_count} and {q.total_count}")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + _ew.log1p(-p.probs) -
                          _ew.log1p(-q.probs))
    return _inf_where(p.total_count > q.total_count, kl)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    t1 = q.concentration * _ew.log(p.rate / q.rate)
    t2 = _sp.lgamma(q.concentration) - _sp.lgamma(p.concentration)
    t3 = (p.concentration - q.concentration) * _sp.digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    sp_, sq = p.concentration1 + p.concentration0, q.concentration1 + q.concentration0
    lb_q = _sp.lgamma(q.concentration1) + _sp.lgamma(q.concentration0) - _sp.lgamma(sq)
    lb_p = _sp.lgamma(p.concentration1) + _sp.lgamma(p.concentration0) - _sp.lgamma(sp_)
    return (lb_q - lb_p + (p.concentration1 - q.concentration1) * _sp.digamma(p.concentration1) +
            (p.concentration0 - q.concentration0) * _sp.digamma(p.concentration0) +
            (sq - sp_) * _sp.digamma(sp_))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    cp, cq = p.concentration, q.concentration
    sp_, sq = _red.sum(cp, -1), _red.sum(cq, -1)
    t1 = _sp.lgamma(sp_) - _sp.lgamma(sq)
    t2 = _red.sum(_sp.lgamma(cp) - _sp.lgamma(cq), -1)
    t4 = _sp.digamma(cp) - _sp.digamma(sp_).unsqueeze(-1)
    return t1 - t2 + _red.sum((cp - cq) * t4, -1)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: MultivariateNormal event shapes differ "
                         f"({tuple(p.event_shape)} and {tuple(q.event_shape)})")
    from ..ops import linalg_decomp as _ld, shape as _sh
    import numpy as np
    pL, qL = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    k = p.event_shape[0]
    batch = tuple(np.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape)))
    qLb, pLb = _sh.expand(qL, batch + (k, k)), _sh.expand(pL, batch + (k, k))
    half_t1 = _half_log_det(qL) - _half_log_det(pL)
    m = _ld.solve_triangular(qLb, pLb, upper=False)
    t2 = _red.sum(_red.sum(m * m, -1), -1)
    z = _tri_solve_vec(qLb, _sh.expand(q.loc - p.loc, batch + (k,)))
    t3 = _red.sum(z * z, -1)
    return half_t1 + 0.5 * (t2 + t3 - k)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    e_logx = _ew.log(p.scale) + p.alpha.reciprocal()
    res = (_ew.log(p.alpha / q.alpha) + p.alpha * _ew.log(p.scale) -
           q.alpha * _ew.log(q.scale) + (q.alpha - p.alpha) * e_logx)
    return _inf_where(p.scale < q.scale, res)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    e_logx = -0.57721566490153286061 - _ew.log(p.rate)
    a, b = q.concentration, q.rate
    return (_ew.log(p.rate) - 1 - a * _ew.log(b) - (a - 1) * e_logx + b / p.rate +
            _sp.lgamma(a))


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    a, b = p.concentration, p.rate
    return -p.entropy() - _ew.log(q.rate) + q.rate * a / b
