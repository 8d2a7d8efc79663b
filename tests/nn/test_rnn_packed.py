"""RNN/LSTM/GRU on a PackedSequence: outputs, final states and gradients equal PyTorch's."""
import numpy as np
import pytest

import ember
from ember.nn.utils import rnn as ernn

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn


def _pair(cls, **kw):
    tm = getattr(torch.nn, cls)(3, 4, **kw).double()
    em = getattr(ember.nn, cls)(3, 4, **kw).double()
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, em


def _diff(a, b):
    return float(np.abs(a.detach().numpy() - b.detach().numpy()).max())


CASES = [("LSTM", dict(num_layers=2, bidirectional=True)), ("GRU", dict(bidirectional=True)),
         ("RNN", dict(num_layers=2, nonlinearity="relu")), ("LSTM", dict(batch_first=True)),
         ("LSTM", dict(num_layers=3)),  # layers 0 and 1 as one lstm2_seq
         ("GRU", dict(num_layers=2, batch_first=True, bidirectional=True))]


@pytest.mark.parametrize("cls,kw", CASES)
@pytest.mark.parametrize("sorted_", [False, True])
@pytest.mark.parametrize("with_hx", [False, True])
def test_packed_matches_torch(cls, kw, sorted_, with_hx):
    rng = np.random.default_rng(0)
    tm, em = _pair(cls, **kw)
    bf = kw.get("batch_first", False)
    lens = [5, 4, 3, 1] if sorted_ else [3, 5, 1, 4]
    x = rng.standard_normal((4, 5, 3) if bf else (5, 4, 3))
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    tp = trnn.pack_padded_sequence(tx, lens, batch_first=bf, enforce_sorted=sorted_)
    ep = ernn.pack_padded_sequence(ex, lens, batch_first=bf, enforce_sorted=sorted_)
    th0 = te0 = None
    if with_hx:
        layers = tm.num_layers * (2 if tm.bidirectional else 1)
        h = rng.standard_normal((layers, 4, 4))
        th0, te0 = torch.tensor(h), ember.tensor(h)
        if cls == "LSTM":
            c = rng.standard_normal((layers, 4, 4))
            th0, te0 = (th0, torch.tensor(c)), (te0, ember.tensor(c))
    to, th = tm(tp, th0)
    eo, eh = em(ep, te0)
    assert isinstance(eo, ernn.PackedSequence)
    assert np.array_equal(eo.batch_sizes.numpy(), tp.batch_sizes.numpy())
    assert _diff(to.data, eo.data) < 1e-12
    ths = th if isinstance(th, tuple) else (th,)
    ehs = eh if isinstance(eh, tuple) else (eh,)
    assert len(ths) == len(ehs)
    for a, b in zip(ths, ehs):
        assert tuple(a.shape) == tuple(b.shape) and _diff(a, b) < 1e-12
    w = torch.tensor(rng.standard_normal(to.data.shape))
    ((to.data * w).sum() + sum((s ** 2).sum() for s in ths)).backward()
    ((eo.data * ember.tensor(w.numpy())).sum() + sum((s ** 2).sum() for s in ehs)).backward()
    assert _diff(tx.grad, ex.grad) < 1e-12
    for name, p in tm.named_parameters():
        assert _diff(p.grad, dict(em.named_parameters())[name].grad) < 1e-12, name


def test_packed_round_trip_with_pad_packed():
    em = ember.nn.LSTM(2, 3)
    seqs = [ember.randn(4, 2), ember.randn(2, 2), ember.randn(3, 2)]
    out, (h, c) = em(ernn.pack_sequence(seqs, enforce_sorted=False))
    padded, lengths = ernn.pad_packed_sequence(out)
    assert lengths.tolist() == [4, 2, 3] and tuple(padded.shape) == (4, 3, 3)
    for i, s in enumerate(seqs):  # each sequence alone gives the same outputs and last state
        o1, (h1, _) = em(s.unsqueeze(1))
        assert np.allclose(padded[: s.shape[0], i].detach().numpy(), o1[:, 0].detach().numpy(), atol=1e-6)
        assert np.allclose(h[0, i].detach().numpy(), h1[0, 0].detach().numpy(), atol=1e-6)


def test_packed_wrong_features_names_layer():
    em = ember.nn.GRU(3, 4)
    p = ernn.pack_sequence([ember.randn(2, 5)])
    with pytest.raises(ember.OpError, match=r"GRU\(input_size=3\).*5 features"):
        em(p)
