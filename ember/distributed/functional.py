"""Collectives as primitives: they return new tensors, differentiate, and run under ``jit``,
``grad`` and ``vmap`` (``torch.distributed._functional_collectives``' idea).

``all_reduce(x, op)`` is the primitive ``dist_all_reduce``: its VJP and JVP are all-reduces
of the cotangent/tangent (for SUM and AVG; the gradient of a cross-rank sum reaches every
rank's input), a batched input is reduced as a whole, and jit's passes never fold, merge or
drop it (``effectful``), so every rank runs the same collectives in the same order.
``SyncBatchNorm`` computes its statistics with it; a jitted data-parallel step averages its
gradients with it.
"""
from __future__ import annotations

import numpy as np

from ..backend import backend_of
from ..core.primitive import Primitive, bind
from ..core.tensor import Tensor
from ..core.creation import as_tensor
from ..ops.indexing import cat
from . import groups as _groups

_LINEAR = ("sum", "avg")


def _impl(x, op, group):
    from .collectives import host_array
    out = np.array(host_array(x, "all_reduce"), order="C", copy=True)
    group.comm.allreduce(out, op)
    if isinstance(x, np.ndarray) and type(x) is not np.ndarray:  # a host-memory device's
        return backend_of(x).from_host(out)  # array type (strict): the result stays there
    return out


def _vjp(ct, out, x, op, group):
    if op not in _LINEAR:
        raise NotImplementedError(
            f"all_reduce: ReduceOp.{op.upper()} has no gradient rule here; differentiate "
            f"through SUM or AVG (e.g. a max over ranks of a value that is not differentiated)")
    return (bind(all_reduce_p, ct, op=op, group=group),)


def _jvp(primals, tangents, out, op, group):
    if op not in _LINEAR:
        raise NotImplementedError(f"all_reduce: ReduceOp.{op.upper()} has no derivative rule "
                                  f"here; use SUM or AVG")
    return bind(all_reduce_p, tangents[0], op=op, group=group)


def _batch(args, dims, op, group):
    # every rank holds the same batch size: the batched array is reduced elementwise as a whole
    return bind(all_reduce_p, args[0], op=op, group=group), dims[0]


all_reduce_p = Primitive("dist_all_reduce", _impl, shape=lambda a, op, group: a,
                         vjp=_vjp, jvp=_jvp, batch=_batch, foldable=False, allocating=True)
all_reduce_p.effectful = True


def all_reduce(x, op="sum", group=None):
    """A new tensor: ``x`` reduced over the ranks of ``group`` (``op``: "sum", "avg",
    "product", "min", "max" or a ``ReduceOp``). Differentiable (SUM/AVG), and usable inside
    ``jit``/``grad``/``vmap``, unlike the in-place ``ember.distributed.all_reduce``.

    >>> import ember.distributed as dist
    >>> dist.init_process_group()                     # a world of one: the identity
    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> y = dist.functional.all_reduce(x * 3, op="avg")
    >>> y.sum().backward(); x.grad
    tensor([3., 3.])
    >>> dist.destroy_process_group()
    """
    from .collectives import _op_name
    name = _op_name(op, "all_reduce")
    g = _groups._resolve(group, "all_reduce")
    if g is None:
        raise ValueError("all_reduce: this rank is not in the given group")
    if not isinstance(x, Tensor):
        x = as_tensor(x)
    return bind(all_reduce_p, x, op=name, group=g)


def all_reduce_coalesced(tensors, op="sum", group=None):
    """New tensors: each of ``tensors`` reduced over the ranks of ``group``, with one
    all-reduce per dtype (the tensors concatenated into one flat buffer, reduced, split
    back), as ``torch.distributed._functional_collectives.all_reduce_coalesced``. A jitted
    data-parallel step averages all its gradients with one collective instead of one per
    parameter (each collective costs a round trip). Differentiable as ``all_reduce``.

    >>> import ember.distributed as dist
    >>> dist.init_process_group()                     # a world of one: the identity
    >>> a, b = dist.functional.all_reduce_coalesced([ember.ones(2, 2), ember.zeros(3)], "avg")
    >>> a.shape, b.tolist()
    (ember.Size([2, 2]), [0.0, 0.0, 0.0])
    >>> dist.destroy_process_group()
    """
    tensors = [t if isinstance(t, Tensor) else as_tensor(t) for t in tensors]
    out = [None] * len(tensors)
    by_dtype = {}
    for i, t in enumerate(tensors):
        by_dtype.setdefault(t.dtype, []).append(i)
    for idx in by_dtype.values():
        if len(idx) == 1:
            out[idx[0]] = all_reduce(tensors[idx[0]], op, group)
            continue
        flat = all_reduce(cat([tensors[i].reshape(-1) for i in idx]), op, group)
        off = 0
        for i in idx:
            n = tensors[i].numel()
            out[i] = flat[off:off + n].reshape(tensors[i].shape)
            off += n
    return out
