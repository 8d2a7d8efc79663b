"""Datasets (map-style and iterable), samplers, ``random_split`` and the ``DataLoader``
(single process, or worker processes that yield the same batches in the same order)."""
from __future__ import annotations

import itertools
import os
import time

import numpy as np

from ..core.tensor import Tensor


class Dataset:
    """A map-style dataset: subclasses give ``__getitem__(i)`` and ``__len__``; ``a + b``
    concatenates two datasets.

    >>> class Squares(ember.data.Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return i, i * i
    >>> Squares()[3], len(Squares() + Squares())
    ((3, 9), 8)
    """

    def __getitem__(self, i):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses implement ``__iter__``.

    >>> class Countdown(ember.data.IterableDataset):
    ...     def __iter__(self):
    ...         return iter([3, 2, 1])
    >>> [batch for batch in ember.data.DataLoader(Countdown(), batch_size=2)]
    [tensor([3, 2]), tensor([1])]
    """

    def __iter__(self):
        raise NotImplementedError

    def __getitem__(self, i):
        raise TypeError("IterableDataset has no random access; iterate over it")


class ConcatDataset(Dataset):
    """Datasets one after another: index ``i`` runs through the first, then the second, ...

    >>> both = ember.data.ConcatDataset([[1, 2], [3, 4, 5]])
    >>> len(both), both[2], both[-1]
    (5, 3, 5)
    """
    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: give at least one dataset")
        self.cumulative = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative[-1]

    def __getitem__(self, i):
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"ConcatDataset: index {i} out of range for length {len(self)}")
        import bisect
        k = bisect.bisect_right(self.cumulative, i)
        return self.datasets[k][i - (self.cumulative[k - 1] if k else 0)]


class ChainDataset(IterableDataset):
    """Iterable datasets chained one after the other (as ``torch.utils.data.ChainDataset``).

    >>> class Upto(ember.data.IterableDataset):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def __iter__(self):
    ...         return iter(range(self.n))
    >>> list(ember.data.ChainDataset([Upto(2), Upto(3)]))
    [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: dataset {i} ({type(d).__name__}) is not an "
                                f"IterableDataset; use ConcatDataset for map-style datasets")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        try:
            return sum(len(d) for d in self.datasets)
        except NotImplementedError:  # a member without a length: so has the chain
            raise TypeError("ChainDataset: a chained dataset has no len()") from None


