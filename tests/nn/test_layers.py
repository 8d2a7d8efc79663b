"""Layers against PyTorch: state_dict keys and shapes, forward values and gradients."""
import numpy as np
import pytest

import ember
from ember import nn

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)

# (constructor args as a lambda of the nn module, input shape(s), kwargs for forward)
LAYERS = [
    ("Linear", lambda m: m.Linear(5, 3), [(4, 5)]),
    ("Bilinear", lambda m: m.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    ("Conv1d", lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1), [(2, 3, 9)]),
    ("Conv2d", lambda m: m.Conv2d(4, 6, 3, padding=1, groups=2), [(2, 4, 7, 6)]),
    ("Conv2d_reflect", lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
     [(1, 2, 5, 5)]),
    ("ConvTranspose2d", lambda m: m.ConvTranspose2d(4, 2, 3, stride=2, padding=1,
                                                    output_padding=1), [(2, 4, 4, 4)]),
    ("MaxPool2d", lambda m: m.MaxPool2d(2), [(2, 3, 6, 6)]),
    ("AvgPool2d", lambda m: m.AvgPool2d(3, 2, 1), [(2, 3, 7, 6)]),
    ("AdaptiveAvgPool2d", lambda m: m.AdaptiveAvgPool2d((2, 3)), [(2, 3, 7, 8)]),
    ("BatchNorm1d", lambda m: m.BatchNorm1d(4), [(6, 4)]),
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3), [(4, 3, 5, 5)]),
    ("LayerNorm", lambda m: m.LayerNorm((4, 5)), [(3, 4, 5)]),
    ("GroupNorm", lambda m: m.GroupNorm(2, 4), [(3, 4, 5)]),
    ("Embedding", lambda m: m.Embedding(10, 4, padding_idx=0), "idx"),
    ("LSTM", lambda m: m.LSTM(5, 6, num_layers=2, batch_first=True, bidirectional=True),
     [(3, 4, 5)]),
    # unidirectional stacks: layers (0, 1) as one two-layer primitive (lstm2_seq), 11 steps
    ("LSTM_stacked", lambda m: m.LSTM(5, 6, num_layers=3), [(11, 4, 5)]),
    ("LSTM_pair_no_bias", lambda m: m.LSTM(5, 6, num_layers=2, bias=False, batch_first=True),
     [(4, 11, 5)]),
    # 34 examples, hidden 64: the fused kernels run two halves of the batch on two threads
    ("LSTM_two_threads", lambda m: m.LSTM(8, 64, num_layers=2), [(5, 34, 8)]),
    ("GRU", lambda m: m.GRU(5, 6), [(4, 3, 5)]),
    ("GRU_stacked", lambda m: m.GRU(5, 6, num_layers=2, bidirectional=True, bias=False,
                                    batch_first=True), [(3, 4, 5)]),
    ("RNN", lambda m: m.RNN(5, 6, nonlinearity="relu"), [(4, 3, 5)]),
    ("MultiheadAttention", lambda m: m.MultiheadAttention(8, 2, batch_first=True), "mha"),
    ("TransformerEncoderLayer", lambda m: m.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                                    batch_first=True),
     [(2, 5, 8)]),
    ("activations", lambda m: m.Sequential(m.Linear(4, 4), m.LeakyReLU(0.2), m.GELU(),
                                           m.SiLU(), m.ELU(), m.Softmax(-1)), [(3, 4)]),
]


def _copy_weights(em, tm):
    sd = {k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()}
    em.load_state_dict(sd)


@pytest.mark.parametrize("name,make,shapes", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_torch(name, make, shapes):
    tm, em = make(torch.nn), make(nn)
    tsd, esd = tm.state_dict(), em.state_dict()
    assert list(esd) == list(tsd)
    for k in tsd:
        assert tuple(esd[k].shape) == tuple(tsd[k].shape), k
    _copy_weights(em, tm)
    if shapes == "idx":
        idx = rng.integers(0, 10, (3, 4))
        eins, tins = [ember.tensor(idx)], [torch.tensor(idx)]
    elif shapes == "mha":
        arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 5, 8)] * 3]
        eins = [ember.tensor(a, requires_grad=True) for a in arrays]
        tins = [torch.tensor(a, requires_grad=True) for a in arrays]
    else:
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        eins = [ember.tensor(a, requires_grad=True) for a in arrays]
        tins = [torch.tensor(a, requires_grad=True) for a in arrays]
    eo, to = em(*eins), tm(*tins)
    if isinstance(to, tuple):
        eo, to = eo[0], to[0]
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-4, atol=1e-5)
    w = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    (eo * ember.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-3, atol=1e-4,
                                   err_msg=n)
    for e, t in zip(eins, tins):
        if t.grad is not None:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-3, atol=1e-4)
    # buffers (running statistics) follow torch too
    for (n, eb), (_, tb) in zip(em.named_buffers(), tm.named_buffers()):
        np.testing.assert_allclose(eb.numpy(), tb.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)


