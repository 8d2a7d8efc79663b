"""``torch.distributed``'s collectives on ember Tensors, in place, over a group's communicator.

Every collective checks (with one small allgather of a signature: op, dtype, shape, root)
that the ranks agree before moving data, so a shape mismatch fails on every rank with a
message naming the op, the ranks and their shapes instead of hanging or returning garbage
(about 6 µs per call on two ranks; ``EMBER_DIST_CHECKS=0`` turns it off). Data-parallel
internals (DDP's buckets) use the communicator directly and skip it.
"""
from __future__ import annotations

import os
import zlib
import warnings

import numpy as np

from ..core.primitive import Tracer
from ..core.tensor import Tensor
from .comm import Request
from .groups import _resolve, GroupMember  # noqa: F401


class ReduceOp:
    """Reduction operators (``torch.distributed.ReduceOp``): ``SUM``, ``AVG``, ``PRODUCT``,
    ``MIN``, ``MAX``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<ReduceOp.{self.name.upper()}>"

    def __eq__(self, other):
        return isinstance(other, ReduceOp) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


ReduceOp.SUM = ReduceOp("sum")
ReduceOp.AVG = ReduceOp("avg")
ReduceOp.PRODUCT = ReduceOp("product")
ReduceOp.MIN = ReduceOp("min")
ReduceOp.MAX = ReduceOp("max")
ReduceOp.RedOpType = ReduceOp
reduce_op = ReduceOp  # PyTorch's deprecated spelling

_OP_CODES = {"sum": 1, "avg": 2, "product": 3, "min": 4, "max": 5}
_OPS = ("all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
        "reduce_scatter_tensor", "gather", "scatter", "reduce", "reduce_scatter", "all_to_all",
        "barrier")


def _op_name(op, fn):
    if isinstance(op, ReduceOp):
        return op.name
    if isinstance(op, str) and op.lower() in _OP_CODES:
        return op.lower()
    raise ValueError(f"{fn}: op must be a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX), got {op!r}")


class Work:
    """The handle an ``async_op=True`` collective returns (``torch.distributed.Work``):
    ``wait()`` blocks until the result is in the tensors, ``is_completed()`` polls."""

    __slots__ = ("_req", "_tensors")

    def __init__(self, req=None, tensors=()):
        self._req, self._tensors = req, list(tensors)

    def wait(self, timeout=None):
        if self._req is not None:
            self._req.wait()
        return True

    def is_completed(self) -> bool:
        return self._req is None or self._req.test()

    def is_success(self) -> bool:
        return self.is_completed()

    def result(self):
        self.wait()
        return self._tensors

    def exception(self):
        return None

    def __repr__(self):
        return f"<Work {'completed' if self.is_completed() else 'pending'}>"


_DONE = Work()


def _done(async_op, tensors=()):
    return Work(None, tensors) if async_op else None


def _arr(t, fn, what="tensor"):
    if isinstance(t, Tracer):
        raise TypeError(f"{fn}: {what} is a traced value (under jit/vmap/grad); the in-place "
                        f"collectives work on concrete tensors. Inside a transformed function "
                        f"use ember.distributed.functional.{fn} (returns a new tensor)")
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: {what} must be an ember Tensor, got {type(t).__name__}")
    return host_array(t._data, fn, t)


def host_array(a, fn, t=None):
    """MPI moves host memory: the NumPy array of a CPU tensor (an error for other devices)."""
    if not isinstance(a, np.ndarray):
        if isinstance(a, (np.generic, int, float, bool)):  # a 0-d value inside a jit plan
            return np.asarray(a)
        dev = getattr(t, "device", None) if t is not None else None
        raise TypeError(f"{fn}: MPI collectives move CPU (NumPy) tensors, got a tensor on "
                        f"device {dev or type(a).__name__}; move it with .to('cpu') first")
    return a


def _written(*ts):
    for t in ts:
        t._version[0] += 1


def _check_mode(value):
    v = (value or "1").strip().lower()
    if v in ("0", "off", "false", "no"):
        return 0
    if v == "first":
        return 2
    return 1


# 1: every call (the default); 2: the first call of each signature only; 0: never
_checks = [_check_mode(os.environ.get("EMBER_DIST_CHECKS"))]
_SIG = 14
_CACHE_MAX = 4096


def _signature(g, key, fn, arr, root, red):
    """(this rank's signature, the all-gather's receive buffer, the bytes it holds when every
    rank agrees), made once per signature and group."""
    sig = np.zeros(_SIG, np.int64)
    sig[0] = _OPS.index(fn) + 1
    sig[1] = red
    sig[2] = root
    sig[3] = zlib.crc32(arr.dtype.str.encode())
    sig[4] = arr.ndim
    sig[5] = arr.size
    shp = arr.shape[:_SIG - 6]
    sig[6:6 + len(shp)] = shp
    n = g.comm.size
    entry = [sig, np.empty((n, _SIG), np.int64), np.tile(sig, n).tobytes(), False]
    cache = g._sig_cache
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = entry
    return entry


def _check(g, fn, arr, root=-1, red=0):
    """All ranks agree on (op, reduction, root, dtype, shape) of this call, or every rank
    raises the same error naming them. One all-gather of 14 integers, built once per
    signature (``EMBER_DIST_CHECKS``: unset or 1 every call, ``first`` only a signature's
    first call on this rank, 0 never)."""
    comm = g.comm
    mode = _checks[0]
    if comm.size == 1 or not mode:
        return
    key = (fn, red, root, arr.dtype, arr.shape)
    entry = g._sig_cache.get(key)
    if entry is None:
        entry = _signature(g, key, fn, arr, root, red)
    elif mode == 2 and entry[3]:
        return
    sig, allsig, agreed = entry[0], entry[1], entry[2]
    comm.allgather_raw(sig, allsig)
    if allsig.tobytes() == agreed:
        entry[3] = True
        return
    _mismatch(g, fn, arr, sig, allsig)


def _mismatch(g, fn, arr, sig, allsig):
    comm = g.comm
    ops = [_OPS[int(s[0]) - 1] for s in allsig]
    per_rank = []
    for r in range(comm.size):
        s = allsig[r]
        shape = tuple(int(x) for x in s[6:6 + int(s[4])]) if s[4] <= _SIG - 6 else \
            f"{int(s[4])}-D, {int(s[5])} elements"
        per_rank.append((g.ranks[r], ops[r], shape, int(s[3]), int(s[1]), int(s[2])))
    if len(set(ops)) > 1:
        calls = ", ".join(f"rank {r} called {o}" for r, o, *_ in per_rank)
        raise RuntimeError(f"{fn}: the ranks called different collectives at the same point: "
                           f"{calls}; every rank must make the same collective calls in the "
                           f"same order")
    dtypes = {}
    if len({p[3] for p in per_rank}) > 1:
        gathered = comm.allgather_object(str(arr.dtype))
        dtypes = {g.ranks[i]: d for i, d in enumerate(gathered)}
    desc = ", ".join(f"rank {r} has shape {shape}" + (f" ({dtypes[r]})" if dtypes else "")
                     for r, _, shape, *_ in per_rank)
    if len({p[4] for p in per_rank}) > 1:
        names = {v: k.upper() for k, v in _OP_CODES.items()}
        raise RuntimeError(f"{fn}: the ranks passed different reduce ops: " + ", ".join(
            f"rank {r} ReduceOp.{names.get(red, red)}" for r, _, _, _, red, _ in per_rank))
    if len({p[5] for p in per_rank}) > 1:
        raise RuntimeError(f"{fn}: the ranks passed different roots (src/dst): " + ", ".join(
            f"rank {r} says {root}" for r, _, _, _, _, root in per_rank))
    raise RuntimeError(f"{fn}: the ranks' tensors don't match: {desc}; every rank must pass "
                       f"a tensor of the same shape and dtype")


def _group(group, fn):
    g = _resolve(group, fn)
    if g is None:
        warnings.warn(f"{fn}: this rank is not in the group; the call does nothing here",
                      stacklevel=3)
    return g


# ---- reductions ------------------------------------------------------------------------------

def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks of ``group``, in place on every rank.

    >>> import ember.distributed as dist
    >>> dist.init_process_group()
    >>> t = ember.tensor([1., 2.])
    >>> dist.all_reduce(t, op=dist.ReduceOp.SUM)     # a world of one: t unchanged
    >>> t
    tensor([1., 2.])
    >>> dist.destroy_process_group()
    """
    arr = _arr(tensor, "all_reduce")
    g = _group(group, "all_reduce")
    if g is None:
        return None
    name = op.name if type(op) is ReduceOp else _op_name(op, "all_reduce")
    _check(g, "all_reduce", arr, red=_OP_CODES[name])
    tensor._version[0] += 1
    if async_op:
        return Work(g.comm.iallreduce(arr, name), [tensor])
    g.comm.allreduce(arr, name)
    return None


