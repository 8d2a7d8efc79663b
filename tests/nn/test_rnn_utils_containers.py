"""nn.utils.rnn (pad/pack/unpack), ParameterList/ParameterDict, WeightedRandomSampler vs torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")  # parity tests: skipped without torch
import torch.nn.utils.rnn as trnn

import ember
import ember.nn.utils.rnn as ernn


def _np(t):
    return t.detach().numpy()


def _seqs(lib, lengths, feat=3, seed=0):
    rng = np.random.default_rng(seed)
    arrs = [rng.standard_normal((n, feat)).astype(np.float32) for n in lengths]
    return [lib.tensor(a, requires_grad=True) for a in arrs]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    e, t = _seqs(ember, [2, 5, 3]), _seqs(torch, [2, 5, 3])
    pe = ernn.pad_sequence(e, batch_first=batch_first, padding_value=-1.0, padding_side=side)
    pt = trnn.pad_sequence(t, batch_first=batch_first, padding_value=-1.0, padding_side=side)
    np.testing.assert_array_equal(_np(pe), _np(pt))
    w = np.random.default_rng(1).standard_normal(pt.shape).astype(np.float32)
    (pe * ember.tensor(w)).sum().backward()
    (pt * torch.tensor(w)).sum().backward()
    for a, b in zip(e, t):
        np.testing.assert_allclose(_np(a.grad), _np(b.grad))


@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 2]), (False, [2, 5, 3])])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_unpack_roundtrip(enforce_sorted, lengths, batch_first):
    e, t = _seqs(ember, lengths), _seqs(torch, lengths)
    pe = ernn.pad_sequence(e, batch_first=batch_first)
    pt = trnn.pad_sequence(t, batch_first=batch_first)
    ke = ernn.pack_padded_sequence(pe, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    kt = trnn.pack_padded_sequence(pt, torch.tensor(lengths), batch_first=batch_first,
                                   enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(_np(ke.data), _np(kt.data))
    np.testing.assert_array_equal(_np(ke.batch_sizes), _np(kt.batch_sizes))
    if not enforce_sorted:
        np.testing.assert_array_equal(_np(ke.sorted_indices), _np(kt.sorted_indices))
        np.testing.assert_array_equal(_np(ke.unsorted_indices), _np(kt.unsorted_indices))
    ue, le = ernn.pad_packed_sequence(ke, batch_first=batch_first, padding_value=7.0, total_length=6)
    ut, lt = trnn.pad_packed_sequence(kt, batch_first=batch_first, padding_value=7.0, total_length=6)
    np.testing.assert_array_equal(_np(ue), _np(ut))
    np.testing.assert_array_equal(_np(le), _np(lt))
    w = np.random.default_rng(2).standard_normal(ut.shape).astype(np.float32)
    (ue * ember.tensor(w)).sum().backward()
    (ut * torch.tensor(w)).sum().backward()
    for a, b in zip(e, t):
        np.testing.assert_allclose(_np(a.grad), _np(b.grad))


def test_pack_sequence_unpack_and_errors():
    e, t = _seqs(ember, [1, 4]), _seqs(torch, [1, 4])
    ke = ernn.pack_sequence(e, enforce_sorted=False)
    kt = trnn.pack_sequence(t, enforce_sorted=False)
    np.testing.assert_array_equal(_np(ke.data), _np(kt.data))
    for a, b in zip(ernn.unpack_sequence(ke), trnn.unpack_sequence(kt)):
        np.testing.assert_array_equal(_np(a), _np(b))
    with pytest.raises(RuntimeError, match="enforce_sorted"):
        ernn.pack_padded_sequence(ernn.pad_sequence(e), [1, 4])
    with pytest.raises(ValueError, match="pad_sequence"):
        ernn.pad_sequence([ember.ones(2, 3), ember.ones(2, 4)])


def test_packed_into_lstm_via_unpack():
    lstm = ember.nn.LSTM(3, 4, batch_first=True)
    e = _seqs(ember, [4, 2])
    packed = ernn.pack_sequence(e)
    padded, lengths = ernn.pad_packed_sequence(packed, batch_first=True)
    out, _ = lstm(padded)
    assert out.shape == (2, 4, 4) and lengths.tolist() == [4, 2]


def test_parameter_list_and_dict():
    pl = ember.nn.ParameterList([ember.ones(2), ember.nn.Parameter(ember.zeros(3))])
    pl.append(ember.ones(1))
    assert len(pl) == 3 and all(isinstance(p, ember.nn.Parameter) for p in pl)
    assert [tuple(p.shape) for p in pl[1:]] == [(3,), (1,)] and tuple(pl[-1].shape) == (1,)
    tl = torch.nn.ParameterList([torch.ones(2), torch.nn.Parameter(torch.zeros(3))])
    tl.append(torch.ones(1))
    assert [n for n, _ in pl.named_parameters()] == [n for n, _ in tl.named_parameters()]

    class M(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = ember.nn.ParameterList([ember.ones(2) * i for i in range(3)])
            self.d = ember.nn.ParameterDict({"a": ember.ones(2)})

        def forward(self, x):
            return sum(x * w for w in self.ws) + self.d["a"]

    m = M()
    assert sorted(m.state_dict()) == ["d.a", "ws.0", "ws.1", "ws.2"]
    m(ember.ones(2)).sum().backward()
    np.testing.assert_allclose(_np(m.ws[2].grad), [1.0, 1.0])
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    opt.step()
    np.testing.assert_allclose(_np(m.ws[2]), [1.9, 1.9], rtol=1e-6)
    with pytest.raises(IndexError):
        pl[5]
    with pytest.raises(TypeError):
        pl.append(3.0)
    m.d["b"] = ember.zeros(1)
    assert "b" in m.d and len(m.d) == 2 and "d.b" in m.state_dict()


def test_weighted_random_sampler():
    w = [0.0, 1.0, 0.0, 3.0]
    s = ember.data.WeightedRandomSampler(w, 4000, generator=ember.Generator().manual_seed(0))
    idx = np.array(list(s))
    assert len(s) == 4000 and set(idx.tolist()) == {1, 3}
    assert abs((idx == 3).mean() - 0.75) < 0.04
    s2 = ember.utils.data.WeightedRandomSampler(ember.tensor([1.0, 1.0, 1.0]), 3, replacement=False)
    assert sorted(s2) == [0, 1, 2]
    with pytest.raises(ValueError, match="without replacement"):
        ember.data.WeightedRandomSampler(w, 3, replacement=False)
    ds = ember.data.TensorDataset(ember.arange(4))
    dl = ember.data.DataLoader(ds, batch_size=2, sampler=ember.data.WeightedRandomSampler(w, 6))
    vals = np.concatenate([_np(b[0]) for b in dl])
    assert set(vals.tolist()) <= {1, 3} and len(vals) == 6
