"""ember.nn.utils.prune against torch.nn.utils.prune: the same masks, state_dict keys,
outputs and gradients; iterative pruning combines masks as PyTorch's PruningContainer."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
import torch.nn.utils.prune as TP  # noqa: E402

P = ember.nn.utils.prune


def _pair(name, *args):
    # seeded: the masks are compared with PyTorch's, and with unseeded weights two nearly equal
    # norms (ember and PyTorch sum in different orders) picked different rows about 4% of runs
    torch.manual_seed(0)
    t = getattr(torch.nn, name)(*args)
    e = getattr(ember.nn, name)(*args)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return e, t


def _same_mask(e, t, name="weight"):
    np.testing.assert_array_equal(getattr(e, name + "_mask").numpy(),
                                  getattr(t, name + "_mask").numpy())


def test_l1_structured_and_iterative_pruning_match_torch():
    e, t = _pair("Linear", 6, 4)
    for args, kw in [((), dict(amount=0.3)), ((), dict(amount=1, n=2, dim=0)),
                     ((), dict(amount=2))]:
        fn = "ln_structured" if "n" in kw else "l1_unstructured"
        getattr(P, fn)(e, "weight", **kw)
        getattr(TP, fn)(t, "weight", **kw)
        _same_mask(e, t)
        assert list(e.state_dict()) == list(t.state_dict())
    assert isinstance(list(e._forward_pre_hooks.values())[-1], P.PruningContainer)
    x = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-6)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(e.weight_orig.grad.numpy(), t.weight_orig.grad.numpy(), atol=1e-6)
    assert P.is_pruned(e)
    P.remove(e, "weight")
    TP.remove(t, "weight")
    assert list(e.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    np.testing.assert_array_equal(e.weight.detach().numpy(), t.weight.detach().numpy())
    assert not P.is_pruned(e) and isinstance(e.weight, ember.nn.Parameter)


def test_conv_channels_and_global_pruning_match_torch():
    e, t = _pair("Conv2d", 3, 8, 3)
    P.ln_structured(e, "weight", amount=0.5, n=1, dim=0)
    TP.ln_structured(t, "weight", amount=0.5, n=1, dim=0)
    _same_mask(e, t)
    (e1, t1), (e2, t2) = _pair("Linear", 5, 5), _pair("Linear", 5, 3)
    P.global_unstructured([(e1, "weight"), (e2, "weight")], P.L1Unstructured, amount=0.4)
    TP.global_unstructured([(t1, "weight"), (t2, "weight")], TP.L1Unstructured, amount=0.4)
    _same_mask(e1, t1)
    _same_mask(e2, t2)
    mask = ember.tensor((np.arange(15).reshape(3, 5) % 2).astype(np.float32))
    P.custom_from_mask(e2, "bias", ember.ones(3))
    P.custom_from_mask(e2, "weight", mask)
    TP.custom_from_mask(t2, "weight", torch.tensor(mask.numpy()))
    _same_mask(e2, t2)


def test_random_pruning_counts_and_a_pruned_model_under_jit_and_reload():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(8, 6), ember.nn.ReLU(), ember.nn.Linear(6, 2))
    P.random_unstructured(model[0], "weight", amount=0.25)
    P.random_structured(model[2], "weight", amount=1, dim=1)
    assert int((model[0].weight_mask == 0).sum()) == 12
    assert int((model[2].weight_mask.sum(0) == 0).sum()) == 1
    x = ember.randn(4, 8)
    eager = model(x)
    np.testing.assert_array_equal(ember.jit(model)(x).detach().numpy(), eager.detach().numpy())
    state = model.state_dict()
    fresh = ember.nn.Sequential(ember.nn.Linear(8, 6), ember.nn.ReLU(), ember.nn.Linear(6, 2))
    P.identity(fresh[0], "weight")
    P.identity(fresh[2], "weight")
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), eager.detach().numpy())


def test_bad_amounts_and_unpruned_remove_fail_clearly():
    layer = ember.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="amount=1.5 should either be a float"):
        P.l1_unstructured(layer, "weight", amount=1.5)
    with pytest.raises(ValueError, match="amount=9 should be smaller than the number"):
        P.l1_unstructured(layer, "weight", amount=9)
    assert not P.is_pruned(layer) and isinstance(layer.weight, ember.nn.Parameter)
    with pytest.raises(ValueError, match="'bias' of Linear has not been pruned"):
        P.remove(layer, "bias")
