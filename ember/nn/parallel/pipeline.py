"""Pipeline parallelism: split an ``nn.Sequential`` into stages and run micro-batches
through them on a GPipe or 1F1B schedule (in the spirit of ``torch.distributed.pipelining``).

A schedule is a table of actions per stage, ``F3`` (the forward of micro-batch 3) and ``B3``
(its backward), printed by ``print(schedule)``:

- GPipe: every forward, then every backward (``F0 F1 F2 F3 B3 B2 B1 B0``): simple, but each
  stage keeps the activations of all micro-batches alive until their backward;
- 1F1B (PipeDream-flush): after a warm-up of ``num_stages - 1 - stage`` forwards, each stage
  alternates one forward and one backward, so it keeps at most ``num_stages`` micro-batches'
  activations alive.

The executor runs a table either in one process (``ScheduleGPipe(stages, ...)`` with the list
of every stage: a loop that runs each stage's next action once its input has arrived) or
across ranks (``ScheduleGPipe(stage, ...)`` with this rank's stage: rank ``r`` runs stage
``r``; activations go forward and their gradients backward with MPI send/recv over
``ember.distributed``'s communicator). Either way ``step(x, target=y)`` splits the batch into
micro-batches, runs the forwards and backwards (the loss of each micro-batch scaled by
``1/n_microbatches``, so the accumulated ``.grad`` of every parameter is the full batch's
mean-loss gradient) and returns the last stage's outputs, concatenated.
"""
from __future__ import annotations

import numpy as np

from ...core.tensor import Tensor
from ...distributed import groups as _groups
from ...ops.indexing import cat
from ..layers import Sequential
from ..module import Module

__all__ = ["split_sequential", "gpipe_actions", "one_f_one_b_actions", "ScheduleGPipe",
           "Schedule1F1B"]


