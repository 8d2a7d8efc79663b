"""The more torch.nn modules (activations, dropouts, pads, shuffles, Upsample, norms, cells,
losses) against PyTorch: state_dict keys, repr, forward values and gradients (inputs and
parameters), and the functional twins."""
import numpy as np
import pytest

import ember
from ember import nn
import ember.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _arrays(spec, seed):
    """Input arrays from a spec: (kind, shape) with kind f (float, differentiable), pos
    (positive float, differentiable), pm1 (targets in {-1, 1}), u01 (floats in [0, 1]),
    cnt (counts), cls:C (class indices)."""
    rng = np.random.default_rng(seed)
    out = []
    for kind, shape in spec:
        if kind == "f":
            a = rng.standard_normal(shape).astype(np.float32) * 2
        elif kind == "pos":
            a = rng.uniform(0.2, 2.0, shape).astype(np.float32)
        elif kind == "pm1":
            a = rng.choice([-1.0, 1.0], shape).astype(np.float32)
        elif kind == "u01":
            a = rng.uniform(0, 1, shape).astype(np.float32)
        elif kind == "cnt":
            a = rng.integers(0, 5, shape).astype(np.float32)
        elif kind.startswith("cls:"):
            a = rng.integers(0, int(kind[4:]), shape)
        else:
            raise ValueError(kind)
        out.append((kind, a))
    return out


def _wrap(lib, arrays):
    ts = []
    for kind, a in arrays:
        grad = kind in ("f", "pos")
        ts.append(lib.tensor(a, requires_grad=grad) if grad else lib.tensor(a))
    return ts


def F1(*shape):
    return [("f", shape)]


