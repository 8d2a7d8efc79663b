"""``DistributedDataParallel``: data-parallel training over the ranks of a process group.

Each rank runs the same model on its share of the batch; during ``backward()`` the
gradients are averaged over the ranks in buckets (about ``bucket_cap_mb`` each, in reverse
parameter order, which is roughly the order backward produces them).

Gradients live in the buckets (PyTorch's ``gradient_as_bucket_view=True``, always): each
bucket is one contiguous buffer allocated at construction, and a parameter's ``.grad`` is a
view of its slice. Autograd accumulates a parameter's gradient straight into that slice (the
leaf's grad sink, ``Tensor._grad_sink``): a fresh gradient (after ``zero_grad()``, whose
default sets ``.grad = None``) is written there already divided by the world size, a
gradient added to an existing ``.grad`` (``no_sync`` accumulation, ``set_to_none=False``)
is added in place. So the all-reduce (a SUM of pre-divided values: the average) runs in
place on the bucket, with no copy into it before and none out of it after.

A bucket starts its non-blocking all-reduce as soon as every gradient in it has been
accumulated (the leaves' post-accumulate-grad hooks), so communication overlaps the rest of
backward; an end-of-backward callback (``queue_callback``) launches what is left and waits
for every bucket. Buckets are launched in index order on every rank, whatever order their
gradients arrive in, so the ranks' collectives always match. Since a bucket's buffer never
changes, its all-reduce is set up once as a persistent collective (MPI-4's
``MPI_Allreduce_init``, where the MPI library has it; otherwise a fresh non-blocking
all-reduce each pass): a pass only starts it (the last bucket's start is followed by its
wait), so the reduction is the all-reduce of the bucket's bytes plus a few Python calls per
bucket, with no copy in or out and no division after it.

Bucket rebuild (as PyTorch): the first synchronised backward records the order in which the
parameters' gradients become ready; the next training forward rebuilds the buckets in that
order (rank 0's order, broadcast, so every rank builds the same buckets), so the first
bucket holds the earliest gradients and launches earliest. Reverse parameter order is only a
guess of it (a Linear's weight gradient comes before its bias's; a model may register its
layers in another order than it calls them). Gradients already in the old buckets are
carried over; when the recorded order gives the same buckets, nothing changes.

A parameter that got no gradient on a rank (an unused branch) contributes zeros there; one
used on no rank keeps ``.grad = None`` (a per-parameter "used" count rides in the bucket), so
no ``find_unused_parameters`` flag is needed. A ``.grad`` the user or an optimizer replaced by
another tensor is copied back into the bucket at the next reduction.
"""
from __future__ import annotations

import contextlib
import weakref

import numpy as np

from ...core.autograd import is_grad_enabled, queue_callback
from ...core.tensor import Tensor
from ...distributed import groups as _group
from ..module import Module


FIRST_BUCKET_BYTES = 2 ** 20  # PyTorch's first bucket is 1 MiB, whatever bucket_cap_mb says


class _Bucket:
    """Parameters reduced together: one buffer holding their gradients, then one "used"
    count per parameter."""
    __slots__ = ("index", "params", "slots", "numel", "dtype", "ready", "buf", "used", "req",
                 "scale", "n", "n_arrived", "preq", "__weakref__")

    def __init__(self, index, params, dtype):
        self.index, self.params, self.dtype = index, params, dtype
        offsets, off = [], 0
        for p in params:
            offsets.append(off)
            off += p._data.size
        self.numel = off
        self.buf = np.zeros(off + len(params), dtype)
        self.used = self.buf[off:]
        self.slots = [_Slot(self, k, self.buf[o:o + p._data.size].reshape(p._data.shape))
                      for k, (p, o) in enumerate(zip(params, offsets))]
        self.n = len(params)
        self.ready = 0      # parameters whose post-accumulate hook ran in this pass
        self.n_arrived = 0  # parameters whose pass gradient the grad sink put in the buffer
        self.req = None
        self.preq = None   # the buffer's persistent all-reduce, where MPI has them (set by DDP)
        self.scale = None  # 1 / world size as a scalar of the bucket's dtype (set by DDP)


