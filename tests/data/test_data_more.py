"""get_worker_info, ChainDataset, StackDataset, default_convert and batch_size=None (no
automatic batching), as torch.utils.data."""
import numpy as np
import pytest

import ember
from ember import data


class _WhoLoads(data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        w = data.get_worker_info()
        return i, (-1 if w is None else w.id), (-1 if w is None else w.num_workers)


class _Range(data.IterableDataset):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __iter__(self):
        w = data.get_worker_info()
        assert w is None  # ember runs iterable datasets in the main process
        return iter(range(self.lo, self.hi))

    def __len__(self):
        return self.hi - self.lo


def test_get_worker_info_in_workers_and_main():
    assert data.get_worker_info() is None and ember.utils.data.get_worker_info() is None
    rows = [tuple(int(v) for v in b) for b in
            data.DataLoader(_WhoLoads(), batch_size=1, num_workers=2)]
    assert [r[0] for r in rows] == list(range(6))
    assert {r[1] for r in rows} <= {0, 1} and {r[2] for r in rows} == {2}
    ids = [int(w) for _, ws, _ in data.DataLoader(_WhoLoads(), batch_size=2) for w in ws]
    assert set(ids) == {-1}


def test_chain_and_stack_datasets():
    ch = data.ChainDataset([_Range(0, 2), _Range(5, 7)])
    assert list(ch) == [0, 1, 5, 6] and len(ch) == 4
    assert [b.tolist() for b in data.DataLoader(ch, batch_size=3)] == [[0, 1, 5], [6]]
    with pytest.raises(TypeError, match="ConcatDataset"):
        data.ChainDataset([[1, 2]])
    st = data.StackDataset(np.arange(3), np.arange(3) * 10)
    assert st[2] == (2, 20) and len(st) == 3
    sd = data.StackDataset(x=np.arange(3), y=np.arange(3) * 10)
    batch = next(iter(data.DataLoader(sd, batch_size=3)))
    assert batch["y"].tolist() == [0, 10, 20]
    with pytest.raises(ValueError, match="different lengths"):
        data.StackDataset(np.arange(3), np.arange(4))


def test_batch_size_none_loads_single_samples():
    ds = data.TensorDataset(ember.arange(4.), ember.arange(4))
    items = list(data.DataLoader(ds, batch_size=None))
    assert len(items) == 4 and items[1][0].shape == () and items[1][1].item() == 1
    assert len(data.DataLoader(ds, batch_size=None)) == 4
    got = sorted(int(y) for _, y in data.DataLoader(ds, batch_size=None, shuffle=True,
                                                     num_workers=2))
    assert got == [0, 1, 2, 3]
    it = list(data.DataLoader(_Range(0, 3), batch_size=None,
                              collate_fn=lambda v: v * 2))
    assert it == [0, 2, 4]
    with pytest.raises(ValueError, match="drop_last"):
        data.DataLoader(ds, batch_size=None, drop_last=True)


def test_default_convert_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_convert as tconv
    sample = {"a": np.arange(3), "b": [np.float32(2.5), 3, "s"], "c": (np.ones((2, 2)),)}
    e, t = data.default_convert(sample), tconv(sample)
    assert e["a"].tolist() == t["a"].tolist() and e["b"][1] == t["b"][1] == 3
    assert e["b"][2] == "s" and float(e["b"][0]) == float(t["b"][0])
    assert tuple(e["c"][0].shape) == tuple(t["c"][0].shape)
    assert isinstance(e["c"], tuple)