def reduce(tensor, dst=0, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over the ranks into rank ``dst``'s ``tensor`` (others keep theirs)."""
    arr = _arr(tensor, "reduce")
    g = _group(group, "reduce")
    if g is None:
        return None
    name = _op_name(op, "reduce")
    root = g.group_rank(dst, "reduce")
    _check(g, "reduce", arr, root=root, red=_OP_CODES[name])
    g.comm.reduce(arr, name, root)
    if g.rank() == root:
        _written(tensor)
    return _done(async_op, [tensor])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (``world_size * n`` rows, or shape ``(world_size, *output.shape)``) over
    the ranks; rank ``r`` receives block ``r`` of the result in ``output``."""
    fn = "reduce_scatter_tensor"
    out, inp = _arr(output, fn, "output"), _arr(input, fn, "input")
    g = _group(group, fn)
    if g is None:
        return None
    n = g.size()
    if inp.size != n * out.size or inp.dtype != out.dtype or (
            inp.shape[1:] != out.shape[1:] and inp.shape != (n,) + out.shape):
        raise ValueError(f"{fn}: input of shape {inp.shape} ({inp.dtype}) must hold "
                         f"world_size={n} blocks shaped as the output {out.shape} "
                         f"({out.dtype}): shape ({n * out.shape[0] if out.ndim else n}, "
                         f"{', '.join(map(str, out.shape[1:]))}) of the same dtype")
    name = _op_name(op, fn)
    _check(g, fn, inp, red=_OP_CODES[name])
    g.comm.reduce_scatter(inp, out, name)
    _written(output)
    return _done(async_op, [output])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """List form of ``reduce_scatter_tensor``: rank ``r`` gets the reduction of every rank's
    ``input_list[r]``."""
    fn = "reduce_scatter"
    out = _arr(output, fn, "output")
    g = _group(group, fn)
    if g is None:
        return None
    if len(input_list) != g.size():
        raise ValueError(f"{fn}: input_list has {len(input_list)} tensors; it needs one per "
                         f"rank ({g.size()})")
    blocks = [_arr(t, fn, f"input_list[{i}]") for i, t in enumerate(input_list)]
    for i, b in enumerate(blocks):
        if b.shape != out.shape or b.dtype != out.dtype:
            raise ValueError(f"{fn}: input_list[{i}] has shape {b.shape} ({b.dtype}), the "
                             f"output {out.shape} ({out.dtype}); they must match")
    inp = np.stack(blocks)
    name = _op_name(op, fn)
    _check(g, fn, inp, red=_OP_CODES[name])
    g.comm.reduce_scatter(inp, out, name)
    _written(output)
    return _done(async_op, [output])


# ---- data movement ---------------------------------------------------------------------------

def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    arr = _arr(tensor, "broadcast")
    g = _group(group, "broadcast")
    if g is None:
        return None
    root = g.group_rank(src, "broadcast")
    _check(g, "broadcast", arr, root=root)
    if g.rank() != root:
        _written(tensor)
    if async_op:
        return Work(g.comm.ibcast(arr, root), [tensor])
    g.comm.bcast(arr, root)
    return None


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's ``input_tensor`` into ``output_tensor``, stacked (shape
    ``(world_size, *input.shape)``) or concatenated along dim 0."""
    fn = "all_gather_into_tensor"
    out, inp = _arr(output_tensor, fn, "output_tensor"), _arr(input_tensor, fn, "input_tensor")
    g = _group(group, fn)
    if g is None:
        return None
    n = g.size()
    if out.size != n * inp.size or out.dtype != inp.dtype or (
            out.shape != (n,) + inp.shape and out.shape[1:] != inp.shape[1:]):
        raise ValueError(f"{fn}: output_tensor has shape {out.shape} ({out.dtype}); for an "
                         f"input of shape {inp.shape} ({inp.dtype}) from {n} ranks it must be "
                         f"{(n * inp.shape[0],) + inp.shape[1:] if inp.ndim else (n,)} or "
                         f"{(n,) + inp.shape}, same dtype")
    _check(g, fn, inp)
    _written(output_tensor)
    if async_op:
        return Work(g.comm.iallgather(inp, out), [output_tensor])
    g.comm.allgather(inp, out)
    return None


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[r]`` receives rank ``r``'s ``tensor`` (on every rank)."""
    inp = _arr(tensor, "all_gather")
    g = _group(group, "all_gather")
    if g is None:
        return None
    n = g.size()
    if len(tensor_list) != n:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors; it needs "
                         f"one per rank ({n})")
    outs = [_arr(t, "all_gather", f"tensor_list[{i}]") for i, t in enumerate(tensor_list)]
    for i, o in enumerate(outs):
        if o.shape != inp.shape or o.dtype != inp.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {o.shape} ({o.dtype}) but "
                             f"the input has {inp.shape} ({inp.dtype}); they must match")
    _check(g, "all_gather", inp)
    buf = np.empty((n,) + inp.shape, inp.dtype)

    def scatter_back():
        for o, b in zip(outs, buf):
            o[...] = b
    _written(*tensor_list)
    if async_op:
        return Work(Request(g.comm.iallgather(inp, buf), scatter_back), tensor_list)
    g.comm.allgather(inp, buf)
    scatter_back()
    return None