class _Slot:
    """One parameter's place in its bucket; called by autograd as the parameter's grad sink
    (``sink(leaf, g)``: accumulate ``g`` into the bucket, leave ``leaf.grad`` its view)."""
    __slots__ = ("bucket", "k", "view", "grad", "arrived", "ddp")

    def __init__(self, bucket, k, view):
        self.bucket, self.k, self.view = bucket, k, view
        self.grad = Tensor._wrap(view)  # the parameter's .grad whenever it has one
        # the pass (DDP's generation number) whose gradient is in the view, divided by the
        # world size; a generation number instead of a flag: nothing to reset between passes
        self.arrived = 0
        self.ddp = None

    def __call__(self, leaf, g):
        d = g._data
        if type(d) is not np.ndarray:
            return False  # not host memory (a strict device's arrays): autograd's own path
        view, cur = self.view, leaf.grad
        state = self.ddp._state
        scale = self.bucket.scale if state.sync and state.scale != 1.0 else None
        # (autograd hands over g in the leaf's dtype, the bucket's)
        if cur is None:
            if scale is None:
                np.copyto(view, d)
            else:  # the division by the world size rides on the one copy into the bucket
                np.multiply(d, scale, out=view)
        else:
            # accumulate in place (a .grad replaced by another tensor joins the bucket here)
            np.add(view if cur is self.grad else cur._data, d, out=view, casting="unsafe")
            if scale is not None:
                np.multiply(view, scale, out=view)
        if state.sync and self.arrived != state.gen:
            self.arrived = state.gen
            self.bucket.n_arrived += 1
        gt = self.grad
        if cur is not gt:
            leaf.grad = gt
        v = gt._ver
        if v is not None:
            v[0] += 1
        return True


