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

import functools
import os
import threading
import time
from contextlib import contextmanager

import numpy as np

# how many processes of a launched job share this host, first match wins (ember/_blas_env.py,
# which must not import NumPy, holds the names)
from .. import _blas_env
from .._blas_env import LOCAL_RANKS_VARS as _LOCAL_RANKS_VARS

_monotonic = time.monotonic
_main_ident = threading.main_thread().ident


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
    global _pool, _pool_lock, _depth, _saved, _blas_lock, _host
    _pool, _pool_lock, _depth, _saved, _blas_lock = None, threading.Lock(), 0, [], \
        threading.Lock()
    _host = None


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
        except Exception:  # threadpoolctl missing or unable to read the libraries: NumPy's
            # OpenBLAS through its own functions, where found
            lib = _numpy_openblas()
            _blas = [_OpenBLASThreads(lib)] if lib is not None else []
    return _blas


def _numpy_openblas():
    """NumPy's OpenBLAS with its thread-count functions (ember/_blas_env.py), or None."""
    from .. import _blas_env
    lib = _blas_env.numpy_openblas()
    ok = lib is not None and all(_blas_env.symbol(lib, f) is not None for f in (
        "openblas_get_num_threads", "openblas_set_num_threads"))
    return lib if ok else None


class _OpenBLASThreads:
    """threadpoolctl's get/set_num_threads for NumPy's OpenBLAS, without threadpoolctl."""

    def __init__(self, lib):
        from .._blas_env import symbol
        self._get = symbol(lib, "openblas_get_num_threads")
        self._set = symbol(lib, "openblas_set_num_threads")

    def get_num_threads(self):
        return int(self._get())

    def set_num_threads(self, n):
        self._set(int(n))


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


# ---- the kernel threads: OpenBLAS's own workers ---------------------------------------------
# The parts after the first run on NumPy's OpenBLAS's worker threads where it has them (its
# exported gotoblas_pthread: the first part on the calling thread, the others on its
# workers, returning when all have), else on a pool of Python threads. A worker spins for a
# while after each job (ember/_blas_env.py), so one thread per core serves both OpenBLAS's
# threaded products and ember's parts; with a pool beside it, a pool thread and a spinning
# worker shared the second core, and after the process idled for 50 ms or more the handoffs
# between them were slow for two or three steps (ember bench's pattern: a 0.25 s pause, one
# step, then the timed steps). In-process A/B, medians by position after a 0.25 s pause, ms:
# LeNet at batch 128, compiled, 19.6 13.2 16.1 11.8 10.9 10.0 -> 10.4 9.6 9.5 9.2 8.8 9.0;
# mnist-cnn 16.6 9.7 9.6 9.7 9.5 8.4 -> 8.6 9.3 8.1 7.9 7.8 8.0; LeNet at batch 32 and
# text-lstm the same. OpenBLAS is held to one thread while parts run (blas_single_thread;
# a threaded product from a part on the worker would wait for that worker itself), and
# the workers are used only while it is. EMBER_BLAS_WORKERS=0 (or EMBER_BLAS_TUNING=0) keeps
# the pool.

_local = threading.local()  # .inside: a part running on OpenBLAS's threads (this thread)
_host = None


def _in_kernel_thread():
    return threading.current_thread().name.startswith("ember-kernel") or \
        getattr(_local, "inside", False)


