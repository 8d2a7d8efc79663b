"""ember.vision.io (torchvision.io's read_image/decode_image/encode_png/...): round trips
through PNG and JPEG files, read modes, and errors that name the call."""
import numpy as np
import pytest

import ember
from ember.vision import io

pytest.importorskip("PIL")


def _img(c, h=5, w=7, seed=0):
    return ember.tensor(np.random.default_rng(seed).integers(0, 256, (c, h, w)).astype(np.uint8))


@pytest.mark.parametrize("c", [1, 2, 3, 4])
def test_png_round_trip_is_exact(tmp_path, c):
    x = _img(c)
    p = str(tmp_path / "a.png")
    io.write_png(x, p)
    y = io.read_image(p)
    assert y.dtype == ember.uint8 and tuple(y.shape) == (c, 5, 7)
    assert np.array_equal(y.numpy(), x.numpy())
    assert np.array_equal(io.decode_image(io.read_file(p)).numpy(), x.numpy())
    assert np.array_equal(io.decode_png(io.encode_png(x)).numpy(), x.numpy())


def test_read_modes(tmp_path):
    p = str(tmp_path / "rgb.png")
    x = _img(3)
    io.write_png(x, p)
    assert tuple(io.read_image(p, io.ImageReadMode.GRAY).shape) == (1, 5, 7)
    assert tuple(io.read_image(p, io.ImageReadMode.RGB_ALPHA).shape) == (4, 5, 7)
    assert np.all(io.read_image(p, io.ImageReadMode.RGB_ALPHA)[3].numpy() == 255)
    assert tuple(io.read_image(p, "gray").shape) == (1, 5, 7)


def test_jpeg_round_trip_is_close(tmp_path):
    x = ember.full((3, 16, 16), 120, dtype=ember.uint8)
    p = str(tmp_path / "a.jpg")
    io.write_jpeg(x, p, quality=95)
    y = io.read_image(p)
    assert tuple(y.shape) == (3, 16, 16)
    assert np.abs(y.numpy().astype(int) - 120).max() <= 2


def test_errors_name_the_call():
    with pytest.raises(ValueError, match="encode_png.*uint8"):
        io.encode_png(ember.zeros(3, 4, 4))
    with pytest.raises(RuntimeError, match="decode_image"):
        io.decode_image(ember.tensor([1, 2, 3], dtype=ember.uint8))
    with pytest.raises(ValueError, match="encode_jpeg: quality"):
        io.encode_jpeg(_img(3), quality=0)
