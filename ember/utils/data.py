"""PyTorch's import path for the data utilities (``torch.utils.data``)."""
from ..data import (  # noqa: F401
    Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, DataLoader, random_split,
    default_collate, Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
    BatchSampler)
