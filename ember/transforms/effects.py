"""What traced code does besides computing its outputs, so that ``jit`` keeps PyTorch's
stateful semantics:

- draws from a stateful generator (dropout masks, ``ember.rand`` ...): the trace takes one
  key per generator as a hidden input; every call draws a fresh key from the generator, and
  each draw inside is ``random.fold_in(key, i)``. Calls differ, seeds reproduce, and
  ``jit(f, debug=True)`` / ``disable_jit`` draw the same keys, so they match bit for bit.
- reads of ``Module.training``: the compiled plan is only reused while every module read
  during the trace is in the same mode (``model.eval()`` retraces, and says so).
- updates of module buffers (BatchNorm's running statistics): the new values are extra
  outputs of the plan, written into the buffers after each call.
- module buffers read during the trace stay live constants (never folded at compile time).

Under ``vmap`` the ``randomness`` argument decides, as in ``torch.func.vmap``: "error" (the
default), "same" (one draw shared by every example) or "different" (one per example).
"""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Tracer
from ..core.state import tls as _tls
from ..core.tensor import Tensor
from ..ops.prng_ops import fold_in_key, key_bits32


class Effects:
    """The side channels of one trace (``global_data.effects`` of a jit stage)."""

    __slots__ = ("gens", "key_vars", "slots", "ops", "updates", "reads", "live")

    def __init__(self):
        self.gens = []       # generators drawn from, in first-use order
        self.key_vars = []   # the graph input holding each generator's key
        self.slots = {}      # id(generator) -> [key tracer, draws so far]
        self.ops = []        # the operations that drew (for error messages)
        self.updates = []    # (buffer tensor, its new value)
        self.reads = {}      # id(module) -> (module, the training flag read)
        self.live = {}       # id -> module buffer read: never constant-folded

    def __bool__(self):
        return bool(self.gens or self.updates or self.reads or self.live)

    def finish(self):
        """Drop the trace's tracers once the graph is built; returns self."""
        self.slots.clear()
        self.updates = [(buf, None) for buf, _ in self.updates]
        return self

    def modes_hold(self):
        """True while every module read during the trace is in the mode it was then."""
        return all(m.training == v for m, v in self.reads.values())

    def describe_modes(self):
        return "; ".join(f"{type(m).__name__}.training: {v} -> {not v}"
                         for m, v in self.reads.values() if m.training != v)

    def keys(self, name):
        """The keys one call of the plan takes (drawn now, one per generator; under vmap
        with randomness="different", one per example)."""
        op = f"{name} ({', '.join(self.ops)} inside)"
        return [draw_keys(g, op) for g in self.gens]

    def write_back(self, outs):
        """Write the plan's trailing outputs into the buffers; returns the others."""
        n = len(outs) - len(self.updates)
        for (buf, _), v in zip(self.updates, outs[n:]):
            update_buffer(buf, v)
        return outs[:n]

    def note_live(self):
        """Inside an enclosing trace the buffers stay live there too."""
        for buf in self.live.values():
            note_buffer_read(buf)


def _stage(keys=False):
    """(the innermost jit stage on the trace stack or None, the vmap levels above it,
    innermost first). With ``keys``, a scan body being staged counts as a stage too: it
    takes its own key per iteration, and a checkpointed function its own key per call."""
    batched = []
    for m in reversed(_tls.stack[1:]):
        name = m.trace_type.__name__
        if name == "StageTrace" or (keys and name == "CaptureTrace" and m.origin in ("scan", "checkpoint")):
            return m, batched
        if name == "BatchTrace":
            batched.append(m)
    return None, batched


def _loop_body():
    """The while loop whose body is being staged (a draw there would repeat), or None."""
    for m in reversed(_tls.stack[1:]):
        if m.trace_type.__name__ == "CaptureTrace" and (m.origin or "").startswith("while"):
            return m.origin
    return None




class eager_keys:
    """Around an eager run of a jitted function (debug / disable_jit): stateful draws use the
    keys the compiled plan would use: per generator one key, taken from the generator (or,
    nested in another such run, from the enclosing run's keys), folded with the draw's index.
    """

    def __enter__(self):
        self.prev = _tls.debug_keys
        _tls.debug_keys = {"parent": self.prev}

    def __exit__(self, *exc):
        _tls.debug_keys = self.prev
        return False


class loop_keys:
    """Around the eager loop of a scan/fori_loop: inside a debug run each iteration draws from
    its own key, as the staged scan does (a sequence of keys taken once per loop); elsewhere
    it does nothing."""

    def __init__(self, length):
        self.length = length

    def __enter__(self):
        self.prev = _tls.debug_keys
        if self.prev is not None:
            _tls.debug_keys = {"parent": self.prev, "loop": self, "seqs": {}}
        return self

    def at(self, i):
        """Start iteration ``i`` (its index in the key sequence)."""
        if self.prev is not None:  # this iteration's slots start afresh
            self.i = i
            scope = _tls.debug_keys
            for k in [k for k in scope if isinstance(k, int)]:
                del scope[k]

    def __exit__(self, *exc):
        _tls.debug_keys = self.prev
        return False


