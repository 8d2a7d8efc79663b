"""``DistributedSampler``: each rank of a process group reads its own share of a dataset
(``torch.utils.data.distributed.DistributedSampler``)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .dataloader import Sampler


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads this epoch.

    Every epoch the indices (shuffled with ``seed + epoch`` when ``shuffle``) are padded by
    repeating the first ones until they divide evenly (or, with ``drop_last``, the tail is
    dropped), then rank ``r`` takes every ``num_replicas``-th index starting at ``r``: the ranks
    are disjoint and together cover the dataset. Call ``set_epoch(epoch)`` before each epoch,
    or every epoch repeats the same order (a warning says so). ``num_replicas`` and ``rank``
    default to the default process group's.

    >>> sampler = ember.data.DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
    >>> list(sampler), len(sampler)           # padded to 12: indices 0 and 1 appear twice
    ([1, 4, 7, 0], 4)
    >>> sampler.set_epoch(1)
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from ..distributed import groups as _g
            if not _g.is_initialized():
                raise RuntimeError(
                    "DistributedSampler: the default process group is not initialized, so the "
                    "number of replicas and this rank are unknown; call "
                    "ember.distributed.init_process_group() first (launch with `ember run -n N "
                    "script.py`), or pass num_replicas= and rank=")
            if num_replicas is None:
                num_replicas = _g.get_world_size()
            if rank is None:
                rank = _g.get_rank()
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got "
                             f"{num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank {rank!r} is out of range: it must be in "
                             f"[0, {num_replicas - 1}] for num_replicas={num_replicas}")
        super().__init__(dataset)
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        self._last_epoch = None
        self._epoch_set = False
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        # the common bug is never calling set_epoch; once a script calls it, a pass that
        # reuses the epoch is its choice (e.g. peeking at one batch before set_epoch)
        if self.shuffle and self._last_epoch == self.epoch and not self._epoch_set:
            warnings.warn(
                f"DistributedSampler: a new pass starts with epoch {self.epoch} again, so it "
                f"repeats the previous pass's order; call sampler.set_epoch(epoch) at the start "
                f"of every epoch (before iterating the DataLoader)", stacklevel=2)
        self._last_epoch = self.epoch
        n = len(self.dataset)
        if self.shuffle:
            idx = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            idx = np.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                idx = np.concatenate([idx, np.resize(idx, pad)]) if n else idx
        else:
            idx = idx[:self.total_size]
        return iter(idx[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use ``epoch``'s order for the next pass (all ranks must pass the same number)."""
        self.epoch = int(epoch)
        self._epoch_set = True
