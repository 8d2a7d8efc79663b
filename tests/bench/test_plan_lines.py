"""benchmarks/plan_lines.py: the per-line CPU profile of a workload's compiled step runs and
names the convolution's products by their einsum equations."""
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
