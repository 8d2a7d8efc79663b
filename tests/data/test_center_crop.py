import numpy as np

from ember.data import transforms as T


def test_center_crop_matches_torchvision_offsets():
    a = np.arange(3 * 7 * 10, dtype=np.float32).reshape(3, 7, 10)
    out = T.CenterCrop((4, 5))(a).numpy()
    # torchvision: top = round((7 - 4) / 2) = 2 (round half to even), left = round(2.5) = 2
    np.testing.assert_array_equal(out, a[:, 2:6, 2:7])
    assert T.CenterCrop(7)(a).shape == (3, 7, 7)


def test_center_crop_pads_small_images():
    a = np.ones((1, 2, 3), np.float32)
    out = T.CenterCrop(4)(a).numpy()
    assert out.shape == (1, 4, 4)
    assert out.sum() == 6 and out[0, 1:3, 0:3].sum() == 6