def _root_list(g, root, op, list_name, tensors, like, like_name, root_arg):
    """The arrays of ``tensors`` (one per rank, each like ``like``) on the root rank, None on
    the others, where the list must be None or empty; clear errors otherwise."""
    role = "destination" if op == "gather" else "source"
    if g.rank() != root:
        if tensors:
            raise ValueError(f"{op}: {list_name} must be None (or empty) on ranks other than "
                             f"the {role} {root_arg} (this is rank {g.ranks[g.rank()]})")
        return None
    n = g.size()
    if tensors is None or len(tensors) != n:
        raise ValueError(f"{op}: on the {role} rank {root_arg}, {list_name} must hold one tensor "
                         f"per rank ({n}), got {None if tensors is None else len(tensors)}")
    arrays = [_arr(t, op, f"{list_name}[{i}]") for i, t in enumerate(tensors)]
    for i, a in enumerate(arrays):
        if a.shape != like.shape or a.dtype != like.dtype:
            raise ValueError(f"{op}: {list_name}[{i}] has shape {a.shape} ({a.dtype}), the "
                             f"{like_name} {like.shape} ({like.dtype}); they must match")
    return arrays


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Rank ``dst``'s ``gather_list[r]`` receives rank ``r``'s ``tensor``."""
    inp = _arr(tensor, "gather")
    g = _group(group, "gather")
    if g is None:
        return None
    root = g.group_rank(dst, "gather")
    buf = None
    if _root_list(g, root, "gather", "gather_list", gather_list, inp, "input", dst) is not None:
        buf = np.empty((g.size(),) + inp.shape, inp.dtype)
    _check(g, "gather", inp, root=root)
    g.comm.gather(inp, buf, root)
    if buf is not None:
        for t, b in zip(gather_list, buf):
            t._data[...] = b
        _written(*gather_list)
    return _done(async_op, gather_list or [])


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Rank ``r``'s ``tensor`` receives rank ``src``'s ``scatter_list[r]``."""
    out = _arr(tensor, "scatter")
    g = _group(group, "scatter")
    if g is None:
        return None
    root = g.group_rank(src, "scatter")
    blocks = _root_list(g, root, "scatter", "scatter_list", scatter_list, out, "output", src)
    send = np.stack(blocks) if blocks else None
    _check(g, "scatter", out, root=root)
    g.comm.scatter(send, out, root)
    _written(tensor)
    return _done(async_op, [tensor])


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op=False):
    """Split ``input`` into ``world_size`` equal blocks along dim 0; block ``j`` goes to rank
    ``j``; ``output``'s block ``i`` comes from rank ``i`` (equal splits only)."""
    fn = "all_to_all"
    out, inp = _arr(output, fn, "output"), _arr(input, fn, "input")
    g = _group(group, fn)
    if g is None:
        return None
    n = g.size()
    if output_split_sizes is not None or input_split_sizes is not None:
        raise NotImplementedError("all_to_all_single: uneven split sizes are not supported; "
                                  "pad the blocks to equal sizes")
    if inp.shape != out.shape or inp.dtype != out.dtype or inp.ndim == 0 or inp.shape[0] % n:
        raise ValueError(f"all_to_all_single: input {inp.shape} ({inp.dtype}) and output "
                         f"{out.shape} ({out.dtype}) must have the same shape and dtype, with "
                         f"dim 0 divisible by world_size={n}")
    _check(g, fn, inp)
    blocks = inp.reshape((n, -1) + inp.shape[1:])
    got = np.empty_like(blocks)
    for j in range(n):  # rank i's block j -> rank j's slot i: a gather to each rank in turn
        g.comm.gather(np.ascontiguousarray(blocks[j]), got if g.rank() == j else None, j)
    out[...] = got.reshape(out.shape)
    _written(output)
    return _done(async_op, [output])


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of ``group`` reaches this call."""
    g = _group(group, "barrier")
    if g is None:
        return None
    if _checks[0] == 1 and g.comm.size > 1:
        _check(g, "barrier", _NOTHING)  # an all-gather: a barrier that also checks the call
    else:
        g.comm.barrier()
    return _done(async_op)


_NOTHING = np.zeros(0, np.uint8)


# ---- point to point --------------------------------------------------------------------------

def _peer(g, peer, fn):
    if peer is None:
        return None
    r = g.group_rank(peer, fn)
    if r == g.rank():
        raise ValueError(f"{fn}: rank {peer} cannot {fn.lstrip('i')} to/from itself")
    return r


def send(tensor, dst, group=None, tag=0):
    """Send ``tensor`` to rank ``dst`` (blocks until it can be reused)."""
    arr = _arr(tensor, "send")
    g = _group(group, "send")
    if g is None:
        return None
    g.comm.send(arr, _peer(g, dst, "send"), tag)


def recv(tensor, src=None, group=None, tag=0):
    """Receive into ``tensor`` from rank ``src`` (None: any rank); returns the sender's rank."""
    arr = _arr(tensor, "recv")
    g = _group(group, "recv")
    if g is None:
        return -1
    r = g.comm.recv(arr, _peer(g, src, "recv"), tag)
    _written(tensor)
    return g.ranks[r]


