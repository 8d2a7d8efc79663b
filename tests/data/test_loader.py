import numpy as np
import pytest

import ember
from ember.data import DataLoader, Digits, TensorDataset, random_split


def test_batches_drop_last_and_shuffle_determinism():
    ds = TensorDataset(ember.arange(10), ember.arange(10) * 2)
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2

    def order(seed):
        ember.manual_seed(seed)
        return [v for b in DataLoader(ds, batch_size=3, shuffle=True) for v in b[0].tolist()]
    assert order(1) == order(1) and sorted(order(1)) == list(range(10))
    assert order(1) != order(2)


def test_collate_of_tuples_and_dicts():
    class DS(ember.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": ember.ones(2) * i, "y": i}
    b = next(iter(DataLoader(DS(), batch_size=5)))
    assert tuple(b["x"].shape) == (5, 2) and b["y"].tolist() == [0, 1, 2, 3, 4]


def test_random_split_partitions():
    parts = random_split(TensorDataset(ember.arange(10)), [7, 3])
    idx = sorted(parts[0].indices + parts[1].indices)
    assert idx == list(range(10))
    with pytest.raises(ValueError, match="sum to"):
        random_split(TensorDataset(ember.arange(10)), [5, 3])


def test_digits_bundled_split():
    tr, te = Digits(train=True), Digits(train=False)
    assert len(tr) == 1437 and len(te) == 360
    x, y = tr[0]
    assert tuple(x.shape) == (1, 8, 8) and 0 <= y <= 9
    assert 0.0 <= tr.data.min() and tr.data.max() <= 1.0
    assert set(np.unique(te.targets)) == set(range(10))


def test_digits_corrupted_file_is_reported(tmp_path):
    (tmp_path / "digits.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(RuntimeError, match="truncated or corrupted"):
        Digits(root=str(tmp_path))


def test_workers_yield_the_same_batches_in_order():
    import numpy as np
    from ember.data import DataLoader, Dataset

    class Squares(Dataset):
        def __len__(self):
            return 37

        def __getitem__(self, i):
            return ember.tensor([float(i * i)]), i
    g = ember.Generator().manual_seed(5)
    single = [(x.numpy().copy(), y.numpy().copy())
              for x, y in DataLoader(Squares(), batch_size=4, shuffle=True,
                                     generator=ember.Generator().manual_seed(5))]
    multi = [(x.numpy(), y.numpy())
             for x, y in DataLoader(Squares(), batch_size=4, shuffle=True, num_workers=2,
                                    generator=g)]
    assert len(single) == len(multi) == 10
    for (a, b), (c, d) in zip(single, multi):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_samplers_concat_and_iterable():
    import numpy as np
    from ember.data import (DataLoader, ConcatDataset, TensorDataset, BatchSampler,
                            SequentialSampler, IterableDataset)
    a = TensorDataset(ember.arange(5))
    b = TensorDataset(ember.arange(5, 8))
    cat = ConcatDataset([a, b])
    assert len(cat) == 8 and cat[6][0].item() == 6
    bs = BatchSampler(SequentialSampler(cat), 3, drop_last=False)
    got = [x[0].numpy().tolist() for x in DataLoader(cat, batch_sampler=bs)]
    assert got == [[0, 1, 2], [3, 4, 5], [6, 7]]

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(5))
    assert [t.numpy().tolist() for t in DataLoader(Stream(), batch_size=2)] == \
        [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(cat, sampler=SequentialSampler(cat), shuffle=True)
    _ = np


def test_an_endless_random_sampler_is_drawn_lazily():
    # makemore's InfiniteDataLoader: RandomSampler(replacement=True, num_samples=10**10)
    import itertools
    from ember.data import DataLoader, RandomSampler, TensorDataset
    ds = TensorDataset(ember.arange(10))
    sampler = RandomSampler(ds, replacement=True, num_samples=int(1e10),
                            generator=ember.Generator().manual_seed(0))
    assert len(sampler) == 10 ** 10
    for workers in (0, 2):
        it = iter(DataLoader(ds, sampler=sampler, batch_size=4, num_workers=workers))
        batches = [b[0].tolist() for b in itertools.islice(it, 3)]
        assert [len(b) for b in batches] == [4, 4, 4]
        assert all(0 <= i < 10 for b in batches for i in b)
        del it
    # more samples than items without replacement: whole permutations one after another
    order = list(RandomSampler(range(4), num_samples=10, generator=ember.Generator().manual_seed(1)))
    assert sorted(order[:4]) == sorted(order[4:8]) == [0, 1, 2, 3] and len(order) == 10
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(4), num_samples=0)


def test_shuffling_an_empty_dataset_fails_when_the_loader_is_made():
    # as PyTorch (yunjey's pytorch_basics makes a DataLoader(shuffle=True) over a dataset whose
    # __len__ returns 0: PyTorch raises there)
    class Empty(ember.data.Dataset):
        def __getitem__(self, i):
            raise IndexError(i)

        def __len__(self):
            return 0
    with pytest.raises(ValueError, match="num_samples=0"):
        ember.data.DataLoader(Empty(), batch_size=4, shuffle=True)
    with pytest.raises(ValueError, match="num_samples=0"):
        ember.data.RandomSampler(Empty())
    assert list(ember.data.DataLoader(Empty(), batch_size=4)) == []  # no shuffle: empty, fine
    torch = pytest.importorskip("torch")

    class TEmpty(torch.utils.data.Dataset):
        def __len__(self):
            return 0
    with pytest.raises(ValueError, match="num_samples=0"):
        torch.utils.data.DataLoader(TEmpty(), batch_size=4, shuffle=True)
    assert list(torch.utils.data.DataLoader(TEmpty(), batch_size=4)) == []
