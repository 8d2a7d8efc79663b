"""Fine-tuning habits as in PyTorch, on ember.models.resnet18 next to the same model in PyTorch
(torchvision's module names): a frozen backbone (``requires_grad_(False)``), a replaced
``model.fc``, parameter groups with different learning rates, BatchNorm kept in eval mode while
the rest trains."""
import numpy as np
import pytest

import ember
from ember import models, nn, optim

torch = pytest.importorskip("torch")
from .torch_reference import t_resnet18  # noqa: E402


def _pair(num_classes=10, seed=0):
    em = models.resnet18(num_classes=num_classes)
    tm = t_resnet18(num_classes)
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                        for k, v in em.state_dict().items()})
    return em, tm


def _new_heads(em, tm, n_out, seed=1):
    em.fc = nn.Linear(512, n_out)
    tm.fc = torch.nn.Linear(512, n_out)
    with torch.no_grad():
        tm.fc.weight.copy_(torch.from_numpy(em.fc.weight.detach().numpy().copy()))
        tm.fc.bias.copy_(torch.from_numpy(em.fc.bias.detach().numpy().copy()))


def _batch(step, n_out):
    rng = np.random.default_rng(100 + step)
    return (rng.standard_normal((4, 3, 32, 32)).astype(np.float32),
            rng.integers(0, n_out, 4))


def _step(em, tm, eopt, topt, x, y):
    eopt.zero_grad()
    eloss = nn.functional.cross_entropy(em(ember.tensor(x)), ember.tensor(y))
    eloss.backward()
    eopt.step()
    topt.zero_grad()
    tloss = torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    topt.step()
    return float(eloss.item()), float(tloss.item())


def _assert_same_state(em, tm, tol=2e-5):
    tsd = tm.state_dict()
    for k, v in em.state_dict().items():
        np.testing.assert_allclose(v.numpy(), tsd[k].numpy(), atol=tol, rtol=tol, err_msg=k)


def test_frozen_backbone_and_new_head_train_only_the_head():
    em, tm = _pair()
    before = {k: v.numpy().copy() for k, v in em.state_dict().items()}
    em.requires_grad_(False)
    tm.requires_grad_(False)
    _new_heads(em, tm, 3)                   # a new head requires grad again, as in PyTorch
    assert [n for n, p in em.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    eopt = optim.SGD([p for p in em.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    topt = torch.optim.SGD([p for p in tm.parameters() if p.requires_grad], lr=0.01,
                           momentum=0.9)
    em.train(), tm.train()
    for step in range(3):
        el, tl = _step(em, tm, eopt, topt, *_batch(step, 3))
        assert abs(el - tl) <= 1e-5 * max(1.0, abs(tl))
    _assert_same_state(em, tm)
    for n, p in em.named_parameters():
        if not n.startswith("fc."):
            assert p.grad is None, n                  # no gradient reached the frozen backbone
            np.testing.assert_array_equal(p.detach().numpy(), before[n], err_msg=n)
    # the backbone's BatchNorms were in train mode: their running statistics moved, as in torch
    assert not np.array_equal(em.bn1.running_mean.numpy(), before["bn1.running_mean"])
    assert int(em.bn1.num_batches_tracked.item()) == 3


def test_parameter_groups_with_different_learning_rates_and_batchnorm_in_eval():
    em, tm = _pair(seed=2)
    before = {k: v.numpy().copy() for k, v in em.state_dict().items()}
    _new_heads(em, tm, 4)
    for m in (em, tm):                    # freeze the stem and the first three stages
        for name, p in m.named_parameters():
            p.requires_grad_(name.startswith(("layer4.", "fc.")))

    def groups(m, lr_body, lr_head):
        return [{"params": [p for n, p in m.named_parameters() if n.startswith("layer4.")],
                 "lr": lr_body},
                {"params": list(m.fc.parameters()), "lr": lr_head}]
    eopt = optim.SGD(groups(em, 1e-3, 1e-2), lr=0.5, momentum=0.9, weight_decay=1e-4)
    topt = torch.optim.SGD(groups(tm, 1e-3, 1e-2), lr=0.5, momentum=0.9, weight_decay=1e-4)
    assert [g["lr"] for g in eopt.param_groups] == [1e-3, 1e-2]

    def train_mode_bn_eval(m, bn_type):
        m.train()
        for mod in m.modules():
            if isinstance(mod, bn_type):
                mod.eval()
    train_mode_bn_eval(em, nn.BatchNorm2d)
    train_mode_bn_eval(tm, torch.nn.BatchNorm2d)
    assert em.training and not em.bn1.training and em.layer4[0].training
    for step in range(3):
        el, tl = _step(em, tm, eopt, topt, *_batch(step, 4))
        assert abs(el - tl) <= 1e-5 * max(1.0, abs(tl))
    _assert_same_state(em, tm)
    sd = em.state_dict()
    for k, v in before.items():
        if k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            np.testing.assert_array_equal(sd[k].numpy(), v, err_msg=k)   # BN frozen in eval
        elif k.startswith(("conv1.", "bn1.", "layer1.", "layer2.", "layer3.")):
            np.testing.assert_array_equal(sd[k].numpy(), v, err_msg=k)   # frozen weights
    moved = np.abs(sd["layer4.1.conv2.weight"].numpy() - before["layer4.1.conv2.weight"]).max()
    assert 0 < moved < 1e-2              # the small learning rate of the body's group


def test_optimizer_state_dict_keeps_groups_and_replacing_fc_keeps_keys():
    em = models.resnet18()
    em.fc = nn.Linear(512, 2)
    keys = list(em.state_dict())
    assert keys[-2:] == ["fc.weight", "fc.bias"] and len(keys) == 122
    opt = optim.Adam([{"params": em.layer4.parameters(), "lr": 1e-4},
                      {"params": em.fc.parameters()}], lr=1e-2)
    sd = opt.state_dict()
    assert [g["lr"] for g in sd["param_groups"]] == [1e-4, 1e-2]


def test_weights_classes_under_torchvision_names():
    """``VGG16_Weights.IMAGENET1K_V1`` etc. are the Weights descriptors the builders take."""
    assert models.VGG16_Weights.IMAGENET1K_V1 is models.get_weight("vgg16.IMAGENET1K_V1")
    assert models.VGG16_BN_Weights.DEFAULT is models.get_weight("vgg16_bn.IMAGENET1K_V1")
    assert models.ResNet18_Weights["IMAGENET1K_V1"].file_name == "resnet18-f37072fd.pth"
    assert models.ResNeXt50_32X4D_Weights.DEFAULT.file_name.startswith("resnext50_32x4d")
    assert models.Wide_ResNet50_2_Weights.DEFAULT.num_classes == 1000
    assert list(models.ResNet50_Weights) == [models.ResNet50_Weights.IMAGENET1K_V1]
    with pytest.raises(KeyError, match="VGG11_Weights: no weights 'V9'"):
        models.VGG11_Weights["V9"]
    with pytest.raises(FileNotFoundError, match="never downloads"):
        models.vgg11(weights=models.VGG11_Weights.IMAGENET1K_V1,
                     weights_dir="/nonexistent-ember-weights")
