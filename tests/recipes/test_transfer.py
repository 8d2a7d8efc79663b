"""The transfer recipe end to end on generated Fashion-MNIST files: three arms over seeds and
shot counts, eager and jit alike; the frozen arm keeps the pretrained features (weights and
BatchNorm statistics) while full fine-tuning changes them; both splits; clear errors."""
import json

import numpy as np
import pytest

import ember
from ember.cli.main import main
from ember.recipes import transfer


def _run(out, fashion_dir, *extra):
    assert main(["train", "--recipe", "transfer", "--data-dir", fashion_dir, "--epochs", "1",
                 "--pretrain-epochs", "1", "--shots", "2,4", "--seeds", "2", "--limit", "150",
                 "--no-progress", "--out", str(out)] + list(extra)) == 0
    return json.loads((out / "results.json").read_text())


def test_transfer_arms_eager_and_jit_alike_and_the_frozen_features_stay(tmp_path, fashion_dir,
                                                                         capsys):
    res = _run(tmp_path / "e", fashion_dir, "--split", "similar")
    res_jit = _run(tmp_path / "j", fashion_dir, "--split", "similar", "--mode", "jit")
    assert "similar: pretrained on classes (0, 1, 5, 8, 9)" in capsys.readouterr().out
    assert list(res["splits"]) == ["similar"] and res["budget"]["epochs"] == 1
    (table,), (table_jit,) = res["tables"], res_jit["tables"]
    assert list(table["rows"]) == ["2 per class", "4 per class"]
    for setting, arms in table["rows"].items():
        assert list(arms) == list(transfer.ARMS)
        for arm, runs in arms.items():
            assert [r["seed"] for r in runs] == [0, 1]
            assert [r["test_acc"] for r in runs] == \
                [r["test_acc"] for r in table_jit["rows"][setting][arm]]
    for mode in ("e", "j"):
        root = tmp_path / mode / "similar"
        pre = ember.load(root / "pretrain" / "last.safetensors")["model"]
        frozen = ember.load(root / "frozen-2shot-seed0" / "last.safetensors")["model"]
        tuned = ember.load(root / "finetune-2shot-seed0" / "last.safetensors")["model"]
        feats = [k for k in pre if k.startswith("features.")]
        assert any("running_mean" in k for k in feats)
        for k in feats:  # weights and BatchNorm statistics of the source network
            np.testing.assert_array_equal(frozen["features." + k].numpy(), pre[k].numpy())
        assert not np.array_equal(tuned["features.0.weight"].numpy(),
                                  pre["features.0.weight"].numpy())
        assert not np.array_equal(frozen["fc.weight"].numpy(), tuned["fc.weight"].numpy())


def test_transfer_counter_split_and_errors(tmp_path, fashion_dir):
    res = _run(tmp_path / "c", fashion_dir, "--split", "counter", "--seeds", "1", "--shots", "3")
    assert res["splits"]["counter"]["target"] == [5, 6, 7, 8, 9]
    assert len(res["tables"][0]["rows"]["3 per class"]["scratch"]) == 1
    with pytest.raises(ValueError, match="--shots takes labelled images per class"):
        _run(tmp_path / "x", fashion_dir, "--shots", "ten")
    with pytest.raises(ValueError, match="--shots must be positive"):
        _run(tmp_path / "x", fashion_dir, "--shots", "0")


def test_few_shot_sampling_is_per_class_and_seeded():
    y = ember.tensor(np.repeat(np.arange(5), 20))
    a, b = transfer._few_shots(y, 3, 0), transfer._few_shots(y, 3, 1)
    assert np.bincount(y.numpy()[a]).tolist() == [3] * 5
    assert not np.array_equal(a, b) and np.array_equal(a, transfer._few_shots(y, 3, 0))
