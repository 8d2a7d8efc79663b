"""The profiling scripts of benchmarks/ run: plan_lines.py (the per-line CPU profile of a
workload's compiled step) and conv_split.py (the two-thread A/B of the convolutions)."""
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
    assert "conv._unwindows_impl" in text and "conv._argmax_scatter_impl" in text


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