MODULES = [
    # activations
    ("Hardtanh", lambda m: m.Hardtanh(-0.5, 1.5), F1(3, 4)),
    ("ReLU6", lambda m: m.ReLU6(), F1(3, 4)),
    ("Softplus", lambda m: m.Softplus(beta=2.0, threshold=3.0), F1(3, 4)),
    ("PReLU", lambda m: m.PReLU(), F1(3, 4)),
    ("PReLU_channels", lambda m: m.PReLU(3, init=0.1), F1(2, 3, 5)),
    ("SELU", lambda m: m.SELU(), F1(3, 4)),
    ("CELU", lambda m: m.CELU(alpha=0.7), F1(3, 4)),
    ("Mish", lambda m: m.Mish(), F1(3, 4)),
    ("Hardswish", lambda m: m.Hardswish(), F1(3, 4)),
    ("Hardsigmoid", lambda m: m.Hardsigmoid(), F1(3, 4)),
    ("Softsign", lambda m: m.Softsign(), F1(3, 4)),
    ("Tanhshrink", lambda m: m.Tanhshrink(), F1(3, 4)),
    ("Softshrink", lambda m: m.Softshrink(0.7), F1(3, 4)),
    ("Hardshrink", lambda m: m.Hardshrink(), F1(3, 4)),
    ("Threshold", lambda m: m.Threshold(0.1, 20.0), F1(3, 4)),
    ("GLU", lambda m: m.GLU(1), F1(3, 4)),
    ("Softmin", lambda m: m.Softmin(dim=1), F1(3, 4)),
    ("LogSigmoid", lambda m: m.LogSigmoid(), F1(3, 4)),
    ("CosineSimilarity", lambda m: m.CosineSimilarity(dim=1), F1(3, 4) + F1(3, 4)),
    ("PairwiseDistance", lambda m: m.PairwiseDistance(p=3.0, keepdim=True),
     F1(3, 4) + F1(3, 4)),
    # dropouts (eval: identity; training statistics are tested below)
    ("Dropout1d", lambda m: m.Dropout1d(0.3).eval(), F1(2, 3, 4)),
    ("Dropout2d", lambda m: m.Dropout2d().eval(), F1(2, 3, 4, 4)),
    ("Dropout3d", lambda m: m.Dropout3d().eval(), F1(2, 3, 2, 2, 2)),
    ("AlphaDropout", lambda m: m.AlphaDropout(0.2).eval(), F1(3, 4)),
    # pads
    ("ZeroPad1d", lambda m: m.ZeroPad1d(2), F1(2, 3, 4)),
    ("ZeroPad2d", lambda m: m.ZeroPad2d((1, 2, 0, 3)), F1(2, 3, 4, 4)),
    ("ConstantPad1d", lambda m: m.ConstantPad1d((2, 1), 3.5), F1(2, 3, 4)),
    ("ConstantPad2d", lambda m: m.ConstantPad2d(1, -1.0), F1(2, 3, 4, 4)),
    ("ReflectionPad1d", lambda m: m.ReflectionPad1d((3, 1)), F1(2, 3, 5)),
    ("ReflectionPad2d", lambda m: m.ReflectionPad2d(2), F1(2, 3, 4, 5)),
    ("ReplicationPad1d", lambda m: m.ReplicationPad1d(2), F1(2, 3, 4)),
    ("ReplicationPad2d", lambda m: m.ReplicationPad2d((1, 0, 2, 3)), F1(2, 3, 4, 4)),
    ("CircularPad1d", lambda m: m.CircularPad1d(2), F1(2, 3, 4)),
    # shuffles and resampling
    ("PixelShuffle", lambda m: m.PixelShuffle(2), F1(2, 8, 3, 4)),
    ("PixelUnshuffle", lambda m: m.PixelUnshuffle(2), F1(2, 2, 4, 6)),
    ("ChannelShuffle", lambda m: m.ChannelShuffle(3), F1(2, 6, 3, 2)),
    ("Upsample_nearest", lambda m: m.Upsample(scale_factor=2), F1(2, 3, 4, 5)),
    ("Upsample_nearest_size", lambda m: m.Upsample(size=(7, 3)), F1(2, 3, 4, 5)),
    ("Upsample_bilinear", lambda m: m.Upsample(scale_factor=1.5, mode="bilinear"),
     F1(2, 3, 4, 5)),
    ("Upsample_bilinear_ac", lambda m: m.Upsample(size=(6, 9), mode="bilinear",
                                                  align_corners=True), F1(2, 3, 4, 5)),
    ("Upsample_linear", lambda m: m.Upsample(scale_factor=3, mode="linear"), F1(2, 3, 4)),
    ("UpsamplingNearest2d", lambda m: m.UpsamplingNearest2d(scale_factor=2), F1(1, 2, 3, 3)),
    ("UpsamplingBilinear2d", lambda m: m.UpsamplingBilinear2d(size=5), F1(1, 2, 3, 3)),
    # normalisation
    ("RMSNorm", lambda m: m.RMSNorm(4), F1(3, 4)),
    ("RMSNorm_2d_eps", lambda m: m.RMSNorm([3, 4], eps=1e-5), F1(2, 3, 4)),
    ("RMSNorm_noaffine", lambda m: m.RMSNorm(4, elementwise_affine=False), F1(3, 4)),
    ("InstanceNorm1d", lambda m: m.InstanceNorm1d(3), F1(2, 3, 6)),
    ("InstanceNorm2d_affine", lambda m: m.InstanceNorm2d(3, affine=True), F1(2, 3, 4, 5)),
    ("InstanceNorm2d_track", lambda m: m.InstanceNorm2d(3, track_running_stats=True),
     F1(2, 3, 4, 5)),
    ("InstanceNorm1d_unbatched", lambda m: m.InstanceNorm1d(3), F1(3, 6)),
    ("LocalResponseNorm", lambda m: m.LocalResponseNorm(3, alpha=0.1, beta=0.6, k=2.0),
     F1(2, 5, 4)),
    ("LocalResponseNorm_4d", lambda m: m.LocalResponseNorm(2), F1(2, 5, 3, 3)),
    # cells
    ("RNNCell", lambda m: m.RNNCell(3, 4), F1(5, 3) + F1(5, 4)),
    ("RNNCell_relu_nobias", lambda m: m.RNNCell(3, 4, bias=False, nonlinearity="relu"),
     F1(5, 3)),
    ("GRUCell", lambda m: m.GRUCell(3, 4), F1(5, 3) + F1(5, 4)),
    ("GRUCell_unbatched", lambda m: m.GRUCell(3, 4), F1(3)),
    ("LSTMCell", lambda m: m.LSTMCell(3, 4), F1(5, 3)),
    # patches
    ("Unfold", lambda m: m.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
     F1(2, 3, 5, 6)),
    ("Unfold_unbatched", lambda m: m.Unfold(2), F1(3, 4, 4)),
    ("Fold", lambda m: m.Fold((5, 6), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
     F1(2, 18, 12)),
    ("Fold_unbatched", lambda m: m.Fold(3, 2), F1(8, 4)),
    # losses
    ("MarginRankingLoss", lambda m: m.MarginRankingLoss(margin=0.3),
     F1(6) + F1(6) + [("pm1", (6,))]),
    ("CosineEmbeddingLoss", lambda m: m.CosineEmbeddingLoss(margin=0.2, reduction="sum"),
     F1(6, 4) + F1(6, 4) + [("pm1", (6,))]),
    ("TripletMarginLoss", lambda m: m.TripletMarginLoss(margin=2.0), F1(5, 4) * 3),
    ("TripletMarginLoss_swap", lambda m: m.TripletMarginLoss(p=1.0, swap=True,
                                                             reduction="none"), F1(5, 4) * 3),
    ("PoissonNLLLoss", lambda m: m.PoissonNLLLoss(), F1(3, 4) + [("cnt", (3, 4))]),
    ("PoissonNLLLoss_full", lambda m: m.PoissonNLLLoss(log_input=False, full=True),
     [("pos", (3, 4)), ("cnt", (3, 4))]),
    ("GaussianNLLLoss", lambda m: m.GaussianNLLLoss(), F1(3, 4) + F1(3, 4) + [("pos", (3, 4))]),
    ("GaussianNLLLoss_hetero_full", lambda m: m.GaussianNLLLoss(full=True, reduction="sum"),
     F1(3, 4) + F1(3, 4) + [("pos", (3, 1))]),
    ("GaussianNLLLoss_vardim", lambda m: m.GaussianNLLLoss(reduction="none"),
     F1(3, 4) + F1(3, 4) + [("pos", (3,))]),
    ("MultiLabelSoftMarginLoss", lambda m: m.MultiLabelSoftMarginLoss(),
     F1(3, 5) + [("u01", (3, 5))]),
    ("MultiMarginLoss", lambda m: m.MultiMarginLoss(), F1(4, 5) + [("cls:5", (4,))]),
    ("MultiMarginLoss_p2", lambda m: m.MultiMarginLoss(p=2, margin=0.5, reduction="none"),
     F1(4, 5) + [("cls:5", (4,))]),
    ("SoftMarginLoss", lambda m: m.SoftMarginLoss(), F1(3, 4) + [("pm1", (3, 4))]),
    ("HingeEmbeddingLoss", lambda m: m.HingeEmbeddingLoss(margin=0.5),
     F1(3, 4) + [("pm1", (3, 4))]),
]


def _load(em, tm):
    sd = {k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()}
    em.load_state_dict(sd)


@pytest.mark.parametrize("name,make,spec", MODULES, ids=[c[0] for c in MODULES])
def test_module_matches_torch(name, make, spec):
    tm, em = make(torch.nn), make(nn)
    assert repr(em) == repr(tm)
    tsd, esd = tm.state_dict(), em.state_dict()
    assert list(esd) == list(tsd)
    for k in tsd:
        assert tuple(esd[k].shape) == tuple(tsd[k].shape), k
    _load(em, tm)
    arrays = _arrays(spec, seed=len(name))
    eins, tins = _wrap(ember, arrays), _wrap(torch, arrays)
    eo, to = em(*eins), tm(*tins)
    eo = eo if isinstance(eo, tuple) else (eo,)
    to = to if isinstance(to, tuple) else (to,)
    assert len(eo) == len(to)
    rng = np.random.default_rng(1)
    el, tl = 0, 0
    for e, t in zip(eo, to):
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
        w = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        el = el + (e * ember.tensor(w)).sum()
        tl = tl + (t * torch.tensor(w)).sum()
    if not tl.requires_grad:
        return
    el.backward()
    tl.backward()
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-3, atol=1e-4,
                                   err_msg=n)
    for e, t in zip(eins, tins):
        if t.grad is not None:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-3, atol=1e-4)
    for (n, eb), (_, tb) in zip(em.named_buffers(), tm.named_buffers()):
        np.testing.assert_allclose(eb.numpy(), tb.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)


