"""``ember.autograd.profiler``: where the time of an eager program goes (PyTorch's
``torch.autograd.profiler``; ``ember.profiler`` adds schedules and trace handlers on top).

While a profiler records, every primitive run eagerly is one event (``ember::<primitive>``),
every VJP rule the eager backward runs is one (``<Prim>Backward0``), every call of a jitted
function is one (``ember::jit(<name>)``: its plan runs inside, not op by op), and
``record_function("name")`` marks a user range. Events nest by time on each thread; an
event's self time is its time minus its children's. With ``profile_memory=True`` an event's
memory is the bytes of the arrays it returned (views: 0) — allocations, not frees. Nothing is
recorded, and nothing is paid on the eager hot path, when no profiler is active.

>>> from ember.autograd import profiler
>>> x = ember.ones(3, 4)
>>> with profiler.profile() as prof:
...     with profiler.record_function("my_range"):
...         y = (x * 2).sum()
>>> sorted(e.key for e in prof.key_averages())
['ember::mul', 'ember::sum', 'my_range']
"""
from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time

from ..core import primitive as _primitive
from ..core import autograd as _core_autograd
from ..core.tensor import Tensor

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]

_active = [None]   # the recorder collecting events now (one at a time), or None
_now = time.perf_counter_ns

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FunctionEvent:
    """One recorded event: a primitive, a VJP rule, a jitted call or a user range. Times are
    in microseconds from the start of the profile."""

    __slots__ = ("id", "name", "thread", "start_ns", "end_ns", "input_shapes",
                 "cpu_memory_usage", "cpu_children", "cpu_parent", "is_user_annotation",
                 "stack", "_child_ns", "_child_mem", "_t0")

    def __init__(self, id, name, thread, start_ns, t0, input_shapes=None, user=False,
                 stack=None):
        self.id = id
        self.name = name
        self.thread = thread
        self.start_ns = start_ns
        self.end_ns = start_ns
        self._t0 = t0
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.cpu_memory_usage = 0
        self.cpu_children = []
        self.cpu_parent = None
        self.is_user_annotation = user
        self.stack = stack if stack is not None else []
        self._child_ns = 0
        self._child_mem = 0

    key = property(lambda self: self.name)
    count = property(lambda self: 1)

    @property
    def time_range(self):
        return (self.start_us, self.end_us)

    @property
    def start_us(self):
        return (self.start_ns - self._t0) / 1e3

    @property
    def end_us(self):
        return (self.end_ns - self._t0) / 1e3

    @property
    def cpu_time_total(self):
        return (self.end_ns - self.start_ns) / 1e3

    cpu_time = cpu_time_total

    @property
    def self_cpu_time_total(self):
        return (self.end_ns - self.start_ns - self._child_ns) / 1e3

    @property
    def self_cpu_memory_usage(self):
        return self.cpu_memory_usage - self._child_mem

    device_time_total = self_device_time_total = cuda_time_total = self_cuda_time_total = \
        property(lambda self: 0.0)
    device_memory_usage = self_device_memory_usage = cuda_memory_usage = \
        self_cuda_memory_usage = property(lambda self: 0)

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} thread={self.thread} "
                f"cpu_time={_fmt_time(self.cpu_time_total)} start_us={self.start_us:.3f} "
                f"end_us={self.end_us:.3f} input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage}>")


class FunctionEventAvg:
    """The events of one key (name, and input shapes / stack when grouped by them) summed:
    ``count``, ``cpu_time_total``, ``self_cpu_time_total``, ``cpu_time`` (average per call),
    ``cpu_memory_usage``, ``self_cpu_memory_usage`` (microseconds, bytes)."""

    def __init__(self, key="", input_shapes=None, stack=None):
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.input_shapes = input_shapes
        self.stack = stack
        self.is_user_annotation = False

    def add(self, other):
        if self.count == 0:
            self.is_user_annotation = other.is_user_annotation
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        return self

    __iadd__ = add

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    device_time_total = self_device_time_total = cuda_time_total = self_cuda_time_total = \
        device_time = cuda_time = property(lambda self: 0.0)
    device_memory_usage = self_device_memory_usage = cuda_memory_usage = \
        self_cuda_memory_usage = property(lambda self: 0)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time="
                f"{_fmt_time(self.self_cpu_time_total)} cpu_time={_fmt_time(self.cpu_time)} "
                f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage}>")


