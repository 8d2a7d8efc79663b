"""nn.init.eye_/dirac_/sparse_ and the deprecated names, nn.utils.get_total_norm,
clip_grads_with_norm_, skip_init and the BatchNorm fusion helpers vs torch."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape,groups", [((4, 2, 3), 1), ((4, 2, 3, 3), 2), ((6, 3, 1, 3, 3), 3),
                                          ((2, 4, 3, 3), 1)])
def test_dirac_and_eye_match_torch(shape, groups):
    e = ember.nn.init.dirac_(ember.empty(*shape), groups)
    t = torch.nn.init.dirac_(torch.empty(*shape), groups)
    assert np.array_equal(e.numpy(), t.numpy())
    assert np.array_equal(ember.nn.init.eye_(ember.empty(3, 5)).numpy(),
                          torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    with pytest.raises(ValueError, match="eye_"):
        ember.nn.init.eye_(ember.empty(2, 2, 2))


def test_sparse_and_deprecated_names():
    ember.manual_seed(0)
    w = ember.nn.init.sparse_(ember.empty(20, 5), sparsity=0.25, std=0.1)
    assert ((w == 0).sum(0) == 5).all()
    assert abs(float(w[w != 0].std()) - 0.1) < 0.05
    for name in ("uniform", "normal", "xavier_uniform", "kaiming_normal", "orthogonal"):
        with pytest.warns(FutureWarning, match=f"nn.init.{name} is now deprecated"):
            getattr(ember.nn.init, name)(ember.empty(3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (ember.nn.init.constant(ember.empty(2), 0.5) == 0.5).all()


def test_total_norm_and_clip_match_torch():
    rng = np.random.default_rng(0)
    gs = [rng.standard_normal(s) for s in ((3, 4), (5,))]
    for p in (2.0, 1.0, float("inf")):
        e = ember.nn.utils.get_total_norm([ember.tensor(g) for g in gs], p)
        t = torch.nn.utils.get_total_norm([torch.tensor(g) for g in gs], p)
        np.testing.assert_allclose(e.item(), t.item(), rtol=1e-12)
    ep = [ember.nn.Parameter(ember.zeros(*g.shape, dtype=ember.float64)) for g in gs]
    tp = [torch.nn.Parameter(torch.zeros(*g.shape, dtype=torch.float64)) for g in gs]
    for e, t, g in zip(ep, tp, gs):
        e.grad, t.grad = ember.tensor(g), torch.tensor(g)
    total = ember.nn.utils.get_total_norm([p.grad for p in ep])
    ember.nn.utils.clip_grads_with_norm_(ep, 0.5, total)
    torch.nn.utils.clip_grads_with_norm_(tp, 0.5, torch.nn.utils.get_total_norm(
        [p.grad for p in tp]))
    for e, t in zip(ep, tp):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_skip_init():
    lin = ember.nn.utils.skip_init(ember.nn.Linear, 4, 3, bias=False)
    assert tuple(lin.weight.shape) == (3, 4) and lin.bias is None and not lin.weight.is_meta
    lin(ember.ones(2, 4))


@pytest.mark.parametrize("kind", ["conv", "convT", "linear"])
def test_fusion_matches_torch(kind):
    rng = np.random.default_rng(1)
    if kind == "linear":
        pair = lambda m: (m.Linear(3, 4), m.BatchNorm1d(4))  # noqa: E731
        x = rng.standard_normal((5, 3))
    else:
        conv = "ConvTranspose2d" if kind == "convT" else "Conv2d"
        pair = lambda m: (getattr(m, conv)(3, 4, 3), m.BatchNorm2d(4))  # noqa: E731
        x = rng.standard_normal((2, 3, 5, 5))
    tl, tb = (m.double().eval() for m in pair(torch.nn))
    with torch.no_grad():
        tb.running_mean.uniform_(-1, 1), tb.running_var.uniform_(0.5, 2)
        tb.weight.uniform_(), tb.bias.uniform_()
    el, eb = (m.double().eval() for m in pair(ember.nn))
    for t, e in ((tl, el), (tb, eb)):
        e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    if kind == "linear":
        tf, ef = torch.nn.utils.fuse_linear_bn_eval(tl, tb), ember.nn.utils.fuse_linear_bn_eval(el, eb)
    else:
        tf = torch.nn.utils.fuse_conv_bn_eval(tl, tb, transpose=kind == "convT")
        ef = ember.nn.utils.fuse_conv_bn_eval(el, eb, transpose=kind == "convT")
    np.testing.assert_allclose(ef(ember.tensor(x)).detach().numpy(),
                               tf(torch.tensor(x)).detach().numpy(), atol=1e-12)
    assert isinstance(ef.weight, ember.nn.Parameter) and ef.weight.dtype == ember.float64
    el.train()
    with pytest.raises(RuntimeError, match="eval"):
        (ember.nn.utils.fuse_linear_bn_eval if kind == "linear" else
         ember.nn.utils.fuse_conv_bn_eval)(el, eb)