def isend(tensor, dst, group=None, tag=0):
    """Non-blocking ``send``: returns a Work handle; don't modify ``tensor`` before ``wait()``."""
    arr = _arr(tensor, "isend")
    g = _group(group, "isend")
    if g is None:
        return None
    return Work(g.comm.isend(arr, _peer(g, dst, "isend"), tag), [tensor])


def irecv(tensor, src=None, group=None, tag=0):
    """Non-blocking ``recv``: returns a Work handle; ``tensor`` holds the data after ``wait()``."""
    arr = _arr(tensor, "irecv")
    g = _group(group, "irecv")
    if g is None:
        return None
    _written(tensor)
    return Work(g.comm.irecv(arr, _peer(g, src, "irecv"), tag), [tensor])


class P2POp:
    """One point-to-point operation for ``batch_isend_irecv``: ``P2POp(dist.isend, t, peer)``."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("P2POp: op must be ember.distributed.isend or irecv")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag


def batch_isend_irecv(p2p_op_list):
    """Start every ``P2POp``; returns their Work handles (wait on each)."""
    return [p.op(p.tensor, p.peer, p.group, p.tag) for p in p2p_op_list]


# ---- Python objects --------------------------------------------------------------------------

def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace ``object_list``'s items on every rank by rank ``src``'s (pickled)."""
    g = _group(group, "broadcast_object_list")
    if g is None:
        return None
    root = g.group_rank(src, "broadcast_object_list")
    got = g.comm.bcast_object(list(object_list) if g.rank() == root else None, root)
    if len(got) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sent {len(got)} objects but this "
                         f"rank's list has {len(object_list)} slots; give every rank a list of "
                         f"the same length")
    object_list[:] = got


