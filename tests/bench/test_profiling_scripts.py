"""The profiling scripts of benchmarks/ run: plan_lines.py (the per-line CPU profile of a
workload's compiled step), conv_split.py (the two-thread A/B of the convolutions) and
env_ab.py (process-wide settings A/B across persistent worker processes)."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_plan_lines_lists_the_lenet_plans_kernels():
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "plan_lines.py"),
                        "cifar-lenet", "--batch", "3", "--steps", "1", "--rounds", "1",
                        "--top", "200"], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    head, *rows = r.stdout.strip().splitlines()
    m = re.match(r"cifar-lenet batch 3: plan ([0-9.]+) ms/step CPU .*, (\d+) lines$", head)
    assert m, head
    assert len(rows) == int(m.group(2))  # every line of the plan, costliest first
    costs = [float(row.split()[0]) for row in rows]
    assert costs == sorted(costs, reverse=True)
    assert abs(sum(costs) - float(m.group(1))) < 0.01 * len(costs) + 0.01
    text = "\n".join(rows)
    # LeNet's two convolutions: forward, weight gradient (both), windows gradient (conv2)
    assert text.count("nchwkl,ockl->nohw") == 2
    assert text.count("nohw,nchwkl->ockl") == 2
    assert text.count("nohw,ockl->nchwkl") == 1
    assert "conv._argmax_scatter_impl" in text
    from ember.backend import accel
    if accel.kernels() is not None:  # conv2's windows gradient and col2im fused in blocks
        assert "conv._input_grad_impl nohw,ockl->nchwkl" in text
        assert "conv._unwindows_impl" not in text
    else:
        assert "einsum._einsum_impl nohw,ockl->nchwkl" in text
        assert "conv._unwindows_impl" in text


def test_conv_split_benchmark_runs_every_configuration():
    """benchmarks/conv_split.py: the default BLAS threads with the default split and none,
    one BLAS thread, one BLAS thread with the batch split; each configuration timed."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("OMP_NUM_THREADS", None)
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "conv_split.py"),
                        "cifar-lenet", "--batch", "3", "--steps", "1", "--rounds", "1",
                        "--splits", "1"], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("cifar-lenet batch 3, ember jit, 1 rounds of 1 steps")
    names = [ln.split()[1] for ln in lines[1:]]
    assert names[2:] == ["1:off", "1:1"] and names[0].endswith(":auto") and \
        names[1].endswith(":off")


def _env_ab(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "env_ab.py"), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_env_ab_times_each_configuration_in_its_own_environment():
    r = _env_ab("linreg", "--steps", "2", "--rounds", "2", "--pause", "0", "plain:",
                "off:EMBER_BLAS_TUNING=0,EMBER_POOL=0")
    assert r.returncode == 0, r.stderr
    head, *rows = r.stdout.strip().splitlines()
    assert head == "linreg jit: 2 rounds of 2 steps"
    assert [row.split()[0] for row in rows] == ["plain", "off"]
    for row in rows:
        fastest, median = float(row.split()[2]), float(row.split()[4])
        assert 0 < fastest <= median
    # the environment reaches the worker: a setting ember rejects at import stops it
    r = _env_ab("linreg", "--steps", "1", "--rounds", "1", "bad:EMBER_CONV_SPLIT_MIN_BYTES=lots")
    assert r.returncode != 0
    assert "the worker of 'bad' failed to build the step" in r.stderr
    assert "EMBER_CONV_SPLIT_MIN_BYTES must be" in r.stderr
    r = _env_ab("linreg", "nocolon")
    assert r.returncode != 0 and "a configuration is NAME:VAR=VALUE" in r.stderr