_SORT_KEYS = ("cpu_time", "cpu_time_total", "self_cpu_time_total", "cpu_memory_usage",
              "self_cpu_memory_usage", "count", "cuda_time", "cuda_time_total",
              "self_cuda_time_total", "device_time", "device_time_total",
              "self_device_time_total", "cuda_memory_usage", "self_cuda_memory_usage",
              "device_memory_usage", "self_device_memory_usage")


class EventList(list):
    """A list of events (``FunctionEvent`` or, from ``key_averages``, ``FunctionEventAvg``)
    with PyTorch's ``table``, ``key_averages``, ``total_average`` and
    ``export_chrome_trace``."""

    def __init__(self, events=(), profile_memory=False, with_shapes=False, with_stack=False):
        super().__init__(events)
        self._profile_memory = profile_memory
        self._with_shapes = with_shapes
        self._with_stack = with_stack

    @property
    def self_cpu_time_total(self):
        """The sum of the events' self times (microseconds): the table's 100%."""
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        """One ``FunctionEventAvg`` per event name (and per input shapes with
        ``group_by_input_shape=True``, per the innermost ``group_by_stack_n`` user frames),
        in order of first appearance."""
        groups = {}
        for e in self:
            key = [e.name]
            shapes = stack = None
            if group_by_input_shape:
                shapes = e.input_shapes
                key.append(str(shapes))
            if group_by_stack_n > 0:
                stack = e.stack[:group_by_stack_n]
                key.append(tuple(stack))
            key = tuple(key)
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(e.name, shapes, stack)
            avg.add(e)
        return EventList(groups.values(), self._profile_memory,
                         with_shapes=group_by_input_shape, with_stack=group_by_stack_n > 0)

    def total_average(self):
        """All events summed into one ``FunctionEventAvg`` (key "Total")."""
        total = FunctionEventAvg("Total")
        for e in self:
            total.add(e)
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False, time_unit=None):
        """The events as PyTorch prints them: Name, Self CPU %, Self CPU, CPU total %,
        CPU total, CPU time avg, (CPU Mem, Self CPU Mem with ``profile_memory``), # of Calls,
        (Input Shapes when grouped by them, Source Location when grouped by stack), sorted
        by ``sort_by`` (descending; e.g. "cpu_time_total", "self_cpu_time_total",
        "self_cpu_memory_usage", "count"), the first ``row_limit`` rows."""
        return _build_table(self, sort_by, row_limit, max_src_column_width,
                            max_name_column_width, max_shapes_column_width, header,
                            top_level_events_only, time_unit)

    def __str__(self):
        return self.table()

    def export_chrome_trace(self, path):
        """Write the events as Chrome trace JSON (open in chrome://tracing or Perfetto)."""
        _write_chrome_trace(self, path)


def _fmt_time(us, unit=None):
    if unit == "s" or (unit is None and us >= 1e6):
        return f"{us / 1e6:.3f}s"
    if unit == "ms" or (unit is None and us >= 1e3):
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _fmt_mem(nbytes):
    kb, mb, gb = 1024, 1024 ** 2, 1024 ** 3
    if abs(nbytes) >= gb:
        return f"{nbytes / gb:.2f} Gb"
    if abs(nbytes) >= mb:
        return f"{nbytes / mb:.2f} Mb"
    if abs(nbytes) >= kb:
        return f"{nbytes / kb:.2f} Kb"
    return f"{int(nbytes)} B"


def _cut(s, width):
    return s if len(s) <= width else s[:width - 3] + "..."