def test_batchnorm_eval_uses_running_stats():
    tm, em = torch.nn.BatchNorm2d(3), nn.BatchNorm2d(3)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    for _ in range(3):
        tm(torch.tensor(x * 2 + 1))
        em(ember.tensor(x * 2 + 1))
    tm.eval()
    em.eval()
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    assert em.num_batches_tracked.item() == 3


@pytest.mark.parametrize("make", [lambda m: m.Linear(300, 200), lambda m: m.Conv2d(3, 8, 5),
                                  lambda m: m.LSTM(10, 20), lambda m: m.Embedding(50, 6)])
def test_default_initialisation_matches_torch_distribution(make):
    ember.manual_seed(0)
    torch.manual_seed(0)
    for (n, e), (_, t) in zip(make(nn).named_parameters(), make(torch.nn).named_parameters()):
        e, t = e.detach().numpy(), t.detach().numpy()
        assert abs(e.std() - t.std()) < 0.1 * t.std() + 1e-6, n
        assert abs(np.abs(e).max() - np.abs(t).max()) < 0.35 * np.abs(t).max() + 1e-6, n


LOSSES = [
    ("cross_entropy", lambda F, x, t: F.cross_entropy(x, t), "cls"),
    ("cross_entropy_weight_ignore_smooth", lambda F, x, t: F.cross_entropy(
        x, t, weight=_w(F), ignore_index=2, label_smoothing=0.1), "cls"),
    ("cross_entropy_probs", lambda F, x, t: F.cross_entropy(x, t.softmax(1)), "same"),
    ("cross_entropy_spatial", lambda F, x, t: F.cross_entropy(x.reshape(2, 5, 3), t.reshape(2, 3)),
     "cls_spatial"),
    ("nll_loss_sum", lambda F, x, t: F.nll_loss(x.log_softmax(1), t, reduction="sum"), "cls"),
    ("mse", lambda F, x, t: F.mse_loss(x, t), "same"),
    ("l1", lambda F, x, t: F.l1_loss(x, t, reduction="sum"), "same"),
    ("smooth_l1", lambda F, x, t: F.smooth_l1_loss(x, t, beta=0.5), "same"),
    ("huber", lambda F, x, t: F.huber_loss(x, t, delta=0.7), "same"),
    ("bce", lambda F, x, t: F.binary_cross_entropy(x.sigmoid(), t.sigmoid()), "same"),
    ("bce_logits", lambda F, x, t: F.binary_cross_entropy_with_logits(
        x * 30, t.sigmoid(), pos_weight=_pw(F)), "same"),
    ("kl_div", lambda F, x, t: F.kl_div(x.log_softmax(1), t.softmax(1), reduction="batchmean"),
     "same"),
]


def _w(F):
    m = torch if F is torch.nn.functional else ember
    return m.tensor([1.0, 2.0, 0.5, 1.5, 1.0])


def _pw(F):
    m = torch if F is torch.nn.functional else ember
    return m.tensor([2.0, 1.0, 0.5, 1.0, 3.0])


