"""PyTorch's deprecated ``size_average``/``reduce`` flags on every loss (functional and module)
give PyTorch's values and warn, as PyTorch does (yunjey's VAE tutorial calls
``F.binary_cross_entropy(x_reconst, x, size_average=False)``)."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

rng = np.random.default_rng(0)
P = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
T = rng.uniform(0, 1, (4, 3)).astype(np.float32)
X = rng.normal(size=(4, 3)).astype(np.float32)
Y = np.array([0, 2, 1, 2])
S = np.array([1., -1., 1., -1.], np.float32)
X1 = rng.normal(size=(4,)).astype(np.float32)
ML = np.array([[2, 0, -1], [1, -1, 0], [0, 1, 2], [2, -1, 0]])

# name, arguments (NumPy arrays become tensors on each side), module name, module kwargs
CASES = [
    ("mse_loss", (X, T), "MSELoss", {}),
    ("l1_loss", (X, T), "L1Loss", {}),
    ("smooth_l1_loss", (X, T), "SmoothL1Loss", {}),
    ("binary_cross_entropy", (P, T), "BCELoss", {}),
    ("binary_cross_entropy_with_logits", (X, T), "BCEWithLogitsLoss", {}),
    ("kl_div", (np.log(P), T), "KLDivLoss", {}),
    ("cross_entropy", (X, Y), "CrossEntropyLoss", {}),
    ("nll_loss", (np.log(P), Y), "NLLLoss", {}),
    ("margin_ranking_loss", (X1, -X1 * 0.5, S), "MarginRankingLoss", {}),
    ("soft_margin_loss", (X1, S), "SoftMarginLoss", {}),
    ("hinge_embedding_loss", (X1, S), "HingeEmbeddingLoss", {}),
    ("multi_margin_loss", (X, Y), "MultiMarginLoss", {}),
    ("multilabel_soft_margin_loss", (X, (T > 0.5).astype(np.float32)),
     "MultiLabelSoftMarginLoss", {}),
    ("multilabel_margin_loss", (X, ML), "MultiLabelMarginLoss", {}),
    ("poisson_nll_loss", (X, T), "PoissonNLLLoss", {}),
    ("cosine_embedding_loss", (X, X[::-1].copy(), S), "CosineEmbeddingLoss", {}),
    ("triplet_margin_loss", (X, X[::-1].copy(), X * 0.5), "TripletMarginLoss", {}),
]
FLAGS = [dict(size_average=False), dict(reduce=False), dict(size_average=True),
         dict(size_average=False, reduce=True)]


def _args(mod, args):
    return [mod.tensor(a) for a in args]


@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()))
@pytest.mark.parametrize("fn,args,module,kw", CASES, ids=[c[0] for c in CASES])
def test_legacy_flags_match_torch(fn, args, module, kw, flags):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want_f = getattr(TF, fn)(*_args(torch, args), **flags).numpy()
        want_m = getattr(torch.nn, module)(**kw, **flags)(*_args(torch, args)).numpy()
    with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
        got_f = getattr(F, fn)(*_args(ember, args), **flags)
    with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
        m = getattr(ember.nn, module)(**kw, **flags)
    got_m = m(*_args(ember, args))
    want_reduction = "none" if flags.get("reduce") is False else \
        "sum" if flags.get("size_average") is False else "mean"
    assert m.reduction == want_reduction
    np.testing.assert_allclose(got_f.numpy(), want_f, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_m.numpy(), want_m, rtol=1e-5, atol=1e-6)


def test_no_flags_no_warning_and_torch_positional_order():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(ember.ones(2), ember.zeros(2), reduction="sum")
        ember.nn.MSELoss(reduction="sum")
    # PyTorch's positional order of the module constructors: (size_average, reduce, reduction)
    assert ember.nn.MSELoss(None, None, "sum").reduction == "sum"
    assert ember.nn.SmoothL1Loss(None, None, "none", 0.5).beta == 0.5
    assert ember.nn.KLDivLoss(None, None, "batchmean", True).log_target is True
