"""Elementwise kernels as ufuncs. A NumPy ufunc object is a dispatcher, not a CPU kernel:
called with another backend's arrays it hands the call to their type's ``__array_ufunc__``
(NEP 13; strict arrays, meta arrays and CuPy arrays implement it), so a primitive whose
``impl`` is a ufunc takes its implementation from its inputs without a namespace lookup on
the hot path. ``ufuncs.exp`` is the ufunc ``exp``; only ufuncs are offered here."""
from __future__ import annotations

import numpy as _np

globals().update({k: v for k, v in vars(_np).items() if isinstance(v, _np.ufunc)})
