"""The eager optimizers' arithmetic: the update rules of ``update_rules`` evaluated with NumPy
ufuncs that write into the buffer a rule names (``into=``: the optimizer state, or one
scratch array), instead of a temporary per operation. Same operations in the same order as
``update_rules.Functional``, so the same bits (tests/optim/test_inplace.py checks this);
~2.5x faster on large tensors, where temporaries cost more than the arithmetic.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..backend import accel, namespace, threads
from . import update_rules


@functools.lru_cache(maxsize=64)
def _np_power(base, t):
    return float(np.power(np.asarray(base), np.asarray(t)))


def scalar_sqrt(x):
    """``sqrt`` for NumPy arrays and Python numbers: a Python float stays a Python float (a
    NumPy float64 scalar would promote float32 arrays to float64 under NumPy 2's rules)."""
    return math.sqrt(x) if isinstance(x, (int, float)) else np.sqrt(x)


SCRATCH_MIN = 8192  # arrays of fewer entries get no kept scratch buffer


class InPlace:
    """``update_rules``' arithmetic on NumPy arrays, in place where the rule says ``into``.
    The gradient is never written; a buffer made on the first step is a copy.

    ``keep_scratch``: ``scratch(like)`` hands out a view of a flat buffer that this object
    keeps (one per array type and dtype, as large as the largest such array seen: at most
    ``PIECE`` entries, as ``update`` runs larger parameters piece by piece; for arrays of
    8192 entries or more), so a rule's scratch array is not allocated anew per
    parameter and step (without ``backend.keep_freed_memory`` a large allocation may be a
    fresh mmap whose pages fault in anew at each step). A rule's scratch array lives until
    the next ``scratch`` call: the optimizer adds the update to the parameter before the
    next parameter's rule runs."""

    def __init__(self, keep_scratch=False):
        self.keep_scratch = keep_scratch
        self._flat = {}

    def scratch(self, like):
        n = like.size
        if n < SCRATCH_MIN or not self.keep_scratch:  # small arrays: allocating costs less
            return None
        key = (type(like), like.dtype)
        flat = self._flat.get(key)
        if flat is None or flat.size < n:
            flat = self._flat[key] = namespace(like).empty((n,), like.dtype)
        return flat[:n].reshape(like.shape)

    def twin(self):
        """An arithmetic like this one with a scratch buffer of its own (kept), for a
        kernel thread updating other pieces of the same parameter at the same time."""
        t = self.__dict__.get("_twin")
        if t is None:
            t = self._twin = InPlace(self.keep_scratch)
        return t

    @staticmethod
    def neg(x):
        return np.negative(x)

    @staticmethod
    def mul(x, y, into=None):
        return np.multiply(x, y, out=into)

    @staticmethod
    def add(x, y, into=None):
        return np.add(x, y, out=into)

    @staticmethod
    def div(x, y, into=None):
        return np.divide(x, y, out=into)

    @staticmethod
    def sqrt(x, into=None):
        if into is None:
            return scalar_sqrt(x)
        return np.sqrt(x, out=into)

    @staticmethod
    def maximum(x, y, into=None):
        return np.maximum(x, y, out=into)

    @staticmethod
    def power(base, t):
        """``base ** t`` through NumPy's float64 power, as the functional optimizers' traced
        step count computes it (NumPy 1.26's AVX-512 power differs from Python's in the last
        bit: 0.95 ** 2), returned as a Python float (weak in NumPy's promotion); one per
        (base, step) for all the parameters of a step."""
        return _np_power(float(base), float(t))

    @staticmethod
    def copy(x):
        return namespace(x).array(x, copy=True)

    @staticmethod
    def first(t, g, other):  # a copy: ``g`` may be the gradient or the scratch buffer
        return InPlace.copy(g) if t == 1 else other


IN_PLACE = InPlace()  # no kept scratch: rules allocate their one temporary


# Parameters above this many entries are updated piece by piece (PIECE entries at a time,
# 1 MiB of float32): the rule's scratch array and temporaries are one piece, not a copy of
# the whole parameter (VGG-11's 102.8M-entry classifier weight kept a 392 MiB scratch
# buffer), and a piece's passes stay in cache (one thread, loaded machine, CPU ms per step:
# Adam on text-lstm's 25000x100 embedding 18.4 -> 10.2, SGD with momentum 6.1 -> 4.0,
# SGD on 4096x2048 23.8 -> 17.6; pieces of 2^16 and 2^19 entries were slower). The rules
# are elementwise, and a NumPy ufunc gives each element the same bits whatever slice it runs
# on, so the result is the whole-array update's, bit for bit (tests/optim/test_inplace.py).
PIECE = 1 << 18


def update(rule, arith, p, g, state, t, hp, cast=False, piece=None):
    """One in-place step of an elementwise update rule: ``p += rule(...)`` and the rule's new
    state written into ``state`` (a dict: the arrays it holds are updated where they live;
    arrays the rule makes, such as SGD's first momentum buffer, are added). ``cast``: the
    update is cast to ``p``'s dtype before the add. Arrays of more than ``piece`` entries
    (``PIECE`` by default) whose parameter, gradient and state are C-contiguous NumPy arrays
    of one shape are updated ``piece`` entries at a time."""
    piece = PIECE if piece is None else piece
    n = p.size
    if n >= COMPILED_MIN and _compiled_update(rule, p, g, state, t, hp):
        return
    if n > piece and _flat_ok(p, g, state):
        _update_pieces(rule, arith, p, g, state, t, hp, cast, piece)
        return
    delta, new = rule(arith, p, g, state, t, **hp)
    state.update(new)  # in place: the same buffers, updated
    if cast:
        delta = np.asanyarray(delta, dtype=p.dtype)  # keeps the device
    p += delta


def _flat_ok(p, g, state):
    if type(p) is not np.ndarray or type(g) is not np.ndarray or g.shape != p.shape or \
            not p.flags.c_contiguous or not g.flags.c_contiguous:
        return False
    for v in state.values():
        if isinstance(v, np.ndarray) and v.ndim and (
                type(v) is not np.ndarray or v.shape != p.shape or not v.flags.c_contiguous):
            return False
    return True


def _update_pieces(rule, arith, p, g, state, t, hp, cast, piece):
    n = p.size
    pf, gf = p.reshape(-1), g.reshape(-1)
    before = dict(state)  # what each piece's rule sees (of the arrays: its piece)
    flat = {k: v.reshape(-1) for k, v in before.items()
            if isinstance(v, np.ndarray) and v.ndim}
    out = dict(flat)  # where the pieces' new state goes

    def pieces(starts, arith):
        for i in starts:
            sl = slice(i, min(i + piece, n))
            s = dict(before)
            for k, v in flat.items():
                s[k] = v[sl]
            delta, new = rule(arith, pf[sl], gf[sl], s, t, **hp)
            for k, v in new.items():
                if isinstance(v, np.ndarray) and v.ndim:
                    if v is s.get(k):
                        continue  # updated where it lives
                    full = out.get(k)
                    if full is None:  # a state array the rule made (SGD's first momentum
                        full = out[k] = np.empty(n, v.dtype)  # buffer): by the first piece
                        state[k] = full.reshape(p.shape)
                    full[sl] = v
                else:
                    state[k] = v
            if cast:
                delta = np.asarray(delta, dtype=p.dtype)
            pf[sl] += delta

    starts = range(0, n, piece)
    k = threads.SPLIT_MIN_PIECES  # (from k pieces: the first, then the rest in two halves)
    if k is None or len(starts) < k or threads.cores < 2:
        pieces(starts, arith)
        return
    pieces(starts[:1], arith)  # (makes the state arrays the rule makes)
    rest = starts[1:]
    half = (len(rest) + 1) // 2
    # (``pieces`` must not refer to itself: such a closure is a reference cycle that keeps
    # the gradient alive until the cyclic collector runs: VGG-11's eager peak +500 MB)
    threads.run_parts(pieces, [(rest[:half], arith), (rest[half:], arith.twin())])


# ---- one compiled pass (numba_kernels.ew_run) ----------------------------------------------
# With numba (backend/accel.py), a float32 parameter of COMPILED_MIN entries or more whose rule
# is float32 arithmetic that NumPy rounds exactly (SGD and Adam: mul, add, div, sqrt, neg by
# Python-number scalars) is updated in ONE compiled pass: the rule's operations are recorded
# (_Recorder: the same calls, in the same order, with the same scalars) as a chain for the
# interpreter that runs jit plans' optimizer chains (transforms/staging/pieces.Run), block
# by block of 2048 entries, every entry's steps in the rule's order: NumPy's bits (tests/
# optim/test_inplace.py). Anything else (a state array the rule makes, as SGD's first
# momentum buffer; maximum; a NumPy float64 scalar, which NumPy 2 does not treat as weak;
# an errstate that raises) takes the ufunc path above. The optimizer's step, median ms,
# alternating: mnist-cnn's Adam (its (128, 6272) weight) 2.46 -> 1.84 within the eager
# training step (1.97 -> 1.13 with the arrays in cache), text-lstm's 5.28 -> 4.68; ResNet-18's
# SGD with momentum is memory-bound either way (10.3 / 10.4). Below PIECE entries the
# compiled call's overhead ate the gain (32768 entries: Adam 0.046 vs 0.056 ms).
COMPILED_MIN = PIECE


class _Abort(Exception):
    pass


# the rules written with the arithmetic object's operations only (the others use Python's
# operators on their values: RMSprop, Adagrad)
_RECORDED = (update_rules.sgd, update_rules.adam)


class _Ref:
    """An array in a recorded chain: its operand code (slot, or -1 - scratch row)."""
    __slots__ = ("code",)

    def __init__(self, code):
        self.code = code


class _Recorder:
    """``update_rules``' arithmetic recorded as rows (op, dst, a, b) for ew_run."""

    def __init__(self, K):
        self.K, self.rows, self.scal, self.ntmp = K, [], [], 0

    def _tmp(self):
        self.ntmp += 1
        return _Ref(-self.ntmp)

    def _operand(self, x):
        if isinstance(x, _Ref):
            return x.code
        if type(x) in (int, float) or type(x) is np.float32:
            self.scal.append(x)
            return self.K.EW_SCALAR + len(self.scal) - 1
        raise _Abort

    def _step(self, name, into, *xs):
        if not any(isinstance(x, _Ref) for x in xs) or \
                (into is not None and not isinstance(into, _Ref)):
            raise _Abort
        ops = [self._operand(x) for x in xs]
        dst = into if into is not None else self._tmp()
        if dst.code in (0, 1):  # (the rule never writes the parameter or the gradient)
            raise _Abort
        self.rows.append([self.K.EW_OPS[name], dst.code] + ops + [0] * (2 - len(ops)))
        return dst

    def neg(self, x):
        return self._step("neg", None, x)

    def mul(self, x, y, into=None):
        return self._step("mul", into, x, y)

    def add(self, x, y, into=None):
        return self._step("add", into, x, y)

    def div(self, x, y, into=None):
        return self._step("div", into, x, y)

    def sqrt(self, x, into=None):
        return self._step("sqrt", into, x) if isinstance(x, _Ref) else scalar_sqrt(x)

    def maximum(self, x, y, into=None):
        raise _Abort

    power = staticmethod(InPlace.power)

    def copy(self, x):
        raise _Abort

    def scratch(self, like):
        return self._tmp()

    def first(self, t, g, other):
        if t == 1:
            raise _Abort
        return other


def _compiled_update(rule, p, g, state, t, hp):
    """``update`` as one ew_run call (see above): True when it ran, else False (nothing
    written)."""
    K = accel.kernels_for(p, g)
    arrays = [v for v in state.values() if isinstance(v, np.ndarray) and v.ndim]
    if rule not in _RECORDED or K is None or not _flat_ok(p, g, state) or \
            not p.flags.writeable or \
            2 + len(arrays) > K.EW_SLOTS or any(a.dtype != np.float32 or
                                                  not a.flags.writeable for a in arrays) or \
            any(v not in ("ignore", "warn") for v in np.geterr().values()):
        return False
    rec = _Recorder(K)
    refs, s, k = {}, {}, 2
    for name, v in state.items():
        if isinstance(v, np.ndarray) and v.ndim:
            s[name] = refs[name] = _Ref(k)
            k += 1
        else:
            s[name] = v
    try:
        delta, new = rule(rec, _Ref(0), _Ref(1), s, t, **hp)
        if not isinstance(delta, _Ref) or any(
                new.get(name) is not r for name, r in refs.items()) or \
                any(isinstance(v, _Ref) and name not in refs for name, v in new.items()):
            raise _Abort
        rec.rows.append([K.EW_OPS["add"], 0, 0, delta.code])  # p += delta
    except _Abort:
        return False
    n, m = p.size, threads.SPLIT_MIN_PIECES
    threads.run_ew(K, np.array(rec.rows, np.int32), np.array([0, len(rec.rows)], np.int32),
                   np.array(rec.scal or [0.0], np.float32), rec.ntmp,
                   [a.reshape(-1) for a in [p, g] + arrays],
                   n, m is not None and -(-n // PIECE) >= m)  # (as the ufunc path splits)
    for name, v in new.items():
        if not isinstance(v, _Ref):
            state[name] = v
    return True
