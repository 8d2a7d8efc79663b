"""Runs the Python blocks of docs/migration.md in order, in one namespace: the guide's four
forms of one CNN (PyTorch, ember eager, ember functional, JAX) must agree."""
import pathlib
import re

import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

GUIDE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "migration.md"


def test_migration_guide_blocks_run_and_agree():
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    assert len(blocks) == 5
    namespace = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{GUIDE.name}[block {i + 1}]", "exec"), namespace)
    assert set(namespace["after_jax"]) == set(namespace["after_torch"])
