"""ember.models against plain-PyTorch reference models with torchvision's module names:
same state_dict keys and parameter counts, PyTorch's eval-mode logits, PyTorch's train-mode
BatchNorm updates, from a checkpoint written by ``torch.save``."""
import numpy as np
import pytest

import ember
from ember import models

torch = pytest.importorskip("torch")
from .torch_reference import t_resnet18, t_resnet50, t_vgg11  # noqa: E402


def _torch_checkpoint(tmp_path, tmodel, name):
    path = tmp_path / f"{name}.pth"
    torch.save(tmodel.state_dict(), path)
    return path


def _input(seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((2, 3, 64, 64)).astype(dtype)


def _check_same_model(tmodel, emodel, train_steps=1, dtype=np.float32, tol=1e-4):
    assert list(emodel.state_dict().keys()) == list(tmodel.state_dict().keys())
    x = _input(dtype=dtype)
    tmodel.eval(), emodel.eval()
    with torch.no_grad():
        want = tmodel(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = emodel(ember.tensor(x)).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=tol, rtol=tol)
    # train mode: batch statistics, running statistics updated as PyTorch does
    tmodel.train(), emodel.train()
    for step in range(train_steps):
        xs = _input(step + 1, dtype)
        with torch.no_grad():
            want = tmodel(torch.from_numpy(xs)).numpy()
        with ember.no_grad():
            got = emodel(ember.tensor(xs)).numpy()
        np.testing.assert_allclose(got, want, atol=tol, rtol=tol)
    tsd, esd = tmodel.state_dict(), emodel.state_dict()
    nbn = 0
    for k, v in tsd.items():
        if k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            nbn += 1
            np.testing.assert_allclose(esd[k].numpy(), v.numpy(), atol=tol, rtol=tol,
                                       err_msg=k)
    return nbn


def test_resnet18_keys_and_parameter_count():
    m = models.resnet18()
    assert len(m.state_dict()) == 122
    assert sum(p.numel() for p in m.parameters()) == 11_689_512
    assert list(m.state_dict()) == list(t_resnet18().state_dict())


def test_resnet18_from_torch_checkpoint_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    tm = t_resnet18()
    path = _torch_checkpoint(tmp_path, tm, "resnet18")
    em = models.resnet18(weights=path)
    assert _check_same_model(tm, em, train_steps=2) == 3 * 20


def test_resnet50_from_torch_checkpoint_matches_pytorch(tmp_path):
    torch.manual_seed(1)
    # (float64: in float32 the 50 layers' different summation orders drift past 1e-4 in the
    # running variances; in float64 the math must agree to 1e-9)
    tm = t_resnet50(num_classes=10).double()
    path = _torch_checkpoint(tmp_path, tm, "resnet50")
    em = models.get_model("resnet50", num_classes=10).double()
    em.load_state_dict(ember.load(path))
    assert _check_same_model(tm, em, dtype=np.float64, tol=1e-9) == 3 * 53


@pytest.fixture(scope="module")
def vgg11_pair():
    torch.manual_seed(2)
    return t_vgg11(), models.vgg11(init_weights=False)


def test_vgg11_keys_and_parameter_count(vgg11_pair):
    tm, em = vgg11_pair
    assert len(em.state_dict()) == 22
    assert sum(p.numel() for p in em.parameters()) == 132_863_336
    assert list(em.state_dict()) == list(tm.state_dict())


def test_vgg11_from_torch_checkpoint_matches_pytorch(tmp_path, vgg11_pair):
    tm, em = vgg11_pair
    path = _torch_checkpoint(tmp_path, tm, "vgg11")
    em.load_state_dict(ember.load(path))
    tm.classifier[2].p = tm.classifier[5].p = 0.0    # train mode without dropout's randomness
    em.classifier[2].p = em.classifier[5].p = 0.0
    assert _check_same_model(tm, em) == 0


def test_vgg11_bn_train_mode_batchnorm_updates(tmp_path):
    torch.manual_seed(3)
    tm = t_vgg11(bn=True, num_classes=10, dropout=0.0)
    path = _torch_checkpoint(tmp_path, tm, "vgg11_bn")
    em = models.vgg11_bn(num_classes=10, dropout=0.0, weights=path)
    assert len(em.state_dict()) == 62
    # torchvision's vgg11_bn has 132,868,840 parameters with 1000 classes
    assert sum(p.numel() for p in em.parameters()) == 132_868_840 - 4096 * 990 - 990
    assert _check_same_model(tm, em, train_steps=2) == 3 * 8


@pytest.mark.parametrize("name,keys,params", [
    ("resnet34", 218, 21_797_672), ("resnet50", 320, 25_557_032)])
def test_other_sizes(name, keys, params):
    m = models.get_model(name)
    assert len(m.state_dict()) == keys
    assert sum(p.numel() for p in m.parameters()) == params


def test_num_classes_and_registry():
    m = models.resnet18(num_classes=7)
    assert tuple(m.fc.weight.shape) == (7, 512)
    assert m.eval()(ember.randn(1, 3, 32, 32)).shape == (1, 7)
    names = models.list_models()
    for n in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg11", "vgg11_bn",
              "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]:
        assert n in names
    assert models.list_models("vgg1[13]*") == ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn"]
    with pytest.raises(ValueError, match="unknown model 'resnet17'"):
        models.get_model("resnet17")
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        m(ember.randn(1, 1, 32, 32))


def test_weights_descriptor_from_local_file(tmp_path, monkeypatch):
    w = models.get_weight("resnet18.IMAGENET1K_V1")
    assert w is models.get_model_weights("resnet18")["DEFAULT"]
    assert w.file_name == "resnet18-f37072fd.pth" and w.num_classes == 1000
    monkeypatch.setenv("EMBER_WEIGHTS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match="resnet18-f37072fd.pth.*never downloads"):
        models.resnet18(weights="DEFAULT")
    # a descriptor of a local checkpoint, verified by sha256
    torch.manual_seed(4)
    tm = t_resnet18(num_classes=3)
    sd = {k: v.numpy() for k, v in tm.state_dict().items()}
    ember.save({k: ember.tensor(v) for k, v in sd.items()}, tmp_path / "tiny.safetensors")
    import hashlib
    digest = hashlib.sha256((tmp_path / "tiny.safetensors").read_bytes()).hexdigest()
    mine = models.Weights("resnet18.TINY", "tiny.safetensors", sha256=digest,
                          meta={"categories": ["a", "b", "c"]})
    m = models.resnet18(weights=mine, weights_dir=tmp_path)
    assert tuple(m.fc.weight.shape) == (3, 512)
    np.testing.assert_array_equal(m.fc.weight.detach().numpy(), sd["fc.weight"])
    bad = models.Weights("resnet18.BAD", "tiny.safetensors", sha256="0" * 64,
                         meta={"num_classes": 3})
    with pytest.raises(RuntimeError, match="sha256"):
        models.resnet18(weights=bad, weights_dir=tmp_path)
    # a file name carrying a hash prefix (torchvision's convention) is checked against it
    (tmp_path / "resnet18-00000000.safetensors").write_bytes(
        (tmp_path / "tiny.safetensors").read_bytes())
    with pytest.raises(FileNotFoundError, match="neither a file nor a known weights name"):
        models.resnet18(weights=str(tmp_path / "nope.pth"))
    with pytest.raises(RuntimeError, match="sha256"):
        models.Weights("x", "resnet18-00000000.safetensors").get_state_dict(tmp_path)


def test_transforms_preprocessing_matches_torchvision_recipe():
    w = models.get_weight("vgg16.IMAGENET1K_V1")
    tf = w.transforms()
    img = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    out = tf(img)
    assert tuple(out.shape) == (3, 224, 224) and out.dtype == ember.float32
    # reference: bilinear resize of the shorter side to 256 (no antialias), centre crop 224,
    # scale to [0, 1], normalise
    F = torch.nn.functional
    t = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    t = F.interpolate(t, size=(256, 341), mode="bilinear", align_corners=False)[0]
    top, left = int(round((256 - 224) / 2)), int(round((341 - 224) / 2))
    t = t[:, top:top + 224, left:left + 224]
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    # (bilinear weights computed in a different float32 order: within 1/100 of a grey level)
    np.testing.assert_allclose(out.numpy(), ((t - mean) / std).numpy(), atol=2e-4)


def test_legacy_pretrained_keyword(tmp_path, monkeypatch):
    # torchvision's deprecated pretrained= still found in many scripts: True is
    # weights="DEFAULT" (a local file here, never downloaded), False is weights=None
    monkeypatch.setenv("EMBER_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    with pytest.warns(UserWarning, match="pretrained=False means weights=None"):
        m = models.resnet18(pretrained=False, num_classes=5)
    assert tuple(m.fc.weight.shape) == (5, 512)
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        with pytest.raises(FileNotFoundError, match="vgg11-8a719046.pth"):
            models.vgg11(pretrained=True, weights_dir=tmp_path)
    with pytest.raises(ValueError, match="not both"):
        models.resnet18(pretrained=True, weights="DEFAULT")
