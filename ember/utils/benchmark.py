"""``torch.utils.benchmark``'s ``Timer`` and ``Measurement``: time a statement (a string run
with ``globals``, as ``timeit``) and report per-run times.

>>> t = ember.utils.benchmark.Timer("x + x", globals={"x": ember.ones(4)})
>>> m = t.timeit(10)
>>> len(m.times), m.number_per_run
(1, 10)
"""
from __future__ import annotations

import statistics
import timeit

__all__ = ["Timer", "Measurement"]


def _unit(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return unit, scale
    return "ns", 1e-9


class Measurement:
    """Times of one statement: ``times`` holds the seconds per run of each measurement
    (a measurement runs the statement ``number_per_run`` times)."""

    def __init__(self, number_per_run, raw_times, stmt, label=None, sub_label=None,
                 description=None, num_threads=1):
        self.number_per_run = number_per_run
        self.raw_times = list(raw_times)
        self.stmt, self.label, self.sub_label = stmt, label, sub_label
        self.description, self.num_threads = description, num_threads

    @property
    def times(self):
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def mean(self):
        return statistics.fmean(self.times)

    @property
    def median(self):
        return statistics.median(self.times)

    @property
    def iqr(self):
        t = sorted(self.times)
        if len(t) < 2:
            return 0.0
        q = statistics.quantiles(t, n=4, method="inclusive")
        return q[2] - q[0]

    @property
    def title(self):
        return " ".join(x for x in (self.label, self.sub_label, self.description) if x) or \
            self.stmt

    def __repr__(self):
        n = len(self.times)
        unit, scale = _unit(self.median)
        lines = [f"<ember.utils.benchmark.Measurement object at {hex(id(self))}>", self.title]
        if n == 1:
            lines.append(f"  {self.median / scale:.2f} {unit}")
        else:
            t = sorted(self.times)
            q = statistics.quantiles(t, n=4, method="inclusive")
            lines.append(f"  Median: {self.median / scale:.2f} {unit}")
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} ({q[0] / scale:.2f} to "
                         f"{q[2] / scale:.2f})")
        threads = f"{self.num_threads} thread" + ("s" if self.num_threads != 1 else "")
        per = "runs per measurement" if n > 1 else "runs"
        lines.append(f"  {n} measurement{'s' if n != 1 else ''}, {self.number_per_run} {per}, "
                     f"{threads}")
        return "\n".join(lines)


class Timer:
    """``Timer(stmt, setup="pass", globals=None, label=None, sub_label=None,
    description=None, num_threads=1)``: ``timeit(number)`` runs ``stmt`` ``number`` times
    once; ``blocked_autorange(min_run_time=0.2)`` repeats blocks of runs until at least
    ``min_run_time`` seconds were measured; ``autorange()`` picks a block size only."""

    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=timeit.default_timer,
                 globals=None, label=None, sub_label=None, description=None, env=None,
                 num_threads=1, language="python"):
        if language not in ("python", "py"):
            raise ValueError(f"Timer: only Python statements can be timed by ember, got "
                             f"language={language!r}")
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"Timer: num_threads must be a positive int, got {num_threads!r}")
        self.stmt, self.label, self.sub_label = stmt, label, sub_label
        self.description, self.num_threads = description, num_threads
        g = dict(globals or {})
        if global_setup:
            exec(global_setup, g)
        self._timer = timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=g)

    def _run(self, number):
        from ..torch_settings import get_num_threads, set_num_threads
        prev = get_num_threads()
        set_num_threads(self.num_threads)
        try:
            return self._timer.timeit(number)
        finally:
            set_num_threads(prev)

    def _measurement(self, number, times):
        return Measurement(number, times, self.stmt, self.label, self.sub_label,
                           self.description, self.num_threads)

    def timeit(self, number=1000000):
        """One measurement of ``number`` runs (after one warm-up run)."""
        self._run(1)
        return self._measurement(number, [self._run(number)])

    def _block_size(self, min_time=0.01):
        number = 1
        while True:
            if self._run(number) >= min_time:
                return number
            number *= 10

    def autorange(self, callback=None):
        """A measurement of one block whose run time reaches 0.2 s (``timeit``'s rule)."""
        number, took = self._timer.autorange()
        if callback is not None:
            callback(number, took)
        return self._measurement(number, [took])

    def blocked_autorange(self, callback=None, min_run_time=0.2):
        """Blocks of runs (each ~10 ms or more) until ``min_run_time`` seconds were measured."""
        number = self._block_size()
        times, total = [], 0.0
        while total < min_run_time or not times:
            t = self._run(number)
            if callback is not None:
                callback(number, t)
            times.append(t)
            total += t
        return self._measurement(number, times)

    def adaptive_autorange(self, threshold=0.1, *, min_run_time=0.01, max_run_time=10.0,
                           callback=None):
        """Blocks until the IQR is within ``threshold`` of the median (after at least
        ``min_run_time`` seconds) or ``max_run_time`` seconds have passed."""
        number = self._block_size(min_run_time / 10)
        times, total = [], 0.0
        while True:
            t = self._run(number)
            if callback is not None:
                callback(number, t)
            times.append(t)
            total += t
            m = self._measurement(number, times)
            if total >= max_run_time or (total >= min_run_time and len(times) >= 4 and
                                         m.iqr <= threshold * m.median):
                return m