class StackDataset(Dataset):
    """Samples of several datasets of equal length side by side: a tuple (positional
    arguments) or a dict (keyword arguments) per index.

    >>> ds = ember.data.StackDataset(image=[10, 20], label=[1, 2])
    >>> ds[1], len(ds)
    ({'image': 20, 'label': 2}, 2)
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: give the datasets as positional or as keyword "
                             "arguments, not both")
        self.datasets = args or kwargs
        sizes = [len(d) for d in (args or kwargs.values())]
        if not sizes:
            raise ValueError("StackDataset: at least one dataset is needed")
        if len(set(sizes)) != 1:
            raise ValueError(f"StackDataset: the datasets have different lengths {sizes}")
        self._length = sizes[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class TensorDataset(Dataset):
    """Samples are the i-th rows of tensors of equal first dimension.

    >>> ds = ember.data.TensorDataset(ember.arange(6).reshape(3, 2), ember.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        n = tensors[0].shape[0]
        for i, t in enumerate(tensors):
            if t.shape[0] != n:
                raise ValueError(f"TensorDataset: tensor {i} has {t.shape[0]} rows, tensor 0 "
                                 f"has {n}; all must have the same size in dim 0")
        self.tensors = tensors

    def __getitem__(self, i):
        return tuple(Tensor._wrap(t._data[i]) for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``.

    >>> ember.data.Subset(["a", "b", "c", "d"], [3, 0])[0]
    'd'
    """
    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, i):
        return self.dataset[self.indices[i]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    r"""Splits ``dataset`` into non-overlapping random ``Subset``\ s of the given lengths (or
    fractions summing to 1), seeded by ``generator`` or the global generator.

    >>> seeded = ember.Generator().manual_seed(0)
    >>> train, val = ember.data.random_split(range(10), [0.8, 0.2], generator=seeded)
    >>> len(train), len(val), sorted(list(train) + list(val)) == list(range(10))
    (8, 2, True)
    """
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-6:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {list(lengths)} sum to {sum(lengths)}, but the "
                         f"dataset has {n} samples")
    rng = np.random.default_rng(_seed_from(generator))
    perm = rng.permutation(n)
    out, start = [], 0
    for L in lengths:
        out.append(Subset(dataset, perm[start:start + L].tolist()))
        start += L
    return out


def _seed_from(generator):
    if generator is None:
        from ..random.generator import default_generator
        generator = default_generator
    return int(generator._rng.integers(0, 2 ** 63))


def default_collate(batch):
    """Stack samples into batch tensors, recursing into tuples, lists and dicts, by PyTorch's
    rules: a tuple or list of fields becomes a list of batched fields (a namedtuple keeps its
    type), Python floats batch as float64 and ints as int64, NumPy scalars and arrays keep
    their dtype, strings stay a list.

    >>> ember.data.default_collate([(ember.tensor([1., 2.]), 0), (ember.tensor([3., 4.]), 1)])
    [tensor([[1., 2.],
            [3., 4.]]), tensor([0, 1])]
    >>> ember.data.default_collate([{"label": 3}, {"label": 5}])
    {'label': tensor([3, 5])}
    """
    first = batch[0]
    if isinstance(first, Tensor):
        return Tensor._wrap(np.stack([b._data for b in batch]))
    if isinstance(first, (np.ndarray, np.generic)) and first.dtype.kind not in "OSUV":
        return Tensor._wrap(np.stack([np.asarray(b) for b in batch]))
    if isinstance(first, bool):
        return Tensor._wrap(np.array(batch, dtype=bool))
    if isinstance(first, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(first, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        sizes = {len(b) for b in batch}
        if len(sizes) > 1:
            raise RuntimeError(
                f"default_collate: each element in list of batch should be of equal size, got "
                f"samples of lengths {sorted(sizes)}; pad them to one length or pass a "
                f"collate_fn that handles ragged samples")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        if hasattr(first, "_fields"):  # a namedtuple keeps its type
            return type(first)(*fields)
        if isinstance(first, tuple) or type(first) is list:
            return fields  # PyTorch returns a list for tuples too
        try:
            return type(first)(fields)
        except TypeError:
            return fields
    return batch


def default_convert(data):
    """NumPy arrays (and numbers inside sequences and dicts) to tensors, without batching:
    the DataLoader's conversion when ``batch_size=None`` (as PyTorch's).

    >>> ember.data.default_convert({"x": np.arange(2)})
    {'x': tensor([0, 1])}
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "OSU" else Tensor._wrap(np.asarray(data))
    if isinstance(data, np.generic) and data.dtype.kind not in "OSU":
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, dict):
        return type(data)({k: default_convert(v) for k, v in data.items()}) \
            if type(data) is not dict else {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(v) for v in data)
    return data


class Sampler:
    """Base class of samplers: ``__iter__`` yields dataset indices, ``__len__`` counts them.

    >>> class EvenIndices(ember.data.Sampler):
    ...     def __iter__(self):
    ...         return iter(range(0, len(self.data_source), 2))
    ...     def __len__(self):
    ...         return (len(self.data_source) + 1) // 2
    >>> list(ember.data.DataLoader(range(5), sampler=EvenIndices(range(5))))
    [tensor([0]), tensor([2]), tensor([4])]
    """
    def __init__(self, data_source=None):
        self.data_source = data_source


