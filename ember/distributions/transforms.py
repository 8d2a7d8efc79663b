"""``ember.distributions.transforms`` (PyTorch's names): invertible maps with
``log_abs_det_jacobian`` for ``TransformedDistribution``, composed from ember ops so they
differentiate. ``t(x)`` applies, ``t.inv`` is the inverse transform, ``t.domain`` /
``t.codomain`` are constraints (their ``event_dim`` says how many rightmost dims one
application couples).

>>> from ember.distributions.transforms import ExpTransform, AffineTransform, ComposeTransform
>>> t = ComposeTransform([AffineTransform(1.0, 2.0), ExpTransform()])
>>> x = ember.tensor([0.0, 1.0])
>>> t(x)
tensor([ 2.7183, 20.0855])
>>> bool(ember.allclose(t.inv(t(x)), x, atol=1e-6))
True
>>> t.log_abs_det_jacobian(x, t(x))
tensor([1.6931, 3.6931])
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import constraints
from ..core.tensor import Tensor
from ..ops import elementwise as _ew, reduce as _red, nn_ops as _nn

__all__ = [
    "AbsTransform", "AffineTransform", "ComposeTransform", "ExpTransform", "IndependentTransform",
    "PowerTransform", "SigmoidTransform", "SoftmaxTransform", "SoftplusTransform",
    "TanhTransform", "Transform", "identity_transform",
]


def _sum_rightmost(x, n):
    for _ in range(n):
        x = _red.sum(x, -1)
    return x


def _softplus(x):
    return _ew.maximum(x, _ew.full_like_traced(x, 0.0)) + _ew.log1p(_ew.exp(-_ew.abs(x)))


def _clamp_unit(y):
    eps = float(np.finfo(y.dtype.np).eps)
    tiny = float(np.finfo(y.dtype.np).tiny)
    return _ew.clamp(y, tiny, 1 - eps)


class Transform:
    """The base class: subclasses define ``_call``, ``_inverse`` and
    ``log_abs_det_jacobian(x, y)``; ``bijective``, ``sign``, ``domain``, ``codomain``."""

    bijective = False
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size=0):
        if cache_size not in (0, 1):
            raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got "
                             f"{cache_size}")
        self._cache_size = cache_size
        self._cached = None
        self._inv = None

    @property
    def event_dim(self):
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError(f"{type(self).__name__}: domain and codomain event dims differ; "
                         f"use domain.event_dim or codomain.event_dim")

    @property
    def inv(self):
        if self._inv is None:
            self._inv = _InverseTransform(self)
        return self._inv

    @property
    def sign(self):
        raise NotImplementedError(f"{type(self).__name__}: sign is not defined")

    def __call__(self, x):
        if self._cache_size:
            if self._cached is not None and self._cached[0] is x:
                return self._cached[1]
            y = self._call(x)
            self._cached = (x, y)
            return y
        return self._call(x)

    def _inv_call(self, y):
        if self._cache_size and self._cached is not None and self._cached[1] is y:
            return self._cached[0]
        x = self._inverse(y)
        if self._cache_size:
            self._cached = (x, y)
        return x

    def _call(self, x):
        raise NotImplementedError(f"{type(self).__name__}: forward is not implemented")

    def _inverse(self, y):
        raise NotImplementedError(f"{type(self).__name__}: inverse is not implemented")

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError(f"{type(self).__name__}.log_abs_det_jacobian: not "
                                  f"implemented (the transform is not bijective)")

    def forward_shape(self, shape):
        return shape

    def inverse_shape(self, shape):
        return shape

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        raise NotImplementedError(f"{type(self).__name__}.with_cache: not supported")

    def __repr__(self):
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    def __init__(self, transform):
        super().__init__(transform._cache_size)
        self._inv = transform

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self):
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self):
        return self._inv

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def __repr__(self):
        return f"_InverseTransform({self._inv!r})"


class ComposeTransform(Transform):
    """``parts`` applied left to right; the log-det sums the parts' (each summed over the
    composition's event dims).

    >>> t = ember.distributions.transforms.ComposeTransform(
    ...     [ember.distributions.transforms.ExpTransform()] * 2)
    >>> t(ember.tensor(0.0))
    tensor(2.7183)
    """

    def __init__(self, parts, cache_size=0):
        super().__init__(cache_size)
        self.parts = list(parts)

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        s = 1
        for p in self.parts:
            s = s * p.sign
        return s

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        return self.parts[0].domain if self._ev() == self.parts[0].domain.event_dim else \
            constraints.independent(self.parts[0].domain,
                                    self._ev() - self.parts[0].domain.event_dim)

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        last = self.parts[-1].codomain
        return last if self._ev() == last.event_dim else \
            constraints.independent(last, self._ev() - last.event_dim)

    def _ev(self):
        return max([p.domain.event_dim for p in self.parts] +
                   [p.codomain.event_dim for p in self.parts] + [0])

    @property
    def inv(self):
        if self._inv is None:
            self._inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv._inv = self
        return self._inv

    def _call(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def _inverse(self, y):
        for p in reversed(self.parts):
            y = p.inv(y)
        return y

    def _inv_call(self, y):
        return self._inverse(y)

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return _ew.full_like_traced(x, 0.0)
        ev = self._ev()
        total = 0
        for p in self.parts:
            y_p = p(x)
            total = total + _sum_rightmost(p.log_abs_det_jacobian(x, y_p),
                                           ev - p.domain.event_dim)
            x = y_p
        return total

    def forward_shape(self, shape):
        for p in self.parts:
            shape = p.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for p in reversed(self.parts):
            shape = p.inverse_shape(shape)
        return shape

    def __repr__(self):
        return "ComposeTransform(" + ", ".join(repr(p) for p in self.parts) + ")"


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """``base_transform`` with ``reinterpreted_batch_ndims`` more event dims: its log-det is
    summed over them."""

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size=0):
        super().__init__(cache_size)
        self.base_transform = base_transform
        self.reinterpreted_batch_ndims = int(reinterpreted_batch_ndims)

    @property
    def domain(self):
        return constraints.independent(self.base_transform.domain,
                                       self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return constraints.independent(self.base_transform.codomain,
                                       self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        return self.base_transform(x)

    def _inverse(self, y):
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return _sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y),
                              self.reinterpreted_batch_ndims)


class ExpTransform(Transform):
    """``y = exp(x)``."""

    domain, codomain = constraints.real, constraints.positive
    bijective, sign = True, 1

    def _call(self, x):
        return _ew.exp(x)

    def _inverse(self, y):
        return _ew.log(y)

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """``y = x ** exponent`` on positive ``x``."""

    domain, codomain = constraints.positive, constraints.positive
    bijective = True

    def __init__(self, exponent, cache_size=0):
        super().__init__(cache_size)
        self.exponent = exponent

    @property
    def sign(self):
        e = self.exponent
        return _ew.sign(e) if isinstance(e, Tensor) else (1 if e > 0 else -1)

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        e = self.exponent
        return _ew.log(_ew.abs(e * y / x)) if isinstance(e, Tensor) else \
            math.log(abs(e)) + _ew.log(_ew.abs(y / x))


class SigmoidTransform(Transform):
    """``y = sigmoid(x)`` onto the unit interval."""

    domain, codomain = constraints.real, constraints.unit_interval
    bijective, sign = True, 1

    def _call(self, x):
        return _clamp_unit(_ew.sigmoid(x))

    def _inverse(self, y):
        y = _clamp_unit(y)
        return _ew.log(y) - _ew.log1p(-y)

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x) - _softplus(x)


class SoftplusTransform(Transform):
    """``y = log(1 + exp(x))`` onto the positive reals."""

    domain, codomain = constraints.real, constraints.positive
    bijective, sign = True, 1

    def _call(self, x):
        return _softplus(x)

    def _inverse(self, y):
        return y + _ew.log(-_ew.expm1(-y))

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x)


class TanhTransform(Transform):
    """``y = tanh(x)`` onto (-1, 1) (the squashing of SAC-style policies)."""

    domain, codomain = constraints.real, constraints.interval(-1.0, 1.0)
    bijective, sign = True, 1

    def _call(self, x):
        return _ew.tanh(x)

    def _inverse(self, y):
        eps = float(np.finfo(y.dtype.np).eps)
        y = _ew.clamp(y, -1 + eps, 1 - eps)
        return 0.5 * (_ew.log1p(y) - _ew.log1p(-y))

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - _softplus(-2.0 * x))


class AbsTransform(Transform):
    """``y = |x|`` (not bijective: its inverse picks the non-negative root)."""

    domain, codomain = constraints.real, constraints.positive

    def _call(self, x):
        return _ew.abs(x)

    def _inverse(self, y):
        return y


class AffineTransform(Transform):
    """``y = loc + scale * x``; ``event_dim`` rightmost dims form one event (the log-det is
    summed over them).

    >>> t = ember.distributions.transforms.AffineTransform(1.0, -2.0)
    >>> t(ember.tensor(3.0)), t.inv(ember.tensor(-5.0)), t.sign
    (tensor(-5.), tensor(3.), -1)
    """

    bijective = True

    def __init__(self, loc, scale, event_dim=0, cache_size=0):
        super().__init__(cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, int(event_dim)

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def domain(self):
        return constraints.real if self._event_dim == 0 else \
            constraints.independent(constraints.real, self._event_dim)

    codomain = domain

    @property
    def sign(self):
        s = self.scale
        if isinstance(s, numbers.Real):
            return 1 if float(s) > 0 else -1 if float(s) < 0 else 0
        return _ew.sign(s)

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        s = self.scale
        if isinstance(s, numbers.Real):
            r = _ew.full_like_traced(x, math.log(abs(float(s))))
        else:
            r = _ew.log(_ew.abs(s)) + _ew.full_like_traced(x, 0.0)
        return _sum_rightmost(r, self._event_dim)


class SoftmaxTransform(Transform):
    """``y = softmax(x)`` along the last dim onto the simplex (not bijective: the inverse
    is ``log(y)``, defined up to a constant; no log-det)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        return _nn.softmax(x, -1)

    def _inverse(self, y):
        return _ew.log(y)