@pytest.mark.parametrize("name,f,kind", LOSSES, ids=[c[0] for c in LOSSES])
def test_losses_match_torch(name, f, kind):
    x = rng.standard_normal((6, 5)).astype(np.float32)
    if kind == "cls":
        t = rng.integers(0, 5, 6)
    elif kind == "cls_spatial":
        t = rng.integers(0, 5, 6)
    else:
        t = rng.standard_normal((6, 5)).astype(np.float32)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    eo = f(nn.functional, ex, ember.tensor(t))
    to = f(torch.nn.functional, tx, torch.tensor(t))
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    eo.backward()
    to.backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_losses_are_stable_for_large_logits():
    x = ember.tensor([[1000.0, -1000.0, 0.0]], requires_grad=True)
    loss = nn.functional.cross_entropy(x, ember.tensor([1]))
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(2000.0)
    loss.backward()
    assert np.isfinite(x.grad.numpy()).all()
    b = nn.functional.binary_cross_entropy_with_logits(ember.tensor([500.0, -500.0]),
                                                       ember.tensor([0.0, 1.0]))
    assert b.item() == pytest.approx(500.0)


def test_interpolate_matches_torch():
    x = rng.standard_normal((1, 2, 5, 4)).astype(np.float32)
    for kw in [dict(size=(7, 3), mode="nearest"), dict(scale_factor=2, mode="bilinear"),
               dict(size=(3, 6), mode="bilinear", align_corners=True)]:
        e = nn.functional.interpolate(ember.tensor(x), **kw).numpy()
        t = torch.nn.functional.interpolate(torch.tensor(x), **kw).numpy()
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


def test_init_functions():
    from ember.nn import init
    w = ember.empty(64, 32)
    init.orthogonal_(w, gain=2.0)
    np.testing.assert_allclose(w.numpy().T @ w.numpy(), 4 * np.eye(32), atol=1e-4)
    for fn, std in ((init.xavier_normal_, np.sqrt(2 / (300 + 200))),
                    (init.kaiming_normal_, np.sqrt(2.0) / np.sqrt(200)),
                    (init.trunc_normal_, None)):
        t = ember.empty(300, 200)
        fn(t)
        if std is not None:
            assert abs(t.numpy().std() - std) < 0.05 * std
    t = ember.empty(1000)
    init.trunc_normal_(t, std=1.0, a=-0.5, b=0.5)
    assert t.numpy().min() >= -0.5 and t.numpy().max() <= 0.5
    k = ember.random.key(3)
    a, b = ember.empty(5, 4), ember.empty(5, 4)
    init.kaiming_uniform_(a, key=k)
    init.kaiming_uniform_(b, key=k)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_eager_cross_entropy_shortcut_gives_the_traced_paths_bits(reduction):
    # eagerly, concrete targets without ignored entries take a 4-op path; jit and grad trace
    # the general one: values and gradients must agree bit for bit
    F = ember.nn.functional
    rng = np.random.default_rng(0)
    logits = ember.tensor(rng.standard_normal((16, 7)).astype(np.float32))
    for target in (ember.tensor(rng.integers(0, 7, 16)),
                   ember.tensor(rng.integers(0, 7, 16).astype(np.int32)),
                   ember.tensor(np.r_[rng.integers(0, 7, 15), -100])):  # ignored: general
        for fn in (lambda o: F.cross_entropy(o, target, reduction=reduction),
                   lambda o: F.nll_loss(F.log_softmax(o, 1), target, reduction=reduction)):
            o = logits.detach().requires_grad_()
            eager = fn(o)
            eager.sum().backward()
            traced = ember.jit(fn)(logits)
            g = ember.jit(ember.grad(lambda o: fn(o).sum()))(logits)
            np.testing.assert_array_equal(eager.detach().numpy(), traced.numpy())
            np.testing.assert_array_equal(o.grad.numpy(), g.numpy())
    with pytest.raises(IndexError, match="nll_loss: target holds class 9 but the input has 7"):
        F.cross_entropy(logits, ember.tensor(np.full(16, 9)))


def test_lstm_takes_its_state_as_a_list():
    # yunjey's language model passes [h.detach(), c.detach()] back to nn.LSTM
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    m = ember.nn.LSTM(4, 5, batch_first=True)
    tm = torch.nn.LSTM(4, 5, batch_first=True)
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    h = np.random.default_rng(1).normal(size=(2, 1, 2, 5)).astype(np.float32)
    out, (hn, cn) = m(ember.tensor(x), [ember.tensor(h[0]), ember.tensor(h[1])])
    tout, (thn, tcn) = tm(torch.tensor(x), [torch.tensor(h[0]), torch.tensor(h[1])])
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(cn.detach().numpy(), tcn.detach().numpy(), rtol=1e-5, atol=1e-6)