def _build_table(events, sort_by, row_limit, max_src, max_name, max_shapes, header,
                 top_only, time_unit):
    if sort_by is not None and sort_by not in _SORT_KEYS:
        raise ValueError(f"table: sort_by={sort_by!r} is not a column; use one of "
                         f"{', '.join(_SORT_KEYS)}")
    rows = list(events)
    if top_only:
        rows = [e for e in rows if getattr(e, "cpu_parent", None) is None]
    total_self = sum(e.self_cpu_time_total for e in events)
    if sort_by is not None:
        rows.sort(key=lambda e: getattr(e, sort_by), reverse=True)
    if row_limit is not None and row_limit > 0:
        rows = rows[:row_limit]
    mem = getattr(events, "_profile_memory", False)
    shapes = getattr(events, "_with_shapes", False)
    stack = getattr(events, "_with_stack", False)
    name_w = min(max([len(e.key) for e in rows] + [4]) + 4, max_name)
    heads = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if mem:
        heads += ["CPU Mem", "Self CPU Mem"]
    heads.append("# of Calls")
    widths = [name_w] + [12] * len(heads)
    heads = ["Name"] + heads
    shape_strs = [str(e.input_shapes) for e in rows] if shapes else None
    if shapes:
        heads.append("Input Shapes")
        widths.append(min(max([len(s) for s in shape_strs] + [12]) + 4, max_shapes))
    if stack:
        heads.append("Source Location")
        widths.append(min(max([len(s) for e in rows for s in (e.stack or [""])] + [15]) + 4,
                          max_src))
    sep = "  ".join("-" * w for w in widths) + "  "

    def line(cells):
        return "  ".join(c.rjust(w) for c, w in zip(cells, widths)) + "  "

    def pct(x):
        return f"{100.0 * x / total_self:.2f}%" if total_self > 0 else "0.00%"

    out = []
    if header is not None:
        out += ["=" * len(sep), header]
    out += [sep, line(heads), sep]
    for i, e in enumerate(rows):
        cells = [_cut(e.key, name_w), pct(e.self_cpu_time_total),
                 _fmt_time(e.self_cpu_time_total, time_unit), pct(e.cpu_time_total),
                 _fmt_time(e.cpu_time_total, time_unit), _fmt_time(e.cpu_time, time_unit)]
        if mem:
            cells += [_fmt_mem(e.cpu_memory_usage), _fmt_mem(e.self_cpu_memory_usage)]
        cells.append(str(e.count))
        if shapes:
            cells.append(_cut(shape_strs[i], widths[len(cells)]))
        if stack:
            frames = list(e.stack or [""])
            cells.append(_cut(frames[0], widths[len(cells)]))
            out.append(line(cells))
            for f in frames[1:]:
                out.append(line([""] * (len(cells) - 1) + [_cut(f, widths[-1])]))
            continue
        out.append(line(cells))
    out.append(sep)
    out.append(f"Self CPU time total: {_fmt_time(total_self, time_unit)}")
    return "\n".join(out) + "\n"


def _write_chrome_trace(events, path):
    pid = os.getpid()
    trace = [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "ts": 0,
              "args": {"name": "python"}}]
    threads = sorted({e.thread for e in events})
    for tid in threads:
        trace.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "ts": 0,
                      "args": {"name": f"thread {tid} (python)"}})
    for e in events:
        args = {}
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.stack:
            args["Call stack"] = ";".join(e.stack)
        if e.cpu_memory_usage:
            args["Memory"] = e.cpu_memory_usage
        trace.append({"ph": "X", "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                      "name": e.name, "pid": pid, "tid": e.thread, "ts": e.start_us,
                      "dur": e.cpu_time_total, "args": args})
    doc = {"schemaVersion": 1, "displayTimeUnit": "ms", "traceEvents": trace}
    with open(path, "w") as f:
        json.dump(doc, f)


# --------------------------------------------------------------------------------------
# The recorder: what runs while a profile is active.
# --------------------------------------------------------------------------------------

def _user_stack():
    frames = []
    f = sys._getframe(2)
    while f is not None:
        fn = f.f_code.co_filename
        if not os.path.abspath(fn).startswith(_PKG_DIR):
            frames.append(f"{fn}({f.f_lineno}): {f.f_code.co_name}")
        f = f.f_back
    return frames