# the functional twins: (name, call as a lambda of the functional module, input spec)
FUNCTIONALS = [
    ("hardtanh", lambda f, x: f.hardtanh(x, -2.0, 0.5), F1(3, 4)),
    ("softplus", lambda f, x: f.softplus(x, beta=0.5, threshold=2.0), F1(3, 4)),
    ("prelu", lambda f, x, w: f.prelu(x, w), F1(2, 3, 4) + F1(3)),
    ("selu", lambda f, x: f.selu(x), F1(3, 4)),
    ("celu", lambda f, x: f.celu(x, 2.0), F1(3, 4)),
    ("mish", lambda f, x: f.mish(x), F1(3, 4)),
    ("hardswish", lambda f, x: f.hardswish(x), F1(3, 4)),
    ("hardsigmoid", lambda f, x: f.hardsigmoid(x), F1(3, 4)),
    ("softsign", lambda f, x: f.softsign(x), F1(3, 4)),
    ("tanhshrink", lambda f, x: f.tanhshrink(x), F1(3, 4)),
    ("softshrink", lambda f, x: f.softshrink(x, 1.0), F1(3, 4)),
    ("hardshrink", lambda f, x: f.hardshrink(x, 1.0), F1(3, 4)),
    ("threshold", lambda f, x: f.threshold(x, 0.5, -3.0), F1(3, 4)),
    ("glu", lambda f, x: f.glu(x), F1(3, 6)),
    ("softmin", lambda f, x: f.softmin(x, dim=0), F1(3, 4)),
    ("logsigmoid", lambda f, x: f.logsigmoid(x), F1(3, 4)),
    ("cosine_similarity_bcast", lambda f, a, b: f.cosine_similarity(a, b, dim=-1),
     F1(3, 1, 4) + F1(5, 4)),
    ("pairwise_distance", lambda f, a, b: f.pairwise_distance(a, b), F1(3, 4) + F1(3, 4)),
    ("pixel_shuffle_5d", lambda f, x: f.pixel_shuffle(x, 3), F1(2, 2, 9, 2, 3)),
    ("pixel_unshuffle", lambda f, x: f.pixel_unshuffle(x, 3), F1(2, 2, 3, 6)),
    ("channel_shuffle", lambda f, x: f.channel_shuffle(x, 2), F1(2, 4, 3)),
    ("pad_reflect", lambda f, x: f.pad(x, (1, 2, 2, 1), mode="reflect"), F1(2, 3, 4, 4)),
    ("pad_replicate", lambda f, x: f.pad(x, (1, 2), mode="replicate"), F1(2, 3, 4)),
    ("pad_circular", lambda f, x: f.pad(x, (1, 2, 2, 0), mode="circular"), F1(1, 2, 3, 4)),
    ("interpolate_bilinear", lambda f, x: f.interpolate(x, size=(5, 7), mode="bilinear"),
     F1(2, 3, 4, 4)),
    ("upsample_bilinear", lambda f, x: f.upsample_bilinear(x, scale_factor=2), F1(1, 2, 3, 3)),
    ("upsample_nearest", lambda f, x: f.upsample_nearest(x, size=5), F1(1, 2, 3, 3)),
    ("rms_norm", lambda f, x, w: f.rms_norm(x, (4,), w, eps=1e-6), F1(3, 4) + F1(4)),
    ("instance_norm", lambda f, x, w, b: f.instance_norm(x, weight=w, bias=b),
     F1(2, 3, 5) + F1(3) + F1(3)),
    ("local_response_norm", lambda f, x: f.local_response_norm(x, 4, k=0.5), F1(2, 6, 3)),
    ("unfold", lambda f, x: f.unfold(x, 3, padding=1, stride=2), F1(2, 2, 5, 5)),
    ("fold", lambda f, x: f.fold(x, (4, 5), 2, dilation=2), F1(2, 12, 6)),
    ("margin_ranking_loss", lambda f, a, b, y: f.margin_ranking_loss(a, b, y, 0.1),
     F1(5) + F1(5) + [("pm1", (5,))]),
    ("cosine_embedding_loss", lambda f, a, b, y: f.cosine_embedding_loss(a, b, y, 0.1),
     F1(5, 3) + F1(5, 3) + [("pm1", (5,))]),
    ("triplet_margin_loss", lambda f, a, p, n: f.triplet_margin_loss(a, p, n, swap=True),
     F1(5, 3) * 3),
    ("poisson_nll_loss", lambda f, x, t: f.poisson_nll_loss(x, t, full=True,
                                                            reduction="sum"),
     F1(5, 3) + [("cnt", (5, 3))]),
    ("gaussian_nll_loss", lambda f, x, t, v: f.gaussian_nll_loss(x, t, v, eps=0.5),
     F1(5, 3) + F1(5, 3) + [("pos", (5, 3))]),
    ("multilabel_soft_margin_loss_w", lambda f, x, t, w: f.multilabel_soft_margin_loss(
        x, t, weight=w.detach().abs(), reduction="none"), F1(4, 3) + [("u01", (4, 3))] + F1(3)),
    ("multi_margin_loss_1d_weight", lambda f, x, t, w: f.multi_margin_loss(
        x, t, weight=w.detach().abs()), F1(5) + [("cls:5", (1,))] + F1(5)),
    ("soft_margin_loss", lambda f, x, y: f.soft_margin_loss(x, y, reduction="none"),
     F1(3, 4) + [("pm1", (3, 4))]),
    ("hinge_embedding_loss", lambda f, x, y: f.hinge_embedding_loss(x, y, reduction="sum"),
     F1(3, 4) + [("pm1", (3, 4))]),
]


