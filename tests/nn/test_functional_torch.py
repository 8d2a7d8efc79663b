"""gumbel_softmax and affine_grid vs torch."""
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
