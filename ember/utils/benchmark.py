"""``torch.utils.benchmark``'s ``Timer``, ``Measurement`` and ``Compare``: time a statement
(a string run with ``globals``, as ``timeit``), report per-run times, and print measurements
side by side in PyTorch's tables.

>>> t = ember.utils.benchmark.Timer("x + x", globals={"x": ember.ones(4)})
>>> m = t.timeit(10)
>>> len(m.times), m.number_per_run
(1, 10)
"""
from __future__ import annotations

import math
import statistics
import timeit

__all__ = ["Timer", "Measurement", "Compare"]


def _unit(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return unit, scale
    return "ns", 1e-9


class Measurement:
    """Times of one statement: ``times`` holds the seconds per run of each measurement
    (a measurement runs the statement ``number_per_run`` times)."""

    def __init__(self, number_per_run, raw_times, stmt, label=None, sub_label=None,
                 description=None, num_threads=1, env=None):
        self.number_per_run = number_per_run
        self.raw_times = list(raw_times)
        self.stmt, self.label, self.sub_label = stmt, label, sub_label
        self.description, self.num_threads = description, num_threads
        self.env = env

    @property
    def significant_figures(self):
        """How many leading digits of the median the spread of the times supports (1 to 4):
        from a rough 90% confidence interval of the middle half of the times, at least
        25 ns wide."""
        t = sorted(self.times)
        n = len(t)
        mid = t[n // 4:math.ceil(3 * n / 4)] or t
        std = statistics.pstdev(mid) if len(mid) > 1 else 0.0
        ci = max(1.645 * std / math.sqrt(len(mid)), 25e-9)
        figures = math.floor(math.log10(self.median / ci)) if self.median > 0 else 1
        return min(max(figures, 1), 4)

    @property
    def has_warnings(self):
        """The spread is large: the IQR is more than 10% of the median."""
        return self.median > 0 and self.iqr / self.median > 0.1

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
        self.env = env
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
                           self.description, self.num_threads, self.env)

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


# ---------------------------------------------------------------------------------------
# Compare: measurements side by side, as torch.utils.benchmark.Compare prints them.
# ---------------------------------------------------------------------------------------

_BEST, _GOOD, _BAD, _VERY_BAD = "\033[92m", "\033[34m", "\033[2m\033[91m", "\033[31m"
_BOLD, _END = "\033[1m", "\033[0m"
_UNITS = (("s", 1.0, "seconds"), ("ms", 1e-3, "milliseconds"), ("us", 1e-6, "microseconds"),
          ("ns", 1e-9, "nanoseconds"))


class Compare:
    """Tables of measurements (``torch.utils.benchmark.Compare``): one table per ``label``,
    a column per ``description``, a row per ``sub_label`` (and ``env``), grouped by
    ``num_threads``; times are medians, in the unit of the table's smallest one.
    ``trim_significant_figures()`` rounds each time to the digits its spread supports,
    ``colorize(rowwise=False)`` marks times against the best of their column (or row),
    ``highlight_warnings()`` flags noisy measurements, ``print()`` prints.

    >>> from ember.utils.benchmark import Compare, Measurement
    >>> ms = [Measurement(1, [t], "f(x)", label="ops", sub_label=size, description=name)
    ...       for size, name, t in [("small", "add", 1e-6), ("small", "mul", 2e-6),
    ...                             ("large", "add", 3e-6), ("large", "mul", 4.5e-6)]]
    >>> print(Compare(ms))
    [---------- ops ----------]
                 |  add  |  mul
    1 threads: ----------------
          small  |  1.0  |  2.0
          large  |  3.0  |  4.5
    <BLANKLINE>
    Times are in microseconds (us).
    <BLANKLINE>
    """

    def __init__(self, results):
        self._results = []
        self._trim = False
        self._colorize = None  # None, "column" or "row"
        self._highlight = False
        self.extend_results(results)

    def extend_results(self, results):
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(f"Compare: expected Measurement objects (from Timer), got "
                                 f"{type(r).__name__}")
        self._results.extend(results)

    def trim_significant_figures(self):
        self._trim = True

    def colorize(self, rowwise=False):
        self._colorize = "row" if rowwise else "column"

    def highlight_warnings(self):
        self._highlight = True

    def print(self):
        print(str(self))

    def __str__(self):
        labels = {}
        for r in self._results:
            labels.setdefault(r.label, []).append(r)
        return "\n".join(self._table(label, rs) for label, rs in labels.items())

    # -- one table ----------------------------------------------------------------------

    def _table(self, label, results):
        cols = _unique(r.description for r in results)
        threads = sorted(_unique(r.num_threads for r in results))
        envs = _unique(r.env for r in results)
        has_env = any(e is not None for e in envs)
        unit, scale, unit_name = _table_unit(min(r.median for r in results))
        # groups of rows: per thread count, per env, per sub_label (first appearance order)
        groups = []
        for n in threads:
            rows = []
            for env in envs:
                for sub in _unique(r.sub_label for r in results
                                   if r.num_threads == n and r.env == env):
                    cells = {}
                    for r in results:
                        if r.num_threads == n and r.env == env and r.sub_label == sub:
                            cells[r.description] = r  # a repeated key: the last one
                    rows.append((env, sub, cells))
            groups.append((n, rows))
        values = {}  # id(measurement) -> text without color
        for n, rows in groups:
            for env, sub, cells in rows:
                for r in cells.values():
                    values[id(r)] = r.median / scale
        decimals = {}
        for c in cols:
            if self._trim:  # the digits the least precise time of the column supports
                d = None
                for n, rows in groups:
                    for env, sub, cells in rows:
                        r = cells.get(c)
                        if r is not None:
                            k = _decimals(values[id(r)], r.significant_figures)
                            d = k if d is None else min(d, k)
                decimals[c] = max(d or 0, 0)
            else:
                decimals[c] = 1

        def text(r, c):
            v = values[id(r)]
            if self._trim:
                v = _round_sig(v, r.significant_figures)
            return f"{v:.{decimals[c]}f}"

        def warning(r):
            if self._highlight and r.has_warnings:
                return f" (! {r.iqr / r.median * 100:.0f}%)"
            return ""

        nums = {id(r): text(r, c) for n, rows in groups for env, sub, cells in rows
                for c, r in cells.items()}
        warns = {id(r): warning(r) for n, rows in groups for env, sub, cells in rows
                 for r in cells.values()}

        def widest(table, c):
            return max([len(table[id(r)]) for n, rows in groups for e, s, cells in rows
                        for cc, r in cells.items() if cc == c] + [0])

        num_w = {c: widest(nums, c) for c in cols}
        warn_w = {c: widest(warns, c) for c in cols}
        # a time is right-aligned with the column's times, its warning (if any) follows
        texts = {id(r): nums[id(r)].rjust(num_w[c]) + warns[id(r)].ljust(warn_w[c])
                 for n, rows in groups for env, sub, cells in rows for c, r in cells.items()}
        val_w = {c: num_w[c] + warn_w[c] for c in cols}
        col_w = {c: max(val_w[c], len(_name(c))) for c in cols}
        env_w = max([len(f"({e})") for e in envs if e is not None] + [0])

        def row_label(env, sub, first_of_env):
            if has_env:
                tag = f"({env})" if (env is not None and first_of_env) else ""
                return "  " + tag.ljust(env_w) + "  " + _name(sub)
            return "      " + _name(sub)

        labels = [row_label(e, s, True) for n, rows in groups for e, s, _ in rows]
        lab_w = max([len(x) for x in labels] + [0]) + 2

        def line(first, cells):
            parts = [first.ljust(lab_w)]
            for i, cell in enumerate(cells):
                last = i == len(cells) - 1
                parts.append("  " + cell + ("" if last else "  "))
            return "|".join(parts)

        header = line("", [_name(c).center(col_w[c]) for c in cols])
        width = len(header)
        out = ["[" + f" {_name(label)} ".center(width - 2, "-") + "]", header]
        for n, rows in groups:
            head = f"{n} threads: "
            out.append(head + "-" * max(width - len(head), 0))
            prev_env = object()
            for env, sub, cells in rows:
                cs = []
                best = None
                if self._colorize == "row":
                    best = min((r.median for r in cells.values()), default=None)
                for c in cols:
                    r = cells.get(c)
                    if r is None:
                        cs.append(" " * col_w[c])
                        continue
                    cell = texts[id(r)].rjust(val_w[c]).center(col_w[c])
                    if self._colorize == "column":
                        b = min(rr.median for e2, s2, cells2 in rows
                                for cc, rr in cells2.items() if cc == c)
                        cell = _color(cell, r.median, b)
                    elif self._colorize == "row":
                        cell = _color(cell, r.median, best)
                    cs.append(cell)
                out.append(line(row_label(env, sub, env != prev_env), cs))
                prev_env = env
        out.append("")
        out.append(f"Times are in {unit_name} ({unit}).")
        if self._highlight and any(r.has_warnings for r in results):
            out.append("(! XX%) Measurement has high variance, where XX is the IQR / median "
                       "* 100.")
        out.append("")
        return "\n".join(out)


def _unique(xs):
    seen = []
    for x in xs:
        if x not in seen:
            seen.append(x)
    return seen


def _name(x):
    return "" if x is None else str(x)


def _table_unit(smallest):
    for unit, scale, name in _UNITS:
        if smallest >= scale:
            return unit, scale, name
    return _UNITS[-1]


def _round_sig(v, figures):
    if v <= 0:
        return v
    return round(v, figures - 1 - math.floor(math.log10(v)))


def _decimals(v, figures):
    if v <= 0:
        return 0
    return figures - 1 - math.floor(math.log10(v))


def _color(cell, value, best):
    if best is None or best <= 0:
        return cell
    ratio = value / best
    if ratio <= 1.01:
        return _BEST + _BOLD + cell + _END + _END
    if ratio <= 1.1:
        return _GOOD + _BOLD + cell + _END + _END
    if ratio >= 5:
        return _VERY_BAD + _BOLD + cell + _END + _END
    if ratio >= 2:
        return _BAD + cell + _END + _END
    return cell
