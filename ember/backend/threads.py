"""The second core for kernels whose work splits into independent parts.

NumPy releases the GIL inside its ufunc loops and BLAS calls, so two Python threads that each
run a loop of NumPy calls over their own rows (an LSTM's recurrence over two halves of the
batch) use two cores. :func:`run_parts` runs the first part in the calling thread and the
others in a small pool of kernel threads; the parts are fixed by the caller from shapes
alone, so the result's bits never depend on how many cores there are (with one core the
parts run one after the other). While parts run in parallel, OpenBLAS is held to one thread
(:func:`blas_single_thread`): two callers each asking for its two threads would oversubscribe
the cores and spin.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import numpy as np

# how many processes of a launched job share this host, first match wins (ember/_blas_env.py,
# which must not import NumPy, holds the names)
from .._blas_env import LOCAL_RANKS_VARS as _LOCAL_RANKS_VARS


def _count_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1




def thread_budget(environ=None) -> int:
    """How many cores this process's kernels may use: the cores it may run on, at most
    ``OMP_NUM_THREADS`` when that is set (as PyTorch's intra-op threads; ``ember run -n N``
    and spawned worlds set it to cores // N), else their share when a launcher started
    several processes on this host (``mpiexec -n 2 python ...``): with one core per rank, no
    kernel thread competes with the other rank for it."""
    env = os.environ if environ is None else environ
    n = _count_cores()
    omp = env.get("OMP_NUM_THREADS", "").split(",")[0].strip()  # (OpenMP allows "4,2")
    if omp.isdigit() and int(omp) > 0:
        return min(n, int(omp))
    for var in _LOCAL_RANKS_VARS:
        v = env.get(var, "").strip()
        if v.isdigit() and int(v) > 1:
            return max(1, n // int(v))
    return n


cores = thread_budget()  # kernel threads run parts in parallel only when this is 2 or more

_pool = None
_pool_lock = threading.Lock()


def _get_pool():
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                from concurrent.futures import ThreadPoolExecutor
                _pool = ThreadPoolExecutor(max(1, min(cores, 4) - 1),
                                           thread_name_prefix="ember-kernel")
    return _pool


def _forget_pool():  # a forked child has none of its parent's threads, and no lock held
    global _pool, _pool_lock, _depth, _saved, _blas_lock
    _pool, _pool_lock, _depth, _saved, _blas_lock = None, threading.Lock(), 0, [], \
        threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


# ---- OpenBLAS's thread count while kernel threads run ------------------------------------

_blas = None  # the BLAS thread-pool controllers (threadpoolctl), found once
_depth = 0
_saved: list = []
_blas_lock = threading.Lock()


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas = [c for c in ThreadpoolController().lib_controllers
                     if c.user_api == "blas"]
        except Exception:  # threadpoolctl missing or unable to read the libraries
            _blas = []
    return _blas


@contextmanager
def blas_single_thread():
    """BLAS calls inside run on one thread each (when threadpoolctl can set it); nested and
    concurrent uses restore the thread counts when the last one leaves."""
    global _depth, _saved
    with _blas_lock:
        if _depth == 0:
            _saved = []
            for c in _blas_controllers():
                n = c.get_num_threads()
                if n != 1:
                    c.set_num_threads(1)
                    _saved.append((c, n))
        _depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _depth -= 1
            if _depth == 0:
                for c, n in _saved:
                    c.set_num_threads(n)
                _saved = []


def run_parts(fn, parts):
    """``[fn(*p) for p in parts]``, the parts on separate threads when this process may use
    more than one core. The parts must write disjoint memory. Called from a kernel thread
    itself, the parts run there one after another (the pool may have no thread to spare).
    Every part runs under the caller's floating-point error handling (``np.errstate`` is
    per thread)."""
    if len(parts) < 2 or cores < 2 or threading.current_thread().name.startswith("ember-kernel"):
        return [fn(*p) for p in parts]
    pool = _get_pool()
    err = np.geterr()
    with blas_single_thread():
        futures = [pool.submit(_under_errstate, err, fn, p) for p in parts[1:]]
        try:
            first = fn(*parts[0])
        finally:
            rest = [f.result() for f in futures]  # waits for all, re-raises the first error
    return [first] + rest


def _under_errstate(err, fn, args):
    with np.errstate(**err):
        return fn(*args)


# From this many pieces, a chain of elementwise passes over one large array run piece by piece
# (an optimizer's update: the eager optimizers' optim/inplace.update, jit plans'
# transforms/staging/pieces.Run) runs half of its pieces on a kernel thread; the pieces are
# disjoint and each entry's bits are the same on either thread. (Session 14 saw no gain on a
# loaded machine while OpenBLAS's idle threads spun on the second core; with that spin cut
# (ember/_blas_env.py), interleaved in one process, medians: VGG-11 jit 758 -> 721 ms, eager
# 784 -> 740; text-lstm jit 236 -> 233, eager 250 -> 243.) None: never.
SPLIT_MIN_PIECES = 4


def halves(n: int, min_rows: int) -> list:
    """Row ranges for splitting ``n`` rows in two when each half has ``min_rows`` or more
    (decided from the shape alone, so that the split, and with it the bits, is the same on
    every machine); one range otherwise."""
    if n >= 2 * min_rows and n >= 2:
        m = (n + 1) // 2
        return [(0, m), (m, n)]
    return [(0, n)]


def wavefront(first, second, blocks, parallel, first_tail=None, second_tail=None):
    """``first(a, b)`` over ``blocks`` in order, and ``second(a, b)`` over the same blocks,
    each after ``first`` has finished that block (a pipeline of two stages: two layers of a
    recurrence, layer 2 on block k while layer 1 runs block k+1); then ``first_tail()`` and
    ``second_tail()`` (on the threads of their stages).

    ``parallel``: ``second`` runs on a kernel thread, handed each block by one
    ``threading.Event`` (no pool submit per block), while the calling thread runs ``first``
    and ``first_tail``. Otherwise (or with one core, or from a kernel thread itself)
    everything runs on the calling thread, block by block. BLAS is held to one thread in
    both schedules: OpenBLAS's products can round differently with two threads than with
    one, and the stages must compute the same bits in either schedule (each writes its own
    memory and reads what the other has finished)."""
    with blas_single_thread():
        if not parallel or cores < 2 or len(blocks) < 2 or \
                threading.current_thread().name.startswith("ember-kernel"):
            for a, b in blocks:
                first(a, b)
                second(a, b)
            if first_tail is not None:
                first_tail()
            if second_tail is not None:
                second_tail()
            return
        _wave_threads(first, second, blocks, first_tail, second_tail)


def _wave_threads(first, second, blocks, first_tail, second_tail):
    ready = [threading.Event() for _ in blocks]
    stop = []  # set when `first` failed: `second` leaves without waiting for more blocks

    def run_second():
        for k, (a, b) in enumerate(blocks):
            ready[k].wait()
            if stop:
                return
            second(a, b)
        if second_tail is not None:
            second_tail()

    fut = _get_pool().submit(run_second)
    try:
        for k, (a, b) in enumerate(blocks):
            first(a, b)
            ready[k].set()
        if first_tail is not None:
            first_tail()
    except BaseException:
        stop.append(True)
        for ev in ready:
            ev.set()
        try:
            fut.result()  # wait: `second` must not write after we return
        except BaseException:
            pass  # the first error is the one raised
        raise
    fut.result()  # re-raises an error of `second`
