"""SummaryWriter writes real TensorBoard event files: read back with TensorBoard's own reader."""
import glob
import os

import numpy as np
import pytest

import ember
from ember import nn

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa
from ember.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(folder):
    ea = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                      "images": 0, "tensors": 0})
    ea.Reload()
    return ea


def test_scalars_read_back(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(5):
            w.add_scalar("loss/train", 1.0 / (step + 1), step)
        w.add_scalar("lr", ember.tensor(0.25), global_step=3)
        w.add_scalar("acc", np.float32(0.5), 7, walltime=1234.5)
    assert len(glob.glob(str(tmp_path / "events.out.tfevents.*"))) == 1
    ea = _read(tmp_path)
    assert set(ea.Tags()["scalars"]) == {"loss/train", "lr", "acc"}
    ev = ea.Scalars("loss/train")
    assert [e.step for e in ev] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([e.value for e in ev], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5],
                               rtol=1e-6)
    assert ea.Scalars("lr")[0].value == 0.25 and ea.Scalars("lr")[0].step == 3
    assert ea.Scalars("acc")[0].wall_time == 1234.5


def test_scalar_errors(tmp_path):
    w = SummaryWriter(tmp_path)
    with pytest.raises(ValueError, match="add_scalar: expected a single value, got shape"):
        w.add_scalar("x", ember.ones(3), 0)
    w.close()
    with pytest.raises(RuntimeError, match="is closed"):
        w.add_scalar("x", 1.0, 0)


def test_add_scalars_writes_one_run_per_tag(tmp_path):
    w = SummaryWriter(tmp_path)
    for step in range(3):
        w.add_scalars("loss", {"train": 1.0 + step, "test": 2.0 + step}, step)
    w.close()
    for tag, base in (("train", 1.0), ("test", 2.0)):
        ea = _read(tmp_path / f"loss_{tag}")
        assert [e.value for e in ea.Scalars("loss")] == [base, base + 1, base + 2]


def test_histogram_matches_the_values(tmp_path):
    values = np.random.default_rng(0).standard_normal(1000)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("weights", ember.tensor(values), 1)
        w.add_histogram("weights_auto", values, 1, bins="auto")
        w.add_histogram("counts", np.array([1, 1, 2, 5, 5, 5]), 2, bins=4)
    ea = _read(tmp_path)
    for tag in ("weights", "weights_auto"):
        h = ea.Histograms(tag)[0].histogram_value
        assert h.num == 1000 and sum(h.bucket) == 1000
        assert h.min == values.min() and h.max == values.max()
        np.testing.assert_allclose(h.sum, values.sum())
        np.testing.assert_allclose(h.sum_squares, (values ** 2).sum())
        assert list(h.bucket_limit) == sorted(h.bucket_limit)
    h = ea.Histograms("counts")[0].histogram_value
    assert list(h.bucket) == [2.0, 1.0, 0.0, 3.0] and h.bucket_limit[-1] == 5.0
    with pytest.raises(ValueError, match="NaN"):
        SummaryWriter(tmp_path / "b").add_histogram("x", np.array([1.0, np.nan]))


def test_images_decode_to_what_was_logged(tmp_path):
    from PIL import Image
    import io
    rng = np.random.default_rng(1)
    chw = rng.random((3, 8, 5)).astype(np.float32)
    gray = rng.integers(0, 256, (6, 7), dtype=np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_image("rgb", ember.tensor(chw), 0)
        w.add_image("gray", gray, 0, dataformats="HW")
        w.add_images("batch", rng.random((5, 3, 4, 4)), 0)
        with pytest.raises(ValueError, match="dataformats 'CHW' does not fit"):
            w.add_image("bad", gray, 0)
    ea = _read(tmp_path)
    img = ea.Images("rgb")[0]
    assert (img.height, img.width) == (8, 5)
    rgb = np.asarray(Image.open(io.BytesIO(img.encoded_image_string)))
    np.testing.assert_array_equal(rgb, (np.clip(chw, 0, 1) * 255 + 0.5).astype(np.uint8)
                                  .transpose(1, 2, 0))
    g = np.asarray(Image.open(io.BytesIO(ea.Images("gray")[0].encoded_image_string)))
    np.testing.assert_array_equal(g, gray)
    b = ea.Images("batch")[0]
    assert (b.height, b.width) == (8, 12)  # 5 images of 4x4 in a 2x3 grid


def test_text_and_graph(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "hello **ember**", 0)
        w.add_graph(model, ember.randn(3, 4))
    ea = _read(tmp_path)
    t = ea.Tensors("notes/text_summary")[0]
    assert t.tensor_proto.string_val[0] == b"hello **ember**"
    g = ea.Graph()
    ops = [n.op for n in g.node]
    assert ops.count("matmul") == 2 and "relu" in ops and ops.count("IO Node") == 2
    relu = next(n for n in g.node if n.op == "relu")
    assert [d.size for d in relu.attr["_output_shapes"].list.shape[0].dim] == [3, 8]
    out = next(n for n in g.node if n.name == "output/y0")
    assert list(out.input)  # wired to the last op
    with pytest.raises(ValueError, match="input_to_model"):
        SummaryWriter(tmp_path / "g").add_graph(model)


def test_default_log_dir_and_flush(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp1")
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_exp1")
    w.add_scalar("x", 1.0, 0)
    w.flush()
    assert _read(w.get_logdir()).Scalars("x")[0].value == 1.0
    w.close()


def test_train_recipe_logs_to_tensorboard(tmp_path, capsys):
    from ember.cli.main import main
    tb = tmp_path / "tb"
    assert main(["train", "--recipe", "digits-mlp", "--limit", "200", "--epochs", "2",
                 "--batch-size", "50", "--no-progress", "--out", str(tmp_path / "run"),
                 "--tensorboard", str(tb)]) == 0
    assert "TensorBoard logs in" in capsys.readouterr().out
    ea = _read(tb)
    assert [e.step for e in ea.Scalars("train/loss")] == [1, 2]
    assert [e.step for e in ea.Scalars("train/loss_step")] == list(range(1, 9))  # 4 a epoch
    acc = ea.Scalars("test/accuracy")
    assert len(acc) == 2 and all(0 <= e.value <= 1 for e in acc)
    import json
    hist = json.load(open(tmp_path / "run" / "metrics.json"))["history"]
    np.testing.assert_allclose([e.value for e in ea.Scalars("test/loss")],
                               [h["test_loss"] for h in hist], rtol=1e-6)