class _OpenBLASWorkers:
    """Runs zero-argument functions at once, the first on the calling thread and the others
    on NumPy's OpenBLAS's worker threads (gotoblas_pthread); one run at a time."""

    def __init__(self, lib):
        import ctypes
        self._ct = ctypes
        self._go = lib.gotoblas_pthread
        self._go.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self._go.restype = ctypes.c_int
        self._threads = ctypes.c_int.in_dll(lib, "blas_num_threads")  # workers + the caller
        self._get = _OpenBLASThreads(lib).get_num_threads
        self._slots = (ctypes.c_int64 * 64)(*range(64))
        self._entry_c = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(self._entry)  # (kept alive)
        self._entry_p = ctypes.cast(self._entry_c, ctypes.c_void_p)
        self._jobs: list = []
        self._lock = threading.Lock()

    def _entry(self, arg):  # on each thread: job i; never raises into OpenBLAS
        job = self._jobs[self._ct.cast(arg, self._ct.POINTER(self._ct.c_int64))[0]]
        _local.inside = True
        try:
            job[1] = job[0]()
        except BaseException as e:  # noqa: BLE001 (re-raised by run)
            job[2] = e
        finally:
            _local.inside = False

    def _go_now(self, n, routine, args, stride, jobs=None):
        """gotoblas_pthread(n, routine, args, stride) now, ``jobs`` (for _entry) set while it
        runs; False when it cannot (another run under way, fewer workers, OpenBLAS not held
        to one thread)."""
        if n > min(self._threads.value, len(self._slots)) or \
                not self._lock.acquire(blocking=False):
            return False
        try:
            if self._get() != 1:
                return False
            self._jobs = jobs or []
            self._go(n, routine, args, stride)
        finally:
            self._jobs = []
            self._lock.release()
        return True

    def run_native(self, addr, blocks):
        """run for C functions: ``addr`` (void f(void *)) once per row of the int64 array
        ``blocks``, the row's address its argument; False when it cannot run them now."""
        return self._go_now(len(blocks), addr, blocks.ctypes.data, blocks.strides[0])

    def run(self, fns):
        """The functions' results in order, or None when this cannot run them now (another
        run under way, fewer workers, OpenBLAS not held to one thread); the first error
        (by position) is raised once all have finished."""
        jobs = [[f, None, None] for f in fns]
        if not self._go_now(len(fns), self._entry_p, self._ct.addressof(self._slots),
                            self._ct.sizeof(self._ct.c_int64), jobs):
            return None
        for _, _, e in jobs:
            if e is not None:
                raise e
        return [r for _, r, _ in jobs]


def _workers():
    """The OpenBLAS-hosted runner, or None (not found, turned off, no workers)."""
    global _host
    if _host is None:
        _host = False
        lib = _numpy_openblas()
        if lib is not None and hasattr(lib, "gotoblas_pthread") and \
                os.environ.get("EMBER_BLAS_WORKERS", "1").strip() != "0" and \
                os.environ.get("EMBER_BLAS_TUNING", "1").strip() != "0":
            try:
                _host = _OpenBLASWorkers(lib)
            except (AttributeError, ValueError):  # (blas_num_threads not exported)
                pass
    return _host or None


def run_parts(fn, parts):
    """``[fn(*p) for p in parts]``, the parts on separate threads when this process may use
    more than one core. The parts must write disjoint memory. Called from a kernel thread
    itself, the parts run there one after another (the pool may have no thread to spare).
    Every part runs under the caller's floating-point error handling (``np.errstate`` is
    per thread)."""
    if len(parts) < 2 or cores < 2 or _in_kernel_thread():
        return [fn(*p) for p in parts]
    err = np.geterr()
    with blas_single_thread():
        host = _workers()
        got = None if host is None else host.run(
            [functools.partial(fn, *parts[0])] +
            [functools.partial(_under_errstate, err, fn, p) for p in parts[1:]])
        if got is not None:
            return got
        pool = _get_pool()
        futures = [pool.submit(_under_errstate, err, fn, p) for p in parts[1:]]
        try:
            first = fn(*parts[0])
        finally:
            rest = [f.result() for f in futures]  # waits for all, re-raises the first error
    return [first] + rest


def run_compiled(addr, blocks):
    """Runs the compiled part at ``addr`` (a C function of one pointer: numba_kernels'
    ``*_part``) once per row of ``blocks`` (a C-ordered int64 array of argument blocks), the
    first row on the calling thread and the others on OpenBLAS's worker threads, with no
    Python in between (ctypes releases the GIL for the whole region). Returns False, having
    run nothing, where it cannot (one part, one core, no OpenBLAS workers, inside a part,
    another run under way): the caller then runs its parts as :func:`run_parts` does."""
    if len(blocks) < 2 or cores < 2 or _in_kernel_thread():
        return False
    host = _workers()
    if host is None:
        return False
    with blas_single_thread():
        return host.run_native(addr, blocks)


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


