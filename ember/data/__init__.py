"""``ember.data`` (also ``ember.utils.data``): datasets, samplers, the DataLoader, transforms,
text utilities, and readers for the standard data set files."""
from .dataloader import (  # noqa: F401
    Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, DataLoader, random_split,
    default_collate, Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
    BatchSampler, ChainDataset, StackDataset, default_convert, get_worker_info, WorkerInfo)
from .datasets import (  # noqa: F401
    Digits, MNIST, FashionMNIST, CIFAR10, IMDB, TextPolarityCSV, read_idx, FakeData,
    DatasetFolder, ImageFolder)
from .distributed import DistributedSampler  # noqa: F401
from .samplers import WeightedRandomSampler  # noqa: F401
from . import transforms, text, distributed  # noqa: F401
