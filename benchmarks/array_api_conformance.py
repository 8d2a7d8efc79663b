"""Run the Array API conformance suite (vendored under tests/array_api/vendor) against
``ember.numpy`` (or another namespace) and print its pass rate.

    python benchmarks/array_api_conformance.py                      # the whole suite, ember
    python benchmarks/array_api_conformance.py --module jax.numpy   # the same for JAX
    python benchmarks/array_api_conformance.py --max-examples 10 -- -k elementwise

The options are pinned (hypothesis seed 0, a small ``--max-examples``, no deadline), so two
modules run the same examples. The rate counts every collected test: a skipped one (a
complex-dtype test, a missing extension) counts as not passed. ember has complex64/complex128
(since session 8), so the suite draws them as it does for jax.numpy.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENDOR = os.path.join(ROOT, "tests", "array_api", "vendor")


def run_suite(module="ember.numpy", max_examples=3, seed=0, tests=("array_api_tests",),
              extra=(), xfails=None, capture=True):
    """Run the vendored suite in a subprocess; (returncode, {outcome: count}, output)."""
    env = dict(os.environ)
    env["ARRAY_API_TESTS_MODULE"] = module
    if module.startswith("ember"):
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "pytest", *tests, "-c", os.path.join(VENDOR, "pytest.ini"),
           "--rootdir", VENDOR, "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
           "-rfE", "--tb=no", "-W", "ignore", f"--max-examples={max_examples}",
           f"--hypothesis-seed={seed}", "--disable-deadline", *extra]
    if xfails:
        cmd += ["--xfails-file", xfails]
    p = subprocess.run(cmd, cwd=VENDOR, env=env, text=True,
                       capture_output=capture)
    out = (p.stdout or "") + (p.stderr or "")
    counts = {}
    for line in out.splitlines()[::-1]:
        if re.search(r"\d+ (passed|failed)", line) and " in " in line:
            for n, kind in re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)",
                                      line):
                counts[kind.rstrip("s") if kind.startswith("error") else kind] = int(n)
            break
    return p.returncode, counts, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", default="ember.numpy",
                    help="the namespace to test (default ember.numpy; e.g. jax.numpy)")
    ap.add_argument("--max-examples", type=int, default=3,
                    help="hypothesis examples per test (default 3)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    ap.add_argument("--failures", action="store_true", help="also list the failed tests")
    ap.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    a = ap.parse_args(argv)
    code, counts, out = run_suite(a.module, a.max_examples, a.seed, extra=a.pytest_args)
    total = sum(counts.values())
    passed = counts.get("passed", 0) + counts.get("xpassed", 0)
    if a.failures:
        print("\n".join(l for l in out.splitlines() if l.startswith(("FAILED", "ERROR"))))
    if not total:
        print(out[-3000:])
        print(f"{a.module}: the suite did not run (exit code {code})")
        return 1
    detail = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    print(f"{a.module}: {passed} of {total} tests pass ({100 * passed / total:.1f}%; {detail}; "
          f"--max-examples {a.max_examples}, seed {a.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