def run_ew(K, code, groups, scal, ntmp, arrays, n, split):
    """numba_kernels.ew_run (module ``K``) of the chain ``code`` with ``groups`` and scalars
    ``scal`` over entries 0:n of ``arrays`` (flat float32, at most K.EW_SLOTS; the unused
    slots are filled here), with ``ntmp`` scratch rows: in two halves on two threads when
    ``split`` and two cores (each half with scratch of its own; each entry's steps are the
    same on either thread), else at once."""
    arrays = list(arrays) + arrays[:1] * (K.EW_SLOTS - len(arrays))

    def part(a, b):
        return (code, groups, scal, np.empty((max(1, ntmp), K.EW_BLOCK), np.float32), a, b,
                *arrays)
    if split and cores >= 2:
        h = (n + 1) // 2
        run_parts(K.ew_run, [part(0, h), part(h, n)])
    else:
        K.ew_run(*part(0, n))


# ---- a compiled step after an idle spell: the calling thread held off the workers' cores ----
# With OpenBLAS's workers pinned (ember/_blas_env.py), the first steps after an idle spell
# (the process slept, e.g. between timed batches or epochs) sometimes have the scheduler put
# the calling thread on a worker's core: the caller then spins in OpenBLAS waiting for a
# worker that cannot run until the caller's time slice ends, and single products took +7 ms
# each (LeNet at batch 64, compiled, the 2nd to 4th steps after a 0.25 s pause: 10-40 ms
# against 4.5-5 ms steady; plan-line timings put each stall on a threaded product). So for
# _HOLD_S after an idle spell of _IDLE_S or more, the plans of the main thread whose previous
# call took _HOLD_MIN_S or more run with the thread held to the core the workers left free
# (its affinity restored after each call). LeNet at batch 64, steps after a 0.25 s pause,
# mean of 16 pauses by position: 8.0 8.0 8.1 8.5 7.8 ... ms (worst 16) -> 6.2 5.2 4.9 4.8 4.8
# ... (worst 9); `ember bench` at batch 64, three runs, ember jit / PyTorch eager: 5.3-6.7 /
# 4.7-7.5 -> 4.36-4.45 / 4.52-4.61 ms. Held for whole steps the process's own kernel threads
# share the workers' core (a ResNet-18 step 113 against 100 ms; holding only the first four
# calls moved the stall to the fifth): a long step is past the hold after its first call.
# Not with EMBER_BLAS_PIN=0 or unpinned workers.
_IDLE_S = 0.05
_HOLD_S = 0.1
_HOLD_MIN_S = 3e-4
_idle = [0.0, 0.0, 0.0]  # the last plan's end, the hold's end, the last plan's duration


def run_plan(plan, args):
    """``plan(*args)``, held to the free core right after an idle spell (see above)."""
    cpu = _blas_env.free_cpu
    if cpu is None:
        return plan(*args)
    st = _idle
    t = _monotonic()
    if t - st[0] > _IDLE_S:
        st[1] = t + _HOLD_S
    if t >= st[1] or st[2] < _HOLD_MIN_S or threading.get_ident() != _main_ident:
        out = plan(*args)
    else:
        prev = os.sched_getaffinity(0)
        try:  # (not onto a core the thread has since been kept from, nor past a cpuset)
            held = cpu in prev and os.sched_setaffinity(0, {cpu}) is None
        except OSError:
            held = False
        try:
            out = plan(*args)
        finally:
            if held:
                os.sched_setaffinity(0, prev)
    e = _monotonic()
    st[0], st[2] = e, e - t
    return out


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
                _in_kernel_thread():
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

    def run_first():
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
            raise

    host = _workers()
    if host is not None and host.run([run_first, run_second]) is not None:
        return  # (both ran; an error of either is raised, `first`'s first)
    fut = _get_pool().submit(run_second)
    try:
        run_first()
    except BaseException:
        try:
            fut.result()  # wait: `second` must not write after we return
        except BaseException:
            pass  # the first error is the one raised
        raise
    fut.result()  # re-raises an error of `second`
