"""shrink (physical removal of structurally pruned channels, found from the traced graph),
pruned checkpoints for plain models, the masked training guarantees (eager, jit, and the
JAX-style masks over a params pytree)."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.models.resnet import BasicBlock

P = ember.nn.utils.prune
F = ember.optim.functional


def _count(m):
    return sum(p.numel() for p in m.parameters())


def _same(a, b, x, atol=1e-6):
    a.eval(), b.eval()
    with ember.no_grad():
        ya, yb = a(x).numpy(), b(x).numpy()
    np.testing.assert_allclose(yb, ya, rtol=0, atol=atol)


def _prune_bn_like(conv, bn):
    """Prune a BatchNorm's weight and bias at the channels its convolution lost, so they
    carry zero."""
    mask = (conv.weight_mask.reshape(conv.weight_mask.shape[0], -1).sum(1) != 0).float()
    P.custom_from_mask(bn, "weight", mask)
    P.custom_from_mask(bn, "bias", mask)


def test_shrink_an_mlp_halves_it_and_keeps_its_outputs():
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))
    P.ln_structured(m[0], "weight", amount=0.5, n=2, dim=0)
    x = ember.randn(7, 20)
    s = P.shrink(m, x)
    assert (s[0].in_features, s[0].out_features, s[2].in_features) == (20, 16, 16)
    assert tuple(s[0].weight.shape) == (16, 20) and tuple(s[2].weight.shape) == (5, 16)
    assert _count(s) <= 0.51 * _count(m)  # 837 -> 421 parameters
    assert not P.is_pruned(s) and P.is_pruned(m)  # a plain copy; the model is left alone
    assert isinstance(s[0].weight, nn.Parameter)
    _same(m, s, x)
    _same(m, s, ember.randn(3, 20))  # not only on the example
    np.testing.assert_allclose(ember.jit(s)(x).detach().numpy(), s(x).detach().numpy(), atol=1e-6)


def test_shrink_folds_the_constant_of_pruned_units_into_the_next_bias():
    ember.manual_seed(1)
    m = nn.Sequential(nn.Linear(6, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.ReLU(),
                      nn.Linear(8, 2))
    P.random_structured(m[0], "weight", amount=0.5, dim=0)  # biases stay: sigmoid(b) != 0
    P.ln_structured(m[2], "weight", amount=0.25, n=1, dim=0)
    x = ember.randn(5, 6)
    s = P.shrink(m, x)
    assert (s[0].out_features, s[2].in_features, s[2].out_features) == (4, 4, 6)
    _same(m, s, x)


def test_shrink_folds_constant_channels_into_an_unpadded_convolution():
    ember.manual_seed(2)
    m = nn.Sequential(nn.Conv2d(2, 6, 3), nn.ReLU(), nn.Conv2d(6, 4, 3), nn.Flatten(),
                      nn.Linear(4 * 4 * 4, 3))
    with ember.no_grad():
        m[0].bias.copy_(ember.rand(6) + 0.1)  # the pruned channels are relu(bias) > 0
    P.ln_structured(m[0], "weight", amount=0.5, n=1, dim=0)
    x = ember.randn(2, 2, 8, 8)
    s = P.shrink(m, x)
    assert (s[0].out_channels, s[2].in_channels) == (3, 3)
    assert not np.array_equal(s[2].bias.detach().numpy(), m[2].bias.detach().numpy())
    _same(m, s, x)


def test_shrink_a_conv_net_with_batchnorm():
    ember.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    for _ in range(2):
        m(ember.randn(4, 3, 8, 8))  # running statistics that are not 0 and 1
    for i in (0, 3):
        P.ln_structured(m[i], "weight", amount=0.5, n=2, dim=0)
    x = ember.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"reach '3' \(Conv2d\) as non-zero constants.*"
                                         r"prune the BatchNorm's weight and bias"):
        P.shrink(m, x)  # BatchNorm's shift makes the pruned channels a constant, padded next
    for i in (1, 4):
        _prune_bn_like(m[i - 1], m[i])
    s = P.shrink(m, x)
    assert (s[0].out_channels, s[1].num_features, s[3].in_channels, s[3].out_channels,
            s[4].num_features, s[8].in_features) == (4, 4, 4, 8, 8, 128)
    assert tuple(s[4].running_mean.shape) == (8,)
    assert _count(s) <= 0.5 * _count(m)  # 4002 -> 1718
    _same(m, s, x)
    s.train()
    assert s(x).shape == (2, 10)  # trains on: the BatchNorm buffers have the new size


def test_shrink_a_residual_block():
    ember.manual_seed(0)

    def net():
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), BasicBlock(8, 8),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)).eval()
    x = ember.randn(2, 3, 8, 8)
    # inside the block: conv1's channels feed only conv2
    r = net()
    P.ln_structured(r[2].conv1, "weight", amount=0.5, n=2, dim=0)
    _prune_bn_like(r[2].conv1, r[2].bn1)
    s = P.shrink(r, x)
    assert (s[2].conv1.out_channels, s[2].bn1.num_features, s[2].conv2.in_channels) == (4, 4, 4)
    _same(r, s, x)
    # the channels of the residual sum: every layer feeding it must lose them
    r = net()
    P.ln_structured(r[0], "weight", amount=0.5, n=2, dim=0)
    with pytest.raises(ValueError, match=r"output channels of '0' \(Conv2d\) are pruned, but "
                                         r"a residual add joins them with '2.conv2'"):
        P.shrink(r, x)
    mask = (r[0].weight_mask.sum((1, 2, 3)) != 0).float()
    P.custom_from_mask(r[0], "bias", mask)
    P.custom_from_mask(r[2].conv2, "weight", mask[:, None, None, None] * ember.ones(8, 8, 3, 3))
    _prune_bn_like(r[2].conv2, r[2].bn2)
    s = P.shrink(r, x)
    assert (s[0].out_channels, s[2].conv1.in_channels, s[2].conv2.out_channels,
            s[2].bn2.num_features, s[5].in_features) == (4, 4, 4, 4, 4)
    assert _count(s) <= 0.51 * _count(r)
    _same(r, s, x)


def test_what_shrink_refuses():
    x = ember.randn(3, 4)
    last = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 4))
    P.ln_structured(last[2], "weight", amount=0.5, n=2, dim=0)
    with pytest.raises(ValueError, match=r"of '2' \(Linear\) are pruned but cannot be removed: "
                                         r"they reach the model's output"):
        P.shrink(last, x)
    mixed = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 2))
    P.ln_structured(mixed[0], "weight", amount=0.5, n=2, dim=0)
    with pytest.raises(ValueError, match=r"'0' \(Linear\) are pruned but cannot be removed"):
        P.shrink(mixed, x)
    whole = nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 2))
    P.ln_structured(whole[0], "weight", amount=1.0, n=2, dim=0)
    with pytest.raises(ValueError, match="every output channel of '0' \\(Linear\\) is pruned"):
        P.shrink(whole, x)
    nobias = nn.Sequential(nn.Linear(4, 6), nn.Sigmoid(), nn.Linear(6, 2, bias=False))
    P.ln_structured(nobias[0], "weight", amount=0.5, n=2, dim=0)
    with pytest.raises(ValueError, match=r"'2' \(Linear\) has no bias to absorb them"):
        P.shrink(nobias, x)
    with pytest.raises(TypeError, match="shrink: expected an nn.Module"):
        P.shrink(lambda t: t, x)
    plain = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    s = P.shrink(plain, x)  # nothing pruned: an equal copy
    assert _count(s) == _count(plain) and s is not plain


def test_plain_state_dict_loads_into_an_unpruned_model_and_masks_come_back():
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2))
    P.l1_unstructured(m[0], "weight", amount=0.5)
    P.ln_structured(m[2], "weight", amount=1, n=2, dim=1)
    state, masks = P.plain_state_dict(m)
    assert sorted(state) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert sorted(masks) == ["0.weight", "2.weight"]
    fresh = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2))
    fresh.load_state_dict(state)  # an unpruned model takes it as it is
    x = ember.randn(4, 5)
    _same(m, fresh, x, atol=0)
    assert int((fresh[0].weight == 0).sum()) == 15
    again = P.apply_masks(nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2)), masks)
    again.load_state_dict({k.replace("weight", "weight_orig") if k in masks else k: v
                           for k, v in state.items()} | {k + "_mask": v
                                                         for k, v in masks.items()})
    for k in masks:
        i = int(k.split(".")[0])
        np.testing.assert_array_equal(again[i].weight_mask.numpy(), masks[k].numpy())
    _same(m, again, x, atol=0)
    with pytest.raises(KeyError, match="apply_masks: Sequential has no submodule '7'"):
        P.apply_masks(fresh, {"7.weight": ember.ones(2)})


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_90_percent_global_pruning_then_a_masked_epoch_keeps_pruned_weights_zero(mode):
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
                      nn.Linear(16, 3))
    layers = [(m[i], "weight") for i in (0, 2, 4)]
    P.global_unstructured(layers, P.L1Unstructured, amount=0.9)
    total = sum(l.weight.numel() for l, _ in layers)
    zero = sum(int((l.weight == 0).sum()) for l, _ in layers)
    assert zero == round(0.9 * total)
    masks = [l.weight_mask.numpy().copy() for l, _ in layers]
    x, y = ember.randn(64, 12), ember.randint(0, 3, (64,))
    before = [l.weight.detach().numpy().copy() for l, _ in layers]
    if mode == "eager":
        opt = ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        for i in range(0, 64, 8):
            opt.zero_grad()
            nn.functional.cross_entropy(m(x[i:i + 8]), y[i:i + 8]).backward()
            opt.step()
        m(x[:1])  # the pre-hook recomputes weight = weight_orig * weight_mask
    else:
        from ember.func import functional_call
        params = {k: v.detach().clone() for k, v in m.named_parameters()}
        buffers = dict(m.named_buffers())
        fopt = F.adam(0.05, weight_decay=1e-3)

        @ember.jit
        def step(params, state, xb, yb):
            loss = lambda p: nn.functional.cross_entropy(
                functional_call(m, (p, buffers), (xb,)), yb)
            grads = ember.grad(loss)(params)
            updates, state = fopt.update(grads, state, params)
            return F.apply_updates(params, updates), state
        state = fopt.init(params)
        for i in range(0, 64, 8):
            params, state = step(params, state, x[i:i + 8], y[i:i + 8])
        with ember.no_grad():
            for k, p in m.named_parameters():
                p.copy_(params[k])
        m(x[:1])
    trained = 0
    for (l, _), mask, b in zip(layers, masks, before):
        w = l.weight.detach().numpy()
        assert (w[mask == 0] == 0).all()  # exactly zero
        trained += int((w[mask == 1] != b[mask == 1]).sum())
    assert trained == sum(int(mk.sum()) for mk in masks)  # the rest trained


def test_jax_style_masks_match_global_pruning_and_masked_updates_keep_zeros_under_jit():
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    params = {k: v.detach().clone() for k, v in m.named_parameters()}
    masks = P.magnitude_masks(params, 0.75)
    P.global_unstructured([(m[0], "weight"), (m[2], "weight")], P.L1Unstructured,
                          amount=0.75)
    np.testing.assert_array_equal(masks["0.weight"].numpy(), m[0].weight_mask.numpy())
    np.testing.assert_array_equal(masks["2.weight"].numpy(), m[2].weight_mask.numpy())
    assert masks["0.bias"].numpy().all()  # biases are not pruned by default
    leaf = P.magnitude_masks(params, 0.5, scope="leaf")
    assert int((leaf["0.weight"] == 0).sum()) == 24 and int((leaf["2.weight"] == 0).sum()) == 12
    params = P.masked_params(params, masks)
    opt = F.masked_update(F.adam(0.1, weight_decay=0.01), masks)
    plain = ember.nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    from ember.func import functional_call
    x, y = ember.randn(16, 6), ember.randint(0, 3, (16,))

    @ember.jit
    def step(params, state):
        grads = ember.grad(lambda p: nn.functional.cross_entropy(
            functional_call(plain, p, (x,)), y))(params)
        updates, state = opt.update(grads, state, params)
        return F.apply_updates(params, updates), state
    state = opt.init(params)
    start = {k: v.numpy().copy() for k, v in params.items()}
    for _ in range(5):
        params, state = step(params, state)
    for k in ("0.weight", "2.weight"):
        keep = masks[k].numpy() != 0
        assert (params[k].numpy()[~keep] == 0).all()
        assert (state["slots"]["exp_avg"][k].numpy()[~keep] == 0).all()
        assert not np.array_equal(params[k].numpy()[keep], start[k][keep])
    with pytest.raises(ValueError, match="magnitude_masks: scope must be"):
        P.magnitude_masks(params, 0.5, scope="layer")
    with pytest.raises(ValueError, match="no leaf selected"):
        P.magnitude_masks({"b": ember.ones(3)}, 0.5)
    with pytest.raises(ValueError, match="masked_update: the masks' structure"):
        F.masked_update(F.sgd(0.1), {"w": ember.ones(2)}).update({"v": ember.ones(2)}, {})


# ---- input columns (ln_structured dim=1): the readers' columns and the producers' outputs ----

def test_shrink_pruned_input_columns_of_an_mlp_removes_the_producers_outputs():
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))
    P.ln_structured(m[2], "weight", amount=0.5, n=2, dim=1)
    x = ember.randn(7, 20)
    s = P.shrink(m, x)
    assert (s[0].out_features, s[2].in_features, s[2].out_features) == (16, 16, 5)
    assert tuple(s[0].bias.shape) == (16,)
    assert _count(s) <= 0.51 * _count(m)  # 837 -> 421
    cols = np.flatnonzero(m[2].weight_mask.numpy().any(0))
    np.testing.assert_array_equal(s[0].weight.detach().numpy(), m[0].weight.detach().numpy()[cols])
    _same(m, s, x)
    _same(m, s, ember.randn(3, 20))
    np.testing.assert_allclose(ember.jit(s)(x).detach().numpy(), s(x).detach().numpy(), atol=1e-6)


def test_shrink_pruned_input_columns_through_batchnorm_pooling_and_flatten():
    ember.manual_seed(3)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    for _ in range(2):
        m(ember.randn(4, 3, 8, 8))  # running statistics that are not 0 and 1
    # conv 3 reads half of conv 0's channels: no BatchNorm pruning needed (nothing to fold)
    P.ln_structured(m[3], "weight", amount=0.5, n=2, dim=1)
    # the Linear reads no feature of conv 3's channels 0, 5, 9 (their 4x4 blocks of columns)
    mask = np.ones((10, 16, 16), np.float32)
    mask[:, [0, 5, 9]] = 0
    P.custom_from_mask(m[8], "weight", ember.tensor(mask.reshape(10, 256)))
    # and half of the single columns of one more channel (not a whole block: it stays)
    mask[:, 2, :8] = 0
    P.custom_from_mask(m[8], "weight", ember.tensor(mask.reshape(10, 256)))
    x = ember.randn(2, 3, 8, 8)
    s = P.shrink(m, x)
    assert (s[0].out_channels, s[1].num_features, s[3].in_channels, s[3].out_channels,
            s[4].num_features, s[8].in_features) == (4, 4, 4, 13, 13, 13 * 16)
    assert tuple(s[1].running_var.shape) == (4,) and tuple(s[3].bias.shape) == (13,)
    _same(m, s, x)
    s.train()
    assert s(x).shape == (2, 10)


def test_shrink_pruned_input_columns_in_a_residual_network():
    ember.manual_seed(0)

    def net():
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), BasicBlock(8, 8),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)).eval()
    x = ember.randn(2, 3, 8, 8)
    # inside the block: conv2 reads half of conv1's channels
    r = net()
    P.ln_structured(r[2].conv2, "weight", amount=0.5, n=2, dim=1)
    s = P.shrink(r, x)
    assert (s[2].conv1.out_channels, s[2].bn1.num_features, s[2].conv2.in_channels) == (4, 4, 4)
    assert s[2].conv2.out_channels == 8
    _same(r, s, x)
    # the residual stream: a channel goes only when no layer reads it (conv1 and fc)
    r = net()
    P.ln_structured(r[2].conv1, "weight", amount=0.5, n=2, dim=1)
    s = P.shrink(r, x)  # fc still reads every channel: nothing can go
    assert s[2].conv1.in_channels == 8 and _count(s) == _count(r)
    _same(r, s, x)
    cols = r[2].conv1.weight_mask.numpy().any((0, 2, 3)).astype(np.float32)
    P.custom_from_mask(r[5], "weight", ember.tensor(cols[None, :] * np.ones((4, 8), np.float32)))
    s = P.shrink(r, x)  # now no layer reads them: the stem's and conv2's channels go as well
    assert (s[0].out_channels, s[2].conv1.in_channels, s[2].conv2.out_channels,
            s[2].bn2.num_features, s[5].in_features) == (4, 4, 4, 4, 4)
    assert _count(s) <= 0.6 * _count(r)
    _same(r, s, x)


class _TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 6), nn.Linear(6, 2)

    def forward(self, x):
        h = nn.functional.relu(self.a(x))
        return self.b(h) + h.sum(-1, keepdim=True) * 0 + h[:, :2]


def test_shrink_keeps_pruned_input_columns_it_cannot_follow_and_says_so():
    x = ember.randn(3, 4)
    ember.manual_seed(0)
    first = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    P.ln_structured(first[0], "weight", amount=0.5, n=2, dim=1)
    s = P.shrink(first, x)  # the model's input keeps its shape
    assert s[0].in_features == 4 and _count(s) == _count(first)
    _same(first, s, x)
    two = _TwoOutputs()
    P.ln_structured(two.b, "weight", amount=0.5, n=2, dim=1)
    with pytest.warns(UserWarning, match=r"input columns \[.*\] of 'b' \(Linear\) are pruned, "
                                         r"but the channels they read \(outputs of 'a' "
                                         r"\(Linear\)\) also reach"):
        s = P.shrink(two, x)
    assert s.b.in_features == 6
    _same(two, s, x)
    every = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    P.ln_structured(every[2], "weight", amount=1.0, n=2, dim=1)
    with pytest.raises(ValueError, match=r"every input column of '2' \(Linear\) is pruned"):
        P.shrink(every, x)
    half = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    P.ln_structured(half[0], "weight", amount=0.5, n=2, dim=0)
    P.custom_from_mask(half[2], "weight", ember.tensor(
        (half[0].weight_mask.numpy().any(1) == 0).astype(np.float32)[None, :] * np.ones((2, 6),
                                                                                         np.float32)))
    with pytest.raises(ValueError, match=r"every channel of '0' \(Linear\) is pruned, as an "
                                         r"output row there or as an input column"):
        P.shrink(half, x)
