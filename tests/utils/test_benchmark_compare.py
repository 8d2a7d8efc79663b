"""ember.utils.benchmark.Compare: the tables torch.utils.benchmark.Compare prints (compared
character for character with torch on fixed measurements; no timing involved)."""
import re

import pytest

import ember
from ember.utils.benchmark import Compare, Measurement, Timer


def _ember_m(label, sub, desc, times, threads=1, env=None, n=10):
    return Measurement(n, [t * n for t in times], "x", label, sub, desc, threads, env)


def _torch_m(label, sub, desc, times, threads=1, env=None, n=10):
    bench = pytest.importorskip("torch.utils.benchmark")
    from torch.utils.benchmark.utils.common import TaskSpec
    return bench.Measurement(number_per_run=n, raw_times=[t * n for t in times],
                             task_spec=TaskSpec(stmt="x", setup="pass", label=label,
                                                sub_label=sub, description=desc,
                                                num_threads=threads, env=env))


def _batched(M):
    ms = []
    base = {"[1, 1]": 5.4e-6, "[64, 1024]": 112.3e-6, "[10000, 10000]": 0.1234}
    for sub in base:
        for desc, f in [("mul/sum", 1.0), ("bmm", 1.37), ("einsum", 0.91)]:
            for th in [1, 4]:
                ms.append(M("Batched dot", sub, desc,
                            [base[sub] * f / th * (1 + 0.01 * i) for i in range(5)], th))
    return ms


def _cases(M):
    ms = _batched(M)
    out = [str(M.compare(ms))]
    c = M.compare(ms)
    c.trim_significant_figures()
    c.colorize()
    out.append(str(c))
    c = M.compare(ms[:6])
    c.colorize(rowwise=True)
    out.append(str(c))
    row = [M("T", "r", d, [f * 1e-3] * 3) for d, f in
           [("a", 1.0), ("b", 1.005), ("c", 1.02), ("d", 1.09), ("e", 1.11), ("f", 1.9),
            ("g", 2.0), ("h", 4.9), ("i", 5.0), ("j", 20)]]
    c = M.compare(row)
    c.colorize(rowwise=True)
    out.append(str(c))
    two_labels = [M("L1", "a", "d1", [1e-3, 1.1e-3, 1.2e-3]), M("L2", "a", "d1", [2e-3] * 3),
                  M("L1", "b", "d2", [3e-3] * 3), M("L1", "a", "d2", [2.5e-7] * 3),
                  M("L1", "b", "d1", [13.3e-3] * 3)]
    out.append(str(M.compare(two_labels)))
    envs = [M("E", "r", "a", [1e-3], env="x"), M("E", "r", "a", [2e-3], env="y"),
            M("E", "s", "a", [1e-3], env="x"), M("E", "s", "b", [1e-3], env="x", threads=2)]
    out.append(str(M.compare(envs)))
    c = M.compare([M("T", "r", "a", [1.2345e-3, 1.2346e-3]), M("T", "t", "a", [12.3456, 12.3457])])
    c.trim_significant_figures()
    out.append(str(c))
    return out


def test_tables_match_torch():
    bench = pytest.importorskip("torch.utils.benchmark")
    _torch_m.compare = bench.Compare
    _ember_m.compare = Compare
    for mine, theirs in zip(_cases(_ember_m), _cases(_torch_m)):
        assert mine == theirs


def test_significant_figures_match_torch():
    pytest.importorskip("torch.utils.benchmark")
    for times in ([1.2345e-3, 1.2346e-3], [1e-3], [1e-3, 1.01e-3, 1.02e-3, 0.99e-3],
                  [1e-3, 2e-3, 3e-3, 1e-3, 5e-3], [5.4e-6 * (1 + 0.01 * i) for i in range(5)]):
        assert _ember_m("T", "r", "a", times).significant_figures == \
            _torch_m("T", "r", "a", times).significant_figures, times


def test_structure_and_warnings():
    ms = [_ember_m("ops", s, d, [t]) for s, d, t in
          [("small", "add", 1e-6), ("small", "mul", 2e-6), ("large", "add", 3e-6)]]
    lines = str(Compare(ms)).split("\n")
    assert lines[0].startswith("[") and lines[0].endswith("]") and " ops " in lines[0]
    assert len(lines[0]) == len(lines[1]) == len(lines[2])
    assert re.match(r"^\s+\|\s+add\s+\|\s+mul$", lines[1])
    assert lines[2].startswith("1 threads: -")
    assert lines[4].rstrip().endswith("3.0  |")  # no time for (large, mul): an empty cell
    assert lines[-2] == "Times are in microseconds (us)."
    noisy = _ember_m("T", "n", "col", [1e-3, 2e-3, 3e-3, 1e-3, 5e-3])
    assert noisy.has_warnings
    c = Compare([noisy, _ember_m("T", "m", "col", [1e-3] * 5)])
    c.highlight_warnings()
    text = str(c)
    assert "2.0 (! 100%)" in text and "Measurement has high variance" in text
    with pytest.raises(ValueError, match="Measurement"):
        Compare([1.0])


def test_with_timer_measurements(capsys):
    ms = []
    for n in (4, 16):
        for name, stmt in (("add", "x + x"), ("mul", "x * x")):
            ms.append(Timer(stmt, globals={"x": ember.ones(n)}, label="elementwise",
                            sub_label=f"n={n}", description=name).timeit(5))
    c = Compare(ms)
    c.trim_significant_figures()
    c.print()
    out = capsys.readouterr().out
    assert "elementwise" in out and "n=16" in out and "Times are in" in out
