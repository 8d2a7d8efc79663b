"""torch.nn.functional cases from PyTorch's OpInfo samples (benchmarks/opinfo_sweep.py):
interpolate's area/bicubic/nearest-exact/trilinear/5-D modes, adaptive max pooling's
indices, nll_loss on one sample, embedding's max_norm/scale_grad_by_freq, margin losses,
group/batch norm on empty input, cosine_similarity broadcasting, replicate padding with
negative amounts: values and gradients against torch."""
import numpy as np
import pytest

import ember
import ember.nn.functional as EF

torch = pytest.importorskip("torch")
TF = torch.nn.functional

R = np.random.default_rng(1)
F32 = lambda *s: R.standard_normal(s).astype(np.float32)  # noqa: E731
I64 = lambda *v: np.array(v, np.int64)  # noqa: E731


def _f(m):
    return EF if m is ember else TF


CASES = {
    "area_1d": (lambda m, x: _f(m).interpolate(x, size=3, mode="area"), [F32(2, 3, 4)]),
    "area_2d_up": (lambda m, x: _f(m).interpolate(x, scale_factor=1.7, mode="area"),
                   [F32(2, 3, 4, 5)]),
    "bicubic": (lambda m, x: _f(m).interpolate(x, size=(5, 6), mode="bicubic"),
                [F32(2, 3, 4, 5)]),
    "bicubic_align": (lambda m, x: _f(m).interpolate(x, scale_factor=0.6, mode="bicubic",
                                                     align_corners=True), [F32(1, 2, 6, 6)]),
    "nearest_exact": (lambda m, x: _f(m).interpolate(x, scale_factor=1.7,
                                                     mode="nearest-exact"), [F32(2, 3, 4)]),
    "nearest_3d": (lambda m, x: _f(m).interpolate(x, size=(5, 6, 7)), [F32(1, 2, 5, 2, 3)]),
    "trilinear": (lambda m, x: _f(m).interpolate(x, size=(3, 5, 4), mode="trilinear"),
                  [F32(2, 3, 4, 3, 5)]),
    "upsample_nearest_3d": (lambda m, x: _f(m).upsample_nearest(x, scale_factor=2),
                            [F32(1, 2, 2, 2, 2)]),
    "adaptive_max1d_idx": (lambda m, x: tuple(_f(m).adaptive_max_pool1d(x, 3, True)),
                           [F32(3, 4, 5)]),
    "adaptive_max2d_idx": (lambda m, x: tuple(_f(m).adaptive_max_pool2d(x, (2, 3), True)),
                           [F32(2, 4, 5, 7)]),
    "adaptive_max3d_idx": (lambda m, x: tuple(_f(m).adaptive_max_pool3d(x, (2, 3, None),
                                                                        True)),
                           [F32(3, 3, 4, 4, 6)]),
    "nll_loss_one_sample": (lambda m, x, t: _f(m).nll_loss(x, t, reduction="none"),
                            [F32(3), np.array(2, np.int64)]),
    "multilabel_margin_repeats": (lambda m, x, t: _f(m).multilabel_margin_loss(x, t),
                                  [F32(3, 4), I64([3, 3, -1, 1], [0, 1, 2, 3], [-1, 0, 0, 0])]),
    "multilabel_margin_0d": (lambda m, x, t: _f(m).multilabel_margin_loss(x, t),
                             [np.float32(0.3), np.array(0, np.int64)]),
    "multi_margin_0d": (lambda m, x, t: _f(m).multi_margin_loss(x, t),
                        [np.float32(0.3), np.array(0, np.int64)]),
    "group_norm_empty": (lambda m, x, w, b: _f(m).group_norm(x, 1, w, b), [F32(0, 2), F32(2),
                                                                          F32(2)]),
    "batch_norm_empty_1d": (lambda m, x: _f(m).batch_norm(x, None, None, training=True),
                            [F32(0)]),
    "cosine_similarity_broadcast": (lambda m, a, b: _f(m).cosine_similarity(a, b, dim=-2),
                                    [F32(1, 2, 3), F32(2, 1, 3)]),
    "normalize_p0": (lambda m, x: _f(m).normalize(x, p=0.0, dim=-1), [F32(2, 3, 4)]),
    "pairwise_distance_neg_p": (lambda m, a, b: _f(m).pairwise_distance(a, b, p=-1.0),
                                [F32(4, 3), F32(4, 3)]),
    "pad_replicate_negative": (lambda m, x: _f(m).pad(x, (5, -4, -4, 3), "replicate"),
                               [F32(2, 3, 4, 4)]),
    "embedding_scale_grad": (lambda m, w, i: _f(m).embedding(i, w, scale_grad_by_freq=True),
                             [F32(5, 3), I64([0, 1, 1], [4, 1, 0])]),
    "embedding_bag_neg_padding": (lambda m, w, i, o: _f(m).embedding_bag(
        i, w, o, mode="sum", padding_idx=-1), [F32(5, 5), I64(1, 4, 2, 4, 0, 3), I64(0, 3)]),
    "max_unpool_repeated_index": (lambda m, x, i: _f(m).max_unpool1d(x, i, 3, 2, 1,
                                                                     output_size=[1, 2, 3]),
                                  [F32(1, 2, 2), np.array([[[0, 0], [2, 2]]], np.int64)]),
    "conv_transpose2d_groups_dilation_outpad": (
        lambda m, x, w, b: _f(m).conv_transpose2d(x, w, b, stride=[3, 2], padding=[1, 2],
                                                  output_padding=[2, 3], groups=2,
                                                  dilation=[4, 4]),
        [F32(2, 2, 4, 4), F32(2, 2, 4, 5), F32(4)]),
    "grid_sample_3d_trilinear_zeros": (lambda m, x, g: _f(m).grid_sample(
        x, g * 1.2, mode="bilinear", padding_mode="zeros", align_corners=False),
        [F32(2, 3, 4, 5, 3), np.tanh(F32(2, 3, 2, 4, 3))]),
    "grid_sample_3d_reflection_aligned": (lambda m, x, g: _f(m).grid_sample(
        x, g * 1.5, mode="bilinear", padding_mode="reflection", align_corners=True),
        [F32(1, 2, 3, 4, 5), np.tanh(F32(1, 2, 3, 2, 3))]),
    "grid_sample_3d_nearest_border": (lambda m, x, g: _f(m).grid_sample(
        x, g * 1.3, mode="nearest", padding_mode="border", align_corners=False),
        [F32(1, 2, 3, 4, 5), np.tanh(F32(1, 2, 3, 2, 3))]),
    "mha_packed_bias_kv_zero_attn": (lambda m, q, k, v, w, b, bk, bv, ow, ob, am: tuple(
        _f(m).multi_head_attention_forward(q, k, v, 4, 2, w, b, bk, bv, True, 0.0, ow, ob,
                                           training=False, attn_mask=am,
                                           average_attn_weights=False)),
        [F32(3, 2, 4), F32(5, 2, 4), F32(5, 2, 4), F32(12, 4), F32(12), F32(1, 1, 4),
         F32(1, 1, 4), F32(4, 4), F32(4), F32(3, 5)]),
    "mha_separate_kpm_unbatched": (lambda m, q, k, v, b, ow, wq, wk, wv, kp: tuple(
        _f(m).multi_head_attention_forward(q, k, v, 4, 2, None, b, None, None, False, 0.0, ow,
                                           None, training=False, key_padding_mask=kp > 1.0,
                                           use_separate_proj_weight=True, q_proj_weight=wq,
                                           k_proj_weight=wk, v_proj_weight=wv)),
        [F32(3, 4), F32(5, 4), F32(5, 4), F32(12), F32(4, 4), F32(4, 4), F32(4, 4), F32(4, 4),
         np.array([0.0, 2.0, 0.0, 0.0, 0.0], np.float32)]),
    "mha_static_kv_no_weights": (lambda m, q, k, v, w, ow, sk, sv: _f(m).multi_head_attention_forward(
        q, k, v, 4, 2, w, None, None, None, False, 0.0, ow, None, training=False,
        need_weights=False, static_k=sk, static_v=sv)[0],
        [F32(3, 2, 4), F32(5, 2, 4), F32(5, 2, 4), F32(12, 4), F32(4, 4), F32(4, 6, 2),
         F32(4, 6, 2)]),
}


