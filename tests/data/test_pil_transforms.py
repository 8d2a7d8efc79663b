"""Transforms on PIL images (as torchvision's: a PIL image in, a PIL image out), FakeData,
ImageFolder/DatasetFolder and transforms.functional."""
import numpy as np
import pytest

import ember
from ember.data import transforms as T
from ember.data import FakeData, ImageFolder, DatasetFolder

Image = pytest.importorskip("PIL.Image")


def _img(h=12, w=16, mode="RGB", seed=0):
    a = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return Image.fromarray(a, "RGB").convert(mode)


def test_geometric_transforms_keep_pil_images_and_match_array_results():
    img = _img()
    a = np.asarray(img).transpose(2, 0, 1)
    out = T.CenterCrop((6, 8))(img)
    assert isinstance(out, Image.Image) and out.size == (8, 6)
    np.testing.assert_array_equal(np.asarray(out).transpose(2, 0, 1),
                                  T.CenterCrop((6, 8))(a).numpy())
    # larger than the image: zero-padded evenly, like the tensor path
    big = T.CenterCrop((15, 19))(img)
    np.testing.assert_array_equal(np.asarray(big).transpose(2, 0, 1),
                                  T.CenterCrop((15, 19))(a).numpy())
    np.testing.assert_array_equal(np.asarray(T.RandomHorizontalFlip(1.0)(img)),
                                  np.asarray(img)[:, ::-1])
    np.testing.assert_array_equal(np.asarray(T.RandomVerticalFlip(1.0)(img)),
                                  np.asarray(img)[::-1])
    padded = T.Pad((1, 2, 3, 4), fill=7)(img)
    assert padded.size == (16 + 4, 12 + 6)
    p = np.asarray(padded)
    assert (p[:2] == 7).all() and (p[:, :1] == 7).all()
    np.testing.assert_array_equal(p[2:14, 1:17], np.asarray(img))
    ember.manual_seed(0)
    c = T.RandomCrop(10, padding=2)(img)
    assert isinstance(c, Image.Image) and c.size == (10, 10)


def test_resize_uses_pil_filters_and_the_shorter_side_rule():
    img = _img(12, 16)
    out = T.Resize(6)(img)  # shorter side 12 -> 6, longer 16 -> 8
    assert out.size == (8, 6)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(img.resize((8, 6),
                                                                         Image.BILINEAR)))
    near = T.Resize((5, 7), interpolation=T.InterpolationMode.NEAREST)(img)
    np.testing.assert_array_equal(np.asarray(near), np.asarray(img.resize((7, 5),
                                                                          Image.NEAREST)))
    assert T.Resize(6, max_size=7)(img).size == (7, 5)
    with pytest.raises(ValueError, match="Resize: a tensor image supports"):
        T.Resize(4, interpolation="bicubic")(ember.ones(3, 8, 8))
    with pytest.raises(ValueError, match="interpolation 'cubic'"):
        T.Resize(4, interpolation="cubic")(img)


def test_to_tensor_to_pil_round_trip_and_grayscale():
    img = _img()
    t = T.ToTensor()(img)
    assert t.shape == (3, 12, 16) and t.dtype == ember.float32
    back = T.ToPILImage()(t)
    assert back.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(back), np.asarray(img))
    u = T.PILToTensor()(img)
    assert u.dtype == ember.uint8
    np.testing.assert_array_equal(u.numpy(), np.asarray(img).transpose(2, 0, 1))
    g = T.Grayscale()(img)
    assert g.mode == "L"
    assert T.Grayscale(3)(img).mode == "RGB"
    tg = T.Grayscale()(t).numpy()[0]
    r, gg, b = t.numpy()
    np.testing.assert_allclose(tg, 0.2989 * r + 0.587 * gg + 0.114 * b, rtol=1e-6)
    # floats scale by 255 and truncate (torchvision's .mul(255).byte())
    one = T.ToPILImage()(ember.full((1, 2, 2), 0.999))
    assert one.mode == "L" and np.asarray(one)[0, 0] == 254
    assert T.ConvertImageDtype(ember.float32)(u).numpy().max() <= 1.0


def test_random_resized_crop_and_random_apply():
    ember.manual_seed(3)
    img = _img(40, 60)
    out = T.RandomResizedCrop(16)(img)
    assert isinstance(out, Image.Image) and out.size == (16, 16)
    assert T.RandomResizedCrop((8, 12))(T.ToTensor()(img)).shape == (3, 8, 12)
    i, j, h, w = T.RandomResizedCrop(16, scale=(0.5, 0.5), ratio=(1.0, 1.0)).get_params(img)
    assert (h, w) == (35, 35) and 0 <= i <= 5 and 0 <= j <= 25
    assert T.RandomApply([lambda x: x + 1], p=0.0)(ember.tensor([1.])).item() == 1.0


def test_functional_module_under_torchvision_names():
    import ember.vision.transforms.functional as TF
    import ember.data.transforms.functional as F2
    assert TF is F2
    img = _img()
    assert TF.hflip(img).size == img.size
    assert TF.crop(img, 1, 2, 5, 6).size == (6, 5)
    t = TF.to_tensor(img)
    np.testing.assert_allclose(TF.normalize(t, [0.5] * 3, [0.5] * 3).numpy(),
                               (t.numpy() - 0.5) / 0.5, rtol=1e-6)
    np.testing.assert_array_equal(TF.crop(t, -1, -1, 3, 3).numpy()[:, 0], 0)


def test_fake_data_items_are_repeatable_pil_images():
    ds = FakeData(size=5, image_size=(3, 10, 12), num_classes=4)
    img, y = ds[2]
    assert isinstance(img, Image.Image) and img.size == (12, 10) and 0 <= y < 4
    np.testing.assert_array_equal(np.asarray(ds[2][0]), np.asarray(img))
    assert not np.array_equal(np.asarray(ds[3][0]), np.asarray(img))
    other = FakeData(size=5, image_size=(3, 10, 12), random_offset=1)
    np.testing.assert_array_equal(np.asarray(other[1][0]), np.asarray(ds[2][0]))
    assert FakeData(size=2, image_size=(1, 4, 4))[0][0].mode == "L"
    with pytest.raises(IndexError, match="FakeData: index 5"):
        ds[5]
    loader = ember.data.DataLoader(FakeData(8, (3, 6, 6), transform=T.ToTensor()),
                                   batch_size=4)
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 6, 6) and y.shape == (4,)


def test_image_folder_reads_class_folders(tmp_path):
    for cls, n in (("cat", 2), ("ant", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            _img(8, 9, seed=i).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "ant" / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path, transform=T.ToTensor())
    assert ds.classes == ["ant", "cat"] and ds.class_to_idx == {"ant": 0, "cat": 1}
    assert len(ds) == 5 and ds.targets == [0, 0, 0, 1, 1] and ds.imgs == ds.samples
    x, y = ds[4]
    assert x.shape == (3, 8, 9) and y == 1
    texts = DatasetFolder(tmp_path, loader=lambda p: open(p).read(), extensions=(".txt",),
                          allow_empty=True)
    assert len(texts) == 1 and texts[0] == ("not an image", 0)
    with pytest.raises(FileNotFoundError, match=r"no valid file .* \['cat'\]"):
        DatasetFolder(tmp_path, loader=open, extensions=".txt")
    with pytest.raises(FileNotFoundError, match="no class subfolders"):
        ImageFolder(tmp_path / "cat")
