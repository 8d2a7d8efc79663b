"""gumbel_softmax, affine_grid and grid_sample vs torch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")  # parity tests: skipped without torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (1, 1, 1, 3), (2, 1, 3, 1)])
def test_affine_grid(align, size):
    th = np.random.default_rng(0).standard_normal((size[0], 2, 3)).astype(np.float32)
    e = ember.tensor(th, requires_grad=True)
    t = torch.tensor(th, requires_grad=True)
    ge = F.affine_grid(e, size, align_corners=align)
    gt = TF.affine_grid(t, size, align_corners=align)
    np.testing.assert_allclose(ge.detach().numpy(), gt.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = np.random.default_rng(1).standard_normal(gt.shape).astype(np.float32)
    (ge * ember.tensor(w)).sum().backward()
    (gt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="affine_grid"):
        F.affine_grid(e, (1, 1, 2, 2, 2))


def test_gumbel_softmax():
    ember.manual_seed(0)
    logits = ember.tensor(np.log(np.array([[0.1, 0.2, 0.7]], np.float32)).repeat(4000, 0))
    soft = F.gumbel_softmax(logits, tau=1.0)
    np.testing.assert_allclose(soft.sum(-1).numpy(), 1.0, rtol=1e-5)
    hard = F.gumbel_softmax(logits, hard=True).numpy()
    assert set(np.unique(hard)) == {0.0, 1.0} and (hard.sum(-1) == 1).all()
    np.testing.assert_allclose(hard.mean(0), [0.1, 0.2, 0.7], atol=0.03)  # argmax ~ Categorical
    x = ember.tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    w = ember.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    (F.gumbel_softmax(x, hard=True, dim=1) * w).sum().backward()
    g = x.grad.numpy()
    assert np.isfinite(g).all() and np.abs(g).sum() > 0  # straight-through: soft gradient
    np.testing.assert_allclose(g.sum(-1), 0.0, atol=1e-5)  # softmax Jacobian rows sum to 0
    with pytest.raises(ValueError, match="tau"):
        F.gumbel_softmax(x, tau=0.0)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample(mode, padding_mode, align):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 6))
    g = rng.uniform(-1.6, 1.6, (2, 4, 7, 2))  # also past the edges
    ex, eg = ember.tensor(x, requires_grad=True), ember.tensor(g, requires_grad=True)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align)
    eo, to = F.grid_sample(ex, eg, **kw), TF.grid_sample(tx, tg, **kw)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), atol=1e-12)
    w = rng.standard_normal(to.shape)
    (eo * ember.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    if mode != "nearest":
        np.testing.assert_allclose(eg.grad.numpy(), tg.grad.numpy(), atol=1e-11)
    # the same under jit (float32 too)
    f = ember.jit(lambda a, b: F.grid_sample(a, b, **kw))
    a32, b32 = ember.tensor(x.astype(np.float32)), ember.tensor(g.astype(np.float32))
    assert np.array_equal(f(a32, b32).numpy(), F.grid_sample(a32, b32, **kw).numpy())


def test_grid_sample_with_affine_grid_identity_and_errors():
    x = ember.randn(1, 2, 4, 5)
    theta = ember.tensor([[[1., 0., 0.], [0., 1., 0.]]])
    grid = F.affine_grid(theta, (1, 2, 4, 5), align_corners=False)
    assert np.allclose(F.grid_sample(x, grid, align_corners=False).numpy(), x.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="grid_sample: mode"):
        F.grid_sample(x, grid, mode="area")
    with pytest.raises(ValueError, match=r"grid_sample: expected input .* grid \(2, 4, 5, 2\)"):
        F.grid_sample(x, ember.zeros(2, 4, 5, 2))
    with pytest.raises(ValueError, match="bicubic.* 4-d input only"):  # as PyTorch
        F.grid_sample(ember.zeros(1, 1, 2, 2, 2), ember.zeros(1, 1, 1, 1, 3), mode="bicubic")
    with pytest.raises(ValueError, match=r"grid \(N, Do, Ho, Wo, 3\)"):
        F.grid_sample(ember.zeros(1, 1, 2, 2, 2), ember.zeros(1, 1, 1, 1, 2))