class _PassState:
    """DDP's per-backward state, kept outside the Module (plain attribute access on the hot
    path)."""
    __slots__ = ("sync", "scale", "active", "next_launch", "gen", "order", "rebuild")

    def __init__(self, scale):
        self.sync, self.scale, self.active, self.next_launch = True, scale, False, 0
        self.gen = 1  # the number of this synchronised pass (the slots' ``arrived``)
        self.order = []     # parameters in gradient-ready order (first synced pass), or None
        self.rebuild = None  # that order, once the pass ended: the next forward rebuilds


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
        self.dim = dim
        seen, named = set(), []
        for name, p in module.named_parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                named.append((name, p))
        object.__setattr__(self, "_named_params", named)
        self._check_same_model()
        self._broadcast_state()
        object.__setattr__(self, "_state", _PassState(1.0 / self._comm.size))
        object.__setattr__(self, "_buckets", [])
        object.__setattr__(self, "_hook_handles", [])
        object.__setattr__(self, "_bucket_order", None)  # names, once rebuilt (first-ready first)
        # backward produces the last layers' gradients first: reverse parameter order until
        # the first backward has shown the real order
        self._install_buckets([p for _, p in reversed(named)])

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

    def _install_buckets(self, order):
        """Make the buckets for ``order`` (the parameters, first-ready first) and move every
        parameter's gradient (a view of its old bucket, or a tensor of its own) into them;
        nothing happens when they would hold the same parameters as now."""
        cap = int(self.bucket_cap_mb * 2 ** 20)
        groups = self._bucket_groups(order, cap, min(cap, FIRST_BUCKET_BYTES))
        old = self._buckets
        if [[id(p) for p in g] for g in groups] == [[id(p) for p in b.params] for b in old]:
            return False
        buckets = [_Bucket(i, g, g[0]._data.dtype) for i, g in enumerate(groups)]
        comm = self._comm
        scale = 1.0 / comm.size
        for b in old:  # (between passes: none is in flight)
            if b.preq is not None:
                b.preq.free()
                b.preq = None
        for b in buckets:
            b.scale = b.buf.dtype.type(scale)
            if comm.size > 1:
                # the buffer is the bucket's for good: its all-reduce is set up once (MPI-4's
                # persistent collective), each pass only starts it
                b.preq = comm.allreduce_init(b.buf, "sum")
                if b.preq is not None:
                    weakref.finalize(b, b.preq.free)
            for p, slot in zip(b.params, b.slots):
                slot.ddp = self
                g = p.grad
                if g is not None:  # from before the wrap or the rebuild: into the bucket
                    np.copyto(slot.view, g._data, casting="unsafe")
                    p.grad = slot.grad
                p._grad_sink = slot
        for h in self._hook_handles:
            h.remove()
        handles = [p.register_post_accumulate_grad_hook(self._ready_hook(b))
                   for b in buckets for p in b.params]
        object.__setattr__(self, "_buckets", buckets)
        object.__setattr__(self, "_hook_handles", handles)
        return True

    def _rebuild_buckets(self):
        """Rebuild the buckets in the gradient-ready order the first synchronised backward
        recorded (rank 0's, so that every rank builds the same buckets)."""
        state = self._state
        seen, ready = state.rebuild, []
        state.rebuild = None
        index = {id(p): i for i, (_, p) in enumerate(self._named_params)}
        for p in seen:
            i = index.get(id(p))
            if i is not None and i not in ready:
                ready.append(i)
        if self._comm.size > 1:
            ready = self._comm.bcast_object(ready, 0)
        got = set(ready)
        # parameters no gradient reached (on rank 0) go last, in reverse parameter order
        rest = [i for i in reversed(range(len(self._named_params))) if i not in got]
        object.__setattr__(self, "_bucket_order", [self._named_params[i][0]
                                                   for i in ready + rest])
        return self._install_buckets([self._named_params[i][1] for i in ready + rest])

    @staticmethod
    def _bucket_groups(params, cap_bytes, first_cap_bytes):
        """``params`` (in launch order) cut into buckets, per dtype; the first bucket closes
        at ``first_cap_bytes`` (as PyTorch's 1 MiB first bucket) so that the first
        all-reduce starts early in backward, the others at ``cap_bytes``."""
        buckets, cur, size = [], {}, {}
        for p in params:
            dt = p._data.dtype
            lst = cur.setdefault(dt, [])
            lst.append(p)
            size[dt] = size.get(dt, 0) + p._data.nbytes
            if size[dt] >= (cap_bytes if buckets else first_cap_bytes):
                buckets.append(lst)
                cur[dt], size[dt] = [], 0
        for dt, lst in cur.items():
            if lst:
                buckets.append(lst)
        return buckets

    # ---- forward -----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if self._state.rebuild is not None and is_grad_enabled():
            self._rebuild_buckets()
        if self.broadcast_buffers and self._comm.size > 1 and is_grad_enabled() and \
                self.require_backward_grad_sync:
            bufs = [b for _, b in self.module.named_buffers() if b is not None]
            if bufs:
                self._bcast_coalesced(bufs)
        return self.module(*args, **kwargs)

    @property
    def require_backward_grad_sync(self):
        """Whether the next backward averages the gradients (False inside ``no_sync()``)."""
        return self._state.sync

    @require_backward_grad_sync.setter
    def require_backward_grad_sync(self, value):
        self._state.sync = bool(value)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this context, backward accumulates gradients locally without averaging them;
        the first backward after it averages the accumulated gradients."""
        state = self._state
        prev = state.sync
        state.sync = False
        try:
            yield
        finally:
            state.sync = prev

    # ---- backward: buckets -------------------------------------------------------------------
    def _ready_hook(self, b):
        """The post-accumulate-grad hook of the parameters of bucket ``b``: count the
        gradient in; a full bucket launches (with every full one before it)."""
        state, buckets, finish = self._state, self._buckets, self._finish_backward

        def grad_ready(p):
            if not state.sync:
                return
            if not state.active:
                state.active = True
                queue_callback(finish)
            if state.order is not None:  # the first synchronised pass: record the order
                state.order.append(p)
            b.ready += 1
            if b.ready == b.n:
                self._launch_ready()
            elif state.next_launch:  # let MPI move the buckets already in flight
                for q in buckets[:state.next_launch]:
                    if q.req is not None:
                        q.req.test()
        return grad_ready

    def _mark_all_arrived(self):
        """As at the end of a backward pass that gave every parameter a gradient (the
        distributed benchmark's reduction alone): every bucket full, nothing launched."""
        gen = self._state.gen
        for b in self._buckets:
            for slot in b.slots:
                slot.arrived = gen
            b.ready = b.n_arrived = b.n

    def _launch_ready(self):
        state = self._state
        i = state.next_launch
        buckets = self._buckets
        while i < len(buckets) and buckets[i].ready == len(buckets[i].params):
            self._launch(buckets[i])
            i += 1
        state.next_launch = i

    def _launch(self, b):
        if b.n_arrived == b.n:  # every gradient is in the bucket (the common case)
            b.used.fill(1)
        else:
            self._fill_missing(b)
        last = b.index == len(self._buckets) - 1
        pr = b.preq
        if pr is not None:  # the persistent all-reduce of the bucket's buffer
            pr.start()
            if last:  # every other bucket is launched: nothing is left to overlap
                pr.wait()
                b.req = None
            else:
                b.req = pr
        elif last:
            # a blocking all-reduce skips the request machinery (MPI keeps the order of the
            # ranks' collectives, blocking or not)
            self._comm.allreduce(b.buf, "sum")
            b.req = None
        else:
            b.req = self._comm.iallreduce(b.buf, "sum")

    def _fill_missing(self, b):
        """Bucket ``b``'s entries for the parameters autograd gave no gradient in this pass
        (zeros, "unused") or whose gradient is elsewhere (accumulated under no_sync, left
        from an earlier pass, or replaced): into the bucket, divided by the world size."""
        state = self._state
        scale, gen = state.scale, state.gen
        used = b.used
        for k, (p, slot) in enumerate(zip(b.params, b.slots)):
            if slot.arrived == gen:  # autograd put this pass's gradient in the bucket, divided
                used[k] = 1
                continue
            g = p.grad
            view = slot.view
            if g is None:
                view.fill(0)
                used[k] = 0
            else:  # accumulated under no_sync, left from an earlier pass, or replaced
                np.multiply(view if g is slot.grad else g._data, scale, out=view,
                            casting="unsafe")
                used[k] = 1

    def _finish_backward(self):
        state = self._state
        state.active = False
        buckets = self._buckets
        for b in buckets[state.next_launch:]:  # gradients that never came on this rank
            self._launch(b)
        state.next_launch = 0
        state.gen += 1  # this pass's arrivals are now the past
        if state.order is not None:  # the next training forward rebuilds in this order
            state.rebuild, state.order = state.order, None
        for b in buckets:
            req = b.req
            if req is not None:
                req.wait()
                b.req = None
            if b.n_arrived != b.n:
                # some .grad may not be the bucket's view yet: a parameter that got zeros
                # here but a gradient on another rank, or a replaced .grad
                used = b.used.tolist()
                for k, (p, slot) in enumerate(zip(b.params, b.slots)):
                    if used[k] and p.grad is not slot.grad:
                        p.grad = slot.grad
            b.ready = b.n_arrived = 0

    def extra_repr(self):
        return (f"world_size={self._comm.size}, buckets={len(self._buckets)}, "
                f"bucket_cap_mb={self.bucket_cap_mb}")


DDP = DistributedDataParallel