def _shape_of(a):
    if isinstance(a, Tensor):
        return list(a.shape)
    if isinstance(a, (list, tuple)) and a and all(isinstance(x, Tensor) for x in a):
        return [list(x.shape) for x in a]
    return []


def _nbytes(out):
    if isinstance(out, Tensor):
        return getattr(out._data, "nbytes", 0)
    if isinstance(out, (list, tuple)):
        return sum(_nbytes(o) for o in out)
    return 0


class _Recorder:
    def __init__(self, record_shapes, profile_memory, with_stack):
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.events = []
        self.t0 = _now()
        self.local = threading.local()
        self.next_id = 0
        self.lock = threading.Lock()

    def open(self, name, args=None, user=False):
        st = getattr(self.local, "stack", None)
        if st is None:
            st = self.local.stack = []
        with self.lock:
            eid = self.next_id
            self.next_id += 1
        shapes = [_shape_of(a) for a in args] if (self.record_shapes and args) else None
        ev = FunctionEvent(eid, name, threading.get_native_id(), 0, self.t0, shapes, user,
                           _user_stack() if self.with_stack else None)
        if st:
            ev.cpu_parent = st[-1]
        st.append(ev)
        ev.start_ns = _now()
        return ev

    def close(self, ev, out=None):
        ev.end_ns = _now()
        st = self.local.stack
        if st and st[-1] is ev:
            st.pop()
        elif ev in st:  # closed out of order (a range exited early): drop it from the stack
            st.remove(ev)
        if self.profile_memory and out is not None:
            ev.cpu_memory_usage += _nbytes(out)
        parent = ev.cpu_parent
        if parent is not None:
            parent._child_ns += ev.end_ns - ev.start_ns
            parent._child_mem += ev.cpu_memory_usage
            parent.cpu_memory_usage += ev.cpu_memory_usage
            parent.cpu_children.append(ev)
        self.events.append(ev)

    def finish(self):
        """Close the ranges still open (a profile stopped inside them) and return the
        events in order of their start."""
        st = getattr(self.local, "stack", None) or []
        while st:
            self.close(st[-1])
        return EventList(sorted(self.events, key=lambda e: e.start_ns),
                         self.profile_memory, with_stack=False)


def _profiling_layer(inner):
    def apply(prim, args, params):
        rec = _active[0]
        if rec is None:
            return inner(prim, args, params)
        ev = rec.open("ember::" + prim.name, args)
        out = None
        try:
            out = inner(prim, args, params)
        finally:
            rec.close(ev, None if prim.view else out)
        return out
    return apply


def _vjp_events(prev):
    def run(prim, params, args, ct, out, needed):
        rec = _active[0]
        if rec is None:
            return prim.vjp(ct, out, *args, **params) if prev is None else \
                prev(prim, params, args, ct, out, needed)
        ev = rec.open(prim.name.capitalize() + "Backward0", (ct,) if isinstance(ct, Tensor)
                      else ct if isinstance(ct, tuple) else None)
        res = None
        try:
            if prev is None:
                res = prim.vjp(ct, out, *args, **params)
            else:
                res = prev(prim, params, args, ct, out, needed)
        finally:
            rec.close(ev, res)
        return res
    return run


def _call_events(orig, name_of):
    @functools.wraps(orig)
    def call(self, *args, **kwargs):
        rec = _active[0]
        if rec is None:
            return orig(self, *args, **kwargs)
        ev = rec.open(name_of(self), args)
        out = None
        try:
            out = orig(self, *args, **kwargs)
        finally:
            rec.close(ev, out if isinstance(out, (Tensor, tuple, list)) else None)
        return out
    return call


