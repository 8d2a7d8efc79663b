"""take_along: pick values at indices along one dim (used by max/min with dim)."""
from __future__ import annotations


def take_along(x, idx, dim):
    """``x`` gathered at ``idx`` (same rank, size 1 along ``dim``) along ``dim``."""
    from .creation_ops import arange
    from .indexing import getitem
    shape = tuple(idx.shape)
    index = []
    for d in range(x.ndim):
        if d == dim:
            index.append(idx)
        else:
            s = [1] * x.ndim
            s[d] = shape[d]
            index.append(arange(shape[d]).reshape(s))
    return getitem(x, tuple(index))
