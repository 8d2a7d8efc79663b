"""F.ctc_loss / nn.CTCLoss against PyTorch."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


def _case(T=12, N=3, C=5, S=4):
    x = rng.standard_normal((T, N, C)).astype(np.float32)
    tg = rng.integers(1, C, (N, S))
    tg[0, 1] = tg[0, 0]  # a repeated label needs a blank between its two frames
    return x, tg, [T, T - 2, T - 5], [S, 2, 3]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_loss_and_logit_gradients_match_torch(reduction):
    x, tg, il, tl = _case()
    xt, xe = torch.tensor(x).requires_grad_(), ember.tensor(x).requires_grad_()
    lt = torch.nn.functional.ctc_loss(xt.log_softmax(2), torch.tensor(tg), torch.tensor(il),
                                      torch.tensor(tl), reduction=reduction)
    le = ember.nn.CTCLoss(reduction=reduction)(xe.log_softmax(2), ember.tensor(tg),
                                               ember.tensor(il), ember.tensor(tl))
    np.testing.assert_allclose(le.detach().numpy(), lt.detach().numpy(), rtol=1e-5)
    w = rng.standard_normal(tuple(lt.shape)).astype(np.float32)
    (lt * torch.tensor(w)).sum().backward()
    (le * ember.tensor(w)).sum().backward()
    # PyTorch's gradient with respect to log_probs assumes they come from log_softmax; the
    # gradients of the logits agree
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-6)


def test_ctc_loss_concatenated_targets_blank_and_impossible_alignments():
    x, tg, il, tl = _case()
    lp = torch.tensor(x).log_softmax(2)
    cat = np.concatenate([tg[i, :tl[i]] for i in range(3)])
    np.testing.assert_allclose(
        F.ctc_loss(ember.tensor(lp.numpy()), ember.tensor(cat), il, tl).item(),
        torch.nn.functional.ctc_loss(lp, torch.tensor(cat), il, tl).item(), rtol=1e-5)
    # blank as the last class, unbatched (T, C) input
    tg2 = np.array([0, 2, 2])
    np.testing.assert_allclose(
        F.ctc_loss(ember.tensor(lp[:, 0].numpy()), ember.tensor(tg2), [12], [3],
                   blank=4).item(),
        torch.nn.functional.ctc_loss(lp[:, 0], torch.tensor(tg2), [12], [3], blank=4).item(),
        rtol=1e-5)
    # two frames cannot emit 4 labels: inf, or 0 with zero_infinity (and a zero gradient)
    for zero in (False, True):
        e = F.ctc_loss(ember.tensor(lp[:2].numpy()), ember.tensor(tg), [2, 2, 2], tl,
                       reduction="none", zero_infinity=zero)
        t = torch.nn.functional.ctc_loss(lp[:2], torch.tensor(tg), [2, 2, 2], tl,
                                         reduction="none", zero_infinity=zero)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5)
    xe = ember.tensor(x[:2]).requires_grad_()
    F.ctc_loss(xe.log_softmax(2), ember.tensor(tg), [2, 2, 2], tl, reduction="sum",
               zero_infinity=True).backward()
    assert np.isfinite(xe.grad.numpy()).all()
    with pytest.raises(ember.OpError, match="ctc_loss: targets must be classes in"):
        F.ctc_loss(ember.tensor(lp.numpy()), ember.tensor(np.zeros((3, 4), np.int64)), il, tl)
    with pytest.raises(ember.OpError, match=r"ctc_loss: input_lengths must lie in \[0, 12\]"):
        F.ctc_loss(ember.tensor(lp.numpy()), ember.tensor(tg), [13, 1, 1], tl)
