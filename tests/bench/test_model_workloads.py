"""The ResNet-18 and VGG-11 bench workloads: ember eager and jit take the same training steps as
PyTorch from the same weights (BatchNorm statistics included)."""
import json

import pytest

from ember.bench import workloads
from ember.cli.main import main


def test_model_workloads_are_registered():
    for name in ("resnet18", "vgg11"):
        spec = workloads.SPECS[name]
        assert spec.batch == 16 and spec.make_data(2, 0)[0].shape == (2, 3, 64, 64)
        assert name not in workloads.SUPPORTS["jax-jit"]          # no hand-written JAX forward


def test_resnet18_steps_agree_across_frameworks(tmp_path):
    pytest.importorskip("torch")
    j = tmp_path / "b.json"
    assert main(["bench", "--tiny", "--workloads", "resnet18", "--frameworks",
                 "ember-eager,ember-jit,torch-eager", "--rounds", "1", "--steps", "1",
                 "--warmup", "0", "--check", "2", "--no-memory", "--settle", "0",
                 "--json", str(j), "--markdown", str(tmp_path / "b.md")]) == 0
    res = json.loads(j.read_text())["results"]
    assert {r["framework"] for r in res} == {"ember-eager", "ember-jit", "torch-eager"}
    for r in res:   # weights and BatchNorm running statistics after 2 steps
        assert r["check_max_diff"] < 1e-4, r