def split_sequential(module, num_stages=None, split_points=None):
    """``module`` (an ``nn.Sequential``) cut into consecutive stages (each an
    ``nn.Sequential`` sharing the original layers): before each index of ``split_points``, or
    into ``num_stages`` stages of as equal a number of layers as possible.

    >>> seq = ember.nn.Sequential(*[ember.nn.Linear(2, 2) for _ in range(5)])
    >>> [len(s) for s in ember.nn.parallel.split_sequential(seq, num_stages=2)]
    [3, 2]
    >>> [len(s) for s in ember.nn.parallel.split_sequential(seq, split_points=[1, 4])]
    [1, 3, 1]
    """
    op = "split_sequential"
    if not isinstance(module, Sequential):
        raise TypeError(f"{op}: expects an nn.Sequential, got {type(module).__name__}; wrap "
                        f"the layers in one, or build the stages yourself")
    layers = list(module)
    n = len(layers)
    if split_points is None:
        if num_stages is None or not 1 <= num_stages <= n:
            raise ValueError(f"{op}: num_stages must be between 1 and the number of layers "
                             f"({n}), got {num_stages!r}; or give split_points")
        base, extra = divmod(n, num_stages)
        sizes = [base + (i < extra) for i in range(num_stages)]
        split_points = list(np.cumsum(sizes)[:-1])
    pts = [int(p) for p in split_points]
    if sorted(set(pts)) != pts or (pts and not (0 < pts[0] and pts[-1] < n)):
        raise ValueError(f"{op}: split_points {list(split_points)} must be increasing indices "
                         f"strictly between 0 and {n} (the number of layers)")
    bounds = [0] + pts + [n]
    return [Sequential(*layers[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def gpipe_actions(num_stages, n_microbatches):
    """GPipe's table: per stage, every forward then every backward (last first).

    >>> ember.nn.parallel.gpipe_actions(2, 3)[0]
    [('F', 0), ('F', 1), ('F', 2), ('B', 2), ('B', 1), ('B', 0)]
    """
    _check_sizes("gpipe_actions", num_stages, n_microbatches)
    m = range(n_microbatches)
    return [[("F", i) for i in m] + [("B", i) for i in reversed(m)]
            for _ in range(num_stages)]


def one_f_one_b_actions(num_stages, n_microbatches):
    """1F1B's table: per stage, ``num_stages - 1 - stage`` warm-up forwards, then one forward
    and one backward in turn, then the remaining backwards.

    >>> ember.nn.parallel.one_f_one_b_actions(2, 4)[0]
    [('F', 0), ('F', 1), ('B', 0), ('F', 2), ('B', 1), ('F', 3), ('B', 2), ('B', 3)]
    """
    _check_sizes("one_f_one_b_actions", num_stages, n_microbatches)
    table = []
    for s in range(num_stages):
        warm = min(num_stages - 1 - s, n_microbatches)
        acts = [("F", i) for i in range(warm)]
        f, b = warm, 0
        while f < n_microbatches:
            acts += [("F", f), ("B", b)]
            f, b = f + 1, b + 1
        acts += [("B", i) for i in range(b, n_microbatches)]
        table.append(acts)
    return table


def _check_sizes(op, num_stages, n_microbatches):
    for name, v in (("num_stages", num_stages), ("n_microbatches", n_microbatches)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{op}: {name} must be a positive int, got {v!r}")


# ---- moving tensors between ranks (shape and dtype first, then the data) ----------------------

_DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.bool_]
_HEADER = 10  # dtype code, ndim, up to 8 dims


def _isend(comm, arr, dst, tag, pending):
    arr = np.ascontiguousarray(arr)
    codes = [i for i, d in enumerate(_DTYPES) if arr.dtype == d]
    if not codes or arr.ndim > _HEADER - 2:
        raise TypeError(f"pipeline: cannot send a {arr.dtype} array of {arr.ndim} dims between "
                        f"stages (supported: {[np.dtype(d).name for d in _DTYPES]}, up to "
                        f"{_HEADER - 2} dims)")
    head = np.zeros(_HEADER, np.int64)
    head[0], head[1] = codes[0], arr.ndim
    head[2:2 + arr.ndim] = arr.shape
    pending.append(comm.isend(head, dst, tag=tag))
    pending.append(comm.isend(arr, dst, tag=tag + 1))


def _recv(comm, src, tag):
    head = np.zeros(_HEADER, np.int64)
    comm.recv(head, src, tag=tag)
    arr = np.empty(tuple(head[2:2 + head[1]]), _DTYPES[head[0]])
    comm.recv(arr, src, tag=tag + 1)
    return arr


# ---- the schedules ----------------------------------------------------------------------------

class _Schedule:
    name = ""
    _actions = None

    def __init__(self, stages, n_microbatches, loss_fn=None, *, scale_grads=True):
        op = type(self).__name__
        if isinstance(stages, Module):  # this rank's stage: run across the process group
            if not _groups.is_initialized():
                raise RuntimeError(f"{op}: one stage was given, so the stages run one per "
                                   f"rank, but no process group is initialised; call "
                                   f"ember.distributed.init_process_group() under `ember run "
                                   f"-n <stages>`, or pass the list of every stage to run "
                                   f"them in this process")
            self.comm = _groups._world()
            self.stages = {self.comm.rank: stages}
            self.num_stages = self.comm.size
        else:
            stages = list(stages)
            if not stages or not all(isinstance(s, Module) for s in stages):
                raise TypeError(f"{op}: expects a stage Module (this rank's) or a list of "
                                f"stage Modules (all of them, run in this process)")
            self.comm = None
            self.stages = dict(enumerate(stages))
            self.num_stages = len(stages)
        _check_sizes(op, self.num_stages, n_microbatches)
        self.n_microbatches = n_microbatches
        self.loss_fn = loss_fn
        self.scale_grads = scale_grads
        self.actions = type(self)._actions(self.num_stages, n_microbatches)
        if loss_fn is None:  # no loss, no backward: the forwards only (inference)
            self.actions = [[a for a in row if a[0] == "F"] for row in self.actions]
        # the most micro-batches whose activations a stage kept alive at once, per stage
        self.max_live_activations = {s: 0 for s in self.stages}

    def __str__(self):
        width = max(len(f"{k}{i}") for row in self.actions for k, i in row)
        rows = [f"stage {s}: " + " ".join(f"{k}{i}".ljust(width) for k, i in row).rstrip()
                for s, row in enumerate(self.actions)]
        return f"{self.name} ({self.num_stages} stages, {self.n_microbatches} " \
               f"micro-batches)\n" + "\n".join(rows)

    __repr__ = __str__

    # ---- one step -------------------------------------------------------------------------
    def step(self, *args, target=None, losses=None):
        """Run one pipelined forward and backward over ``args`` (the first stage's input,
        split into micro-batches along dim 0); accumulates every stage's ``.grad``. Returns
        the last stage's outputs concatenated (None on other ranks); ``losses``, a list,
        receives each micro-batch's loss. Without a ``loss_fn`` only the forwards run."""
        op = f"{type(self).__name__}.step"
        m = self.n_microbatches
        last = self.num_stages - 1
        if self.loss_fn is not None and target is None and last in self.stages:
            raise ValueError(f"{op}: a loss_fn was given, so the last stage needs target=")
        mbs = self._split(op, args, 0 in self.stages) if 0 in self.stages else None
        tgts = self._split(op, (target,), True) if (
            target is not None and last in self.stages) else None
        # per stage: micro-batch -> (input, output or loss) kept for its backward
        live = {s: {} for s in self.stages}
        outs = {}
        inbox_f, inbox_b = {}, {}  # (stage, micro-batch) -> array, in one process
        pending = []
        pos = {s: 0 for s in self.stages}

        def ready(s, kind, i):
            if self.comm is not None:
                return True  # across ranks a receive blocks until the data arrives
            if kind == "F":
                return s == 0 or (s, i) in inbox_f
            return s == last or (s, i) in inbox_b

        def run(s, kind, i):
            stage = self.stages[s]
            if kind == "F":
                if s == 0:
                    xs = mbs[i]
                else:
                    a = inbox_f.pop((s, i)) if self.comm is None else \
                        _recv(self.comm, s - 1, tag=4 * i)
                    xs = (Tensor._wrap(a).requires_grad_(True),)
                y = stage(*xs)
                if s == last:
                    outs[i] = y.detach()
                    if self.loss_fn is not None:
                        loss = self.loss_fn(y, *tgts[i])
                        if losses is not None:
                            losses.append(loss.detach())
                        y = loss / m if self.scale_grads else loss
                if self.loss_fn is not None:  # kept for the backward
                    live[s][i] = (xs, y)
                self.max_live_activations[s] = max(self.max_live_activations[s], len(live[s]))
                if s < last:
                    if self.comm is None:
                        inbox_f[(s + 1, i)] = y.detach().numpy()
                    else:
                        _isend(self.comm, y.detach().numpy(), s + 1, 4 * i, pending)
                return
            xs, y = live[s].pop(i)
            if s == last:
                y.backward()
            else:
                g = inbox_b.pop((s, i)) if self.comm is None else \
                    _recv(self.comm, s + 1, tag=4 * i + 2)
                y.backward(Tensor._wrap(g))
            if s > 0:
                gx = xs[0].grad
                g = gx.numpy() if gx is not None else np.zeros(tuple(xs[0].shape),
                                                              xs[0].dtype.np)
                if self.comm is None:
                    inbox_b[(s - 1, i)] = g
                else:
                    _isend(self.comm, g, s - 1, 4 * i + 2, pending)

        todo = sum(len(self.actions[s]) for s in self.stages)
        while todo:
            progressed = False
            for s in self.stages:
                if pos[s] < len(self.actions[s]):
                    kind, i = self.actions[s][pos[s]]
                    if ready(s, kind, i):
                        run(s, kind, i)
                        pos[s] += 1
                        todo -= 1
                        progressed = True
            if not progressed:  # pragma: no cover (the tables above never deadlock)
                raise RuntimeError(f"{op}: the schedule deadlocked at {pos}")
        for r in pending:
            r.wait()
        if last not in self.stages:
            return None
        return cat([outs[i] for i in range(m)], 0)

    def _split(self, op, args, required):
        m = self.n_microbatches
        if not args or args[0] is None:
            raise ValueError(f"{op}: the first stage needs the input batch")
        parts = []
        for a in args:
            if not isinstance(a, Tensor) or a.ndim == 0 or a.shape[0] % m:
                shape = tuple(a.shape) if isinstance(a, Tensor) else type(a).__name__
                raise ValueError(f"{op}: each input's dim 0 must split into {m} equal "
                                 f"micro-batches, got {shape}")
            parts.append(a.chunk(m, 0))
        return list(zip(*parts))


class ScheduleGPipe(_Schedule):
    """GPipe: all forwards, then all backwards.

    >>> stages = ember.nn.parallel.split_sequential(
    ...     ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.Linear(2, 1)), num_stages=2)
    >>> mse = lambda out, target: ((out - target) ** 2).mean()
    >>> print(ember.nn.parallel.ScheduleGPipe(stages, 3, loss_fn=mse))
    GPipe (2 stages, 3 micro-batches)
    stage 0: F0 F1 F2 B2 B1 B0
    stage 1: F0 F1 F2 B2 B1 B0
    """
    name = "GPipe"
    _actions = staticmethod(gpipe_actions)


class Schedule1F1B(_Schedule):
    """1F1B: warm-up forwards, then one forward and one backward in turn.

    >>> stages = ember.nn.parallel.split_sequential(
    ...     ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.Linear(2, 1)), num_stages=2)
    >>> mse = lambda out, target: ((out - target) ** 2).mean()
    >>> print(ember.nn.parallel.Schedule1F1B(stages, 4, loss_fn=mse))
    1F1B (2 stages, 4 micro-batches)
    stage 0: F0 F1 B0 F2 B1 F3 B2 B3
    stage 1: F0 B0 F1 B1 F2 B2 F3 B3
    """
    name = "1F1B"
    _actions = staticmethod(one_f_one_b_actions)
