"""Module behaviours found with PyTorch's ModuleInfo samples (benchmarks/moduleinfo_sweep.py),
checked against PyTorch."""
import numpy as np
import pytest

import ember
import ember.nn as nn

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


@pytest.mark.parametrize("name,kw", [("NLLLoss", {}), ("CrossEntropyLoss", {}), ("BCELoss", {}),
                                     ("BCEWithLogitsLoss", {"pos_weight": True})])
def test_loss_weights_are_buffers_and_legacy_flags_map_to_reductions(name, kw):
    w = rng.random(4).astype(np.float32) + 0.5
    ek = {"pos_weight": ember.tensor(w)} if kw else {}
    tk = {"pos_weight": torch.tensor(w)} if kw else {}
    e = getattr(nn, name)(weight=ember.tensor(w), **ek)
    t = getattr(torch.nn, name)(weight=torch.tensor(w), **tk)
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    for sa, red in ((None, None), (False, None), (None, False), (True, True)):
        e2 = getattr(nn, name)(size_average=sa, reduce=red)
        assert e2.reduction == getattr(torch.nn, name)(size_average=sa, reduce=red).reduction


def test_norm_and_transformer_layers_without_bias_have_torchs_keys():
    e = nn.InstanceNorm2d(3, affine=True, bias=False)
    assert e.bias is None and sorted(e.state_dict()) == \
        sorted(torch.nn.InstanceNorm2d(3, affine=True, bias=False).state_dict())
    for cls in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        e = getattr(nn, cls)(4, 2, 8, 0.0, bias=False)
        t = getattr(torch.nn, cls)(4, 2, 8, 0.0, bias=False)
        assert sorted(e.state_dict()) == sorted(t.state_dict()), cls


def test_linear_takes_input_by_keyword_and_gaussian_nll_broadcasts_var():
    lin = nn.Linear(3, 2)
    x = ember.randn(4, 3)
    np.testing.assert_array_equal(lin(input=x).detach().numpy(), lin(x).detach().numpy())
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    v = rng.random((1, 3)) + 0.1
    np.testing.assert_allclose(
        nn.GaussianNLLLoss()(ember.tensor(a), ember.tensor(b), ember.tensor(v)).item(),
        torch.nn.GaussianNLLLoss()(torch.tensor(a), torch.tensor(b), torch.tensor(v)).item(),
        rtol=1e-6)


@pytest.mark.parametrize("kv", [(None, None), (5, 6)])
@pytest.mark.parametrize("bias_kv,zero_attn", [(False, False), (True, False), (False, True),
                                               (True, True)])
