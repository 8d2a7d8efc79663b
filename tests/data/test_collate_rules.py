"""default_collate batches as PyTorch's: tuples become lists, Python floats float64, NumPy
scalars keep their dtype, ragged samples are refused (found running LLMs-from-scratch's
dataloader notebook by import swap)."""
import collections

import numpy as np
import pytest

import ember
from ember.data import DataLoader, TensorDataset, default_collate


def test_tuple_samples_batch_to_a_list():
    b = default_collate([(ember.tensor([1., 2.]), 0), (ember.tensor([3., 4.]), 1)])
    assert type(b) is list and len(b) == 2
    assert b[0].tolist() == [[1., 2.], [3., 4.]] and b[1].tolist() == [0, 1]


def test_namedtuple_keeps_its_type():
    P = collections.namedtuple("P", "x y")
    b = default_collate([P(1, 2.5), P(3, 4.5)])
    assert type(b) is P and b.x.tolist() == [1, 3] and b.y.tolist() == [2.5, 4.5]


def test_scalar_dtypes():
    assert default_collate([1.0, 2.0]).dtype == ember.float64
    assert default_collate([1, 2]).dtype == ember.int64
    assert default_collate([True, False]).dtype == ember.bool
    assert default_collate([np.float32(1), np.float32(2)]).dtype == ember.float32
    assert default_collate([np.int32(1), np.int32(2)]).dtype == ember.int32
    assert default_collate([np.arange(2, dtype=np.int16)] * 3).dtype == ember.int16
    assert default_collate(["a", "b"]) == ["a", "b"]


def test_ragged_samples_are_refused():
    with pytest.raises(RuntimeError, match="equal size.*lengths \\[1, 2\\]"):
        default_collate([(1, 2), (3,)])


def test_tensor_dataset_batches_are_lists():
    ds = TensorDataset(ember.arange(6), ember.arange(6) * 2)
    b = next(iter(DataLoader(ds, batch_size=4)))
    assert type(b) is list and b[1].tolist() == [0, 2, 4, 6]


def test_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    samples = [[(1.5, 2, True), {"a": np.float32(0.5), "s": "x"}],
               [(2.5, 3, False), {"a": np.float32(1.5), "s": "y"}]]
    ours, theirs = default_collate(samples), torch_collate(samples)

    def same(o, t):
        if isinstance(t, torch.Tensor):
            assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
            np.testing.assert_array_equal(o.numpy(), t.numpy())
        elif isinstance(t, dict):
            assert type(o) is dict and o.keys() == t.keys()
            for k in t:
                same(o[k], t[k])
        elif isinstance(t, (list, tuple)):
            assert type(o) is type(t) and len(o) == len(t)
            for a, b in zip(o, t):
                same(a, b)
        else:
            assert o == t
    same(ours, theirs)
