"""Every recipe end to end on small generated files in the real formats, in both modes;
--resume after an interruption gives the weights of an uninterrupted run; ember bench on
tiny sizes writes a well-formed table."""
import gzip
import json
import os
import pickle
import struct

import numpy as np
import pytest

import ember
from ember.cli.main import main

rng = np.random.default_rng(0)


def _idx(path, arr):
    code = 0x08
    head = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(">" + "I" * arr.ndim,
                                                                  *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + arr.tobytes())


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    mn = root / "mnist"
    mn.mkdir()
    for prefix, n in (("train", 64), ("t10k", 32)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        imgs = (rng.integers(0, 60, (n, 28, 28)) + labels[:, None, None] * 19).astype(np.uint8)
        _idx(str(mn / f"{prefix}-images-idx3-ubyte.gz"), imgs)
        _idx(str(mn / f"{prefix}-labels-idx1-ubyte.gz"), labels)
    cf = root / "cifar" / "cifar-10-batches-py"
    cf.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, (8, 3072)).astype(np.uint8),
             b"labels": rng.integers(0, 10, 8).tolist()}
        (cf / name).write_bytes(pickle.dumps(d))
    csv = root / "polarity.csv"
    lines = [f"1,\"a good fine film {i}\"" for i in range(20)] + \
        [f"-1,\"a bad dull film {i}\"" for i in range(20)]
    csv.write_text("\n".join(lines))
    return {"mnist": str(mn), "cifar": str(root / "cifar"), "csv": str(csv)}


CASES = [("digits-mlp", None, []), ("linreg", None, ["--epochs", "3"]),
         ("mnist-mlp", "mnist", ["--dataset", "mnist"]), ("mnist-cnn", "mnist", []),
         ("cifar-lenet", "cifar", []), ("text-lstm", "csv", ["--batch-size", "16"])]


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize("recipe,data,extra", CASES, ids=[c[0] for c in CASES])
def test_recipe_runs_and_writes_outputs(tmp_path, data_dirs, recipe, data, extra, mode, capsys):
    out = tmp_path / "run"
    args = ["train", "--recipe", recipe, "--mode", mode, "--epochs", "1", "--limit", "40",
            "--no-progress", "--out", str(out)] + extra
    if data:
        args += ["--data-dir", data_dirs[data]]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "epoch   1" in text
    hist = json.loads((out / "metrics.json").read_text())["history"]
    assert len(hist) >= 1 and np.isfinite(hist[-1]["train_loss"])
    assert (out / "metrics.csv").read_text().startswith("epoch,train_loss")
    for f in ("last.safetensors", "best.safetensors", "curves.png"):
        assert (out / f).exists(), f


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_resume_gives_the_uninterrupted_weights(tmp_path, mode):
    full, part = tmp_path / "full", tmp_path / "part"
    base = ["train", "--recipe", "digits-mlp", "--mode", mode, "--limit", "200",
            "--no-progress"]
    assert main(base + ["--epochs", "4", "--out", str(full)]) == 0
    assert main(base + ["--epochs", "2", "--out", str(part)]) == 0  # "interrupted" after 2
    assert main(base + ["--epochs", "4", "--out", str(part), "--resume"]) == 0
    a = ember.load(full / "last.safetensors")["model"]
    b = ember.load(part / "last.safetensors")["model"]
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())


def test_bench_tiny_writes_a_table(tmp_path, capsys):
    j, md = tmp_path / "b.json", tmp_path / "b.md"
    fws = "ember-eager,ember-jit" + (",torch-eager" if _has("torch") else "")
    assert main(["bench", "--tiny", "--workloads", "linreg,mnist-mlp,text-lstm",
                 "--frameworks", fws, "--rounds", "2", "--steps", "1", "--warmup", "1",
                 "--check", "3", "--no-memory", "--json", str(j), "--markdown", str(md),
                 "--plot", str(tmp_path / "b.png")]) == 0
    res = json.loads(j.read_text())["results"]
    assert {r["workload"] for r in res} == {"linreg", "mnist-mlp", "text-lstm"}
    for r in res:
        assert r["ms_per_step"] > 0 and r["samples_per_s"] > 0
        assert r["check_max_diff"] < 1e-4
    table = md.read_text()
    assert "| workload | framework | ms/step |" in table and "ember-jit" in table
    assert (tmp_path / "b.png").exists()
    assert "vs ember jit" in capsys.readouterr().out


def test_bench_numpy_floor_matches_ember_and_skips_other_workloads(tmp_path):
    j = tmp_path / "b.json"
    assert main(["bench", "--tiny", "--workloads", "linreg,mnist-mlp,cifar-lenet",
                 "--frameworks", "ember-eager,numpy", "--rounds", "1", "--steps", "1",
                 "--warmup", "1", "--check", "4", "--no-memory", "--json", str(j),
                 "--markdown", str(tmp_path / "b.md")]) == 0
    res = json.loads(j.read_text())["results"]
    cells = {(r["workload"], r["framework"]) for r in res}
    assert ("linreg", "numpy") in cells and ("mnist-mlp", "numpy") in cells
    assert ("cifar-lenet", "numpy") not in cells and ("cifar-lenet", "ember-eager") in cells
    for r in res:  # the hand-written gradients and momentum agree with ember's
        assert r["check_max_diff"] < 1e-5, r


def _has(mod):
    try:
        __import__(mod)
        return True
    except ImportError:
        return False


def test_train_errors_are_clear(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="--data-dir"):
        main(["train", "--recipe", "cifar-lenet", "--no-progress", "--out", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        main(["train", "--resume", "--no-progress", "--out", str(tmp_path / "none")])
    _ = os


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize("recipe,data,extra", CASES, ids=[c[0] for c in CASES])
def test_recipe_trains_with_amp(tmp_path, data_dirs, recipe, data, extra, mode, amp, capsys):
    out = tmp_path / "run"
    args = ["train", "--recipe", recipe, "--mode", mode, "--amp", amp, "--epochs", "1",
            "--limit", "40", "--no-progress", "--out", str(out)] + extra
    if data:
        args += ["--data-dir", data_dirs[data]]
    assert main(args) == 0
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["amp"] == amp and np.isfinite(meta["history"][-1]["train_loss"])
    ck = ember.load(out / "last.safetensors")
    assert all(v.dtype == ember.float32 for v in ck["model"].values()
               if v.dtype.is_floating_point)  # parameters stay float32


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_amp_changes_the_arithmetic_and_resumes(tmp_path, mode):
    base = ["train", "--recipe", "digits-mlp", "--mode", mode, "--limit", "200",
            "--no-progress"]
    assert main(base + ["--epochs", "2", "--out", str(tmp_path / "f32")]) == 0
    assert main(base + ["--epochs", "2", "--amp", "fp16", "--out", str(tmp_path / "full")]) == 0
    assert main(base + ["--epochs", "1", "--amp", "fp16", "--out", str(tmp_path / "part")]) == 0
    assert main(base + ["--epochs", "2", "--amp", "fp16", "--out", str(tmp_path / "part"),
                        "--resume"]) == 0
    f32 = ember.load(tmp_path / "f32" / "last.safetensors")
    a = ember.load(tmp_path / "full" / "last.safetensors")
    b = ember.load(tmp_path / "part" / "last.safetensors")
    assert ("scaler" in a) if mode == "eager" else ("loss_scale" in a)
    assert any(not np.array_equal(a["model"][k].numpy(), f32["model"][k].numpy())
               for k in a["model"])
    for k in a["model"]:
        np.testing.assert_array_equal(a["model"][k].numpy(), b["model"][k].numpy())
