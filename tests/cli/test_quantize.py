"""ember quantize: a trained recipe checkpoint -> int8 (dynamic), end to end on the bundled
and generated data the other CLI tests use."""
import numpy as np
import pytest

import ember
from ember.cli.main import main
from ember.recipes.quantize import load_quantized, quantize_checkpoint
from tests.cli.test_recipes import data_dirs  # noqa: F401  (the generated data files)


def _train(tmp_path, recipe, extra=()):
    out = tmp_path / "run"
    assert main(["train", "--recipe", recipe, "--epochs", "1", "--limit", "200",
                 "--no-progress", "--out", str(out)] + list(extra)) == 0
    return out / "best.safetensors"


def test_quantize_digits_prints_sizes_and_accuracy(tmp_path, capsys):
    ck = _train(tmp_path, "digits-mlp")
    capsys.readouterr()
    assert main(["quantize", str(ck)]) == 0  # the recipe comes from the checkpoint
    text = capsys.readouterr().out
    assert "digits-mlp: dynamic int8 quantization" in text
    assert "x smaller" in text and "test acc  float32" in text
    q = tmp_path / "run" / "best-int8-dynamic.safetensors"
    assert q.exists()
    # the figures: ~4x smaller weights, accuracy within a point of the float model's
    res = quantize_checkpoint(str(ck), out=str(tmp_path / "again.safetensors"), log=lambda *a: 0)
    assert 3.5 < res["float_bytes"] / res["int8_bytes"] < 4.1
    assert abs(res["float_acc"] - res["int8_acc"]) <= 0.01
    assert f"{res['int8_acc']:.4f}" in text
    # the written checkpoint loads into the recipe's quantized model: same outputs
    model = load_quantized(str(q))
    from ember.recipes import digits_mlp
    fm = digits_mlp.model()
    fm.load_state_dict(ember.load(str(ck))["model"])
    direct = ember.ao.quantization.quantize_dynamic(fm)
    x = ember.randn(16, 64)
    np.testing.assert_array_equal(model(x).numpy(), direct(x).numpy())
    assert model[1].weight.dtype == ember.int8


@pytest.mark.parametrize("recipe,data,extra", [
    ("mnist-cnn", "mnist", ["--dataset", "mnist"]),
    ("text-lstm", "csv", ["--batch-size", "16"])])
def test_quantize_recipes_on_generated_data(tmp_path, data_dirs, recipe, data, extra, capsys):  # noqa: F811
    ck = _train(tmp_path, recipe, ["--data-dir", data_dirs[data]] + extra)
    out = tmp_path / "q.safetensors"
    args = ["quantize", str(ck), "--recipe", recipe, "--out", str(out), "--data-dir",
            data_dirs[data]] + (["--dataset", "mnist"] if data == "mnist" else [])
    capsys.readouterr()
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "test acc" in text and out.exists()
    saved = ember.load(str(out))
    assert saved["quantization"] == "dynamic" and saved["recipe"] == recipe
    kinds = {str(v.dtype) for v in saved["model"].values()}
    assert "ember.int8" in kinds
    if recipe == "text-lstm":
        assert saved["model"]["lstm.weight_hh_l1"].dtype == ember.int8


def test_quantize_errors_are_clear(tmp_path, capsys):
    assert main(["quantize", str(tmp_path / "none.safetensors")]) == 1
    assert "no checkpoint at" in capsys.readouterr().err
    ck = _train(tmp_path, "digits-mlp")
    assert main(["quantize", str(ck), "--recipe", "linreg"]) == 1
    assert "is a checkpoint of recipe 'digits-mlp'" in capsys.readouterr().err
    assert main(["quantize", str(ck), "--out", str(tmp_path / "q.safetensors")]) == 0
    assert main(["quantize", str(tmp_path / "q.safetensors")]) == 1
    assert "already quantized" in capsys.readouterr().err
    ember.save({"w": ember.ones(2)}, tmp_path / "plain.safetensors")
    assert main(["quantize", str(tmp_path / "plain.safetensors")]) == 1
    assert "pass --recipe" in capsys.readouterr().err


def test_quantize_static_calibrates_and_reloads(tmp_path, data_dirs, capsys):  # noqa: F811
    ck = _train(tmp_path, "digits-mlp")
    out = tmp_path / "s.safetensors"
    capsys.readouterr()
    assert main(["quantize", str(ck), "--mode", "static", "--calibrate", "100", "--out",
                 str(out)]) == 0
    text = capsys.readouterr().out
    assert "static int8 quantization" in text and "calibrated on 100 training examples" in text
    saved = ember.load(str(out))
    assert saved["quantization"] == "static"
    assert any(v.dtype == ember.int8 for v in saved["model"].values())
    res = quantize_checkpoint(str(ck), mode="static", calibrate=100,
                              out=str(tmp_path / "s2.safetensors"), log=lambda *a: 0)
    assert abs(res["float_acc"] - res["int8_acc"]) <= 0.02
    # the written checkpoint rebuilds the converted model: the same outputs as converting here
    from ember.recipes import digits_mlp
    from ember.recipes.quantize import quantized_model
    fm = digits_mlp.model()
    fm.load_state_dict(ember.load(str(ck))["model"])
    xtr = ember.data.Digits(train=True).tensors()[0]
    direct = quantized_model(fm.eval(), "static", xtr[:100])
    x = xtr[100:116]
    np.testing.assert_array_equal(load_quantized(str(out))(x).numpy(), direct(x).numpy())
    # a CNN on generated IDX files: Conv2d and Linear both become int8
    ck = _train(tmp_path / "cnn", "mnist-cnn", ["--data-dir", data_dirs["mnist"]])
    assert main(["quantize", str(ck), "--mode", "static", "--calibrate", "32", "--data-dir",
                 data_dirs["mnist"], "--out", str(tmp_path / "c.safetensors")]) == 0
    saved = ember.load(str(tmp_path / "c.safetensors"))["model"]
    assert sum(v.dtype == ember.int8 for v in saved.values()) == 3
    assert main(["quantize", str(ck), "--mode", "static", "--calibrate", "0"]) == 1
    assert "--calibrate must be a positive number" in capsys.readouterr().err
