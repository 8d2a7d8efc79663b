"""Checkpoint faults: kill -9 at random points of ember.save (the previous file always
loads, the next save removes the leftovers), a full disk (a small tmpfs), file modes, and
corrupted structure metadata."""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

import ember

_SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    import ember
    path = sys.argv[1]
    w = ember.tensor(np.full((1024, 1024), 0, np.float32))
    print("ready", flush=True)
    for step in range(1, 10 ** 6):
        w._data[...] = step
        ember.save({"w": w, "step": step}, path)
""")


def _tmps(folder):
    return [n for n in os.listdir(folder) if n.startswith(".tmp-")]


def test_kill_minus_9_during_save_keeps_the_previous_checkpoint(tmp_path):
    path = str(tmp_path / "ck.safetensors")
    ember.save({"w": ember.zeros(1024, 1024), "step": 0}, path)
    rng = random.Random(0)
    killed_mid_write = 0
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, path], stdout=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": os.getcwd()})
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_mid_write += bool(_tmps(tmp_path))
        ck = ember.load(path)  # always the last complete checkpoint
        assert float(ck["w"][0, 0]) == ck["step"]
        assert np.all(ck["w"].numpy() == ck["step"])
    # the next save in any process removes the dead writers' leftovers
    ember.save({"w": ember.ones(2), "step": -1}, path)
    assert _tmps(tmp_path) == []
    assert ember.load(path)["step"] == -1
    print(f"{killed_mid_write} of 5 kills left a temporary file")


def test_a_live_writers_temp_file_is_left_alone(tmp_path):
    path = tmp_path / "ck.safetensors"
    mine = tmp_path / f".tmp-ck.safetensors.{os.getppid()}.0123abcd.safetensors"  # alive
    dead = tmp_path / ".tmp-ck.safetensors.4194304.0123abcd.safetensors"  # > pid_max
    other = tmp_path / ".tmp-other.safetensors.4194304.0123abcd.safetensors"
    for p in (mine, dead, other):
        p.write_bytes(b"partial")
    ember.save({"w": ember.ones(2)}, path)
    assert sorted(_tmps(tmp_path)) == sorted([mine.name, other.name])


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_checkpoints_get_the_mode_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        ember.save({"w": ember.ones(2)}, tmp_path / "a.safetensors")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "a.safetensors").st_mode & 0o777 == 0o666 & ~umask
    # an existing checkpoint keeps its mode when it is overwritten
    os.chmod(tmp_path / "a.safetensors", 0o640)
    ember.save({"w": ember.ones(3)}, tmp_path / "a.safetensors")
    assert os.stat(tmp_path / "a.safetensors").st_mode & 0o777 == 0o640


def _tmpfs(size):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; a full disk is not simulated")
    d = tempfile.mkdtemp(prefix="ember-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", d],
                       capture_output=True, text=True)
    if r.returncode:
        os.rmdir(d)
        pytest.skip(f"can't mount a tmpfs here ({r.stderr.strip()}); full disk not simulated")
    return d


def test_full_disk_names_the_path_and_keeps_the_previous_checkpoint():
    d = _tmpfs("512k")
    try:
        path = os.path.join(d, "ck.safetensors")
        ember.save({"w": ember.ones(1000)}, path)
        with pytest.raises(OSError, match=rf"ember.save: writing {path} failed .*No space left"
                                          rf".*the previous checkpoint at {path} is intact"
                           ) as info:
            ember.save({"w": ember.ones(400_000)}, path)
        assert info.value.errno == 28
        assert _tmps(d) == []
        np.testing.assert_array_equal(ember.load(path)["w"].numpy(), np.ones(1000))
        with pytest.raises(OSError, match="no file was written at"):
            ember.save({"w": ember.ones(400_000)}, os.path.join(d, "new.safetensors"))
    finally:
        subprocess.run(["umount", d])
        os.rmdir(d)


@pytest.mark.parametrize("tree,what", [
    (["t0"], "expected a one-entry object"),
    ({"T": "t9"}, "names no tensor"),
    ({"D": [["x"]]}, "list of \\[key, value\\] pairs"),
    ({"D": [[["set", 1], {"V": 1}]]}, "dict key"),
    ({"L": {"a": 1}}, "must be a JSON array"),
    ({"Q": 1}, "unknown entry kind"),
    ({"V": {"a": 1}}, "a value must be"),
])
def test_corrupted_structure_metadata_is_a_clear_error(tmp_path, tree, what):
    from safetensors.numpy import save_file
    path = str(tmp_path / "bad.safetensors")
    save_file({"t0": np.zeros(2, np.float32)}, path,
              metadata={"format": "ember", "__ember_tree__": json.dumps(tree)})
    with pytest.raises(RuntimeError, match=rf"ember.load: the structure stored in .*bad."
                                           rf"safetensors .* is corrupted: .*{what}"):
        ember.load(path)


def test_too_deep_structures():
    deep = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValueError, match="nested too deeply"):
        ember.save(deep, os.path.join(tempfile.mkdtemp(), "x.safetensors"))


def test_temp_files_of_earlier_versions_are_removed_once_an_hour_old(tmp_path):
    old = tmp_path / ".tmp-k3j_x9a2.safetensors"  # tempfile.mkstemp's name, as saves made it
    fresh = tmp_path / ".tmp-p0q1r2s3.safetensors"  # maybe a save running right now
    for p in (old, fresh):
        p.write_bytes(b"partial")
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    ember.save({"w": ember.ones(2)}, tmp_path / "ck.safetensors")
    assert sorted(_tmps(tmp_path)) == [fresh.name]
