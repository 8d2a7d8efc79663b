"""make_grid / save_image (torchvision.utils' names): the tiling, normalisation and the file."""
import numpy as np
import pytest

import ember


def test_make_grid_layout():
    imgs = np.arange(5 * 1 * 2 * 3, dtype=np.float32).reshape(5, 1, 2, 3)
    g = ember.utils.make_grid(ember.tensor(imgs), nrow=2, padding=1, pad_value=-1.0).numpy()
    assert g.shape == (3, 3 * 3 + 1, 2 * 4 + 1)  # 3 rows of 2, channels repeated to 3
    for k in range(5):
        y, x = divmod(k, 2)
        tile = g[:, 1 + 3 * y:1 + 3 * y + 2, 1 + 4 * x:1 + 4 * x + 3]
        assert np.array_equal(tile, np.repeat(imgs[k], 3, 0))
    assert (g[:, 0, :] == -1).all() and (g[:, 7:, 5:] == -1).all()  # padding and empty cell
    n = ember.utils.make_grid(ember.tensor(imgs), normalize=True, padding=0, nrow=5).numpy()
    assert n.min() == 0.0 and n.max() == 1.0
    each = ember.utils.make_grid([ember.tensor(i) for i in imgs], normalize=True,
                                 scale_each=True, padding=0).numpy()
    assert np.allclose(each[0, :, :3].max(), 1.0) and np.allclose(each[0, :, 3:6].min(), 0.0)
    with pytest.raises(ValueError, match="make_grid"):
        ember.utils.make_grid(ember.zeros(1, 1, 1, 1, 1))


def test_save_image_writes_the_grid(tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    x = ember.rand(6, 3, 4, 4)
    path = tmp_path / "grid.png"
    ember.utils.save_image(x, path, nrow=3, padding=0)
    back = np.asarray(PIL.open(path))
    assert back.shape == (8, 12, 3)
    expect = np.clip(x.numpy()[4].transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(back[4:8, 4:8], expect)