def _run(mod, fn, arrays, grad):
    ts = []
    for a in arrays:
        t = torch.tensor(a) if mod is torch else ember.tensor(a)
        if grad and a.dtype.kind == "f":
            t.requires_grad_(True)
        ts.append(t)
    out = fn(mod, *ts)
    return ts, (list(out) if isinstance(out, (tuple, list)) else [out])


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_torch(name):
    fn, arrays = CASES[name]
    _, eo = _run(ember, fn, arrays, False)
    _, to = _run(torch, fn, arrays, False)
    assert len(eo) == len(to)
    for e, t in zip(eo, to):
        assert tuple(e.shape) == tuple(t.shape), name
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], name
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5,
                                   atol=1e-5)


@pytest.mark.parametrize("name", sorted(n for n in CASES if "empty" not in n))
def test_gradients_match_torch(name):
    fn, arrays = CASES[name]
    ex, eo = _run(ember, fn, arrays, True)
    tx, to = _run(torch, fn, arrays, True)
    pairs = [(e, t, R.standard_normal(tuple(t.shape)).astype(np.float32))
             for e, t in zip(eo, to) if t.dtype.is_floating_point]
    sum((t * torch.tensor(w)).sum() for _, t, w in pairs).backward()
    eins = [x for x in ex if x.requires_grad]
    eg = ember.autograd.grad(sum((e * ember.tensor(w)).sum() for e, _, w in pairs), eins,
                             allow_unused=True)
    for g, t in zip(eg, [x for x in tx if x.requires_grad]):
        if t.grad is None or g is None:
            assert t.grad is None or not t.grad.any(), name
            continue
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_embedding_max_norm_renormalises_the_used_rows_in_place():
    w = F32(6, 4) * 3
    ew, tw = ember.tensor(w), torch.tensor(w)
    idx = I64([0, 2], [2, 5])
    eo = EF.embedding(ember.tensor(idx), ew, max_norm=1.0, norm_type=1.0)
    to = TF.embedding(torch.tensor(idx), tw, max_norm=1.0, norm_type=1.0)
    np.testing.assert_allclose(eo.numpy(), to.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ew.numpy(), tw.numpy(), rtol=1e-5, atol=1e-6)  # in place
    np.testing.assert_allclose(ew.numpy()[1], w[1])  # an unused row is untouched
    m = ember.nn.Embedding(6, 4, max_norm=0.5, _weight=ember.tensor(w))
    m(ember.tensor(I64(3)))
    assert float(m.weight[3].norm()) <= 0.5 + 1e-5