@pytest.mark.parametrize("name,call,spec", FUNCTIONALS, ids=[c[0] for c in FUNCTIONALS])
def test_functional_matches_torch(name, call, spec):
    arrays = _arrays(spec, seed=len(name) + 7)
    eins, tins = _wrap(ember, arrays), _wrap(torch, arrays)
    eo, to = call(F, *eins), call(TF, *tins)
    assert tuple(eo.shape) == tuple(to.shape)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-4, atol=1e-5)
    w = np.random.default_rng(2).standard_normal(tuple(to.shape)).astype(np.float32)
    (eo * ember.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    for e, t in zip(eins, tins):
        if t.grad is not None:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-3, atol=1e-4)


def test_instance_norm_running_stats_and_eval():
    tm, em = torch.nn.InstanceNorm1d(3, track_running_stats=True), \
        nn.InstanceNorm1d(3, track_running_stats=True)
    x = np.random.default_rng(3).standard_normal((4, 3, 7)).astype(np.float32)
    for _ in range(2):
        tm(torch.tensor(x * 2 + 1))
        em(ember.tensor(x * 2 + 1))
    np.testing.assert_allclose(em.running_mean.numpy(), tm.running_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(em.running_var.numpy(), tm.running_var.numpy(), rtol=1e-5)
    tm.eval()
    em.eval()
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make,shape,channel_dims", [
    (lambda: nn.Dropout1d(0.5), (8, 16, 5), 2), (lambda: nn.Dropout2d(0.5), (8, 16, 3, 3), 2),
    (lambda: nn.Dropout3d(0.5), (16, 2, 2, 2), 1)])
