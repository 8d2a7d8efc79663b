"""The distill recipe end to end on generated Fashion-MNIST files: both arms over the seeds, a
table written, eager and jit giving the same run, the teacher trained here or loaded from a
mnist-cnn checkpoint, clear errors."""
import json

import numpy as np
import pytest

import ember
from ember.cli.main import main
from ember.recipes import distill


@pytest.fixture(scope="module")
def teacher_ckpt(tmp_path_factory, fashion_dir):
    ck = tmp_path_factory.mktemp("cnn")
    assert main(["train", "--recipe", "mnist-cnn", "--data-dir", fashion_dir, "--epochs", "1",
                 "--limit", "100", "--no-progress", "--out", str(ck)]) == 0
    return str(ck / "last.safetensors")


def _run(tmp_path, fashion_dir, *extra):
    out = tmp_path / "out"
    assert main(["train", "--recipe", "distill", "--data-dir", fashion_dir, "--epochs", "2",
                 "--labels", "60", "--seeds", "2", "--limit", "120", "--no-progress",
                 "--out", str(out)] + list(extra)) == 0
    return out, json.loads((out / "results.json").read_text())


def test_distill_compares_both_arms_over_seeds_eager_and_jit_alike(tmp_path, fashion_dir,
                                                                   teacher_ckpt, capsys):
    out, res = _run(tmp_path / "e", fashion_dir, "--teacher", teacher_ckpt)
    _, res_jit = _run(tmp_path / "j", fashion_dir, "--teacher", teacher_ckpt, "--mode", "jit")
    text = capsys.readouterr().out
    assert "from " + teacher_ckpt in text and "| 60 labels |" in text
    assert res["labels"] == 60 and 0.0 <= res["teacher_test_acc"] <= 1.0
    rows = res["rows"]["60 labels"]
    assert set(rows) == set(distill.ARMS)
    for arm in distill.ARMS:
        assert [r["seed"] for r in rows[arm]] == [0, 1]
        for r, rj in zip(rows[arm], res_jit["rows"]["60 labels"][arm]):
            assert 0.0 <= r["test_acc"] <= 1.0
            assert r["test_acc"] == rj["test_acc"]  # the jitted step is the eager step
    assert "| setting | student alone (%) | distilled student (%) |" in \
        (out / "results.md").read_text()
    # the two arms are different runs (the distilled one learns from the teacher's outputs)
    a = ember.load(out / "alone-seed0" / "last.safetensors")["model"]
    d = ember.load(out / "distilled-seed0" / "last.safetensors")["model"]
    assert not np.array_equal(a["1.weight"].numpy(), d["1.weight"].numpy())


def test_distill_trains_its_teacher_without_a_checkpoint(tmp_path, fashion_dir, capsys):
    out = tmp_path / "out"
    assert main(["train", "--recipe", "distill", "--data-dir", fashion_dir, "--epochs", "1",
                 "--labels", "30", "--seeds", "1", "--limit", "60", "--no-progress",
                 "--out", str(out)]) == 0
    assert "teacher: training mnist-cnn on 60 labelled images" in capsys.readouterr().out
    assert (out / "teacher" / "last.safetensors").exists()
    assert len(json.loads((out / "results.json").read_text())["rows"]["30 labels"]) == 2


def test_distill_errors_are_clear(tmp_path, fashion_dir, capsys):
    # a missing file: `ember train` exits 2 with one line (no traceback)
    assert main(["train", "--recipe", "distill", "--data-dir", fashion_dir, "--no-progress",
                 "--out", str(tmp_path / "out"), "--teacher",
                 str(tmp_path / "nope.safetensors")]) == 2
    assert "distill --teacher: no file" in capsys.readouterr().err
    ember.save({"w": ember.ones(2)}, tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="not a mnist-cnn model's weights"):
        _run(tmp_path, fashion_dir, "--teacher", str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="cannot be resumed"):
        _run(tmp_path, fashion_dir, "--resume")


def test_distill_loss_reads_the_packed_targets():
    logits, teacher = ember.randn(4, 10), ember.randn(4, 10)
    y = ember.tensor([1, 0, 9, 3])
    packed = ember.cat([y.float()[:, None], teacher], 1)
    want = ember.nn.functional.distillation_loss(logits, teacher, y, T=distill.T,
                                                 alpha=distill.ALPHA)
    np.testing.assert_allclose(distill.distill_loss(logits, packed).item(), want.item(),
                               rtol=1e-6)
    np.testing.assert_allclose(distill.distill_loss(logits, y).item(),
                               ember.nn.functional.cross_entropy(logits, y).item(), rtol=1e-6)


def test_distill_logs_each_arm_to_tensorboard(tmp_path, fashion_dir, teacher_ckpt):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    tb = tmp_path / "tb"
    _run(tmp_path, fashion_dir, "--teacher", teacher_ckpt, "--seeds", "1", "--tensorboard",
         str(tb))
    assert sorted(p.name for p in tb.iterdir()) == ["alone-seed0", "distilled-seed0"]
    ea = EventAccumulator(str(tb / "distilled-seed0"))
    ea.Reload()
    assert [e.step for e in ea.Scalars("train/loss")] == [1, 2]
    assert 0.0 <= ea.Scalars("test/accuracy")[-1].value <= 1.0
