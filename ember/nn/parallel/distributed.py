"""``DistributedDataParallel``: data-parallel training over the ranks of a process group.

Each rank runs the same model on its share of the batch; during ``backward()`` the
gradients are averaged over the ranks in buckets (about ``bucket_cap_mb`` each, in reverse
parameter order, which is roughly the order backward produces them). A bucket starts its
non-blocking all-reduce as soon as every gradient in it has been accumulated (the leaves'
post-accumulate-grad hooks), so communication overlaps the rest of backward; an
end-of-backward callback (``queue_callback``) launches what is left, waits for every bucket
and writes the averaged gradients back into ``.grad``. Buckets are launched in index order on
every rank, whatever order their gradients arrive in, so the ranks' collectives always match.

A parameter that got no gradient on a rank (an unused branch) contributes zeros there; one
used on no rank keeps ``.grad = None`` (a per-parameter "used" count rides in the bucket), so
no ``find_unused_parameters`` flag is needed.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ...core.autograd import is_grad_enabled, queue_callback
from ...core.tensor import Tensor
from ...distributed import groups as _group
from ..module import Module


FIRST_BUCKET_BYTES = 2 ** 20  # PyTorch's first bucket is 1 MiB, whatever bucket_cap_mb says


class _Bucket:
    __slots__ = ("index", "params", "offsets", "numel", "dtype", "ready", "buf", "req", "views")

    def __init__(self, index, params, dtype):
        self.index, self.params, self.dtype = index, params, dtype
        self.offsets, off = [], 0
        for p in params:
            self.offsets.append(off)
            off += p._data.size
        self.numel = off
        self.ready = 0
        self.buf = self.req = self.views = None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (``torch.nn.parallel.DistributedDataParallel``).

    Parameters and buffers are broadcast from rank 0 at construction (so every rank starts
    from the same weights); with ``broadcast_buffers=True`` the buffers (BatchNorm's running
    statistics) are broadcast from rank 0 again at each training forward. ``no_sync()`` skips
    the averaging (gradient accumulation); ``ddp.module`` is the wrapped module and
    ``state_dict()`` keys carry PyTorch's ``module.`` prefix.

    >>> import ember.distributed as dist
    >>> dist.init_process_group()                      # under `ember run -n N`: N ranks
    >>> model = ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(3, 1))
    >>> model(ember.ones(2, 3)).sum().backward()       # .grad averaged over the ranks
    >>> list(model.state_dict())
    ['module.weight', 'module.bias']
    >>> dist.destroy_process_group()
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an ember.nn.Module, got "
                            f"{type(module).__name__}")
        pg = _group._resolve(process_group, "DistributedDataParallel")
        if pg is None:
            raise ValueError("DistributedDataParallel: this rank is not in process_group")
        if bucket_cap_mb is None or bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb!r}")
        self.module = module
        object.__setattr__(self, "process_group", pg)
        object.__setattr__(self, "_comm", pg.comm)
        self.broadcast_buffers = broadcast_buffers
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        self.dim = dim
        seen, named = set(), []
        for name, p in module.named_parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                named.append((name, p))
        object.__setattr__(self, "_named_params", named)
        self._check_same_model()
        self._broadcast_state()
        cap = int(bucket_cap_mb * 2 ** 20)
        buckets = self._make_buckets([p for _, p in named], cap, min(cap, FIRST_BUCKET_BYTES))
        object.__setattr__(self, "_buckets", buckets)
        object.__setattr__(self, "_where", {id(p): b for b in buckets for p in b.params})
        object.__setattr__(self, "_pass_active", False)
        object.__setattr__(self, "_next_launch", 0)
        handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for _, p in named]
        object.__setattr__(self, "_hook_handles", handles)

    # ---- construction ------------------------------------------------------------------------
    def _check_same_model(self):
        comm = self._comm
        if comm.size == 1:
            return
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in self._named_params]
        allp = comm.allgather_object(mine)
        for r, theirs in enumerate(allp):
            if theirs == mine:
                continue
            for i in range(max(len(mine), len(theirs))):
                a = mine[i] if i < len(mine) else None
                b = theirs[i] if i < len(theirs) else None
                if a != b:
                    raise RuntimeError(
                        f"DistributedDataParallel: the ranks' models differ: parameter {i} is "
                        f"{a} on rank {self.process_group.ranks[comm.rank]} but {b} on rank "
                        f"{self.process_group.ranks[r]} (name, shape, dtype); every rank must "
                        f"wrap the same architecture")

    def _broadcast_state(self):
        if self._comm.size == 1:
            return
        tensors = [p for _, p in self._named_params] + [
            b for _, b in self.module.named_buffers() if b is not None]
        self._bcast_coalesced(tensors)

    def _bcast_coalesced(self, tensors):
        """Rank 0's values of ``tensors`` into every rank's, as one broadcast of their bytes."""
        if not tensors:
            return
        flat = np.concatenate([np.ascontiguousarray(t._data).reshape(-1).view(np.uint8)
                               for t in tensors])
        self._comm.bcast(flat, 0)
        if self._comm.rank != 0:
            off = 0
            for t in tensors:
                d = t._data
                n = d.nbytes
                np.copyto(d, flat[off:off + n].view(d.dtype).reshape(d.shape))
                t._version[0] += 1
                off += n

    @staticmethod
    def _make_buckets(params, cap_bytes, first_cap_bytes):
        """Buckets in reverse parameter order, per dtype; the first bucket closes at
        ``first_cap_bytes`` (as PyTorch's 1 MiB first bucket) so that the first all-reduce
        starts early in backward, the others at ``cap_bytes``."""
        buckets, cur, size = [], {}, {}
        for p in reversed(params):  # backward produces the last layers' gradients first
            dt = p._data.dtype
            lst = cur.setdefault(dt, [])
            lst.append(p)
            size[dt] = size.get(dt, 0) + p._data.nbytes
            if size[dt] >= (cap_bytes if buckets else first_cap_bytes):
                buckets.append(_Bucket(len(buckets), lst, dt))
                cur[dt], size[dt] = [], 0
        for dt, lst in cur.items():
            if lst:
                buckets.append(_Bucket(len(buckets), lst, dt))
        return buckets

    # ---- forward -----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and self._comm.size > 1 and is_grad_enabled() and \
                self.require_backward_grad_sync:
            bufs = [b for _, b in self.module.named_buffers() if b is not None]
            if bufs:
                self._bcast_coalesced(bufs)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this context, backward accumulates gradients locally without averaging them;
        the first backward after it averages the accumulated gradients."""
        prev = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = prev

    # ---- backward: buckets -------------------------------------------------------------------
    def _grad_ready(self, p):
        if not self.require_backward_grad_sync:
            return
        if not self._pass_active:
            object.__setattr__(self, "_pass_active", True)
            queue_callback(self._finish_backward)
        b = self._where[id(p)]
        b.ready += 1
        if b.ready == len(b.params):
            self._launch_ready()
        else:  # let MPI move the buckets already in flight
            for q in self._buckets[:self._next_launch]:
                if q.req is not None:
                    q.req.test()

    def _launch_ready(self):
        i = self._next_launch
        buckets = self._buckets
        while i < len(buckets) and buckets[i].ready == len(buckets[i].params):
            self._launch(buckets[i])
            i += 1
        object.__setattr__(self, "_next_launch", i)

    def _launch(self, b):
        n = len(b.params)
        scale = 1.0 / self._comm.size
        buf = b.buf
        if buf is None:  # the gradients, then one "used" count per param; kept across passes
            buf = b.buf = np.empty(b.numel + n, b.dtype)
            b.views = [buf[off:off + p._data.size].reshape(p._data.shape)
                       for p, off in zip(b.params, b.offsets)]
        used = buf[b.numel:]
        for k, (p, view) in enumerate(zip(b.params, b.views)):
            g = p.grad
            if g is None:
                view.fill(0)
                used[k] = 0
            else:  # copied in pre-divided by the world size: the sum is the average
                np.multiply(g._data, scale, out=view, casting="unsafe")
                used[k] = 1
        if b.index == len(self._buckets) - 1:
            # the last bucket: every other one is launched, so nothing is left to overlap;
            # a blocking all-reduce skips the request machinery (MPI keeps the order of the
            # ranks' collectives, blocking or not)
            self._comm.allreduce(buf, "sum")
            b.req = None
        else:
            b.req = self._comm.iallreduce(buf, "sum")

    def _finish_backward(self):
        object.__setattr__(self, "_pass_active", False)
        buckets = self._buckets
        for b in buckets[self._next_launch:]:  # gradients that never came on this rank
            self._launch(b)
        object.__setattr__(self, "_next_launch", 0)
        for b in buckets:
            if b.req is not None:
                b.req.wait()
            used = b.buf[b.numel:].tolist()
            for k, (p, view) in enumerate(zip(b.params, b.views)):
                if not used[k]:
                    continue  # no rank had a gradient for it: leave .grad None
                # a view of the bucket (PyTorch's gradient_as_bucket_view): the next pass's
                # accumulation makes a new gradient array, which is copied back in
                p.grad = Tensor._wrap(view)
            b.ready = 0
            b.req = None

    def extra_repr(self):
        return (f"world_size={self._comm.size}, buckets={len(self._buckets)}, "
                f"bucket_cap_mb={self.bucket_cap_mb}")


DDP = DistributedDataParallel