def _start(record_shapes=False, profile_memory=False, with_stack=False):
    """Begin recording (installs the eager layer, the VJP wrapper and the call wrappers)."""
    if _active[0] is not None:
        raise RuntimeError("profiler: a profiler is already recording; finish it (leave its "
                           "'with' block or call stop()) before starting another")
    rec = _Recorder(record_shapes, profile_memory, with_stack)
    rec.saved_vjp = _core_autograd.set_vjp_executor(None)
    _core_autograd.set_vjp_executor(_vjp_events(rec.saved_vjp))
    _primitive.add_call_layer(_call_events)
    _primitive.add_eager_layer(_profiling_layer)
    _active[0] = rec
    return rec


def _stop(rec):
    """End recording; returns the recorded events."""
    if _active[0] is rec:
        _active[0] = None
        _primitive.remove_eager_layer(_profiling_layer)
        _core_autograd.set_vjp_executor(rec.saved_vjp)
        _primitive.remove_call_layer(_call_events)
    return rec.finish()


class record_function:
    """Mark a range of user code as one event named ``name`` while a profiler records
    (context manager or decorator; costs one check when none records).

    >>> with ember.profiler.profile() as prof:
    ...     with ember.profiler.record_function("forward"):
    ...         _ = ember.ones(2) + 1
    >>> [e.key for e in prof.key_averages()][:1]
    ['forward']
    """

    def __init__(self, name, args=None):
        if not isinstance(name, str):
            raise TypeError(f"record_function: name must be a string, got "
                            f"{type(name).__name__}")
        self.name = name
        self.args = args
        self._ev = None
        self._rec = None

    def __enter__(self):
        rec = _active[0]
        if rec is not None:
            self._rec = rec
            self._ev = rec.open(self.name, None, user=True)
        return self

    def __exit__(self, *exc):
        if self._ev is not None:
            self._rec.close(self._ev)
            self._ev = self._rec = None
        return False

    def __call__(self, fn):
        name = self.name

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with record_function(name):
                return fn(*a, **k)
        return wrapper


def key_averages_of(prof, events, group_by_input_shape, group_by_stack_n):
    """``events.key_averages(...)`` for a profiler ``prof`` (legacy or torch.profiler's), which
    must have recorded what the grouping needs."""
    if group_by_input_shape and not prof.record_shapes:
        raise ValueError("key_averages(group_by_input_shape=True) needs the shapes: "
                         "profile with record_shapes=True")
    if group_by_stack_n and not prof.with_stack:
        raise ValueError("key_averages(group_by_stack_n=...) needs the stacks: profile "
                         "with with_stack=True")
    return events.key_averages(group_by_input_shape, group_by_stack_n)


class profile:
    """``torch.autograd.profiler.profile``: record the eager ops, VJP rules, jitted calls
    and ``record_function`` ranges run inside the ``with`` block (see the module docstring).

    ``record_shapes``: keep each op's input shapes (``key_averages(group_by_input_shape=
    True)``); ``profile_memory``: the bytes each op returned (the table's memory columns);
    ``with_stack``: the user frames of each event (``group_by_stack_n``). ``use_cuda`` /
    ``use_device`` are accepted; ember records the CPU only.
    """

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None,
                 acc_events=False, custom_trace_id_callback=None):
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self._rec = None
        self.function_events = None

    def __enter__(self):
        if self.enabled:
            self._rec = _start(self.record_shapes, self.profile_memory, self.with_stack)
        return self

    def __exit__(self, *exc):
        if self._rec is not None:
            self.function_events = _stop(self._rec)
            self._rec = None
        return False

    def _events(self):
        if self.function_events is None:
            raise RuntimeError("profiler: no results yet; read them after the 'with "
                               "profile(...)' block has ended")
        return self.function_events

    def events(self):
        return self._events()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        return key_averages_of(self, self._events(), group_by_input_shape, group_by_stack_n)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False):
        return self._events().table(sort_by, row_limit, max_src_column_width,
                                    max_name_column_width, max_shapes_column_width, header,
                                    top_level_events_only)

    def total_average(self):
        return self._events().total_average()

    @property
    def self_cpu_time_total(self):
        return self._events().self_cpu_time_total

    def export_chrome_trace(self, path):
        self._events().export_chrome_trace(path)

    def __str__(self):
        return self.table() if self.function_events is not None else "<unfinished profile>"
