"""PyTorch's import path for the data utilities (``torch.utils.data``)."""
from ..data import (  # noqa: F401
    Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, DataLoader, random_split,
    default_collate, Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
    BatchSampler, DistributedSampler, WeightedRandomSampler, ChainDataset, StackDataset,
    default_convert, get_worker_info)
from ..data import distributed  # noqa: F401  (ember.utils.data.distributed.DistributedSampler)
import sys as _sys
_sys.modules[__name__ + ".distributed"] = distributed