class SequentialSampler(Sampler):
    """The indices ``0, 1, ..., len(data_source) - 1`` in order.

    >>> list(ember.data.SequentialSampler(range(3)))
    [0, 1, 2]
    """
    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A permutation (or ``num_samples`` draws with replacement) seeded by ``generator`` or
    the global generator.

    >>> order = list(ember.data.RandomSampler(range(5), generator=ember.Generator().manual_seed(0)))
    >>> sorted(order)
    [0, 1, 2, 3, 4]
    >>> len(list(ember.data.RandomSampler(range(5), replacement=True, num_samples=12)))
    12
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        super().__init__(data_source)
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean, got "
                            f"{replacement!r}")
        if num_samples is not None and (not isinstance(num_samples, (int, np.integer))
                                        or isinstance(num_samples, bool) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got "
                             f"{num_samples!r}")
        if num_samples is None and hasattr(data_source, "__len__") and len(data_source) <= 0:
            # as PyTorch: shuffling an empty dataset is an error when the loader is made
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got "
                             f"num_samples={len(data_source)} (the dataset is empty: its "
                             f"__len__ returns {len(data_source)})")
        self.replacement, self.generator = replacement, generator
        self._num_samples = num_samples

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        # the seed is drawn now; the indices lazily, in blocks (makemore asks for 10**10
        # draws with replacement and takes a few)
        return self._draw(np.random.default_rng(_seed_from(self.generator)))

    def _draw(self, rng):
        n, total = len(self.data_source), self.num_samples
        if self.replacement:
            for lo in range(0, total, 4096):
                yield from rng.integers(0, n, min(4096, total - lo)).tolist()
            return
        for lo in range(0, total, n):  # more than len(data_source): whole permutations again
            yield from rng.permutation(n)[:total - lo].tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order.

    >>> sorted(ember.data.SubsetRandomSampler([7, 3, 5]))
    [3, 5, 7]
    """
    def __init__(self, indices, generator=None):
        super().__init__(None)
        self.indices, self.generator = list(indices), generator

    def __iter__(self):
        rng = np.random.default_rng(_seed_from(self.generator))
        return iter([self.indices[i] for i in rng.permutation(len(self.indices))])

    def __len__(self):
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``).

    >>> list(ember.data.BatchSampler(range(5), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    >>> list(ember.data.BatchSampler(range(5), batch_size=2, drop_last=True))
    [[0, 1], [2, 3]]
    """
    def __init__(self, sampler, batch_size, drop_last):
        if batch_size < 1:
            raise ValueError(f"BatchSampler: batch_size must be positive, got {batch_size}")
        super().__init__(None)
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a DataLoader worker process: ``id``,
    ``num_workers``, ``seed`` and this worker's copy of the ``dataset``.

    >>> ember.data.WorkerInfo(id=0, num_workers=2, seed=7, dataset=[1, 2])
    WorkerInfo(id=0, num_workers=2, seed=7, dataset=list)
    """

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={type(self.dataset).__name__})")


_WORKER_INFO = [None]


def get_worker_info():
    """Inside a DataLoader worker process: its ``WorkerInfo`` (to shard an IterableDataset
    or seed per worker); in the main process: None (as PyTorch).

    >>> ember.data.get_worker_info() is None
    True
    """
    return _WORKER_INFO[0]


def _worker_loop(dataset, collate, tasks, results, worker_id, init_fn, seed, parent,
                 num_workers=1):
    import queue
    import signal
    from ..random.generator import default_generator
    _WORKER_INFO[0] = WorkerInfo(worker_id, num_workers, seed + worker_id, dataset)
    # Ctrl-C reaches the whole process group: the main process handles it and shuts the
    # workers down; a worker's own traceback would only add noise
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    default_generator.manual_seed(seed + worker_id)
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception as e:  # reported in the main process
            results.put((-1 - worker_id, None, f"worker_init_fn failed: {type(e).__name__}: "
                                               f"{e}"))
            return
    while True:
        try:
            job = tasks.get(timeout=_WORKER_POLL)
        except queue.Empty:
            if os.getppid() != parent:  # the main process died: don't linger as an orphan
                return
            continue
        if job is None:
            return
        k, idx = job
        try:
            results.put((k, collate([dataset[i] for i in idx]), None))
        except Exception as e:  # reported in the main process, naming the batch
            results.put((k, None, f"{type(e).__name__}: {e}"))


_WORKER_POLL = 1.0  # seconds between a waiting worker's checks that the main process lives
_MAIN_POLL = 0.1  # seconds between the main process's checks that the workers live


def _death_message(proc):
    import signal
    code = proc.exitcode
    if code < 0:
        try:
            name = signal.strsignal(-code) or signal.Signals(-code).name
        except (ValueError, AttributeError):
            name = f"signal {-code}"
        hint = (" A worker killed by SIGKILL usually ran out of memory (the OOM killer): "
                "use fewer workers, smaller batches or a smaller prefetch_factor."
                if -code == signal.SIGKILL else "")
        return (f"DataLoader worker (pid {proc.pid}) is killed by signal: {name}.{hint} The "
                f"batch it was loading is lost; the other workers were shut down.")
    return (f"DataLoader worker (pid {proc.pid}) exited unexpectedly with exit code {code} "
            f"(sys.exit or os._exit in the dataset, collate_fn or worker_init_fn?). The batch "
            f"it was loading is lost; the other workers were shut down. Run with "
            f"num_workers=0 to debug it in the main process.")


class DataLoader:
    """Batches of a dataset, as ``torch.utils.data.DataLoader``. The ``shuffle`` order is
    fixed by ``generator`` (or the global seed); ``num_workers > 0`` loads batches in worker
    processes and yields exactly the batches, in the order, that ``num_workers=0`` gives.

    >>> ds = ember.data.TensorDataset(ember.arange(10.), ember.arange(10))
    >>> loader = ember.data.DataLoader(ds, batch_size=4)
    >>> len(loader)
    3
    >>> for x, y in loader:
    ...     print(x.shape, y.tolist())
    ember.Size([4]) [0, 1, 2, 3]
    ember.Size([4]) [4, 5, 6, 7]
    ember.Size([2]) [8, 9]
    >>> shuffled = ember.data.DataLoader(ds, batch_size=5, shuffle=True)
    >>> sorted(sum((y.tolist() for _, y in shuffled), []))
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, drop_last=False, generator=None,
                 worker_init_fn=None, persistent_workers=False, prefetch_factor=2, timeout=0,
                 pin_memory=False):
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("DataLoader: batch_sampler is mutually exclusive with "
                             "batch_size, shuffle, sampler and drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive")
        if batch_sampler is None and batch_size is not None and batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer (or None to "
                             f"load single samples), got {batch_size}")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None (no batching) and drop_last=True "
                             "are mutually exclusive")
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or \
                not timeout >= 0:
            raise ValueError(f"DataLoader: timeout option should be a non-negative number of "
                             f"seconds (0 waits forever), got {timeout!r}")
        if timeout and not num_workers:
            raise ValueError(f"DataLoader: timeout={timeout} applies to batches loaded by "
                             f"worker processes; set num_workers > 0 or leave timeout at 0")
        if persistent_workers and not num_workers:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if isinstance(dataset, IterableDataset) and (shuffle or sampler or batch_sampler):
            raise ValueError("DataLoader: an IterableDataset can't be shuffled or sampled")
        if shuffle and sampler is None and not isinstance(dataset, IterableDataset) and \
                len(dataset) <= 0:  # (PyTorch's RandomSampler refuses an empty dataset here)
            raise ValueError(f"DataLoader(shuffle=True): num_samples should be a positive "
                             f"integer, got num_samples={len(dataset)} (the dataset is empty: "
                             f"its __len__ returns {len(dataset)})")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.sampler, self.batch_sampler, self.drop_last = sampler, batch_sampler, drop_last
        # batch_size=None turns batching off: each sample is converted (default_convert) or
        # passed to collate_fn alone, as PyTorch
        self._batching = batch_size is not None or batch_sampler is not None
        self.collate_fn = collate_fn or (default_collate if self._batching else default_convert)
        self._collate = self.collate_fn if self._batching else _Single(self.collate_fn)
        self.generator, self.num_workers = generator, num_workers
        self.worker_init_fn, self.prefetch_factor = worker_init_fn, max(prefetch_factor, 1)
        self.timeout, self.persistent_workers = timeout, bool(persistent_workers)
        self._pool = None  # persistent_workers: the live _WorkerPool between epochs

    def _batches(self):
        """The index lists of one epoch, made as they are consumed (a sampler may be
        practically endless: makemore's RandomSampler with num_samples=10**10); the order's
        seed is drawn now, before the workers' seeds."""
        if self.batch_sampler is not None:
            return (list(b) for b in self.batch_sampler)
        n = len(self.dataset)
        if self.sampler is not None:
            order = iter(self.sampler)
        elif self.shuffle:
            order = iter(np.random.default_rng(_seed_from(self.generator)).permutation(n).tolist())
        else:
            order = iter(range(n))
        return self._chunks(order)

    def _chunks(self, order):
        bs = self.batch_size or 1
        while True:
            batch = list(itertools.islice(order, bs))
            if not batch or (self.drop_last and len(batch) < bs):
                return
            yield batch

    def __iter__(self):
        ds = self.dataset
        if isinstance(ds, IterableDataset):
            yield from self._iter_stream()
            return
        batches = self._batches()
        if self.num_workers:
            yield from self._iter_workers(batches)
            return
        fast = isinstance(ds, TensorDataset) and self._collate is default_collate
        for idx in batches:
            if fast:  # gather whole batches at once
                yield [Tensor._wrap(t._data[idx]) for t in ds.tensors]
            else:
                yield self._collate([ds[i] for i in idx])

    def _iter_stream(self):
        if not self._batching:
            for item in self.dataset:
                yield self.collate_fn(item)
            return
        batch = []
        for item in self.dataset:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def _iter_workers(self, batches):
        """Batches from worker processes, in order. A worker that dies (a signal, an
        out-of-memory kill, sys.exit/os._exit) or a batch that takes longer than ``timeout``
        seconds raises a RuntimeError instead of waiting forever; the workers are shut down
        however the iteration ends (exhausted, an error, KeyboardInterrupt, the loop left
        early) -- except that with ``persistent_workers=True`` they stay alive after an epoch
        that ended normally or was left early, and the next epoch reuses them (their random
        state and ``worker_init_fn`` effects carry over, as in PyTorch). They stop when the
        loader is garbage collected or the interpreter exits."""
        pool = self._pool if self.persistent_workers else None
        if pool is None or not pool.alive():
            if pool is not None:
                pool.close()
            pool = _WorkerPool(self)
            if self.persistent_workers:
                self._pool = pool
        base = pool.next_key  # results tagged below base come from an abandoned epoch
        ok = False
        try:
            ahead = self.num_workers * self.prefetch_factor
            inflight = {}  # batch number -> its indices, until its result arrives
            pending = {}

            def send():
                idx = next(batches, None)
                if idx is not None:
                    key = pool.next_key - base
                    pool.next_key += 1
                    inflight[key] = idx
                    pool.tasks.put((base + key, idx))
            for _ in range(ahead):
                send()
            k = 0
            while inflight or pending:
                while k not in pending:
                    j, batch, err = self._next_result(pool.results, pool.procs, k)
                    if err is not None and j < 0:
                        raise RuntimeError(f"DataLoader worker {-1 - j}: {err}")
                    if j < base:
                        continue  # a late batch of an epoch that was left early
                    j -= base
                    idx = inflight.pop(j)
                    if err is not None:
                        raise RuntimeError(f"DataLoader worker: batch {j} (indices "
                                           f"{idx[:8]}...) failed: {err}")
                    pending[j] = batch
                    send()
                yield pending.pop(k)
                k += 1
            ok = True
        except GeneratorExit:  # the loop was left early: the pool is still sound
            ok = True
            raise
        finally:
            if not (ok and self.persistent_workers):
                pool.close()
                if self._pool is pool:
                    self._pool = None

    def _next_result(self, results, procs, k):
        import queue
        start = time.monotonic()
        while True:
            wait = _MAIN_POLL
            if self.timeout:
                wait = min(wait, max(self.timeout - (time.monotonic() - start), 0.0))
            try:
                return results.get(timeout=wait)
            except queue.Empty:
                pass
            for p in procs:
                if p.exitcode is not None:
                    try:  # it may have delivered its last result just before exiting
                        return results.get(timeout=_MAIN_POLL)
                    except queue.Empty:
                        raise RuntimeError(_death_message(p)) from None
            if self.timeout and time.monotonic() - start >= self.timeout:
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                   f"waiting for batch {k} from {len(procs)} worker "
                                   f"process(es); raise timeout= or look for a stuck "
                                   f"__getitem__")

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        bs = self.batch_size or 1
        return n // bs if self.drop_last else -(-n // bs)


