"""PyTorch's import path for the data utilities (``torch.utils.data``), with its submodules
``dataset``, ``sampler``, ``dataloader`` and ``distributed`` (``from torch.utils.data.sampler
import Sampler`` ports by changing ``torch`` to ``ember``)."""
import sys as _sys
import types as _types

from ..data import (  # noqa: F401
    Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, DataLoader, random_split,
    default_collate, Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
    BatchSampler, DistributedSampler, WeightedRandomSampler, ChainDataset, StackDataset,
    default_convert, get_worker_info)
from ..data import distributed  # noqa: F401  (ember.utils.data.distributed.DistributedSampler)

_sys.modules[__name__ + ".distributed"] = distributed


def _submodule(name, names):
    m = _types.ModuleType(f"{__name__}.{name}", f"``torch.utils.data.{name}``'s names.")
    for n in names:
        setattr(m, n, globals()[n])
    m.__all__ = list(names)
    _sys.modules[m.__name__] = m
    return m


dataset = _submodule("dataset", ["Dataset", "IterableDataset", "TensorDataset", "Subset",
                                 "ConcatDataset", "ChainDataset", "StackDataset",
                                 "random_split"])
sampler = _submodule("sampler", ["Sampler", "SequentialSampler", "RandomSampler",
                                 "SubsetRandomSampler", "BatchSampler",
                                 "WeightedRandomSampler"])
dataloader = _submodule("dataloader", ["DataLoader", "default_collate", "default_convert",
                                       "get_worker_info", "Dataset", "Sampler"])
