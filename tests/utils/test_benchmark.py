"""ember.utils.benchmark: torch.utils.benchmark's Timer and Measurement (no timed
assertions: only counts, structure and the report's shape)."""
import re

import pytest

import ember
from ember.utils.benchmark import Measurement, Timer


def test_timeit_runs_the_statement_number_times_plus_a_warm_up():
    calls = []
    m = Timer("f()", globals={"f": lambda: calls.append(1)}, label="lbl").timeit(7)
    assert len(calls) == 8 and m.number_per_run == 7 and len(m.times) == 1
    assert m.times[0] == m.raw_times[0] / 7 and m.mean == m.median == m.times[0]
    text = repr(m)
    assert "lbl" in text and re.search(r"1 measurement, 7 runs, 1 thread", text)


def test_blocked_and_adaptive_autorange_measure_blocks():
    t = Timer("x + x", setup="y = 1", globals={"x": ember.ones(3)}, num_threads=1)
    m = t.blocked_autorange(min_run_time=0.05)
    assert sum(m.raw_times) >= 0.05 and m.number_per_run >= 1
    assert "Median:" in repr(m) or len(m.times) == 1
    a = t.adaptive_autorange(min_run_time=0.01, max_run_time=0.2)
    assert len(a.times) >= 1 and a.iqr >= 0
    n = []
    t.autorange(callback=lambda number, took: n.append(number))
    assert n and n[0] >= 1


def test_measurement_statistics():
    m = Measurement(2, [2.0, 4.0, 6.0, 8.0], "s")
    assert m.times == [1.0, 2.0, 3.0, 4.0] and m.median == 2.5 and m.iqr == 1.5
    assert "4 measurements, 2 runs per measurement" in repr(m)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_threads"):
        Timer("pass", num_threads=0)
    with pytest.raises(ValueError, match="only Python statements"):
        Timer("x", language="c++")