def all_gather_object(object_list, obj, group=None):
    """``object_list[r]`` receives rank ``r``'s ``obj`` (pickled)."""
    g = _group(group, "all_gather_object")
    if g is None:
        return None
    if len(object_list) != g.size():
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} slots; it "
                         f"needs one per rank ({g.size()})")
    object_list[:] = g.comm.allgather_object(obj)


def gather_object(obj, object_gather_list=None, dst=0, group=None):
    """Rank ``dst``'s ``object_gather_list[r]`` receives rank ``r``'s ``obj``."""
    g = _group(group, "gather_object")
    if g is None:
        return None
    root = g.group_rank(dst, "gather_object")
    got = g.comm.gather_object(obj, root)
    if g.rank() == root:
        if object_gather_list is None or len(object_gather_list) != g.size():
            raise ValueError(f"gather_object: on rank {dst} object_gather_list needs one slot "
                             f"per rank ({g.size()})")
        object_gather_list[:] = got


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=0,
                        group=None):
    """``scatter_object_output_list[0]`` receives rank ``src``'s
    ``scatter_object_input_list[rank]``."""
    g = _group(group, "scatter_object_list")
    if g is None:
        return None
    root = g.group_rank(src, "scatter_object_list")
    objs = None
    if g.rank() == root:
        objs = list(scatter_object_input_list or [])
        if len(objs) != g.size():
            raise ValueError(f"scatter_object_list: rank {src} must give one object per rank "
                             f"({g.size()}), got {len(objs)}")
    scatter_object_output_list[0] = g.comm.scatter_object(objs, root)
