"""``ember.distributions.constraints`` (PyTorch's names): the sets a distribution's parameters
and samples live in. ``constraint.check(value)`` gives a bool tensor (one entry per batch
element for constraints on events, ``event_dim`` says how many rightmost dims form one event).

>>> from ember.distributions import constraints
>>> constraints.positive.check(ember.tensor([1.0, -1.0]))
tensor([ True, False])
>>> constraints.simplex.check(ember.tensor([0.25, 0.75]))
tensor(True)
"""
from __future__ import annotations

import math

from ..core.tensor import Tensor
from ..core.creation import as_tensor as _as_tensor
from ..ops import elementwise as _ew, reduce as _red

__all__ = [
    "Constraint", "boolean", "cat", "corr_cholesky", "dependent", "dependent_property",
    "greater_than", "greater_than_eq", "half_open_interval", "independent", "integer_interval",
    "interval", "is_dependent", "less_than", "lower_cholesky", "lower_triangular",
    "nonnegative", "nonnegative_integer", "one_hot", "positive", "positive_definite",
    "positive_integer", "positive_semidefinite", "real", "real_vector", "simplex", "square",
    "stack", "symmetric", "unit_interval",
]


def _t(v):
    return v if isinstance(v, Tensor) else _as_tensor(v)


class Constraint:
    """A region of values; ``check(value)`` is a bool tensor, ``event_dim`` the number of
    rightmost dims a single check covers, ``is_discrete`` whether the set is countable."""

    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__.lstrip("_") + "()"


class _Dependent(Constraint):
    """A placeholder for a support that depends on other parameters (no check)."""

    def __init__(self, *, is_discrete=False, event_dim=0):
        self.is_discrete, self.event_dim = is_discrete, event_dim

    def __call__(self, *, is_discrete=None, event_dim=None):
        return _Dependent(is_discrete=self.is_discrete if is_discrete is None else is_discrete,
                          event_dim=self.event_dim if event_dim is None else event_dim)

    def check(self, value):
        raise ValueError("constraints.dependent: cannot check a dependent constraint; it "
                         "depends on the distribution's other parameters")


def is_dependent(constraint):
    """Whether ``constraint`` is ``constraints.dependent`` (a parameter-dependent support)."""
    return isinstance(constraint, _Dependent)


class dependent_property(property):
    """A ``property`` that also reads as a dependent constraint in ``arg_constraints``."""

    def __init__(self, fget=None, fset=None, fdel=None, doc=None, *, is_discrete=False,
                 event_dim=0):
        super().__init__(fget, fset, fdel, doc)
        self.is_discrete, self.event_dim = is_discrete, event_dim


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        v = _t(value)
        return (v == 0) | (v == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value):
        v = _t(value)
        return _red.all((v == 0) | (v == 1), -1) & (_red.sum(v, -1) == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        v = _t(value)
        return (v % 1 == 0) & (v >= self.lower_bound) & (v <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        v = _t(value)
        return (v % 1 == 0) & (v >= self.lower_bound)

    def __repr__(self):
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Real(Constraint):
    def check(self, value):
        v = _t(value)
        return v == v  # False for NaN


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return _t(value) > self.lower_bound

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    def check(self, value):
        return _t(value) >= self.lower_bound

    def __repr__(self):
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return _t(value) < self.upper_bound

    def __repr__(self):
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        v = _t(value)
        return (v >= self.lower_bound) & (v <= self.upper_bound)

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    def check(self, value):
        v = _t(value)
        return (v >= self.lower_bound) & (v < self.upper_bound)

    def __repr__(self):
        return (f"HalfOpenInterval(lower_bound={self.lower_bound}, "
                f"upper_bound={self.upper_bound})")


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        v = _t(value)
        return _red.all(v >= 0, -1) & (_ew.abs(_red.sum(v, -1) - 1) < 1e-6)


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        from ..ops.linalg_decomp import tril
        v = _t(value)
        return _red.all(_red.all(tril(v) == v, -1), -1)


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        from ..ops.linalg_decomp import tril, diagonal
        v = _t(value)
        low = _red.all(_red.all(tril(v) == v, -1), -1)
        return low & _red.all(diagonal(v, 0, -2, -1) > 0, -1)


class _CorrCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        v = _t(value)
        row_norm = _ew.sqrt(_red.sum(v * v, -1))
        unit = _red.all(_ew.abs(row_norm - 1) <= 1e-4, -1)
        return _LowerCholesky().check(v) & unit


class _Square(Constraint):
    event_dim = 2

    def check(self, value):
        import numpy as np
        v = _t(value)
        return _as_tensor(np.full(tuple(v.shape[:-2]), v.shape[-1] == v.shape[-2]))


class _Symmetric(_Square):
    def check(self, value):
        v = _t(value)
        if v.shape[-1] != v.shape[-2]:
            return _Square.check(self, v)
        d = _ew.abs(v - v.mT)
        return _red.all(_red.all(d <= 1e-6 * (1 + _ew.abs(v)), -1), -1)


class _PositiveSemidefinite(_Symmetric):
    def check(self, value):
        from ..ops.linalg_decomp import eigvalsh
        v = _t(value)
        sym = _Symmetric.check(self, v)
        return sym & _red.all(eigvalsh(v) >= 0, -1)


class _PositiveDefinite(_Symmetric):
    def check(self, value):
        from ..ops.linalg_decomp import eigvalsh
        v = _t(value)
        sym = _Symmetric.check(self, v)
        return sym & _red.all(eigvalsh(v) > 0, -1)


class _RealVector(Constraint):
    event_dim = 1

    def check(self, value):
        v = _t(value)
        return _red.all(v == v, -1)


class _Independent(Constraint):
    """``base_constraint`` checked per element, then all-reduced over
    ``reinterpreted_batch_ndims`` rightmost dims (one check per event)."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = int(reinterpreted_batch_ndims)

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base_constraint.check(value)
        for _ in range(self.reinterpreted_batch_ndims):
            ok = _red.all(ok, -1)
        return ok

    def __repr__(self):
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Cat(Constraint):
    """Constraints ``cseq`` applied to consecutive slices (of ``lengths``) along ``dim``."""

    def __init__(self, cseq, dim=0, lengths=None):
        self.cseq, self.dim = list(cseq), dim
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.cseq)

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        from ..ops.slicing import narrow
        from ..ops.indexing import cat as _cat
        v, start, parts = _t(value), 0, []
        for c, n in zip(self.cseq, self.lengths):
            parts.append(c.check(narrow(v, self.dim, start, n)))
            start += n
        return _cat(parts, self.dim)


class _Stack(Constraint):
    """Constraints ``cseq`` applied to the slices of ``value`` along ``dim``."""

    def __init__(self, cseq, dim=0):
        self.cseq, self.dim = list(cseq), dim

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        from ..ops.indexing import stack as _stack
        v = _t(value)
        return _stack([c.check(v.select(self.dim, i)) for i, c in enumerate(self.cseq)],
                      self.dim)


dependent = _Dependent()
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = _RealVector()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
independent = _Independent
cat = _Cat
stack = _Stack