def test_channel_dropouts_zero_whole_channels(make, shape, channel_dims):
    ember.manual_seed(0)
    y = make()(ember.ones(*shape)).numpy()
    per_channel = y.reshape(shape[:channel_dims] + (-1,))
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # constant per channel
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.25 < (y == 0).mean() < 0.75


def test_alpha_dropout_keeps_mean_and_variance():
    ember.manual_seed(0)
    x = ember.randn(200000)
    y = nn.AlphaDropout(0.3).train()(x).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    alpha = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.3) * (1 + 0.3 * alpha ** 2)) ** -0.5
    dropped = np.isclose(y, alpha * a - a * alpha * 0.3, atol=1e-6)
    assert 0.28 < dropped.mean() < 0.32        # dropped elements take one value
    kept = ~dropped
    np.testing.assert_allclose(y[kept], x.numpy()[kept] * a - a * alpha * 0.3, rtol=1e-5,
                               atol=1e-5)


def test_cells_match_torch_sequences():
    """An LSTMCell stepped over a sequence equals nn.LSTM with the same weights."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4)
    cell = nn.LSTMCell(3, 4)
    cell.load_state_dict({k[:-3]: ember.tensor(v.detach().numpy())
                          for k, v in lstm.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((5, 2, 3)).astype(np.float32)
    out, _ = lstm(torch.tensor(x))
    hx = None
    for t in range(5):
        hx = cell(ember.tensor(x[t]), hx)
    np.testing.assert_allclose(hx[0].detach().numpy(), out[-1].detach().numpy(), rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("call,match", [
    (lambda: nn.Hardtanh(1.0, 0.0), "Hardtanh"),
    (lambda: nn.Dropout2d(1.5), "Dropout2d"),
    (lambda: nn.PixelShuffle(2)(ember.ones(1, 3, 2, 2)), "pixel_shuffle"),
    (lambda: nn.PixelUnshuffle(2)(ember.ones(1, 1, 3, 2)), "pixel_unshuffle"),
    (lambda: nn.ChannelShuffle(4)(ember.ones(1, 6, 2)), "channel_shuffle"),
    (lambda: nn.GLU()(ember.ones(3)), "glu"),
    (lambda: nn.PReLU(3)(ember.ones(2, 4)), "prelu"),
    (lambda: nn.LSTMCell(3, 4)(ember.ones(2, 5)), "LSTMCell"),
    (lambda: nn.GRUCell(3, 4)(ember.ones(2, 3), ember.ones(3, 4)), "GRUCell"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="sigmoid"), "RNNCell"),
    (lambda: nn.TripletMarginLoss(margin=0.0), "TripletMarginLoss"),
    (lambda: nn.MultiMarginLoss(p=3), "MultiMarginLoss"),
    (lambda: nn.ReflectionPad1d(1)(ember.ones(5)), "ReflectionPad1d"),
    (lambda: nn.Upsample(size=2, scale_factor=2), "Upsample"),
    (lambda: nn.GaussianNLLLoss()(ember.ones(3, 4), ember.ones(3, 4), ember.ones(2)),
     "gaussian_nll_loss"),
    (lambda: nn.InstanceNorm2d(3)(ember.ones(3, 4)), "InstanceNorm2d"),
    (lambda: nn.RMSNorm(5)(ember.ones(3, 4)), "rms_norm"),
])
def test_bad_arguments_name_the_module(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["offsets", "2d", "last_offset", "padding_idx", "psw"])
def test_embedding_bag_matches_torch(mode, layout):
    if layout == "psw" and mode != "sum":
        pytest.skip("per_sample_weights needs mode='sum' (checked below)")
    kw = {"mode": mode}
    if layout == "last_offset":
        kw["include_last_offset"] = True
    if layout == "padding_idx":
        kw["padding_idx"] = 3
    tm, em = torch.nn.EmbeddingBag(7, 4, **kw), nn.EmbeddingBag(7, 4, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    _load(em, tm)
    rng = np.random.default_rng(5)
    idx = rng.integers(0, 7, 9)
    idx[2] = 3
    offs = np.array([0, 2, 2, 6])  # the third bag is empty
    if layout == "2d":
        args_t, args_e = [torch.tensor(idx[:8].reshape(2, 4))], [ember.tensor(idx[:8].reshape(2, 4))]
    elif layout == "last_offset":
        o = np.append(offs, 9)
        args_t, args_e = [torch.tensor(idx), torch.tensor(o)], [ember.tensor(idx), ember.tensor(o)]
    else:
        args_t, args_e = [torch.tensor(idx), torch.tensor(offs)], [ember.tensor(idx),
                                                                   ember.tensor(offs)]
    if layout == "psw":
        pw = rng.standard_normal(9).astype(np.float32)
        tp, ep = torch.tensor(pw, requires_grad=True), ember.tensor(pw, requires_grad=True)
        to, eo = tm(*args_t, per_sample_weights=tp), em(*args_e, per_sample_weights=ep)
    else:
        to, eo = tm(*args_t), em(*args_e)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    (to * torch.tensor(w)).sum().backward()
    (eo * ember.tensor(w)).sum().backward()
    np.testing.assert_allclose(em.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    if layout == "psw":
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_embedding_bag_bad_arguments():
    bag = nn.EmbeddingBag(5, 2)
    with pytest.raises(ValueError, match="offsets"):
        bag(ember.tensor([1, 2]))
    with pytest.raises(ValueError, match="per_sample_weights"):
        bag(ember.tensor([1, 2]), ember.tensor([0]), per_sample_weights=ember.ones(2))
    with pytest.raises(IndexError, match="embedding_bag"):
        bag(ember.tensor([[1, 7]]))
    with pytest.raises(ValueError, match="EmbeddingBag"):
        nn.EmbeddingBag(5, 2, mode="median")


def test_fold_is_unfolds_adjoint_and_checks_patches():
    x = ember.randn(2, 3, 6, 5)
    cols = F.unfold(x, 3, padding=1)
    y = ember.randn(*cols.shape)
    lhs = float((cols * y).sum())
    rhs = float((x * F.fold(y, (6, 5), 3, padding=1)).sum())
    assert abs(lhs - rhs) < 1e-3 * max(1.0, abs(lhs))
    with pytest.raises(ValueError, match="fold"):
        F.fold(ember.ones(1, 12, 7), (6, 5), 2)


def _compare_grads(em, tm, eo, to, eins, tins):
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-4, atol=1e-4)
    w = np.random.default_rng(6).standard_normal(tuple(to.shape)).astype(np.float32)
    (eo * ember.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-3, atol=1e-4,
                                   err_msg=n)
    for e, t in zip(eins, tins):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_decoder_stack_matches_torch(norm_first, batch_first):
    def make(m):
        layer = m.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first,
                                          norm_first=norm_first, activation="gelu")
        return m.TransformerDecoder(layer, 2, norm=m.LayerNorm(8))
    tm, em = make(torch.nn), make(nn)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    _load(em, tm)
    shape_t, shape_m = ((3, 4, 8), (3, 6, 8)) if batch_first else ((4, 3, 8), (6, 3, 8))
    arrays = _arrays(F1(*shape_t) + F1(*shape_m), seed=11)
    eins, tins = _wrap(ember, arrays), _wrap(torch, arrays)
    mask = np.triu(np.full((4, 4), -np.inf, np.float32), 1)
    kpm = np.zeros((3, 6), bool)
    kpm[1, 4:] = True
    eo = em(*eins, tgt_mask=ember.tensor(mask), memory_key_padding_mask=ember.tensor(kpm))
    to = tm(*tins, tgt_mask=torch.tensor(mask), memory_key_padding_mask=torch.tensor(kpm))
    _compare_grads(em, tm, eo, to, eins, tins)


def test_transformer_matches_torch():
    torch.manual_seed(0)
    tm = torch.nn.Transformer(8, 2, 2, 1, 16, dropout=0.0, batch_first=True)
    em = nn.Transformer(8, 2, 2, 1, 16, dropout=0.0, batch_first=True)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    _load(em, tm)
    arrays = _arrays(F1(2, 5, 8) + F1(2, 4, 8), seed=12)
    eins, tins = _wrap(ember, arrays), _wrap(torch, arrays)
    emask = nn.Transformer.generate_square_subsequent_mask(4)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(emask.numpy(), tmask.numpy())
    eo, to = em(*eins, tgt_mask=emask), tm(*tins, tgt_mask=tmask)
    _compare_grads(em, tm, eo, to, eins, tins)
    with pytest.raises(ValueError, match="Transformer"):
        em(ember.ones(2, 5, 8), ember.ones(3, 4, 8))


def test_transformer_init_is_xavier_and_layers_are_independent():
    ember.manual_seed(0)
    model = nn.Transformer(16, 2, 2, 2, 32)
    w0 = model.encoder.layers[0].linear1.weight.detach().numpy()
    w1 = model.encoder.layers[1].linear1.weight.detach().numpy()
    assert not np.array_equal(w0, w1)
    bound = np.sqrt(6.0 / (16 + 32))
    assert np.abs(w0).max() <= bound and np.abs(w0).max() > 0.8 * bound


@pytest.mark.parametrize("make", [
    lambda m: m.ModuleList([m.Linear(2, 2), m.Linear(2, 2), m.ReLU(), m.Linear(2, 3)]),
    lambda m: m.ModuleList([]), lambda m: m.ModuleList([m.Tanh()] * 3 + [m.ReLU()] * 2)])
def test_module_list_repr_folds_repeats_as_torch(make):
    assert repr(make(nn)) == repr(make(torch.nn))


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolate_recompute_scale_factor_matches_torch(mode):
    x = np.random.default_rng(8).standard_normal((1, 2, 5, 7)).astype(np.float32)
    e = F.interpolate(ember.tensor(x), scale_factor=1.7, mode=mode, recompute_scale_factor=True)
    t = TF.interpolate(torch.tensor(x), scale_factor=1.7, mode=mode, recompute_scale_factor=True)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(ember.tensor(x), scale_factor=2, mode=mode, antialias=True)
