"""The format of op test cases. Every family lists its cases in tests/ops/cases/<family>.py
as ``CASES = [OpCase(...), ...]``; the generated suites (gradient checks, PyTorch parity,
later jvp/vmap/jit checks) iterate over all of them, and the coverage test checks that the
cases together bind every primitive in the registry.

``fn(lib, *tensors)`` runs the op with ``lib`` being ``ember`` or ``torch`` (so one lambda
serves both frameworks; use ``torch_fn`` when the spellings differ). Inputs are specs:

* a tuple ``(2, 3)``: standard normal floats of that shape;
* ``Pos(shape)`` positive floats (for log, sqrt, ...), ``Unit(shape)`` in (-0.9, 0.9);
* ``Int(shape, low, high)`` int64, ``Bool(shape)`` bool, both non-differentiable;
* ``Arr(ndarray)`` a fixed array (floats differentiable, ints/bools not);
* ``Away(shape)`` floats at least 0.1 away from integers and from each other (for floor,
  max, sort, ... where finite differences would straddle a kink).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np


@dataclass
class Pos:
    shape: tuple


@dataclass
class Unit:
    shape: tuple


@dataclass
class Away:
    shape: tuple


@dataclass
class Int:
    shape: tuple
    low: int = 0
    high: int = 5


@dataclass
class Bool:
    shape: tuple


@dataclass
class Arr:
    value: Any


@dataclass
class OpCase:
    name: str
    fn: Callable
    inputs: list
    grad: bool = True          # check first-order gradients against finite differences
    order2: bool = True        # also check second order (gradient of the gradient)
    torch: bool = True         # compare values (and gradients) with PyTorch
    torch_fn: Optional[Callable] = None
    rtol: float = 1e-4         # float32 parity tolerance
    atol: float = 1e-5
    nondiff_outputs: tuple = ()  # indices of outputs that carry no gradient (indices, masks)
    tags: tuple = field(default_factory=tuple)


def make_inputs(case: OpCase, rng: np.random.Generator, dtype=np.float64):
    """Concrete NumPy arrays for a case's input specs."""
    out = []
    for spec in case.inputs:
        if isinstance(spec, tuple):
            out.append(rng.standard_normal(spec).astype(dtype))
        elif isinstance(spec, Pos):
            out.append(rng.uniform(0.5, 2.0, spec.shape).astype(dtype))
        elif isinstance(spec, Unit):
            out.append(rng.uniform(-0.9, 0.9, spec.shape).astype(dtype))
        elif isinstance(spec, Away):
            n = int(np.prod(spec.shape))
            vals = (rng.permutation(n) - n / 2) * 0.37 + 0.5 * 0.37
            frac = vals - np.round(vals)
            vals = np.where(np.abs(frac) < 0.1, vals + 0.2, vals)
            out.append(vals.reshape(spec.shape).astype(dtype))
        elif isinstance(spec, Int):
            out.append(rng.integers(spec.low, spec.high, spec.shape).astype(np.int64))
        elif isinstance(spec, Bool):
            out.append(rng.random(spec.shape) < 0.5)
        elif isinstance(spec, Arr):
            v = np.asarray(spec.value)
            out.append(v.astype(dtype) if v.dtype.kind == "f" else v.copy())
        else:
            raise TypeError(f"unknown input spec {spec!r} in case {case.name}")
    return out


def differentiable_mask(case: OpCase, arrays):
    return [a.dtype.kind == "f" for a in arrays]
