"""``ember.profiler``: PyTorch's ``torch.profiler`` API over ``ember.autograd.profiler``.

``profile(activities=[ProfilerActivity.CPU], record_shapes=, profile_memory=, with_stack=,
schedule=schedule(wait=, warmup=, active=, repeat=), on_trace_ready=)`` records the eager
primitives, the VJP rules of the backward pass, jitted calls (one event each) and
``record_function`` ranges; ``prof.step()`` advances the schedule (each recorded step is a
``ProfilerStep#N`` range); ``prof.key_averages().table(sort_by=..., row_limit=...)`` prints
PyTorch's table; ``export_chrome_trace(path)`` and ``tensorboard_trace_handler(dir)`` write
Chrome trace JSON.

>>> from ember.profiler import profile, record_function, ProfilerActivity
>>> model = ember.nn.Linear(4, 2)
>>> with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
...     with record_function("model_inference"):
...         _ = model(ember.ones(3, 4))
>>> "model_inference" in prof.key_averages().table(sort_by="cpu_time_total")
True
"""
from __future__ import annotations

import enum
import gzip
import os
import socket
import time

from .autograd import profiler as _legacy
from .autograd.profiler import (  # noqa: F401
    EventList, FunctionEvent, FunctionEventAvg, record_function)

__all__ = ["profile", "record_function", "schedule", "ProfilerAction", "ProfilerActivity",
           "tensorboard_trace_handler", "supported_activities"]

class ProfilerActivity(enum.Enum):
    """What a profile records. ember runs on the CPU: the other kinds are accepted and
    record nothing."""
    CPU = 0
    CUDA = 1
    XPU = 2
    MTIA = 3
    MPS = 4
    HPU = 5
    PrivateUse1 = 6


def supported_activities():
    """The activities ember can record: ``{ProfilerActivity.CPU}``."""
    return {ProfilerActivity.CPU}


class ProfilerAction(enum.Enum):
    """What the profiler does in a step (the value a schedule returns)."""
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """A schedule for ``profile(schedule=...)``: skip ``skip_first`` steps, then cycles of
    ``wait`` idle steps, ``warmup`` steps and ``active`` recorded steps (the last of which
    hands the trace to ``on_trace_ready``), ``repeat`` times (0: forever).
    ``skip_first_wait=1`` skips the first cycle's wait.

    >>> s = ember.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
    >>> [s(i).name for i in range(5)]
    ['NONE', 'WARMUP', 'RECORD', 'RECORD_AND_SAVE', 'NONE']
    """
    for name, v in (("wait", wait), ("warmup", warmup), ("active", active),
                    ("repeat", repeat), ("skip_first", skip_first)):
        if not isinstance(v, int) or v < 0:
            raise ValueError(f"schedule: {name} must be a non-negative int, got {v!r}")
    if active < 1:
        raise ValueError(f"schedule: active must be at least 1 (the recorded steps), got "
                         f"{active}")
    if warmup == 0:
        import warnings
        warnings.warn("schedule: warmup=0 can skew the first recorded step (caches are "
                      "cold); use warmup >= 1", UserWarning, stacklevel=2)

    cycle = wait + warmup + active

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:  # the first cycle starts at its warmup
            step += wait
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


