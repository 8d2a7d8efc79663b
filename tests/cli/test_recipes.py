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
    """Missing data or checkpoint: exit code 2 and one line saying what to do, no traceback."""
    assert main(["train", "--recipe", "cifar-lenet", "--no-progress", "--out",
                 str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ember train: cifar-lenet:")
    assert "--data-dir" in err and "cifar-10-python.tar.gz" in err and "https://" in err
    assert main(["train", "--resume", "--no-progress", "--out", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no checkpoint" in err
    for recipe in ("text-lstm", "mnist-mlp"):
        args = ["train", "--recipe", recipe, "--no-progress", "--out", str(tmp_path)]
        if recipe == "mnist-mlp":
            args += ["--dataset", "mnist"]
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--data-dir" in err and "https://" in err, err
    _ = os


def test_missing_data_messages_say_where_to_get_it():
    from ember.recipes import _mnist
    msg = _mnist.missing_message("fashion-mnist")
    assert "apt install dataset-fashion-mnist" in msg and "--data-dir" in msg
    assert "train-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    msg = _mnist.missing_message("mnist")
    assert "--data-dir" in msg and "train-labels-idx1-ubyte.gz" in msg


def test_train_ends_by_saying_where_its_outputs_went_and_explains_limit(tmp_path, capsys):
    out_dir = tmp_path / "run"
    assert main(["train", "--recipe", "digits-mlp", "--epochs", "1", "--limit", "256",
                 "--no-progress", "--out", str(out_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    note = [l for l in lines if l.startswith("--limit 256:")]
    assert note and "smoke test" in note[0] and "8 optimizer steps" in note[0]
    assert "chance accuracy" in note[0]
    tail = "\n".join(lines[-3:])
    for name in ("last.safetensors", "best.safetensors", "metrics.csv", "metrics.json"):
        assert str(out_dir / name) in tail and (out_dir / name).exists()
    assert lines[-1].startswith("plot: ")
    if _has("matplotlib"):
        assert str(out_dir / "curves.png") in lines[-1] and (out_dir / "curves.png").exists()


def test_train_help_describes_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    opts = out.split("options:")[1].split("recipe defaults")[0]
    import re
    entries = re.split(r"\n  (?=-)", opts)
    for e in entries:
        e = " ".join(e.split())
        if not e or e.startswith("-h"):
            continue
        assert "default" in e, f"--help gives no default for: {e}"
    assert "mnist-mlp: epochs 10, batch-size 100, lr 0.001" in out


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