def test_multihead_attention_kdim_vdim_bias_kv_zero_attn_match_torch(kv, bias_kv, zero_attn):
    kdim, vdim = kv
    t = torch.nn.MultiheadAttention(8, 2, 0.0, True, bias_kv, zero_attn, kdim, vdim,
                                    batch_first=True)
    e = nn.MultiheadAttention(8, 2, 0.0, True, bias_kv, zero_attn, kdim, vdim, batch_first=True)
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    q = rng.standard_normal((2, 3, 8)).astype(np.float32)
    k = rng.standard_normal((2, 4, kdim or 8)).astype(np.float32)
    v = rng.standard_normal((2, 4, vdim or 8)).astype(np.float32)
    kpm = np.array([[False, False, True, False], [False, False, False, True]])
    am = rng.standard_normal((3, 4)).astype(np.float32)
    to, tw = t(torch.tensor(q), torch.tensor(k), torch.tensor(v),
               key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(am))
    eo, ew = e(ember.tensor(q), ember.tensor(k), ember.tensor(v),
               key_padding_mask=ember.tensor(kpm), attn_mask=ember.tensor(am))
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(ew.detach().numpy(), tw.detach().numpy(), atol=1e-5)
    to.sum().backward()
    eo.sum().backward()
    tp = dict(t.named_parameters())
    for name, p in e.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), atol=1e-4,
                                   err_msg=name)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_with_projection_matches_torch(bidirectional):
    t = torch.nn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=bidirectional,
                      batch_first=True)
    e = nn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=bidirectional, batch_first=True)
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    d = 2 if bidirectional else 1
    h0 = rng.standard_normal((2 * d, 4, 2)).astype(np.float32)
    c0 = rng.standard_normal((2 * d, 4, 5)).astype(np.float32)
    to, (th, tc) = t(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
    eo, (eh, ec) = e(ember.tensor(x), (ember.tensor(h0), ember.tensor(c0)))
    for a, b in ((eo, to), (eh, th), (ec, tc)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)
    (to.sum() + tc.sum()).backward()
    (eo.sum() + ec.sum()).backward()
    tp = dict(t.named_parameters())
    for name, p in e.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), atol=1e-4,
                                   err_msg=name)
    # a packed batch of sequences of different lengths
    lens = [6, 4, 3, 1]
    tpk = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lens, batch_first=True)
    epk = nn.utils.rnn.pack_padded_sequence(ember.tensor(x), lens, batch_first=True)
    (tpo, (tph, _)), (epo, (eph, _)) = t(tpk), e(epk)
    np.testing.assert_allclose(epo.data.detach().numpy(), tpo.data.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(eph.detach().numpy(), tph.detach().numpy(), atol=1e-5)
    with pytest.raises(ember.OpError, match=r"LSTM: proj_size must be 0 or in \[1, hidden"):
        nn.LSTM(3, 5, proj_size=5)


@pytest.mark.parametrize("out_features", [(), (2,)])
def test_linear_cross_entropy_matches_torch(out_features):
    t = torch.nn.LinearCrossEntropyLoss(3, 4, out_features=out_features, bias=True,
                                        label_smoothing=0.1)
    e = nn.LinearCrossEntropyLoss(3, 4, out_features=out_features, bias=True,
                                  label_smoothing=0.1,
                                  options=nn.LinearCrossEntropyOptions(batch_chunk_size=2))
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = rng.integers(0, 4, (5,) + out_features)
    lt, le = t(torch.tensor(x), torch.tensor(y)), e(ember.tensor(x), ember.tensor(y))
    np.testing.assert_allclose(le.item(), lt.item(), rtol=1e-5)
    lt.backward()
    le.backward()
    np.testing.assert_allclose(e.linear.weight.grad.numpy(), t.linear.weight.grad.numpy(),
                               atol=1e-6)
    p = rng.random((5, 4)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        nn.functional.linear_cross_entropy(ember.tensor(x), ember.tensor(w),
                                           ember.tensor(p)).item(),
        torch.nn.functional.linear_cross_entropy(torch.tensor(x), torch.tensor(w),
                                                 torch.tensor(p)).item(), rtol=1e-5)


@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_max_pool_matches_torch_given_the_samples(nd):
    shp = (2, 3, 11, 9) if nd == 2 else (2, 2, 7, 8, 9)
    x = rng.standard_normal(shp).astype(np.float32)
    s = rng.random((shp[0], shp[1], nd)).astype(np.float32)
    tf = getattr(torch.nn.functional, f"fractional_max_pool{nd}d")
    ef = getattr(nn.functional, f"fractional_max_pool{nd}d")
    k = (3,) * (nd - 1) + (2,)
    for kw in ({"output_size": 4}, {"output_ratio": (0.5,) * nd},
               {"output_size": (3,) * (nd - 1) + (5,)}):
        to, ti = tf(torch.tensor(x), k, return_indices=True, _random_samples=torch.tensor(s),
                    **kw)
        eo, ei = ef(ember.tensor(x), k, return_indices=True, _random_samples=ember.tensor(s),
                    **kw)
        np.testing.assert_array_equal(eo.numpy(), to.numpy())
        np.testing.assert_array_equal(ei.numpy(), ti.numpy())
    xt, xe = torch.tensor(x).requires_grad_(), ember.tensor(x).requires_grad_()
    tf(xt, 2, output_size=3, _random_samples=torch.tensor(s)).sum().backward()
    ef(xe, 2, output_size=3, _random_samples=ember.tensor(s)).sum().backward()
    np.testing.assert_array_equal(xe.grad.numpy(), xt.grad.numpy())
    m = getattr(nn, f"FractionalMaxPool{nd}d")(2, output_ratio=0.5)
    assert m(ember.tensor(x)).shape == tuple(v // 2 for v in shp[:2]) * 0 + shp[:2] + \
        tuple(v // 2 for v in shp[2:])
    assert ef(ember.zeros((0,) + shp[1:]), 2, output_size=2).shape == (0,) + shp[1:2] + \
        (2,) * nd
    _, ind = ef(ember.zeros((0,) + shp[1:]), 2, output_size=2, return_indices=True)
    assert ind.shape == (0,) + shp[1:2] + (2,) * nd
    # samples outside [0, 1) (PyTorch truncates (i + u) alpha toward 0, as a C cast)
    s2 = rng.uniform(-3, 5, (shp[0], shp[1], nd)).astype(np.float32)
    to, ti = tf(torch.tensor(x), 1, output_size=4, return_indices=True,
                _random_samples=torch.tensor(s2))
    eo, ei = ef(ember.tensor(x), 1, output_size=4, return_indices=True,
                _random_samples=ember.tensor(s2))
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())


@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"])
def test_batch_norm_on_an_empty_batch_in_training_as_torch(cls):
    shape = {"BatchNorm1d": (0, 3, 4), "BatchNorm2d": (0, 3, 2, 2),
             "BatchNorm3d": (0, 3, 2, 2, 2)}[cls]
    for track in (True, False):
        e = getattr(nn, cls)(3, track_running_stats=track)
        t = getattr(torch.nn, cls)(3, track_running_stats=track)
        x = ember.zeros(*shape, requires_grad=True)
        y = e(x)
        ty = t(torch.zeros(*shape))
        assert tuple(y.shape) == tuple(ty.shape)
        y.sum().backward()
        assert tuple(x.grad.shape) == shape
        if track:  # the running statistics stay; the batch still counts
            np.testing.assert_array_equal(e.running_mean.numpy(), t.running_mean.numpy())
            np.testing.assert_array_equal(e.running_var.numpy(), t.running_var.numpy())
            assert int(e.num_batches_tracked) == int(t.num_batches_tracked) == 1
    with pytest.raises(ember.OpError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(ember.zeros(1, 3))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_with_every_target_ignored_is_nan_with_zero_gradient(smoothing):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    ex = ember.tensor(x, requires_grad=True)
    t = torch.nn.CrossEntropyLoss(ignore_index=1, label_smoothing=smoothing)(
        tx, torch.tensor([1, 1]))
    e = nn.CrossEntropyLoss(ignore_index=1, label_smoothing=smoothing)(
        ex, ember.tensor([1, 1]))
    assert np.isnan(t.item()) and np.isnan(e.item())
    t.backward()
    e.backward()
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(ex.grad.numpy(), np.zeros((2, 3), np.float32))


def test_kl_div_negative_and_zero_targets_as_torch():
    inp = rng.standard_normal(6).astype(np.float32)
    tgt = np.array([-0.3, 0.0, 0.5, 1.2, 0.0, 2.0], np.float32)
    for red in ("none", "sum", "batchmean"):
        ti = torch.tensor(inp, requires_grad=True)
        tt = torch.tensor(tgt, requires_grad=True)
        ei = ember.tensor(inp, requires_grad=True)
        et = ember.tensor(tgt, requires_grad=True)
        t = torch.nn.functional.kl_div(ti, tt, reduction=red)
        e = ember.nn.functional.kl_div(ei, et, reduction=red)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6,
                                   equal_nan=True)
        w = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        (t * torch.tensor(w)).sum().backward()
        (e * ember.tensor(w)).sum().backward()
        np.testing.assert_allclose(ei.grad.numpy(), ti.grad.numpy(), rtol=1e-6, equal_nan=True)
        # (at target 0, d/dt t log t is -inf: PyTorch's xlogy gives NaN there, ember 0 * ...)
        live = tgt != 0
        np.testing.assert_allclose(et.grad.numpy()[live], tt.grad.numpy()[live], rtol=1e-5,
                                   equal_nan=True)
