"""``MultivariateNormal``: a Gaussian over vectors, parameterized by ``loc`` and one of
``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (its lower Cholesky factor), batched
over leading dims; ``rsample`` is ``loc + L @ eps``."""
from __future__ import annotations

import math

import numpy as np

from . import Distribution
from . import constraints
from .utils import as_value, require
from ..core.tensor import Tensor
from ..core.creation import as_tensor as _as_tensor
from ..ops import elementwise as _ew, reduce as _red, shape as _sh
from ..ops import linalg as _la, linalg_decomp as _ld
from ..random import generator as _rnd

__all__ = ["MultivariateNormal"]


def _f(x):
    t = x if isinstance(x, Tensor) else _as_tensor(np.asarray(x, dtype=np.float32))
    return t if t.dtype.is_floating_point else t.float()


def _expand(t, shape):
    return _sh.expand(t, tuple(shape)) if tuple(t.shape) != tuple(shape) else t


def _tri_solve_vec(L, v):
    """``L^{-1} v`` for lower-triangular ``L`` (..., k, k) and vectors ``v`` (..., k)."""
    return _sh.squeeze(_ld.solve_triangular(L, _sh.unsqueeze(v, -1), upper=False), -1)


def _half_log_det(L):
    return _red.sum(_ew.log(_ld.diagonal(L, 0, -2, -1)), -1)


class MultivariateNormal(Distribution):
    """A multivariate normal with mean ``loc`` (``(..., k)``) and exactly one of
    ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (``(..., k, k)``).

    >>> d = ember.distributions.MultivariateNormal(ember.zeros(2), ember.eye(2))
    >>> d.log_prob(ember.zeros(2)), d.entropy()
    (tensor(-1.8379), tensor(2.8379))
    >>> d.rsample((5,)).shape
    ember.Size([5, 2])
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("MultivariateNormal: pass exactly one of covariance_matrix, "
                             "precision_matrix or scale_tril")
        loc = _f(loc)
        if loc.ndim < 1:
            raise ValueError("MultivariateNormal: loc must be at least one-dimensional (the "
                             f"event is its last dim), got shape {tuple(loc.shape)}")
        name, mat = [(n, m) for n, m in zip(("covariance_matrix", "precision_matrix",
                                             "scale_tril"),
                                            (covariance_matrix, precision_matrix, scale_tril))
                     if m is not None][0]
        mat = _f(mat)
        if mat.ndim < 2 or mat.shape[-1] != mat.shape[-2] or mat.shape[-1] != loc.shape[-1]:
            raise ValueError(f"MultivariateNormal: {name} must be (..., k, k) with k = "
                             f"loc.shape[-1] = {loc.shape[-1]}, got shape {tuple(mat.shape)}")
        k = loc.shape[-1]
        batch = tuple(np.broadcast_shapes(tuple(mat.shape[:-2]), tuple(loc.shape[:-1])))
        super().__init__(batch, (k,), validate_args)
        require(self, name, self.arg_constraints[name], mat)
        if name == "scale_tril":
            L = mat
            self.scale_tril_param = mat
        elif name == "covariance_matrix":
            L = _ld.cholesky(mat)
            self.covariance_matrix_param = mat
        else:
            L = _ld.cholesky(_ld.inv(mat))
            self.precision_matrix_param = mat
        self._param_name = name
        self._unbroadcasted_scale_tril = L
        self.loc = _expand(loc, batch + (k,))

    @property
    def scale_tril(self):
        return _expand(self._unbroadcasted_scale_tril, tuple(self.batch_shape) +
                       tuple(self.event_shape) * 2)

    @property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return _expand(_la.matmul(L, L.mT), tuple(self.batch_shape) + tuple(self.event_shape) * 2)

    @property
    def precision_matrix(self):
        if self._param_name == "precision_matrix":
            return _expand(self.precision_matrix_param,
                           tuple(self.batch_shape) + tuple(self.event_shape) * 2)
        return _ld.inv(self.covariance_matrix)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        L = self._unbroadcasted_scale_tril
        return _expand(_red.sum(L * L, -1), tuple(self.batch_shape) + tuple(self.event_shape))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = _rnd.randn(*shape, dtype=self.loc.dtype)
        L = self._unbroadcasted_scale_tril
        return self.loc + _sh.squeeze(_la.matmul(L, _sh.unsqueeze(eps, -1)), -1)

    def log_prob(self, value):
        v = as_value(value, self.loc)
        diff = v - self.loc
        L = self._unbroadcasted_scale_tril
        lead = tuple(diff.shape[:-1])
        Lb = _expand(L, lead + tuple(L.shape[-2:])) if tuple(L.shape[:-2]) != lead else L
        z = _tri_solve_vec(Lb, diff)
        m = _red.sum(z * z, -1)
        k = self.event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + m) - _half_log_det(L)

    def entropy(self):
        k = self.event_shape[0]
        h = 0.5 * k * (1.0 + math.log(2 * math.pi)) + _half_log_det(self._unbroadcasted_scale_tril)
        return _expand(h, tuple(self.batch_shape))
