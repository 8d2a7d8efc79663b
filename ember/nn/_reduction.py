"""PyTorch's deprecated ``size_average``/``reduce`` flags of the losses, as a ``reduction``.

>>> from ember.nn._reduction import legacy_reduction
>>> legacy_reduction(None, None, "sum", "mse_loss")
'sum'
"""
from __future__ import annotations

import warnings


def legacy_reduction(size_average, reduce, reduction, op, stacklevel=3):
    """The ``reduction`` that ``size_average``/``reduce`` (PyTorch's flags before
    ``reduction``) stand for: ``reduce=False`` is ``'none'``, else ``size_average=False`` is
    ``'sum'``, else ``'mean'``. Either flag given overrides ``reduction`` and warns, as
    PyTorch does; neither given returns ``reduction`` unchanged."""
    if size_average is None and reduce is None:
        return reduction
    if reduce is not None and not reduce:
        new = "none"
    elif size_average is not None and not size_average:
        new = "sum"
    else:
        new = "mean"
    warnings.warn(f"{op}: size_average and reduce are deprecated (as in PyTorch); "
                  f"size_average={size_average!r}, reduce={reduce!r} means "
                  f"reduction={new!r}: pass that instead", UserWarning, stacklevel=stacklevel)
    return new
