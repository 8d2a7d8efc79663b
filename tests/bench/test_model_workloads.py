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


@pytest.mark.parametrize("fw", ["ember-eager", "ember-jit", "torch-eager"])
def test_cells_leave_the_shared_initial_weights_alone(fw):
    """The cells wrap the shared initial weights without copying them (load_state_dict copies
    into the module): training steps of one cell must not write into them, or the next cell
    would start from trained weights."""
    if fw.startswith("torch"):
        pytest.importorskip("torch")
    import numpy as np
    spec = workloads.resolve("resnet18", True)
    w = workloads.initial_weights(spec)
    before = {k: v.copy() for k, v in w.items()}
    step, weights = workloads.BUILDERS[fw](w, spec.make_data(spec.batch, 0), spec)
    step()
    step()
    assert any(not np.array_equal(v, before[k]) for k, v in weights().items())  # it trained
    for k, v in w.items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
