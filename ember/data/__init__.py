"""``ember.data`` (also ``ember.utils.data``): datasets and the DataLoader (first slice)."""
from .dataloader import Dataset, TensorDataset, Subset, DataLoader, random_split  # noqa: F401
from .datasets import Digits  # noqa: F401