def _always_record(_step):
    return ProfilerAction.RECORD


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An ``on_trace_ready`` handler writing each trace to
    ``dir_name/<worker_name>.<time in ms>.pt.trace.json`` (``.gz`` with ``use_gzip``), the
    layout TensorBoard's profiler plugin reads. ``worker_name`` defaults to
    ``<hostname>_<pid>``."""
    os.makedirs(dir_name, exist_ok=True)

    def handler(prof):
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{name}.{time.time_ns() // 1_000_000}.pt.trace.json")
        if use_gzip:
            path += ".gz"
            tmp = path[:-3]
            prof.export_chrome_trace(tmp)
            with open(tmp, "rb") as src, gzip.open(path, "wb") as dst:
                dst.write(src.read())
            os.remove(tmp)
        else:
            prof.export_chrome_trace(path)
    return handler


class profile:
    """``torch.profiler.profile`` (see the module docstring). Without a ``schedule`` every
    step is recorded and ``on_trace_ready`` runs once when the profile stops."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None):
        if activities is not None:
            for a in activities:
                if not isinstance(a, ProfilerActivity):
                    raise TypeError(f"profile: activities must be ProfilerActivity values, "
                                    f"got {a!r}")
        self.activities = set(activities) if activities is not None else \
            supported_activities()
        self.schedule = schedule if schedule is not None else _always_record
        # with a schedule each recorded step is a ``ProfilerStep#N`` range (as PyTorch)
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.step_num = 0
        self.current_action = ProfilerAction.NONE
        self._rec = None
        self._step_ev = None
        self._events = None
        self._record_cpu = ProfilerActivity.CPU in self.activities

    # -- recording ---------------------------------------------------------------------

    def _begin(self):
        if self._rec is None and self._record_cpu:
            self._rec = _legacy._start(self.record_shapes, self.profile_memory,
                                       self.with_stack)

    def _open_step(self):
        if self._rec is not None and self.record_steps:
            self._step_ev = self._rec.open(f"ProfilerStep#{self.step_num}", None, user=True)

    def _close_step(self):
        if self._step_ev is not None:
            self._rec.close(self._step_ev)
            self._step_ev = None

    def _save(self):
        self._close_step()
        if self._rec is not None:
            self._events = _legacy._stop(self._rec)
            self._rec = None
        elif not self._record_cpu:
            self._events = EventList((), self.profile_memory)
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def start(self):
        self.step_num = 0
        self.current_action = self.schedule(0)
        if self.current_action in _RECORDING:
            self._begin()
            self._open_step()
        return self

    def stop(self):
        if self.current_action in _RECORDING:
            self._save()
        elif self._rec is not None:
            _legacy._stop(self._rec)
            self._rec = None
        self.current_action = ProfilerAction.NONE

    def step(self):
        """Mark the end of a training step: the schedule decides what the next one does."""
        prev = self.current_action
        self._close_step()
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        now = self.current_action
        if prev in _RECORDING and (prev is ProfilerAction.RECORD_AND_SAVE or
                                   now not in _RECORDING):
            self._save()
        if now in _RECORDING:
            self._begin()
            self._open_step()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- results -----------------------------------------------------------------------

    def events(self):
        """The events of the last saved trace."""
        if self._events is None:
            raise RuntimeError("profile: no trace has been recorded yet (read the results "
                               "after the 'with' block, or in on_trace_ready)")
        return self._events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        """The last trace's events averaged per name (see ``EventList.key_averages``)."""
        return _legacy.key_averages_of(self, self.events(), group_by_input_shape,
                                       group_by_stack_n)

    def export_chrome_trace(self, path):
        """Write the last trace as Chrome trace JSON (``.gz``: gzipped)."""
        if str(path).endswith(".gz"):
            tmp = str(path)[:-3]
            self.events().export_chrome_trace(tmp)
            with open(tmp, "rb") as src, gzip.open(path, "wb") as dst:
                dst.write(src.read())
            os.remove(tmp)
        else:
            self.events().export_chrome_trace(path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        """Write one line per recorded event, ``frame;frame;...;name <microseconds>``
        (the folded format flame-graph tools read; needs ``with_stack=True``)."""
        if not self.with_stack:
            raise ValueError("export_stacks: profile with with_stack=True")
        if metric not in ("self_cpu_time_total", "cpu_time_total"):
            raise ValueError(f"export_stacks: metric must be 'self_cpu_time_total' or "
                             f"'cpu_time_total', got {metric!r}")
        with open(path, "w") as f:
            for e in self.events():
                frames = ";".join(reversed(e.stack))
                f.write(f"{frames};{e.name} {int(getattr(e, metric))}\n")

