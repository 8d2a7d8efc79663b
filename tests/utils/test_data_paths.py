"""torch.utils.data's submodule import paths under ember.utils.data."""
import importlib

import pytest

import ember


@pytest.mark.parametrize("sub,names", [
    ("sampler", ["Sampler", "RandomSampler", "SequentialSampler", "SubsetRandomSampler",
                 "BatchSampler", "WeightedRandomSampler"]),
    ("dataset", ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
                 "random_split"]),
    ("dataloader", ["DataLoader", "default_collate", "get_worker_info"]),
    ("distributed", ["DistributedSampler"])])
def test_submodules_hold_the_data_classes(sub, names):
    m = importlib.import_module(f"ember.utils.data.{sub}")
    for n in names:
        assert getattr(m, n) is getattr(ember.data, n)


def test_from_import_form_works_and_a_sampler_subclass_drives_a_loader():
    from ember.utils.data.sampler import Sampler

    class Evens(Sampler):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(0, self.n, 2))

        def __len__(self):
            return (self.n + 1) // 2

    ds = ember.utils.data.TensorDataset(ember.arange(6))
    got = [b[0].tolist() for b in ember.utils.data.DataLoader(ds, batch_size=2, sampler=Evens(6))]
    assert got == [[0, 2], [4]]
