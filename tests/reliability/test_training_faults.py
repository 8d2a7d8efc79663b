"""Training under faults: kill -9 during `ember train` then --resume gives the weights of an
uninterrupted run bit for bit (eager and jit); long runs keep a flat memory profile."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ember
from ember.cli.main import main

pytest.importorskip("safetensors")

BASE = ["train", "--recipe", "digits-mlp", "--no-progress", "--epochs", "5", "--limit", "400"]


def _env():
    return {**os.environ, "PYTHONPATH": os.getcwd()}


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_kill_minus_9_during_train_then_resume_is_bit_identical(tmp_path, mode):
    full, part = tmp_path / "full", tmp_path / "part"
    args = BASE + ["--mode", mode]
    assert main(args + ["--out", str(full)]) == 0
    rng = random.Random(hash(mode) % 1000)
    proc = subprocess.Popen([sys.executable, "-u", "-m", "ember.cli.main"] + args +
                            ["--out", str(part)], stdout=subprocess.PIPE, text=True,
                            env=_env())
    # wait for the first checkpoint (written right after the epoch's log line), then kill at
    # a random point of the following epochs and checkpoint writes
    for line in proc.stdout:
        if line.startswith("epoch   1"):
            break
    while not (part / "last.safetensors").exists() and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert main(args + ["--out", str(part), "--resume"]) == 0
    a = ember.load(full / "last.safetensors")
    b = ember.load(part / "last.safetensors")
    assert a["epoch"] == b["epoch"] == 5
    for k in a["model"]:
        np.testing.assert_array_equal(a["model"][k].numpy(), b["model"][k].numpy(), err_msg=k)
    assert [n for n in os.listdir(part) if n.startswith(".tmp-")] == []


_LONG_RUN = textwrap.dedent("""
    import sys
    import numpy as np
    import ember
    from ember import nn
    import ember.nn.functional as F
    from ember.func import functional_call

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2 ** 20

    mode, warm, steps = sys.argv[1], 200, 2000
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    rng = np.random.default_rng(0)
    xs = [ember.tensor(rng.standard_normal((8, 16)).astype(np.float32)) for _ in range(16)]
    ys = [ember.tensor(rng.integers(0, 4, 8)) for _ in range(16)]
    if mode == "eager":
        opt = ember.optim.Adam(model.parameters(), lr=1e-3)

        def step(i):
            opt.zero_grad()
            loss = F.cross_entropy(model(xs[i % 16]), ys[i % 16])
            loss.backward()
            opt.step()
            return loss
    else:
        fopt = ember.optim.functional.adam(1e-3)
        params = {k: v.detach() for k, v in model.named_parameters()}
        state = [params, fopt.init(params)]

        @ember.jit
        def train_step(p, s, x, y):
            loss, g = ember.value_and_grad(
                lambda p: F.cross_entropy(functional_call(model, p, (x,)), y))(p)
            u, s = fopt.update(g, s, p)
            return ember.optim.functional.apply_updates(p, u), s, loss

        def step(i):
            state[0], state[1], loss = train_step(state[0], state[1], xs[i % 16], ys[i % 16])
            return loss
    for i in range(warm):
        step(i).item()
    before = rss_mb()
    for i in range(steps):
        step(i).item()
    print(f"{rss_mb() - before:.3f}")
""")


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_long_run_memory_is_flat(mode):
    out = subprocess.run([sys.executable, "-c", _LONG_RUN, mode], capture_output=True,
                         text=True, env=_env(), timeout=300)
    assert out.returncode == 0, out.stderr
    growth = float(out.stdout.split()[-1])
    assert growth < 3.0, f"RSS grew by {growth:.1f} MB over 2,000 {mode} steps after warm-up"


def test_resume_clears_temporary_files_of_a_killed_checkpoint_write(tmp_path):
    """A run killed while it wrote best.safetensors leaves that write's temporary file; a
    resume with no epoch left to write best again still removes it (its writer is dead)."""
    out = tmp_path / "run"
    assert main(BASE[:4] + ["--epochs", "1", "--limit", "400", "--out", str(out)]) == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = out / f".tmp-best.safetensors.{dead}.0a1b2c3d.safetensors"
    stale.write_bytes(b"partial")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # a save in progress in another live process is left alone
        live = out / f".tmp-last.safetensors.{sleeper.pid}.0a1b2c3d.safetensors"
        live.write_bytes(b"partial")
        assert main(BASE[:4] + ["--epochs", "1", "--limit", "400", "--out", str(out),
                                "--resume"]) == 0
        assert not stale.exists()
        assert live.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