def _scope_slot(scope, g):
    slot = scope.get(id(g))
    if slot is None:
        parent = scope["parent"]
        loop = scope.get("loop")
        if loop is not None:  # this iteration's key from the loop's sequence
            seq = scope["seqs"].get(id(g))
            if seq is None:
                seq = scope["seqs"][id(g)] = _keyed_keys(_fold_next(_scope_slot(parent, g)),
                                                         (loop.length,))
            base = seq[loop.i]
        else:
            base = _fresh_keys(g._rng, ()) if parent is None else \
                _fold_next(_scope_slot(parent, g))
        slot = scope[id(g)] = [base, 0]
    return slot


def _fold_next(slot):
    slot[1] += 1
    return fold_in_key(slot[0], Tensor._wrap(np.array(slot[1] - 1, np.uint32)))


def _fresh_keys(rng, shape):
    """Keys (``shape + (2,)`` uint32) taken from a generator's NumPy stream."""
    return Tensor._wrap(rng.integers(0, 2 ** 32, size=tuple(shape) + (2,), dtype=np.uint32))


def draw_keys(generator, op, shape=()):
    """Keys for plans and scan steps, drawn like any other stateful draw."""
    return draw(generator, op, shape, _keyed_keys, _fresh_keys)


def plain_eager():
    """Whether a stateful draw made now comes from the NumPy stream as it is: no transform
    (jit trace, grad, vmap) and no eager debug run of a jitted function is active."""
    return len(_tls.stack) == 1 and _tls.debug_keys is None


def draw(generator, op, shape, keyed, eager):
    """One draw of ``shape`` from the stateful ``generator``.

    ``keyed(key, shape)`` draws from an explicit key, ``eager(rng, shape)`` from the NumPy
    generator. Eagerly the NumPy stream is used; inside a jit trace (or its debug run) the
    draw is keyed (see the module docstring). Under ``vmap`` the level's ``randomness``
    decides: "error" raises, "same" draws one value for every example, "different" draws one
    per example (the batch axes are prepended to the draw and become batch dims)."""
    g = generator
    if plain_eager():
        return eager(g._rng, shape)
    stage, levels = _stage(keys=True)
    diff = []
    for m in reversed(levels):  # outermost first
        mode, size = m.global_data  # vmap's (randomness, axis size)
        if mode == "error":
            raise ValueError(
                f"{op}: the stateful random generator under vmap: pass vmap(..., "
                f"randomness='different') for independent draws per example or 'same' for "
                f"one draw shared by all (as torch.func.vmap), or draw from explicit keys: "
                f"ember.random.split(key, batch) and vmap over the keys (e.g. "
                f"ember.random.bernoulli(k, 1 - p, x.shape) for a dropout mask)")
        if mode == "different":
            diff.append((m, size))
    full = tuple(n for _, n in diff) + tuple(shape)
    key = _next_key(g, op, stage)
    v = eager(g._rng, full) if key is None else keyed(key, full)
    from .batching import BatchTrace, BatchTracer
    for m, _ in diff:
        v = BatchTracer(BatchTrace(m), v, 0)
    return v


def _next_key(g, op, stage):
    """The key of the next draw from ``g`` inside a jit trace or an eager debug run of a
    jitted function; None for a plain draw (e.g. grad of eager code)."""
    loop = _loop_body()
    if loop is not None:
        raise ValueError(
            f"{op}: a stateful random draw inside a while_loop body staged once for all "
            f"iterations ({loop}, under jit, grad or vmap) would give the same numbers in "
            f"every iteration. Use scan or fori_loop with Python-int bounds (they take a key "
            f"per iteration), or carry an explicit key: split it in the body with "
            f"ember.random.split(key) and draw with ember.random")
    if stage is not None:
        fx = stage.global_data.effects
        slot = fx.slots.get(id(g))
        if slot is None:
            key = stage.trace_type(stage).new_input(Aval((2,), _dt.uint32))
            fx.gens.append(g)
            fx.key_vars.append(key.gvar)
            slot = fx.slots[id(g)] = [key, 0]
        if op not in fx.ops:
            fx.ops.append(op)
    else:
        scope = _tls.debug_keys
        if scope is None:
            return None
        slot = _scope_slot(scope, g)
    return _fold_next(slot)


def _keyed_keys(key, shape):
    return key if not shape else key_bits32(key, tuple(shape) + (2,))


def note_training_read(module, value):
    stage, _ = _stage()
    if stage is not None:
        stage.global_data.effects.reads.setdefault(id(module), (module, value))


def note_buffer_read(buf):
    stage, _ = _stage()
    if stage is not None and isinstance(buf, Tensor):
        stage.global_data.effects.live[id(buf)] = buf


def update_buffer(buf, new):
    """Set a module buffer to ``new`` (BatchNorm's running statistics): at once when both are
    concrete; inside a jit trace, as an extra output written after each call; under other
    transforms (vmap, grad of eager code) the buffer is left alone."""
    if isinstance(buf, Tracer):
        return
    if not isinstance(new, Tracer):
        # a buffer is state, not part of the graph (as PyTorch updates running statistics
        # under no_grad): the jitted call's tape node must not become its grad_fn
        buf.copy_(new.detach())
        return
    stage, batched = _stage()
    if stage is None or batched:
        return
    while isinstance(new, Tracer) and new._trace.main is not stage:
        new = getattr(new, "primal", None)  # under grad/jvp inside the jit: the primal value
        if new is None:
            return
    stage.global_data.effects.updates.append((buf, new))
