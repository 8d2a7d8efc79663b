"""Dataset, TensorDataset, Subset, random_split and a single-process DataLoader."""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor


class Dataset:
    def __getitem__(self, i):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are the i-th rows of tensors of equal first dimension."""

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
    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, i):
        return self.dataset[self.indices[i]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
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
        from ..generator import default_generator
        generator = default_generator
    return int(generator._rng.integers(0, 2 ** 63))


def default_collate(batch):
    """Stack samples into batch tensors, recursing into tuples, lists and dicts."""
    first = batch[0]
    if isinstance(first, Tensor):
        return Tensor._wrap(np.stack([b._data for b in batch]))
    if isinstance(first, np.ndarray):
        return Tensor._wrap(np.stack(batch))
    if isinstance(first, (bool, np.bool_)):
        return Tensor._wrap(np.array(batch, dtype=bool))
    if isinstance(first, (int, np.integer)):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(first, (float, np.floating)):
        return Tensor._wrap(np.array(batch, dtype=np.float32))
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(s)) for s in zip(*batch)) \
            if not hasattr(first, "_fields") else type(first)(
                *(default_collate(list(s)) for s in zip(*batch)))
    return batch


class DataLoader:
    """Batches of a dataset; ``shuffle`` order is fixed by ``generator`` or the global seed."""

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
                 collate_fn=None, num_workers=0, generator=None):
        if num_workers:
            raise NotImplementedError("DataLoader: num_workers > 0 (worker processes) is not "
                                      "implemented yet; use num_workers=0")
        if batch_size is None or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size}")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.sampler, self.drop_last = sampler, drop_last
        self.collate_fn = collate_fn or default_collate
        self.generator = generator

    def _order(self):
        n = len(self.dataset)
        if self.sampler is not None:
            return list(iter(self.sampler))
        if self.shuffle:
            return np.random.default_rng(_seed_from(self.generator)).permutation(n).tolist()
        return list(range(n))

    def __iter__(self):
        order = self._order()
        ds = self.dataset
        fast = isinstance(ds, TensorDataset) and self.collate_fn is default_collate
        for s in range(0, len(order), self.batch_size):
            idx = order[s:s + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                return
            if fast:  # gather whole batches at once
                yield tuple(Tensor._wrap(t._data[idx]) for t in ds.tensors)
            else:
                yield self.collate_fn([ds[i] for i in idx])

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