class _Single:
    """The collate step of an unbatched loader: the one sample of each 'batch' alone."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, items):
        return self.fn(items[0])


class _WorkerPool:
    """A DataLoader's worker processes and their two queues; ``close`` (also run when the
    pool is garbage collected or at interpreter exit) shuts them down."""

    def __init__(self, loader):
        import multiprocessing as mp
        import weakref
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else \
            mp.get_context()
        self.tasks, self.results = ctx.Queue(), ctx.Queue()
        self.next_key = 0
        seed = _seed_from(loader.generator) % (2 ** 31)
        self.procs = [ctx.Process(target=_worker_loop, daemon=True,
                                  args=(loader.dataset, loader._collate, self.tasks,
                                        self.results, w, loader.worker_init_fn, seed,
                                        os.getpid(), loader.num_workers))
                      for w in range(loader.num_workers)]
        self._finalize = weakref.finalize(self, _shutdown, self.procs, self.tasks,
                                          self.results)
        try:
            for p in self.procs:
                p.start()
        except BaseException:
            self.close()
            raise

    def alive(self):
        return all(p.exitcode is None for p in self.procs)

    def close(self):
        self._finalize()


def _shutdown(procs, tasks, results):
    """Stop the workers: ask politely, then terminate, then kill; never wait on a queue that
    a dead worker may have left locked."""
    for p in procs:
        if p.is_alive():
            try:
                tasks.put_nowait(None)
            except Exception:  # noqa: BLE001 - a closed or broken queue: terminate below
                pass
    deadline = time.monotonic() + 2.0
    for p in procs:
        if p.pid is None:  # never started
            continue
        p.join(timeout=max(deadline - time.monotonic(), 0.0))
        if p.is_alive():
            p.terminate()
            p.join(timeout=1.0)
            if p.is_alive():
                p.kill()
                p.join(timeout=1.0)
    for q in (tasks, results):
        q.cancel_join_thread()  # don't block the main process's exit on unread items
        q.close()
