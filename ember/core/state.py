"""Per-thread interpreter state: grad mode, the interpreter stack and the dynamic trace.

As in PyTorch, grad mode is a property of the thread: ``no_grad`` in one thread does not
change another thread's recording, and a new thread starts with grad mode on. The stack of
active transforms (jit staging, vmap, grad, jvp) is per thread as well, so tracing in one
thread never captures another thread's eager work.

Reading thread-local storage costs more than reading a module global, and ``bind`` reads
this state on every primitive. Two process-wide counters make the common case cheap:
``transform_levels[0]`` counts the transform levels pushed in all threads and
``grad_off_threads[0]`` counts the threads whose grad mode is off. When a counter is 0, no
thread has that state, so the hot path skips the thread-local read. Each thread raises a
counter before it changes its own state and lowers it after, so a thread reading 0 never
misses a level or a no_grad of its own (other threads' changes only make the check take the
thread-local path). The counters change only under ``lock``. ``autocast_threads[0]`` does
the same for ``ember.autocast``: public functions on the autocast lists test it before
reading the thread's autocast dtype.

What stays process-wide (as in PyTorch): the default dtype (``set_default_dtype``), the
global generator (``manual_seed``; NumPy's generator locks each draw), and the caches of
compiled plans (keyed by what they compile; two threads may compile the same entry once
each, and either result is the same plan).
"""
from __future__ import annotations

import threading

lock = threading.Lock()
transform_levels = [0]  # transform levels pushed, summed over all threads
grad_off_threads = [0]  # threads whose grad mode is off
axis_frames = [0]  # named-axis frames in scope, summed over all threads
autocast_threads = [0]  # threads inside an enabled ember.autocast region
# eager layers active (core.primitive.add_eager_layer: the profiler, forward-mode dual
# numbers). While one is, transform_levels[0] is raised by one too, so that a fast path that
# skips bind when transform_levels[0] is 0 takes its checked path and tests this counter.
eager_layers = [0]
# ``listener(target, out)`` after an in-place op wrote ``out``'s value into ``target``,
# called while an eager layer is active (forward_ad moves the tangent)
inplace_listeners: list = []

_eval_main = []  # the level-0 interpreter (set once by core.primitive)


class ThreadState(threading.local):
    """One thread's state. A new thread starts with grad mode on and no transform active."""

    def __init__(self):
        self.grad_enabled = True
        self.stack = list(_eval_main)  # index 0: the eager evaluator (level 0)
        self.dynamic = None  # a staging trace that captures even constants
        self.debug_keys = None  # the key scope of a jitted function run eagerly (effects.py)
        self.backward_callbacks = []  # per running backward pass: its queued callbacks
        self.autocast = None  # the lower-precision DType of an enabled autocast region
        self.axis_env = []  # the named axes in scope, innermost last (AxisFrame)


tls = ThreadState()


def set_eval_main(main):
    """Install the level-0 interpreter every thread's stack starts with."""
    _eval_main[:] = [main]
    if not tls.stack:  # this (the importing) thread's state was made before
        tls.stack.append(main)


def grad_enabled() -> bool:
    """Whether this thread records the autograd tape."""
    return not grad_off_threads[0] or tls.grad_enabled


def set_grad(mode: bool) -> bool:
    """Set this thread's grad mode; returns the previous mode."""
    state = tls
    prev = state.grad_enabled
    mode = bool(mode)
    if prev and not mode:
        with lock:
            grad_off_threads[0] += 1
        state.grad_enabled = False
    elif mode and not prev:
        state.grad_enabled = True
        with lock:
            grad_off_threads[0] -= 1
    return prev


def autocast_dtype():
    """The dtype this thread's enabled ``ember.autocast`` region casts to, or None. Callers
    on a hot path test ``autocast_threads[0]`` first (0: no thread has autocast on)."""
    return tls.autocast if autocast_threads[0] else None


def set_autocast(dtype):
    """Set this thread's autocast dtype (None: off); returns the previous one."""
    state = tls
    prev = state.autocast
    if prev is None and dtype is not None:
        with lock:
            autocast_threads[0] += 1
        state.autocast = dtype
    elif prev is not None and dtype is None:
        state.autocast = None
        with lock:
            autocast_threads[0] -= 1
    else:
        state.autocast = dtype
    return prev


def push_level(main):
    with lock:
        transform_levels[0] += 1
    tls.stack.append(main)


def pop_level():
    main = tls.stack.pop()
    with lock:
        transform_levels[0] -= 1
    return main


class AxisFrame:
    """A named axis in scope: ``vmap(f, axis_name=name)`` (``main`` is its interpreter level)
    or one rank of an SPMD program over a process group (``main`` None, ``comm`` the
    communicator the collectives run on). Named-axis collectives (``ember.lax.psum``, ...)
    find their axis here."""

    __slots__ = ("name", "size", "main", "comm")

    def __init__(self, name, size, main=None, comm=None):
        self.name = name
        self.size = size
        self.main = main
        self.comm = comm

    def __repr__(self):
        return f"AxisFrame({self.name!r}, size={self.size})"


def axis_frame(name):
    """The innermost frame binding the axis ``name`` in this thread, or None."""
    for f in reversed(tls.axis_env):
        if f.name == name:
            return f
    return None


# the SPMD frames of the named axes a pmap over the ranks of a process group has bound
# (name -> AxisFrame with a communicator), kept after the call: a backward pass that runs
# after the mapped function returned (the eager tape, a compiled backward plan) still runs
# its collectives on that communicator. Only derivative rules reach these; a collective
# written by the user still needs its axis in scope.
spmd_axes = {}


class bind_axis:
    """Context manager putting an :class:`AxisFrame` in scope (in this thread)."""

    def __init__(self, frame):
        self.frame = frame

    def __enter__(self):
        with lock:
            axis_frames[0] += 1
        tls.axis_env.append(self.frame)
        return self.frame

    def __exit__(self, *exc):
        env = tls.axis_env
        env.remove(self.frame) if env[-1] is not self.frame else env.pop()
        with lock:
            axis_frames[0] -= 1
        return False


def axis_key():
    """The named axes in scope as a hashable key ((name, size), ...) or () (jit's cache key:
    a graph traced under an axis of one size is not the graph for another)."""
    if not axis_frames[0]:
        return ()
    return tuple((f.name, f.size) for f in tls.axis_env)


def transforms_active() -> bool:
    """Whether a transform (jit staging, vmap, grad, jvp) is active in this thread."""
    return bool(transform_levels[0]) and len(tls.stack) > 1
