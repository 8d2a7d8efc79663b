"""PyTorch's import path for the data utilities."""
from ..data import *  # noqa: F401,F403
from ..data import Dataset, TensorDataset, Subset, DataLoader, random_split  # noqa: F401
